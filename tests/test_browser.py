"""shop_env.browser in headless Chromium against the served store (skipped without Playwright or Chromium)."""

from __future__ import annotations

import struct

import pytest

from shop_env.browser import Browser, browser_unavailable, element_selectors
from shop_env.html import element_names, simplify
from shop_env.store import Store, full_page

pytestmark = pytest.mark.skipif(browser_unavailable() is not None, reason=str(browser_unavailable()))


@pytest.fixture(scope="module")
def live():
    from shop_env.store.app import serve_in_thread

    store = Store()
    with serve_in_thread(store) as served, Browser() as browser:
        yield store, served, browser


def _png_size(png: bytes) -> tuple[int, int]:
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and png[12:16] == b"IHDR"
    return struct.unpack(">II", png[16:24])


def test_the_live_dom_after_scripts_simplifies_to_the_demo_names(live):
    store, served, browser = live
    page = browser.new_page()
    state = {"p": "search", "q": "running shoes", "c": [[3, None, None, 2]]}
    capture = page.goto(served.url + "/s?k=running+shoes")
    assert set(capture.names) == {n for n in store.names({"p": "search", "q": "running shoes"})}
    # the stylesheet hides the pop-over: only the browser knows; the cart count is the script's
    assert "promo_popover" in set(element_names(simplify(full_page(store, state))))
    assert "Get our deals" not in capture.html
    page.page.context.add_cookies([{"name": "cart", "value": "W1szLG51bGwsbnVsbCwyXV0=", "url": served.url}])
    capture = page.goto(served.url + "/")
    assert '<div name="nav_bar.cart">2 Cart</div>' in capture.html
    assert 'data-count="2"></span> Cart' in full_page(store, {"p": "home", "c": [[3, None, None, 2]]})
    slide = capture.html.split('name="hero_carousel.previous"')[1]
    turned = page.click("hero_carousel.next")  # the page's script changes the DOM, no navigation
    assert turned.ok and turned.capture.url == capture.url
    assert "Free delivery on your first order" in turned.capture.html and "Free delivery" not in slide
    page.page.context.clear_cookies()
    page.terminate()


def test_acting_by_name_with_screenshots(live):
    store, served, browser = live
    page = browser.new_page()
    first = page.goto(served.url + "/", screenshot=True)
    assert _png_size(first.screenshot) == (1280, 720)
    assert set(element_selectors(first.raw)) == set(first.names)
    result = page.type_and_submit("nav_bar.search_input", "usb microphone")
    assert result.ok and result.capture.url.endswith("/s?k=usb+microphone")
    assert 'value="usb microphone"' in result.capture.html  # the live value, as the corpus shows it
    title = next(n for n in result.capture.names if n.endswith(".product_title"))
    opened = page.click(title, screenshot=True)
    assert opened.ok and "/dp/B0" in opened.capture.url and _png_size(opened.capture.screenshot) == (1280, 720)
    assert "breadcrumb.back_to_results" in opened.capture.names
    # bad input does nothing and says why
    missing = page.click("no.such.element")
    assert not missing.ok and "no element named" in missing.reason and page.page.url == opened.capture.url
    typed = page.type_and_submit("add_to_cart.add_to_cart", "hello")
    assert not typed.ok and "not a text field" in typed.reason
    ended = page.terminate()
    assert ended.ok and ended.closed and page.page.is_closed()
    after = page.click("nav_bar.cart")
    assert not after.ok and after.closed


def test_a_crash_is_reported_not_raised(live):
    _store, served, browser = live
    page = browser.new_page()
    page.goto(served.url + "/")
    try:
        page.page.goto("chrome://crash", timeout=5000)
    except Exception:
        pass
    result = page.click("nav_bar.cart")
    assert not result.ok and result.crashed and result.reason
    page.page.close()


def test_the_env_shows_demo_screenshots_rendered_through_the_store_and_cached(tmp_path, monkeypatch):
    import os

    from shop_env.env import ShopSessionEnv

    monkeypatch.setenv("SHOP_ENV_CACHE", str(tmp_path))
    env = ShopSessionEnv(split="test", observation="text+screenshot", order="sequential")
    obs, info = env.reset(seed=0)
    assert env.observation_space.contains(obs) and isinstance(obs["text"], str)
    assert info["screenshot_source"] == "rendered" and _png_size(info["screenshot_png"]) == (1280, 720)
    assert obs["screenshot"].shape == (720, 1280, 3) and obs["screenshot"].std() > 0
    cached = env._screenshots.path(info["session_id"], 0)
    assert os.path.exists(cached)
    env.close()
    again = ShopSessionEnv(split="test", observation="text+screenshot", order="sequential")
    _, info2 = again.reset(seed=0)
    assert info2["screenshot_png"] == info["screenshot_png"] and again._screenshots._page is None  # from the cache
    again.close()
