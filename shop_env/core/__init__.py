"""The bottom layer: the session data model, the answer protocol and shared infrastructure.

Everything else in the project imports from here and nothing here imports from anywhere
else in the project (a contract in ``pyproject.toml`` checked by the test suite), so
``rewards`` can use the data types without loading the environment.

- :mod:`.types`: ``Action``, ``Step``, ``Session``.
- :mod:`.protocol`: the answer's action-space text, JSON schema, parser and formatter.
- :mod:`.atomic`: writes a kill cannot tear.
- :mod:`.provenance`: versions, machine, git commit and config hashes for results.
- :mod:`.token_count`: the token estimate and tokenizer counters.
"""

from .atomic import write_json_atomic, write_text_atomic
from .protocol import (
    ANSWER_SCHEMA,
    PARSE_MODES,
    ParsedResponse,
    answer_schema,
    format_response,
    parse_response,
)
from .token_count import TokenCounter, estimate_tokens, tokenizer_counter
from .types import ACTION_TYPES, OUTCOMES, Action, Session, Step

__all__ = [
    "ACTION_TYPES",
    "ANSWER_SCHEMA",
    "OUTCOMES",
    "PARSE_MODES",
    "Action",
    "ParsedResponse",
    "Session",
    "Step",
    "TokenCounter",
    "answer_schema",
    "estimate_tokens",
    "format_response",
    "parse_response",
    "tokenizer_counter",
    "write_json_atomic",
    "write_text_atomic",
]
