"""Record shopping sessions in a real browser, as OPeRA did: each action, on the page before it.

``python -m shop_env.record --url URL --out sessions.jsonl [--screenshots DIR] [--persona FILE]``
opens a headed Chromium at URL for a person to shop in (``--headless`` when a script drives
it); closing the page, or the recorder's "Done" button, ends the session. From Python::

    with Recorder(page, "out.jsonl") as rec:   # page: a Playwright page the caller drives
        page.goto(url); page.click(...)
        rec.terminate()

Rules (docs/BROWSER.md): every step is the project's action, named on the page as it was
*before* the action (its ``html`` is that page, simplified). A click on an element is a
``click`` (clicking into a field too). Typing into a field and submitting it (Enter, or its
form's submit button) is one ``type_and_submit`` with the typed text; the submit button's own
click is not a second step. Closing the page, the "Done" control or :meth:`Recorder.terminate`
records ``terminate``; a click on a purchase element (default: a name ending in
``place_order``) ends the session as a purchase. Clicks on nothing that has a name are not
actions and are skipped. Steps carry the URL, a timestamp, a click type for the store's names,
and a rationale when one is given (:meth:`Recorder.note`, or typed by the person at each
action with ``--ask-rationale``; ``rationale_source="human"``).

Each step is written as it happens: the session's line is rewritten in place and flushed to
disk, so a crash keeps every step so far and the file always loads with
``load_corpus("jsonl:out.jsonl")``.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import sys
import time
import uuid
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from .browser import SNAPSHOT_JS, element_selectors, simplify_snapshot
from .core.atomic import json_text
from .core.types import Action, Session, Step
from .splits import SPLITS

__all__ = ["RECORDER_ID", "Recorder", "click_type_of", "is_purchase", "main", "name_of_target"]

RECORDER_ID = "shop_r1_gym.record v1"
_BINDING = "__shopRecord"

_RECORDER_JS = r"""
(() => {
  if (window.__shopRecorder) return;
  const SNAP = __SNAPSHOT__;
  const OPTS = __OPTIONS__;
  const token = "t" + Math.random().toString(36).slice(2) + Date.now().toString(36);
  const doc = "d" + Math.random().toString(36).slice(2);
  window.__shopRecorder = {token, doc};
  const TEXT = new Set(["text", "search", "email", "url", "tel", "number"]);
  const isText = (el) => !!el && ((el.tagName === "INPUT" && TEXT.has((el.getAttribute("type") || "text").toLowerCase()))
    || el.tagName === "TEXTAREA" || el.isContentEditable);
  const before = new Map();
  const dirty = new Set();
  let submitted = null, submittedAt = 0;
  const send = (msg) => {
    msg.url = location.href; msg.t = Date.now(); msg.doc = doc; msg.token = token;
    try { window.__BINDING__(msg); } catch (e) { /* the recorder is gone */ }
  };
  const ask = () => OPTS.ask ? (window.prompt("Why this action? (optional)") || "") : null;
  const snap = (target, fields) => SNAP({target, token, before: fields.map((f) => [f, before.has(f) ? before.get(f) : f.defaultValue])});
  const typed = (field) => {
    const html = snap(field, [field]);
    const text = field.isContentEditable ? field.textContent : field.value;
    dirty.delete(field); before.delete(field);
    submitted = field.form || field; submittedAt = Date.now();
    send({kind: "type_and_submit", html, text, rationale: ask()});
  };
  document.addEventListener("focusin", (e) => {
    if (isText(e.target) && !before.has(e.target)) before.set(e.target, e.target.value);
  }, true);
  document.addEventListener("input", (e) => { if (isText(e.target)) dirty.add(e.target); }, true);
  document.addEventListener("keydown", (e) => {
    if (e.key === "Enter" && isText(e.target) && e.target.tagName !== "TEXTAREA" && !e.isComposing) typed(e.target);
  }, true);
  document.addEventListener("click", (e) => {
    const el = e.target;
    if (!(el instanceof Element)) return;
    const own = el.closest("[data-shop-recorder]");
    if (own) { if (own.getAttribute("data-shop-recorder") === "done") send({kind: "terminate", html: snap(null, []), rationale: ask()}); return; }
    const button = el.closest("button, input[type=submit], input[type=image]");
    const form = button && button.form;
    if (form && (button.type === "submit" || button.type === "image")) {
      if (submitted === form && Date.now() - submittedAt < 1500) return;  // Enter's implicit click
      const field = Array.from(form.elements).find((f) => dirty.has(f) && isText(f));
      if (field) { typed(field); return; }
    }
    send({kind: "click", html: snap(el, []), rationale: ask()});
  }, true);
  const settled = () => {
    let timer = null;
    const fire = () => send({kind: "page", html: snap(null, [])});
    const obs = new MutationObserver(() => { clearTimeout(timer); timer = setTimeout(fire, 150); });
    obs.observe(document.documentElement, {subtree: true, childList: true, attributes: true, characterData: true});
    timer = setTimeout(fire, 60);
    if (OPTS.done) {
      const b = document.createElement("button");
      b.textContent = "Done shopping"; b.type = "button";
      b.setAttribute("data-shop-recorder", "done");
      b.style.cssText = "position:fixed;right:12px;bottom:12px;z-index:2147483647;padding:8px 14px;background:#c00;color:#fff;border:0;border-radius:6px;font:bold 14px sans-serif;cursor:pointer";
      document.body.appendChild(b);
    }
  };
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", settled); else settled();
})();
"""

_CLICK_TYPES = (
    ("nav_bar.search", "search"), ("refinements.", "filter"), ("sort_by.", "filter"),
    ("product_options.", "product_option"), ("cart_side_bar.", "cart_side_bar"), ("pagination.", "page_related"),
    ("related_searches.", "suggested_term"), ("customer_reviews.", "review"), ("reviews_filter.", "review"),
    ("add_to_cart.", "purchase"), ("checkout.place_order", "purchase"), ("cart.proceed_to_checkout", "purchase"),
)


def click_type_of(action: Action) -> str | None:
    """The OPeRA click type of a click on the store's names (``"other"`` for other names; None for non-clicks)."""
    if action.type != "click" or not action.name:
        return None
    name = action.name
    for prefix, kind in _CLICK_TYPES:
        if name.startswith(prefix):
            return kind
    if name.endswith((".product_title", ".product_image")):
        return "product_link"
    if name.endswith(".ratings_count"):
        return "review"
    return "other"


def is_purchase(action: Action) -> bool:
    """The default purchase rule: a click on an element named ``...place_order``."""
    return action.type == "click" and (action.name or "").rsplit(".", 1)[-1] == "place_order"


def name_of_target(raw: str, token: str) -> tuple[str | None, str]:
    """``(name, clean page)``: the name of the element marked ``data-shop-target=token`` in a
    snapshot, or of its nearest named ancestor (None when nothing named holds it), and the
    snapshot without the mark (the page the step records)."""
    from lxml import etree
    from lxml import html as lxml_html

    mark = f' data-shop-target="{token}"'
    clean = raw.replace(mark, "")
    if mark not in raw:
        return None, clean
    marked = lxml_html.document_fromstring(raw)
    hit = marked.xpath(f'//*[@data-shop-target="{token}"]')
    if not hit:
        return None, clean
    path = marked.getroottree().getpath(hit[0])
    tree = lxml_html.document_fromstring(clean)
    named: dict[Any, str] = {}
    for name, selector in element_selectors(clean).items():
        kind, _, expr = selector.partition("=")
        try:
            if kind == "xpath":
                found = tree.xpath(expr)
            else:  # the [data-shop-name] fallback of element_selectors
                found = [e for e in tree.iter() if isinstance(e.tag, str) and e.get("data-shop-name") == name]
        except etree.XPathError:
            found = []
        if found and isinstance(found[0], etree._Element):
            named.setdefault(found[0], name)
    target = tree.getroottree().xpath(path)
    element = target[0] if target else None
    while element is not None:
        if element in named:
            return named[element], clean
        element = element.getparent()
    return None, clean


class Recorder:
    """Record what happens on a Playwright page as one session (a context manager).

    Args:
        page: a Playwright ``Page`` (sync API); attach before the first navigation to record from its start.
        out: the JSONL file; sessions are appended (earlier lines are kept).
        screenshots: a folder for viewport PNGs of each step's page (``None``: no screenshots).
        split: the session's ``"split"`` (``train``, ``valid``, ``test``).
        persona: the shopper's persona (a dict, stored in the session).
        session_id: default ``rec-<UTC time>-<random>``.
        ask_rationale: ask the person for a rationale at each action (a browser prompt).
        done_button: put a "Done shopping" button on every page (it records ``terminate``).
        purchase: which click is a purchase (ends the session, outcome ``"purchase"``).
        metadata: extra session metadata.
    """

    def __init__(self, page: Any, out: str | os.PathLike[str], *, screenshots: str | os.PathLike[str] | None = None,
                 split: str = "train", persona: Mapping[str, Any] | None = None, session_id: str | None = None,
                 ask_rationale: bool = False, done_button: bool = False,
                 purchase: Callable[[Action], bool] = is_purchase, metadata: Mapping[str, Any] | None = None) -> None:
        if split not in SPLITS:
            raise ValueError(f"unknown split {split!r}; expected one of {SPLITS}")
        self.page, self.out, self.split = page, Path(out), split
        self.screenshots = Path(screenshots) if screenshots is not None else None
        self.persona = dict(persona) if persona is not None else None
        stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
        self.session_id = session_id or f"rec-{stamp}-{secrets.token_hex(3)}"
        self.purchase, self.ask_rationale = purchase, ask_rationale
        self.metadata = {"recorded": True, "recorder": RECORDER_ID, **(metadata or {})}
        self.steps: list[Step] = []
        self.outcome = "terminate"
        self.done = False
        self.skipped: list[str] = []
        self.overheads: list[float] = []
        self._note: str | None = None
        self._last_page: dict[str, Any] | None = None
        self._shot: tuple[str, bytes] | None = None
        self.out.parent.mkdir(parents=True, exist_ok=True)
        self._file = open(self.out, "a+b")  # noqa: SIM115 - held open for the session, closed in close()
        self._file.seek(0, os.SEEK_END)
        if self._file.tell() and not self._ends_with_newline():
            self._file.write(b"\n")
        self._start = self._file.tell()
        options = json.dumps({"ask": bool(ask_rationale), "done": bool(done_button)})
        script = (_RECORDER_JS.replace("__SNAPSHOT__", SNAPSHOT_JS.strip()).replace("__OPTIONS__", options)
                  .replace("__BINDING__", _BINDING))
        page.expose_binding(_BINDING, self._on_message)
        page.add_init_script(script)
        if ask_rationale:
            page.on("dialog", lambda dialog: None)  # leave the prompt open for the person
        page.on("close", self._on_close)
        if page.url not in ("about:blank", ""):
            page.evaluate(script)

    def _ends_with_newline(self) -> bool:
        self._file.seek(-1, os.SEEK_END)
        last = self._file.read(1)
        self._file.seek(0, os.SEEK_END)
        return last == b"\n"

    # ------------------------------------------------------------------ the API
    def note(self, rationale: str) -> None:
        """The rationale of the next recorded step (``rationale_source="human"``)."""
        self._note = rationale

    def terminate(self, rationale: str | None = None) -> None:
        """End the session with a ``terminate`` step on the current page."""
        if self.done:
            return
        raw = None
        try:
            if not self.page.is_closed():
                raw = self.page.evaluate(SNAPSHOT_JS)
        except Exception:  # the page is going away: use the last page it reported
            raw = None
        if raw is None and self._last_page is not None:
            raw = self._last_page["html"]
        if raw is None:
            self.done = True
            return
        url = self.page.url if not self.page.is_closed() else (self._last_page or {}).get("url")
        self._add(raw, Action.terminate(), url, time.time(), rationale if rationale is not None else self._note,
                  self._screenshot_now(raw))
        self.done = True

    def sync(self, timeout_s: float = 10.0) -> bool:
        """Wait until the recorder has seen the page now on screen whole: its report and, with
        screenshots on, its screenshot. A script driving the page calls this before each action
        (a person does not act on a page still loading): an action taken earlier is recorded
        on the page as reported last, without a screenshot. True when in step.
        """
        deadline = time.monotonic() + timeout_s
        while not self.done and time.monotonic() < deadline:
            try:
                doc = self.page.evaluate("() => window.__shopRecorder && window.__shopRecorder.doc")
            except Exception:  # navigating: the next report is on its way
                doc = None
            seen = doc is not None and self._last_page is not None and self._last_page.get("doc") == doc
            if seen and (self.screenshots is None or (self._shot is not None and self._shot[0] == doc)):
                return True
            self.page.wait_for_timeout(20)  # lets the page's reports reach the recorder
        return False

    def close(self) -> None:
        """Stop recording (the session stays as recorded; call :meth:`terminate` to end it with a step)."""
        self.done = True
        if not self._file.closed:
            self._file.close()

    def __enter__(self) -> Recorder:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def session(self) -> Session | None:
        """The session recorded so far (None before the first step)."""
        if not self.steps:
            return None
        return Session(self.session_id, tuple(self.steps), persona=self.persona, outcome=self.outcome,
                       metadata=dict(self.metadata))

    # ------------------------------------------------------------------ events
    def _on_close(self, *_: Any) -> None:
        if not self.done and self._last_page is not None:
            self._add(self._last_page["html"], Action.terminate(), self._last_page.get("url"), time.time(),
                      self._note, self._shot[1] if self._shot and self._shot[0] == self._last_page.get("doc") else None)
        self.done = True

    def _on_message(self, source: Any, message: Mapping[str, Any]) -> None:
        if self.done or not isinstance(message, Mapping):
            return
        kind = message.get("kind")
        if kind == "page":
            self._last_page = dict(message)
            if self.screenshots is not None:
                try:
                    self._shot = (message.get("doc"), self.page.screenshot(type="png", full_page=False))
                except Exception:  # navigating away already
                    self._shot = None
            return
        start = time.perf_counter()
        raw = message.get("html") or ""
        when = float(message.get("t") or time.time() * 1000) / 1000
        shot = self._shot[1] if self._shot and self._shot[0] == message.get("doc") else None
        rationale = message.get("rationale") or self._note
        if kind == "terminate":
            self._add(raw, Action.terminate(), message.get("url"), when, rationale, shot)
            self.done = True
            return
        name, clean = name_of_target(raw, str(message.get("token")))
        if name is None:
            self.skipped.append(f"{kind} on an element without a name at {message.get('url')}")
            return
        if kind == "type_and_submit":
            text = str(message.get("text") or "")
            if not text.strip():
                self.skipped.append(f"an empty submission of {name!r}")
                return
            action = Action.type_and_submit(name, text)
        else:
            action = Action.click(name)
        if self.purchase(action):
            self.outcome = "purchase"
            self.done = True
        self._add(clean, action, message.get("url"), when, rationale, shot)
        self.overheads.append(time.perf_counter() - start)

    def _screenshot_now(self, raw: str) -> bytes | None:
        if self.screenshots is None:
            return None
        try:
            return self.page.screenshot(type="png", full_page=False)
        except Exception:
            return self._shot[1] if self._shot else None

    def _add(self, raw: str, action: Action, url: str | None, when: float, rationale: str | None,
             shot: bytes | None) -> None:
        html, _names = simplify_snapshot(raw)
        k = len(self.steps)
        path = None
        if self.screenshots is not None and shot is not None:
            folder = self.screenshots / self.session_id
            folder.mkdir(parents=True, exist_ok=True)
            path = folder / f"{k:03d}.png"
            path.write_bytes(shot)
        step = Step(
            html=html, action=action, rationale=rationale, rationale_source="human" if rationale else None,
            url=url, click_type=click_type_of(action),
            timestamp=time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(when)) + f".{int(when * 1000) % 1000:03d}Z",
            action_id=str(uuid.uuid4()), page_meta={}, screenshot=str(path.resolve()) if path else None,
        )
        self.steps.append(step)
        self._note = None
        self._write()

    def _write(self) -> None:
        from .sources.jsonl import _record

        session = self.session()
        if session is None or self._file.closed:
            return
        record = _record(session, self.split, self.out.resolve().parent)
        line = json_text(record, separators=(",", ":")).encode("utf-8") + b"\n"  # lone surrogates escaped
        self._file.seek(self._start)
        self._file.truncate()
        self._file.write(line)
        self._file.flush()
        os.fsync(self._file.fileno())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m shop_env.record", description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", required=True, help="the page to start at (the only site contacted)")
    parser.add_argument("--out", required=True, help="JSONL file the session is appended to")
    parser.add_argument("--screenshots", help="folder for a viewport PNG of each step's page")
    parser.add_argument("--persona", help="JSON file with the shopper's persona")
    parser.add_argument("--split", default="train", choices=SPLITS, help="the session's split (default train)")
    parser.add_argument("--session-id", help="default rec-<UTC time>-<random>")
    parser.add_argument("--ask-rationale", action="store_true", help="ask for a rationale at each action")
    parser.add_argument("--headless", action="store_true", help="no window (a script drives the page)")
    parser.add_argument("--max-minutes", type=float, default=120.0, help="stop recording after this long")
    args = parser.parse_args(argv)
    from .browser import Browser

    persona = json.loads(Path(args.persona).read_text(encoding="utf-8")) if args.persona else None
    with Browser(headless=args.headless) as browser:
        live = browser.new_page()
        rec = Recorder(live.page, args.out, screenshots=args.screenshots, split=args.split, persona=persona,
                       session_id=args.session_id, ask_rationale=args.ask_rationale, done_button=True)
        with rec:
            live.page.goto(args.url, wait_until="load")
            print(f"recording {rec.session_id} to {args.out}: shop, then close the page or press 'Done shopping'",
                  flush=True)
            deadline = time.monotonic() + args.max_minutes * 60
            while not rec.done and time.monotonic() < deadline and not live.page.is_closed():
                try:
                    live.page.wait_for_timeout(200)
                except Exception:  # the person closed the page or the browser
                    break
            if not rec.done:
                rec.terminate()
        print(f"recorded {len(rec.steps)} steps ({rec.outcome})", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
