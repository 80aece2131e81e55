"""The element index of a simplified page: which names an action may target.

Rule: every element inside ``<body>`` that carries a non-blank ``name`` attribute is a
candidate, in page order. That matches OPeRA, where named containers such as ``nav_bar``
are click targets too, and it is what :func:`simplify` produces (it names exactly the
interactable elements and landmark regions). ``kind`` is ``"input"`` for elements that take
typed text or a chosen value (see :func:`is_input_element`), ``"clickable"`` for the rest.
"""

from __future__ import annotations

from dataclasses import dataclass

from lxml import etree

from ._parse import decode_html, parse_html
from ._rules import KIND_CLICKABLE, KIND_INPUT, MAX_LABEL_CHARS, is_input_element, normalize_space

__all__ = ["Candidate", "candidates", "element_names"]

_NAMED_XPATH = etree.XPath("//body//*[@name]")
_NAME_VALUES_XPATH = etree.XPath("//body//*/@name")
# Text read for a label before normalising: enough for MAX_LABEL_CHARS after collapsing runs.
_LABEL_READ_CHARS = 4 * MAX_LABEL_CHARS


@dataclass(frozen=True, slots=True)
class Candidate:
    """One element an action can target.

    Attributes:
        name: The element's ``name`` attribute (hierarchical slug, e.g. ``nav_bar.search_input``).
        tag: Lower-case tag.
        role: The ``role`` attribute, or ``None``.
        kind: ``"clickable"`` or ``"input"``.
        label: Short visible label (text, value, placeholder, aria-label, title or alt),
            at most 80 characters, ``""`` when the element shows nothing.
    """

    name: str
    tag: str
    role: str | None
    kind: str
    label: str


def _shorten(text: str) -> str:
    text = normalize_space(text).strip()
    if len(text) <= MAX_LABEL_CHARS:
        return text
    return text[: MAX_LABEL_CHARS - 1].rstrip() + "\u2026"


def _visible_text(element: etree._Element) -> str:
    pieces: list[str] = []
    size = 0
    for piece in element.itertext():
        pieces.append(piece)
        size += len(piece)
        if size >= _LABEL_READ_CHARS:
            break
    return _shorten("".join(pieces))


def _select_label(element: etree._Element) -> str:
    first = None
    for option in element.iter("option"):
        if first is None:
            first = option
        if option.get("selected") is not None:
            return _visible_text(option)
    return _visible_text(first) if first is not None else ""


def _label(element: etree._Element, tag: str, kind: str) -> str:
    if kind == KIND_CLICKABLE:
        text = _visible_text(element)
        if text:
            return text
    for attribute in ("value", "placeholder", "aria-label", "title", "alt"):
        value = element.get(attribute)
        if value and value.strip():
            return _shorten(value)
    if tag == "select":
        return _select_label(element)
    if kind == KIND_INPUT and tag != "input":  # textarea / contenteditable: show their content
        text = _visible_text(element)
        if text:
            return text
    for image in element.iter("img"):
        alt = image.get("alt")
        if alt and alt.strip():
            return _shorten(alt)
    return ""


def _parse(simplified_html: str | bytes) -> etree._Element:
    return parse_html(decode_html(simplified_html))


def candidates(simplified_html: str | bytes) -> list[Candidate]:
    """The page's interactable elements, in page order: every element with a ``name``.

    Args:
        simplified_html: A simplified page (from :func:`simplify`, OPeRA or the demo corpus).
            Any HTML is accepted; only named elements inside ``<body>`` are reported, and
            duplicate names are reported as they occur.

    Returns:
        One :class:`Candidate` per named element.

    Raises:
        HTMLInputError: The input is not text or bytes.
    """
    root = _parse(simplified_html)
    out: list[Candidate] = []
    for element in _NAMED_XPATH(root):
        name = element.get("name")
        if not name or not name.strip():
            continue
        tag = element.tag
        attrib = element.attrib
        kind = KIND_INPUT if is_input_element(tag, attrib) else KIND_CLICKABLE
        role = (attrib.get("role") or "").strip() or None
        out.append(Candidate(name, tag, role, kind, _label(element, tag, kind)))
    return out


def element_names(simplified_html: str | bytes) -> list[str]:
    """The ``name`` of every candidate, in page order (cheaper than :func:`candidates`)."""
    root = _parse(simplified_html)
    return [str(name) for name in _NAME_VALUES_XPATH(root) if name.strip()]
