"""ViZDoom gymnasium environments: registry, ``DoomEnv``, wrappers, engine state, vector envs.

Importing ``envs`` registers one gymnasium id per scenario (``doomgps/DefendTheCenter-v0``...).
"""

from __future__ import annotations

import gymnasium as gym

from envs.config import EnvConfig
from envs.engine_state import Category, EngineState
from envs.registry import SCENARIOS, ScenarioSpec, get_spec

__all__ = [
    "SCENARIOS",
    "Category",
    "EngineState",
    "EnvConfig",
    "ScenarioSpec",
    "get_spec",
    "make_env",
]


def make_env(*args, **kwargs):
    """See :func:`envs.factory.make_env`."""
    from envs.factory import make_env as _make_env

    return _make_env(*args, **kwargs)


for _spec in SCENARIOS.values():
    if _spec.env_id not in gym.registry:
        gym.register(
            id=_spec.env_id,
            entry_point="envs.factory:make_env",
            kwargs={"scenario": _spec.name},
            disable_env_checker=False,
        )
