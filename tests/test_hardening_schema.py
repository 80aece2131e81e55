"""The JSONL session format's JSON Schema (docs/DATA.md): generated, published, and obeyed."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from shop_env.sources.jsonl import load_jsonl, session_schema, write_jsonl
from tests.fixtures import fixture_sessions

DATA_MD = Path(__file__).resolve().parents[1] / "docs" / "DATA.md"
_TYPES = {"string": str, "object": dict, "array": list, "null": type(None)}


def _errors(value: Any, schema: dict, root: dict, where: str = "$") -> list[str]:
    """The draft 2020-12 keywords the schema uses: $ref, type, enum, const, required, properties,
    items, minItems, minLength, pattern, allOf with if/then."""
    if "$ref" in schema:
        schema = {**root["$defs"][schema["$ref"].rsplit("/", 1)[1]], **{k: v for k, v in schema.items() if k != "$ref"}}
    out: list[str] = []
    kinds = schema.get("type")
    if kinds is not None:
        kinds = [kinds] if isinstance(kinds, str) else kinds
        if not any(isinstance(value, _TYPES[k]) for k in kinds):
            return [f"{where}: {type(value).__name__} is not {kinds}"]
    if "enum" in schema and value not in schema["enum"]:
        out.append(f"{where}: {value!r} not in {schema['enum']}")
    if "const" in schema and value != schema["const"]:
        out.append(f"{where}: {value!r} != {schema['const']!r}")
    if isinstance(value, str):
        if len(value) < schema.get("minLength", 0):
            out.append(f"{where}: too short")
        if "pattern" in schema and not re.search(schema["pattern"], value):
            out.append(f"{where}: does not match {schema['pattern']}")
    if isinstance(value, dict):
        out += [f"{where}: missing {k}" for k in schema.get("required", []) if k not in value]
        for key, sub in schema.get("properties", {}).items():
            if key in value:
                out += _errors(value[key], sub, root, f"{where}.{key}")
    if isinstance(value, list):
        if len(value) < schema.get("minItems", 0):
            out.append(f"{where}: fewer than {schema['minItems']} items")
        for i, item in enumerate(value):
            out += _errors(item, schema.get("items", {}), root, f"{where}[{i}]")
    for rule in schema.get("allOf", []):
        if not _errors(value, rule["if"], root, where):
            out += _errors(value, rule["then"], root, where)
    return out


def test_docs_show_the_generated_schema():
    text = DATA_MD.read_text(encoding="utf-8")
    block = text.split("<!-- session-schema:start -->")[1].split("<!-- session-schema:end -->")[0]
    shown = json.loads(block.strip().removeprefix("```json").removesuffix("```"))
    assert shown == session_schema()


def test_every_written_line_satisfies_the_schema(tmp_path):
    from shop_env.corpus import load_corpus

    schema = session_schema()
    sessions = fixture_sessions() + list(load_corpus("demo", split="valid")[:3])
    path = tmp_path / "s.jsonl"
    write_jsonl(sessions, path, split="train")
    for line in path.read_text(encoding="utf-8").splitlines():
        assert _errors(json.loads(line), schema, schema) == []
    assert len(load_jsonl(path, split="train")) == len(sessions)


@pytest.mark.parametrize("line, problem", [
    ({"steps": []}, "missing session_id"),
    ({"session_id": "s", "steps": [{"html": "", "action": {"type": "click"}}]}, "missing name"),
    ({"session_id": "s", "steps": [{"html": "", "action": {"type": "type_and_submit", "name": "q", "text": " "}}]},
     "does not match"),
    ({"session_id": "s", "outcome": "bought", "steps": [{"html": "", "action": {"type": "terminate"}}]}, "not in"),
])
def test_lines_the_loader_rejects_break_the_schema(tmp_path, line, problem):
    from shop_env.corpus import CorpusError

    schema = session_schema()
    assert any(problem in e for e in _errors(line, schema, schema))
    path = tmp_path / "bad.jsonl"
    path.write_text(json.dumps(line) + "\n")
    with pytest.raises(CorpusError):
        load_jsonl(path, split="train", valid_fraction=0, test_fraction=0)
