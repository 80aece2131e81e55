"""The context builder: what the model sees at each step of a session.

One builder renders both the env's observation (a single user turn holding the history,
as in the paper's RL setting) and multi-turn chats (the paper's SFT format), so agents,
trainers and benchmarks never build prompts their own way.

Budget rule (documented in docs/ENV.md): the observation must fit ``token_budget`` tokens.
The current page always comes first; then, newest first, past (page, action) pairs are
added while they fit and the history mode allows; steps whose pages do not fit (or fall
outside the history window) still appear as one-line actions, newest first, while they
fit. When the current page alone exceeds the budget it is *cut*: its interactable
elements (from :func:`shop_env.html.candidates`) are listed first, in page order, then
as much of its visible text as fits.

Every page block is rendered and counted once per episode (:class:`EpisodeContext`
caches them), so a step costs O(what fits in the budget), not O(session length).
"""

from __future__ import annotations

import html as html_lib
import json
import re
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass
from typing import Any

from .core.token_count import TokenCounter, estimate_tokens
from .core.types import Action, Session, Step
from .prompt import SYSTEM_PROMPT

__all__ = [
    "DEFAULT_TOKEN_BUDGET",
    "ContextConfig",
    "ContextBuilder",
    "EpisodeContext",
    "ObservationView",
    "TokenCounter",
    "current_page",
    "cut_page",
    "past_actions",
    "estimate_tokens",
    "render_persona",
    "split_persona",
]

#: Sized for the default model's 8k context: 8192 minus the system prompt (~300 tokens)
#: and room for a 512-token answer, with a margin for the chat template.
DEFAULT_TOKEN_BUDGET = 7000


def parse_history(value: str | int) -> str | int:
    """A history setting as the prompt builder uses it: ``"full"``, ``"latest"`` or a page count.

    Command lines and configs give it as text (``"3"``); every entry point normalises it here,
    so a bad value fails before any model is loaded.
    """
    if isinstance(value, str) and value.isdecimal():
        value = int(value)
    if value in ("full", "latest") or (isinstance(value, int) and not isinstance(value, bool) and value >= 1):
        return value
    raise ValueError(f"history must be 'full', 'latest' or a positive int, got {value!r}")


def history_arg(text: str) -> str | int:
    """``parse_history`` as an argparse ``type``: the command line shows its message."""
    import argparse

    try:
        return parse_history(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


@dataclass(frozen=True)
class ContextConfig:
    """How much of the session the model sees.

    Attributes:
        history: ``"full"`` (all past pages and actions), ``"latest"`` (current page only,
            past actions as one-liners) or an int ``k`` (the current page plus the ``k - 1``
            previous pages; older steps as one-line actions).
        include_rationales: show past rationales (the paper's SFT setting; RL prompts omit them).
        persona: prepend the shopper's persona (Customer-R1), when the session has one.
        token_budget: maximum tokens of the user turn; ``None`` means unlimited.
    """

    history: str | int = "full"
    include_rationales: bool = False
    persona: bool = False
    token_budget: int | None = DEFAULT_TOKEN_BUDGET

    def __post_init__(self) -> None:
        object.__setattr__(self, "history", parse_history(self.history))
        if self.token_budget is not None and self.token_budget < 64:
            raise ValueError(f"token_budget must be at least 64 tokens or None, got {self.token_budget}")

    @property
    def max_past_pages(self) -> int | None:
        if self.history == "full":
            return None
        if self.history == "latest":
            return 0
        return int(self.history) - 1

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def render_persona(persona: Mapping[str, Any] | None, max_chars: int = 1500) -> str:
    """Flatten a persona (e.g. OPeRA's survey JSON) into short ``key: value`` lines."""
    if not persona:
        return ""
    lines: list[str] = []

    def walk(prefix: str, value: Any) -> None:
        if isinstance(value, Mapping):
            for k, v in value.items():
                walk(f"{prefix} / {k}" if prefix else str(k), v)
        elif isinstance(value, list):
            walk(prefix, ", ".join(str(v) for v in value))
        elif value not in (None, ""):
            lines.append(f"{prefix}: {value}")

    walk("", persona)
    text = "\n".join(lines)
    return text if len(text) <= max_chars else text[: max_chars - 3] + "..."


def cut_page(page_html: str, max_tokens: int, count: TokenCounter = estimate_tokens) -> str:
    """Shrink a page to ``max_tokens``: interactable elements first, then visible text."""
    from .html import candidates

    header = "<!-- page cut to fit the token budget: interactable elements first, then text -->"
    used = count(header) + 1
    parts = [header]
    try:
        elements = candidates(page_html)
    except Exception:  # an unparseable page still yields its text below
        elements = []
    shown = 0
    reserve = count(f"<!-- {len(elements)} more elements not shown -->") + 1
    for el in elements:
        label = html_lib.escape(el.label, quote=False)
        line = f'<{el.tag} name="{html_lib.escape(el.name)}">{label}</{el.tag}>'
        cost = count(line) + 1
        if used + cost + reserve > max_tokens:
            break
        parts.append(line)
        used += cost
        shown += 1
    if shown < len(elements):
        parts.append(f"<!-- {len(elements) - shown} more elements not shown -->")
    else:
        text = html_lib.escape(_visible_text(page_html), quote=False)
        room_chars = max(0, (max_tokens - used) * 3 - 16)
        if text and room_chars > 0:
            excerpt = text[:room_chars]
            while excerpt and count(excerpt) + 1 + used > max_tokens:
                excerpt = excerpt[: int(len(excerpt) * 0.8)]
            amp = excerpt.rfind("&")
            if amp >= 0 and ";" not in excerpt[amp:]:
                excerpt = excerpt[:amp]  # never end inside an escaped entity
            if excerpt:
                parts.append(excerpt)
    return "\n".join(parts)


def _visible_text(page_html: str) -> str:
    try:
        import lxml.html

        root = lxml.html.fromstring(page_html)
        return " ".join(root.text_content().split())
    except Exception:
        return ""


class ContextBuilder:
    """Builds observations and chat messages for sessions under one :class:`ContextConfig`."""

    def __init__(self, config: ContextConfig | None = None, *, token_counter: TokenCounter | None = None,
                 system_prompt: str = SYSTEM_PROMPT) -> None:
        self.config = config or ContextConfig()
        self.count: TokenCounter = token_counter or estimate_tokens
        self.system_prompt = system_prompt

    def episode(self, session: Session) -> EpisodeContext:
        """A per-session view that caches every rendered block."""
        return EpisodeContext(self, session)

    def observation(self, session: Session, step_index: int) -> str:
        return self.episode(session).observation(step_index)

    def messages(self, session: Session, step_index: int) -> list[dict[str, str]]:
        return self.episode(session).messages(step_index)


@dataclass(frozen=True)
class ObservationView:
    """What an observation shows, as data: the current page (cut to the budget when it was)
    and the past actions it lists, oldest first. Rule-based agents read this, never the text."""

    page: str
    past_actions: tuple[Action, ...]


class EpisodeContext:
    """Rendered blocks of one session, each made and counted at most once."""

    FOOTER = "Predict my next action on page {n} as one JSON object."

    def __init__(self, builder: ContextBuilder, session: Session) -> None:
        self.builder = builder
        self.session = session
        self._pages: dict[int, tuple[str, int]] = {}
        self._actions: dict[int, tuple[str, int]] = {}
        self._lines: dict[int, tuple[str, int]] = {}
        self._views: dict[int, ObservationView] = {}
        cfg = builder.config
        persona = render_persona(session.persona) if cfg.persona else ""
        self._persona = f"[My persona]\n{persona}\n" if persona else ""
        self._persona_cost = builder.count(self._persona) if self._persona else 0
        if self._persona and cfg.token_budget is not None:
            # The persona may take at most a quarter of the budget: the page matters more.
            while self._persona_cost > cfg.token_budget // 4 and len(persona) > 3:
                persona = persona[: int(len(persona) * 0.8)].rstrip() + "..."
                self._persona = f"[My persona]\n{persona}\n"
                self._persona_cost = builder.count(self._persona)
            if self._persona_cost > cfg.token_budget // 4:
                self._persona, self._persona_cost = "", 0

    # -- cached blocks -------------------------------------------------------------------
    def _page(self, i: int) -> tuple[str, int]:
        if i not in self._pages:
            text = f"[Page {i + 1}]\n{self.session.steps[i].html}\n"
            self._pages[i] = (text, self.builder.count(text))
        return self._pages[i]

    def _action(self, i: int) -> tuple[str, int]:
        if i not in self._actions:
            step = self.session.steps[i]
            text = f"[My action on page {i + 1}]\n{step.action.to_json()}\n"
            if self.builder.config.include_rationales and step.rationale:
                text += f"Rationale: {step.rationale}\n"
            self._actions[i] = (text, self.builder.count(text))
        return self._actions[i]

    def _line(self, i: int) -> tuple[str, int]:
        if i not in self._lines:
            step = self.session.steps[i]
            text = f"- page {i + 1}: {step.action.to_json()}"
            if self.builder.config.include_rationales and step.rationale:
                text += f" ({step.rationale})"
            self._lines[i] = (text, self.builder.count(text) + 1)
        return self._lines[i]

    # -- public API ------------------------------------------------------------------------
    def observation(self, t: int) -> str:
        """The user turn for predicting the action at step ``t`` (0-based)."""
        steps = self.session.steps
        if not 0 <= t < len(steps):
            raise IndexError(f"step {t} out of range for session {self.session.session_id!r} ({len(steps)} steps)")
        cfg = self.builder.config
        footer = "\n" + self.FOOTER.format(n=t + 1)
        budget = None if cfg.token_budget is None else cfg.token_budget - self._persona_cost - self.builder.count(footer)

        page_text, page_cost = self._page(t)
        if budget is not None and page_cost > budget:
            header = f"[Page {t + 1}]\n"
            cut = cut_page(steps[t].html, max(16, budget - self.builder.count(header)), self.builder.count)
            self._views[t] = ObservationView(cut, ())
            return f"{self._persona}{header}{cut}\n{footer}"
        remaining = None if budget is None else budget - page_cost

        pairs: list[int] = []
        max_pages = cfg.max_past_pages
        i = t - 1
        while i >= 0 and (max_pages is None or len(pairs) < max_pages):
            cost = self._page(i)[1] + self._action(i)[1]
            if remaining is not None and cost > remaining:
                break
            pairs.append(i)
            if remaining is not None:
                remaining -= cost
            i -= 1
        lines: list[int] = []
        show_block = i >= 0
        if show_block and remaining is not None:
            # The header as written at its longest (every older step omitted), plus the block's newline.
            header_cost = self.builder.count(f"[My earlier actions] ({i + 1} older not shown)\n") + 1
            if header_cost > remaining:
                show_block = False
            else:
                remaining -= header_cost
        while show_block and i >= 0:
            cost = self._line(i)[1]
            if remaining is not None and cost > remaining:
                break
            lines.append(i)
            if remaining is not None:
                remaining -= cost
            i -= 1

        parts = [self._persona] if self._persona else []
        if show_block:
            omitted = i + 1
            head = "[My earlier actions]"
            if omitted:
                head += f" ({omitted} older not shown)"
            parts.append(head + "\n" + "".join(self._line(j)[0] + "\n" for j in reversed(lines)) + "\n")
        for j in reversed(pairs):
            parts.append(self._page(j)[0])
            parts.append(self._action(j)[0])
        parts.append(page_text)
        parts.append(footer)
        shown = sorted([*lines, *pairs]) if show_block else sorted(pairs)
        self._views[t] = ObservationView(steps[t].html, tuple(steps[j].action for j in shown))
        return "".join(parts)

    def view(self, t: int) -> ObservationView:
        """The page and past actions that :meth:`observation` shows at step ``t``, as data."""
        if t not in self._views:
            self.observation(t)
        return self._views[t]

    def messages(self, t: int) -> list[dict[str, str]]:
        """System prompt plus the user turn for step ``t``."""
        return [
            {"role": "system", "content": self.builder.system_prompt},
            {"role": "user", "content": self.observation(t)},
        ]

    def chat(self, answer: Callable[[Step], str], upto: int | None = None) -> list[dict[str, str]]:
        """The session as a multi-turn chat (the paper's SFT format).

        Each user turn is one page, each assistant turn ``answer(step)`` (the JSON answer
        with its rationale); the persona, when shown, opens the first user turn. With a
        token budget, the oldest (user, assistant) pairs are dropped first; a last page that
        alone exceeds the budget is cut as in :meth:`observation`.
        """
        steps = self.session.steps
        last = len(steps) - 1 if upto is None else upto
        cfg = self.builder.config
        # the persona opens the first user turn that is kept, whichever page that is
        budget = None if cfg.token_budget is None else cfg.token_budget - self._persona_cost
        turns: list[tuple[str, str, int]] = []
        for i in range(last, -1, -1):
            user = self._page(i)[0]
            reply = answer(steps[i])
            cost = self.builder.count(user) + self.builder.count(reply)
            if budget is not None and turns and sum(c for *_, c in turns) + cost > budget:
                break
            if budget is not None and not turns and cost > budget:
                cut = cut_page(steps[i].html, max(16, budget - self.builder.count(reply) - 8), self.builder.count)
                user = f"[Page {i + 1}]\n{cut}\n"
                cost = self.builder.count(user) + self.builder.count(reply)
            turns.append((user, reply, cost))
        messages = [{"role": "system", "content": self.builder.system_prompt}]
        for k, (user, reply, _) in enumerate(reversed(turns)):
            messages.append({"role": "user", "content": self._persona + user if k == 0 else user})
            messages.append({"role": "assistant", "content": reply})
        return messages


_PERSONA_BLOCK = re.compile(r"\A\[My persona\]\n.*?\n(?=\[Page \d+\]\n)", re.S)


def split_persona(user_turn: str) -> tuple[str, str]:
    """``(persona block, rest)`` of a chat's user turn; the block is ``""`` when it has none.

    Code that drops a chat's oldest turns moves the block to the new first user turn with it.
    """
    match = _PERSONA_BLOCK.match(user_turn)
    return (match.group(0), user_turn[match.end():]) if match else ("", user_turn)


def config_hash_payload(config: ContextConfig, system_prompt: str) -> str:
    """Stable JSON of everything that shapes a prompt (used in result hashes)."""
    return json.dumps({"context": config.to_dict(), "system_prompt": system_prompt}, sort_keys=True)


_PAGE_HEADER = re.compile(r"^\[Page (\d+)\]\n", re.M)
_ACTION_JSON = re.compile(r"^(?:\[My action on page \d+\]\n|- page \d+: )(\{.*?\})(?: \(.*\))?$", re.M)


def current_page(observation: str) -> str:
    """The current page's HTML as it appears in an observation (the last page block)."""
    headers = list(_PAGE_HEADER.finditer(observation))
    if not headers:
        return observation
    body = observation[headers[-1].end():]
    footer = body.rfind("\n\nPredict my next action")
    return (body[:footer] if footer >= 0 else body).strip()


def past_actions(observation: str) -> list[Action]:
    """The past actions shown in an observation, oldest first (what an agent may know)."""
    out: list[Action] = []
    for m in _ACTION_JSON.finditer(observation):
        try:
            out.append(Action.from_dict(json.loads(m.group(1))))
        except (ValueError, TypeError):
            continue
    return out
