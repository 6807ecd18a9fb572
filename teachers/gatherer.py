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

import dataclasses
import functools
import math

import numpy as np

from core.errors import UserError
from envs.engine_state import (
    HARMFUL_PICKUP_NAMES,
    Category,
    EngineState,
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
_ROWS: dict[tuple[str, ...], tuple[np.ndarray, np.ndarray]] = {}


class _Kinds(dict):
    """Per object name: 1 a helpful pickup, 2 a harmful one, 0 anything else (filled in on
    first sight, so that a lookup is a plain dict lookup)."""

    def __missing__(self, name: str) -> int:
        pickup = categorize(name) == _PICKUP
        kind = self[name] = 0 if not pickup else 2 if name in HARMFUL_PICKUP_NAMES else 1
        return kind


_KINDS = _Kinds()


def is_medikit(name: str) -> bool:
    """Whether an object named ``name`` is a helpful pickup (what the gatherer walks to)."""
    return _KINDS[name] == 1


def _pickup_rows(names: tuple[str, ...]) -> tuple[np.ndarray, np.ndarray]:
    """Rows of the helpful and the harmful pickups among objects named ``names``, cached: the
    list of names changes only when an object appears or goes."""
    rows = _ROWS.get(names)
    if rows is None:
        if len(_ROWS) > 256:
            _ROWS.clear()
        kinds = np.fromiter(map(_KINDS.__getitem__, names), np.int8, len(names))
        rows = _ROWS[names] = (np.flatnonzero(kinds == 1), np.flatnonzero(kinds == 2))
    return rows


def _forget(
    memory: dict[int, tuple[float, float, int]],
    tic: int,
    me: tuple[float, float],
    reach: float,
    chebyshev: bool,
    memory_tics: int = MEMORY_TICS,
) -> tuple[dict[int, tuple[float, float, int]], np.ndarray]:
    """Imitable memory of pickups (id -> ``(x, y, tic seen)``) less entries older than
    ``memory_tics`` or within ``reach`` of the player at ``me`` (Euclidean distance, or
    Chebyshev if ``chebyshev``); returns it and its ``(N, 2)`` positions."""
    mx, my, oldest = me[0], me[1], tic - memory_tics
    if chebyshev:
        memory = {
            k: v
            for k, v in memory.items()
            if v[2] >= oldest and max(abs(v[0] - mx), abs(v[1] - my)) > reach
        }
    else:
        memory = {
            k: v
            for k, v in memory.items()
            if v[2] >= oldest and math.hypot(v[0] - mx, v[1] - my) > reach
        }
    if not memory:
        return memory, np.zeros((0, 2))
    return memory, np.array(list(memory.values()))[:, :2]


@functools.lru_cache(maxsize=64)
def _first_steps(
    turns: tuple[int, ...], forwards: tuple[bool, ...], held: int, skip: int
) -> tuple[list[list[float]], float]:
    """Per action, where its step leaves the player (at yaw 0, from rest), and how far a unit
    start velocity carries it meanwhile: :func:`walk_paths` after ``skip`` tics."""
    offsets, drift = walk_paths(turns, forwards, held, skip, CONTINUE_STEPS)
    return offsets[:, 0, skip - 1].tolist(), float(drift[skip - 1])


@functools.lru_cache(maxsize=64)
def _walk_columns(
    turns: tuple[int, ...], forwards: tuple[bool, ...], held: int, skip: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """:func:`walk_paths` as contiguous ``(A * A * T,)`` columns: the offsets' x and y, and the
    drift of each tic (so that a walk's positions take no reshaping)."""
    offsets, drift = walk_paths(turns, forwards, held, skip, CONTINUE_STEPS)
    walks = offsets.shape[0] * offsets.shape[1]
    return offsets[..., 0].ravel(), offsets[..., 1].ravel(), np.tile(drift, walks)


@dataclasses.dataclass
class _Field:
    """A path-length field to a set of medikits, with the paths descended from it so far."""

    steps: np.ndarray
    """``(H, W)`` path lengths in cells (inf: blocked or no path)."""
    lengths: np.ndarray
    """The same in map units."""
    tic: int
    """When it was built."""
    medikits: frozenset[tuple[float, float]]
    """The medikits it leads to..."""
    poison: frozenset[tuple[float, float]]
    """... and the vials it avoids."""
    chains: dict[tuple[int, int], _Chain] = dataclasses.field(default_factory=dict)
    """By start cell: :func:`_descend` from it."""


_Chain = tuple[np.ndarray, np.ndarray, tuple[float, float]]
_Path = tuple[np.ndarray, np.ndarray, float]


def _descend(grid: geometry.OccupancyGrid, field: _Field, cell: tuple[int, int]) -> _Chain:
    """Up to :data:`AIM_CELLS` cells down ``field`` from ``cell``: their ``(N, 2)`` centres,
    their ``(N,)`` path lengths, and the centre of ``cell`` itself."""
    # The cells within reach, as lists (descent_step reads a few cells per step: plain Python
    # is quicker there, and converting the whole grid would cost more than the descent).
    r0, c0 = max(cell[0] - AIM_CELLS - 1, 0), max(cell[1] - AIM_CELLS - 1, 0)
    r1, c1 = cell[0] + AIM_CELLS + 2, cell[1] + AIM_CELLS + 2
    window = field.steps[r0:r1, c0:c1].tolist()
    chain = [(cell[0] - r0, cell[1] - c0)]
    for _ in range(AIM_CELLS):
        nxt = geometry.descent_step(window, chain[-1])
        if nxt == chain[-1]:
            break
        chain.append(nxt)
    chain = [(r + r0, c + c0) for r, c in chain[1:] or chain]
    x0, y0, size = float(grid.origin[0]), float(grid.origin[1]), grid.cell
    points = np.array([(x0 + (c + 0.5) * size, y0 + (r + 0.5) * size) for r, c in chain])
    lengths = np.array([window[r - r0][c - c0] * FIELD_CELL for r, c in chain])
    centre = (x0 + (cell[1] + 0.5) * size, y0 + (cell[0] + 0.5) * size)
    return points, lengths, centre


def _point_set(points: np.ndarray, cache: dict[bytes, frozenset]) -> frozenset:
    """``points`` ``(N, 2)`` as a set of ``(x, y)``, cached by content (pickups never move, so
    the same set comes back step after step)."""
    key = points.tobytes()
    found = cache.get(key)
    if found is None:
        if len(cache) > 64:
            cache.clear()
        found = cache[key] = frozenset(map(tuple, points.tolist()))
    return found


def _candidates(medikits: np.ndarray, origin: np.ndarray) -> tuple[np.ndarray, np.ndarray, float]:
    """The :data:`CANDIDATES` nearest medikits, nearest first; where a straight walk to each
    stops (touching it); and the nearest one's distance (inf: none)."""
    if not len(medikits):
        return np.zeros((0, 2)), np.zeros((0, 2)), math.inf
    rel = medikits - origin
    dist = np.hypot(rel[:, 0], rel[:, 1])
    near = dist.argsort()[:CANDIDATES]
    targets, dist = medikits[near], dist[near]
    shorten = np.maximum(dist - TOUCH, 0.0) / np.maximum(dist, 1e-6)
    return targets, origin + (targets - origin) * shorten[:, None], float(dist[0])


DECISIONS = ("straight", "path", "escape", "explore")
"""What a gatherer's last decision followed (:attr:`GathererTeacher.decision`): a straight walk
to a medikit, the path field, a break-away, or open space (no medikit known)."""


class GathererTeacher(Teacher):
    """Greedy medikit gathering (straight walks, else shortest paths) with poison avoidance.

    Args:
        spec: the scenario.
        mode: one of :data:`teachers.base.MODES`.
        memory_tics: imitable mode: how long a pickup seen on screen is remembered.
    """

    def __init__(
        self, spec: ScenarioSpec, mode: str = "omniscient", memory_tics: int = MEMORY_TICS
    ) -> None:
        super().__init__(spec, mode)
        if memory_tics < 0:
            raise UserError(f"memory_tics must be >= 0 (0: no memory), got {memory_tics}")
        self.memory_tics = memory_tics
        names = self.action_names
        self._turn = np.array(
            [1 if "TURN_LEFT" in n else -1 if "TURN_RIGHT" in n else 0 for n in names], np.float64
        )
        self._forward = np.array(["MOVE_FORWARD" in n for n in names], np.float64)
        self._turns = tuple(int(t) for t in self._turn)
        self._forwards = tuple(bool(f) for f in self._forward)
        self._walks = self._forward > 0
        # Actions that turn alike look along the same ray: cast one per distinct turn.
        distinct = list(dict.fromkeys(self._turns))
        self._ray_actions = np.array([self._turns.index(t) for t in distinct], np.intp)
        self._ray_of = np.array([distinct.index(t) for t in self._turns], np.intp)
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
        self._field: _Field | None = None
        self._vial_cells: tuple[frozenset, geometry.OccupancyGrid, np.ndarray] | None = None
        self._point_sets: dict[bytes, frozenset] = {}
        self._pathing = False

    def _took(self, state: EngineState, action: int) -> None:
        self._walking = bool(self._forward[action] > 0)
        self._turned = int(self._turn[action])

    @property
    def goal(self) -> tuple[float, float] | None:
        """The medikit the last scores led to, on screen or remembered (``None``: none known,
        or a break-away)."""
        if self._tic < self._escape or self._goal is None:
            return None
        return float(self._goal[0]), float(self._goal[1])

    @property
    def decision(self) -> tuple[str, tuple[float, float] | None]:
        """What the last scores followed (one of :data:`DECISIONS`) and :attr:`goal`."""
        if self._tic < self._escape:
            return "escape", None
        goal = self.goal
        if self._target is not None and self._target[1] == self._tic:
            return "straight", goal
        return ("path", goal) if goal is not None else ("explore", None)

    def _pickups(self, state: EngineState) -> tuple[np.ndarray, np.ndarray]:
        """Medikit and poison positions the mode may use."""
        objects = state.objects
        position = objects.position
        if self.omniscient:
            good, bad = _pickup_rows(objects.name)
            return (
                position[good, :2].astype(np.float64).reshape(-1, 2),
                position[bad, :2].astype(np.float64).reshape(-1, 2),
            )
        tic = state.tic
        # Remember the pickups on screen. Vials never move and only the player takes them: the
        # one beside the player (off screen) is the one it slides into, so remember them too.
        names, ids = objects.name, objects.id
        memories = (None, self._seen, self._seen_poison)  # by kind
        for i in np.flatnonzero(objects.visible).tolist():  # a few objects: no array gathers
            kind = _KINDS[names[i]]
            if kind:
                memories[kind][int(ids[i])] = (float(position[i, 0]), float(position[i, 1]), tic)
        me = (float(state.player.position[0]), float(state.player.position[1]))
        # Forget what expired or what we walked over (picked up, or gone when we got there).
        self._seen, good_pos = _forget(self._seen, tic, me, 24.0, False, self.memory_tics)
        self._seen_poison, bad_pos = _forget(
            self._seen_poison, tic, me, POISON_REACH, True, self.memory_tics
        )
        return good_pos, bad_pos

    def _decide(self, state: EngineState) -> np.ndarray:
        player = state.player
        origin = player.position[:2].astype(np.float64)
        vel = (float(player.velocity[0]), float(player.velocity[1]))
        skip = self._skip
        geo = geometry.map_cache(state.walls)
        tic = state.tic
        self._unstick(origin, tic)
        # Every action's walk, tic by tic, for its step and each continuation after it (the
        # player keeps sliding when it stops walking: braking takes some 80 units).
        held = min(self._held, SLOW_TURN_TICS)
        walk_tics = skip * (1 + CONTINUE_STEPS)
        angles = player.angle + self._turn * turn_amount(self._held, skip)
        yaw = math.radians(player.angle)
        cos, sin = math.cos(yaw), math.sin(yaw)
        pos = self._step_ends(held, origin, vel, cos, sin)
        medikits, poison = self._pickups(state)
        if self._banned and len(medikits):
            keep = np.ones(len(medikits), bool)
            for bx, by, until in self._banned:
                if until > tic:
                    keep &= np.hypot(medikits[:, 0] - bx, medikits[:, 1] - by) > 24.0
            medikits = medikits[keep]
        targets, ends, nearest = _candidates(medikits, origin)
        poison_half = np.zeros(0)
        if len(poison):
            rel_p = poison - origin
            cheb = np.maximum(np.abs(rel_p[:, 0]), np.abs(rel_p[:, 1]))
            # A straight walk must keep clear of every vial, except one it already stands
            # closer to than that: it may walk away from it.
            poison_half = np.minimum(WALK_REACH, cheb - 1.0)
        grid = geo.grid(GRID_RADIUS, FIELD_CELL)
        early, path = self._early_path(grid, geo, medikits, origin, poison)
        self._pathing = False
        walks = ends if path is None else np.concatenate([ends, path[0]])
        # Room ahead along each action's new heading (walking into a wall wastes the step), and
        # which of the nearest medikits a straight walk reaches (up to touching it): one batch.
        rays, clear = self._walk_checks(
            origin, angles[self._ray_actions], walks, poison, poison_half, geo
        )
        free = rays[self._ray_of]
        ok, path_clear = clear[: len(ends)], clear[len(ends) :]
        # Minus the wall cost of walking (turning on the spot costs nothing).
        scores = np.where(self._walks, -6.0 * np.exp((24.0 - free) / 24.0), -0.0)
        if len(poison):
            close = cheb < POISON_REACH + PATH_REACH * walk_tics
            if close.any():
                risk = self._poison_risk(held, cos, sin, vel, rel_p[close])
                scores = scores - risk
        if tic < self._escape:
            # Break away: keep turning one way until a walk is safe and has room, then walk.
            walk = (self._forward > 0) & (scores > scores.max() - 1.0) & (free > ESCAPE_ROOM)
            if walk.any():
                return np.where(walk, np.minimum(free, 600.0) / 100.0, -10.0) + scores
            return np.where((self._forward == 0) & (self._turn == self._escape_turn), 0.0, -10.0)
        if len(medikits):
            straight_scores, straight, target = None, math.inf, None
            if ok.any():
                reachable = targets[ok]
                tics = self._straight_tics(reachable, pos, angles)
                best = tics.argmin(axis=1)
                quickest = tics.min(axis=1)
                target = reachable[best[int(quickest.argmin())]]
                d = target - origin
                straight = float(np.hypot(d[0], d[1]))
                straight_scores = scores - skip - quickest / skip
                if straight <= nearest + DETOUR_SLACK:
                    # No path can be shorter than the nearest medikit's straight line.
                    self._target, self._goal = (target, tic), target
                    return straight_scores
            # The shortest paths to all medikits (a field): the nearest one may be round a
            # pillar while those in a straight line are farther.
            self._pathing = True
            if not early:
                field = self._path_field(grid, medikits, poison)
                path = self._path(grid, field, origin, geo.blocking_columns)
                if path is not None:
                    path_clear = self._walk_checks(
                        origin, angles[:0], path[0], poison, poison_half, geo
                    )[1]
            if path is not None:
                by_path, length = self._path_scores(path, path_clear, pos, angles)
                if straight > length + DETOUR_SLACK:
                    self._target = None
                    # The medikit the path leads to, as far as it was followed.
                    end = path[0][-1]
                    d = medikits - end
                    self._goal = medikits[np.hypot(d[:, 0], d[:, 1]).argmin()]
                    return scores - skip + by_path
            if straight_scores is not None:
                self._target, self._goal = (target, tic), target
                return straight_scores
        self._target = self._goal = None
        # Nothing in reach: head for the most open direction (explore).
        return scores + np.minimum(free, 600.0) / 100.0 * np.where(self._forward > 0, 1.0, 0.7)

    def _early_path(
        self,
        grid: geometry.OccupancyGrid,
        geo: geometry.MapGeometry,
        medikits: np.ndarray,
        origin: np.ndarray,
        poison: np.ndarray,
    ) -> tuple[bool, _Path | None]:
        """The way on down the path field, found before the straight walks are checked when
        the last step followed the field (this one likely does too: its walks then join the
        same batch of wall tests). Only a field still up to date is used, so that fields are
        built on the same steps as when the way is found later. Returns whether it was looked
        for, and the way (``None``: not looked for, or no path)."""
        if not (self._pathing and len(medikits)):
            return False, None
        field = self._path_field(grid, medikits, poison, build=False)
        if field is None:
            return False, None
        return True, self._path(grid, field, origin, geo.blocking_columns)

    def _walk_checks(
        self,
        origin: np.ndarray,
        ray_angles: np.ndarray,
        walks: np.ndarray,
        poison: np.ndarray,
        poison_half: np.ndarray,
        geo: geometry.MapGeometry,
    ) -> tuple[np.ndarray, np.ndarray]:
        """The free distance along each of ``ray_angles``, and whether a straight walk to each
        of ``walks`` ``(K, 2)`` is clear of the vials (squares of half-side ``poison_half``)
        and of the walls (a corridor as wide as the player): one batch of wall tests."""
        # A vial on the way is a detour (the path field's): no straight walk there, and no need
        # to check the walls on the way either.
        return geometry.rays_and_corridors(
            origin,
            ray_angles,
            walks,
            geo.blocking_columns,
            CLEARANCE,
            boxes=(poison, poison_half),
        )

    def _step_ends(
        self, held: int, origin: np.ndarray, vel: tuple[float, float], cos: float, sin: float
    ) -> np.ndarray:
        """Where each action's step leaves the player: ``(A, 2)`` (plain Python for the handful
        of actions, the same arithmetic as on arrays)."""
        first, drift = _first_steps(self._turns, self._forwards, held, self._skip)
        ox, oy = float(origin[0]), float(origin[1])
        dx, dy = vel[0] * drift, vel[1] * drift
        return np.array(
            [(ox + cos * fx - sin * fy + dx, oy + sin * fx + cos * fy + dy) for fx, fy in first]
        )

    def _straight_tics(
        self, targets: np.ndarray, pos: np.ndarray, angles: np.ndarray
    ) -> np.ndarray:
        """Estimated tics from each action's step (at ``pos``, facing ``angles``) straight to
        each of ``targets``: ``(A, K)``, less :data:`STICKY` for the one already chased."""
        dx = targets[:, 0] - pos[:, :1]
        dy = targets[:, 1] - pos[:, 1:]
        dist = np.hypot(dx, dy)
        turn = np.degrees(np.arctan2(dy, dx)) - angles[:, None]
        turn = np.abs((turn + 180.0) % 360.0 - 180.0)  # wrap_degrees, without its checks
        # Close targets need precise heading; far ones can be fixed on the way.
        slow = np.minimum(np.maximum(120.0 / dist, TURN_FLOOR), 1.0)
        tics = dist / TOP_SPEED + turn / FAST_TURN * slow
        if self._target is not None:
            # Keep the medikit we are after unless another is clearly quicker.
            d = targets - self._target[0]
            chased = np.hypot(d[:, 0], d[:, 1]) < 16.0
            if chased.any():
                tics[:, chased] -= STICKY
        return tics

    def _poison_risk(
        self,
        held: int,
        cos: float,
        sin: float,
        vel: tuple[float, float],
        rel: np.ndarray,
    ) -> np.ndarray:
        """Per action, the poison cost of its safest continuation: ``(A,)``.

        Each walk (action, continuation) is checked tic by tic against the vials at ``rel``
        (relative to the player): a vial costs :data:`POISON_COST` when the walk's closest
        Chebyshev distance to it comes within the touching reach (ramping up over
        :data:`POISON_MARGIN` units outside it).
        """
        x0, y0, drift = _walk_columns(self._turns, self._forwards, held, self._skip)
        x = cos * x0 - sin * y0 + vel[0] * drift
        y = sin * x0 + cos * y0 + vel[1] * drift
        d = np.maximum(np.abs(rel[:, :1] - x), np.abs(rel[:, 1:] - y))  # (N, A * C * T)
        a = len(self._turns)
        # Closest approach per walk, then walks by vials (contiguous rows: the sum over vials
        # below adds them up in the same order as ever).
        d = d.reshape(len(rel), a * a, -1).min(axis=2).T.copy()
        # The walks are exact (short of walls): only a touch costs, not a near miss, or the
        # teacher freezes beside a vial it could pass.
        ramp = np.maximum(np.minimum((POISON_REACH + POISON_MARGIN - d) / POISON_MARGIN, 1.0), 0.0)
        return (POISON_COST * ramp).sum(axis=1).reshape(a, a).min(axis=1)

    def _path(
        self,
        grid: geometry.OccupancyGrid,
        field: _Field,
        origin: np.ndarray,
        walls: geometry.WallColumns,
    ) -> _Path | None:
        """The next cells down ``field`` from the player (to string-pull), their path lengths,
        and the length from the player itself; ``None``: no path."""
        x, y = float(origin[0]), float(origin[1])
        cell = grid.cell_of(x, y)
        if not math.isfinite(field.lengths[cell]):
            cell = geometry.nearest_open_cell(grid, field.lengths, origin, walls)
            if cell is None:
                return None
        chain = field.chains.get(cell)
        if chain is None:
            # The player stays a few steps in a cell: descend from each cell once per field.
            chain = field.chains[cell] = _descend(grid, field, cell)
        points, lengths, (cx, cy) = chain
        return points, lengths, float(field.lengths[cell]) + math.hypot(cx - x, cy - y)

    def _path_field(
        self,
        grid: geometry.OccupancyGrid,
        medikits: np.ndarray,
        poison: np.ndarray,
        build: bool = True,
    ) -> _Field | None:
        """The path-length field to all ``medikits``: the last one built while it is recent,
        none of its medikits is gone and no poison vial appeared (new medikits only make it a
        little less optimal); rebuilding costs milliseconds. ``None``: that one is out of
        date and ``build`` is false."""
        key = _point_set(medikits, self._point_sets)
        bad = _point_set(poison, self._point_sets)
        field = self._field
        if (
            field is not None
            and self._tic - field.tic <= FIELD_TICS
            and (field.medikits is key or field.medikits <= key)  # the same set: no lookups
            and (bad is field.poison or bad <= field.poison)
        ):
            return field
        if not build:
            return None
        blocked = self._blocked(grid, poison, bad)
        cells = grid.to_cell(medikits)
        # A medikit may stand close to a wall; one inside a vial's reach is no goal.
        free = cells
        if len(poison):
            dx = np.abs(medikits[:, :1] - poison[:, 0])
            dy = np.abs(medikits[:, 1:] - poison[:, 1])
            free = cells[np.maximum(dx, dy).min(axis=1) >= POISON_REACH]  # Chebyshev distance
        blocked[free[:, 0], free[:, 1]] = False
        steps = geometry.distance_field(blocked, cells)
        field = self._field = _Field(
            steps=steps, lengths=steps * FIELD_CELL, tic=self._tic, medikits=key, poison=bad
        )
        return field

    def _blocked(
        self, grid: geometry.OccupancyGrid, poison: np.ndarray, bad: frozenset
    ) -> np.ndarray:
        """A copy of ``grid.blocked`` with the cells of the vials at ``poison`` (the set
        ``bad``) blocked too: a path through one would stall at its edge. Built on the last
        such grid while vials only appeared since (they spawn now and then)."""
        cached = self._vial_cells
        if cached is not None and cached[1] is grid and cached[0] <= bad:
            known, blocked = cached[0], cached[2].copy()
        else:
            known, blocked = frozenset(), grid.blocked.copy()
        for x, y in poison.tolist():
            if (x, y) not in known:
                r0, c0 = grid.cell_of(x - POISON_REACH, y - POISON_REACH)
                r1, c1 = grid.cell_of(x + POISON_REACH, y + POISON_REACH)
                blocked[r0 : r1 + 1, c0 : c1 + 1] = True
        self._vial_cells = (bad, grid, blocked)
        return blocked.copy()

    def _path_scores(
        self, path: _Path, clear: np.ndarray, pos: np.ndarray, angles: np.ndarray
    ) -> tuple[np.ndarray, float]:
        """Minus the steps to the nearest medikit by path per action, aiming as far down the
        path as a straight walk allows (string pulling, no corner cut); and the path length."""
        points, lengths, here = path
        flags = clear.tolist()
        k = len(flags) - 1 - flags[::-1].index(True) if True in flags else 0
        (ax, ay), remaining = points[k].tolist(), float(lengths[k])
        dx, dy = ax - pos[:, 0], ay - pos[:, 1]
        dist = np.hypot(dx, dy)
        turn = np.degrees(np.arctan2(dy, dx)) - angles
        turn = np.abs((turn + 180.0) % 360.0 - 180.0)  # wrap_degrees, without its checks
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
