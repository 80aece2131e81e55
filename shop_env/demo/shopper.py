"""The scripted shopper that generates the demo corpus's session specs.

A session spec is the compact, JSON-able record of one generated session: the goal (a real
WebShop instruction), the user, and for each step the page *state* the shopper saw, the action,
its OPeRA click type, a first-person rationale from the script and the seconds it took. Pages
are not stored: :mod:`shop_env.demo.site` renders them from the states on demand.

The shopper's choices depend on its goal (which products match, which size or colour it
needs), its persona's traits (reads reviews, buys the first good-enough thing, hunts for
value, follows suggestions) and chance, so the next action is predictable from context, but
not trivially. Browser back navigations are not actions in OPeRA's filtered data, so going
back to the results shows up only as the next step's page.
"""

from __future__ import annotations

import random
import re
from collections.abc import Mapping, Sequence
from typing import Any

from .personas import Traits
from .site import (
    PRICE_BUCKETS,
    catalogue,
    page_count,
    refinement_values,
    related_terms,
    results_page,
    results_section,
)
from .text import (
    COLORS,
    GoalInfo,
    content_words,
    derive_query,
    normalise_goal,
    parse_goal,
    reformulate_query,
    slug,
)

__all__ = ["GENERATOR_ID", "simulate_session"]

GENERATOR_ID = "shop_r1_gym.demo v1"

_SEARCH_INPUT = "nav_bar.search_input"


_PHRASE_END = re.compile(r"\b(?:with|that|in|for|which|and|under|size|color)\b|[,;]|\.\s")


def _head_noun(goal: str, info: GoalInfo) -> str:
    """The thing asked for, as people say it in a rationale ("plaid shirt" from "... plaid shirt with ...")."""
    words: list[str] = []
    for chunk in _PHRASE_END.split(normalise_goal(goal)):
        words = [w for w in content_words(chunk) if w not in COLORS and w != info.size and not w.isdigit()]
        if words:
            break
    if not words:
        words = [w for w in info.words if w not in COLORS and w != info.size and not w.isdigit()]
    return " ".join(words[-2:]) or "item"


class _Script:
    """One shopper's run through the store; ``run()`` returns the list of step records."""

    def __init__(self, session_id: str, goal: str, queries: Sequence[str], traits: Traits, rng: random.Random):
        self.sid, self.goal, self.traits, self.rng = session_id, goal, traits, rng
        self.info = parse_goal(goal)
        self.queries = list(queries)
        self.products = catalogue(session_id, goal)
        self.steps: list[dict[str, Any]] = []
        self.cart: list[list[Any]] = []
        self.viewed: set[int] = set()
        self.reviewed: set[int] = set()
        self.searches = 0
        self.last_results: dict[str, Any] | None = None
        t = traits
        # Session budget in steps: fun-loving and indecisive shoppers browse longer.
        self.budget = 4 + int(rng.gammavariate(2.2, 3.4 * (0.75 + 0.4 * t.fun + 0.3 * t.indecisive)))
        self.intent = rng.random() < 0.45 - 0.25 * t.fun - 0.15 * t.indecisive + 0.2 * t.quick
        self.noun = _head_noun(goal, self.info)
        self.outcome = "terminate"

    # ------------------------------------------------------------------ recording
    def record(self, page: Mapping[str, Any], action: list[Any], click_type: str | None, rationale: str) -> None:
        state = dict(page)
        if self.cart:
            state["c"] = [list(line) for line in self.cart]
        dt = int(3 + self.rng.expovariate(1 / 14))
        self.steps.append({"page": state, "a": action, "ct": click_type, "r": rationale, "dt": dt})

    def say(self, *options: str) -> str:
        return self.rng.choice(options)

    def over_budget(self) -> bool:
        return len(self.steps) >= self.budget

    # ------------------------------------------------------------------ pages
    def next_query(self, current: str | None) -> tuple[str, str]:
        """The next query to type: the human's own queries first, then reformulations."""
        if self.searches < len(self.queries):
            q = self.queries[self.searches]
            return q, "human"
        base = current or derive_query(self.goal, self.rng)
        return reformulate_query(base, self.goal, self.rng), "reformulated"

    def search(self, page: Mapping[str, Any], current: str | None) -> dict[str, Any]:
        """Optionally click the search box, then type a query; returns the results page state."""
        if self.rng.random() < 0.25 + 0.5 * self.traits.box_click:
            self.record(page, ["click", _SEARCH_INPUT], "search",
                        self.say("I click the search bar so I can look for what I need.",
                                 "I want to search, so I click into the search box.",
                                 f"I click the search box to start looking for {self.noun}."))
        query, _kind = self.next_query(current)
        if self.searches == 0:
            why = self.say(f"I search for {query} because that is what I came here to buy.",
                           f"I type {query} to find the {self.noun} I need.",
                           f"I'm looking for {self.noun}, so I search for it directly.")
        else:
            why = self.say(f"The results were not quite right, so I try {query} instead.",
                           "I rephrase my search to get closer to what I want.",
                           "I change my search words to see different products.")
        self.record(page, ["type_and_submit", _SEARCH_INPUT, query], None, why)
        self.searches += 1
        return {"p": "search", "q": query}

    def pick_product(self, state: Mapping[str, Any]) -> int | None:
        shown = [p for p in results_page(self.sid, self.goal, state) if p.index not in self.viewed]
        if not shown:
            return None
        r = self.rng.random()
        if r < 0.3 + 0.4 * self.traits.quick:
            return shown[0].index
        if r < 0.85:
            best = max(shown[:8], key=lambda p: (p.relevance, -shown.index(p)))
            return best.index
        return self.rng.choice(shown[:6]).index

    def refinement(self, state: Mapping[str, Any]) -> tuple[str, str, str] | None:
        """A filter or sort this shopper would apply now: (name, state change, rationale)."""
        active = set(state.get("f", ()))
        options = []
        if self.info.color and f"color.{self.info.color}" not in active and self.rng.random() < 0.6:
            if self.info.color in refinement_values(self.sid, self.goal, state["q"])[1]:
                options.append((f"refinements.color.{self.info.color}", f"f+color.{self.info.color}",
                                f"I only want {self.info.color}, so I filter by that color."))
        if self.traits.value > 0.5 and not state.get("s"):
            options.append(("sort_by.price_low_to_high", "s=price_low_to_high",
                            "I want to see the cheapest options first."))
        if self.info.max_price:
            key = next(k for k, _l, lo, hi in PRICE_BUCKETS if lo <= self.info.max_price * 100 < hi)
            if f"price.{key}" not in active:
                options.append((f"refinements.price.{key}", f"f+price.{key}", "I filter by price to stay within my budget."))
        if "customer_reviews.4_stars_and_above" not in active and self.traits.research > 0.4:
            options.append(("refinements.customer_reviews.4_stars_and_above", "f+customer_reviews.4_stars_and_above",
                            "I only want well-rated products, so I filter to 4 stars and up."))
        if not options:
            return None
        return options[0] if self.rng.random() < 0.7 else self.rng.choice(options)

    def on_results(self, state: dict[str, Any]) -> dict[str, Any] | None:
        t, rng = self.traits, self.rng
        if self.over_budget():
            return self.leave(state)
        fresh = not any(s["page"].get("q") == state["q"] for s in self.steps[:-1] if s["page"]["p"] == "search")
        if fresh and not state.get("f") and rng.random() < 0.15 + 0.45 * t.filters:
            ref = self.refinement(state)
            if ref:
                name, change, why = ref
                self.record(state, ["click", name], "filter", why)
                new = dict(state)
                new.pop("n", None)
                if change.startswith("f+"):
                    new["f"] = list(state.get("f", ())) + [change[2:]]
                else:
                    new["s"] = change[2:]
                return new
        seen_here = sum(1 for i in self.viewed if i in {p.index for p in results_page(self.sid, self.goal, state)})
        if seen_here >= 2 and rng.random() < 0.2:
            if rng.random() < 0.25 + 0.5 * t.ads:
                terms = related_terms(self.sid, self.goal, state["q"])
                if terms:
                    term = terms[0] if rng.random() < 0.6 else rng.choice(terms)
                    self.record(state, ["click", f"related_searches.{slug(term)}"], "suggested_term",
                                f"The suggested search {term} looks closer to what I want.")
                    self.searches += 1
                    return {"p": "search", "q": term}
            return self.search(state, state["q"])
        more_pages = state.get("n", 1) < min(3, page_count(self.sid, self.goal, state))
        if seen_here >= 3 and more_pages and rng.random() < 0.5:
            self.record(state, ["click", "pagination.next"], "page_related",
                        self.say("Nothing here fits, so I go to the next page of results.",
                                 "I want to see more options on the next page."))
            return {**state, "n": state.get("n", 1) + 1}
        index = self.pick_product(state)
        if index is None:
            if more_pages and rng.random() < 0.5:
                self.record(state, ["click", "pagination.next"], "page_related", "I have seen everything here, so I check the next page.")
                return {**state, "n": state.get("n", 1) + 1}
            return self.search(state, state["q"])
        p = self.products[index]
        section = results_section(state)
        part = "product_image" if rng.random() < 0.12 else "product_title"
        if rng.random() < 0.06 * (1 + t.research):
            part = "ratings_count"
        self.record(state, ["click", f"{section}.{p.slug}.{part}"], "review" if part == "ratings_count" else "product_link",
                    self.say(f"This {self.noun} looks like it could be what I need, so I open it.",
                             f"I want to take a closer look at the {p.brand} one.",
                             f"The {p.brand} listing seems to match what I want, so I click it.",
                             "This one has good ratings and a fair price, so I check it out."))
        self.viewed.add(index)
        self.last_results = state
        if part == "ratings_count":
            self.reviewed.add(index)
            return {"p": "reviews", "i": index}
        return {"p": "product", "i": index}

    def good_fit(self, index: int) -> bool:
        p = self.products[index]
        ok_price = self.info.max_price is None or p.price_cents <= self.info.max_price * 100
        return p.relevance >= 0.75 and ok_price and p.rating10 >= 36

    def on_product(self, state: dict[str, Any]) -> dict[str, Any] | None:
        t, rng = self.traits, self.rng
        i = state["i"]
        p = self.products[i]
        if state.get("sb"):
            return self.on_side_bar(state)
        if self.over_budget() and not (self.intent and self.good_fit(i)):
            return self.leave(state)
        want = self.intent and self.good_fit(i) and len(self.viewed) >= 1 + round(2 * t.indecisive * rng.random())
        if want or rng.random() < 0.08:
            if i not in self.reviewed and rng.random() < 0.15 + 0.6 * t.research:
                self.reviewed.add(i)
                name = rng.choice(("customer_reviews.see_all_reviews", "customer_reviews.see_all_reviews",
                                   "customer_reviews.ratings_count", "customer_reviews.1_star"))
                self.record(state, ["click", name], "review",
                            self.say("I want to read what other buyers say before I decide.",
                                     "I check the reviews to make sure it is good quality.",
                                     "I want to see the negative reviews first."))
                return {"p": "reviews", "i": i, **({"rf": 1} if name.endswith("1_star") else {})}
            chosen = dict(state.get("o", {}))
            if self.info.color and self.info.color in p.colors and chosen.get("color", p.colors[0]) != self.info.color:
                self.record(state, ["click", f"product_options.color.{slug(self.info.color)}"], "product_option",
                            f"I want it in {self.info.color}, so I select that color.")
                return {**state, "o": {**chosen, "color": self.info.color}}
            if p.sizes and "size" not in chosen:
                size = self.info.size if self.info.size in p.sizes else rng.choice(p.sizes)
                self.record(state, ["click", f"product_options.size.{slug(size)}"], "product_option",
                            f"I pick size {size} because that is the one I need.")
                return {**state, "o": {**chosen, "size": size}}
            if not want:  # a browser adding something it will likely abandon
                self.add_line(i, chosen)
                self.record(state, ["click", "add_to_cart.add_to_cart"], "purchase",
                            "I add it to my cart to think about it later.")
                return {**state, "sb": 1}
            if rng.random() < 0.15 + 0.5 * t.delivery:
                self.record(state, ["click", "add_to_cart.buy_now"], "purchase",
                            self.say("This is exactly what I want, so I buy it now.",
                                     "I'm convinced, so I click Buy Now to check out quickly."))
                self.add_line(i, chosen)
                return {"p": "checkout"}
            self.add_line(i, chosen)
            self.record(state, ["click", "add_to_cart.add_to_cart"], "purchase",
                        self.say("This one fits what I need, so I add it to my cart.",
                                 f"The {p.brand} {self.noun} meets my needs, so I add it to the cart."))
            return {**state, "sb": 1}
        r = rng.random()
        if r < 0.1 + 0.15 * t.fun:
            q = self.products[(i + rng.choice((1, 3, 6, 10))) % len(self.products)]
            if q.index not in self.viewed:
                self.record(state, ["click", f"customers_also_viewed.{q.slug}.product_title"], "product_link",
                            "A similar product below catches my eye, so I look at it.")
                self.viewed.add(q.index)
                return {"p": "product", "i": q.index}
        if r < 0.22 and i not in self.reviewed:
            self.reviewed.add(i)
            self.record(state, ["click", "customer_reviews.see_all_reviews"], "review",
                        "I'm not sure about this one, so I read the reviews.")
            return {"p": "reviews", "i": i}
        if r < 0.3:
            self.record(state, ["click", "breadcrumb.back_to_results"], "other",
                        "This is not what I want, so I go back to the results.")
        # otherwise the browser's back button: not an action in OPeRA's filtered data
        return dict(self.last_results) if self.last_results else {"p": "home"}

    def on_reviews(self, state: dict[str, Any]) -> dict[str, Any] | None:
        rng = self.rng
        i = state["i"]
        if not state.get("rf") and rng.random() < 0.25:
            star = rng.choice((1, 1, 2, 5))
            self.record(state, ["click", f"reviews_filter.{star}_star"], "review",
                        f"I filter to the {star}-star reviews to see what people say.")
            return {**state, "rf": star}
        if rng.random() < 0.5:
            self.record(state, ["click", f"product_reviews.{self.products[i].slug}.product_title"], "product_link",
                        "I have read enough reviews, so I go back to the product.")
        return {"p": "product", "i": i}

    def on_side_bar(self, state: dict[str, Any]) -> dict[str, Any] | None:
        rng = self.rng
        buying = self.intent and self.good_fit(state["i"])
        if buying:
            if rng.random() < 0.55:
                self.record(state, ["click", "cart_side_bar.proceed_to_checkout"], "cart_side_bar",
                            "I'm ready to pay, so I proceed to checkout.")
                return {"p": "checkout"}
            self.record(state, ["click", "cart_side_bar.go_to_cart"], "cart_side_bar",
                        "I want to review my cart before paying.")
            return {"p": "cart"}
        if rng.random() < 0.5:
            self.record(state, ["click", "cart_side_bar.close"], "cart_side_bar", "I close this and keep looking.")
            return {"p": "product", "i": state["i"]}
        return self.leave(state)

    def on_cart(self, state: dict[str, Any]) -> dict[str, Any] | None:
        rng = self.rng
        if self.cart and rng.random() < 0.2:
            line = self.cart[0]
            base = f"cart.{self.products[line[0]].slug}"
            if rng.random() < 0.5:
                self.record(state, ["click", f"{base}.quantity"], "quantity", "I check the quantity before checking out.")
            else:
                self.record(state, ["click", f"{base}.select"], "cart_page_select", "I make sure this item is selected.")
            return dict(state)
        self.record(state, ["click", "cart.proceed_to_checkout"], "purchase", "Everything looks right, so I proceed to checkout.")
        return {"p": "checkout"}

    def on_checkout(self, state: dict[str, Any]) -> dict[str, Any] | None:
        rng = self.rng
        if rng.random() < 0.06:
            return self.leave(state, "The total is more than I expected, so I leave without ordering.")
        if not state.get("d") and rng.random() < 0.3 * self.traits.delivery:
            self.record(state, ["click", "checkout.delivery_option.one_day"], "other", "I want it quickly, so I choose one-day delivery.")
            return {**state, "d": 1}
        self.record(state, ["click", "checkout.place_order"], "purchase",
                    self.say("I place the order now.", "Everything is set, so I place my order."))
        self.outcome = "purchase"
        return None

    def leave(self, state: Mapping[str, Any], why: str | None = None) -> None:
        self.record(state, ["terminate"], None, why or self.say(
            f"I couldn't find the {self.noun} I wanted, so I'm leaving.",
            "None of these are right for me, so I close the window.",
            "I've spent enough time and nothing fits, so I stop here.",
            "I'll come back to this later."))
        return None

    def start_state(self) -> dict[str, Any]:
        """Where the recording starts: usually the home page; sometimes the shopper had already
        searched (a results page) or followed a link to a product."""
        r = self.rng.random()
        if r < 0.62:
            return {"p": "home"}
        query = self.queries[0]
        self.searches = 1
        self.last_results = {"p": "search", "q": query}
        if r < 0.86:
            return dict(self.last_results)
        shown = results_page(self.sid, self.goal, self.last_results)
        index = shown[min(len(shown) - 1, self.rng.randrange(3))].index
        self.viewed.add(index)
        return {"p": "product", "i": index}

    def run(self) -> list[dict[str, Any]]:
        state: dict[str, Any] | None = self.start_state()
        handlers = {"search": self.on_results, "product": self.on_product, "reviews": self.on_reviews,
                    "cart": self.on_cart, "checkout": self.on_checkout}
        while state is not None:
            if len(self.steps) > 3 * self.budget + 10:
                self.leave(state)
                break
            if state["p"] == "home":
                state = self.search(state, None)
            else:
                state = handlers[state["p"]](state)
        return self.steps

    def add_line(self, index: int, options: Mapping[str, str]) -> None:
        p = self.products[index]
        color = options.get("color", p.colors[0] if p.colors else None)
        for line in self.cart:
            if line[0] == index:
                line[3] += 1
                return
        self.cart.append([index, color, options.get("size"), 1])


def simulate_session(
    session_id: str, goal: str, human_queries: Sequence[str], traits: Traits, seed: int
) -> tuple[list[dict[str, Any]], str]:
    """Run the scripted shopper for one session.

    Args:
        session_id: the session id (also seeds the catalogue).
        goal: the WebShop instruction the shopper pursues.
        human_queries: real queries people typed for this goal (may be empty).
        traits: the persona's shopping traits.
        seed: corpus seed.

    Returns:
        ``(steps, outcome)``: step records for a session spec, and ``"purchase"`` or ``"terminate"``.
    """
    rng = random.Random(f"{seed}\x1f{session_id}\x1fshopper")
    queries = list(human_queries)
    if not queries:
        queries = [derive_query(normalise_goal(goal), rng)]
    script = _Script(session_id, goal, queries, traits, rng)
    steps = script.run()
    return steps, script.outcome
