"""Rate limits: login, password recovery, anonymous and authenticated rates.

Every test runs on the local-memory cache and on Redis (TEST_REDIS_URL), with the
throttles' clock frozen at the start of a window, so that no window ends mid-test.
"""

import json
import os
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
import uuid
from http import HTTPStatus

import pytest
from rest_framework.test import APIClient

from core.throttling import WindowThrottle
from tests.factories import DEFAULT_PASSWORD, UserFactory
from tests.support import BASE_DIR
from tests.support.http import bearer

LOGIN = "/api/v1/auth/login"
RECOVERY = "/api/v1/auth/password-recovery"
# A multiple of 3,600: the start of an hour's window and of a minute's.
WINDOW_START = 1_800_000_000.0


class Clock:
    """A clock for the throttles that moves only when told to."""

    def __init__(self) -> None:
        self.now = WINDOW_START + 1

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        """Move the clock forward."""
        self.now += seconds


@pytest.fixture(params=["locmem", "redis"])
def clock(request, settings, monkeypatch) -> Clock:
    """Rate limits on, a fresh counter store of each kind, and a frozen clock."""
    if request.param == "redis":
        settings.CACHES = {
            "default": {
                "BACKEND": "core.cache.SharedClientRedisCache",
                "LOCATION": request.getfixturevalue("redis_url"),
                "KEY_PREFIX": f"test-{uuid.uuid4().hex}",  # nothing shared, no flush
            }
        }
    else:
        settings.CACHES = {
            "default": {
                "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
                "LOCATION": uuid.uuid4().hex,
            }
        }
    settings.RATE_LIMITS_ENABLED = True
    frozen = Clock()
    monkeypatch.setattr(WindowThrottle, "timer", staticmethod(frozen))
    return frozen


def set_rates(settings, **rates: str) -> None:
    """Change some throttle rates for this test."""
    framework = dict(settings.REST_FRAMEWORK)
    framework["DEFAULT_THROTTLE_RATES"] = {
        **framework["DEFAULT_THROTTLE_RATES"],
        **rates,
    }
    settings.REST_FRAMEWORK = framework


def login(client: APIClient, username: str, address: str = "198.51.100.1", **extra):
    """Try to log in with a wrong password from an address."""
    return client.post(
        LOGIN,
        {"username": username, "password": "not the password"},
        REMOTE_ADDR=address,
        **extra,
    )


def refused_after(codes: list[int], allowed: int) -> bool:
    """Say whether exactly the first `allowed` requests got through the limit."""
    # Requests within the limit get the endpoint's own answer (400, 401, 202, ...).
    return HTTPStatus.TOO_MANY_REQUESTS not in codes[:allowed] and codes[allowed:] == [
        HTTPStatus.TOO_MANY_REQUESTS
    ] * (len(codes) - allowed)


def assert_throttled(response, *, max_wait: int) -> None:
    """Assert a 429 JSON answer with a sane Retry-After."""
    assert response.status_code == HTTPStatus.TOO_MANY_REQUESTS
    assert "detail" in response.json()
    assert 1 <= int(response["Retry-After"]) <= max_wait


@pytest.mark.django_db
def test_sixth_login_of_a_minute_from_one_address_is_429(api_client, clock):
    user = UserFactory.create()
    statuses = [
        login(api_client, f"nobody{n}@example.com").status_code for n in range(5)
    ]

    sixth = api_client.post(
        LOGIN,
        {"username": user.email, "password": DEFAULT_PASSWORD},
        REMOTE_ADDR="198.51.100.1",
    )

    assert refused_after(statuses, 5)
    assert_throttled(sixth, max_wait=60)
    assert int(sixth["Retry-After"]) == 59  # one second into the window
    assert "access_token" not in sixth.json()


@pytest.mark.django_db
def test_sixth_login_for_one_username_is_429_from_any_address(api_client, clock):
    user = UserFactory.create(email="target@example.com")
    spellings = ["target@example.com", "TARGET@example.com", " Target@Example.com"]
    statuses = [
        login(api_client, spellings[n % 3], address=f"203.0.113.{n}").status_code
        for n in range(5)
    ]

    sixth = api_client.post(
        LOGIN,
        {"email": user.email, "password": DEFAULT_PASSWORD},
        REMOTE_ADDR="192.0.2.200",
    )

    assert refused_after(statuses, 5)
    assert_throttled(sixth, max_wait=60)


@pytest.mark.django_db
def test_form_encoded_logins_count_for_the_username_too(api_client, clock):
    for n in range(2):
        login(api_client, "target@example.com", address=f"203.0.113.{n}")
    form = "application/x-www-form-urlencoded"  # the OAuth2 password flow
    for n in range(3):
        api_client.post(
            LOGIN,
            "username=Target%40example.com&password=wrong",
            content_type=form,
            REMOTE_ADDR=f"192.0.2.{n}",
        )

    sixth = api_client.post(
        LOGIN,
        "username=target%40example.com&password=wrong",
        content_type=form,
        REMOTE_ADDR="198.51.100.77",
    )

    assert_throttled(sixth, max_wait=60)


@pytest.mark.django_db
def test_a_rotated_x_forwarded_for_does_not_reset_the_login_limit(api_client, clock):
    statuses = [
        login(
            api_client,
            f"nobody{n}@example.com",
            HTTP_X_FORWARDED_FOR=f"10.{n}.{n}.{n}",
        ).status_code
        for n in range(6)
    ]

    assert refused_after(statuses, 5)


@pytest.mark.django_db
def test_behind_one_proxy_the_address_it_appends_is_the_client(
    api_client, clock, settings
):
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "NUM_PROXIES": 1}
    proxy = "10.0.0.2"
    statuses = [
        login(
            api_client,
            f"nobody{n}@example.com",
            address=proxy,
            HTTP_X_FORWARDED_FOR=f"6.6.6.{n}, 203.0.113.7",  # spoofed, then real
        ).status_code
        for n in range(6)
    ]

    other_client = login(
        api_client,
        "someone@example.com",
        address=proxy,
        HTTP_X_FORWARDED_FOR="203.0.113.8",
    )

    assert refused_after(statuses, 5)
    assert other_client.status_code != HTTPStatus.TOO_MANY_REQUESTS


@pytest.mark.django_db
def test_ipv6_addresses_of_one_64_network_share_a_limit(api_client, clock):
    statuses = [
        login(
            api_client, f"n{n}@example.com", address=f"2001:db8:1:2::{n:x}"
        ).status_code
        for n in range(6)
    ]

    other_network = login(api_client, "n@example.com", address="2001:db8:1:3::1")
    mapped_v4 = login(api_client, "n@example.com", address="::ffff:192.0.2.1")

    assert refused_after(statuses, 5)
    assert other_network.status_code != HTTPStatus.TOO_MANY_REQUESTS
    assert mapped_v4.status_code != HTTPStatus.TOO_MANY_REQUESTS


@pytest.mark.django_db
@pytest.mark.parametrize("forwarded", ["not an address", "1.2.3.4\x01" + "9" * 500])
def test_a_malformed_forwarded_address_is_counted_not_crashing(
    api_client, clock, settings, forwarded
):
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "NUM_PROXIES": 2}

    statuses = [
        login(
            api_client, f"n{n}@example.com", HTTP_X_FORWARDED_FOR=forwarded
        ).status_code
        for n in range(6)
    ]

    assert refused_after(statuses, 5)


def test_a_malformed_rate_stops_the_process_at_start():
    result = subprocess.run(
        [sys.executable, "manage.py", "check"],
        cwd=BASE_DIR,
        env={
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "config.test_settings",
            "RATE_LIMIT_LOGIN": "five a minute",
        },
        capture_output=True,
        text=True,
        timeout=120,
    )

    assert result.returncode != 0
    assert "RATE_LIMIT_LOGIN must look like 100/min" in result.stderr


@pytest.mark.django_db
def test_login_is_allowed_again_when_the_window_ends(api_client, clock):
    user = UserFactory.create()
    for _ in range(5):
        login(api_client, user.email)
    throttled = api_client.post(
        LOGIN, {"username": user.email, "password": DEFAULT_PASSWORD}
    )

    clock.advance(60)
    later = api_client.post(
        LOGIN, {"username": user.email, "password": DEFAULT_PASSWORD}
    )

    assert throttled.status_code == HTTPStatus.TOO_MANY_REQUESTS
    assert later.status_code == HTTPStatus.OK
    assert "access_token" in later.json()


@pytest.mark.django_db
@pytest.mark.parametrize(
    "body",
    [
        {"username": "x" * 100_000, "password": "p"},
        {"username": ["a@example.com"], "password": "p"},
        {"username": 12, "password": "p"},
        {"username": "a\x00b@example.com", "password": "p"},
        [1, 2, 3],
        "just a string",
    ],
)
def test_absurd_login_bodies_are_400_and_counted_per_address(api_client, clock, body):
    statuses = [
        api_client.post(LOGIN, body, format="json", REMOTE_ADDR="198.51.100.9")
        for _ in range(6)
    ]

    codes = [response.status_code for response in statuses]
    assert refused_after(codes, 5)
    assert all(400 <= code < 500 for code in codes)
    assert all("detail" in response.json() for response in statuses)


@pytest.mark.django_db
def test_sixth_password_recovery_of_an_hour_is_429_per_address_and_per_email(
    api_client, clock
):
    per_address = [
        api_client.post(
            RECOVERY, {"email": f"a{n}@example.com"}, REMOTE_ADDR="198.51.100.3"
        ).status_code
        for n in range(6)
    ]
    per_email = [
        api_client.post(
            RECOVERY, {"email": "B@example.com"}, REMOTE_ADDR=f"192.0.2.{n}"
        ).status_code
        for n in range(5)
    ]

    sixth_for_email = api_client.post(
        RECOVERY, {"email": "b@EXAMPLE.com"}, REMOTE_ADDR="192.0.2.99"
    )

    assert per_address == [HTTPStatus.ACCEPTED] * 5 + [HTTPStatus.TOO_MANY_REQUESTS]
    assert per_email == [HTTPStatus.ACCEPTED] * 5
    assert_throttled(sixth_for_email, max_wait=3600)
    assert int(sixth_for_email["Retry-After"]) > 60


@pytest.mark.django_db
def test_anonymous_requests_are_limited_per_address(api_client, clock, settings):
    set_rates(settings, anon="3/min")
    body = {"refresh_token": "not a token"}
    statuses = [
        api_client.post("/api/v1/auth/refresh", body, REMOTE_ADDR="198.51.100.4")
        for _ in range(4)
    ]

    elsewhere = api_client.post("/api/v1/auth/refresh", body, REMOTE_ADDR="192.0.2.4")

    assert refused_after([r.status_code for r in statuses], 3)
    assert_throttled(statuses[3], max_wait=60)
    assert elsewhere.status_code != HTTPStatus.TOO_MANY_REQUESTS


@pytest.mark.django_db
@pytest.mark.parametrize(
    "authorization",
    [
        None,
        "Bearer not-a-token",
        "Basic dXNlcjpwYXNz",
        "Bearer eyJhbGciOiJub25lIn0.eyJzdWIiOiIxIn0.",  # alg none, forged
    ],
    ids=["missing", "malformed", "other-scheme", "forged"],
)
def test_requests_refused_for_bad_credentials_count_on_the_anonymous_limit(
    api_client, clock, settings, authorization
):
    set_rates(settings, anon="3/min")
    extra = {"HTTP_AUTHORIZATION": authorization} if authorization else {}
    statuses = [
        api_client.get("/api/v1/users/me", REMOTE_ADDR="198.51.100.6", **extra)
        for _ in range(4)
    ]

    elsewhere = api_client.get("/api/v1/items/", REMOTE_ADDR="192.0.2.6", **extra)

    assert [r.status_code for r in statuses[:3]] == [HTTPStatus.UNAUTHORIZED] * 3
    assert_throttled(statuses[3], max_wait=60)
    assert elsewhere.status_code == HTTPStatus.UNAUTHORIZED


@pytest.mark.django_db
def test_bad_bearers_and_other_anonymous_requests_share_one_count(
    api_client, clock, settings
):
    set_rates(settings, anon="4/min")
    address = {"REMOTE_ADDR": "198.51.100.7"}
    body = {"refresh_token": "not a token"}
    statuses = [
        api_client.get("/api/v1/items/", **address).status_code,
        api_client.post("/api/v1/auth/refresh", body, **address).status_code,
        api_client.get(
            "/api/v1/users/me", HTTP_AUTHORIZATION="Bearer x.y.z", **address
        ).status_code,
        api_client.post("/api/v1/auth/refresh", body, **address).status_code,
        api_client.get("/api/v1/items/", **address).status_code,
    ]

    assert refused_after(statuses, 4)


@pytest.mark.django_db
def test_a_valid_bearer_is_not_counted_on_the_anonymous_limit(clock, settings):
    set_rates(settings, anon="2/min")
    client = bearer(APIClient(), UserFactory.create())
    served = [
        client.get("/api/v1/items/", REMOTE_ADDR="198.51.100.8").status_code
        for _ in range(4)
    ]

    anonymous = APIClient().get("/api/v1/items/", REMOTE_ADDR="198.51.100.8")

    assert served == [HTTPStatus.OK] * 4
    assert anonymous.status_code == HTTPStatus.UNAUTHORIZED


@pytest.mark.django_db
def test_authenticated_requests_are_limited_per_user(clock, settings):
    set_rates(settings, user="3/min")
    client = bearer(APIClient(), UserFactory.create())
    other = bearer(APIClient(), UserFactory.create())
    statuses = [client.get("/api/v1/items/").status_code for _ in range(4)]

    other_response = other.get("/api/v1/items/")

    assert statuses == [HTTPStatus.OK] * 3 + [HTTPStatus.TOO_MANY_REQUESTS]
    assert other_response.status_code == HTTPStatus.OK


@pytest.mark.django_db
def test_rates_come_from_settings(api_client, clock, settings):
    set_rates(settings, login="2/min")
    statuses = [login(api_client, f"n{n}@example.com").status_code for n in range(3)]

    assert refused_after(statuses, 2)


@pytest.mark.django_db
def test_rate_limits_enabled_false_switches_every_limit_off(
    api_client, clock, settings
):
    settings.RATE_LIMITS_ENABLED = False
    set_rates(settings, anon="1/min")
    logins = [login(api_client, "a@example.com").status_code for _ in range(8)]
    recoveries = [
        api_client.post(RECOVERY, {"email": "a@example.com"}).status_code
        for _ in range(8)
    ]

    assert HTTPStatus.TOO_MANY_REQUESTS not in logins
    assert recoveries == [HTTPStatus.ACCEPTED] * 8


def test_a_limit_holds_under_concurrent_requests(clock, settings):
    set_rates(settings, anon="5/min")
    results: list[int] = []

    def refresh() -> None:
        response = APIClient().post(
            "/api/v1/auth/refresh",
            {"refresh_token": "not a token"},
            REMOTE_ADDR="198.51.100.5",
        )
        results.append(response.status_code)

    threads = [threading.Thread(target=refresh) for _ in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert len(results) == 20
    assert results.count(HTTPStatus.TOO_MANY_REQUESTS) == 15


@pytest.mark.live
def test_login_limit_holds_across_gunicorn_workers(live_server_factory, redis_url):
    server = live_server_factory(
        extra_env={
            "REDIS_URL": redis_url,
            "CACHE_KEY_PREFIX": f"test-{uuid.uuid4().hex}",
            "RATE_LIMITS_ENABLED": "true",
        },
        workers=2,
    )
    # The windows follow the wall clock here: start early in a minute, not to cross one.
    if (left := 60 - time.time() % 60) < 20:
        time.sleep(left + 0.5)
    statuses = []
    for n in range(6):
        request = urllib.request.Request(
            f"{server.url}{LOGIN}",
            data=json.dumps(
                {"username": f"n{n}@example.com", "password": "x"}
            ).encode(),
            headers={
                "Content-Type": "application/json",
                "X-Forwarded-For": f"10.0.0.{n}",
            },
        )
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                statuses.append(response.status)
        except urllib.error.HTTPError as error:
            statuses.append(error.code)
            retry_after = error.headers.get("Retry-After")

    assert refused_after(statuses, 5)
    assert retry_after is not None
    assert 1 <= int(retry_after) <= 60
