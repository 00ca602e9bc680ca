"""factory-boy factories for the models."""

import factory

from items.models import Item
from users.models import User

DEFAULT_PASSWORD = "correct horse battery"


class UserFactory(factory.django.DjangoModelFactory[User]):
    """An active, ordinary user whose password is DEFAULT_PASSWORD."""

    class Meta:
        model = User
        skip_postgeneration_save = True

    email = factory.Sequence(lambda n: f"user{n}@example.com")
    full_name = factory.Faker("name")
    is_active = True
    is_superuser = False
    password = factory.django.Password(DEFAULT_PASSWORD)


class SuperuserFactory(UserFactory):
    """A superuser."""

    email = factory.Sequence(lambda n: f"admin{n}@example.com")
    is_superuser = True


class ItemFactory(factory.django.DjangoModelFactory[Item]):
    """An item with its own owner unless one is given."""

    class Meta:
        model = Item

    title = factory.Faker("sentence", nb_words=4)
    description = factory.Faker("paragraph")
    owner = factory.SubFactory(UserFactory)
