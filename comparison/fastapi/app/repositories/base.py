"""What every repository shares."""

from sqlalchemy.ext.asyncio import AsyncSession

# The id column is a PostgreSQL integer: a larger id names no row.
MAX_ID = 2**31 - 1


def valid_id(value: int) -> bool:
    """Say whether an id can name a row at all."""
    return 1 <= value <= MAX_ID


class Repository:
    """A repository works on the request's session."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session
