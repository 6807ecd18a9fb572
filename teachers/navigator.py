"""Navigation teachers: my_way_home (maze) and deadly_corridor (fight, then walk to the vest).

The path is planned with A* on the map's occupancy grid (inflated by the player's radius),
string-pulled into a few waypoints, and replanned when the next waypoint drops out of sight.
The goal (the vest) is fixed by each map, so it counts as learnable in the imitable mode too.
"""

from __future__ import annotations

import numpy as np

from envs.engine_state import EngineState
from envs.registry import ScenarioSpec
from teachers import geometry
from teachers.base import Teacher
from teachers.motion import FAST_TURN, FORWARD_ACCEL, FRICTION, infer_turn_held, turn_amount
from teachers.shooter import ShooterTeacher

PLAYER_RADIUS = 16.0
GRID_RADIUS = 20.0
"""Inflation of the occupancy grid: the player's radius plus a little clearance."""
TOP_SPEED = FORWARD_ACCEL * FRICTION / (1 - FRICTION)
GOAL_NAMES = ("GreenArmor", "BlueArmor")
WAYPOINT_REACHED = 24.0


class _PathFollower:
    """A* path with smoothing and replanning; scores moves by progress toward the next waypoint."""

    def __init__(self, names: tuple[str, ...]) -> None:
        self.turn = np.array(
            [1 if "TURN_LEFT" in n else -1 if "TURN_RIGHT" in n else 0 for n in names], np.float64
        )
        self.forward = np.array(
            [1.0 if "MOVE_FORWARD" in n else -1.0 if "MOVE_BACKWARD" in n else 0.0 for n in names]
        )
        self.side = np.array(
            [1.0 if "MOVE_LEFT" in n else -1.0 if "MOVE_RIGHT" in n else 0.0 for n in names]
        )
        self.reset()

    def reset(self) -> None:
        self.goal: np.ndarray | None = None
        self.path: np.ndarray | None = None
        self.tic = -1
        self.skip = 4
        self.angle: float | None = None
        self.held = 0

    def observe(self, state: EngineState) -> None:
        player = state.player
        if self.angle is not None and 0 < state.tic - self.tic <= 16:
            self.skip = state.tic - self.tic
            delta = geometry.wrap_degrees(player.angle - self.angle)
            self.held = infer_turn_held(delta, self.held, self.skip)
        self.angle, self.tic = player.angle, state.tic

    def _plan(self, geo: geometry.MapGeometry, start: np.ndarray) -> None:
        grid = geo.grid(GRID_RADIUS)
        cells = grid.to_cell(np.stack([start, self.goal]))
        blocked = grid.blocked.copy()
        blocked[tuple(cells[0])] = False  # the player may stand close to a wall
        blocked[tuple(cells[1])] = False
        path = geometry.astar(blocked, tuple(cells[0]), tuple(cells[1]))
        if path is None:
            self.path = self.goal[None].copy()
            return
        points = grid.to_point(np.array(path))
        points[0], points[-1] = start, self.goal
        self.path = geometry.smooth_path(points, geo.blocking, clearance=PLAYER_RADIUS)[1:]

    def scores(self, state: EngineState, goal: np.ndarray) -> np.ndarray:
        """Minus the estimated tics to the next waypoint after one step of each action."""
        geo = geometry.map_cache(state.walls)
        player = state.player
        origin = player.position[:2].astype(np.float64)
        if self.goal is None or not np.allclose(self.goal, goal):
            self.goal = np.asarray(goal, np.float64)
            self._plan(geo, origin)
        path = self.path
        while len(path) > 1 and (
            np.hypot(*(path[0] - origin)) < WAYPOINT_REACHED
            or geometry.corridor_clear(origin, path[1:2], geo.blocking, PLAYER_RADIUS)[0]
        ):
            path = path[1:]
        if not geometry.line_of_sight(origin, path[:1], geo.blocking)[0]:
            self._plan(geo, origin)
            path = self.path
        self.path = path
        target = path[0]
        skip = self.skip
        angles = player.angle + self.turn * turn_amount(self.held, skip)
        rad = np.radians(angles)
        heading = np.stack([np.cos(rad), np.sin(rad)], axis=1)
        left = np.stack([-np.sin(rad), np.cos(rad)], axis=1)
        vel = player.velocity[:2].astype(np.float64)
        speed = min(TOP_SPEED, float(np.hypot(*vel)) + FORWARD_ACCEL * skip)
        move = self.forward[:, None] * heading + 0.8 * self.side[:, None] * left
        pos = origin + vel * skip * 0.5 + move * speed * skip * 0.5
        rel = target - pos
        dist = np.hypot(rel[:, 0], rel[:, 1])
        err = np.abs(geometry.wrap_degrees(np.degrees(np.arctan2(rel[:, 1], rel[:, 0])) - angles))
        remaining = float(np.hypot(*np.diff(path, axis=0).T).sum())
        tics = (dist + remaining) / TOP_SPEED + err / FAST_TURN
        # Bumping into walls wastes the step.
        ahead = geometry.ray_distance(origin, angles, geo.blocking)
        bump = np.where(self.forward > 0, 4.0 * np.exp(-(ahead - 20.0) / 16.0), 0.0)
        return -(tics + bump) / skip


def _goal(state: EngineState) -> np.ndarray | None:
    objects = state.objects
    for i, name in enumerate(objects.name):
        if name in GOAL_NAMES:
            return objects.position[i, :2].astype(np.float64)
    return None


class NavigatorTeacher(Teacher):
    """my_way_home: follows the planned path to the vest."""

    def __init__(self, spec: ScenarioSpec, mode: str = "omniscient") -> None:
        super().__init__(spec, mode)
        self._nav = _PathFollower(self.action_names)
        self.reset()

    def reset(self) -> None:
        self._nav.reset()
        self._tic = -1
        self._scores = np.zeros(self.num_actions)

    def action_scores(self, state: EngineState) -> np.ndarray:
        if state.tic == self._tic:
            return self._scores.copy()
        self._tic = state.tic
        self._nav.observe(state)
        goal = _goal(state)
        if goal is None:  # the vest is gone: the episode is ending
            return np.zeros(self.num_actions)
        self._scores = self._nav.scores(state, goal)
        return self._scores.copy()


class CorridorTeacher(ShooterTeacher):
    """deadly_corridor: kill every enemy in sight (shooter scores), else walk to the vest."""

    def __init__(self, spec: ScenarioSpec, mode: str = "omniscient") -> None:
        self._nav = _PathFollower(spec.action_names)
        super().__init__(spec, mode)

    def reset(self) -> None:
        super().reset()
        self._nav.reset()

    def _targets(self, state: EngineState):
        pos, radius, urgency = super()._targets(state)
        if self.omniscient and len(pos):
            geo = geometry.map_cache(state.walls)
            ok = geometry.line_of_sight(state.player.position[:2], pos, geo.sight)
            pos, radius, urgency = pos[ok], radius[ok], urgency[ok]
        return pos, radius, urgency

    def _score(self, state: EngineState) -> np.ndarray:
        self._nav.observe(state)
        goal = _goal(state)
        nav = self._nav.scores(state, goal) if goal is not None else np.zeros(self.num_actions)
        pos, _, _ = self._targets(state)
        if len(pos) == 0:
            return nav
        fight = super()._score(state)
        # Fighting first; among equal fight scores, forward progress breaks ties.
        return fight + 0.05 * (nav - nav.max())
