"""Lines of code per concern, ours beside the FastAPI twin's, and dependency counts.

Each concern of the guide maps to files on each side (CONCERNS below; a file counts
once, under the first concern that names it). A line of code is a line that is
neither blank nor only a comment (docstrings count: they are read like code). The
dependency counts come from each side's pyproject.toml (direct) and uv.lock
(transitive: every package a runtime install pulls in). `make loc` rewrites the
section of docs/comparison.md between its marker comments; `make compare` does too.
"""

import argparse
import os
import sys
import tomllib
from collections.abc import Iterable
from pathlib import Path
from typing import TypedDict

BASE_DIR = Path(__file__).resolve().parent.parent
TWIN = "comparison/fastapi"
START = "<!-- loc:start -->"
END = "<!-- loc:end -->"
# concern -> (our files, the twin's files); globs relative to the repository root.
CONCERNS: dict[str, tuple[list[str], list[str]]] = {
    "Structure: entry points, app wiring": (
        ["manage.py", "config/wsgi.py", "config/asgi.py", "config/__init__.py"]
        + ["*/apps.py", "*/__init__.py", "*/management/**/__init__.py"],
        [f"{TWIN}/app/main.py", f"{TWIN}/app/**/__init__.py"],
    ),
    "Settings": (
        ["config/settings.py", "config/guard.py"],
        [f"{TWIN}/app/config.py"],
    ),
    "Database layer: models, migrations, sessions, repositories": (
        ["users/models.py", "items/models.py", "*/migrations/*.py"]
        + ["core/dbwatchdog.py"],
        [f"{TWIN}/app/database.py", f"{TWIN}/app/models/*.py"]
        + [f"{TWIN}/app/repositories/*.py", f"{TWIN}/alembic/**/*.py"]
        + [f"{TWIN}/alembic.ini"],
    ),
    "Schemas: validation and output": (
        ["*/serializers.py", "core/fields.py", "core/json.py"],
        [f"{TWIN}/app/schemas/*.py"],
    ),
    "Services: registration, tokens, password flows": (
        ["users/services.py"],
        [f"{TWIN}/app/services/*.py"],
    ),
    "Dependency injection and auth": (
        ["users/authentication.py", "users/permissions.py"],
        [f"{TWIN}/app/api/deps.py", f"{TWIN}/app/core/security.py"],
    ),
    "Routers and views (with pagination)": (
        ["*/views.py", "*/urls.py", "core/routers.py", "core/pagination.py"],
        [f"{TWIN}/app/api/v1/*.py", f"{TWIN}/app/api/routing.py"]
        + [f"{TWIN}/app/api/pagination.py"],
    ),
    "Middleware, logging, metrics": (
        ["core/middleware.py", "core/logging.py", "core/metrics.py", "core/http.py"]
        + ["core/sentry.py", "core/celery_context.py"],
        [f"{TWIN}/app/middleware.py", f"{TWIN}/app/core/logging.py"],
    ),
    "Errors": (
        ["core/errors.py", "core/exceptions.py", "users/exceptions.py"],
        [f"{TWIN}/app/core/exceptions.py"],
    ),
    "Rate limits": (
        ["core/throttling.py", "core/breaker.py"],
        [f"{TWIN}/app/rate_limit.py"],
    ),
    "Background jobs": (
        ["config/celery.py", "*/tasks.py"],
        [f"{TWIN}/app/tasks.py", f"{TWIN}/app/worker.py"],
    ),
    "Health, OpenAPI, admin, first superuser": (
        ["core/health.py", "core/schema.py", "users/schema.py", "*/admin.py"]
        + ["users/management/commands/*.py", "templates/**/*.html"],
        [f"{TWIN}/app/api/health.py", f"{TWIN}/app/initial_data.py"],
    ),
    "Testing": (
        ["tests/**/*.py", "config/test_settings.py"],
        [f"{TWIN}/tests/**/*.py"],
    ),
    "Docker and serving": (
        ["Dockerfile", "docker-compose.yaml", "config/gunicorn.py", "deploy/*.py"]
        + ["deploy/nginx.conf"],
        [f"{TWIN}/Dockerfile", f"{TWIN}/docker-compose.yaml"]
        + [f"{TWIN}/gunicorn.conf.py", f"{TWIN}/serve"],
    ),
}
SHARED_TESTS = "tests/contract"  # the black-box suite of both servers: counted apart
SKIP_PARTS = {".venv", "__pycache__", "node_modules", ".ruff_cache"}


def code_lines(path: Path) -> int:
    """Count the lines that are neither blank nor only a comment."""
    comment = "#" if path.suffix in {".py", ".toml", ".ini", ".yaml", ""} else None
    if path.name in ("Dockerfile", "nginx.conf"):
        comment = "#"
    count = 0
    for line in path.read_text(errors="replace").splitlines():
        text = line.strip()
        if text and not (comment and text.startswith(comment)):
            count += 1
    return count


def expand(patterns: Iterable[str], taken: set[Path]) -> list[Path]:
    """Return the files the globs name that no earlier concern took."""
    files = []
    for pattern in patterns:
        for path in sorted(BASE_DIR.glob(pattern)):
            relative = path.relative_to(BASE_DIR)
            if (
                not path.is_file()
                or path in taken
                or SKIP_PARTS & set(relative.parts)
                or str(relative).startswith(SHARED_TESTS)
                or (relative.parts[0] == "comparison" and TWIN not in pattern)
            ):
                continue
            taken.add(path)
            files.append(path)
    return files


class ConcernRow(TypedDict):
    """One concern's files and lines of code, ours and the twin's."""

    concern: str
    ours: list[Path]
    ours_loc: int
    twin: list[Path]
    twin_loc: int


def count_concerns() -> list[ConcernRow]:
    """Return, per concern, each side's files and their lines of code."""
    taken: set[Path] = set()
    rows: list[ConcernRow] = []
    for concern, (ours, twin) in CONCERNS.items():
        our_files, twin_files = expand(ours, taken), expand(twin, taken)
        rows.append(
            {
                "concern": concern,
                "ours": our_files,
                "ours_loc": sum(code_lines(p) for p in our_files),
                "twin": twin_files,
                "twin_loc": sum(code_lines(p) for p in twin_files),
            }
        )
    return rows


def dependencies(project_dir: Path) -> dict[str, int] | None:
    """Count direct and transitive runtime packages, and the whole lock."""
    pyproject, lockfile = project_dir / "pyproject.toml", project_dir / "uv.lock"
    if not (pyproject.exists() and lockfile.exists()):
        return None
    project = tomllib.loads(pyproject.read_text())
    lock = tomllib.loads(lockfile.read_text())
    packages: dict[str, list[dict]] = {}
    for package in lock.get("package", []):
        packages.setdefault(package["name"], []).append(package)
    root = next(
        p
        for p in lock["package"]
        if p.get("source", {}).get("virtual") == "."
        or p.get("source", {}).get("editable") == "."
    )
    seen: set[str] = set()
    queue = list(root.get("dependencies", []))
    while queue:
        dependency = queue.pop()
        name = dependency["name"]
        extras = dependency.get("extra", [])
        key = name + "[" + ",".join(extras) + "]"
        if key in seen:
            continue
        seen.add(key)
        for package in packages.get(name, []):
            queue.extend(package.get("dependencies", []))
            for extra in extras:
                queue.extend(package.get("optional-dependencies", {}).get(extra, []))
    runtime = {key.split("[")[0] for key in seen}
    groups = project.get("dependency-groups", {})
    return {
        "direct": len(project.get("project", {}).get("dependencies", [])),
        "direct_dev": sum(len(v) for v in groups.values()),
        "runtime": len(runtime),
        "locked": len(packages) - 1,
    }


def link(path: Path, docs: Path) -> str:
    """A Markdown link from the docs page to a file of the repository."""
    relative = os.path.relpath(path, docs.parent)
    name = str(path.relative_to(BASE_DIR)).removeprefix(f"{TWIN}/")
    return f"[{'the root' if name == '.' else name}]({relative})"


def files_cell(files: list[Path], docs: Path) -> str:
    """List a concern's files as links; many files become their folders."""
    if not files:
        return "none"
    if len(files) <= 4:
        return ", ".join(link(p, docs) for p in files)
    folders = sorted({p.parent for p in files})[:4]
    return f"{len(files)} files in " + ", ".join(link(f, docs) for f in folders)


def render(docs: Path) -> str:
    """The Markdown of the lines-of-code and dependency tables."""
    rows = count_concerns()
    twin_present = (BASE_DIR / TWIN / "app").exists()
    lines = [
        "Counted by [`scripts/loc.py`](../scripts/loc.py) (`make loc`): lines that "
        "are neither blank nor only a comment; each file under one concern.",
        "",
        "| concern | ours LOC | our files | twin LOC | the twin's files |",
        "|---|---|---|---|---|",
    ]
    for row in rows:
        lines.append(
            f"| {row['concern']} | {row['ours_loc']:,} | "
            f"{files_cell(row['ours'], docs)} | "
            f"{row['twin_loc']:,} | {files_cell(row['twin'], docs)} |"
        )
    total_ours = sum(r["ours_loc"] for r in rows)
    total_twin = sum(r["twin_loc"] for r in rows)
    lines.append(f"| **total** | **{total_ours:,}** | | **{total_twin:,}** | |")
    shared = [
        p
        for p in (BASE_DIR / SHARED_TESTS).rglob("*.py")
        if "__pycache__" not in p.parts
    ]
    if shared:
        lines += [
            "",
            f"Shared by both: the black-box contract suite, {len(shared)} files, "
            f"{sum(code_lines(p) for p in shared):,} lines "
            f"([{SHARED_TESTS}/](../{SHARED_TESTS}/)).",
        ]
    if not twin_present:
        lines.append("\n_The twin is not in this checkout: its column is empty._")
    lines += [
        "",
        "Dependencies, from each side's `pyproject.toml` and `uv.lock`:",
        "",
        "| side | direct runtime | direct dev | runtime, transitive | whole lock |",
        "|---|---|---|---|---|",
    ]
    for name, folder in (
        ("ours", BASE_DIR),
        ("FastAPI twin", BASE_DIR / TWIN),
        ("floor", BASE_DIR / "comparison" / "floor"),
    ):
        counts = dependencies(folder)
        if counts is None:
            lines.append(f"| {name} | - | - | - | - |")
            continue
        lines.append(
            f"| {name} | {counts['direct']} | {counts['direct_dev']} | "
            f"{counts['runtime']} | {counts['locked']} |"
        )
    return "\n".join(lines)


def update(docs: Path) -> None:
    """Rewrite the section between the loc markers of docs (append if missing)."""
    current = docs.read_text() if docs.exists() else "# Comparison\n"
    block = f"{START}\n{render(docs)}\n{END}"
    if START in current and END in current:
        before, rest = current.split(START, 1)
        current = before + block + rest.split(END, 1)[1]
    else:
        current = current.rstrip("\n") + "\n\n" + block + "\n"
    docs.write_text(current)


def main() -> None:
    """Print the tables, or write them into the docs page."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--docs", type=Path, default=BASE_DIR / "docs/comparison.md")
    parser.add_argument("--print", action="store_true", help="print, write nothing")
    args = parser.parse_args()
    if args.print:
        print(render(args.docs))
        return
    update(args.docs)
    print(f"loc: updated {args.docs}", file=sys.stderr)


if __name__ == "__main__":
    main()
