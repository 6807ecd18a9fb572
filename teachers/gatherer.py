"""health_gathering (+supreme): walk to the medikit that is quickest to reach, avoid poison.

Each action is simulated for one step (turn ramp and forward thrust), then scored by minus the
estimated tics to the quickest medikit reachable in a straight corridor as wide as the player
(distance over top speed plus the heading change over the turn rate, plus a detour cost when a
poison vial lies on the way). With none in a straight line, the teacher follows a path-length
field to all known medikits (cached per set of medikit cells); a medikit it chases without moving
is ignored for a while. With nothing known, it heads for open space.
"""

from __future__ import annotations

import math

import numpy as np

from envs.engine_state import HARMFUL_PICKUP_NAMES, Category, EngineState, categorize
from envs.registry import ScenarioSpec
from teachers import geometry
from teachers.base import Teacher
from teachers.motion import FAST_TURN, FORWARD_ACCEL, FRICTION, turn_amount

TOP_SPEED = FORWARD_ACCEL * FRICTION / (1 - FRICTION)
CANDIDATES = 8
"""Nearest medikits checked for a clear straight line (bounds the ray-cast work)."""
POISON_REACH = 36.0
"""Chebyshev distance under which a poison vial is touched (radii 16 + 20)."""
POISON_PATH = 48.0
"""A straight path passing this close to a poison vial is treated as a detour."""
STICKY = 12.0
"""Tics of preference for the medikit already chased (no dithering between two)."""
MEMORY_TICS = 140
"""Imitable mode: how long a medikit seen on screen is remembered."""
TOUCH = 24.0
"""A pickup is taken within about this distance (the player's and the item's radii overlap)."""
CLEARANCE = 12.0
"""Half-width of the straight corridor that must be free of walls to walk to a medikit."""
GRID_RADIUS = 20.0
FIELD_CELL = 32.0
"""Cell side of the path-length field used when no medikit is in a straight line."""
FIELD_TICS = 70
"""How long a path-length field to the medikits is reused while none of them is gone."""
TURN_FLOOR = 0.3
"""Far medikits: the share of the heading change that costs time (the rest is made walking)."""
AIM_CELLS = 8
"""Cells down the path (32 units each) checked for a straight walk to aim at."""
DETOUR_SLACK = 48.0
"""A medikit in a straight line is chased unless the path to the nearest one is this much
shorter."""
STUCK_STEPS = 6
STUCK_DISTANCE = 8.0
BAN_TICS = 140
"""A medikit chased for ``STUCK_STEPS`` steps without moving ``STUCK_DISTANCE`` units is
ignored this many tics (a corner or a pillar the straight-line test missed)."""
_PICKUP = int(Category.PICKUP)
_ROWS: dict[tuple[str, ...], tuple[list[int], list[int]]] = {}


def _pickup_rows(names: tuple[str, ...]) -> tuple[list[int], list[int]]:
    """Rows of the helpful and the harmful pickups among objects named ``names``, cached: the
    list of names changes only when an object appears or goes."""
    rows = _ROWS.get(names)
    if rows is None:
        if len(_ROWS) > 256:
            _ROWS.clear()
        pickups = [i for i, name in enumerate(names) if categorize(name) == _PICKUP]
        rows = _ROWS[names] = (
            [i for i in pickups if names[i] not in HARMFUL_PICKUP_NAMES],
            [i for i in pickups if names[i] in HARMFUL_PICKUP_NAMES],
        )
    return rows


class GathererTeacher(Teacher):
    """Greedy medikit gathering (straight walks, else shortest paths) with poison avoidance."""

    def __init__(self, spec: ScenarioSpec, mode: str = "omniscient") -> None:
        super().__init__(spec, mode)
        names = self.action_names
        self._turn = np.array(
            [1 if "TURN_LEFT" in n else -1 if "TURN_RIGHT" in n else 0 for n in names], np.float64
        )
        self._forward = np.array(["MOVE_FORWARD" in n for n in names], np.float64)
        self.reset()

    TRACKS_TURN = True

    def reset(self) -> None:
        super().reset()
        self._seen: dict[int, tuple[float, float, int]] = {}
        self._history: list[tuple[float, float, int]] = []
        self._walking = False
        self._target: tuple[np.ndarray, int] | None = None
        self._banned: list[tuple[float, float, int]] = []
        self._field: tuple[np.ndarray, list, int, frozenset, frozenset] | None = None

    def _took(self, state: EngineState, action: int) -> None:
        self._walking = bool(self._forward[action] > 0)

    def _pickups(self, state: EngineState) -> tuple[np.ndarray, np.ndarray]:
        """Medikit and poison positions the mode may use."""
        objects = state.objects
        good, bad = _pickup_rows(objects.name)
        position = objects.position
        if self.omniscient:
            return (
                position[good, :2].astype(np.float64).reshape(-1, 2),
                position[bad, :2].astype(np.float64).reshape(-1, 2),
            )
        tic = state.tic
        me_x, me_y = float(state.player.position[0]), float(state.player.position[1])
        visible = objects.visible
        ids = objects.id
        seen = self._seen
        for i in good:
            if visible[i]:
                seen[int(ids[i])] = (float(position[i, 0]), float(position[i, 1]), tic)
        # Forget what expired or what we walked over (picked up, or gone when we got there).
        self._seen = seen = {
            k: v
            for k, v in seen.items()
            if tic - v[2] <= MEMORY_TICS and math.hypot(v[0] - me_x, v[1] - me_y) > 24.0
        }
        good_pos = np.array([v[:2] for v in seen.values()], np.float64).reshape(-1, 2)
        bad = [i for i in bad if visible[i]]
        return good_pos, position[bad, :2].astype(np.float64).reshape(-1, 2)

    def _decide(self, state: EngineState) -> np.ndarray:
        player = state.player
        origin = player.position[:2].astype(np.float64)
        vel = player.velocity[:2].astype(np.float64)
        skip = self._skip
        geo = geometry.map_cache(state.walls)
        tic = state.tic
        self._unstick(origin, tic)
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
        if self._banned and len(medikits):
            keep = np.ones(len(medikits), bool)
            for bx, by, until in self._banned:
                if until > tic:
                    keep &= np.hypot(medikits[:, 0] - bx, medikits[:, 1] - by) > 24.0
            medikits = medikits[keep]
        # Room ahead along each action's new heading (walking into a wall wastes the step), and
        # which of the nearest medikits a straight walk reaches (up to touching it): one batch.
        near, targets = np.zeros(0, np.int64), np.zeros((0, 2))
        ends = targets
        if len(medikits):
            rel0 = medikits - origin
            dist0 = np.hypot(rel0[:, 0], rel0[:, 1])
            near = np.argsort(dist0)[:CANDIDATES]
            targets = medikits[near]
            shorten = np.maximum(dist0[near] - TOUCH, 0.0) / np.maximum(dist0[near], 1e-6)
            ends = origin + (targets - origin) * shorten[:, None]
        free, reachable = geometry.rays_and_corridors(
            origin, angles, ends, geo.blocking_columns, CLEARANCE
        )
        wall_cost = np.where(self._forward > 0, 6.0 * np.exp(-(free - 24.0) / 24.0), 0.0)
        scores = -wall_cost
        if len(poison):
            # Pickups are touched when the square boxes overlap: Chebyshev distance.
            # Checked halfway too: a step covers up to 30 units, a vial's reach is 40.
            px, py = poison[:, 0], poison[:, 1]
            mid = 0.5 * (pos + origin)
            d = np.minimum(
                np.maximum(np.abs(px - pos[:, 0:1]), np.abs(py - pos[:, 1:2])),
                np.maximum(np.abs(px - mid[:, 0:1]), np.abs(py - mid[:, 1:2])),
            )
            scores = scores - 30.0 * np.exp(-(d - POISON_REACH) / 3.0).clip(max=5.0).sum(1)
        target = None
        if len(medikits):
            extra = np.zeros(len(targets))
            rel_p = poison - origin
            close = poison[np.hypot(rel_p[:, 0], rel_p[:, 1]) < dist0[near].max() + POISON_PATH]
            if len(close):
                # A poison vial on the way costs a detour (or the health it takes).
                seg = np.concatenate([np.broadcast_to(origin, targets.shape), targets], axis=1)
                gap = geometry.point_segment_distance(close, seg).min(axis=0)
                extra = extra + np.where(gap < POISON_PATH, 40.0, 0.0)
            if self._target is not None:
                # Keep the medikit we are after unless another is clearly quicker.
                prev = self._target[0]
                extra = extra - np.where(np.hypot(*(targets - prev).T) < 16.0, STICKY, 0.0)
            ok = reachable
            straight_scores, straight = None, math.inf
            if ok.any():
                targets, extra = targets[ok], extra[ok]
                rel = targets[None, :, :] - pos[:, None, :]  # (A, K, 2)
                dist = np.hypot(rel[..., 0], rel[..., 1])
                bearing = np.degrees(np.arctan2(rel[..., 1], rel[..., 0]))
                turn = np.abs(geometry.wrap_degrees(bearing - angles[:, None]))
                # Close targets need precise heading; far ones can be fixed on the way.
                tics = (
                    dist / TOP_SPEED
                    + turn / FAST_TURN * np.clip(120.0 / dist, TURN_FLOOR, 1.0)
                    + extra[None, :]
                )
                best = tics.argmin(axis=1)
                target = targets[best[int(np.argmin(tics.min(axis=1)))]]
                straight = float(np.hypot(*(target - origin)))
                straight_scores = scores - skip - tics.min(axis=1) / skip
                if straight <= float(dist0.min()) + DETOUR_SLACK:
                    # No path can be shorter than the nearest medikit's straight line.
                    self._target = (target, tic)
                    return straight_scores
            # The shortest paths to all medikits (a field): the nearest one may be round a
            # pillar while those in a straight line are farther.
            path = self._path(geo, medikits, origin, poison)
            if path is not None:
                _, clear = geometry.rays_and_corridors(
                    origin, [], path[1], geo.blocking_columns, CLEARANCE
                )
                by_path = self._path_scores(path, clear, pos, angles)
                if straight > by_path[1] + DETOUR_SLACK:
                    self._target = None
                    return scores - skip + by_path[0]
            if straight_scores is not None:
                self._target = (target, tic)
                return straight_scores
        self._target = None
        # Nothing in reach: head for the most open direction (explore).
        return scores + np.minimum(free, 600.0) / 100.0 * np.where(self._forward > 0, 1.0, 0.7)

    def _path(
        self,
        geo: geometry.MapGeometry,
        medikits: np.ndarray,
        origin: np.ndarray,
        poison: np.ndarray,
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, float] | None:
        """The path-length field to all medikits (cached), the next cells down it from the
        player (to string-pull), their path lengths, and the length from the player itself;
        ``None``: no path."""
        grid = geo.grid(GRID_RADIUS, FIELD_CELL)
        key = frozenset(map(tuple, medikits.tolist()))  # pickups never move
        bad = frozenset(map(tuple, poison.tolist()))
        entry = self._field
        # Rebuilding costs milliseconds: keep a recent field while none of its medikits is
        # gone and no poison vial appeared (new medikits only make it a little less optimal).
        if (
            entry is None
            or self._tic - entry[2] > FIELD_TICS
            or not entry[3] <= key
            or not bad <= entry[4]
        ):
            blocked = grid.blocked.copy()
            # Poison vials block their cells: a path through one would stall at its edge.
            for x, y in poison.tolist():
                r0, c0 = grid.cell_of(x - POISON_REACH, y - POISON_REACH)
                r1, c1 = grid.cell_of(x + POISON_REACH, y + POISON_REACH)
                blocked[r0 : r1 + 1, c0 : c1 + 1] = True
            cells = grid.to_cell(medikits)
            blocked[cells[:, 0], cells[:, 1]] = False
            field = geometry.distance_field(blocked, cells)
            entry = self._field = (
                field * FIELD_CELL,
                field.tolist(),  # descended a few cells per step: plain Python, no grid pass
                self._tic,
                key,
                bad,
            )
        field, cells_field = entry[0], entry[1]
        x, y = float(origin[0]), float(origin[1])
        cell = grid.cell_of(x, y)
        if not math.isfinite(field[cell]):
            cell = geometry.nearest_open_cell(grid, field, origin, geo.blocking)
            if cell is None:
                return None
        chain = [cell]
        for _ in range(AIM_CELLS):
            nxt = geometry.descent_step(cells_field, chain[-1])
            if nxt == chain[-1]:
                break
            chain.append(nxt)
        chain = chain[1:] or chain
        rows, cols = np.array(chain).T
        points = grid.origin + (np.stack([cols, rows], axis=1) + 0.5) * grid.cell
        cx, cy = grid.origin + (np.array([cell[1], cell[0]]) + 0.5) * grid.cell
        here = float(field[cell]) + math.hypot(cx - x, cy - y)
        return field, points, field[rows, cols], here

    def _path_scores(
        self, path: tuple, clear: np.ndarray, pos: np.ndarray, angles: np.ndarray
    ) -> tuple[np.ndarray, float]:
        """Minus the steps to the nearest medikit by path per action, aiming as far down the
        path as a straight walk allows (string pulling, no corner cut); and the path length."""
        _, points, lengths, here = path
        k = int(np.flatnonzero(clear).max()) if clear.any() else 0
        aim, remaining = points[k], float(lengths[k])
        rel = aim - pos
        dist = np.hypot(rel[:, 0], rel[:, 1])
        turn = np.abs(geometry.wrap_degrees(np.degrees(np.arctan2(rel[:, 1], rel[:, 0])) - angles))
        return -((dist + remaining) / TOP_SPEED + turn / FAST_TURN) / self._skip, here

    def _unstick(self, origin: np.ndarray, tic: int) -> None:
        """A target we have walked toward for a while without moving is unreachable: ban it a
        while (turning on the spot does not count)."""
        history = self._history
        if not self._walking:
            history.clear()
        history.append((float(origin[0]), float(origin[1]), tic))
        del history[:-STUCK_STEPS]
        if self._target is None or len(history) < STUCK_STEPS:
            return
        x0, y0, _ = history[0]
        if math.hypot(origin[0] - x0, origin[1] - y0) < STUCK_DISTANCE:
            target = self._target[0]
            self._banned = [b for b in self._banned if b[2] > tic]
            self._banned.append((float(target[0]), float(target[1]), tic + BAN_TICS))
            history.clear()
