"""gunicorn: its configuration from the environment, and graceful shutdown."""

import os
import re
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from tests.support import BASE_DIR

CONFIG = ["-c", "config/gunicorn.py"]
SLOW_SETTINGS = {"DJANGO_SETTINGS_MODULE": "tests.slow_settings"}


def gunicorn_config(**env: str) -> subprocess.CompletedProcess[str]:
    """Run `gunicorn --print-config` with config/gunicorn.py and this environment."""
    clean = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("GUNICORN_", "WEB_CONCURRENCY"))
    }
    return subprocess.run(
        [sys.executable, "-m", "gunicorn", *CONFIG, "--print-config", "config.wsgi"],
        cwd=BASE_DIR,
        env={**clean, **env},
        capture_output=True,
        text=True,
        timeout=60,
    )


def setting(output: str, name: str) -> str:
    """Return one value of `gunicorn --print-config` output."""
    match = re.search(rf"^{name}\s+= (.*)$", output, re.MULTILINE)
    assert match, f"{name} missing from gunicorn --print-config"
    return match.group(1).strip()


def test_default_is_one_gthread_worker_per_core_no_access_log():
    result = gunicorn_config()

    assert result.returncode == 0, result.stderr
    assert setting(result.stdout, "workers") == str(os.process_cpu_count())
    assert setting(result.stdout, "worker_class") == "config.workers.ThreadWorker"
    assert setting(result.stdout, "threads") == "8"
    assert setting(result.stdout, "accesslog") == "None"
    assert setting(result.stdout, "graceful_timeout") == "25"
    # No leak measured: recycling is off, so it never takes every worker at once.
    assert setting(result.stdout, "max_requests") == "0"


def test_workers_class_threads_and_timeouts_come_from_the_environment():
    result = gunicorn_config(
        WEB_CONCURRENCY="3",
        GUNICORN_WORKER_CLASS="sync",
        GUNICORN_THREADS="1",
        GUNICORN_GRACEFUL_TIMEOUT="40",
        GUNICORN_TIMEOUT="50",
    )

    assert result.returncode == 0, result.stderr
    assert setting(result.stdout, "workers") == "3"
    assert setting(result.stdout, "worker_class") == "config.workers.SyncWorker"
    assert setting(result.stdout, "threads") == "1"
    assert setting(result.stdout, "graceful_timeout") == "40"
    assert setting(result.stdout, "timeout") == "50"


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"GUNICORN_WORKER_CLASS": "gevent"}, "GUNICORN_WORKER_CLASS must be"),
        ({"GUNICORN_THREADS": "0"}, "GUNICORN_THREADS must be at least 1"),
        ({"GUNICORN_TIMEOUT": "soon"}, "GUNICORN_TIMEOUT must be a whole number"),
        ({"GUNICORN_GRACEFUL_TIMEOUT": "9" * 400}, None),
    ],
)
def test_absurd_settings_stop_gunicorn_with_a_one_line_reason(env, message):
    result = gunicorn_config(**env)

    if message is None:  # absurdly large but a number: accepted as is, no crash
        assert result.returncode == 0, result.stderr
    else:
        assert result.returncode != 0
        assert message in result.stderr + result.stdout


def slow_request(url: str, result: dict[str, object]) -> None:
    """GET a URL in a thread; keep the status and body, or the error."""
    try:
        with urllib.request.urlopen(url, timeout=30) as response:
            result["status"] = response.status
            result["body"] = response.read()
    except urllib.error.HTTPError as exc:
        result["status"] = exc.code
    except urllib.error.URLError as exc:  # wraps the socket error: keep that one
        result["error"] = exc.reason
    except OSError as exc:  # reset or closed mid-answer: no HTTP answer at all
        result["error"] = exc


def wait_for_file(path: Path, *, timeout: float = 15.0) -> None:
    """Wait until the slow view has touched its marker: the request is in flight."""
    deadline = time.monotonic() + timeout
    while not path.exists():
        assert time.monotonic() < deadline, "the slow request never reached a worker"
        time.sleep(0.05)


def wait_for_log(path: Path, text: str, *, timeout: float = 15.0) -> None:
    """Wait until gunicorn's log holds a line (signals are handled asynchronously)."""
    deadline = time.monotonic() + timeout
    while text not in path.read_text():
        assert time.monotonic() < deadline, f"{text!r} never logged"
        time.sleep(0.05)


@pytest.mark.live
@pytest.mark.parametrize(("worker_class", "threads"), [("sync", "1"), ("gthread", "2")])
def test_sigterm_lets_an_in_flight_request_finish(
    live_server_factory, tmp_path, worker_class, threads
):
    server = live_server_factory(
        extra_env=SLOW_SETTINGS,
        # More than one thread would turn a sync worker into a gthread one.
        args=[*CONFIG, "--worker-class", worker_class, "--threads", threads],
    )
    marker = tmp_path / "in-flight"
    result: dict[str, object] = {}
    client = threading.Thread(
        target=slow_request,
        args=(f"{server.url}/test/slow?seconds=2&marker={marker}", result),
    )
    client.start()
    wait_for_file(marker)

    server.process.terminate()  # SIGTERM to the master, as docker stop sends
    wait_for_log(server.log, "Worker exiting")  # the idle worker has stopped
    late: dict[str, object] = {}
    slow_request(f"{server.url}/health", late)
    client.join(timeout=30)
    exit_code = server.process.wait(timeout=30)

    assert result.get("status") == 200, result
    if worker_class == "sync":
        # A new connection is refused or reset, never served by a stopping worker.
        assert isinstance(late.get("error"), OSError), late
    else:
        # gthread drains what reached the listener, then closes it (config/
        # shutdown.py): a late connection is served in full or refused, never reset.
        assert late.get("status") == 200 or isinstance(
            late.get("error"), ConnectionRefusedError
        ), late
    assert result["body"] == b'{"slept": 2.0}'
    assert exit_code == 0
    assert f"Using worker: {worker_class}" in server.log.read_text()


@pytest.mark.live
def test_sigterm_cuts_a_request_longer_than_the_graceful_timeout(
    live_server_factory, tmp_path
):
    server = live_server_factory(
        extra_env=SLOW_SETTINGS, args=[*CONFIG, "--graceful-timeout", "1"]
    )
    marker = tmp_path / "in-flight"
    result: dict[str, object] = {}
    client = threading.Thread(
        target=slow_request,
        args=(f"{server.url}/test/slow?seconds=20&marker={marker}", result),
    )
    client.start()
    wait_for_file(marker)

    stopped_at = time.monotonic()
    server.process.terminate()
    server.process.wait(timeout=15)
    waited = time.monotonic() - stopped_at
    client.join(timeout=30)

    assert "error" in result, result  # the connection was closed mid-request
    # Bounded by the graceful timeout, far short of the 20 s the view wanted: so
    # docker-compose's stop_grace_period only has to exceed graceful_timeout.
    assert waited < 10


@pytest.mark.live
def test_gunicorn_writes_no_access_log_line_of_its_own(live_server_factory):
    server = live_server_factory(args=CONFIG)

    with urllib.request.urlopen(f"{server.url}/health?probe=access-log") as response:
        assert response.status == 200
    server.stop()

    log = server.log.read_text()
    assert "Booting worker" in log  # the log is gunicorn's, and it was captured
    assert "probe=access-log" not in log
