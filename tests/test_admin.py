"""The Django admin: pages, forms, actions and query counts, for superusers only."""

from http import HTTPStatus

import pytest
from django.contrib.messages import get_messages
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework_simplejwt.token_blacklist.models import OutstandingToken

from core import errors
from items.models import Item
from tests.factories import ItemFactory, SuperuserFactory, UserFactory
from users.models import User
from users.services import token_pair_issue, token_refresh

pytestmark = pytest.mark.django_db

STRONG_PASSWORD = "plum-Sofa-orbit-42"


@pytest.fixture(autouse=True)
def fresh_login_counts():
    """Start each test with no admin login attempts counted (the cache is local)."""
    cache.clear()


@pytest.fixture
def admin_client(client, superuser):
    """A Django test client logged in to the admin as `superuser`."""
    client.force_login(superuser)
    return client


def admin_pages(user: User, item: Item) -> list[str]:
    """Every admin page a superuser works with, for a user and an item."""
    return [
        "/admin/",
        "/admin/users/user/",
        "/admin/users/user/?q=example",
        "/admin/users/user/?is_active__exact=1&is_superuser__exact=0",
        "/admin/users/user/add/",
        f"/admin/users/user/{user.pk}/change/",
        f"/admin/users/user/{user.pk}/password/",
        "/admin/items/item/",
        f"/admin/items/item/?q={item.title.split()[0]}",
        f"/admin/items/item/?created_at__year={item.created_at.year}",
        "/admin/items/item/add/",
        f"/admin/items/item/{item.pk}/change/",
        "/admin/autocomplete/?app_label=items&model_name=item&field_name=owner&term=u",
    ]


# --- Who gets in --------------------------------------------------------------------


def test_superuser_gets_every_admin_page(admin_client, user):
    item = ItemFactory.create(owner=user)

    for page in admin_pages(user, item):
        response = admin_client.get(page)

        assert response.status_code == HTTPStatus.OK, page


@pytest.mark.parametrize("kind", ["ordinary", "inactive superuser", "anonymous"])
def test_non_staff_is_sent_to_the_login_page_from_every_admin_page(client, kind):
    user = UserFactory.create()
    item = ItemFactory.create(owner=user)
    if kind == "ordinary":
        client.force_login(user)
    elif kind == "inactive superuser":
        client.force_login(SuperuserFactory.create(is_active=False))

    for page in admin_pages(user, item)[1:]:
        response = client.get(page)

        assert response.status_code == HTTPStatus.FOUND, page
        assert response["Location"].startswith("/admin/login/"), page


def test_ordinary_user_cannot_log_in_to_the_admin(client):
    user = UserFactory.create()

    response = client.post(
        "/admin/login/", {"username": user.email, "password": "correct horse battery"}
    )

    assert response.status_code == HTTPStatus.OK  # the form again, with an error
    assert b"staff account" in response.content
    assert "_auth_user_id" not in client.session


def test_superuser_logs_in_with_any_case_of_their_email(client):
    admin = SuperuserFactory.create(email="root@example.com")

    response = client.post(
        "/admin/login/?next=/admin/",
        {"username": "ROOT@Example.com", "password": "correct horse battery"},
    )

    assert response.status_code == HTTPStatus.FOUND
    assert response["Location"] == "/admin/"
    assert client.session["_auth_user_id"] == str(admin.pk)


@pytest.fixture
def rate_limits_on(settings):
    """Rate limits on, whatever the test settings choose for other tests."""
    settings.RATE_LIMITS_ENABLED = True


def attempt_login(client, username: str, password: str, address="10.0.0.1"):
    """Post the admin login form from a client address."""
    return client.post(
        "/admin/login/",
        {"username": username, "password": password},
        REMOTE_ADDR=address,
    )


def test_admin_login_is_limited_per_address(client, rate_limits_on):
    admin = SuperuserFactory.create()
    for attempt in range(5):
        assert (
            attempt_login(client, f"guess{attempt}@example.com", "x").status_code == 200
        )

    refused = attempt_login(client, admin.email, "correct horse battery")

    assert refused.status_code == HTTPStatus.TOO_MANY_REQUESTS
    wait = int(refused["Retry-After"])
    assert 1 <= wait <= 60
    # The API login's answer, word for word.
    assert refused.json() == {
        "detail": f"Request was throttled. Expected available in {wait} seconds."
    }
    assert "_auth_user_id" not in client.session
    other_address = attempt_login(
        client, admin.email, "correct horse battery", address="10.0.0.2"
    )
    assert other_address.status_code == HTTPStatus.FOUND  # logged in from elsewhere


def test_admin_login_is_limited_per_username_across_addresses(client, rate_limits_on):
    admin = SuperuserFactory.create(email="target@example.com")
    for attempt in range(5):
        attempt_login(
            client, "TARGET@example.com", "wrong", address=f"10.1.0.{attempt}"
        )

    refused = attempt_login(
        client, "target@example.com", "correct horse battery", address="10.2.0.1"
    )

    assert refused.status_code == HTTPStatus.TOO_MANY_REQUESTS
    assert client.session.get("_auth_user_id") != str(admin.pk)


def test_admin_login_page_itself_is_never_limited(client, rate_limits_on):
    for _ in range(8):
        response = client.get("/admin/login/")

        assert response.status_code == HTTPStatus.OK


def test_admin_login_unlimited_when_rate_limits_are_off(client, settings):
    settings.RATE_LIMITS_ENABLED = False

    for attempt in range(8):
        response = attempt_login(client, f"guess{attempt}@example.com", "x")

        assert response.status_code == HTTPStatus.OK


def test_admin_login_refused_when_the_shared_cache_is_down(
    client, settings, caplog, rate_limits_on
):
    settings.CACHES = {
        "default": {
            "BACKEND": "core.cache.SharedClientRedisCache",
            "LOCATION": "redis://127.0.0.1:1/0",
            "OPTIONS": {"socket_connect_timeout": 0.5, "socket_timeout": 0.5},
        }
    }
    admin = SuperuserFactory.create()

    response = attempt_login(client, admin.email, "correct horse battery")

    assert response.status_code == HTTPStatus.SERVICE_UNAVAILABLE
    assert response["Retry-After"] == str(errors.RETRY_AFTER_SECONDS)
    assert "detail" in response.json()
    assert "_auth_user_id" not in client.session
    assert "rate-limit store unreachable (ConnectionError)" in caplog.text


# --- Lists: search, filters, bounded queries ----------------------------------------


def test_user_search_matches_email_and_name(admin_client):
    UserFactory.create(email="zed@example.com", full_name="Zed Zebra")
    UserFactory.create(email="amy@example.com", full_name="Amy Quokka")

    by_email = admin_client.get("/admin/users/user/?q=ZED@")
    by_name = admin_client.get("/admin/users/user/?q=quokka")

    assert b"zed@example.com" in by_email.content
    assert b"amy@example.com" not in by_email.content
    assert b"amy@example.com" in by_name.content
    assert b"zed@example.com" not in by_name.content


def test_user_filter_by_active(admin_client):
    UserFactory.create(email="on@example.com")
    UserFactory.create(email="off@example.com", is_active=False)

    response = admin_client.get("/admin/users/user/?is_active__exact=0")

    assert b"off@example.com" in response.content
    assert b"on@example.com" not in response.content


def test_item_search_matches_title_and_owner_email(admin_client):
    owner = UserFactory.create(email="owner-one@example.com")
    ItemFactory.create(owner=owner, title="Teapot")
    ItemFactory.create(title="Kettle")

    by_owner = admin_client.get("/admin/items/item/?q=owner-one@")
    by_title = admin_client.get("/admin/items/item/?q=kettle")

    assert b"Teapot" in by_owner.content
    assert b"Kettle" not in by_owner.content
    assert b"Kettle" in by_title.content
    assert b"Teapot" not in by_title.content
    assert b"owner-one@example.com" in by_owner.content  # the owner is shown


def test_item_filter_by_date(admin_client):
    ItemFactory.create(title="Recent one")
    old = ItemFactory.create(title="Old one")
    Item.objects.filter(pk=old.pk).update(created_at="2001-01-01T00:00:00Z")

    response = admin_client.get("/admin/items/item/?created_at__year=2001")

    assert b"Old one" in response.content
    assert b"Recent one" not in response.content


def count_queries(client, url: str) -> int:
    """Fetch a page and return how many SQL queries it ran."""
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url)
    assert response.status_code == HTTPStatus.OK
    return len(queries)


@pytest.mark.parametrize("url", ["/admin/items/item/", "/admin/items/item/?q=a"])
def test_item_changelist_runs_as_many_queries_for_40_rows_as_for_2(admin_client, url):
    owners = UserFactory.create_batch(2)
    ItemFactory.create_batch(2, owner=owners[0])
    few = count_queries(admin_client, url)

    for _ in range(19):
        ItemFactory.create_batch(
            2, owner=UserFactory.create()
        )  # 38 more rows, 19 owners
    many = count_queries(admin_client, url)

    assert many == few
    assert many <= 10


def test_user_changelist_runs_as_many_queries_for_40_rows_as_for_2(admin_client):
    url = "/admin/users/user/"
    UserFactory.create()
    few = count_queries(admin_client, url)

    UserFactory.create_batch(38)
    many = count_queries(admin_client, url)

    assert many == few
    assert many <= 10


def test_absurd_parameters_and_ids_are_not_server_errors(admin_client):
    # Django's admin redirects a missing object or a bad filter to the list.
    expected = {
        "/admin/users/user/abc/change/": HTTPStatus.FOUND,
        "/admin/items/item/" + "9" * 30 + "/change/": HTTPStatus.FOUND,
        "/admin/items/item/-1/delete/": HTTPStatus.FOUND,
        "/admin/items/item/?q=" + "x" * 5000: HTTPStatus.OK,
        "/admin/items/item/?q=%00": HTTPStatus.OK,
        "/admin/items/item/?created_at__year=notayear": HTTPStatus.FOUND,
        "/admin/items/item/?o=99": HTTPStatus.OK,
        "/admin/items/item/?p=-1": HTTPStatus.OK,
        "/admin/users/user/?is_active__exact=maybe": HTTPStatus.FOUND,
        "/admin/users/user/?created_at__gte=yesterday": HTTPStatus.FOUND,
    }

    statuses = {url: admin_client.get(url).status_code for url in expected}

    assert statuses == expected


# --- Users: add and change ----------------------------------------------------------


def add_user(client, **fields):
    """Post the admin's add-user form."""
    data = {
        "email": "new.person@Example.COM",
        "full_name": "New Person",
        "usable_password": "true",
        "password1": STRONG_PASSWORD,
        "password2": STRONG_PASSWORD,
        **fields,
    }
    return client.post("/admin/users/user/add/", data)


def test_add_user_stores_a_normalised_email_and_a_hashed_password(admin_client):
    response = add_user(admin_client)

    assert response.status_code == HTTPStatus.FOUND
    user = User.objects.get(full_name="New Person")
    assert user.email == "new.person@example.com"
    assert user.password != STRONG_PASSWORD
    assert STRONG_PASSWORD not in user.password
    assert user.check_password(STRONG_PASSWORD)
    assert user.is_active
    assert not user.is_superuser


def test_add_user_with_password_authentication_disabled(admin_client):
    response = add_user(
        admin_client, usable_password="false", password1="", password2=""
    )

    assert response.status_code == HTTPStatus.FOUND
    assert not User.objects.get(full_name="New Person").has_usable_password()


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"email": "TAKEN@example.com"}, b"already exists"),
        ({"email": "not-an-email"}, b"valid email"),
        ({"email": "x" * 250 + "@example.com"}, b"at most 254"),
        ({"password2": "something-else-entirely"}, b"didn"),
        ({"password1": "12345678", "password2": "12345678"}, b"entirely numeric"),
        ({"password1": "", "password2": ""}, b"This field is required"),
        ({"full_name": "nul\x00byte"}, b"Null characters are not allowed"),
    ],
)
def test_add_user_refuses_bad_input_and_creates_nothing(admin_client, fields, message):
    UserFactory.create(email="taken@example.com")
    before = User.objects.count()

    response = add_user(admin_client, **fields)

    assert response.status_code == HTTPStatus.OK  # the form again, with the error
    assert message in response.content
    assert User.objects.count() == before


def test_change_user_edits_the_profile_and_keeps_the_password(admin_client, user):
    password_hash = user.password

    response = admin_client.post(
        f"/admin/users/user/{user.pk}/change/",
        {
            "email": user.email,
            "full_name": "Renamed",
            "is_active": "on",
            "password": "sneaky-plain-text",  # the hash field is read-only
        },
    )

    assert response.status_code == HTTPStatus.FOUND
    user.refresh_from_db()
    assert user.full_name == "Renamed"
    assert user.password == password_hash


def test_dates_are_read_only_in_the_change_forms(admin_client, user):
    item = ItemFactory.create(owner=user)
    user_dates = (user.created_at, user.updated_at)
    forged = {"created_at": "2000-01-01 00:00:00", "updated_at": "2000-01-01 00:00:00"}

    admin_client.post(
        f"/admin/users/user/{user.pk}/change/",
        {"email": user.email, "full_name": "", "is_active": "on", **forged},
    )
    admin_client.post(
        f"/admin/items/item/{item.pk}/change/",
        {"title": "t", "description": "", "owner": user.pk, **forged},
    )

    user.refresh_from_db()
    item.refresh_from_db()
    assert user.created_at == user_dates[0]
    assert user.updated_at > user_dates[1]
    assert item.created_at.year > 2000
    assert item.title == "t"


def test_change_user_refuses_a_case_variant_of_another_email(admin_client, user):
    UserFactory.create(email="other@example.com")

    response = admin_client.post(
        f"/admin/users/user/{user.pk}/change/",
        {"email": "OTHER@example.com", "full_name": "", "is_active": "on"},
    )

    assert response.status_code == HTTPStatus.OK
    assert b"already exists" in response.content
    user.refresh_from_db()
    assert user.email != "OTHER@example.com"


def test_change_form_shows_the_hash_summary_never_the_hash(admin_client, user):
    response = admin_client.get(f"/admin/users/user/{user.pk}/change/")

    assert user.password.encode() not in response.content
    assert b"Reset password" in response.content


def test_admin_cannot_deactivate_or_demote_themself_in_the_change_form(
    admin_client, superuser
):
    response = admin_client.post(
        f"/admin/users/user/{superuser.pk}/change/",
        {"email": superuser.email, "full_name": "Me"},  # both boxes unticked
    )

    assert response.status_code == HTTPStatus.FOUND
    superuser.refresh_from_db()
    assert superuser.full_name == "Me"
    assert superuser.is_active
    assert superuser.is_superuser


def test_change_form_demotes_and_deactivates_another_superuser(admin_client):
    other = SuperuserFactory.create()
    refresh = token_pair_issue(user=other)["refresh_token"]

    response = admin_client.post(
        f"/admin/users/user/{other.pk}/change/",
        {"email": other.email, "full_name": "Demoted"},  # both boxes unticked
    )

    assert response.status_code == HTTPStatus.FOUND
    other.refresh_from_db()
    assert other.full_name == "Demoted"
    assert not other.is_superuser
    assert not other.is_active
    with pytest.raises(Exception, match="(?i)invalid|expired|revoked"):
        token_refresh(refresh_token=refresh)


def test_setting_a_password_in_the_admin_hashes_it_and_revokes_sessions(
    admin_client, user
):
    refresh = token_pair_issue(user=user)["refresh_token"]

    response = admin_client.post(
        f"/admin/users/user/{user.pk}/password/",
        {
            "usable_password": "true",
            "password1": STRONG_PASSWORD,
            "password2": STRONG_PASSWORD,
        },
    )

    assert response.status_code == HTTPStatus.FOUND
    user.refresh_from_db()
    assert user.check_password(STRONG_PASSWORD)
    with pytest.raises(Exception, match="(?i)invalid|expired|revoked"):
        token_refresh(refresh_token=refresh)


# --- Users: actions -----------------------------------------------------------------


def run_action(client, action: str, users: list[User]):
    """Run an action of the user changelist on some users."""
    return client.post(
        "/admin/users/user/",
        {"action": action, "_selected_action": [user.pk for user in users]},
    )


def test_deactivate_action_deactivates_and_revokes_refresh_tokens(admin_client):
    users = UserFactory.create_batch(2)
    refresh = token_pair_issue(user=users[0])["refresh_token"]

    response = run_action(admin_client, "deactivate_users", users)

    assert response.status_code == HTTPStatus.FOUND
    assert not User.objects.filter(pk__in=[u.pk for u in users], is_active=True)
    assert (
        OutstandingToken.objects.filter(
            user=users[0], blacklistedtoken__isnull=True
        ).count()
        == 0
    )
    users[0].refresh_from_db()
    assert users[0].updated_at > users[0].created_at
    with pytest.raises(Exception, match="(?i)invalid|expired|revoked"):
        token_refresh(refresh_token=refresh)


def test_deactivate_action_skips_the_admin_themself(admin_client, superuser):
    other = UserFactory.create()

    response = run_action(admin_client, "deactivate_users", [superuser, other])

    superuser.refresh_from_db()
    other.refresh_from_db()
    assert superuser.is_active
    assert not other.is_active
    texts = [str(m) for m in get_messages(response.wsgi_request)]
    assert "You cannot deactivate your own account." in texts
    assert "Deactivated 1 user(s)." in texts


def test_activate_action_lets_users_back_in(admin_client):
    users = UserFactory.create_batch(3, is_active=False)

    run_action(admin_client, "activate_users", users[:2])

    active = set(User.objects.filter(is_active=True).values_list("pk", flat=True))
    assert {users[0].pk, users[1].pk} <= active
    assert users[2].pk not in active


def test_bulk_delete_including_oneself_is_refused(admin_client, superuser):
    other = UserFactory.create()

    response = admin_client.post(
        "/admin/users/user/",
        {
            "action": "delete_selected",
            "_selected_action": [superuser.pk, other.pk],
            "post": "yes",
        },
    )

    assert response.status_code == HTTPStatus.FORBIDDEN
    assert User.objects.filter(pk__in=[superuser.pk, other.pk]).count() == 2


def test_admin_cannot_delete_themself_from_the_delete_page(admin_client, superuser):
    response = admin_client.post(
        f"/admin/users/user/{superuser.pk}/delete/", {"post": "yes"}
    )

    assert response.status_code == HTTPStatus.FORBIDDEN
    assert User.objects.filter(pk=superuser.pk).exists()


def test_deleting_another_user_deletes_their_items(admin_client, user):
    ItemFactory.create_batch(2, owner=user)

    response = admin_client.post(
        f"/admin/users/user/{user.pk}/delete/", {"post": "yes"}
    )

    assert response.status_code == HTTPStatus.FOUND
    assert not User.objects.filter(pk=user.pk).exists()
    assert Item.objects.count() == 0


# --- Items: add, change, autocomplete -----------------------------------------------


def test_add_item_with_an_owner_and_no_description_stores_null(admin_client, user):
    response = admin_client.post(
        "/admin/items/item/add/",
        {"title": "From the admin", "description": "", "owner": user.pk},
    )

    assert response.status_code == HTTPStatus.FOUND
    item = Item.objects.get(title="From the admin")
    assert item.owner == user
    assert item.description is None


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"title": ""}, b"This field is required"),
        ({"title": "   "}, b"This field is required"),
        ({"title": "x" * 256}, b"at most 255"),
        ({"title": "nul\x00"}, b"Null characters are not allowed"),
        ({"owner": "999999999"}, b"Select a valid choice"),
        ({"owner": "not-a-number"}, b"Select a valid choice"),
        ({"owner": "9" * 30}, b"Select a valid choice"),
        ({"owner": "-1"}, b"Select a valid choice"),
        ({"owner": ""}, b"This field is required"),
    ],
)
def test_add_item_refuses_bad_input_and_creates_nothing(
    admin_client, user, fields, message
):
    data = {"title": "Fine", "description": "", "owner": user.pk, **fields}

    response = admin_client.post("/admin/items/item/add/", data)

    assert response.status_code == HTTPStatus.OK
    assert message in response.content
    assert Item.objects.count() == 0


def test_change_item_moves_it_to_another_owner(admin_client):
    item = ItemFactory.create()
    new_owner = UserFactory.create()

    response = admin_client.post(
        f"/admin/items/item/{item.pk}/change/",
        {"title": "Moved", "description": "text", "owner": new_owner.pk},
    )

    assert response.status_code == HTTPStatus.FOUND
    item.refresh_from_db()
    assert (item.title, item.owner) == ("Moved", new_owner)


def test_item_form_picks_the_owner_with_an_autocomplete(admin_client):
    response = admin_client.get("/admin/items/item/add/")

    assert b"admin-autocomplete" in response.content
    assert b'data-field-name="owner"' in response.content


def test_owner_autocomplete_finds_users_by_email_ignoring_case(admin_client):
    wanted = UserFactory.create(email="findme@example.com")
    UserFactory.create(email="other@example.com")

    response = admin_client.get(
        "/admin/autocomplete/",
        {
            "app_label": "items",
            "model_name": "item",
            "field_name": "owner",
            "term": "FINDME",
        },
    )

    assert response.status_code == HTTPStatus.OK
    assert response.json()["results"] == [
        {"id": str(wanted.pk), "text": "findme@example.com"}
    ]


def test_owner_autocomplete_refuses_a_field_that_is_not_one(admin_client):
    response = admin_client.get(
        "/admin/autocomplete/",
        {"app_label": "items", "model_name": "item", "field_name": "title", "term": ""},
    )

    assert response.status_code == HTTPStatus.FORBIDDEN


def test_groups_are_not_offered_as_only_superusers_use_the_admin(admin_client):
    index = admin_client.get("/admin/")
    groups = admin_client.get("/admin/auth/group/")

    assert b"/admin/auth/group/" not in index.content
    assert groups.status_code == HTTPStatus.NOT_FOUND


@pytest.mark.live
def test_admin_with_the_database_down_answers_503_json_without_details(
    live_server_factory,
):
    import urllib.error
    import urllib.request

    server = live_server_factory(
        extra_env={"DATABASE_URL": "postgres://postgres@127.0.0.1:1/nowhere"}
    )
    request = urllib.request.Request(
        f"{server.url}/admin/", headers={"Cookie": "sessionid=" + "a1" * 16}
    )

    with pytest.raises(urllib.error.HTTPError) as error:
        urllib.request.urlopen(request)

    body = error.value.read().decode()
    # Outside /api/ and /health Django's handler answers, as the API does.
    assert error.value.code == HTTPStatus.SERVICE_UNAVAILABLE
    assert error.value.headers["Retry-After"] == "5"
    assert error.value.headers["Content-Type"].startswith("application/json")
    assert '"detail"' in body
    for leak in ("Traceback", "OperationalError", "127.0.0.1:1", "postgres"):
        assert leak not in body
    assert urllib.request.urlopen(f"{server.url}/health").status == HTTPStatus.OK


# --- Name, home link, revoked tokens ------------------------------------------------


def test_admin_is_named_after_the_service_and_view_site_leads_to_the_docs(
    admin_client,
):
    page = admin_client.get("/admin/").content.decode()

    assert "Django administration" not in page
    assert "DRF production API administration" in page
    assert 'href="/api/v1/docs"' in page


def test_revoked_tokens_are_read_only_in_the_admin(admin_client, user):
    pair = token_pair_issue(user=user)
    token_refresh(refresh_token=pair["refresh_token"])  # revokes the old one
    url = "/admin/token_blacklist/blacklistedtoken/"

    listing = admin_client.get(url)
    add = admin_client.get(f"{url}add/")
    add_post = admin_client.post(f"{url}add/", {"token": 1})

    assert listing.status_code == HTTPStatus.OK
    assert add.status_code == HTTPStatus.FORBIDDEN
    assert add_post.status_code == HTTPStatus.FORBIDDEN
    assert f'href="{url}add/"' not in listing.content.decode()
