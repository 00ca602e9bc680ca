"""Settings for the test suite: the real settings with fast hashing and test secrets."""

import os

os.environ.setdefault(
    "DJANGO_SECRET_KEY", "test-only-secret-key-0123456789abcdefghijklmnopqrstuvwxyz"
)
os.environ.setdefault(
    "JWT_SIGNING_KEY", "test-only-jwt-key-0123456789abcdefghijklmnopqrstuvwxyzABCD"
)

from config.settings import *  # noqa: E402, F403

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
CELERY_TASK_ALWAYS_EAGER = True
CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

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
