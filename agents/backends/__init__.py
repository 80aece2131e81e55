"""Generation backends behind one :class:`~agents.base.Backend` protocol, chosen by name.

``get_backend("transformers", model="smollm2-135m")``, ``get_backend("vllm", model=...)`` or
``get_backend("openai", model=..., base_url=...)``. Each backend module is imported only when
asked for, so importing this package never pulls in torch, vllm or openai.
"""

from __future__ import annotations

import importlib
from typing import Any

from ..base import Backend

__all__ = ["BACKENDS", "get_backend"]

#: Backend name -> ``module:class`` (imported on first use).
BACKENDS: dict[str, str] = {
    "transformers": "agents.backends.transformers_backend:TransformersBackend",
    "vllm": "agents.backends.vllm_backend:VLLMBackend",
    "openai": "agents.backends.openai_backend:OpenAIBackend",
}


def get_backend(name: str, **kwargs: Any) -> Backend:
    """Build a backend by name; ``kwargs`` go to its constructor.

    Raises:
        ValueError: unknown backend name (the message lists the known ones).
    """
    try:
        target = BACKENDS[name]
    except KeyError:
        raise ValueError(f"unknown backend {name!r}; known backends: {', '.join(sorted(BACKENDS))}") from None
    module, _, attr = target.partition(":")
    return getattr(importlib.import_module(module), attr)(**kwargs)


def __getattr__(name: str) -> Any:
    """Lazy access to the backend classes (``from agents.backends import TransformersBackend``)."""
    for target in BACKENDS.values():
        module, _, attr = target.partition(":")
        if attr == name:
            return getattr(importlib.import_module(module), attr)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
