"""The production guard: an unsafe configuration stops every process with one line."""

import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest

from config.guard import production_problems

BASE_DIR = Path(__file__).resolve().parent.parent
GOOD_SECRET = secrets.token_urlsafe(50)
GOOD_JWT_KEY = secrets.token_urlsafe(50)
GOOD_METRICS_TOKEN = secrets.token_urlsafe(32)

# Every variable the guard reads, set explicitly: a developer's .env must not leak in.
SAFE_PRODUCTION = {
    "DJANGO_SETTINGS_MODULE": "config.settings",
    "DJANGO_ENV": "production",
    "DJANGO_DEBUG": "false",
    "DJANGO_SECRET_KEY": GOOD_SECRET,
    "JWT_SIGNING_KEY": GOOD_JWT_KEY,
    "DJANGO_ALLOWED_HOSTS": "api.example.org",
    "DATABASE_URL": "sqlite:///:memory:",
    "REDIS_URL": "",
    "EMAIL_URL": "smtp://mail.internal:587",
    "EMAIL_ALLOW_CONSOLE": "false",
    "METRICS_ENABLED": "true",
    "METRICS_TOKEN": GOOD_METRICS_TOKEN,
}


def manage_check(**overrides: str) -> subprocess.CompletedProcess[str]:
    """Run `manage.py check` with the safe production settings plus overrides."""
    env = {**os.environ, **SAFE_PRODUCTION, **overrides}
    return subprocess.run(
        [sys.executable, "manage.py", "check"],
        cwd=BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_a_safe_production_configuration_starts():
    result = manage_check()

    assert result.returncode == 0, result.stderr
    assert "no issues" in result.stdout


@pytest.mark.parametrize(
    ("overrides", "reason"),
    [
        ({"DJANGO_DEBUG": "true"}, "DJANGO_DEBUG is on"),
        ({"DJANGO_DEBUG": "1"}, "DJANGO_DEBUG is on"),
        ({"DJANGO_SECRET_KEY": ""}, "DJANGO_SECRET_KEY is not set"),
        ({"DJANGO_SECRET_KEY": "short"}, "DJANGO_SECRET_KEY is not a real secret"),
        (
            {"DJANGO_SECRET_KEY": "django-insecure-" + GOOD_SECRET},
            "DJANGO_SECRET_KEY is not a real secret",
        ),
        ({"DJANGO_SECRET_KEY": "a" * 80}, "DJANGO_SECRET_KEY is not a real secret"),
        ({"DJANGO_SECRET_KEY": "change-me" * 10}, "DJANGO_SECRET_KEY is not a real"),
        ({"JWT_SIGNING_KEY": ""}, "JWT_SIGNING_KEY is not set"),
        ({"JWT_SIGNING_KEY": "short"}, "JWT_SIGNING_KEY is not a real secret"),
        ({"JWT_SIGNING_KEY": GOOD_SECRET}, "JWT_SIGNING_KEY must differ"),
        ({"DJANGO_ALLOWED_HOSTS": ""}, "DJANGO_ALLOWED_HOSTS is empty"),
        ({"DJANGO_ALLOWED_HOSTS": " , "}, "DJANGO_ALLOWED_HOSTS is empty"),
        ({"DJANGO_ALLOWED_HOSTS": "*"}, "DJANGO_ALLOWED_HOSTS holds '*'"),
        ({"DJANGO_ALLOWED_HOSTS": "api.example.org,*"}, "DJANGO_ALLOWED_HOSTS holds"),
        ({"EMAIL_URL": "consolemail://"}, "EMAIL_URL is a console or file mailer"),
        ({"EMAIL_URL": "filemail:///tmp/mail"}, "EMAIL_URL is a console or file"),
        ({"METRICS_TOKEN": ""}, "METRICS_TOKEN is unset or not a real secret"),
        ({"METRICS_TOKEN": "short"}, "METRICS_TOKEN is unset or not a real secret"),
        ({"METRICS_TOKEN": "change-me" * 5}, "METRICS_TOKEN is unset or not a real"),
    ],
)
def test_each_unsafe_setting_stops_manage_py_with_one_line(overrides, reason):
    result = manage_check(**overrides)

    assert result.returncode == 1
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr  # one line, no traceback
    assert lines[0].startswith("Refusing to start")
    assert reason in lines[0]
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize("mode", ["Production", " production "])
def test_production_mode_is_recognised_in_any_case(mode):
    result = manage_check(DJANGO_ENV=mode, DJANGO_DEBUG="true")

    assert result.returncode == 1
    assert "DJANGO_DEBUG is on" in result.stderr


@pytest.mark.parametrize("mode", ["prod", "staging", "production!"])
def test_an_unknown_mode_stops_with_one_line(mode):
    result = manage_check(DJANGO_ENV=mode)

    assert result.returncode == 1
    assert result.stderr.splitlines() == [
        "Refusing to start: DJANGO_ENV must be one of development, production."
    ]


def test_every_problem_is_named_on_the_one_line():
    result = manage_check(
        DJANGO_DEBUG="true", DJANGO_SECRET_KEY="short", DJANGO_ALLOWED_HOSTS=""
    )

    assert result.returncode == 1
    [line] = result.stderr.splitlines()
    assert "DJANGO_DEBUG is on" in line
    assert "DJANGO_SECRET_KEY is not a real secret" in line
    assert "DJANGO_ALLOWED_HOSTS is empty" in line


def test_the_refusal_never_prints_the_secret():
    weak = "weak-but-private-value"

    result = manage_check(DJANGO_SECRET_KEY=weak)

    assert result.returncode == 1
    assert weak not in result.stderr + result.stdout


@pytest.mark.parametrize(
    "overrides",
    [
        {"EMAIL_URL": "consolemail://", "EMAIL_ALLOW_CONSOLE": "true"},
        {"EMAIL_URL": "filemail:///tmp/mail", "EMAIL_ALLOW_CONSOLE": "true"},
        {"METRICS_ENABLED": "false", "METRICS_TOKEN": ""},
    ],
    ids=["console-allowed", "file-allowed", "metrics-off-needs-no-token"],
)
def test_explicitly_allowed_mailers_and_disabled_metrics_start(overrides):
    result = manage_check(**overrides)

    assert result.returncode == 0, result.stderr


def test_development_mode_allows_a_console_mailer_and_open_metrics():
    result = manage_check(
        DJANGO_ENV="development", EMAIL_URL="consolemail://", METRICS_TOKEN=""
    )

    assert result.returncode == 0, result.stderr


def test_development_mode_allows_debug_and_any_host():
    result = manage_check(
        DJANGO_ENV="development", DJANGO_DEBUG="true", DJANGO_ALLOWED_HOSTS="*"
    )

    assert result.returncode == 0, result.stderr


def test_a_missing_secret_stops_development_too_with_one_line():
    result = manage_check(DJANGO_ENV="development", DJANGO_SECRET_KEY="")

    assert result.returncode == 1
    assert result.stderr.splitlines() == [
        "Refusing to start: DJANGO_SECRET_KEY is not set; set it in the environment "
        "or .env (see .env.example)."
    ]


def test_production_problems_is_empty_for_a_safe_configuration():
    problems = production_problems(
        debug=False,
        secret_key=GOOD_SECRET,
        jwt_signing_key=GOOD_JWT_KEY,
        allowed_hosts=["api.example.org"],
        email_backend="django.core.mail.backends.smtp.EmailBackend",
        allow_console_email=False,
        metrics_token=GOOD_METRICS_TOKEN,
    )

    assert problems == []


@pytest.mark.live
def test_gunicorn_stops_instead_of_restarting_workers_forever(tmp_path):
    env = {**os.environ, **SAFE_PRODUCTION, "DJANGO_DEBUG": "true"}

    result = subprocess.run(
        [
            sys.executable, "-m", "gunicorn", "config.wsgi",
            "--bind", "127.0.0.1:0", "--workers", "2",
        ],
        cwd=BASE_DIR, env=env, capture_output=True, text=True, timeout=60,
    )  # fmt: skip

    assert result.returncode != 0
    assert "Refusing to start in production: DJANGO_DEBUG is on" in result.stderr
    assert "Worker failed to boot" in result.stderr
