"""The Celery app: settings from Django's (CELERY_*), tasks from every app's tasks.py.

Run a worker with `celery -A config worker`, the schedule with `celery -A config beat`.
"""

import os

from celery import Celery

from core.celery_context import connect_celery_logging

# As manage.py and wsgi.py do: the settings module is the one thing read here.
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

app = Celery("config")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
# A job's log lines carry the request id of the request that enqueued it.
connect_celery_logging()
