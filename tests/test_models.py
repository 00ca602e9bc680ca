"""The user and item models: invariants held by the database, and the managers."""

import sys

import pytest
from django.contrib.auth.hashers import identify_hasher
from django.db import IntegrityError, connection, transaction
from django.db.models.functions import Lower

from items.models import Item
from tests.factories import DEFAULT_PASSWORD, ItemFactory, SuperuserFactory, UserFactory
from users.models import User

pytestmark = pytest.mark.django_db


# --- Users: case-insensitive unique email, in the database -------------------------


@pytest.mark.parametrize(
    ("first", "second"),
    [
        ("alice@example.com", "ALICE@example.com"),
        ("Bob.Smith@Example.com", "bob.smith@EXAMPLE.COM"),
        ("carol@example.com", "carol@example.com"),
    ],
)
def test_two_case_variants_of_one_email_give_one_row_and_an_integrity_error(
    first, second
):
    User.objects.create(email=first)

    with pytest.raises(IntegrityError), transaction.atomic():
        # create() skips form and model validation: only the database stands guard.
        User.objects.create(email=second)

    assert (
        User.objects.annotate(low=Lower("email")).filter(low=first.lower()).count() == 1
    )


def test_case_variant_is_refused_by_bulk_create_too():
    User.objects.create(email="dave@example.com")

    with pytest.raises(IntegrityError), transaction.atomic():
        User.objects.bulk_create([User(email="DAVE@EXAMPLE.COM")])

    assert User.objects.count() == 1


def test_lower_email_unique_index_exists_in_the_database():
    with connection.cursor() as cursor:
        constraints = connection.introspection.get_constraints(
            cursor, User._meta.db_table
        )

    assert constraints["users_user_email_ci_unique"]["unique"] is True


def test_find_by_email_ignores_case():
    user = UserFactory.create(email="erin@example.com")

    assert User.objects.get_by_email("ERIN@Example.COM") == user
    assert User.objects.get_by_natural_key("Erin@example.com") == user
    assert User.objects.email_taken("eRiN@example.com")
    assert not User.objects.email_taken("erin@example.com", exclude_pk=user.pk)
    with pytest.raises(User.DoesNotExist):
        User.objects.get_by_email("someone-else@example.com")


# --- Users: the manager's create paths ---------------------------------------------


def test_create_user_normalises_the_domain_and_hashes_the_password():
    user = User.objects.create_user("Frank@EXAMPLE.COM", "s3cret-Passw0rd")

    user.refresh_from_db()
    assert user.email == "Frank@example.com"
    assert user.password != "s3cret-Passw0rd"
    assert user.check_password("s3cret-Passw0rd")
    assert user.is_active
    assert not user.is_superuser
    assert not user.is_staff


def test_create_user_without_password_gives_an_unusable_password():
    user = User.objects.create_user("grace@example.com")

    assert not user.has_usable_password()
    assert not user.check_password("")


def test_create_user_refuses_an_empty_email():
    with pytest.raises(ValueError, match="email"):
        User.objects.create_user("", "s3cret-Passw0rd")

    assert User.objects.count() == 0


def test_create_user_cannot_take_a_case_variant_of_an_existing_email():
    User.objects.create_user("heidi@example.com", "s3cret-Passw0rd")

    with pytest.raises(IntegrityError), transaction.atomic():
        User.objects.create_user("HEIDI@example.com", "other-Passw0rd")

    assert User.objects.count() == 1


def test_create_superuser_gives_an_active_admin():
    user = User.objects.create_superuser("ivan@example.com", "s3cret-Passw0rd")

    assert user.is_superuser
    assert user.is_staff  # the admin is for superusers only
    assert user.is_active
    assert user.has_perm("items.delete_item")
    assert user.check_password("s3cret-Passw0rd")


def test_create_superuser_refuses_is_superuser_false():
    with pytest.raises(ValueError, match="is_superuser=True"):
        User.objects.create_superuser("judy@example.com", "pw", is_superuser=False)

    assert User.objects.count() == 0


def test_model_clean_normalises_the_email():
    user = User(email="Mallory@EXAMPLE.ORG")

    user.clean()

    assert user.email == "Mallory@example.org"


def test_ordinary_and_inactive_users_are_not_staff():
    assert not UserFactory.create().is_staff
    assert not UserFactory.create(is_active=False).has_perm("items.view_item")


def test_argon2_is_the_first_password_hasher(settings):
    # The test settings swap in a fast hasher; the served settings are the module's.
    served = sys.modules["config.settings"].PASSWORD_HASHERS
    settings.PASSWORD_HASHERS = served
    user = UserFactory.build()

    user.set_password(DEFAULT_PASSWORD)

    assert served[0] == "django.contrib.auth.hashers.Argon2PasswordHasher"
    assert identify_hasher(user.password).algorithm == "argon2"
    assert user.check_password(DEFAULT_PASSWORD)


# --- Items --------------------------------------------------------------------------


def test_item_with_empty_title_is_refused_by_the_database():
    owner = UserFactory.create()

    with pytest.raises(IntegrityError), transaction.atomic():
        Item.objects.create(title="", owner=owner)

    assert Item.objects.count() == 0


def test_item_title_of_255_characters_fits_and_description_may_be_null():
    item = ItemFactory.create(title="x" * 255, description=None)

    item.refresh_from_db()
    assert len(item.title) == 255
    assert item.description is None


def test_item_title_over_255_characters_is_refused_by_validation():
    item = ItemFactory.build(title="x" * 256, owner=UserFactory.create())

    with pytest.raises(Exception, match="at most 255"):
        item.full_clean()


def test_deleting_a_user_deletes_their_items_only():
    alice, bob = UserFactory.create(), UserFactory.create()
    ItemFactory.create_batch(3, owner=alice)
    kept = ItemFactory.create(owner=bob)

    alice.delete()

    assert list(Item.objects.all()) == [kept]


def test_created_and_updated_at_are_set_by_the_server():
    item = ItemFactory.create()
    created, updated = item.created_at, item.updated_at

    item.title = "changed"
    item.save()

    item.refresh_from_db()
    assert item.created_at == created
    assert item.updated_at > updated


def test_visible_to_gives_a_user_their_own_items_and_a_superuser_all():
    alice, bob = UserFactory.create(), UserFactory.create()
    own = ItemFactory.create(owner=alice)
    other = ItemFactory.create(owner=bob)

    assert list(Item.objects.visible_to(alice)) == [own]
    assert set(Item.objects.visible_to(SuperuserFactory.create())) == {own, other}


def test_newest_first_breaks_ties_by_id():
    owner = UserFactory.create()
    items = ItemFactory.create_batch(3, owner=owner)
    Item.objects.filter(owner=owner).update(created_at=items[0].created_at)

    ordered = list(Item.objects.filter(owner=owner).newest_first())

    assert [item.pk for item in ordered] == sorted(
        (item.pk for item in items), reverse=True
    )


def test_owner_newest_first_index_exists():
    with connection.cursor() as cursor:
        constraints = connection.introspection.get_constraints(
            cursor, Item._meta.db_table
        )

    index = constraints["items_owner_newest_idx"]
    assert index["index"] is True
    assert index["columns"][0] == "owner_id"


@pytest.mark.skipif(
    connection.vendor != "postgresql", reason="reads a PostgreSQL query plan"
)
def test_owners_newest_first_list_reads_the_owner_index_without_sorting():
    owner = UserFactory.create()
    ItemFactory.create_batch(5, owner=owner)
    ItemFactory.create_batch(5)
    query = Item.objects.visible_to(owner).newest_first()[:100]

    with connection.cursor() as cursor:
        # On a tiny table a sequential scan is cheaper; forbid it to see the plan the
        # index gives a big one.
        cursor.execute("SET LOCAL enable_seqscan = off")
        plan = query.explain()

    assert "items_owner_newest_idx" in plan
    assert "Sort" not in plan
