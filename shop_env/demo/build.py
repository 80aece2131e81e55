"""Building the demo corpus: choose goals and users, run the scripted shopper, split, write specs.

Deterministic for a seed: the same inputs give byte-identical spec files (gzip with a zero
mtime), so ``scripts/build_demo_corpus.py`` can regenerate the bundled data and the tests
can pin it.
"""

from __future__ import annotations

import gzip
import io
import json
import random
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from ..splits import hash_fraction
from .personas import OPERA_LICENSE, OPERA_SOURCE, generate_personas, traits_from_persona
from .shopper import GENERATOR_ID, simulate_session
from .text import normalise_goal

__all__ = [
    "DEFAULT_SEED",
    "DEFAULT_SESSIONS",
    "SPEC_VERSION",
    "generate_specs",
    "read_specs",
    "real_personas",
    "write_specs",
]

DEFAULT_SEED = 0
DEFAULT_SESSIONS = 2000
SPEC_VERSION = 1
_START_EPOCH = 1_740_787_200  # 2025-03-01T00:00:00Z
_MAX_GOAL_CHARS = 240


def real_personas(opera_personas: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The real OPeRA personas from ``opera_personas.json``, marked with source and licence."""
    out = []
    for entry in opera_personas.get("personas", ()):
        persona = {"generated": False, "source": OPERA_SOURCE, "license": OPERA_LICENSE, **entry["survey"]}
        out.append({"user_id": entry["user_id"], "persona": persona})
    return out


def _pick_goals(goals: Sequence[str], query_map: Mapping[str, Sequence[str]], n: int, rng: random.Random) -> list[tuple[str, list[str]]]:
    """``n`` distinct goals, about 70% of them with real human queries."""
    by_norm: dict[str, str] = {}
    for g in goals:
        if len(g) <= _MAX_GOAL_CHARS and g.strip():
            by_norm.setdefault(normalise_goal(g), g)
    with_queries = sorted(k for k in by_norm if query_map.get(k))
    without = sorted(k for k in by_norm if not query_map.get(k))
    n_human = min(len(with_queries), round(n * 0.7))
    chosen = rng.sample(with_queries, n_human) + rng.sample(without, n - n_human)
    rng.shuffle(chosen)
    return [(by_norm[k], [q.strip() for q in query_map.get(k, ()) if q.strip()]) for k in chosen]


def _assign_splits(session_ids: Sequence[str], valid: int, test: int, seed: int) -> dict[str, str]:
    """Exact-size session-level splits: the ``test`` lowest seeded hashes are test, the next ``valid`` valid."""
    ranked = sorted(session_ids, key=lambda s: hash_fraction(s, seed))
    out = {}
    for rank, sid in enumerate(ranked):
        out[sid] = "test" if rank < test else "valid" if rank < test + valid else "train"
    return out


def generate_specs(
    goals: Sequence[str],
    query_map: Mapping[str, Sequence[str]],
    opera_personas: Mapping[str, Any],
    *,
    n_sessions: int = DEFAULT_SESSIONS,
    n_generated_users: int = 118,
    valid_sessions: int | None = None,
    test_sessions: int | None = None,
    seed: int = DEFAULT_SEED,
) -> dict[str, Any]:
    """Generate the whole demo corpus as compact specs.

    Args:
        goals: WebShop ``human_goals.json``.
        query_map: WebShop ``goal_query_map.json`` (normalised instruction -> human queries).
        opera_personas: the parsed ``opera_personas.json``.
        n_sessions: sessions to generate.
        n_generated_users: generated personas (the 2 real OPeRA personas come on top).
        valid_sessions: size of the valid split (default 10%); test_sessions likewise.
        seed: the corpus seed.

    Returns:
        ``{"header": {...}, "personas": [...], "sessions": [spec, ...]}``.
    """
    if n_sessions < 1:
        raise ValueError(f"n_sessions must be positive, got {n_sessions}")
    rng = random.Random(f"demo-corpus\x1f{seed}")
    users = generate_personas(n_generated_users, seed) + real_personas(opera_personas)
    traits = {u["user_id"]: traits_from_persona(u["persona"], u["user_id"]) for u in users}
    # Real personas get a few percent of sessions each, like one OPeRA participant's share.
    weights = [1.0 if u["persona"]["generated"] else 0.025 * n_generated_users for u in users]
    picks = _pick_goals(goals, query_map, n_sessions, rng)
    sessions = []
    for k, (goal, human_queries) in enumerate(picks):
        sid = f"demo-gen-{k:05d}"
        user = rng.choices(users, weights)[0]["user_id"]
        steps, outcome = simulate_session(sid, goal, human_queries, traits[user], seed)
        start = _START_EPOCH + rng.randrange(0, 120 * 86400)
        sessions.append({
            "id": sid, "user": user, "goal": goal, "queries": human_queries,
            "start": start, "outcome": outcome, "steps": steps,
        })
    valid = round(0.1 * n_sessions) if valid_sessions is None else valid_sessions
    test = round(0.1 * n_sessions) if test_sessions is None else test_sessions
    splits = _assign_splits([s["id"] for s in sessions], valid, test, seed)
    for s in sessions:
        s["split"] = splits[s["id"]]
    header = {
        "kind": "shop_r1_gym demo corpus (GENERATED, not real shoppers)",
        "generator": GENERATOR_ID, "spec_version": SPEC_VERSION, "seed": seed, "sessions": n_sessions,
        "goals_source": "WebShop human_goals.json + goal_query_map.json (MIT), see THIRD_PARTY/webshop",
    }
    return {"header": header, "personas": users, "sessions": sessions}


def write_specs(corpus: Mapping[str, Any], path: str | Path) -> None:
    """Write specs as gzipped JSON lines (header, then personas, then sessions), byte-reproducibly."""
    buf = io.BytesIO()
    with gzip.GzipFile(filename="", mode="wb", fileobj=buf, mtime=0, compresslevel=9) as gz:
        def line(obj: Any) -> None:
            gz.write(json.dumps(obj, ensure_ascii=False, separators=(",", ":"), sort_keys=True).encode() + b"\n")

        line({"header": corpus["header"]})
        for user in corpus["personas"]:
            line({"user": user})
        for spec in corpus["sessions"]:
            line({"session": spec})
    Path(path).write_bytes(buf.getvalue())


def read_specs(path: str | Path) -> dict[str, Any]:
    """Read a spec file written by :func:`write_specs`.

    Raises:
        CorpusError: a line that is not JSON or not a header/user/session record (file and row named).
    """
    from ..corpus import CorpusError

    header: dict[str, Any] | None = None
    personas: list[dict[str, Any]] = []
    sessions: list[dict[str, Any]] = []
    with gzip.open(path, "rt", encoding="utf-8") as fh:
        for row, text in enumerate(_lines(fh), start=1):
            try:
                record = json.loads(text)
            except json.JSONDecodeError as exc:
                raise CorpusError(f"not JSON: {exc}", file=str(path), row=row) from exc
            if "session" in record:
                spec = record["session"]
                for key in ("id", "goal", "steps", "split", "outcome", "user", "start"):
                    if key not in spec:
                        raise CorpusError("session spec is missing a field", file=str(path), row=row, field=key)
                sessions.append(spec)
            elif "user" in record:
                personas.append(record["user"])
            elif "header" in record:
                header = record["header"]
            else:
                raise CorpusError("expected a header, user or session record", file=str(path), row=row)
    if header is None:
        raise CorpusError("no header record", file=str(path))
    return {"header": header, "personas": personas, "sessions": sessions}


def _lines(fh: Iterable[str]) -> Iterable[str]:
    for text in fh:
        if text.strip():
            yield text
