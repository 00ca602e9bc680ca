"""Settings for the test suite: the real settings with fast hashing and test secrets."""

import os

os.environ.setdefault(
    "DJANGO_SECRET_KEY", "test-only-secret-key-0123456789abcdefghijklmnopqrstuvwxyz"
)
os.environ.setdefault(
    "JWT_SIGNING_KEY", "test-only-jwt-key-0123456789abcdefghijklmnopqrstuvwxyzABCD"
)

# Set in the real environment (not in .env, read by the import below): a server or a
# worker process that a test starts may use a real Redis, broker and mail folder.
_FROM_TEST = {
    name: name in os.environ
    for name in ("REDIS_URL", "EMAIL_URL", "CELERY_TASK_ALWAYS_EAGER", "METRICS_TOKEN")
}

from config.settings import *  # noqa: E402, F403

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
if not _FROM_TEST["EMAIL_URL"]:
    EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
if not _FROM_TEST["METRICS_TOKEN"]:
    METRICS_TOKEN = ""  # a developer's .env may set one; tests that need it set it
if not _FROM_TEST["CELERY_TASK_ALWAYS_EAGER"]:
    CELERY_TASK_ALWAYS_EAGER = True
CELERY_TASK_EAGER_PROPAGATES = True  # a failing job fails its test
if not _FROM_TEST["REDIS_URL"]:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
# Off unless a test turns them on (tests/test_rate_limits.py), so that other tests may
# log in more than five times a minute.
RATE_LIMITS_ENABLED = env.bool("RATE_LIMITS_ENABLED", default=False)  # noqa: F405

# A file, not memory, so that a gunicorn process started by a test sees the same data.
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":  # noqa: F405
    DATABASES["default"]["TEST"] = {"NAME": str(BASE_DIR / "test_db.sqlite3")}  # noqa: F405

# Pages rendered by the test client find static files in the apps (no manifest exists);
# a live server, started with DJANGO_STATIC_ROOT, serves the collected, hashed files.
if "DJANGO_STATIC_ROOT" not in os.environ:
    STATIC_ROOT = None  # nothing is collected: whitenoise would warn on every request
    STORAGES = {
        **STORAGES,  # noqa: F405
        "staticfiles": {
            "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
        },
    }

# A test's whole transaction shares one connection, and a loaded CI machine can make
# a request slow: the stall watchdog would break the test. tests/test_faults.py sets
# the production default (4 s) for the servers it starts.
DATABASE_STALL_TIMEOUT = env.float("DATABASE_STALL_TIMEOUT", default=30.0)  # noqa: F405
