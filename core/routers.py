"""The router every app registers its viewsets on."""

from rest_framework.routers import SimpleRouter


class OptionalSlashRouter(SimpleRouter):
    """Answer a path with or without its trailing slash, without a redirect."""

    def __init__(self) -> None:
        super().__init__()
        # SimpleRouter.__init__ overwrites a class attribute with "/" or "".
        self.trailing_slash = "/?"
