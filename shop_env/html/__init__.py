"""Simplified HTML for shopping pages: the converter and the element index (SPEC section 1).

- :func:`simplify` turns a raw page into the paper's simplified HTML in which every
  interactable element carries a unique hierarchical ``name`` (``nav_bar.search_input``).
- :func:`candidates` lists the elements of a simplified page that an action can target;
  :func:`element_names` just their names.
- :func:`slugify` is the name-segment rule, for code that writes simplified pages itself
  (the demo corpus generator).

Built on lxml; hostile input (malformed markup, very deep nesting, huge pages, undecodable
bytes, no ``<body>``, script-only pages) gives a result, or :class:`HTMLInputError` when the
input is not HTML at all (wrong type).
"""

from ._candidates import Candidate, candidates, element_names
from ._parse import HTMLInputError, decode_html
from ._rules import MAX_LABEL_CHARS, MAX_SLUG_CHARS, slugify
from ._simplify import simplify

__all__ = [
    "MAX_LABEL_CHARS",
    "MAX_SLUG_CHARS",
    "Candidate",
    "HTMLInputError",
    "candidates",
    "decode_html",
    "element_names",
    "simplify",
    "slugify",
]
