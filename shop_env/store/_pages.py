"""Full pages of a real store for the demo store's states (what the web application serves).

A page is the state's simplified page (:meth:`Store.page`) dressed as a real store would
send it: a document head with a stylesheet and a script (served by the app itself; no
external asset or link), layout wrappers (header, side bar, main column, footer), classes,
images with alt text, links with real ``href``\\ s, forms that post to the store, and hidden
elements of three kinds (the ``hidden`` attribute, an inline ``display:none`` and a box
hidden only by the stylesheet). Every element the simplified page names carries
``data-shop-name`` with that name, so :func:`shop_env.html.simplify` names it the same: a
page captured in a browser simplifies to the demo corpus's names.

What each element does comes from the state machine: a link goes to the URL of
``store.step(state, click(name)).state``; an element whose action changes the cart (add to
cart, buy now, delete, place order) is a button in a ``POST /do`` form; an element with no
effect stays inert. The script (``/static/store.js``) follows ``data-href`` on elements that
are not links, fills the cart count into the header (the page's HTML leaves it empty: only
the live DOM has it) and turns the home page's carousel.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from html import escape
from typing import Any

from lxml import etree
from lxml import html as lxml_html

from ..core.types import Action
from ..demo.text import slug
from ._machine import Store

__all__ = ["STORE_CSS", "STORE_JS", "full_page", "image_svg"]

#: Name of the element the stylesheet hides (a newsletter pop-over): only a browser knows it is hidden.
CSS_HIDDEN_SECTION = "promo_popover"

STORE_CSS = """
*{box-sizing:border-box}body{margin:0;font:14px/1.4 Arial,Helvetica,sans-serif;color:#0f1111;background:#eaeded}
a{color:#007185;text-decoration:none;cursor:pointer}a:hover{text-decoration:underline}
.site-header{background:#131921;color:#fff}.site-header a,.site-header [data-shop-name]{color:#fff}
.nav-main{display:flex;align-items:center;gap:14px;padding:8px 16px}.nav-main form{display:flex;flex:1}
.nav-main input[type=text]{flex:1;padding:8px;border:0;border-radius:4px 0 0 4px;font-size:15px}
.nav-main button{background:#febd69;border:0;padding:8px 14px;border-radius:0 4px 4px 0;cursor:pointer}
.search-scope{background:#e6e6e6;color:#555!important;padding:8px;border-radius:4px 0 0 4px}
.nav-secondary{display:flex;gap:16px;padding:6px 16px;background:#232f3e;font-size:13px}
.cart-link{font-weight:bold}.layout{display:flex;gap:16px;padding:16px;max-width:1400px;margin:0 auto}
.sidebar{width:230px;flex:none;background:#fff;padding:12px;border-radius:6px}
.sidebar [role=checkbox]{display:block;padding:2px 0}.sidebar [aria-checked=true]{font-weight:bold}
.sidebar [aria-checked=true]::before{content:"\\2713 "}
main{flex:1;min-width:0}.panel{background:#fff;padding:12px;border-radius:6px;margin-bottom:12px}
.sort{display:flex;gap:10px;flex-wrap:wrap}.sort [aria-selected=true],.sort [selected]{font-weight:bold}
.results{display:grid;grid-template-columns:repeat(auto-fill,minmax(210px,1fr));gap:12px}
.results [role=listitem]{background:#fff;padding:10px;border-radius:6px;display:flex;flex-direction:column;gap:4px}
.thumb{display:block;width:100%;height:150px;object-fit:cover;background:#f3f3f3}
.btn{background:#ffd814;border:1px solid #fcd200;border-radius:16px;padding:5px 12px;cursor:pointer}
.btn-buy{background:#ffa41c;border-color:#ff8f00}.inline-form{display:inline}
.options button{margin:2px;border:1px solid #888;background:#fff;border-radius:4px;padding:4px 8px;cursor:pointer}
.options button[aria-label=Selected]{border:2px solid #e77600}
.side-bar{position:fixed;right:0;top:0;bottom:0;width:320px;background:#fff;padding:16px;
box-shadow:-4px 0 12px rgba(0,0,0,.25);z-index:10;display:flex;flex-direction:column;gap:8px}
.site-footer{background:#232f3e;color:#ddd;padding:20px;display:flex;gap:20px;justify-content:center}
.site-footer a,.site-footer [data-shop-name]{color:#ddd}.hero{display:flex;align-items:center;gap:10px;
background:linear-gradient(#a9d6e5,#eaeded);padding:30px;border-radius:6px;margin-bottom:12px;font-size:20px}
.promo-popover{display:none}.mega-menu{position:absolute}.pagination{display:flex;gap:10px;padding:10px}
h1{font-size:22px}h2{font-size:18px;margin:6px 0}
"""

STORE_JS = """
(function () {
  "use strict";
  function go(el) { window.location.assign(el.getAttribute("data-href")); }
  document.addEventListener("click", function (event) {
    var el = event.target.closest ? event.target.closest("[data-href]") : null;
    if (el && !event.defaultPrevented) { event.preventDefault(); go(el); }
  });
  document.addEventListener("keydown", function (event) {
    var el = event.target;
    if (event.key === "Enter" && el.hasAttribute && el.hasAttribute("data-href")) { event.preventDefault(); go(el); }
  });
  document.querySelectorAll(".cart-count").forEach(function (span) {
    span.textContent = span.getAttribute("data-count");
  });
  var slide = document.querySelector(".hero-slide");
  if (slide) {
    var texts = JSON.parse(slide.getAttribute("data-slides")), k = 0;
    function turn(by) { k = (k + by + texts.length) % texts.length; slide.textContent = texts[k]; }
    var next = document.querySelector('[data-shop-name="hero_carousel.next"]');
    var prev = document.querySelector('[data-shop-name="hero_carousel.previous"]');
    if (next) next.addEventListener("click", function () { turn(1); });
    if (prev) prev.addEventListener("click", function () { turn(-1); });
  }
})();
"""

_HEADER = ("nav_bar", "nav_bar_secondary", "checkout_header")
_SIDEBAR = ("refinements",)
_FOOTER = ("footer",)
_OVERLAY = ("cart_side_bar",)
_CLASSES = {
    "nav_bar": "nav-main", "nav_bar_secondary": "nav-secondary", "refinements": "filters",
    "sort_by": "panel sort", "search_results": "results", "4_stars_and_above": "results",
    "pagination": "pagination", "related_searches": "panel related", "product_options": "panel options",
    "add_to_cart": "panel buy-box", "customer_reviews": "panel reviews", "customers_also_viewed": "panel carousel",
    "cart_side_bar": "side-bar", "cart": "panel cart", "checkout": "panel checkout", "hero_carousel": "hero",
    "shop_by_category": "panel", "todays_deals": "panel deals", "product_reviews": "panel",
    "reviews_filter": "panel", "reviews": "panel", "order": "panel", "breadcrumb": "crumbs",
}


def image_svg(label: str) -> str:
    """A product picture: a tinted box with the label's initials (served as ``/img/<slug>.svg``)."""
    words = [w for w in label.replace("_", " ").split() if w[:1].isalnum()]
    initials = "".join(w[0].upper() for w in words[:3]) or "?"
    hue = sum(ord(c) for c in label) % 360
    return ('<svg xmlns="http://www.w3.org/2000/svg" width="300" height="200" viewBox="0 0 300 200">'
            f'<rect width="300" height="200" fill="hsl({hue},45%,82%)"/>'
            f'<text x="150" y="118" font-family="Arial" font-size="56" text-anchor="middle" '
            f'fill="hsl({hue},40%,30%)">{escape(initials)}</text></svg>')


def _named_descendant(element: etree._Element) -> bool:
    return any(isinstance(d.tag, str) and d.get("name") is not None for d in element.iterdescendants())


def _post_form(button: etree._Element, name: str, back: str) -> None:
    """Put ``button`` in a ``POST /do`` form naming the action and the page it was taken on."""
    parent = button.getparent()
    form = etree.Element("form", {"method": "post", "action": "/do", "class": "inline-form"})
    form.tail, button.tail = button.tail, None
    parent.replace(button, form)
    form.append(etree.Element("input", {"type": "hidden", "name": "a", "value": name}))
    form.append(etree.Element("input", {"type": "hidden", "name": "from", "value": back}))
    if button.tag != "button":
        button.tag = "button"
    button.set("type", "submit")
    form.append(button)


def _dress(store: Store, state: Mapping[str, Any], element: etree._Element, name: str, here: str) -> None:
    """Turn one named element of the simplified page into a working element of the full page."""
    del element.attrib["name"]
    element.set("data-shop-name", name)
    head = name.split(".", 1)[0]
    if name in _CLASSES:
        element.set("class", _CLASSES[name])
    if element.tag == "input":
        kind = (element.get("type") or "text").lower()
        if name == "nav_bar.search_input":
            element.set("name", "k")
            element.set("required", "required")
            element.set("autocomplete", "off")
            return
        if kind == "radio":
            element.set("name", head + "_delivery")
        target = store.step(state, Action.click(name))
        if target.effect == "navigate":
            element.set("data-href", store.url(target.state))
        return
    if _named_descendant(element):
        return
    if name == "nav_bar.search_button":
        element.set("type", "submit")
        element.set("class", "search-go")
        return
    if name == "nav_bar.cart":
        count = (element.text or "0 Cart").split()[0]
        element.text = None
        for child in list(element):
            element.remove(child)
        badge = etree.SubElement(element, "span", {"class": "cart-count", "data-count": count})
        badge.tail = " Cart"
        element.set("class", "cart-link")
    if name == "nav_bar.search_dropdown":
        element.set("class", "search-scope")
    target = store.step(state, Action.click(name))
    cart_changed = target.state.get("c") != state.get("c")
    if target.outcome == "purchase" or target.effect == "cart" or (cart_changed and target.ok):
        _post_form(element, name, here)
        element.set("class", "btn btn-buy" if name.endswith(("buy_now", "place_order")) else "btn")
        return
    if target.effect == "none" or not target.ok:
        if element.tag == "button":
            element.set("type", "button")
        return
    url = store.url(target.state)
    if element.tag == "a":
        element.set("href", url)
    else:
        element.set("data-href", url)
        element.set("tabindex", "0")
    if element.get("role") == "checkbox":
        element.set("aria-checked", "true" if element.get("checked") is not None else "false")


def _region(tag: str, cls: str, children: list[etree._Element]) -> etree._Element:
    outer = etree.Element(tag, {"class": cls})
    inner = etree.SubElement(outer, "div", {"class": cls + "-inner"})
    for child in children:
        inner.append(child)
    return outer


def full_page(store: Store, state: Mapping[str, Any]) -> str:
    """The state's page as a full store page (``<!DOCTYPE html>`` document, text)."""
    simplified = store.page(state)
    doc = lxml_html.document_fromstring(simplified)
    body = doc.find("body")
    here = store.url(state)
    for element in list(body.iter()):
        if isinstance(element.tag, str) and element.get("name") is not None:
            _dress(store, state, element, element.get("name"), here)
    for img in body.iter("img"):
        alt = img.get("alt") or "product"
        img.set("src", f"/img/{slug(alt, max_len=40)}.svg")
        img.set("class", "thumb")
        img.set("width", "300")
        img.set("height", "200")
    form = body.find(".//form")
    if form is not None and form.get("action") is None:
        form.set("action", "/s")
        form.set("method", "get")
    hero = body.find('.//*[@data-shop-name="hero_carousel"]')
    if hero is not None:
        slide = next((d for d in hero if d.get("data-shop-name") is None), None)
        if slide is not None:
            first = slide.text or ""
            slide.set("class", "hero-slide")
            slide.set("data-slides", json.dumps([first, "Free delivery on your first order", "New arrivals every week"]))

    header, sidebar, main, footer, overlay = [], [], [], [], []
    for child in list(body):
        name = child.get("data-shop-name") or ""
        (header if name in _HEADER else sidebar if name in _SIDEBAR else footer if name in _FOOTER
         else overlay if name in _OVERLAY else main).append(child)
        body.remove(child)

    kind = state["p"]
    mega = etree.fromstring(
        '<div class="mega-menu" hidden="hidden"><a href="/s?k=electronics">Electronics</a>'
        '<a href="/s?k=kitchen">Kitchen</a><a href="/s?k=fashion">Fashion</a></div>')
    body.append(_region("header", "site-header", header + [mega]))
    layout = etree.SubElement(body, "div", {"class": f"layout page-{kind}"})
    if sidebar:
        layout.append(_region("aside", "sidebar", sidebar))
    main_el = _region("main", "content", main)
    main_el.set("id", "main")
    layout.append(main_el)
    for child in overlay:
        body.append(child)
    body.append(_region("footer", "site-footer", footer))
    popover = etree.fromstring(
        f'<div class="promo-popover" data-shop-name="{CSS_HIDDEN_SECTION}" role="dialog" aria-label="Newsletter">'
        '<span>Get our deals by email</span><a href="/">Sign up</a></div>')
    body.append(popover)
    tracking = etree.fromstring('<div style="display:none" class="tracking"><span>session beacon</span></div>')
    body.append(tracking)

    title = {"home": "Demo Store", "search": f"Demo Store: {state.get('q', '')}", "cart": "Shopping Cart",
             "checkout": "Checkout", "order": "Thank you"}.get(kind)
    if title is None:
        product = store.product(state)
        title = f"{product.title} - Demo Store" if product else "Demo Store"
    head = ('<head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">'
            f"<title>{escape(title)}</title>"
            '<link rel="stylesheet" href="/static/store.css"><script src="/static/store.js" defer></script></head>')
    body_html = etree.tostring(body, encoding="unicode", method="html")
    return f'<!DOCTYPE html>\n<html lang="en">{head}{body_html}</html>\n'
