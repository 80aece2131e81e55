"""The bundled demo corpus: GENERATED shopping sessions in OPeRA's simplified-HTML dialect.

These are not real shoppers. A scripted shopper pursues real WebShop instructions with the
search queries real people typed for them, on a store synthesised per session; every session
and step is labelled as generated. The package ships only compact session specs
(``data/demo_sessions_generated.jsonl.gz``); pages render on demand when a session is indexed.

``load_corpus("demo", split=...)`` dispatches to :func:`load_demo`.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterator
from functools import lru_cache
from pathlib import Path
from typing import Any

from ..core.types import Action, Session
from ..corpus import Corpus
from ..splits import SPLITS
from .build import read_specs
from .render import action_from_spec, check_session, session_from_spec
from .shopper import GENERATOR_ID

__all__ = ["DATA_DIR", "DEMO_SPECS_PATH", "DemoCorpus", "GENERATOR_ID", "check_session", "load_demo"]

DATA_DIR = Path(__file__).resolve().parent / "data"
DEMO_SPECS_PATH = DATA_DIR / "demo_sessions_generated.jsonl.gz"


@lru_cache(maxsize=2)
def _specs(path: str) -> dict[str, Any]:
    return read_specs(path)


class DemoCorpus(Corpus):
    """One split of the generated demo corpus; renders a session's pages when it is indexed.

    Args:
        split: ``"train"``, ``"valid"`` or ``"test"``.
        path: spec file (default: the bundled one).
        cache_size: rendered sessions kept in a small LRU cache (0 disables it).
        limit: keep only the first ``limit`` sessions of the split.
    """

    source = "demo"
    generated = True

    def __init__(self, split: str = "train", *, path: str | Path | None = None, cache_size: int = 4,
                 limit: int | None = None) -> None:
        super().__init__()
        if split not in SPLITS:
            raise ValueError(f"unknown split {split!r}; expected one of {SPLITS}")
        if cache_size < 0:
            raise ValueError(f"cache_size must be >= 0, got {cache_size}")
        self.split = split
        self.path = Path(path) if path is not None else DEMO_SPECS_PATH
        if not self.path.exists():
            raise FileNotFoundError(f"demo corpus spec file not found: {self.path} "
                                    "(regenerate it with scripts/build_demo_corpus.py)")
        data = _specs(str(self.path))
        self.header: dict[str, Any] = data["header"]
        self._personas = {u["user_id"]: u["persona"] for u in data["personas"]}
        self._specs_list = [s for s in data["sessions"] if s["split"] == split]
        if limit is not None:
            self._specs_list = self._specs_list[:limit]
        self._ids = [s["id"] for s in self._specs_list]
        self._cache: OrderedDict[int, Session] = OrderedDict()
        self._cache_size = cache_size

    def session_ids(self) -> list[str]:
        return list(self._ids)

    def __len__(self) -> int:
        return len(self._ids)

    def spec(self, index: int) -> dict[str, Any]:
        """The compact spec of session ``index`` (goal, page states, actions), without rendering."""
        return self._specs_list[index]

    def session_actions(self) -> Iterator[list[Action]]:
        """Each session's gold actions, read from the specs without rendering any page (fast)."""
        for spec in self._specs_list:
            yield [action_from_spec(st.get("a"), spec["id"], k) for k, st in enumerate(spec["steps"])]

    def _load(self, index: int) -> Session:
        hit = self._cache.get(index)
        if hit is not None:
            self._cache.move_to_end(index)
            return hit
        try:
            session = session_from_spec(self._specs_list[index], self._personas)
        except (KeyError, TypeError, ValueError) as exc:
            from ..corpus import CorpusError

            raise CorpusError(f"session {self._ids[index]!r}: {exc}", file=str(self.path)) from exc
        if self._cache_size:
            self._cache[index] = session
            if len(self._cache) > self._cache_size:
                self._cache.popitem(last=False)
        return session

    def describe(self) -> dict[str, Any]:
        out = super().describe()
        out["generator"] = self.header.get("generator", GENERATOR_ID)
        out["note"] = "GENERATED demo sessions (scripted shopper on real WebShop goals), not real shoppers"
        return out


_OPTIONS = ("path", "cache_size", "limit", "skip_invalid")


def load_demo(split: str = "train", **opts: Any) -> DemoCorpus:
    """Load one split of the bundled, generated demo corpus.

    Args:
        split: ``"train"``, ``"valid"`` or ``"test"``.
        **opts: ``path`` (another spec file), ``cache_size`` (rendered sessions kept, default 4),
            ``limit`` (first N sessions), ``skip_invalid`` (accepted for symmetry with the other
            sources and ignored: the bundled specs are checked when they are built).

    Raises:
        ValueError: an unknown split or option.
    """
    unknown = sorted(set(opts) - set(_OPTIONS))
    if unknown:
        raise ValueError(f"load_demo: unknown option(s) {unknown}; accepted: {list(_OPTIONS)}")
    opts.pop("skip_invalid", None)
    return DemoCorpus(split, **opts)
