"""OPeRA (``NEU-HAI/OPeRA``): real shopping sessions from a local parquet copy or a ``datasets`` object.

The action table is one row per logged action. A session is the rows that share a
``session_id``, ordered by ``timestamp`` (ties keep file order). Rows map to the paper's
action space: ``click`` -> ``click(name=semantic_id)``, ``input`` ->
``type_and_submit(name=semantic_id, text=input_text)``, ``terminate`` -> ``terminate``.
The ``full`` config also logs ``scroll``, ``navigation`` and ``tab_activate`` (spelled
``tabActivate`` too); they are not in the paper's action space, so they are skipped by
default and counted in :attr:`OperaCorpus.dropped_actions` (``other_actions="error"``
makes them an error instead).

Outcome rule: a session's outcome is ``"purchase"`` when its last kept click has
``click_type`` ``purchase``, else ``"terminate"`` (``outcome_rule="last"``, the default). OPeRA's ``purchase`` click type also covers add to cart, so
``outcome_rule="any"`` (any purchase click in the session) also counts a shopper who added
to the cart and then left.

Laziness: loading reads only the small columns (ids, timestamps, action fields,
``page_meta``) to build an index of (file, row group, row) per session and to validate
every row up front. A session's pages are read when it is indexed, one row group at a
time, and at most one row group is cached, so peak memory is bounded by the largest row
group, not by the corpus (pyarrow cannot stream within a row group; see
``benchmarks/perf_loading.py``). ``products``, ``element_meta`` and the image columns are
never read.

Errors name the file, the row (0-based row number within that parquet file, or within the
``datasets`` split) and the field. With ``skip_invalid=True`` bad rows are skipped and
listed in :attr:`Corpus.skipped`; a session left with no rows is skipped too.
"""

from __future__ import annotations

import json
import logging
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping, Sequence
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, NamedTuple

from ..core.types import Action, Session, Step, gold_action_problem
from ..corpus import Corpus, CorpusError
from ..splits import SPLITS, carve_valid

__all__ = [
    "ACTION_COLUMNS",
    "CLICK_TYPES",
    "EXTRA_ACTION_TYPES",
    "OPERA_CONFIGS",
    "OperaCorpus",
    "PAPER_ACTION_TYPES",
    "load_opera",
    "load_opera_dataset",
    "opera_user_id",
    "personas_from_rows",
]

log = logging.getLogger(__name__)

OPERA_CONFIGS: tuple[str, ...] = ("filtered", "full")
#: OPeRA action types that map onto the paper's action space.
PAPER_ACTION_TYPES: tuple[str, ...] = ("click", "input", "terminate")
#: Action types of the ``full`` config outside the paper's action space (canonical spelling).
EXTRA_ACTION_TYPES: tuple[str, ...] = ("scroll", "navigation", "tab_activate")
_ACTION_TYPE_ALIASES = {"tabActivate": "tab_activate"}
#: The 13 click types of OPeRA's card (others are carried through unchanged).
CLICK_TYPES: tuple[str, ...] = (
    "purchase", "search", "review", "filter", "quantity", "product_option", "cart_side_bar",
    "suggested_term", "nav_bar", "page_related", "cart_page_select", "product_link", "other",
)
#: Columns of the action table this loader needs (both configs have them all).
ACTION_COLUMNS: tuple[str, ...] = (
    "session_id", "action_id", "timestamp", "action_type", "click_type", "semantic_id", "url",
    "page_meta", "simplified_html", "rationale", "input_text",
)
_INDEX_COLUMNS: tuple[str, ...] = (
    "session_id", "action_id", "timestamp", "action_type", "click_type", "semantic_id", "input_text",
    "page_meta",
)
_STEP_COLUMNS: tuple[str, ...] = (
    "action_id", "timestamp", "action_type", "click_type", "semantic_id", "url", "page_meta",
    "simplified_html", "rationale", "input_text",
)
_HTML = "simplified_html"


class _RowRef(NamedTuple):
    """Where one action row lives, and its sort key within its session."""

    when: datetime
    order: int  # global row order, breaks timestamp ties
    part: int  # file index (parquet) or 0 (datasets)
    group: int  # row group (parquet) or 0 (datasets)
    offset: int  # row within the row group (parquet) or within the split (datasets)
    row: int  # row number within the file, for error messages


class _SessionEntry(NamedTuple):
    session_id: str
    refs: tuple[_RowRef, ...]
    outcome: str
    dropped: int


def opera_user_id(session_id: str) -> str | None:
    """The user id inside an OPeRA session id ``{user_id}_{start}_{end}`` (None if not of that form)."""
    parts = session_id.rsplit("_", 2)
    return parts[0] if len(parts) == 3 and parts[0] else None


def _parse_timestamp(value: Any) -> datetime:
    """ISO-8601 timestamp as an aware UTC datetime (naive ones are taken as UTC).

    A datetime (a parquet ``timestamp`` column) is taken as is; any other type is named.
    """
    if isinstance(value, datetime):
        return value.replace(tzinfo=timezone.utc) if value.tzinfo is None else value.astimezone(timezone.utc)
    if value is None or value == "":
        raise ValueError("missing timestamp")
    if not isinstance(value, str):
        raise ValueError(f"timestamp must be an ISO-8601 string, got {_type_name(value)} {str(value)[:40]!r} "
                         "(OPeRA's timestamp column holds strings such as '2025-03-01T12:00:00Z')")
    try:
        when = datetime.fromisoformat(value.strip())
    except ValueError:
        raise ValueError(f"not an ISO-8601 timestamp: {value[:40]!r}") from None
    return when.replace(tzinfo=timezone.utc) if when.tzinfo is None else when.astimezone(timezone.utc)


def _type_name(value: Any) -> str:
    """The type of a cell as a user reads it: ``int64`` for numpy and Python integers, ``float64``, ..."""
    dtype = getattr(value, "dtype", None)
    if dtype is not None:
        return str(dtype)
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int):
        return "int64"
    if isinstance(value, float):
        return "float64"
    return type(value).__name__


def _parse_json_object(value: Any, what: str) -> dict[str, Any]:
    """A JSON-object string field; null or empty gives ``{}``."""
    if value is None or value == "":
        return {}
    if not isinstance(value, str):
        raise ValueError(f"{what} must be a JSON string, got {type(value).__name__}")
    try:
        parsed = json.loads(value)
    except json.JSONDecodeError as exc:
        raise ValueError(f"malformed JSON in {what}: {exc.msg} at char {exc.pos}") from None
    except RecursionError:
        raise ValueError(f"JSON in {what} is nested too deeply to read (more levels than Python's recursion "
                         "limit)") from None
    if not isinstance(parsed, dict):
        raise ValueError(f"{what} must be a JSON object, got {type(parsed).__name__}")
    return parsed


def _canonical_action_type(value: Any) -> str:
    if not isinstance(value, str):
        raise ValueError("missing action_type")
    action_type = _ACTION_TYPE_ALIASES.get(value, value)
    if action_type not in PAPER_ACTION_TYPES and action_type not in EXTRA_ACTION_TYPES:
        raise ValueError(
            f"unknown action type {value!r}; expected one of {PAPER_ACTION_TYPES + EXTRA_ACTION_TYPES}"
        )
    return action_type


#: the gold action's fields as OPeRA's columns, and what each holds
_GOLD_COLUMNS = {"name": ("semantic_id", "the target element's name"), "text": ("input_text", "the typed text")}


def _row_problem(row: Mapping[str, Any]) -> tuple[str, str] | None:
    """The first problem of an action row as (field, message), or None when it is valid."""
    sid = row.get("session_id")
    if not isinstance(sid, str) or not sid:
        return "session_id", "missing session_id"
    try:
        _parse_timestamp(row.get("timestamp"))
    except ValueError as exc:
        return "timestamp", str(exc)
    try:
        action_type = _canonical_action_type(row.get("action_type"))
    except ValueError as exc:
        return "action_type", str(exc)
    if action_type in ("click", "input"):
        # the same rule as every gold action (shop_env.core.types.gold_action_problem), in OPeRA's columns
        gold_type = "click" if action_type == "click" else "type_and_submit"
        problem = gold_action_problem(gold_type, row.get("semantic_id"), row.get("input_text"))
        if problem is not None:
            column, what = _GOLD_COLUMNS[problem[0]]
            return column, f"{action_type} action with no {column} ({what}), got {row.get(column)!r}"
    if action_type in PAPER_ACTION_TYPES:
        try:
            _parse_json_object(row.get("page_meta"), "page_meta")
        except ValueError as exc:
            return "page_meta", str(exc)
    return None


def _none_if_empty(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def _step_from_row(row: Mapping[str, Any], *, file: str, row_number: int) -> Step:
    """One kept (paper-action) OPeRA row as a :class:`Step`."""
    html = row.get(_HTML)
    if not isinstance(html, str):
        raise CorpusError("action row has no simplified_html", file=file, row=row_number, field=_HTML)
    action_type = _canonical_action_type(row["action_type"])
    if action_type == "click":
        action = Action.click(row["semantic_id"])
    elif action_type == "input":
        action = Action.type_and_submit(row["semantic_id"], row["input_text"])
    else:
        action = Action.terminate()
    rationale = row.get("rationale")
    has_rationale = isinstance(rationale, str) and bool(rationale.strip())
    return Step(
        html=html,
        action=action,
        rationale=rationale if has_rationale else None,
        rationale_source="human" if has_rationale else None,
        url=_none_if_empty(row.get("url")),
        click_type=_none_if_empty(row.get("click_type")),
        timestamp=(row["timestamp"].isoformat() if isinstance(row.get("timestamp"), datetime)
                   else _none_if_empty(row.get("timestamp"))),
        action_id=_none_if_empty(row.get("action_id")),
        page_meta=_parse_json_object(row.get("page_meta"), "page_meta"),
    )


def personas_from_rows(rows: Iterable[Mapping[str, Any]], *, file: str = "<users>",
                       skip_invalid: bool = False, skipped: list[str] | None = None) -> dict[str, dict[str, Any]]:
    """Persona (parsed ``survey`` JSON) per ``user_id`` from rows of OPeRA's user table.

    Args:
        rows: mappings with ``user_id`` and ``survey`` (a JSON string or an already parsed dict).
        file: label used in error messages.
        skip_invalid: skip users whose survey is malformed instead of raising.
        skipped: list that receives one reason per skipped user.
    """
    personas: dict[str, dict[str, Any]] = {}
    for i, row in enumerate(rows):
        user_id = row.get("user_id")
        survey = row.get("survey")
        try:
            if not isinstance(user_id, str) or not user_id:
                raise CorpusError("missing user_id", file=file, row=i, field="user_id")
            if isinstance(survey, Mapping):
                personas[user_id] = dict(survey)
                continue
            try:
                persona = _parse_json_object(survey, "survey")
            except ValueError as exc:
                raise CorpusError(str(exc), file=file, row=i, field="survey") from None
            if persona:
                personas[user_id] = persona
        except CorpusError as exc:
            if not skip_invalid:
                raise
            if skipped is not None:
                skipped.append(str(exc))
    return personas


# --------------------------------------------------------------------------- row stores


class _ParquetRows:
    """Reads OPeRA action parquet files: small columns for the index, one cached row group for pages."""

    def __init__(self, files: Sequence[Path]) -> None:
        self.files = [str(f) for f in files]
        self._cache_key: tuple[int, int] | None = None
        self._cache: Any = None
        self._columns_by_file: dict[int, list[str]] = {}

    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        state["_cache_key"], state["_cache"] = None, None
        return state

    def label(self, part: int) -> str:
        return self.files[part]

    def _open(self, part: int) -> Any:
        import pyarrow as pa
        import pyarrow.parquet as pq

        try:
            return pq.ParquetFile(self.files[part])
        except (pa.ArrowInvalid, OSError) as exc:
            raise CorpusError(f"not a readable parquet file (truncated or corrupt?): {exc}",
                              file=self.files[part]) from None

    def index_batches(self) -> Iterator[tuple[int, int, int, int, Any]]:
        """Yield (part, group, base_offset, first_row, table of the index columns) per row group."""
        import pyarrow as pa

        for part, path in enumerate(self.files):
            pf = self._open(part)
            names = pf.schema_arrow.names
            for column in ACTION_COLUMNS:
                if column not in names:
                    raise CorpusError(f"action table has no column {column!r} (columns: {', '.join(names)})",
                                      file=path, field=column)
            first_row = 0
            for group in range(pf.metadata.num_row_groups):
                try:
                    table = pf.read_row_group(group, columns=list(_INDEX_COLUMNS))
                except (pa.ArrowInvalid, OSError) as exc:
                    raise CorpusError(f"cannot read row group {group} (truncated or corrupt?): {exc}",
                                      file=path, row=first_row) from None
                yield part, group, 0, first_row, table
                first_row += table.num_rows

    def null_html(self, part: int, group: int) -> set[int]:
        """Offsets of rows in a row group whose simplified_html is null (cheap when statistics say none)."""
        import pyarrow.compute as pc

        pf = self._open(part)
        meta = pf.metadata.row_group(group)
        column = pf.schema_arrow.get_field_index(_HTML)
        stats = meta.column(column).statistics
        if stats is not None and stats.null_count == 0:
            return set()
        html = pf.read_row_group(group, columns=[_HTML]).column(0)
        mask = pc.is_null(html).to_pylist()
        return {i for i, is_null in enumerate(mask) if is_null}

    def rows(self, part: int, group: int, offsets: Sequence[int]) -> list[dict[str, Any]]:
        """Rows of one row group, with the step columns; keeps that row group cached."""
        import pyarrow as pa

        if self._cache_key != (part, group):
            self._cache, self._cache_key = None, None  # free the old group before reading the next
            try:
                self._cache = self._open(part).read_row_group(group, columns=list(_STEP_COLUMNS))
            except (pa.ArrowInvalid, OSError) as exc:
                raise CorpusError(f"cannot read row group {group} (truncated or corrupt?): {exc}",
                                  file=self.files[part]) from None
            self._cache_key = (part, group)
        return [self._cache.slice(offset, 1).to_pylist()[0] for offset in offsets]


class _DatasetRows:
    """Reads an already loaded ``datasets.Dataset`` of OPeRA's action table (arrow, memory-mapped)."""

    def __init__(self, dataset: Any, label: str) -> None:
        missing = [c for c in ACTION_COLUMNS if c not in dataset.column_names]
        if missing:
            raise CorpusError(f"dataset has no column {missing[0]!r} (columns: {', '.join(dataset.column_names)})",
                              file=label, field=missing[0])
        self._dataset = dataset.with_format(None)
        self._label = label

    def label(self, part: int) -> str:
        return self._label

    def index_batches(self, batch_rows: int = 1000) -> Iterator[tuple[int, int, int, int, Any]]:
        small = self._dataset.select_columns(list(_INDEX_COLUMNS)).with_format("arrow")
        start = 0
        for table in small.iter(batch_size=batch_rows):
            yield 0, 0, start, start, table
            start += table.num_rows

    def null_html(self, part: int, group: int) -> set[int]:
        import pyarrow.compute as pc

        if getattr(self._dataset, "_indices", None) is None and self._dataset.data.column(_HTML).null_count == 0:
            return set()  # no index mapping: the arrow column's null count is exact and free
        html = self._dataset.select_columns([_HTML]).with_format("arrow")
        nulls: set[int] = set()
        start = 0
        for table in html.iter(batch_size=256):
            column = table.column(0)
            if column.null_count:
                nulls.update(start + i for i, n in enumerate(pc.is_null(column).to_pylist()) if n)
            start += table.num_rows
        return nulls

    def rows(self, part: int, group: int, offsets: Sequence[int]) -> list[dict[str, Any]]:
        batch = self._dataset.select_columns(list(_STEP_COLUMNS))[list(offsets)]
        return [{c: batch[c][i] for c in _STEP_COLUMNS} for i in range(len(offsets))]


# --------------------------------------------------------------------------- the corpus


class OperaCorpus(Corpus):
    """One split of OPeRA as a lazy corpus (see the module docstring for the rules).

    Attributes:
        config: ``"filtered"`` or ``"full"``.
        dropped_actions: rows of action types outside the paper's space, skipped, per type.
        dropped_sessions: sessions with no paper action left after dropping those rows.
    """

    def __init__(self, rows: _ParquetRows | _DatasetRows, *, split: str, opera_split: str, source: str,
                 config: str, personas: Mapping[str, Mapping[str, Any]], session_users: Mapping[str, str],
                 expected_sessions: Mapping[str, tuple[str, int]], valid_fraction: float, seed: int,
                 skip_invalid: bool, other_actions: str, outcome_rule: str,
                 skipped: Sequence[str] = ()) -> None:
        super().__init__()
        if split not in SPLITS:
            raise ValueError(f"unknown split {split!r}; expected one of {SPLITS}")
        if other_actions not in ("skip", "error"):
            raise ValueError(f"other_actions must be 'skip' or 'error', got {other_actions!r}")
        if outcome_rule not in ("any", "last"):
            raise ValueError(f"outcome_rule must be 'any' or 'last', got {outcome_rule!r}")
        self.source, self.split, self.generated = source, split, False
        self.config, self.opera_split = config, opera_split
        self.skipped.extend(skipped)
        self.dropped_actions: Counter[str] = Counter()
        self.dropped_sessions = 0
        self._rows = rows
        self._personas = dict(personas)
        self._session_users = dict(session_users)
        self._skip_invalid = skip_invalid
        self._valid_rows = 0
        self._entries = self._build_index(expected_sessions, valid_fraction=valid_fraction, seed=seed,
                                          other_actions=other_actions, outcome_rule=outcome_rule)
        if self.skipped and not self._valid_rows:
            raise CorpusError(f"every action row was invalid: {len(self.skipped)} rows or sessions skipped "
                              f"(skip_invalid=True) and none left, so the corpus would be empty; the first: "
                              f"{self.skipped[0]}", file=source)
        if self.skipped:
            log.warning("%s: skipped %d invalid rows or sessions", source, len(self.skipped))

    def _reject(self, message: str, *, file: str, row: int | None = None, field: str | None = None) -> None:
        error = CorpusError(message, file=file, row=row, field=field)
        if not self._skip_invalid:
            raise error
        self.skipped.append(str(error))

    def _build_index(self, expected_sessions: Mapping[str, tuple[str, int]], *, valid_fraction: float,
                     seed: int, other_actions: str, outcome_rule: str) -> list[_SessionEntry]:
        by_session: dict[str, list[tuple[_RowRef, str, str | None]]] = {}
        null_html: dict[tuple[int, int], set[int]] = {}
        order = 0
        for part, group, base, first_row, table in self._rows.index_batches():
            columns = {name: table.column(name).to_pylist() for name in _INDEX_COLUMNS}
            for i in range(table.num_rows):
                row = {name: values[i] for name, values in columns.items()}
                row_number, offset = first_row + i, base + i
                order += 1
                problem = _row_problem(row)
                if problem is not None:
                    self._reject(problem[1], file=self._rows.label(part), row=row_number, field=problem[0])
                    continue
                action_type = _canonical_action_type(row["action_type"])
                if action_type in PAPER_ACTION_TYPES:
                    if (part, group) not in null_html:
                        null_html[part, group] = self._rows.null_html(part, group)
                    if offset in null_html[part, group]:
                        self._reject("action row has no simplified_html", file=self._rows.label(part),
                                     row=row_number, field=_HTML)
                        continue
                elif other_actions == "error":
                    self._reject(f"action type {row['action_type']!r} is outside the paper's action space "
                                 "(pass other_actions='skip' to drop it)", file=self._rows.label(part),
                                 row=row_number, field="action_type")
                    continue
                ref = _RowRef(_parse_timestamp(row["timestamp"]), order, part, group, offset, row_number)
                self._valid_rows += 1
                by_session.setdefault(row["session_id"], []).append((ref, action_type, row.get("click_type")))

        for sid, (file, row_number) in expected_sessions.items():
            if sid not in by_session:
                self._reject("session listed in the session table has no (valid) action rows", file=file,
                             row=row_number, field="session_id")

        entries = []
        for sid, rows in by_session.items():
            in_valid = carve_valid(sid, fraction=valid_fraction, seed=seed) if self.opera_split == "train" else False
            wanted = ("valid" if in_valid else "train") if self.opera_split == "train" else "test"
            if wanted != self.split:
                continue
            rows.sort(key=lambda r: (r[0].when, r[0].order))
            kept = [r for r in rows if r[1] in PAPER_ACTION_TYPES]
            for _, action_type, _ in rows:
                if action_type not in PAPER_ACTION_TYPES:
                    self.dropped_actions[action_type] += 1
            if not kept:
                self.dropped_sessions += 1
                continue
            clicks = [click_type for _, action_type, click_type in kept if action_type == "click"]
            if outcome_rule == "any":
                purchase = "purchase" in clicks
            else:
                purchase = bool(clicks) and clicks[-1] == "purchase"
            entries.append(_SessionEntry(sid, tuple(r[0] for r in kept), "purchase" if purchase else "terminate",
                                         len(rows) - len(kept)))
        return entries

    def session_ids(self) -> list[str]:
        return [e.session_id for e in self._entries]

    def __len__(self) -> int:
        return len(self._entries)

    def step_counts(self) -> list[int]:
        return [len(e.refs) for e in self._entries]

    def _load(self, index: int) -> Session:
        entry = self._entries[index]
        by_group: dict[tuple[int, int], list[_RowRef]] = {}
        for ref in entry.refs:
            by_group.setdefault((ref.part, ref.group), []).append(ref)
        rows: dict[int, dict[str, Any]] = {}
        for (part, group), refs in sorted(by_group.items()):
            for ref, row in zip(refs, self._rows.rows(part, group, [r.offset for r in refs]), strict=True):
                rows[ref.order] = row
        steps = tuple(
            _step_from_row(rows[ref.order], file=self._rows.label(ref.part), row_number=ref.row)
            for ref in entry.refs
        )
        user_id = self._session_users.get(entry.session_id) or opera_user_id(entry.session_id)
        persona = self._personas.get(user_id) if user_id else None
        return Session(
            session_id=entry.session_id,
            steps=steps,
            user_id=user_id,
            persona=persona,
            outcome=entry.outcome,
            metadata={"source": "opera", "config": self.config, "opera_split": self.opera_split,
                      "generated": False, "dropped_actions": entry.dropped},
        )

    def describe(self) -> dict[str, Any]:
        info = super().describe()
        info.update(config=self.config, dropped_actions=dict(self.dropped_actions),
                    dropped_sessions=self.dropped_sessions)
        return info


# --------------------------------------------------------------------------- loaders


def _opera_split(split: str) -> str:
    if split not in SPLITS:
        raise ValueError(f"unknown split {split!r}; expected one of {SPLITS}")
    return "test" if split == "test" else "train"


def _read_small_table(path: Path, columns: Sequence[str], required: Sequence[str]) -> list[dict[str, Any]]:
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        pf = pq.ParquetFile(str(path))
    except (pa.ArrowInvalid, OSError) as exc:
        raise CorpusError(f"not a readable parquet file (truncated or corrupt?): {exc}", file=str(path)) from None
    names = pf.schema_arrow.names
    for column in required:
        if column not in names:
            raise CorpusError(f"table has no column {column!r}", file=str(path), field=column)
    return pf.read(columns=[c for c in columns if c in names]).to_pylist()


def _session_table(rows: Iterable[Mapping[str, Any]], file: str) -> tuple[dict[str, str], dict[str, tuple[str, int]]]:
    users: dict[str, str] = {}
    expected: dict[str, tuple[str, int]] = {}
    for i, row in enumerate(rows):
        sid = row.get("session_id")
        if not isinstance(sid, str) or not sid:
            raise CorpusError("missing session_id", file=file, row=i, field="session_id")
        expected[sid] = (file, i)
        if isinstance(row.get("user_id"), str) and row["user_id"]:
            users[sid] = row["user_id"]
    return users, expected


def _config_dir(root: Path, config: str) -> Path:
    if config not in OPERA_CONFIGS:
        raise ValueError(f"unknown OPeRA config {config!r}; expected one of {OPERA_CONFIGS}")
    if (root / "action").is_dir():  # DIR already names OPeRA_filtered/ or OPeRA_full/
        return root
    config_dir = root / f"OPeRA_{config}"
    if not config_dir.is_dir():
        found = sorted(p.name for p in root.iterdir()) if root.is_dir() else []
        raise CorpusError(f"no OPeRA_{config}/ folder (found: {', '.join(found) or 'nothing'}); "
                          "DIR must be the root of a local copy of NEU-HAI/OPeRA", file=str(root))
    return config_dir


def load_opera(root: str | Path, split: str = "train", *, config: str = "filtered", valid_fraction: float = 0.1,
               seed: int = 0, skip_invalid: bool = False, other_actions: str = "skip",
               outcome_rule: str = "last") -> OperaCorpus:
    """Load one split of a local copy of ``NEU-HAI/OPeRA`` (``load_corpus("opera:DIR")``).

    Args:
        root: the folder holding ``OPeRA_filtered/`` and ``OPeRA_full/`` (or one of those folders).
        split: ``"train"``, ``"valid"`` (carved from OPeRA's train split by session id and seed)
            or ``"test"``.
        config: ``"filtered"`` (click / input / terminate) or ``"full"``.
        valid_fraction: share of train sessions carved into ``valid``.
        seed: seed of the valid carve.
        skip_invalid: skip bad rows (listed in ``corpus.skipped``) instead of raising.
        other_actions: ``"skip"`` (default) or ``"error"`` for scroll / navigation / tab_activate rows.
        outcome_rule: ``"any"`` (a purchase click anywhere) or ``"last"`` (the last click).

    Raises:
        CorpusError: a missing folder, file or column, or a bad row (file, row and field named).
    """
    if not str(root):
        raise ValueError("opera source needs a folder: 'opera:DIR'")
    config_dir = _config_dir(Path(root).expanduser(), config)
    opera_split = _opera_split(split)
    files = sorted((config_dir / "action").glob(f"{opera_split}-*.parquet"))
    if not files:
        raise CorpusError(f"no {opera_split}-*.parquet files", file=str(config_dir / "action"))

    skipped: list[str] = []
    session_users: dict[str, str] = {}
    expected: dict[str, tuple[str, int]] = {}
    session_file = config_dir / "session" / opera_split / f"{opera_split}.parquet"
    if session_file.is_file():
        rows = _read_small_table(session_file, ("session_id", "user_id"), ("session_id",))
        session_users, expected = _session_table(rows, str(session_file))
    personas: dict[str, dict[str, Any]] = {}
    for user_split in ("train", "test"):  # a user may appear in either split's table
        user_file = config_dir / "user" / user_split / f"{user_split}.parquet"
        if user_file.is_file():
            rows = _read_small_table(user_file, ("user_id", "survey"), ("user_id", "survey"))
            personas.update(personas_from_rows(rows, file=str(user_file), skip_invalid=skip_invalid,
                                               skipped=skipped))
    real_config = config_dir.name.removeprefix("OPeRA_") if config_dir.name.startswith("OPeRA_") else config
    return OperaCorpus(
        _ParquetRows(files), split=split, opera_split=opera_split, source=f"opera:{root}", config=real_config,
        personas=personas, session_users=session_users, expected_sessions=expected,
        valid_fraction=valid_fraction, seed=seed, skip_invalid=skip_invalid, other_actions=other_actions,
        outcome_rule=outcome_rule, skipped=skipped,
    )


def _is_dataset_dict(obj: Any) -> bool:
    return isinstance(getattr(obj, "column_names", None), dict)


def _is_dataset(obj: Any) -> bool:
    return isinstance(getattr(obj, "column_names", None), list)


def _users_from_object(users: Any, skip_invalid: bool, skipped: list[str]) -> dict[str, dict[str, Any]]:
    """Personas from a user-table DatasetDict / Dataset, a mapping ``user_id -> persona``, or rows."""
    if users is None:
        return {}
    if _is_dataset_dict(users):
        personas: dict[str, dict[str, Any]] = {}
        for name in users:
            personas.update(_users_from_object(users[name], skip_invalid, skipped))
        return personas
    if _is_dataset(users):
        return personas_from_rows(users.with_format(None).select_columns(["user_id", "survey"]),
                                  file="<datasets users>", skip_invalid=skip_invalid, skipped=skipped)
    if isinstance(users, Mapping):
        return personas_from_rows(({"user_id": k, "survey": v} for k, v in users.items()),
                                  file="<users mapping>", skip_invalid=skip_invalid, skipped=skipped)
    return personas_from_rows(users, file="<users>", skip_invalid=skip_invalid, skipped=skipped)


def load_opera_dataset(dataset: Any, split: str = "train", *, users: Any = None, config: str | None = None,
                       dataset_split: str | None = None, valid_fraction: float = 0.1, seed: int = 0,
                       skip_invalid: bool = False, other_actions: str = "skip",
                       outcome_rule: str = "last") -> OperaCorpus:
    """Load one split from ``datasets.load_dataset("NEU-HAI/OPeRA", "filtered_action")`` (or ``full_action``).

    Args:
        dataset: a ``DatasetDict`` with ``train`` / ``test``, or one ``Dataset`` (its ``.split``,
            or ``dataset_split``, says which OPeRA split it is).
        split: ``"train"``, ``"valid"`` (carved from train) or ``"test"``.
        users: optional personas: the ``*_user`` table as a Dataset / DatasetDict, rows with
            ``user_id`` and ``survey``, or a mapping ``user_id -> persona``.
        config: label only (``"filtered"`` / ``"full"``); guessed from the columns when None.
        dataset_split: which OPeRA split a single ``Dataset`` holds, when it has no ``.split``.
        valid_fraction, seed, skip_invalid, other_actions, outcome_rule: as in :func:`load_opera`.
    """
    opera_split = _opera_split(split)
    if type(dataset).__name__.startswith("Iterable"):
        raise TypeError("a streaming IterableDataset cannot be indexed; load OPeRA without streaming=True")
    if _is_dataset_dict(dataset):
        if opera_split not in dataset:
            raise CorpusError(f"DatasetDict has no {opera_split!r} split (has: {', '.join(dataset)})",
                              file="<datasets>")
        table = dataset[opera_split]
    elif _is_dataset(dataset):
        held = dataset_split or (str(dataset.split) if getattr(dataset, "split", None) else "train")
        held = held.split("[")[0]  # "train[:10%]" -> "train"
        if held != opera_split:
            raise CorpusError(f"this Dataset is OPeRA's {held!r} split but split={split!r} needs its "
                              f"{opera_split!r} split; pass the DatasetDict or that split", file="<datasets>")
        table = dataset
    else:
        raise TypeError(f"expected a datasets Dataset or DatasetDict, got {type(dataset).__name__}")
    if config is None:
        config = "full" if "scroll_detail" in table.column_names else "filtered"
    skipped: list[str] = []
    personas = _users_from_object(users, skip_invalid, skipped)
    return OperaCorpus(
        _DatasetRows(table, f"<datasets {opera_split}>"), split=split, opera_split=opera_split,
        source=f"opera:datasets/{config}", config=config, personas=personas, session_users={},
        expected_sessions={}, valid_fraction=valid_fraction, seed=seed, skip_invalid=skip_invalid,
        other_actions=other_actions, outcome_rule=outcome_rule, skipped=skipped,
    )
