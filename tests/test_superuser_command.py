"""manage.py ensure_superuser: creates or updates the first superuser, idempotently."""

from http import HTTPStatus
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from rest_framework.test import APIClient

from tests.factories import UserFactory
from users.models import User
from users.services import token_pair_issue

pytestmark = pytest.mark.django_db

EMAIL = "first.admin@example.com"
PASSWORD = "violet-Anchor-rain-73"


@pytest.fixture
def first_superuser(settings):
    """Settings that name the first superuser, as the environment would."""
    settings.FIRST_SUPERUSER_EMAIL = EMAIL
    settings.FIRST_SUPERUSER_PASSWORD = PASSWORD
    return settings


def ensure_superuser(*args: str) -> str:
    """Run the command and return what it printed."""
    out = StringIO()
    call_command("ensure_superuser", *args, stdout=out)
    return out.getvalue()


def test_creates_an_active_superuser_with_a_hashed_password(first_superuser):
    output = ensure_superuser()

    user = User.objects.get_by_email(EMAIL)
    assert output.strip() == f"Created superuser {EMAIL}"
    assert user.is_superuser
    assert user.is_active
    assert user.password != PASSWORD
    assert user.check_password(PASSWORD)


def test_running_it_again_changes_nothing(first_superuser):
    ensure_superuser()
    before = User.objects.values().get(email=EMAIL)

    output = ensure_superuser()
    output_again = ensure_superuser()

    assert output.strip() == f"Unchanged: superuser {EMAIL}"
    assert output_again == output
    assert User.objects.count() == 1
    assert User.objects.values().get(email=EMAIL) == before  # same hash, same dates


def test_updates_an_existing_account_with_a_case_variant_of_the_email(
    first_superuser,
):
    existing = UserFactory.create(email="FIRST.ADMIN@example.com", is_active=False)

    output = ensure_superuser()

    existing.refresh_from_db()
    assert output.strip() == "Updated superuser FIRST.ADMIN@example.com"
    assert User.objects.count() == 1
    assert existing.is_superuser
    assert existing.is_active
    assert existing.check_password(PASSWORD)


def test_a_new_password_in_the_environment_replaces_the_old_one(first_superuser):
    ensure_superuser()
    first_superuser.FIRST_SUPERUSER_PASSWORD = "another-Strong-pass-19"

    output = ensure_superuser()

    user = User.objects.get_by_email(EMAIL)
    assert output.startswith("Updated")
    assert user.check_password("another-Strong-pass-19")
    assert not user.check_password(PASSWORD)


def test_a_new_password_in_the_environment_ends_the_old_sessions(first_superuser):
    ensure_superuser()
    user = User.objects.get_by_email(EMAIL)
    refresh = token_pair_issue(user=user)["refresh_token"]
    first_superuser.FIRST_SUPERUSER_PASSWORD = "another-Strong-pass-19"

    ensure_superuser()

    response = APIClient().post("/api/v1/auth/refresh", {"refresh_token": refresh})
    assert response.status_code == HTTPStatus.UNAUTHORIZED


@pytest.mark.parametrize("unset", ["FIRST_SUPERUSER_EMAIL", "FIRST_SUPERUSER_PASSWORD"])
def test_skips_when_a_variable_is_unset(first_superuser, unset):
    setattr(first_superuser, unset, "")

    output = ensure_superuser()

    assert "skipped" in output
    assert not User.objects.exists()


@pytest.mark.parametrize("email", ["not-an-email", "a@b@c", "x" * 300 + "@ex.com"])
def test_refuses_an_invalid_email(first_superuser, email):
    first_superuser.FIRST_SUPERUSER_EMAIL = email

    with pytest.raises(CommandError, match="not a valid email"):
        ensure_superuser()

    assert not User.objects.exists()


def test_print_shows_the_login_in_development(first_superuser):
    output = ensure_superuser("--print")

    assert f"Login: {EMAIL}" in output
    assert f"Password: {PASSWORD}" in output
    assert "Admin: http://127.0.0.1:8000/admin/" in output


def test_print_links_to_the_address_make_serves_on(first_superuser):
    output = ensure_superuser("--print", "--base-url", "http://0.0.0.0:9000/")

    assert "Admin: http://0.0.0.0:9000/admin/" in output


def test_without_print_the_password_is_never_shown(first_superuser):
    output = ensure_superuser()

    assert PASSWORD not in output


def test_print_is_refused_in_production_and_nothing_is_done(first_superuser):
    first_superuser.PRODUCTION = True

    with pytest.raises(CommandError, match="refused in production"):
        ensure_superuser("--print")

    assert not User.objects.exists()


@pytest.mark.parametrize(
    ("password", "message"),
    [
        ("short-Pw1", "at least 12 characters"),
        ("123456789012345", "too weak"),
        ("first.admin@example.com", "too weak"),
    ],
)
def test_weak_passwords_are_refused_in_production(first_superuser, password, message):
    first_superuser.PRODUCTION = True
    first_superuser.FIRST_SUPERUSER_PASSWORD = password

    with pytest.raises(CommandError, match=message):
        ensure_superuser()

    assert not User.objects.exists()


def test_a_strong_password_is_accepted_in_production(first_superuser):
    first_superuser.PRODUCTION = True

    ensure_superuser()

    assert User.objects.get_by_email(EMAIL).is_superuser


@pytest.mark.live
def test_concurrent_runs_leave_one_superuser_and_all_succeed(transactional_db):
    # Several deploy replicas may run the command at once against one database.
    import os
    import subprocess
    import sys

    from tests.support import BASE_DIR
    from tests.support.live_server import database_url

    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.test_settings",
        "DATABASE_URL": database_url(),
        "FIRST_SUPERUSER_EMAIL": EMAIL,
        "FIRST_SUPERUSER_PASSWORD": PASSWORD,
    }
    runs = [
        subprocess.Popen(
            [sys.executable, "manage.py", "ensure_superuser"],
            cwd=BASE_DIR,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(4)
    ]

    results = [(run.wait(timeout=120), *run.communicate()) for run in runs]

    assert [code for code, _, _ in results] == [0, 0, 0, 0], results
    outputs = sorted(out.split()[0] for _, out, _ in results)
    assert outputs.count("Created") == 1, outputs
    assert User.objects.filter(email=EMAIL).count() == 1
    assert User.objects.get_by_email(EMAIL).is_superuser
