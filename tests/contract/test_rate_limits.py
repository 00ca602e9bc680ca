"""Contract: Limits (rate limits), against a server started with them on.

Marked `rate_limits`: they run only with CONTRACT_RATE_LIMITS=1, in a pass of their
own on a fresh server (scripts/contract.py), in file order: every counter is per
client address, and the suite has only one address (127.0.0.1). So logins happen
first, in one session fixture, before the login limit is spent; the anonymous limit
is spent last.
"""

from collections.abc import Iterator
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

import httpx
import pytest

from tests.contract.helpers import (
    API,
    Account,
    error_detail,
    log_in,
    new_client,
    register,
    unique_email,
)

pytestmark = pytest.mark.rate_limits
# A fixed-window counter restarts on the clock: a burst that straddles the restart
# may get twice the limit through, so a test sends up to that before it gives up.
WINDOWS = 2


def assert_retry_after(response: httpx.Response) -> None:
    """Check a 429 JSON error with a `Retry-After` in the future."""
    assert response.status_code == 429, (response.status_code, response.text[:200])
    error_detail(response)
    value = response.headers.get("retry-after", "")
    if value.isdigit():
        assert int(value) > 0, value
    else:
        assert parsedate_to_datetime(value) > datetime.now(UTC), value


def first_429(send, limit: int) -> httpx.Response | None:
    """Send up to `limit` requests; return the first 429, or None."""
    for _ in range(limit):
        response = send()
        assert response.status_code < 500, (response.status_code, response.text)
        if response.status_code == 429:
            return response
    return None


@pytest.fixture(scope="module")
def two_users() -> Iterator[list[Account]]:
    """Two users, logged in before any login limit is spent (two logins)."""
    accounts = []
    with new_client() as anonymous:
        for _ in range(2):
            email, password = unique_email(), "a-long-password-1"
            body = register(anonymous, email=email, password=password)
            tokens = log_in(anonymous, email, password)
            accounts.append(
                Account(
                    id=body["id"],
                    email=email,
                    password=password,
                    access_token=tokens["access_token"],
                    refresh_token=tokens["refresh_token"],
                )
            )
    yield accounts
    for account in accounts:
        account.close()


def test_login_is_limited_to_5_tries_a_minute(two_users, client, observe) -> None:
    """Login: 5 tries a minute per address and per username, then 429 with
    `Retry-After`."""
    email = unique_email()

    def wrong_login() -> httpx.Response:
        form = {"username": email, "password": "not-the-password"}
        return client.post(f"{API}/auth/login", data=form)

    limited = first_429(wrong_login, WINDOWS * 5 + 1)

    assert limited is not None, "11 tries in a row, none refused"
    assert_retry_after(limited)
    observe("Retry-After", limited.headers["retry-after"])


def test_an_authenticated_user_gets_1000_requests_a_minute(two_users) -> None:
    """Authenticated API: 1,000 requests a minute per user. Counters live in the
    shared cache (Redis) so that they hold across worker processes."""
    limited_user, other_user = two_users
    sent = 0

    def me() -> httpx.Response:
        nonlocal sent
        sent += 1
        return limited_user.client.get(f"{API}/users/me")

    limited = first_429(me, WINDOWS * 1000 + 1)

    assert limited is not None, f"{sent} requests, none refused"
    assert sent >= 500, sent
    assert_retry_after(limited or me())
    assert other_user.client.get(f"{API}/users/me").status_code == 200


@pytest.mark.beyond_guide
def test_password_recovery_is_limited_to_5_an_hour(client: httpx.Client) -> None:
    """`POST /api/v1/auth/password-recovery` | ... | 429 over its own rate limit
    (default 5 an hour per address and per email)."""
    email = unique_email()

    limited = first_429(
        lambda: client.post(f"{API}/auth/password-recovery", json={"email": email}),
        WINDOWS * 5 + 1,
    )

    assert limited is not None, "11 requests in a row, none refused"
    assert_retry_after(limited)


def test_anonymous_callers_get_100_requests_a_minute(client: httpx.Client) -> None:
    """Anonymous: 100 a minute per address. Counters live in the shared cache."""

    def bad_registration() -> httpx.Response:
        return client.post(f"{API}/users/", json={"email": "no", "password": "no"})

    limited = first_429(bad_registration, WINDOWS * 100 + 1)

    assert limited is not None, "201 anonymous requests, none refused"
    assert_retry_after(limited)


def test_anonymous_401s_count_toward_the_anonymous_limit(client: httpx.Client) -> None:
    """Anonymous: 100 a minute per address (a request with no or a bad bearer is
    anonymous)."""
    limited = first_429(lambda: client.get(f"{API}/items/"), WINDOWS * 100 + 1)

    assert limited is not None, "201 anonymous requests, none refused"
    assert_retry_after(limited)


@pytest.mark.faults
def test_with_the_cache_down_login_is_503_and_the_api_serves(
    faults, two_users, client: httpx.Client
) -> None:
    """Redis unreachable: the API keeps serving (general rate limits let requests
    through and the failure is logged), except login and password recovery, which
    answer 503 rather than go unlimited."""
    account = two_users[1]
    faults("cache", "kill")

    api = account.client.get(f"{API}/users/me")
    login = client.post(
        f"{API}/auth/login",
        data={"username": account.email, "password": account.password},
    )

    assert api.status_code == 200
    assert login.status_code == 503, login.text
    error_detail(login)


@pytest.mark.faults
@pytest.mark.beyond_guide
def test_with_the_cache_down_password_recovery_is_503(
    faults, client: httpx.Client
) -> None:
    """Redis unreachable: ... except login and password recovery, which answer 503
    rather than go unlimited."""
    faults("cache", "kill")

    response = client.post(
        f"{API}/auth/password-recovery", json={"email": unique_email()}
    )

    assert response.status_code == 503, response.text
    error_detail(response)
