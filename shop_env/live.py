"""``LiveShopEnv`` (``ShopR1-Live-v0``): a shopper acts in a store and the store answers.

Replay (:class:`~shop_env.env.ShopSessionEnv`) scores the next step against a person's own
history; here the agent shops on its own. ``reset`` puts a shopper with a goal (a WebShop
instruction, shown in the observation) on the store's home page, or, with
``options={"session_id": ...}``, rebuilds a corpus session's goal and store (and, with
``start="session"``, its first page). ``step`` takes the same JSON answers as replay; the
store answers with the next page. Two store back ends share one interface:

- ``store="demo"`` (default): the in-process demo store (:class:`shop_env.store.Store`), no
  browser, thousands of steps a second;
- ``store="http://..."``: Chromium on that URL (:mod:`shop_env.browser`; the ``[browser]``
  extra), for the served store (``python -m shop_env.store serve``) or any site whose pages
  the simplifier names.

docs/SIMULATION.md documents the rules (implicit back, the outcome reward, recording).
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import gymnasium as gym
import numpy as np

from .context import DEFAULT_TOKEN_BUDGET, ContextBuilder, ContextConfig, EpisodeContext, TokenCounter
from .core.protocol import parse_response
from .core.types import Action, Session, Step
from .spaces import ResponseSpace, StringSpace

__all__ = [
    "DEMO_STORE",
    "LIVE_REWARDS",
    "BrowserStore",
    "DemoStore",
    "Goal",
    "LiveEvent",
    "LiveShopEnv",
    "OutcomeReward",
    "PageView",
    "click_type_for",
    "goal_match",
]

DEMO_STORE = "demo"
_STARTS = ("home", "session")
_BACKS = ("implicit", "none")
_GOAL_HEADER = "[My shopping goal]\n{goal}\n\n"
#: How many earlier pages implicit back looks through (the browser's back button, pressed up to this often).
MAX_BACK = 10


# ---------------------------------------------------------------------------- goals and pages
@dataclass(frozen=True)
class Goal:
    """What a live episode pursues: the instruction, the store's seed and where it starts.

    ``session_id`` is the corpus session the goal came from (None for a goal given by hand);
    ``session_key`` seeds the demo store's catalogue (the session id rebuilds that session's
    store); ``start_url`` is the first page's URL when the episode starts where the session did.
    """

    text: str
    session_key: str
    session_id: str | None = None
    start_url: str | None = None
    persona: Mapping[str, Any] | None = None
    user_id: str | None = None


@dataclass(frozen=True)
class PageView:
    """A page as the env sees it: simplified HTML, its element names, URL and metadata."""

    html: str
    names: frozenset[str]
    url: str | None = None
    meta: Mapping[str, Any] = field(default_factory=dict)
    state: Mapping[str, Any] | None = None


@dataclass(frozen=True)
class ActResult:
    """What the store did with an action (``ok`` False: nothing, ``reason`` says why)."""

    ok: bool
    reason: str | None = None
    done: bool = False
    outcome: str | None = None


class DemoStore:
    """The in-process demo store as a live back end: a state, a back stack, the store's machine."""

    kind = "demo"

    def __init__(self) -> None:
        self.store: Any = None
        self.state: dict[str, Any] = {}
        self.stack: list[dict[str, Any]] = []  # earlier pages, oldest first (the browser's history)

    def start(self, goal: Goal) -> None:
        from .store import Store

        if self.store is None or (self.store.session_key, self.store.goal) != (goal.session_key, goal.text):
            self.store = Store(goal.session_key, goal.text)
        state = self.store.state_from_url(goal.start_url) if goal.start_url else None
        self.state = state if state is not None else self.store.home()
        self.stack = []

    def _view(self, state: Mapping[str, Any]) -> PageView:
        return PageView(self.store.page(state), self.store.names(state), self.store.url(state),
                        self.store.meta(state), state)

    def current(self) -> PageView:
        return self._view(self.state)

    def back_pages(self) -> list[PageView]:
        """The earlier pages, newest first (at most :data:`MAX_BACK`)."""
        return [self._view(s) for s in reversed(self.stack[-MAX_BACK:])]

    def go_back(self, k: int) -> None:
        """Press back ``k`` times; the cart stays as it is (it lives in the shopper's session, not the page)."""
        target = dict(self.stack[-k])
        del self.stack[-k:]
        target.pop("c", None)
        if self.state.get("c"):
            target["c"] = [list(line) for line in self.state["c"]]
        self.state = target

    def act(self, action: Action) -> ActResult:
        from .store import state_key

        t = self.store.step(self.state, action)
        if t.ok and not t.done and t.effect == "navigate" and state_key(t.state) != state_key(self.state):
            self.stack.append(self.state)
        if t.ok:
            self.state = t.state
        return ActResult(t.ok, t.reason, t.done, t.outcome)

    def purchased(self) -> list[dict[str, Any]]:
        """The lines of the order just placed: title, price, chosen colour and size, quantity."""
        out = []
        for index, color, size, quantity in self.state.get("ol", ()):
            p = self.store.products[index]
            out.append({"title": p.title, "price_cents": p.price_cents, "color": color, "size": size,
                        "quantity": int(quantity), "asin": p.asin})
        return out

    def close(self) -> None:
        pass


class BrowserStore:
    """Chromium on a URL as a live back end (:mod:`shop_env.browser`; the ``[browser]`` extra).

    Args:
        url: the store's base URL (``http://127.0.0.1:8000/``).
        purchase: a regular expression; a successful click on a matching name is a purchase
            and ends the episode (default: a name ending in ``place_order``, the recorder's rule).
        headless: no window (default).

    What was bought is not known on an arbitrary site: :meth:`purchased` is empty, and the
    default outcome reward pays a purchase as such (docs/SIMULATION.md).
    """

    kind = "browser"

    def __init__(self, url: str, *, purchase: str = r"(^|\.)place_order$", headless: bool = True) -> None:
        self.base = url.rstrip("/")
        self.purchase = re.compile(purchase)
        self.headless = headless
        self._browser: Any = None
        self.page: Any = None
        self.stack: list[str] = []
        self._bought = False

    def _url(self, path_or_url: str) -> str:
        return path_or_url if "://" in path_or_url else self.base + "/" + path_or_url.lstrip("/")

    @staticmethod
    def _view(capture: Any) -> PageView:
        return PageView(capture.html, frozenset(capture.names), capture.url, {})

    def start(self, goal: Goal) -> None:
        from .browser import Browser

        if self._browser is None:
            self._browser = Browser(headless=self.headless)
        if self.page is not None and not self.page.closed:
            self.page.page.close()
        self._browser.context.clear_cookies()  # a fresh cart for each shopper
        self.page = self._browser.new_page()
        self.page.goto(self._url(goal.start_url or "/"))
        self.stack, self._bought = [], False

    def current(self) -> PageView:
        return self._view(self.page.last)

    def back_pages(self) -> list[PageView]:
        by_url = {c.url: c for c in self.page.history}
        return [self._view(by_url[u]) for u in reversed(self.stack[-MAX_BACK:]) if u in by_url]

    def go_back(self, k: int) -> None:
        target = self.stack[-k]
        del self.stack[-k:]
        self.page.goto(target)

    def act(self, action: Action) -> ActResult:
        before = self.page.last.url
        result = self.page.act(action)
        if result.closed:
            return ActResult(True, None, True, "terminate")
        if result.crashed:
            return ActResult(False, result.reason, True, "terminate")
        if not result.ok:
            return ActResult(False, result.reason)
        if self.purchase.search(action.name or ""):
            self._bought = True
            return ActResult(True, None, True, "purchase")
        if result.capture is not None and result.capture.url != before:
            self.stack.append(before)
        return ActResult(True)

    def purchased(self) -> list[dict[str, Any]]:
        return []

    def close(self) -> None:
        if self._browser is not None:
            self._browser.close()
            self._browser = None

    def __getstate__(self) -> dict[str, Any]:
        raise TypeError("a browser store cannot be pickled (it holds a running Chromium)")


# ---------------------------------------------------------------------------- rewards
@dataclass(frozen=True)
class LiveEvent:
    """What a live reward sees after each step."""

    goal: str
    action: Action | None
    ok: bool
    done: bool
    outcome: str | None
    purchased: Sequence[Mapping[str, Any]]
    steps: int
    store: str


def goal_match(goal: str, line: Mapping[str, Any]) -> dict[str, float]:
    """How well one purchased line matches a goal, WebShop style.

    ``(attributes matched + options matched + price within the cap) / (attributes + options + 1)``
    where the attributes are the goal's content words (:func:`shop_env.demo.text.parse_goal`,
    colour, size, the price cap and the words "size", "color", "pack" left out) found in the product's title,
    the options the colour and size the goal asks for, compared with the line's chosen ones, and
    the price counts as met when the goal names no cap.
    """
    from .demo.text import parse_goal, tokens

    info = parse_goal(goal)
    price = f"{info.max_price:.2f}" if info.max_price is not None else None
    words = [w for w in dict.fromkeys(info.words) if w not in (info.color, info.size, "size", "color", "pack", price)]
    title = set(tokens(str(line.get("title", ""))))
    attributes = sum(1 for w in words if w in title)
    wanted = {k: v for k, v in (("color", info.color), ("size", info.size)) if v}
    options = sum(1 for k, v in wanted.items() if str(line.get(k) or "").lower() == v.lower())
    price_ok = info.max_price is None or int(line.get("price_cents", 0)) <= round(info.max_price * 100)
    total = (attributes + options + int(price_ok)) / (len(words) + len(wanted) + 1)
    return {"total": total, "attributes": attributes / len(words) if words else 1.0,
            "options": options / len(wanted) if wanted else 1.0, "price": float(price_ok)}


class OutcomeReward:
    """The default live reward: 0 on every step but the last; at the end, a purchase pays its
    best line's :func:`goal_match` (1.0 when every attribute, option and the price match), or
    1.0 where the store cannot say what was bought (a browser store); leaving pays 0.
    ``binary=True`` pays 1.0 only for a purchase that matches fully."""

    def __init__(self, binary: bool = False) -> None:
        self.binary = binary
        self.name = "outcome_binary" if binary else "outcome"

    def __call__(self, event: LiveEvent) -> dict[str, Any]:
        if not event.done or event.outcome != "purchase":
            return {"total": 0.0, "components": {}}
        if not event.purchased:
            return {"total": 1.0, "components": {"purchase": 1.0}}
        best = max((goal_match(event.goal, line) for line in event.purchased), key=lambda m: m["total"])
        total = float(best["total"] >= 1.0 - 1e-12) if self.binary else best["total"]
        return {"total": total, "components": {k: v for k, v in best.items() if k != "total"}}


def _purchase_reward(event: LiveEvent) -> dict[str, Any]:
    bought = float(event.done and event.outcome == "purchase")
    return {"total": bought, "components": {"purchase": bought}}


#: Live rewards by name; ``reward=`` also takes any callable ``LiveEvent -> float | {"total": ...}``.
LIVE_REWARDS: dict[str, Callable[[], Callable[[LiveEvent], Any]]] = {
    "outcome": OutcomeReward,
    "outcome_binary": lambda: OutcomeReward(binary=True),
    "purchase": lambda: _purchase_reward,
}


def _live_reward(reward: Any) -> Callable[[LiveEvent], Any]:
    if isinstance(reward, str):
        if reward not in LIVE_REWARDS:
            raise ValueError(f"unknown live reward {reward!r}; known: {sorted(LIVE_REWARDS)} (or pass a callable)")
        return LIVE_REWARDS[reward]()
    if not callable(reward):
        raise TypeError(f"reward must be a name or a callable LiveEvent -> float, got {type(reward).__name__}")
    return reward


# ---------------------------------------------------------------------------- click types
_CLICK_RULES: tuple[tuple[str, str], ...] = (
    (r"(^|\.)(place_order|buy_now|add_to_cart|proceed_to_checkout)$", "purchase"),
    (r"^cart_side_bar\.", "cart_side_bar"),
    (r"\.quantity$", "quantity"),
    (r"^cart\..*\.select$", "cart_page_select"),
    (r"(review|ratings_count|_star$|average_stars)", "review"),
    (r"(search_input|search_button)$", "search"),
    (r"^related_searches\.", "suggested_term"),
    (r"^(refinements|sort_by)\.", "filter"),
    (r"^pagination\.", "page_related"),
    (r"^product_options\.", "product_option"),
    (r"\.(product_title|product_image)$", "product_link"),
)


def click_type_for(action: Action) -> str | None:
    """OPeRA's click type of an action on a store page, from the element's name (None for no click).

    The demo shopper's own labels agree on most steps (``tests/test_live.py`` measures it).
    """
    if action.type != "click":
        return None
    name = action.name or ""
    for pattern, kind in _CLICK_RULES:
        if re.search(pattern, name):
            return kind
    return "other"


# ---------------------------------------------------------------------------- the env
class LiveShopEnv(gym.Env[str, str]):
    """Gymnasium env where a shopper acts in a store and the store answers (closed loop).

    ## Description

    A shopper with a goal (a WebShop instruction from the corpus's sessions, or one given in
    ``reset(options={"goal": ...})``) starts on the store's home page; each answer is an
    action on the current page, and the store answers with the next page: search results,
    filters, product pages, options, cart, checkout and the order follow from the actions.

    ## Action Space

    The answer string of the answer protocol (:mod:`shop_env.core.protocol`), as in replay.
    An answer that does not parse does nothing (``info["parse_error"]`` says why) and still
    counts as a step. ``action_space.sample()`` gives a valid answer on the current page.

    ## Observation Space

    A string: ``[My shopping goal]`` with the goal, then the shared context builder's user
    turn (persona optional, past pages and actions under the history mode and token budget,
    the current page), as replay builds it.

    ## Rewards

    Pluggable (``reward``): ``"outcome"`` (default) pays at the end only: a purchase earns its
    best line's WebShop-style match with the goal (:func:`goal_match`), leaving earns 0;
    ``"outcome_binary"`` pays 1 for a fully matching purchase; ``"purchase"`` 1 for any
    purchase; or any callable ``LiveEvent -> float | {"total": float, ...}``.

    ## Starting State

    ``reset()``: the next goal of a seeded order over the corpus split; ``options``:
    ``session_id`` / ``session_index`` (that session's goal and store), ``goal`` (a goal
    text, with an optional ``session_key`` seeding the demo store), ``start`` (``"home"``
    or ``"session"``: the session's first page).

    ## Episode End

    Terminated on ``terminate`` or a purchase (a successful ``place_order``); truncated after
    ``max_steps`` steps (the registered id's ``max_episode_steps`` is 50).

    ## Info

    ``goal``, ``session_id`` (the goal's corpus session), ``step_index`` (steps taken),
    ``page``, ``past_actions``, ``candidates`` (the page's elements), ``url``, ``outcome``
    (``None`` until the end, then ``"purchase"`` or ``"terminate"``), ``reward`` (the
    breakdown); after a step also ``action`` (parsed, or None), ``parse_error``, ``ok`` and
    ``reason`` (the store's answer), ``back`` (pages gone back first, implicit back),
    ``rationale``. ``recorded_session()`` is the episode as a corpus :class:`Session`.

    ## Arguments

    Args:
        corpus: where goals come from (a source string or a :class:`~shop_env.corpus.Corpus`;
            its sessions need ``metadata["goal"]``, as the demo corpus's have).
        split: the corpus split.
        store: ``"demo"`` (in-process store), an ``http(s)://`` URL (Chromium), or a back end.
        reward: ``"outcome"``, ``"outcome_binary"``, ``"purchase"`` or a callable.
        history, include_rationales, persona, token_budget, token_counter: the context
            builder's settings (:class:`~shop_env.context.ContextConfig`), as in replay.
        start: ``"home"`` (default) or ``"session"`` (a corpus session's first page).
        back: ``"implicit"`` (default): an action whose element is not on the page but on an
            earlier one (at most :data:`MAX_BACK` back) goes back there first, as a shopper's
            back button does (OPeRA records no back action); ``"none"``: it is rejected.
        parse_mode: ``"strict"`` (default) or ``"lenient"`` answer parsing.
        order: ``"shuffle"`` or ``"sequential"`` order of goals.
        max_steps: truncate after this many steps (None: only the registration's limit).
        render_mode: ``None``, ``"ansi"`` or ``"html"``.
        corpus_options: extra loader options.
    """

    metadata = {"render_modes": ["ansi", "html"], "render_fps": 1}

    def __init__(
        self,
        corpus: Any = "demo",
        split: str = "train",
        store: Any = DEMO_STORE,
        reward: Any = "outcome",
        history: str | int = "full",
        include_rationales: bool = False,
        persona: bool = False,
        token_budget: int | None = DEFAULT_TOKEN_BUDGET,
        token_counter: TokenCounter | None = None,
        start: str = "home",
        back: str = "implicit",
        parse_mode: str = "strict",
        order: str = "shuffle",
        max_steps: int | None = None,
        render_mode: str | None = None,
        corpus_options: Mapping[str, Any] | None = None,
    ) -> None:
        from .env import env_corpus

        if start not in _STARTS:
            raise ValueError(f"start must be one of {_STARTS}, got {start!r}")
        if back not in _BACKS:
            raise ValueError(f"back must be one of {_BACKS}, got {back!r}")
        if order not in ("shuffle", "sequential"):
            raise ValueError(f"order must be 'shuffle' or 'sequential', got {order!r}")
        if render_mode is not None and render_mode not in self.metadata["render_modes"]:
            raise ValueError(f"render_mode must be one of {self.metadata['render_modes']} or None, got {render_mode!r}")
        if max_steps is not None and max_steps < 1:
            raise ValueError(f"max_steps must be >= 1 or None, got {max_steps}")
        self.corpus = env_corpus(corpus, split, corpus_options)
        if isinstance(store, str):
            self.backend: Any = DemoStore() if store == DEMO_STORE else (
                BrowserStore(store) if re.match(r"https?://", store) else None)
            if self.backend is None:
                raise ValueError(f"store must be 'demo' or an http(s):// URL, got {store!r}")
            self.store_name = store
        else:
            self.backend, self.store_name = store, getattr(store, "kind", type(store).__name__)
        self.reward = _live_reward(reward)
        self.reward_name = reward if isinstance(reward, str) else getattr(reward, "name", type(reward).__name__)
        self.context = ContextBuilder(ContextConfig(history=history, include_rationales=include_rationales,
                                                    persona=persona, token_budget=token_budget),
                                      token_counter=token_counter)
        self.start, self.back, self.parse_mode, self.order = start, back, parse_mode, order
        self.max_steps, self.render_mode = max_steps, render_mode
        self.action_space = ResponseSpace()
        self.observation_space = StringSpace(page_source=self.action_space)
        self._order: np.ndarray | None = None
        self._cursor = 0
        self.goal: Goal | None = None
        self._steps: list[Step] = []
        self._taken = 0
        self._done = True
        self._outcome: str | None = None
        self._facts: dict[str, Any] = {}
        self._last: dict[str, Any] = {}
        self._ctx: EpisodeContext | None = None
        self._goal_cost = 0

    # -- goals -----------------------------------------------------------------------------
    def _goal_of(self, index: int, start: str) -> Goal:
        session = self.corpus[index]
        text = session.metadata.get("goal")
        if not isinstance(text, str) or not text.strip():
            raise ValueError(f"session {session.session_id!r} has no goal (metadata['goal']): the live env "
                             "needs goals, as the demo corpus's sessions have")
        return Goal(text, session.session_id, session.session_id,
                    session.steps[0].url if start == "session" else None, session.persona, session.user_id)

    def _next_index(self) -> int:
        if self._order is None or self._cursor >= len(self._order):
            n = len(self.corpus)
            self._order = self.np_random.permutation(n) if self.order == "shuffle" else np.arange(n)
            self._cursor = 0
        index = int(self._order[self._cursor])
        self._cursor += 1
        return index

    # -- Gymnasium API -----------------------------------------------------------------------
    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None) -> tuple[str, dict[str, Any]]:
        super().reset(seed=seed)
        if seed is not None:
            self._order = None
        options = dict(options or {})
        start = options.get("start", self.start)
        if start not in _STARTS:
            raise ValueError(f"start must be one of {_STARTS}, got {start!r}")
        if "goal" in options:
            text = str(options["goal"])
            if not text.strip():
                raise ValueError("options['goal'] must be a non-empty instruction")
            key = str(options.get("session_key") or "live-" + uuid.uuid5(uuid.NAMESPACE_URL, text).hex[:12])
            goal = Goal(text, key, None, options.get("start_url"))
        elif "session_id" in options:
            goal = self._goal_of(self.corpus.index_of(str(options["session_id"])), start)
        elif "session_index" in options:
            index = int(options["session_index"])
            if not 0 <= index < len(self.corpus):
                raise IndexError(f"session_index {index} out of range for {len(self.corpus)} sessions")
            goal = self._goal_of(index, start)
        else:
            goal = self._goal_of(self._next_index(), start)
        self.goal = goal
        self.backend.start(goal)
        self._steps, self._taken, self._done, self._outcome = [], 0, False, None
        self._facts = {"rejected": [], "backs": [], "parse_failures": 0, "truncated": False}
        self._last = {}
        self._ctx = None
        self._goal_cost = self.context.count(_GOAL_HEADER.format(goal=goal.text))
        obs = self._observe()
        return obs, self._info({"total": 0.0, "components": {}})

    def step(self, action: Any) -> tuple[str, float, bool, bool, dict[str, Any]]:
        if self._done or self.goal is None:
            raise RuntimeError("step() called on a finished episode: call reset() first")
        text = getattr(action, "text", action)
        parsed = parse_response(text if isinstance(text, str) else "", self.parse_mode)
        self._taken += 1
        act: Action | None = parsed.action if parsed.ok else None
        result, back = ActResult(False, parsed.error), 0
        if act is None:
            self._facts["parse_failures"] += 1
        else:
            if self.back == "implicit" and act.type != "terminate" and act.name not in self.backend.current().names:
                for k, page in enumerate(self.backend.back_pages(), start=1):
                    if act.name in page.names:
                        self.backend.go_back(k)
                        back = k
                        break
            page = self.backend.current()
            result = self.backend.act(act)
            index = len(self._steps)
            if back:
                self._facts["backs"].append(index)
                if self._ctx is not None:  # the page block cached for this index showed the page left behind
                    self._ctx._pages.pop(index, None)
            if not result.ok:
                self._facts["rejected"].append(index)
            self._steps.append(Step(html=page.html, action=act, rationale=parsed.rationale,
                                    rationale_source="simulated", url=page.url, click_type=click_type_for(act),
                                    page_meta=dict(page.meta)))
        terminated = bool(result.done)
        if terminated:
            self._outcome = result.outcome or "terminate"
        truncated = not terminated and self.max_steps is not None and self._taken >= self.max_steps
        self._facts["truncated"] = truncated
        self._done = terminated or truncated
        event = LiveEvent(self.goal.text, act, result.ok, terminated, self._outcome,
                          tuple(self.backend.purchased()) if terminated else (), self._taken, self.store_name)
        breakdown = self._breakdown(self.reward(event))
        self._last = {"action": act, "parse_error": None if parsed.ok else parsed.error, "ok": result.ok,
                      "reason": result.reason, "back": back, "rationale": parsed.rationale}
        obs = "" if terminated else self._observe()
        return obs, float(breakdown["total"]), terminated, truncated, self._info(breakdown)

    @staticmethod
    def _breakdown(value: Any) -> dict[str, Any]:
        if isinstance(value, Mapping):
            return {"total": float(value["total"]), "components": dict(value.get("components", {}))}
        return {"total": float(value), "components": {}}

    def _session(self, page: PageView) -> Session:
        """The episode so far plus the current page (its action a placeholder the builder never shows)."""
        assert self.goal is not None
        steps = (*self._steps, Step(html=page.html, action=Action.terminate(), url=page.url))
        return Session(self.goal.session_id or self.goal.session_key, steps, user_id=self.goal.user_id,
                       persona=self.goal.persona)

    def _observe(self) -> str:
        page = self.backend.current()
        session = self._session(page)
        if self._ctx is None:
            budget = self.context.config.token_budget
            builder = self.context
            if budget is not None:  # the goal is part of the turn: the rest gets what is left
                from dataclasses import replace

                builder = ContextBuilder(replace(self.context.config, token_budget=max(64, budget - self._goal_cost)),
                                         token_counter=self.context.count)
            self._ctx = builder.episode(session)
        else:
            # earlier blocks depend only on earlier steps, which never change: keep their cache
            self._ctx.session = session
            self._ctx._views.clear()
        t = len(self._steps)
        obs = _GOAL_HEADER.format(goal=self.goal.text) + self._ctx.observation(t)  # type: ignore[union-attr]
        self._view = self._ctx.view(t)
        self._page = page
        self.action_space.set_page(page.html)
        return obs

    def _info(self, breakdown: Mapping[str, Any]) -> dict[str, Any]:
        from .html import candidates

        assert self.goal is not None
        info: dict[str, Any] = {
            "goal": self.goal.text,
            "session_id": self.goal.session_id,
            "step_index": self._taken,
            "outcome": self._outcome,
            "reward": dict(breakdown),
            "store": self.store_name,
        }
        info.update(self._last)
        if self._outcome is None:
            page = self._page
            info["page"], info["past_actions"] = self._view.page, list(self._view.past_actions)
            info["url"] = page.url
            try:
                info["candidates"] = candidates(page.html)
            except Exception:
                info["candidates"] = []
        return info

    # -- recording, rendering ------------------------------------------------------------------
    def recorded_session(self, session_id: str | None = None, **metadata: Any) -> Session:
        """The episode as a corpus session (the JSONL format): each parsed action on the page it
        was taken on. ``metadata`` goes into the session's metadata next to the goal and the live
        facts (rejected steps, implicit backs, parse failures, truncation). An episode with no
        parsed action is one ``terminate`` on its first page, marked ``no_parsed_action``."""
        if self.goal is None:
            raise RuntimeError("no episode yet: call reset() first")
        steps = list(self._steps)
        facts = dict(self._facts, rejected=list(self._facts["rejected"]), backs=list(self._facts["backs"]))
        if not steps:
            page = self.backend.current()
            steps = [Step(html=page.html, action=Action.terminate(), rationale_source="simulated", url=page.url,
                          page_meta=dict(page.meta))]
            facts["no_parsed_action"] = True
        meta = {"generated": True, "simulated": True, "goal": self.goal.text, "goal_session": self.goal.session_id,
                "store": self.store_name, "live": facts, **metadata}
        return Session(session_id or f"live-{self.goal.session_id or self.goal.session_key}", tuple(steps),
                       user_id=self.goal.user_id, persona=None if self.goal.persona is None else dict(self.goal.persona),
                       outcome="purchase" if self._outcome == "purchase" else "terminate", metadata=meta)

    def render(self) -> str | None:
        if self.render_mode is None:
            gym.logger.warn("render() called with render_mode=None; pass render_mode='ansi' or 'html'")
            return None
        if self.goal is None:
            return ""
        if self.render_mode == "html":
            return "" if self._outcome is not None else self._page.html
        lines = [f"goal: {self.goal.text}", f"step {self._taken}  url {getattr(self._page, 'url', None)}  "
                 f"outcome {self._outcome}"]
        if self._last.get("action") is not None:
            lines.append(f"  last: {self._last['action'].describe()}  ok={self._last['ok']}"
                         + (f"  reason={self._last['reason']}" if self._last.get("reason") else ""))
        return "\n".join(lines) + "\n"

    def close(self) -> None:
        self.backend.close()
        super().close()

    def __repr__(self) -> str:
        return f"<LiveShopEnv store={self.store_name} corpus={self.corpus.source} split={self.corpus.split}>"
