"""The demo store as a state machine: the page for a state, the next state for an action.

A state is the demo corpus's page state (:mod:`shop_env.demo.site`): a small JSON-able dict
with ``p`` (page kind), ``q``/``f``/``s``/``n`` (results: query, refinements, sort, page),
``i``/``o``/``sb`` (product: catalogue index, chosen options, add-to-cart side bar), ``rf``
(reviews star filter), ``d`` (checkout: one-day delivery) and ``c`` (cart lines
``[index, color, size, quantity]``). The store adds two keys of its own: ``b`` (the results
state a product page was opened from, where "back to results" leads) and, on the order
confirmation page ``p="order"``, ``ol`` (the lines ordered).

States are values: :meth:`Store.step` never changes the state it is given. Everything is
in-process and needs only the core install; the web application (:mod:`shop_env.store.app`)
serves the same machine as full pages of a real store.
"""

from __future__ import annotations

import json
import re
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from html import escape
from typing import Any
from urllib.parse import parse_qs, quote_plus, urlsplit

from ..core.types import Action
from ..demo.site import (
    PAGE_KINDS as DEMO_PAGE_KINDS,
)
from ..demo.site import (
    PRICE_BUCKETS,
    SORT_KEYS,
    Product,
    catalogue,
    page_meta,
    related_terms,
    render_page,
)
from ..demo.text import slug

__all__ = [
    "DEFAULT_GOAL",
    "DEFAULT_SESSION_KEY",
    "PAGE_KINDS",
    "Store",
    "Transition",
    "state_key",
]

#: Page kinds of the store: the demo corpus's, plus the order confirmation after a purchase.
PAGE_KINDS: tuple[str, ...] = (*DEMO_PAGE_KINDS, "order")
#: The catalogue ``python -m shop_env.store serve`` uses when no session or goal is given.
DEFAULT_SESSION_KEY = "shop-r1-store"
DEFAULT_GOAL = "i need a pair of men's running shoes in black, size 10, and price lower than 80.00 dollars"

_NAME_RE = re.compile(r' name="([^"]+)"')
_RESULT_PARTS = ("product_title", "product_image", "ratings_count", "add_to_cart")
_SORT_KEYS = {key for key, _label in SORT_KEYS}
_PRICE_KEYS = {key for key, _label, _lo, _hi in PRICE_BUCKETS}
_CACHE_PAGES = 512


def state_key(state: Mapping[str, Any]) -> str:
    """A canonical string for a state (sorted-key JSON): equal states, equal keys."""
    return json.dumps(state, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


@dataclass(frozen=True)
class Transition:
    """What an action did: the next state and whether the episode ends.

    ``ok`` is False when the action could not be done (the name is not on the page, text
    typed into something that is not a text field, an empty query); then ``state`` is the
    state it was given and ``reason`` says why. ``done`` is True after ``terminate`` and
    after a purchase (``outcome`` ``"terminate"`` or ``"purchase"``). ``effect`` is
    ``"navigate"`` (a new page), ``"cart"`` (the cart changed), ``"none"`` (same page).
    """

    state: dict[str, Any]
    ok: bool = True
    reason: str | None = None
    done: bool = False
    outcome: str | None = None
    effect: str = "navigate"


class Store:
    """The demo store for one catalogue (the demo generator's, seeded by a session key and a goal).

    Args:
        session_key: seeds the catalogue (a demo corpus session id gives that session's store).
        goal: the shopper's instruction; product titles are built from its words.

    Every search returns the whole catalogue ranked for the query (filters narrow it), so any
    query shows product links with the products' titles.
    """

    def __init__(self, session_key: str = DEFAULT_SESSION_KEY, goal: str = DEFAULT_GOAL) -> None:
        if not isinstance(session_key, str) or not session_key:
            raise ValueError("session_key must be a non-empty string")
        if not isinstance(goal, str) or not goal.strip():
            raise ValueError("goal must be a non-empty string")
        self.session_key, self.goal = session_key, goal
        self.products: tuple[Product, ...] = catalogue(session_key, goal)
        self._by_slug = {p.slug: p for p in self.products}
        self._by_asin = {p.asin: p for p in self.products}
        self._pages: OrderedDict[str, tuple[str, frozenset[str]]] = OrderedDict()

    @classmethod
    def from_session(cls, session_id: str) -> Store:
        """The store of a demo corpus session (its catalogue, as its pages show it)."""
        from ..demo import DemoCorpus

        for split in ("train", "valid", "test"):
            corpus = DemoCorpus(split, cache_size=0)
            if session_id in corpus.session_ids():
                return cls(session_id, corpus.spec(corpus.index_of(session_id))["goal"])
        raise KeyError(f"no demo corpus session {session_id!r}")

    def __repr__(self) -> str:
        return f"<Store {self.session_key!r} ({len(self.products)} products)>"

    # ------------------------------------------------------------------ pages
    def home(self) -> dict[str, Any]:
        """The start state: the home page with an empty cart."""
        return {"p": "home"}

    def page(self, state: Mapping[str, Any]) -> str:
        """The simplified page of a state (the demo corpus's dialect and names)."""
        return self._page(state)[0]

    def names(self, state: Mapping[str, Any]) -> frozenset[str]:
        """Every element name on the state's page."""
        return self._page(state)[1]

    def _page(self, state: Mapping[str, Any]) -> tuple[str, frozenset[str]]:
        key = state_key(state)
        hit = self._pages.get(key)
        if hit is not None:
            self._pages.move_to_end(key)
            return hit
        self._check(state)
        html = _render_order(state, self) if state["p"] == "order" else render_page(state, self.session_key, self.goal)
        entry = (html, frozenset(_NAME_RE.findall(html)))
        self._pages[key] = entry
        if len(self._pages) > _CACHE_PAGES:
            self._pages.popitem(last=False)
        return entry

    def meta(self, state: Mapping[str, Any]) -> dict[str, Any]:
        """OPeRA-like page metadata (page type, search term, cart items, asin)."""
        if state["p"] == "order":
            return {"page_type": "order", "search_term": "", "cart_items": 0}
        return page_meta(state, self.session_key)

    def product(self, state: Mapping[str, Any]) -> Product | None:
        """The product a product or reviews page shows (None elsewhere)."""
        return self.products[state["i"]] if state.get("p") in ("product", "reviews") else None

    def cart_count(self, state: Mapping[str, Any]) -> int:
        return sum(int(line[3]) for line in state.get("c", ()))

    def _check(self, state: Mapping[str, Any]) -> None:
        if not isinstance(state, Mapping) or state.get("p") not in PAGE_KINDS:
            raise ValueError(f"not a store state (p must be one of {PAGE_KINDS}): {state!r}")
        if state["p"] == "search" and not isinstance(state.get("q"), str):
            raise ValueError(f"a results state needs a query 'q': {state!r}")
        if state["p"] in ("product", "reviews"):
            i = state.get("i")
            if not isinstance(i, int) or not 0 <= i < len(self.products):
                raise ValueError(f"product index {i!r} out of range for {len(self.products)} products")

    # ------------------------------------------------------------------ URLs
    def url(self, state: Mapping[str, Any]) -> str:
        """The path (and query) of a state's page; the cart is not in it (the web store keeps it in a cookie).

        Results, product, reviews, cart and checkout paths are the demo corpus's step URLs
        (``/s?k=...&rh=...``, ``/dp/ASIN``, ...), with the store's extra parameters
        (``color``, ``size``, ``added``, ``ref``, ``delivery``) appended only when set.
        """
        kind = state["p"]
        if kind == "search":
            url = "/s?k=" + quote_plus(state["q"])
            if state.get("f"):
                url += "&rh=" + ",".join(quote_plus(r).replace(".", ":", 1) for r in state["f"])
            if state.get("s"):
                url += "&s=" + quote_plus(state["s"])
            if state.get("n", 1) > 1:
                url += f"&page={int(state['n'])}"
            return url
        if kind == "product":
            p = self.products[state["i"]]
            params = [f"{k}={quote_plus(v)}" for k, v in sorted((state.get("o") or {}).items()) if v]
            if state.get("sb"):
                params.append("added=1")
            if state.get("b"):
                params.append("ref=" + quote_plus(self.url(state["b"])))
            return f"/dp/{p.asin}" + ("?" + "&".join(params) if params else "")
        if kind == "reviews":
            p = self.products[state["i"]]
            return f"/product-reviews/{p.asin}" + (f"?filterByStar={int(state['rf'])}" if state.get("rf") else "")
        if kind == "checkout":
            return "/checkout/spc" + ("?delivery=one_day" if state.get("d") else "")
        if kind == "order":
            return "/order/thank-you"
        return {"home": "/", "cart": "/cart"}[kind]

    def state_from_url(self, url: str, cart: Sequence[Sequence[Any]] = ()) -> dict[str, Any] | None:
        """The state a URL shows (with ``cart`` as its cart lines), or None for a URL that is no page here."""
        parts = urlsplit(url)
        path = parts.path.rstrip("/") or "/"
        qs = {k: v[-1] for k, v in parse_qs(parts.query, keep_blank_values=True).items()}
        state: dict[str, Any]
        if path == "/":
            state = {"p": "home"}
        elif path == "/s":
            query = qs.get("k", "").strip()
            if not query:
                return None
            state = {"p": "search", "q": query}
            if qs.get("rh"):
                state["f"] = [r.replace(":", ".", 1) for r in qs["rh"].split(",") if r]
            if qs.get("s"):
                state["s"] = qs["s"]
            if qs.get("page", "1").isdigit() and int(qs.get("page", "1")) > 1:
                state["n"] = int(qs["page"])
        elif path.startswith("/dp/") or path.startswith("/product-reviews/"):
            product = self._by_asin.get(path.rsplit("/", 1)[-1])
            if product is None:
                return None
            if path.startswith("/dp/"):
                state = {"p": "product", "i": product.index}
                options = {k: qs[k] for k in ("color", "size") if qs.get(k)}
                if options:
                    state["o"] = options
                if qs.get("added") == "1":
                    state["sb"] = 1
                if qs.get("ref"):
                    back = self.state_from_url(qs["ref"])
                    if back is not None and back["p"] == "search":
                        state["b"] = back
            else:
                state = {"p": "reviews", "i": product.index}
                if qs.get("filterByStar", "").isdigit():
                    state["rf"] = int(qs["filterByStar"])
        elif path == "/cart":
            state = {"p": "cart"}
        elif path == "/checkout/spc":
            state = {"p": "checkout"}
            if qs.get("delivery") == "one_day":
                state["d"] = 1
        else:
            return None
        if cart:
            state["c"] = [list(line) for line in cart]
        return state

    # ------------------------------------------------------------------ transitions
    def step(self, state: Mapping[str, Any], action: Action | Mapping[str, Any]) -> Transition:
        """The next state after ``action`` on the page of ``state``.

        A name that is not on the page, or text typed into something that is not a text
        field, does nothing (``ok=False`` with the reason). Elements with no effect in this
        store (account links, "helpful" buttons, a checkbox) leave the state as it is.
        """
        if not isinstance(action, Action):
            action = Action.from_dict(action)
        state = dict(state)
        if action.type == "terminate":
            return Transition(state, done=True, outcome="terminate", effect="none")
        name = action.name or ""
        if name not in self.names(state):
            return Transition(state, ok=False, reason=f"no element named {name!r} on this page", effect="none")
        if action.type == "type_and_submit":
            if name != "nav_bar.search_input":
                return Transition(state, ok=False, reason=f"{name!r} is not a text field", effect="none")
            query = " ".join((action.text or "").split())
            if not query:
                return Transition(state, ok=False, reason="an empty search does nothing", effect="none")
            return self._to(state, {"p": "search", "q": query})
        return self._click(state, name)

    def _to(self, state: Mapping[str, Any], new: dict[str, Any], effect: str = "navigate") -> Transition:
        """Go to ``new`` keeping the cart of ``state``."""
        if state.get("c") and "c" not in new:
            new["c"] = [list(line) for line in state["c"]]
        return Transition(new, effect=effect)

    def _same(self, state: dict[str, Any]) -> Transition:
        return Transition(state, effect="none")

    def _add(self, state: Mapping[str, Any], index: int, options: Mapping[str, Any]) -> list[list[Any]]:
        """The cart after adding one of product ``index`` (the demo shopper's rule: one line a product)."""
        p = self.products[index]
        lines = [list(line) for line in state.get("c", ())]
        for line in lines:
            if line[0] == index:
                line[3] += 1
                return lines
        lines.append([index, options.get("color", p.colors[0] if p.colors else None), options.get("size"), 1])
        return lines

    def _click(self, state: dict[str, Any], name: str) -> Transition:  # noqa: C901 - one rule a name family
        kind = state["p"]
        head, _, rest = name.partition(".")
        leaf = name.rsplit(".", 1)[-1]
        # ---- on every page with the nav bar
        if name == "nav_bar.homepage":
            return self._to(state, {"p": "home"})
        if name == "nav_bar.cart":
            return self._to(state, {"p": "cart"})
        if name == "nav_bar.search_button":
            query = state.get("q", "") if kind == "search" else ""
            return self._to(state, {"p": "search", "q": query}) if query else self._same(state)
        if head in ("nav_bar", "nav_bar_secondary", "footer", "sign_in_banner", "hero_carousel"):
            return self._same(state)
        # ---- home
        if head == "shop_by_category":
            return self._to(state, {"p": "search", "q": self._label(state, name)})
        if head == "todays_deals":
            query = "deals" if name == "todays_deals.see_all_deals" else self._label(state, f"todays_deals.{rest.split('.')[0]}.product_title")
            return self._to(state, {"p": "search", "q": query})
        # ---- results
        if kind == "search":
            results = {k: state[k] for k in ("p", "q", "f", "s", "n") if k in state}
            if head == "refinements":
                active = list(state.get("f", ()))
                if name == "refinements.clear_all":
                    active = []
                elif rest.count(".") == 1:
                    active = [r for r in active if r != rest] if rest in active else active + [rest]
                else:
                    return self._same(state)
                new = {k: v for k, v in results.items() if k not in ("f", "n")}
                if active:
                    new["f"] = active
                return self._to(state, new)
            if head == "sort_by":
                new = {k: v for k, v in results.items() if k not in ("s", "n")}
                if leaf in _SORT_KEYS and leaf != "featured":
                    new["s"] = leaf
                return self._to(state, new)
            if head == "pagination":
                n = int(state.get("n", 1))
                n = n + 1 if leaf == "next" else n - 1 if leaf == "previous" else int(leaf) if leaf.isdigit() else n
                new = {k: v for k, v in results.items() if k != "n"}
                if n > 1:
                    new["n"] = n
                return self._to(state, new)
            if head == "related_searches":
                terms = {slug(t): t for t in related_terms(self.session_key, self.goal, state["q"])}
                return self._to(state, {"p": "search", "q": terms.get(rest, rest.replace("_", " "))})
            item = rest.rsplit(".", 1)[0]
            if item in self._by_slug and leaf in _RESULT_PARTS:
                p = self._by_slug[item]
                if leaf == "add_to_cart":
                    return Transition({**state, "c": self._add(state, p.index, {})}, effect="cart")
                if leaf == "ratings_count":
                    return self._to(state, {"p": "reviews", "i": p.index})
                return self._to(state, {"p": "product", "i": p.index, "b": results})
        # ---- product
        if kind == "product":
            p = self.products[state["i"]]
            options = dict(state.get("o") or {})
            if head == "cart_side_bar":
                if leaf == "proceed_to_checkout":
                    return self._to(state, {"p": "checkout"})
                if leaf == "go_to_cart":
                    return self._to(state, {"p": "cart"})
                return Transition({k: v for k, v in state.items() if k != "sb"}, effect="navigate")
            if name == "breadcrumb.back_to_results":
                return self._to(state, dict(state["b"]) if state.get("b") else {"p": "home"})
            if name == "byline.visit_the_store":
                return self._to(state, {"p": "search", "q": p.brand})
            if head == "product_options":
                group, _, value = rest.partition(".")
                values = {"color": p.colors, "size": p.sizes}.get(group, ())
                chosen = next((v for v in values if slug(v) == value), None)
                if chosen is None:
                    return self._same(state)
                new = {k: v for k, v in state.items() if k != "sb"}
                new["o"] = {**options, group: chosen}
                return Transition(new, effect="navigate")
            if name in ("add_to_cart.add_to_cart", "add_to_cart.buy_now"):
                cart = self._add(state, p.index, options)
                if leaf == "buy_now":
                    return Transition({"p": "checkout", "c": cart})
                return Transition({**state, "c": cart, "sb": 1}, effect="cart")
            if head == "add_to_cart":
                return self._same(state)
            if head == "customer_reviews":
                if leaf in ("see_all_reviews", "ratings_count", "average_stars"):
                    return self._to(state, {"p": "reviews", "i": p.index})
                if re.fullmatch(r"[1-5]_star", leaf):
                    return self._to(state, {"p": "reviews", "i": p.index, "rf": int(leaf[0])})
                return self._same(state)
            if head == "customers_also_viewed":
                item = rest.rsplit(".", 1)[0]
                if item in self._by_slug:
                    return self._to(state, {"p": "product", "i": self._by_slug[item].index})
                return self._same(state)
        # ---- reviews
        if kind == "reviews":
            i = state["i"]
            if head == "product_reviews":
                return self._to(state, {"p": "product", "i": i})
            if head == "reviews_filter" and re.fullmatch(r"[1-5]_star", leaf):
                return self._to(state, {"p": "reviews", "i": i, "rf": int(leaf[0])})
            if name == "reviews_filter.all_stars":
                return self._to(state, {"p": "reviews", "i": i})
            return self._same(state)
        # ---- cart
        if kind == "cart":
            if name == "cart.proceed_to_checkout":
                return self._to(state, {"p": "checkout"}) if state.get("c") else self._same(state)
            item = rest.rsplit(".", 1)[0]
            if item in self._by_slug:
                p = self._by_slug[item]
                if leaf == "product_title":
                    return self._to(state, {"p": "product", "i": p.index})
                if leaf in ("delete", "save_for_later"):
                    lines = [list(line) for line in state.get("c", ()) if line[0] != p.index]
                    new = {k: v for k, v in state.items() if k != "c"}
                    if lines:
                        new["c"] = lines
                    return Transition(new, effect="cart")
            return self._same(state)
        # ---- checkout
        if kind == "checkout":
            if name == "checkout_header.return_to_cart":
                return self._to(state, {"p": "cart"})
            if name == "checkout.delivery_option.one_day":
                return Transition({**state, "d": 1}, effect="navigate")
            if name == "checkout.delivery_option.standard":
                return Transition({k: v for k, v in state.items() if k != "d"}, effect="navigate")
            if name == "checkout.place_order":
                lines = [list(line) for line in state.get("c", ())]
                if not lines:
                    return Transition(dict(state), ok=False, reason="the cart is empty: nothing to order", effect="none")
                return Transition({"p": "order", "ol": lines}, done=True, outcome="purchase")
            return self._same(state)
        if kind == "order" and name == "order.continue_shopping":
            return self._to(state, {"p": "home"})
        return self._same(state)

    def _label(self, state: Mapping[str, Any], name: str) -> str:
        """The visible text of the element ``name`` on the state's page."""
        match = re.search(r' name="' + re.escape(name) + r'"[^>]*>([^<]*)<', self.page(state))
        text = match.group(1).strip() if match else ""
        from html import unescape

        return unescape(text) or name.rsplit(".", 1)[-1].replace("_", " ")


def _render_order(state: Mapping[str, Any], store: Store) -> str:
    """The order confirmation page (a store page; the demo corpus has none: its sessions end at the order)."""
    lines = state.get("ol", ())
    items = "".join(
        f"<div><span>{escape(store.products[line[0]].title)}</span><span>Qty: {int(line[3])}</span></div>"
        for line in lines
    )
    nav = render_page({"p": "home"}, store.session_key, store.goal)
    header = nav[nav.index("<body>") + 6: nav.index('<div name="hero_carousel"')]
    footer = nav[nav.index('<div name="footer"'): nav.index("</body>")]
    body = ('<div name="order" role="main"><h1>Order placed, thank you!</h1>'
            f'{items}<a name="order.continue_shopping">Continue shopping</a></div>')
    return f"<html><head></head><body>{header}{body}{footer}</body></html>"
