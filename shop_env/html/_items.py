"""Repeated items of a raw page (result tiles, carousel cards, list rows, reviews) and their titles.

Twenty product tiles each hold an image link, a title link, a price and an "Add to cart"
button; told apart only by counters their names say nothing. An item segment named by the
tile's own title (``search_results.tiger_rice_cooker_10_cup.add_to_cart``) says which tile.

- **Which elements are items.** Siblings that share a tag and first class (digits ignored),
  are no landmark (``nav``, ``form``, a labelled container...) nor a section of their own
  (``#breadcrumbs`` beside ``#reviews``), and each hold at least :data:`MIN_ITEM_TARGETS` interactable elements,
  two or more of them;
  or any element a store marks as a product (``data-asin``, ``data-product-id``,
  ``data-item-id``, ``data-sku``, ``itemtype=.../Product``).
- **The title** of a product item: its first heading, else its clickable with the longest
  text of at least two words, else the ``alt`` of the first image inside a clickable, else
  its ``aria-label``. Of another item (a menu column, a review): the text before its first
  clickable (a caption), else that clickable's label. Never a measure (a price, a count).
  An item without a title is no item.
- **Product-like** items (holding a price, a rating or an image) name their title element
  ``product_title`` and an image-only link ``product_image``; other items (menu columns,
  review cards) are a sub-section named by their title.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field

from lxml import etree

from ._measures import UNIT_WORDS, is_measure, label_text, measure_role, measure_words, words_of
from ._rules import first_token, text_pieces
from ._sections import heading_level, is_landmark

__all__ = ["MIN_ITEM_TARGETS", "Item", "find_item", "item_children"]

#: Least interactable elements an item holds (a lone link needs no item segment).
MIN_ITEM_TARGETS = 2
#: Descendants read to find an item's title (bounds the work per item).
_ITEM_SCAN_NODES = 400
_ITEM_WORDS = 40
_DIGITS_RE = re.compile(r"\d+")
_PRODUCT_MARKERS = ("data-asin", "data-product-id", "data-item-id", "data-sku", "data-productid", "data-pid")


@dataclass(slots=True)
class Item:
    """A repeated item: its title text, the element that shows it, whether it is a product."""

    title: str
    title_element: etree._Element | None
    product: bool
    words: list[str] = field(default_factory=list)  # its other text, to tell same-titled items apart


def _marked_product(element: etree._Element) -> bool:
    for marker in _PRODUCT_MARKERS:
        if (element.get(marker) or "").strip():
            return True
    return "schema.org/Product" in (element.get("itemtype") or "")


def _signature(element: etree._Element) -> tuple[str, str]:
    """Tag and first class (digits dropped): what siblings of one list share."""
    classes = (element.get("class") or "").split()
    return element.tag, _DIGITS_RE.sub("", classes[0]) if classes else ""


def item_children(parent: etree._Element, targets: dict, section_of) -> list[etree._Element]:  # noqa: ANN001
    """The children of ``parent`` that are repeated items (see the module docstring).

    Args:
        parent: Any element.
        targets: Element -> number of interactable elements in its subtree.
        section_of: Element -> its section segment (``""`` for none). A member whose section
            differs from every other member's is a section of its own, not a list item.
    """
    groups: dict[tuple[str, str], list[etree._Element]] = {}
    marked = []
    for child in parent:
        if not isinstance(child.tag, str) or targets.get(child, 0) < MIN_ITEM_TARGETS:
            continue
        if _marked_product(child):
            marked.append(child)
            continue
        if is_landmark(child):
            continue
        groups.setdefault(_signature(child), []).append(child)
    out = list(marked)
    for members in groups.values():
        if len(members) < 2:
            continue
        sections = Counter(section_of(member) for member in members)
        members = [member for member in members if not section_of(member) or sections[section_of(member)] > 1]
        if len(members) >= 2:
            out.extend(members)
    return out


def _title_text(text: str) -> str:
    """A title as names may hold it: a short title with numbers (``Travel Kettle 0.5 L``) is a
    measure by the rule, so it gives its words without numbers; a mere price or count none."""
    if not is_measure(text):
        return text if text.strip() else ""
    words = [word for word in measure_words(text) if word not in UNIT_WORDS]
    return " ".join(measure_words(text)) if words else ""


def find_item(element: etree._Element, kinds: dict) -> Item | None:  # noqa: ANN001
    """:func:`_find_item`, with the item's words besides its title (measures left out)."""
    item = _find_item(element, kinds)
    if item is not None:
        title = set(words_of(item.title))
        pieces = [piece for piece in text_pieces(element, 600, _ITEM_SCAN_NODES) if not is_measure(piece)]
        item.words = [word for word in words_of(" ".join(pieces)) if word not in title][:_ITEM_WORDS]
    return item


def _find_item(element: etree._Element, kinds: dict) -> Item | None:  # noqa: ANN001
    """The title of a would-be item, or ``None`` when it has none (then it is no item).

    Args:
        element: The item's root.
        kinds: Element -> kind, for the interactable elements of the page.
    """
    heading = None
    caption: list[str] = []
    first_target = None
    best_link = None
    best_words = 1
    image_link = None
    product = False
    for index, node in enumerate(element.iter()):
        if index >= _ITEM_SCAN_NODES:
            break
        tag = node.tag
        if not isinstance(tag, str):
            continue
        if first_target is None:
            if node in kinds:
                first_target = node
            elif node.text and node is not element and not node.text.isspace() and not is_measure(node.text):
                if len(caption) < 2:
                    caption.append(node.text)
        if tag == "img":
            product = True
        if not product and node.text and is_measure(node.text) and measure_role(node.text) in ("price", "rating"):
            product = True
        if heading is None and heading_level(node) >= 2 and first_token(node.get("role")) != "button":
            text = _title_text(label_text(node))
            if text:
                heading = (text, node)
        if node in kinds:
            text = _title_text(label_text(node))
            count = len(words_of(text))
            if count > best_words:
                best_words = count
                best_link = (text, node)
            elif not text.strip() and image_link is None:
                for image in node.iter("img"):
                    alt = image.get("alt")
                    if alt and alt.strip() and not is_measure(alt):
                        image_link = (alt, node)
                    break
    if not product:
        text = " ".join(caption)
        if text.strip() and not is_measure(text) and len(text) < 200:
            return Item(text, None, False)
        if first_target is not None:
            text = label_text(first_target) or first_target.get("aria-label") or first_target.get("title") or ""
            if text.strip() and not is_measure(text):
                return Item(text, first_target, False)
        return None
    if heading is not None:
        title, title_element = heading
        # the clickable inside (or around) the heading shows the title
        for node in title_element.iter():
            if node in kinds:
                title_element = node
                break
        else:
            for ancestor in title_element.iterancestors():
                if ancestor is element:
                    break
                if ancestor in kinds:
                    title_element = ancestor
                    break
    elif best_link is not None:
        title, title_element = best_link
    elif image_link is not None:
        title, title_element = image_link
    else:
        label = element.get("aria-label")
        if not label or is_measure(label):
            return None
        title, title_element = label, None
    return Item(title, title_element, product)
