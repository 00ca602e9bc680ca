"""Run the black-box contract suite (tests/contract) against a freshly started server.

`make contract` calls this (CI does), with TARGET=ours (default) or TARGET=twin. It
creates a fresh PostgreSQL database, `<DATABASE_URL's name or api>_contract_<target>`,
on the server that DATABASE_URL names (default postgres://postgres@127.0.0.1:5432),
starts the server on a free port, waits until /health answers, runs pytest on
tests/contract with BASE_URL, SUPERUSER_EMAIL and SUPERUSER_PASSWORD set, stops the
server and drops the database. The exit status is pytest's.

- ours: `migrate`, `ensure_superuser`, `collectstatic`, then
  `gunicorn -c config/gunicorn.py config.wsgi` in production mode (DEBUG off, real
  secrets, no TLS redirect since the suite speaks plain HTTP to 127.0.0.1).
- twin: comparison/fastapi/serve (or TWIN_SERVE), which does its own set-up.

Both get rate limits off, CORS_ALLOWED_ORIGINS=http://allowed.example (the suite's
CORS tests rely on it), two workers and the Redis at REDIS_URL (else TEST_REDIS_URL,
else redis://127.0.0.1:6379/0; ours keeps its keys under a per-run prefix). With
CONTRACT_RATE_LIMITS=1 a second server is started with rate limits on, and the tests
marked `rate_limits` run against it. The twin run sets CONTRACT_BEYOND_GUIDE=0 (the
twin serves the guide's API only) and CONTRACT_ADMIN=0 (no Django admin).

Arguments after the script name go to pytest (`make contract PYTEST_ARGS="-k auth"`).
Each run writes comparison/results/contract-<target>.json (tests/contract/conftest.py).
After the run the server's log is searched for the secrets the run set and the
passwords and tokens the suite used: any hit fails. The server reaches PostgreSQL and
Redis through fault proxies that the tests marked `faults` switch off and on again
(CONTRACT_FAULTS_URL; see FaultControl).
"""

import http.server
import os
import secrets
import subprocess
import sys
import tempfile
import threading
import urllib.parse
from collections.abc import Iterator
from contextlib import closing, contextmanager
from pathlib import Path

import psycopg
from serving import free_port, stop, wait_until_up

BASE_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(BASE_DIR))
from tests.support.faultproxy import FaultProxy, is_mode  # noqa: E402  (no Django in it)

TARGETS = ("ours", "twin")
DEFAULT_SERVER = "postgres://postgres@127.0.0.1:5432"
CORS_ORIGIN = "http://allowed.example"
# The twin's serve script installs its own environment first (uv sync).
START_TIMEOUT = {"ours": 90.0, "twin": 300.0}
# pytest without pytest-django and without tests/conftest.py: the suite is black-box.
PYTEST = [
    sys.executable, "-m", "pytest", "tests/contract",
    "-p", "no:django", "--confcutdir", "tests/contract",
    "-W", "ignore::pytest.PytestConfigWarning",  # pyproject's DJANGO_SETTINGS_MODULE
]  # fmt: skip


def log(message: str) -> None:
    """Print a progress line."""
    print(f"==> {message}", flush=True)


def recreate_database(maintenance_url: str, name: str, *, create: bool) -> None:
    """Drop the run's database, and create it again when asked."""
    conninfo = maintenance_url.replace("postgres://", "postgresql://", 1)
    with psycopg.connect(conninfo, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        if create:
            conn.execute(f'CREATE DATABASE "{name}"')


def base_env(database_url: str, *, rate_limits: bool) -> dict[str, str]:
    """Return the environment both servers get, with fresh secrets."""
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in ("DJANGO_SETTINGS_MODULE", "DJANGO_ENV", "VIRTUAL_ENV")
    }
    env.update(
        DATABASE_URL=database_url,
        REDIS_URL=os.environ.get("REDIS_URL")
        or os.environ.get("TEST_REDIS_URL")
        or "redis://127.0.0.1:6379/0",
        JWT_SIGNING_KEY=secrets.token_urlsafe(50),
        METRICS_TOKEN=secrets.token_urlsafe(32),
        FIRST_SUPERUSER_EMAIL=f"contract-admin-{secrets.token_hex(4)}@example.com",
        FIRST_SUPERUSER_PASSWORD=secrets.token_urlsafe(18),
        RATE_LIMITS_ENABLED="true" if rate_limits else "false",
        CORS_ALLOWED_ORIGINS=CORS_ORIGIN,
        WEB_CONCURRENCY=os.environ.get("WEB_CONCURRENCY", "2"),
        LOG_LEVEL="WARNING",
    )
    return env


def ours_env(env: dict[str, str], port: int, static_root: Path) -> dict[str, str]:
    """Return the production-like environment of our service."""
    return {
        **env,
        "DJANGO_ENV": "production",
        "DJANGO_DEBUG": "false",
        "DJANGO_SECRET_KEY": secrets.token_urlsafe(50),
        "DJANGO_ALLOWED_HOSTS": "127.0.0.1,localhost",
        # Plain HTTP on loopback: no TLS proxy in front, so no HTTPS redirect.
        "DJANGO_SECURE_SSL_REDIRECT": "false",
        "DJANGO_STATIC_ROOT": str(static_root),
        "CACHE_KEY_PREFIX": f"contract-{secrets.token_hex(4)}",
        # Background jobs in the web process: no Celery worker runs here.
        "CELERY_TASK_ALWAYS_EAGER": "true",
        "GUNICORN_BIND": f"127.0.0.1:{port}",
        # The console mailer: the suite reads no email, and production's guard
        # refuses it unless allowed. /metrics is behind base_env's METRICS_TOKEN,
        # as production serves it.
        "EMAIL_URL": "consolemail://",
        "EMAIL_ALLOW_CONSOLE": "true",
        # The suite checks behaviour, not speed: on a loaded CI machine an Argon2
        # login can take seconds, which the production stall guards would turn
        # into 503s.
        "DATABASE_STALL_TIMEOUT": "60",
        "DATABASE_STATEMENT_TIMEOUT_MS": "60000",
    }


class FaultControl:
    """TCP fault proxies in front of PostgreSQL and Redis, switched over HTTP.

    The server reaches its database and cache through them; the suite's `faults`
    tests switch them with `POST <CONTRACT_FAULTS_URL>/<database|cache>/<mode>`
    (modes of tests/support/faultproxy.py: pass, kill, hang, freeze).
    """

    def __init__(self, database_url: str, redis_url: str) -> None:
        """Start one proxy per dependency and the control endpoint."""
        db = urllib.parse.urlsplit(database_url)
        cache = urllib.parse.urlsplit(redis_url)
        self.proxies = {
            "database": FaultProxy(db.hostname or "127.0.0.1", db.port or 5432),
            "cache": FaultProxy(cache.hostname or "127.0.0.1", cache.port or 6379),
        }
        for proxy in self.proxies.values():
            proxy.start()
        self.database_url = urllib.parse.urlunsplit(
            db._replace(netloc=self._netloc(db, self.proxies["database"].port))
        )
        self.redis_url = urllib.parse.urlunsplit(
            cache._replace(netloc=self._netloc(cache, self.proxies["cache"].port))
        )
        proxies = self.proxies

        class Handler(http.server.BaseHTTPRequestHandler):
            """POST /<dependency>/<mode> switches one proxy."""

            def do_POST(self) -> None:
                name, _, mode = self.path.strip("/").partition("/")
                if name not in proxies or not is_mode(mode):
                    self.send_error(404)
                    return
                proxies[name].set_mode(mode)
                self.send_response(204)
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.http = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.http.server_address[1]}"
        threading.Thread(target=self.http.serve_forever, daemon=True).start()

    @staticmethod
    def _netloc(parts: urllib.parse.SplitResult, port: int) -> str:
        """Return the URL's user part with the proxy's address."""
        user, _, _ = parts.netloc.rpartition("@")
        return f"{user}@127.0.0.1:{port}" if user else f"127.0.0.1:{port}"

    def close(self) -> None:
        """Stop the control endpoint and the proxies."""
        self.http.shutdown()
        for proxy in self.proxies.values():
            proxy.stop()


@contextmanager
def server(
    target: str, env: dict[str, str], workdir: Path, label: str
) -> Iterator[str]:
    """Start the target on a free port, yield its base URL, stop it afterwards."""
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    logfile = workdir / f"{label}.log"
    if target == "ours":
        env = ours_env(env, port, workdir / "static")
        for command in (
            ["migrate", "--no-input", "-v", "0"],
            ["ensure_superuser"],
            ["collectstatic", "--no-input", "-v", "0"],
        ):
            subprocess.run(
                [sys.executable, "manage.py", *command],
                env=env, cwd=BASE_DIR, check=True, stdout=subprocess.DEVNULL,
            )  # fmt: skip
        command = [sys.executable, "-m", "gunicorn", "-c", "config/gunicorn.py"]
        command.append("config.wsgi")
        cwd = BASE_DIR
    else:
        serve = Path(
            os.environ.get("TWIN_SERVE") or BASE_DIR / "comparison/fastapi/serve"
        )
        if not serve.exists():
            sys.exit(f"{serve} is missing: the twin is not in this checkout.")
        # ENVIRONMENT: the twin's production mode (pydantic-settings), as ours runs.
        env = {**env, "TWIN_PORT": str(port), "ENVIRONMENT": "production"}
        # Its own environment: not ours, which `uv run` puts first on PATH.
        ours_bin = str(Path(sys.prefix) / "bin")
        path = env.get("PATH", "").split(os.pathsep)
        env["PATH"] = os.pathsep.join(entry for entry in path if entry != ours_bin)
        command, cwd = [str(serve)], serve.parent
    log(f"{target} on {base} (log: {logfile})")
    with logfile.open("wb") as out:
        process = subprocess.Popen(
            command, env=env, cwd=cwd, stdout=out, stderr=subprocess.STDOUT
        )
    try:
        try:
            wait_until_up(f"{base}/health", process, timeout=START_TIMEOUT[target])
        except RuntimeError as error:
            sys.stdout.write(logfile.read_text(errors="replace")[-4000:])
            sys.exit(f"{target} did not start: {error}")
        yield base
    finally:
        stop(process, timeout=30)


def leaked_secrets(logfile: Path, env: dict[str, str], used: Path) -> list[str]:
    """Say which secrets appear in the server's log: the run's keys and the
    passwords and tokens the suite used (never the values themselves)."""
    text = logfile.read_text(errors="replace")
    names = (
        "FIRST_SUPERUSER_PASSWORD",
        "JWT_SIGNING_KEY",
        "DJANGO_SECRET_KEY",
        "METRICS_TOKEN",
    )
    leaks = [name for name in names if env.get(name) and env[name] in text]
    secrets_used = used.read_text().split() if used.exists() else []
    found = sum(1 for secret in secrets_used if secret in text)
    if found:
        leaks.append(f"{found} of the suite's {len(secrets_used)} passwords and tokens")
    return leaks


def run_pass(
    target: str,
    database_url: str,
    workdir: Path,
    *,
    rate_limits: bool,
    pytest_args: list[str],
) -> int:
    """Start one server and run one pytest pass against it; return pytest's status."""
    env = base_env(database_url, rate_limits=rate_limits)
    faults = FaultControl(env["DATABASE_URL"], env["REDIS_URL"])
    env.update(DATABASE_URL=faults.database_url, REDIS_URL=faults.redis_url)
    label = f"{target}-rate-limits" if rate_limits else target
    marker = "rate_limits" if rate_limits else "not rate_limits"
    with closing(faults), server(target, env, workdir, label) as base:
        suite_env = {
            **os.environ,
            "BASE_URL": base,
            "SUPERUSER_EMAIL": env["FIRST_SUPERUSER_EMAIL"],
            "SUPERUSER_PASSWORD": env["FIRST_SUPERUSER_PASSWORD"],
            "CONTRACT_TARGET": target,
            "CONTRACT_CORS_ORIGIN": CORS_ORIGIN,
            "CONTRACT_RATE_LIMITS": "1" if rate_limits else "0",
            "CONTRACT_SECRETS_FILE": str(workdir / f"{label}.secrets"),
            "CONTRACT_FAULTS_URL": faults.url,
        }
        if target == "twin":
            suite_env.update(CONTRACT_BEYOND_GUIDE="0", CONTRACT_ADMIN="0")
        else:
            suite_env["CONTRACT_METRICS_TOKEN"] = env["METRICS_TOKEN"]
        if rate_limits:
            suite_env["CONTRACT_RESULTS_SUFFIX"] = "-rate-limits"
        log(f"pytest tests/contract -m '{marker}' against {target}")
        status = subprocess.run(
            [*PYTEST, "-m", marker, *pytest_args], env=suite_env, cwd=BASE_DIR
        ).returncode
    leaks = leaked_secrets(workdir / f"{label}.log", env, workdir / f"{label}.secrets")
    if leaks:
        log(f"FAILED: the server's log holds {', '.join(leaks)}")
        return status or 1
    return status


def main() -> int:
    """Set up, run the suite (and the rate-limit pass when asked), tear down."""
    target = os.environ.get("TARGET", "ours").strip() or "ours"
    if target not in TARGETS:
        sys.exit(f"TARGET must be one of {', '.join(TARGETS)}, not {target!r}.")
    parts = urllib.parse.urlsplit(os.environ.get("DATABASE_URL") or DEFAULT_SERVER)
    if parts.scheme not in ("postgres", "postgresql"):
        sys.exit("make contract needs DATABASE_URL=postgres://... (PostgreSQL).")
    name = f"{parts.path.lstrip('/') or 'api'}_contract_{target}"
    maintenance = urllib.parse.urlunsplit(parts._replace(path="/postgres"))
    database_url = urllib.parse.urlunsplit(parts._replace(path=f"/{name}"))
    workdir = Path(tempfile.mkdtemp(prefix=f"contract-{target}-"))
    passes = [False]
    if os.environ.get("CONTRACT_RATE_LIMITS") == "1":
        passes.append(True)
    status = 0
    for rate_limits in passes:
        log(f"Fresh database {name}")
        recreate_database(maintenance, name, create=True)
        try:
            result = run_pass(
                target,
                database_url,
                workdir,
                rate_limits=rate_limits,
                pytest_args=sys.argv[1:],
            )
        finally:
            recreate_database(maintenance, name, create=False)
        status = status or result
    log("contract passed" if status == 0 else f"contract FAILED ({status})")
    return status


if __name__ == "__main__":
    sys.exit(main())
