"""Does /health answer while the database hangs? sync against gthread workers.

Points gunicorn at a loopback socket that accepts TCP connections and never answers
(a hung PostgreSQL), sends 8 concurrent API requests (each waits for the 3 s connect
timeout, then gets 503), and meanwhile times GET /health. Loopback only, bounded.
Run: uv run python scripts/bench_db_hang.py
"""

import os
import secrets
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
import uuid
from pathlib import Path

import jwt
from serving import free_port, stop, wait_until_up

BASE_DIR = Path(__file__).resolve().parent.parent
SETTINGS = {"sync:2": ["sync", "2", "1"], "gthread:2:4": ["gthread", "2", "4"]}


def access_token(key: str) -> str:
    """A valid access token for user 1: checking it needs the database."""
    now = int(time.time())
    claims = {"token_type": "access", "exp": now + 600, "iat": now}
    claims |= {"jti": uuid.uuid4().hex, "user_id": "1"}
    return jwt.encode(claims, key, algorithm="HS256")


def get(url: str, token: str = "") -> int:
    """GET a URL; return the status (or 0 when no answer)."""
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    try:
        request = urllib.request.Request(url, headers=headers)
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status
    except urllib.error.HTTPError as exc:
        return exc.code
    except OSError:
        return 0


def measure(name: str, worker_class: str, workers: str, threads: str) -> None:
    """Start gunicorn on the hung database and time /health under API requests."""
    hung = socket.socket()
    hung.bind(("127.0.0.1", 0))
    hung.listen(100)  # the kernel completes handshakes; nobody ever answers
    port = free_port()
    jwt_key = secrets.token_urlsafe(50)
    token = access_token(jwt_key)
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "DJANGO_SECRET_KEY": secrets.token_urlsafe(50),
        "JWT_SIGNING_KEY": jwt_key,
        "DATABASE_URL": f"postgres://u@127.0.0.1:{hung.getsockname()[1]}/db",
        "WHITENOISE_USE_FINDERS": "true",
    }
    server = subprocess.Popen(
        [
            sys.executable, "-m", "gunicorn", "-c", "config/gunicorn.py",
            "config.wsgi", "--bind", f"127.0.0.1:{port}", "--workers", workers,
            "--worker-class", worker_class, "--threads", threads,
        ],
        cwd=BASE_DIR, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until_up(f"{url}/health", server, timeout=30)
        statuses: list[int] = []
        clients = [
            threading.Thread(
                target=lambda: statuses.append(get(f"{url}/api/v1/items/", token))
            )
            for _ in range(8)
        ]
        for client in clients:
            client.start()
        time.sleep(0.3)  # the API requests now wait on the database
        started = time.monotonic()
        health = get(f"{url}/health")
        waited = time.monotonic() - started
        for client in clients:
            client.join()
        print(
            f"{name}: /health {health} after {waited:.2f} s while 8 API requests "
            f"waited on the database (their statuses: {sorted(statuses)})"
        )
    finally:
        stop(server)
        hung.close()


if __name__ == "__main__":
    for name, args in SETTINGS.items():
        measure(name, *args)
