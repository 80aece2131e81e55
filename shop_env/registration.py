"""Environment ids, registered on ``import shop_env``. Variants differ only by kwargs."""

from __future__ import annotations

from gymnasium.envs.registration import register, registry

__all__ = ["ENV_IDS", "register_envs"]

_ENTRY = "shop_env.env:ShopSessionEnv"

#: id -> kwargs. ``ShopR1-v0`` is the paper's setting: whole sessions, the ``shop_r1``
#: reward, full history under the default token budget.
ENV_IDS: dict[str, dict] = {
    "ShopR1-v0": {},
    "ShopR1-Latest-v0": {"history": "latest"},
    "ShopR1-Binary-v0": {"reward": "binary"},
    "ShopR1-Persona-v0": {"persona": True},
    "ShopR1-Step-v0": {"episode": "step"},
}


def register_envs() -> None:
    for env_id, kwargs in ENV_IDS.items():
        if env_id not in registry:
            register(id=env_id, entry_point=_ENTRY, kwargs=dict(kwargs), disable_env_checker=False)
