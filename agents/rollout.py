"""One episode loop for every use: evaluation, teacher rollouts and mixed (GPS/DAgger) rollouts.

Episode ``k`` (0-based) always runs on seed ``seed + k``, whichever env and however many envs
play it, so that scores of different actors on the same seeds are comparable.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
from gymnasium.vector import VectorEnv

from agents.actors import Actor
from core.progress import progress
from envs.engine_state import EngineState


@dataclasses.dataclass(frozen=True)
class Transition:
    """What one vector step saw, passed to ``on_step`` callbacks (e.g. a dataset writer)."""

    observations: np.ndarray
    """``(N, H, W, C)`` uint8 observations the actions were chosen on."""
    states: Sequence[EngineState | None] | None
    """Engine states of those observations (``None`` when the env gives none)."""
    actions: np.ndarray
    """``(N,)`` actions taken."""
    rewards: np.ndarray
    terminated: np.ndarray
    truncated: np.ndarray
    active: np.ndarray
    """``(N,)`` bool: the env plays a requested episode (not a filler after the last one)."""
    episode: np.ndarray
    """``(N,)`` index of the episode each env plays."""


@dataclasses.dataclass(frozen=True)
class EpisodeResults:
    """Per-episode results, in episode order."""

    returns: np.ndarray
    lengths: np.ndarray
    """Agent steps per episode."""
    frames: np.ndarray
    """Engine frames (tics) per episode: agent steps x frame skip, honestly counted."""
    seeds: np.ndarray
    engine_restarts: int
    wall_seconds: float

    @property
    def mean_return(self) -> float:
        return float(np.mean(self.returns))

    @property
    def std_return(self) -> float:
        return float(np.std(self.returns))

    @property
    def total_frames(self) -> int:
        return int(np.sum(self.frames))


def _states(info: dict, num_envs: int) -> list[EngineState | None]:
    if "engine_state" not in info:
        return [None] * num_envs
    mask = info["_engine_state"]
    return [info["engine_state"][i] if mask[i] else None for i in range(num_envs)]


class _Recorder:
    """Keeps the RGB screens of episode 0 and writes them as an mp4 with OpenCV."""

    def __init__(self, path: Path, fps: float) -> None:
        self.path, self.fps, self.frames = path, fps, []

    def add(self, screens: Sequence[np.ndarray], episode: np.ndarray, active: np.ndarray) -> None:
        for i, screen in enumerate(screens):
            if active[i] and episode[i] == 0 and screen is not None:
                self.frames.append(screen)

    def save(self) -> None:
        import cv2

        if not self.frames:
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        h, w = self.frames[0].shape[:2]
        writer = cv2.VideoWriter(str(self.path), cv2.VideoWriter_fourcc(*"mp4v"), self.fps, (w, h))
        if not writer.isOpened():
            raise OSError(f"OpenCV cannot write video {self.path}")
        for frame in self.frames:
            writer.write(cv2.cvtColor(frame, cv2.COLOR_RGB2BGR))
        writer.release()


def run_episodes(
    env: VectorEnv,
    actor: Actor,
    episodes: int,
    seed: int,
    *,
    on_step: Callable[[Transition], None] | None = None,
    record: str | Path | None = None,
    show_progress: bool = True,
    description: str = "episodes",
) -> EpisodeResults:
    """Plays ``episodes`` episodes with ``actor`` on a vector env (autoreset disabled).

    Args:
        env: a vector env with ``autoreset_mode=DISABLED`` (:func:`envs.vector.make_vector_env`);
            it must put ``engine_state`` into ``info`` if the actor needs it.
        actor: picks the actions for all envs at once.
        episodes: how many episodes to finish.
        seed: episode ``k`` is reset with seed ``seed + k``.
        on_step: called after every vector step with the :class:`Transition`.
        record: an ``.mp4`` path for episode 0's screens (needs ``render_mode="rgb_array"``).
        show_progress: a progress bar on stderr.
        description: the progress bar's label.
    """
    n = env.num_envs
    returns = np.zeros(episodes)
    lengths = np.zeros(episodes, np.int64)
    frames = np.zeros(episodes, np.int64)
    episode = np.arange(n)  # env i plays episode i first; fillers beyond `episodes` are inactive
    active = episode < episodes
    next_episode = n
    restarts = 0
    started = time.perf_counter()
    recorder = None
    if record is not None:
        frame_skip = env.get_attr("config")[0].frame_skip
        recorder = _Recorder(Path(record), fps=35.0 / frame_skip)

    obs, info = env.reset(seed=[seed + int(k) for k in episode])
    states = _states(info, n)
    for i in range(n):
        actor.reset(i)
    bar = progress(
        total=episodes, desc=description, unit="ep", disable=None if show_progress else True
    )
    done_count = 0
    try:
        while done_count < episodes:
            if recorder is not None:
                recorder.add(env.call("render"), episode, active)
            actions = np.asarray(actor.act(obs, states if actor.needs_engine_state else None))
            next_obs, rewards, terminated, truncated, info = env.step(actions)
            ep_active = episode[active]
            returns[ep_active] += rewards[active]
            lengths[ep_active] += 1
            frames[ep_active] += np.asarray(info.get("frames", np.zeros(n)))[active]
            if "engine_restarted" in info:
                restarts += int(np.sum(info["_engine_restarted"] & active))
            if on_step is not None:
                on_step(
                    Transition(
                        obs,
                        states,
                        actions,
                        rewards,
                        terminated,
                        truncated,
                        active.copy(),
                        episode.copy(),
                    )
                )
            states = _states(info, n)
            obs = next_obs
            done = terminated | truncated
            if not done.any():
                continue
            finished = done & active
            done_count += int(finished.sum())
            bar.update(int(finished.sum()))
            for i in np.flatnonzero(done):
                episode[i] = next_episode
                active[i] = next_episode < episodes
                next_episode += 1
            if done_count >= episodes:
                break
            obs, reset_info = env.reset(
                seed=[seed + int(k) for k in episode], options={"reset_mask": done.copy()}
            )
            for i, state in enumerate(_states(reset_info, n)):
                if done[i]:
                    states[i] = state
                    actor.reset(int(i))
    finally:
        bar.close()
    if recorder is not None:
        recorder.save()
    return EpisodeResults(
        returns,
        lengths,
        frames,
        seed + np.arange(episodes),
        restarts,
        time.perf_counter() - started,
    )
