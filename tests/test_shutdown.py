"""A rolling deploy: SIGTERM under load loses no request accepted before it.

gunicorn runs with the shipped config/gunicorn.py (its default worker class); the
clients open one connection per request and note when the connection was made, so
that a request is "accepted before the signal" when its connection was.
"""

import http.client
import threading
import time
from dataclasses import dataclass
from http import HTTPStatus

import pytest

from tests.test_gunicorn import CONFIG, SLOW_SETTINGS, wait_for_log

pytestmark = pytest.mark.live


@dataclass
class Outcome:
    """One request: when its connection was made, and what came back."""

    connected_at: float
    status: int = 0  # 0: connected, then no HTTP answer (reset or closed)
    refused: bool = False


def request(port: int, path: str) -> Outcome:
    """GET path on a new connection; note when it connected and what came back."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=40)
    try:
        conn.connect()
    except OSError:
        return Outcome(connected_at=time.monotonic(), refused=True)
    outcome = Outcome(connected_at=time.monotonic())
    try:
        conn.request("GET", path)
        response = conn.getresponse()
        response.read()
        outcome.status = response.status
    except (OSError, http.client.HTTPException):
        pass
    finally:
        conn.close()
    return outcome


def sigterm(server) -> float:
    """Send SIGTERM to gunicorn's master, as docker stop and the kubelet do."""
    signalled_at = time.monotonic()
    server.process.terminate()
    return signalled_at


def test_sigterm_answers_30_concurrent_slow_requests(live_server_factory, tmp_path):
    server = live_server_factory(
        extra_env=SLOW_SETTINGS, args=[*CONFIG, "--graceful-timeout", "25"]
    )
    path = f"/test/slow?seconds=1&marker={tmp_path / 'in-flight'}"
    outcomes: list[Outcome] = []
    clients = [
        threading.Thread(target=lambda: outcomes.append(request(server.port, path)))
        for _ in range(30)
    ]
    for client in clients:
        client.start()
    while not (tmp_path / "in-flight").exists():
        time.sleep(0.02)
    time.sleep(0.2)  # every connection made (on loopback, at once), most queued

    signalled_at = sigterm(server)
    for client in clients:
        client.join(timeout=60)
    exit_code = server.process.wait(timeout=60)

    assert len(outcomes) == 30
    assert all(o.connected_at < signalled_at for o in outcomes)
    assert [o.status for o in outcomes] == [HTTPStatus.OK] * 30
    assert exit_code == 0


def test_sigterm_under_steady_load_loses_no_accepted_request(live_server_factory):
    server = live_server_factory(args=[*CONFIG, "--graceful-timeout", "25"])
    outcomes: list[Outcome] = []
    stopped = threading.Event()

    def load() -> None:
        """Send /health in a loop until the server refuses connections."""
        while not stopped.is_set():
            outcome = request(server.port, "/health")
            outcomes.append(outcome)
            if outcome.refused:
                return

    clients = [threading.Thread(target=load) for _ in range(8)]
    for client in clients:
        client.start()
    time.sleep(2)
    signalled_at = sigterm(server)
    wait_for_log(server.log, "Shutting down: Master", timeout=40)
    stopped.set()
    for client in clients:
        client.join(timeout=60)

    before = [o for o in outcomes if o.connected_at < signalled_at]
    after = [o for o in outcomes if o.connected_at >= signalled_at and not o.refused]
    assert len(before) > 100  # the load was real
    lost = [o for o in before if o.status != HTTPStatus.OK]
    assert lost == []
    # A connection made after the signal is answered or refused, never dropped.
    assert [o for o in after if o.status != HTTPStatus.OK] == []
    assert server.process.wait(timeout=30) == 0
