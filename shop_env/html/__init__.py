"""Simplified HTML for shopping pages: the converter and the element index (SPEC section 1).

- :func:`simplify` turns a raw page into the paper's simplified HTML in which every
  interactable element carries a unique hierarchical ``name`` (``nav_bar.search_input``).
- :func:`candidates` lists the elements of a simplified page that an action can target;
  :func:`element_names` just their names.
- :func:`locate` maps each name ``simplify`` gives a raw page back to an XPath of the raw
  element (for acting on a live page).
- :data:`NAME_ATTRIBUTE` (``data-shop-name``) lets a page set an element's name itself.
- :func:`slugify` is the name-segment rule, for code that writes simplified pages itself
  (the demo corpus generator).

The naming rules are in docs/NAMING.md; ``python -m shop_env.html.quality PAGE...`` measures
them on saved pages.

Built on lxml; hostile input (malformed markup, very deep nesting, huge pages, undecodable
bytes, no ``<body>``, script-only pages) gives a result, or :class:`HTMLInputError` when the
input is not HTML at all (wrong type).
"""

from ._candidates import Candidate, candidates, element_names
from ._locate import locate
from ._naming import MAX_NAME_CHARS, MAX_NAME_SEGMENTS, NAME_ATTRIBUTE
from ._parse import HTMLInputError, decode_html
from ._rules import MAX_LABEL_CHARS, MAX_SLUG_CHARS, slugify
from ._simplify import simplify

__all__ = [
    "MAX_LABEL_CHARS",
    "MAX_NAME_CHARS",
    "MAX_NAME_SEGMENTS",
    "MAX_SLUG_CHARS",
    "NAME_ATTRIBUTE",
    "Candidate",
    "HTMLInputError",
    "candidates",
    "decode_html",
    "element_names",
    "locate",
    "simplify",
    "slugify",
]
