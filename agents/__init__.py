"""agents: baselines, prompted LLM agents on several backends, the rollout harness and trainers.

Names are exported lazily, so ``import agents`` never imports torch or transformers.
"""

from __future__ import annotations

import importlib
from typing import Any

#: Public name -> module that defines it (imported on first access).
_LAZY: dict[str, str] = {
    "Agent": "agents.base",
    "Backend": "agents.base",
    "Generation": "agents.base",
    "GenerationConfig": "agents.base",
    "PromptedAgent": "agents.prompted",
    "get_backend": "agents.backends",
    "resolve_model": "agents.models",
}

__all__ = sorted(_LAZY)


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))
