"""Element names: ``section[.subsection][.item].leaf``, decided on the raw page (docs/NAMING.md).

Names are assigned before the page is simplified, while ids, classes and data attributes
still say what a container is; the simplifier then drops those attributes and keeps the name.

- **Who is named.** Every interactable element (see :func:`element_kind`: clickables and
  inputs), and every element carrying :data:`NAME_ATTRIBUTE`.
- **Set by the page.** ``data-shop-name="x.y"`` names an element ``x.y`` verbatim (any
  element) and is the prefix of the names generated inside it.
- **A page's own ``name`` attributes** are form-field names, not names of this scheme: on a
  raw page they are dropped. On a page that is already simplified (no attribute outside
  :data:`ALLOWED_ATTRIBUTES`, nothing to drop: OPeRA pages, the demo corpus, simplify's own
  output) they are kept verbatim, and shared ones split into ``group.value``.
- **Sections** come from landmarks, labels, form purposes and section words
  (:mod:`._sections`); inside the innermost one, the last ``h2``-``h6`` heading before an
  element (the page's outline) is a subsection. A name holds the outermost section and the
  innermost section or heading.
- **Items** (:mod:`._items`) add their title; the leaf is a role word inside product items
  (``product_title``, ``product_image``, ``add_to_cart``, ``price``, ``rating``), else the
  element's own label (text, value, title, placeholder, aria-label, image alt, ``<label>``),
  where a measure gives its words without numbers or a role word (:mod:`._measures`).
- **Unique.** Names that collide first take the element's full section path, then the
  words of their own label or item that the others lack (never digits); only where that
  does not tell them apart, a counter ``_2``, ``_3`` in page order.
- **Bounded.** At most :data:`MAX_NAME_SEGMENTS` segments and :data:`MAX_NAME_CHARS`
  characters; work linear in the page (a stack walk, bounded text reads).
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass

from lxml import etree

from ._items import Item, find_item, item_children
from ._measures import CURRENCY_WORDS, is_measure, label_slug, label_text, words_of
from ._parse import _XML_INVALID_RE
from ._rules import (
    ALLOWED_ATTRIBUTES,
    BUTTON_INPUT_TYPES,
    KIND_CLICKABLE,
    KIND_INPUT,
    KIND_REGION,
    element_kind,
    first_token,
    is_blank,
    is_input_element,
    normalize_space,
    slugify,
)
from ._sections import heading_level, section_slug

__all__ = [
    "ITEM_SLUG_CHARS",
    "MAX_NAME_CHARS",
    "MAX_NAME_SEGMENTS",
    "NAME_ATTRIBUTE",
    "assign_names",
    "bound_name",
    "is_simplified_page",
]

#: The attribute by which a page sets an element's name itself.
NAME_ATTRIBUTE = "data-shop-name"
#: Most segments in a name.
MAX_NAME_SEGMENTS = 5
#: Most characters in a name.
MAX_NAME_CHARS = 120
#: Longest item segment (an item's title).
ITEM_SLUG_CHARS = 48
_HAS_DIGIT_RE = re.compile(r"\d")
# How far up an enclosing <label> (or an item's title element) is looked for.
_LABEL_ANCESTORS = 8
# How many descendants are searched for an image's alt.
_ALT_SCAN_NODES = 40
# Most children of a wrapper whose text may label an unlabelled control inside it.
_NEARBY_CHILDREN = 3
_BARE_NUMBER_RE = re.compile(r"\s*\d+\s*")
# Words of a label or an item read to tell namesakes apart.
_DISTINGUISH_WORDS = 24
# Longest slug that tells namesakes apart: longer than a leaf, as a title may be.
_TELL_APART_CHARS = ITEM_SLUG_CHARS
# A link's scheme and host, and how much of a link is read for its words.
_URL_HEAD_RE = re.compile(r"^(?:[a-z][a-z0-9+.-]*:)?//[^/?#]*", re.IGNORECASE)
_LINK_CHARS = 400
# Room kept for a collision counter ("_123456") inside MAX_NAME_CHARS.
_COUNTER_ROOM = 7
_ADD_TO_CART_RE = re.compile(
    r"add(ing)? to (cart|basket|bag|trolley)|in den (warenkorb|einkaufswagen)|ajouter au panier|"
    r"añadir al carrito|agregar al carrito|adicionar (ao|à) (carrinho|sacola)|aggiungi al carrello|"
    r"adaug[aă] [iî]n co[sș]|do koszyka|in winkelwagen|comprar agora|buy now|jetzt kaufen",
    re.IGNORECASE,
)
_BUY_NOW_RE = re.compile(r"buy now|jetzt kaufen|comprar agora|comprar ahora|acheter maintenant", re.IGNORECASE)
_DROPPED_TAGS = frozenset({"html", "head", "body"})


def bound_name(segments: list[str], max_chars: int = MAX_NAME_CHARS) -> str:
    """Join segments into a name of at most :data:`MAX_NAME_SEGMENTS` and ``max_chars``.

    Too many segments: the first and the last ones are kept (where and what). Too long:
    the longest segment is cut at a word boundary until it fits.
    """
    segments = [segment for segment in segments if segment]
    if len(segments) > MAX_NAME_SEGMENTS:
        segments = segments[:1] + segments[-(MAX_NAME_SEGMENTS - 1) :]
    while segments and sum(map(len, segments)) + len(segments) - 1 > max_chars:
        longest = max(range(len(segments)), key=lambda i: len(segments[i]))
        excess = sum(map(len, segments)) + len(segments) - 1 - max_chars
        keep = len(segments[longest]) - excess
        cut = segments[longest][: max(keep, 0)].rstrip("_")
        if "_" in cut and keep < len(segments[longest]) and segments[longest][keep : keep + 1] != "_":
            cut = cut.rsplit("_", 1)[0]
        if not cut:
            segments.pop(longest)
        else:
            segments[longest] = cut
    return ".".join(segments)


def is_simplified_page(root: etree._Element, drop_tags: frozenset[str]) -> bool:
    """Whether a parsed page is already in simplified form (its ``name`` attributes are names).

    Simplified: nothing in ``<head>``, no tag that simplification drops, and no attribute
    outside :data:`ALLOWED_ATTRIBUTES` anywhere. Real store pages never are (they carry
    ``class``, ``href``, ``src``, scripts); OPeRA pages, the demo corpus and simplify's own
    output always are.
    """
    allowed = ALLOWED_ATTRIBUTES
    for element in root.iter():
        tag = element.tag
        if not isinstance(tag, str):
            continue
        if tag in drop_tags or tag == "title":
            return False
        keys = element.keys()
        if keys and not allowed.issuperset(keys):
            return False
    return True


@dataclass(slots=True)
class _Frame:
    """What an open element adds to the context of the elements inside it."""

    element: etree._Element
    section: str = ""  # a section segment
    fixed: str = ""  # a name set by the page: the prefix of everything inside
    item: Item | None = None
    item_slug: str = ""
    blocks_headings: bool = False  # a clickable or an item: headings inside are labels, not sections
    heading: str = ""  # the last heading seen directly in this section
    item_roots: frozenset | set = frozenset()  # the children that are items (set when there are)
    # The context it gives the elements inside, computed once from its parent's (so naming
    # never walks the stack: nesting thousands deep stays linear).
    prefix: tuple[str, ...] = ()  # a fixed name's segments
    sections: tuple[str, ...] = ()
    section_frame: _Frame | None = None  # whose heading is the current subsection
    item_frame: _Frame | None = None
    blocked: bool = False  # headings here are labels (inside a clickable or an item)

    def enter(self, parent: _Frame) -> None:
        """Take the context of ``parent`` and add this frame's own part."""
        self.prefix, self.sections = parent.prefix, parent.sections
        self.section_frame, self.item_frame, self.blocked = parent.section_frame, parent.item_frame, parent.blocked
        if self.fixed:
            self.prefix, self.sections = tuple(self.fixed.split(".")), ()
            self.section_frame, self.item_frame, self.blocked = self, None, False
        elif self.section and self.item_frame is None:  # inside an item, the item says where
            if self.section not in self.sections:
                self.sections = (*self.sections, self.section)
            self.section_frame, self.blocked = self, False
        if self.item is not None:
            self.item_frame = self
        self.blocked = self.blocked or self.blocks_headings


@dataclass(slots=True)
class _Entry:
    """One element to name: its segments with the short and the long section path, and what
    may tell it apart from namesakes (its label, its item, its link), read only for those
    that have namesakes."""

    element: etree._Element
    short: list[str]
    long: list[str]
    label: str = ""
    item: Item | None = None
    leaf_chars: int = 0

    @property
    def leaf_from_label(self) -> bool:
        label, leaf = self.label, self.long[-1]
        return bool(label) and leaf in (slugify(label, self.leaf_chars), label_slug(normalize_space(label), self.leaf_chars))

    def words(self, source: str) -> list[str]:
        """The words of ``label`` (its digits too unless it is a measure: ``2XL``), ``item``
        (measures are left out of them) or ``link`` (its path, never digits)."""
        if source == "label":
            words = words_of(self.label)
            return (_wordy(words) if is_measure(self.label) else _no_currency(words))[:_DISTINGUISH_WORDS]
        if source == "item":
            return _no_currency(self.item.words) if self.item is not None else []
        return _link_words(self.element.get("href"))

    def long_label(self) -> str:
        """The label's slug with room to run past a leaf's length (``""`` unless the leaf is the label)."""
        return label_slug(normalize_space(self.label), _TELL_APART_CHARS) if self.leaf_from_label else ""


class _Labeller:
    """Leaf segments of interactable elements: their own label, measure-aware."""

    def __init__(self, body: etree._Element, max_chars: int) -> None:
        self.max_chars = max_chars
        self._own_text: dict[etree._Element, str] = {}
        self.label_for: dict[str, etree._Element] = {}
        for label in body.iter("label"):
            target = label.get("for")
            if target and target not in self.label_for:
                self.label_for[target] = label

    def slug(self, text: str | None) -> str:
        return label_slug(normalize_space(text) if text else text, self.max_chars)

    def own_text(self, element: etree._Element) -> str:
        """The element's :func:`label_text`, read once per element."""
        text = self._own_text.get(element)
        if text is None:
            text = self._own_text[element] = label_text(element)
        return text

    def leaf(self, element: etree._Element, kind: str) -> str:
        tag = element.tag
        if kind == KIND_CLICKABLE and tag != "select":
            text = self.own_text(element)
            if tag != "option" and _BARE_NUMBER_RE.fullmatch(text):
                return "page"  # a bare number to click: a page of results, told apart by place
            slug = self.slug(text)
            if slug:
                return slug
        input_type = (element.get("type") or "").lower() if tag == "input" else ""
        if input_type in BUTTON_INPUT_TYPES:
            slug = self.slug(element.get("value"))
            if slug:
                return slug
        for attribute in ("title", "placeholder", "aria-label"):
            slug = self.slug(element.get(attribute))
            if slug:
                return slug
        slug = self.slug(_first_alt(element))
        if slug:
            return slug
        element_id = element.get("id")
        if element_id and element_id in self.label_for:
            slug = self.slug(label_text(self.label_for[element_id]))
            if slug:
                return slug
        for depth, ancestor in enumerate(element.iterancestors()):
            if depth >= _LABEL_ANCESTORS:
                break
            if ancestor.tag == "label":
                slug = self.slug(label_text(ancestor))
                if slug:
                    return slug
                break
        if input_type == "search" or first_token(element.get("role")) == "searchbox":
            return "search_input"
        slug = self.nearby_text_slug(element)
        if slug:
            return slug
        return slugify(first_token(element.get("role"))) or slugify(input_type) or slugify(tag)

    def nearby_text_slug(self, element: etree._Element) -> str:
        """An unlabelled control's label from the text beside it in a small wrapper
        (``<input type=submit>`` next to its ``<span>Label</span>``), two levels up at most."""
        inner = element
        for _ in range(2):
            parent = inner.getparent()
            if parent is None or parent.tag in _DROPPED_TAGS or len(parent) > _NEARBY_CHILDREN:
                return ""
            pieces = [parent.text or ""]
            for sibling in parent:
                if sibling is not inner:
                    pieces.append(label_text(sibling, max_chars=120, max_nodes=12))
                pieces.append(sibling.tail or "")
            slug = self.slug(" ".join(piece for piece in pieces if piece.strip()))
            if slug:
                return slug
            inner = parent
        return ""

    def item_leaf(self, element: etree._Element, kind: str, item: Item) -> str:
        """The leaf inside a product item: a role word where the element has one."""
        text = self.own_text(element) if kind == KIND_CLICKABLE else ""
        label = text or element.get("value") or element.get("aria-label") or element.get("title") or ""
        if label and _ADD_TO_CART_RE.search(label):
            return "buy_now" if _BUY_NOW_RE.search(label) else "add_to_cart"
        if item.title_element is not None and (element is item.title_element or _inside(element, item.title_element)):
            return "product_title"
        if not text.strip() and _first_alt(element) is not None and kind == KIND_CLICKABLE:
            return "product_image"
        return self.leaf(element, kind)


def _inside(element: etree._Element, ancestor: etree._Element) -> bool:
    """Whether ``ancestor`` is among the few nearest ancestors of ``element`` (bounded walk)."""
    for depth, candidate in enumerate(element.iterancestors()):
        if candidate is ancestor:
            return True
        if depth >= _LABEL_ANCESTORS:
            return False
    return False


def _first_alt(element: etree._Element) -> str | None:
    """The ``alt`` of the element or of an image among its first descendants (bounded)."""
    alt = element.get("alt")
    if alt:
        return alt
    for index, node in enumerate(element.iterdescendants()):
        if index >= _ALT_SCAN_NODES:
            break
        if node.tag == "img":
            alt = node.get("alt")
            if alt:
                return alt
    return None


def _kind(element: etree._Element) -> str | None:
    kind = element_kind(element.tag, element.attrib)
    if kind == KIND_REGION or (kind is not None and _is_placeholder_anchor(element)):
        return None
    return kind


def _is_placeholder_anchor(element: etree._Element) -> bool:
    """An ``<a>`` with no ``href``, nothing inside and nothing else that makes it clickable
    (``<a id="top"></a>``, an empty template slot): a target of links, not one a shopper clicks."""
    if element.tag != "a" or element.get("href") is not None or len(element) or not is_blank(element.text):
        return False
    return element_kind("span", element.attrib) in (None, KIND_REGION)


def assign_names(body: etree._Element, simplified: bool, max_chars: int) -> dict[str, etree._Element]:
    """Name the elements of ``body`` in place; ``name`` leads each named element's attributes.

    Args:
        body: The page's body, after hidden and dropped subtrees are gone.
        simplified: Whether the page is already simplified (keep its ``name`` attributes).
        max_chars: Longest leaf and section segment.

    Returns:
        Name -> element, in page order.
    """
    kinds: dict[etree._Element, str] = {}
    fixed: dict[etree._Element, str] = {}
    kept = Counter()
    for element in body.iter():
        if not isinstance(element.tag, str) or element.tag in _DROPPED_TAGS:
            continue
        own = element.get(NAME_ATTRIBUTE)
        if own is not None and normalize_space(own).strip():
            fixed[element] = bound_name(normalize_space(own).strip().split("."))
        elif simplified and (element.get("name") or "").strip():
            fixed[element] = element.get("name")
            kept[element.get("name")] += 1
        kind = _kind(element)
        if kind is not None:
            kinds[element] = kind
        if not simplified and element.get("name") is not None:
            del element.attrib["name"]
    targets: dict[etree._Element, int] = {}
    for _, element in etree.iterwalk(body, events=("end",)):
        count = 1 if element in kinds else 0
        for child in element:
            count += targets.get(child, 0)
        if count:
            targets[element] = count

    labeller = _Labeller(body, max_chars)

    section_of: dict[etree._Element, str] = {}

    def section(element: etree._Element) -> str:
        slug = section_of.get(element)
        if slug is None:
            slug = section_of[element] = section_slug(element, element.tag, max_chars)
        return slug


    entries: list[_Entry] = []
    reserved = {name for name in fixed.values() if kept[name] <= 1}
    stack: list[_Frame] = [_Frame(body)]
    stack[0].section_frame = stack[0]
    if targets.get(body, 0) >= 4:
        stack[0].item_roots = set(item_children(body, targets, section))
    for event, element in etree.iterwalk(body, events=("start", "end")):
        if element is body:
            continue
        if event == "end":
            if stack[-1].element is element:
                stack.pop()
            level = heading_level(element)
            if level >= 2 and not stack[-1].blocked:
                slug = label_slug(normalize_space(label_text(element)), max_chars)
                if slug:
                    stack[-1].section_frame.heading = slug
            continue
        tag = element.tag
        if not isinstance(tag, str):
            continue
        frame = _Frame(element)
        parent_frame = stack[-1]
        if element in parent_frame.item_roots:
            item = find_item(element, kinds)
            if item is not None:
                frame.item = item
                frame.item_slug = slugify(normalize_space(item.title), ITEM_SLUG_CHARS)
                frame.blocks_headings = True
        if element in fixed:
            frame.fixed = fixed[element]
            name = fixed[element]
            if kept[name] > 1:  # shared names of a simplified page are groups
                kind = kinds.get(element) or (KIND_INPUT if is_input_element(tag, element.attrib) else KIND_CLICKABLE)
                member = labeller.slug(element.get("value")) or labeller.leaf(element, kind)
                entries.append(_Entry(element, [*name.split("."), member], [*name.split("."), member]))
        elif element in kinds:
            kind = kinds[element]
            frame.blocks_headings = True
            entries.append(_entry(element, kind, stack, labeller))
        else:
            frame.section = section(element)
        if targets.get(element, 0) >= 4:
            frame.item_roots = set(item_children(element, targets, section))
        if frame.section or frame.fixed or frame.item or frame.blocks_headings or frame.item_roots:
            frame.enter(parent_frame)
            stack.append(frame)
        if element in fixed:
            _set_first(element, "name", fixed[element])
    _allocate(entries, reserved)
    return {element.get("name"): element for element in body.iter() if element.get("name") is not None}


def _entry(element: etree._Element, kind: str, stack: list[_Frame], labeller: _Labeller) -> _Entry:
    """The short and long segment lists of an interactable element, from its context."""
    context = stack[-1]
    sections = list(context.sections)
    fixed_prefix = list(context.prefix)
    item_frame = context.item_frame
    heading = context.section_frame.heading
    if heading and heading not in sections:
        path = [*sections, heading]
    else:
        path = sections
    short = path[:1] + path[-1:] if len(path) > 2 else list(path)
    long = path[:1] + path[-2:] if len(path) > 3 else list(path)
    if item_frame is not None and path and path[-1] == item_frame.item_slug:
        short, long = short[:-1], long[:-1]
    if item_frame is not None:
        item = item_frame.item
        if item.product:
            tail = [item_frame.item_slug, labeller.item_leaf(element, kind, item)]
        else:
            leaf = labeller.leaf(element, kind)
            is_title = item.title_element is not None and element is item.title_element
            tail = [item_frame.item_slug] if is_title else [item_frame.item_slug, leaf]
    else:
        tail = [labeller.leaf(element, kind)]
    label = labeller.own_text(element) if kind == KIND_CLICKABLE else ""
    label = label or element.get("aria-label") or element.get("title") or _first_alt(element) or ""
    item = item_frame.item if item_frame is not None else None
    return _Entry(element, [*fixed_prefix, *short, *tail], [*fixed_prefix, *long, *tail], label, item,
                  labeller.max_chars)


def _link_words(href: str | None) -> list[str]:
    """The words of a link's path (no scheme, host, query or digits): where it leads, which
    tells apart links whose text is the same or missing (an image link, "Sale" per department)."""
    if not href:
        return []
    path = _URL_HEAD_RE.sub("", href.strip()[:_LINK_CHARS]).split("?", 1)[0].split("#", 1)[0]
    return _wordy(words_of(path.replace("_", " ")))[:_DISTINGUISH_WORDS]


def _no_currency(words: list[str]) -> list[str]:
    return [word for word in words if word not in CURRENCY_WORDS]


def _wordy(words: list[str]) -> list[str]:
    """Words without digits or currency: what may tell namesakes apart and stay stable."""
    return [word for word in words if word not in CURRENCY_WORDS and not _HAS_DIGIT_RE.search(word)]


def _set_first(element: etree._Element, key: str, value: str) -> None:
    """Set an attribute and move it first, so that a name leads its tag.

    Values are set again, so characters lxml refuses to set (but parsed) become spaces,
    as the simplifier's whitespace rule would make them anyway.
    """
    if not len(element.attrib):
        element.set(key, _XML_INVALID_RE.sub(" ", value))
        return
    items = [(k, v) for k, v in element.attrib.items() if k != key]
    element.attrib.clear()
    element.set(key, _XML_INVALID_RE.sub(" ", value))
    for k, v in items:
        element.set(k, _XML_INVALID_RE.sub(" ", v))


def _distinct_slugs(words: list[list[str]]) -> list[str]:
    """Per member of a group of namesakes, a slug of its words that no other member shares
    all of (``""`` where the words do not set it apart)."""
    common = set(words[0]).intersection(*words[1:]) if words else set()
    return _unique_or_blank([slugify(" ".join(w for w in own if w not in common), _TELL_APART_CHARS) for own in words])


def _unique_or_blank(slugs: list[str]) -> list[str]:
    """Each slug where no other member has it, else ``""``."""
    counts = Counter(slugs)
    return [slug if slug and counts[slug] == 1 else "" for slug in slugs]


def _tell_apart(entries: list[_Entry], bases: list[str], limit: int) -> list[str]:
    """Namesakes take, in turn, their whole label where the leaf cut it short, then the words
    of their own label, of their item, then of their link's path that set them apart.

    Each source is tried on the names still shared after the one before, across the page,
    so a name one source gives that another element already has is told apart by the next.
    """
    for source in ("long_label", "label", "item", "link"):
        groups: dict[str, list[int]] = {}
        for index, base in enumerate(bases):
            groups.setdefault(base, []).append(index)
        for members in groups.values():
            if len(members) < 2:
                continue
            if source == "long_label":
                slugs = _unique_or_blank([entries[i].long_label() for i in members])
            else:
                slugs = _distinct_slugs([entries[i].words(source) for i in members])
            for index, slug in zip(members, slugs, strict=True):
                if not slug:
                    continue
                segments = entries[index].long
                if source in ("long_label", "label") and entries[index].leaf_from_label:
                    segments = [*segments[:-1], slug]
                else:
                    segments = [*segments[:-1], slug, segments[-1]]
                bases[index] = bound_name(segments, limit)
    return bases


def _allocate(entries: list[_Entry], reserved: set[str]) -> None:
    """Give each entry a unique name: short path, else long path, else the words that tell
    namesakes apart, else a counter."""
    limit = MAX_NAME_CHARS - _COUNTER_ROOM
    shorts = [bound_name(entry.short, limit) for entry in entries]
    counts = Counter(shorts)
    bases = []
    for entry, short in zip(entries, shorts, strict=True):
        bases.append(short if counts[short] == 1 else bound_name(entry.long, limit))
    bases = _tell_apart(entries, bases, limit)
    used = set(reserved)
    next_suffix: dict[str, int] = {}
    for entry, base in zip(entries, bases, strict=True):
        name = base
        if name in used:
            suffix = next_suffix.get(base, 2)
            while f"{base}_{suffix}" in used:
                suffix += 1
            next_suffix[base] = suffix + 1
            name = f"{base}_{suffix}"
        used.add(name)
        _set_first(entry.element, "name", name)
