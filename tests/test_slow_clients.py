"""Slow clients (half-sent headers) meet the shipped nginx, not gunicorn's threads.

gunicorn has no header timeout: a connection that sends half its headers holds a
gthread thread (or a sync process) until the client gives up. The shipped
deploy/nginx.conf in front reads whole requests before it passes them on, so the
server block runs here as shipped, with only its upstream pointed at a local
gunicorn (Debian's nginx: `apt-get install nginx`).
"""

import os
import re
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from http import HTTPStatus
from pathlib import Path

import pytest

from tests.support import BASE_DIR
from tests.support.servers import free_port, wait_until_up
from tests.test_faults import call
from tests.test_gunicorn import CONFIG

pytestmark = pytest.mark.live
SLOW_CLIENTS = 50


def nginx_config(folder: Path, listen: int, upstream: int) -> Path:
    """Write an nginx.conf around deploy/nginx.conf, its upstream on 127.0.0.1."""
    shipped = (BASE_DIR / "deploy" / "nginx.conf").read_text()
    server = re.sub(r"^resolver .*$", "", shipped, flags=re.MULTILINE)
    # `resolve` finds compose's replicas through Docker's DNS (nginx 1.27.3+).
    server = re.sub(r"server api:8000 resolve", f"server 127.0.0.1:{upstream}", server)
    server = server.replace("listen 80 default_server;", f"listen 127.0.0.1:{listen};")
    assert f"127.0.0.1:{upstream}" in server
    assert f"127.0.0.1:{listen}" in server
    (folder / "default.conf").write_text(server)
    user = "user root;" if os.geteuid() == 0 else ""
    config = folder / "nginx.conf"
    config.write_text(
        f"""{user}
daemon off;
worker_processes 1;
pid {folder}/nginx.pid;
error_log {folder}/error.log warn;
events {{ worker_connections 1024; }}
http {{
    access_log off;
    client_body_temp_path {folder}/body;
    proxy_temp_path {folder}/proxy;
    fastcgi_temp_path {folder}/fastcgi;
    uwsgi_temp_path {folder}/uwsgi;
    scgi_temp_path {folder}/scgi;
    include {folder}/default.conf;
}}
"""
    )
    return config


@pytest.fixture
def nginx(tmp_path, live_server_factory) -> Iterator[str]:
    """The shipped nginx server block in front of gunicorn (shipped config); its URL."""
    binary = shutil.which("nginx") or "/usr/sbin/nginx"
    if not os.path.exists(binary):
        pytest.skip("nginx is not installed (apt-get install nginx)")
    server = live_server_factory(args=CONFIG)
    port = free_port()
    config = nginx_config(tmp_path, port, server.port)
    process = subprocess.Popen(
        [binary, "-c", str(config), "-p", str(tmp_path)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.STDOUT,
    )
    try:
        wait_until_up(f"http://127.0.0.1:{port}/proxy-health", process, timeout=30)
        yield f"http://127.0.0.1:{port}"
    finally:
        process.terminate()
        process.wait(timeout=10)


def half_sent_headers(port: int) -> socket.socket:
    """Open a connection and send half of a request's headers, then nothing."""
    sock = socket.create_connection(("127.0.0.1", port), timeout=5)
    sock.sendall(b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nUser-Agent: slo")
    return sock


def test_50_slow_clients_do_not_delay_health_behind_the_shipped_nginx(nginx):
    port = int(nginx.rsplit(":", 1)[1])
    assert call(f"{nginx}/health")[0] == HTTPStatus.OK
    slow = [half_sent_headers(port) for _ in range(SLOW_CLIENTS)]
    try:
        time.sleep(0.5)  # every slow connection is open and waiting
        probes = [call(f"{nginx}/health", timeout=5) for _ in range(10)]
    finally:
        for sock in slow:
            sock.close()

    assert [status for status, *_ in probes] == [HTTPStatus.OK] * 10
    assert max(seconds for *_, seconds in probes) < 1
