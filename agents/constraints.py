"""Grounded decoding: which answers a constrained decoder may write (``--constrain``).

- ``none``: free decoding, as in the paper (the default; nothing changes, no hash moves).
- ``json``: the answer's JSON schema (:func:`shop_env.core.protocol.answer_schema`) with a
  bounded rationale, name and text (plain text: no control characters, quotes or
  backslashes, so no escapes) and no free whitespace, so every answer parses in strict mode
  and closes within :data:`MIN_NEW_TOKENS` tokens when the model writes ASCII text.
- ``candidates``: also the element ``name`` held to the page's candidates that fit the
  chosen type (clickable elements for ``click``, inputs for ``type_and_submit``); the typed
  text stays free but bounded.
- ``shown``: ``candidates`` held to the part of the page the model was shown: the page's
  candidates whose ``name="..."`` stands in the observation's current page
  (:func:`shop_env.context.current_page`), so a token budget that cuts the page leaves out
  what the model never saw. A page shown without any candidate leaves ``terminate`` only.

Backends receive one schema per chat and enforce it with the field's libraries: xgrammar
for transformers, vLLM's structured outputs, ``response_format`` for OpenAI-compatible
servers. None of the paper's baselines constrain decoding: compare rows with the same mode.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from shop_env.core.protocol import PLAIN_TEXT_CHARS, answer_schema, format_response
from shop_env.core.types import Action

__all__ = [
    "CONSTRAIN_MODES",
    "MAX_NAME_CHARS",
    "MAX_RATIONALE_CHARS",
    "MAX_TEXT_CHARS",
    "MIN_NEW_TOKENS",
    "answer_regex",
    "answer_token_bound",
    "check_constrain",
    "schema_for",
]

CONSTRAIN_MODES: tuple[str, ...] = ("none", "json", "candidates", "shown")
#: Bounds of a constrained answer's free strings (characters; xgrammar's regular expressions
#: repeat at most 128 times). With the JSON around them an answer is at most about 400
#: characters: a rationale of about twenty words, a full element name, a search query.
MAX_RATIONALE_CHARS = 120
MAX_NAME_CHARS = 120
MAX_TEXT_CHARS = 80
#: The ``max_new_tokens`` a constrained answer is sized for.
MIN_NEW_TOKENS = 128


def check_constrain(mode: str) -> str:
    """``mode`` when it is one of :data:`CONSTRAIN_MODES`, else a ValueError naming them."""
    if mode not in CONSTRAIN_MODES:
        raise ValueError(f"constrain must be one of {list(CONSTRAIN_MODES)}, got {mode!r}")
    return mode


def answer_token_bound(schema: Mapping[str, Any]) -> int:
    """The most tokens an answer held to ``schema`` can take: its longest admitted text in bytes.

    Every token of a byte-level tokenizer is at least one byte, and the schema's free strings
    are plain ASCII, so this bound holds whatever tokens the model picks (the end-of-sequence
    token included). :class:`~agents.prompted.PromptedAgent` decodes a constrained answer
    with at least this many new tokens, so every answer closes.
    """
    def longest(spec: Mapping[str, Any], default: int) -> str:
        if "enum" in spec:
            return max(spec["enum"], key=lambda v: len(v.encode("utf-8")))
        if "pattern" in spec:
            upper = spec["pattern"].rsplit(",", 1)[-1].rstrip("}$")
            return "x" * (int(upper) if upper else default)
        return "x" * int(spec.get("maxLength", default))

    rationale = longest(schema["properties"]["rationale"], MAX_RATIONALE_CHARS)
    texts = []
    for variant in schema["properties"]["action"]["anyOf"]:
        fields = variant["properties"]
        kind = fields["type"]["const"]
        name = longest(fields["name"], MAX_NAME_CHARS) if "name" in fields else None
        text = longest(fields["text"], MAX_TEXT_CHARS) if "text" in fields else None
        texts.append(format_response(rationale, Action(kind, name=name, text=text)))
    return max(len(t.encode("utf-8")) for t in texts) + 1


def answer_regex() -> str:
    """The ``json`` mode's answers as one regular expression (the same bounds and separators).

    For engines that take a regular expression rather than a schema: TRL's GRPO with vLLM
    generation (``vllm_structured_outputs_regex``). Page candidates cannot enter it (one
    expression serves every prompt), so there it is ``json`` mode only.
    """
    def plain(low: int, high: int) -> str:
        return f'"{PLAIN_TEXT_CHARS}{{{low},{high}}}"'

    name, text = plain(1, MAX_NAME_CHARS), plain(1, MAX_TEXT_CHARS)
    actions = "|".join([
        r'\{"type": "click", "name": ' + name + r'\}',
        r'\{"type": "type_and_submit", "name": ' + name + ', "text": ' + text + r'\}',
        r'\{"type": "terminate"\}',
    ])
    return r'\{"rationale": ' + plain(0, MAX_RATIONALE_CHARS) + r', "action": (?:' + actions + r')\}'


def schema_for(mode: str, info: Mapping[str, Any] | None = None, observation: str | None = None) -> dict[str, Any] | None:
    """The JSON schema one answer is held to under ``mode`` (``None`` for ``none``).

    Args:
        mode: one of :data:`CONSTRAIN_MODES`.
        info: the env's info for the step; ``candidates`` and ``shown`` read
            ``info["candidates"]`` (create the env with ``with_candidates=True``, as the
            rollout harness does).
        observation: the prompt the model answers; ``shown`` keeps the candidates named in it.
    """
    check_constrain(mode)
    if mode == "none":
        return None
    bounds = {"max_rationale_chars": MAX_RATIONALE_CHARS, "max_name_chars": MAX_NAME_CHARS,
              "max_text_chars": MAX_TEXT_CHARS, "plain_text": True}
    if mode == "json":
        return answer_schema(**bounds)
    if info is None or "candidates" not in info:
        raise KeyError(f"constrain={mode!r} needs info['candidates']: create the env with with_candidates=True")
    elements: Sequence[Any] = info["candidates"]
    if mode == "shown":
        if observation is None:
            raise ValueError("constrain='shown' needs the observation the model is shown")
        from shop_env.context import current_page
        from shop_env.html import element_names

        seen = set(element_names(current_page(observation)))
        elements = [c for c in elements if c.name in seen]
    # a click may land on any element, inputs included: shoppers click the search box before
    # they type (the demo corpus and OPeRA log such clicks); only inputs take typed text
    clickable = [c.name for c in elements]
    inputs = [c.name for c in elements if c.kind == "input"]
    return answer_schema(click_names=clickable, input_names=inputs, **bounds)
