"""SIGTERM in a gthread worker: take what the listener queued, then close it.

gunicorn's gthread worker stops accepting at SIGTERM but keeps its copy of the
listening socket open until it exits, up to graceful_timeout later. Meanwhile the
kernel still completes new connections into the listen backlog; nobody accepts them,
and when the last worker exits they are reset: a client that connected (and sent its
request) after the signal waited and lost it. Here the worker accepts every
connection already queued, serves it like any other, and closes its copy of the
listener, so that once every worker has (the master closes its own first) new
connections are refused at once: a load balancer or client retries elsewhere.

Closing leaves one race of the kernel's: a connection whose handshake ends between
the last accept and the close is reset. So before the last pass the listener gets a
socket filter that drops new SYNs (those clients retry after a second and find the
listener closed: refused, not dropped), and the last pass comes after handshakes
already under way had time to end.

Closing a copy is per process: on a reload (SIGHUP) the new workers keep listening.
config/gunicorn.py installs it from its post_worker_init hook.
"""

import contextlib
import ctypes
import signal
import socket
import struct
import threading
from typing import Any

from gunicorn.workers import gthread

# Connections can still arrive between the signal and the close: take them three
# times. The second pass also stops new handshakes; the third, after the handshakes
# under way have ended, closes.
SECOND_DRAIN_SECONDS = 0.1
LAST_DRAIN_SECONDS = 0.05
# Classic BPF on a TCP socket sees the TCP header at offset 0; byte 13 holds the
# flags. Drop a segment with SYN and not ACK (a new handshake), keep the rest.
SO_ATTACH_FILTER = getattr(socket, "SO_ATTACH_FILTER", 26)
_DROP_SYN = [
    (0x30, 0, 0, 13),  # ldb [13]: the TCP flags
    (0x54, 0, 0, 0x12),  # and #(SYN | ACK)
    (0x15, 0, 1, 0x02),  # jeq #SYN: a new handshake ...
    (0x06, 0, 0, 0),  # ... ret #0: drop it
    (0x06, 0, 0, 0xFFFFFFFF),  # ret #-1: keep everything else
]


def close_listeners_on_sigterm(worker: Any) -> None:
    """Make a gthread worker drain and close its listeners when SIGTERM comes."""
    if not isinstance(worker, gthread.ThreadWorker):
        return  # a sync worker serves one connection at a time: nothing to take

    def handle_exit(sig: int, frame: Any) -> None:
        stopping = worker.alive
        worker.handle_exit(sig, frame)
        if stopping:
            # In the main loop, not in the signal handler: the poller is its.
            worker.method_queue.defer(_drain, worker, 0)

    signal.signal(signal.SIGTERM, handle_exit)


def _drain(worker: Any, stage: int) -> None:
    """Stop polling the listeners and accept what they queued (stage 0); refuse new
    handshakes (1); close them (2).
    """
    worker.set_accept_enabled(False)
    for listener in worker.sockets:
        if stage == 1:
            _refuse_new_handshakes(listener)
        _accept_queued(worker, listener)
        if stage == 2:
            with contextlib.suppress(OSError):
                listener.close()
    if stage == 0:
        # Not now: this pass of the loop may still hold an event for a listener,
        # and accepting on a closed one would kill the worker. Keep a place in the
        # connection count, so that the worker does not exit (and drop what came
        # meanwhile) before the last pass.
        worker.nr_conns += 1
    if stage == 2:
        worker.nr_conns -= 1  # the place kept above
        return
    delay = SECOND_DRAIN_SECONDS if stage == 0 else LAST_DRAIN_SECONDS
    timer = threading.Timer(
        delay, worker.method_queue.defer, (_drain, worker, stage + 1)
    )
    timer.daemon = True
    timer.start()


def _refuse_new_handshakes(listener: Any) -> None:
    """Attach the socket filter that drops new SYNs (Linux; elsewhere nothing)."""
    program = b"".join(struct.pack("HBBI", *op) for op in _DROP_SYN)
    buffer = ctypes.create_string_buffer(program)
    fprog = struct.pack("HL", len(_DROP_SYN), ctypes.addressof(buffer))
    with contextlib.suppress(OSError, AttributeError):
        sock = getattr(listener, "sock", listener)  # gunicorn wraps the socket
        sock.setsockopt(socket.SOL_SOCKET, SO_ATTACH_FILTER, fprog)


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
