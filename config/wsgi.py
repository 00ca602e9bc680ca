"""WSGI entry point, as served by gunicorn."""

import os
import sys

from django.conf import settings
from django.core.wsgi import get_wsgi_application

from core.middleware import buffer_chunked_bodies

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

try:
    # gunicorn hands chunked bodies over without a length: buffered, up to the limit.
    application = buffer_chunked_bodies(
        get_wsgi_application(), limit=settings.MAX_REQUEST_BODY_BYTES
    )
except SystemExit as refusal:
    # The settings refused to start (config/guard.py). gunicorn restarts a worker
    # that exits with 1 forever, while the master keeps listening; exit code 3 is its
    # "worker failed to boot", which stops the whole server.
    if isinstance(refusal.code, str):
        sys.stderr.write(f"{refusal.code}\n")
    raise SystemExit(3) from None
