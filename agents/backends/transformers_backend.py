"""Local generation with Hugging Face transformers: the only backend with full logits.

It fills :class:`rewards.tokens.TokenInfo` (per-token logsumexp and mean of the raw logits,
plus character offsets), which the self-certainty rationale reward needs, and the log-prob
of every sampled token. It runs anywhere torch runs, CPU included.
"""

from __future__ import annotations

import os
import time
from collections.abc import Mapping, Sequence
from typing import Any

from shop_env.core.token_count import tokenizer_counter

from ..base import Generation, GenerationConfig, Messages, validate_batch

__all__ = ["TransformersBackend", "char_offsets", "resolve_dtype"]

_DTYPES = ("auto", "bfloat16", "float16", "float32")


def resolve_dtype(dtype: Any, device: str) -> Any:
    """The torch dtype for a ``dtype`` option on a device.

    ``"auto"`` means bfloat16 on a CUDA device that supports it, else float32 (bf16 matmuls
    on a CPU are only worth it when asked for, and some CPUs emulate them slowly).
    """
    import torch

    if isinstance(dtype, torch.dtype):
        return dtype
    if dtype not in _DTYPES:
        raise ValueError(f"dtype must be one of {_DTYPES} or a torch.dtype, got {dtype!r}")
    if dtype == "auto":
        if device.startswith("cuda") and torch.cuda.is_available() and torch.cuda.is_bf16_supported():
            return torch.bfloat16
        return torch.float32
    return getattr(torch, dtype)


def char_offsets(tokenizer: Any, token_ids: Sequence[int], text: str) -> list[tuple[int, int]]:
    """Character span of each token in ``text`` (the decoded response, special tokens skipped).

    Spans come from decoding growing prefixes of ``token_ids``: token ``k`` covers the
    characters that prefix ``k+1`` adds to prefix ``k``. A token that ends inside a
    multi-byte character (byte-level BPE) gets an empty span and the next one covers the
    character, so spans are contiguous, non-decreasing and end at ``len(text)``. Special
    tokens (e.g. EOS) get empty spans.
    """
    offsets: list[tuple[int, int]] = []
    prev_end = 0
    for k in range(1, len(token_ids) + 1):
        partial = tokenizer.decode(list(token_ids[:k]), skip_special_tokens=True)
        if text.startswith(partial):
            end = len(partial)
        else:  # a partial multi-byte character decodes as U+FFFD: count only the agreed prefix
            end = len(os.path.commonprefix([partial, text]))
        end = max(end, prev_end)
        offsets.append((prev_end, end))
        prev_end = end
    if offsets and prev_end < len(text):
        start, _ = offsets[-1]
        offsets[-1] = (start, len(text))
    return offsets


class TransformersBackend:
    """Batched, seeded chat generation with a local transformers causal LM.

    Args:
        model: a short name from :mod:`agents.models` (``"smollm2-135m"``), a local model
            folder or checkpoint, or a ``.gguf`` file.
        dtype: ``"auto"`` (bf16 on capable GPUs, float32 on CPU), ``"bfloat16"``,
            ``"float16"``, ``"float32"`` or a torch dtype.
        device: ``"cpu"``, ``"cuda"``, ...; default CUDA when available, else CPU.
        max_batch_size: chats per ``generate`` call; larger batches are split.
        with_token_info: compute :class:`~rewards.tokens.TokenInfo` and offsets (needs
            the raw logits of every step; turn off to save memory and time).
        name: label for results; default ``transformers:<model>``.

    Memory: ``generate`` keeps the raw logits of every step until it returns
    (steps x batch x vocab floats); they are reduced to two floats per token at once and
    freed. Lower ``max_batch_size`` if that peak is too high.
    """

    def __init__(self, model: str | os.PathLike[str], *, dtype: Any = "auto", device: str | None = None,
                 max_batch_size: int = 16, with_token_info: bool = True, name: str | None = None,
                 stop_at_json: bool = True) -> None:
        import torch
        from transformers import AutoModelForCausalLM, AutoTokenizer

        from ..models import resolve_model, weights_digest

        if max_batch_size < 1:
            raise ValueError(f"max_batch_size must be >= 1, got {max_batch_size}")
        path = resolve_model(model)
        digest = weights_digest(model)  # read before loading: a rebuilt checkpoint in the same folder is another model
        device = device or ("cuda" if torch.cuda.is_available() else "cpu")
        torch_dtype = resolve_dtype(dtype, device)
        if path.is_file():
            if path.suffix != ".gguf":
                raise ValueError(f"{path}: a model file must be a .gguf; otherwise pass the model folder")
            load_dir, extra = path.parent, {"gguf_file": path.name}
        else:
            load_dir, extra = path, {}
        tokenizer = AutoTokenizer.from_pretrained(load_dir, **extra)
        hf_model = AutoModelForCausalLM.from_pretrained(load_dir, dtype=torch_dtype, **extra)
        hf_model.to(device)
        self._setup(hf_model, tokenizer, name or f"transformers:{model}", max_batch_size, with_token_info)
        self.stop_at_json = stop_at_json
        self.weights_digest = digest

    @classmethod
    def from_model(cls, model: Any, tokenizer: Any, *, name: str = "transformers", max_batch_size: int = 16,
                   with_token_info: bool = True, stop_at_json: bool = True) -> TransformersBackend:
        """Wrap an already loaded model and tokenizer (trainers, tests); nothing is copied."""
        self = cls.__new__(cls)
        self._setup(model, tokenizer, name, max_batch_size, with_token_info)
        self.stop_at_json = stop_at_json
        return self

    def _setup(self, model: Any, tokenizer: Any, name: str, max_batch_size: int, with_token_info: bool) -> None:
        if getattr(tokenizer, "chat_template", None) is None:
            raise ValueError(f"{name}: the tokenizer has no chat template")
        if tokenizer.pad_token_id is None:
            tokenizer.pad_token = tokenizer.eos_token
        tokenizer.padding_side = "left"  # decoder-only batching: prompts end where generation starts
        model.eval()
        self.name = name
        self.model = model
        self.tokenizer = tokenizer
        self.max_batch_size = max_batch_size
        self.with_token_info = with_token_info
        self._eos_ids = self._stop_ids(model, tokenizer)
        self.weights_digest: str | None = None  # an in-memory model (trainers, tests): its name says which
        self._schema_compiler: Any = None  # built on the first constrained call (xgrammar)

    @staticmethod
    def _stop_ids(model: Any, tokenizer: Any) -> set[int]:
        ids: set[int] = set()
        for source in (getattr(model.generation_config, "eos_token_id", None), tokenizer.eos_token_id):
            if isinstance(source, int):
                ids.add(source)
            elif source is not None:
                ids.update(int(i) for i in source)
        return ids

    def __repr__(self) -> str:
        return f"TransformersBackend(name={self.name!r}, device={self.model.device}, dtype={self.model.dtype})"

    def count_tokens(self, text: str) -> int:
        return tokenizer_counter(self.tokenizer)(text)

    def prompt_texts(self, batch: Sequence[Messages]) -> list[str]:
        """The chat-templated prompt of each chat, ending with the assistant turn's header."""
        return [self.tokenizer.apply_chat_template(list(m), tokenize=False, add_generation_prompt=True)
                for m in batch]

    def generate(self, batch: Sequence[Messages], config: GenerationConfig,
                 schemas: Sequence[Mapping[str, Any] | None] | None = None) -> list[Generation]:
        """Generate one response per chat; seeded by ``config.seed``, greedy at temperature 0.

        ``schemas`` holds each chat's answer to a JSON schema (``None`` for a free row), with
        xgrammar (:mod:`agents.backends.grammar`). The global torch RNG is left as it was:
        sampling runs under a forked RNG.
        """
        import torch

        validate_batch(batch)
        if not batch:
            return []
        prompts = self.prompt_texts(batch)
        rows = list(schemas) if schemas is not None else [None] * len(prompts)
        if len(rows) != len(prompts):
            raise ValueError(f"got {len(rows)} schemas for {len(prompts)} chats")
        out: list[Generation] = []
        devices = [self.model.device.index or 0] if self.model.device.type == "cuda" else []
        with torch.random.fork_rng(devices=devices), torch.inference_mode():
            torch.manual_seed(config.seed)
            for start in range(0, len(prompts), self.max_batch_size):
                chunk = slice(start, start + self.max_batch_size)
                out.extend(self._generate_chunk(prompts[chunk], config, rows[chunk]))
        return out

    def _grammar_processor(self, schemas: Sequence[Mapping[str, Any] | None]) -> Any:
        """The logits processor holding each row to its schema, or ``None`` when no row has one."""
        if all(s is None for s in schemas):
            return None
        from .grammar import SchemaCompiler, SchemaLogitsProcessor

        vocab = int(self.model.config.vocab_size)
        if self._schema_compiler is None:
            self._schema_compiler = SchemaCompiler(self.tokenizer, vocab)
        grammars = [None if s is None else self._schema_compiler.compile(s) for s in schemas]
        return SchemaLogitsProcessor(grammars, vocab)

    def _generate_chunk(self, prompts: list[str], config: GenerationConfig,
                        schemas: Sequence[Mapping[str, Any] | None]) -> list[Generation]:
        from transformers import GenerationConfig as HFGenerationConfig

        enc = self.tokenizer(prompts, return_tensors="pt", padding=True, add_special_tokens=False)
        enc = {k: v.to(self.model.device) for k, v in enc.items()}
        gen_kwargs: dict[str, Any] = {
            "max_new_tokens": config.max_new_tokens,
            "do_sample": not config.greedy,
            "pad_token_id": self.tokenizer.pad_token_id,
            "eos_token_id": sorted(self._eos_ids) or None,
            "return_dict_in_generate": True,
            "output_logits": self.with_token_info,
        }
        if not config.greedy:
            gen_kwargs.update(temperature=float(config.temperature), top_p=float(config.top_p), top_k=0)
        stopper = None
        if self.stop_at_json:
            from transformers import StoppingCriteriaList

            stopper = JSONObjectEnd(self.tokenizer, enc["input_ids"].shape[1], enc["input_ids"].shape[0])
            extra_kwargs = {"stopping_criteria": StoppingCriteriaList([stopper])}
        else:
            extra_kwargs = {}
        grammar = self._grammar_processor(schemas)
        if grammar is not None:
            from transformers import LogitsProcessorList

            extra_kwargs["logits_processor"] = LogitsProcessorList([grammar])
        started = time.perf_counter()
        # A fresh config: the model's own generation defaults (top_k=50, repetition penalty, ...)
        # must not change what the caller asked for.
        result = self.model.generate(**enc, generation_config=HFGenerationConfig(**gen_kwargs), **extra_kwargs)
        latency = time.perf_counter() - started

        prompt_len = enc["input_ids"].shape[1]
        sequences = result.sequences[:, prompt_len:].cpu()
        stats = self._logit_stats(result.logits, sequences) if self.with_token_info else None
        del result
        prompt_tokens = enc["attention_mask"].sum(dim=1).tolist()

        gens = []
        for row in range(sequences.shape[0]):
            ids = sequences[row].tolist()
            n = self._response_length(ids)
            if stopper is not None and stopper.stop_length[row] is not None:
                n = min(n, stopper.stop_length[row])
            ids = ids[:n]
            text = self.tokenizer.decode(ids, skip_special_tokens=True)
            logprobs = token_info = None
            if stats is not None:
                from rewards.tokens import TokenInfo

                lse, mean, lp, vocab = stats
                logprobs = lp[row, :n].tolist()
                token_info = TokenInfo(
                    logsumexp=lse[row, :n].tolist(),
                    mean_logit=mean[row, :n].tolist(),
                    vocab_size=vocab,
                    offsets=char_offsets(self.tokenizer, ids, text),
                )
            gens.append(Generation(text=text, token_ids=ids, logprobs=logprobs, token_info=token_info,
                                   prompt_tokens=int(prompt_tokens[row]), completion_tokens=n,
                                   latency_s=latency))
        return gens

    def _response_length(self, ids: list[int]) -> int:
        """Tokens up to and including the first stop token (what follows is padding)."""
        for i, token in enumerate(ids):
            if token in self._eos_ids:
                return i + 1
        return len(ids)

    @staticmethod
    def _logit_stats(logits: Sequence[Any], sequences: Any) -> tuple[Any, Any, Any, int]:
        """Per step and row: logsumexp, mean and sampled-token log-prob of the raw logits, in float32.

        Each step's ``(batch, vocab)`` logits are reduced and dropped right away.
        """
        import torch

        steps = len(logits)
        batch = sequences.shape[0]
        lse = torch.empty(batch, steps, dtype=torch.float32)
        mean = torch.empty(batch, steps, dtype=torch.float32)
        logprob = torch.empty(batch, steps, dtype=torch.float32)
        vocab = int(logits[0].shape[-1])
        logits = list(logits)
        for t in range(steps):
            z = logits[t].float().cpu()
            logits[t] = None
            step_lse = torch.logsumexp(z, dim=-1)
            lse[:, t] = step_lse
            mean[:, t] = z.mean(dim=-1)
            chosen = sequences[:, t].long().unsqueeze(-1)
            logprob[:, t] = z.gather(-1, chosen).squeeze(-1) - step_lse
        return lse, mean, logprob, vocab



class JSONObjectEnd:
    """Stop a row once its generated text has closed its first top-level JSON object.

    A decoding rule, like a stop string: the paper's answer is one JSON object, and on a CPU
    not decoding the rest of ``max_new_tokens`` is most of the cost of a step. It is not
    neutral for the format metric: text a model would have written after its object, which
    strict parsing counts as a format failure, is never generated. The vLLM and OpenAI
    backends decode to the end-of-sequence token, so compare parse-failure rates within one
    backend (``stop_at_json=False`` turns the rule off). Braces inside JSON strings (with escapes) are not counted. Tokens are
    decoded one at a time: structural characters are ASCII, so split multi-byte characters
    do not matter. ``stop_length[row]`` is the number of tokens up to the closing brace.
    """

    def __init__(self, tokenizer: Any, prompt_length: int, batch_size: int) -> None:
        self.tokenizer = tokenizer
        self.prompt_length = prompt_length
        self._state = [[0, False, False] for _ in range(batch_size)]  # depth, in string, escaped
        self.stop_length: list[int | None] = [None] * batch_size
        self._seen = 0

    def __call__(self, input_ids: Any, scores: Any, **kwargs: Any) -> Any:
        import torch

        total = input_ids.shape[1] - self.prompt_length
        new = input_ids[:, self.prompt_length + self._seen:].tolist()
        for row, ids in enumerate(new):
            if self.stop_length[row] is not None:
                continue
            for offset, token in enumerate(ids):
                if self._feed(row, self.tokenizer.decode([token], skip_special_tokens=True)):
                    self.stop_length[row] = self._seen + offset + 1
                    break
        self._seen = total
        return torch.tensor([n is not None for n in self.stop_length], dtype=torch.bool, device=input_ids.device)

    def _feed(self, row: int, piece: str) -> bool:
        state = self._state[row]
        depth, in_string, escaped = state
        closed = False
        for ch in piece:
            if in_string:
                if escaped:
                    escaped = False
                elif ch == "\\":
                    escaped = True
                elif ch == '"':
                    in_string = False
            elif ch == '"' and depth > 0:
                in_string = True
            elif ch == "{":
                depth += 1
            elif ch == "}" and depth > 0:
                depth -= 1
                if depth == 0:
                    closed = True
                    break
        state[:] = [depth, in_string, escaped]
        return closed
