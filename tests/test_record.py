"""The recorder in headless Chromium on the served store (skipped without Playwright or Chromium)."""

from __future__ import annotations

import json
import struct
import subprocess
import sys

import pytest

from shop_env import load_corpus
from shop_env.browser import Browser, browser_unavailable
from shop_env.core.types import Action
from shop_env.html import element_names
from shop_env.store import Store

pytestmark = pytest.mark.skipif(browser_unavailable() is not None, reason=str(browser_unavailable()))


@pytest.fixture(scope="module")
def live():
    from shop_env.store.app import serve_in_thread

    with serve_in_thread(Store()) as served, Browser() as browser:
        yield served, browser


def _viewport_png(path) -> bool:
    data = open(path, "rb").read()
    return data[:8] == b"\x89PNG\r\n\x1a\n" and struct.unpack(">II", data[16:24]) == (1280, 720)


def test_a_shopper_session_recorded_in_chromium_replays_exactly(live, tmp_path):
    """The issue's test: search, filter, open a product, choose an option, add to cart, terminate."""
    from agents.factory import make_agent
    from shop_env.env import ShopSessionEnv
    from shop_env.record import Recorder

    served, browser = live
    page = browser.new_page()
    out, shots = tmp_path / "sessions.jsonl", tmp_path / "shots"
    driven: list[Action] = []
    with Recorder(page.page, out, screenshots=shots, split="test", session_id="rec-test") as rec:
        page.goto(served.url + "/")

        def act(action: Action) -> None:
            assert rec.sync()  # the recorder has this page and its screenshot, as before a person's action
            result = page.act(action)
            assert result.ok, result.reason
            driven.append(action)

        act(Action.click("nav_bar.search_input"))
        rec.note("I start by searching for what I need.")
        act(Action.type_and_submit("nav_bar.search_input", "running shoes"))
        act(Action.click("refinements.customer_reviews.4_stars_and_above"))
        act(Action.click(next(n for n in page.last.names if n.endswith(".product_title"))))
        act(Action.click(next(n for n in page.last.names if n.startswith("product_options.size."))))
        act(Action.click("add_to_cart.add_to_cart"))
        assert "cart_side_bar.go_to_cart" in page.last.names
        assert rec.sync()
        rec.terminate()
        driven.append(Action.terminate())
    assert rec.skipped == [] and len(rec.overheads) == 6

    corpus = load_corpus(f"jsonl:{out}", split="test")
    assert corpus.session_ids() == ["rec-test"]
    session = corpus[0]
    assert [s.action for s in session.steps] == driven
    assert session.outcome == "terminate" and session.metadata["recorded"] is True
    for step in session.steps:
        if step.action.name is not None:
            assert step.action.name in element_names(step.html)
        assert _viewport_png(step.screenshot) and step.screenshot.startswith(str(shots))
        assert step.url.startswith(served.url) and step.timestamp.endswith("Z")
    steps = session.steps
    assert 'value=""' in steps[1].html or 'value="' not in steps[1].html.split("nav_bar.search_input")[1][:120]
    assert steps[1].rationale == "I start by searching for what I need." and steps[1].rationale_source == "human"
    assert [s.click_type for s in steps] == ["search", None, "filter", "product_link", "product_option", "purchase", None]
    assert steps[3].url.endswith("/s?k=running+shoes&rh=customer_reviews:4_stars_and_above")
    assert json.loads(out.read_text())["steps"][0]["screenshot"].startswith("shots/")  # relative in the file

    env = ShopSessionEnv(corpus=f"jsonl:{out}", split="test", order="sequential")
    agent = make_agent("oracle")
    obs, info = env.reset(seed=0)
    exact, done = [], False
    while not done:
        answer = agent.act([obs], [info])[0]
        obs, _reward, terminated, truncated, info = env.step(answer.text)
        exact.append(info["scored"]["exact_match"])
        done = terminated or truncated
    assert len(exact) == len(driven) and sum(exact) / len(exact) == 1.0
    shot_env = ShopSessionEnv(corpus=f"jsonl:{out}", split="test", observation="text+screenshot")
    obs, info = shot_env.reset(options={"session_id": "rec-test"})
    assert info["screenshot_source"] == "step" and obs["screenshot"].shape == (720, 1280, 3)
    assert shot_env.observation_space.contains(obs)


def test_the_recording_rules_on_a_page_driven_directly(live, tmp_path):
    """Clicking into a field is a click; Enter or the submit button makes one type_and_submit;
    clicks on nothing named are skipped; each step is on disk at once; closing the page ends it."""
    from shop_env.record import Recorder

    served, browser = live
    page = browser.new_page()
    out = tmp_path / "direct.jsonl"
    out.write_text("")  # appending to an existing (empty) file
    box = '[data-shop-name="nav_bar.search_input"]'
    with Recorder(page.page, out, session_id="rec-direct") as rec:
        pw = page.page
        pw.goto(served.url + "/")
        page.settle()
        pw.click(box)
        pw.fill(box, "trail shoes")
        pw.press(box, "Enter")
        page.settle()
        pw.mouse.click(3, 715)  # the page's margin: nothing named
        page.settle()
        assert len(load_corpus(f"jsonl:{out}", split="train")[0]) == 2  # flushed as it happened
        pw.fill(box, "hiking boots")
        pw.click('[data-shop-name="nav_bar.search_button"]')
        page.settle()
        pw.click('[data-shop-name="nav_bar.cart"]')
        page.settle()
        pw.close()
    session = load_corpus(f"jsonl:{out}", split="train")[0]
    assert [s.action for s in session.steps] == [
        Action.click("nav_bar.search_input"),
        Action.type_and_submit("nav_bar.search_input", "trail shoes"),
        Action.type_and_submit("nav_bar.search_input", "hiking boots"),
        Action.click("nav_bar.cart"),
        Action.terminate(),
    ]
    assert len(rec.skipped) == 1 and "without a name" in rec.skipped[0]
    assert session.steps[2].url.endswith("/s?k=trail+shoes")  # named on the page before the action
    assert 'value="trail shoes"' in session.steps[2].html  # ... as it was before the typing
    assert session.steps[4].url.endswith("/cart") and session.steps[0].screenshot is None


def test_a_purchase_ends_the_session_and_prompts_take_rationales(live, tmp_path):
    from shop_env.record import Recorder

    served, browser = live
    page = browser.new_page()
    page.page.on("dialog", lambda dialog: dialog.accept("Because it fits."))
    out = tmp_path / "buy.jsonl"
    store = Store()
    with Recorder(page.page, out, session_id="rec-buy", ask_rationale=True, done_button=True) as rec:
        page.goto(served.url + f"/dp/{store.products[0].asin}")
        assert page.act(Action.click("add_to_cart.buy_now")).ok
        assert page.act(Action.click("checkout.place_order")).ok
        assert "order.continue_shopping" in page.last.names and "recorder" not in page.last.html
        assert rec.done and rec.outcome == "purchase"
        page.act(Action.click("order.continue_shopping"))
    session = load_corpus(f"jsonl:{out}", split="train")[0]
    assert [s.action.name for s in session.steps] == ["add_to_cart.buy_now", "checkout.place_order"]
    assert session.outcome == "purchase" and session.steps[-1].click_type == "purchase"
    assert all(s.rationale == "Because it fits." and s.rationale_source == "human" for s in session.steps)


def test_the_record_command_needs_a_url():
    run = subprocess.run([sys.executable, "-m", "shop_env.record", "--out", "x.jsonl"], capture_output=True, text=True)
    assert run.returncode == 2 and "--url" in run.stderr
