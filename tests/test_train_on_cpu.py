"""SFT and GRPO on a tiny model built in the test session: loss, weights, logged rewards, resume."""

from __future__ import annotations

import json
import math

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("trl")

from agents.train.data import IGNORE_INDEX, build_sft_dataset  # noqa: E402
from agents.train.grpo import GRPORunConfig, build_grpo_trainer, run_grpo  # noqa: E402
from agents.train.sft import SFTRunConfig, run_sft  # noqa: E402

pytestmark = pytest.mark.slow


def _sft_config(model_dir, out, **kw):
    base = dict(model=str(model_dir), output_dir=str(out), max_steps=1, learning_rate=3e-3, lr_scheduler="constant",
                warmup_ratio=0.0, per_device_batch_size=3, gradient_accumulation_steps=1, max_length=512,
                limit_sessions=1, save_steps=100, logging_steps=1, report_to="none", evaluate=False)
    base.update(kw)
    return SFTRunConfig(**base)


def _batch_loss(model, tokenizer, dataset):
    ids = [torch.tensor(x) for x in dataset["input_ids"]]
    labels = [torch.tensor(x) for x in dataset["labels"]]
    width = max(len(x) for x in ids)
    input_ids = torch.full((len(ids), width), tokenizer.pad_token_id)
    label_t = torch.full((len(ids), width), IGNORE_INDEX)
    mask = torch.zeros((len(ids), width), dtype=torch.long)
    for i, (x, y) in enumerate(zip(ids, labels, strict=True)):
        input_ids[i, : len(x)], label_t[i, : len(y)], mask[i, : len(x)] = x, y, 1
    with torch.no_grad():
        return float(model(input_ids=input_ids, attention_mask=mask, labels=label_t).loss)


def _weights(path):
    from transformers import AutoModelForCausalLM

    return AutoModelForCausalLM.from_pretrained(path).state_dict()


def test_one_sft_step_lowers_the_loss_on_the_batch(tiny_model_dir, fixture_corpus, tmp_path):
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(tiny_model_dir)
    batch = build_sft_dataset(fixture_corpus, tokenizer, max_length=512, limit=1)
    assert len(batch) == 3  # one training batch: the whole (repeated) data set
    before = _batch_loss(AutoModelForCausalLM.from_pretrained(tiny_model_dir), tokenizer, batch)
    result = run_sft(_sft_config(tiny_model_dir, tmp_path / "sft"), corpus=fixture_corpus)
    after = _batch_loss(AutoModelForCausalLM.from_pretrained(result["final_dir"]), tokenizer, batch)
    assert after < before - 0.05, (before, after)
    card = json.loads((tmp_path / "sft" / "run_card.json").read_text())
    assert card["kind"] == "sft" and card["metrics"]["global_step"] == 1
    assert card["metrics"]["train_examples"] == 3 and card["versions"]["torch"]


def test_the_evaluation_after_sft_shows_the_prompt_it_trained_on(tiny_model_dir, fixture_corpus, tmp_path,
                                                                  monkeypatch):
    import agents.train.evaluate as evaluate

    seen = {}

    def record(model, corpus, **kwargs):
        seen.update(kwargs)
        return {"n": 0}

    monkeypatch.setattr(evaluate, "evaluate_model", record)
    config = _sft_config(tiny_model_dir, tmp_path / "sft", examples="step", history="latest", token_budget=400,
                         persona=True, evaluate=True, eval_sessions=1, max_length=1024)
    run_sft(config, corpus=fixture_corpus, eval_corpus=fixture_corpus)
    assert (seen["history"], seen["token_budget"], seen["persona"]) == ("latest", 400, True)


def _length_spread(prompts=None, completions=(), **kwargs):
    """A test shaper with variance inside every group, so the policy gradient is not zero."""
    from rewards.adapters import completion_text

    return [len(set(completion_text(c))) / 10.0 for c in completions]


def test_grpo_step_changes_weights_and_logs_every_reward_component(tiny_model_dir, fixture_corpus, tmp_path):
    out = tmp_path / "grpo"
    config = GRPORunConfig(model=str(tiny_model_dir), output_dir=str(out), max_steps=1, learning_rate=1e-2,
                           num_generations=2, per_device_batch_size=4, gradient_accumulation_steps=1,
                           max_completion_length=12, token_budget=150, save_steps=100, report_to="none",
                           evaluate=True, eval_sessions=1, eval_max_new_tokens=8)
    result = run_grpo(config, corpus=fixture_corpus, eval_corpus=fixture_corpus, extra_reward_funcs=[_length_spread])
    before, after = _weights(tiny_model_dir), _weights(result["final_dir"])
    changed = [k for k in before if not torch.equal(before[k], after[k])]
    assert changed, "a GRPO step with reward variance must move the weights"
    logs = result["metrics"]["log_history"][0]
    for component in ("format", "type", "attribute", "value", "rationale"):
        assert f"rewards/shop_r1_{component}/mean" in logs
    assert "rewards/_length_spread/mean" in logs
    assert 0.0 <= logs["frac_reward_zero_std"] <= 1.0 and "kl" in logs  # TRL logs the zero-std group share
    card = json.loads((out / "run_card.json").read_text())
    assert card["config"]["beta"] == 0.001 and card["config"]["temperature"] == 0.6
    assert card["metrics"]["eval"]["n"] == len(fixture_corpus[0].steps)
    assert "shop_r1_rationale" in card["metrics"]["reward_functions"]


def test_self_certainty_uses_the_policys_logits_over_the_rationale_tokens(tiny_model_dir, fixture_corpus, tmp_path):
    from rewards import get_reward
    from rewards.parsing import format_response
    from rewards.self_certainty import locate_rationale_span
    from shop_env import Action

    config = GRPORunConfig(model=str(tiny_model_dir), output_dir=str(tmp_path / "g"), max_steps=1,
                           num_generations=2, per_device_batch_size=2, gradient_accumulation_steps=1,
                           token_budget=150, report_to="none", self_certainty_batch_size=2, bf16=False)
    trainer = build_grpo_trainer(config, corpus=fixture_corpus)
    assert trainer.args.activation_checkpointing is False  # off unless asked for (TRL defaults it on)
    tokenizer = trainer.processing_class
    gold = Action.click("refinements.price_low_to_high")
    texts = [format_response("I want the cheap ones first.", gold), "{not json"]
    prompt_ids = [tokenizer("<|im_start|>user\nhello<|im_end|>\n")["input_ids"], tokenizer("hi there")["input_ids"]]
    completion_ids = [tokenizer(t, add_special_tokens=False)["input_ids"] + [tokenizer.eos_token_id] for t in texts]
    completions = [[{"role": "assistant", "content": t}] for t in texts]
    infos = trainer.completion_token_infos(prompt_ids, completion_ids, completions)

    model = trainer.model
    for p_ids, c_ids, info in zip(prompt_ids, completion_ids, infos, strict=True):
        with torch.no_grad():  # one unpadded sequence: logits at position j predict token j + 1
            ids = torch.tensor([p_ids + c_ids], device=model.device)
            logits = model(input_ids=ids).logits[0, len(p_ids) - 1:-1].float().cpu()
        assert len(info.logsumexp) == len(c_ids) == len(info.offsets)
        assert torch.allclose(torch.tensor(info.logsumexp), torch.logsumexp(logits, -1), atol=1e-4)
        assert torch.allclose(torch.tensor(info.mean_logit), logits.mean(-1), atol=1e-4)
        assert info.vocab_size == logits.shape[-1]
    span = locate_rationale_span(texts[0], infos[0].offsets)
    assert span is not None and 0 < span[0] < span[1] < len(completion_ids[0])
    decoded = tokenizer.decode(completion_ids[0][span[0]:span[1]])
    assert "I want the cheap ones first." in decoded
    reward = get_reward("shop_r1")(texts[0], gold, tokens=infos[0])
    lse, mean = torch.tensor(infos[0].logsumexp), torch.tensor(infos[0].mean_logit)
    expected = 0.005 * float((lse - mean)[span[0]:span[1]].mean() - math.log(infos[0].vocab_size))
    assert reward.components["rationale"] == pytest.approx(expected, rel=1e-5)
    assert get_reward("shop_r1")(texts[1], gold, tokens=infos[1]).components["rationale"] == 0.0


class _KillAfterCheckpoint:
    """Stops the process's training right after checkpoint ``step`` is on disk (a simulated kill)."""

    def __init__(self, step):
        from transformers import TrainerCallback

        self.step = step
        outer = self

        class Callback(TrainerCallback):
            def on_save(self, args, state, control, **kwargs):
                if state.global_step == outer.step:
                    raise KeyboardInterrupt(f"killed after checkpoint-{outer.step}")

        self.callback = Callback()


def test_killed_sft_run_resumes_with_the_same_data_order(tiny_model_dir, fixture_corpus, tmp_path):
    common = dict(max_steps=4, save_steps=2, per_device_batch_size=2, learning_rate=3e-3, limit_sessions=None,
                  max_length=400, bf16=False)
    straight = run_sft(_sft_config(tiny_model_dir, tmp_path / "straight", **common), corpus=fixture_corpus)

    killed_dir = tmp_path / "killed"
    with pytest.raises(KeyboardInterrupt):
        run_sft(_sft_config(tiny_model_dir, killed_dir, **common), corpus=fixture_corpus,
                callbacks=[_KillAfterCheckpoint(2).callback])
    assert (killed_dir / "checkpoint-2" / "trainer_state.json").is_file()
    assert not (killed_dir / "final").exists() and not (killed_dir / "run_card.json").exists()
    with pytest.raises(FileExistsError):
        run_sft(_sft_config(tiny_model_dir, killed_dir, **common), corpus=fixture_corpus)
    resumed = run_sft(_sft_config(tiny_model_dir, killed_dir, resume=True, **common), corpus=fixture_corpus)
    assert resumed["resumed_from"].name == "checkpoint-2"
    assert resumed["metrics"]["global_step"] == 4

    # Same data order and optimizer state: the resumed run ends where the uninterrupted one did,
    # and logs the same losses for steps 3 and 4.
    # On a GPU, embedding backward adds with atomics (run-to-run noise), hence the looser bound.
    atol, rel = (1e-4, 1e-4) if torch.cuda.is_available() else (1e-6, 1e-5)
    a, b = _weights(straight["final_dir"]), _weights(resumed["final_dir"])
    for key in a:
        assert torch.allclose(a[key], b[key], atol=atol), key
    losses = {h["step"]: h["loss"] for h in straight["metrics"]["log_history"] if "loss" in h}
    resumed_losses = {h["step"]: h["loss"] for h in resumed["metrics"]["log_history"] if "loss" in h}
    for step in (3, 4):
        assert resumed_losses[step] == pytest.approx(losses[step], rel=rel)
    card = json.loads((killed_dir / "run_card.json").read_text())
    assert card["resumed_from"].endswith("checkpoint-2")


def test_killed_grpo_run_resumes_and_finishes(tiny_model_dir, fixture_corpus, tmp_path):
    out = tmp_path / "grpo"
    config = dict(model=str(tiny_model_dir), output_dir=str(out), max_steps=2, save_steps=1, learning_rate=1e-2,
                  num_generations=2, per_device_batch_size=2, gradient_accumulation_steps=1,
                  max_completion_length=8, token_budget=120, report_to="none", evaluate=False)
    with pytest.raises(KeyboardInterrupt):
        run_grpo(GRPORunConfig(**config), corpus=fixture_corpus, extra_reward_funcs=[_length_spread],
                 callbacks=[_KillAfterCheckpoint(1).callback])
    result = run_grpo(GRPORunConfig(resume=True, **config), corpus=fixture_corpus,
                      extra_reward_funcs=[_length_spread])
    assert result["resumed_from"].name == "checkpoint-1"
    assert result["metrics"]["global_step"] == 2 and (out / "final" / "config.json").is_file()
