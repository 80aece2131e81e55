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

__all__ = ["ENV_IDS", "LIVE_ENV_IDS", "LIVE_MAX_EPISODE_STEPS", "REPLAY_ENV_IDS", "STEP_VECTOR_KWARGS", "register_envs"]

_ENTRY = "shop_env.env:ShopSessionEnv"
_LIVE_ENTRY = "shop_env.live:LiveShopEnv"
#: The step limit of the live id (Gymnasium's ``max_episode_steps``: a ``TimeLimit`` truncates there).
LIVE_MAX_EPISODE_STEPS = 50

#: The vector settings of the one-step id (read by ``gymnasium.make_vec``; the env ignores them).
STEP_VECTOR_KWARGS: dict = {"autoreset_mode": AutoresetMode.SAME_STEP}

#: id -> kwargs. ``ShopR1-v0`` is the paper's setting: whole sessions, the ``shop_r1``
#: reward, full history under the default token budget.
REPLAY_ENV_IDS: dict[str, dict] = {
    "ShopR1-v0": {},
    "ShopR1-Latest-v0": {"history": "latest"},
    "ShopR1-Binary-v0": {"reward": "binary"},
    "ShopR1-Persona-v0": {"persona": True},
    "ShopR1-Step-v0": {"episode": "step", "vector_kwargs": STEP_VECTOR_KWARGS},
}

#: The closed-loop id: the store answers the agent's actions (:class:`shop_env.live.LiveShopEnv`;
#: the in-process demo store unless ``store=URL``).
LIVE_ENV_IDS: dict[str, dict] = {"ShopR1-Live-v0": {}}

#: Every registered id -> kwargs (replay ids first). Tests of replay behaviour use
#: :data:`REPLAY_ENV_IDS`; the live id has its own (tests/test_live.py).
ENV_IDS: dict[str, dict] = {**REPLAY_ENV_IDS, **LIVE_ENV_IDS}


def register_envs() -> None:
    for env_id, kwargs in REPLAY_ENV_IDS.items():
        if env_id not in registry:
            register(id=env_id, entry_point=_ENTRY, kwargs=dict(kwargs), disable_env_checker=False)
    for env_id, kwargs in LIVE_ENV_IDS.items():
        if env_id not in registry:
            register(id=env_id, entry_point=_LIVE_ENTRY, kwargs=dict(kwargs), disable_env_checker=False,
                     max_episode_steps=LIVE_MAX_EPISODE_STEPS)
