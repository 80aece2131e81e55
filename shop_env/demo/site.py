"""The generated demo store: a per-session synthetic catalogue and OPeRA-dialect page rendering.

There is no product catalogue to ship, so each session gets its own small catalogue synthesised
from its goal (titles from the goal's words plus brand and attribute vocabulary, prices, ratings,
options, reviews). Everything here is a pure function of ``(session_key, goal, page state)``:
the same state always renders the same page, which is what lets the bundled corpus store only
compact page states and render pages on demand.

A page state is a small dict (the ``"page"`` field of a step in a session spec):

- ``p``: page kind, one of :data:`PAGE_KINDS`;
- ``q``: the search query (results pages); ``f``: active refinements (``"group.value"``);
  ``s``: sort key; ``n``: results or reviews page number (default 1);
- ``i``: catalogue index of the product (product and reviews pages); ``o``: selected options
  (``{"color": ..., "size": ...}``); ``sb``: 1 when the add-to-cart side bar is open;
  ``rf``: star filter on the reviews page;
- ``c``: cart lines ``[[index, color, size, quantity], ...]`` (any page).
"""

from __future__ import annotations

import hashlib
import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from html import escape
from typing import Any

from .text import COLORS, parse_goal, slug, tokens

__all__ = [
    "PAGE_KINDS",
    "PRICE_BUCKETS",
    "Product",
    "SORT_KEYS",
    "catalogue",
    "page_meta",
    "page_count",
    "page_url",
    "refinement_values",
    "related_terms",
    "render_page",
    "results_page",
    "results_section",
    "search_results",
]

PAGE_KINDS: tuple[str, ...] = ("home", "search", "product", "reviews", "cart", "checkout")
PRICE_BUCKETS: tuple[tuple[str, str, int, int], ...] = (
    ("under_25", "Under $25", 0, 2500),
    ("25_to_50", "$25 to $50", 2500, 5000),
    ("50_to_100", "$50 to $100", 5000, 10000),
    ("100_and_above", "$100 & above", 10000, 10**9),
)
SORT_KEYS: tuple[tuple[str, str], ...] = (
    ("featured", "Featured"),
    ("price_low_to_high", "Price: Low to High"),
    ("price_high_to_low", "Price: High to Low"),
    ("avg_customer_review", "Avg. Customer Review"),
    ("newest_arrivals", "Newest Arrivals"),
)
RESULTS_PER_PAGE = 12
CATALOGUE_SIZE = 40

_BRANDS = (
    "Aurelle", "Brightway", "Cozyhome", "Dynatek", "Evergrove", "Fernwood", "Glimmora", "Harborpine",
    "Ironleaf", "Juniper Lane", "Kestrel", "Lumora", "Mistralo", "Northpeak", "Oakridge Co",
    "Pinnaclo", "Quillon", "Riverstone", "Solace", "Tidewell", "Umbriel", "Verano", "Willowby",
    "Xentra", "Yardley Bay", "Zephyro", "Amberlyn", "Bluecrest", "Cedarline", "Driftwood & Co",
)
_ATTRIBUTES = (
    "Premium", "Upgraded", "Lightweight", "Durable", "Portable", "Value Pack", "Eco-Friendly",
    "Heavy Duty", "Compact", "Easy to Clean", "Non-Slip", "Waterproof", "Adjustable", "Soft",
    "Classic", "Professional", "Original", "2024 Version", "Long Lasting", "Travel Size",
)
_FILLER_WORDS = ("set", "kit", "holder", "accessory", "bundle", "case", "cover", "organizer", "refill", "pack")
_CLOTHING_SIZES = ("x-small", "small", "medium", "large", "x-large", "xx-large")
_SHOE_SIZES = ("6", "6.5", "7", "7.5", "8", "8.5", "9", "9.5", "10", "10.5", "11", "12")
_GENERIC_HOME = (
    "Wireless Earbuds with Charging Case", "Stainless Steel Water Bottle 32 oz", "LED Desk Lamp with USB Port",
    "Memory Foam Bed Pillow Queen", "Electric Kettle 1.7 Liter", "Yoga Mat Non Slip 6mm",
    "Ceramic Coffee Mug Set of 4", "Bluetooth Portable Speaker", "Cotton Bath Towels 6 Piece",
    "Phone Stand for Desk", "Vitamin C Serum for Face", "Kids Building Blocks 500 Pieces",
    "Air Fryer 5 Quart", "Running Shoes for Men", "Throw Blanket Fleece", "Scented Soy Candle",
    "Notebook Journal Hardcover", "Resistance Bands Set", "Dog Chew Toys 3 Pack", "Smart Plug 4 Pack",
)
_CATEGORIES = ("Electronics", "Home & Kitchen", "Fashion", "Beauty", "Grocery", "Sports & Outdoors",
               "Toys & Games", "Pet Supplies", "Health & Household", "Automotive")
_REVIEWERS = ("Sam", "Alex R.", "Jordan", "Priya", "Chris M.", "Taylor", "Morgan", "Lee", "Dana K.",
              "Jamie", "Robin", "Casey", "Avery", "Quinn", "Riley S.", "Pat")
_REVIEW_GOOD = (("Exactly as described", "Does what it says and the quality is better than I expected."),
                ("Great value", "Good price for what you get, would buy again."),
                ("Love it", "Arrived quickly and looks great. Very happy with this purchase."),
                ("Works well", "Have been using it for a few weeks now with no problems."))
_REVIEW_BAD = (("Not what I expected", "The size was off and it feels cheaply made."),
               ("Stopped working", "Worked for a week and then quit. Returning it."),
               ("Okay for the price", "It is fine but the color is different from the pictures."))


def _rng(*parts: Any) -> random.Random:
    """A generator seeded by a stable string (``random.Random`` hashes ``str`` seeds with SHA-512)."""
    return random.Random("\x1f".join(str(p) for p in parts))


@dataclass(frozen=True)
class Product:
    """One synthetic product of a session's catalogue."""

    index: int
    asin: str
    title: str
    slug: str
    brand: str
    price_cents: int
    rating10: int
    ratings_count: int
    colors: tuple[str, ...]
    sizes: tuple[str, ...]
    relevance: float
    bullets: tuple[str, ...]

    @property
    def price(self) -> str:
        return f"${self.price_cents // 100}.{self.price_cents % 100:02d}"

    @property
    def rating(self) -> str:
        return f"{self.rating10 / 10:.1f}"


def _asin(session_key: str, index: int) -> str:
    digest = hashlib.sha1(f"{session_key}:{index}".encode()).hexdigest().upper()
    return "B0" + digest[:8]


def _size_pool(goal_size: str | None) -> tuple[str, ...]:
    if goal_size and any(c.isdigit() for c in goal_size):
        return _SHOE_SIZES
    return _CLOTHING_SIZES


@lru_cache(maxsize=16)
def catalogue(session_key: str, goal: str) -> tuple[Product, ...]:
    """The session's synthetic catalogue: a few close matches to the goal, then weaker ones.

    Args:
        session_key: the session id (seeds everything).
        goal: the shopper's instruction; titles are built from its content words.
    """
    info = parse_goal(goal)
    rng = _rng(session_key, "catalogue")
    words = [w for w in info.words if w not in (info.color, info.size, "size", "color", "pack")] or ["gift"]
    base_price = rng.choice((900, 1500, 2400, 3500, 5500, 8000, 14000))
    size_pool = _size_pool(info.size)
    products: list[Product] = []
    seen_slugs: set[str] = set()
    for index in range(CATALOGUE_SIZE):
        tier = 0 if index < 4 else 1 if index < 16 else 2
        keep = (1.0, 0.6, 0.3)[tier]
        chosen = [w for w in words if rng.random() < keep] or [words[-1]]
        if tier == 2:
            chosen.append(rng.choice(_FILLER_WORDS))
        brand = rng.choice(_BRANDS)
        attr = rng.choice(_ATTRIBUTES)
        color = info.color if (info.color and tier == 0) else rng.choice(COLORS[:16])
        title_words = " ".join(w if w.isdigit() else w.capitalize() for w in chosen)
        title = f"{brand} {title_words} {attr}, {color.capitalize()}"
        if info.pack and tier == 0:
            title += f", Pack of {info.pack}"
        pslug = slug(title)
        if pslug in seen_slugs:  # same words and brand: tell them apart by a model number
            title = f"{title} (Model {chr(65 + index % 26)}{index})"
            pslug = f"{slug(title, max_len=48)}_model_{index}"
        seen_slugs.add(pslug)
        colors: tuple[str, ...] = ()
        if rng.random() < 0.55 or (info.color and tier == 0):
            pool = [c for c in COLORS[:16] if c != color]
            colors = tuple([color] + rng.sample(pool, rng.randint(1, 4)))
        sizes: tuple[str, ...] = ()
        if info.size or rng.random() < 0.25:
            k = rng.randint(3, len(size_pool))
            start = rng.randint(0, len(size_pool) - k)
            sizes = size_pool[start:start + k]
            if info.size and tier == 0 and info.size not in sizes:
                sizes = tuple(sorted(set(sizes) | {info.size}, key=lambda s: (len(s), s)))
        goal_set = set(words)
        relevance = len(goal_set & set(tokens(title))) / len(goal_set)
        rating10 = min(50, max(25, round(rng.gauss(42, 4))))
        price = max(299, round(base_price * rng.uniform(0.45, 2.2) / 10) * 10 - 1)
        bullets = (
            f"{attr.upper()}: {title_words} designed for everyday use",
            f"WHAT YOU GET: 1 x {title_words.lower()}" + (f" in {color}" if color else ""),
            f"QUALITY: made by {brand} with a 30-day return policy",
            "EASY CARE: wipe clean or follow the instructions on the label",
        )
        products.append(Product(
            index=index, asin=_asin(session_key, index), title=title, slug=pslug, brand=brand,
            price_cents=price, rating10=rating10, ratings_count=int(rng.paretovariate(1.2) * 40),
            colors=colors, sizes=tuple(sizes), relevance=relevance, bullets=bullets,
        ))
    return tuple(products)


def _refinement_ok(product: Product, refinement: str) -> bool:
    group, _, value = refinement.partition(".")
    if group == "customer_reviews":
        return product.rating10 >= 40
    if group == "price":
        for key, _label, lo, hi in PRICE_BUCKETS:
            if key == value:
                return lo <= product.price_cents < hi
        return True
    if group == "brand":
        return slug(product.brand) == value
    if group == "color":
        return value in product.colors
    return True


def search_results(
    session_key: str, goal: str, query: str, refinements: Sequence[str] = (), sort: str | None = None
) -> list[Product]:
    """All catalogue products for a query, filtered and sorted (page slicing is the caller's)."""
    products = catalogue(session_key, goal)
    qwords = set(tokens(query))
    rng = _rng(session_key, "rank", query)
    noise = [rng.random() * 0.45 for _ in products]

    def score(p: Product) -> float:
        overlap = len(qwords & set(tokens(p.title))) / max(1, len(qwords))
        return overlap + noise[p.index]

    hits = [p for p in products if all(_refinement_ok(p, r) for r in refinements)]
    hits.sort(key=lambda p: (-score(p), p.index))
    if sort == "price_low_to_high":
        hits.sort(key=lambda p: p.price_cents)
    elif sort == "price_high_to_low":
        hits.sort(key=lambda p: -p.price_cents)
    elif sort == "avg_customer_review":
        hits.sort(key=lambda p: -p.rating10)
    elif sort == "newest_arrivals":
        hits.sort(key=lambda p: _asin(session_key, p.index))
    return hits


def results_page(session_key: str, goal: str, state: Mapping[str, Any]) -> list[Product]:
    """The products shown on one results page, in order."""
    hits = search_results(session_key, goal, state["q"], state.get("f", ()), state.get("s"))
    n = state.get("n", 1)
    return hits[(n - 1) * RESULTS_PER_PAGE: n * RESULTS_PER_PAGE]


def page_count(session_key: str, goal: str, state: Mapping[str, Any]) -> int:
    """Number of results pages for a results page state."""
    hits = search_results(session_key, goal, state["q"], state.get("f", ()), state.get("s"))
    return max(1, -(-len(hits) // RESULTS_PER_PAGE))


def refinement_values(session_key: str, goal: str, query: str) -> tuple[list[str], list[str]]:
    """The brand and colour refinements offered for a query: ``(brands, colors)``."""
    top = search_results(session_key, goal, query)[:24]
    brands = sorted({p.brand for p in top})[:7]
    colors = sorted({c for p in top for c in p.colors})[:8]
    return brands, colors


def results_section(state: Mapping[str, Any]) -> str:
    """The named container of result cards (OPeRA names titles ``section.product.product_title``)."""
    return "4_stars_and_above" if "customer_reviews.4_stars_and_above" in state.get("f", ()) else "search_results"


def related_terms(session_key: str, goal: str, query: str) -> list[str]:
    """Related-search suggestions shown under the results (suggested terms)."""
    rng = _rng(session_key, "related", query)
    qwords = query.split()
    pool = sorted({w for p in catalogue(session_key, goal)[:16] for w in tokens(p.title)
                   if w not in qwords and w.isalpha() and len(w) > 3})
    terms = []
    for _ in range(4):
        if not pool:
            break
        extra = pool.pop(rng.randrange(len(pool)))
        terms.append(" ".join(qwords[-3:] + [extra]))
    return terms


def page_url(state: Mapping[str, Any], session_key: str) -> str:
    """A masked-looking URL for a page state."""
    kind = state["p"]
    if kind == "search":
        url = "/s?k=" + "+".join(state["q"].split())
        if state.get("f"):
            url += "&rh=" + ",".join(r.replace(".", ":") for r in state["f"])
        if state.get("s"):
            url += "&s=" + state["s"]
        if state.get("n", 1) > 1:
            url += f"&page={state['n']}"
        return url
    if kind == "product":
        return f"/dp/{_asin(session_key, state['i'])}"
    if kind == "reviews":
        return f"/product-reviews/{_asin(session_key, state['i'])}" + (f"?filterByStar={state['rf']}" if state.get("rf") else "")
    return {"home": "/", "cart": "/cart", "checkout": "/checkout/spc"}[kind]


def page_meta(state: Mapping[str, Any], session_key: str) -> dict[str, Any]:
    """OPeRA-like page metadata: page type, search term, cart item count."""
    meta: dict[str, Any] = {
        "page_type": state["p"],
        "search_term": state.get("q", ""),
        "cart_items": sum(line[3] for line in state.get("c", ())),
    }
    if state["p"] in ("product", "reviews"):
        meta["asin"] = _asin(session_key, state["i"])
    return meta


# --------------------------------------------------------------------------------------------- rendering

def _e(text: str) -> str:
    return escape(text, quote=True)


def _nav_bar(state: Mapping[str, Any]) -> str:
    query = state.get("q", "") if state["p"] == "search" else ""
    cart_count = sum(line[3] for line in state.get("c", ()))
    return (
        '<div name="nav_bar" role="navigation" aria-label="Primary">'
        '<div name="nav_bar.homepage">Homepage</div>'
        '<div name="nav_bar.deliver_to">Deliver to Blacksburg 24060</div>'
        '<form role="search"><div name="nav_bar.search_dropdown">All</div>'
        f'<input name="nav_bar.search_input" type="text" placeholder="Search Amazon" aria-label="Search Amazon" value="{_e(query)}">'
        '<button name="nav_bar.search_button" type="submit">Go</button></form>'
        '<div name="nav_bar.account_and_lists">Hello, sign in Account &amp; Lists</div>'
        '<div name="nav_bar.returns_and_orders">Returns &amp; Orders</div>'
        f'<div name="nav_bar.cart">{cart_count} Cart</div>'
        '</div><div name="nav_bar_secondary" role="navigation" aria-label="Secondary">'
        '<div name="nav_bar_secondary.all">All</div><div name="nav_bar_secondary.todays_deals">Today\'s Deals</div>'
        '<div name="nav_bar_secondary.customer_service">Customer Service</div>'
        '<div name="nav_bar_secondary.registry">Registry</div><div name="nav_bar_secondary.gift_cards">Gift Cards</div>'
        '<div name="nav_bar_secondary.sell">Sell</div></div>'
    )


def _stars(p: Product) -> str:
    return f"{p.rating} out of 5 stars"


def _render_home(session_key: str, state: Mapping[str, Any]) -> str:
    rng = _rng(session_key, "home")
    deals = rng.sample(_GENERIC_HOME, 6)
    parts = [
        '<div name="hero_carousel" role="region" aria-label="Promotions">'
        '<button name="hero_carousel.previous" aria-label="Previous slide">Previous</button>'
        f'<div>Shop deals in {_e(rng.choice(_CATEGORIES))}</div>'
        '<button name="hero_carousel.next" aria-label="Next slide">Next</button></div>',
        '<div name="shop_by_category"><h2>Shop by category</h2>',
    ]
    for cat in rng.sample(_CATEGORIES, 6):
        parts.append(f'<a name="shop_by_category.{slug(cat)}">{_e(cat)}</a>')
    parts.append('</div><div name="todays_deals"><h2>Today\'s deals</h2>')
    for title in deals:
        s = slug(title)
        pct = rng.choice((10, 15, 20, 25, 30, 40))
        parts.append(
            f'<div><a name="todays_deals.{s}.product_image"><img alt="{_e(title)}"></a>'
            f'<a name="todays_deals.{s}.product_title">{_e(title)}</a><span>Up to {pct}% off</span></div>'
        )
    parts.append('<a name="todays_deals.see_all_deals">See all deals</a></div>')
    parts.append('<div name="sign_in_banner"><span>See personalized recommendations</span>'
                 '<button name="sign_in_banner.sign_in">Sign in</button><a name="sign_in_banner.start_here">New customer? Start here.</a></div>')
    return "".join(parts)


def _render_search(session_key: str, goal: str, state: Mapping[str, Any]) -> str:
    query = state["q"]
    active = set(state.get("f", ()))
    hits = search_results(session_key, goal, query, state.get("f", ()), state.get("s"))
    n = state.get("n", 1)
    shown = hits[(n - 1) * RESULTS_PER_PAGE: n * RESULTS_PER_PAGE]
    pages = max(1, -(-len(hits) // RESULTS_PER_PAGE))
    parts = [f'<div><span>{(n - 1) * RESULTS_PER_PAGE + 1}-{(n - 1) * RESULTS_PER_PAGE + len(shown)} of over '
             f'{len(hits) * 37} results for</span> <span>"{_e(query)}"</span></div>']
    sort = state.get("s") or "featured"
    parts.append('<div name="sort_by" role="listbox" aria-label="Sort by">')
    for key, label in SORT_KEYS:
        sel = ' selected="selected"' if key == sort else ""
        parts.append(f'<div name="sort_by.{key}" role="option"{sel}>{_e(label)}</div>')
    parts.append('</div><div name="refinements" role="complementary" aria-label="Filters">')
    if active:
        parts.append('<a name="refinements.clear_all">Clear all filters</a>')
    checked = ' checked="checked"' if "customer_reviews.4_stars_and_above" in active else ""
    parts.append('<div name="refinements.customer_reviews"><span>Customer Reviews</span>'
                 f'<a name="refinements.customer_reviews.4_stars_and_above" role="checkbox"{checked}>4 Stars &amp; Up</a></div>')
    parts.append('<div name="refinements.price"><span>Price</span>')
    for key, label, _lo, _hi in PRICE_BUCKETS:
        c = ' checked="checked"' if f"price.{key}" in active else ""
        parts.append(f'<a name="refinements.price.{key}" role="checkbox"{c}>{_e(label)}</a>')
    parts.append('</div><div name="refinements.brand"><span>Brands</span>')
    brands, colors = refinement_values(session_key, goal, query)
    for b in brands:
        c = ' checked="checked"' if f"brand.{slug(b)}" in active else ""
        parts.append(f'<a name="refinements.brand.{slug(b)}" role="checkbox"{c}>{_e(b)}</a>')
    parts.append('</div><div name="refinements.color"><span>Color</span>')
    for col in colors:
        c = ' checked="checked"' if f"color.{col}" in active else ""
        parts.append(f'<a name="refinements.color.{col}" role="checkbox" title="{col.capitalize()}"{c}>{col.capitalize()}</a>')
    parts.append('</div></div>')
    section = results_section(state)
    parts.append(f'<div name="{section}" role="list" aria-label="Results">')
    if not shown:
        parts.append("<span>No results. Try checking your spelling or use more general terms.</span>")
    for p in shown:
        base = f"{section}.{p.slug}"
        opts = f'<span>+{len(p.colors) - 1} other colors</span>' if len(p.colors) > 1 else ""
        parts.append(
            f'<div role="listitem"><a name="{base}.product_image"><img alt="{_e(p.title)}"></a>'
            f'<a name="{base}.product_title">{_e(p.title)}</a>'
            f'<span>{_stars(p)}</span><a name="{base}.ratings_count">{p.ratings_count:,}</a>'
            f'<span>{p.price}</span>{opts}<span>FREE delivery</span>'
            f'<button name="{base}.add_to_cart">Add to cart</button></div>'
        )
    parts.append("</div>")
    if shown:
        parts.append('<div name="pagination" role="navigation" aria-label="Pagination">')
        if n > 1:
            parts.append('<a name="pagination.previous">Previous</a>')
        for k in range(1, min(pages, 4) + 1):
            cur = ' aria-label="Current page"' if k == n else ""
            parts.append(f'<a name="pagination.{k}"{cur}>{k}</a>')
        if n < pages:
            parts.append('<a name="pagination.next">Next</a>')
        parts.append("</div>")
    terms = related_terms(session_key, goal, query)
    if terms:
        parts.append('<div name="related_searches"><h2>Related searches</h2>')
        for t in terms:
            parts.append(f'<a name="related_searches.{slug(t)}">{_e(t)}</a>')
        parts.append("</div>")
    return "".join(parts)


def _review_items(session_key: str, p: Product, count: int, star: int | None = None) -> list[tuple[int, str, str, str]]:
    rng = _rng(session_key, "reviews", p.index, star)
    out = []
    for _ in range(count):
        stars = star if star else (rng.choice((5, 5, 5, 4, 4, 3)) if p.rating10 >= 40 else rng.choice((5, 4, 3, 2, 1)))
        head, body = rng.choice(_REVIEW_GOOD if stars >= 4 else _REVIEW_BAD)
        out.append((stars, rng.choice(_REVIEWERS), head, body))
    return out


def _render_product(session_key: str, goal: str, state: Mapping[str, Any]) -> str:
    products = catalogue(session_key, goal)
    p = products[state["i"]]
    chosen = state.get("o", {})
    parts = []
    if state.get("sb"):
        lines = state.get("c", ())
        count = sum(line[3] for line in lines)
        subtotal = sum(products[line[0]].price_cents * line[3] for line in lines)
        parts.append(
            '<div name="cart_side_bar" role="dialog" aria-label="Added to cart"><span>Added to Cart</span>'
            f'<span>Cart subtotal: ${subtotal // 100}.{subtotal % 100:02d}</span>'
            f'<button name="cart_side_bar.proceed_to_checkout">Proceed to checkout ({count} item{"s" if count != 1 else ""})</button>'
            '<button name="cart_side_bar.go_to_cart">Go to Cart</button>'
            '<button name="cart_side_bar.close" aria-label="Close">Close</button></div>'
        )
    parts.append('<div name="breadcrumb"><a name="breadcrumb.back_to_results">Back to results</a></div>')
    parts.append(f'<div><span id="productTitle">{_e(p.title)}</span>'
                 f'<a name="byline.visit_the_store">Visit the {_e(p.brand)} Store</a>'
                 f'<a name="customer_reviews.average_stars" title="{_stars(p)}">{p.rating}</a>'
                 f'<a name="customer_reviews.ratings_count">{p.ratings_count:,} ratings</a>'
                 f'<span>{p.price}</span><span>FREE Returns</span></div>')
    if p.colors or p.sizes:
        parts.append('<div name="product_options">')
        if p.colors:
            cur = chosen.get("color", p.colors[0])
            parts.append(f'<span>Color: {cur.capitalize()}</span>')
            for col in p.colors:
                sel = ' aria-label="Selected"' if col == cur else ""
                parts.append(f'<button name="product_options.color.{slug(col)}" title="{col.capitalize()}"{sel}>{col.capitalize()}</button>')
        if p.sizes:
            cur = chosen.get("size")
            parts.append(f'<span>Size: {_e(cur) if cur else "Select"}</span>')
            for sz in p.sizes:
                sel = ' aria-label="Selected"' if sz == cur else ""
                parts.append(f'<button name="product_options.size.{slug(sz)}"{sel}>{_e(sz)}</button>')
        parts.append("</div>")
    parts.append(
        f'<div name="add_to_cart"><span>{p.price}</span><span>In Stock</span>'
        '<div name="add_to_cart.quantity" role="button">Quantity: 1</div>'
        '<button name="add_to_cart.add_to_cart">Add to Cart</button>'
        '<button name="add_to_cart.buy_now">Buy Now</button>'
        '<button name="add_to_cart.add_to_list">Add to List</button></div>'
    )
    parts.append("<div><h2>About this item</h2><ul>" + "".join(f"<li>{_e(b)}</li>" for b in p.bullets) + "</ul></div>")
    parts.append('<div name="customers_also_viewed"><h2>Customers who viewed this item also viewed</h2>')
    for k in (1, 3, 6, 10):
        q = products[(p.index + k) % len(products)]
        parts.append(f'<div><a name="customers_also_viewed.{q.slug}.product_title">{_e(q.title)}</a>'
                     f'<span>{_stars(q)}</span><span>{q.price}</span></div>')
    parts.append('<button name="customers_also_viewed.next_page" aria-label="Next page">Next</button></div>')
    parts.append(f'<div name="customer_reviews"><h2>Customer reviews</h2><span>{_stars(p)}</span>')
    for star in (5, 4, 3, 2, 1):
        parts.append(f'<a name="customer_reviews.{star}_star">{star} star</a>')
    for k, (stars, who, head, body) in enumerate(_review_items(session_key, p, 3)):
        parts.append(f'<div><span>{_e(who)}</span><span>{stars}.0 out of 5 stars</span><span>{_e(head)}</span>'
                     f'<span>{_e(body)}</span><button name="customer_reviews.review_{k + 1}.helpful">Helpful</button></div>')
    parts.append('<a name="customer_reviews.see_all_reviews">See more reviews</a></div>')
    return "".join(parts)


def _render_reviews(session_key: str, goal: str, state: Mapping[str, Any]) -> str:
    p = catalogue(session_key, goal)[state["i"]]
    star = state.get("rf")
    parts = [f'<div name="product_reviews"><a name="product_reviews.{p.slug}.product_title">{_e(p.title)}</a>'
             f'<span>{_stars(p)}</span><span>{p.ratings_count:,} global ratings</span></div>',
             '<div name="reviews_filter" role="group" aria-label="Filter reviews">'
             '<a name="reviews_filter.all_stars">All stars</a>']
    for s in (5, 4, 3, 2, 1):
        parts.append(f'<a name="reviews_filter.{s}_star">{s} star only</a>')
    parts.append('<div name="reviews_filter.sort_top_reviews">Top reviews</div>'
                 '<div name="reviews_filter.sort_most_recent">Most recent</div></div><div name="reviews">')
    for k, (stars, who, head, body) in enumerate(_review_items(session_key, p, 8, star)):
        parts.append(f'<div><span>{_e(who)}</span><span>{stars}.0 out of 5 stars</span><span>{_e(head)}</span>'
                     f'<span>Verified Purchase</span><span>{_e(body)}</span>'
                     f'<button name="reviews.review_{k + 1}.helpful">Helpful</button>'
                     f'<a name="reviews.review_{k + 1}.report">Report</a></div>')
    parts.append('</div><div name="pagination" role="navigation"><a name="pagination.next_page">Next page</a></div>')
    return "".join(parts)


def _render_cart(session_key: str, goal: str, state: Mapping[str, Any]) -> str:
    products = catalogue(session_key, goal)
    lines = state.get("c", ())
    parts = ['<div name="cart" role="main"><h1>Shopping Cart</h1>']
    if not lines:
        parts.append("<span>Your Amazon Cart is empty.</span>")
    seen: set[str] = set()
    for index, color, size, qty in lines:
        p = products[index]
        base = f"cart.{p.slug}"
        if base in seen:
            continue
        seen.add(base)
        opt = "".join(f"<span>{label}: {_e(v)}</span>" for label, v in (("Color", color), ("Size", size)) if v)
        parts.append(
            f'<div><input name="{base}.select" type="checkbox" checked="checked" aria-label="Select item">'
            f'<a name="{base}.product_title">{_e(p.title)}</a><span>{p.price}</span>{opt}<span>In Stock</span>'
            f'<div name="{base}.quantity" role="button">Qty: {qty}</div>'
            f'<button name="{base}.delete">Delete</button><button name="{base}.save_for_later">Save for later</button></div>'
        )
    count = sum(line[3] for line in lines)
    subtotal = sum(products[line[0]].price_cents * line[3] for line in lines)
    parts.append(f'<span>Subtotal ({count} items): ${subtotal // 100}.{subtotal % 100:02d}</span>'
                 '<button name="cart.proceed_to_checkout">Proceed to checkout</button></div>')
    return "".join(parts)


def _render_checkout(session_key: str, goal: str, state: Mapping[str, Any]) -> str:
    products = catalogue(session_key, goal)
    lines = state.get("c", ())
    subtotal = sum(products[line[0]].price_cents * line[3] for line in lines)
    parts = ['<div name="checkout_header"><a name="checkout_header.return_to_cart">Return to cart</a></div>',
             '<div name="checkout" role="main"><h1>Checkout</h1>'
             '<div><span>Shipping address</span><span>Blacksburg, VA 24060</span><a name="checkout.shipping_address.change">Change</a></div>'
             '<div><span>Payment method</span><span>Visa ending in 0000</span><a name="checkout.payment_method.change">Change</a></div>'
             '<div name="checkout.delivery_option" role="radiogroup">'
             '<input name="checkout.delivery_option.standard" type="radio" checked="checked" aria-label="FREE Standard Delivery">'
             '<input name="checkout.delivery_option.one_day" type="radio" aria-label="One-Day Delivery $9.99"></div>']
    for index, color, size, qty in lines:
        p = products[index]
        opt = "".join(f"<span>{label}: {_e(v)}</span>" for label, v in (("Color", color), ("Size", size)) if v)
        parts.append(f"<div><span>{_e(p.title)}</span><span>{p.price}</span>{opt}<span>Qty: {qty}</span></div>")
    parts.append(f'<span>Order total: ${subtotal // 100}.{subtotal % 100:02d}</span>'
                 '<button name="checkout.place_order">Place your order</button></div>')
    return "".join(parts)


def render_page(state: Mapping[str, Any], session_key: str, goal: str) -> str:
    """Render a page state as OPeRA-dialect simplified HTML.

    Raises:
        ValueError: unknown page kind or a malformed state.
    """
    kind = state.get("p")
    if kind == "home":
        body = _render_home(session_key, state)
    elif kind == "search":
        body = _render_search(session_key, goal, state)
    elif kind == "product":
        body = _render_product(session_key, goal, state)
    elif kind == "reviews":
        body = _render_reviews(session_key, goal, state)
    elif kind == "cart":
        body = _render_cart(session_key, goal, state)
    elif kind == "checkout":
        body = _render_checkout(session_key, goal, state)
    else:
        raise ValueError(f"unknown page kind {kind!r}; expected one of {PAGE_KINDS}")
    header = "" if kind == "checkout" else _nav_bar(state)
    footer = ('<div name="footer" role="contentinfo"><a name="footer.back_to_top">Back to top</a>'
              '<a name="footer.conditions_of_use">Conditions of Use</a><a name="footer.privacy_notice">Privacy Notice</a></div>')
    return f"<html><head></head><body>{header}{body}{footer}</body></html>"
