"""Settings for the service, read from the environment only (and an optional .env).

Every variable is listed in .env.example and the README. Set DJANGO_ENV=production to
run with the production guard: the process refuses to start on an unsafe configuration.
"""

import re
from datetime import timedelta
from pathlib import Path

import environ
from corsheaders.defaults import default_headers as corsheaders_default_headers
from django.core.exceptions import ImproperlyConfigured

from config.guard import deployment_mode, production_problems, required
from core.logging import logging_config
from core.sentry import configure_sentry

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
env.read_env(str(BASE_DIR / ".env"))  # real environment variables win over .env

# GENERAL
# ------------------------------------------------------------------------------
DJANGO_ENV = deployment_mode(env)  # development or production
PRODUCTION = DJANGO_ENV == "production"
DEBUG = env.bool("DJANGO_DEBUG", default=False)
SECRET_KEY = required(env, "DJANGO_SECRET_KEY")  # no default: unset stops the process
ALLOWED_HOSTS = env.list("DJANGO_ALLOWED_HOSTS", default=[] if PRODUCTION else ["*"])
TIME_ZONE = "UTC"
USE_TZ = True
LANGUAGE_CODE = "en-us"
USE_I18N = False
ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# DATABASES
# ------------------------------------------------------------------------------
# Default: a SQLite file, so that `make run` works on a bare machine.
DATABASES = {
    "default": env.db("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}")
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    # Django's backend with a health check that needs no round trip (its docstring).
    DATABASES["default"]["ENGINE"] = "core.postgresql"
    DATABASES["default"].setdefault("OPTIONS", {})
    DATABASES["default"]["OPTIONS"].setdefault(
        "connect_timeout", env.int("DATABASE_CONNECT_TIMEOUT", default=3)
    )
    # An established connection whose peer vanishes (a partition): keepalives probe
    # an idle one, tcp_user_timeout ends one with unacknowledged data, both in about
    # 5 s. The server ends a runaway statement. A frozen peer that still acknowledges
    # is core/dbwatchdog.py's job.
    DATABASES["default"]["OPTIONS"].setdefault("keepalives", 1)
    DATABASES["default"]["OPTIONS"].setdefault("keepalives_idle", 5)
    DATABASES["default"]["OPTIONS"].setdefault("keepalives_interval", 1)
    DATABASES["default"]["OPTIONS"].setdefault("keepalives_count", 3)
    DATABASES["default"]["OPTIONS"].setdefault("tcp_user_timeout", 5000)
    _statement_ms = env.int("DATABASE_STATEMENT_TIMEOUT_MS", default=4000)
    DATABASES["default"]["OPTIONS"].setdefault(
        "options", f"-c statement_timeout={_statement_ms}"
    )
    if env.bool("DATABASE_POOL", default=False):
        # psycopg's pool, one per worker process; persistent connections must be off.
        DATABASES["default"]["OPTIONS"]["pool"] = {
            "min_size": env.int("DATABASE_POOL_MIN_SIZE", default=1),
            "max_size": env.int("DATABASE_POOL_MAX_SIZE", default=4),
            "timeout": env.int("DATABASE_POOL_TIMEOUT", default=5),
        }
        DATABASES["default"]["CONN_MAX_AGE"] = 0
    else:
        # One persistent connection per worker, checked before reuse (by
        # core/postgresql, with no round trip) so that the service recovers by
        # itself when the database comes back.
        DATABASES["default"]["CONN_MAX_AGE"] = env.int(
            "DATABASE_CONN_MAX_AGE", default=600
        )
        DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
elif DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATABASES["default"].setdefault("OPTIONS", {})
    DATABASES["default"]["OPTIONS"].setdefault("timeout", 10)
    DATABASES["default"]["OPTIONS"].setdefault(
        "init_command", "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;"
    )
    DATABASES["default"]["OPTIONS"].setdefault("transaction_mode", "IMMEDIATE")

# A request whose database stops answering loses its connection after this many
# seconds and answers 503 (core/dbwatchdog.py); 0 turns the watchdog off.
DATABASE_STALL_TIMEOUT = env.float("DATABASE_STALL_TIMEOUT", default=4.0)

# CACHES
# ------------------------------------------------------------------------------
# Redis is the shared cache (rate-limit counters live here); local memory when unset.
REDIS_URL = env.str("REDIS_URL", default="")
if REDIS_URL:
    CACHES = {
        "default": {
            # Django's RedisCache with one redis-py client per pool (core/cache.py).
            "BACKEND": "core.cache.SharedClientRedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": env.str("CACHE_KEY_PREFIX", default="api"),
            "OPTIONS": {
                "socket_connect_timeout": env.float(
                    "REDIS_CONNECT_TIMEOUT", default=0.5
                ),
                "socket_timeout": env.float("REDIS_TIMEOUT", default=0.5),
            },
        }
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
# After this many cache failures in a row, a process stops calling the cache for this
# many seconds (core/breaker.py).
CACHE_BREAKER_FAILURES = env.int("CACHE_BREAKER_FAILURES", default=3)
CACHE_BREAKER_OPEN_SECONDS = env.float("CACHE_BREAKER_OPEN_SECONDS", default=10.0)

# APPS
# ------------------------------------------------------------------------------
INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "corsheaders",
    "rest_framework",
    "rest_framework_simplejwt",
    "rest_framework_simplejwt.token_blacklist",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "core",
    "users",
    "items",
]

# AUTHENTICATION
# ------------------------------------------------------------------------------
AUTH_USER_MODEL = "users.User"
LOGIN_URL = "admin:login"
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2SHA1PasswordHasher",
    "django.contrib.auth.hashers.ScryptPasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {
        "NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"  # noqa: E501
    },
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": 8},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
PASSWORD_RESET_TIMEOUT = env.int("PASSWORD_RESET_TIMEOUT", default=48 * 3600)

# METRICS
# ------------------------------------------------------------------------------
# GET /metrics, Prometheus format; 404 and no per-request cost when off.
METRICS_ENABLED = env.bool("METRICS_ENABLED", default=True)
# Scrapers send `Authorization: Bearer <METRICS_TOKEN>`; without it /metrics is a
# 401. Required in production while metrics are on; unset elsewhere: open.
METRICS_TOKEN = env.str("METRICS_TOKEN", default="")
# With several worker processes: an empty folder, shared by the workers.
PROMETHEUS_MULTIPROC_DIR = env.str("PROMETHEUS_MULTIPROC_DIR", default="")

# MIDDLEWARE
# ------------------------------------------------------------------------------
MIDDLEWARE = [
    # Outermost, so that every response, whoever answers it, gets an id, a process
    # time, an access line and a count (the metrics, when METRICS_ENABLED).
    "core.middleware.request_id_middleware",
    "core.middleware.timing_middleware",
    # Next, so that no error under /api/ or /health leaves as an HTML page (and the
    # JSON that replaces it still gets the headers above).
    "core.exceptions.JSONErrorMiddleware",
    # Inside the JSON errors, so that a stalled database ends as their 503.
    "core.dbwatchdog.database_watchdog_middleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "corsheaders.middleware.CorsMiddleware",
    # Inside CORS, so that a browser can read the 413.
    "core.middleware.body_size_limit_middleware",
    "core.middleware.GZipMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]
APPEND_SLASH = False

# TEMPLATES AND STATIC FILES
# ------------------------------------------------------------------------------
TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]
STATIC_URL = "static/"
STATIC_ROOT = env.path("DJANGO_STATIC_ROOT", default=BASE_DIR / "staticfiles")
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if not DEBUG
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}
# Without collected files (a test run, `make run`), whitenoise serves from the finders.
WHITENOISE_USE_FINDERS = env.bool("WHITENOISE_USE_FINDERS", default=not PRODUCTION)
WHITENOISE_AUTOREFRESH = DEBUG

# SECURITY
# ------------------------------------------------------------------------------
# Production defaults pass `manage.py check --deploy`; each one can be turned off from
# the environment, e.g. for a plain-HTTP stack on a laptop (docker-compose.yaml).
# Behind a TLS-terminating proxy, DJANGO_BEHIND_TLS_PROXY makes Django trust the
# proxy's X-Forwarded-Proto; without it the HTTPS redirect would loop.
SECURE_PROXY_SSL_HEADER = (
    ("HTTP_X_FORWARDED_PROTO", "https")
    if env.bool("DJANGO_BEHIND_TLS_PROXY", default=False)
    else None
)
SECURE_SSL_REDIRECT = env.bool("DJANGO_SECURE_SSL_REDIRECT", default=PRODUCTION)
# Probes and scrapers call over plain HTTP from inside the network.
SECURE_REDIRECT_EXEMPT = [r"^health(/ready)?/?$", r"^metrics/?$"]
# One hour by default: long enough for the check, short enough to undo a mistake.
SECURE_HSTS_SECONDS = env.int(
    "DJANGO_SECURE_HSTS_SECONDS", default=3600 if PRODUCTION else 0
)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool(
    "DJANGO_SECURE_HSTS_INCLUDE_SUBDOMAINS", default=PRODUCTION
)
SECURE_HSTS_PRELOAD = env.bool("DJANGO_SECURE_HSTS_PRELOAD", default=PRODUCTION)
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = env.str("DJANGO_SECURE_REFERRER_POLICY", default="same-origin")
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
SESSION_COOKIE_SECURE = env.bool("DJANGO_SESSION_COOKIE_SECURE", default=PRODUCTION)
CSRF_COOKIE_SECURE = env.bool("DJANGO_CSRF_COOKIE_SECURE", default=PRODUCTION)
SESSION_COOKIE_HTTPONLY = True
CSRF_TRUSTED_ORIGINS = env.list("DJANGO_CSRF_TRUSTED_ORIGINS", default=[])
X_FRAME_OPTIONS = env.str("DJANGO_X_FRAME_OPTIONS", default="DENY")
# "/backstage", "backstage/" and "backstage" all mean the same path.
ADMIN_URL = (env.str("DJANGO_ADMIN_URL", default="admin/").strip("/") or "admin") + "/"
# Request bodies over this size are refused with 413 (core.middleware).
MAX_REQUEST_BODY_BYTES = env.int("MAX_REQUEST_BODY_BYTES", default=1024 * 1024)
DATA_UPLOAD_MAX_MEMORY_SIZE = MAX_REQUEST_BODY_BYTES

# CORS
# ------------------------------------------------------------------------------
CORS_ALLOWED_ORIGINS = env.list("CORS_ALLOWED_ORIGINS", default=[])
CORS_ALLOW_HEADERS = (*corsheaders_default_headers, "x-request-id")
CORS_EXPOSE_HEADERS = [
    "X-Request-ID",
    "X-Process-Time",
    "X-Total-Count",
    "Link",
    "Retry-After",
]

# REST FRAMEWORK
# ------------------------------------------------------------------------------
RATE_LIMITS_ENABLED = env.bool("RATE_LIMITS_ENABLED", default=True)


def env_rate(name: str, default: str) -> str:
    """Read a rate such as 5/min; a malformed one stops the process at start."""
    rate = env.str(name, default=default)
    if not re.fullmatch(r"[0-9]+/(s|sec|m|min|h|hour|d|day)", rate):
        raise ImproperlyConfigured(f"{name} must look like 100/min, not {rate!r}.")
    return rate


REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": ["users.authentication.BearerAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_RENDERER_CLASSES": ["core.json.ORJSONRenderer"],
    # JSON bodies only (the contract); the login view adds the OAuth2 form itself.
    "DEFAULT_PARSER_CLASSES": ["core.json.ORJSONParser"],
    "DEFAULT_PAGINATION_CLASS": "core.pagination.SkipLimitPagination",
    "DEFAULT_SCHEMA_CLASS": "core.schema.AutoSchema",
    "EXCEPTION_HANDLER": "core.exceptions.api_exception_handler",
    # Rate limits (core/throttling.py): counters in the shared cache, off with
    # RATE_LIMITS_ENABLED=false. Views name a scope (login, password_recovery).
    "DEFAULT_THROTTLE_CLASSES": [
        "core.throttling.AnonWindowThrottle",
        "core.throttling.UserWindowThrottle",
        "core.throttling.ScopedWindowThrottle",
    ],
    "DEFAULT_THROTTLE_RATES": {
        "anon": env_rate("RATE_LIMIT_ANON", "100/min"),
        "user": env_rate("RATE_LIMIT_USER", "1000/min"),
        "login": env_rate("RATE_LIMIT_LOGIN", "5/min"),
        "login_username": env_rate(
            "RATE_LIMIT_LOGIN_USERNAME", env_rate("RATE_LIMIT_LOGIN", "5/min")
        ),
        # The admin's login page (users/admin.py): the API login's rates, apart.
        "admin_login": env_rate("RATE_LIMIT_LOGIN", "5/min"),
        "admin_login_username": env_rate(
            "RATE_LIMIT_LOGIN_USERNAME", env_rate("RATE_LIMIT_LOGIN", "5/min")
        ),
        "password_recovery": env_rate("RATE_LIMIT_PASSWORD_RECOVERY", "5/hour"),
        "password_recovery_email": env_rate(
            "RATE_LIMIT_PASSWORD_RECOVERY_EMAIL",
            env_rate("RATE_LIMIT_PASSWORD_RECOVERY", "5/hour"),
        ),
    },
    # Reverse proxies in front of the service that append to X-Forwarded-For; 0 uses
    # REMOTE_ADDR only, so a client-written X-Forwarded-For never picks the address.
    "NUM_PROXIES": env.int("NUM_PROXIES", default=0),
    "TEST_REQUEST_DEFAULT_FORMAT": "json",
}

# JWT
# ------------------------------------------------------------------------------
JWT_SIGNING_KEY = required(env, "JWT_SIGNING_KEY")
SIMPLE_JWT = {
    "ACCESS_TOKEN_LIFETIME": timedelta(
        minutes=env.int("ACCESS_TOKEN_MINUTES", default=30)
    ),
    "REFRESH_TOKEN_LIFETIME": timedelta(days=env.int("REFRESH_TOKEN_DAYS", default=7)),
    # No ROTATE_REFRESH_TOKENS, BLACKLIST_AFTER_ROTATION or UPDATE_LAST_LOGIN: only
    # simplejwt's own views read them, and we use none. Login, rotation (each refresh
    # blacklists the old token, once) and reuse detection are users/services.py's
    # token_pair_issue and token_refresh; an API login leaves last_login as it is.
    # The registered claim for the subject (RFC 7519), as the guide's tokens carry it.
    "USER_ID_CLAIM": "sub",
    "ALGORITHM": env.str("JWT_ALGORITHM", default="HS256"),
    "SIGNING_KEY": JWT_SIGNING_KEY,
    "AUTH_HEADER_TYPES": ("Bearer",),
    "LEEWAY": 0,
}

# OPENAPI
# ------------------------------------------------------------------------------
SPECTACULAR_SETTINGS = {
    "TITLE": "DRF production API",
    "DESCRIPTION": (
        "Users, items and JWT auth: the API of the 'production FastAPI' guide, "
        "served by Django REST Framework."
    ),
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SCHEMA_PATH_PREFIX": "/api/v1",
    "COMPONENT_SPLIT_REQUEST": True,
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "core.schema.contract_paths",
        "core.schema.health_paths",
        "core.schema.readable_schema",
    ],
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "SWAGGER_UI_SETTINGS": {
        "persistAuthorization": True,
        "displayRequestDuration": True,
    },
}

# EMAIL AND BACKGROUND JOBS
# ------------------------------------------------------------------------------
EMAIL_CONFIG = env.email_url("EMAIL_URL", default="consolemail://")
if EMAIL_CONFIG["EMAIL_BACKEND"] == "django.core.mail.backends.console.EmailBackend":
    # Django's prints whole messages, reset links included: this one logs one line.
    EMAIL_CONFIG["EMAIL_BACKEND"] = "core.mail.ConsoleEmailBackend"
vars().update(EMAIL_CONFIG)
# In production the guard refuses a console or file mailer (no mail would reach
# anyone, or working reset links would sit in files) unless this allows it.
EMAIL_ALLOW_CONSOLE = env.bool("EMAIL_ALLOW_CONSOLE", default=False)
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="noreply@example.com")
FRONTEND_URL = env.str("FRONTEND_URL", default="http://127.0.0.1:8000")
CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default=REDIS_URL or "memory://")
CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", default=not REDIS_URL)
CELERY_TASK_DEFAULT_QUEUE = env.str("CELERY_QUEUE", default="celery")
CELERY_TASK_IGNORE_RESULT = True  # no result backend: jobs report through logs
# A job is acknowledged once done, so a worker killed mid-job leaves it to another.
CELERY_TASK_ACKS_LATE = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# An API request that enqueues a job waits at most this long for a dead broker.
CELERY_BROKER_CONNECTION_TIMEOUT = env.float("CELERY_BROKER_TIMEOUT", default=2.0)
CELERY_TASK_PUBLISH_RETRY_POLICY = {"max_retries": 1, "interval_start": 0}
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "socket_connect_timeout": env.float("REDIS_CONNECT_TIMEOUT", default=0.5),
    "socket_timeout": env.float("CELERY_BROKER_TIMEOUT", default=2.0),
}
CELERY_TIMEZONE = "UTC"
CELERY_BEAT_SCHEDULE = {
    "flush-expired-tokens": {
        "task": "users.tasks.flush_expired_tokens",
        "schedule": timedelta(minutes=env.int("TOKEN_CLEANUP_MINUTES", default=60)),
    },
}

# LOGGING
# ------------------------------------------------------------------------------
LOG_LEVEL = env.str("LOG_LEVEL", default="INFO").upper()
LOG_FORMAT = env.str("LOG_FORMAT", default="json" if PRODUCTION else "console")
# structlog: one line per event, JSON or readable, with the request id.
LOGGING = logging_config(level=LOG_LEVEL, fmt=LOG_FORMAT)
# Errors go to Sentry only when a DSN is set; no personal data, token fields scrubbed.
SENTRY_DSN = env.str("SENTRY_DSN", default="")
if SENTRY_DSN:
    configure_sentry(
        dsn=SENTRY_DSN,
        environment=env.str("SENTRY_ENVIRONMENT", default=DJANGO_ENV),
        release=env.str("SENTRY_RELEASE", default=""),
        traces_sample_rate=env.float("SENTRY_TRACES_SAMPLE_RATE", default=0.0),
    )

# FIRST SUPERUSER (manage.py ensure_superuser)
# ------------------------------------------------------------------------------
FIRST_SUPERUSER_EMAIL = env.str("FIRST_SUPERUSER_EMAIL", default="")
FIRST_SUPERUSER_PASSWORD = env.str("FIRST_SUPERUSER_PASSWORD", default="")

# PRODUCTION GUARD
# ------------------------------------------------------------------------------
if PRODUCTION and (
    problems := production_problems(
        debug=DEBUG,
        secret_key=SECRET_KEY,
        jwt_signing_key=JWT_SIGNING_KEY,
        allowed_hosts=ALLOWED_HOSTS,
        email_backend=EMAIL_CONFIG["EMAIL_BACKEND"],
        allow_console_email=EMAIL_ALLOW_CONSOLE,
        metrics_token=METRICS_TOKEN if METRICS_ENABLED else None,
    )
):
    raise SystemExit(f"Refusing to start in production: {' '.join(problems)}")
