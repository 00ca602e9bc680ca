"""Benchmark gunicorn worker settings: wrk on the API's hot paths on PostgreSQL.

Creates (or reuses) a database, migrates it, makes one user with 20 items and a bearer
token, then for each worker setting starts gunicorn with config/gunicorn.py, warms it
up, runs wrk on each path (default GET /api/v1/items/) and prints requests/s and p99
latency as a Markdown table, one row per setting and path.
Run it as `make bench` or `uv run python scripts/bench.py --help`. Only loopback
traffic; every run is bounded by --duration.
"""

import argparse
import os
import re
import secrets
import shutil
import socket
import statistics
import subprocess
import sys
from pathlib import Path

from serving import cpu_seconds, required, stop, to_ms, wait_until_up

BASE_DIR = Path(__file__).resolve().parent.parent
DEFAULT_CONFIGS = (
    "sync:2 sync:3 sync:4 sync:5 gthread:2:2 gthread:2:4 gthread:3:2 gthread:3:4"
)
SETUP = """
from items.models import Item
from users.models import User
from users.services import token_pair_issue

user = User.objects.filter(email="bench@example.com").first()
if user is None:
    user = User.objects.create_user(email="bench@example.com", password="{password}")
Item.objects.filter(owner=user).delete()
Item.objects.bulk_create(
    Item(title=f"Item {{n}}", description="x" * 100, owner=user) for n in range(20)
)
print("TOKEN=" + token_pair_issue(user=user)["access_token"])
"""


def parse_args() -> argparse.Namespace:
    """Read the command line."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--database-url", default="postgres://postgres@127.0.0.1:5432/bench"
    )
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/7")
    parser.add_argument(
        "--configs",
        default=DEFAULT_CONFIGS,
        help="space-separated CLASS:WORKERS[:THREADS[:KEEPALIVE[:MAX_REQUESTS]]]"
        " (default: %(default)s)",
    )
    parser.add_argument(
        "--paths",
        default="/api/v1/items/",
        help="space-separated paths, each measured per setting (default: %(default)s)",
    )
    parser.add_argument("--runs", type=int, default=3, help="wrk runs per setting")
    parser.add_argument("--duration", default="10s", help="length of one wrk run")
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--wrk-threads", type=int, default=2)
    parser.add_argument("--port", type=int, default=0, help="default: a free one")
    return parser.parse_args()


def server_env(args: argparse.Namespace) -> dict[str, str]:
    """Environment of the server: production-like (DEBUG off), no rate limits."""
    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "DJANGO_DEBUG": "false",
        "DJANGO_SECRET_KEY": secrets.token_urlsafe(50),
        "JWT_SIGNING_KEY": secrets.token_urlsafe(50),
        "DATABASE_URL": args.database_url,
        "REDIS_URL": args.redis_url,
        "RATE_LIMITS_ENABLED": "false",
        "ACCESS_TOKEN_MINUTES": "600",
        "DJANGO_ALLOWED_HOSTS": "127.0.0.1,localhost",
    }


def create_database(url: str) -> None:
    """Create the benchmark database when it does not exist yet."""
    import psycopg

    base, name = url.rsplit("/", 1)
    with psycopg.connect(f"{base}/postgres", autocommit=True) as conn:
        exists = conn.execute(
            "SELECT 1 FROM pg_database WHERE datname = %s", [name]
        ).fetchone()
        if not exists:
            conn.execute(f'CREATE DATABASE "{name}"')


def prepare(env: dict[str, str]) -> str:
    """Migrate, create the user and its 20 items; return an access token."""
    manage = [sys.executable, "manage.py"]
    subprocess.run([*manage, "migrate", "--no-input", "-v", "0"], env=env, check=True)
    subprocess.run(
        [*manage, "collectstatic", "--no-input", "-v", "0"], env=env, check=True
    )
    script = SETUP.format(password=secrets.token_urlsafe(16))
    out = subprocess.run(
        [*manage, "shell", "-c", script],
        env=env,
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    return required(r"TOKEN=(\S+)", out)


def start_server(args, env, worker_class, workers, threads, log, extra=()):
    """Start gunicorn with the repository's config and wait for /health."""
    process = subprocess.Popen(
        [
            sys.executable, "-m", "gunicorn", "-c", "config/gunicorn.py",
            "config.wsgi", "--bind", f"127.0.0.1:{args.port}",
            "--workers", str(workers), "--worker-class", worker_class,
            "--threads", str(threads), *extra,
        ],
        env=env, cwd=BASE_DIR, stdout=log, stderr=subprocess.STDOUT,
    )  # fmt: skip
    try:
        wait_until_up(f"http://127.0.0.1:{args.port}/health", process, timeout=90)
    except RuntimeError:
        stop(process)
        raise SystemExit("gunicorn did not start; see .bench/gunicorn.log") from None
    return process


def wrk(args, token: str, duration: str, path: str) -> dict[str, float]:
    """Run wrk once; return requests/s, p99 (ms) and the count of errors."""
    out = subprocess.run(
        [
            "wrk", "--latency", "-t", str(args.wrk_threads),
            "-c", str(args.connections), "-d", duration,
            "-H", f"Authorization: Bearer {token}",
            f"http://127.0.0.1:{args.port}{path}",
        ],
        check=True, capture_output=True, text=True,
    ).stdout  # fmt: skip
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    # wrk gives up on a request after 2 s and counts it as a timeout, not in p99.
    timeouts = re.search(r"Socket errors: .*timeout (\d+)", out)
    return {
        "rps": float(required(r"Requests/sec:\s+([\d.]+)", out)),
        "requests": int(required(r"(\d+) requests in", out)),
        "p99": to_ms(required(r"\s99%\s+(\S+)", out)),
        "non2xx": int(errors.group(1)) if errors else 0,
        "timeouts": int(timeouts.group(1)) if timeouts else 0,
    }


def run_setting(args, env, token, config, path) -> dict[str, float]:
    """Start gunicorn for one setting, warm it up, measure one wrk run, stop it."""
    worker_class, workers, *rest = config.split(":")
    threads = int(rest[0]) if rest else 1
    extra = []
    if len(rest) > 1:
        extra += ["--keep-alive", rest[1]]
    if len(rest) > 2:  # worker recycling, with a jitter of half the count
        extra += [
            "--max-requests",
            rest[2],
            "--max-requests-jitter",
            str(int(rest[2]) // 2),
        ]
    with (BASE_DIR / ".bench" / "gunicorn.log").open("ab") as log:
        process = start_server(
            args, env, worker_class, int(workers), threads, log, extra
        )
        try:
            wrk(args, token, "3s", path)  # warm-up: connections, caches, imports
            load = os.getloadavg()[0]
            cpu_before = cpu_seconds(process.pid)
            result = wrk(args, token, args.duration, path)
            cpu = cpu_seconds(process.pid) - cpu_before
        finally:
            stop(process)
    if result["non2xx"]:
        raise SystemExit(f"{config}: {result['non2xx']} responses were not 2xx")
    result["load"] = load
    result["per_cpu_s"] = result["requests"] / cpu if cpu else 0.0
    return result


def main() -> None:
    """Run every setting in rounds (so that load from elsewhere hits all alike)."""
    args = parse_args()
    if not args.port:
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            args.port = sock.getsockname()[1]
    if not shutil.which("wrk"):
        raise SystemExit("wrk is missing: apt-get install wrk")
    env = server_env(args)
    env["DJANGO_STATIC_ROOT"] = str(BASE_DIR / ".bench" / "staticfiles")
    (BASE_DIR / ".bench").mkdir(exist_ok=True)
    create_database(args.database_url)
    token = prepare(env)
    configs = [(c, p) for p in args.paths.split() for c in args.configs.split()]
    print(
        f"cores={os.cpu_count()} wrk -t{args.wrk_threads} -c{args.connections} "
        f"-d{args.duration}, {args.runs} rounds over the settings, "
        f"GET {args.paths} (20 items, bearer token)\n",
        flush=True,
    )
    results: dict[str, list[dict[str, float]]] = {f"{c} {p}": [] for c, p in configs}
    for round_number in range(1, args.runs + 1):
        for config, path in configs:
            result = run_setting(args, env, token, config, path)
            results[f"{config} {path}"].append(result)
            print(
                f"round {round_number} {config} {path}: {result['rps']:.0f} req/s, "
                f"p99 {result['p99']:.1f} ms, {result['per_cpu_s']:.0f} req per "
                f"CPU-second, {result['timeouts']} timeouts, load {result['load']:.2f}",
                file=sys.stderr,
                flush=True,
            )
    print(
        "| setting and path | req/s per round | median req/s | p99 ms per round "
        "| median p99 ms | timeouts | req per CPU-s (median) "
        "| load avg before each round |"
    )
    print("|---|---|---|---|---|---|---|---|")
    for config, runs in results.items():
        rps = " / ".join(f"{r['rps']:.0f}" for r in runs)
        p99 = " / ".join(f"{r['p99']:.0f}" for r in runs)
        loads = " / ".join(f"{r['load']:.1f}" for r in runs)
        print(
            f"| {config} | {rps} | {statistics.median(r['rps'] for r in runs):.0f} "
            f"| {p99} | {statistics.median(r['p99'] for r in runs):.0f} "
            f"| {sum(r['timeouts'] for r in runs)} "
            f"| {statistics.median(r['per_cpu_s'] for r in runs):.0f} | {loads} |"
        )


if __name__ == "__main__":
    main()
