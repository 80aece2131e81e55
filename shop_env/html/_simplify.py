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

import re
from functools import lru_cache
from urllib.parse import unquote

from lxml import etree

from ._locate import element_paths
from ._naming import assign_names, is_simplified_page
from ._parse import _XML_INVALID_RE, decode_html, parse_html_noting_fallback
from ._rules import (
    ALLOWED_ATTRIBUTES,
    BOOLEAN_ATTRIBUTES,
    CLICK_HANDLER_ATTRIBUTES,
    CLICK_TAGS,
    CONTENT_ATTRIBUTES,
    DROP_TAGS,
    MAX_SLUG_CHARS,
    RAW_TEXT_TAGS,
    REGION_TAGS,
    WRAPPER_TAGS,
    is_blank,
    normalize_space,
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

    The naming rules are :mod:`shop_env.html._naming`'s (and docs/NAMING.md): names read
    ``section[.subsection][.item].leaf`` from the page's landmarks, labels, headings and
    repeated items, never hold a count, price, rating or date, have at most 5 segments and
    120 characters, and a counter only where nothing else tells two elements apart. A page's
    own ``name`` attributes are kept only on an already simplified page; ``data-shop-name``
    sets a name on any page. ``simplify(simplify(x)) == simplify(x)``.

    Args:
        raw_html: The page as text or bytes (bytes: BOM, UTF-8, ``<meta charset>``, cp1252).
        max_slug_chars: Longest section and leaf segment.

    Returns:
        ``<html><head></head><body>...</body></html>`` as one line of HTML.

    Raises:
        HTMLInputError: ``raw_html`` is not text or bytes, or cannot be parsed at all.
    """
    return _simplify_settled(decode_html(raw_html), max_slug_chars, None)


def _simplify_settled(text: str, max_slug_chars: int, paths: dict[str, str] | None) -> str:
    """:func:`simplify` of decoded text; with ``paths``, fill it with name -> raw XPath."""
    out, unsettled = _simplify_once(text, max_slug_chars, paths)
    # A wrapper kept because libxml2 would not re-nest its child in the wrapper's parent may
    # have lost that parent later in the same pass; the next pass unwraps it. A page too deep
    # for libxml2 was parsed by the fallback, whose tree libxml2 may not rebuild from the
    # output; the next pass parses that output (shallower) with libxml2. Both are rare
    # (<p><span><div>; nesting past 2,048), so only those pages pay for the extra passes.
    # Names are settled by the first pass: later passes see a simplified page and keep them.
    for _ in range(_MAX_EXTRA_PASSES):
        if not unsettled:
            break
        again, unsettled = _simplify_once(out, max_slug_chars, None)
        if again == out:
            break
        out = again
    return out


#: Bound on the re-simplification above (each pass settles at least one level of wrappers).
_MAX_EXTRA_PASSES = 8


def _simplify_once(text: str, max_slug_chars: int, paths: dict[str, str] | None) -> tuple[str, bool]:
    """One pass of the pipeline; also whether another pass may change the output."""
    root, fell_back = parse_html_noting_fallback(text)
    raw_paths = element_paths(root) if paths is not None else None
    simplified = is_simplified_page(root, DROP_TAGS)
    root, body = _normalise_skeleton(root)
    for element in list(body.iter(*DROP_TAGS)):
        _remove_keeping_tail(element)
    for element in body.iter(*RAW_TEXT_TAGS):
        element.tag = "pre"
    _remove_hidden(body)
    named = assign_names(body, simplified, max_slug_chars)
    if raw_paths is not None:
        paths.update((name, raw_paths[element]) for name, element in named.items() if element in raw_paths)
    held_back = _simplify_structure(body)
    # held back relative to a parent that was itself unwrapped later in the pass: movable now
    unsettled = any(_can_move_up(element) for element in _still_in_tree(held_back, body))
    _finalise_text(body)
    _keep_end_tags(body)
    out = _write(root)
    return out, unsettled or (fell_back and not _reparses_unchanged(out))


def _write(root: etree._Element) -> str:
    """The tree as one line of HTML, link names as they are (see :func:`_unescape_link_names`)."""
    return _unescape_link_names(etree.tostring(root, method="html", encoding="unicode"))


def _reparses_unchanged(out: str) -> bool:
    """Whether libxml2 reads ``out`` back into the tree it was written from (written out again,
    it is the same text): then a fallback-parsed page needs no second pass."""
    root, fell_back = parse_html_noting_fallback(out)
    return not fell_back and _write(root) == out


# libxml2's HTML writer URI-escapes the ``name`` of an ``<a>`` (as it does ``href``), so
# ``<a name="kava">`` stays but ``<a name="káva">`` comes out as ``k%C3%A1va``: a link's name
# would differ from the same name on a button, and run past the length bound.
_ESCAPED_LINK_NAME_RE = re.compile(r'<a name="([^"]*%[0-9A-Fa-f]{2}[^"]*)"')


def _unescape_link_names(html: str) -> str:
    """Undo the writer's escaping of link names (the ``name`` leads the tag: see assign_names)."""

    def unescape(match: re.Match[str]) -> str:
        try:
            value = unquote(match.group(1), errors="strict")
        except UnicodeDecodeError:  # not the writer's escaping: leave it
            return match.group(0)
        return f'<a name="{value}"'

    return _ESCAPED_LINK_NAME_RE.sub(unescape, html)


def _still_in_tree(elements: list[etree._Element], body: etree._Element) -> list[etree._Element]:
    """Those of ``elements`` still inside ``body`` (one walk, not one ancestor walk each)."""
    if not elements:
        return []
    wanted = set(elements)
    return [element for element in body.iter() if element in wanted]


_MAYBE_HIDDEN_XPATH = etree.XPath(".//*[@hidden or @style or self::input]")
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


_REMOVE, _UNWRAP, _REPLACE = "remove", "unwrap", "replace"


def _apply_fates(parent: etree._Element, fates: dict) -> None:  # noqa: ANN001 - element -> fate
    """Remove, unwrap or replace-by-only-child the children of ``parent`` that have a fate.

    One rebuild of the child list, with text gathered in lists and joined once: removing or
    unwrapping many siblings stays linear (appending to one growing string each time does not).
    A removed child's tail stays after one space; unwrapped content joins without spaces.
    """
    head: list[str] = [parent.text] if parent.text else []
    current = head
    kept: list[tuple[etree._Element, list[str]]] = []
    for child in list(parent):
        fate = fates.pop(child, None)
        tail = child.tail
        if fate is None:
            current = [tail] if tail else []
            kept.append((child, current))
        elif fate is _REMOVE:
            if tail:
                current.append(" " + tail)
        elif fate is _UNWRAP:
            if child.text:
                current.append(child.text)
            for grandchild in child:
                current = [grandchild.tail] if grandchild.tail else []
                kept.append((grandchild, current))
            if tail:
                current.append(tail)
        else:  # _REPLACE: the only child takes the wrapper's place and tail
            current = [tail] if tail else []
            kept.append((child[0], current))
    del parent[:]
    parent.text = _settable("".join(head))
    for child, pieces in kept:
        parent.append(child)
        child.tail = _settable("".join(pieces))


def _settable(text: str) -> str | None:
    """``text`` as lxml accepts it set (libxml2 parses characters it refuses to set)."""
    return _XML_INVALID_RE.sub(" ", text) or None


def _remove_hidden(body: etree._Element) -> None:
    """Remove invisible subtrees (``hidden``, ``display:none``, hidden inputs), keeping tails."""
    fates = {}
    parents = []
    for element in _MAYBE_HIDDEN_XPATH(body):
        if _is_hidden(element.tag, element.attrib):
            parent = element.getparent()
            if parent is not None:
                parents.append(parent)
                fates[element] = _REMOVE
    seen = set()
    for parent in parents:
        if parent not in seen:
            seen.add(parent)
            _apply_fates(parent, fates)


def _simplify_structure(body: etree._Element) -> list[etree._Element]:
    """Step 3 of the pipeline, children before parents (hidden subtrees are already gone).

    Each element's fate (removed, unwrapped, replaced by its only child) is decided when its
    subtree is done and carried out when its parent is, in one rebuild of the parent's
    children. Returns the elements left wrapped because a child would not re-parse inside
    their parent (see :func:`_nests_directly`).
    """
    allowed = ALLOWED_ATTRIBUTES
    protecting = _PROTECTING_ATTRIBUTES
    held_back: list[etree._Element] = []
    fates: dict[etree._Element, str] = {}
    pending_parents: set[etree._Element] = set()
    for _, element in etree.iterwalk(body, events=("end",)):
        if element in pending_parents:
            pending_parents.discard(element)
            _apply_fates(element, fates)
        if element is body:
            break
        tag = element.tag
        keys = element.keys()
        if keys:
            if allowed.isdisjoint(keys):
                element.attrib.clear()
                keys = None
            else:
                keys = _rebuild_attributes(element.attrib, None)
        fate = None
        if not keys:
            if tag == "span":
                if _can_move_up(element):
                    fate = _UNWRAP
                else:
                    held_back.append(element)
            if fate is None:
                count = len(element)
                if count == 0:
                    if is_blank(element.text):
                        fate = _REMOVE
                elif count == 1 and tag in WRAPPER_TAGS and is_blank(element.text) and is_blank(element[0].tail):
                    if _can_move_up(element):
                        fate = _REPLACE
                    else:
                        held_back.append(element)
        elif len(element) == 0 and is_blank(element.text):
            if protecting.isdisjoint(keys):
                fate = _REMOVE
            else:
                element.text = None
                continue
        if fate is not None:
            fates[element] = fate
            pending_parents.add(element.getparent())
        elif element.text is not None or len(element):
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
