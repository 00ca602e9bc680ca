"""What the scripts share to run servers: a port, waiting, stopping, measuring.

A free port, waiting for a server to answer and stopping it come from the tests'
tests/support/servers.py (one copy for both); here, turning wrk's durations into
milliseconds, and the CPU time and memory of a server's process tree, from /proc.
"""

import os
import re
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.support.servers import free_port, stop, wait_until_up  # noqa: E402

__all__ = ["cpu_seconds", "free_port", "leaf_rss_mb", "stop", "to_ms", "wait_until_up"]

UNITS_MS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60000.0}


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
