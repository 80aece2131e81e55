"""Text helpers for the generated demo corpus: slugs, goal parsing, human-style queries.

Pure functions with no randomness of their own; callers pass a seeded ``random.Random``.
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass

__all__ = [
    "COLORS",
    "GoalInfo",
    "STOPWORDS",
    "content_words",
    "derive_query",
    "normalise_goal",
    "parse_goal",
    "reformulate_query",
    "slug",
    "tokens",
]

_NON_ALNUM = re.compile(r"[^a-z0-9]+")
_TOKEN = re.compile(r"[a-z0-9]+(?:[.\-][a-z0-9]+)*")

#: Words humans drop when they turn an instruction into a search query.
STOPWORDS: frozenset[str] = frozenset(
    """a an the and or of for to in on with without that thats this these those is are be it its
    i im id ive me my we our you your am was were will would like want wants need needs looking look
    find get buy purchase searching search seeking shopping please can could should must also some any
    something one ones which who what has have having made make makes as at by from into than then
    very much more most less only just too so do does item items product products thing things pick
    choose select prefer preferably ideally around about under over price lower dollars help show
    mine them they there here when where while go going good great nice well really""".split()
)

COLORS: tuple[str, ...] = (
    "black", "white", "red", "blue", "green", "pink", "purple", "yellow", "grey", "gray", "brown",
    "beige", "navy", "silver", "gold", "orange", "ivory", "khaki", "clear", "multicolor", "teal",
    "rose", "coffee", "cream", "tan", "burgundy", "charcoal",
)
_COLOR_SET = frozenset(COLORS)
_SIZE_WORDS = ("xx-small", "x-small", "small", "medium", "large", "x-large", "xx-large", "3x-large")
_SIZE_RE = re.compile(r"\bsize\s*(?:of\s*)?[:\-]?\s*([a-z0-9.\-]+(?:\s+(?:wide|narrow|long|short|tall))?)")
_PACK_RE = re.compile(r"\bpack of (\d+)\b|\b(\d+)[ -]pack\b|\b(\d+)[ -]count\b")
_PRICE_RE = re.compile(r"price lower than ([0-9]+(?:\.[0-9]+)?) dollars")


def slug(text: str, max_len: int = 60) -> str:
    """OPeRA-style name slug: lower-case, non-alphanumeric runs to ``_``, cut on a word boundary."""
    s = _NON_ALNUM.sub("_", text.lower()).strip("_")
    if len(s) > max_len:
        cut = s[:max_len]
        s = cut.rsplit("_", 1)[0] if "_" in cut else cut
    return s or "item"


def tokens(text: str) -> list[str]:
    """Lower-case word tokens (keeps ``7.5`` and ``x-large`` whole)."""
    return _TOKEN.findall(text.lower().replace("'", ""))


def normalise_goal(goal: str) -> str:
    """WebShop's ``process_goal`` normalisation (used to key ``goal_query_map.json``)."""
    s = goal.lower().replace('"', "").replace("'", "")
    if ", and price lower than" in s:
        s = s.split(", and price lower than")[0]
    return s.strip()


def content_words(text: str) -> list[str]:
    """Tokens that carry meaning for a search, in order, without repeats."""
    out: list[str] = []
    for tok in tokens(text):
        if tok in STOPWORDS or tok in out or len(tok) < 2 and not tok.isdigit():
            continue
        out.append(tok)
    return out


@dataclass(frozen=True)
class GoalInfo:
    """What a shopper's script needs from an instruction: words and the attribute values asked for."""

    words: tuple[str, ...]
    color: str | None
    size: str | None
    pack: str | None
    max_price: float | None


def parse_goal(goal: str) -> GoalInfo:
    """Extract content words, colour, size, pack count and price cap from a WebShop instruction."""
    low = goal.lower()
    words = content_words(low)
    color = next((w for w in tokens(low) if w in _COLOR_SET), None)
    size = None
    m = _SIZE_RE.search(low)
    if m and m.group(1) not in STOPWORDS:
        size = m.group(1).strip(" .")
    else:
        size = next((w for w in _SIZE_WORDS if re.search(rf"(?<![a-z\-]){re.escape(w)}(?![a-z\-])", low)), None)
    pm = _PACK_RE.search(low)
    pack = next((g for g in pm.groups() if g), None) if pm else None
    price = _PRICE_RE.search(low)
    return GoalInfo(
        words=tuple(words[:10]),
        color=color,
        size=size or None,
        pack=pack,
        max_price=float(price.group(1)) if price else None,
    )


def derive_query(goal: str, rng: random.Random) -> str:
    """A search query the way people shorten an instruction: the content words, 3 to 7 of them."""
    words = [w for w in content_words(normalise_goal(goal)) if w not in ("size", "color", "pack")]
    if not words:
        return "gift ideas"
    keep = min(len(words), rng.choice((3, 4, 4, 5, 5, 6, 7)))
    return " ".join(words[:keep])


def reformulate_query(query: str, goal: str, rng: random.Random) -> str:
    """A different query for the same goal: drop, add or reorder words (what people do on a miss)."""
    words = query.split()
    extra = [w for w in content_words(normalise_goal(goal)) if w not in words]
    moves = []
    if len(words) > 2:
        moves.append("drop")
    if extra:
        moves.append("add")
    if len(words) > 3:
        moves.append("head")
    move = rng.choice(moves) if moves else "add_generic"
    if move == "drop":
        del words[rng.randrange(len(words))]
    elif move == "add":
        words.insert(rng.randrange(len(words) + 1), rng.choice(extra[:5]))
    elif move == "head":
        words = words[-3:] if rng.random() < 0.5 else words[:3]
    else:
        words.append(rng.choice(("best", "cheap", "new", "set")))
    new = " ".join(words)
    return new if new != query else query + " " + rng.choice(("best rated", "for sale", "2 pack"))
