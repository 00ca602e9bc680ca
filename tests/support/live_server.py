"""A gunicorn process on the test database, as in production (DEBUG off)."""

import os
import subprocess
import sys
from pathlib import Path

from django.db import connection

from tests.support import BASE_DIR
from tests.support.servers import free_port, stop, wait_until_up


def database_url() -> str:
    """Return the URL of the test database this process uses, for a server process."""
    params = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{params['NAME']}"
    password = f":{params['PASSWORD']}" if params.get("PASSWORD") else ""
    host = params.get("HOST") or "127.0.0.1"
    port = params.get("PORT") or 5432
    return f"postgres://{params['USER']}{password}@{host}:{port}/{params['NAME']}"


class LiveServer:
    """A gunicorn process serving the test database, as in production (DEBUG off)."""

    def __init__(
        self,
        *,
        extra_env: dict[str, str] | None = None,
        workers: int = 2,
        args: list[str] | None = None,
    ):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = BASE_DIR / ".pytest_cache" / f"gunicorn-{self.port}.log"
        self.log.parent.mkdir(exist_ok=True)
        self.env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "config.test_settings",
            "DJANGO_DEBUG": "false",
            "DATABASE_URL": database_url(),
            "DJANGO_STATIC_ROOT": str(_static_root()),
            "WHITENOISE_USE_FINDERS": "false",
            **(extra_env or {}),
        }
        self.workers = workers
        self.args = args or []  # more gunicorn flags, e.g. ["-c", "config/gunicorn.py"]
        self.process: subprocess.Popen[bytes] | None = None

    def start(self, *, timeout: float = 120.0) -> "LiveServer":
        """Start gunicorn and wait until /health answers, for up to timeout seconds.

        A generous default: on a loaded CI machine four workers took over 30 s.
        """
        with self.log.open("wb") as log:
            self.process = subprocess.Popen(
                [
                    sys.executable, "-m", "gunicorn", "config.wsgi",
                    "--bind", f"127.0.0.1:{self.port}",
                    "--workers", str(self.workers),
                    "--graceful-timeout", "5",
                    *self.args,
                ],
                cwd=BASE_DIR, env=self.env, stdout=log, stderr=subprocess.STDOUT,
            )  # fmt: skip
        try:
            wait_until_up(f"{self.url}/health", self.process, timeout=timeout)
        except RuntimeError:
            self.stop()
            raise RuntimeError(
                f"gunicorn did not start: {self.log.read_text()}"
            ) from None
        return self

    def stop(self) -> None:
        """Stop gunicorn (SIGTERM, then SIGKILL after 10 s)."""
        if self.process:
            stop(self.process, timeout=10)


_STATIC_ROOT: Path | None = None


def _static_root() -> Path:
    """Collect the static files once per run, as a deploy does (manifest and gzip)."""
    global _STATIC_ROOT  # noqa: PLW0603 - collected once per test run
    if _STATIC_ROOT is None:
        root = BASE_DIR / ".pytest_cache" / "staticfiles"
        subprocess.run(
            [sys.executable, "manage.py", "collectstatic", "--no-input", "-v", "0"],
            cwd=BASE_DIR,
            env={
                **os.environ,
                "DJANGO_SETTINGS_MODULE": "config.test_settings",
                "DJANGO_DEBUG": "false",
                "DJANGO_STATIC_ROOT": str(root),
            },
            check=True,
        )
        _STATIC_ROOT = root
    return _STATIC_ROOT
