"""The contract suite's plumbing: clients on BASE_URL, accounts made through the API,
markers, and the record of what each server did where the contract allows variants.

Black-box: httpx only, no server code, no Django. Environment: BASE_URL,
SUPERUSER_EMAIL, SUPERUSER_PASSWORD (required); CONTRACT_TARGET (a name for the
results file, default "server"); CONTRACT_BEYOND_GUIDE=0 skips `beyond_guide`;
CONTRACT_RATE_LIMITS=1 runs `rate_limits` (skipped otherwise); CONTRACT_ADMIN=0 skips
the Django admin check; CONTRACT_CORS_ORIGIN (default http://allowed.example) is the
origin the server allows; CONTRACT_RESULTS_DIR (default comparison/results);
CONTRACT_SECRETS_FILE: where to list the passwords and tokens used, for a log search;
CONTRACT_FAULTS_URL: the runner's switch of fault proxies (tests marked `faults`).

Every run writes `<results dir>/contract-<target>.json`: each test's outcome, the
contract sentence it checks (its docstring) and what it observed (`observe`).
"""

import json
import os
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.contract.helpers import (
    BASE_URL,
    SECRETS,
    TARGET,
    Account,
    authorized,
    log_in,
    new_client,
    register,
    unique_email,
)

RESULTS_DIR = Path(
    os.environ.get("CONTRACT_RESULTS_DIR")
    or Path(__file__).resolve().parents[2] / "comparison" / "results"
)
RESULTS_FILE = RESULTS_DIR / (
    f"contract-{TARGET}{os.environ.get('CONTRACT_RESULTS_SUFFIX', '')}.json"
)

_observed: dict[str, dict[str, Any]] = {}
_outcomes: dict[str, dict[str, Any]] = {}
_started = datetime.now(UTC)


def pytest_collection_modifyitems(
    config: pytest.Config, items: list[pytest.Item]
) -> None:
    """Skip the marked groups that this run leaves out."""
    beyond = os.environ.get("CONTRACT_BEYOND_GUIDE", "1") != "0"
    limits = os.environ.get("CONTRACT_RATE_LIMITS", "0") == "1"
    for item in items:
        if not beyond and item.get_closest_marker("beyond_guide"):
            item.add_marker(pytest.mark.skip(reason="CONTRACT_BEYOND_GUIDE=0"))
        if not limits and item.get_closest_marker("rate_limits"):
            item.add_marker(pytest.mark.skip(reason="needs CONTRACT_RATE_LIMITS=1"))


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    """Remember each test's outcome for the results file."""
    if report.when == "call" or report.outcome != "passed":
        outcome: str = report.outcome
        if hasattr(report, "wasxfail"):
            outcome = "xfailed" if report.skipped else "xpassed"
        entry = _outcomes.setdefault(report.nodeid, {})
        if "outcome" not in entry or outcome != "passed":
            entry["outcome"] = outcome
        if hasattr(report, "wasxfail"):
            entry["xfail_reason"] = report.wasxfail


def pytest_collection_finish(session: pytest.Session) -> None:
    """Record the contract sentence (docstring) of every collected test."""
    for item in session.items:
        doc = getattr(getattr(item, "function", None), "__doc__", None) or ""
        _outcomes.setdefault(item.nodeid, {})["contract"] = " ".join(doc.split())


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """Write the results file: outcomes, contract sentences, observed variants."""
    if not _outcomes:
        return
    tests = {
        nodeid: {**entry, "observed": _observed.get(nodeid, {})}
        for nodeid, entry in _outcomes.items()
        if "outcome" in entry
    }
    summary: dict[str, int] = {}
    for entry in tests.values():
        summary[entry["outcome"]] = summary.get(entry["outcome"], 0) + 1
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    RESULTS_FILE.write_text(
        json.dumps(
            {
                "target": TARGET,
                "base_url": BASE_URL,
                "started": _started.isoformat(),
                "finished": datetime.now(UTC).isoformat(),
                "exit_status": int(exitstatus),
                "summary": summary,
                "tests": tests,
            },
            indent=2,
            sort_keys=True,
        )
        + "\n"
    )


def pytest_unconfigure(config: pytest.Config) -> None:
    """Hand the passwords and tokens used to the runner, which searches the log."""
    path = os.environ.get("CONTRACT_SECRETS_FILE")
    if path and SECRETS:
        Path(path).write_text("\n".join(sorted(SECRETS)) + "\n")


def pytest_terminal_summary(terminalreporter: Any) -> None:
    """Print the variants observed, where the contract allows more than one answer."""
    if not _observed:
        return
    terminalreporter.section(f"observed variants ({TARGET})")
    for nodeid, values in sorted(_observed.items()):
        name = nodeid.split("::")[-1]
        for key, value in sorted(values.items()):
            terminalreporter.write_line(f"{name}: {key} = {json.dumps(value)}")
    terminalreporter.write_line(f"written to {RESULTS_FILE}")


@pytest.fixture
def observe(request: pytest.FixtureRequest) -> Callable[[str, Any], None]:
    """Record what the server did where the contract allows variants."""

    def record(key: str, value: Any) -> None:
        _observed.setdefault(request.node.nodeid, {})[key] = value

    return record


@pytest.fixture
def faults() -> Iterator[Callable[[str, str], None]]:
    """Switch the server's database or cache off ("kill") and on ("pass").

    Afterwards both are on again and the server must be ready within 60 s: the
    contract's "recovers by itself ... with no restart".
    """
    url = os.environ.get("CONTRACT_FAULTS_URL")
    if not url:
        pytest.skip("needs CONTRACT_FAULTS_URL (scripts/contract.py sets it)")

    def switch(dependency: str, mode: str) -> None:
        httpx.post(f"{url}/{dependency}/{mode}", timeout=10).raise_for_status()

    yield switch
    switch("database", "pass")
    switch("cache", "pass")
    # Ready on ten new connections in a row, so that every worker has been asked: a
    # worker whose pooled connection died in the fault may fail its first check after
    # it (redis-py drops the dead connection then), and the next test must not see it.
    deadline = time.monotonic() + 60
    in_a_row = 0
    while in_a_row < 10:
        with new_client() as anonymous:
            ready = anonymous.get("/health/ready").status_code == 200
        in_a_row = in_a_row + 1 if ready else 0
        if not ready:
            assert time.monotonic() < deadline, "not ready 60 s after the fault"
            time.sleep(0.5)


@pytest.fixture
def client() -> Iterator[httpx.Client]:
    """An anonymous client on BASE_URL."""
    with new_client() as anonymous:
        yield anonymous


@pytest.fixture(scope="session")
def admin() -> Iterator[Account]:
    """The superuser whose credentials the run was given, logged in."""
    email = os.environ["SUPERUSER_EMAIL"]
    password = os.environ["SUPERUSER_PASSWORD"]
    with new_client() as anonymous:
        tokens = log_in(anonymous, email, password)
    with authorized(tokens["access_token"]) as session:
        me = session.get("/api/v1/users/me")
        assert me.status_code == 200, me.text
    account = Account(
        id=me.json()["id"],
        email=email,
        password=password,
        access_token=tokens["access_token"],
        refresh_token=tokens["refresh_token"],
    )
    yield account
    account.close()


@pytest.fixture
def make_user() -> Iterator[Callable[..., Account]]:
    """Register and log in fresh users (unique emails) through the API."""
    made: list[Account] = []

    def make(**fields: Any) -> Account:
        with new_client() as anonymous:
            password = fields.pop("password", None) or f"pw-{time.time_ns()}-x"
            email = fields.pop("email", None) or unique_email()
            body = register(anonymous, email=email, password=password, **fields)
            tokens = log_in(anonymous, email, password)
        account = Account(
            id=body["id"],
            email=body["email"],
            password=password,
            access_token=tokens["access_token"],
            refresh_token=tokens["refresh_token"],
            body=body,
        )
        made.append(account)
        return account

    yield make
    for account in made:
        account.close()


@pytest.fixture
def user(make_user: Callable[..., Account]) -> Account:
    """A fresh ordinary user, logged in."""
    return make_user()


@pytest.fixture
def other_user(make_user: Callable[..., Account]) -> Account:
    """A second fresh ordinary user, logged in."""
    return make_user()
