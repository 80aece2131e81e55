"""A tiny hand-written corpus in the OPeRA page dialect, small enough for every test."""

from __future__ import annotations

from shop_env import Action, ListCorpus, Session, Step

NAV = (
    '<div name="nav_bar" role="navigation" aria-label="Primary">'
    '<div name="nav_bar.homepage">Homepage</div>'
    '<form role="search"><input name="nav_bar.search_input" type="text" placeholder="Search the store">'
    '<button name="nav_bar.search_button">Go</button></form>'
    '<a name="nav_bar.cart">Cart</a></div>'
)


def page(body: str) -> str:
    return f"<html><head></head><body>{NAV}{body}</body></html>"


HOME = page('<div name="deals"><a name="deals.todays_deals">Today\'s deals</a></div>')
RESULTS = page(
    '<div name="refinements"><a name="refinements.price_low_to_high">Price: low to high</a>'
    '<a name="refinements.4_stars_and_above">4 stars and above</a></div>'
    '<div name="results"><div><a name="results.usb_microphone_pro.product_title">USB Microphone Pro</a>'
    '<span>$39.99</span></div>'
    '<div><a name="results.usb_microphone_lite.product_title">USB Microphone Lite</a><span>$19.99</span></div></div>'
)
PRODUCT = page(
    '<h1>USB Microphone Pro</h1><div name="product_options"><button name="product_options.color.black">Black'
    '</button><button name="product_options.color.white">White</button></div>'
    '<div name="add_to_cart"><button name="add_to_cart.add_to_cart">Add to cart</button>'
    '<button name="add_to_cart.buy_now">Buy now</button></div>'
    '<div name="reviews"><a name="reviews.see_all_reviews">See all reviews</a></div>'
)


def fixture_sessions() -> list[Session]:
    s1 = Session(
        session_id="u1_2025-01-01T10:00:00Z_2025-01-01T10:05:00Z",
        user_id="u1",
        outcome="terminate",
        persona={"Demographic Information": {"Age": "25-34 years old"}, "Self Description": "I love gadgets."},
        steps=(
            Step(HOME, Action.type_and_submit("nav_bar.search_input", "usb microphone"),
                 rationale="I want to find a microphone.", rationale_source="human", click_type=None,
                 timestamp="2025-01-01T10:00:00Z"),
            Step(RESULTS, Action.click("results.usb_microphone_pro.product_title"),
                 rationale="This one looks good.", click_type="product_link", timestamp="2025-01-01T10:01:00Z"),
            Step(PRODUCT, Action.terminate(), rationale="Too expensive for me.",
                 timestamp="2025-01-01T10:02:00Z"),
        ),
    )
    s2 = Session(
        session_id="u2_2025-01-02T10:00:00Z_2025-01-02T10:09:00Z",
        user_id="u2",
        outcome="purchase",
        steps=(
            Step(HOME, Action.type_and_submit("nav_bar.search_input", "cheap usb microphone"),
                 timestamp="2025-01-02T10:00:00Z"),
            Step(RESULTS, Action.click("refinements.price_low_to_high"), click_type="filter",
                 timestamp="2025-01-02T10:01:00Z"),
            Step(RESULTS, Action.click("results.usb_microphone_lite.product_title"), click_type="product_link",
                 timestamp="2025-01-02T10:02:00Z"),
            Step(PRODUCT, Action.click("product_options.color.black"), click_type="product_option",
                 timestamp="2025-01-02T10:03:00Z"),
            Step(PRODUCT, Action.click("add_to_cart.buy_now"), click_type="purchase",
                 timestamp="2025-01-02T10:04:00Z"),
        ),
    )
    return [s1, s2]


def fixture_corpus(split: str = "test") -> ListCorpus:
    return ListCorpus(fixture_sessions(), source="fixture", split=split)


class CountingOracle:
    """The oracle, counting its calls and dying after ``fail_after`` of them (a killed run)."""

    name = "counting"

    def __init__(self, fail_after: int | None = None) -> None:
        self.calls, self.fail_after = 0, fail_after

    def act(self, observations, infos):
        from agents.baselines import OracleAgent

        self.calls += 1
        if self.fail_after is not None and self.calls > self.fail_after:
            raise KeyboardInterrupt("killed")
        return OracleAgent().act(observations, infos)
