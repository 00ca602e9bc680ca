"""Benchmark our service against the FastAPI twin and the floor: `make compare`.

For each server (ours under gunicorn exactly as production ships it, the twin and the
floor through their `serve` scripts) it creates a fresh PostgreSQL database on the
server COMPARE_DATABASE_URL names, and a flushed Redis database; starts the server
once to seed it through its own API (register users, log in, create items); then, for
R rounds, interleaved server by server so that a drift of the machine hits all alike,
starts each server (recording its start-up time), runs every scenario with wrk and
records req/s, p50, p99, CPU-seconds per request of the server's process tree and
memory per worker. Every cell with a non-2xx answer or a socket error is INVALID, and
an INVALID run exits non-zero. The result goes to comparison/results/<UTC time>.json;
a valid run also rewrites the tables and charts of docs/comparison.md (between marker
comments) and the PNG charts in docs/img/.

Run it as `make compare` (QUICK=1 for a one-minute smoke run; ROUNDS, DURATION,
CONNECTIONS, WORKERS override), or `uv run python scripts/compare.py --help`.
"""

import argparse
import contextlib
import json
import os
import platform
import re
import secrets
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import loc
from serving import cpu_seconds, free_port, leaf_rss_mb, stop, wait_until_up

BASE_DIR = Path(__file__).resolve().parent.parent
API = "/api/v1"
SERVERS = ("ours", "twin", "floor")
LABELS = {
    "ours": "ours (DRF)",
    "twin": "FastAPI twin",
    "floor": "floor (WSGI)",
}
SCENARIOS = (
    "health",
    "me",
    "items list",
    "item detail",
    "item create",
    "item update",
    "login",
)
# Rates so high that no scenario meets them: the cost of the counters, not of 429s.
RAISED_RATES = {
    "ours": {
        "RATE_LIMIT_ANON": "100000000/min",
        "RATE_LIMIT_USER": "100000000/min",
        "RATE_LIMIT_LOGIN": "100000000/min",
        "RATE_LIMIT_LOGIN_USERNAME": "100000000/min",
    },
    "twin": {
        "RATE_LIMIT_ANON": "100000000/minute",
        "RATE_LIMIT_USER": "100000000/minute",
        "RATE_LIMIT_LOGIN": "100000000/minute",
    },
}
# A run begun at a load average under this per core, and not QUICK, counts as quiet.
QUIET_LOAD_PER_CORE = 0.5
START = "<!-- compare:results:start -->"
END = "<!-- compare:results:end -->"
# wrk's Lua: the request, then a count of every answer outside 2xx (wrk's own count
# only covers 4xx and 5xx) and, for lists, of answers without X-Total-Count.
LUA = """\
wrk.method = {method}
wrk.body = {body}
{headers}
local check_total = {check_total}
local threads = {{}}
function setup(thread) table.insert(threads, thread) end
function init(args) bad = 0; untotalled = 0; first_bad = "" end
function response(status, headers, body)
  if status < 200 or status > 299 then
    bad = bad + 1
    if first_bad == "" then
      first_bad = status .. " " .. string.sub(body or "", 1, 200)
    end
  elseif check_total then
    local found = false
    for name, _ in pairs(headers) do
      if string.lower(name) == "x-total-count" then found = true end
    end
    if not found then untotalled = untotalled + 1 end
  end
end
function done(summary, latency, requests)
  local b, u, f = 0, 0, ""
  for _, t in ipairs(threads) do
    b = b + t:get("bad")
    u = u + t:get("untotalled")
    if f == "" then f = t:get("first_bad") end
  end
  io.write(string.format("COMPARE non2xx=%d untotalled=%d p50_us=%d p99_us=%d\\n",
    b, u, latency:percentile(50), latency:percentile(99)))
  io.write("COMPARE first_bad=" .. string.gsub(f, "\\n", " ") .. "\\n")
end
"""


def lua_string(value: str | None) -> str:
    """Quote a value as a Lua long string (nil for None)."""
    return "nil" if value is None else f"[==[{value}]==]"


@dataclass
class Seed:
    """What a server needs for the scenarios: tokens, ids, a login."""

    reader_token: str = ""
    writer_token: str = ""
    item_id: int = 0
    writer_item_id: int = 0
    email: str = ""
    password: str = ""


@dataclass
class Server:
    """One server of the comparison, with or without rate limits."""

    name: str
    rate_limits: bool
    command: list[str]
    env: dict[str, str]
    cwd: Path
    url: str = ""
    external: bool = False
    seed: Seed = field(default_factory=Seed)
    process: subprocess.Popen | None = None

    @property
    def key(self) -> str:
        """Name in the results: ours, twin, floor, ours+limits, twin+limits."""
        return self.name + ("+limits" if self.rate_limits else "")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Read the command line; defaults come from the environment make passes."""
    quick = os.environ.get("QUICK", "") not in ("", "0")
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", default=quick)
    parser.add_argument(
        "--servers",
        default=os.environ.get("SERVERS", ""),
        help="comma-separated, of ours,twin,floor (default: all three; without "
        "the twin while comparison/fastapi/serve is missing)",
    )
    parser.add_argument("--rounds", type=int, default=_env_int("ROUNDS"))
    parser.add_argument("--duration", type=int, default=_env_int("DURATION"))
    parser.add_argument("--connections", type=int, default=_env_int("CONNECTIONS"))
    parser.add_argument("--workers", type=int, default=_env_int("WORKERS"))
    parser.add_argument("--wrk-threads", type=int, default=2)
    parser.add_argument(
        "--no-limits",
        action="store_true",
        help="skip the second table (rate limits on, rates raised)",
    )
    parser.add_argument(
        "--database-url",
        default=os.environ.get(
            "COMPARE_DATABASE_URL", "postgres://postgres@127.0.0.1:5432"
        ),
        help="the PostgreSQL server; a database per server is created and dropped",
    )
    parser.add_argument(
        "--redis-url",
        default=os.environ.get("COMPARE_REDIS_URL", "redis://127.0.0.1:6379"),
    )
    parser.add_argument(
        "--redis-dbs",
        default=os.environ.get("COMPARE_REDIS_DBS", "12,13"),
        help="Redis database numbers for ours and the twin (flushed)",
    )
    parser.add_argument(
        "--db-prefix", default=os.environ.get("COMPARE_DB_PREFIX", "compare")
    )
    parser.add_argument(
        "--twin-dir",
        type=Path,
        default=Path(
            os.environ.get("COMPARE_TWIN_DIR", BASE_DIR / "comparison" / "fastapi")
        ),
    )
    parser.add_argument(
        "--floor-dir",
        type=Path,
        default=Path(
            os.environ.get("COMPARE_FLOOR_DIR", BASE_DIR / "comparison" / "floor")
        ),
    )
    parser.add_argument(
        "--external",
        action="append",
        default=[],
        metavar="NAME=URL",
        help="measure a server that is already running instead of starting NAME",
    )
    parser.add_argument(
        "--results-dir", type=Path, default=BASE_DIR / "comparison" / "results"
    )
    parser.add_argument("--docs", type=Path, default=BASE_DIR / "docs/comparison.md")
    parser.add_argument("--img-dir", type=Path, default=BASE_DIR / "docs" / "img")
    parser.add_argument(
        "--from-json",
        type=Path,
        help="run nothing: redraw the charts and the page from a saved result",
    )
    args = parser.parse_args(argv)
    defaults = (1, 1, 8) if args.quick else (3, 10, 32)
    args.rounds = args.rounds or defaults[0]
    args.duration = args.duration or defaults[1]
    args.connections = args.connections or defaults[2]
    args.workers = args.workers or os.process_cpu_count() or 1
    args.servers = [name.strip() for name in args.servers.split(",") if name.strip()]
    if not args.servers:
        args.servers = list(SERVERS)
        if not (args.twin_dir / "serve").exists() and not args.from_json:
            args.servers.remove("twin")
            log(
                f"!!! The FastAPI twin is missing ({args.twin_dir}/serve): comparing "
                "ours and the floor only. Set COMPARE_TWIN_DIR to include it."
            )
    for name in args.servers:
        if name not in SERVERS and not any(
            e.startswith(f"{name}=") for e in args.external
        ):
            parser.error(f"unknown server {name!r}; choose from {', '.join(SERVERS)}")
    return args


def _env_int(name: str) -> int:
    """Read a whole number that make passes (empty means the default)."""
    raw = os.environ.get(name, "").strip()
    if not raw:
        return 0
    if not raw.isdigit() or int(raw) < 1:
        raise SystemExit(f"{name} must be a whole number of at least 1, not {raw!r}.")
    return int(raw)


def log(message: str) -> None:
    """Print a progress line."""
    print(message, file=sys.stderr, flush=True)


# DATABASES
# ------------------------------------------------------------------------------
def database_url(server_url: str, name: str) -> str:
    """Return the URL of database `name` on the server that server_url names."""
    parts = urllib.parse.urlsplit(server_url)
    return urllib.parse.urlunsplit(parts._replace(path=f"/{name}"))


def recreate_database(server_url: str, name: str, *, create: bool) -> None:
    """Drop database `name`, and create it again when asked."""
    import psycopg

    conninfo = database_url(server_url, "postgres").replace(
        "postgres://", "postgresql://", 1
    )
    with psycopg.connect(conninfo, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        if create:
            conn.execute(f'CREATE DATABASE "{name}"')


def flush_redis(url: str) -> None:
    """Empty one Redis database (the rate-limit counters of a previous start)."""
    import redis

    client = redis.Redis.from_url(url, socket_timeout=5)
    client.flushdb()
    client.close()


# SERVERS
# ------------------------------------------------------------------------------
def make_servers(args: argparse.Namespace, workdir: Path) -> list[Server]:
    """Build the servers to compare, each with its database and environment."""
    redis_dbs = dict(zip(("ours", "twin"), args.redis_dbs.split(","), strict=False))
    external = dict(entry.split("=", 1) for entry in args.external)
    servers = []
    for name in args.servers:
        variants = [False]
        if name in RAISED_RATES and not args.no_limits:
            variants.append(True)
        base_env = {
            "PATH": outside_venv(os.environ.get("PATH", "/usr/bin:/bin")),
            "HOME": os.environ.get("HOME", "/tmp"),
            "LANG": os.environ.get("LANG", "C.UTF-8"),
            "DATABASE_URL": database_url(args.database_url, f"{args.db_prefix}_{name}"),
            "REDIS_URL": f"{args.redis_url.rstrip('/')}/{redis_dbs.get(name, 0)}",
            "WEB_CONCURRENCY": str(args.workers),
            "LOG_LEVEL": "WARNING",
            "JWT_SIGNING_KEY": secrets.token_urlsafe(50),
            "FIRST_SUPERUSER_EMAIL": f"admin-{name}@example.com",
            "FIRST_SUPERUSER_PASSWORD": secrets.token_urlsafe(16),
        }
        for limits in variants:
            env = {
                **base_env,
                "RATE_LIMITS_ENABLED": "true" if limits else "false",
                **(RAISED_RATES.get(name, {}) if limits else {}),
            }
            port = free_port()
            if name in external:
                server = Server(name, limits, [], env, BASE_DIR, external[name], True)
            elif name == "ours":
                server = ours(env, port, workdir)
                server.rate_limits = limits
            elif name == "twin":
                env["TWIN_PORT"] = str(port)
                server = Server(
                    name, limits, [str(args.twin_dir / "serve")], env, BASE_DIR
                )
            else:
                env["FLOOR_PORT"] = str(port)
                server = Server(
                    name, limits, [str(args.floor_dir / "serve")], env, BASE_DIR
                )
            server.url = server.url or f"http://127.0.0.1:{port}"
            servers.append(server)
    return servers


def outside_venv(path: str) -> str:
    """PATH without this project's .venv: each serve script syncs and uses its own."""
    venv = str(BASE_DIR / ".venv")
    return os.pathsep.join(p for p in path.split(os.pathsep) if not p.startswith(venv))


def ours(env: dict[str, str], port: int, workdir: Path) -> Server:
    """Our service as the Dockerfile runs it, with the settings the guard needs.

    Plain HTTP on loopback, as docker-compose.yaml sets it for a laptop: no HTTPS
    redirect, no HSTS, no secure-only cookies. Everything else is production's.
    """
    env = {
        **env,
        "DJANGO_ENV": "production",
        "DJANGO_DEBUG": "false",
        "DJANGO_SECRET_KEY": secrets.token_urlsafe(50),
        "DJANGO_ALLOWED_HOSTS": "127.0.0.1,localhost",
        "DJANGO_SECURE_SSL_REDIRECT": "false",
        "DJANGO_SECURE_HSTS_SECONDS": "0",
        "DJANGO_SESSION_COOKIE_SECURE": "false",
        "DJANGO_CSRF_COOKIE_SECURE": "false",
        "DJANGO_STATIC_ROOT": str(workdir / "staticfiles"),
        "WHITENOISE_USE_FINDERS": "false",
        "GUNICORN_BIND": f"127.0.0.1:{port}",
        "GUNICORN_LOG_LEVEL": "warning",
        "CELERY_TASK_ALWAYS_EAGER": "true",
        "EMAIL_URL": "consolemail://",
        "EMAIL_ALLOW_CONSOLE": "true",  # no email is read; production's guard asks
        "METRICS_TOKEN": secrets.token_urlsafe(32),
    }
    gunicorn = str(Path(sys.executable).parent / "gunicorn")
    command = [gunicorn, "-c", "config/gunicorn.py", "config.wsgi"]
    return Server("ours", False, command, env, BASE_DIR)


def release(server: Server) -> None:
    """Run what precedes a start in production, so start-up times compare alike.

    Ours: migrations and static files (the release step of docker-compose.yaml). The
    twin and the floor: their `uv sync`, which a built image has done already; their
    `serve` still runs it (a no-op then), and their migrations, at every start.
    """
    if server.external:
        return
    if server.name != "ours":
        uv = ["uv"] if shutil.which("uv", path=server.env["PATH"]) else None
        subprocess.run(
            [*(uv or ["python3", "-m", "uv"]), "sync", "--frozen", "--quiet"],
            env=server.env,
            cwd=Path(server.command[0]).parent,
            check=True,
        )
        return
    manage = [sys.executable, "manage.py"]
    for command in (
        ["migrate", "--no-input", "-v", "0"],
        ["collectstatic", "--no-input", "-v", "0"],
    ):
        subprocess.run(
            [*manage, *command],
            env=server.env,
            cwd=BASE_DIR,
            check=True,
            stdout=subprocess.DEVNULL,
        )


def start(server: Server, workdir: Path) -> float:
    """Start a server and return the seconds until /health first answered."""
    if server.external:
        wait_until_up(f"{server.url}/health", _Alive(), timeout=10, poll=0.02)
        return 0.0
    if server.name in RAISED_RATES:
        flush_redis(server.env["REDIS_URL"])
    logfile = (workdir / f"{server.key}.log").open("ab")
    began = time.monotonic()
    server.process = subprocess.Popen(
        server.command,
        env=server.env,
        cwd=server.cwd,
        stdout=logfile,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        wait_until_up(f"{server.url}/health", server.process, timeout=180, poll=0.02)
    except RuntimeError as exc:
        halt(server)
        tail = (workdir / f"{server.key}.log").read_text(errors="replace")[-3000:]
        raise SystemExit(f"{server.key} did not start ({exc}):\n{tail}") from None
    return time.monotonic() - began


class _Alive:
    """A stand-in for the process of a server that this script did not start."""

    def poll(self) -> None:
        """An external server never counts as exited."""
        return


def halt(server: Server) -> None:
    """Stop a server that this script started, and every process it left behind.

    The server runs in a session of its own (start_new_session), so a worker that
    outlives its master (killed after the grace time) is found by its group.
    """
    if server.process is None:
        return
    group = server.process.pid
    stop(server.process, timeout=30)
    server.process = None
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(group, signal.SIGKILL)


# SEEDING, THROUGH EACH SERVER'S OWN API
# ------------------------------------------------------------------------------
def call(
    url: str, *, data: Any = None, form: bool = False, token: str = ""
) -> tuple[int, Any]:
    """POST JSON (or a form) or GET; return the status and the JSON body."""
    headers = {}
    body = None
    if data is not None:
        if form:
            body = urllib.parse.urlencode(data).encode()
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        else:
            body = json.dumps(data).encode()
            headers["Content-Type"] = "application/json"
    if token:
        headers["Authorization"] = f"Bearer {token}"
    request = urllib.request.Request(url, data=body, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status, json.loads(response.read() or b"null")
    except urllib.error.HTTPError as exc:
        raise SystemExit(
            f"seeding failed: {url} answered {exc.code}: {exc.read()[:300]!r}"
        ) from None


def login(server: Server, email: str, password: str) -> str:
    """Log in with the OAuth2 password form; return the access token."""
    form = {"username": email, "password": password}
    _, body = call(f"{server.url}{API}/auth/login", data=form, form=True)
    return body["access_token"]


def seed(server: Server) -> Seed:
    """Register a reader (20 items) and a writer (one item to update)."""
    password = secrets.token_urlsafe(16)
    result = Seed(email="reader@example.com", password=password)
    for email in ("reader@example.com", "writer@example.com"):
        call(f"{server.url}{API}/users/", data={"email": email, "password": password})
    result.reader_token = login(server, "reader@example.com", password)
    result.writer_token = login(server, "writer@example.com", password)
    for number in range(20):
        _, item = call(
            f"{server.url}{API}/items/",
            data={"title": f"Item {number}", "description": "x" * 100},
            token=result.reader_token,
        )
        result.item_id = result.item_id or item["id"]
    _, item = call(
        f"{server.url}{API}/items/",
        data={"title": "To update", "description": None},
        token=result.writer_token,
    )
    result.writer_item_id = item["id"]
    return result


def prepare(server: Server, servers: list[Server]) -> None:
    """Seed a server on its first start (the same data for both variants).

    On a later start, log in again, so that tokens stay fresh whatever their lifetime.
    """
    if not server.seed.email:
        sibling = [s for s in servers if s.name == server.name and s.seed.email]
        if not sibling:
            log(f"==> {server.key}: seeding through its API")
            server.seed = seed(server)
            return
        server.seed = Seed(**vars(sibling[0].seed))
    refresh_tokens(server)


def refresh_tokens(server: Server) -> None:
    """Log in again after a start: tokens stay fresh whatever their lifetime."""
    server.seed.reader_token = login(server, server.seed.email, server.seed.password)
    server.seed.writer_token = login(server, "writer@example.com", server.seed.password)


# SCENARIOS
# ------------------------------------------------------------------------------
def scenario_request(name: str, seed: Seed) -> dict[str, Any]:
    """Return the method, path, headers and body of one scenario."""
    reader = {"Authorization": f"Bearer {seed.reader_token}"}
    writer = {
        "Authorization": f"Bearer {seed.writer_token}",
        "Content-Type": "application/json",
    }
    scenarios: dict[str, dict[str, Any]] = {
        "health": {"method": "GET", "path": "/health", "headers": {}},
        "me": {"method": "GET", "path": f"{API}/users/me", "headers": reader},
        "items list": {
            "method": "GET",
            "path": f"{API}/items/",
            "headers": reader,
            "check_total": True,
        },
        "item detail": {
            "method": "GET",
            "path": f"{API}/items/{seed.item_id}",
            "headers": reader,
        },
        "item create": {
            "method": "POST",
            "path": f"{API}/items/",
            "headers": writer,
            "body": json.dumps({"title": "Bench item", "description": "x" * 100}),
        },
        "item update": {
            "method": "PATCH",
            "path": f"{API}/items/{seed.writer_item_id}",
            "headers": writer,
            "body": json.dumps({"title": "Updated by make compare"}),
        },
        "login": {
            "method": "POST",
            "path": f"{API}/auth/login",
            "headers": {"Content-Type": "application/x-www-form-urlencoded"},
            "body": urllib.parse.urlencode(
                {"username": seed.email, "password": seed.password}
            ),
        },
    }
    return scenarios[name]


def lua_script(request: dict[str, Any]) -> str:
    """Write the wrk script of one scenario."""
    headers = "\n".join(
        f"wrk.headers[ {lua_string(k)} ] = {lua_string(v)}"
        for k, v in request["headers"].items()
    )
    return LUA.format(
        method=lua_string(request["method"]),
        body=lua_string(request.get("body")),
        headers=headers,
        check_total="true" if request.get("check_total") else "false",
    )


def login_duration(args: argparse.Namespace) -> int:
    """Seconds of a login cell: at least 8, as a busy machine needs 2 to 4 s a login."""
    return max(args.duration, 8)


def connections_for(name: str, args: argparse.Namespace) -> int:
    """Connections for a scenario: login (Argon2id) gets one a worker.

    Argon2id with parallelism 8 keeps the cores busy with one login a worker; more
    connections would only queue (and wrk would count timeouts on a busy machine).
    """
    if name == "login":
        return min(args.connections, args.workers)
    return args.connections


def run_wrk(
    server: Server, name: str, args: argparse.Namespace, workdir: Path, duration: int
) -> dict[str, Any]:
    """Run wrk once on one scenario; parse its numbers and the script's counts."""
    request = scenario_request(name, server.seed)
    script = workdir / f"{name.replace(' ', '-')}.lua"
    script.write_text(lua_script(request))
    connections = connections_for(name, args)
    command = [
        "wrk", "--latency", "-t", str(min(args.wrk_threads, connections)),
        "-c", str(connections), "-d", f"{duration}s", "--timeout", "10s",
        "-s", str(script), f"{server.url}{request['path']}",
    ]  # fmt: skip
    out = subprocess.run(command, capture_output=True, text=True, check=False)
    return parse_wrk(out.stdout + out.stderr, connections)


def parse_wrk(out: str, connections: int) -> dict[str, Any]:
    """Read requests/s, latencies and error counts from wrk's output."""
    counts = re.search(
        r"COMPARE non2xx=(\d+) untotalled=(\d+) p50_us=(\d+) p99_us=(\d+)", out
    )
    rps = re.search(r"Requests/sec:\s+([\d.]+)", out)
    total = re.search(r"(\d+) requests in", out)
    if not (counts and rps and total):
        lines = out.strip().splitlines()[-3:]
        return {"valid": False, "problem": "wrk failed: " + " / ".join(lines)}
    socket_errors = re.search(
        r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out
    )
    first_bad = re.search(r"COMPARE first_bad=(.*)", out)
    result: dict[str, Any] = {
        "rps": float(rps[1]),
        "requests": int(total[1]),
        "p50_ms": int(counts[3]) / 1000,
        "p99_ms": int(counts[4]) / 1000,
        "non2xx": int(counts[1]),
        "missing_total_count": int(counts[2]),
        "socket_errors": sum(int(n) for n in socket_errors.groups())
        if socket_errors
        else 0,
        "connections": connections,
    }
    problems = []
    if result["non2xx"]:
        first = first_bad[1].strip() if first_bad else "not recorded"
        problems.append(f"{result['non2xx']} non-2xx answers (first: {first})")
    if socket_errors and result["socket_errors"]:
        problems.append(f"socket errors: {socket_errors[0]}")
    if result["missing_total_count"]:
        problems.append(f"{result['missing_total_count']} lists without X-Total-Count")
    if not result["requests"]:
        problems.append("no request completed")
    result["valid"] = not problems
    if problems:
        result["problem"] = "; ".join(problems)
    return result


def measure(
    server: Server, name: str, args: argparse.Namespace, workdir: Path
) -> dict[str, Any]:
    """One cell: wrk on one scenario, with the CPU time and memory of the server."""
    root = server.process.pid if server.process else None
    cpu_before = cpu_seconds(root) if root else 0.0
    # A login costs tenths of a CPU-second: one-second cells would hold none.
    duration = login_duration(args) if name == "login" else args.duration
    result = run_wrk(server, name, args, workdir, duration)
    if root and result.get("requests"):
        cpu = cpu_seconds(root) - cpu_before
        result["cpu_ms_per_request"] = 1000 * cpu / result["requests"]
        sizes = sorted(leaf_rss_mb(root), reverse=True)[: args.workers]
        result["rss_mb_per_worker"] = statistics.mean(sizes) if sizes else None
    return result


# RESULTS
# ------------------------------------------------------------------------------
def machine() -> dict[str, Any]:
    """Describe the machine the numbers come from."""
    model = ""
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists() and (
        found := re.search(r"model name\s*:\s*(.*)", cpuinfo.read_text())
    ):
        model = found[1].strip()
    memory = Path("/proc/meminfo")
    total_gb = None
    if memory.exists() and (
        found := re.search(r"MemTotal:\s+(\d+) kB", memory.read_text())
    ):
        total_gb = round(int(found[1]) / 1024 / 1024, 1)
    return {
        "cores": os.cpu_count(),
        "cpu": model or platform.processor(),
        "memory_gb": total_gb,
        "os": platform.platform(),
        "python": platform.python_version(),
        "load_before": os.getloadavg()[0],
    }


def summarise(cells: list[dict[str, Any]]) -> dict[str, dict[str, dict[str, Any]]]:
    """Median over the rounds of each server and scenario; None where INVALID."""
    summary: dict[str, dict[str, dict[str, Any]]] = {}
    for cell in cells:
        summary.setdefault(cell["server"], {}).setdefault(cell["scenario"], {})
    for key, scenarios in summary.items():
        for scenario in scenarios:
            runs = [
                c for c in cells if c["server"] == key and c["scenario"] == scenario
            ]
            valid = all(c["valid"] for c in runs)
            entry: dict[str, Any] = {"valid": valid, "rounds": len(runs)}
            for metric in ("rps", "p50_ms", "p99_ms", "cpu_ms_per_request"):
                values = [c[metric] for c in runs if c.get(metric) is not None]
                entry[metric] = statistics.median(values) if values and valid else None
            sizes = [c["rss_mb_per_worker"] for c in runs if c.get("rss_mb_per_worker")]
            entry["rss_mb_per_worker"] = max(sizes) if sizes else None
            scenarios[scenario] = entry
    return summary


def label(name: str) -> str:
    """The name of a server in tables and charts."""
    return LABELS.get(name, name)


def servers_in(summary: dict[str, Any]) -> list[str]:
    """The servers measured with rate limits off: ours, twin, floor, then others."""
    names = [key for key in summary if "+limits" not in key]
    return sorted(names, key=lambda n: SERVERS.index(n) if n in SERVERS else 9)


def number(value: float | None, digits: int = 0) -> str:
    """Format a number for a table: thousands separators, or a dash."""
    if value is None:
        return "-"
    if digits == 0 and value < 10:
        digits = 1 if value >= 1 else 2
    return f"{value:,.{digits}f}"


def median(values: list[float]) -> float | None:
    """The median, or None for no values."""
    return statistics.median(values) if values else None


def ratio(a: float | None, b: float | None) -> str:
    """Format a/b with two decimals, or a dash."""
    return f"{a / b:.2f}" if a is not None and b else "-"


def is_quiet(result: dict[str, Any]) -> bool:
    """Say whether a run counts as a result: a full run begun at under half load."""
    machine = result["machine"]
    return (
        not result["settings"].get("quick")
        and machine["load_before"] < QUIET_LOAD_PER_CORE * machine["cores"]
    )


def render(result: dict[str, Any], docs: Path, img_dir: Path) -> str:
    """Write the Markdown between the markers: context, tables, charts."""
    summary = result["summary"]
    present = servers_in(summary)
    settings = result["settings"]
    m = result["machine"]
    if is_quiet(result):
        caution = (
            f"_Measured on a quiet machine (load {m['load_before']:.1f} on "
            f"{m['cores']} cores when the run began): numbers of this machine; "
            "rerun `make compare` on yours._"
        )
    else:
        caution = (
            f"_Provisional numbers, from {m['cores']} cores shared with other work "
            f"(load {m['load_before']:.1f} when the run began"
            f"{', a QUICK run' if settings.get('quick') else ''}): "
            "rerun `make compare` on a quiet machine before quoting them._"
        )
    lines = [
        caution,
        "",
        f"- Date: {result['date']}",
        f"- Machine: {m['cores']} cores, {m['cpu']}, {m['memory_gb']} GB, {m['os']}, "
        f"Python {m['python']}",
        f"- Command: `{result['command']}`",
        f"- wrk {settings['wrk_threads']} threads, {settings['connections']} "
        f"connections ({settings['login_connections']} for login), "
        f"{settings['duration']} s a cell ({settings['login_duration']} s for login), "
        f"{settings['rounds']} interleaved round(s), "
        f"medians; {settings['workers']} worker processes a server; one PostgreSQL; "
        "every answer 2xx.",
        "",
        "Rate limits off:",
        "",
    ]
    header = ["scenario"]
    for name in present:
        header += [f"{label(name)} req/s", "p50 ms", "p99 ms"]
    if "ours" in present:
        header += [f"ours/{other}" for other in ("twin", "floor") if other in present]
    lines += ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for scenario in SCENARIOS:
        row = [scenario]
        for name in present:
            cell = summary[name].get(scenario, {})
            if not cell.get("valid", True):
                row += ["INVALID", "INVALID", "INVALID"]
                continue
            row += [
                number(cell.get("rps")),
                number(cell.get("p50_ms"), 1),
                number(cell.get("p99_ms"), 1),
            ]
        if "ours" in present:
            for other in ("twin", "floor"):
                if other in present:
                    row.append(
                        ratio(
                            summary["ours"].get(scenario, {}).get("rps"),
                            summary[other].get(scenario, {}).get("rps"),
                        )
                    )
        lines.append("| " + " | ".join(row) + " |")
    lines += [
        "",
        "CPU time of the server's processes per request (ms), start-up time "
        "(launch to the first answer on /health; the twin's and the floor's `serve` "
        "include their migrations or table creation, their `uv sync` ran before) "
        "and resident memory per worker, after the scenarios "
        "before login and after login (Argon2id's 100 MB):",
        "",
        "| server | start-up s | RSS MB a worker | after login | "
        + " | ".join(f"{s} CPU ms" for s in SCENARIOS)
        + " |",
        "|" + "---|" * (4 + len(SCENARIOS)),
    ]
    for name in present:
        scenarios = summary[name]
        rss = [
            c["rss_mb_per_worker"]
            for scenario, c in scenarios.items()
            if c["rss_mb_per_worker"] and scenario != "login"
        ]
        after_login = scenarios.get("login", {}).get("rss_mb_per_worker")
        startup = result["startup_s"].get(name) or []
        cpu = [scenarios.get(s, {}).get("cpu_ms_per_request") for s in SCENARIOS]
        lines.append(
            f"| {label(name)} | {number(median(startup), 1)}"
            f" | {number(max(rss)) if rss else '-'} | {number(after_login)} | "
            + " | ".join(number(v, 2 if v is not None and v < 100 else 0) for v in cpu)
            + " |"
        )
    limited = [s for s in ("ours", "twin") if f"{s}+limits" in summary]
    if limited:
        lines += [
            "",
            "Rate limits on (counters in Redis, rates raised so that nothing answers "
            "429), beside the same server with them off:",
            "",
            "| scenario | "
            + " | ".join(
                f"{label(s)} req/s | p99 ms | req/s against limits off" for s in limited
            )
            + " |",
            "|" + "---|" * (1 + 3 * len(limited)),
        ]
        for scenario in SCENARIOS:
            row = [scenario]
            for name in limited:
                on = summary[f"{name}+limits"].get(scenario, {})
                off = summary[name].get(scenario, {})
                if not on.get("valid", True):
                    row += ["INVALID", "INVALID", "-"]
                    continue
                change = "-"
                if on.get("rps") and off.get("rps"):
                    change = f"{100 * (on['rps'] / off['rps'] - 1):+.0f}%"
                row += [number(on.get("rps")), number(on.get("p99_ms"), 1), change]
            lines.append("| " + " | ".join(row) + " |")
    relative = os.path.relpath(img_dir, docs.parent)
    lines += [
        "",
        f"![Requests per second by scenario]({relative}/compare-rps.png)",
        "",
        f"![p99 latency by scenario]({relative}/compare-p99.png)",
        "",
        f"![CPU time per request by scenario]({relative}/compare-cpu.png)",
    ]
    return "\n".join(lines)


def charts(result: dict[str, Any], img_dir: Path) -> list[Path]:
    """Draw req/s and p99 per scenario and server as grouped bars (log scale)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    summary = result["summary"]
    present = servers_in(summary)
    img_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for metric, title, filename in (
        ("rps", "Requests per second (higher is better)", "compare-rps.png"),
        ("p99_ms", "p99 latency, ms (lower is better)", "compare-p99.png"),
        (
            "cpu_ms_per_request",
            "CPU ms per request (lower is better)",
            "compare-cpu.png",
        ),
    ):
        figure, axes = plt.subplots(figsize=(10, 4.5), dpi=100)
        width = 0.8 / max(len(present), 1)
        for index, name in enumerate(present):
            values = [summary[name].get(s, {}).get(metric) or 0 for s in SCENARIOS]
            positions = [n + index * width for n in range(len(SCENARIOS))]
            bars = axes.bar(positions, values, width, label=label(name))
            axes.bar_label(
                bars, labels=[number(v) if v else "" for v in values], fontsize=7
            )
        axes.set_xticks(
            [n + width * (len(present) - 1) / 2 for n in range(len(SCENARIOS))],
            SCENARIOS,
        )
        axes.set_yscale("log")
        status = "" if is_quiet(result) else ", provisional"
        axes.set_title(f"{title}, {result['date'][:10]}{status}")
        axes.legend()
        figure.tight_layout()
        path = img_dir / filename
        # No timestamp in the PNG metadata, so that an unchanged chart stays unchanged.
        figure.savefig(path, metadata={"Software": None})
        plt.close(figure)
        written.append(path)
    return written


def update_docs(docs: Path, text: str) -> None:
    """Replace what lies between the markers of docs (append them if missing)."""
    current = docs.read_text() if docs.exists() else "# Comparison\n"
    block = f"{START}\n{text}\n{END}"
    if START in current and END in current:
        before, rest = current.split(START, 1)
        after = rest.split(END, 1)[1]
        current = before + block + after
    else:
        current = current.rstrip("\n") + "\n\n" + block + "\n"
    docs.write_text(current)


def command_line(args: argparse.Namespace) -> str:
    """The make command that reproduces this run."""
    parts = ["make compare"]
    if args.quick:
        parts.append("QUICK=1")
    if set(args.servers) != set(SERVERS):
        parts.append(f"SERVERS={','.join(args.servers)}")
    return " ".join(parts) + (
        f" (ROUNDS={args.rounds} DURATION={args.duration} "
        f"CONNECTIONS={args.connections} WORKERS={args.workers})"
    )


# MAIN
# ------------------------------------------------------------------------------
def _exit_on_signal(signum: int, frame: object) -> None:
    """Turn a stop signal into SystemExit (128 + its number, as a shell reports it)."""
    raise SystemExit(128 + signum)


def main(argv: list[str] | None = None) -> int:
    """Set up every server, run the rounds, write the results; 1 when INVALID."""
    args = parse_args(argv)
    if args.from_json:
        return publish(json.loads(args.from_json.read_text()), args)
    if not shutil.which("wrk"):
        raise SystemExit("wrk is missing: apt-get install -y wrk")
    if "twin" in args.servers and not (args.twin_dir / "serve").exists():
        raise SystemExit(
            f"The twin is missing ({args.twin_dir}/serve): run with "
            "SERVERS=ours,floor or set COMPARE_TWIN_DIR."
        )
    # A SIGTERM (a timeout, a CI job cancelled) unwinds like Ctrl-C, so that the
    # finally blocks below stop the servers and drop the databases.
    for stop_signal in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(stop_signal, _exit_on_signal)
    workdir = Path(tempfile.mkdtemp(prefix="compare-"))
    servers = make_servers(args, workdir)
    created = sorted({s.name for s in servers if not s.external})
    cells: list[dict[str, Any]] = []
    startup: dict[str, list[float]] = {}
    date = datetime.now(UTC).replace(microsecond=0)
    host = machine()
    total = args.rounds * len(servers) * len(SCENARIOS)
    log(
        f"make compare: {', '.join(s.key for s in servers)}; {args.rounds} rounds x "
        f"{len(SCENARIOS)} scenarios x {args.duration} s, {args.connections} "
        f"connections, {args.workers} workers; logs in {workdir}"
    )
    began = time.monotonic()
    try:
        for name in created:
            log(f"==> fresh database {args.db_prefix}_{name}")
            recreate_database(
                args.database_url, f"{args.db_prefix}_{name}", create=True
            )
        for server in servers:
            if not server.rate_limits:
                log(f"==> {server.key}: release step")
                release(server)
        for round_number in range(1, args.rounds + 1):
            for server in servers:
                seconds = start(server, workdir)
                if not server.external:
                    startup.setdefault(server.key, []).append(seconds)
                try:
                    prepare(server, servers)
                    run_wrk(server, "me", args, workdir, 1 if args.quick else 3)
                    for scenario in SCENARIOS:
                        cell = measure(server, scenario, args, workdir)
                        cell.update(
                            server=server.key, scenario=scenario, round=round_number
                        )
                        cells.append(cell)
                        done = len(cells)
                        eta = (time.monotonic() - began) / done * (total - done)
                        status = "ok" if cell["valid"] else "INVALID"
                        log(
                            f"[{done}/{total}, ~{eta / 60:.0f} min left] round "
                            f"{round_number} {server.key:<12} {scenario:<12} "
                            f"{number(cell.get('rps')):>8} req/s  p50 "
                            f"{number(cell.get('p50_ms'), 1)} ms  p99 "
                            f"{number(cell.get('p99_ms'), 1)} ms  {status}"
                        )
                        if not cell["valid"]:
                            log(
                                f"!!! INVALID: {server.key} {scenario}: "
                                + cell["problem"]
                            )
                finally:
                    halt(server)
    finally:
        for server in servers:
            halt(server)
            if server.name in RAISED_RATES and not server.external:
                with contextlib.suppress(Exception):  # leave no counters behind
                    flush_redis(server.env["REDIS_URL"])
        for name in created:
            recreate_database(
                args.database_url, f"{args.db_prefix}_{name}", create=False
            )
    summary = summarise(cells)
    valid = all(cell["valid"] for cell in cells)
    result = {
        "date": date.isoformat().replace("+00:00", "Z"),
        "command": command_line(args),
        "valid": valid,
        "machine": host,
        "settings": {
            "quick": args.quick,
            "rounds": args.rounds,
            "duration": args.duration,
            "connections": args.connections,
            "login_connections": connections_for("login", args),
            "login_duration": login_duration(args),
            "workers": args.workers,
            "wrk_threads": args.wrk_threads,
            "servers": args.servers,
        },
        "startup_s": {key: values for key, values in startup.items()},
        "summary": summary,
        "cells": cells,
    }
    args.results_dir.mkdir(parents=True, exist_ok=True)
    path = args.results_dir / f"{date.strftime('%Y%m%dT%H%M%SZ')}.json"
    path.write_text(json.dumps(result, indent=2) + "\n")
    log(f"==> results in {path}")
    text = render(result, args.docs, args.img_dir)
    print(text)
    if not valid:
        bad = [c for c in cells if not c["valid"]]
        log("\n" + "!" * 72)
        log(f"INVALID RUN: {len(bad)} cell(s) had a non-2xx answer or a socket error:")
        for cell in bad:
            log(
                f"  round {cell['round']} {cell['server']} {cell['scenario']}: "
                f"{cell['problem']}"
            )
        log(f"{args.docs} was not updated. Server logs: {workdir}")
        log("!" * 72)
        return 1
    shutil.rmtree(workdir, ignore_errors=True)
    return publish(result, args)


def publish(result: dict[str, Any], args: argparse.Namespace) -> int:
    """Draw the charts and rewrite the page from a valid result."""
    if not result["valid"]:
        log("An INVALID result is not published.")
        return 1
    for chart in charts(result, args.img_dir):
        log(f"==> chart {chart}")
    update_docs(args.docs, render(result, args.docs, args.img_dir))
    loc.update(args.docs)  # lines of code and dependencies, beside the numbers
    log(f"==> updated {args.docs}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
