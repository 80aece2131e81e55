"""The paper's system prompt and the chat messages every LLM agent and trainer sees.

The action space and the answer form come from the answer protocol
(:mod:`shop_env.core.protocol`). One place builds prompts: agents, SFT, GRPO and the benchmarks all call
:func:`to_messages` on the env's observation, so they can never disagree.
"""

from __future__ import annotations

from .core.protocol import ACTION_SPACE_TEXT, ANSWER_FORMAT_TEXT

__all__ = ["SYSTEM_PROMPT", "RATIONALE_SYNTHESIS_PROMPT", "to_messages"]

SYSTEM_PROMPT = f"""\
You are a user browsing an online store to buy a product. Given the history of your \
previous actions and the simplified HTML of the current web page, predict your next \
action and a short rationale for it.

{ACTION_SPACE_TEXT}

The context is a simplified HTML page in which every interactable element carries a \
unique `name` attribute. The rationale is one short sentence, in the first person, \
explaining why you take the action.

{ANSWER_FORMAT_TEXT}"""

RATIONALE_SYNTHESIS_PROMPT = """\
You are given a customer's shopping journey on a large online store: the context (what \
the user is looking at, as simplified HTML) and the action (what the user did). Write the \
user's rationale for the action: first person, one short sentence. If the action is \
`terminate`, the user did not find a product they wanted and closed the window. Answer \
with the sentence only."""


def to_messages(observation: str, *, system_prompt: str = SYSTEM_PROMPT) -> list[dict[str, str]]:
    """Chat messages for one env observation (the user turn) under the paper's system prompt."""
    return [
        {"role": "system", "content": system_prompt},
        {"role": "user", "content": observation},
    ]
