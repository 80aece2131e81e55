"""Short texts that are measures (a count, a price, a rating, a date), kept out of names.

A cart count, a price or a star rating changes between two visits of the same page; a name
built from it would change too. The rule (issue 19): a text that holds at least one number
and at most :data:`MAX_MEASURE_WORDS` other words besides numbers, currency and units
(``0``, ``$13.97``, ``(1,234)``, ``4,8 von 5 Sternen``, ``Cart 2``, ``12 Mar 2024``) is a
*measure*. Its numbers and currency never go into a name: the words left over do (``cart``),
or, when none are left, a role word says what it is (``price``, ``rating``, ``date``,
``count``).
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

from ._rules import slugify, text_pieces

__all__ = [
    "MAX_MEASURE_WORDS",
    "label_slug",
    "label_text",
    "is_measure",
    "measure_role",
    "measure_words",
    "words_of",
]

#: Most words besides numbers, currency and units that a measure text may hold.
MAX_MEASURE_WORDS = 3

_WORD_RE = re.compile(r"[^\W_]+")
_DIGIT_RE = re.compile(r"\d")
_CURRENCY_SIGN_RE = re.compile(r"[$€£¥₹₽₩₺₴₪฿₫₱₦₲₡]|\b(?:R\$|zł|kč|Kč)")
_PERCENT_RE = re.compile(r"%")

#: Currency codes and names written as words (lower case).
CURRENCY_WORDS = frozenset(
    "usd eur gbp jpy cny inr brl mxn cad aud chf sek nok dkk pln czk huf ron lei leu bgn rub try "
    "krw zar nzd sgd hkd us ca au r rs kr kn ft zl zł euro euros dollar dollars pound pounds reais real "
    "yen yuan rupee rupees".split()
)
#: Units and number suffixes (lower case): a ``10 cm`` or ``2 pk`` is a measure.
UNIT_WORDS = frozenset(
    "x k m mm cm dm km in inch inches ft feet yd g kg mg lb lbs oz fl l ml cl dl gal qt pt pk pcs pc "
    "ct st stk w kw v mah wh gb tb mb kb ghz mhz hz mp px p h min s sec ms hr hrs st nd rd th "
    "er e re o a".split()
)
#: Month names and abbreviations (English, German, Spanish, Portuguese, French, Romanian, Italian).
MONTH_WORDS = frozenset(
    "jan january feb february mar march apr april may jun june jul july aug august sep sept september "
    "oct october nov november dec december januar februar märz mai juni juli oktober dezember "
    "enero febrero marzo abril mayo junio julio agosto septiembre setiembre octubre noviembre "
    "diciembre janeiro fevereiro março maio junho julho setembro outubro novembro dezembro "
    "janvier février mars avril juin juillet août septembre octobre novembre décembre "
    "ianuarie februarie martie aprilie mai iunie iulie august septembrie octombrie noiembrie "
    "decembrie gennaio febbraio aprile maggio giugno luglio settembre ottobre dicembre "
    "mon tue wed thu fri sat sun today yesterday".split()
)
#: Words that say a text is a star rating.
RATING_WORDS = frozenset(
    "star stars rating ratings stern sterne sternen estrella estrellas estrelas étoile étoiles stele "
    "stelle stea rated".split()
)


def words_of(text: str) -> list[str]:
    """The text's words as name slugs see them: NFKC, lower case, letters and digits."""
    return _WORD_RE.findall(unicodedata.normalize("NFKC", text).lower())


def _is_number_word(word: str) -> bool:
    """``12``, ``4``, ``10cm``, ``2x``, ``1st``: digits, optionally followed by a unit."""
    if word.isdigit():
        return True
    head = word.rstrip("abcdefghijklmnopqrstuvwxyzäöüéèàçłš")
    return bool(head) and head.isdigit() and word[len(head) :] in UNIT_WORDS


def is_measure(text: str | None) -> bool:
    """Whether ``text`` is a short count, price, rating or date (see the module docstring)."""
    if not text or not _DIGIT_RE.search(text):
        return False
    return _is_measure(text) if len(text) < 200 else _is_measure.__wrapped__(text)


@lru_cache(maxsize=16384)
def _is_measure(text: str) -> bool:
    words = words_of(text)
    numbers = 0
    others = 0
    for word in words:
        if _is_number_word(word):
            numbers += 1
        elif word in CURRENCY_WORDS or word in UNIT_WORDS or word in MONTH_WORDS:
            continue
        else:
            others += 1
            if others > MAX_MEASURE_WORDS:
                return False
    return numbers > 0


def measure_words(text: str) -> list[str]:
    """The words of a measure that may go into a name: not numbers, not currency."""
    return [
        word
        for word in words_of(text)
        if not _is_number_word(word) and word not in CURRENCY_WORDS and not any(c.isdigit() for c in word)
    ]


def measure_role(text: str) -> str:
    """What a measure is, as a role word: ``price``, ``rating``, ``date``, ``discount`` or ``count``."""
    words = words_of(text)
    if _CURRENCY_SIGN_RE.search(text) or any(word in CURRENCY_WORDS for word in words):
        return "price"
    if any(word in RATING_WORDS for word in words):
        return "rating"
    if any(word in MONTH_WORDS for word in words):
        return "date"
    if _PERCENT_RE.search(text):
        return "discount"
    return "count"


def label_slug(text: str | None, max_chars: int) -> str:
    """The name segment of a label: :func:`slugify`, except that a measure gives its words
    without numbers and currency (``Cart 0`` -> ``cart``) when it is a count, else its role
    word (``$13.97`` -> ``price``, ``4,8 von 5 Sternen`` -> ``rating``)."""
    if not text:
        return ""
    if not is_measure(text):
        return slugify(text, max_chars)
    role = measure_role(text)
    if role in ("count", "discount"):
        return slugify(" ".join(measure_words(text)), max_chars) or role
    return role


def label_text(element, max_chars: int = 400, max_nodes: int = 64) -> str:  # noqa: ANN001 - an lxml element
    """The text an element shows, without its measure pieces (``Cart <b>0</b>`` -> ``Cart``).

    Only when every piece is a measure is the whole text returned (``<b>$13</b>.97``).
    """
    pieces = text_pieces(element, max_chars, max_nodes)
    words = [piece for piece in pieces if not is_measure(piece)]
    return " ".join(words if words else pieces)
