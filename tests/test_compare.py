"""make compare's verdict: a server that answers one non-2xx makes the run INVALID.

scripts/compare.py is pointed at a stub server (`--external`) that serves every
request of the seeding and the scenarios plausibly, except GET /api/v1/users/me,
which answers 500. The full `make compare QUICK=1` against the real servers is a
step of .ci/run, which checks its JSON, charts and docs.
"""

import importlib
import json
import shutil
import subprocess
import sys
import threading
from collections.abc import Iterator
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import ModuleType

import pytest

BASE_DIR = Path(__file__).resolve().parent.parent
ITEM = {"id": 1, "title": "Item", "description": None, "owner_id": 1}
TOKENS = {"access_token": "stub", "refresh_token": "stub", "token_type": "bearer"}

pytestmark = [
    pytest.mark.live,
    pytest.mark.skipif(not shutil.which("wrk"), reason="wrk is not installed"),
]


class StubHandler(BaseHTTPRequestHandler):
    """Answer like the API, except a 500 for the current user."""

    protocol_version = "HTTP/1.1"  # keep-alive, as wrk expects

    def answer(self, status: int, body: object, headers: dict[str, str]) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for name, value in headers.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self) -> None:
        if self.path == "/api/v1/users/me":
            self.answer(HTTPStatus.INTERNAL_SERVER_ERROR, {"detail": "injected"}, {})
        elif self.path == "/api/v1/items/":
            self.answer(HTTPStatus.OK, [ITEM], {"X-Total-Count": "1"})
        elif self.path == "/health":
            self.answer(HTTPStatus.OK, {"status": "healthy"}, {})
        else:
            self.answer(HTTPStatus.OK, ITEM, {})

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        if self.path == "/api/v1/auth/login":
            self.answer(HTTPStatus.OK, TOKENS, {})
        else:
            self.answer(HTTPStatus.CREATED, ITEM, {})

    def do_PATCH(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self.answer(HTTPStatus.OK, ITEM, {})

    def log_message(self, format: str, *args: object) -> None:
        """Stay quiet: wrk sends thousands of requests."""


@pytest.fixture
def stub_url() -> Iterator[str]:
    """A stub API on a free loopback port."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), StubHandler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_a_non_2xx_answer_marks_the_run_invalid_and_exits_non_zero(stub_url, tmp_path):
    docs = tmp_path / "comparison.md"
    docs.write_text("# Comparison\n")

    run = subprocess.run(
        [
            sys.executable, "scripts/compare.py", "--quick", "--no-limits",
            "--servers", "stub", "--external", f"stub={stub_url}",
            "--results-dir", str(tmp_path / "results"),
            "--docs", str(docs), "--img-dir", str(tmp_path / "img"),
        ],
        cwd=BASE_DIR, capture_output=True, text=True, timeout=120,
    )  # fmt: skip

    assert run.returncode == 1, run.stderr
    assert "INVALID RUN" in run.stderr
    assert "round 1 stub me: " in run.stderr
    (result_file,) = (tmp_path / "results").glob("*.json")
    result = json.loads(result_file.read_text())
    assert result["valid"] is False
    verdicts = {c["scenario"]: c["valid"] for c in result["cells"]}
    assert verdicts["me"] is False
    assert verdicts["health"] is True
    assert verdicts["items list"] is True
    me = next(c for c in result["cells"] if c["scenario"] == "me")
    assert me["non2xx"] == me["requests"] > 0
    assert docs.read_text() == "# Comparison\n"  # an invalid run changes no docs
    assert not (tmp_path / "img").exists()


def script(name: str) -> ModuleType:
    """Import one of scripts/ by its module name."""
    sys.path.insert(0, str(BASE_DIR / "scripts"))
    try:
        return importlib.import_module(name)
    finally:
        sys.path.pop(0)


def test_a_full_run_at_low_load_is_quiet_and_a_busy_or_quick_one_provisional():
    compare = script("compare")

    def run(load: float, *, quick: bool = False) -> dict:
        return {
            "settings": {"quick": quick},
            "machine": {"cores": 2, "load_before": load},
        }

    assert compare.is_quiet(run(0.6)) is True
    assert compare.is_quiet(run(1.2)) is False
    assert compare.is_quiet(run(0.1, quick=True)) is False


def test_a_list_without_x_total_count_or_a_socket_error_is_invalid():
    compare = script("compare")
    out = (
        "  100 requests in 1.00s, 10.00KB read\n"
        "Requests/sec:    100.00\n"
        "COMPARE non2xx=0 untotalled=3 p50_us=1500 p99_us=9000\n"
        "COMPARE first_bad=\n"
    )

    timeouts = out + "  Socket errors: connect 0, read 0, write 0, timeout 4\n"

    result = compare.parse_wrk(out, 8)
    with_timeouts = compare.parse_wrk(
        timeouts.replace("untotalled=3", "untotalled=0"), 8
    )

    assert result["valid"] is False
    assert "3 lists without X-Total-Count" in result["problem"]
    assert result["p99_ms"] == 9.0
    assert with_timeouts["valid"] is False
    assert with_timeouts["socket_errors"] == 4


def test_non_2xx_answers_without_a_recorded_first_one_are_still_reported():
    compare = script("compare")
    out = (
        "  100 requests in 1.00s, 10.00KB read\n"
        "Requests/sec:    100.00\n"
        "COMPARE non2xx=2 untotalled=0 p50_us=1500 p99_us=9000\n"
    )

    result = compare.parse_wrk(out, 8)

    assert result["valid"] is False
    assert "2 non-2xx answers (first: not recorded)" in result["problem"]


def test_loc_counts_code_lines_and_the_packages_of_a_lock(tmp_path):
    loc = script("loc")
    source = tmp_path / "module.py"
    source.write_text(
        '"""Doc."""\n\n# a comment\nimport os  # why\n\n\nprint(os.sep)\n'
    )

    lines = loc.code_lines(source)
    floor = loc.dependencies(BASE_DIR / "comparison" / "floor")

    assert lines == 3
    assert floor is not None
    assert floor["direct"] == 6
    assert floor["direct"] < floor["runtime"] <= floor["locked"]
    assert loc.dependencies(tmp_path) is None  # no pyproject.toml, no lock
