"""Corpus sources: OPeRA parquet (and ``datasets`` objects), JSONL, and the ``shop_env.data`` CLI."""

from __future__ import annotations

import gzip
import json
import math
from collections import Counter
from datetime import datetime
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from shop_env import Action, CorpusError, Session, Step, load_corpus
from shop_env.data import LimitedCorpus, corpus_stats, main, parse_options, percentiles, predictability
from shop_env.sources.jsonl import load_jsonl, session_from_record, write_jsonl, write_jsonl_splits
from shop_env.sources.opera import load_opera, opera_user_id
from shop_env.splits import assign_split, carve_valid
from tests.opera_fixture import (
    action_schema,
    opera_rows,
    read_user_csv,
    user_rows,
    write_action_file,
    write_opera,
    write_opera_fixture,
)

REAL_USERS = Path("/work/shared/data/opera/user.csv")


def _when(row: dict) -> datetime:
    return datetime.fromisoformat(row["timestamp"])


def _expected_sessions(rows: list[dict], keep=("click", "input", "terminate")) -> dict[str, list[dict]]:
    """The fixture's sessions as the loader should build them: grouped, time-ordered, paper actions only."""
    grouped: dict[str, list[dict]] = {}
    for order, row in enumerate(rows):
        grouped.setdefault(row["session_id"], []).append((order, row))
    return {sid: [r for _, r in sorted(items, key=lambda x: (_when(x[1]), x[0])) if r["action_type"] in keep]
            for sid, items in grouped.items()}


@pytest.fixture(scope="module")
def filtered(tmp_path_factory):
    return write_opera_fixture(tmp_path_factory.mktemp("opera") / "OPeRA", n_train=10, n_test=3)


@pytest.fixture(scope="module")
def full(tmp_path_factory):
    return write_opera_fixture(tmp_path_factory.mktemp("opera_full") / "OPeRA", config="full", n_train=6,
                               n_test=2)


# --------------------------------------------------------------------------- OPeRA


def test_opera_groups_orders_and_maps_rows(filtered):
    corpus = load_corpus(f"opera:{filtered.root}", split="train", valid_fraction=0.0)
    expected = _expected_sessions(filtered.train)
    assert corpus.session_ids() == list(dict.fromkeys(r["session_id"] for r in filtered.train))
    assert corpus.step_counts() == [len(expected[sid]) for sid in corpus.session_ids()]
    assert not corpus.generated and corpus.split == "train"
    personas = {u["user_id"]: json.loads(u["survey"]) for u in filtered.users}
    for session in corpus:
        rows = expected[session.session_id]
        assert [s.action_id for s in session.steps] == [r["action_id"] for r in rows]
        assert session.user_id == opera_user_id(session.session_id)
        assert session.persona == personas[session.user_id]
        assert session.metadata["generated"] is False
        clicks = [r["click_type"] for r in rows if r["action_type"] == "click"]
        assert session.outcome == ("purchase" if clicks and clicks[-1] == "purchase" else "terminate")
        for step, row in zip(session.steps, rows, strict=True):
            assert step.html == row["simplified_html"]
            assert step.url == row["url"] and step.timestamp == row["timestamp"]
            assert step.page_meta == json.loads(row["page_meta"])
            if row["action_type"] == "input":
                assert step.action == Action.type_and_submit(row["semantic_id"], row["input_text"])
            elif row["action_type"] == "click":
                assert step.action == Action.click(row["semantic_id"])
                assert step.click_type == row["click_type"]
            else:
                assert step.action == Action.terminate()
            assert step.rationale == (row["rationale"] or None)
            assert step.rationale_source == ("human" if row["rationale"] else None)
    assert {s.outcome for s in corpus} == {"purchase", "terminate"}


def test_opera_splits_carve_valid_by_session_and_seed(filtered):
    root = f"opera:{filtered.root}"
    train = load_corpus(root, split="train", valid_fraction=0.4, seed=3)
    valid = load_corpus(root, split="valid", valid_fraction=0.4, seed=3)
    test = load_corpus(root, split="test")
    all_train = filtered.session_ids("train")
    assert sorted(train.session_ids() + valid.session_ids()) == sorted(all_train)
    assert not set(train.session_ids()) & set(valid.session_ids())
    assert valid.session_ids() == [s for s in all_train if carve_valid(s, fraction=0.4, seed=3)]
    assert test.session_ids() == filtered.session_ids("test")
    assert load_corpus(root, split="valid", valid_fraction=0.4, seed=3).session_ids() == valid.session_ids()


def test_opera_accepts_the_config_folder_itself(filtered):
    corpus = load_opera(filtered.root / "OPeRA_filtered", split="test")
    assert corpus.session_ids() == filtered.session_ids("test")


def test_opera_timestamp_ties_keep_row_order_and_outcome_rules(tmp_path):
    rows = list(opera_rows(1, seed=5, steps=(5, 5), purchase_every=1))  # search, 3 clicks, purchase click
    for row in rows[2:4]:
        row["timestamp"] = rows[1]["timestamp"]  # three clicks at the same instant
    rows.append({**rows[2], "action_id": "late", "click_type": "review",
                 "timestamp": "2099-01-01T00:00:00.000Z"})  # a click after the purchase
    write_opera(tmp_path, train=rows[::-1], test=rows[:1])  # file order reversed
    session = load_opera(tmp_path, valid_fraction=0.0)[0]
    ties_in_file_order = [rows[3], rows[2], rows[1]]
    expected = [rows[0], *ties_in_file_order, rows[4], rows[5]]
    assert [s.action_id for s in session.steps] == [r["action_id"] for r in expected]
    assert session.outcome == "terminate"  # the last click is the review after the purchase
    assert load_opera(tmp_path, valid_fraction=0.0, outcome_rule="any")[0].outcome == "purchase"


def test_opera_full_drops_non_paper_actions_and_counts_them(full):
    corpus = load_corpus(f"opera:{full.root}", split="train", config="full", valid_fraction=0.0)
    dropped = Counter(r["action_type"].replace("tabActivate", "tab_activate") for r in full.train
                      if r["action_type"] not in ("click", "input"))
    assert dict(corpus.dropped_actions) == dict(dropped)
    assert set(dropped) == {"scroll", "navigation", "tab_activate"}
    expected = _expected_sessions(full.train)
    assert corpus.step_counts() == [len(expected[s]) for s in corpus.session_ids()]
    assert all(step.action.type != "terminate" for s in corpus for step in s.steps)
    assert corpus.describe()["dropped_actions"] == dict(dropped)
    with pytest.raises(CorpusError, match="outside the paper's action space") as err:
        load_corpus(f"opera:{full.root}", config="full", other_actions="error")
    assert err.value.field == "action_type" and err.value.row is not None


def test_opera_without_user_or_session_tables(tmp_path):
    rows = list(opera_rows(3, seed=1))
    write_opera(tmp_path, train=rows, test=rows[:2], users=None, sessions=False)
    corpus = load_opera(tmp_path, valid_fraction=0.0)
    assert len(corpus) == 3
    assert all(s.persona is None and s.user_id in ("u1", "u2") for s in corpus)


@pytest.mark.skipif(not REAL_USERS.is_file(), reason="real OPeRA user rows not on this machine")
def test_opera_persona_from_real_user_rows(tmp_path):
    users = read_user_csv(REAL_USERS)
    rows = list(opera_rows(2, seed=2, users=[u["user_id"] for u in users]))
    write_opera(tmp_path, train=rows, test=rows[:1], users=users)
    corpus = load_opera(tmp_path, valid_fraction=0.0)
    for session in corpus:
        survey = next(u["survey"] for u in users if u["user_id"] == session.user_id)
        assert session.persona == json.loads(survey)
        assert "Personality" in session.persona


def test_opera_reads_pages_lazily(tmp_path, monkeypatch):
    """Loading reads no HTML; iterating in order reads each row group's pages exactly once."""
    rows = list(opera_rows(12, seed=4, html_chars=5_000))
    write_opera(tmp_path, train=rows, test=rows[:1], row_group_size=8, shards=2)
    reads: list[tuple[int, tuple[str, ...]]] = []
    original = pq.ParquetFile.read_row_group

    def spy(self, i, columns=None, **kwargs):
        table = original(self, i, columns=columns, **kwargs)
        reads.append((table.num_rows, tuple(columns or ())))
        return table

    monkeypatch.setattr(pq.ParquetFile, "read_row_group", spy)
    corpus = load_opera(tmp_path, valid_fraction=0.0)
    assert reads and all("simplified_html" not in cols for _, cols in reads)
    index_reads = len(reads)
    assert [len(s) for s in corpus] == corpus.step_counts()
    page_reads = reads[index_reads:]
    assert all("simplified_html" in cols and n <= 8 for n, cols in page_reads)
    assert len(page_reads) == index_reads  # one read per row group: the index read each group once too


def test_opera_from_datasets_objects_matches_parquet(filtered):
    datasets = pytest.importorskip("datasets")
    train = datasets.Dataset.from_list(filtered.train, features=None, split="train")
    test = datasets.Dataset.from_list(filtered.test, split="test")
    users = datasets.Dataset.from_list(filtered.users)
    parquet = load_corpus(f"opera:{filtered.root}", split="valid", valid_fraction=0.5)
    from_dict = load_corpus(datasets.DatasetDict(train=train, test=test), split="valid", valid_fraction=0.5,
                            users=users)
    assert [s.to_dict() for s in from_dict] == [s.to_dict() for s in parquet]
    assert from_dict.source == "opera:datasets/filtered"
    assert load_corpus(test, split="test").session_ids() == filtered.session_ids("test")
    no_persona = load_corpus(train, split="train", valid_fraction=0.0)
    assert all(s.persona is None for s in no_persona)
    with pytest.raises(CorpusError, match="'train' split"):
        load_corpus(train, split="test")


def _opera_with(tmp_path: Path, mutate, *, schema=None) -> Path:
    rows = list(opera_rows(4, seed=9))
    bad_row = mutate(rows)
    root = write_opera(tmp_path, train=[], test=rows[:2])
    action = root / "OPeRA_filtered" / "action" / "train-00000-of-00001.parquet"
    write_action_file(action, rows, row_group_size=5, schema=schema)
    return root, bad_row


@pytest.mark.parametrize(
    "field, mutate, message",
    [
        ("page_meta", lambda rows: rows[6].update(page_meta="{not json") or 6, "malformed JSON"),
        ("action_type", lambda rows: rows[7].update(action_type="hover") or 7, "unknown action type 'hover'"),
        ("timestamp", lambda rows: rows[3].update(timestamp="yesterday") or 3, "ISO-8601"),
        ("semantic_id", lambda rows: rows[1].update(semantic_id=None) or 1, "click action with no semantic_id"),
        ("semantic_id", lambda rows: rows[2].update(semantic_id="  ") or 2, "with no semantic_id"),
        ("input_text", lambda rows: rows[0].update(input_text="") or 0, "input action with no input_text"),
        ("simplified_html", lambda rows: rows[8].update(simplified_html=None) or 8, "no simplified_html"),
    ],
)
def test_opera_bad_rows_name_file_row_field_or_are_skipped(tmp_path, field, mutate, message):
    root, bad_row = _opera_with(tmp_path, mutate)
    with pytest.raises(CorpusError, match=message) as err:
        load_opera(root, valid_fraction=0.0)
    assert (err.value.row, err.value.field) == (bad_row, field)
    assert err.value.file.endswith("train-00000-of-00001.parquet")
    assert f"row {bad_row}, field {field!r}" in str(err.value)
    corpus = load_opera(root, valid_fraction=0.0, skip_invalid=True)
    assert len(corpus.skipped) == 1 and corpus.describe()["skipped_invalid"] == 1
    assert sum(corpus.step_counts()) == sum(len(s) for s in corpus) > 0


def test_opera_missing_column(tmp_path):
    schema = pa.schema([f for f in action_schema() if f.name != "click_type"])
    root, _ = _opera_with(tmp_path, lambda rows: [r.pop("click_type") for r in rows] and None, schema=schema)
    with pytest.raises(CorpusError, match="no column 'click_type'") as err:
        load_opera(root)
    assert err.value.field == "click_type" and err.value.file.endswith(".parquet")


def test_opera_empty_session_listed_in_session_table(tmp_path):
    rows = list(opera_rows(3, seed=3))
    root = write_opera(tmp_path, train=rows, test=rows[:1])
    session_file = root / "OPeRA_filtered" / "session" / "train" / "train.parquet"
    table = pq.read_table(session_file).to_pylist()
    table.append({"session_id": "ghost_2024-01-01_2024-01-02", "user_id": "ghost", "action_count": 0})
    pq.write_table(pa.Table.from_pylist(table, schema=pq.read_schema(session_file)), session_file)
    with pytest.raises(CorpusError, match="no \\(valid\\) action rows") as err:
        load_opera(root)
    assert (err.value.file, err.value.row, err.value.field) == (str(session_file), 3, "session_id")
    corpus = load_opera(root, skip_invalid=True, valid_fraction=0.0)
    assert len(corpus) == 3 and len(corpus.skipped) == 1


def test_opera_truncated_parquet_and_missing_folders(tmp_path):
    rows = list(opera_rows(2, seed=1))
    root = write_opera(tmp_path / "a", train=rows, test=rows)
    action = root / "OPeRA_filtered" / "action" / "train-00000-of-00001.parquet"
    action.write_bytes(action.read_bytes()[: action.stat().st_size // 2])
    with pytest.raises(CorpusError, match="truncated or corrupt") as err:
        load_opera(root)
    assert err.value.file == str(action)
    with pytest.raises(CorpusError, match="no OPeRA_full/ folder"):
        load_opera(root, config="full")
    with pytest.raises(ValueError, match="unknown OPeRA config"):
        load_opera(root, config="tiny")


def test_opera_malformed_survey(tmp_path):
    rows = list(opera_rows(2, seed=1))
    users = user_rows(["u1", "u2"])
    users[1]["survey"] = "{broken"
    root = write_opera(tmp_path, train=rows, test=rows, users=users)
    with pytest.raises(CorpusError, match="malformed JSON in survey") as err:
        load_opera(root)
    assert (err.value.row, err.value.field) == (1, "survey")
    corpus = load_opera(root, skip_invalid=True, valid_fraction=0.0)
    assert {s.user_id: s.persona is not None for s in corpus} == {"u1": True, "u2": False}


# --------------------------------------------------------------------------- JSONL


def _sessions(n: int = 6, generated: bool = False) -> list[Session]:
    page = '<html><body><input name="search"><a name="item_1">Item</a></body></html>'
    return [
        Session(f"user{i}_s{i}", (Step(page, Action.type_and_submit("search", f"query {i}"), rationale="find it",
                                       rationale_source="human", page_meta={"search_term": "x"}),
                                  Step(page, Action.click("item_1"), click_type="product_link"),
                                  Step(page, Action.terminate())),
                user_id=f"user{i}", persona={"age": i}, outcome="terminate" if i % 2 else "purchase",
                metadata={"generated": generated})
        for i in range(n)
    ]


@pytest.mark.parametrize("name", ["all.jsonl", "all.jsonl.gz"])
def test_jsonl_round_trip_of_every_opera_split(filtered, tmp_path, name):
    splits = {s: load_corpus(f"opera:{filtered.root}", split=s, valid_fraction=0.4) for s in ("train", "valid",
                                                                                                "test")}
    assert write_jsonl_splits(splits, tmp_path / name) == sum(len(c) for c in splits.values())
    for split, corpus in splits.items():
        loaded = load_corpus(f"jsonl:{tmp_path / name}", split=split)
        assert [s.to_dict() for s in loaded] == [s.to_dict() for s in corpus]
        assert loaded.step_counts() == corpus.step_counts()
        assert loaded.source == f"jsonl:{tmp_path / name}" and not loaded.generated


def test_jsonl_explicit_split_wins_and_hash_assigns_the_rest(tmp_path):
    sessions = _sessions(30, generated=True)
    path = tmp_path / "mixed.jsonl"
    with path.open("w") as out:
        for i, s in enumerate(sessions):
            record = s.to_dict()
            if i < 5:
                record["split"] = "test"
            out.write(json.dumps(record) + "\n\n")  # blank lines are allowed
    for split in ("train", "valid", "test"):
        corpus = load_jsonl(path, split=split, valid_fraction=0.3, test_fraction=0.2, seed=1)
        expected = [s.session_id for i, s in enumerate(sessions)
                    if ("test" if i < 5 else assign_split(s.session_id, valid_fraction=0.3, test_fraction=0.2,
                                                          seed=1)) == split]
        assert corpus.session_ids() == expected
        assert corpus.generated == bool(expected)


def test_jsonl_folder_of_split_files(tmp_path):
    sessions = _sessions(12)
    write_jsonl(sessions[:10], tmp_path / "train.jsonl")
    write_jsonl(sessions[10:], tmp_path / "test.jsonl.gz", split="test")
    train = load_corpus(f"jsonl:{tmp_path}", split="train", valid_fraction=0.5)
    valid = load_corpus(f"jsonl:{tmp_path}", split="valid", valid_fraction=0.5)
    assert valid.session_ids() == [s.session_id for s in sessions[:10] if carve_valid(s.session_id, fraction=0.5)]
    assert sorted(train.session_ids() + valid.session_ids()) == sorted(s.session_id for s in sessions[:10])
    assert load_corpus(f"jsonl:{tmp_path}", split="test").session_ids() == [s.session_id for s in sessions[10:]]
    write_jsonl(sessions[:2], tmp_path / "valid.jsonl", split="test")
    with pytest.raises(CorpusError, match="split 'test' but is in the valid file") as err:
        load_corpus(f"jsonl:{tmp_path}", split="valid")
    assert (err.value.row, err.value.field) == (1, "split")
    assert len(load_corpus(f"jsonl:{tmp_path}", split="train")) == 10  # valid file present: no carve
    (tmp_path / "test.jsonl.gz").unlink()
    with pytest.raises(CorpusError, match="no test.jsonl"):
        load_corpus(f"jsonl:{tmp_path}", split="test")


def test_jsonl_writer_is_atomic(tmp_path):
    path = tmp_path / "out.jsonl"
    write_jsonl(_sessions(2), path)
    before = path.read_bytes()

    def failing():
        yield from _sessions(3)
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError, match="boom"):
        write_jsonl(failing(), path)
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["out.jsonl"]


def _write_lines(path: Path, lines: list[str], *, newline_at_end: bool = True) -> None:
    text = "\n".join(lines) + ("\n" if newline_at_end else "")
    if path.suffix == ".gz":
        path.write_bytes(gzip.compress(text.encode()))
    else:
        path.write_text(text)


def _good() -> list[str]:
    return [s.to_json() for s in _sessions(3)]


def _set(record_json: str, path: list, value) -> str:
    record = json.loads(record_json)
    target = record
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    return json.dumps(record)


@pytest.mark.parametrize(
    "mutate, row, field, message",
    [
        (lambda ls: ls.__setitem__(1, _set(ls[1], ["steps", 1, "action", "type"], "scroll")), 2,
         "steps[1].action.type", "unknown action type 'scroll'"),
        (lambda ls: ls.__setitem__(2, _set(ls[2], ["steps"], [])), 3, "steps", "has no steps"),
        (lambda ls: ls.__setitem__(0, _set(ls[0], ["session_id"], "")), 1, "session_id", "session_id"),
        (lambda ls: ls.__setitem__(1, _set(ls[1], ["steps", 0, "html"], None)), 2, "steps[0].html", "html"),
        (lambda ls: ls.__setitem__(1, ls[1][:-40] + "}"), 2, None, "malformed JSON"),
        (lambda ls: ls.__setitem__(2, ls[0]), 3, "session_id", "duplicate session_id"),
        (lambda ls: ls.__setitem__(1, _set(ls[1], ["split"], "dev")), 2, "split", "unknown split 'dev'"),
        (lambda ls: ls.__setitem__(0, _set(ls[0], ["outcome"], "abandon")), 1, "outcome", "outcome"),
        # gold actions the reward cannot rank first fail at load time, not mid-episode
        (lambda ls: ls.__setitem__(1, _set(ls[1], ["steps", 0, "action"], {"type": "click"})), 2,
         "steps[0].action.name", "needs a non-empty 'name'"),
        (lambda ls: ls.__setitem__(2, _set(ls[2], ["steps", 1, "action"],
                                           {"type": "type_and_submit", "name": "q", "text": " "})), 3,
         "steps[1].action.text", "needs a non-empty 'text'"),
    ],
)
def test_jsonl_bad_lines_name_file_row_field_or_are_skipped(tmp_path, mutate, row, field, message):
    lines = _good()
    mutate(lines)
    path = tmp_path / "bad.jsonl"
    _write_lines(path, lines)
    with pytest.raises(CorpusError, match=message) as err:
        load_jsonl(path, valid_fraction=0.0, test_fraction=0.0)
    assert (err.value.file, err.value.row, err.value.field) == (str(path), row, field)
    corpus = load_jsonl(path, skip_invalid=True, valid_fraction=0.0, test_fraction=0.0)
    assert len(corpus) == 2 and len(corpus.skipped) == 1
    assert [s.session_id for s in corpus] == corpus.session_ids()


def test_jsonl_truncated_files(tmp_path):
    lines = _good()
    plain = tmp_path / "cut.jsonl"
    _write_lines(plain, lines[:2] + [lines[2][: len(lines[2]) // 2]], newline_at_end=False)
    with pytest.raises(CorpusError, match="truncated file") as err:
        load_jsonl(plain)
    assert err.value.row == 3
    assert len(load_jsonl(plain, skip_invalid=True, valid_fraction=0.0, test_fraction=0.0)) == 2

    packed = gzip.compress(("\n".join(lines) + "\n").encode())
    cut_gz = tmp_path / "cut.jsonl.gz"
    cut_gz.write_bytes(packed[: len(packed) - 30])
    with pytest.raises(CorpusError, match="truncated or corrupt gzip|truncated file"):
        load_jsonl(cut_gz)
    with pytest.raises(CorpusError, match="no such file"):
        load_jsonl(tmp_path / "missing.jsonl")


def test_session_from_record_rejects_non_objects():
    with pytest.raises(CorpusError, match="JSON object") as err:
        session_from_record([1, 2], file="x.jsonl", row=4)
    assert (err.value.file, err.value.row) == ("x.jsonl", 4)


# --------------------------------------------------------------------------- stats and convert


def test_percentiles_match_linear_interpolation():
    np = pytest.importorskip("numpy")
    values = [3, 1, 4, 1, 5, 9, 2, 6, 5, 3, 5]
    got = percentiles(values, (0, 10, 50, 90, 99, 100))
    assert got == pytest.approx({f"p{q}": float(np.percentile(values, q)) for q in (0, 10, 50, 90, 99, 100)})
    assert math.isnan(percentiles([], (50,))["p50"])


def test_stats_json_counts_the_fixture(filtered, capsys):
    assert main(["stats", "--source", f"opera:{filtered.root}", "--split", "test", "--json",
                 "--no-predictability"]) == 0
    stats = json.loads(capsys.readouterr().out)
    rows = filtered.test
    assert stats["sessions"] == len(filtered.session_ids("test")) and stats["steps"] == len(rows)
    kinds = Counter({"click": "click", "input": "type_and_submit", "terminate": "terminate"}[r["action_type"]]
                    for r in rows)
    assert {k: v["count"] for k, v in stats["action_types"].items()} == dict(kinds)
    clicks = Counter(r["click_type"] for r in rows if r["action_type"] == "click")
    assert {k: v["count"] for k, v in stats["click_types"].items()} == dict(clicks)
    sizes = [len(r["simplified_html"]) for r in rows]
    assert stats["page_chars"]["max"] == max(sizes) and stats["page_chars"]["total"] == sum(sizes)
    assert stats["page_chars"]["p50"] == percentiles(sizes, (50,))["p50"]
    assert stats["generated"] is False


def test_stats_tables_limit_and_errors(filtered, capsys):
    assert main(["stats", "--source", f"opera:{filtered.root}", "--limit", "2", "--option", "valid_fraction=0",
                 "--no-predictability"]) == 0
    out = capsys.readouterr().out
    for title in ("Action types", "Click types", "Steps per session", "Page size"):
        assert title in out
    assert main(["stats", "--source", f"opera:{filtered.root}", "--option", "config=tiny"]) == 2
    assert "unknown OPeRA config" in capsys.readouterr().err
    with pytest.raises(ValueError, match="KEY=VALUE"):
        parse_options(["novalue"])
    assert parse_options(["valid_fraction=0.2", "config=full"]) == {"valid_fraction": 0.2, "config": "full"}


def test_convert_then_stats_agree(filtered, tmp_path, capsys):
    out = tmp_path / "opera.jsonl.gz"
    assert main(["convert", "--source", f"opera:{filtered.root}", "--out", str(out),
                 "--option", "valid_fraction=0.3"]) == 0
    capsys.readouterr()
    for split in ("train", "valid", "test"):
        got = []
        for source in (f"opera:{filtered.root}", f"jsonl:{out}"):
            assert main(["stats", "--source", source, "--split", split, "--json", "--no-predictability",
                         "--option", "valid_fraction=0.3"]) == 0
            stats = json.loads(capsys.readouterr().out)
            got.append({k: v for k, v in stats.items() if k in ("sessions", "steps", "action_types", "click_types",
                                                                  "page_chars", "outcomes")})
        assert got[0] == got[1]


def test_predictability_scores_each_step(monkeypatch):
    import shop_env.predictors as predictors

    corpus = LimitedCorpus(load_corpus(_as_corpus(_sessions(4))), None)

    def majority_action(fit):
        return Counter(step.action for s in fit for step in s.steps).most_common(1)[0][0]

    def heuristic_action(html, history):
        return Action.click("item_1") if history else Action.type_and_submit("search", "query 0")

    from shop_env.types import Action as A

    def exact(pred, gold):
        return pred == gold

    import rewards.metrics

    monkeypatch.setattr(predictors, "majority_action", majority_action)
    monkeypatch.setattr(predictors, "heuristic_action", heuristic_action)
    monkeypatch.setattr(rewards.metrics, "exact_match", exact)
    result = predictability(corpus, corpus)
    # 4 sessions x 3 steps; the majority is click(item_1) (tied with terminate, seen first): 4 of 12 steps
    assert result["steps"] == 12 and result["oracle"] == 1.0
    assert result["majority"] == pytest.approx(4 / 12)
    assert result["rule_based"] == pytest.approx((1 + 4) / 12)  # query 0 once, click item_1 in every session
    assert A.from_dict(result["majority_action"]) == majority_action(corpus)


def test_predictability_with_the_real_baselines():
    corpus = _as_corpus(_sessions(5))
    result = predictability(corpus, corpus)
    assert result["oracle"] == 1.0 and result["steps"] == 15
    assert 0.0 <= result["majority"] <= 1.0 and 0.0 <= result["rule_based"] <= 1.0


def _as_corpus(sessions):
    from shop_env import ListCorpus

    return ListCorpus(sessions)


def test_stats_counts_a_list_corpus():
    stats = corpus_stats(_as_corpus(_sessions(4)))
    assert stats["sessions"] == 4 and stats["steps"] == 12
    assert stats["outcomes"]["purchase"]["count"] == 2
    assert stats["human_rationales"] == 4
    assert stats["steps_per_session"]["mean"] == 3.0
