"""gunicorn with uvicorn workers, as the guide serves the app in production."""

import multiprocessing
import os

bind = f"127.0.0.1:{os.environ.get('TWIN_PORT', '8001')}"
workers = int(os.environ.get("WEB_CONCURRENCY", multiprocessing.cpu_count()))
worker_class = "uvicorn_worker.UvicornWorker"
loglevel = os.environ.get("LOG_LEVEL", "INFO").lower()
accesslog = None  # the app writes one structlog access line per request
errorlog = "-"
graceful_timeout = 25
timeout = 30
keepalive = 5
# One shared /root/.gunicorn/gunicorn.ctl would clash with any other gunicorn here.
control_socket_disable = True
