"""Act on a live page in a real browser by element name, and see it as the env does.

Playwright (the ``[browser]`` extra) drives the distribution's Chromium (``apt-get install
chromium``; found on PATH, or at :data:`CHROMIUM_ENV`); Playwright's own browser download is
never used. docs/BROWSER.md has the set-up and the measured timings.

- :class:`Browser` launches headless (or headed) Chromium with a fresh profile and the
  flags a closed network needs; :meth:`Browser.new_page` gives a :class:`LivePage`.
- :class:`LivePage` acts by name (:meth:`~LivePage.click`, :meth:`~LivePage.type_and_submit`,
  :meth:`~LivePage.terminate` closes the page; :meth:`~LivePage.act` takes an
  :class:`~shop_env.core.types.Action`). After each action, once the page settles, it
  captures the live DOM (after scripts; elements the page's CSS hides marked ``hidden``,
  typed values and checked boxes written into the markup), simplified by
  :func:`shop_env.html.simplify`, and on request a PNG screenshot of the viewport
  (:class:`Capture`).
- A name that is not on the page does nothing (``ActResult.ok`` False, the reason in
  ``reason``); a browser crash is reported (``crashed``), never raised.

Names find their elements through the simplifier's way back (:func:`shop_env.html.locate`,
an XPath a name); :func:`element_selectors` is the one seam, and falls back to
``[data-shop-name="..."]`` where that function is missing. No site is contacted but the URL
a caller gives.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from .core.atomic import write_bytes_atomic
from .core.types import Action

__all__ = [
    "CHROMIUM_ENV",
    "LAUNCH_ARGS",
    "VIEWPORT",
    "DemoScreenshots",
    "SNAPSHOT_JS",
    "ActResult",
    "Browser",
    "Capture",
    "LivePage",
    "browser_unavailable",
    "chromium_path",
    "decode_png",
    "element_selectors",
    "screenshot_cache_dir",
    "simplify_snapshot",
]

#: Environment variable naming the Chromium executable (default: ``chromium`` on PATH).
CHROMIUM_ENV = "SHOP_ENV_CHROMIUM"
#: Chromium flags: no sandbox (root in containers), no GPU, and nothing that calls home.
LAUNCH_ARGS = (
    "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
    "--disable-sync", "--no-first-run", "--disable-quic", "--disable-default-apps", "--mute-audio",
)
VIEWPORT = {"width": 1280, "height": 720}
_CRASH_WORDS = ("crash", "Target page, context or browser has been closed", "Browser closed", "has been closed")

#: A page function: the document as it is now, serialized, for the simplifier. Elements the
#: live page does not show (computed ``display:none`` / ``visibility:hidden``) get ``hidden``;
#: form fields get their live value and checked state as attributes; elements marked
#: ``data-shop-recorder`` (the recorder's own controls) are hidden. Optional argument:
#: ``{target: Element, token: str, before: [[Element, value], ...]}`` marks ``target`` with
#: ``data-shop-target=token`` and writes ``value`` for each ``before`` field (its value before
#: the typing being recorded).
SNAPSHOT_JS = r"""
(opts) => {
  opts = opts || {};
  const src = document.documentElement;
  const clone = src.cloneNode(true);
  const w1 = document.createTreeWalker(src, NodeFilter.SHOW_ELEMENT);
  const w2 = document.createTreeWalker(clone, NodeFilter.SHOW_ELEMENT);
  const before = new Map(opts.before || []);
  let a = w1.currentNode, b = w2.currentNode;
  const body = document.body;
  while (a && b) {
    if (a.hasAttribute("data-shop-recorder")) {
      b.setAttribute("hidden", "");
    } else if (body && body.contains(a)) {
      const cs = window.getComputedStyle(a);
      if (cs.display === "none" || cs.visibility === "hidden") b.setAttribute("hidden", "");
      const tag = a.tagName;
      if (tag === "INPUT") {
        const type = (a.type || "text").toLowerCase();
        if (type === "checkbox" || type === "radio") {
          if (a.checked) b.setAttribute("checked", ""); else b.removeAttribute("checked");
        } else if (type !== "hidden" && type !== "password" && type !== "file") {
          b.setAttribute("value", before.has(a) ? before.get(a) : a.value);
        }
      } else if (tag === "TEXTAREA") {
        b.textContent = before.has(a) ? before.get(a) : a.value;
      } else if (tag === "OPTION") {
        if (a.selected) b.setAttribute("selected", ""); else b.removeAttribute("selected");
      }
      if (opts.target === a) b.setAttribute("data-shop-target", opts.token);
    }
    a = w1.nextNode(); b = w2.nextNode();
  }
  return "<!DOCTYPE html>" + clone.outerHTML;
}
"""

#: Wait until the DOM has been quiet for ``quiet`` ms (at most ``limit`` ms) after two frames.
_SETTLE_JS = r"""
([quiet, limit]) => new Promise((resolve) => {
  let timer = null, done = false;
  const finish = () => { if (!done) { done = true; obs.disconnect(); resolve(true); } };
  const obs = new MutationObserver(() => { clearTimeout(timer); timer = setTimeout(finish, quiet); });
  obs.observe(document, {subtree: true, childList: true, attributes: true, characterData: true});
  requestAnimationFrame(() => requestAnimationFrame(() => { timer = setTimeout(finish, quiet); }));
  setTimeout(finish, limit);
})
"""


def chromium_path() -> str | None:
    """The Chromium to drive: :data:`CHROMIUM_ENV` if set, else ``chromium`` (or ``chromium-browser``) on PATH."""
    given = os.environ.get(CHROMIUM_ENV)
    if given:
        return given if os.path.exists(given) else shutil.which(given)
    return shutil.which("chromium") or shutil.which("chromium-browser")


def browser_unavailable() -> str | None:
    """Why a browser cannot be launched here (Playwright or Chromium missing), or None when it can."""
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "Playwright is not installed (pip install -e '.[browser]')"
    if chromium_path() is None:
        return f"no Chromium found (apt-get install chromium, or set {CHROMIUM_ENV})"
    return None


def element_selectors(raw_html: str) -> dict[str, str]:
    """Every name the simplifier gives ``raw_html`` -> a Playwright selector of its element in the live page.

    The seam between names and elements: the simplifier's way back
    (:func:`shop_env.html.locate`, XPaths) when it is there; else ``[data-shop-name]`` CSS
    selectors, which reach the elements of pages that name theirs (the served store).
    """
    try:
        from .html import locate
    except ImportError:  # a simplifier without the way back
        locate = None
    if locate is not None:
        return {name: "xpath=" + path for name, path in locate(raw_html).items()}
    from lxml import html as lxml_html

    root = lxml_html.document_fromstring(raw_html)
    out = {}
    for element in root.iter():
        name = element.get("data-shop-name") if isinstance(element.tag, str) else None
        if name:
            out[name] = 'css=[data-shop-name="' + name.replace("\\", "\\\\").replace('"', '\\"') + '"]'
    return out


def simplify_snapshot(raw_html: str) -> tuple[str, tuple[str, ...]]:
    """``(simplified page, its element names)`` of a captured DOM."""
    from .html import element_names, simplify

    simplified = simplify(raw_html)
    return simplified, tuple(element_names(simplified))


@dataclass
class Capture:
    """The page as the env sees it, captured from the live DOM.

    ``raw``: the serialized DOM (:data:`SNAPSHOT_JS`); ``html``: it simplified; ``names``: its
    element names; ``screenshot``: PNG bytes of the viewport, when asked; ``seconds``: time
    to serialize and simplify (screenshot excluded); ``screenshot_seconds`` likewise.
    """

    url: str
    raw: str
    html: str
    names: tuple[str, ...]
    screenshot: bytes | None = None
    seconds: float = 0.0
    screenshot_seconds: float = 0.0
    _selectors: dict[str, str] | None = field(default=None, repr=False)

    def selectors(self) -> dict[str, str]:
        """Name -> Playwright selector on the page this capture was taken of."""
        if self._selectors is None:
            self._selectors = element_selectors(self.raw)
        return self._selectors


@dataclass
class ActResult:
    """What an action did: ``ok`` False when nothing was done (``reason`` says why);
    ``crashed`` when the browser or page died (``reason`` holds the error); ``closed`` after
    ``terminate``; ``capture`` is the page after the action (None once closed or crashed)."""

    action: Action
    ok: bool
    reason: str | None = None
    crashed: bool = False
    closed: bool = False
    capture: Capture | None = None
    seconds: float = 0.0


class LivePage:
    """A Playwright page acted on by element name (see the module docstring).

    Args:
        page: a Playwright ``Page`` (sync API).
        settle_ms: DOM quiet time that counts as settled after an action (default 60 ms).
        timeout_s: longest wait for an element or a navigation.
    """

    def __init__(self, page: Any, *, settle_ms: int = 60, timeout_s: float = 10.0) -> None:
        self.page = page
        self.settle_ms, self.timeout_ms = int(settle_ms), int(timeout_s * 1000)
        self.crashed: str | None = None
        self.closed = False
        self.last: Capture | None = None
        self.history: list[Capture] = []  # the captures of this page, oldest first (the last 50)
        page.on("crash", self._on_crash)

    def _on_crash(self, *_: Any) -> None:
        self.crashed = "the page crashed"

    # ------------------------------------------------------------------ seeing
    def goto(self, url: str, *, screenshot: bool = False) -> Capture:
        """Open ``url`` and capture it once it settles."""
        self.page.goto(url, wait_until="load", timeout=self.timeout_ms)
        return self.capture(screenshot=screenshot)

    def settle(self) -> None:
        """Wait for the load event, then for the DOM to stay quiet for ``settle_ms``."""
        self.page.wait_for_load_state("load", timeout=self.timeout_ms)
        self.page.evaluate(_SETTLE_JS, [self.settle_ms, 2000])

    def capture(self, *, screenshot: bool = False, settle: bool = True) -> Capture:
        """The live page now (after ``settle``), simplified; with a viewport PNG when ``screenshot``."""
        if settle:
            self.settle()
        start = time.perf_counter()
        raw = self.page.evaluate(SNAPSHOT_JS)
        html, names = simplify_snapshot(raw)
        seconds = time.perf_counter() - start
        capture = Capture(url=self.page.url, raw=raw, html=html, names=names, seconds=seconds)
        if screenshot:
            capture.screenshot, capture.screenshot_seconds = self.screenshot()
        self.last = capture
        self.history = [*self.history[-49:], capture]
        return capture

    def screenshot(self) -> tuple[bytes, float]:
        """``(PNG bytes of the viewport, seconds it took)``."""
        start = time.perf_counter()
        png = self.page.screenshot(type="png", full_page=False, timeout=self.timeout_ms)
        return png, time.perf_counter() - start

    # ------------------------------------------------------------------ acting
    def act(self, action: Action | Mapping[str, Any], *, screenshot: bool = False) -> ActResult:
        """Do ``action`` on the page last captured (captured first when there is none)."""
        if not isinstance(action, Action):
            action = Action.from_dict(action)
        start = time.perf_counter()
        if self.crashed or self.closed:
            why = self.crashed or "the page is closed"
            return ActResult(action, ok=False, reason=why, crashed=bool(self.crashed), closed=self.closed)
        try:
            if action.type == "terminate":
                self.page.close()
                self.closed = True
                return ActResult(action, ok=True, closed=True, seconds=time.perf_counter() - start)
            before = self.last or self.capture()
            name = action.name or ""
            if name not in before.names:
                return ActResult(action, ok=False, reason=f"no element named {name!r} on this page",
                                 capture=before, seconds=time.perf_counter() - start)
            selector = before.selectors().get(name)
            if selector is None:
                return ActResult(action, ok=False, reason=f"no way back from {name!r} to an element",
                                 capture=before, seconds=time.perf_counter() - start)
            target = self.page.locator(selector).first
            if action.type == "type_and_submit":
                if not target.evaluate("e => e.matches('input,textarea,[contenteditable],[role=textbox],"
                                       "[role=searchbox],[role=combobox]')"):
                    return ActResult(action, ok=False, reason=f"{name!r} is not a text field", capture=before,
                                     seconds=time.perf_counter() - start)
                target.fill(action.text or "", timeout=self.timeout_ms)
                target.press("Enter", timeout=self.timeout_ms)
            else:
                target.click(timeout=self.timeout_ms)
            after = self.capture(screenshot=screenshot)
            return ActResult(action, ok=True, capture=after, seconds=time.perf_counter() - start)
        except Exception as exc:  # Playwright's errors: a crash, a closed page, a timeout
            message = f"{type(exc).__name__}: {exc}".splitlines()[0]
            if self.crashed or any(word in message for word in _CRASH_WORDS):
                self.crashed = self.crashed or message
                return ActResult(action, ok=False, reason=self.crashed, crashed=True,
                                 seconds=time.perf_counter() - start)
            return ActResult(action, ok=False, reason=message, capture=self.last, seconds=time.perf_counter() - start)

    def click(self, name: str, *, screenshot: bool = False) -> ActResult:
        return self.act(Action.click(name), screenshot=screenshot)

    def type_and_submit(self, name: str, text: str, *, screenshot: bool = False) -> ActResult:
        return self.act(Action.type_and_submit(name, text), screenshot=screenshot)

    def terminate(self) -> ActResult:
        """Close the page (the episode's end)."""
        return self.act(Action.terminate())


class Browser:
    """Chromium driven by Playwright, with a fresh profile (``with Browser() as browser:``).

    Args:
        headless: no window (default); ``False`` opens one (needs a display).
        executable_path: the Chromium binary (default :func:`chromium_path`).
        viewport: ``(width, height)`` of pages and screenshots (default 1280x720).
        args: extra Chromium flags after :data:`LAUNCH_ARGS`.

    Raises:
        RuntimeError: no Playwright or no Chromium (:func:`browser_unavailable` says which).
    """

    def __init__(self, *, headless: bool = True, executable_path: str | None = None,
                 viewport: tuple[int, int] = (VIEWPORT["width"], VIEWPORT["height"]),
                 args: tuple[str, ...] = ()) -> None:
        why = None if executable_path else browser_unavailable()
        if why:
            raise RuntimeError(why)
        from playwright.sync_api import sync_playwright

        self.executable_path = executable_path or chromium_path()
        self._profile = tempfile.mkdtemp(prefix="shop_env_chromium_")
        self._playwright = sync_playwright().start()
        try:
            self.context = self._playwright.chromium.launch_persistent_context(
                self._profile, executable_path=self.executable_path, headless=headless,
                args=[*LAUNCH_ARGS, *args], viewport={"width": viewport[0], "height": viewport[1]},
                service_workers="block",
            )
        except Exception:
            self._playwright.stop()
            shutil.rmtree(self._profile, ignore_errors=True)
            raise
        self.viewport = viewport

    def new_page(self, url: str | None = None, **options: Any) -> LivePage:
        """A new tab as a :class:`LivePage` (opened at ``url`` when given)."""
        blank = [p for p in self.context.pages if p.url == "about:blank"]
        page = blank[0] if blank else self.context.new_page()
        live = LivePage(page, **options)
        if url is not None:
            live.goto(url)
        return live

    def close(self) -> None:
        try:
            self.context.close()
        finally:
            self._playwright.stop()
            shutil.rmtree(self._profile, ignore_errors=True)

    def __enter__(self) -> Browser:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


# ---------------------------------------------------------------------------- screenshots for the env

def decode_png(png: bytes, size: tuple[int, int] = (VIEWPORT["width"], VIEWPORT["height"])) -> Any:
    """PNG bytes -> an ``(height, width, 3)`` uint8 array of ``size`` (cropped or padded with white; needs Pillow)."""
    import io

    import numpy as np

    try:
        from PIL import Image
    except ImportError as exc:  # pragma: no cover - Pillow comes with the [browser] extra
        raise ImportError("decoding screenshots needs Pillow (pip install -e '.[browser]')") from exc
    with Image.open(io.BytesIO(png)) as image:
        rgb = np.asarray(image.convert("RGB"), dtype=np.uint8)
    width, height = size
    out = np.full((height, width, 3), 255, dtype=np.uint8)
    h, w = min(height, rgb.shape[0]), min(width, rgb.shape[1])
    out[:h, :w] = rgb[:h, :w]
    return out


def screenshot_cache_dir() -> str:
    """Where demo corpus screenshots are cached: ``$SHOP_ENV_CACHE/screenshots`` (default ``~/.cache/shop_env``)."""
    base = os.environ.get("SHOP_ENV_CACHE") or os.path.join(os.path.expanduser("~"), ".cache", "shop_env")
    return os.path.join(base, "screenshots")


class DemoScreenshots:
    """Screenshots of demo corpus steps, made on demand through the served store and cached as PNG files.

    The first miss starts the store's server (loopback, a free port) and a headless
    Chromium in a worker thread of their own (so this works beside another Playwright
    session or inside an asyncio loop, a notebook's); both stop with :meth:`close` (or at
    exit). Files live under :func:`screenshot_cache_dir`, keyed by the demo generator's id,
    session and step.
    """

    def __init__(self, cache_dir: str | None = None) -> None:
        from .demo import GENERATOR_ID

        tag = "".join(c if c.isalnum() else "_" for c in GENERATOR_ID)
        self.cache_dir = os.path.join(cache_dir or screenshot_cache_dir(), tag)
        self._jobs: Any = None
        self._page: Any = None  # set while the worker runs
        self._thread: Any = None

    def path(self, session_id: str, step: int) -> str:
        return os.path.join(self.cache_dir, session_id, f"{int(step):03d}.png")

    def png(self, session_id: str, step: int) -> bytes:
        """The PNG of step ``step`` of demo session ``session_id`` (from the cache, else rendered now)."""
        path = self.path(session_id, step)
        if os.path.exists(path):
            with open(path, "rb") as handle:
                return handle.read()
        if self._thread is None:
            import atexit
            import queue
            import threading

            self._jobs = queue.Queue()
            ready: queue.Queue = queue.Queue()
            self._thread = threading.Thread(target=self._work, args=(ready,), daemon=True, name="shop-screenshots")
            self._thread.start()
            error = ready.get()
            if error is not None:
                self._thread = None
                raise RuntimeError(f"demo screenshots: {error}")
            atexit.register(self.close)
        from concurrent.futures import Future

        done: Future = Future()
        self._jobs.put((session_id, int(step), done))
        png = done.result(timeout=120)
        write_bytes_atomic(path, png)
        return png

    def _work(self, ready: Any) -> None:
        from .store.app import serve_in_thread

        try:
            served = serve_in_thread()
            browser = Browser()
            self._page = page = browser.new_page()
        except Exception as exc:  # no browser here: say why to the caller
            ready.put(f"{type(exc).__name__}: {exc}")
            return
        ready.put(None)
        try:
            while True:
                job = self._jobs.get()
                if job is None:
                    break
                session_id, step, done = job
                try:
                    page.page.goto(f"{served.url}/_demo/{session_id}/{step}", wait_until="load")
                    page.settle()
                    done.set_result(page.screenshot()[0])
                except Exception as exc:
                    done.set_exception(exc)
        finally:
            browser.close()
            served.stop()
            self._page = None

    def close(self) -> None:
        if self._thread is not None:
            self._jobs.put(None)
            self._thread.join(30)
            self._thread = None


# ---------------------------------------------------------------------------- measuring

def measure(rounds: int = 3) -> dict[str, Any]:
    """Timings behind docs/BROWSER.md: a shopper walk through the served store, ``rounds`` times.

    Page capture (serialize the live DOM and simplify it), viewport screenshot, one action
    by name with and without a :class:`~shop_env.record.Recorder` attached (the recorder's
    own handler time per action too), and the in-process state machine's steps per second.
    """
    import statistics
    import tempfile as _tempfile

    from .record import Recorder
    from .store import Store
    from .store.app import serve_in_thread

    captures: list[float] = []

    def walk(live: LivePage, base: str) -> list[float]:
        times = []
        captures.append(live.goto(base + "/").seconds)
        for action in (Action.click("nav_bar.search_input"), Action.type_and_submit("nav_bar.search_input", "running shoes"),
                       Action.click("refinements.customer_reviews.4_stars_and_above")):
            times.append(live.act(action).seconds)
        title = next(n for n in live.last.names if n.endswith(".product_title"))
        times.append(live.act(Action.click(title)).seconds)
        option = next((n for n in live.last.names if n.startswith("product_options.")), "add_to_cart.quantity")
        times.append(live.act(Action.click(option)).seconds)
        times.append(live.act(Action.click("add_to_cart.add_to_cart")).seconds)
        captures.extend(c.seconds for c in live.history[-6:])
        return times

    store = Store()
    out: dict[str, Any] = {}
    with serve_in_thread(store) as served, Browser() as browser:
        shots, plain, recorded, overheads, sizes = [], [], [], [], []
        for _ in range(rounds):
            live = browser.new_page()
            plain += walk(live, served.url)
            sizes += [len(c.raw) for c in live.history]
            for _k in range(3):
                shots.append(live.capture(screenshot=True).screenshot_seconds)
            live.page.close()
            live = browser.new_page()
            with _tempfile.TemporaryDirectory() as tmp, Recorder(live.page, f"{tmp}/m.jsonl") as rec:
                recorded += walk(live, served.url)
                overheads += rec.overheads
            live.page.close()

    def stats(xs: list[float]) -> dict[str, float]:
        xs = sorted(xs)
        return {"median_ms": round(1000 * statistics.median(xs), 1), "p90_ms": round(1000 * xs[int(0.9 * (len(xs) - 1))], 1),
                "n": len(xs)}

    out["page_capture"] = {**stats(captures), "median_raw_kb": round(statistics.median(sizes) / 1024, 1)}
    out["screenshot"] = stats(shots)
    out["action_without_recorder"] = stats(plain)
    out["action_with_recorder"] = stats(recorded)
    out["recorder_handler_per_action"] = stats(overheads)
    # the in-process machine: a step and its page, as a live env would use them
    state, steps, start = store.home(), 0, time.perf_counter()
    script = [Action.type_and_submit("nav_bar.search_input", "running shoes"), Action.click("sort_by.price_low_to_high"),
              Action.click("pagination.next"), Action.click("nav_bar.homepage")]
    while time.perf_counter() - start < 2.0:
        for action in script:
            state = store.step(state, action).state
            store.page(state)
            steps += 1
    out["state_machine_steps_per_s_cached_pages"] = round(steps / (time.perf_counter() - start))
    state, steps, start = store.home(), 0, time.perf_counter()
    while time.perf_counter() - start < 2.0:
        for action in script:
            state = store.step(state, action).state
            store.page(state)
            store._pages.clear()  # every page rendered anew
            steps += 1
    out["state_machine_steps_per_s_rendering"] = round(steps / (time.perf_counter() - start))
    return out


if __name__ == "__main__":
    import json as _json
    import sys as _sys

    if _sys.argv[1:2] != ["measure"]:
        print("usage: python -m shop_env.browser measure [ROUNDS]", file=_sys.stderr)
        raise SystemExit(2)
    print(_json.dumps(measure(int(_sys.argv[2]) if len(_sys.argv) > 2 else 3), indent=2))
