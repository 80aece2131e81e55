"""The README and the docs: the two commands, the length limit, links, and examples that run.

A Python block right after a ``<!-- readme-example: NAME -->`` line, in the README or in a
page of ``docs/``, is executed by :func:`test_tagged_example_runs`.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
DOCS = sorted((ROOT / "docs").glob("*.md"))
PAGES = [README, *DOCS]

_EXAMPLE = re.compile(r"<!-- readme-example: ([\w-]+) -->\n```python\n(.*?)```", re.S)
_LINK = re.compile(r"\[[^\]]*\]\(([^)\s]+)\)")


def _examples() -> list[tuple[Path, str, str]]:
    return [(page, m.group(1), m.group(2)) for page in PAGES for m in _EXAMPLE.finditer(page.read_text("utf-8"))]


@pytest.mark.parametrize(("page", "tag", "code"), _examples(),
                         ids=[f"{p.name}:{t}" for p, t, _ in _examples()])
def test_tagged_example_runs(page: Path, tag: str, code: str):
    exec(compile(code, f"{page.relative_to(ROOT)}:{tag}", "exec"), {"__name__": f"example_{tag}"})


def test_the_examples_the_readme_promises_are_there():
    tags = {name for page, name, _ in _examples() if page == README}
    assert {"env", "custom-reward", "agents"} <= tags


def test_readme_opens_with_the_two_commands():
    text = README.read_text(encoding="utf-8")
    block = re.search(r"```bash\n(.*?)```", text, re.S).group(1).strip().splitlines()
    assert len(block) == 2
    assert "benchmarks.run" in block[0] and "pytest" in block[1]
    ci = (README.parent / ".ci" / "run").read_text()
    assert ".venv/bin/python -m pytest -q" in ci and "scripts/setup.sh" in ci


def test_readme_is_a_short_front_door():
    text = README.read_text(encoding="utf-8")
    assert len(text.splitlines()) <= 200
    assert "GENERATED" in text


def _anchor(heading: str) -> str:
    """GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens."""
    slug = re.sub(r"[^\w\- ]", "", heading.strip().lower())
    return slug.replace(" ", "-")


def _anchors(page: Path) -> set[str]:
    text = re.sub(r"```.*?```", "", page.read_text("utf-8"), flags=re.S)
    return {_anchor(m.group(1)) for m in re.finditer(r"^#{1,6} (.+)$", text, re.M)}


@pytest.mark.parametrize("page", PAGES, ids=[p.name if p != README else "README" for p in PAGES])
def test_relative_links_resolve(page: Path):
    text = re.sub(r"```.*?```", "", page.read_text("utf-8"), flags=re.S)
    broken = []
    for target in _LINK.findall(text):
        if re.match(r"[a-z]+:", target):
            continue  # external
        path, _, anchor = target.partition("#")
        dest = (page.parent / path).resolve() if path else page
        if not dest.exists():
            broken.append(target)
        elif anchor and dest.suffix == ".md" and anchor not in _anchors(dest):
            broken.append(target)
    assert not broken, f"{page.name}: broken links {broken}"


def test_docs_index_lists_every_page():
    index = (ROOT / "docs" / "README.md").read_text("utf-8")
    missing = [p.name for p in DOCS if p.name != "README.md" and f"({p.name})" not in index]
    assert not missing, f"docs/README.md does not list {missing}"
