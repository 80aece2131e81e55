"""The project's own session format: JSON Lines, one :meth:`Session.to_dict` per line.

Format: each non-blank line is a JSON object, ``Session.to_dict()`` plus an optional
``"split"`` key (``"train"``, ``"valid"`` or ``"test"``). A step's optional screenshot is a
``"screenshot"`` path, relative to the file's folder (the loader makes it absolute, the
writers relative again when it lies under the output's folder), or ``"screenshot_png"``
(base64 PNG bytes). Files may be gzip-compressed
(``.jsonl.gz``; detected by content, not name). Users bring their own logs in this format;
``python -m shop_env.data convert`` writes any source to it.

Split rules:

- ``jsonl:FILE``: a line's explicit ``"split"`` wins; lines without one are assigned by
  :func:`shop_env.splits.assign_split` (seeded hash of the session id, ``valid_fraction``
  and ``test_fraction`` each 0.1 by default).
- ``jsonl:DIR``: DIR holds ``train.jsonl``, ``valid.jsonl``, ``test.jsonl`` (each may be
  ``.gz``). The file names the split; a line's ``"split"`` key, if present, must agree. When
  there is no valid file, ``valid`` is carved from ``train.jsonl`` by
  :func:`shop_env.splits.carve_valid` (``valid_fraction``, ``seed``). A missing train or
  test file is an error when that split is asked for.

Laziness: loading reads every line once, validates it and records its byte offset;
indexing re-reads just that line. Memory holds offsets, not sessions. A gzip file cannot
be seeked cheaply, so it is decompressed once, while indexing, into a temporary plain file
(deleted with the corpus); memory stays bounded, at the cost of disk space.

Errors name the file, the row (the 1-based line number) and the field (a path such as
``steps[3].action.type``). ``skip_invalid=True`` skips bad lines and lists them in
:attr:`Corpus.skipped`.
"""

from __future__ import annotations

import gzip
import json
import logging
import os
import tempfile
import weakref
import zlib
from collections.abc import Callable, Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

from ..core.atomic import atomic_path, json_text
from ..core.types import ACTION_TYPES, OUTCOMES, Session, gold_action_problem
from ..corpus import Corpus, CorpusError
from ..splits import SPLITS, assign_split, carve_valid

__all__ = [
    "SPLIT_KEY",
    "JsonlCorpus",
    "load_jsonl",
    "session_schema",
    "session_from_record",
    "write_jsonl",
    "write_jsonl_splits",
]

log = logging.getLogger(__name__)

#: Optional per-line key naming the session's split.
SPLIT_KEY = "split"
_GZIP_MAGIC = b"\x1f\x8b"


def _check_optional_str(value: Any, file: str, row: int, field: str) -> None:
    if value is not None and not isinstance(value, str):
        raise CorpusError(f"must be a string or null, got {type(value).__name__}", file=file, row=row, field=field)


def session_from_record(record: Any, *, file: str = "<jsonl>", row: int | None = None) -> Session:
    """A :class:`Session` from one decoded JSONL record, with errors naming the exact field.

    Raises:
        CorpusError: naming ``file``, ``row`` and the field path (``steps[2].action.name``).
    """
    if not isinstance(record, Mapping):
        raise CorpusError(f"line must be a JSON object, got {type(record).__name__}", file=file, row=row)
    sid = record.get("session_id")
    if not isinstance(sid, str) or not sid:
        raise CorpusError("missing or empty session_id", file=file, row=row, field="session_id")
    steps = record.get("steps")
    if not isinstance(steps, list):
        raise CorpusError("steps must be a list", file=file, row=row, field="steps")
    if not steps:
        raise CorpusError(f"session {sid!r} has no steps", file=file, row=row, field="steps")
    for i, step in enumerate(steps):
        where = f"steps[{i}]"
        if not isinstance(step, Mapping):
            raise CorpusError("step must be an object", file=file, row=row, field=where)
        if not isinstance(step.get("html"), str):
            raise CorpusError("missing html string", file=file, row=row, field=f"{where}.html")
        action = step.get("action")
        if not isinstance(action, Mapping):
            raise CorpusError("missing action object", file=file, row=row, field=f"{where}.action")
        if action.get("type") not in ACTION_TYPES:
            raise CorpusError(f"unknown action type {action.get('type')!r}; expected one of {ACTION_TYPES}",
                              file=file, row=row, field=f"{where}.action.type")
        for key in ("name", "text"):
            _check_optional_str(action.get(key), file, row, f"{where}.action.{key}")
        problem = gold_action_problem(action.get("type"), action.get("name"), action.get("text"))
        if problem is not None:
            raise CorpusError(problem[1], file=file, row=row, field=f"{where}.action.{problem[0]}")
        for key in ("rationale", "rationale_source", "url", "click_type", "timestamp", "action_id"):
            _check_optional_str(step.get(key), file, row, f"{where}.{key}")
        if step.get("page_meta") is not None and not isinstance(step.get("page_meta"), Mapping):
            raise CorpusError("page_meta must be an object", file=file, row=row, field=f"{where}.page_meta")
        for key in ("screenshot", "screenshot_png"):
            _check_optional_str(step.get(key), file, row, f"{where}.{key}")
    if record.get("outcome", "terminate") not in OUTCOMES:
        raise CorpusError(f"outcome must be one of {OUTCOMES}, got {record.get('outcome')!r}",
                          file=file, row=row, field="outcome")
    _check_optional_str(record.get("user_id"), file, row, "user_id")
    for key in ("persona", "metadata"):
        if record.get(key) is not None and not isinstance(record.get(key), Mapping):
            raise CorpusError(f"{key} must be an object or null", file=file, row=row, field=key)
    if file != "<jsonl>" and any(isinstance(step.get("screenshot"), str) for step in steps):
        record = {**record, "steps": [_absolute_screenshot(step, Path(file).resolve().parent) for step in steps]}
    try:
        return Session.from_dict(record)
    except (TypeError, ValueError) as exc:
        raise CorpusError(str(exc), file=file, row=row) from None


def _absolute_screenshot(step: Mapping[str, Any], folder: Path) -> Mapping[str, Any]:
    """A step whose screenshot path, stored relative to its JSONL file's folder, is absolute."""
    path = step.get("screenshot")
    if not isinstance(path, str) or os.path.isabs(path):
        return step
    return {**step, "screenshot": str(folder / path)}


def _relative_screenshots(record: dict[str, Any], folder: Path) -> dict[str, Any]:
    """Screenshot paths inside ``folder`` written relative to it (so the files move with the JSONL)."""
    for step in record["steps"]:
        path = step.get("screenshot")
        if isinstance(path, str) and os.path.isabs(path):
            try:
                step["screenshot"] = Path(path).resolve().relative_to(folder).as_posix()
            except ValueError:
                pass
    return record


# --------------------------------------------------------------------------- schema

_FIELD_TEXT = {
    "session_id": "unique id of the session", "steps": "the steps, in order (at least one)",
    "user_id": "the shopper's id", "persona": "the shopper's persona (any JSON object)",
    "outcome": "how the session ended", "metadata": "anything else (any JSON object)",
    "html": "simplified HTML of the page before the action", "action": "what the shopper did",
    "rationale": "why, first person, one short sentence", "rationale_source": "human, generated or synthesized",
    "url": "the page's URL", "click_type": "what kind of element a click hit (OPeRA's click types)",
    "timestamp": "ISO-8601 time of the action", "action_id": "the source's id of the action",
    "page_meta": "anything about the page (any JSON object)",
    "type": "click, type_and_submit or terminate", "name": "the target element's name attribute",
    "text": "the typed text (type_and_submit)",
}


def _field_schema(owner: type, name: str, hint: Any) -> dict[str, Any]:
    import typing

    from ..core.types import Action, Step

    text = {"description": _FIELD_TEXT[name]} if name in _FIELD_TEXT else {}
    if name == "outcome":
        return {"enum": list(OUTCOMES), **text}
    if name == "type" and owner is Action:
        return {"enum": list(ACTION_TYPES), **text}
    if hint is Action:
        return {"$ref": "#/$defs/action", **text}
    args = typing.get_args(hint)
    if typing.get_origin(hint) is tuple and args and args[0] is Step:
        return {"type": "array", "items": {"$ref": "#/$defs/step"}, "minItems": 1, **text}
    if hint is str:
        return {"type": "string", "minLength": 1 if name == "session_id" else 0, **text}
    nullable = type(None) in args
    kinds = [a for a in args if a is not type(None)] if nullable else [hint]
    if all(a is str for a in kinds):
        return {"type": ["string", "null"] if nullable else "string", **text}
    if all(typing.get_origin(a) in (Mapping, dict) or a in (Mapping, dict) for a in kinds):
        return {"type": ["object", "null"] if nullable else "object", **text}
    raise TypeError(f"no JSON Schema rule for {owner.__name__}.{name}: {hint!r}")


def _object_schema(cls: type, *, skip: tuple[str, ...] = ()) -> dict[str, Any]:
    import dataclasses
    import typing

    hints = typing.get_type_hints(cls)
    props, required = {}, []
    for f in dataclasses.fields(cls):
        if f.name in skip:
            continue
        props[f.name] = _field_schema(cls, f.name, hints[f.name])
        if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
            required.append(f.name)
    return {"type": "object", "properties": props, "required": required}


def session_schema() -> dict[str, Any]:
    """The JSON Schema (draft 2020-12) of one line of the JSONL session format.

    Generated from the data model (:class:`~shop_env.core.types.Session`, ``Step``,
    ``Action``): every field with its JSON type, the required ones, the gold-action rules
    (a click names its element; a ``type_and_submit`` names its input and gives the text) and
    the optional ``split`` key. ``docs/DATA.md`` shows it; a test checks the two agree. Extra
    keys are allowed (and ignored by the loader).
    """
    from ..core.types import Action, Session, Step

    step = _object_schema(Step, skip=("screenshot",))
    step["properties"]["screenshot"] = {"type": ["string", "null"],
                                        "description": "path of a PNG of the viewport, relative to the file"}
    step["properties"]["screenshot_png"] = {"type": "string", "contentEncoding": "base64",
                                            "description": "the PNG itself, base64 (instead of screenshot)"}
    action = _object_schema(Action)
    nonempty = {"type": "string", "pattern": "\\S"}
    action["allOf"] = [
        {"if": {"properties": {"type": {"const": "click"}}},
         "then": {"required": ["name"], "properties": {"name": nonempty}}},
        {"if": {"properties": {"type": {"const": "type_and_submit"}}},
         "then": {"required": ["name", "text"], "properties": {"name": nonempty, "text": nonempty}}},
    ]
    line = _object_schema(Session)
    line["properties"][SPLIT_KEY] = {"enum": list(SPLITS), "description": "the session's split (optional)"}
    return {"$schema": "https://json-schema.org/draft/2020-12/schema", "title": "shop-r1-gym JSONL session line",
            **line, "$defs": {"step": step, "action": action}}


# --------------------------------------------------------------------------- writing


def _write_records(records: Iterable[Mapping[str, Any]], path: str | Path) -> int:
    """Write records as JSON lines atomically (gzip-compressed when ``path`` ends in ``.gz``)."""
    path = Path(path)
    count = 0
    with atomic_path(path) as tmp:
        opener = (lambda: gzip.GzipFile(tmp, mode="wb", mtime=0)) if path.name.endswith(".gz") else (lambda: tmp.open("wb"))
        with opener() as handle:
            for record in records:
                handle.write(json_text(record, separators=(",", ":")).encode("utf-8"))
                handle.write(b"\n")
                count += 1
    return count


def _record(session: Session, split: str | None, folder: Path | None = None) -> dict[str, Any]:
    record = session.to_dict()
    if folder is not None:
        record = _relative_screenshots(record, folder)
    if split is not None:
        if split not in SPLITS:
            raise ValueError(f"unknown split {split!r}; expected one of {SPLITS}")
        record = {"session_id": record.pop("session_id"), SPLIT_KEY: split, **record}
    return record


def write_jsonl(sessions: Iterable[Session], path: str | Path, *, split: str | None = None) -> int:
    """Write sessions to ``path`` (``.gz`` compresses) atomically; returns the number written.

    Args:
        sessions: any iterable of sessions (a corpus streams; nothing is held in memory).
        path: output file; an existing file is replaced only once writing succeeded.
        split: if given, every line carries ``"split": split``.
    """
    folder = Path(path).resolve().parent
    return _write_records((_record(s, split, folder) for s in sessions), path)


def write_jsonl_splits(splits: Mapping[str, Iterable[Session]], path: str | Path) -> int:
    """Write several splits into one file, each line tagged with its split (so loading restores them)."""

    folder = Path(path).resolve().parent

    def records() -> Iterator[dict[str, Any]]:
        for name, sessions in splits.items():
            for session in sessions:
                yield _record(session, name, folder)

    return _write_records(records(), path)


# --------------------------------------------------------------------------- reading


class _LineIndex:
    """Byte offsets of lines in one plain file; the plain copy of a gzip file when needed."""

    def __init__(self, label: str) -> None:
        self.label = label
        self.plain_path = label
        self._cleanup: weakref.finalize | None = None

    def __getstate__(self) -> dict[str, Any]:
        # A pickled copy reads the same temporary file but does not own it: the original deletes it.
        return {**self.__dict__, "_cleanup": None}

    def iter_lines(self) -> Iterator[tuple[int, int, int, bytes]]:
        """Yield (line number, offset, length, bytes) of every line, decompressing gzip to a temp file."""
        with open(self.label, "rb") as probe:
            compressed = probe.read(2) == _GZIP_MAGIC
        if not compressed:
            with open(self.label, "rb") as handle:
                offset = 0
                for number, line in enumerate(handle, start=1):
                    yield number, offset, len(line), line
                    offset += len(line)
            return
        fd, tmp = tempfile.mkstemp(prefix="shop_env_jsonl_", suffix=".jsonl")
        self.plain_path = tmp
        self._cleanup = weakref.finalize(self, _unlink_quietly, tmp)
        number, offset = 0, 0
        with os.fdopen(fd, "wb") as out, gzip.open(self.label, "rb") as handle:
            try:
                for number, line in enumerate(handle, start=1):
                    out.write(line)
                    yield number, offset, len(line), line
                    offset += len(line)
            except (EOFError, OSError, zlib.error) as exc:
                raise CorpusError(f"truncated or corrupt gzip stream ({exc})", file=self.label,
                                  row=number + 1) from None

    def read(self, offset: int, length: int) -> bytes:
        with open(self.plain_path, "rb") as handle:
            handle.seek(offset)
            return handle.read(length)


def _unlink_quietly(path: str) -> None:
    try:
        os.unlink(path)
    except OSError:
        pass


class JsonlCorpus(Corpus):
    """One split of a JSONL source: byte offsets per session, sessions parsed when indexed."""

    def __init__(self, source: str, split: str) -> None:
        super().__init__()
        self.source, self.split = source, split
        self._files: list[_LineIndex] = []
        # one entry per session: (file index, offset, length, line number, session id, steps)
        self._entries: list[tuple[int, int, int, int, str, int]] = []
        self._all_generated = True
        self._valid_lines = 0

    def _add_file(self, path: Path, include: Callable[[str, str | None, str, int], bool], *,
                  skip_invalid: bool, seen: dict[str, tuple[str, int]]) -> None:
        label = str(path)
        lines = _LineIndex(label)
        part = len(self._files)
        self._files.append(lines)
        valid = 0
        for number, offset, length, raw in lines.iter_lines():
            if not raw.strip():
                continue
            try:
                record = _decode_line(raw, label, number)
                session = session_from_record(record, file=label, row=number)
                valid += 1
                explicit = record.get(SPLIT_KEY)
                if explicit is not None and explicit not in SPLITS:
                    raise CorpusError(f"unknown split {explicit!r}; expected one of {SPLITS}", file=label,
                                      row=number, field=SPLIT_KEY)
                if not include(session.session_id, explicit, label, number):
                    continue
                if session.session_id in seen:
                    first = seen[session.session_id]
                    raise CorpusError(f"duplicate session_id {session.session_id!r} (first at {first[0]} "
                                      f"row {first[1]})", file=label, row=number, field="session_id")
            except CorpusError as exc:
                if not skip_invalid:
                    raise
                self.skipped.append(str(exc))
                continue
            seen[session.session_id] = (label, number)
            self._all_generated &= session.generated
            self._entries.append((part, offset, length, number, session.session_id, len(session)))
        self._valid_lines += valid

    def _finish(self) -> JsonlCorpus:
        self.generated = bool(self._entries) and self._all_generated
        if self.skipped and self._valid_lines == 0:
            raise CorpusError(f"every line was invalid: {len(self.skipped)} skipped (skip_invalid=True) and none "
                              f"left, so the corpus would be empty; the first: {self.skipped[0]}",
                              file=str(self._files[0].label) if self._files else None)
        if self.skipped:
            log.warning("%s: skipped %d invalid lines", self.source, len(self.skipped))
        return self

    def session_ids(self) -> list[str]:
        return [entry[4] for entry in self._entries]

    def __len__(self) -> int:
        return len(self._entries)

    def step_counts(self) -> list[int]:
        return [entry[5] for entry in self._entries]

    def _load(self, index: int) -> Session:
        part, offset, length, number, _, _ = self._entries[index]
        lines = self._files[part]
        raw = lines.read(offset, length)
        if len(raw) != length:
            raise CorpusError("file changed or shrank since it was indexed", file=lines.label, row=number)
        return session_from_record(_decode_line(raw, lines.label, number), file=lines.label, row=number)


def _decode_line(raw: bytes, label: str, number: int) -> Any:
    """One line's JSON value, or a :class:`CorpusError` naming the file and row (never RecursionError)."""
    try:
        return json.loads(raw)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        last = not raw.endswith(b"\n")
        what = "truncated file: the last line is incomplete JSON" if last else "malformed JSON"
        raise CorpusError(f"{what} ({getattr(exc, 'msg', exc)})", file=label, row=number) from None
    except RecursionError:
        raise CorpusError("JSON nested too deeply to read (more levels than Python's recursion limit)",
                          file=label, row=number) from None


def _split_file(folder: Path, split: str) -> Path | None:
    for name in (f"{split}.jsonl", f"{split}.jsonl.gz"):
        if (folder / name).is_file():
            return folder / name
    return None


def load_jsonl(path: str | Path, split: str = "train", *, valid_fraction: float = 0.1, test_fraction: float = 0.1,
               seed: int = 0, skip_invalid: bool = False) -> JsonlCorpus:
    """Load one split of a JSONL file or folder (``load_corpus("jsonl:PATH")``); rules in the module docstring.

    Args:
        path: a ``.jsonl`` / ``.jsonl.gz`` file, or a folder of ``{train,valid,test}.jsonl[.gz]``.
        split: ``"train"``, ``"valid"`` or ``"test"``.
        valid_fraction, test_fraction, seed: for sessions without an explicit split.
        skip_invalid: skip bad lines (listed in ``corpus.skipped``) instead of raising.

    Raises:
        CorpusError: a missing file, or a bad line (file, line number and field named).
    """
    if split not in SPLITS:
        raise ValueError(f"unknown split {split!r}; expected one of {SPLITS}")
    if not str(path):
        raise ValueError("jsonl source needs a path: 'jsonl:PATH'")
    folder_or_file = Path(path).expanduser()
    corpus = JsonlCorpus(f"jsonl:{path}", split)
    seen: dict[str, tuple[str, int]] = {}

    if folder_or_file.is_file():
        def by_key_or_hash(sid: str, explicit: str | None, file: str, row: int) -> bool:
            chosen = explicit or assign_split(sid, valid_fraction=valid_fraction, test_fraction=test_fraction,
                                              seed=seed)
            return chosen == split

        corpus._add_file(folder_or_file, by_key_or_hash, skip_invalid=skip_invalid, seen=seen)
        return corpus._finish()

    if not folder_or_file.is_dir():
        raise CorpusError("no such file or folder", file=str(folder_or_file))
    files = {name: _split_file(folder_or_file, name) for name in SPLITS}
    if not any(files.values()):
        raise CorpusError("folder has no train.jsonl, valid.jsonl or test.jsonl (.gz allowed)",
                          file=str(folder_or_file))
    carve = files["valid"] is None
    wanted = "train" if split == "valid" and carve else split
    file = files[wanted]
    if file is None:
        raise CorpusError(f"folder has no {wanted}.jsonl (.gz allowed) for split {split!r}",
                          file=str(folder_or_file))

    def by_file(sid: str, explicit: str | None, label: str, row: int) -> bool:
        if explicit is not None and explicit != wanted:
            raise CorpusError(f"line says split {explicit!r} but is in the {wanted} file", file=label, row=row,
                              field=SPLIT_KEY)
        if wanted == "train" and carve:
            return carve_valid(sid, fraction=valid_fraction, seed=seed) == (split == "valid")
        return True

    corpus._add_file(file, by_file, skip_invalid=skip_invalid, seen=seen)
    return corpus._finish()
