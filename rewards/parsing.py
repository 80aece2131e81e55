"""Re-export of the answer parser, which lives in :mod:`shop_env.core.protocol`."""

from shop_env.core.protocol import (  # noqa: F401
    PARSE_MODES,
    ParsedResponse,
    format_response,
    is_unicode_text,
    parse_response,
    validate_answer,
)

__all__ = ["PARSE_MODES", "ParsedResponse", "format_response", "is_unicode_text", "parse_response", "validate_answer"]
