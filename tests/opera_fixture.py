"""Small OPeRA fixtures written in the exact parquet schema of ``NEU-HAI/OPeRA`` (its dataset card).

Pure functions, no pytest: tests import it as ``from tests.opera_fixture import ...`` (or
``import opera_fixture`` with ``tests/`` on ``sys.path``) and the loading benchmark uses it
to make large OPeRA-shaped corpora on the fly. Layout written (the card's config paths)::

    ROOT/OPeRA_{filtered,full}/action/{train,test}-0000i-of-0000n.parquet
    ROOT/OPeRA_{filtered,full}/session/{train,test}/{train,test}.parquet
    ROOT/OPeRA_{filtered,full}/user/{train,test}/{train,test}.parquet
"""

from __future__ import annotations

import csv
import json
import random
import sys
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

__all__ = [
    "FILTERED_ACTION_FIELDS",
    "FULL_ACTION_FIELDS",
    "OperaFixture",
    "SESSION_FIELDS",
    "USER_FIELDS",
    "action_schema",
    "opera_rows",
    "page_html",
    "read_user_csv",
    "session_rows",
    "session_table_rows",
    "user_rows",
    "write_action_file",
    "write_opera",
    "write_opera_fixture",
]

#: ``filtered_action`` features, in the card's order (all strings).
FILTERED_ACTION_FIELDS: tuple[str, ...] = (
    "session_id", "action_id", "timestamp", "action_type", "click_type", "semantic_id", "mouse_position",
    "element_meta", "url", "window_size", "page_meta", "simplified_html", "rationale", "products",
    "input_text", "image",
)
#: ``full_action`` features, in the card's order (all strings).
FULL_ACTION_FIELDS: tuple[str, ...] = (
    "session_id", "action_id", "timestamp", "action_type", "navigation_type", "simplified_html",
    "simplified_html_new_page", "url", "window_size", "page_meta", "rationale", "products", "scroll_detail",
    "click_type", "semantic_id", "target", "mouse_position", "element_meta", "input_text", "image",
    "image_new_page",
)
SESSION_FIELDS: tuple[str, ...] = ("session_id", "user_id", "action_count")
USER_FIELDS: tuple[str, ...] = ("user_id", "survey", "raw_survey", "interview_transcript",
                                "interview_transcript_processed")

_BASE_TIME = datetime(2024, 11, 5, 18, 0, 0, tzinfo=timezone.utc)
_PRODUCTS = ("rice cooker", "usb microphone", "yoga mat", "desk lamp", "water bottle", "phone case",
             "running shoes", "coffee grinder", "backpack", "wireless mouse", "throw pillow", "air fryer")


def action_schema(config: str = "filtered") -> pa.Schema:
    """The action table's arrow schema for ``filtered`` or ``full``."""
    fields = FILTERED_ACTION_FIELDS if config == "filtered" else FULL_ACTION_FIELDS
    return pa.schema([pa.field(name, pa.string()) for name in fields])


def _iso(when: datetime) -> str:
    return when.strftime("%Y-%m-%dT%H:%M:%S.") + f"{when.microsecond // 1000:03d}Z"


def _slug(text: str) -> str:
    return text.replace(" ", "_")


def page_html(query: str, step: int, *, min_chars: int = 0, rng: random.Random | None = None) -> str:
    """A results page in OPeRA's simplified-HTML dialect (hierarchical ``name`` attributes).

    ``min_chars`` pads the page with more result items, so benchmarks can reach realistic
    page sizes (OPeRA's pages are 2.8k to 626k characters).
    """
    rng = rng or random.Random(step)
    nav = ('<div name="nav_bar" role="navigation" aria-label="Primary"><div name="nav_bar.homepage">Homepage'
           '</div><form role="search"><input name="nav_bar.search_input" type="text" value="" '
           'placeholder="Search Amazon"><button name="nav_bar.search_button">Go</button></form></div>')
    items, total, i = [], 0, 0
    while i < 4 or total < min_chars:
        title = f"{query} {rng.choice(_PRODUCTS)} model {rng.randrange(10**6)}"
        item = (f'<div name="search_results.{_slug(title)}"><a name="search_results.{_slug(title)}.product_title">'
                f'{title}</a><span>${rng.randrange(5, 500)}.{rng.randrange(100):02d}</span>'
                f'<span>{rng.randrange(1, 5)}.{rng.randrange(10)} out of 5 stars</span>'
                f'<button name="search_results.{_slug(title)}.add_to_cart">Add to cart</button></div>')
        items.append(item)
        total += len(item)
        i += 1
    return (f'<html><head></head><body>{nav}<div name="step_{step}"><h1>Results for "{query}"</h1>'
            f'{"".join(items)}</div></body></html>')


def session_rows(session_id: str, *, n_steps: int, start: datetime, rng: random.Random, config: str = "filtered",
                 purchase: bool = False, html_chars: int = 0, rationale: bool = True) -> list[dict[str, Any]]:
    """Rows of one session in time order: a search, clicks, and a purchase click or a terminate.

    The ``full`` config interleaves scroll / navigation / tabActivate rows and has no
    terminate row (as in OPeRA's full version).
    """
    query = rng.choice(_PRODUCTS)
    fields = FILTERED_ACTION_FIELDS if config == "filtered" else FULL_ACTION_FIELDS
    rows: list[dict[str, Any]] = []
    when = start

    def add(action_type: str, **values: Any) -> None:
        nonlocal when
        when = when + timedelta(seconds=rng.randint(1, 30))
        row = dict.fromkeys(fields)
        row.update(session_id=session_id, action_id=f"{session_id}#{len(rows)}", timestamp=_iso(when),
                   action_type=action_type, url=f"https://www.amazon.com/s?k={_slug(query)}&ref=MASKED",
                   window_size=json.dumps({"width": 1440, "height": 900}),
                   page_meta=json.dumps({"search_term": query, "cart_items": len(rows) % 3}),
                   simplified_html=page_html(query, len(rows), min_chars=html_chars, rng=rng), image=None)
        row.update(values)
        rows.append(row)

    add("input", semantic_id="nav_bar.search_input", input_text=query, mouse_position='{"x": 10, "y": 20}',
        rationale=f"I want to buy a {query}." if rationale else "")
    for k in range(max(n_steps - 2, 0)):
        click_type = rng.choice(("product_link", "filter", "review", "page_related", "search"))
        add("click", click_type=click_type, semantic_id=f"search_results.item_{k}.product_title",
            mouse_position='{"x": 100, "y": 200}', element_meta=json.dumps({"name": f"item_{k}", "data": {}}),
            products=json.dumps([{"asin": f"B0{k:08d}", "title": query, "price": "$9.99", "quantity": 1,
                                  "options": []}]), rationale="")
        if config == "full":
            add("scroll", scroll_detail=json.dumps({"scroll_current_top": "300", "scroll_current_left": "0",
                                                    "scroll_distance_x": "0", "scroll_distance_y": "300"}))
            add(rng.choice(("navigation", "tabActivate", "tab_activate")), navigation_type="new page",
                simplified_html_new_page=page_html(query, 99, rng=rng))
    if purchase:
        add("click", click_type="purchase", semantic_id="add_to_cart.buy_now", rationale="This is the one.")
    elif config == "filtered":
        add("terminate", rationale="Nothing here fits my budget.")
    return rows


def _session_id(user_id: str, start: datetime, n_steps: int) -> str:
    return f"{user_id}_{_iso(start)}_{_iso(start + timedelta(minutes=n_steps))}"


def opera_rows(n_sessions: int, *, seed: int = 0, config: str = "filtered", users: Sequence[str] = ("u1", "u2"),
               steps: tuple[int, int] = (3, 12), purchase_every: int = 4, html_chars: int = 0,
               first_session: int = 0) -> Iterator[dict[str, Any]]:
    """Action rows of ``n_sessions`` sessions, session after session (streamed, so huge corpora fit)."""
    rng = random.Random(seed)
    for s in range(first_session, first_session + n_sessions):
        n_steps = rng.randint(*steps)
        start = _BASE_TIME + timedelta(hours=s)
        sid = _session_id(users[s % len(users)], start, n_steps)
        yield from session_rows(sid, n_steps=n_steps, start=start, rng=rng, config=config,
                                purchase=(s % purchase_every == purchase_every - 1), html_chars=html_chars)


def session_table_rows(action_rows: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """The session table for some action rows: one row per session id, in first-seen order."""
    counts: dict[str, int] = {}
    for row in action_rows:
        counts[row["session_id"]] = counts.get(row["session_id"], 0) + 1
    return [{"session_id": sid, "user_id": sid.rsplit("_", 2)[0], "action_count": n} for sid, n in counts.items()]


def user_rows(user_ids: Iterable[str]) -> list[dict[str, Any]]:
    """User-table rows with a small persona survey in OPeRA's structure."""
    rows = []
    for i, user_id in enumerate(user_ids):
        survey = {
            "Demographic Information": {"Gender": "Female" if i % 2 else "Male", "Age": "25-34 years old"},
            "Shopping Preference": {"Online shopping frequency": "Once to twice a week"},
            "Personality": {"MBTI personality type": "infj", "Big Five Scores": {"Extraversion": "Low"}},
        }
        rows.append({"user_id": user_id, "survey": json.dumps(survey), "raw_survey": json.dumps({"Age": "25-34"}),
                     "interview_transcript": "Q: How do you shop? A: Carefully.",
                     "interview_transcript_processed": "Shops carefully."})
    return rows


def read_user_csv(path: str | Path) -> list[dict[str, Any]]:
    """Rows of a user table saved as CSV (``../shared/data/opera/user.csv`` holds 2 real ones)."""
    csv.field_size_limit(sys.maxsize)
    with open(path, newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def write_action_file(path: str | Path, rows: Iterable[Mapping[str, Any]], *, config: str = "filtered",
                      row_group_size: int = 64, schema: pa.Schema | None = None) -> int:
    """Write action rows as one parquet file, a row group at a time (bounded memory). Returns rows written."""
    schema = schema or action_schema(config)
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    written, batch = 0, []
    with pq.ParquetWriter(str(path), schema) as writer:
        for row in rows:
            batch.append(row)
            if len(batch) == row_group_size:
                writer.write_table(pa.Table.from_pylist(batch, schema=schema), row_group_size=row_group_size)
                written, batch = written + len(batch), []
        if batch or not written:
            writer.write_table(pa.Table.from_pylist(batch, schema=schema), row_group_size=row_group_size)
            written += len(batch)
    return written


def _write_table(path: Path, rows: Sequence[Mapping[str, Any]], schema: pa.Schema) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(pa.Table.from_pylist(list(rows), schema=schema), str(path))


_SESSION_SCHEMA = pa.schema([("session_id", pa.string()), ("user_id", pa.string()), ("action_count", pa.int64())])
_USER_SCHEMA = pa.schema([(name, pa.string()) for name in USER_FIELDS])


def write_opera(root: str | Path, *, config: str = "filtered", train: Sequence[Mapping[str, Any]] = (),
                test: Sequence[Mapping[str, Any]] = (), users: Sequence[Mapping[str, Any]] | None = None,
                sessions: bool = True, shards: int = 1, row_group_size: int = 64) -> Path:
    """Write an OPeRA folder for ``config`` under ``root`` from explicit rows; returns ``root``.

    Args:
        train, test: action rows (missing columns are written as null).
        users: user-table rows (None: no user table, as when a user did not download it).
        sessions: also write the session tables derived from the rows.
        shards: number of ``train-*`` / ``test-*`` action files each split is cut into.
    """
    root = Path(root)
    config_dir = root / f"OPeRA_{config}"
    for split, rows in (("train", list(train)), ("test", list(test))):
        per_shard = max(1, -(-len(rows) // shards))
        for k in range(shards):
            chunk = rows[k * per_shard:(k + 1) * per_shard]
            if chunk or k == 0:
                write_action_file(config_dir / "action" / f"{split}-{k:05d}-of-{shards:05d}.parquet", chunk,
                                  config=config, row_group_size=row_group_size)
        if sessions:
            _write_table(config_dir / "session" / split / f"{split}.parquet", session_table_rows(rows),
                         _SESSION_SCHEMA)
        if users is not None:
            _write_table(config_dir / "user" / split / f"{split}.parquet", users if split == "train" else [],
                         _USER_SCHEMA)
    return root


@dataclass
class OperaFixture:
    """A written fixture and the rows in it, so tests can compare what loads with what was written."""

    root: Path
    config: str
    train: list[dict[str, Any]]
    test: list[dict[str, Any]]
    users: list[dict[str, Any]] = field(default_factory=list)

    def session_ids(self, split: str = "train") -> list[str]:
        rows = self.train if split == "train" else self.test
        return list(dict.fromkeys(r["session_id"] for r in rows))


def write_opera_fixture(root: str | Path, *, config: str = "filtered", n_train: int = 8, n_test: int = 3,
                        seed: int = 0, shuffle: bool = True, shards: int = 2, row_group_size: int = 8,
                        with_users: bool = True) -> OperaFixture:
    """A small OPeRA copy: sessions of 3-8 steps, rows shuffled across row groups and shards.

    Shuffling checks that loading groups by ``session_id`` and orders by ``timestamp``
    rather than trusting file order.
    """
    user_ids = ("7f0c8207-6a6f-49cd-9d7e-17987cfafcb9", "0b5d9a8e-1111-4c2e-9a9a-2f3b4c5d6e7f")
    train = list(opera_rows(n_train, seed=seed, config=config, users=user_ids, steps=(3, 8)))
    test = list(opera_rows(n_test, seed=seed + 1, config=config, users=user_ids, steps=(3, 8),
                           first_session=n_train))
    if shuffle:
        random.Random(seed).shuffle(train)
        random.Random(seed + 1).shuffle(test)
    users = user_rows(user_ids) if with_users else []
    write_opera(root, config=config, train=train, test=test, users=users if with_users else None, shards=shards,
                row_group_size=row_group_size)
    return OperaFixture(Path(root), config, train, test, users)
