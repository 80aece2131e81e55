"""Resuming a rollout from a sample log whose tail a kill tore or another tool wrote."""

from __future__ import annotations

import json
import logging

import pytest

from agents.baselines import OracleAgent
from agents.rollout import complete_sessions, read_sample_log, run_rollout
from tests.fixtures import CountingOracle as _CountingOracle
from tests.fixtures import fixture_corpus


def _killed_log(tmp_path):
    """A sample log of a run killed after its first (3-step) session finished."""
    log = tmp_path / "samples.jsonl"
    with pytest.raises(KeyboardInterrupt):
        run_rollout(_CountingOracle(fail_after=4), {"corpus": fixture_corpus()}, batch_size=1, sample_log=log,
                    progress=False)
    return log


def _torn_inside_a_character(record: dict) -> bytes:
    """A record's line cut after the first byte of a multi-byte UTF-8 character."""
    line = json.dumps({**record, "response": "caf\u00e9 \u2615"}, ensure_ascii=False).encode("utf-8")
    return line[: line.index("\u00e9".encode()) + 1]


def test_a_tail_cut_inside_a_utf8_character_is_dropped_with_a_warning(tmp_path, caplog):
    log = _killed_log(tmp_path)
    before = read_sample_log(log)
    with log.open("ab") as f:
        f.write(_torn_inside_a_character(before[-1]))
    with caplog.at_level(logging.WARNING, logger="agents.rollout"):
        assert read_sample_log(log) == before
    assert f"line {len(before) + 1}" in caplog.text and str(log) in caplog.text


@pytest.mark.parametrize("foreign", ["5", "null", "[1, 2]", '"text"', "true"])
def test_a_line_of_json_that_is_not_an_object_is_dropped_with_a_warning(tmp_path, caplog, foreign):
    log = _killed_log(tmp_path)
    before = read_sample_log(log)
    lines = log.read_text(encoding="utf-8").splitlines(keepends=True)
    log.write_text("".join(lines[:2]) + foreign + "\n" + "".join(lines[2:]), encoding="utf-8")
    with caplog.at_level(logging.WARNING, logger="agents.rollout"):
        assert read_sample_log(log) == before
    assert "line 3" in caplog.text and "not a JSON object" in caplog.text


@pytest.mark.parametrize("tail", [b"5\n", b"null", b"5", "{\"session_id\": \"caf\u00e9".encode()[:-1]])
def test_a_run_resumes_past_a_torn_or_foreign_tail(tmp_path, caplog, tail):
    log = _killed_log(tmp_path)
    finished = complete_sessions(read_sample_log(log))
    with log.open("ab") as f:
        f.write(tail)
    agent = _CountingOracle()
    with caplog.at_level(logging.WARNING, logger="agents.rollout"):
        result = run_rollout(agent, {"corpus": fixture_corpus()}, batch_size=1, sample_log=log, progress=False)
    assert "dropping" in caplog.text
    assert result.resumed_sessions == len(finished) == 1 and agent.calls == 5  # only the unfinished session
    logged = read_sample_log(log)  # the resumed log is clean: complete sessions only, no foreign line
    assert [(r["session_id"], r["step_index"]) for r in logged] == [
        (r["session_id"], r["step_index"]) for r in result.records]
    assert sum(len(s) for s in fixture_corpus()) == len(logged)


def test_a_clean_log_reads_without_warnings(tmp_path, caplog):
    log = tmp_path / "samples.jsonl"
    run_rollout(OracleAgent(), {"corpus": fixture_corpus()}, sample_log=log, progress=False)
    with caplog.at_level(logging.WARNING, logger="agents.rollout"):
        records = read_sample_log(log)
    assert len(records) == sum(len(s) for s in fixture_corpus()) and not caplog.records
