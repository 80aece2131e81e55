"""The replay agent: answers the recorded actions of corpus sessions, one by one, in a live store.

A calibration device for ``python -m benchmarks.simulate``: each live episode is reset with a
corpus session's goal and store (``reset(options={"session_id": ...})``, starting on the
session's first page), and the agent answers that session's actions in order, then
``terminate``. Its simulated sessions are the recorded ones, re-enacted: their realism distance
to other sessions of the same population must sit at the noise floor (docs/SIMULATION.md).
Like the oracle it reads what a model may not (the session's recorded actions), on purpose.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from shop_env.core.protocol import format_response
from shop_env.core.types import Action

from .base import Generation

__all__ = ["ReplayAgent"]


class ReplayAgent:
    """Answers step ``info["step_index"]`` of session ``info["session_id"]`` of ``corpus``.

    Args:
        corpus: the sessions it replays (a :class:`~shop_env.corpus.Corpus` or a sequence of
            sessions); default: every split of the demo corpus, looked up when first needed.

    Raises (from :meth:`act`):
        KeyError: an episode whose ``session_id`` is not in the corpus (or no session id: a
            goal given by hand has nothing to replay).
    """

    name = "replay"

    def __init__(self, corpus: Any = None) -> None:
        self._corpus = corpus
        self._actions: dict[str, list[Action]] | None = None

    def _lookup(self) -> dict[str, list[Action]]:
        if self._actions is None:
            sources: list[Any] = [self._corpus] if self._corpus is not None else []
            if not sources:
                from shop_env.corpus import load_corpus

                sources = [load_corpus("demo", split=s) for s in ("train", "valid", "test")]
            self._actions = {}
            for corpus in sources:
                if hasattr(corpus, "session_actions") and hasattr(corpus, "session_ids"):
                    for sid, actions in zip(corpus.session_ids(), corpus.session_actions(), strict=True):
                        self._actions[sid] = list(actions)
                else:
                    for session in corpus:
                        self._actions[session.session_id] = [s.action for s in session.steps]
        return self._actions

    def act(self, observations: Sequence[str], infos: Sequence[dict]) -> list[Generation]:
        table = self._lookup()
        out = []
        for info in infos:
            sid = info.get("session_id")
            if sid not in table:
                raise KeyError(f"ReplayAgent: no recorded session {sid!r} to replay")
            actions, k = table[sid], int(info["step_index"])
            action = actions[k] if k < len(actions) else Action.terminate()
            out.append(Generation(text=format_response("I do what the recorded shopper did.", action), latency_s=0.0))
        return out
