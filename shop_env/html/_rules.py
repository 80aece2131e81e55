"""The simplification rules as data, plus the text and slug helpers both passes share.

Kept in one place so that the simplifier, the candidate index and the benchmark's
BeautifulSoup reference implementation apply exactly the same rules.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable

__all__ = [
    "ALLOWED_ATTRIBUTES",
    "BOOLEAN_ATTRIBUTES",
    "BUTTON_INPUT_TYPES",
    "CLICK_HANDLER_ATTRIBUTES",
    "CLICK_INPUT_TYPES",
    "CLICK_ROLES",
    "CLICK_TAGS",
    "CONTENT_ATTRIBUTES",
    "DROP_TAGS",
    "HEADING_TAGS",
    "INPUT_ROLES",
    "KIND_CLICKABLE",
    "KIND_INPUT",
    "KIND_REGION",
    "MAX_LABEL_CHARS",
    "MAX_SLUG_CHARS",
    "REGION_ROLES",
    "REGION_TAGS",
    "WRAPPER_TAGS",
    "element_kind",
    "first_token",
    "is_blank",
    "is_input_element",
    "normalize_space",
    "slugify",
    "slugify_pieces",
]

#: Subtrees dropped outright (SPEC section 1).
DROP_TAGS = frozenset(
    "script style link meta noscript noembed noframes template iframe svg canvas picture video audio object "
    "embed".split()
)
#: Legacy tags whose content libxml2 reads as raw text but writes escaped, so it would change on
#: every re-parse; they show preformatted text, so they become ``pre``.
RAW_TEXT_TAGS = frozenset({"xmp", "plaintext"})
#: The only attributes kept (SPEC section 1); everything else (class, href, style, data-*) goes.
ALLOWED_ATTRIBUTES = frozenset(
    "id type name value placeholder checked disabled readonly alt title for contenteditable "
    "selected multiple aria-label role".split()
)
#: Attributes whose presence is the value: kept even when empty, serialised bare.
BOOLEAN_ATTRIBUTES = frozenset("checked disabled readonly selected multiple".split())
#: Attributes that are content: an element carrying one is not "empty".
CONTENT_ATTRIBUTES = frozenset("name alt title aria-label value placeholder".split())
#: Generic containers that vanish when they hold exactly one element and nothing else.
WRAPPER_TAGS = frozenset("div section article p center font".split())

#: Tags that are click targets whatever their attributes.
CLICK_TAGS = frozenset("a button option summary".split())
#: ``<input>`` types that are clicked rather than typed into.
CLICK_INPUT_TYPES = frozenset("button submit reset image checkbox radio file color range".split())
#: ``<input>`` types whose ``value`` is their visible label.
BUTTON_INPUT_TYPES = frozenset("button submit reset".split())
#: ARIA roles of click targets.
CLICK_ROLES = frozenset(
    "button link checkbox radio switch tab menuitem menuitemcheckbox menuitemradio option treeitem".split()
)
#: ARIA roles of text-entry widgets.
INPUT_ROLES = frozenset("textbox searchbox combobox".split())
#: Attributes that mean "this element handles clicks" (DOM level 0 and common frameworks).
CLICK_HANDLER_ATTRIBUTES = (
    "onclick",
    "onmousedown",
    "onmouseup",
    "onpointerdown",
    "onpointerup",
    "ng-click",
    "v-on:click",
    "@click",
    "(click)",
)
#: Landmark containers that get a name so that the names inside them are hierarchical.
REGION_TAGS = frozenset("nav form fieldset aside dialog article".split())
#: ARIA roles of landmark containers.
REGION_ROLES = frozenset(
    "navigation search form dialog alertdialog menu menubar tablist toolbar radiogroup listbox "
    "complementary region group tree grid".split()
)
#: Descendants whose text names a region when it has no aria-label or title.
HEADING_TAGS = ("h1", "h2", "h3", "h4", "h5", "h6", "legend", "caption")

KIND_CLICKABLE = "clickable"
KIND_INPUT = "input"
KIND_REGION = "region"

#: Longest slug (one name segment), in characters (SPEC: "about 20").
MAX_SLUG_CHARS = 20
#: Longest :attr:`Candidate.label`.
MAX_LABEL_CHARS = 80

# Control characters count as whitespace: they are invisible and lxml refuses most of them.
_SPACE_RUN_RE = re.compile(r"[\s\x00-\x08\x0e-\x1f\x7f]+")
_BLANK_RE = re.compile(r"[\s\x00-\x08\x0e-\x1f\x7f]*")
_SLUG_WORD_RE = re.compile(r"[^\W_]+")


def normalize_space(text: str) -> str:
    """Collapse every run of whitespace or control characters into one space."""
    return _SPACE_RUN_RE.sub(" ", text)


def is_blank(text: str | None) -> bool:
    """True for ``None`` and for text made only of whitespace or control characters."""
    return not text or _BLANK_RE.fullmatch(text) is not None


def first_token(value: str | None) -> str:
    """The first whitespace-separated token, lower-cased (``role="button link"`` is a button)."""
    if not value:
        return ""
    parts = value.split(None, 1)
    return parts[0].lower() if parts else ""


def _slug_words(text: str) -> list[str]:
    return _SLUG_WORD_RE.findall(unicodedata.normalize("NFKC", text).lower())


def _join_words(words: list[str], max_chars: int) -> str:
    if not words:
        return ""
    out = words[0][:max_chars]
    if len(words[0]) <= max_chars:
        for word in words[1:]:
            if len(out) + 1 + len(word) > max_chars:
                break
            out += "_" + word
    return out


def slugify(text: str | None, max_chars: int = MAX_SLUG_CHARS) -> str:
    """One name segment: lower-case alphanumeric words joined by ``_``, cut at a word boundary.

    Letters and digits of any script count (NFKC-normalised); every other run of
    characters becomes one ``_``. Whole words are kept while they fit in ``max_chars``; a
    first word longer than that is cut. ``"Add to Cart!"`` gives ``"add_to_cart"``.

    Args:
        text: Any text; ``None`` or text without letters or digits gives ``""``.
        max_chars: Longest result.

    Returns:
        The slug, possibly empty.
    """
    if not text:
        return ""
    return _join_words(_slug_words(text), max_chars)


def slugify_pieces(pieces: Iterable[str], max_chars: int = MAX_SLUG_CHARS) -> str:
    """:func:`slugify` of the concatenated ``pieces``, reading only as many as the slug needs.

    Stops once the complete words read so far already overflow ``max_chars``, so the
    result equals ``slugify("".join(pieces))`` while a large subtree's text is never joined.
    """
    gathered: list[str] = []
    size = 0
    next_check = max_chars + 1  # doubles after each check, so the total work stays linear
    for piece in pieces:
        gathered.append(piece)
        size += len(piece)
        if size >= next_check:
            next_check = 2 * size
            words = _slug_words("".join(gathered))
            complete = words[:-1]  # the last word may continue in the next piece
            if complete and sum(map(len, complete)) + len(complete) - 1 > max_chars:
                return _join_words(complete, max_chars)
    return _join_words(_slug_words("".join(gathered)), max_chars)


def is_input_element(tag: str, attrib) -> bool:  # noqa: ANN001 - any mapping of attributes
    """Whether an element takes typed text (or a chosen value): the ``input`` candidate kind.

    ``<textarea>``, ``<select>``, ``<input>`` of a text-like or unknown type, editable
    content (``contenteditable`` other than ``"false"``) and ARIA textbox/searchbox/combobox.
    """
    if tag in ("textarea", "select"):
        return True
    if tag == "input":
        return (attrib.get("type") or "").strip().lower() not in CLICK_INPUT_TYPES
    editable = attrib.get("contenteditable")
    if editable is not None and editable.strip().lower() != "false":
        return True
    return first_token(attrib.get("role")) in INPUT_ROLES


def element_kind(tag: str, attrib) -> str | None:  # noqa: ANN001 - any mapping of attributes
    """Classify a raw element: input, clickable, named region, or ``None`` (plain content).

    Decided on the original attributes, before they are filtered, because click handlers
    (``onclick`` and friends) are dropped from the output. Precedence: input, then
    clickable, then region.
    """
    if tag in ("html", "head", "body"):
        return None
    if is_input_element(tag, attrib):
        return KIND_INPUT
    if tag in CLICK_TAGS or tag == "input":
        return KIND_CLICKABLE
    role = first_token(attrib.get("role")) if attrib else ""
    if role in CLICK_ROLES:
        return KIND_CLICKABLE
    if attrib:
        for handler in CLICK_HANDLER_ATTRIBUTES:
            if handler in attrib:
                return KIND_CLICKABLE
    if tag in REGION_TAGS or role in REGION_ROLES:
        return KIND_REGION
    return None


#: Most nodes :func:`bounded_text` reads: a label is short, and a subtree may be huge or deep.
TEXT_SCAN_NODES = 64
#: Most characters :func:`bounded_text` gathers.
TEXT_SCAN_CHARS = 400


def text_pieces(element, max_chars: int = TEXT_SCAN_CHARS, max_nodes: int = TEXT_SCAN_NODES) -> list[str]:  # noqa: ANN001 - an lxml element
    """The text nodes inside ``element`` in document order, reading at most ``max_nodes`` elements.

    Labels and headings are read from the start of a subtree; capping the read keeps naming
    linear even when clickables or headings nest thousands deep.
    """
    from lxml import etree

    if not len(element):
        text = element.text
        return [text] if text and not text.isspace() else []
    pieces: list[str] = []
    size = 0
    nodes = 0
    for event, node in etree.iterwalk(element, events=("start", "end")):
        if event == "start":
            nodes += 1
            if nodes > max_nodes:
                break
            text = node.text if isinstance(node.tag, str) else None
        else:
            text = node.tail if node is not element else None
        if text and not text.isspace():
            pieces.append(text)
            size += len(text)
            if size >= max_chars:
                break
    return pieces


def bounded_text(element, max_chars: int = TEXT_SCAN_CHARS, max_nodes: int = TEXT_SCAN_NODES) -> str:  # noqa: ANN001 - an lxml element
    """:func:`text_pieces` joined by spaces."""
    return " ".join(text_pieces(element, max_chars, max_nodes))
