"""Environment ids, registered on ``import shop_env``. Variants differ only by kwargs.

``ShopR1-Step-v0`` (one step per episode) carries ``vector_kwargs`` that
``gymnasium.make_vec`` reads: ``autoreset_mode=SAME_STEP``, so a vector env resets a finished
sub-env inside the step that finished it instead of spending the next step on the reset
(Gymnasium's default ``NEXT_STEP`` would give every other step reward 0). Gymnasium lets a
spec's ``vector_kwargs`` replace those given to ``make_vec``; to choose others, build the vector
env directly (``gymnasium.vector.AsyncVectorEnv([lambda: gymnasium.make(id)] * n, ...)``);
docs/ENV.md has the recipe.
"""

from __future__ import annotations

from gymnasium.envs.registration import register, registry
from gymnasium.vector import AutoresetMode

__all__ = ["ENV_IDS", "STEP_VECTOR_KWARGS", "register_envs"]

_ENTRY = "shop_env.env:ShopSessionEnv"

#: The vector settings of the one-step id (read by ``gymnasium.make_vec``; the env ignores them).
STEP_VECTOR_KWARGS: dict = {"autoreset_mode": AutoresetMode.SAME_STEP}

#: id -> kwargs. ``ShopR1-v0`` is the paper's setting: whole sessions, the ``shop_r1``
#: reward, full history under the default token budget.
ENV_IDS: dict[str, dict] = {
    "ShopR1-v0": {},
    "ShopR1-Latest-v0": {"history": "latest"},
    "ShopR1-Binary-v0": {"reward": "binary"},
    "ShopR1-Persona-v0": {"persona": True},
    "ShopR1-Step-v0": {"episode": "step", "vector_kwargs": STEP_VECTOR_KWARGS},
}


def register_envs() -> None:
    for env_id, kwargs in ENV_IDS.items():
        if env_id not in registry:
            register(id=env_id, entry_point=_ENTRY, kwargs=dict(kwargs), disable_env_checker=False)
