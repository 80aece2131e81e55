"""``ShopSessionEnv``: replay shopping sessions step by step and score the agent's answers.

An episode replays one session (or one step of it, ``episode="step"``, the paper's RL
setting). The observation is the user turn the model sees (history as configured, ending
with the current page's simplified HTML); the action is the model's answer text (one JSON
object with a rationale and an action). ``step`` parses and scores the answer against the
human's action with a pluggable reward, then moves on to the human's next step: the human,
not the agent, decides what comes next.
"""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Mapping
from typing import Any

import gymnasium as gym
import numpy as np

from .context import DEFAULT_TOKEN_BUDGET, ContextBuilder, ContextConfig, EpisodeContext, TokenCounter
from .core.types import Session, Step
from .corpus import Corpus, load_corpus
from .spaces import ResponseSpace, StringSpace

__all__ = ["ShopSessionEnv", "describe_env"]

_EPISODE_MODES = ("session", "step")
_OBSERVATIONS = ("text", "text+screenshot")
_ORDERS = ("shuffle", "sequential")


@functools.lru_cache(maxsize=16)
def _cached_corpus(source: str, split: str, options: tuple[tuple[str, Any], ...]) -> Corpus:
    return load_corpus(source, split=split, **dict(options))


def env_corpus(corpus: str | Corpus, split: str, corpus_options: Mapping[str, Any] | None = None) -> Corpus:
    """The corpus an env runs on: a source string is loaded once per process (cached), a corpus
    taken as it is; an empty one is refused, so an env never starts without episodes."""
    if isinstance(corpus, str):
        loaded = _cached_corpus(corpus, split, tuple(sorted((corpus_options or {}).items())))
    else:
        loaded = load_corpus(corpus, split=split)
    if len(loaded) == 0:
        raise ValueError(f"corpus {loaded!r} has no sessions")
    return loaded


class ShopSessionEnv(gym.Env[str, str]):
    """Gymnasium env over a corpus of shopping sessions.

    ## Description

    Replays real (or the bundled generated demo) shopping sessions step by step, as in
    Shop-R1: at each step the agent sees the page the shopper saw, as simplified HTML, with
    the history so far, and answers with the shopper's next action and a rationale. The
    answer is scored against what the shopper did; then the shopper's own next step follows,
    whatever the agent answered (the human decides what comes next).

    ## Action Space

    A string (:class:`~shop_env.spaces.ResponseSpace`): the model's answer, one JSON object
    ``{"rationale": str, "action": {"type": "click"|"type_and_submit"|"terminate",
    "name": ..., "text": ...}}`` as the answer protocol (:mod:`shop_env.core.protocol`)
    defines it. Any string is a valid action: one that does not parse scores 0 and the
    reason goes to ``info["scored"]["parse_error"]``. An object with ``.text`` and
    ``.token_info`` (an agent's generation) is accepted too; the reward's rationale term is
    then paid from its logit statistics. ``action_space.sample()`` gives a valid answer on
    the current page's elements.

    ## Observation Space

    A string (:class:`~shop_env.spaces.StringSpace`): the user turn, built by the shared
    context builder: the persona (optional), past pages and actions under the history mode
    and token budget, and the current page, ending with the request for the next action.
    ``env.unwrapped.current_messages`` is the same turn with the system prompt, for chat models.

    ## Rewards

    The configured reward (default ``shop_r1``: format 0.5, then type, attribute and value
    terms scaled by difficulty, DARS; SPEC's table) of the answer against the shopper's action.
    Rewards are pluggable by name or object (:func:`rewards.get_reward`).

    ## Starting State

    ``reset()`` takes the next episode of a seeded order over the split (``order``,
    ``shard``); ``reset(seed=s)`` restarts that order. ``options``: ``session_id`` or
    ``session_index`` choose the session, ``start_step`` the first step.

    ## Episode End

    Terminated after the session's last step (``episode="session"``) or after the one step
    (``episode="step"``). Truncated after ``max_steps`` steps when set; the registered ids
    leave episode length to the session.

    ## Info

    - ``session_id``, ``num_steps``, ``episode_index``, ``epoch`` (turns 1 when the order wraps).
    - ``step_index``, ``gold_action`` (an :class:`~shop_env.core.types.Action`) and
      ``click_type`` of the step awaiting an answer (``None`` once the episode is over).
    - ``page`` and ``past_actions``: what the observation shows, as data (the current page,
      cut to the budget when it was, and the listed past actions, oldest first): what
      rule-based agents read instead of parsing the prompt.
    - ``scored`` (after a step): ``step_index``, ``gold_action``, ``predicted_action``
      (``None`` when the answer did not parse), ``rationale``, ``parse_error``, ``reward``
      (the breakdown as a dict), ``exact_match``, ``click_type``.
    - ``candidates`` (with ``with_candidates=True``): the page's interactable elements
      (:func:`shop_env.html.candidates`).

    ## Arguments

    Args:
        corpus: a source string for :func:`shop_env.load_corpus` (``"demo"``,
            ``"opera:DIR"``, ``"jsonl:PATH"``) or a :class:`~shop_env.corpus.Corpus`.
        split: ``"train"``, ``"valid"`` or ``"test"``.
        reward: a registered reward name (``"shop_r1"``, ``"binary"``, ...) or a reward
            object with the shared call shape.
        history: ``"full"``, ``"latest"`` or an int k (see :class:`ContextConfig`).
        include_rationales: show past rationales in the context.
        persona: prepend the shopper's persona when the session has one.
        token_budget: token cap of the observation (``None``: unlimited).
        token_counter: ``str -> int`` token counter (a tokenizer's); default: fast estimate.
        episode: ``"session"`` (an episode is a whole session) or ``"step"`` (one step).
        order: ``"shuffle"`` (seeded order over the split) or ``"sequential"``.
        shard: ``(rank, world_size)``: this env walks only every world_size-th episode,
            so ``world_size`` envs together visit each exactly once per epoch.
        parse_mode: ``"strict"`` or ``"lenient"`` answer parsing (default: the reward's).
        with_candidates: put the page's element candidates in ``info["candidates"]``.
        max_steps: truncate an episode after this many steps.
        render_mode: ``None``, ``"ansi"`` (readable text) or ``"html"`` (the current page).
        corpus_options: extra options for the corpus loader (e.g. ``{"config": "full"}``).
        vector_kwargs: ignored by the env; ``gymnasium.make_vec`` reads it from a registered
            spec (``ShopR1-Step-v0`` sets ``autoreset_mode=SAME_STEP``).
        observation: ``"text"`` (the user turn, a string) or ``"text+screenshot"`` (for VLM
            agents: a dict with ``"text"`` and ``"screenshot"``, the page's viewport as a
            720x1280x3 uint8 array; the PNG bytes are in ``info["screenshot_png"]``). A step's
            own screenshot is used; demo corpus steps are rendered through the served store in
            headless Chromium on demand and cached (:class:`shop_env.browser.DemoScreenshots`,
            the ``[browser]`` extra); a step with neither shows a white image and
            ``info["screenshot_source"]`` is ``"missing"``.

    ## Vector Envs

    ``gymnasium.make_vec(id, n, vectorization_mode="async")`` works with its defaults: the
    observation space has shared-memory support (a 4 MiB slot per sub-env,
    ``observation_space.shared_memory_bytes``; a larger observation raises with the fix),
    ``envs.action_space.sample()`` draws each sub-env's answer on that sub-env's own page
    (the page travels with the observation in shared memory), and ``ShopR1-Step-v0`` resets
    in the same step (``AutoresetMode.SAME_STEP``), so no step is spent on a reset. Counting
    the steps of a split (``episode="step"``) reads the actions only, never renders a page.
    """

    metadata = {"render_modes": ["ansi", "html"], "render_fps": 1}

    def __init__(
        self,
        corpus: str | Corpus = "demo",
        split: str = "train",
        reward: Any = "shop_r1",
        history: str | int = "full",
        include_rationales: bool = False,
        persona: bool = False,
        token_budget: int | None = DEFAULT_TOKEN_BUDGET,
        token_counter: TokenCounter | None = None,
        episode: str = "session",
        order: str = "shuffle",
        shard: tuple[int, int] | None = None,
        parse_mode: str | None = None,
        with_candidates: bool = False,
        max_steps: int | None = None,
        render_mode: str | None = None,
        corpus_options: Mapping[str, Any] | None = None,
        vector_kwargs: Mapping[str, Any] | None = None,
        observation: str = "text",
    ) -> None:
        from rewards import get_reward

        if observation not in _OBSERVATIONS:
            raise ValueError(f"observation must be one of {_OBSERVATIONS}, got {observation!r}")

        del vector_kwargs  # read by gymnasium.make_vec from the registered spec, not by the env

        if episode not in _EPISODE_MODES:
            raise ValueError(f"episode must be one of {_EPISODE_MODES}, got {episode!r}")
        if order not in _ORDERS:
            raise ValueError(f"order must be one of {_ORDERS}, got {order!r}")
        if render_mode is not None and render_mode not in self.metadata["render_modes"]:
            raise ValueError(f"render_mode must be one of {self.metadata['render_modes']} or None, got {render_mode!r}")
        if shard is not None:
            rank, world = shard
            if not (0 <= rank < world):
                raise ValueError(f"shard must be (rank, world_size) with 0 <= rank < world_size, got {shard}")
        self.corpus = env_corpus(corpus, split, corpus_options)
        overrides = {"parse_mode": parse_mode} if parse_mode is not None else {}
        self.reward = get_reward(reward, **overrides)
        self.context = ContextBuilder(
            ContextConfig(history=history, include_rationales=include_rationales, persona=persona,
                          token_budget=token_budget),
            token_counter=token_counter,
        )
        self.episode_mode, self.order, self.shard = episode, order, shard
        self.with_candidates, self.max_steps, self.render_mode = with_candidates, max_steps, render_mode

        self.action_space = ResponseSpace()
        # paired: in an AsyncVectorEnv the current page rides with the observation in shared memory
        self.observation_space = StringSpace(page_source=self.action_space)
        self.observation_mode = observation
        self._screenshots: Any = None
        if observation != "text":
            from gymnasium import spaces

            from .browser import VIEWPORT

            self.observation_space = spaces.Dict({
                "text": self.observation_space,
                "screenshot": spaces.Box(0, 255, (VIEWPORT["height"], VIEWPORT["width"], 3), np.uint8),
            })

        self._episodes: list[tuple[int, int]] | None = None
        self._order_idx: np.ndarray | None = None
        self._cursor = 0
        self._epoch = 0
        self._session: Session | None = None
        self._ctx: EpisodeContext | None = None
        self._t = 0
        self._start = 0
        self._steps_taken = 0
        self._done = True
        self._episode_index = -1
        self._last_scored: dict[str, Any] | None = None

    # -- episode bookkeeping ---------------------------------------------------------------
    def _episode_list(self) -> list[tuple[int, int]]:
        """All episodes as (session index, start step), restricted to this env's shard."""
        if self._episodes is None:
            if self.episode_mode == "session":
                eps = [(i, 0) for i in range(len(self.corpus))]
            else:
                counts = self.corpus.step_counts()
                eps = [(i, t) for i, n in enumerate(counts) for t in range(n)]
            if self.shard is not None:
                rank, world = self.shard
                eps = eps[rank::world]
            self._episodes = eps
        return self._episodes

    @property
    def num_episodes(self) -> int:
        """Episodes per epoch (sessions, or steps in ``episode="step"`` mode) for this shard."""
        n = len(self._episode_list())
        if n == 0:
            raise ValueError(f"shard {self.shard} of {self.corpus!r} holds no episodes: use fewer shards "
                             "(world_size at most the number of episodes)")
        return n

    def _reorder(self) -> None:
        n = self.num_episodes
        self._order_idx = self.np_random.permutation(n) if self.order == "shuffle" else np.arange(n)
        self._cursor = 0

    def _next_episode(self) -> tuple[int, int]:
        if self._order_idx is None:
            self._reorder()
        if self._cursor >= len(self._order_idx):
            self._epoch += 1
            self._reorder()
        self._episode_index = int(self._order_idx[self._cursor])
        self._cursor += 1
        return self._episode_list()[self._episode_index]

    # -- Gymnasium API -----------------------------------------------------------------------
    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None) -> tuple[str, dict[str, Any]]:
        """Start an episode.

        ``options``: ``session_id`` or ``session_index`` chooses the session, ``start_step``
        the first step (default 0; in step mode the one step scored). With neither, the
        next episode of the seeded order; ``reset(seed=s)`` restarts that order.
        """
        super().reset(seed=seed)
        if seed is not None:
            self._epoch = 0
            self._reorder()
        options = dict(options or {})
        if "session_id" in options or "session_index" in options:
            if "session_id" in options:
                si = self.corpus.index_of(str(options["session_id"]))
            else:
                si = int(options["session_index"])
                if not 0 <= si < len(self.corpus):
                    raise IndexError(f"session_index {si} out of range for {len(self.corpus)} sessions")
            start = int(options.get("start_step", 0))
            self._episode_index = -1
        else:
            si, start = self._next_episode()
            start = int(options.get("start_step", start))
        session = self.corpus[si]
        if not 0 <= start < len(session):
            raise IndexError(f"start_step {start} out of range for session {session.session_id!r} ({len(session)} steps)")
        self._session, self._ctx = session, self.context.episode(session)
        self._t, self._start, self._steps_taken, self._done = start, start, 0, False
        self._last_scored = None
        obs = self._ctx.observation(self._t)
        info = self._info()
        return self._observe(obs, info), info

    def step(self, action: Any) -> tuple[str, float, bool, bool, dict[str, Any]]:
        """Score ``action`` (answer text, or an object with ``.text`` and ``.token_info``)."""
        if self._done or self._session is None:
            raise RuntimeError("step() called on a finished episode: call reset() first")
        text = getattr(action, "text", action)
        tokens = getattr(action, "token_info", None)
        gold_step = self._session.steps[self._t]
        if not isinstance(text, str):
            text = ""  # scores 0 as a parse failure; the reason lands in info
        breakdown = self.reward(text, gold_step.action, step=gold_step, tokens=tokens)
        self._last_scored = self._scored(gold_step, text, breakdown)
        self._t += 1
        self._steps_taken += 1
        terminated = self._t >= len(self._session) or self.episode_mode == "step"
        truncated = not terminated and self.max_steps is not None and self._steps_taken >= self.max_steps
        self._done = terminated or truncated
        obs = "" if self._done else self._ctx.observation(self._t)  # type: ignore[union-attr]
        info = self._info()
        return self._observe(obs, info), float(breakdown.total), terminated, truncated, info

    def _observe(self, text: str, info: dict[str, Any]) -> Any:
        """The observation in the configured mode (text, or text and the page's screenshot)."""
        if self.observation_mode == "text":
            return text
        from .browser import VIEWPORT, decode_png

        step = self.current_step
        png, source = None, "missing"
        if step is not None:
            png = step.screenshot_png()
            source = "step" if png is not None else source
            if png is None and self.corpus.source == "demo" and self._session is not None:
                if self._screenshots is None:
                    from .browser import DemoScreenshots

                    self._screenshots = DemoScreenshots()
                png, source = self._screenshots.png(self._session.session_id, self._t), "rendered"
        info["screenshot_png"], info["screenshot_source"] = png, source
        if png is None:
            image = np.full((VIEWPORT["height"], VIEWPORT["width"], 3), 255, dtype=np.uint8)
        else:
            image = decode_png(png)
        return {"text": text, "screenshot": image}

    def close(self) -> None:
        if self._screenshots is not None:
            self._screenshots.close()
            self._screenshots = None
        super().close()

    def render(self) -> str | None:
        if self.render_mode is None:
            gym.logger.warn("render() called with render_mode=None; pass render_mode='ansi' or 'html'")
            return None
        if self._session is None:
            return ""
        step = self.current_step
        if self.render_mode == "html":
            return step.html if step is not None else ""
        lines = [f"session {self._session.session_id}  step {min(self._t, len(self._session)) + 1}/{len(self._session)}"]
        if self._last_scored is not None:
            s = self._last_scored
            lines.append(f"  scored: gold={s['gold_action']}  predicted={s['predicted_action']}  "
                         f"reward={s['reward']['total']:.3f}  exact={s['exact_match']}"
                         + (f"  error={s['parse_error']}" if s["parse_error"] else ""))
        if step is not None:
            lines.append(f"  awaiting: page of {len(step.html)} chars, gold {step.action.describe()}")
        return "\n".join(lines) + "\n"

    # -- helpers -----------------------------------------------------------------------------
    @property
    def current_session(self) -> Session | None:
        return self._session

    @property
    def current_step(self) -> Step | None:
        """The step awaiting an answer, or None once the episode is over."""
        if self._session is None or self._done:
            return None
        return self._session.steps[self._t]

    @property
    def current_messages(self) -> list[dict[str, str]]:
        """System prompt plus the current observation, from the shared context builder."""
        if self._ctx is None or self._done:
            raise RuntimeError("no step is awaiting an answer")
        return self._ctx.messages(self._t)

    def _scored(self, gold_step: Step, text: str, breakdown: Any) -> dict[str, Any]:
        from rewards.base import answer_of
        from rewards.metrics import exact_match

        parsed = answer_of(breakdown, text, self.reward)
        pred = parsed.action if parsed.ok else None
        return {
            "step_index": self._t,
            "gold_action": gold_step.action,
            "predicted_action": pred,
            "rationale": parsed.rationale,
            "parse_error": breakdown.parse_error or parsed.error,
            "reward": breakdown.to_dict(),
            "exact_match": bool(pred is not None and exact_match(pred, gold_step.action)),
            "click_type": gold_step.click_type,
        }

    def _info(self) -> dict[str, Any]:
        assert self._session is not None
        step = self.current_step
        info: dict[str, Any] = {
            "session_id": self._session.session_id,
            "step_index": self._t if step is not None else None,
            "num_steps": len(self._session),
            "gold_action": step.action if step is not None else None,
            "click_type": step.click_type if step is not None else None,
            "episode_index": self._episode_index,
            "epoch": self._epoch,
        }
        if self._last_scored is not None:
            info["scored"] = self._last_scored
        if step is not None:
            view = self._ctx.view(self._t)  # type: ignore[union-attr]
            info["page"], info["past_actions"] = view.page, list(view.past_actions)
            self.action_space.set_page(step.html)
            if self.with_candidates:
                info["candidates"] = self._candidates(step)
        return info

    def _candidates(self, step: Step) -> list[Any]:
        from .html import candidates

        try:
            return candidates(step.html)
        except Exception:
            return []

    def __repr__(self) -> str:
        return (f"<ShopSessionEnv corpus={self.corpus.source} split={self.corpus.split} reward="
                f"{getattr(self.reward, 'name', self.reward)} episode={self.episode_mode}>")


def describe_env(env: ShopSessionEnv) -> dict[str, Any]:
    """Everything that shapes an env's prompts and scores, for result files."""
    reward_cfg = env.reward.config() if hasattr(env.reward, "config") else {"reward": repr(env.reward)}
    return {
        "corpus": env.corpus.describe(),
        "context": env.context.config.to_dict(),
        "reward": reward_cfg,
        "episode": env.episode_mode,
        "system_prompt_sha": hashlib.sha256(env.context.system_prompt.encode()).hexdigest()[:12],
    }
