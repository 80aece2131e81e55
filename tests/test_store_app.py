"""The demo store served as a web application (Starlette on uvicorn, the [browser] extra)."""

from __future__ import annotations

import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from http.cookiejar import CookieJar

import pytest

pytest.importorskip("starlette")
pytest.importorskip("uvicorn")

from shop_env.store import Store  # noqa: E402
from shop_env.store.app import serve_in_thread  # noqa: E402


@pytest.fixture(scope="module")
def served():
    with serve_in_thread(Store()) as handle:
        yield handle


def _client():
    jar = CookieJar()
    return urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar)), jar


def test_pages_assets_and_not_found(served):
    opener, _ = _client()
    assert served.host == "127.0.0.1" and served.url.startswith("http://127.0.0.1:")
    home = opener.open(served.url + "/").read().decode()
    assert 'data-shop-name="nav_bar.search_input"' in home and "<!DOCTYPE html>" in home
    results = opener.open(served.url + "/s?k=running+shoes").read().decode()
    assert results.count(".product_title") >= 12
    assert "getComputedStyle" not in results
    css = opener.open(served.url + "/static/store.css")
    assert css.headers["content-type"].startswith("text/css")
    assert b"<svg" in opener.open(served.url + "/img/blue_running_shoes.svg").read()
    for path in ("/nowhere", "/dp/B0NOTHERE", "/s?k="):
        with pytest.raises(urllib.error.HTTPError) as err:
            opener.open(served.url + path)
        assert err.value.code == 404
    demo = opener.open(served.url + "/_demo/demo-gen-00010/0").read().decode()
    assert 'data-shop-name="nav_bar"' in demo


def test_forms_change_the_cart_through_the_state_machine(served):
    opener, jar = _client()
    store = Store()
    product = store.products[0]
    page = f"/dp/{product.asin}"
    form = urllib.parse.urlencode({"a": "add_to_cart.add_to_cart", "from": page}).encode()
    reply = opener.open(served.url + "/do", data=form)  # 303 -> the side bar page
    assert urllib.parse.urlsplit(reply.url).path == page and "added=1" in reply.url
    body = reply.read().decode()
    assert 'data-shop-name="cart_side_bar.proceed_to_checkout"' in body and 'data-count="1"' in body
    assert any(cookie.name == "cart" for cookie in jar)
    cart = opener.open(served.url + "/cart").read().decode()
    assert f'data-shop-name="cart.{product.slug}.product_title"' in cart
    order = urllib.parse.urlencode({"a": "checkout.place_order", "from": "/checkout/spc"}).encode()
    done = opener.open(served.url + "/do", data=order)
    assert done.url.endswith("/order/thank-you") and product.title.split(",")[0] in done.read().decode()
    assert 'data-count="0"' in opener.open(served.url + "/").read().decode()
    with pytest.raises(urllib.error.HTTPError) as err:
        opener.open(served.url + "/do", data=b"a=&from=/")
    assert err.value.code == 400


def test_the_serve_command_listens_on_loopback():
    proc = subprocess.Popen([sys.executable, "-m", "shop_env.store", "serve", "--port", "0"],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        line = proc.stdout.readline()
        assert "http://127.0.0.1:" in line, line
        url = line.split(" on ")[1].split()[0]
        deadline = time.monotonic() + 10
        while True:
            try:
                assert b"nav_bar" in urllib.request.urlopen(url + "/").read()
                break
            except urllib.error.URLError:
                assert time.monotonic() < deadline
                time.sleep(0.1)
    finally:
        proc.terminate()
        proc.wait(10)
