"""health_gathering (+supreme): walk to the medikit that is quickest to reach, avoid poison.

Each action is scored by minus the estimated tics to the quickest medikit reachable in a
straight corridor as wide as the player and clear of poison vials (distance over top speed plus
the heading change over the turn rate), from where the action's step leaves the player. With
none in a straight line, the teacher follows a path-length field to all known medikits (vials
block its cells; cached per set of medikit cells). Poison: each action's step and every
continuation after it are simulated tic by tic (the player slides up to 80 units), and an
action costs a vial only when all its continuations touch it. A medikit chased without moving,
or dithered at (turning both ways on the spot), is ignored for a while; dithering also breaks
away (turn one way until a walk is safe, then walk). With nothing known, it heads for open space."""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

from envs.engine_state import (
    HARMFUL_PICKUP_NAMES,
    Category,
    EngineState,
    Objects,
    categorize,
)
from envs.registry import ScenarioSpec
from teachers import geometry
from teachers.base import Teacher
from teachers.motion import (
    FAST_TURN,
    FORWARD_ACCEL,
    FRICTION,
    SLOW_TURN_TICS,
    turn_amount,
    walk_paths,
)

TOP_SPEED = FORWARD_ACCEL * FRICTION / (1 - FRICTION)
CANDIDATES = 8
"""Nearest medikits checked for a clear straight line (bounds the ray-cast work)."""
POISON_REACH = 36.0
"""Chebyshev distance under which a poison vial is touched (radii 16 + 20)."""
WALK_REACH = 44.0
"""A straight walk to a medikit must keep this Chebyshev distance from every poison vial (the
touching reach plus a margin for the curve a walk makes while it turns)."""
CONTINUE_STEPS = 3
"""Steps simulated after each action's own (one continuation held): the poison check asks
whether some continuation keeps clear of every vial, since the player slides when it stops."""
POISON_COST = 30.0
"""Score (steps) of touching a vial: 30 health, what the acid floor takes in some 120 tics."""
POISON_MARGIN = 2.0
"""Units inside which a walk's closest approach to a vial's touching reach starts to cost."""
PATH_REACH = 8.5
"""Units a walk covers per tic at most (vials farther than the walk can go are not checked)."""
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
DITHER_STEPS = 8
"""Steps of turning both ways without moving ``STUCK_DISTANCE`` units that ban the medikit the
teacher is after (also for ``BAN_TICS``)..."""
ESCAPE_TICS = 64
"""... and make it break away this long: turn one way until a walk is clear of vials and walls,
then walk (the way to any medikit may start past a vial beside the player)."""
ESCAPE_ROOM = 64.0
"""Room (units to a wall) a break-away walk needs."""
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


def _remember(
    memory: dict[int, tuple[float, float, int]],
    rows: list[int],
    objects: Objects,
    tic: int,
    me: tuple[float, float],
    keep: Callable[[float, float], bool],
) -> tuple[dict[int, tuple[float, float, int]], np.ndarray]:
    """Imitable memory of pickups: ``memory`` (id -> ``(x, y, tic seen)``) updated with the
    visible objects among ``rows``, less entries older than :data:`MEMORY_TICS` or whose offset
    from the player ``me`` fails ``keep(dx, dy)``; returns it and its ``(N, 2)`` positions."""
    position, visible, ids = objects.position, objects.visible, objects.id
    for i in rows:
        if visible[i]:
            memory[int(ids[i])] = (float(position[i, 0]), float(position[i, 1]), tic)
    memory = {
        k: v
        for k, v in memory.items()
        if tic - v[2] <= MEMORY_TICS and keep(v[0] - me[0], v[1] - me[1])
    }
    return memory, np.array([v[:2] for v in memory.values()], np.float64).reshape(-1, 2)


class GathererTeacher(Teacher):
    """Greedy medikit gathering (straight walks, else shortest paths) with poison avoidance."""

    def __init__(self, spec: ScenarioSpec, mode: str = "omniscient") -> None:
        super().__init__(spec, mode)
        names = self.action_names
        self._turn = np.array(
            [1 if "TURN_LEFT" in n else -1 if "TURN_RIGHT" in n else 0 for n in names], np.float64
        )
        self._forward = np.array(["MOVE_FORWARD" in n for n in names], np.float64)
        self._turns = tuple(int(t) for t in self._turn)
        self._forwards = tuple(bool(f) for f in self._forward)
        self.reset()

    TRACKS_TURN = True

    def reset(self) -> None:
        super().reset()
        self._seen: dict[int, tuple[float, float, int]] = {}
        self._seen_poison: dict[int, tuple[float, float, int]] = {}
        self._history: list[tuple[float, float, int]] = []
        self._walking = False
        self._turned = 0
        self._steps: list[tuple[float, float, int]] = []
        self._target: tuple[np.ndarray, int] | None = None
        self._goal: np.ndarray | None = None
        self._escape, self._escape_turn = -1, 1
        self._banned: list[tuple[float, float, int]] = []
        self._field: tuple[np.ndarray, list, int, frozenset, frozenset] | None = None

    def _took(self, state: EngineState, action: int) -> None:
        self._walking = bool(self._forward[action] > 0)
        self._turned = int(self._turn[action])

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
        me = (float(state.player.position[0]), float(state.player.position[1]))
        # Forget what expired or what we walked over (picked up, or gone when we got there).
        self._seen, good_pos = _remember(
            self._seen, good, objects, tic, me, lambda dx, dy: math.hypot(dx, dy) > 24.0
        )
        # Vials never move and only the player takes them: the one beside the player (off
        # screen) is the one it slides into, so remember them too.
        self._seen_poison, bad_pos = _remember(
            self._seen_poison,
            bad,
            objects,
            tic,
            me,
            lambda dx, dy: max(abs(dx), abs(dy)) > POISON_REACH,
        )
        return good_pos, bad_pos

    def _decide(self, state: EngineState) -> np.ndarray:
        player = state.player
        origin = player.position[:2].astype(np.float64)
        vel = player.velocity[:2].astype(np.float64)
        skip = self._skip
        geo = geometry.map_cache(state.walls)
        tic = state.tic
        self._unstick(origin, tic)
        # Every action's walk, tic by tic, for its step and each continuation after it (the
        # player keeps sliding when it stops walking: braking takes some 80 units).
        held = min(self._held, SLOW_TURN_TICS)
        offsets, drift = walk_paths(self._turns, self._forwards, held, skip, CONTINUE_STEPS)
        angles = player.angle + self._turn * turn_amount(self._held, skip)
        yaw = math.radians(player.angle)
        cos, sin = math.cos(yaw), math.sin(yaw)
        first = offsets[:, 0, skip - 1]  # (A, 2) after this step
        pos = np.empty((len(first), 2))
        pos[:, 0] = origin[0] + cos * first[:, 0] - sin * first[:, 1] + vel[0] * drift[skip - 1]
        pos[:, 1] = origin[1] + sin * first[:, 0] + cos * first[:, 1] + vel[1] * drift[skip - 1]
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
        poison_half = np.zeros(0)
        if len(poison):
            rel_p = poison - origin
            cheb = np.maximum(np.abs(rel_p[:, 0]), np.abs(rel_p[:, 1]))
            # A straight walk must keep clear of every vial, except one it already stands
            # closer to than that: it may walk away from it.
            poison_half = np.minimum(WALK_REACH, cheb - 1.0)
            close = cheb < POISON_REACH + PATH_REACH * len(drift)
            if close.any():
                risk = self._poison_risk(offsets, drift, cos, sin, vel, rel_p[close])
                scores = scores - risk
        if tic < self._escape:
            # Break away: keep turning one way until a walk is safe and has room, then walk.
            walk = (self._forward > 0) & (scores > scores.max() - 1.0) & (free > ESCAPE_ROOM)
            if walk.any():
                return np.where(walk, np.minimum(free, 600.0) / 100.0, -10.0) + scores
            return np.where((self._forward == 0) & (self._turn == self._escape_turn), 0.0, -10.0)
        target = None
        if len(medikits):
            extra = np.zeros(len(targets))
            ok = reachable
            if len(poison):
                # A vial on the way is a detour (the path field's): no straight walk there.
                ok = ok & ~geometry.walks_touch_boxes(origin, ends, poison, poison_half)
            if self._target is not None:
                # Keep the medikit we are after unless another is clearly quicker.
                prev = self._target[0]
                extra = extra - np.where(np.hypot(*(targets - prev).T) < 16.0, STICKY, 0.0)
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
                    self._target, self._goal = (target, tic), target
                    return straight_scores
            # The shortest paths to all medikits (a field): the nearest one may be round a
            # pillar while those in a straight line are farther.
            path = self._path(geo, medikits, origin, poison)
            if path is not None:
                _, clear = geometry.rays_and_corridors(
                    origin, [], path[1], geo.blocking_columns, CLEARANCE
                )
                if len(poison):
                    clear &= ~geometry.walks_touch_boxes(origin, path[1], poison, poison_half)
                by_path, length = self._path_scores(path, clear, pos, angles)
                if straight > length + DETOUR_SLACK:
                    self._target = None
                    # The medikit the path leads to, as far as it was followed.
                    end = path[1][-1]
                    self._goal = medikits[np.argmin(np.hypot(*(medikits - end).T))]
                    return scores - skip + by_path
            if straight_scores is not None:
                self._target, self._goal = (target, tic), target
                return straight_scores
        self._target = self._goal = None
        # Nothing in reach: head for the most open direction (explore).
        return scores + np.minimum(free, 600.0) / 100.0 * np.where(self._forward > 0, 1.0, 0.7)

    def _poison_risk(
        self,
        offsets: np.ndarray,
        drift: np.ndarray,
        cos: float,
        sin: float,
        vel: np.ndarray,
        rel: np.ndarray,
    ) -> np.ndarray:
        """Per action, the poison cost of its safest continuation: ``(A,)``.

        Each walk (action, continuation) is checked tic by tic against the vials at ``rel``
        (relative to the player): a vial costs :data:`POISON_COST` when the walk's closest
        Chebyshev distance to it comes within the touching reach (ramping up over
        :data:`POISON_MARGIN` units outside it).
        """
        a, c, t, _ = offsets.shape
        flat = offsets.reshape(-1, 2)
        x = (cos * flat[:, 0] - sin * flat[:, 1]).reshape(a * c, t) + vel[0] * drift
        y = (sin * flat[:, 0] + cos * flat[:, 1]).reshape(a * c, t) + vel[1] * drift
        x, y = x.reshape(-1, 1), y.reshape(-1, 1)
        d = np.maximum(np.abs(rel[:, 0] - x), np.abs(rel[:, 1] - y))  # (A * C * T, N)
        d = d.reshape(a * c, t, -1).min(axis=1)
        # The walks are exact (short of walls): only a touch costs, not a near miss, or the
        # teacher freezes beside a vial it could pass.
        risk = (POISON_COST * ((POISON_REACH + POISON_MARGIN - d) / POISON_MARGIN).clip(0, 1)).sum(
            axis=1
        )
        return risk.reshape(a, c).min(axis=1)

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
            # A medikit may stand close to a wall; one inside a vial's reach is no goal.
            free = cells
            if len(poison):
                cheb = np.abs(medikits[:, None, :] - poison[None, :, :]).max(axis=2).min(axis=1)
                free = cells[cheb >= POISON_REACH]
            blocked[free[:, 0], free[:, 1]] = False
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
        while (turning on the spot does not count). So is a medikit the teacher dithers at,
        turning left and right on the spot (a vial beside the way in, which the scores weigh
        against the turn to make at every step, and never settle)."""
        x, y = float(origin[0]), float(origin[1])
        steps = self._steps
        steps.append((x, y, self._turned))
        del steps[:-DITHER_STEPS]
        if self._goal is not None and len(steps) == DITHER_STEPS:
            x0, y0, _ = steps[0]
            turns = {turn for _, _, turn in steps}
            if 1 in turns and -1 in turns and math.hypot(x - x0, y - y0) < STUCK_DISTANCE:
                self._ban(self._goal, tic)
                self._escape, self._escape_turn = tic + ESCAPE_TICS, self._turned or 1
                steps.clear()
        history = self._history
        if not self._walking:
            history.clear()
        history.append((float(origin[0]), float(origin[1]), tic))
        del history[:-STUCK_STEPS]
        if self._target is None or len(history) < STUCK_STEPS:
            return
        x0, y0, _ = history[0]
        if math.hypot(origin[0] - x0, origin[1] - y0) < STUCK_DISTANCE:
            self._ban(self._target[0], tic)
            history.clear()

    def _ban(self, medikit: np.ndarray, tic: int) -> None:
        """Ignores the medikit at ``medikit`` for :data:`BAN_TICS`."""
        self._banned = [b for b in self._banned if b[2] > tic]
        self._banned.append((float(medikit[0]), float(medikit[1]), tic + BAN_TICS))
