"""Turn a compact session spec into a full :class:`~shop_env.core.types.Session` with rendered pages."""

from __future__ import annotations

import time
import uuid
from collections.abc import Mapping
from typing import Any

from ..core.types import Action, Session, Step
from .shopper import GENERATOR_ID
from .site import page_meta, page_url, render_page

__all__ = ["action_from_spec", "check_session", "session_from_spec"]

_ACTION_NS = uuid.UUID("6f1c4a52-6d2b-4c53-9a57-64656d6f0001")


def _iso(epoch: int) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(epoch))


def action_from_spec(raw: Any, sid: str, k: int) -> Action:
    """The Action of a spec step's ``a`` field (``["click", name]``, ...); errors name session, step, field."""
    if not isinstance(raw, list) or not raw:
        raise ValueError(f"session {sid!r}, step {k}, field 'a': expected a non-empty list, got {raw!r}")
    kind = raw[0]
    if kind == "click" and len(raw) == 2:
        return Action.click(raw[1])
    if kind == "type_and_submit" and len(raw) == 3:
        return Action.type_and_submit(raw[1], raw[2])
    if kind == "terminate" and len(raw) == 1:
        return Action.terminate()
    raise ValueError(f"session {sid!r}, step {k}, field 'a': malformed action {raw!r}")


def session_from_spec(spec: Mapping[str, Any], personas: Mapping[str, Mapping[str, Any]]) -> Session:
    """Render every page of a spec and build the Session (labelled generated throughout).

    Args:
        spec: one session spec (see :mod:`shop_env.demo.shopper`).
        personas: user id -> persona dict.

    Raises:
        ValueError: a malformed spec (session, step and field named).
    """
    sid = spec["id"]
    goal = spec["goal"]
    t = int(spec["start"])
    steps = []
    for k, raw in enumerate(spec["steps"]):
        page = raw["page"]
        steps.append(Step(
            html=render_page(page, sid, goal),
            action=action_from_spec(raw.get("a"), sid, k),
            rationale=raw.get("r"),
            rationale_source="generated",
            url=page_url(page, sid),
            click_type=raw.get("ct"),
            timestamp=_iso(t),
            action_id=str(uuid.uuid5(_ACTION_NS, f"{sid}/{k}")),
            page_meta=page_meta(page, sid),
        ))
        t += int(raw.get("dt", 5))
    user = spec["user"]
    if user not in personas:
        raise ValueError(f"session {sid!r}, field 'user': unknown user {user!r}")
    return Session(
        session_id=sid,
        steps=tuple(steps),
        user_id=user,
        persona=dict(personas[user]),
        outcome=spec["outcome"],
        metadata={
            "generated": True,
            "generator": GENERATOR_ID,
            "goal": goal,
            "human_queries": list(spec.get("queries", ())),
            "goal_source": "WebShop human_goals.json (MIT)",
            "split": spec["split"],
        },
    )


def _element_kinds(html: str) -> dict[str, str]:
    """Element name -> kind ("clickable"/"input"), via ``shop_env.html.candidates`` when available."""
    try:
        from ..html import candidates  # type: ignore[attr-defined]
    except ImportError:
        candidates = None
    if candidates is not None:
        return {c.name: c.kind for c in candidates(html)}
    from lxml import html as lxml_html

    root = lxml_html.fromstring(html)
    return {el.get("name"): ("input" if el.tag in ("input", "textarea", "select") else "clickable")
            for el in root.iter() if isinstance(el.tag, str) and el.get("name")}


def check_session(session: Session) -> list[str]:
    """Problems with a generated session: gold targets that are missing, misplaced types, bad endings.

    Returns:
        Human-readable problems (empty when the session is sound).
    """
    problems = []
    for k, step in enumerate(session.steps):
        a = step.action
        if a.type == "terminate":
            if k != len(session.steps) - 1:
                problems.append(f"{session.session_id} step {k}: terminate before the last step")
            continue
        kinds = _element_kinds(step.html)
        if a.name not in kinds:
            problems.append(f"{session.session_id} step {k}: target {a.name!r} is not on the page")
        elif a.type == "type_and_submit" and kinds[a.name] != "input":
            problems.append(f"{session.session_id} step {k}: type_and_submit target {a.name!r} is not an input")
    last = session.steps[-1]
    if session.outcome == "purchase" and not (last.action.type == "click" and last.click_type == "purchase"):
        problems.append(f"{session.session_id}: purchase session does not end with a purchase click")
    if session.outcome == "terminate" and last.action.type != "terminate":
        problems.append(f"{session.session_id}: non-purchase session does not end with terminate")
    return problems
