"""The demo store's state machine and its full pages (core install only: no browser, no server)."""

from __future__ import annotations

import re

import pytest

from shop_env.core.types import Action
from shop_env.demo import DemoCorpus
from shop_env.demo.render import action_from_spec
from shop_env.html import element_names, simplify
from shop_env.store import Store, full_page, state_key
from shop_env.store._pages import CSS_HIDDEN_SECTION

_KEYS = ("p", "q", "f", "s", "n", "i", "rf", "o")


def _shopper_walk(store: Store) -> list[tuple[dict, Action]]:
    """(state, action) pairs of a shopper: search, filter, product, option, add to cart, checkout, order."""
    walk = []
    state = store.home()

    def do(action: Action) -> dict:
        nonlocal state
        walk.append((state, action))
        t = store.step(state, action)
        assert t.ok, t.reason
        state = t.state
        return state

    do(Action.click("nav_bar.search_input"))
    do(Action.type_and_submit("nav_bar.search_input", "running shoes"))
    do(Action.click("refinements.customer_reviews.4_stars_and_above"))
    title = next(n for n in sorted(store.names(state)) if n.endswith(".product_title"))
    do(Action.click(title))
    option = next(n for n in sorted(store.names(state)) if n.startswith("product_options."))
    do(Action.click(option))
    do(Action.click("add_to_cart.add_to_cart"))
    do(Action.click("cart_side_bar.proceed_to_checkout"))
    walk.append((state, Action.click("checkout.place_order")))
    return walk


def test_a_shopper_walks_the_store_to_a_purchase():
    store = Store()
    walk = _shopper_walk(store)
    states = [s for s, _ in walk]
    assert [s["p"] for s in states] == ["home", "home", "search", "search", "product", "product", "product", "checkout"]
    assert states[2]["q"] == "running shoes" and states[3]["f"] == ["customer_reviews.4_stars_and_above"]
    assert states[6]["sb"] == 1 and states[6]["c"][0][0] == states[4]["i"] and store.cart_count(states[6]) == 1
    assert states[4]["b"] == states[3]  # back to results leads where the product was opened from
    assert store.step(states[4], Action.click("breadcrumb.back_to_results")).state == states[3]
    last = store.step(*walk[-1])
    assert last.done and last.outcome == "purchase" and last.state["p"] == "order" and last.state["ol"] == states[7]["c"]
    assert "order.continue_shopping" in store.names(last.state)
    # every results page shows product links with the products' titles, whatever the query
    for query in ("running shoes", "zzz qqq", "a"):
        page = store.page({"p": "search", "q": query})
        titles = re.findall(r'name="search_results\.[^"]+\.product_title">([^<]+)<', page)
        assert len(titles) == 12 and set(titles) <= {p.title.replace("&", "&amp;") for p in store.products}


def test_bad_actions_do_nothing_and_say_why():
    store = Store()
    state = {"p": "search", "q": "shoes"}
    for action, why in ((Action.click("no.such.element"), "no element named"),
                        (Action.type_and_submit("refinements.price.under_25", "x"), "not a text field"),
                        (Action.type_and_submit("nav_bar.search_input", "   "), "empty search")):
        t = store.step(state, action)
        assert not t.ok and why in t.reason and t.state == state and not t.done
    t = store.step(state, Action.terminate())
    assert t.done and t.outcome == "terminate" and t.state == state
    with pytest.raises(ValueError):
        store.page({"p": "nowhere"})
    assert store.step({"p": "checkout"}, Action.click("checkout.place_order")).ok is False  # empty cart


def test_states_and_urls_map_both_ways():
    store = Store()
    for state, _ in _shopper_walk(store):
        back = store.state_from_url(store.url(state), state.get("c", ()))
        assert state_key(back) == state_key(state)
    assert store.url({"p": "search", "q": "usb mic", "f": ["price.under_25"], "n": 2}) == "/s?k=usb+mic&rh=price:under_25&page=2"
    assert store.state_from_url("/nowhere") is None and store.state_from_url("/dp/B0NOTHERE") is None


def test_the_store_follows_the_demo_corpus_transitions():
    """On the corpus's own sessions, (state, gold action) -> the next recorded state, wherever the
    shopper did not go back with the browser (an unrecorded navigation, as in OPeRA's data)."""
    corpus = DemoCorpus("test", cache_size=0)
    followed = same_kind = back = total = 0
    for index in range(len(corpus)):
        spec = corpus.spec(index)
        store = Store(spec["id"], spec["goal"])
        steps = spec["steps"]
        for k in range(len(steps) - 1):
            t = store.step(steps[k]["page"], action_from_spec(steps[k]["a"], spec["id"], k))
            assert t.ok, (spec["id"], k, t.reason)
            got, want = ({key: s.get(key) for key in _KEYS} for s in (t.state, steps[k + 1]["page"]))
            total += 1
            if got["p"] == want["p"]:
                same_kind += 1
                followed += got == want
            else:  # the shopper's browser back: a page it saw before, results, home, or its reviews' product
                earlier = [{key: s["page"].get(key) for key in _KEYS} for s in steps[: k + 1]]
                back += (want in earlier or want["p"] in ("home", "search")
                         or (want["p"] == "product" and want["i"] == got["i"]))
    assert total > 1500
    assert followed >= same_kind - 2  # the one difference: closing the side bar keeps the chosen options here
    assert back == total - same_kind


def test_full_pages_simplify_to_the_demo_names():
    store = Store()
    corpus = DemoCorpus("test", cache_size=0)
    cases = [(store, s) for s, _ in _shopper_walk(store)]
    spec = corpus.spec(0)
    other = Store(spec["id"], spec["goal"])
    cases += [(other, st["page"]) for st in spec["steps"]]
    cases.append((store, store.step(*_shopper_walk(store)[-1]).state))
    for shop, state in cases:
        page = full_page(shop, state)
        raw_names = set(element_names(simplify(page)))
        css_hidden = {n for n in raw_names if n.split(".")[0] == CSS_HIDDEN_SECTION}
        assert css_hidden  # a raw page cannot know what its stylesheet hides; a browser capture does
        assert raw_names - css_hidden == set(shop.names(state)), state
        # a real page: stylesheet, script, wrappers, hidden elements, working links; nothing external
        assert '<link rel="stylesheet" href="/static/store.css">' in page and "/static/store.js" in page
        assert 'hidden="hidden"' in page and "display:none" in page
        assert not re.search(r'(?:href|src|action)="(?:https?:)?//', page)
        first_input = re.search(r"<input[^>]*>", page).group(0)
        assert 'data-shop-name="nav_bar.search_input"' in first_input or state["p"] == "checkout"
    results = full_page(store, {"p": "search", "q": "shoes"})
    assert '<form role="search" action="/s" method="get">' in results
    assert re.search(r'<a [^>]*data-shop-name="search_results\.[^"]+\.product_title" href="/dp/B0', results)
    assert re.search(r'<img alt="[^"]+" src="/img/[a-z0-9_]+\.svg"', results)
    product = full_page(store, {"p": "product", "i": 0})
    assert re.search(r'<form method="post" action="/do" class="inline-form"><input type="hidden" name="a" '
                     r'value="add_to_cart.add_to_cart">', product)


def test_the_env_observation_option_is_checked():
    from shop_env.env import ShopSessionEnv

    with pytest.raises(ValueError, match="observation must be one of"):
        ShopSessionEnv(observation="pixels")
    assert isinstance(ShopSessionEnv(split="test").reset(seed=0)[0], str)  # the default stays text
