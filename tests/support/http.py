"""HTTP helpers: a test client with a bearer token, a request to a live server."""

import urllib.error
import urllib.request
from email.message import Message

import orjson
from rest_framework.test import APIClient

from users.models import User
from users.services import token_pair_issue


def bearer(client: APIClient, user: User) -> APIClient:
    """Authenticate a client as a user with a real access token, as a client would."""
    tokens = token_pair_issue(user=user)
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {tokens['access_token']}")
    return client


def send_request(
    method: str,
    url: str,
    *,
    body: object = None,
    token: str = "",
    timeout: float = 30,
) -> tuple[int, Message, bytes]:
    """Send a request (a JSON body if given) to a live server; an error status too.

    Return the status, the headers and the raw body.
    """
    headers = {"Content-Type": "application/json"} if body is not None else {}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    data = orjson.dumps(body) if body is not None else None
    outgoing = urllib.request.Request(url, data=data, method=method, headers=headers)
    try:
        with urllib.request.urlopen(outgoing, timeout=timeout) as response:
            return response.status, response.headers, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.headers, error.read()
