"""SIGTERM in a gthread worker: take what the listener queued, then close it.

gunicorn's gthread worker stops accepting at SIGTERM but keeps its copy of the
listening socket open until it exits, up to graceful_timeout later. Meanwhile the
kernel still completes new connections into the listen backlog; nobody accepts them,
and when the last worker exits they are reset: a client that connected (and sent its
request) after the signal waited and lost it. Here the worker accepts every
connection already queued, serves it like any other, and closes its copy of the
listener, so that once every worker has (the master closes its own first) new
connections are refused at once: a load balancer or client retries elsewhere.

Closing a copy is per process: on a reload (SIGHUP) the new workers keep listening.
config/gunicorn.py installs it from its post_worker_init hook.
"""

import contextlib
import signal
import threading
from typing import Any

from gunicorn.workers import gthread

# Connections can still arrive between the signal and the close: take them twice.
SECOND_DRAIN_SECONDS = 0.1


def close_listeners_on_sigterm(worker: Any) -> None:
    """Make a gthread worker drain and close its listeners when SIGTERM comes."""
    if not isinstance(worker, gthread.ThreadWorker):
        return  # a sync worker serves one connection at a time: nothing to take

    def handle_exit(sig: int, frame: Any) -> None:
        stopping = worker.alive
        worker.handle_exit(sig, frame)
        if stopping:
            # In the main loop, not in the signal handler: the poller is its.
            worker.method_queue.defer(_drain, worker, False)

    signal.signal(signal.SIGTERM, handle_exit)


def _drain(worker: Any, close: bool) -> None:
    """Stop polling the listeners, accept what they queued; close them the 2nd time."""
    worker.set_accept_enabled(False)
    for listener in worker.sockets:
        _accept_queued(worker, listener)
        if close:
            with contextlib.suppress(OSError):
                listener.close()
    if close:
        worker.nr_conns -= 1  # the place kept below
    else:
        # Not now: this pass of the loop may still hold an event for a listener,
        # and accepting on a closed one would kill the worker. Keep a place in the
        # connection count, so that the worker does not exit (and drop what came
        # meanwhile) before the second drain.
        worker.nr_conns += 1
        timer = threading.Timer(
            SECOND_DRAIN_SECONDS, worker.method_queue.defer, (_drain, worker, True)
        )
        timer.daemon = True
        timer.start()


def _accept_queued(worker: Any, listener: Any) -> None:
    """Accept every connection in a listener's backlog into the worker's pool."""
    listener.setblocking(False)
    while True:
        try:
            client, address = listener.accept()
        except OSError:  # BlockingIOError: the backlog is empty; or it is closed
            return
        worker.nr_conns += 1
        client.setblocking(True)
        conn = gthread.TConn(worker.cfg, client, address, listener.getsockname())
        worker.enqueue_req(conn)
