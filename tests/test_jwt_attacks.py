"""Forged, tampered and misused JWTs and malformed headers: each is a 401 Bearer."""

import base64
import hashlib
import hmac
import json
import time
from http import HTTPStatus
from typing import Any

import hypothesis
import jwt
import pytest
from django.conf import settings
from hypothesis import strategies as st
from rest_framework.test import APIClient
from rest_framework_simplejwt.token_blacklist.models import OutstandingToken

from tests.factories import SuperuserFactory
from users.services import token_pair_issue


def b64(data: bytes) -> str:
    """Encode as JWT does: URL-safe base64 without padding."""
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def forge(
    payload: Any,
    *,
    key: str | None = None,
    alg: str = "HS256",
    header: dict | None = None,
    digest: Any = hashlib.sha256,
) -> str:
    """Build a JWT by hand: any header and payload, HMAC-signed with `key` or not."""
    head = b64(json.dumps(header or {"alg": alg, "typ": "JWT"}).encode())
    body = b64(json.dumps(payload).encode())
    signing_input = f"{head}.{body}"
    signature = (
        hmac.new(key.encode(), signing_input.encode(), digest).digest()
        if key is not None
        else b""
    )
    return f"{signing_input}.{b64(signature)}"


def claims_of(token: str) -> dict:
    """Return a token's claims without checking it (the attacker can read them)."""
    return jwt.decode(token, options={"verify_signature": False})


def key() -> str:
    """The server's JWT signing key (for tokens that only a key holder could make)."""
    return settings.SIMPLE_JWT["SIGNING_KEY"]


def get_me(authorization: str):
    """GET /users/me with this Authorization header."""
    return APIClient().get("/api/v1/users/me", HTTP_AUTHORIZATION=authorization)


def assert_bearer_401(response) -> None:
    """A 401 JSON error that asks for a bearer token."""
    assert response.status_code == HTTPStatus.UNAUTHORIZED
    assert response["WWW-Authenticate"] == "Bearer"
    assert isinstance(response.json()["detail"], str)


@pytest.fixture
def tokens(user) -> dict:
    """A real token pair of `user`."""
    return token_pair_issue(user=user)


@pytest.fixture
def access_claims(tokens) -> dict:
    """The claims of the real access token."""
    return claims_of(tokens["access_token"])


def swap_payload(token: str, payload: dict) -> str:
    """Replace a token's payload and keep its header and signature."""
    head, _, signature = token.split(".")
    return f"{head}.{b64(json.dumps(payload).encode())}.{signature}"


# Each attack takes (tokens, access claims, a superuser) and returns a token string.
ACCESS_ATTACKS = {
    "alg-none": lambda t, c, su: forge(c, alg="none"),
    "alg-None": lambda t, c, su: forge(c, alg="None"),
    "alg-none-keeping-signature": lambda t, c, su: (
        forge(c, alg="none") + t["access_token"].rsplit(".", 1)[1]
    ),
    "hs512-right-key": lambda t, c, su: jwt.encode(c, key(), algorithm="HS512"),
    "hs384-right-key": lambda t, c, su: jwt.encode(c, key(), algorithm="HS384"),
    "hs256-header-hs512-signature": lambda t, c, su: forge(
        c, key=key(), digest=hashlib.sha512
    ),
    "rs256-header-hmac-signed": lambda t, c, su: forge(c, key=key(), alg="RS256"),
    "wrong-key": lambda t, c, su: forge(c, key="not the key " * 5),
    "django-secret-key": lambda t, c, su: forge(c, key=settings.SECRET_KEY),
    "empty-key": lambda t, c, su: forge(c, key=""),
    "jwk-in-header-attacker-key": lambda t, c, su: forge(
        c,
        key="attacker",
        header={
            "alg": "HS256",
            "jwk": {"kty": "oct", "k": b64(b"attacker")},
            "jku": "http://attacker.example/jwks.json",
            "kid": "../../../dev/null",
        },
    ),
    "expired": lambda t, c, su: forge(
        c | {"iat": int(time.time()) - 3600, "exp": int(time.time()) - 1}, key=key()
    ),
    "not-yet-valid": lambda t, c, su: forge(
        c | {"nbf": int(time.time()) + 3600}, key=key()
    ),
    "payload-swapped-to-superuser": lambda t, c, su: swap_payload(
        t["access_token"], c | {"sub": str(su.id)}
    ),
    "payload-lifetime-extended": lambda t, c, su: swap_payload(
        t["access_token"], c | {"exp": c["exp"] + 10**6}
    ),
    "header-swapped": lambda t, c, su: (
        b64(b'{"alg":"HS512","typ":"JWT"}') + "." + t["access_token"].split(".", 1)[1]
    ),
    "signature-stripped": lambda t, c, su: t["access_token"].rsplit(".", 1)[0] + ".",
    "signature-of-another-token": lambda t, c, su: (
        t["access_token"].rsplit(".", 1)[0] + "." + t["refresh_token"].rsplit(".", 1)[1]
    ),
    "refresh-token-as-access": lambda t, c, su: t["refresh_token"],
    # Tokens only a key holder could make: odd claims must still be 401, not 500.
    "no-token-type": lambda t, c, su: forge(
        {k: v for k, v in c.items() if k != "token_type"}, key=key()
    ),
    "token-type-sliding": lambda t, c, su: forge(
        c | {"token_type": "sliding"}, key=key()
    ),
    "no-jti": lambda t, c, su: forge(
        {k: v for k, v in c.items() if k != "jti"}, key=key()
    ),
    "no-exp": lambda t, c, su: forge(
        {k: v for k, v in c.items() if k != "exp"}, key=key()
    ),
    "exp-string": lambda t, c, su: forge(c | {"exp": "9999999999"}, key=key()),
    "exp-absurd": lambda t, c, su: forge(c | {"exp": 10**20}, key=key()),
    "exp-float-absurd": lambda t, c, su: forge(c | {"exp": 1e300}, key=key()),
    "no-sub": lambda t, c, su: forge(
        {k: v for k, v in c.items() if k != "sub"}, key=key()
    ),
    "user-id-claim-instead-of-sub": lambda t, c, su: forge(
        {k: v for k, v in c.items() if k != "sub"} | {"user_id": c["sub"]}, key=key()
    ),
    "iat-missing": lambda t, c, su: forge(
        {k: v for k, v in c.items() if k != "iat"}, key=key()
    ),
    "sub-int": lambda t, c, su: forge(c | {"sub": int(c["sub"])}, key=key()),
    "sub-list": lambda t, c, su: forge(c | {"sub": [c["sub"]]}, key=key()),
    "sub-negative": lambda t, c, su: forge(c | {"sub": "-1"}, key=key()),
    "sub-huge": lambda t, c, su: forge(c | {"sub": "9" * 40}, key=key()),
    "sub-unicode-digits": lambda t, c, su: forge(c | {"sub": "\u0661"}, key=key()),
    "sub-missing-user": lambda t, c, su: forge(c | {"sub": "987654321"}, key=key()),
    "payload-a-list": lambda t, c, su: forge([c], key=key()),
    "payload-not-json": lambda t, c, su: (
        t["access_token"].split(".")[0] + "." + b64(b"\xff\xfe{") + ".sig"
    ),
}


@pytest.mark.parametrize("attack", ACCESS_ATTACKS.values(), ids=ACCESS_ATTACKS.keys())
def test_forged_or_misused_access_token_is_a_401(attack, tokens, access_claims):
    superuser = SuperuserFactory.create()
    token = attack(tokens, access_claims, superuser)

    response = get_me(f"Bearer {token}")

    assert_bearer_401(response)


def test_the_untouched_token_is_accepted(tokens, user):
    # The control for the attacks above: the same helpers, no tampering.
    assert get_me(f"Bearer {tokens['access_token']}").json()["id"] == user.id
    token = forge(claims_of(tokens["access_token"]), key=key())
    assert get_me(f"Bearer {token}").json()["id"] == user.id


@pytest.mark.parametrize("scheme", ["Bearer", "bearer", "BEARER"])
def test_the_bearer_scheme_is_case_insensitive(scheme, tokens):
    response = get_me(f"{scheme} {tokens['access_token']}")

    assert response.status_code == HTTPStatus.OK


MALFORMED_HEADERS = {
    "empty": lambda access: "",
    "scheme-only": lambda access: "Bearer",
    "scheme-and-space": lambda access: "Bearer ",
    "three-parts": lambda access: f"Bearer {access} extra",
    "comma-appended": lambda access: f"Bearer {access},",
    "no-scheme": lambda access: access,
    "token-scheme": lambda access: f"Token {access}",
    "jwt-scheme": lambda access: f"JWT {access}",
    "basic": lambda access: "Basic dXNlckBleGFtcGxlLmNvbTpwYXNzd29yZA==",
    "not-a-jwt": lambda access: "Bearer not-a-jwt",
    "dots-only": lambda access: "Bearer ..",
    "huge": lambda access: "Bearer " + "a" * 100_000,
    "latin-1": lambda access: "Bearer \u00e9\u00e9\u00e9.\u00e9.\u00e9",
    "beyond-latin-1": lambda access: "Bearer \u2603.\u2603.\u2603",
    "nul-byte": lambda access: f"Bearer {access}\x00",
}


@pytest.mark.parametrize(
    "header", MALFORMED_HEADERS.values(), ids=MALFORMED_HEADERS.keys()
)
def test_malformed_authorization_header_is_a_401(header, tokens):
    response = get_me(header(tokens["access_token"]))

    assert_bearer_401(response)


# The refresh endpoint ------------------------------------------------------------


def refresh_claims_of(tokens: dict) -> dict:
    """The claims of the real refresh token."""
    return claims_of(tokens["refresh_token"])


REFRESH_ATTACKS = {
    "access-token-as-refresh": lambda t, c, su: t["access_token"],
    "alg-none": lambda t, c, su: forge(c, alg="none"),
    "hs512-right-key": lambda t, c, su: jwt.encode(c, key(), algorithm="HS512"),
    "wrong-key": lambda t, c, su: forge(c, key="not the key " * 5),
    "django-secret-key": lambda t, c, su: forge(c, key=settings.SECRET_KEY),
    "expired": lambda t, c, su: forge(
        c | {"iat": int(time.time()) - 3600, "exp": int(time.time()) - 1}, key=key()
    ),
    "payload-swapped-to-superuser": lambda t, c, su: swap_payload(
        t["refresh_token"], c | {"sub": str(su.id)}
    ),
    "signature-stripped": lambda t, c, su: t["refresh_token"].rsplit(".", 1)[0] + ".",
    # Signed with the key, but never issued (its jti is not outstanding).
    "never-issued-jti": lambda t, c, su: forge(c | {"jti": "0" * 32}, key=key()),
    "never-issued-for-superuser": lambda t, c, su: forge(
        c | {"sub": str(su.id), "jti": "1" * 32}, key=key()
    ),
    "jti-a-list": lambda t, c, su: forge(c | {"jti": [c["jti"]]}, key=key()),
    "no-jti": lambda t, c, su: forge(
        {k: v for k, v in c.items() if k != "jti"}, key=key()
    ),
    "sub-int": lambda t, c, su: forge(c | {"sub": int(c["sub"])}, key=key()),
    "exp-absurd": lambda t, c, su: forge(c | {"exp": 10**20}, key=key()),
}


@pytest.mark.parametrize("attack", REFRESH_ATTACKS.values(), ids=REFRESH_ATTACKS.keys())
def test_forged_or_misused_refresh_token_is_a_401(attack, tokens):
    superuser = SuperuserFactory.create()
    token = attack(tokens, refresh_claims_of(tokens), superuser)
    issued = OutstandingToken.objects.count()

    response = APIClient().post(
        "/api/v1/auth/refresh", {"refresh_token": token}, format="json"
    )

    assert_bearer_401(response)
    assert OutstandingToken.objects.count() == issued  # nothing new was issued


def test_a_refused_refresh_attack_does_not_burn_the_real_token(tokens):
    forged = swap_payload(tokens["refresh_token"], refresh_claims_of(tokens))
    forged = forged[:-2] + ("AA" if not forged.endswith("AA") else "BB")

    refused = APIClient().post(
        "/api/v1/auth/refresh", {"refresh_token": forged}, format="json"
    )
    real = APIClient().post(
        "/api/v1/auth/refresh",
        {"refresh_token": tokens["refresh_token"]},
        format="json",
    )

    assert_bearer_401(refused)
    assert real.status_code == HTTPStatus.OK


# Any text at all -----------------------------------------------------------------

FUZZ = hypothesis.settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[hypothesis.HealthCheck.function_scoped_fixture],
)
LATIN_1 = st.characters(max_codepoint=255, exclude_characters="\r\n")


@FUZZ
@hypothesis.given(
    scheme=st.sampled_from(["Bearer ", "bearer ", "", "Basic "]),
    text=st.text(LATIN_1, max_size=600),
)
def test_any_authorization_header_is_a_401_never_a_500(db, scheme, text):
    response = get_me(scheme + text)

    assert_bearer_401(response)


@FUZZ
@hypothesis.given(
    token=st.one_of(
        st.text(max_size=600),
        st.builds(
            lambda a, b, c: f"{a}.{b}.{c}",
            st.text(max_size=80),
            st.text(max_size=200),
            st.text(max_size=80),
        ),
    )
)
def test_any_refresh_token_text_is_a_4xx_never_a_500(db, token):
    # The field refuses blank text and NUL (a 400); any other text is no token.
    refused_by_the_field = token.strip() == "" or "\x00" in token

    response = APIClient().post(
        "/api/v1/auth/refresh", {"refresh_token": token}, format="json"
    )

    assert response.status_code == (
        HTTPStatus.BAD_REQUEST if refused_by_the_field else HTTPStatus.UNAUTHORIZED
    )
    assert "detail" in response.json()
