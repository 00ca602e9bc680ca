"""Run Schemathesis against a live gunicorn server on a fresh PostgreSQL database.

`make schemathesis` calls this (CI does, after `make test`). It creates the database
`<name of DATABASE_URL>_schemathesis`, migrates it, creates a superuser and an ordinary
user, serves the API with gunicorn as in production (DEBUG off, rate limits off so
that the fuzzer is not throttled), runs every Schemathesis phase and check on every
operation, with bearer tokens, then stops the server and drops the database. The exit
status is Schemathesis's: non-zero on any server error or schema violation.

Environment: DATABASE_URL (PostgreSQL, required); SCHEMATHESIS_MAX_EXAMPLES (default
25 per operation and phase); SCHEMATHESIS_SEED (default: random, printed by the run);
SCHEMATHESIS_REPORT_DIR (default .schemathesis, JUnit report there).
"""

import json
import os
import secrets
import subprocess
import sys
import tempfile
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

import psycopg
from serving import free_port, stop, wait_until_up

BASE_DIR = Path(__file__).resolve().parent.parent
API = "/api/v1"

# A superuser's token for everything, except PATCH /users/{id}: there it would let the
# fuzzer deactivate or demote the superuser whose token the run uses (its id is in
# GET /users/me), turning the rest of the run into 401s. An ordinary user updates
# their own account instead.
# Every check is on by default in Schemathesis 4 (so no `--checks all`, which would
# also override the per-operation settings below).
CONFIG = """\
headers = { Authorization = "Bearer ${SCHEMATHESIS_SUPERUSER_TOKEN}" }
workers = 2
request-timeout = 30
generation.max-examples = {max_examples}

[[operations]]
include-operation-id = "users_partial_update"
headers = { Authorization = "Bearer ${SCHEMATHESIS_USER_TOKEN}" }
# Their own id, so that the update itself is exercised (any other id is a 403).
parameters = { "path.id" = "${SCHEMATHESIS_USER_ID}" }
# With an ordinary user's token the admin-only fields (is_active, is_superuser) are
# ignored whatever they hold (the contract: a non-superuser can never raise their
# privileges, whatever the body holds), so schema-violating values there are
# accepted. The other fields are the registration's, negative-tested on POST /users/.
checks.negative_data_rejection.enabled = false
# A well-formed body can name an email that is already registered: 400 by contract.
checks.positive_data_acceptance.expected-statuses = ["2xx", "400", "401", "403", "404"]

[[operations]]
include-operation-id = "users_create"
# The contract answers 400 for an email that is already registered (in any case),
# which a well-formed body can hit when the fuzzer repeats an email.
checks.positive_data_acceptance.expected-statuses = ["2xx", "400", "401"]

# The three below take a secret that no generator can guess (a refresh token this
# server issued, a reset token, the current password): a well-formed body holding
# any other value is a 400 by contract, so 400 is an acceptable answer to one.
[[operations]]
include-operation-id = "auth_logout_create"
checks.positive_data_acceptance.expected-statuses = ["2xx", "400", "401", "403"]

[[operations]]
include-operation-id = "auth_reset_password_create"
checks.positive_data_acceptance.expected-statuses = ["2xx", "400"]

[[operations]]
include-operation-id = "users_me_password_create"
checks.positive_data_acceptance.expected-statuses = ["2xx", "400", "401"]
"""


def log(message: str) -> None:
    """Print a progress line."""
    print(f"==> {message}", flush=True)


def database_urls() -> tuple[str, str, str]:
    """Return (server URL of the maintenance database, new database URL, its name)."""
    url = os.environ.get("DATABASE_URL", "")
    parts = urllib.parse.urlsplit(url)
    if parts.scheme not in ("postgres", "postgresql"):
        sys.exit("make schemathesis needs DATABASE_URL=postgres://... (PostgreSQL).")
    name = f"{parts.path.lstrip('/') or 'api'}_schemathesis"
    maintenance = urllib.parse.urlunsplit(parts._replace(path="/postgres"))
    return maintenance, urllib.parse.urlunsplit(parts._replace(path=f"/{name}")), name


def recreate_database(maintenance_url: str, name: str, *, create: bool) -> None:
    """Drop the run's database, and create it again when asked."""
    conninfo = maintenance_url.replace("postgres://", "postgresql://", 1)
    with psycopg.connect(conninfo, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        if create:
            conn.execute(f'CREATE DATABASE "{name}"')


def request(url: str, *, data: bytes | None = None, form: bool = False) -> dict:
    """POST (or GET without data) and return the JSON body; fail loudly otherwise."""
    headers = {
        "Content-Type": "application/x-www-form-urlencoded"
        if form
        else "application/json"
    }
    req = urllib.request.Request(url, data=data, headers=headers)
    with urllib.request.urlopen(req, timeout=30) as response:
        return json.loads(response.read() or b"null")


def login(base: str, email: str, password: str) -> str:
    """Log in with the OAuth2 password form and return the access token."""
    body = urllib.parse.urlencode({"username": email, "password": password}).encode()
    return request(f"{base}{API}/auth/login", data=body, form=True)["access_token"]


def main() -> int:
    """Set up, run Schemathesis, tear down; return its exit status."""
    maintenance_url, database_url, name = database_urls()
    workdir = Path(tempfile.mkdtemp(prefix="schemathesis-"))
    report_dir = Path(os.environ.get("SCHEMATHESIS_REPORT_DIR", ".schemathesis"))
    superuser = ("schemathesis-admin@example.com", secrets.token_urlsafe(16))
    user = ("schemathesis-user@example.com", secrets.token_urlsafe(16))
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
        ACCESS_TOKEN_MINUTES="240",  # outlives the longest run
        WHITENOISE_USE_FINDERS="true",
        FIRST_SUPERUSER_EMAIL=superuser[0],
        FIRST_SUPERUSER_PASSWORD=superuser[1],
        CELERY_TASK_ALWAYS_EAGER="true",
        EMAIL_URL="consolemail://",
        LOG_LEVEL="WARNING",
    )
    manage = [sys.executable, "manage.py"]

    log(f"Fresh database {name}")
    recreate_database(maintenance_url, name, create=True)
    server = None
    server_log = workdir / "gunicorn.log"
    try:
        for command in (["migrate", "--no-input", "-v", "0"], ["ensure_superuser"]):
            subprocess.run(
                [*manage, *command],
                env=env,
                cwd=BASE_DIR,
                check=True,
                stdout=subprocess.DEVNULL,
            )

        port = free_port()
        base = f"http://127.0.0.1:{port}"
        log(f"gunicorn on {base}")
        with server_log.open("wb") as out:
            server = subprocess.Popen(
                [sys.executable, "-m", "gunicorn", "config.wsgi",
                 "--bind", f"127.0.0.1:{port}", "--workers", "2", "--timeout", "60"],
                env=env, cwd=BASE_DIR, stdout=out, stderr=subprocess.STDOUT,
            )  # fmt: skip
        wait_until_up(f"{base}/health", server)

        body = json.dumps({"email": user[0], "password": user[1]}).encode()
        user_id = request(f"{base}{API}/users/", data=body)["id"]
        run_env = {
            **env,
            "SCHEMATHESIS_SUPERUSER_TOKEN": login(base, *superuser),
            "SCHEMATHESIS_USER_TOKEN": login(base, *user),
            "SCHEMATHESIS_USER_ID": str(user_id),
        }
        config = workdir / "schemathesis.toml"
        max_examples = int(os.environ.get("SCHEMATHESIS_MAX_EXAMPLES", "25"))
        config.write_text(CONFIG.replace("{max_examples}", str(max_examples)))
        command = [
            str(Path(sys.executable).parent / "schemathesis"),
            "--config-file", str(config),
            "run", f"{base}{API}/openapi.json",
            "--phases", "examples,coverage,fuzzing,stateful",
            "--report", "junit",
            "--report-dir", str(report_dir),
            "--no-color",
        ]  # fmt: skip
        if seed := os.environ.get("SCHEMATHESIS_SEED"):
            command += ["--seed", seed]
        log("schemathesis " + " ".join(command[1:]))
        status = subprocess.run(command, env=run_env, cwd=BASE_DIR).returncode
    finally:
        if server is not None:
            stop(server, timeout=15)
        recreate_database(maintenance_url, name, create=False)
    errors = [
        line
        for line in server_log.read_text(errors="replace").splitlines()
        if "Traceback" in line or " ERROR " in line or "Internal Server Error" in line
    ]
    if errors:
        log(f"server errors in {server_log}:")
        print("\n".join(errors[:50]))
    log("schemathesis passed" if status == 0 else f"schemathesis failed ({status})")
    return status


if __name__ == "__main__":
    sys.exit(main())
