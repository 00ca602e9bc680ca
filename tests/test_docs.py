"""README and docs/: links a clone has, commands that run without uv on the PATH."""

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
LINK = re.compile(r"\]\(([^)#\s]+)(?:#[^)]*)?\)")
# A command line in a fenced block that calls uv itself: fails where make installed
# uv with pip (python3 -m uv); make targets and `python3 -m uv` are fine.
BARE_UV = re.compile(r"^(?:[A-Z_]+=\S+\s+)*uv\s", re.MULTILINE)


@pytest.mark.parametrize("doc", DOCS, ids=lambda p: p.name)
def test_relative_links_point_at_files_of_the_clone(doc):
    for target in LINK.findall(doc.read_text()):
        if "://" in target or target.startswith("mailto:"):
            continue
        resolved = (doc.parent / target).resolve()
        assert resolved.is_relative_to(ROOT), f"{doc.name} links outside: {target}"
        assert resolved.exists(), f"{doc.name} links to a missing {target}"


@pytest.mark.parametrize("doc", DOCS, ids=lambda p: p.name)
def test_commands_do_not_need_uv_on_the_path(doc):
    blocks = re.findall(r"```(?:sh|bash|console)?\n(.*?)```", doc.read_text(), re.S)

    for block in blocks:
        bare = BARE_UV.search(block)
        assert bare is None, f"{doc.name}: {bare[0]}"


def test_readme_links_the_api_reference():
    assert "](docs/api.md)" in (ROOT / "README.md").read_text()
