"""Scale-out: three API replicas behind nginx behave as one service.

Three gunicorn processes on their own ports share the test's PostgreSQL database and
Redis; nginx (Debian's package) spreads requests over them round-robin with the
shipped deploy/nginx.conf, only its upstream and listen address changed. Each answer
names the replica that gave it (X-Upstream), so that a test can send the next request
to another one, directly. Skipped when nginx or Redis is missing.
"""

import itertools
import json
import os
import re
import secrets
import shutil
import signal
import subprocess
import tempfile
import threading
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from http import HTTPStatus
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

import pytest
import redis

from tests.support import BASE_DIR
from tests.support.live_server import LiveServer
from tests.support.servers import free_port, wait_until_up

# Transactional: the replicas' writes are committed, and flushed after each test.
pytestmark = [pytest.mark.live, pytest.mark.django_db(transaction=True)]

REPLICAS = 3
PASSWORD = "correct horse battery staple"
NEW_PASSWORD = "another horse battery staple"
METRICS_TOKEN = secrets.token_urlsafe(32)


def nginx_binary() -> str | None:
    """Debian's nginx, on PATH or in /usr/sbin (not on a non-root PATH)."""
    found = shutil.which("nginx") or "/usr/sbin/nginx"
    return found if os.access(found, os.X_OK) else None


def nginx_config(folder: Path, port: int, upstreams: list[int]) -> Path:
    """deploy/nginx.conf, with these replicas and this port, inside a main config."""
    shipped = (BASE_DIR / "deploy" / "nginx.conf").read_text()
    servers = "".join(
        f"    server 127.0.0.1:{p} max_fails=1 fail_timeout=5s;\n" for p in upstreams
    )
    site, replaced = re.subn(
        r"^\s*server api:8000 [^;]*;\n", servers, shipped, count=1, flags=re.M
    )
    site, listened = re.subn(
        r"listen 80 default_server;", f"listen 127.0.0.1:{port};", site
    )
    assert replaced == listened == 1, "deploy/nginx.conf changed: update this test"
    # Docker's DNS (resolver 127.0.0.11) does not exist here, and nothing resolves.
    site = re.sub(r"^resolver [^;]*;\n", "", site, flags=re.M)
    (folder / "site.conf").write_text(site)
    temp = {
        name: folder / name for name in ("body", "proxy", "fastcgi", "uwsgi", "scgi")
    }
    main = folder / "nginx.conf"
    main.write_text(
        f"""
worker_processes 1;
daemon off;
pid {folder}/nginx.pid;
error_log {folder}/error.log warn;
{"user root;" if os.geteuid() == 0 else ""}
events {{ worker_connections 512; }}
http {{
    access_log off;
    client_body_temp_path {temp["body"]};
    proxy_temp_path {temp["proxy"]};
    fastcgi_temp_path {temp["fastcgi"]};
    uwsgi_temp_path {temp["uwsgi"]};
    scgi_temp_path {temp["scgi"]};
    # Which replica answered (after nginx's retries, the last one listed).
    add_header X-Upstream $upstream_addr always;
    include {folder}/site.conf;
}}
"""
    )
    return main


@dataclass
class Answer:
    """One HTTP answer: status, parsed JSON body (or text) and headers."""

    status: int
    body: Any  # parsed JSON, or the text of a body that is not JSON
    headers: dict[str, str]

    @property
    def replica(self) -> str:
        """The address of the replica that answered (through nginx)."""
        return self.headers.get("X-Upstream", "").split(",")[-1].strip()


def call(
    url: str,
    body: dict | None = None,
    *,
    token: str | None = None,
    client: str | None = None,
    timeout: float = 15,
) -> Answer:
    """GET, or POST a JSON body; as a client address (X-Forwarded-For) if given."""
    headers = {"Content-Type": "application/json"} if body is not None else {}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    if client:
        headers["X-Forwarded-For"] = client  # the outer load balancer's entry
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            status, raw, head = response.status, response.read(), response.headers
    except urllib.error.HTTPError as error:
        status, raw, head = error.code, error.read(), error.headers
    try:
        parsed: Any = json.loads(raw) if raw else None
    except ValueError:
        parsed = raw.decode()
    return Answer(status, parsed, dict(head))


class Cluster:
    """Three gunicorn replicas and nginx in front of them."""

    def __init__(self, replicas: list[LiveServer], proxy_url: str, mail: Path):
        self.replicas = replicas
        self.url = proxy_url
        self.mail = mail

    def replica_url(self, address: str) -> str:
        """The direct URL of the replica at host:port."""
        return f"http://{address}"

    def others(self, address: str) -> list[str]:
        """The direct URLs of every replica but this one."""
        return [r.url for r in self.replicas if r.url != self.replica_url(address)]

    def ports(self) -> set[str]:
        """The replicas' host:port, as X-Upstream names them."""
        return {f"127.0.0.1:{r.port}" for r in self.replicas}


_addresses = itertools.count(1)


def new_client_address() -> str:
    """A fresh client address (TEST-NET-2), so that no two tests share a limit."""
    return f"198.51.100.{next(_addresses)}"


def register(cluster: Cluster, client: str) -> str:
    """Register a new user through nginx; return the email."""
    email = f"scale-{uuid.uuid4().hex[:12]}@example.com"
    answer = call(
        f"{cluster.url}/api/v1/users/",
        {"email": email, "password": PASSWORD, "full_name": "Scale Out"},
        client=client,
    )
    assert answer.status == HTTPStatus.CREATED, answer
    return email


def login(cluster_url: str, email: str, password: str, client: str) -> Answer:
    """Log in (JSON body) at a URL, as a client address."""
    return call(
        f"{cluster_url}/api/v1/auth/login",
        {"username": email, "password": password},
        client=client,
    )


def children(pid: int) -> list[int]:
    """The child processes of a process (gunicorn's workers)."""
    try:
        text = Path(f"/proc/{pid}/task/{pid}/children").read_text()
    except OSError:
        return []
    return [int(child) for child in text.split()]


@pytest.fixture(scope="module")
def cluster(django_db_setup, django_db_blocker) -> Iterator[Cluster]:
    """Three replicas on the test database and the test Redis, behind nginx."""
    nginx = nginx_binary()
    if not nginx:
        pytest.skip("nginx is missing: `make nginx` installs Debian's package")
    redis_url = os.environ.get("TEST_REDIS_URL")
    if not redis_url:
        pytest.skip("TEST_REDIS_URL is not set: the replicas share Redis")
    try:
        redis.Redis.from_url(redis_url, socket_connect_timeout=1).ping()
    except redis.RedisError as exc:
        pytest.skip(f"Redis at TEST_REDIS_URL is unreachable: {type(exc).__name__}")

    with django_db_blocker.unblock(), tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        mail = folder / "mail"
        mail.mkdir()
        shared = {
            "REDIS_URL": redis_url,
            "CACHE_KEY_PREFIX": f"test-{uuid.uuid4().hex}",  # nothing shared, no flush
            "RATE_LIMITS_ENABLED": "true",
            # A load balancer, then nginx: the client is the second entry from the
            # right of X-Forwarded-For, the one the test writes.
            "NUM_PROXIES": "2",
            "EMAIL_URL": f"filemail:///{mail}",
            "FRONTEND_URL": "https://app.example.org",
            "METRICS_TOKEN": METRICS_TOKEN,
        }
        replicas = []
        for index in range(REPLICAS):
            metrics = folder / f"metrics-{index}"
            metrics.mkdir()
            replicas.append(
                LiveServer(
                    workers=1,
                    args=["-c", "config/gunicorn.py"],
                    extra_env={**shared, "PROMETHEUS_MULTIPROC_DIR": str(metrics)},
                )
            )
        proxy_port = free_port()
        config = nginx_config(folder, proxy_port, [r.port for r in replicas])
        command = [nginx, "-p", str(folder), "-e", str(folder / "error.log")]
        checked = subprocess.run(
            [*command, "-t", "-c", str(config)], capture_output=True, text=True
        )
        if checked.returncode != 0:
            pytest.skip(f"nginx cannot run here: {checked.stderr.strip()[-500:]}")
        proxy = None
        try:
            with ThreadPoolExecutor(REPLICAS) as pool:
                list(pool.map(LiveServer.start, replicas))
            proxy = subprocess.Popen(
                [*command, "-c", str(config)],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            wait_until_up(
                f"http://127.0.0.1:{proxy_port}/proxy-health", proxy, timeout=15
            )
            yield Cluster(replicas, f"http://127.0.0.1:{proxy_port}", mail)
        finally:
            if proxy:
                proxy.terminate()
                proxy.wait(timeout=10)
            for replica in replicas:
                replica.stop()


def test_nginx_spreads_requests_round_robin_over_the_three_replicas(cluster):
    answers = [call(f"{cluster.url}/health") for _ in range(2 * REPLICAS)]

    assert [a.status for a in answers] == [HTTPStatus.OK] * 2 * REPLICAS
    assert {a.replica for a in answers} == cluster.ports()


def test_a_token_issued_by_one_replica_works_on_the_others(cluster):
    client = new_client_address()
    email = register(cluster, client)

    issued = login(cluster.url, email, PASSWORD, client)
    token = issued.body["access_token"]
    answers = [
        call(f"{url}/api/v1/users/me", token=token)
        for url in cluster.others(issued.replica)
    ]

    assert issued.status == HTTPStatus.OK
    assert len(answers) == REPLICAS - 1
    for answer in answers:
        assert answer.status == HTTPStatus.OK
        assert answer.body["email"] == email


def test_logout_on_one_replica_revokes_the_refresh_token_on_all(cluster):
    client = new_client_address()
    email = register(cluster, client)
    session = login(cluster.url, email, PASSWORD, client)
    first, *others = [r.url for r in cluster.replicas]

    logout = call(
        f"{first}/api/v1/auth/logout",
        {"refresh_token": session.body["refresh_token"]},
        token=session.body["access_token"],
    )
    refreshes = [
        call(
            f"{url}/api/v1/auth/refresh",
            {"refresh_token": session.body["refresh_token"]},
        )
        for url in others
    ]

    assert logout.status == HTTPStatus.NO_CONTENT
    assert [r.status for r in refreshes] == [HTTPStatus.UNAUTHORIZED] * len(others)


def wait_for_a_fresh_minute(margin: float = 15.0) -> None:
    """Sleep into the next minute if this one ends within `margin` seconds.

    The limits count in fixed one-minute windows: a test that straddled two would
    get a second quota.
    """
    left = 60 - time.time() % 60
    if left < margin:
        time.sleep(left + 0.5)


def test_login_limit_per_address_holds_across_replicas(cluster):
    client = new_client_address()
    email = register(cluster, client)
    wait_for_a_fresh_minute()

    # Other usernames each time: only the address limit applies.
    answers = [
        login(cluster.url, f"nobody-{n}@example.com", "wrong password", client)
        for n in range(REPLICAS * 3)
    ]
    statuses = [a.status for a in answers]

    assert {a.replica for a in answers} == cluster.ports()
    assert statuses[:5] == [HTTPStatus.UNAUTHORIZED] * 5
    assert statuses[5:] == [HTTPStatus.TOO_MANY_REQUESTS] * (len(statuses) - 5)
    assert int(answers[-1].headers["Retry-After"]) > 0
    # A correct password from that address is refused too, on any replica.
    assert login(cluster.url, email, PASSWORD, client).status == (
        HTTPStatus.TOO_MANY_REQUESTS
    )


def test_login_limit_per_username_holds_across_replicas_and_addresses(cluster):
    email = register(cluster, new_client_address())
    wait_for_a_fresh_minute()

    answers = [
        login(cluster.url, email, "wrong password", f"203.0.113.{n + 1}")
        for n in range(REPLICAS * 3)
    ]
    statuses = [a.status for a in answers]

    assert {a.replica for a in answers} == cluster.ports()
    assert statuses[:5] == [HTTPStatus.UNAUTHORIZED] * 5
    assert statuses[5:] == [HTTPStatus.TOO_MANY_REQUESTS] * (len(statuses) - 5)


def reset_link(folder: Path, email: str, timeout: float = 30) -> dict[str, str]:
    """The uid and token of the newest reset link mailed to this address."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for path in sorted(folder.glob("*.log"), key=lambda p: p.stat().st_mtime):
            text = path.read_text()
            if f"To: {email}" in text and (
                link := re.search(
                    r"https://app\.example\.org/reset-password\?\S+", text
                )
            ):
                query = parse_qs(urlparse(link.group(0)).query)
                return {"uid": query["uid"][0], "token": query["token"][0]}
        time.sleep(0.2)
    pytest.fail(f"no reset email to {email} in {timeout} s")


def test_a_reset_link_made_by_one_replica_is_accepted_by_another(cluster):
    client = new_client_address()
    email = register(cluster, client)

    recovery = call(
        f"{cluster.url}/api/v1/auth/password-recovery", {"email": email}, client=client
    )
    link = reset_link(cluster.mail, email)
    other, third = cluster.others(recovery.replica)
    reset = call(
        f"{other}/api/v1/auth/reset-password", {**link, "new_password": NEW_PASSWORD}
    )
    reused = call(
        f"{third}/api/v1/auth/reset-password", {**link, "new_password": PASSWORD}
    )

    assert recovery.status == HTTPStatus.ACCEPTED
    assert reset.status == HTTPStatus.OK
    assert reused.status == HTTPStatus.BAD_REQUEST  # single use, on every replica
    assert login(third, email, NEW_PASSWORD, client).status == HTTPStatus.OK


def sample(text: str, name: str, labels: str) -> float:
    """The value of one sample in Prometheus' text format, 0 when absent."""
    match = re.search(rf"^{name}\{{{re.escape(labels)}\}} (\S+)$", text, re.M)
    return float(match.group(1)) if match else 0.0


def scrape(cluster: Cluster) -> list[Answer]:
    """GET /metrics of every replica, directly, as Prometheus does."""
    return [call(f"{r.url}/metrics", token=METRICS_TOKEN) for r in cluster.replicas]


def test_metrics_of_every_replica_are_scrapeable(cluster):
    health = 'method="GET",route="health",status="200"'
    before = [sample(s.body, "http_requests_total", health) for s in scrape(cluster)]

    for _ in range(2 * REPLICAS):
        call(f"{cluster.url}/health")
    scrapes = scrape(cluster)

    after = [sample(s.body, "http_requests_total", health) for s in scrapes]
    for scrape_answer in scrapes:
        assert scrape_answer.status == HTTPStatus.OK
        assert scrape_answer.headers["Content-Type"].startswith("text/plain")
    # Each replica counts its own requests: nginx sent two of the six to each.
    assert [a - b for a, b in zip(after, before, strict=True)] == [2] * REPLICAS


def kill(replica: LiveServer) -> None:
    """SIGKILL a replica's gunicorn master and workers at once, as a lost node."""
    assert replica.process
    pids = [replica.process.pid, *children(replica.process.pid)]
    for pid in pids:
        os.kill(pid, signal.SIGKILL)
    replica.process.wait()


def test_killing_a_replica_under_load_loses_no_idempotent_request(cluster):
    client = new_client_address()
    email = register(cluster, client)
    token = login(cluster.url, email, PASSWORD, client).body["access_token"]
    victim = cluster.replicas[0]
    dead = f"127.0.0.1:{victim.port}"
    results: list[tuple[float, int, str]] = []
    errors: list[str] = []
    stop = threading.Event()

    def load() -> None:
        while not stop.is_set():
            try:
                answer = call(f"{cluster.url}/api/v1/items/", token=token)
                results.append((time.monotonic(), answer.status, answer.replica))
            except OSError as exc:  # a request lost on the way
                errors.append(repr(exc))

    threads = [threading.Thread(target=load) for _ in range(6)]
    for thread in threads:
        thread.start()
    deadline = time.monotonic() + 20
    while len(results) < 60 and time.monotonic() < deadline:
        time.sleep(0.05)
    killed_at = time.monotonic()
    kill(victim)
    # 150 more answers, and at least 2 s of them, since `after` counts from 1 s on.
    while (
        len(results) < 60 + 150 or time.monotonic() < killed_at + 2
    ) and time.monotonic() < deadline:
        time.sleep(0.05)
    stop.set()
    for thread in threads:
        thread.join(timeout=20)

    after = [replica for at, _, replica in results if at > killed_at + 1]
    assert errors == []
    assert len(results) >= 60 + 150, "the load did not get through in 20 s"
    assert {status for _, status, _ in results} == {HTTPStatus.OK}
    assert {replica for _, _, replica in results if replica} >= {dead}
    assert dead not in after
    assert set(after) == cluster.ports() - {dead}  # both others keep serving
