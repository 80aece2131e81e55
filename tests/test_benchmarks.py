"""``python -m benchmarks.run`` and ``benchmarks.compare``: results files, resume, errors, metrics."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from benchmarks import compare, run
from benchmarks.report import grounding_table, metrics_from_records, predicted_types_table


def _rec(sid, step, n, gold, pred, click_type=None, exact=None):
    return {
        "session_id": sid, "step_index": step, "num_steps": n, "last_step": step == n - 1,
        "gold_action": gold, "predicted_action": pred, "click_type": click_type,
        "parse_error": None if pred else "no json", "exact_match": bool(exact if exact is not None else pred == gold),
        "reward": {"total": 1.0 if pred == gold else 0.0, "components": {"format": 0.5 if pred else 0.0}},
        "response": json.dumps({"rationale": "r", "action": pred}) if pred else "not json",
    }


def test_metrics_from_records_match_a_hand_computed_confusion_matrix():
    C = {"type": "click", "name": "a"}
    C2 = {"type": "click", "name": "b"}
    T = {"type": "terminate"}
    recs = [
        _rec("s1", 0, 3, C, C), _rec("s1", 1, 3, C, C2), _rec("s1", 2, 3, T, T),
        _rec("s2", 0, 2, C, T), _rec("s2", 1, 2, C, None, click_type="purchase"),
    ]
    m = metrics_from_records(recs, n_bootstrap=0)
    # gold click x4: pred click 2, terminate 1, unparsed 1; gold terminate x1: pred terminate 1.
    assert m["confusion"]["matrix"] == [[2, 0, 1], [0, 0, 0], [0, 0, 1]]
    assert m["exact_match"] == pytest.approx(2 / 5)
    assert m["type_accuracy"] == pytest.approx(3 / 5)
    # click: P=2/2, R=2/4 -> F1 2/3; terminate: P=1/2, R=1/1 -> 2/3; type_and_submit absent in gold and
    # prediction -> left out of the macro average.
    assert m["type_macro_f1"] == pytest.approx(2 / 3)
    assert m["parse_failure_rate"] == pytest.approx(1 / 5)
    assert m["session_outcome"]["n"] == 2
    # predicted counts are the confusion matrix's column sums; gold counts its row sums plus unparsed
    lines = predicted_types_table({"a": {"metrics": m}, "b": {"metrics": m}}).splitlines()
    assert lines[2:] == ["| a | 2 | 0 | 2 | 1 | 5 |", "| b | 2 | 0 | 2 | 1 | 5 |", "| gold | 4 | 0 | 1 | - | 5 |"]
    other = metrics_from_records(recs[:3], n_bootstrap=0)
    lines = predicted_types_table({"a": {"metrics": m}, "c": {"metrics": other}}).splitlines()
    assert [line.split(" | ")[1:4] for line in lines[-2:]] == [["4", "0", "1"], ["2", "0", "1"]]
    assert lines[-1].startswith("| gold of c ")


def test_the_grounding_table_counts_answers_whose_element_exists():
    C, X, T = {"type": "click", "name": "a"}, {"type": "click", "name": "ghost"}, {"type": "terminate"}
    recs = [_rec("s1", 0, 3, C, C), _rec("s1", 1, 3, C, X), _rec("s1", 2, 3, T, T), _rec("s2", 0, 1, C, None)]
    m = metrics_from_records(recs, n_bootstrap=0, pages=lambda sid, step: ({"a", "b"}, {"b"}))
    older = {k: v for k, v in m.items() if k not in ("grounding", "name_on_page", "name_in_context")}
    lines = grounding_table({"a": {"metrics": m}, "old": {"metrics": older}}).splitlines()
    # two parsed answers name an element (the terminate and the unparsed one do not); one is on the page
    assert lines[2:] == ["| a | 2 | 0.500 | 0.000 |", "| old | - | - | - |"]


def test_a_shaper_without_bounds_has_no_disagreement_rate():
    C = {"type": "click", "name": "a"}

    def const(response, gold, *, step=None, tokens=None):
        return 1.0

    recs = [_rec("s1", 0, 2, C, C), _rec("s1", 1, 2, C, None)]
    assert metrics_from_records(recs, n_bootstrap=0, reward=const)["reward_exact_disagreement_rate"] is None
    const.max_total = 1.0
    assert metrics_from_records(recs, n_bootstrap=0, reward=const)["reward_exact_disagreement_rate"] == 0.5
    assert metrics_from_records(recs, n_bootstrap=0)["reward_exact_disagreement_rate"] == 0.0


def test_prompted_rows_and_folders_name_the_default_model():
    assert run.model_label(None) == run.model_label("smollm2-135m") == "smollm2-135m"
    assert run.model_label("runs/x/final") == "final"


def test_default_suite_matches_the_issue():
    agents = [s["agent"] for s in run.DEFAULT_SUITE]
    assert agents == ["random", "majority", "heuristic", "oracle", "prompted"]
    assert run.DEFAULT_SUITE[-1]["limit"] == 5 and run.DEFAULT_SUITE[-1]["token_budget"] == 2048


def test_run_writes_results_and_resumes(tmp_path, capsys):
    out = tmp_path / "res"
    argv = ["--agent", "oracle", "--agent", "heuristic", "--limit", "4", "--output-path", str(out),
            "--no-progress", "--bootstrap", "50"]
    assert run.main(argv) == 0
    data = json.loads((out / "oracle" / "results.json").read_text())
    m = data["metrics"]
    assert m["exact_match"] == 1.0 and m["type_accuracy"] == 1.0 and m["type_macro_f1"] == 1.0
    assert data["generated_data"] is True and data["data"]["source"] == "demo"
    assert {"config", "versions", "config_hash"} <= set(data)
    assert (out / "oracle" / "per_type_accuracy.png").exists() and (out / "oracle" / "confusion.png").exists()
    assert (out / "summary.md").read_text().count("|") > 10
    heuristic = json.loads((out / "heuristic" / "results.json").read_text())
    assert heuristic["metrics"]["exact_match"] < 1.0
    printed = capsys.readouterr().out
    assert "GENERATED" in printed
    assert all(f"exact {label}" in printed for label in ("click", "type", "term"))  # a column per action type
    # second run resumes every session from the sample log: no new steps
    assert run.main(argv) == 0
    again = json.loads((out / "oracle" / "results.json").read_text())
    assert again["metrics"]["throughput"]["new_steps"] == 0
    # ... and keeps what the first call cost: a resume that adds nothing does not overwrite it
    assert again["invocations"] == data["invocations"] and len(again["invocations"]) == 1
    assert again["wall_s"] == data["wall_s"] > 0
    assert again["metrics"]["throughput"]["steps"] == data["metrics"]["throughput"]["new_steps"] > 0
    assert again["run_fingerprint"] == data["run_fingerprint"]
    # a log removed and run afresh owes nothing to the results.json beside it
    (out / "oracle" / "samples.jsonl").unlink()
    assert run.main(argv) == 0
    fresh = json.loads((out / "oracle" / "results.json").read_text())
    assert len(fresh["invocations"]) == 1 and fresh["invocations"] != data["invocations"]
    assert fresh["metrics"]["throughput"]["steps"] == fresh["metrics"]["throughput"]["new_steps"] == len(
        [line for line in (out / "oracle" / "samples.jsonl").read_text().splitlines() if line])
    assert again["metrics"]["exact_match"] == 1.0
    table, plot = tmp_path / "table.md", tmp_path / "table.png"
    assert compare.main([str(out), "--output", str(table), "--plot", str(plot), "--title", "demo"]) == 0
    assert "oracle" in capsys.readouterr().out
    assert "| res/oracle |" in table.read_text() and plot.stat().st_size > 1000
    # the oracle predicts exactly the gold action types
    predicted = table.read_text().split("Action types the answers predict")[1].splitlines()
    oracle_row = next(line for line in predicted if line.startswith("| res/oracle |"))
    gold_row = next(line for line in predicted if line.startswith("| gold |"))
    assert oracle_row.split(" | ")[1:4] == gold_row.split(" | ")[1:4]
    # paired against the heuristic on the same steps: the oracle is above it in every resample
    assert compare.main([str(out), "--output", str(table), "--baseline", "res/heuristic"]) == 0
    paired = table.read_text().split("minus res/heuristic")[1]
    assert "paired bootstrap over sessions" in paired
    row = next(line for line in paired.splitlines() if line.startswith("| res/oracle |")).split(" | ")
    h = heuristic["metrics"]
    assert row[1].startswith(f"+{1.0 - h['exact_match']:.3f} [+")
    missed = round(h["n"] * (1.0 - h["exact_match"]))
    assert row[-1] == f"{missed} / 0 |"  # the heuristic's misses are the oracle's gains; it loses none
    # p of exact: with 4 sessions only "no swap" and "swap all" are as extreme as observed: 2 of 16 patterns
    assert float(row[4]) == pytest.approx(2 / 16, abs=0.015)


def test_paired_compare_refuses_different_steps_and_unknown_baselines(tmp_path, capsys):
    base = ["--no-progress", "--bootstrap", "0"]
    assert run.main(["--agent", "oracle", "--limit", "3", "--output-path", str(tmp_path / "a")] + base) == 0
    assert run.main(["--agent", "heuristic", "--limit", "2", "--output-path", str(tmp_path / "b")] + base) == 0
    dirs = [str(tmp_path / "a"), str(tmp_path / "b")]
    capsys.readouterr()
    assert compare.main(dirs + ["--baseline", "a/oracle"]) == 2
    assert "different test steps" in capsys.readouterr().err
    assert compare.main(dirs + ["--baseline", "a/nobody"]) == 2
    assert "a/nobody" in capsys.readouterr().err
    assert compare.main(dirs + [str(tmp_path / "a" / "oracle")]) == 2  # the same row twice
    assert "same row 'a/oracle'" in capsys.readouterr().err
    log = tmp_path / "b" / "heuristic" / "samples.jsonl"
    log.unlink()
    assert compare.main(dirs + ["--baseline", "a/oracle"]) == 2
    assert "no sample log" in capsys.readouterr().err


def _rewrite_log(path, edit):
    records = [json.loads(line) for line in path.read_text().splitlines()]
    path.write_text("".join(json.dumps(r) + "\n" for r in edit(records)))


def test_paired_compare_uses_exactly_the_steps_behind_the_metrics(tmp_path, capsys):
    base = ["--no-progress", "--bootstrap", "0"]
    a, b = tmp_path / "a", tmp_path / "b"
    assert run.main(["--agent", "oracle", "--limit", "3", "--output-path", str(a)] + base) == 0
    assert run.main(["--agent", "heuristic", "--limit", "3", "--output-path", str(b)] + base) == 0
    dirs, table = [str(a), str(b)], tmp_path / "t.md"
    assert compare.main(dirs + ["--baseline", "a/oracle", "--output", str(table)]) == 0
    reference = table.read_text()
    # a smaller rerun keeps the earlier sessions in the log; results.json says which ones count
    assert run.main(["--agent", "oracle", "--limit", "2", "--output-path", str(a)] + base) == 0
    assert run.main(["--agent", "heuristic", "--limit", "2", "--output-path", str(b)] + base) == 0
    assert len(json.loads((a / "oracle" / "results.json").read_text())["data"]["session_ids"]) == 2
    assert compare.main(dirs + ["--baseline", "a/oracle", "--output", str(table)]) == 0
    steps = json.loads((a / "oracle" / "results.json").read_text())["metrics"]["n"]
    assert f"on the same {steps} test steps" in table.read_text()  # the 2 sessions' steps, not the log's 3
    assert f"on the same {steps} test steps" not in reference
    # an older result without the list must match the log's step count
    for folder in (a / "oracle", b / "heuristic"):
        result = json.loads((folder / "results.json").read_text())
        del result["data"]["session_ids"]
        (folder / "results.json").write_text(json.dumps(result))
    capsys.readouterr()
    assert compare.main(dirs + ["--baseline", "a/oracle"]) == 2
    assert "cover" in capsys.readouterr().err
    # back to 3 sessions: a duplicated step makes its session incomplete, hence missing
    assert run.main(["--agent", "oracle", "--limit", "3", "--output-path", str(a)] + base) == 0
    assert run.main(["--agent", "heuristic", "--limit", "3", "--output-path", str(b)] + base) == 0
    assert compare.main(dirs + ["--baseline", "a/oracle", "--output", str(table)]) == 0
    assert table.read_text() == reference
    _rewrite_log(b / "heuristic" / "samples.jsonl", lambda recs: recs + recs[:1])
    assert compare.main(dirs + ["--baseline", "a/oracle"]) == 2
    assert "not complete in the sample log" in capsys.readouterr().err
    # another gold action on the same step is refused
    def other_gold(recs):
        recs = recs[:-1]
        recs[0]["gold_action"] = {"type": "terminate"}
        return recs
    _rewrite_log(b / "heuristic" / "samples.jsonl", other_gold)
    assert compare.main(dirs + ["--baseline", "a/oracle"]) == 2
    assert "another gold action" in capsys.readouterr().err
    # a record that is not a benchmark record names the file
    _rewrite_log(b / "heuristic" / "samples.jsonl", lambda recs: [{**r, "gold_action": None} for r in recs])
    assert compare.main(dirs + ["--baseline", "a/oracle"]) == 2
    assert "heuristic/samples.jsonl" in capsys.readouterr().err


@pytest.mark.parametrize("argv, message", [
    (["--agent", "nope"], "known agents"),
    (["--agent", "oracle", "--data", "nosuch:thing"], "known prefixes"),
    (["--agent", "oracle", "--data", "jsonl:/does/not/exist.jsonl"], "does/not/exist"),
    (["--agent", "heuristic", "--reward", "nope"], "unknown reward"),
])
def test_bad_input_gives_one_line_error(argv, message, tmp_path, capsys):
    assert run.main(argv + ["--output-path", str(tmp_path / "r"), "--no-progress"]) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1
    assert not (tmp_path / "r").exists()  # nothing half-written


def test_resume_refuses_samples_of_another_configuration(tmp_path, capsys):
    out = tmp_path / "res"
    base = ["--agent", "heuristic", "--limit", "3", "--output-path", str(out), "--no-progress", "--bootstrap", "0"]
    assert run.main(base + ["--reward", "binary", "--history", "latest"]) == 0
    assert run.main(base + ["--reward", "shop_r1"]) == 2
    assert "another configuration" in capsys.readouterr().err
    first = json.loads((out / "heuristic" / "results.json").read_text())
    assert first["config"]["reward"]["name"] == "binary"  # the earlier results were not overwritten


def test_resume_keeps_finished_sessions_outside_the_selection(tmp_path):
    out = tmp_path / "res"
    base = ["--agent", "oracle", "--output-path", str(out), "--no-progress", "--bootstrap", "0"]
    assert run.main(base + ["--limit", "3"]) == 0
    log = out / "oracle" / "samples.jsonl"
    before = log.read_text().count("\n")
    assert run.main(base + ["--limit", "1"]) == 0
    assert log.read_text().count("\n") == before


def test_outcome_f1_counts_a_wrong_purchase():
    C = {"type": "click", "name": "buy"}
    T = {"type": "terminate"}
    recs = [
        dict(_rec("a", 0, 1, C, C, click_type="purchase"), session_outcome="purchase"),
        dict(_rec("b", 0, 1, T, C), session_outcome="terminate"),
        dict(_rec("c", 0, 1, T, T), session_outcome="terminate"),
    ]
    out = metrics_from_records(recs, n_bootstrap=0)["session_outcome"]
    assert out["per_class"]["purchase"]["precision"] == 0.5


def test_training_curves_read_finished_and_running_runs(tmp_path, capsys):
    from benchmarks import training_curves

    def entry(step, terminate):
        return {"step": step, "reward": 10.0 * step, "no_dars/parse_failure_rate": 0.5 / step, "kl": 0.001 * step,
                "no_dars/predicted_click": 1 - terminate, "no_dars/predicted_terminate": terminate,
                "no_dars/predicted_type_and_submit": 0.0, "frac_reward_zero_std": float(step % 2)}

    finished = tmp_path / "finished"
    finished.mkdir()
    history = [entry(s, s / 20) for s in range(1, 21)] + [{"step": 20, "train_runtime": 5.0}]
    (finished / "run_card.json").write_text(json.dumps({"metrics": {"log_history": history}}))
    running = tmp_path / "running"
    for step, n in ((5, 5), (10, 10)):  # the newest checkpoint wins
        (running / f"checkpoint-{step}").mkdir(parents=True)
        state = {"log_history": [entry(s, 0.0) for s in range(1, n + 1)]}
        (running / f"checkpoint-{step}" / "trainer_state.json").write_text(json.dumps(state))

    png, out = tmp_path / "curves.png", tmp_path / "curves.json"
    assert training_curves.main([f"no-dars={finished}", str(running), "--output", str(png), "--json", str(out),
                                 "--window", "5"]) == 0
    summary = json.loads(out.read_text())
    assert set(summary) == {"no-dars", "running"}
    terminate = summary["no-dars"]["answers: terminate"]
    assert terminate["first_mean"] == pytest.approx(sum(s / 20 for s in range(1, 6)) / 5)
    assert terminate["last_mean"] == pytest.approx(sum(s / 20 for s in range(16, 21)) / 5)
    assert summary["running"]["reward"]["points"] == 10 and summary["running"]["reward"]["last_steps"] == [6, 10]
    assert summary["no-dars"]["groups without signal"]["first_mean"] == pytest.approx(3 / 5)  # steps 1, 3, 5
    assert summary["no-dars"]["groups without signal"]["mean"] == pytest.approx(10 / 20)  # odd steps of 20
    assert summary["no-dars"]["reward"]["mean"] == pytest.approx(10.0 * 21 / 2)
    # a run card kept on its own (as committed next to results) reads like its run folder
    card = tmp_path / "kept.json"
    card.write_bytes((finished / "run_card.json").read_bytes())
    assert training_curves.load_log_history(card) == training_curves.load_log_history(finished)
    assert png.stat().st_size > 1000
    assert training_curves.main([str(tmp_path / "nothing"), "--output", str(png)]) == 2
    assert "no run_card.json" in capsys.readouterr().err
    # a half-written newest state falls back to the one before; a label splits at the first '='
    (running / "checkpoint-10" / "trainer_state.json").write_text("{\"log_hist")
    assert len(training_curves.load_log_history(running)) == 5
    assert training_curves.parse_run_spec(f"a=b={running}") == ("a", Path(f"b={running}"))
    assert training_curves.parse_run_spec(str(running)) == ("running", running)
    empty = tmp_path / "sft"
    empty.mkdir()
    (empty / "run_card.json").write_text(json.dumps({"metrics": {"log_history": [{"step": 1, "loss": 2.0}]}}))
    assert training_curves.main([str(empty), "--output", str(png)]) == 2
    assert "none of the curves" in capsys.readouterr().err
    assert training_curves.main([str(finished), f"finished={running}", "--output", str(png)]) == 2
    assert "two runs labelled" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        training_curves.main([str(finished), "--output", str(png), "--window", "0"])


def test_a_baseline_can_count_the_budget_with_a_models_tokenizer(tiny_model_dir, tmp_path, monkeypatch):
    from transformers import AutoTokenizer

    import agents.models

    tokenizer = AutoTokenizer.from_pretrained(tiny_model_dir)
    count = agents.models.token_counter(tiny_model_dir)
    text = "<div>Stainless steel water bottle, 32 oz</div>"
    assert count(text) == len(tokenizer(text, add_special_tokens=False)["input_ids"]) != (len(text) + 2) // 3
    calls, real = [], agents.models.token_counter

    def spy(name):
        counter = real(name)
        return lambda text: calls.append(text) or counter(text)

    monkeypatch.setattr(agents.models, "token_counter", spy)
    base = ["--agent", "heuristic", "--limit", "2", "--token-budget", "300", "--no-progress", "--bootstrap", "0"]
    assert run.main(base + ["--output-path", str(tmp_path / "t"), "--tokenizer", str(tiny_model_dir)]) == 0
    assert calls  # the env fitted its pages with the model's tokenizer
    config = json.loads((tmp_path / "t" / "heuristic" / "results.json").read_text())["config"]
    assert config["token_counter"] == f"tokenizer of {tiny_model_dir}"
    assert run.main(base + ["--output-path", str(tmp_path / "e")]) == 0
    config = json.loads((tmp_path / "e" / "heuristic" / "results.json").read_text())["config"]
    assert config["token_counter"].startswith("estimate")


def test_results_record_the_backends_decoding_stop_rule(tiny_model_dir, tmp_path):
    base = ["--limit", "1", "--no-progress", "--bootstrap", "0", "--max-new-tokens", "4",
            "--history", "latest", "--token-budget", "200"]
    assert run.main(["--agent", "prompted", "--model", str(tiny_model_dir)] + base
                    + ["--output-path", str(tmp_path / "p")]) == 0
    (payload,) = [json.loads(p.read_text()) for p in (tmp_path / "p").glob("*/results.json")]
    assert payload["backend"] == "transformers" and payload["config"]["stop_at_json"] is True
    assert run.main(["--agent", "heuristic"] + base + ["--output-path", str(tmp_path / "h")]) == 0
    config = json.loads((tmp_path / "h" / "heuristic" / "results.json").read_text())["config"]
    assert config["stop_at_json"] is None  # no model, no decoding rule


def test_the_configuration_note_names_what_differs_between_rows():
    gen = {"temperature": 0.6, "top_p": 1.0, "max_new_tokens": 128, "seed": 0}
    config = {"reward": {"name": "shop_r1"}, "context": {"history": "latest"}, "system_prompt_sha": "abc"}
    rows = {
        "sft/prompted-final": {"config_hash": "a", "config": {**config, "generation": gen}},
        "binary/prompted-final": {"config_hash": "a", "config": {**config, "generation": gen}},
    }
    assert compare.configuration_note(rows) is None  # one configuration: nothing to say
    rows["sft-seed1/prompted-final"] = {"config_hash": "b", "config": {**config, "generation": {**gen, "seed": 1}}}
    rows["reference/heuristic"] = {"config_hash": "c", "config": {**config, "generation": None}}
    note = compare.configuration_note(rows)
    assert note == ("note: 3 different reward/prompt/context/generation configurations (config_hash) in this "
                    "table (rows differ in generation.seed; no generation settings: reference/heuristic)")
    rows["lenient/prompted-final"] = {"config_hash": "d", "config": {
        **config, "reward": {"name": "shop_r1", "parse_mode": "lenient"}, "generation": gen}}
    assert "rows differ in generation.seed, reward.parse_mode;" in compare.configuration_note(rows)
