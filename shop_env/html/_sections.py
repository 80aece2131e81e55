"""Which containers of a raw page are sections, and the section segment each one gives.

A person describing where a button is says "in the navigation bar", "in the filters", "under
Customers also bought". The section segment of a name says the same, from what the page
marks up (in this order):

1. an ``aria-label`` (or a ``title``) of a landmark or labelled container;
2. the purpose of a form: ``search`` when it holds a search field, else its section words
   (below), else the label of its first submit button (a form whose button says "Add to
   Cart" is the ``add_to_cart`` section);
3. words of the container's ``id`` and ``class`` that are section words
   (:data:`SECTION_WORDS`: ``refinements``, ``search_results``, ``reviews``, ``buy_box``,
   ``product_options``, ``pagination``, ``breadcrumbs``, ...). Generated class names
   (``css-1x2y3z``, ``sc-bdfBwQ``) are never words;
4. the first heading inside a carousel, dialog, menu or labelled-only landmark
   (``section``, ``region``, ``group``);
5. the landmark itself (``header``/``banner`` -> ``nav_bar``, ``footer`` -> ``footer``, ...).

Text that is a measure (a count, a price, a rating, a date) gives only its other words.
"""

from __future__ import annotations

import re
from functools import lru_cache

from lxml import etree

from ._measures import label_slug, label_text
from ._rules import first_token

__all__ = ["LANDMARK_SLUGS", "SECTION_WORDS", "heading_level", "is_landmark", "section_slug", "text_slug"]

#: Landmark tags and ARIA roles that are sections by themselves, and the segment they give
#: when nothing labels them.
LANDMARK_SLUGS = {
    "header": "nav_bar",
    "banner": "nav_bar",
    "nav": "navigation",
    "navigation": "navigation",
    "footer": "footer",
    "contentinfo": "footer",
    "aside": "sidebar",
    "complementary": "sidebar",
    "form": "form",
    "search": "search",
    "dialog": "dialog",
    "alertdialog": "dialog",
    "fieldset": "fieldset",
    "menu": "menu",
    "menubar": "menu",
    "tablist": "tabs",
    "toolbar": "toolbar",
    "radiogroup": "options",
    "listbox": "options",
    "table": "table",
    "grid": "table",
    "region": "region",
    "group": "group",
    "tree": "tree",
    "section": "section",
}
#: Landmarks that only count when something labels them (a bare ``<section>`` is just a box).
_LABEL_ONLY = frozenset({"section", "region", "group", "table", "grid", "fieldset", "tree"})
#: Words in ids and classes that say what a container is, and the segment each gives.
#: Checked in this order, so ``nav-footer`` is the footer and ``s-refinements`` the filters.
SECTION_WORDS = (
    (("breadcrumb", "breadcrumbs"), "breadcrumbs"),
    (("pagination", "pager", "paging", "paginator"), "pagination"),
    (("footer",), "footer"),
    (("refinement", "refinements", "refine", "filter", "filters", "facet", "facets"), "refinements"),
    (("review", "reviews", "cr", "ratings"), "reviews"),
    (("twister", "variation", "variations", "variant", "variants", "swatch", "swatches", "sku"),
     "product_options"),
    (("buybox", "buy_box", "addtocart", "atc", "purchase", "checkout"), "buy_box"),
    (("gallery", "thumbnails", "imageblock", "altimages"), "product_images"),
    (("carousel", "shoveler", "slider", "recommendations", "recommendation", "sims"), "carousel"),
    (("megamenu", "flyout", "dropdown", "submenu"), "menu"),
    (("results", "srp", "listing", "listings"), "search_results"),
    (("minicart", "cart", "basket"), "cart"),
    (("header", "masthead", "navbar", "topbar", "nav", "navigation"), "nav_bar"),
    (("sidebar",), "sidebar"),
)
_SECTION_WORD_MAP = {word: slug for words, slug in SECTION_WORDS for word in words}
_SECTION_ORDER = {slug: index for index, (_, slug) in enumerate(SECTION_WORDS)}
# An id/class token is read as words only when it looks written by a person: letters,
# separators, camelCase; no digits runs or random case (generated CSS-in-JS classes).
_TOKEN_RE = re.compile(r"[A-Za-z][A-Za-z_-]*[A-Za-z]|[A-Za-z]")
_CAMEL_RE = re.compile(r"(?<=[a-z])(?=[A-Z])")
_HEADING_LEVELS = {f"h{level}": level for level in range(1, 7)}
_HEADING_TAGS = ("h1", "h2", "h3", "h4", "h5", "h6", "legend", "caption")
# How many descendants are searched for a section's first heading (bounds the work).
_HEADING_SEARCH = 40
_SEARCH_TYPES = frozenset({"search"})
# Sections better named by their first heading than by what they are ("Customers also bought").
_HEADED = frozenset({"carousel", "dialog", "alertdialog", "menu"})


text_slug = label_slug


def heading_level(element: etree._Element) -> int:
    """1-6 for ``h1``-``h6`` and ``role=heading`` (its ``aria-level``, default 2); 0 otherwise."""
    level = _HEADING_LEVELS.get(element.tag)
    if level:
        return level
    if "role" in element.keys() and first_token(element.get("role")) == "heading":
        level = (element.get("aria-level") or "").strip()
        return int(level) if level.isdigit() and 1 <= int(level) <= 6 else 2
    return 0


def _words_of_token(token: str) -> list[str]:
    words = []
    for match in _TOKEN_RE.findall(token):
        for part in _CAMEL_RE.split(match.replace("-", "_")):
            words.extend(word.lower() for word in part.split("_") if word)
    return words


def vocabulary_slug(element: etree._Element) -> str:
    """The :data:`SECTION_WORDS` segment of an element's ``id`` and ``class`` words, or ``""``."""
    element_id = element.get("id")
    classes = element.get("class")
    if not element_id and not classes:
        return ""
    return _vocabulary_slug(element_id, classes)


@lru_cache(maxsize=8192)
def _vocabulary_slug(element_id: str | None, classes: str | None) -> str:
    """:func:`vocabulary_slug` of the attribute values (pages repeat them: cached)."""
    best = ""
    for value in (element_id, classes):
        if not value:
            continue
        for token in value.split()[:12]:
            joined = token.lower().replace("-", "").replace("_", "")
            slug = _SECTION_WORD_MAP.get(joined, "")
            for word in _words_of_token(token):
                candidate = _SECTION_WORD_MAP.get(word, "")
                if candidate and (not slug or _SECTION_ORDER[candidate] < _SECTION_ORDER[slug]):
                    slug = candidate
            if slug and (not best or _SECTION_ORDER[slug] < _SECTION_ORDER[best]):
                best = slug
    return best


def _first_heading_text(element: etree._Element) -> str | None:
    for index, descendant in enumerate(element.iterdescendants()):
        if index >= _HEADING_SEARCH:
            return None
        if not isinstance(descendant.tag, str):
            continue
        if descendant.tag in _HEADING_TAGS or heading_level(descendant):
            text = label_text(descendant)
            if text.strip():
                return text
    return None


def _form_purpose(element: etree._Element, max_chars: int) -> str:
    submit = None
    for index, descendant in enumerate(element.iter("input", "button")):
        if index >= _HEADING_SEARCH:
            break
        input_type = (descendant.get("type") or "").strip().lower()
        role = first_token(descendant.get("role"))
        if input_type in _SEARCH_TYPES or role == "searchbox":
            return "search"
        if descendant.tag == "input" and input_type in ("", "text"):
            hint = " ".join(descendant.get(a) or "" for a in ("name", "id", "placeholder", "aria-label")).lower()
            if "search" in hint or "such" in hint or "busca" in hint or "cauta" in hint or "recherch" in hint:
                return "search"
        if submit is None and (input_type == "submit" or (descendant.tag == "button" and input_type in ("", "submit"))):
            submit = descendant
    if submit is not None:
        label = submit.get("value") if submit.tag == "input" else label_text(submit)
        slug = text_slug(label, max_chars) or text_slug(submit.get("aria-label"), max_chars)
        if slug:
            return slug
    return ""


def section_slug(element: etree._Element, tag: str, max_chars: int) -> str:
    """The section segment an element gives, or ``""`` when it is no section.

    Args:
        element: A raw-page element (its ``id``, ``class`` and ARIA attributes still there).
        tag: Its tag.
        max_chars: Longest segment.
    """
    role = first_token(element.get("role"))
    landmark = role if role in LANDMARK_SLUGS else (tag if tag in LANDMARK_SLUGS else "")
    labelled = text_slug(element.get("aria-label"), max_chars)
    if landmark in ("form", "search") or tag == "form":
        purpose = "search" if role == "search" else _form_purpose(element, max_chars)
        if purpose == "search" or labelled:
            return labelled or purpose
        return vocabulary_slug(element) or purpose or text_slug(element.get("title"), max_chars) or "form"
    if labelled and (landmark or tag in ("div", "ul", "ol", "section", "aside", "nav", "span")):
        return labelled
    vocabulary = vocabulary_slug(element) if tag not in ("a", "button", "li", "span") else ""
    if not landmark and not vocabulary:
        return ""
    if vocabulary and vocabulary not in _HEADED:
        return vocabulary  # what the page calls it beats a landmark's generic word
    if vocabulary in _HEADED or landmark in _LABEL_ONLY or landmark in _HEADED:
        heading = _first_heading_text(element)
        slug = text_slug(heading, max_chars) if heading else ""
        if slug:
            return slug
    if landmark and landmark not in _LABEL_ONLY:
        return LANDMARK_SLUGS[landmark]
    return vocabulary


def is_landmark(element: etree._Element) -> bool:
    """A landmark tag or role, or a labelled container: a place of its own, never a list item."""
    tag = element.tag
    if tag in ("header", "nav", "footer", "aside", "form", "main", "dialog"):
        return True
    role = first_token(element.get("role"))
    return (role in LANDMARK_SLUGS and role not in _LABEL_ONLY) or bool(element.get("aria-label"))
