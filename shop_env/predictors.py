"""Model-free next-action predictors, and how predictable a corpus's next actions are.

The majority action and a page-reading rule-based shopper give the floor any learned
simulator must beat: ``shop_env.data stats`` reports them for a corpus and the baseline
agents (:mod:`agents.baselines`) answer with them. Pure and light (lxml only, no torch).
The heuristic reads only the current simplified HTML and the past actions, never the
goal, and works on any page in OPeRA's dialect (hierarchical ``name`` attributes).
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Sequence
from typing import Any

from .core.types import Action, Session

__all__ = ["heuristic_action", "majority_action", "page_names", "predictability"]


def majority_action(sessions_or_corpus: Iterable[Session]) -> Action:
    """The most frequent full action (type, name, text) over the given sessions (ties: first seen).

    A corpus that offers ``session_actions()`` (the demo corpus does) is counted from it,
    which skips rendering every page.

    Raises:
        ValueError: no sessions or no steps.
    """
    counts: Counter[Action] = Counter()
    session_actions = getattr(sessions_or_corpus, "session_actions", None)
    if callable(session_actions):
        for actions in session_actions():
            counts.update(actions)
    else:
        for session in sessions_or_corpus:
            counts.update(step.action for step in session.steps)
    if not counts:
        split = getattr(sessions_or_corpus, "split", None)
        source = getattr(sessions_or_corpus, "source", "the corpus")
        if split is not None:
            raise ValueError(
                f"majority_action: split {split!r} of {source} has no sessions with steps, and the majority "
                f"baseline is fitted on it. Give the corpus {split} sessions (a JSONL line's \"split\": "
                f"\"{split}\" key, or a {split}.jsonl in the folder), or leave the majority agent out "
                "(python -m shop_env.data stats: --no-predictability)")
        raise ValueError("majority_action needs at least one session with steps: fit it on sessions, "
                         "or pass the action itself")
    return counts.most_common(1)[0][0]


def page_names(html: str) -> list[tuple[str, str, str, str]]:
    """``(name, tag, label, placeholder)`` of every element with a ``name`` attribute, in page order."""
    from lxml import html as lxml_html

    try:
        root = lxml_html.fromstring(html)
    except Exception:  # lxml raises ParserError/XMLSyntaxError on empty or hostile input
        return []
    out = []
    for el in root.iter():
        if not isinstance(el.tag, str):
            continue
        name = el.get("name")
        if name:
            label = " ".join((el.text_content() or "").split())[:80]
            out.append((name, el.tag.lower(), label, el.get("placeholder") or ""))
    return out


def _first(names: Sequence[str], *suffixes: str) -> str | None:
    for suffix in suffixes:
        for name in names:
            if name == suffix or name.endswith("." + suffix):
                return name
    return None


def heuristic_action(html: str, history: Sequence[Action]) -> Action:
    """A generic rule-based shopper: search, open the first new product, buy, check out.

    Rules, in order: place the order on a checkout page; proceed to checkout from a cart page
    or the add-to-cart side bar; on a product page add it to the cart (once), otherwise leave;
    on a results page open the first product title not opened before; on any page with a
    search input and no results, type a query taken from the page (a suggested term, else the
    input's value or placeholder); otherwise terminate.

    Args:
        html: the current page's simplified HTML.
        history: the actions taken so far in this session.
    """
    elements = page_names(html)
    names = [e[0] for e in elements]
    done = {a.name for a in history if a.type == "click" and a.name}

    order = _first(names, "place_order")
    if order:
        return Action.click(order)
    side_bar_checkout = next((n for n in names if n.endswith("proceed_to_checkout")), None)
    if side_bar_checkout:
        return Action.click(side_bar_checkout)
    add = _first(names, "add_to_cart.add_to_cart", "buy_now")
    if add:
        return Action.terminate() if add in done else Action.click(add)
    titles = [n for n in names if n.endswith(".product_title") and n not in done]
    is_results = any(n.startswith(("refinements", "pagination", "sort_by")) for n in names)
    if titles and is_results:
        return Action.click(titles[0])
    search_input = next((e for e in elements if e[1] in ("input", "textarea") and "search" in e[0]), None)
    if search_input is not None:
        suggested = [label for name, _tag, label, _ph in elements if "suggest" in name or "related" in name]
        text = suggested[0] if suggested else (search_input[3] or "best sellers")
        return Action.type_and_submit(search_input[0], text)
    return Action.terminate()


def predictability(corpus: Iterable[Session], fit_corpus: Iterable[Session]) -> dict[str, Any]:
    """Exact-match accuracy of the majority and rule-based predictors, and the oracle, on ``corpus``.

    The majority action is fitted on ``fit_corpus`` (the train split), so scores on valid or
    test are honest; the rule-based predictor sees only the page and the action history.
    Exact match is :func:`rewards.metrics.exact_match`, as for every agent.

    Returns:
        ``{"majority", "rule_based", "oracle": float, "rule_based_by_type": {type: float},
        "steps": int, "majority_action": dict, "fitted_on": split}``.
    """
    from rewards.metrics import exact_match

    majority = majority_action(fit_corpus)
    hits = Counter[str]()
    by_type, by_type_hits = Counter[str](), Counter[str]()
    steps = 0
    for session in corpus:
        history: list[Action] = []
        for step in session.steps:
            gold = step.action
            rule_hit = bool(exact_match(heuristic_action(step.html, tuple(history)), gold))
            hits["majority"] += bool(exact_match(majority, gold))
            hits["rule_based"] += rule_hit
            hits["oracle"] += bool(exact_match(gold, gold))
            by_type[gold.type] += 1
            by_type_hits[gold.type] += rule_hit
            history.append(gold)
            steps += 1
    scores = {name: (hits[name] / steps if steps else math.nan) for name in ("majority", "rule_based", "oracle")}
    return {**scores, "rule_based_by_type": {k: by_type_hits[k] / n for k, n in by_type.items()}, "steps": steps,
            "majority_action": majority.to_dict(), "fitted_on": getattr(fit_corpus, "split", None)}
