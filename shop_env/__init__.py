"""shop_env: replay real (or demo) shopping sessions as a Gymnasium environment.

``import shop_env`` registers the ``ShopR1-*`` environment ids and stays light: the
public names below are imported on first use, so importing the package (or its core,
:mod:`shop_env.core`, as :mod:`rewards` does) never loads the environment, torch or
transformers.
"""

from __future__ import annotations

import importlib
from typing import Any

from .registration import ENV_IDS, LIVE_ENV_IDS, REPLAY_ENV_IDS, register_envs  # noqa: F401 - public

register_envs()

__version__ = "0.1.0"

#: Public name -> module that defines it (imported on first access).
_LAZY: dict[str, str] = {
    "ACTION_TYPES": "shop_env.core.types",
    "OUTCOMES": "shop_env.core.types",
    "Action": "shop_env.core.types",
    "Session": "shop_env.core.types",
    "Step": "shop_env.core.types",
    "ANSWER_SCHEMA": "shop_env.core.protocol",
    "answer_schema": "shop_env.core.protocol",
    "ContextBuilder": "shop_env.context",
    "ContextConfig": "shop_env.context",
    "EpisodeContext": "shop_env.context",
    "estimate_tokens": "shop_env.core.token_count",
    "Corpus": "shop_env.corpus",
    "CorpusError": "shop_env.corpus",
    "ListCorpus": "shop_env.corpus",
    "available_sources": "shop_env.corpus",
    "first_sessions": "shop_env.corpus",
    "load_corpus": "shop_env.corpus",
    "register_source": "shop_env.corpus",
    "write_jsonl": "shop_env.sources.jsonl",
    "ShopSessionEnv": "shop_env.env",
    "LiveShopEnv": "shop_env.live",
    "SYSTEM_PROMPT": "shop_env.prompt",
    "to_messages": "shop_env.prompt",
}

__all__ = sorted([*_LAZY, "ENV_IDS", "LIVE_ENV_IDS", "REPLAY_ENV_IDS", "register_envs", "__version__"])


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        value = getattr(importlib.import_module(_LAZY[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))
