"""``make_env``: the one place wrappers are applied, in a fixed, written-down order.

Order (innermost first):
1. :class:`envs.doom_env.DoomEnv`: engine, frame skip, resize/grey, crash restart, engine state.
2. :class:`envs.frame_stack.StackFrames` (when ``frame_stack > 1``).
"""

from __future__ import annotations

from typing import Any

import gymnasium as gym

from envs.config import EnvConfig
from envs.doom_env import DoomEnv
from envs.frame_stack import StackFrames
from envs.registry import ScenarioSpec


def make_env(
    scenario: str | ScenarioSpec = "defend_the_center",
    config: EnvConfig | None = None,
    render_mode: str | None = None,
    **overrides: Any,
) -> gym.Env:
    """Builds one environment with the project's wrappers.

    Args:
        scenario: registered name or gymnasium id, a :class:`ScenarioSpec`, or a ``.cfg`` path.
        config: rendering/stepping options (defaults: 60x80 grey, 4 stacked frames, skip 4).
        render_mode: ``None`` or ``"rgb_array"``.
        **overrides: fields of :class:`EnvConfig` to change, e.g. ``frame_stack=1``.
    """
    env: gym.Env = DoomEnv(scenario, config, render_mode=render_mode, **overrides)
    if env.config.frame_stack > 1:
        env = StackFrames(env, env.config.frame_stack, env.config.frame_stack_dilation)
    return env
