"""WSGI entry point, as served by gunicorn."""

import os

from django.conf import settings
from django.core.wsgi import get_wsgi_application

from config.middleware import buffer_chunked_bodies

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

# gunicorn hands chunked bodies over without a length: buffered here, up to the limit.
application = buffer_chunked_bodies(
    get_wsgi_application(), limit=settings.MAX_REQUEST_BODY_BYTES
)
