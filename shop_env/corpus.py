"""Corpora: lazy sequences of sessions, and ``load_corpus`` that resolves a source string.

A corpus holds one split. It knows its session ids up front but materialises a
:class:`~shop_env.core.types.Session` (with its pages) only when indexed, so memory does not
grow with the corpus. Sources are registered by prefix (``demo``, ``opera:DIR``,
``jsonl:PATH``) and loaded lazily so that ``import shop_env`` stays light.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterator, Sequence
from typing import Any, overload

from .core.types import Session
from .splits import SPLITS

__all__ = [
    "Corpus",
    "CorpusError",
    "FirstSessions",
    "first_sessions",
    "ListCorpus",
    "load_corpus",
    "register_source",
    "available_sources",
]


class CorpusError(ValueError):
    """Bad corpus data. The message names the file, row and field when known."""

    def __init__(self, message: str, *, file: str | None = None, row: int | None = None,
                 field: str | None = None) -> None:
        where = [str(file)] if file is not None else []
        if row is not None:
            where.append(f"row {row}")
        if field is not None:
            where.append(f"field {field!r}")
        super().__init__(f"{', '.join(where)}: {message}" if where else message)
        self.file, self.row, self.field = file, row, field


class Corpus(Sequence[Session]):
    """A lazy, indexable split of sessions.

    Subclasses implement :meth:`session_ids` and :meth:`_load`. ``generated`` is True for
    corpora made by the demo generator, so results can always be labelled honestly.
    """

    source: str = "unknown"
    split: str = "train"
    generated: bool = False
    #: Rows skipped because they were invalid (``skip_invalid=True``), with reasons.
    skipped: list[str]

    def __init__(self) -> None:
        self.skipped = []
        self._index: dict[str, int] | None = None

    def session_ids(self) -> list[str]:
        raise NotImplementedError

    def _load(self, index: int) -> Session:
        raise NotImplementedError

    def __len__(self) -> int:
        return len(self.session_ids())

    @overload
    def __getitem__(self, index: int) -> Session: ...
    @overload
    def __getitem__(self, index: slice) -> list[Session]: ...
    def __getitem__(self, index: int | slice) -> Session | list[Session]:
        if isinstance(index, slice):
            return [self._load(i) for i in range(*index.indices(len(self)))]
        n = len(self)
        if index < 0:
            index += n
        if not 0 <= index < n:
            raise IndexError(f"session index {index} out of range for {n} sessions")
        return self._load(index)

    def __iter__(self) -> Iterator[Session]:
        for i in range(len(self)):
            yield self._load(i)

    def index_of(self, session_id: str) -> int:
        if self._index is None:
            self._index = {sid: i for i, sid in enumerate(self.session_ids())}
        try:
            return self._index[session_id]
        except KeyError:
            raise KeyError(f"session {session_id!r} is not in {self.source} split {self.split!r}") from None

    def step_counts(self) -> list[int]:
        """Steps per session, in index order, without rendering pages where the source allows.

        Sources that know it cheaply override this; a source with ``session_actions()`` (the
        demo corpus: actions read from the specs) is counted from it; others load each session.
        """
        session_actions = getattr(self, "session_actions", None)
        if callable(session_actions):
            return [len(actions) for actions in session_actions()]
        return [len(self._load(i)) for i in range(len(self))]

    def get(self, session_id: str) -> Session:
        return self._load(self.index_of(session_id))

    def describe(self) -> dict[str, Any]:
        """Provenance for results files: source, split, size and whether it is generated."""
        return {
            "source": self.source,
            "split": self.split,
            "sessions": len(self),
            "generated": self.generated,
            "skipped_invalid": len(self.skipped),
        }

    def __repr__(self) -> str:
        label = " (generated)" if self.generated else ""
        return f"<{type(self).__name__} {self.source} split={self.split} sessions={len(self)}{label}>"


class FirstSessions(Corpus):
    """A view of a corpus's first ``limit`` sessions (every command's ``--limit``), still lazy."""

    def __init__(self, corpus: Corpus, limit: int | None) -> None:
        super().__init__()
        self._corpus = corpus
        self._n = len(corpus) if limit is None else max(0, min(limit, len(corpus)))
        self.source, self.split, self.generated = corpus.source, corpus.split, corpus.generated
        self.skipped = corpus.skipped

    def session_ids(self) -> list[str]:
        return self._corpus.session_ids()[: self._n]

    def __len__(self) -> int:
        return self._n

    def _load(self, index: int) -> Session:
        return self._corpus[index]

    def step_counts(self) -> list[int]:
        return self._corpus.step_counts()[: self._n]

    def describe(self) -> dict[str, Any]:
        info = self._corpus.describe()
        if self._n < info["sessions"]:
            info.update(sessions=self._n, limit=self._n)
        return info


def first_sessions(corpus: Corpus, limit: int | None) -> Corpus:
    """The first ``limit`` sessions of ``corpus`` in its order (all of them when ``None``), lazily.

    Every ``--limit`` of the project means this: the same sessions in every tool.
    """
    if limit is not None and limit < 0:
        raise ValueError(f"limit must be >= 0, got {limit}")
    return corpus if limit is None else FirstSessions(corpus, limit)


class ListCorpus(Corpus):
    """A corpus over sessions already in memory (tests, small user data)."""

    def __init__(self, sessions: Sequence[Session], *, source: str = "memory", split: str = "train",
                 generated: bool | None = None) -> None:
        super().__init__()
        self._sessions = list(sessions)
        self.source, self.split = source, split
        self.generated = (all(s.generated for s in self._sessions) and bool(self._sessions)
                          if generated is None else generated)

    def session_ids(self) -> list[str]:
        return [s.session_id for s in self._sessions]

    def _load(self, index: int) -> Session:
        return self._sessions[index]


Loader = Callable[..., Corpus]
_SOURCES: dict[str, str | Loader] = {
    "demo": "shop_env.demo:load_demo",
    "opera": "shop_env.sources.opera:load_opera",
    "jsonl": "shop_env.sources.jsonl:load_jsonl",
}


def register_source(prefix: str, loader: str | Loader) -> None:
    """Register a corpus source: ``load_corpus("PREFIX:ARG")`` calls ``loader(ARG, split=..., **opts)``.

    ``loader`` may be a callable or a ``"module:function"`` string imported on first use.
    """
    _SOURCES[prefix] = loader


def available_sources() -> list[str]:
    return sorted(_SOURCES)


def _resolve(prefix: str) -> Loader:
    loader = _SOURCES[prefix]
    if isinstance(loader, str):
        module, _, attr = loader.partition(":")
        loader = getattr(importlib.import_module(module), attr)
        _SOURCES[prefix] = loader
    return loader


def load_corpus(source: Any = "demo", split: str = "train", **options: Any) -> Corpus:
    """Load one split of a corpus.

    Args:
        source: ``"demo"`` (the bundled, generated corpus), ``"opera:DIR"`` (a local copy
            of NEU-HAI/OPeRA), ``"jsonl:PATH"`` (the project's session format), a
            registered prefix, an existing :class:`Corpus` (returned as is), or a loaded
            ``datasets`` object of OPeRA's action table.
        split: ``"train"``, ``"valid"`` or ``"test"``.
        **options: passed to the source's loader (``config``, ``seed``,
            ``valid_fraction``, ``skip_invalid``, ...).
    """
    if isinstance(source, Corpus):
        return source
    if split not in SPLITS:
        raise ValueError(f"unknown split {split!r}; expected one of {SPLITS}")
    if not isinstance(source, str):
        # A ``datasets`` Dataset / DatasetDict of OPeRA rows.
        if type(source).__module__.startswith("datasets"):
            from .sources.opera import load_opera_dataset

            return load_opera_dataset(source, split=split, **options)
        raise TypeError(f"corpus source must be a string, a Corpus or a datasets object, got {type(source).__name__}")
    prefix, sep, arg = source.partition(":")
    if prefix not in _SOURCES:
        raise ValueError(f"unknown corpus source {source!r}; known prefixes: {', '.join(available_sources())}")
    loader = _resolve(prefix)
    return loader(arg, split=split, **options) if sep else loader(split=split, **options)
