"""The README's code examples run as written."""

from __future__ import annotations

import re
from pathlib import Path

README = Path(__file__).resolve().parent.parent / "README.md"


def _example(tag: str) -> str:
    text = README.read_text(encoding="utf-8")
    m = re.search(rf"<!-- readme-example: {tag} -->\n```python\n(.*?)```", text, re.S)
    assert m, f"README example {tag!r} not found"
    return m.group(1)


def test_custom_reward_example_runs():
    exec(compile(_example("custom-reward"), "README.md:custom-reward", "exec"), {})


def test_readme_opens_with_the_two_commands():
    text = README.read_text(encoding="utf-8")
    block = re.search(r"```bash\n(.*?)```", text, re.S).group(1).strip().splitlines()
    assert len(block) == 2
    assert "benchmarks.run" in block[0] and "pytest" in block[1]
    ci = (README.parent / ".ci" / "run").read_text()
    assert ".venv/bin/python -m pytest -q" in ci and "scripts/setup.sh" in ci
