"""Decode and parse untrusted HTML into an lxml tree, never crashing on hostile input.

libxml2 (through lxml) parses almost anything, quickly. Its one hard limit that matters here
is nesting depth: past 2048 open elements it stops and silently drops the rest of the page.
When that happens the page is parsed again by libxml2 into a parser target (its SAX events
have no depth limit) that builds the same tree but flattens everything nested deeper than
:data:`FALLBACK_MAX_DEPTH` into its ancestor at that depth, so no content is lost.
"""

from __future__ import annotations

import codecs
import re

from lxml import etree

__all__ = ["FALLBACK_MAX_DEPTH", "HTMLInputError", "decode_html", "parse_html", "parse_html_noting_fallback"]

#: Depth past which the fallback tree builder flattens elements into a plain container above them.
FALLBACK_MAX_DEPTH = 256

# How far into a byte string to look for a <meta charset> declaration (the HTML spec says 1024).
_CHARSET_SNIFF_BYTES = 4096
_META_CHARSET_RE = re.compile(rb"""<meta[^>]*?charset\s*=\s*["']?\s*([A-Za-z0-9_.:-]+)""", re.IGNORECASE)
_BOMS = (
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF32_LE, "utf-32-le"),
    (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)
# Characters lxml refuses in text and attribute values (XML 1.0 Char production).
_XML_INVALID_RE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
# Text codecs that are no page encodings: they encode host names or Python source.
_NOT_PAGE_ENCODINGS = frozenset({"idna", "punycode", "raw_unicode_escape", "unicode_escape", "undefined"})


class HTMLInputError(ValueError):
    """Raised when a page cannot be turned into a document at all (wrong type, unparseable)."""


def decode_html(raw: str | bytes | bytearray | memoryview) -> str:
    """Turn page bytes into text: BOM, then strict UTF-8, then a ``<meta charset>``, then cp1252.

    Undecodable bytes become U+FFFD rather than errors, so any byte string decodes.

    Args:
        raw: The page as text (returned unchanged) or bytes.

    Returns:
        The page as a ``str``.

    Raises:
        HTMLInputError: ``raw`` is neither text nor bytes.
    """
    if isinstance(raw, str):
        return raw
    if isinstance(raw, (bytearray, memoryview)):
        raw = bytes(raw)
    if not isinstance(raw, bytes):
        raise HTMLInputError(f"HTML must be str or bytes, got {type(raw).__name__}")
    for bom, encoding in _BOMS:
        if raw.startswith(bom):
            return raw[len(bom) :].decode(encoding, "replace")
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        pass
    match = _META_CHARSET_RE.search(raw[:_CHARSET_SNIFF_BYTES])
    if match:
        decoded = _decode_declared(raw, match.group(1).decode("ascii", "replace"))
        if decoded is not None:
            return decoded
    return raw.decode("cp1252", "replace")


def _decode_declared(raw: bytes, label: str) -> str | None:
    """``raw`` in the page's declared charset, or ``None`` when that is no usable text encoding.

    Python's codec registry also holds bytes-to-bytes and str-to-str transforms (``rot13``,
    ``base64``, ``hex``, ``zlib``) and codecs that only work strictly (``idna``,
    ``punycode``); a declared charset naming one of those is treated like an unknown one.
    """
    try:
        info = codecs.lookup(label)
    except LookupError:
        return None
    if not getattr(info, "_is_text_encoding", True) or info.name in _NOT_PAGE_ENCODINGS:
        return None
    try:
        text = raw.decode(info.name, "replace")
    except (UnicodeError, LookupError, TypeError, ValueError):
        return None
    return text if isinstance(text, str) else None


def parse_html(text: str) -> etree._Element:
    """Parse page text into an lxml tree rooted at ``<html>`` (comments and PIs dropped).

    Args:
        text: The page; any string, including empty or malformed markup.

    Returns:
        The root element. Empty input gives a bare ``<html>`` element.

    Raises:
        HTMLInputError: Neither libxml2's tree builder nor the depth-capped fallback could build a tree.
    """
    return parse_html_noting_fallback(text)[0]


def parse_html_noting_fallback(text: str) -> tuple[etree._Element, bool]:
    """:func:`parse_html`, and whether the depth-capped fallback built the tree.

    The fallback's flattening can put an element where libxml2 would not nest it when the
    output is parsed again (a ``<p>`` flattened into a ``<p>``), so its tree may not be the one
    libxml2 builds from the same markup written back out.
    """
    data = text.encode("utf-8", "replace")  # lone surrogates become '?'
    if not data.strip():
        return etree.Element("html"), False
    parser = etree.HTMLParser(
        encoding="utf-8", remove_comments=True, remove_pis=True, huge_tree=True, no_network=True
    )
    root = None
    try:
        root = etree.fromstring(data, parser)
    except (etree.LxmlError, ValueError):
        root = None
    truncated = any(err.level_name == "FATAL" for err in parser.error_log)
    if root is None or truncated:
        return _parse_with_depth_cap(data, FALLBACK_MAX_DEPTH), True
    return root, False


def _append_text(parent: etree._Element, text: str) -> None:
    """Append ``text`` after the last thing currently inside ``parent``."""
    if len(parent):
        last = parent[-1]
        last.tail = (last.tail or "") + text
    else:
        parent.text = (parent.text or "") + text


class _DepthCappedTreeBuilder:
    """An lxml parser target that builds the tree libxml2 would, flattening nesting past a cap.

    libxml2's SAX events carry its own tokenizing and implied start and end tags, with no depth
    limit (only its tree builder has one), so the tree is libxml2's but for the flattening:
    an element opened deeper than ``max_depth`` becomes a child of the nearest ancestor at or
    above the cap that is a plain container (:data:`_FLATTEN_INTO`: a link or a paragraph
    would be closed by a nested one when the output is read again); its text still goes to
    it. Tags or attributes lxml cannot hold are skipped, their content kept.
    """

    def __init__(self, max_depth: int) -> None:
        self.root = etree.Element("html")
        self._max_depth = max_depth
        self._stack: list[etree._Element] = []  # every open element, capped or not
        self._container: list[int] = []  # per open element: the index of its nearest plain container

    def start(self, tag: str, attrib: dict[str, str]) -> None:
        if not self._stack:
            self._push(self.root)
            if tag == "html":
                return  # else: content before an implied <html>
        depth = len(self._stack)
        parent = self._stack[-1] if depth < self._max_depth else self._stack[self._container[self._max_depth - 1]]
        try:
            element = etree.SubElement(parent, tag)
        except ValueError:  # a tag name lxml cannot hold: keep its content, drop the tag
            self._push(parent)
            return
        for key, value in attrib.items():
            try:
                element.set(key, _XML_INVALID_RE.sub(" ", value or ""))
            except ValueError:  # an attribute name lxml cannot hold
                continue
        self._push(element)

    def _push(self, element: etree._Element) -> None:
        index = len(self._stack)
        plain = element.tag in _FLATTEN_INTO or not self._container
        self._container.append(index if plain else self._container[-1])
        self._stack.append(element)

    def end(self, tag: str) -> None:
        if len(self._stack) > 1:
            self._stack.pop()
            self._container.pop()

    def data(self, data: str) -> None:
        _append_text(self._stack[-1] if self._stack else self.root, _XML_INVALID_RE.sub(" ", data))

    def close(self) -> etree._Element:
        return self.root


#: Containers that elements past the fallback's depth cap are flattened into: any element
#: may sit directly inside them and stay there when the output is parsed again.
_FLATTEN_INTO = frozenset("html body div section article main aside nav header footer".split())


def _parse_with_depth_cap(data: bytes, max_depth: int) -> etree._Element:
    builder = _DepthCappedTreeBuilder(max_depth)
    parser = etree.HTMLParser(
        encoding="utf-8", target=builder, remove_comments=True, remove_pis=True, huge_tree=True, no_network=True
    )
    try:
        return etree.fromstring(data, parser)
    except Exception as exc:  # the capped build is the last resort: report, don't crash
        raise HTMLInputError(f"could not parse HTML ({len(data)} bytes): {exc}") from exc
