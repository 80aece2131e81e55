"""The element names of each benchmark step's page, and of the part of it the model was shown.

:func:`page_names` gives the ``pages`` lookup of :func:`rewards.metrics.metrics_from_records`
(``metrics.name_on_page``, ``metrics.name_in_context``): records name a session and a step;
pages come from the corpus, and the shown part from the same context builder (history, token
budget and token counter) that built the run's prompts.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from functools import lru_cache
from typing import Any

__all__ = ["page_names"]

_NAME = re.compile(r'\sname="([^"]*)"')


def _names(html: str) -> frozenset[str]:
    from html import unescape

    return frozenset(unescape(n) for n in _NAME.findall(html))


def page_names(corpus: Any, context: Mapping[str, Any] | None = None,
               token_counter: Callable[[str], int] | None = None) -> Callable[[str, int], tuple[frozenset, frozenset]]:
    """``(session_id, step_index) -> (names on the page, names in the shown part)``.

    Args:
        corpus: the split the records were made on.
        context: the run's context settings (``ContextConfig`` fields, as ``results.json``
            stores them); default: the env's.
        token_counter: how the run counted the token budget (default: the estimate).
    """
    from shop_env.context import ContextBuilder, ContextConfig

    builder = ContextBuilder(ContextConfig(**dict(context or {})), token_counter=token_counter)

    @lru_cache(maxsize=4)
    def episode(session_id: str) -> Any:
        return builder.episode(corpus[corpus.index_of(session_id)])

    def lookup(session_id: str, step_index: int) -> tuple[frozenset, frozenset]:
        ctx = episode(session_id)
        return _names(ctx.session.steps[step_index].html), _names(ctx.view(step_index).page)

    return lookup
