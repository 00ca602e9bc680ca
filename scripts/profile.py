"""Profile the hot requests in-process: CPU time per request, queries, a profile.

Builds the WSGI application (config.wsgi) with production settings (DJANGO_ENV=
production, DEBUG off, PostgreSQL, Redis as the cache, metrics in multiprocess mode,
JSON access lines written to /dev/null) and calls it directly, with a real bearer
token, many times per scenario. What it reports is the Python work a worker does per
request, which outside load on a shared machine disturbs far less than req/s:

- CPU ms per request (time.process_time over --iterations calls, the median and the
  lowest of --repeats), with rate limits off and on (rates raised so that nothing
  answers 429; counters in Redis);
- the SQL queries per request (asserted against QUERIES with --check);
- with --profile, a cProfile summary of one scenario, by package and by function;
- with --layers, where the CPU time of each scenario goes, by layer of the stack
  (handler, middleware, routing, DRF's view, serializers, ORM, psycopg, auth, ...):
  a sampling profile on CPU time (SIGPROF), so that no layer pays for being
  instrumented, each sample charged to the innermost frame of a layer (time in the
  standard library and in C is its caller's);
- with --instructions, instructions per request under callgrind (repeatable under
  load): two runs of different lengths, the difference divided by the extra calls.

Run it as `make profile` or `uv run python scripts/profile.py --help`.
"""

import argparse
import io
import json
import os
import pstats
import re
import secrets
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # imported at run time only once Django is set up
    from users.models import User

BASE_DIR = Path(__file__).resolve().parent.parent
# This file's name shadows the standard library's profile module, which cProfile
# imports lazily: the scripts folder must not come first on the path.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != BASE_DIR / "scripts"]
sys.path.insert(0, str(BASE_DIR))

HOST = "api.example.com"
SCENARIOS = (
    "health",
    "me",
    "items_list",
    "item_detail",
    "item_update",
    "item_create",
    "login",
)
# SQL statements per request, by scenario (--check fails when one is exceeded).
QUERIES = {
    "health": 0,
    "me": 1,
    "items_list": 3,
    "item_detail": 2,
    "item_update": 3,
    "item_create": 2,
    "login": 2,
}
ITEMS = 20


def parse_args() -> argparse.Namespace:
    """Read the command line."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--database-url",
        default=os.environ.get(
            "PROFILE_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/profile"
        ),
    )
    parser.add_argument(
        "--redis-url",
        default=os.environ.get("PROFILE_REDIS_URL", "redis://127.0.0.1:6379/7"),
    )
    parser.add_argument(
        "--scenarios", default=" ".join(SCENARIOS), help="space-separated"
    )
    parser.add_argument("--iterations", type=int, default=300, help="calls per repeat")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument(
        "--login-iterations",
        type=int,
        default=10,
        help="calls per repeat for login (a password hash each)",
    )
    parser.add_argument("--rate-limits", choices=("off", "on", "both"), default="both")
    parser.add_argument("--profile", metavar="SCENARIO", help="cProfile one scenario")
    parser.add_argument("--profile-lines", type=int, default=25)
    parser.add_argument(
        "--layers",
        action="store_true",
        help="sample each scenario's CPU time by layer of the stack",
    )
    parser.add_argument(
        "--instructions",
        action="store_true",
        help="also count instructions per request under valgrind (slow)",
    )
    parser.add_argument(
        "--check", action="store_true", help="fail when a scenario runs more queries"
    )
    parser.add_argument(
        "--middleware-cost",
        metavar="SCENARIO",
        help="CPU per request of one scenario without each middleware in turn",
    )
    parser.add_argument("--inner-calls", type=int, help=argparse.SUPPRESS)
    return parser.parse_args()


def configure_environment(args: argparse.Namespace) -> None:
    """Set the production environment before Django reads its settings."""
    folder = Path(tempfile.gettempdir()) / f"profile-{os.getpid()}"
    (folder / "metrics").mkdir(parents=True, exist_ok=True)
    (folder / "static").mkdir(exist_ok=True)
    high = "100000000/min"  # rate limits counted, never reached
    defaults = {
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "DJANGO_ENV": "production",
        "DJANGO_DEBUG": "false",
        "DJANGO_SECRET_KEY": secrets.token_urlsafe(50),
        "JWT_SIGNING_KEY": secrets.token_urlsafe(50),
        "DJANGO_ALLOWED_HOSTS": HOST,
        "DJANGO_STATIC_ROOT": str(folder / "static"),
        "DATABASE_URL": args.database_url,
        "REDIS_URL": args.redis_url,
        "CACHE_KEY_PREFIX": f"profile{os.getpid()}",
        "ACCESS_TOKEN_MINUTES": "600",
        "METRICS_ENABLED": "true",
        # As with several gunicorn workers: every sample goes through an mmap file.
        "PROMETHEUS_MULTIPROC_DIR": str(folder / "metrics"),
        "RATE_LIMIT_ANON": high,
        "RATE_LIMIT_USER": high,
        "RATE_LIMIT_LOGIN": high,
        "RATE_LIMIT_LOGIN_USERNAME": high,
        "EMAIL_URL": "consolemail://",
        "EMAIL_ALLOW_CONSOLE": "true",  # no email is read; production's guard asks
        "METRICS_TOKEN": secrets.token_urlsafe(32),
    }
    for name, value in defaults.items():
        os.environ.setdefault(name, value)


def create_database(url: str) -> None:
    """Create the profile database when it does not exist yet."""
    import psycopg

    base, name = url.rsplit("/", 1)
    with psycopg.connect(f"{base}/postgres", autocommit=True) as conn:
        exists = conn.execute(
            "SELECT 1 FROM pg_database WHERE datname = %s", [name]
        ).fetchone()
        if not exists:
            conn.execute(f'CREATE DATABASE "{name}"')


class Fixture:
    """The users, items and tokens the scenarios use, made afresh in the database."""

    password = "profile-password-" + secrets.token_hex(8)
    writer: "User | None"  # None in a process that rebuilt the fixture from JSON

    def __init__(self) -> None:
        """Migrate, then create a reader with 20 items and a writer with none."""
        from django.core.management import call_command

        from items.models import Item
        from users.models import User
        from users.services import token_pair_issue

        call_command("migrate", "--no-input", verbosity=0)
        User.objects.filter(email__endswith="@profile.example.com").delete()
        self.reader = User.objects.create_user(
            email="reader@profile.example.com", password=self.password
        )
        self.writer = User.objects.create_user(
            email="writer@profile.example.com", password=self.password
        )
        Item.objects.bulk_create(
            Item(title=f"Item {n}", description="x" * 100, owner=self.reader)
            for n in range(ITEMS)
        )
        self.item_id = Item.objects.filter(owner=self.reader).latest("pk").pk
        self.reader_token = token_pair_issue(user=self.reader)["access_token"]
        self.writer_token = token_pair_issue(user=self.writer)["access_token"]

    def to_json(self) -> str:
        """Describe the fixture for a run under valgrind, which skips making it."""
        return json.dumps(
            {
                "password": self.password,
                "item_id": self.item_id,
                "reader_token": self.reader_token,
                "writer_token": self.writer_token,
            }
        )

    @classmethod
    def from_json(cls, text: str) -> "Fixture":
        """Rebuild a fixture that another process made (no queries, no hashing)."""
        fixture = cls.__new__(cls)
        fixture.__dict__.update(json.loads(text))
        fixture.writer = None
        return fixture

    def clean_up(self) -> None:
        """Remove what the scenarios created (items, refresh tokens)."""
        from items.models import Item

        if self.writer is not None:
            Item.objects.filter(owner=self.writer).delete()


def environ_for(
    method: str,
    path: str,
    *,
    token: str | None = None,
    body: bytes = b"",
    content_type: str = "",
) -> dict[str, Any]:
    """Build the WSGI environ gunicorn would pass behind a TLS-terminating proxy."""
    environ: dict[str, Any] = {
        "REQUEST_METHOD": method,
        "SCRIPT_NAME": "",
        "PATH_INFO": path,
        "QUERY_STRING": "",
        "SERVER_NAME": HOST,
        "SERVER_PORT": "443",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "REMOTE_ADDR": "10.0.0.7",
        "REMOTE_PORT": "51234",
        "HTTP_HOST": HOST,
        "HTTP_ACCEPT": "application/json",
        "HTTP_USER_AGENT": "profile/1.0",
        "HTTP_ACCEPT_ENCODING": "gzip, deflate",
        "HTTP_CONNECTION": "keep-alive",
        "wsgi.version": (1, 0),
        "wsgi.url_scheme": "https",
        "wsgi.errors": sys.stderr,
        "wsgi.multithread": False,
        "wsgi.multiprocess": True,
        "wsgi.run_once": False,
        "wsgi.input": io.BytesIO(body),
    }
    if token:
        environ["HTTP_AUTHORIZATION"] = f"Bearer {token}"
    if body:
        environ["CONTENT_TYPE"] = content_type
        environ["CONTENT_LENGTH"] = str(len(body))
    return environ


def scenario_environs(fixture: Fixture) -> dict[str, Callable[[], dict[str, Any]]]:
    """Return, for each scenario, a function that builds one request's environ."""
    item = f"/api/v1/items/{fixture.item_id}"
    reader, writer = fixture.reader_token, fixture.writer_token
    login = f"username=reader%40profile.example.com&password={fixture.password}"
    new_item = b'{"title": "A new item", "description": "Made by the profile"}'
    return {
        "health": lambda: environ_for("GET", "/health"),
        "me": lambda: environ_for("GET", "/api/v1/users/me", token=reader),
        "items_list": lambda: environ_for("GET", "/api/v1/items/", token=reader),
        "item_detail": lambda: environ_for("GET", item, token=reader),
        "item_update": lambda: environ_for(
            "PATCH",
            item,
            token=reader,
            body=b'{"title": "Renamed"}',
            content_type="application/json",
        ),
        "item_create": lambda: environ_for(
            "POST",
            "/api/v1/items/",
            token=writer,
            body=new_item,
            content_type="application/json",
        ),
        "login": lambda: environ_for(
            "POST",
            "/api/v1/auth/login",
            body=login.encode(),
            content_type="application/x-www-form-urlencoded",
        ),
    }


class Caller:
    """Call the WSGI application as a server would, and check every answer is 2xx."""

    def __init__(self, application: Any) -> None:
        """Keep the application; status holds the last status line."""
        self.application = application
        self.status = ""

    def start_response(self, status: str, headers: list[Any], exc_info=None) -> Any:
        """Record the status line, as gunicorn's start_response does."""
        self.status = status
        return lambda data: None

    def __call__(self, environ: dict[str, Any]) -> bytes:
        """Run one request to the end (close() fires request_finished)."""
        result = self.application(environ, self.start_response)
        try:
            body = b"".join(result)
        finally:
            if hasattr(result, "close"):
                result.close()
        if not self.status.startswith("2"):
            raise SystemExit(f"{environ['PATH_INFO']} answered {self.status}: {body!r}")
        return body


def count_queries(call: Callable[[], bytes]) -> int:
    """Return the number of SQL statements one request runs."""
    from django.db import connection

    statements: list[str] = []

    def record(execute, sql, params, many, context):
        statements.append(sql)
        return execute(sql, params, many, context)

    with connection.execute_wrapper(record):
        call()
    return len(statements)


def calls_per_request(call: Callable[[], bytes], *, requests: int = 20) -> float:
    """Return the Python and C function calls one request makes.

    Unlike CPU time, the count does not move with outside load, so it shows a lever
    worth a few microseconds, which the noise of a shared machine hides.
    """
    call()
    count = 0

    def counter(frame: Any, event: str, arg: Any) -> None:
        nonlocal count
        if event in ("call", "c_call"):
            count += 1

    sys.setprofile(counter)
    try:
        for _ in range(requests):
            call()
    finally:
        sys.setprofile(None)
    return count / requests


def cpu_per_request(
    call: Callable[[], bytes], *, iterations: int, repeats: int
) -> dict[str, float]:
    """Return CPU and wall milliseconds per request: median and lowest of repeats."""
    for _ in range(max(iterations // 10, 3)):  # warm-up: caches, connections, imports
        call()
    cpu, wall = [], []
    for _ in range(repeats):
        start_cpu, start_wall = time.process_time(), time.perf_counter()
        for _ in range(iterations):
            call()
        cpu.append((time.process_time() - start_cpu) * 1000 / iterations)
        wall.append((time.perf_counter() - start_wall) * 1000 / iterations)
    return {
        "cpu": statistics.median(cpu),
        "cpu_min": min(cpu),
        "wall": statistics.median(wall),
    }


def package_of(filename: str) -> str:
    """Name the package a profiled function belongs to (ours by module)."""
    if "site-packages/" in filename:
        return filename.split("site-packages/", 1)[1].split("/", 1)[0]
    path = Path(filename)
    if path.is_relative_to(BASE_DIR):
        return "ours: " + ".".join(path.relative_to(BASE_DIR).with_suffix("").parts)
    if filename.startswith("<") or filename == "~":
        return "builtins"
    return "stdlib"


# Where a sampled frame's file belongs, by its path under site-packages or the project
# ("ours/..."): the first prefix that matches wins. None means "not a layer of its
# own": the sample goes to the nearest caller that is (helpers such as
# django.utils.functional, asgiref's Local, the standard library).
DRF_VIEW = "DRF view: dispatch, negotiation, permissions, paging"
LAYERS: tuple[tuple[str, str | None], ...] = (
    ("argon2/", "password hash (Argon2id)"),
    ("django/contrib/auth/hashers.py", "password hash (Argon2id)"),
    ("django/core/cache/", "Redis: cache, revocation, rate limits"),
    ("redis/", "Redis: cache, revocation, rate limits"),
    ("ours/core/cache.py", "Redis: cache, revocation, rate limits"),
    ("ours/core/throttling.py", "Redis: cache, revocation, rate limits"),
    ("rest_framework/throttling.py", "Redis: cache, revocation, rate limits"),
    ("jwt/", "auth: JWT decode and claims"),
    ("rest_framework_simplejwt/", "auth: JWT decode and claims"),
    ("ours/users/authentication.py", "auth: JWT decode and claims"),
    ("ours/users/tokens.py", "auth: JWT decode and claims"),
    ("psycopg/", "psycopg (driver, the socket)"),
    ("psycopg_binary/", "psycopg (driver, the socket)"),
    ("psycopg_pool/", "psycopg (driver, the socket)"),
    ("django/db/", "ORM: queries, rows to models"),
    ("ours/core/postgresql/", "ORM: queries, rows to models"),
    ("rest_framework/serializers.py", "serializers and validation"),
    ("rest_framework/fields.py", "serializers and validation"),
    ("rest_framework/relations.py", "serializers and validation"),
    ("rest_framework/utils/serializer_helpers.py", "serializers and validation"),
    ("rest_framework/validators.py", "serializers and validation"),
    ("django/core/validators.py", "serializers and validation"),
    ("ours/core/fields.py", "serializers and validation"),
    ("ours/core/validators.py", "serializers and validation"),
    ("ours/items/serializers.py", "serializers and validation"),
    ("ours/users/serializers.py", "serializers and validation"),
    ("ours/core/json.py", "JSON (orjson render and parse)"),
    ("structlog/", "access log and metrics"),
    ("prometheus_client/", "access log and metrics"),
    ("ours/core/logging.py", "access log and metrics"),
    ("ours/core/metrics.py", "access log and metrics"),
    ("rest_framework/", DRF_VIEW),
    ("ours/core/viewsets.py", DRF_VIEW),
    ("ours/core/pagination.py", DRF_VIEW),
    ("ours/core/routers.py", DRF_VIEW),
    ("ours/items/views.py", DRF_VIEW),
    ("ours/users/views.py", DRF_VIEW),
    ("ours/users/permissions.py", DRF_VIEW),
    ("ours/core/health.py", "health check"),
    ("django/middleware/", "middleware"),
    ("django/contrib/", "middleware"),
    ("corsheaders/", "middleware"),
    ("whitenoise/", "middleware"),
    ("ours/core/middleware.py", "middleware"),
    ("ours/core/dbwatchdog.py", "middleware"),
    ("ours/core/exceptions.py", "middleware"),
    ("django/urls/", "URL routing"),
    ("django/http/", "Django request and response objects"),
    ("django/core/handlers/", "Django handler (the middleware chain)"),
    ("django/utils/deprecation.py", "Django handler (the middleware chain)"),
    ("django/dispatch/", "Django handler (the middleware chain)"),
    ("django/utils/", None),
    ("asgiref/", None),
    ("django/", "Django, other"),
    ("ours/scripts/profile.py", "the harness (building each request)"),
)


def layer_of(filename: str, memo: dict[str, str | None] = {}) -> str | None:  # noqa: B006
    """Name the layer a frame's file belongs to, or None for its caller's."""
    if filename in memo:
        return memo[filename]
    if "site-packages/" in filename:
        relative = filename.split("site-packages/", 1)[1]
    elif Path(filename).is_relative_to(BASE_DIR):
        relative = "ours/" + Path(filename).relative_to(BASE_DIR).as_posix()
    else:
        memo[filename] = None  # the standard library, frozen modules
        return None
    layer: str | None = "other: " + relative.split("/", 1)[0]
    for prefix, name in LAYERS:
        if relative.startswith(prefix):
            layer = name
            break
    memo[filename] = layer
    return layer


def sample_layers(
    call: Callable[[], bytes], *, iterations: int, interval: float = 0.0005
) -> tuple[dict[str, float], float]:
    """Sample one scenario's CPU time by layer; return seconds by layer, ms/request."""
    counts: dict[str, float] = defaultdict(float)
    last = [0.0]

    def on_sample(signum: int, frame: Any) -> None:
        # Weighted by the CPU time since the last sample: the kernel's timer ticks
        # (4 ms here, whatever the interval asked), and the ticks of one long C call
        # (an Argon2 hash) reach Python as one signal when it returns.
        now = time.process_time()
        spent, last[0] = now - last[0], now
        while frame is not None:
            layer = layer_of(frame.f_code.co_filename)
            if layer is not None:
                counts[layer] += spent
                return
            frame = frame.f_back
        counts["standard library"] += spent

    for _ in range(max(iterations // 10, 3)):
        call()
    previous = signal.signal(signal.SIGPROF, on_sample)
    start = last[0] = time.process_time()
    signal.setitimer(signal.ITIMER_PROF, interval, interval)
    try:
        for _ in range(iterations):
            call()
    finally:
        signal.setitimer(signal.ITIMER_PROF, 0, 0)
        signal.signal(signal.SIGPROF, previous)
    return counts, (time.process_time() - start) * 1000 / iterations


def print_layers(
    names: list[str],
    calls: Callable[[str], Callable[[], bytes]],
    args: argparse.Namespace,
) -> None:
    """Print one table: the share of each layer in each scenario's CPU time."""
    shares: dict[str, dict[str, float]] = {}
    cpu: dict[str, float] = {}
    samples: dict[str, float] = {}
    for name in names:
        iterations = args.login_iterations if name == "login" else args.iterations
        counts, cpu[name] = sample_layers(calls(name), iterations=iterations)
        samples[name] = total = sum(counts.values())
        shares[name] = {layer: n / total for layer, n in counts.items()}
    layers = sorted(
        {layer for share in shares.values() for layer in share},
        key=lambda layer: -sum(share.get(layer, 0) for share in shares.values()),
    )
    print(
        f"Share of each scenario's CPU time by layer, sampled on the CPU-time timer "
        f"({args.iterations} requests, login {args.login_iterations}); "
        f"load average {os.getloadavg()[0]:.1f}\n"
    )
    print("| layer | " + " | ".join(names) + " |")
    print("|---" * (len(names) + 1) + "|")
    for layer in layers:
        cells = []
        for name in names:
            share = shares[name].get(layer, 0)
            cells.append(f"{share:.0%}" if share >= 0.005 else "")
        print(f"| {layer} | " + " | ".join(cells) + " |")
    print("| CPU ms per request | " + " | ".join(f"{cpu[n]:.2f}" for n in names) + " |")
    print("| CPU s sampled | " + " | ".join(f"{samples[n]:.1f}" for n in names) + " |")


def print_profile(
    name: str, call: Callable[[], bytes], *, iterations: int, lines: int
) -> None:
    """Print a cProfile summary of one scenario: by package, then by function."""
    import cProfile  # only once this folder is off the path (see the top)

    for _ in range(20):
        call()
    # CPU time, as the table measures: waiting for the database is not work.
    profiler = cProfile.Profile(time.process_time)
    profiler.enable()
    for _ in range(iterations):
        call()
    profiler.disable()
    stats = pstats.Stats(profiler)
    by_package: dict[str, float] = defaultdict(float)
    total = 0.0
    # Stats.stats, the table pstats' own methods read, is not in typeshed; the typed
    # get_stats_profile() keys by function name alone, merging same-named ones.
    for (filename, _, _), (_, _, tottime, _, _) in stats.stats.items():  # type: ignore[attr-defined]
        by_package[package_of(filename)] += tottime
        total += tottime
    print(f"\n## cProfile of {name}: own CPU time by package ({iterations} requests)\n")
    print("| package | share of own CPU time |")
    print("|---|---|")
    for package, seconds in sorted(by_package.items(), key=lambda kv: -kv[1]):
        if seconds / total >= 0.005:
            print(f"| {package} | {seconds / total:.1%} |")
    out = io.StringIO()
    pstats.Stats(profiler, stream=out).sort_stats("tottime").print_stats(lines)
    print("\n```\n" + re.sub(r"^.*?(?=\s+ncalls)", "", out.getvalue(), flags=re.S))
    out = io.StringIO()
    pstats.Stats(profiler, stream=out).sort_stats("cumulative").print_stats(lines)
    print(re.sub(r"^.*?(?=\s+ncalls)", "", out.getvalue(), flags=re.S) + "```")


def instructions_per_request(
    args: argparse.Namespace, name: str, fixture: Fixture
) -> float:
    """Count instructions per request under callgrind: long run minus short run."""
    counts = []
    calls = (10, 60)
    env = {**os.environ, "PROFILE_FIXTURE": fixture.to_json()}
    for n in calls:
        command = [
            "valgrind",
            "--tool=callgrind",
            "--callgrind-out-file=/dev/null",
            sys.executable,
            __file__,
            "--scenarios",
            name,
            "--inner-calls",
            str(n),
            "--database-url",
            args.database_url,
            "--redis-url",
            args.redis_url,
        ]
        out = subprocess.run(
            command, capture_output=True, text=True, check=True, env=env
        )
        collected = re.search(r"Collected : (\d+)", out.stderr)
        if collected is None:
            raise SystemExit(f"callgrind counted nothing:\n{out.stderr[-2000:]}")
        counts.append(int(collected.group(1)))
    return (counts[1] - counts[0]) / (calls[1] - calls[0])


def print_middleware_cost(
    name: str, environ: Callable[[], dict[str, Any]], *, iterations: int, repeats: int
) -> None:
    """Print the CPU per request of a scenario with the full stack and without each
    middleware in turn (a measure of what each costs; not a working configuration).
    """
    from django.conf import settings
    from django.core.handlers.wsgi import WSGIHandler
    from django.test import override_settings

    full = list(settings.MIDDLEWARE)
    variants = {"(full stack)": full}
    for entry in full:
        variants[f"without {entry}"] = [m for m in full if m != entry]
    callers = {}
    for label, stack in variants.items():
        with override_settings(MIDDLEWARE=stack):
            callers[label] = Caller(WSGIHandler())
    print(f"\n## {name}: CPU ms per request without each middleware\n")
    print("| stack | calls | calls saved | CPU ms (median) | lowest |")
    print("|---|---|---|---|---|")
    baseline = None
    for label, caller in callers.items():

        def request(c: Caller = caller) -> bytes:
            return c(environ())

        try:
            calls = calls_per_request(request)
            result = cpu_per_request(request, iterations=iterations, repeats=repeats)
        except SystemExit:  # e.g. authentication without sessions: a 500
            print(f"| {label} | breaks the stack | | | |", flush=True)
            continue
        baseline = baseline or calls
        print(
            f"| {label} | {calls:.0f} | {baseline - calls:+.0f} "
            f"| {result['cpu']:.3f} | {result['cpu_min']:.3f} |",
            flush=True,
        )


def main() -> None:
    """Prepare the data, then measure every scenario with rate limits off and on."""
    args = parse_args()
    configure_environment(args)
    create_database(args.database_url)
    import django

    django.setup()
    from django.conf import settings

    from config.wsgi import application

    made_elsewhere = os.environ.get("PROFILE_FIXTURE")
    fixture = Fixture.from_json(made_elsewhere) if made_elsewhere else Fixture()
    caller = Caller(application)
    builders = scenario_environs(fixture)
    names = args.scenarios.split()
    unknown = set(names) - set(builders)
    if unknown:
        raise SystemExit(f"unknown scenarios: {', '.join(sorted(unknown))}")
    # The access lines go where gunicorn's stderr would: a file write per request.
    # File descriptor 2 itself, as LOGGING's handler holds the sys.stderr it found.
    sys.stderr.flush()
    real_stderr = os.dup(2)
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 2)
    os.close(devnull)

    def calls(name: str) -> Callable[[], bytes]:
        build = builders[name]
        return lambda: caller(build())

    try:
        if args.inner_calls:  # one leg of --instructions, under valgrind
            settings.RATE_LIMITS_ENABLED = False
            call = calls(names[0])
            for _ in range(args.inner_calls):
                call()
            return
        if args.middleware_cost:
            settings.RATE_LIMITS_ENABLED = args.rate_limits == "on"
            print_middleware_cost(
                args.middleware_cost,
                builders[args.middleware_cost],
                iterations=args.iterations,
                repeats=args.repeats,
            )
            return
        if args.layers:
            settings.RATE_LIMITS_ENABLED = args.rate_limits == "on"
            print_layers(names, calls, args)
            return
        if args.profile:
            settings.RATE_LIMITS_ENABLED = args.rate_limits == "on"
            iterations = (
                args.login_iterations if args.profile == "login" else args.iterations
            )
            print_profile(
                args.profile,
                calls(args.profile),
                iterations=iterations,
                lines=args.profile_lines,
            )
            return
        modes = {"off": [False], "on": [True], "both": [False, True]}[args.rate_limits]
        print(
            f"In-process CPU per request (ms), median of {args.repeats} x "
            f"{args.iterations} calls (login: {args.login_iterations}); "
            f"load average {os.getloadavg()[0]:.1f}\n"
        )
        header = "| scenario | queries |"
        for on in modes:
            label = "limits on" if on else "limits off"
            header += f" calls ({label}) | CPU ms | lowest | wall ms |"
        if args.instructions:
            header += " instructions (limits off) |"
        print(header)
        print("|---" * (header.count("|") - 1) + "|")
        failed = []
        for name in names:
            call = calls(name)
            settings.RATE_LIMITS_ENABLED = False
            queries = count_queries(call)
            if queries > QUERIES[name]:
                failed.append(f"{name}: {queries} queries, expected {QUERIES[name]}")
            row = f"| {name} | {queries} |"
            iterations = args.login_iterations if name == "login" else args.iterations
            for on in modes:
                settings.RATE_LIMITS_ENABLED = on
                result = cpu_per_request(
                    call, iterations=iterations, repeats=args.repeats
                )
                row += (
                    f" {calls_per_request(call):.0f} | {result['cpu']:.3f} "
                    f"| {result['cpu_min']:.3f} | {result['wall']:.3f} |"
                )
            if args.instructions:
                row += f" {instructions_per_request(args, name, fixture):,.0f} |"
            print(row, flush=True)
        if args.check and failed:
            raise SystemExit("More queries than expected: " + "; ".join(failed))
    finally:
        fixture.clean_up()
        sys.stderr.flush()
        os.dup2(real_stderr, 2)
        os.close(real_stderr)


if __name__ == "__main__":
    main()
