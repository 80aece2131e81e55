"""JSON-schema constrained decoding for the transformers backend, on xgrammar (what vLLM uses).

:class:`SchemaCompiler` compiles an answer schema against a tokenizer once (cached by the
schema's text: a page's candidate list compiles in tens of milliseconds, the plain schema
once per backend); :class:`SchemaLogitsProcessor` masks, at every decoding step and for each
row of a batch, the tokens its grammar does not allow. Rows without a schema decode freely.

The masks act on the scores that sampling uses, never on the raw logits that
``output_logits`` returns, so log-probs and self-certainty statistics still describe the
model's own distribution.
"""

from __future__ import annotations

import json
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from typing import Any

from transformers import LogitsProcessor

__all__ = ["SchemaCompiler", "SchemaLogitsProcessor"]

#: Compact JSON as :func:`shop_env.core.protocol.format_response` writes it.
_SEPARATORS = (", ", ": ")


class SchemaCompiler:
    """Compiles answer schemas for one tokenizer, keeping the last ``cache_size`` grammars."""

    def __init__(self, tokenizer: Any, vocab_size: int, *, cache_size: int = 256) -> None:
        import xgrammar as xgr

        info = xgr.TokenizerInfo.from_huggingface(tokenizer, vocab_size=vocab_size)
        self._compiler = xgr.GrammarCompiler(info)
        self._cache: OrderedDict[str, Any] = OrderedDict()
        self._cache_size = cache_size

    def compile(self, schema: Mapping[str, Any]) -> Any:
        """The compiled grammar of ``schema``: no free whitespace, the protocol's separators."""
        key = json.dumps(schema, sort_keys=True)
        grammar = self._cache.get(key)
        if grammar is None:
            grammar = self._compiler.compile_json_schema(json.dumps(schema), any_whitespace=False,
                                                         separators=_SEPARATORS, strict_mode=True)
            self._cache[key] = grammar
            if len(self._cache) > self._cache_size:
                self._cache.popitem(last=False)
        else:
            self._cache.move_to_end(key)
        return grammar


class SchemaLogitsProcessor(LogitsProcessor):
    """A transformers logits processor holding each row of a batch to its compiled grammar.

    One instance serves one ``generate`` call. A row whose grammar is complete may only end
    (its stop tokens); a row another rule stopped (the JSON stop rule, padding after its end)
    is no longer fed to its matcher, so a token the grammar would refuse never raises.
    """

    def __init__(self, grammars: Sequence[Any | None], vocab_size: int) -> None:
        import xgrammar as xgr

        self._xgr = xgr
        self._matchers = [None if g is None else xgr.GrammarMatcher(g) for g in grammars]
        self._bitmask = xgr.allocate_token_bitmask(len(grammars), vocab_size)
        self._vocab_size = vocab_size
        self._started = False

    def __call__(self, input_ids: Any, scores: Any) -> Any:
        if input_ids.shape[0] != len(self._matchers):
            raise RuntimeError(f"batch of {input_ids.shape[0]} rows for {len(self._matchers)} grammars")
        last = input_ids[:, -1].tolist() if self._started else None
        self._started = True
        constrained = False
        for row, matcher in enumerate(self._matchers):
            if matcher is None:
                continue
            if last is not None and not matcher.is_terminated() and not matcher.accept_token(last[row]):
                self._matchers[row] = None  # stopped by another rule (padding): nothing left to hold
                continue
            if matcher.is_terminated():
                self._matchers[row] = None
                continue
            matcher.fill_next_token_bitmask(self._bitmask, row)
            constrained = True
        if not constrained:
            return scores
        free = [row for row, m in enumerate(self._matchers) if m is None]
        mask = self._bitmask.clone()
        if free:
            mask[free] = -1  # every bit set: every token allowed
        width = scores.shape[-1]
        # a copy: generate() hands the processors the very tensor it keeps as the step's raw
        # logits (output_logits), and masking that in place would turn them -inf
        target = scores.clone() if scores.device.type in ("cpu", "cuda") else scores.cpu()
        self._xgr.apply_token_bitmask_inplace(target, mask.to(target.device), vocab_size=min(width, self._vocab_size))
        return target.to(scores.device)
