"""Generate a Python client from the schema and run a user's session through it.

`make clients` calls this (CI does). It serves the API with gunicorn on a fresh
PostgreSQL database (`<name of DATABASE_URL>_clients`), fetches /api/v1/openapi.json,
generates a client with openapi-python-client (pinned, run by `uv tool run`, so that
its own pins stay out of our lock) and runs tests/clients/python_flow.py with it.
Then it generates a TypeScript client with @hey-api/openapi-ts (tests/clients/ts,
pinned by its package-lock.json, installed with `npm ci`) and type-checks it with
`tsc --noEmit`.
"""

import os
import secrets
import shlex
import subprocess
import sys
import tempfile
import urllib.parse
import urllib.request
from pathlib import Path

import psycopg
from serving import free_port, stop, wait_until_up

BASE_DIR = Path(__file__).resolve().parent.parent
GENERATOR = "openapi-python-client==0.26.1"
# The Makefile's $(UV): uv, or python3 -m uv where make installed it with pip.
UV_TOOL = [*shlex.split(os.environ.get("UV", "uv")), "tool", "run", "--from", GENERATOR]


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


def main() -> int:
    """Set up, generate, run the session, tear down; return the session's status."""
    parts = urllib.parse.urlsplit(os.environ.get("DATABASE_URL", ""))
    if parts.scheme not in ("postgres", "postgresql"):
        sys.exit("make clients needs DATABASE_URL=postgres://... (PostgreSQL).")
    name = f"{parts.path.lstrip('/') or 'api'}_clients"
    maintenance = urllib.parse.urlunsplit(parts._replace(path="/postgres"))
    database_url = urllib.parse.urlunsplit(parts._replace(path=f"/{name}"))
    workdir = Path(tempfile.mkdtemp(prefix="clients-"))
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in ("REDIS_URL", "DJANGO_SETTINGS_MODULE", "DJANGO_ENV")
    }
    env.update(
        DATABASE_URL=database_url,
        DJANGO_SECRET_KEY=secrets.token_urlsafe(50),
        JWT_SIGNING_KEY=secrets.token_urlsafe(50),
        DJANGO_DEBUG="false",
        RATE_LIMITS_ENABLED="false",
        CELERY_TASK_ALWAYS_EAGER="true",
        LOG_LEVEL="WARNING",
    )
    log(f"Fresh database {name}")
    recreate_database(maintenance, name, create=True)
    server = None
    try:
        subprocess.run(
            [sys.executable, "manage.py", "migrate", "--no-input", "-v", "0"],
            env=env, cwd=BASE_DIR, check=True,
        )  # fmt: skip
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        log(f"gunicorn on {base}")
        with (workdir / "gunicorn.log").open("wb") as out:
            server = subprocess.Popen(
                [sys.executable, "-m", "gunicorn", "config.wsgi",
                 "--bind", f"127.0.0.1:{port}", "--workers", "2"],
                env=env, cwd=BASE_DIR, stdout=out, stderr=subprocess.STDOUT,
            )  # fmt: skip
        wait_until_up(f"{base}/health", server)
        schema = workdir / "openapi.json"
        with urllib.request.urlopen(f"{base}/api/v1/openapi.json", timeout=30) as r:
            schema.write_bytes(r.read())

        log(f"Generate the Python client ({GENERATOR})")
        subprocess.run(
            [*UV_TOOL, "openapi-python-client", "generate", "--path", str(schema),
             "--meta", "none", "--output-path", str(workdir / "client")],
            check=True, cwd=BASE_DIR,
        )  # fmt: skip
        log("Run the session through the generated client")
        flow = BASE_DIR / "tests" / "clients" / "python_flow.py"
        status = subprocess.run(
            [*UV_TOOL, "python", str(flow), base],
            cwd=BASE_DIR, env={**os.environ, "PYTHONPATH": str(workdir)},
        ).returncode  # fmt: skip
        if status:
            return status
        log("Generate the TypeScript client (@hey-api/openapi-ts) and tsc --noEmit")
        ts = BASE_DIR / "tests" / "clients" / "ts"
        for command in (
            ["npm", "ci", "--no-audit", "--no-fund", "--ignore-scripts"],
            ["npm", "run", "-s", "generate", "--", str(schema)],
            ["npm", "run", "-s", "check"],
        ):
            subprocess.run(command, cwd=ts, check=True, stdout=subprocess.DEVNULL)
        log("clients passed")
        return 0
    finally:
        if server is not None:
            stop(server, timeout=15)
        recreate_database(maintenance, name, create=False)


if __name__ == "__main__":
    sys.exit(main())
