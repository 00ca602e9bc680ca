# syntax=docker/dockerfile:1
# The API image: gunicorn serving config.wsgi as a non-root user. The same image runs
# the Celery worker and beat (docker-compose.yaml overrides the command).
ARG PYTHON_IMAGE=python:3.13-slim-bookworm

# --- build: the virtual environment from uv.lock, then the collected static files ---
FROM ${PYTHON_IMAGE} AS build
COPY --from=ghcr.io/astral-sh/uv:0.13.9 /uv /bin/uv
ENV UV_COMPILE_BYTECODE=1 \
    UV_LINK_MODE=copy \
    UV_PYTHON_DOWNLOADS=never \
    UV_PROJECT_ENVIRONMENT=/app/.venv
WORKDIR /app
# Dependencies first, in their own layer: rebuilt only when the lock file changes.
RUN --mount=type=cache,target=/root/.cache/uv \
    --mount=type=bind,source=uv.lock,target=uv.lock \
    --mount=type=bind,source=pyproject.toml,target=pyproject.toml \
    uv sync --frozen --no-dev --no-install-project
COPY . .
# Settings require both keys; these build-only values sign nothing and are not kept.
RUN DJANGO_SECRET_KEY=build-only-collectstatic \
    JWT_SIGNING_KEY=build-only-collectstatic-jwt \
    DJANGO_STATIC_ROOT=/app/staticfiles \
    /app/.venv/bin/python manage.py collectstatic --no-input -v 0

# --- runtime: the interpreter, the environment and the code; nothing to build with ---
FROM ${PYTHON_IMAGE} AS runtime
RUN groupadd --system --gid 10001 app \
    && useradd --system --uid 10001 --gid app --no-create-home \
        --home-dir /nonexistent --shell /usr/sbin/nologin app
WORKDIR /app
# Owned by root, so the service user cannot change its own code.
COPY --from=build /app /app
ENV PATH="/app/.venv/bin:${PATH}" \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    DJANGO_STATIC_ROOT=/app/staticfiles \
    WHITENOISE_USE_FINDERS=false
USER 10001:10001
EXPOSE 8000
HEALTHCHECK --interval=15s --timeout=5s --start-period=20s --retries=3 \
    CMD ["python", "/app/deploy/healthcheck.py"]
# Exec form: gunicorn is PID 1 and gets docker's SIGTERM, so requests finish first.
CMD ["gunicorn", "-c", "config/gunicorn.py", "config.wsgi"]
