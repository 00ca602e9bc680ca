"""The OpenAPI schema: it builds cleanly, validates, and tells the truth."""

import json
import re
import urllib.error
import urllib.request
from http import HTTPStatus

import pytest
from django.core.management import call_command
from openapi_schema_validator import OAS30Validator
from openapi_spec_validator import validate
from rest_framework.test import APIClient

from tests.factories import DEFAULT_PASSWORD, ItemFactory
from tests.support.http import bearer
from users.services import token_pair_issue

CONTRACT_OPERATIONS = {
    ("post", "/api/v1/auth/login"),
    ("post", "/api/v1/auth/refresh"),
    ("post", "/api/v1/auth/logout"),
    ("get", "/api/v1/users/"),
    ("post", "/api/v1/users/"),
    ("get", "/api/v1/users/me"),
    ("get", "/api/v1/users/{id}"),
    ("patch", "/api/v1/users/{id}"),
    ("delete", "/api/v1/users/{id}"),
    ("get", "/api/v1/items/"),
    ("post", "/api/v1/items/"),
    ("get", "/api/v1/items/{id}"),
    ("put", "/api/v1/items/{id}"),
    ("patch", "/api/v1/items/{id}"),
    ("delete", "/api/v1/items/{id}"),
    # Beyond the guide's service
    ("post", "/api/v1/users/me/password"),
    ("post", "/api/v1/auth/password-recovery"),
    ("post", "/api/v1/auth/reset-password"),
    # Every path we serve, health checks included
    ("get", "/health"),
    ("get", "/health/ready"),
}
PUBLIC_OPERATIONS = {
    ("get", "/health"),
    ("get", "/health/ready"),
    ("post", "/api/v1/auth/login"),
    ("post", "/api/v1/auth/refresh"),
    ("post", "/api/v1/users/"),
    ("post", "/api/v1/auth/password-recovery"),
    ("post", "/api/v1/auth/reset-password"),
}
EITHER_SCHEME: list[dict[str, list[str]]] = [
    {"HTTPBearer": []},
    {"OAuth2PasswordBearer": []},
]


@pytest.fixture(scope="module")
def schema() -> dict:
    """The schema as /api/v1/openapi.json serves it (no database needed)."""
    response = APIClient().get("/api/v1/openapi.json")
    assert response.status_code == HTTPStatus.OK
    return json.loads(response.content)


def operations(schema: dict) -> dict[tuple[str, str], dict]:
    """Map (method, path) to each operation of the schema."""
    return {
        (method, path): operation
        for path, item in schema["paths"].items()
        for method, operation in item.items()
        if method in {"get", "post", "put", "patch", "delete"}
    }


def body_schema(schema: dict, response: dict) -> dict:
    """Return the JSON schema of a documented response body, with components."""
    return {
        **response["content"]["application/json"]["schema"],
        "components": schema["components"],
    }


def assert_documented(schema: dict, method: str, path: str, response) -> None:
    """Assert that a real response's status, body and headers are as documented."""
    documented = operations(schema)[(method, path)]["responses"]
    code = str(response.status_code)
    assert code in documented, f"{method} {path} gave undocumented {code}"
    OAS30Validator(body_schema(schema, documented[code])).validate(response.json())
    for name, header in documented[code].get("headers", {}).items():
        if header.get("required"):
            assert name in response.headers, f"{name} missing on {code}"


def test_schema_builds_without_warnings_and_validates(tmp_path):
    target = tmp_path / "openapi.json"

    call_command(
        "spectacular",
        "--validate",
        "--fail-on-warn",
        "--format",
        "openapi-json",
        "--file",
        str(target),
    )

    validate(json.loads(target.read_text()))


def test_schema_is_served_as_valid_openapi_3_json(api_client):
    response = api_client.get("/api/v1/openapi.json")

    assert response.status_code == HTTPStatus.OK
    assert "json" in response["Content-Type"]
    document = json.loads(response.content)
    assert document["openapi"].startswith("3.")
    validate(document)


def test_schema_lists_every_contract_operation_with_contract_paths(schema):
    assert set(operations(schema)) == CONTRACT_OPERATIONS


def test_protected_operations_take_a_bearer_token_or_the_password_flow(schema):
    for key, operation in operations(schema).items():
        if key in PUBLIC_OPERATIONS:
            assert not operation.get("security"), key
        else:
            assert operation["security"] == EITHER_SCHEME, key
            assert "401" in operation["responses"], key
            assert "WWW-Authenticate" in operation["responses"]["401"]["headers"]


def test_security_schemes_are_bearer_jwt_and_oauth2_password_flow(schema):
    schemes = schema["components"]["securitySchemes"]

    assert schemes["HTTPBearer"] == {
        "type": "http",
        "scheme": "bearer",
        "bearerFormat": "JWT",
        "description": schemes["HTTPBearer"]["description"],
    }
    assert schemes["OAuth2PasswordBearer"]["flows"] == {
        "password": {"tokenUrl": "/api/v1/auth/login", "scopes": {}}
    }


def test_every_operation_documents_503_with_retry_after(schema):
    for key, operation in operations(schema).items():
        if key == ("get", "/health"):
            continue  # liveness touches no dependency
        response = operation["responses"]["503"]
        assert response["headers"]["Retry-After"]["required"] is True, key
        if key != ("get", "/health/ready"):
            assert response["content"]["application/json"]["schema"] == {
                "$ref": "#/components/schemas/ErrorDetail"
            }


def test_error_responses_follow_what_each_operation_does(schema):
    ops = operations(schema)

    for (method, path), operation in ops.items():
        codes = set(operation["responses"])
        takes_body = method in {"post", "put", "patch"}
        assert ("413" in codes) == takes_body, (method, path)
        assert ("415" in codes) == takes_body, (method, path)
        assert ("404" in codes) == ("{id}" in path), (method, path)
        for response in operation["responses"].values():
            assert "X-Request-ID" in response["headers"], (method, path)
    assert "403" in ops[("get", "/api/v1/users/")]["responses"]
    assert "403" in ops[("patch", "/api/v1/users/{id}")]["responses"]
    assert "403" in ops[("delete", "/api/v1/users/{id}")]["responses"]
    assert "403" not in ops[("get", "/api/v1/users/me")]["responses"]
    assert "403" not in ops[("get", "/api/v1/items/")]["responses"]
    assert "429" in ops[("post", "/api/v1/auth/login")]["responses"]
    assert "400" in ops[("get", "/api/v1/items/")]["responses"]  # skip/limit/q
    assert "400" not in ops[("get", "/api/v1/items/{id}")]["responses"]


def test_errors_of_views_that_check_credentials_themselves_are_documented(schema):
    ops = operations(schema)

    codes = {key: set(ops[key]["responses"]) for key in ops}

    assert "401" in codes[("post", "/api/v1/auth/login")]  # wrong password
    assert "401" in codes[("post", "/api/v1/auth/refresh")]  # a revoked token
    assert "401" not in codes[("post", "/api/v1/auth/password-recovery")]
    assert "401" not in codes[("post", "/api/v1/auth/reset-password")]
    assert "403" in codes[("post", "/api/v1/auth/logout")]  # another user's token
    assert "429" in codes[("post", "/api/v1/auth/password-recovery")]


def test_error_body_components_are_detail_objects(schema):
    components = schema["components"]["schemas"]

    assert components["ErrorDetail"]["required"] == ["detail"]
    assert components["ErrorDetail"]["properties"]["detail"] == {"type": "string"}
    assert components["ValidationErrorDetail"]["required"] == ["detail"]


def test_lists_document_bounds_and_headers(schema):
    for path in ("/api/v1/users/", "/api/v1/items/"):
        operation = operations(schema)[("get", path)]
        parameters = {p["name"]: p["schema"] for p in operation["parameters"]}
        ok = operation["responses"]["200"]

        assert parameters["skip"]["minimum"] == 0
        assert parameters["limit"]["minimum"] == 1
        assert parameters["limit"]["maximum"] == 100
        assert ok["headers"]["X-Total-Count"]["required"] is True
        assert "Link" in ok["headers"]


def test_login_documents_the_form_and_the_json_bodies(schema):
    login = operations(schema)[("post", "/api/v1/auth/login")]
    content = login["requestBody"]["content"]

    def component(media_type: str) -> dict:
        name = content[media_type]["schema"]["$ref"].rsplit("/", 1)[-1]
        return schema["components"]["schemas"][name]

    form = component("application/x-www-form-urlencoded")
    json_body = component("application/json")

    # Plain objects: an anyOf of required lists makes generators give up. Two
    # names, so that a generated client can tell which encoding to send.
    assert form["properties"] == json_body["properties"]
    assert form["required"] == json_body["required"]
    assert content["application/json"] != content["application/x-www-form-urlencoded"]
    assert set(json_body["required"]) == {"username", "password"}
    assert "anyOf" not in json_body
    assert "email" in json_body["properties"]


def test_json_login_with_the_documented_body_works(schema, api_client, user):
    response = api_client.post(
        "/api/v1/auth/login",
        {"username": user.email, "password": DEFAULT_PASSWORD},
        format="json",
    )

    assert response.status_code == HTTPStatus.OK
    assert_documented(schema, "post", "/api/v1/auth/login", response)


def test_response_fields_that_are_always_sent_are_required(schema):
    components = schema["components"]["schemas"]

    assert "token_type" in components["Token"]["required"]
    assert "description" in components["Item"]["required"]
    for name, component in components.items():
        if name.endswith("Request") or "properties" not in component:
            continue
        assert set(component["required"]) >= {
            key
            for key, value in component["properties"].items()
            if not value.get("writeOnly")
        }, name


def test_health_checks_are_in_the_schema_and_public(schema):
    ops = operations(schema)

    assert set(ops[("get", "/health")]["responses"]) == {"200"}
    assert set(ops[("get", "/health/ready")]["responses"]) == {"200", "503"}
    assert ops[("get", "/health")]["security"] == []
    assert ops[("get", "/health/ready")]["security"] == []


@pytest.mark.django_db
def test_real_health_responses_are_the_documented_ones(schema, api_client):
    for path in ("/health", "/health/ready"):
        response = api_client.get(path)

        assert response.status_code == HTTPStatus.OK
        assert_documented(schema, "get", path, response)


def test_schema_reads_well_to_a_person(schema):
    text = json.dumps(schema)
    parameters = {
        p["name"]: p["schema"]
        for p in operations(schema)[("get", "/api/v1/items/")]["parameters"]
    }

    # ReDoc shows an oneOf of two strings as "string or string".
    assert "oneOf" not in text
    assert parameters["q"]["type"] == "string"
    # JavaScript (ReDoc) reads integers past 2**53 inexactly: 9223372036854776000.
    assert parameters["skip"]["maximum"] <= 2**53 - 1


def test_request_and_response_components_are_split(schema):
    components = schema["components"]["schemas"]

    assert "password" not in components["User"]["properties"]
    assert "password" in components["UserCreateRequest"]["properties"]
    assert "id" not in components["ItemRequest"]["properties"]
    assert "id" in components["Item"]["properties"]


@pytest.mark.django_db
def test_real_error_responses_are_the_documented_ones(schema, api_client, user):
    item = ItemFactory.create()  # someone else's
    wrong_login = {"username": user.email, "password": "wrong password"}
    cases = [
        # method, documented path, URL, body, caller, expected status
        ("get", "/api/v1/users/me", "/api/v1/users/me", None, None, 401),
        ("get", "/api/v1/items/", "/api/v1/items/?limit=0", None, user, 400),
        ("get", "/api/v1/items/{id}", f"/api/v1/items/{item.id}", None, user, 404),
        ("get", "/api/v1/users/", "/api/v1/users/", None, user, 403),
        ("post", "/api/v1/items/", "/api/v1/items/", {"title": 5}, user, 400),
        ("post", "/api/v1/auth/login", "/api/v1/auth/login", wrong_login, None, 401),
        (
            "post",
            "/api/v1/auth/refresh",
            "/api/v1/auth/refresh",
            {"refresh_token": "x"},
            None,
            401,
        ),  # noqa: E501
    ]

    for method, path, url, body, caller, status in cases:
        client = bearer(APIClient(), caller) if caller else api_client
        response = getattr(client, method)(url, body, format="json")

        assert response.status_code == status, url
        assert_documented(schema, method, path, response)


@pytest.mark.django_db
def test_real_success_responses_are_the_documented_ones(schema, user_client, user):
    ItemFactory.create_batch(3, owner=user)
    login = {"username": user.email, "password": DEFAULT_PASSWORD}

    listed = user_client.get("/api/v1/items/?limit=2")
    created = user_client.post("/api/v1/items/", {"title": "A"}, format="json")
    me = user_client.get("/api/v1/users/me")
    tokens = user_client.post("/api/v1/auth/login", login)

    assert_documented(schema, "get", "/api/v1/items/", listed)
    assert listed["X-Total-Count"] == "3"
    assert 'rel="next"' in listed["Link"]
    assert_documented(schema, "post", "/api/v1/items/", created)
    assert_documented(schema, "get", "/api/v1/users/me", me)
    assert tokens.status_code == HTTPStatus.OK
    assert_documented(schema, "post", "/api/v1/auth/login", tokens)


@pytest.mark.django_db
def test_form_body_outside_login_is_documented_415(schema, user_client):
    response = user_client.post(
        "/api/v1/items/", "title=x", content_type="application/x-www-form-urlencoded"
    )

    assert response.status_code == HTTPStatus.UNSUPPORTED_MEDIA_TYPE
    assert_documented(schema, "post", "/api/v1/items/", response)


@pytest.mark.django_db
def test_strings_refuse_numbers_and_nul_bytes(user_client):
    number = user_client.post("/api/v1/items/", {"title": 5}, format="json")
    nul = user_client.post("/api/v1/items/", {"title": "a\x00b"}, format="json")

    assert number.status_code == HTTPStatus.BAD_REQUEST
    assert "title" in number.json()["detail"]
    assert nul.status_code == HTTPStatus.BAD_REQUEST
    assert "title" in nul.json()["detail"]
    assert user_client.get("/api/v1/items/").json() == []


@pytest.mark.django_db
def test_empty_q_means_no_filter_and_blank_q_is_a_filter_like_any(user_client, user):
    ItemFactory.create(owner=user, title="Milk")

    empty = user_client.get("/api/v1/items/?q=")
    blank = user_client.get("/api/v1/items/?q=%20%20")

    assert empty.status_code == HTTPStatus.OK
    assert len(empty.json()) == 1
    assert blank.status_code == HTTPStatus.OK
    assert blank.json() == []  # no title holds two spaces; as the guide's `if q:`


@pytest.mark.django_db
def test_single_resources_and_actions_answer_with_and_without_slash(user_client, user):
    item = ItemFactory.create(owner=user)

    for url in (
        "/api/v1/users/me",
        "/api/v1/users/me/",
        f"/api/v1/items/{item.id}",
        f"/api/v1/items/{item.id}/",
        "/api/v1/items",
    ):
        assert user_client.get(url).status_code == HTTPStatus.OK, url


@pytest.mark.parametrize("method", ["post", "put", "patch", "delete"])
def test_unknown_path_is_404_json_for_every_method(api_client, method):
    response = getattr(api_client, method)("/api/v1/nowhere")

    assert response.status_code == HTTPStatus.NOT_FOUND
    assert response.json() == {"detail": "Not found."}


@pytest.mark.parametrize("path", ["/api/v1/docs", "/api/v1/redoc"])
def test_docs_pages_load_only_local_assets(api_client, settings, path):
    # No collected manifest in this process; the browser test uses the real one.
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {
            "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
        },
    }

    response = api_client.get(path)

    assert response.status_code == HTTPStatus.OK
    html = response.content.decode()
    sources = re.findall(r'(?:src|href)="([^"]+)"', html)
    assert sources, "the page loads its assets"
    assert all(not s.startswith(("http:", "https:", "//")) for s in sources), sources
    assert "/static/drf_spectacular_sidecar/" in html


@pytest.mark.live
def test_documented_503_when_database_unreachable(live_server_factory, user, schema):
    header = f"Bearer {token_pair_issue(user=user)['access_token']}"
    server = live_server_factory(
        extra_env={"DATABASE_URL": "postgres://postgres@127.0.0.1:1/nowhere"}
    )
    request = urllib.request.Request(
        f"{server.url}/api/v1/users/me", headers={"Authorization": header}
    )

    with pytest.raises(urllib.error.HTTPError) as error:
        urllib.request.urlopen(request, timeout=30)

    assert error.value.code == HTTPStatus.SERVICE_UNAVAILABLE
    assert error.value.headers["Retry-After"]
    body = json.loads(error.value.read())
    documented = operations(schema)[("get", "/api/v1/users/me")]["responses"]["503"]
    OAS30Validator(body_schema(schema, documented)).validate(body)


TEXT_SAMPLES = ["Notes", " padded ", "a\x01b", "\x1b[31m", "tab\there", "a\nb", " "]


@pytest.mark.parametrize(
    ("component", "field", "body"),
    [
        ("ItemRequest", "title", lambda text: {"title": text}),
        ("ItemRequest", "description", lambda text: {"title": "t", "description": text}),  # noqa: E501
        ("UserCreateRequest", "full_name", None),
    ],
)  # fmt: skip
def test_text_rules_are_patterns_that_agree_with_the_api_and_words(
    schema, user_client, component, field, body
):
    documented = schema["components"]["schemas"][component]["properties"][field]
    pattern = re.compile(documented["pattern"])

    for number, text in enumerate(TEXT_SAMPLES):
        if body is None:  # a registration
            response = APIClient().post(
                "/api/v1/users/",
                {"email": f"u{number}@example.com",
                 "password": "long enough", "full_name": text},
                format="json",
            )  # fmt: skip
        else:
            response = user_client.post("/api/v1/items/", body(text), format="json")
        accepted = response.status_code == HTTPStatus.CREATED
        assert accepted == bool(pattern.search(text)), (field, text, response.json())
    # ReDoc shows the pattern; the description says it in words.
    assert "control characters (U+0000 to U+001F)" in documented["description"]


def test_a_missing_full_name_is_documented_as_null(schema):
    user = schema["components"]["schemas"]["User"]["properties"]["full_name"]

    assert user["nullable"] is True


def test_no_schema_offers_the_same_alternative_twice(schema):
    def alternatives(node):
        if isinstance(node, dict):
            for key in ("oneOf", "anyOf"):
                if key in node:
                    yield node[key]
            for value in node.values():
                yield from alternatives(value)
        elif isinstance(node, list):
            for value in node:
                yield from alternatives(value)

    found = list(alternatives(schema))

    # ReDoc writes duplicates as "string or string", "(string or null) or ...".
    for options in found:
        texts = [json.dumps(option, sort_keys=True) for option in options]
        assert len(set(texts)) == len(texts), options
    assert all(len(options) > 1 for options in found)
