"""``python -m shop_env.html.quality PAGE...``: how good simplify's names are on saved pages.

Per page and overall: the number of names; the share carrying a counter (the name is
another name of the page plus ``_N``); the share without a section (one segment); the share
with a numeric segment (a segment that is only numbers and currency, ``7``, ``eur_13_97``);
the longest name (counters are split by why: a label that is only a measure, no label, a label
shared with another element); the share unchanged when only the digits of the page's short count, price,
rating and date texts change (:func:`is_measure` texts, every digit ``d`` replaced by
``(7d + 3) mod 10``, names compared position by position); and seconds per MB of input.
A page that raises counts as failed.
"""

from __future__ import annotations

import argparse
import html
import json
import re
import sys
import time
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

from ..core.atomic import write_text_atomic
from ._candidates import candidates, element_names
from ._measures import CURRENCY_WORDS, is_measure
from ._parse import decode_html
from ._simplify import simplify

__all__ = ["PageQuality", "measure_page", "measure_pages", "mutate_measures", "overall", "main"]

_COUNTER_RE = re.compile(r"^(.*)_\d+$")
_TEXT_RE = re.compile(r">([^<>]+)<")
_CHAR_REF_RE = re.compile(r"(&(?:#[0-9]+|#[xX][0-9a-fA-F]+|[A-Za-z][A-Za-z0-9]*);?)")
_DIGIT_SHIFT = str.maketrans("0123456789", "3074185296")  # d -> (7d + 3) mod 10, no fixed point


@dataclass
class PageQuality:
    """The figures of one page (shares are fractions of ``names``)."""

    page: str
    bytes: int
    names: int = 0
    counter: int = 0
    counter_measure_label: int = 0  # of ``counter``: the label is only a measure (``3``, ``8 GB``)
    counter_no_label: int = 0  # of ``counter``: the element shows no label at all
    no_section: int = 0
    numeric_segment: int = 0
    unchanged: int = 0
    longest: int = 0
    longest_name: str = ""
    seconds: float = 0.0
    error: str = ""


def has_counter(name: str, names: set[str]) -> bool:
    """Whether ``name`` is another name of the page plus ``_N``."""
    match = _COUNTER_RE.match(name)
    return bool(match) and match.group(1) in names


def is_numeric_segment(segment: str) -> bool:
    """A segment made only of numbers and currency words (``448``, ``eur_13_97``)."""
    words = [word for word in segment.split("_") if word]
    return bool(words) and all(word.isdigit() or word in CURRENCY_WORDS for word in words) and any(
        word.isdigit() for word in words
    )


def mutate_measures(text: str) -> str:
    """The page with the digits of every short measure text changed (nothing else).

    A text is judged as it reads (character references decoded), and the digits of its
    character references stay: ``Virtu&#225;ln&#237;`` is a word, not a measure, and
    changing ``&#225;`` would change a letter.
    """

    def change(match: re.Match) -> str:
        inner = match.group(1)
        if not is_measure(html.unescape(inner)):
            return match.group(0)
        pieces = _CHAR_REF_RE.split(inner)  # odd positions: the references, kept
        return ">" + "".join(p if i % 2 else p.translate(_DIGIT_SHIFT) for i, p in enumerate(pieces)) + "<"

    return _TEXT_RE.sub(change, text)


def measure_page(path: str | Path) -> PageQuality:
    """All figures of one saved page."""
    raw = Path(path).read_bytes()
    quality = PageQuality(page=str(path), bytes=len(raw))
    try:
        start = time.perf_counter()
        out = simplify(raw)
        quality.seconds = time.perf_counter() - start
        found = candidates(out)
        names = [candidate.name for candidate in found]
        changed = element_names(simplify(mutate_measures(decode_html(raw))))
    except Exception as exc:  # noqa: BLE001 - a failing page is a result here
        quality.error = f"{type(exc).__name__}: {exc}"
        return quality
    unique = set(names)
    quality.names = len(names)
    countered = [candidate for candidate in found if has_counter(candidate.name, unique)]
    quality.counter = len(countered)
    quality.counter_no_label = sum(not candidate.label for candidate in countered)
    quality.counter_measure_label = sum(bool(candidate.label) and is_measure(candidate.label) for candidate in countered)
    quality.no_section = sum("." not in name for name in names)
    quality.numeric_segment = sum(any(is_numeric_segment(s) for s in name.split(".")) for name in names)
    quality.unchanged = sum(a == b for a, b in zip(names, changed, strict=False))
    if names:
        quality.longest_name = max(names, key=len)
        quality.longest = len(quality.longest_name)
    return quality


def measure_pages(paths: Iterable[str | Path]) -> list[PageQuality]:
    return [measure_page(path) for path in paths]


def overall(pages: Sequence[PageQuality]) -> dict:
    """Totals over pages: shares of all names, worst longest name and seconds per MB."""
    names = sum(page.names for page in pages) or 1
    size = sum(page.bytes for page in pages if not page.error) or 1
    return {
        "pages": len(pages),
        "failed": sum(bool(page.error) for page in pages),
        "names": sum(page.names for page in pages),
        "counter_share": sum(page.counter for page in pages) / names,
        "counter_measure_label_share": sum(page.counter_measure_label for page in pages) / names,
        "counter_no_label_share": sum(page.counter_no_label for page in pages) / names,
        "no_section_share": sum(page.no_section for page in pages) / names,
        "numeric_segment_share": sum(page.numeric_segment for page in pages) / names,
        "unchanged_share": sum(page.unchanged for page in pages) / names,
        "longest": max((page.longest for page in pages), default=0),
        "seconds_per_mb": sum(page.seconds for page in pages) / (size / 1e6),
        "worst_seconds_per_mb": max((page.seconds / (page.bytes / 1e6) for page in pages if page.bytes), default=0.0),
    }


def _row(label: str, names: int, counter: float, flat: float, numeric: float, unchanged: float, longest: int,
         per_mb: float) -> str:
    return (f"{label[:34]:34} {names:>6} {counter:>8.1%} {flat:>8.1%} {numeric:>8.1%} {unchanged:>9.1%} "
            f"{longest:>7} {per_mb:>8.3f}")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m shop_env.html.quality", description=__doc__.split("\n\n")[0])
    parser.add_argument("pages", nargs="+", help="saved HTML pages")
    parser.add_argument("--json", help="also write the figures to this JSON file")
    args = parser.parse_args(argv)
    pages = measure_pages(args.pages)
    print(f"{'page':34} {'names':>6} {'counter':>8} {'no sect':>8} {'numeric':>8} {'unchanged':>9} "
          f"{'longest':>7} {'s/MB':>8}")
    for page in pages:
        label = Path(page.page).name
        if page.error:
            print(f"{label[:34]:34} FAILED {page.error}")
            continue
        n = page.names or 1
        print(_row(label, page.names, page.counter / n, page.no_section / n, page.numeric_segment / n,
                   page.unchanged / n, page.longest, page.seconds / (page.bytes / 1e6)))
    total = overall(pages)
    print(_row(f"overall ({total['pages']} pages, {total['failed']} failed)", total["names"],
               total["counter_share"], total["no_section_share"], total["numeric_segment_share"],
               total["unchanged_share"], total["longest"], total["seconds_per_mb"]))
    print(f"counters: {total['counter_measure_label_share']:.1%} of names label only a measure (the stability rule "
          f"keeps its numbers out), {total['counter_no_label_share']:.1%} show no label, "
          f"{total['counter_share'] - total['counter_measure_label_share'] - total['counter_no_label_share']:.1%} "
          "repeat the label of another element in the same place")
    if args.json:
        write_text_atomic(args.json, json.dumps({"overall": total, "pages": [asdict(p) for p in pages]}, indent=1))
    return 1 if total["failed"] else 0


if __name__ == "__main__":
    sys.exit(main())
