"""A resumed benchmark row's timing sums over the invocations that built it (benchmarks.timing)."""

import json
import math

from benchmarks.timing import invocation, previous_invocations, row_timing


def _call(steps, elapsed=10.0, tokens=100, generation=8.0):
    return invocation(finished="t", wall_s=elapsed + 1, new_steps=steps, elapsed_s=elapsed,
                      generation_s=generation, completion_tokens=tokens)


def test_a_resume_that_adds_nothing_keeps_the_earlier_figures():
    first, _, throughput = row_timing([], _call(20))
    kept, wall, again = row_timing(first, _call(0, elapsed=0.5, tokens=0, generation=0.0))
    assert kept == first and wall == 11.0
    assert again["new_steps"] == 0 and again["steps"] == 20 and again["steps_per_s"] == throughput["steps_per_s"] == 2.0


def test_invocations_that_add_steps_are_summed():
    kept, wall, throughput = row_timing([_call(20)], _call(10, elapsed=20.0, tokens=300, generation=12.0))
    assert len(kept) == 2 and wall == 32.0
    assert throughput["steps"] == 30 and throughput["steps_per_s"] == 1.0
    assert throughput["completion_tokens_per_s"] == 400 / 20.0


def test_a_row_that_never_generated_records_its_call():
    kept, _, throughput = row_timing([], _call(0, elapsed=0.0, tokens=0, generation=0.0))
    assert len(kept) == 1 and math.isnan(throughput["steps_per_s"]) and throughput["steps"] == 0


def test_previous_invocations_only_from_the_same_settings(tmp_path):
    path = tmp_path / "results.json"
    assert previous_invocations(path, "abc", "fp") == []  # no file
    path.write_text("{not json")
    assert previous_invocations(path, "abc", "fp") == []  # unreadable: the row still gets written
    path.write_text(json.dumps({"config_hash": "abc", "run_fingerprint": "fp", "invocations": [_call(5)]}))
    assert previous_invocations(path, "abc", "fp") == [_call(5)]
    assert previous_invocations(path, "other", "fp") == []
    assert previous_invocations(path, "abc", "another model") == []  # same settings, other weights


def test_malformed_entries_are_dropped_not_raised(tmp_path):
    """A hand-edited or truncated results.json must not crash the row after its whole rollout."""
    path = tmp_path / "results.json"
    entries = [_call(5), {"wall_s": None, "new_steps": 3, "elapsed_s": 1.0}, "x", {"new_steps": True, "wall_s": 1,
                                                                                  "elapsed_s": 1}]
    path.write_text(json.dumps({"config_hash": "abc", "invocations": entries}))
    assert previous_invocations(path, "abc", "fp") == [_call(5)]
    path.write_text(json.dumps({"config_hash": "abc", "wall_s": None, "metrics": {"throughput": {"new_steps": 4}}}))
    assert previous_invocations(path, "abc", "fp") == []
    path.write_text(json.dumps({"config_hash": "abc", "metrics": []}))
    assert previous_invocations(path, "abc", "fp") == []


def test_a_results_file_from_before_invocations_gives_one_entry(tmp_path):
    path = tmp_path / "results.json"
    legacy = {"config_hash": "abc", "wall_s": 557.0,
              "metrics": {"throughput": {"new_steps": 78, "steps_per_s": 0.15, "completion_tokens_per_s": 20.0}}}
    path.write_text(json.dumps(legacy))
    (entry,) = previous_invocations(path, "abc", "fp")
    assert entry["wall_s"] == 557.0 and entry["new_steps"] == 78 and math.isclose(entry["elapsed_s"], 520.0)
    # a legacy entry has no token count: tokens/s comes from the calls that counted them
    _, wall, throughput = row_timing([entry], _call(10, elapsed=40.0, tokens=200, generation=10.0))
    assert wall == 557.0 + 41.0 and throughput["steps"] == 88 and throughput["completion_tokens_per_s"] == 20.0
    # a resume of it that adds nothing keeps its figures, tokens/s included
    _, wall, again = row_timing([entry], _call(0, elapsed=0.5, tokens=0, generation=0.0))
    assert wall == 557.0 and again["steps"] == 78 and again["completion_tokens_per_s"] == 20.0
    legacy["metrics"]["throughput"]["new_steps"] = 0  # a no-op resume wrote it: nothing to keep
    path.write_text(json.dumps(legacy))
    assert previous_invocations(path, "abc", "fp") == []
