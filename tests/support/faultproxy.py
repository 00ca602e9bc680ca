"""A TCP proxy on 127.0.0.1 that injects faults between the service and a server.

Modes: "pass" forwards both ways; "kill" closes every connection and refuses new
ones; "hang" accepts new connections and never forwards a byte (the open ones keep
working); "freeze" stops forwarding on every connection, open and new, without
closing any (a network partition, a frozen server). Back to "pass" resumes all.
"""

import contextlib
import selectors
import socket
import threading
from typing import Literal, TypeIs, get_args

Mode = Literal["pass", "kill", "hang", "freeze"]
MODES: tuple[Mode, ...] = get_args(Mode)


def is_mode(value: str) -> TypeIs[Mode]:
    """Say whether a string names one of the modes."""
    return value in MODES


class FaultProxy:
    """Forward 127.0.0.1:<port> to a target, with faults switched on at will."""

    def __init__(self, target_host: str, target_port: int) -> None:
        """Listen on a free loopback port; call start() to serve."""
        self.target = (target_host, target_port)
        self.mode: Mode = "pass"
        self._listener = socket.socket()
        self._listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._listener.bind(("127.0.0.1", 0))
        self._listener.listen(128)
        self.port: int = self._listener.getsockname()[1]
        self._lock = threading.Lock()
        self._pairs: list[tuple[socket.socket, socket.socket | None]] = []
        self._stopped = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)

    def start(self) -> "FaultProxy":
        """Serve in a background thread."""
        self._thread.start()
        return self

    def set_mode(self, mode: Mode) -> None:
        """Switch the fault; "kill" also closes every open connection now."""
        with self._lock:
            self.mode = mode
            if mode == "kill":
                for client, upstream in self._pairs:
                    for sock in (client, upstream):
                        if sock is not None:
                            _close(sock)
                self._pairs.clear()

    def stop(self) -> None:
        """Close the listener and every connection."""
        self._stopped.set()
        self.set_mode("kill")
        _close(self._listener)
        self._thread.join(timeout=5)

    def _serve(self) -> None:
        """Accept connections and forward bytes until stopped (one thread, select)."""
        selector = selectors.DefaultSelector()
        selector.register(self._listener, selectors.EVENT_READ)
        while not self._stopped.is_set():
            with self._lock:
                mode = self.mode
                pairs = list(self._pairs)
            watched = {self._listener}
            if mode == "pass":
                for client, upstream in pairs:
                    watched.add(client)
                    if upstream is not None:
                        watched.add(upstream)
            for key in list(selector.get_map().values()):
                if key.fileobj not in watched or key.fileobj.fileno() < 0:
                    selector.unregister(key.fileobj)
            for sock in watched:
                if sock.fileno() >= 0 and sock not in _registered(selector):
                    selector.register(sock, selectors.EVENT_READ)
            try:
                events = selector.select(timeout=0.05)
            except (OSError, ValueError):
                continue
            for key, _ in events:
                ready = key.fileobj
                if ready is self._listener:
                    self._accept()
                elif isinstance(ready, socket.socket):  # all that is registered
                    self._forward(ready)
        selector.close()

    def _accept(self) -> None:
        """Take one connection; connect it upstream unless the fault forbids."""
        try:
            client, _ = self._listener.accept()
        except OSError:
            return
        with self._lock:
            mode = self.mode
        if mode == "kill":
            _close(client)
            return
        upstream = None
        if mode == "pass":
            try:
                upstream = socket.create_connection(self.target, timeout=2)
            except OSError:
                _close(client)
                return
        with self._lock:
            self._pairs.append((client, upstream))

    def _forward(self, sock: socket.socket) -> None:
        """Copy what one side sent to the other; close both when one side closes."""
        with self._lock:
            pair = next((p for p in self._pairs if sock in p), None)
        if pair is None or pair[1] is None:
            return
        other = pair[1] if sock is pair[0] else pair[0]
        try:
            data = sock.recv(65536)
            if data:
                other.sendall(data)
                return
        except OSError:
            pass
        with self._lock:
            if pair in self._pairs:
                self._pairs.remove(pair)
        _close(pair[0])
        _close(other)


def _registered(selector: selectors.BaseSelector) -> set:
    """Return the sockets a selector watches."""
    return {key.fileobj for key in selector.get_map().values()}


def _close(sock: socket.socket) -> None:
    """Close a socket, ignoring one already closed."""
    with contextlib.suppress(OSError):
        sock.close()
