"""Running a server process: a free port, waiting until it answers, stopping it.

Standard library only: the scripts (scripts/serving.py) share these with the tests.
"""

import signal
import socket
import subprocess
import time
import urllib.request
from typing import Protocol


def free_port() -> int:
    """Return a loopback TCP port that nothing listens on now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Pollable(Protocol):
    """A process, or a stand-in for one, that says whether it has exited."""

    def poll(self) -> int | None:
        """Return the exit status, or None while it runs."""
        ...


def wait_until_up(
    url: str, process: Pollable, *, timeout: float = 60, poll: float = 0.2
) -> None:
    """Wait until url answers; fail if the process exits or the time runs out.

    Our own process is polled too: another server may already answer on the port.
    """
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the server exited before {url} answered")
        try:
            with urllib.request.urlopen(url, timeout=2):
                return
        except OSError:
            time.sleep(poll)
    raise RuntimeError(f"{url} did not answer in {timeout:.0f} s")


def stop(process: subprocess.Popen, *, timeout: float = 30) -> None:
    """Stop a server gracefully (SIGTERM), then kill it after timeout seconds."""
    if process.poll() is not None:
        return
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
