"""health_gathering (+supreme): walk to the medikit that is quickest to reach, avoid poison.

Each action is simulated for one step (turn ramp and forward thrust), then scored by minus the
estimated tics to the quickest medikit in a straight, wall-free line (distance over top speed plus
the heading change over the turn rate). With no such medikit, the teacher heads for open space.
"""

from __future__ import annotations

import numpy as np

from envs.engine_state import HARMFUL_PICKUP_NAMES, Category, EngineState
from envs.registry import ScenarioSpec
from teachers import geometry
from teachers.base import Teacher
from teachers.motion import FAST_TURN, FORWARD_ACCEL, FRICTION, infer_turn_held, turn_amount

TOP_SPEED = FORWARD_ACCEL * FRICTION / (1 - FRICTION)
CANDIDATES = 8
"""Nearest medikits checked for a clear straight line (bounds the ray-cast work)."""
POISON_RADIUS = 40.0
MEMORY_TICS = 140
"""Imitable mode: how long a medikit seen on screen is remembered."""


class GathererTeacher(Teacher):
    """Greedy, line-of-sight medikit gathering with poison avoidance."""

    def __init__(self, spec: ScenarioSpec, mode: str = "omniscient") -> None:
        super().__init__(spec, mode)
        names = self.action_names
        self._turn = np.array(
            [1 if "TURN_LEFT" in n else -1 if "TURN_RIGHT" in n else 0 for n in names], np.float64
        )
        self._forward = np.array(["MOVE_FORWARD" in n for n in names], np.float64)
        self.reset()

    def reset(self) -> None:
        self._tic = -1
        self._skip = 4
        self._angle: float | None = None
        self._held = 0
        self._seen: dict[int, tuple[np.ndarray, int]] = {}
        self._scores = np.zeros(self.num_actions)

    def action_scores(self, state: EngineState) -> np.ndarray:
        if state.tic == self._tic:
            return self._scores.copy()
        player = state.player
        if self._angle is not None and 0 < state.tic - self._tic <= 16:
            self._skip = state.tic - self._tic
            delta = geometry.wrap_degrees(player.angle - self._angle)
            self._held = infer_turn_held(delta, self._held, self._skip)
        self._angle, self._tic = player.angle, state.tic
        self._scores = self._score(state)
        return self._scores.copy()

    def _pickups(self, state: EngineState) -> tuple[np.ndarray, np.ndarray]:
        """Medikit and poison positions the mode may use."""
        objects = state.objects
        mask = objects.category == Category.PICKUP
        harmful = np.array([n in HARMFUL_PICKUP_NAMES for n in objects.name]) & mask
        good = mask & ~harmful
        if self.omniscient:
            return (
                objects.position[good, :2].astype(np.float64),
                objects.position[harmful, :2].astype(np.float64),
            )
        tic = state.tic
        me = state.player.position[:2]
        for i in np.flatnonzero(good & objects.visible):
            self._seen[int(objects.id[i])] = (objects.position[i, :2].astype(np.float64), tic)
        # Forget what expired or what we walked over (picked up, or gone when we got there).
        self._seen = {
            k: v
            for k, v in self._seen.items()
            if tic - v[1] <= MEMORY_TICS and np.hypot(*(v[0] - me)) > 24.0
        }
        good_pos = np.array([v[0] for v in self._seen.values()]).reshape(-1, 2)
        poison = objects.position[harmful & objects.visible, :2].astype(np.float64)
        return good_pos, poison

    def _score(self, state: EngineState) -> np.ndarray:
        player = state.player
        origin = player.position[:2].astype(np.float64)
        vel = player.velocity[:2].astype(np.float64)
        skip = self._skip
        geo = geometry.map_cache(state.walls)
        # One step ahead per action: yaw after the turn, position after the thrust (approx.).
        angles = player.angle + self._turn * turn_amount(self._held, skip)
        rad = np.radians(angles)
        heading = np.stack([np.cos(rad), np.sin(rad)], axis=1)
        speed = float(np.hypot(*vel))
        ahead = np.where(
            self._forward[:, None] > 0,
            heading * min(TOP_SPEED, speed + FORWARD_ACCEL * skip) * skip,
            vel * skip * 0.5,
        )
        pos = origin + ahead  # (A, 2)
        medikits, poison = self._pickups(state)
        # Room ahead along each action's new heading: walking into a wall wastes the step.
        free = (
            geometry.ray_distance(origin, angles, geo.sight)
            if len(geo.sight)
            else np.full(len(angles), np.inf)
        )
        wall_cost = np.where(self._forward > 0, 6.0 * np.exp(-(free - 24.0) / 24.0), 0.0)
        scores = -wall_cost
        if len(poison):
            d = np.hypot(*(poison[None, :, :] - pos[:, None, :]).transpose(2, 0, 1))
            scores = scores - 30.0 * np.exp(-(d - POISON_RADIUS) / 16.0).clip(max=5.0).sum(1)
        if len(medikits):
            rel0 = medikits - origin
            dist0 = np.hypot(rel0[:, 0], rel0[:, 1])
            near = np.argsort(dist0)[:CANDIDATES]
            targets = medikits[near]
            if len(geo.sight):
                ok = geometry.line_of_sight(origin, targets, geo.sight)
                targets = targets[ok]
            if len(targets):
                rel = targets[None, :, :] - pos[:, None, :]  # (A, K, 2)
                dist = np.hypot(rel[..., 0], rel[..., 1])
                bearing = np.degrees(np.arctan2(rel[..., 1], rel[..., 0]))
                turn = np.abs(geometry.wrap_degrees(bearing - angles[:, None]))
                # Close targets need precise heading; far ones can be fixed on the way.
                tics = dist / TOP_SPEED + turn / FAST_TURN * np.clip(120.0 / dist, 0.3, 1.0)
                return scores - skip - tics.min(axis=1) / skip
        # Nothing in reach: head for the most open direction (explore).
        return scores + np.minimum(free, 600.0) / 100.0 * np.where(self._forward > 0, 1.0, 0.7)
