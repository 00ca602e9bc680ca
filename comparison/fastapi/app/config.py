"""Settings, read from the environment (and an optional .env) by pydantic-settings."""

from functools import lru_cache
from typing import Annotated, Literal

from pydantic import Field, computed_field, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

# Only for development and tests: production refuses to start with it.
DEV_JWT_SIGNING_KEY = "dev-only-insecure-jwt-signing-key-change-me-in-production"


class Settings(BaseSettings):
    """Every setting of the service; the environment wins over .env."""

    model_config = SettingsConfigDict(env_file=".env", extra="ignore")

    # GENERAL
    environment: Literal["development", "test", "production"] = "development"
    project_name: str = "FastAPI twin"
    api_v1_prefix: str = "/api/v1"
    log_level: str = "INFO"
    log_format: Literal["console", "json"] | None = None  # json in production

    # DATABASE AND CACHE
    database_url: str = "postgres://postgres@127.0.0.1:5432/twin_dev"
    redis_url: str = "redis://127.0.0.1:6379/1"

    # SECURITY
    jwt_signing_key: str = DEV_JWT_SIGNING_KEY
    jwt_algorithm: str = "HS256"
    access_token_minutes: int = Field(default=30, ge=1)
    refresh_token_days: int = Field(default=7, ge=1)
    cors_allowed_origins: Annotated[list[str], NoDecode] = []
    max_request_body_bytes: int = 1024 * 1024

    # RATE LIMITS (slowapi / limits notation)
    rate_limits_enabled: bool = True
    rate_limit_anon: str = "100/minute"
    rate_limit_user: str = "1000/minute"
    rate_limit_login: str = "5/minute"

    # FIRST SUPERUSER (app/initial_data.py)
    first_superuser_email: str | None = None
    first_superuser_password: str | None = None

    @model_validator(mode="before")
    @classmethod
    def _split_origins(cls, data: dict[str, object]) -> dict[str, object]:
        """Take CORS_ALLOWED_ORIGINS as a comma-separated list, as the DRF side does."""
        for key in ("cors_allowed_origins", "CORS_ALLOWED_ORIGINS"):
            value = data.get(key)
            if isinstance(value, str):
                data[key] = [o.strip() for o in value.split(",") if o.strip()]
        return data

    @model_validator(mode="after")
    def _production_guard(self) -> "Settings":
        """Refuse the development signing key, or a short one, in production."""
        if self.environment == "production" and (
            self.jwt_signing_key == DEV_JWT_SIGNING_KEY
            or len(self.jwt_signing_key) < 32
        ):
            raise ValueError(
                "JWT_SIGNING_KEY must be set (32+ characters) in production"
            )
        return self

    @computed_field  # type: ignore[prop-decorator]
    @property
    def sqlalchemy_database_url(self) -> str:
        """DATABASE_URL as SQLAlchemy's asyncpg dialect wants it."""
        scheme, _, rest = self.database_url.partition("://")
        if scheme in ("postgres", "postgresql", "postgresql+psycopg", "pgsql"):
            return f"postgresql+asyncpg://{rest}"
        return self.database_url

    @property
    def json_logs(self) -> bool:
        """Write JSON log lines (the default in production)."""
        if self.log_format is None:
            return self.environment == "production"
        return self.log_format == "json"


@lru_cache
def get_settings() -> Settings:
    """Return the settings, read once per process."""
    return Settings()
