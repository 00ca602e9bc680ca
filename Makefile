# The two commands of the README: `make run` and `make test`. Each does all its set-up.
SHELL := /bin/bash
.DEFAULT_GOAL := help

# uv manages the environment; installed with pip when it is missing.
UV = $(shell uv --version >/dev/null 2>&1 && echo uv || echo "python3 -m uv")
MANAGE = $(UV) run --frozen python manage.py
# What runs the service: `uv run` alone would sync the dev group back in (466 MB
# instead of 95 MB) although `make install` installed the runtime only.
RUN = $(UV) run --frozen --no-dev
RUN_MANAGE = $(RUN) python manage.py
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: help uv install install-dev run serve worker beat test test-fast lint format check-migrations browser clean schemathesis openapi lint-docker bench clients compare loc k8s-check nginx contract

help: ## List the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-18s %s\n", $$1, $$2}'

uv: ## Install uv if it is missing
	@uv --version >/dev/null 2>&1 || python3 -m uv --version >/dev/null 2>&1 || \
		python3 -m pip install --quiet --user uv || \
		python3 -m pip install --quiet --user --break-system-packages uv

install: uv ## Create .venv from uv.lock (runtime packages only)
	@$(UV) sync --frozen --inexact --no-dev

install-dev: uv ## Create .venv from uv.lock, with the test and lint tools
	@$(UV) sync --frozen

.env:
	@umask 077; { \
		echo "# Made by make for development; see .env.example for every setting."; \
		echo "DJANGO_DEBUG=true"; \
		echo "DJANGO_SECRET_KEY=$$(python3 -c 'import secrets; print(secrets.token_urlsafe(50))')"; \
		echo "JWT_SIGNING_KEY=$$(python3 -c 'import secrets; print(secrets.token_urlsafe(50))')"; \
		echo "METRICS_TOKEN=$$(python3 -c 'import secrets; print(secrets.token_urlsafe(32))')"; \
		echo "FIRST_SUPERUSER_EMAIL=admin@example.com"; \
		echo "FIRST_SUPERUSER_PASSWORD=$$(python3 -c 'import secrets; print(secrets.token_urlsafe(12))')"; \
	} > .env
	@echo "Wrote .env with fresh random keys and a development superuser."

run: install .env ## Serve the API on http://127.0.0.1:8000 (SQLite unless DATABASE_URL is set)
	@$(RUN_MANAGE) migrate --no-input
	@$(RUN_MANAGE) ensure_superuser --print --base-url http://$(HOST):$(PORT)
	@$(RUN_MANAGE) runserver $(HOST):$(PORT)

serve: install .env ## Serve with gunicorn, as in production
	@$(RUN_MANAGE) migrate --no-input
	@$(RUN_MANAGE) collectstatic --no-input -v 0
	@$(RUN) gunicorn -c config/gunicorn.py config.wsgi

worker: install .env ## Run a Celery worker (needs REDIS_URL; without it jobs run in the web process)
	@$(RUN) celery -A config worker --loglevel INFO

beat: install .env ## Run Celery beat, the scheduler of periodic jobs (needs REDIS_URL)
	@$(RUN) celery -A config beat --loglevel INFO

browser: ## Install Debian's Chromium for the browser tests, where possible
	@chromium --version >/dev/null 2>&1 || { \
		if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
			(apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null) \
			|| echo "Chromium could not be installed: the browser tests will be skipped."; \
		else echo "Chromium is missing (install Debian's chromium package): the browser tests will be skipped."; fi; }

test: install-dev browser nginx ## Run the test suite (SQLite unless DATABASE_URL is set)
	@$(UV) run --frozen pytest $(PYTEST_ARGS)

test-fast: install-dev ## Run the tests without the browser and live-server ones
	@$(UV) run --frozen pytest -m "not browser and not live" $(PYTEST_ARGS)

lint: install-dev ## ruff (lint and format), import layers, the migrations check, the OpenAPI schema, Docker lint
	@$(UV) run --frozen ruff check .
	@$(UV) run --frozen ruff format --check .
	@$(UV) run --frozen lint-imports
	@$(MAKE) --no-print-directory check-migrations
	@$(MAKE) --no-print-directory openapi
	@$(MAKE) --no-print-directory lint-docker

check-migrations: ## Fail when models and migrations disagree
	@DJANGO_SETTINGS_MODULE=config.test_settings $(MANAGE) makemigrations --check --dry-run

openapi: ## Build the OpenAPI schema, validated, failing on any warning
	@DJANGO_SETTINGS_MODULE=config.test_settings $(MANAGE) spectacular --validate --fail-on-warn --file /dev/null

# OPENAPI: Schemathesis against live gunicorn (scripts/schemathesis.py says how)
schemathesis: install-dev ## Fuzz the API with Schemathesis on live gunicorn (needs DATABASE_URL=postgres://...)
	@$(UV) run --frozen python scripts/schemathesis.py

format: install-dev ## Format and fix what ruff can
	@$(UV) run --frozen ruff format .
	@$(UV) run --frozen ruff check --fix .

clean: ## Remove the environment, caches and the SQLite database
	rm -rf .venv .pytest_cache .ruff_cache .mypy_cache staticfiles db.sqlite3*

clients: install-dev ## Generated clients: a Python one runs a session on gunicorn, a TypeScript one type-checks (PostgreSQL, npm)
	@UV="$(UV)" $(UV) run --frozen python scripts/clients.py

TARGET ?= ours
contract: install-dev ## The black-box contract suite against a fresh server: TARGET=ours (default) or twin (PostgreSQL)
	@TARGET="$(TARGET)" $(UV) run --frozen python scripts/contract.py $(PYTEST_ARGS)

# --- Deployment (docs/deployment.md) ---
lint-docker: install-dev ## hadolint on the Dockerfile; docker-compose.yaml against the Compose schema
	@$(UV) run --frozen hadolint Dockerfile
	@$(UV) run --frozen check-jsonschema --schemafile deploy/compose-spec.json docker-compose.yaml

# Kubernetes (docs/scaling.md): kubectl with kustomize v5 renders, kubernetes-validate checks.
k8s-check: install-dev ## Render deploy/k8s's overlays, validate them against the Kubernetes schemas, check them against the service
	@kubectl version --client 2>/dev/null | grep -Eq 'Kustomize Version: v[5-9]' || { \
		echo "kubectl with kustomize v5 (kubectl 1.27 or later) is missing: see docs/scaling.md"; exit 1; }
	@$(UV) run --frozen pytest -q tests/test_k8s.py $(PYTEST_ARGS)

nginx: ## Install Debian's nginx for the scale-out test, where possible
	@command -v nginx >/dev/null 2>&1 || [ -x /usr/sbin/nginx ] || { \
		if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
			(apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nginx >/dev/null) \
			|| echo "nginx could not be installed: the scale-out test will be skipped."; \
		else echo "nginx is missing (install Debian's nginx package): the scale-out test will be skipped."; fi; }

BENCH_ARGS ?=
bench: install-dev ## wrk on GET /api/v1/items/ under gunicorn settings (PostgreSQL; docs/benchmarks.md)
	@command -v wrk >/dev/null || { echo "wrk is missing: apt-get install wrk"; exit 1; }
	@$(UV) run --frozen python scripts/bench.py $(BENCH_ARGS)

# --- Side by side with FastAPI (docs/comparison.md) ---
compare: install-dev ## Benchmark ours, the FastAPI twin and the floor; rewrite docs/comparison.md (QUICK=1: a 1-minute smoke run)
	@command -v wrk >/dev/null || { echo "wrk is missing: apt-get install -y wrk"; exit 1; }
	@QUICK="$(QUICK)" ROUNDS="$(ROUNDS)" DURATION="$(DURATION)" CONNECTIONS="$(CONNECTIONS)" \
		WORKERS="$(WORKERS)" SERVERS="$(SERVERS)" $(UV) run --frozen python scripts/compare.py $(COMPARE_ARGS)

loc: ## Count lines of code per concern, ours and the twin's; dependency counts (docs/comparison.md)
	@$(UV) run --frozen python scripts/loc.py

.PHONY: twin
twin: uv ## Serve the FastAPI twin on TWIN_PORT (8001): own .venv, Alembic, first superuser, gunicorn+uvicorn
	@comparison/fastapi/serve

.PHONY: twin-test
twin-test: uv ## The twin's own ruff and pytest (PostgreSQL TEST_DATABASE_URL, dropped and created; Redis)
	@cd comparison/fastapi && $(UV) sync --frozen --quiet && $(UV) run --frozen ruff check . \
		&& $(UV) run --frozen ruff format --check . && $(UV) run --frozen pytest -q $(PYTEST_ARGS)
