"""Navigation teachers: my_way_home (maze) and deadly_corridor (fight, then walk to the vest).

The way is a shortest-path distance field to the goal on the map's occupancy grid (inflated by
the player's radius), built once per map and cached: the player aims a few cells down the path
from wherever it stands, so it never needs replanning.
The goal (the vest) is fixed by each map, so it counts as learnable in the imitable mode too.
"""

from __future__ import annotations

import math

import numpy as np

from envs.engine_state import EngineState
from envs.registry import ScenarioSpec
from teachers import geometry
from teachers.base import Teacher
from teachers.motion import FAST_TURN, FORWARD_ACCEL, FRICTION, turn_amount
from teachers.shooter import ShooterTeacher

PLAYER_RADIUS = 16.0
GRID_RADIUS = 20.0
"""Inflation of the occupancy grid: the player's radius plus a little clearance."""
TOP_SPEED = FORWARD_ACCEL * FRICTION / (1 - FRICTION)
BUMP_RADIUS = 12.0
"""A predicted position this close to a wall means the move runs into it."""
GOAL_NAMES = ("GreenArmor", "BlueArmor")
ADVANCE_COST = 0.3
"""deadly_corridor: score cost (in steps) of walking forward while an enemy is in sight."""
BACK_OFF = 0.1
"""deadly_corridor: score bonus (in steps) of backing off while an enemy is in sight."""


class _FieldFollower:
    """Follows the cached shortest-path field to a fixed goal (no per-episode planning).

    The field (path length to the goal from every cell of the inflated occupancy grid) and a
    look-ahead point per cell are built once per map and goal; each step scores moves by the
    tics to the look-ahead point plus the path length left from there.
    """

    LOOKAHEAD = 4
    """Cells (16 units each) down the path to aim at."""

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
        self.moves = (self.forward != 0) | (self.side != 0)

    def scores(self, state: EngineState, goal: np.ndarray, skip: int, held: int) -> np.ndarray:
        """Minus the estimated steps to the goal after one step of each action.

        Args:
            state: the current state.
            goal: ``(2,)`` the goal's map position.
            skip: tics per step.
            held: tics the current turn has been held (the turn ramp).
        """
        geo = geometry.map_cache(state.walls)
        grid, field, targets = geo.goal_field(goal, GRID_RADIUS, lookahead=self.LOOKAHEAD)
        player = state.player
        x, y = float(player.position[0]), float(player.position[1])
        origin = np.array([x, y])
        cell = grid.cell_of(x, y)
        if not np.isfinite(field[cell]):
            cell = geometry.nearest_open_cell(grid, field, origin, geo.blocking)
        if cell is None:  # lost (should not happen): head straight for the goal
            target, remaining = np.asarray(goal, np.float64), 0.0
        else:
            target = targets[cell]
            remaining = float(field[grid.cell_of(*target)])
            if not np.isfinite(remaining):
                remaining = 0.0
            if np.hypot(*(np.asarray(goal) - origin)) < 2 * grid.cell * self.LOOKAHEAD:
                target, remaining = np.asarray(goal, np.float64), 0.0
        angles = player.angle + self.turn * turn_amount(held, skip)
        rad = np.radians(angles)
        cos, sin = np.cos(rad), np.sin(rad)
        vx, vy = float(player.velocity[0]), float(player.velocity[1])
        speed = min(TOP_SPEED, math.hypot(vx, vy) + FORWARD_ACCEL * skip) * skip * 0.5
        fwd, side = self.forward * speed, 0.8 * self.side * speed
        px = x + vx * skip * 0.5 + fwd * cos - side * sin
        py = y + vy * skip * 0.5 + fwd * sin + side * cos
        rx, ry = target[0] - px, target[1] - py
        dist = np.hypot(rx, ry)
        err = np.abs((np.degrees(np.arctan2(ry, rx)) - angles + 180.0) % 360.0 - 180.0)
        tics = (dist + remaining) / TOP_SPEED + err / FAST_TURN
        # Moving into a wall wastes the step: the landing cell is next to a wall.
        walls = geo.grid(BUMP_RADIUS)
        h, w = walls.blocked.shape
        cols = np.clip(((px - walls.origin[0]) // walls.cell).astype(np.int64), 0, w - 1)
        rows = np.clip(((py - walls.origin[1]) // walls.cell).astype(np.int64), 0, h - 1)
        bump = np.where(self.moves & walls.blocked[rows, cols], 4.0, 0.0)
        return -(tics + bump) / skip


def _goal(state: EngineState) -> np.ndarray | None:
    objects = state.objects
    for i, name in enumerate(objects.name):
        if name in GOAL_NAMES:
            return objects.position[i, :2].astype(np.float64)
    return None


class NavigatorTeacher(Teacher):
    """my_way_home: follows the planned path to the vest."""

    TRACKS_TURN = True

    def __init__(self, spec: ScenarioSpec, mode: str = "omniscient") -> None:
        super().__init__(spec, mode)
        self._nav = _FieldFollower(self.action_names)
        self.reset()

    def _decide(self, state: EngineState) -> np.ndarray:
        goal = _goal(state)
        if goal is None:  # the vest is gone: the episode is ending
            return np.zeros(self.num_actions)
        return self._nav.scores(state, goal, self._skip, self._held)


class CorridorTeacher(ShooterTeacher):
    """deadly_corridor: kill every enemy in the clear before advancing, then walk to the vest.

    While an enemy is in the clear the shooter scores rule, walking forward costs a fraction of a
    step and backing off (with room behind) earns one: at skill 5 hitscan damage adds up fast,
    and the monsters' spread is angular, so distance is armour.
    """

    def __init__(self, spec: ScenarioSpec, mode: str = "omniscient") -> None:
        self._nav = _FieldFollower(spec.action_names)
        super().__init__(spec, mode)

    def _targets(self, state: EngineState) -> list[tuple[float, float, float, float]]:
        targets = super()._targets(state)
        # Only enemies in the clear (an imitable teacher may see a sprite whose centre is
        # behind an alcove's edge): a target it cannot shoot would hold it back forever.
        if targets:
            geo = geometry.map_cache(state.walls)
            points = np.array([t[:2] for t in targets])
            ok = geometry.line_of_sight(state.player.position[:2], points, geo.sight).tolist()
            targets = [t for t, k in zip(targets, ok, strict=True) if k]
        return targets

    def _score(self, state: EngineState) -> np.ndarray:
        goal = _goal(state)
        targets = self._targets(state)
        if not targets:
            if goal is None:
                return np.zeros(self.num_actions)
            return self._nav.scores(state, goal, self._skip, self._held)
        fight = self._fight(state, targets)
        # Never advance into a fight: hitscan spread is angular, so distance is armour. Back off
        # while there is room behind, else hold; a fraction of a step, so aiming comes first.
        player = state.player
        geo = geometry.map_cache(state.walls)
        room = geo.sight_distances(
            float(player.position[0]), float(player.position[1]), [player.angle + 180.0]
        )[0]
        back = BACK_OFF if room > 2 * PLAYER_RADIUS + 8 else 0.0
        return (
            fight
            + np.where(self._nav.forward > 0, -ADVANCE_COST, 0.0)
            + np.where(self._nav.forward < 0, back, 0.0)
        )
