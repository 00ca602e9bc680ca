"""WSGI entry point, as served by gunicorn."""

import os
import sys

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

try:
    application = get_wsgi_application()
except SystemExit as refusal:
    # The settings refused to start (config/guard.py). gunicorn restarts a worker
    # that exits with 1 forever, while the master keeps listening; exit code 3 is its
    # "worker failed to boot", which stops the whole server.
    if isinstance(refusal.code, str):
        sys.stderr.write(f"{refusal.code}\n")
    raise SystemExit(3) from None
