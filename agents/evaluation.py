"""``evaluate()``: the one evaluation used by training and by ``doomgps eval``."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

from gymnasium.vector import VectorEnv

from agents.actors import Actor
from agents.rollout import EpisodeResults, run_episodes
from envs.config import EnvConfig
from envs.registry import ScenarioSpec, get_spec


def evaluate(
    scenario: str | ScenarioSpec,
    actor: Actor,
    *,
    episodes: int = 20,
    seed: int = 0,
    num_envs: int = 2,
    env_config: EnvConfig | None = None,
    env: VectorEnv | None = None,
    record: str | Path | None = None,
    show_progress: bool = True,
) -> EpisodeResults:
    """Plays ``episodes`` seeded episodes (episode k on seed ``seed + k``) and returns the results.

    Args:
        scenario: scenario name, gymnasium id, spec or ``.cfg`` path.
        actor: the policy (random, teacher or student).
        episodes: how many episodes.
        seed: the first episode's seed.
        num_envs: engines played in parallel (ignored when ``env`` is given).
        env_config: observation options; must match what a student was trained on.
        env: reuse this vector env instead of starting one (training does).
        record: write episode 0 as an mp4 here.
        show_progress: a progress bar on stderr.
    """
    if env is not None:
        return run_episodes(
            env,
            actor,
            episodes,
            seed,
            record=record,
            show_progress=show_progress,
            description="eval",
        )
    from envs.vector import open_vector_env

    spec = get_spec(scenario)
    config = env_config or EnvConfig()
    if actor.needs_engine_state:
        config = dataclasses.replace(config, engine_state=True, engine_state_in_info=True)
    num_envs = max(1, min(num_envs, episodes))
    with open_vector_env(
        spec, num_envs, config, render_mode="rgb_array" if record is not None else None
    ) as vec:
        return run_episodes(
            vec,
            actor,
            episodes,
            seed,
            record=record,
            show_progress=show_progress,
            description=f"eval {spec.name}",
        )


def summary(results: EpisodeResults, **extra: Any) -> dict[str, Any]:
    """A JSON-friendly summary: per-episode returns/lengths and mean ± std."""
    return {
        **extra,
        "episodes": len(results.returns),
        "seeds": [int(s) for s in results.seeds],
        "returns": [float(r) for r in results.returns],
        "lengths": [int(n) for n in results.lengths],
        "frames": int(results.total_frames),
        "mean_return": results.mean_return,
        "std_return": results.std_return,
        "mean_length": float(results.lengths.mean()),
        "engine_restarts": results.engine_restarts,
        "wall_seconds": round(results.wall_seconds, 3),
    }
