"""Raw page HTML to the paper's simplified HTML (SPEC section 1), on lxml.

The pipeline, in order (the BeautifulSoup reference in ``benchmarks/perf_html.py`` repeats it, but
for the re-nesting check of step 3, which its generated store pages never reach):

1. **Skeleton.** The output is always ``<html><head></head><body>...</body></html>``: the
   head is emptied, a missing body is created, stray top-level content moves into the body,
   and ``html``/``head``/``body`` lose their attributes.
2. **Drop.** Subtrees of :data:`DROP_TAGS` and invisible subtrees (``hidden`` attribute,
   ``style`` with ``display:none`` or ``visibility:hidden``, ``<input type=hidden>``) are
   removed; the text after them is kept, separated by a space. The legacy raw-text tags
   :data:`RAW_TEXT_TAGS` (``xmp``, ``plaintext``) become ``pre``.
3. **Structure**, children before parents: each element is classified (input, clickable,
   region, see :func:`element_kind`) on its original attributes, then keeps only
   :data:`ALLOWED_ATTRIBUTES` (values whitespace-collapsed; empty ones dropped except
   boolean attributes). Then, if it has no attributes left: a ``<span>`` is unwrapped
   into its parent; an element with no children and blank text is removed; a
   :data:`WRAPPER_TAGS` element holding exactly one element and no text is replaced by
   that element (so wrapper chains collapse). Neither happens when libxml2 would not
   re-parse a moved child inside its new parent (``<h2><div><form>`` keeps its ``div``),
   so the output parses back into the same tree. An element with attributes but no children,
   no text and none of :data:`CONTENT_ATTRIBUTES` that is not interactable is removed too.
   Surviving elements get their text normalised: whitespace and control-character runs
   become one space, whitespace-only pieces go, and the first and last piece of text inside
   an element are stripped on the outside.
4. **Names**, parents before children, in page order. See :func:`simplify` for the rules.
"""

from __future__ import annotations

from collections import Counter
from functools import lru_cache

from lxml import etree

from ._parse import decode_html, parse_html_noting_fallback
from ._rules import (
    ALLOWED_ATTRIBUTES,
    BOOLEAN_ATTRIBUTES,
    BUTTON_INPUT_TYPES,
    CLICK_HANDLER_ATTRIBUTES,
    CLICK_TAGS,
    CONTENT_ATTRIBUTES,
    DROP_TAGS,
    HEADING_TAGS,
    KIND_CLICKABLE,
    KIND_INPUT,
    KIND_REGION,
    MAX_SLUG_CHARS,
    RAW_TEXT_TAGS,
    REGION_TAGS,
    WRAPPER_TAGS,
    element_kind,
    first_token,
    is_blank,
    is_input_element,
    normalize_space,
    slugify,
    slugify_pieces,
)

__all__ = ["simplify"]

# Until the naming pass, an element that needs a generated name carries ``name=" <kind>"``.
# Filtered attribute values are stripped, so a real name never starts with a space.
_PENDING = " "
_PROTECTING_ATTRIBUTES = CONTENT_ATTRIBUTES
_LOWER_TABLE = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz", " \t\r\n")
_NAMED_XPATH = etree.XPath(".//*[@name]")
# What may live in <head>; anything else found there is page content.
_HEAD_TAGS = frozenset("title meta link script style base noscript template".split())
# Tags whose kind does not depend on attributes alone, and attributes that can make any tag
# interactable: elements with neither skip the full classification (the common case).
_KIND_TAGS = frozenset({"input", "textarea", "select"} | CLICK_TAGS | REGION_TAGS)
_KIND_ATTRIBUTES = frozenset({"role", "contenteditable", *CLICK_HANDLER_ATTRIBUTES})


def simplify(raw_html: str | bytes, *, max_slug_chars: int = MAX_SLUG_CHARS) -> str:
    """Simplify a raw page and give every interactable element a unique hierarchical ``name``.

    Naming rules (the part other code depends on):

    - **Who gets a name.** Every clickable element (``a``, ``button``, ``option``,
      ``summary``, clickable ``input`` types, ARIA button/link/checkbox/radio/tab/menuitem/...
      roles, elements with ``onclick`` or a framework click handler), every input
      (``input``, ``textarea``, ``select``, ``contenteditable``, ARIA textbox/searchbox/
      combobox) and every landmark region (``nav``, ``form``, ``fieldset``, ``aside``,
      ``dialog``, ``article`` and ARIA navigation/search/dialog/menu/toolbar/... roles),
      so that names nest: ``navigation.search.search_amazon``.
    - **Existing names are kept.** A ``name`` attribute that occurs once on the page is kept
      verbatim (OPeRA pages come back unchanged in their names).
    - **Shared names are split.** When several elements share a ``name`` (radio groups,
      repeated forms) it becomes a group: each member is renamed ``group.slug`` where the
      slug comes from the member's ``value``, else its label as below; the bare group name
      stays reserved.
    - **Generated names** are ``parent.slug`` where ``parent`` is the name of the nearest
      named ancestor (none at the top level) and ``slug`` is :func:`slugify` of the first
      non-empty of: the element's text (clickables other than ``select``), ``value`` (button
      inputs), ``title``, ``placeholder``, ``aria-label``, ``alt`` of the element or its first
      image, the text of its ``<label for>`` or enclosing ``<label>``, its role, its input
      type, its tag. Regions use ``aria-label``, ``title``, their first heading
      (``h1``-``h6``, ``legend``, ``caption``), ``id``, role, tag.
    - **Collisions** get ``_2``, ``_3``, ... in page order: the first keeps the bare name.
    - **Stability.** Names depend only on the simplified page, never on classes, scripts,
      styles, comments, whitespace or attribute order, so re-rendering the same page gives
      the same names, and ``simplify(simplify(x)) == simplify(x)``.

    Args:
        raw_html: The page as text or bytes (bytes: BOM, UTF-8, ``<meta charset>``, cp1252).
        max_slug_chars: Longest slug per name segment.

    Returns:
        ``<html><head></head><body>...</body></html>`` as one line of HTML.

    Raises:
        HTMLInputError: ``raw_html`` is not text or bytes, or cannot be parsed at all.
    """
    out, unsettled = _simplify_once(decode_html(raw_html), max_slug_chars)
    # A wrapper kept because libxml2 would not re-nest its child in the wrapper's parent may
    # have lost that parent later in the same pass; the next pass unwraps it. A page too deep
    # for libxml2 was parsed by the fallback, whose tree libxml2 may not rebuild from the
    # output; the next pass parses that output (shallower) with libxml2. Both are rare
    # (<p><span><div>; nesting past 2,048), so only those pages pay for the extra passes.
    for _ in range(_MAX_EXTRA_PASSES):
        if not unsettled:
            break
        again, unsettled = _simplify_once(out, max_slug_chars)
        if again == out:
            break
        out = again
    return out


#: Bound on the re-simplification above (each pass settles at least one level of wrappers).
_MAX_EXTRA_PASSES = 8


def _simplify_once(text: str, max_slug_chars: int) -> tuple[str, bool]:
    """One pass of the pipeline; also whether another pass may change the output."""
    root, fell_back = parse_html_noting_fallback(text)
    root, body = _normalise_skeleton(root)
    for element in list(body.iter(*DROP_TAGS)):
        _remove_keeping_tail(element)
    for element in body.iter(*RAW_TEXT_TAGS):
        element.tag = "pre"
    held_back = _simplify_structure(body)
    # held back relative to a parent that was itself unwrapped later in the pass: movable now
    unsettled = fell_back or any(_in_tree(element, body) and _can_move_up(element) for element in held_back)
    _finalise_text(body)
    _assign_names(body, max_slug_chars)
    _keep_end_tags(body)
    return etree.tostring(root, method="html", encoding="unicode"), unsettled


def _in_tree(element: etree._Element, body: etree._Element) -> bool:
    """Whether ``element`` is still inside ``body`` (not removed with a hidden ancestor)."""
    return any(ancestor is body for ancestor in element.iterancestors())


_VOID_TAGS = frozenset({"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "param",
                        "source", "track", "wbr"})


def _keep_end_tags(body: etree._Element) -> None:
    """Give empty non-void elements an empty text node.

    libxml2's HTML serializer omits the optional end tag of an *empty* ``li`` (and similar),
    so ``<li name="x"></li>after`` would come out as ``<li name="x">after`` and re-parse with
    the following text inside the item; an empty text node makes it write the end tag.
    """
    for element in body.iter():
        if isinstance(element.tag, str) and element.tag not in _VOID_TAGS and len(element) == 0 and not element.text:
            element.text = ""


def _append_text(parent: etree._Element, after: etree._Element | None, text: str) -> None:
    """Append ``text`` right after ``after`` (its tail), or to ``parent.text`` when ``None``."""
    if after is not None:
        after.tail = (after.tail or "") + text
    else:
        parent.text = (parent.text or "") + text


def _remove_keeping_tail(element: etree._Element) -> None:
    """Remove an element and its subtree; the text after it stays, after one space."""
    parent = element.getparent()
    if parent is None:
        return
    tail = element.tail
    if tail:
        _append_text(parent, element.getprevious(), " " + tail)
        element.tail = None
    parent.remove(element)


def _unwrap(element: etree._Element) -> None:
    """Replace an element by its content (text and children), joining text without spaces."""
    parent = element.getparent()
    tail = element.tail
    element.tail = None
    previous = element.getprevious()
    if element.text:
        _append_text(parent, previous, element.text)
    children = list(element)
    anchor = element
    for child in children:
        anchor.addnext(child)  # moves the child together with its tail
        anchor = child
    if tail:
        _append_text(parent, children[-1] if children else previous, tail)
    parent.remove(element)


@lru_cache(maxsize=4096)
def _nests_directly(parent_tag: str, child_tag: str) -> bool:
    """Whether libxml2 parses ``<parent><child>`` with the child directly inside the parent.

    Unwrapping moves children up to a new parent. libxml2 implicitly closes some parents when
    certain children open (``<h2>`` at ``<form>``, ``<a>`` at ``<a>``, ``<li>`` at ``<li>``),
    so such a move would come out as markup that parses into another tree, and
    ``simplify(simplify(x))`` would differ from ``simplify(x)``. Asking libxml2 itself (once
    per tag pair) keeps the rule exact for the installed version.
    """
    if parent_tag == "body":
        return True
    probe = f"<html><body><{parent_tag}><{child_tag}></{child_tag}></{parent_tag}></body></html>"
    try:
        root = etree.fromstring(probe, etree.HTMLParser(no_network=True))
    except (etree.LxmlError, ValueError):
        return False
    body = root.find("body") if root is not None else None
    parent = body[0] if body is not None and len(body) else None
    return parent is not None and parent.tag == parent_tag and len(parent) == 1 and parent[0].tag == child_tag


def _can_move_up(element: etree._Element) -> bool:
    """Whether every child of ``element`` would stay put, on re-parsing, inside its parent."""
    parent_tag = element.getparent().tag
    return all(_nests_directly(parent_tag, child.tag) for child in element)


def _replace_with_only_child(element: etree._Element) -> None:
    child = element[0]
    child.tail = element.tail
    element.tail = None
    element.addprevious(child)
    element.getparent().remove(element)


def _normalise_skeleton(root: etree._Element) -> tuple[etree._Element, etree._Element]:
    """Return ``(html, body)`` with exactly an empty head and a body holding all content."""
    if root.tag != "html":
        wrapper = etree.Element("html")
        wrapper.append(root)
        root = wrapper
    head = next((child for child in root if child.tag == "head"), None)
    body = next((child for child in root if child.tag == "body"), None)
    clean = (
        body is not None
        and len(root) == (2 if head is not None else 1)
        and is_blank(root.text)
        and is_blank(body.tail)
        and (head is None or (is_blank(head.tail) and all(child.tag in _HEAD_TAGS for child in head)))
    )
    if clean:
        for child in list(head) if head is not None else ():
            head.remove(child)
        if head is None:
            head = etree.Element("head")
            root.insert(0, head)
        head.text = head.tail = root.text = body.tail = None
        head.attrib.clear()
        root.attrib.clear()
        body.attrib.clear()
        return root, body
    content: list[str | etree._Element] = [root.text or ""]
    for child in list(root):
        tail = child.tail or ""
        child.tail = None
        if child is body:
            content.append(body.text or "")
            content.extend(body)
        elif child is head:  # libxml2 leaves body content that follows a <meta> in the head
            content.append(head.text or "")
            for inner in list(head):
                inner_tail = inner.tail or ""
                inner.tail = None
                if inner.tag not in _HEAD_TAGS:
                    content.append(inner)
                content.append(inner_tail)
        else:
            content.append(child)
        content.append(tail)
    body = etree.Element("body")
    for item in content:
        if isinstance(item, str):
            if item:
                _append_text(body, body[-1] if len(body) else None, item)
        else:
            body.append(item)
    root.clear()  # drops html attributes, text and the old head and body
    etree.SubElement(root, "head")
    root.append(body)
    return root, body


def _is_hidden(tag: str, attrib) -> bool:  # noqa: ANN001 - lxml's _Attrib
    """Invisible: ``hidden``, ``display:none`` / ``visibility:hidden`` styles, hidden inputs."""
    if "hidden" in attrib:
        return True
    style = attrib.get("style")
    if style:
        style = style.translate(_LOWER_TABLE)
        if "display:none" in style or "visibility:hidden" in style:
            return True
    return tag == "input" and (attrib.get("type") or "").translate(_LOWER_TABLE) == "hidden"


def _rebuild_attributes(attrib, pending: str | None) -> list[str]:  # noqa: ANN001 - lxml's _Attrib
    """Keep only allowed attributes, whitespace-collapsed; empty non-boolean ones go.

    ``pending`` (a kind) puts a pending-name marker first, so generated names lead the tag.

    Returns:
        The names of the attributes left.
    """
    kept = []
    changed = pending is not None
    for key, value in attrib.items():
        if key not in ALLOWED_ATTRIBUTES:
            changed = True
            continue
        if key in BOOLEAN_ATTRIBUTES:
            cleaned = ""
        else:
            cleaned = normalize_space(value).strip()
            if not cleaned:
                changed = True
                continue
        if cleaned != value or not value:  # re-set empty values: libxml2 may hold them as "no value"
            changed = True
        kept.append((key, cleaned))
    if changed:
        attrib.clear()
        if pending is not None:
            attrib["name"] = _PENDING + pending
        for key, value in kept:
            attrib[key] = value
    return attrib.keys()


def _simplify_structure(body: etree._Element) -> list[etree._Element]:
    """Steps 2 (invisible subtrees) and 3 of the pipeline, children before parents.

    Returns the elements left wrapped because a child would not re-parse inside their
    parent (see :func:`_nests_directly`).

    Hidden subtrees are removed when reached, after their content was processed: wasted work,
    but confined to the subtree, so the result equals removing them first.
    """
    elements = list(body.iter(etree.Element))
    allowed = ALLOWED_ATTRIBUTES
    kind_attributes = _KIND_ATTRIBUTES
    protecting = _PROTECTING_ATTRIBUTES
    held_back: list[etree._Element] = []
    # Reversed pre-order visits every element after all of its descendants.
    # (element.keys() and element.get() avoid building an attribute proxy per element.)
    for index in range(len(elements) - 1, 0, -1):
        element = elements[index]
        tag = element.tag
        keys = element.keys()
        if keys:
            if ("hidden" in keys or "style" in keys or tag == "input") and _is_hidden(tag, element.attrib):
                _remove_keeping_tail(element)
                continue
            if tag in _KIND_TAGS or not kind_attributes.isdisjoint(keys):
                kind = element_kind(tag, element.attrib)
                if kind is not None and "name" in keys and element.get("name").strip():
                    kind = None  # an existing name is kept
            else:
                kind = None
            if kind is None and allowed.isdisjoint(keys):
                element.attrib.clear()
                keys = None
            else:
                keys = _rebuild_attributes(element.attrib, kind)
        elif tag in _KIND_TAGS:
            element.set("name", _PENDING + element_kind(tag, {}))
            keys = ("name",)
        if not keys:
            if tag == "span":
                if _can_move_up(element):
                    _unwrap(element)
                    continue
                held_back.append(element)
            count = len(element)
            if count == 0:
                if is_blank(element.text):
                    _remove_keeping_tail(element)
                    continue
            elif count == 1 and tag in WRAPPER_TAGS and is_blank(element.text) and is_blank(element[0].tail):
                if _can_move_up(element):
                    _replace_with_only_child(element)
                    continue
                held_back.append(element)
        elif len(element) == 0:
            if is_blank(element.text):
                if protecting.isdisjoint(keys):
                    _remove_keeping_tail(element)
                else:
                    element.text = None
                continue
        if element.text is not None or len(element):
            _finalise_text(element)
    return held_back


def _clean_piece(text: str | None) -> str | None:
    if not text:
        return None
    text = normalize_space(text)
    return None if text == " " else text


def _finalise_text(element: etree._Element) -> None:
    """Normalise the text pieces directly inside ``element`` (its text and its children's tails)."""
    count = len(element)
    text = element.text
    if text is not None:
        text = _clean_piece(text)
        if text is not None:
            text = text.lstrip(" ") if count else text.strip(" ")
        element.text = text
    if count:
        for child in element:
            tail = child.tail
            if tail is not None:
                child.tail = _clean_piece(tail)
        last = element[-1]
        if last.tail is not None:
            last.tail = last.tail.rstrip(" ") or None


def _first_alt(element: etree._Element) -> str | None:
    alt = element.get("alt")
    if alt:
        return alt
    for image in element.iter("img"):
        alt = image.get("alt")
        if alt:
            return alt
    return None


class _NameAllocator:
    """Hands out unique names: the first request for a base gets it bare, later ones ``_2``, ``_3``."""

    def __init__(self, reserved: set[str]) -> None:
        self._used = set(reserved)
        self._next_suffix: dict[str, int] = {}

    def allocate(self, base: str) -> str:
        if base not in self._used:
            self._used.add(base)
            return base
        suffix = self._next_suffix.get(base, 2)
        while f"{base}_{suffix}" in self._used:
            suffix += 1
        self._next_suffix[base] = suffix + 1
        name = f"{base}_{suffix}"
        self._used.add(name)
        return name


class _Namer:
    def __init__(self, body: etree._Element, max_chars: int) -> None:
        self.max_chars = max_chars
        self.label_for: dict[str, etree._Element] = {}
        for label in body.iter("label"):
            target = label.get("for")
            if target and target not in self.label_for:
                self.label_for[target] = label

    def _slug(self, text: str | None) -> str:
        return slugify(text, self.max_chars)

    def _text_slug(self, element: etree._Element) -> str:
        if not len(element):
            return slugify(element.text, self.max_chars)
        return slugify_pieces(element.itertext(), self.max_chars)

    def region_slug(self, element: etree._Element) -> str:
        slug = self._slug(element.get("aria-label")) or self._slug(element.get("title"))
        if slug:
            return slug
        for heading in element.iter(*HEADING_TAGS):
            if heading is element:
                continue
            slug = self._text_slug(heading)
            if slug:
                return slug
        return (
            self._slug(element.get("id"))
            or self._slug(first_token(element.get("role")))
            or self._slug(element.tag)
        )

    def element_slug(self, element: etree._Element, kind: str) -> str:
        tag = element.tag
        if kind == KIND_CLICKABLE and tag != "select":
            slug = self._text_slug(element)
            if slug:
                return slug
        input_type = (element.get("type") or "").lower() if tag == "input" else ""
        if input_type in BUTTON_INPUT_TYPES:
            slug = self._slug(element.get("value"))
            if slug:
                return slug
        for attribute in ("title", "placeholder", "aria-label"):
            slug = self._slug(element.get(attribute))
            if slug:
                return slug
        slug = self._slug(_first_alt(element))
        if slug:
            return slug
        element_id = element.get("id")
        if element_id and element_id in self.label_for:
            slug = self._text_slug(self.label_for[element_id])
            if slug:
                return slug
        for label in element.iterancestors("label"):
            slug = self._text_slug(label)
            if slug:
                return slug
            break
        return self._slug(first_token(element.get("role"))) or self._slug(input_type) or self._slug(tag)

    def group_member_slug(self, element: etree._Element, kind: str) -> str:
        return self._slug(element.get("value")) or self.element_slug(element, kind)


def _nearest_named_ancestor(element: etree._Element) -> str | None:
    for ancestor in element.iterancestors():
        name = ancestor.get("name")
        if name is not None:
            return name
        if ancestor.tag == "body":
            return None
    return None


def _assign_names(body: etree._Element, max_chars: int) -> None:
    """Step 4: turn pending markers into names and split shared names, in page order."""
    named = _NAMED_XPATH(body)  # document order: every ancestor is named before its descendants
    existing = Counter()
    for element in named:
        name = element.get("name")
        if not name.startswith(_PENDING):
            existing[name] += 1
    allocator = _NameAllocator(set(existing))
    namer = _Namer(body, max_chars)
    for element in named:
        name = element.get("name")
        if name.startswith(_PENDING):
            kind = name[len(_PENDING) :]
            slug = namer.region_slug(element) if kind == KIND_REGION else namer.element_slug(element, kind)
            parent = _nearest_named_ancestor(element)
            element.set("name", allocator.allocate(f"{parent}.{slug}" if parent else slug))
        elif existing[name] > 1:
            kind = KIND_INPUT if is_input_element(element.tag, element.attrib) else KIND_CLICKABLE
            element.set("name", allocator.allocate(f"{name}.{namer.group_member_slug(element, kind)}"))
