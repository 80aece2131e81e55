"""Dataset builders, run bookkeeping and the training CLI (no training here: fast)."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from agents.train import data as train_data
from agents.train import runcard
from agents.train.__main__ import add_dataclass_arguments, config_from_args
from rewards.parsing import format_response


@pytest.fixture(scope="module")
def tokenizer(tiny_model_dir):
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(tiny_model_dir)


def test_assistant_mask_covers_exactly_the_answers_and_their_end_token(tokenizer, fixture_corpus):
    session = fixture_corpus[0]
    messages = train_data.sft_chats(fixture_corpus, context=None, limit=1)[0]["messages"]
    assert [m["role"] for m in messages] == ["system"] + ["user", "assistant"] * len(session.steps)
    ids, mask = train_data.assistant_token_mask(tokenizer, messages)
    assert len(ids) == len(mask) and 0 < sum(mask) < len(mask)
    # Runs of masked tokens decode to each answer followed by its end-of-turn token, in order.
    runs, current = [], []
    for tok, m in zip(ids, mask, strict=True):
        if m:
            current.append(tok)
        elif current:
            runs.append(current)
            current = []
    if current:
        runs.append(current)
    answers = [format_response(s.rationale or "", s.action) for s in session.steps]
    assert [tokenizer.decode(r) for r in runs] == [a + "<|im_end|>" for a in answers]
    unmasked = tokenizer.decode([t for t, m in zip(ids, mask, strict=True) if not m])
    assert "You are a user browsing" in unmasked and "[Page 1]" in unmasked
    assert unmasked.count("<|im_start|>assistant") == len(session.steps)  # headers are not trained on
    for answer in answers:
        assert answer not in unmasked


def test_tokenize_sft_chat_labels_and_fit(tokenizer, fixture_corpus):
    messages = train_data.sft_chats(fixture_corpus, limit=1)[0]["messages"]
    full = train_data.tokenize_sft_chat(tokenizer, messages)
    ids, mask = train_data.assistant_token_mask(tokenizer, messages)
    assert full["input_ids"] == ids
    assert full["labels"] == [t if m else train_data.IGNORE_INDEX for t, m in zip(ids, mask, strict=True)]
    # Too long: the oldest (user, assistant) pairs go first, the system prompt and last answer stay.
    short = train_data.tokenize_sft_chat(tokenizer, messages, max_length=len(ids) - 5)
    assert len(short["input_ids"]) <= len(ids) - 5
    text = tokenizer.decode(short["input_ids"])
    assert text.startswith("<|im_start|>system") and "Too expensive for me." in text
    assert "I want to find a microphone." not in text


def test_tokenize_sft_chat_moves_the_persona_to_the_first_kept_turn(tokenizer, fixture_corpus):
    from shop_env.context import ContextConfig

    messages = train_data.sft_chats(fixture_corpus, context=ContextConfig(persona=True, token_budget=None),
                                    limit=1)[0]["messages"]
    assert messages[1]["content"].startswith("[My persona]")
    ids, _ = train_data.assistant_token_mask(tokenizer, messages)
    short = tokenizer.decode(train_data.tokenize_sft_chat(tokenizer, messages, max_length=len(ids) - 5)["input_ids"])
    assert "[Page 1]" not in short and short.count("[My persona]") == 1
    assert short.index("[My persona]") < short.index("[Page ")


def test_assistant_mask_rejects_templates_that_are_not_prefix_stable(tokenizer):
    import copy

    tok = copy.deepcopy(tokenizer)
    # A template that renders the message count first: no rendering is a prefix of a longer one.
    tok.chat_template = "{{ messages|length }}{% for m in messages %}<|im_start|>{{ m['content'] }}<|im_end|>{% endfor %}"
    with pytest.raises(ValueError, match="prefix-stable"):
        train_data.assistant_token_mask(tok, [{"role": "user", "content": "a"}, {"role": "assistant", "content": "b"}])
    with pytest.raises(ValueError, match="no assistant turn"):
        train_data.assistant_token_mask(tokenizer, [{"role": "user", "content": "a"}])


def test_sft_windows_cover_every_step_once(fixture_corpus):
    from shop_env.context import ContextConfig

    rows = train_data.sft_chats(fixture_corpus, context=ContextConfig(token_budget=700))
    for index, session in enumerate(fixture_corpus):
        windows = [r for r in rows if r["session_id"] == session.session_id]
        covered = [t for w in windows for t in range(w["first_step"], w["last_step"] + 1)]
        assert covered == list(range(len(session.steps))), index
        assert len(windows) > 1  # the budget forces a split, oldest window first
        for w in windows:
            answers = [m["content"] for m in w["messages"] if m["role"] == "assistant"]
            assert answers == [train_data.answer_text(session.steps[t])
                               for t in range(w["first_step"], w["last_step"] + 1)]


def test_build_sft_dataset_fits_max_length(tokenizer, fixture_corpus):
    ds = train_data.build_sft_dataset(fixture_corpus, tokenizer, max_length=600)
    assert set(ds.column_names) >= {"input_ids", "labels", "session_id", "first_step", "last_step"}
    assert all(len(x) <= 600 for x in ds["input_ids"])
    assert all(any(t != train_data.IGNORE_INDEX for t in lab) for lab in ds["labels"])


def test_sft_step_examples_are_the_evaluation_prompt_plus_the_gold_answer(tokenizer, fixture_corpus):
    """--examples step: one chat per step whose prompt is exactly what the env shows at that step."""
    from shop_env import ShopSessionEnv

    counter = train_data.tokenizer_counter(tokenizer)
    rows = train_data.sft_step_chats(fixture_corpus, context=train_data.ContextConfig(history="latest",
                                                                                      token_budget=300),
                                     token_counter=counter)
    assert len(rows) == sum(len(s.steps) for s in fixture_corpus)
    env = ShopSessionEnv(corpus=fixture_corpus, history="latest", token_budget=300, token_counter=counter)
    for index, session in enumerate(fixture_corpus):
        obs, _ = env.reset(options={"session_index": index})
        mine = [r for r in rows if r["session_id"] == session.session_id]
        for t, (row, step) in enumerate(zip(mine, session.steps, strict=True)):
            assert row["first_step"] == row["last_step"] == t
            assert [m["role"] for m in row["messages"]] == ["system", "user", "assistant"]
            assert row["messages"][1]["content"] == obs
            assert row["messages"][2]["content"] == train_data.answer_text(step)
            obs, *_ = env.step(train_data.answer_text(step))

    ds = train_data.build_sft_dataset(fixture_corpus, tokenizer, max_length=600, examples="step",
                                      history="latest", token_budget=300)
    assert len(ds) == len(rows)
    assert all(len(x) <= 600 for x in ds["input_ids"])
    with pytest.raises(ValueError, match="examples must be"):
        train_data.build_sft_dataset(fixture_corpus, tokenizer, examples="sessions")


def test_grpo_rows_are_one_prompt_per_step_without_rationales(fixture_corpus):
    from shop_env import Action

    rows = train_data.grpo_rows(fixture_corpus, token_budget=None)
    assert len(rows) == sum(len(s.steps) for s in fixture_corpus)
    for session in fixture_corpus:
        mine = [r for r in rows if r["session_id"] == session.session_id]
        assert [r["step_index"] for r in mine] == list(range(len(session.steps)))
        for row, step in zip(mine, session.steps, strict=True):
            assert [m["role"] for m in row["prompt"]] == ["system", "user"]
            assert Action.from_dict(json.loads(row["gold_action"])) == step.action
            assert row["click_type"] == (step.click_type or "")
            for earlier in session.steps:
                if earlier.rationale:
                    assert earlier.rationale not in row["prompt"][1]["content"]
        # history: the last prompt shows every earlier action
        last = mine[-1]["prompt"][1]["content"]
        for step in session.steps[:-1]:
            assert step.action.to_json() in last


def test_verl_parquet_round_trip_scores_gold_highest(tmp_path, fixture_corpus):
    import pyarrow.parquet as pq

    from rewards.adapters.verl import compute_score

    rows = train_data.verl_rows(fixture_corpus, token_budget=None)
    path = train_data.export_verl_parquet(fixture_corpus, tmp_path, splits=["train"], token_budget=None)["train"]
    table = pq.read_table(path).to_pylist()
    assert len(table) == len(rows) and not list(tmp_path.glob(".*tmp"))
    for row, session_step in zip(table, [s for sess in fixture_corpus for s in sess.steps], strict=True):
        assert row["data_source"] == "shop_r1" and row["prompt"][0]["role"] == "system"
        gold_answer = format_response("because", session_step.action)
        best = compute_score(row["data_source"], gold_answer, row["reward_model"]["ground_truth"], row["extra_info"])
        worse = compute_score(row["data_source"], "not json", row["reward_model"]["ground_truth"], row["extra_info"])
        assert best["exact_match"] == 1.0 and best["score"] > worse["score"] == 0.0
    with pytest.raises(ValueError, match="source string"):
        train_data.export_verl_parquet(fixture_corpus, tmp_path, splits=["train", "valid"])


def test_latest_checkpoint_skips_incomplete_ones(tmp_path):
    assert runcard.latest_checkpoint(tmp_path / "missing") is None
    for step, complete in [(2, True), (4, True), (6, False)]:
        d = tmp_path / f"checkpoint-{step}"
        d.mkdir()
        if complete:
            (d / "trainer_state.json").write_text("{}")
    (tmp_path / "checkpoint-x").mkdir()
    assert runcard.latest_checkpoint(tmp_path).name == "checkpoint-4"


def test_resume_point_refuses_to_mix_runs(tmp_path):
    from agents.train._common import resume_point

    assert resume_point(tmp_path, resume=True) is None
    (tmp_path / "checkpoint-3").mkdir()
    (tmp_path / "checkpoint-3" / "trainer_state.json").write_text("{}")
    with pytest.raises(FileExistsError, match="--resume"):
        resume_point(tmp_path, resume=False)
    assert resume_point(tmp_path, resume=True).name == "checkpoint-3"


def test_final_folder_and_run_card_are_replaced_atomically(tmp_path):
    runcard.save_final_atomically(tmp_path, lambda d: (d / "weights.bin").write_text("old"))
    with pytest.raises(RuntimeError):
        def broken(d):
            (d / "weights.bin").write_text("half")
            raise RuntimeError("killed while saving")
        runcard.save_final_atomically(tmp_path, broken)
    assert (tmp_path / "final" / "weights.bin").read_text() == "old"
    runcard.save_final_atomically(tmp_path, lambda d: (d / "weights.bin").write_text("new"))
    assert (tmp_path / "final" / "weights.bin").read_text() == "new"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["final"]

    from agents.train.sft import SFTRunConfig

    path = runcard.write_run_card(tmp_path, kind="sft", config=SFTRunConfig(), metrics={"loss": float("nan")})
    card = json.loads(path.read_text())
    assert card["kind"] == "sft" and card["config"]["learning_rate"] == 2e-5
    assert card["versions"]["trl"] and card["versions"]["transformers"] and card["metrics"]["loss"] is None
    assert card["config_hash"] == runcard.config_hash(SFTRunConfig())
    assert runcard.config_hash(SFTRunConfig()) != runcard.config_hash(SFTRunConfig(learning_rate=1e-5))
    import torch

    expected = torch.cuda.get_device_name(0) if torch.cuda.is_available() else None
    assert (card["accelerator"] or {}).get("name") == expected


def test_accelerator_is_read_from_an_imported_torch_only(monkeypatch):
    from types import SimpleNamespace

    cuda = SimpleNamespace(is_available=lambda: True, get_device_name=lambda i: "Card X", device_count=lambda: 2,
                           is_bf16_supported=lambda: True)
    monkeypatch.setitem(sys.modules, "torch", SimpleNamespace(cuda=cuda, version=SimpleNamespace(cuda="13.0")))
    assert runcard.accelerator() == {"name": "Card X", "count": 2, "bf16_supported": True, "cuda": "13.0"}
    monkeypatch.delitem(sys.modules, "torch")
    assert runcard.accelerator() is None


def test_cli_flags_come_from_the_config_dataclasses():
    import argparse

    from agents.train.grpo import GRPORunConfig
    from agents.train.sft import SFTRunConfig

    parser = argparse.ArgumentParser()
    add_dataclass_arguments(parser, GRPORunConfig)
    cfg = config_from_args(GRPORunConfig, parser.parse_args(
        ["--reward", "no_dars", "--rationale-alpha", "0.01", "--no-self-certainty", "--token-budget", "none",
         "--history", "3", "--bf16", "false"]))
    assert cfg.reward == "no_dars" and cfg.rationale_alpha == 0.01 and cfg.self_certainty is False
    assert cfg.token_budget is None and cfg.history == 3 and cfg.bf16 is False
    assert cfg.overrides() == {"rationale_alpha": 0.01}
    defaults = GRPORunConfig()
    assert (defaults.learning_rate, defaults.beta, defaults.temperature, defaults.num_generations,
            defaults.epsilon, defaults.max_completion_length, defaults.max_steps) == (1e-7, 0.001, 0.6, 8, 0.2, 256, 500)
    assert defaults.per_device_batch_size * defaults.gradient_accumulation_steps == 64
    assert (SFTRunConfig().epochs, SFTRunConfig().learning_rate) == (4.0, 2e-5)
    with pytest.raises(ValueError, match="multiple of num_generations"):
        GRPORunConfig(num_generations=3, per_device_batch_size=4, gradient_accumulation_steps=1)
    with pytest.raises(ValueError, match="JSON"):
        GRPORunConfig(reward_overrides="{bad")


def test_eval_passes_the_training_prompt_settings(monkeypatch, tmp_path):
    import agents.train.evaluate as evaluate
    from agents.train.__main__ import main

    seen = {}

    def record(model, corpus, **kwargs):
        seen.update(kwargs)
        return {"n": 0}

    monkeypatch.setattr(evaluate, "evaluate_model", record)
    assert main(["eval", "--model", "m", "--history", "latest", "--token-budget", "1024", "--persona",
                 "--output", str(tmp_path / "m.json")]) == 0
    assert (seen["history"], seen["token_budget"], seen["persona"]) == ("latest", 1024, True)


def test_importing_agents_train_stays_light():
    code = ("import sys, agents.train, agents.train.sft, agents.train.grpo, agents.train.data; "
            "print(any(m in sys.modules for m in ('torch', 'transformers', 'trl')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_cli_reports_bad_input_clearly(tmp_path):
    from agents.train.__main__ import main

    (tmp_path / "checkpoint-1").mkdir()
    (tmp_path / "checkpoint-1" / "trainer_state.json").write_text("{}")
    assert main(["sft", "--output-dir", str(tmp_path), "--model", str(tmp_path)]) == 2


def test_shipped_scale_out_configs_are_consistent():
    import importlib.util
    from pathlib import Path

    yaml = pytest.importorskip("yaml")
    root = Path(__file__).resolve().parents[1]
    for name in ("multi_gpu", "deepspeed_zero2", "deepspeed_zero3"):
        cfg = yaml.safe_load((root / "configs" / "accelerate" / f"{name}.yaml").read_text())
        assert cfg["mixed_precision"] == "bf16" and cfg["num_processes"] >= 1 and not cfg["use_cpu"]
        if name.startswith("deepspeed"):
            assert cfg["distributed_type"] == "DEEPSPEED"
            assert cfg["deepspeed_config"]["zero_stage"] == int(name[-1])
    verl = yaml.safe_load((root / "configs" / "verl" / "shop_r1_grpo.yaml").read_text())
    actor = verl["actor_rollout_ref"]["actor"]
    rollout = verl["actor_rollout_ref"]["rollout"]
    assert (actor["optim"]["lr"], actor["kl_loss_coef"], actor["kl_loss_type"]) == (1e-7, 0.001, "low_var_kl")
    assert (rollout["n"], rollout["temperature"], verl["trainer"]["total_training_steps"]) == (8, 0.6, 500)
    assert verl["data"]["train_files"].endswith("train.parquet") and verl["data"]["prompt_key"] == "prompt"
    # verl loads the reward module by file path, outside the package: do the same.
    reward = verl["custom_reward_function"]
    spec = importlib.util.spec_from_file_location("verl_reward_under_test", root / reward["path"])
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    gold = '{"type": "terminate"}'
    assert getattr(module, reward["name"])("shop_r1", '{"rationale": "bye", "action": {"type": "terminate"}}',
                                           gold, {})["score"] == pytest.approx(0.8)
