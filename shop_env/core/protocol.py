"""The answer protocol: how an answer is described to a model, its JSON schema, parse and format.

One module holds every part of the contract, so the prompt's description of the actions,
the schema a constrained decoder follows, the parser and the canonical answer text can
never disagree (the action-set pattern of BrowserGym).

Strict mode is the paper's contract: the whole response (surrounding whitespace aside) is ONE
JSON object ``{"rationale": str, "action": {"type": ..., ...}}``. Lenient mode also accepts
the object inside a fenced code block or surrounded by other text, which zero-shot models
often produce. Neither mode ever raises: any string gives a :class:`ParsedResponse`.

Bounded work, whatever the response: a response longer than :data:`MAX_RESPONSE_CHARS`
characters is a format failure without being read (an answer of 256 generated tokens is a
few thousand characters); strict mode decodes the response once (C speed, linear); lenient
mode, once strict fails, looks only at the first :data:`LENIENT_WINDOW_CHARS` characters and
tries at most :data:`MAX_LENIENT_CANDIDATES` code blocks and as many ``{`` positions there.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from .types import ACTION_TYPES, Action

__all__ = [
    "ACTION_SPACE_TEXT",
    "ANSWER_FORMAT_TEXT",
    "ANSWER_SCHEMA",
    "LENIENT_WINDOW_CHARS",
    "MAX_LENIENT_CANDIDATES",
    "MAX_RESPONSE_CHARS",
    "PARSE_MODES",
    "PLAIN_TEXT_CHARS",
    "ParsedResponse",
    "answer_schema",
    "format_response",
    "is_unicode_text",
    "parse_response",
    "validate_answer",
]

#: The prompt's description of the three actions (SPEC section 2), as the system prompt shows it.
ACTION_SPACE_TEXT = """\
Action space (one of):
- {"type": "click", "name": "<name>"}: click the element whose `name` attribute is <name>.
- {"type": "type_and_submit", "name": "<name>", "text": "<text>"}: type <text> into the \
input whose `name` attribute is <name> and press enter.
- {"type": "terminate"}: close the window and leave without buying."""

#: The prompt's instruction on the answer's form; :func:`format_response` writes exactly this shape.
ANSWER_FORMAT_TEXT = """\
Answer with a single JSON object and nothing else, in this form:
{"rationale": "<one short sentence>", "action": {"type": "click", "name": "<name>"}}"""

PARSE_MODES: tuple[str, ...] = ("strict", "lenient")

#: Longer responses are a format failure, unread (module docstring).
MAX_RESPONSE_CHARS = 1_000_000
#: Lenient mode searches only this many leading characters for a code block or an object.
LENIENT_WINDOW_CHARS = 65_536
#: Lenient mode tries at most this many code blocks and this many ``{`` positions.
MAX_LENIENT_CANDIDATES = 64
_MAX_LENIENT_CANDIDATES = MAX_LENIENT_CANDIDATES  # the name before it was public
_FENCE = re.compile(r"```[ \t]*([A-Za-z0-9_+-]*)[ \t]*\r?\n(.*?)```", re.DOTALL)


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


#: Python's decoder also takes NaN and Infinity; JSON does not, so neither does the parser.
_DECODER = json.JSONDecoder(parse_constant=_reject_constant)


@dataclass(frozen=True, slots=True)
class ParsedResponse:
    """Result of parsing one response.

    Attributes:
        ok: True when the response is a valid answer (the format reward is paid).
        rationale: the rationale string when ``ok``.
        action: the predicted :class:`~shop_env.core.types.Action` when ``ok``.
        error: why parsing failed, when not ``ok``.
    """

    ok: bool
    rationale: str | None
    action: Action | None
    error: str | None

    @classmethod
    def failure(cls, error: str) -> ParsedResponse:
        return cls(False, None, None, error)


def validate_answer(obj: Any) -> ParsedResponse:
    """Check a decoded JSON value against the answer schema (SPEC section 2, item 1).

    Required: an object with a string ``rationale`` and an object ``action`` whose ``type``
    is one of the three action types. ``name`` and ``text`` may be missing, null or empty
    (no format failure; they just earn no attribute or value reward) but, when present and
    not null, must be strings [choice: a wrongly typed field is a format failure]. Extra keys
    are ignored [choice].

    Args:
        obj: a decoded JSON value.

    Returns:
        The parsed answer, or a failure naming the offending field.
    """
    if not isinstance(obj, dict):
        return ParsedResponse.failure(f"answer must be a JSON object, got {_json_type(obj)}")
    if "rationale" not in obj:
        return ParsedResponse.failure("answer is missing field 'rationale'")
    rationale = obj["rationale"]
    if not isinstance(rationale, str):
        return ParsedResponse.failure(f"field 'rationale' must be a string, got {_json_type(rationale)}")
    if "action" not in obj:
        return ParsedResponse.failure("answer is missing field 'action'")
    action = obj["action"]
    if not isinstance(action, dict):
        return ParsedResponse.failure(f"field 'action' must be an object, got {_json_type(action)}")
    if "type" not in action:
        return ParsedResponse.failure("field 'action' is missing 'type'")
    action_type = action["type"]
    if not isinstance(action_type, str) or action_type not in ACTION_TYPES:
        return ParsedResponse.failure(
            f"field 'action.type' must be one of {list(ACTION_TYPES)}, got {_short(action_type)}"
        )
    fields: dict[str, str | None] = {}
    for key in ("name", "text"):
        value = action.get(key)
        if value is not None and not isinstance(value, str):
            return ParsedResponse.failure(f"field 'action.{key}' must be a string, got {_json_type(value)}")
        fields[key] = value
    for label, value in (("rationale", rationale), ("action.name", fields["name"]), ("action.text", fields["text"])):
        if value is not None and not is_unicode_text(value):
            return ParsedResponse.failure(f"field '{label}' holds an unpaired surrogate escape (not Unicode text)")
    return ParsedResponse(True, rationale, Action(action_type, name=fields["name"], text=fields["text"]), None)


def parse_response(text: str, mode: str = "strict") -> ParsedResponse:
    """Parse a model response into a rationale and an action. Never raises.

    Args:
        text: the response text (anything; non-strings give a failure).
        mode: ``"strict"`` (the paper: one JSON object and nothing else, whitespace aside)
            or ``"lenient"`` (also a fenced code block, or the first valid JSON answer
            object found in surrounding text).

    Returns:
        A :class:`ParsedResponse`; ``error`` says why when ``ok`` is False.
    """
    try:
        if not isinstance(text, str):
            return ParsedResponse.failure(f"response must be a string, got {type(text).__name__}")
        if mode not in PARSE_MODES:
            return ParsedResponse.failure(f"unknown parse mode {mode!r}; expected one of {list(PARSE_MODES)}")
        if len(text) > MAX_RESPONSE_CHARS:
            return ParsedResponse.failure(f"response of {len(text):,} characters is longer than the "
                                          f"{MAX_RESPONSE_CHARS:,} an answer may have")
        if mode == "strict":
            return _parse_strict(text)
        if mode == "lenient":
            return _parse_lenient(text)
        return ParsedResponse.failure(f"unknown parse mode {mode!r}; expected one of {list(PARSE_MODES)}")
    except Exception as exc:  # noqa: BLE001 - the contract is "never raises" (e.g. RecursionError)
        return ParsedResponse.failure(f"unparseable response ({type(exc).__name__})")


def format_response(rationale: str, action: Action) -> str:
    """The canonical answer text: what an oracle says and what SFT targets look like.

    Args:
        rationale: the first-person rationale sentence.
        action: the action to answer with.

    Returns:
        One JSON object, ``{"rationale": ..., "action": {...}}``, that strict parsing accepts.
    """
    if not isinstance(rationale, str):
        raise TypeError(f"rationale must be a string, got {type(rationale).__name__}")
    if not isinstance(action, Action):
        raise TypeError(f"action must be an Action, got {type(action).__name__}")
    return json.dumps({"rationale": rationale, "action": action.to_dict()}, ensure_ascii=False)


def answer_schema(*, click_names: Sequence[str] | None = None, input_names: Sequence[str] | None = None,
                  max_rationale_chars: int | None = None, max_name_chars: int | None = None,
                  max_text_chars: int | None = None, plain_text: bool = False) -> dict[str, Any]:
    """The JSON schema of a well-formed answer, for constrained decoding and for users' tools.

    Every answer the schema admits parses in strict mode, and :func:`format_response` of a
    gold action always fits it: a click names an element, a ``type_and_submit`` names an
    input and gives the text, ``terminate`` carries nothing else. The parser is more
    forgiving (missing names parse, and only earn less reward); the schema is the answer a
    decoder should be held to.

    Args:
        click_names: when given, a click's ``name`` must be one of them (the page's
            clickable candidates); an empty list removes ``click`` from the choices.
        input_names: the same for ``type_and_submit`` and the page's inputs.
        max_rationale_chars: an upper bound on the rationale's length, so answers close.
        max_name_chars: an upper bound on a free (not listed) element name's length.
        max_text_chars: an upper bound on the typed text's length.
        plain_text: free strings are printable ASCII without quote or backslash (so they need
            no escapes and every character is one byte), written as a ``pattern`` that also
            carries the length bounds: grammar engines (xgrammar) let raw control characters
            into JSON strings, which strict parsing refuses, and ignore ``maxLength`` beside
            a ``pattern``.

    Returns:
        A JSON Schema (draft 2020-12) object.
    """
    def string(limit: int | None, choices: Sequence[str] | None = None, minimum: int = 1) -> dict[str, Any]:
        if choices is not None:
            return {"type": "string", "enum": list(dict.fromkeys(choices))}
        if plain_text:
            upper = "" if limit is None else str(int(limit))
            return {"type": "string", "pattern": f"^{PLAIN_TEXT_CHARS}{{{minimum},{upper}}}$"}
        out: dict[str, Any] = {"type": "string"}
        if minimum:
            out["minLength"] = minimum
        if limit is not None:
            out["maxLength"] = int(limit)
        return out

    def action(kind: str, **fields: dict[str, Any]) -> dict[str, Any]:
        return {"type": "object", "properties": {"type": {"const": kind}, **fields},
                "required": ["type", *fields], "additionalProperties": False}

    rationale = string(max_rationale_chars, minimum=0)  # a gold step may have none: ""
    variants = []
    if click_names is None or click_names:
        variants.append(action("click", name=string(max_name_chars, click_names)))
    if input_names is None or input_names:
        variants.append(action("type_and_submit", name=string(max_name_chars, input_names),
                               text=string(max_text_chars)))
    variants.append(action("terminate"))
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": "Shop-R1 answer",
        "type": "object",
        "properties": {"rationale": rationale, "action": {"anyOf": variants}},
        "required": ["rationale", "action"],
        "additionalProperties": False,
    }


#: One character of a plain-text string: printable ASCII but ``"`` and ``\\`` (a regex class).
PLAIN_TEXT_CHARS = r"[ !#-\[\]-~]"

#: The schema of any well-formed answer (no page-specific names, no length bounds).
ANSWER_SCHEMA: dict[str, Any] = answer_schema()


def _parse_strict(text: str) -> ParsedResponse:
    stripped = text.strip()
    if not stripped:
        return ParsedResponse.failure("empty response")
    if not stripped.startswith("{"):
        return ParsedResponse.failure("response must be one JSON object and nothing else")
    try:
        obj, end = _DECODER.raw_decode(stripped)
    except ValueError as exc:
        return ParsedResponse.failure(f"invalid JSON: {exc.args[0] if exc.args else exc}")
    if end != len(stripped):
        return ParsedResponse.failure("response must be one JSON object and nothing else (text after it)")
    return validate_answer(obj)


def _parse_lenient(text: str) -> ParsedResponse:
    strict = _parse_strict(text)
    if strict.ok:
        return strict
    # a response that is one object JSON cannot decode says so, not what a nested object lacks
    first_error: str | None = strict.error if (strict.error or "").startswith("invalid JSON") else None
    text = text[:LENIENT_WINDOW_CHARS]
    for blocks, match in enumerate(_FENCE.finditer(text)):
        if blocks >= MAX_LENIENT_CANDIDATES:
            break
        candidate = _parse_strict(match.group(2))
        if candidate.ok:
            return candidate
        first_error = first_error or f"code block: {candidate.error}"
    start = text.find("{")
    tried = 0
    while start != -1 and tried < MAX_LENIENT_CANDIDATES:
        tried += 1
        try:
            obj, _ = _DECODER.raw_decode(text, start)
        except (ValueError, RecursionError):
            pass
        else:
            candidate = validate_answer(obj)
            if candidate.ok:
                return candidate
            first_error = first_error or candidate.error
        start = text.find("{", start + 1)
    if first_error is None:
        return ParsedResponse.failure("no JSON object found in the response")
    return ParsedResponse.failure(first_error)


def is_unicode_text(value: str) -> bool:
    """False for strings with a lone surrogate (from a ``\\ud83d``-style escape): no UTF-8 form."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    if isinstance(value, dict):
        return "object"
    return type(value).__name__


def _short(value: Any, limit: int = 40) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."
