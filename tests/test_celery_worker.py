"""The password-recovery flow end to end: gunicorn, Redis, a real Celery worker, email.

The worker writes mail with Django's file backend into a temporary folder (a locmem
outbox is not shared across processes). The queue and cache prefix are unique to the
test, so that concurrent runs on the same Redis database never take each other's jobs.
"""

import json
import os
import re
import subprocess
import sys
import time
import uuid
from http import HTTPStatus
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import pytest
import redis

from tests.factories import DEFAULT_PASSWORD, UserFactory
from tests.support import BASE_DIR
from tests.support.http import send_request
from tests.support.live_server import database_url

NEW_PASSWORD = "a brand new passphrase"


def post(url: str, body: dict) -> tuple[int, dict]:
    """POST JSON; return the status and the decoded body."""
    status, _, raw = send_request("POST", url, body=body)
    return status, json.loads(raw or b"null")


def wait_for_mail(folder: Path, worker: subprocess.Popen, log: Path) -> str:
    """Wait for the first email file in a folder and return its text."""
    deadline = time.monotonic() + 120  # a loaded machine starts Python slowly
    while time.monotonic() < deadline:
        files = sorted(folder.glob("*.log"))
        if files and files[0].stat().st_size:
            time.sleep(0.2)  # let the backend finish writing the message
            return files[0].read_text()
        if worker.poll() is not None:
            break
        time.sleep(0.2)
    pytest.fail(f"no email arrived; worker log:\n{log.read_text()[-3000:]}")


@pytest.fixture
def job_env(redis_url, tmp_path) -> dict[str, str]:
    """Settings shared by the web server and the worker: Redis, a queue, a mail dir."""
    mail = tmp_path / "mail"
    mail.mkdir()
    return {
        "REDIS_URL": redis_url,
        "CELERY_TASK_ALWAYS_EAGER": "false",
        "CELERY_QUEUE": f"test-{uuid.uuid4().hex}",
        "CACHE_KEY_PREFIX": f"test-{uuid.uuid4().hex}",
        "EMAIL_URL": f"filemail:///{mail}",
        "FRONTEND_URL": "https://app.example.org",
        "RATE_LIMITS_ENABLED": "true",
    }


@pytest.fixture
def celery_worker(job_env, live_server_factory, tmp_path):
    """A Celery worker process on the test database and the test's queue."""
    log = tmp_path / "worker.log"
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.test_settings",
        "DATABASE_URL": database_url(),
        **job_env,
    }
    with log.open("wb") as out:
        worker = subprocess.Popen(
            [
                sys.executable, "-m", "celery", "-A", "config", "worker",
                "--pool", "solo", "--queues", job_env["CELERY_QUEUE"],
                "--without-gossip", "--without-mingle", "--without-heartbeat",
                "--loglevel", "INFO",
            ],
            cwd=BASE_DIR, env=env, stdout=out, stderr=subprocess.STDOUT,
        )  # fmt: skip
    yield worker, log
    worker.terminate()
    try:
        worker.wait(timeout=15)
    except subprocess.TimeoutExpired:
        worker.kill()
        worker.wait()
    # Kombu's bookkeeping of the test's queue has no expiry: remove it, and only it.
    queue = job_env["CELERY_QUEUE"]
    client = redis.Redis.from_url(job_env["REDIS_URL"])
    client.delete(queue, f"_kombu.binding.{queue}", f"_kombu.binding_permanent.{queue}")


@pytest.mark.live
def test_password_recovery_end_to_end_with_a_real_worker(
    live_server_factory, job_env, celery_worker, tmp_path
):
    worker, worker_log = celery_worker
    user = UserFactory.create(email="reader@example.com")
    server = live_server_factory(extra_env=job_env)
    api = f"{server.url}/api/v1"
    _, session = post(
        f"{api}/auth/login", {"username": user.email, "password": DEFAULT_PASSWORD}
    )

    # Unknown email first: the solo worker takes jobs in order, so once the known
    # email's message is there, the unknown one's job is done and sent nothing.
    unknown = post(f"{api}/auth/password-recovery", {"email": "nobody@example.com"})
    known = post(f"{api}/auth/password-recovery", {"email": user.email})
    message = wait_for_mail(tmp_path / "mail", worker, worker_log)
    link = re.search(r"https://app\.example\.org/reset-password\?\S+", message)
    assert link is not None, message
    query = parse_qs(urlparse(link.group(0)).query)
    reset = {"uid": query["uid"][0], "token": query["token"][0]}

    reset_response = post(
        f"{api}/auth/reset-password", {**reset, "new_password": NEW_PASSWORD}
    )
    reused = post(
        f"{api}/auth/reset-password", {**reset, "new_password": "another passphrase"}
    )
    new_login = post(
        f"{api}/auth/login", {"username": user.email, "password": NEW_PASSWORD}
    )
    old_refresh = post(
        f"{api}/auth/refresh", {"refresh_token": session["refresh_token"]}
    )

    assert unknown == known
    assert known[0] == HTTPStatus.ACCEPTED
    assert "To: reader@example.com" in message
    assert len(list((tmp_path / "mail").glob("*.log"))) == 1
    assert message.count("Subject: ") == 1
    assert reset_response[0] == HTTPStatus.OK
    assert reused[0] == HTTPStatus.BAD_REQUEST
    assert new_login[0] == HTTPStatus.OK
    assert old_refresh[0] != HTTPStatus.OK
    assert "password reset email sent" in worker_log.read_text()
    logs = worker_log.read_text() + server.log.read_text()
    assert reset["token"] not in logs
    assert DEFAULT_PASSWORD not in logs
