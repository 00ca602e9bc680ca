"""gunicorn settings from the environment: `gunicorn -c config/gunicorn.py config.wsgi`.

Defaults: gthread workers, one per core, 8 threads each; measured against sync and
other thread counts on a 2-core machine in docs/benchmarks.md, and chosen for what the
faults of docs/operations.md need (a stalled database, a deploy, slow clients).
Command-line flags and GUNICORN_CMD_ARGS still win over this file.
"""

import os


def _int(name: str, default: int, *, minimum: int = 1) -> int:
    """Read a whole number from the environment, or stop with a one-line reason."""
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise SystemExit(f"{name} must be a whole number, not {raw!r}.") from None
    if value < minimum:
        raise SystemExit(f"{name} must be at least {minimum}, not {value}.")
    return value


def _default_workers() -> int:
    """Return one worker per core: more processes measured slower on 2 cores."""
    # process_cpu_count honours CPU affinity (docker run --cpuset-cpus), not a CPU
    # quota: in a container limited by --cpus, set WEB_CONCURRENCY.
    return os.process_cpu_count() or 1


bind = os.environ.get("GUNICORN_BIND", "0.0.0.0:8000")
workers = _int("WEB_CONCURRENCY", _default_workers())
# gthread, not sync: a request waiting on a stalled database (up to 4 s, then 503)
# holds one thread, not a whole process, so /health and the other requests go on;
# at SIGTERM it has accepted what was queued, which sync leaves to be reset; it keeps
# connections alive, which sync closes after every response (benchmarks.md).
worker_class = os.environ.get("GUNICORN_WORKER_CLASS", "gthread")
if worker_class not in ("sync", "gthread"):
    # The app is a blocking WSGI app on psycopg; an async worker class would need
    # gevent or eventlet (not installed) and patched database drivers.
    raise SystemExit(
        f"GUNICORN_WORKER_CLASS must be sync or gthread, not {worker_class!r}."
    )
# 8: as fast as 4 under load (benchmarks.md), and a stall takes 8 threads per
# worker before /health waits. More than one thread turns a sync worker into a
# gthread one, so 1 for sync.
threads = _int("GUNICORN_THREADS", 8 if worker_class == "gthread" else 1)
# gunicorn's classes, answering their own errors (414, 431, 400) as JSON.
worker_class = (
    "config.workers.ThreadWorker"
    if worker_class == "gthread" or threads > 1
    else "config.workers.SyncWorker"
)

# SIGTERM: stop accepting (post_worker_init below: after taking what was queued), let
# in-flight requests finish for up to graceful_timeout seconds, then exit. compose's
# stop_grace_period (35 s) and Kubernetes' terminationGracePeriodSeconds must be
# longer than this plus any preStop delay.
graceful_timeout = _int("GUNICORN_GRACEFUL_TIMEOUT", 25)
# A worker silent for this long is killed and replaced (a stuck request).
timeout = _int("GUNICORN_TIMEOUT", 30)
# Idle keep-alive (gthread only; sync workers close after each response): longer than
# the proxy's upstream idle timeout (60 s in deploy/nginx.conf), so that the proxy
# closes first and never reuses a connection that gunicorn has just closed.
keepalive = _int("GUNICORN_KEEPALIVE", 75)
# Worker recycling is off: no leak has been measured, and with round-robin load every
# worker reaches the count together (both restarted within 1-3 s, p99 2.6 s; issue
# 11). Where a leak shows up, set a count with a jitter of about half of it.
max_requests = _int("GUNICORN_MAX_REQUESTS", 0, minimum=0)
max_requests_jitter = _int("GUNICORN_MAX_REQUESTS_JITTER", 0, minimum=0)

# The application logs one access line per request; gunicorn's would be a duplicate.
accesslog = None
errorlog = "-"
loglevel = os.environ.get("GUNICORN_LOG_LEVEL", "info")

# Heartbeat files on tmpfs: on a container's overlay filesystem they can stall workers.
worker_tmp_dir = "/dev/shm" if os.path.isdir("/dev/shm") else None
# The control socket would go to $HOME, which the container user may not have.
control_socket_disable = True
# Which peers may set X-Forwarded-Proto/-For for gunicorn (the reverse proxy).
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1,::1")


# METRICS
# ------------------------------------------------------------------------------
def on_starting(server):
    """Empty PROMETHEUS_MULTIPROC_DIR: the samples of a previous run must not count."""
    folder = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if folder:
        os.makedirs(folder, exist_ok=True)
        for name in os.listdir(folder):
            if name.endswith(".db"):
                os.remove(os.path.join(folder, name))


def child_exit(server, worker):
    """Drop a dead worker's live gauges from the multiprocess metrics."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.pid)


# SHUTDOWN
# ------------------------------------------------------------------------------
def post_worker_init(worker):
    """At SIGTERM, a gthread worker serves what its listener queued, then closes it."""
    from config.shutdown import close_listeners_on_sigterm

    close_listeners_on_sigterm(worker)
