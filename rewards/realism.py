"""Session-level realism: how much simulated shopping sessions look like reference ones.

Pure functions over :class:`~shop_env.core.types.Session` sequences (no env, no corpus): the
features of a session, the distances between two samples of sessions (Wasserstein-1 for
lengths and counts, Jensen-Shannon for mixes), one overall realism distance, bootstrap CIs
over sessions, and the noise floor (two disjoint reference samples). docs/SIMULATION.md
defines every quantity; ``python -m benchmarks.simulate`` reports them.

The overall distance is the mean of the component distances available on both samples, each
in [0, 1]: Jensen-Shannon distances as they are (base 2), and each Wasserstein-1 distance
``w`` as ``w / (w + s)`` with ``s`` the reference sample's standard deviation of that
quantity (1 when it is 0), so no component's unit decides the sum. Lower is more like the
reference; 0 means equal feature distributions.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import numpy as np

from shop_env.core.types import Session

__all__ = [
    "CLICK_KINDS",
    "COMPONENTS",
    "FUNNEL_STAGES",
    "POSITION_BUCKETS",
    "SessionFeatures",
    "click_kind",
    "features",
    "js_distance",
    "noise_floor",
    "page_kind",
    "realism_report",
    "summary",
    "wasserstein1",
]

CLICK_KINDS: tuple[str, ...] = ("search", "filter", "product", "option", "cart", "purchase", "review", "page", "other")
FUNNEL_STAGES: tuple[str, ...] = ("none", "search", "product", "cart", "purchase")
#: Step positions (1-based) grouped for "action type by step position": 1, 2, 3, 4-5, 6-10, 11-20, 21+.
POSITION_BUCKETS: tuple[tuple[int, int], ...] = ((1, 1), (2, 2), (3, 3), (4, 5), (6, 10), (11, 20), (21, 10**9))
#: Components: name -> "w1" (Wasserstein-1 of a per-session number) or "js" (Jensen-Shannon of a mix).
COMPONENTS: dict[str, str] = {
    "length": "w1",
    "type_by_position": "js",
    "click_kind": "js",
    "funnel": "js",
    "searches": "w1",
    "query_overlap": "w1",
    "revisits": "w1",
}

_KIND_RULES: tuple[tuple[str, str], ...] = (
    (r"(^|\.)(place_order|buy_now)$", "purchase"),
    (r"(^|\.)(add_to_cart|proceed_to_checkout|go_to_cart|quantity|delete|save_for_later)$|^cart(_side_bar)?\.|"
     r"^nav_bar\.cart$|^checkout", "cart"),
    (r"(review|ratings_count|average_stars|_star$)", "review"),
    (r"\.(product_title|product_image|product_link)$|^customers_also_viewed\.", "product"),
    (r"(search_input|search_button|search_box)$|^related_searches\.|suggest", "search"),
    (r"^(refinements|sort_by|filters?)\.|(^|\.)(filter|sort)", "filter"),
    (r"^product_options\.|(^|\.)options?\.", "option"),
    (r"^pagination\.|(^|\.)(next|previous)$", "page"),
)
_TOKEN = re.compile(r"[a-z0-9]+")
_IDENTITY_PARAMS = ("k", "rh", "s", "page", "filterbystar")


def click_kind(name: str | None) -> str:
    """The kind of a click, from the element's name alone (so any corpus and any simulator are
    classified alike): one of :data:`CLICK_KINDS`."""
    low = (name or "").lower()
    for pattern, kind in _KIND_RULES:
        if re.search(pattern, low):
            return kind
    return "other"


def page_kind(url: str | None) -> str:
    """A page's kind from its URL (Amazon-like paths, as the demo store and OPeRA's data have):
    ``results``, ``product``, ``reviews``, ``cart``, ``checkout``, ``home``, ``other``."""
    if not url:
        return "other"
    path = urlsplit(url).path.lower().rstrip("/") or "/"
    if path == "/s" or path.startswith("/s/"):
        return "results"
    if "/dp/" in path + "/" or path.startswith("/gp/product"):
        return "product"
    if path.startswith("/product-reviews"):
        return "reviews"
    if path.startswith("/cart") or path.startswith("/gp/cart"):
        return "cart"
    if path.startswith("/checkout") or path.startswith("/gp/buy"):
        return "checkout"
    return "home" if path == "/" else "other"


def page_identity(url: str | None) -> str | None:
    """The page a URL shows, for revisits: its path and the query parameters that pick the content
    (``k``, ``rh``, ``s``, ``page``, ``filterByStar``), not those recording how it was reached."""
    if not url:
        return None
    parts = urlsplit(url)
    params = sorted((k.lower(), " ".join(v.split())) for k, v in parse_qsl(parts.query) if k.lower() in _IDENTITY_PARAMS)
    return (parts.path.rstrip("/") or "/") + ("?" + "&".join(f"{k}={v}" for k, v in params) if params else "")


def _bucket(position: int) -> int:
    return next(i for i, (lo, hi) in enumerate(POSITION_BUCKETS) if lo <= position <= hi)


@dataclass(frozen=True)
class SessionFeatures:
    """What the realism report compares, for one session."""

    length: int
    type_by_position: tuple[str, ...]
    click_kinds: tuple[str, ...]
    funnel: str
    searches: int
    query_overlaps: tuple[float, ...]
    revisits: int
    purchase: bool


def features(session: Session) -> SessionFeatures:
    """The features of one session.

    - ``type_by_position``: ``"<bucket>:<action type>"`` per step (:data:`POSITION_BUCKETS`).
    - ``click_kinds``: :func:`click_kind` of each click.
    - ``funnel``: the deepest stage reached (:data:`FUNNEL_STAGES`): ``search`` (typed a query or
      saw results), ``product`` (opened or saw a product page), ``cart`` (added to the cart or saw
      the cart or checkout), ``purchase`` (the session's outcome).
    - ``searches``: ``type_and_submit`` actions.
    - ``query_overlaps``: per query, the share of its words that are words of the goal
      (``metadata["goal"]``; empty without a goal).
    - ``revisits``: visits to a page seen before in the session (consecutive steps on one page
      are one visit; pages by :func:`page_identity`).
    """
    types, kinds = [], []
    stage = 0
    searches = 0
    overlaps = []
    goal = session.metadata.get("goal") if isinstance(session.metadata, Mapping) else None
    goal_words = set(_TOKEN.findall(goal.lower())) if isinstance(goal, str) else None
    visits: list[str] = []
    for i, step in enumerate(session.steps):
        a = step.action
        types.append(f"{_bucket(i + 1)}:{a.type}")
        kind = page_kind(step.url)
        stage = max(stage, {"results": 1, "product": 2, "reviews": 2, "cart": 3, "checkout": 3}.get(kind, 0))
        if a.type == "type_and_submit":
            searches += 1
            stage = max(stage, 1)
            if goal_words is not None:
                words = _TOKEN.findall((a.text or "").lower())
                if words:
                    overlaps.append(sum(w in goal_words for w in words) / len(words))
        elif a.type == "click":
            ck = click_kind(a.name)
            kinds.append(ck)
            stage = max(stage, {"product": 2, "option": 2, "cart": 3, "purchase": 3}.get(ck, 0))
        identity = page_identity(step.url)
        if identity is not None and (not visits or visits[-1] != identity):
            visits.append(identity)
    if session.outcome == "purchase":
        stage = 4
    return SessionFeatures(
        length=len(session.steps), type_by_position=tuple(types), click_kinds=tuple(kinds),
        funnel=FUNNEL_STAGES[stage], searches=searches, query_overlaps=tuple(overlaps),
        revisits=len(visits) - len(set(visits)), purchase=session.outcome == "purchase",
    )


# ---------------------------------------------------------------------------- distances
def wasserstein1(a: Sequence[float], b: Sequence[float]) -> float:
    """Wasserstein-1 (earth mover's) distance between two empirical 1-D distributions."""
    x, y = np.sort(np.asarray(a, dtype=float)), np.sort(np.asarray(b, dtype=float))
    if len(x) == 0 or len(y) == 0:
        raise ValueError("wasserstein1 needs two non-empty samples")
    grid = np.concatenate([x, y])
    grid.sort(kind="mergesort")
    deltas = np.diff(grid)
    fx = np.searchsorted(x, grid[:-1], side="right") / len(x)
    fy = np.searchsorted(y, grid[:-1], side="right") / len(y)
    return float(np.sum(np.abs(fx - fy) * deltas))


def js_distance(p: Mapping[str, float], q: Mapping[str, float]) -> float:
    """Jensen-Shannon distance (the square root of the divergence, base 2; in [0, 1]) of two
    count or probability tables over categories (missing categories count 0)."""
    keys = sorted(set(p) | set(q))
    a = np.array([float(p.get(k, 0.0)) for k in keys])
    b = np.array([float(q.get(k, 0.0)) for k in keys])
    if a.sum() <= 0 or b.sum() <= 0:
        raise ValueError("js_distance needs two non-empty tables")
    a, b = a / a.sum(), b / b.sum()
    m = (a + b) / 2

    def kl(u: np.ndarray) -> float:
        nz = u > 0
        return float(np.sum(u[nz] * np.log2(u[nz] / m[nz])))

    return float(math.sqrt(max(0.0, (kl(a) + kl(b)) / 2)))


def _values(feats: Sequence[SessionFeatures], name: str) -> list[float] | Counter[str]:
    if name == "length":
        return [f.length for f in feats]
    if name == "searches":
        return [f.searches for f in feats]
    if name == "revisits":
        return [f.revisits for f in feats]
    if name == "query_overlap":
        return [v for f in feats for v in f.query_overlaps]
    if name == "type_by_position":
        return Counter(t for f in feats for t in f.type_by_position)
    if name == "click_kind":
        return Counter(k for f in feats for k in f.click_kinds)
    if name == "funnel":
        return Counter(f.funnel for f in feats)
    raise KeyError(name)


def _scales(reference: Sequence[SessionFeatures]) -> dict[str, float]:
    """The reference's standard deviation of each W1 quantity (1 where it is 0 or undefined)."""
    out = {}
    for name, kind in COMPONENTS.items():
        if kind == "w1":
            values = _values(reference, name)
            sd = float(np.std(values)) if len(values) > 1 else 0.0
            out[name] = sd if sd > 0 else 1.0
    return out


def _distances(sim: Sequence[SessionFeatures], ref: Sequence[SessionFeatures],
               scales: Mapping[str, float]) -> dict[str, float | None]:
    """Each component's distance in [0, 1] (None where a sample has nothing to compare), and ``overall``."""
    out: dict[str, float | None] = {}
    for name, kind in COMPONENTS.items():
        a, b = _values(sim, name), _values(ref, name)
        if not a or not b:
            out[name] = None
        elif kind == "w1":
            w = wasserstein1(a, b)  # type: ignore[arg-type]
            out[name] = w / (w + scales[name])
        else:
            out[name] = js_distance(a, b)  # type: ignore[arg-type]
    present = [v for v in out.values() if v is not None]
    out["overall"] = float(np.mean(present)) if present else None
    return out


def _raw(sim: Sequence[SessionFeatures], ref: Sequence[SessionFeatures]) -> dict[str, float | None]:
    """The W1 distances in their own units (steps, searches, overlap share, revisits)."""
    out: dict[str, float | None] = {}
    for name, kind in COMPONENTS.items():
        if kind == "w1":
            a, b = _values(sim, name), _values(ref, name)
            out[name] = wasserstein1(a, b) if a and b else None  # type: ignore[arg-type]
    return out


def summary(feats: Sequence[SessionFeatures]) -> dict[str, Any]:
    """Readable statistics of a sample: mean length, mix tables, funnel shares, purchase rate."""
    n = len(feats)
    funnel = Counter(f.funnel for f in feats)
    reached = {stage: sum(FUNNEL_STAGES.index(f.funnel) >= i for f in feats) / n
               for i, stage in enumerate(FUNNEL_STAGES) if stage != "none"}
    kinds = Counter(k for f in feats for k in f.click_kinds)
    overlaps = [v for f in feats for v in f.query_overlaps]
    lengths = [f.length for f in feats]
    return {
        "sessions": n,
        "length_mean": float(np.mean(lengths)),
        "length_median": float(np.median(lengths)),
        "lengths": lengths,
        "searches_mean": float(np.mean([f.searches for f in feats])),
        "query_overlap_mean": float(np.mean(overlaps)) if overlaps else None,
        "revisits_mean": float(np.mean([f.revisits for f in feats])),
        "purchase_rate": sum(f.purchase for f in feats) / n,
        "funnel_reached": reached,
        "funnel_deepest": {s: funnel.get(s, 0) / n for s in FUNNEL_STAGES},
        "click_kinds": {k: kinds.get(k, 0) / max(1, sum(kinds.values())) for k in CLICK_KINDS},
        "action_types": dict(Counter(t.split(":", 1)[1] for f in feats for t in f.type_by_position)),
    }


def realism_report(simulated: Sequence[Session] | Sequence[SessionFeatures],
                   reference: Sequence[Session] | Sequence[SessionFeatures], *,
                   n_bootstrap: int = 200, seed: int = 0, ci_level: float = 0.95) -> dict[str, Any]:
    """Distances between simulated and reference sessions, with bootstrap CIs over sessions.

    Each resample draws both samples' sessions with replacement (the W1 scales stay those of
    the whole reference sample); the intervals are percentile intervals shifted by the
    bootstrap's median bias (resampling repeats sessions, which inflates a distance). Returns ``distance`` (the overall realism distance),
    ``ci`` (its percentile interval), ``components`` (each in [0, 1]) with ``component_ci``,
    ``w1_raw`` (the W1 distances in their own units), ``simulated`` and ``reference``
    (:func:`summary` of each), the sample sizes and the bootstrap settings.
    """
    sim = [s if isinstance(s, SessionFeatures) else features(s) for s in simulated]
    ref = [s if isinstance(s, SessionFeatures) else features(s) for s in reference]
    if not sim or not ref:
        raise ValueError("realism_report needs two non-empty samples of sessions")
    scales = _scales(ref)
    point = _distances(sim, ref, scales)
    rng = np.random.default_rng(seed)
    boots: dict[str, list[float]] = {k: [] for k in point}
    for _ in range(n_bootstrap):
        a = [sim[i] for i in rng.integers(0, len(sim), len(sim))]
        b = [ref[i] for i in rng.integers(0, len(ref), len(ref))]
        for k, v in _distances(a, b, scales).items():
            if v is not None:
                boots[k].append(v)
    lo_q, hi_q = (1 - ci_level) / 2, 1 - (1 - ci_level) / 2

    def ci(values: list[float], at: float | None) -> list[float] | None:
        # A resample repeats sessions, which pushes a distance up: the percentile interval is
        # shifted by the bootstrap's median bias (median of the resamples minus the estimate).
        if not values or at is None:
            return None
        bias = float(np.median(values)) - at
        return [max(0.0, float(np.quantile(values, lo_q)) - bias), max(0.0, float(np.quantile(values, hi_q)) - bias)]

    return {
        "distance": point["overall"],
        "ci": ci(boots["overall"], point["overall"]),
        "components": {k: point[k] for k in COMPONENTS},
        "component_ci": {k: ci(boots[k], point[k]) for k in COMPONENTS},
        "w1_raw": _raw(sim, ref),
        "w1_scales": scales,
        "simulated": summary(sim),
        "reference": summary(ref),
        "n_simulated": len(sim),
        "n_reference": len(ref),
        "n_bootstrap": n_bootstrap,
        "ci_level": ci_level,
        "seed": seed,
    }


def noise_floor(reference: Sequence[Session] | Sequence[SessionFeatures], n: int, *, seed: int = 0,
                n_bootstrap: int = 200, ci_level: float = 0.95) -> tuple[dict[str, Any], list[int], list[int]]:
    """The distance between two disjoint samples of ``n`` reference sessions (a seeded draw).

    Returns ``(report, a, b)``: :func:`realism_report` of sample ``b`` against sample ``a`` and
    the two index lists. Compare a simulation against the same sample ``a`` with the same ``n``:
    a simulator indistinguishable from the reference then sits at this floor.

    Raises:
        ValueError: fewer than ``2 * n`` reference sessions.
    """
    if n < 1 or 2 * n > len(reference):
        raise ValueError(f"a noise floor of {n} sessions needs {2 * n} reference sessions, got {len(reference)}")
    order = np.random.default_rng(seed).permutation(len(reference))
    a, b = [int(i) for i in order[:n]], [int(i) for i in order[n:2 * n]]
    report = realism_report([reference[i] for i in b], [reference[i] for i in a], n_bootstrap=n_bootstrap,
                            seed=seed + 1, ci_level=ci_level)
    return report, a, b
