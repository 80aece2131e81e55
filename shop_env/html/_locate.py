"""The way back from a name to the element of the raw page it names: an XPath.

An agent acting on a live page (a real browser) picks a name from the simplified page;
:func:`locate` says which element of the raw page that is, so the action can be replayed
there and recorded with its name.
"""

from __future__ import annotations

from collections import Counter

from lxml import etree

from ._parse import decode_html

__all__ = ["element_paths", "locate"]


def _id_literal(value: str) -> str | None:
    if "'" not in value:
        return f"'{value}'"
    if '"' not in value:
        return f'"{value}"'
    return None


def element_paths(root: etree._Element) -> dict[etree._Element, str]:
    """An XPath for every element of a freshly parsed page, in one walk (linear in the page).

    A path starts at the nearest ancestor-or-self whose ``id`` is unique on the page
    (``//*[@id='buybox']/div[2]/button[1]``), else at the root (``/html/body/div[3]/a[1]``);
    steps count same-tag siblings from 1, as XPath does.
    """
    ids = Counter(element.get("id") for element in root.iter() if isinstance(element.tag, str) and element.get("id"))
    paths: dict[etree._Element, str] = {}
    paths[root] = f"/{root.tag}"
    stack = [root]
    while stack:
        parent = stack.pop()
        base = paths[parent]
        seen: Counter = Counter()
        for child in parent:
            tag = child.tag
            if not isinstance(tag, str):
                continue
            seen[tag] += 1
            element_id = child.get("id")
            literal = _id_literal(element_id) if element_id and ids[element_id] == 1 else None
            paths[child] = f"//*[@id={literal}]" if literal else f"{base}/{tag}[{seen[tag]}]"
            stack.append(child)
    return paths


def locate(raw_html: str | bytes) -> dict[str, str]:
    """Every name :func:`~shop_env.html.simplify` gives the page -> an XPath of its raw element.

    The XPath addresses the page as libxml2 parses it (what a browser builds too, but for
    rare repairs such as an inserted ``<tbody>``); ids unique on the page anchor it. Pages
    nested deeper than libxml2 can parse are read by the depth-capped fallback, which flattens
    their deepest levels: their paths address that flattened tree.

    Args:
        raw_html: The page as given to ``simplify`` (text or bytes).

    Returns:
        Name -> XPath, in page order; exactly the names of ``simplify(raw_html)``.

    Raises:
        HTMLInputError: As ``simplify``.
    """
    from ._rules import MAX_SLUG_CHARS
    from ._simplify import _simplify_settled

    paths: dict[str, str] = {}
    _simplify_settled(decode_html(raw_html), MAX_SLUG_CHARS, paths)
    return paths
