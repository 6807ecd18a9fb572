"""take_cover: strafe out of the way of fireballs, predicted on straight tracks.

Each action is scored by the safest continuation (stand, strafe left, strafe right) over a short
horizon: the closest approach of every flying projectile to the player's simulated position.
"""

from __future__ import annotations

import math

import numpy as np

from envs.engine_state import Category, EngineState
from envs.registry import ScenarioSpec
from teachers import geometry
from teachers.base import Teacher
from teachers.motion import STRAFE_ACCEL, strafe

PLAYER_RADIUS = 16.0
MISSILE_RADIUS = 6.0
MARGIN = 8.0
HORIZON_STEPS = 10


class DodgerTeacher(Teacher):
    """Dodges projectiles by strafing; scores are minus the predicted danger of each action."""

    def __init__(self, spec: ScenarioSpec, mode: str = "omniscient") -> None:
        super().__init__(spec, mode)
        names = self.action_names
        self._dir = np.array(
            [1.0 if "MOVE_LEFT" in n else -1.0 if "MOVE_RIGHT" in n else 0.0 for n in names]
        )
        self.reset()

    def reset(self) -> None:
        self._tic = -1
        self._skip = 4
        self._scores = np.zeros(self.num_actions)
        self._limits: tuple[float, float] | None = None

    def action_scores(self, state: EngineState) -> np.ndarray:
        if state.tic == self._tic:
            return self._scores.copy()
        if self._tic >= 0 and 0 < state.tic - self._tic <= 16:
            self._skip = state.tic - self._tic
        self._tic = state.tic
        self._scores = self._score(state)
        return self._scores.copy()

    def _score(self, state: EngineState) -> np.ndarray:
        player = state.player
        rad = math.radians(player.angle + 90.0)
        side = np.array([math.cos(rad), math.sin(rad)])  # MOVE_LEFT direction
        origin = player.position[:2].astype(np.float64)
        if self._limits is None:
            geo = geometry.map_cache(state.walls)
            left = geometry.ray_distance(
                origin, [player.angle + 90.0, player.angle - 90.0], geo.blocking
            )
            s0 = float(origin @ side)
            self._limits = (s0 - left[1] + PLAYER_RADIUS, s0 + left[0] - PLAYER_RADIUS)
        lo, hi = self._limits
        s = float(origin @ side)
        v = float(player.velocity[:2].astype(np.float64) @ side)
        skip = self._skip
        steps = HORIZON_STEPS
        tics = np.arange(1, steps * skip + 1, dtype=np.float64)  # (T,)
        # First step: action a; then continuation c for the rest. Shapes (A, C, T).
        dirs = self._dir
        first = np.minimum(tics, skip)
        rest = np.maximum(tics - skip, 0.0)
        s1, _ = strafe(s, v, dirs[:, None] * STRAFE_ACCEL, first[None, :])  # (A, T)
        s_end, v_end = strafe(s, v, dirs * STRAFE_ACCEL, float(skip))  # (A,)
        s2, _ = strafe(
            s_end[:, None, None],
            v_end[:, None, None],
            dirs[None, :, None] * STRAFE_ACCEL,
            rest[None, None, :],
        )
        path = np.where(tics <= skip, s1[:, None, :], s2)
        path = np.clip(path, lo, hi)  # walls stop the strafe
        # Wall proximity costs a little: cornered players have one way out.
        edge = np.minimum(path[..., -1] - lo, hi - path[..., -1])
        cost = 0.2 * np.exp(-edge / 64.0)
        objects = state.objects
        mask = objects.category == Category.PROJECTILE
        if not self.omniscient:
            mask &= objects.visible
        vel = objects.velocity[mask, :2].astype(np.float64)
        moving = np.hypot(vel[:, 0], vel[:, 1]) > 0.5  # exploding fireballs stay listed, still
        if moving.any():
            pos = objects.position[mask, :2][moving].astype(np.float64)
            vel = vel[moving]
            track = pos[None, :, :] + tics[:, None, None] * vel[None, :, :]  # (T, N, 2)
            # The player moves along `side` through `origin`; its forward coordinate is fixed.
            base = origin - s * side
            player_xy = base + path[..., None] * side  # (A, C, T, 2)
            delta = np.abs(track[None, None] - player_xy[:, :, :, None, :])  # (A, C, T, N, 2)
            cheb = delta.max(axis=-1)  # hit boxes are squares: Chebyshev distance
            reach = PLAYER_RADIUS + MISSILE_RADIUS
            danger = np.exp(-(cheb - reach) / MARGIN).clip(max=50.0)
            # Earlier threats weigh more (their prediction is surer).
            weight = np.exp(-tics / (2.0 * steps * skip))[None, None, :, None]
            cost = cost + (danger * weight).max(axis=2).sum(axis=-1)
        # Best continuation per first action; continuations that stand still are preferred
        # slightly so the teacher does not dance when nothing threatens.
        still = np.abs(dirs)[None, :] * 0.01 + np.abs(dirs)[:, None] * 0.01
        return -(cost + still).min(axis=1)
