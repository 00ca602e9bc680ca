"""What the scripts share to run servers: a port, waiting, stopping, measuring.

A free port, waiting for a server to answer, stopping it; reading wrk's output
(durations into milliseconds, the numbers it must print); and the CPU time and
memory of a server's process tree, from /proc.
"""

import os
import re
import signal
import socket
import subprocess
import time
import urllib.request
from pathlib import Path
from typing import Protocol

UNITS_MS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60000.0}


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
            raise RuntimeError(f"gunicorn exited before {url} answered")
        try:
            with urllib.request.urlopen(url, timeout=2):
                return
        except OSError:
            time.sleep(poll)
    raise RuntimeError(f"{url} did not answer in {timeout:.0f} s")


def stop(process: subprocess.Popen, *, timeout: float = 30) -> None:
    """Stop gunicorn gracefully (SIGTERM), then kill it after timeout seconds."""
    if process.poll() is not None:
        return
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def to_ms(value: str) -> float:
    """Turn a wrk duration such as 12.5ms or 900.00us into milliseconds."""
    match = re.fullmatch(r"([\d.]+)([a-z]+)", value)
    if match is None:
        raise ValueError(f"not a wrk duration: {value!r}")
    number, unit = match.groups()
    return float(number) * UNITS_MS[unit]


def required(pattern: str, text: str) -> str:
    """Return the first group of a pattern that a tool's output must contain."""
    match = re.search(pattern, text)
    if match is None:
        raise ValueError(f"no {pattern!r} in the output:\n{text[-2000:]}")
    return match.group(1)


def process_tree(root: int) -> list[int]:
    """Return root's pid and those of all its descendants (workers, their helpers)."""
    pids, queue = [], [root]
    while queue:
        pid = queue.pop()
        pids.append(pid)
        for task in Path(f"/proc/{pid}/task").glob("*/children"):
            try:
                queue.extend(int(child) for child in task.read_text().split())
            except FileNotFoundError:  # the process or thread ended meanwhile
                continue
    return pids


def cpu_seconds(root: int) -> float:
    """CPU time (user + system) used so far by a server's whole process tree."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0.0
    for pid in process_tree(root):
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except FileNotFoundError:  # a worker recycled between the two reads
            continue
        total += (int(fields[11]) + int(fields[12])) / tick
    return total


def leaf_rss_mb(root: int) -> list[float]:
    """Resident memory (MB) of each process of the tree that has no children."""
    sizes = []
    for pid in process_tree(root):
        try:
            if any(
                task.read_text().strip()
                for task in Path(f"/proc/{pid}/task").glob("*/children")
            ):
                continue
            status = Path(f"/proc/{pid}/status").read_text()
        except FileNotFoundError:
            continue
        if match := re.search(r"^VmRSS:\s+(\d+) kB", status, re.MULTILINE):
            sizes.append(int(match[1]) / 1024)
    return sizes
