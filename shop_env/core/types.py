"""The session data model: actions, steps and sessions, immutable and JSON round-trippable.

Everything downstream (env, agents, rewards, metrics) speaks these types, so they stay
small, dependency-free and strict about what they accept.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

__all__ = [
    "ACTION_TYPES",
    "OUTCOMES",
    "Action",
    "ActionType",
    "Session",
    "Step",
    "gold_action_problem",
]

ActionType = Literal["click", "type_and_submit", "terminate"]
ACTION_TYPES: tuple[str, ...] = ("click", "type_and_submit", "terminate")
OUTCOMES: tuple[str, ...] = ("purchase", "terminate")


def _opt_str(value: Any, field_name: str) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise TypeError(f"{field_name} must be a string or None, got {type(value).__name__}")
    return value


def gold_action_problem(action_type: Any, name: Any, text: Any) -> tuple[str, str] | None:
    """Why an action cannot be a gold answer, as ``(field, message)``, or None when it can.

    A gold click needs a non-empty ``name``, a gold ``type_and_submit`` a non-empty ``name``
    and ``text``: without them the hierarchical reward cannot rank the true answer first.
    The corpus loaders apply this rule to every row (so bad data fails at load time, naming
    the file, row and field) and the rewards to every gold action they are given.
    """
    if action_type in ("click", "type_and_submit") and not (isinstance(name, str) and name.strip()):
        return "name", f"gold {action_type} action needs a non-empty 'name', got {name!r}"
    if action_type == "type_and_submit" and not (isinstance(text, str) and text.strip()):
        return "text", f"gold type_and_submit action needs a non-empty 'text', got {text!r}"
    return None


@dataclass(frozen=True, slots=True)
class Action:
    """One shopper action in the paper's action space.

    ``name`` is the target element's ``name`` attribute (click, type_and_submit) and
    ``text`` the typed text (type_and_submit). Absent fields are ``None``, never ``""``
    by convention of this library (an empty string from a model is kept as given).
    """

    type: str
    name: str | None = None
    text: str | None = None

    def __post_init__(self) -> None:
        if self.type not in ACTION_TYPES:
            raise ValueError(f"unknown action type {self.type!r}; expected one of {ACTION_TYPES}")
        _opt_str(self.name, "Action.name")
        _opt_str(self.text, "Action.text")

    @classmethod
    def click(cls, name: str) -> Action:
        return cls("click", name=name)

    @classmethod
    def type_and_submit(cls, name: str, text: str) -> Action:
        return cls("type_and_submit", name=name, text=text)

    @classmethod
    def terminate(cls) -> Action:
        return cls("terminate")

    def to_dict(self) -> dict[str, Any]:
        """The paper's JSON form: only the fields that are set."""
        out: dict[str, Any] = {"type": self.type}
        if self.name is not None:
            out["name"] = self.name
        if self.text is not None:
            out["text"] = self.text
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Action:
        if not isinstance(data, Mapping):
            raise TypeError(f"action must be an object, got {type(data).__name__}")
        if "type" not in data:
            raise ValueError("action is missing field 'type'")
        return cls(data["type"], name=data.get("name"), text=data.get("text"))

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), ensure_ascii=False)

    def describe(self) -> str:
        """Short human-readable form used in prompts' action history."""
        if self.type == "click":
            return f"click({self.name})"
        if self.type == "type_and_submit":
            return f"type_and_submit({self.name}, {json.dumps(self.text, ensure_ascii=False)})"
        return "terminate()"


def _screenshot_field(value: str | bytes | None) -> dict[str, str]:
    """A step's screenshot as JSON: ``{"screenshot": path}`` or ``{"screenshot_png": base64}``; nothing when unset."""
    if value is None:
        return {}
    if isinstance(value, bytes):
        import base64

        return {"screenshot_png": base64.b64encode(value).decode("ascii")}
    return {"screenshot": value}


def _screenshot_value(data: Mapping[str, Any]) -> str | bytes | None:
    encoded = data.get("screenshot_png")
    if encoded is not None:
        import base64
        import binascii

        if not isinstance(encoded, str):
            raise TypeError(f"screenshot_png must be a base64 string, got {type(encoded).__name__}")
        try:
            return base64.b64decode(encoded, validate=True)
        except binascii.Error as exc:
            raise ValueError(f"screenshot_png is not base64: {exc}") from None
    path = data.get("screenshot")
    if path is not None and not isinstance(path, str):
        raise TypeError(f"screenshot must be a path string, got {type(path).__name__}")
    return path


@dataclass(frozen=True, slots=True)
class Step:
    """One step of a session: the page the shopper saw and what they did on it.

    ``html`` is the simplified HTML of the page *before* the action. ``rationale_source``
    says where a rationale came from: ``"human"`` (self-reported), ``"generated"`` (the
    demo corpus's scripted shopper) or ``"synthesized"`` (written by an LLM).
    ``page_meta`` is treated as read-only. ``screenshot`` is an optional PNG of the viewport
    when the page was seen: a file path (a JSONL file stores it relative to its own folder;
    its loader gives it back absolute) or the PNG bytes (stored base64 as ``screenshot_png``).
    """

    html: str
    action: Action
    rationale: str | None = None
    rationale_source: str | None = None
    url: str | None = None
    click_type: str | None = None
    timestamp: str | None = None
    action_id: str | None = None
    page_meta: Mapping[str, Any] = field(default_factory=dict)
    screenshot: str | bytes | None = None

    def __post_init__(self) -> None:
        if self.screenshot is not None and not isinstance(self.screenshot, (str, bytes)):
            raise TypeError(f"Step.screenshot must be a path, PNG bytes or None, got {type(self.screenshot).__name__}")
        if not isinstance(self.html, str):
            raise TypeError(f"Step.html must be a string, got {type(self.html).__name__}")
        if not isinstance(self.action, Action):
            raise TypeError(f"Step.action must be an Action, got {type(self.action).__name__}")
        for name in ("rationale", "rationale_source", "url", "click_type", "timestamp", "action_id"):
            _opt_str(getattr(self, name), f"Step.{name}")

    def to_dict(self) -> dict[str, Any]:
        return {
            "html": self.html,
            "action": self.action.to_dict(),
            "rationale": self.rationale,
            "rationale_source": self.rationale_source,
            "url": self.url,
            "click_type": self.click_type,
            "timestamp": self.timestamp,
            "action_id": self.action_id,
            "page_meta": dict(self.page_meta),
            **_screenshot_field(self.screenshot),
        }

    def screenshot_png(self) -> bytes | None:
        """The screenshot's PNG bytes (read from its file when it is a path), or None."""
        if isinstance(self.screenshot, str):
            with open(self.screenshot, "rb") as handle:
                return handle.read()
        return self.screenshot

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Step:
        if "html" not in data:
            raise ValueError("step is missing field 'html'")
        if "action" not in data:
            raise ValueError("step is missing field 'action'")
        return cls(
            html=data["html"],
            action=Action.from_dict(data["action"]),
            rationale=data.get("rationale"),
            rationale_source=data.get("rationale_source"),
            url=data.get("url"),
            click_type=data.get("click_type"),
            timestamp=data.get("timestamp"),
            action_id=data.get("action_id"),
            page_meta=dict(data.get("page_meta") or {}),
            screenshot=_screenshot_value(data),
        )

    def with_rationale(self, rationale: str | None, source: str | None) -> Step:
        from dataclasses import replace

        return replace(self, rationale=rationale, rationale_source=source)


@dataclass(frozen=True, slots=True)
class Session:
    """A whole shopping session: ordered steps, the shopper, and how it ended.

    ``outcome`` is ``"purchase"`` or ``"terminate"``. ``metadata`` holds source-specific
    facts that agents do not see by default (the demo shopper's goal, ``generated``).
    """

    session_id: str
    steps: tuple[Step, ...]
    user_id: str | None = None
    persona: Mapping[str, Any] | None = None
    outcome: str = "terminate"
    metadata: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not isinstance(self.session_id, str) or not self.session_id:
            raise ValueError("Session.session_id must be a non-empty string")
        if not isinstance(self.steps, tuple):
            object.__setattr__(self, "steps", tuple(self.steps))
        if not self.steps:
            raise ValueError(f"session {self.session_id!r} has no steps")
        if self.outcome not in OUTCOMES:
            raise ValueError(f"Session.outcome must be one of {OUTCOMES}, got {self.outcome!r}")
        _opt_str(self.user_id, "Session.user_id")

    def __len__(self) -> int:
        return len(self.steps)

    @property
    def generated(self) -> bool:
        """True for sessions made by the demo generator (never real shoppers)."""
        return bool(self.metadata.get("generated", False))

    def to_dict(self) -> dict[str, Any]:
        return {
            "session_id": self.session_id,
            "user_id": self.user_id,
            "persona": None if self.persona is None else dict(self.persona),
            "outcome": self.outcome,
            "metadata": dict(self.metadata),
            "steps": [s.to_dict() for s in self.steps],
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Session:
        for key in ("session_id", "steps"):
            if key not in data:
                raise ValueError(f"session is missing field {key!r}")
        steps = []
        for i, s in enumerate(data["steps"]):
            try:
                steps.append(Step.from_dict(s))
            except (TypeError, ValueError) as exc:
                raise ValueError(f"steps[{i}]: {exc}") from exc
        return cls(
            session_id=data["session_id"],
            steps=tuple(steps),
            user_id=data.get("user_id"),
            persona=data.get("persona"),
            outcome=data.get("outcome", "terminate"),
            metadata=dict(data.get("metadata") or {}),
        )

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), ensure_ascii=False)

    @classmethod
    def from_json(cls, text: str) -> Session:
        return cls.from_dict(json.loads(text))
