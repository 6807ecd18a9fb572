"""Vectorised 2-D geometry for teachers: rays, line of sight, occupancy grids, paths, projectiles.

Everything works on NumPy arrays of map coordinates (map units, angles in degrees, 0 = east,
counter-clockwise positive, as in :mod:`envs.engine_state`). Per-map structures (sight walls,
occupancy grids, distance fields) are built once and cached by :func:`map_cache`.
"""

from __future__ import annotations

import dataclasses
import heapq
import math

import numpy as np
import scipy.sparse
import scipy.sparse.csgraph

from envs.engine_state import Walls

_EPS = 1e-9


def wrap_degrees(angle: np.ndarray | float) -> np.ndarray | float:
    """Wraps angles to ``[-180, 180)`` degrees."""
    if isinstance(angle, float):  # the common scalar: no np.ndim call
        return (float(angle) + 180.0) % 360.0 - 180.0
    if np.ndim(angle):
        return (np.asarray(angle) + 180.0) % 360.0 - 180.0
    return (float(angle) + 180.0) % 360.0 - 180.0


def bearing(origin: np.ndarray, points: np.ndarray) -> np.ndarray:
    """Bearing in degrees from ``origin`` (2,) to each of ``points`` (N, 2)."""
    d = np.asarray(points, np.float64)[..., :2] - np.asarray(origin, np.float64)[:2]
    return np.degrees(np.arctan2(d[..., 1], d[..., 0]))


def segments_cross(p: np.ndarray, q: np.ndarray, segments: np.ndarray) -> np.ndarray:
    """Whether each segment ``p[i] -> q[i]`` crosses any of ``segments``.

    Args:
        p: ``(N, 2)`` start points.
        q: ``(N, 2)`` end points.
        segments: ``(M, 4)`` walls ``(x1, y1, x2, y2)``.

    Returns:
        bool ``(N,)``; touching a wall's end point counts as crossing.
    """
    p = np.atleast_2d(np.asarray(p, np.float64))[:, None, :2]
    q = np.atleast_2d(np.asarray(q, np.float64))[:, None, :2]
    if len(segments) == 0:
        return np.zeros(p.shape[0], bool)
    a = np.asarray(segments, np.float64)[None, :, 0:2]
    b = np.asarray(segments, np.float64)[None, :, 2:4]
    r = q - p
    s = b - a
    denom = r[..., 0] * s[..., 1] - r[..., 1] * s[..., 0]
    ap = a - p
    t_num = ap[..., 0] * s[..., 1] - ap[..., 1] * s[..., 0]
    u_num = ap[..., 0] * r[..., 1] - ap[..., 1] * r[..., 0]
    parallel = np.abs(denom) < _EPS
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):  # masked below
        t = t_num / denom
        u = u_num / denom
    hit = ~parallel & (t >= 0.0) & (t <= 1.0) & (u >= 0.0) & (u <= 1.0)
    return hit.any(axis=1)


def first_crossing(p: np.ndarray, q: np.ndarray, segments: np.ndarray | WallColumns) -> np.ndarray:
    """Fraction along each segment ``p[i] -> q[i]`` where it first crosses a wall (inf: none).

    One intersection matrix for a whole batch of queries (rays, corridors), so a teacher pays
    NumPy's per-call overhead once per step rather than once per question.
    """
    p = np.asarray(p, np.float64).reshape(-1, 2)
    q = np.asarray(q, np.float64).reshape(-1, 2)
    return _first_crossing(p[:, 0], p[:, 1], q[:, 0], q[:, 1], segments)


@dataclasses.dataclass(frozen=True)
class WallColumns:
    """Walls as float64 columns ``a + u * s`` (``u`` in ``[0, 1]``), computed once per map
    rather than per intersection query."""

    ax: np.ndarray
    ay: np.ndarray
    sx: np.ndarray
    sy: np.ndarray
    tiles: dict[int, tuple[np.ndarray, ...]] = dataclasses.field(
        default_factory=dict, repr=False, compare=False
    )
    """By query count ``n``: the four columns repeated ``n`` times (see :meth:`tiled`)."""

    @classmethod
    def of(cls, segments: np.ndarray) -> WallColumns:
        """Columns of ``(M, 4)`` walls ``(x1, y1, x2, y2)``."""
        seg = np.asarray(segments, np.float64).reshape(-1, 4)
        ax, ay = seg[:, 0].copy(), seg[:, 1].copy()
        return cls(ax, ay, seg[:, 2] - ax, seg[:, 3] - ay)

    def __len__(self) -> int:
        return len(self.ax)

    def tiled(self, n: int) -> tuple[np.ndarray, ...]:
        """``ax, ay, sx, sy`` each repeated for ``n`` queries: ``(n * M,)`` (cached)."""
        tiles = self.tiles.get(n)
        if tiles is None:
            if len(self.tiles) > 64:
                self.tiles.clear()
            columns = (self.ax, self.ay, self.sx, self.sy)
            tiles = self.tiles[n] = tuple(np.tile(c, n) for c in columns)
        return tiles


def _first_crossing(
    px: np.ndarray,
    py: np.ndarray,
    qx: np.ndarray,
    qy: np.ndarray,
    segments: np.ndarray | WallColumns,
) -> np.ndarray:
    """:func:`first_crossing` on coordinate columns ``(N,)``."""
    return _crossings(np.array((px, py, qx - px, qy - py)), segments)


def _crossings(lines: np.ndarray, segments: np.ndarray | WallColumns) -> np.ndarray:
    """Fraction along each line where it first crosses a wall (inf: none).

    Args:
        lines: ``(4, N)`` rows ``x, y, dx, dy``: the lines ``(x, y) + t * (dx, dy)``, ``t`` in
            ``[0, 1]``.
        segments: the walls.

    Flat ``(N * M,)`` line-by-wall arrays: operands of one shape (NumPy's broadcasting costs
    more than the arithmetic at these sizes), in-place arithmetic.
    """
    n = lines.shape[1]
    if len(segments) == 0:
        return np.full(n, np.inf)
    walls = segments if isinstance(segments, WallColumns) else WallColumns.of(segments)
    m = len(walls)
    ax, ay, sx, sy = walls.tiled(n)
    px, py, rx, ry = np.repeat(lines, m, axis=1)
    apx, apy = ax - px, ay - py
    denom = rx * sy
    denom -= ry * sx
    t = apx * sy
    t -= apy * sx
    u = np.multiply(apx, ry, out=apx)
    u -= np.multiply(apy, rx, out=apy)
    # A wall parallel to the line is never crossed: NaN fails every test below (and, unlike a
    # division by zero, dividing by it raises no floating-point warning to silence).
    denom[np.abs(denom) < _EPS] = np.nan
    t /= denom
    u /= denom
    hit = np.minimum(t, u) >= 0.0
    hit &= np.maximum(t, u, out=u) <= 1.0
    return t.reshape(n, m).min(axis=1, where=hit.reshape(n, m), initial=np.inf)


def rays_and_corridors(
    origin: np.ndarray,
    angles: np.ndarray,
    points: np.ndarray,
    segments: np.ndarray,
    clearance: float,
    reach: float = 1e5,
    boxes: tuple[np.ndarray, np.ndarray] | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Free distance along each ray and whether each straight walk is clear, in one batch.

    Args:
        origin: ``(2,)`` the walker.
        angles: ``(A,)`` ray directions in degrees.
        points: ``(K, 2)`` walk destinations.
        segments: walls (:class:`WallColumns` saves converting them per call).
        clearance: the walker's half-width (its two side lines must be clear too).
        reach: rays longer than this count as free (inf).
        boxes: squares ``(centres (N, 2), half-sides (N,))`` a clear walk must not touch
            either (see :func:`walks_touch_boxes`); the walls along a walk that touches one
            go unchecked.

    Returns:
        ``(A,)`` distances (inf: no wall within ``reach``) and bool ``(K,)``.
    """
    origin = np.asarray(origin, np.float64)[:2]
    ox, oy = float(origin[0]), float(origin[1])
    rad = np.radians(np.asarray(angles, np.float64))
    points = np.asarray(points, np.float64).reshape(-1, 2)
    a, k = len(rad), len(points)
    rel = points - origin
    walks = list(range(k))  # those whose walls to check
    if boxes is not None and len(boxes[0]) and k:
        centers, half = boxes
        touch = _touching(rel.copy(), np.asarray(centers, np.float64)[:, :2] - origin, half)
        walks = [j for j, touches in enumerate(touch.tolist()) if not touches]
    # Rays first, then the walks' two side lines (offset by the clearance) and centre lines,
    # as columns x, y, dx, dy. A handful of lines: plain Python is quicker than NumPy calls
    # here (the same arithmetic); only hypot, cos and sin stay NumPy's, whose last bits may
    # differ from the math module's.
    dx = (np.cos(rad) * reach).tolist()
    dy = (np.sin(rad) * reach).tolist()
    # A ray ends at (ox + dx, oy + dy): its direction, as a line's, is that end less its start.
    px, py = [ox] * a, [oy] * a
    rx, ry = [x + ox - ox for x in dx], [y + oy - oy for y in dy]
    if walks:
        ends, offsets = points.tolist(), rel.tolist()
        norm = np.hypot(rel[:, 0], rel[:, 1]).tolist()
        for sign in (1.0, -1.0):
            for j in walks:
                (x, y), (ex, ey) = ends[j], offsets[j]
                scale = clearance / max(norm[j], _EPS)
                sx, sy = sign * -ey * scale, sign * ex * scale
                px.append(ox + sx)
                py.append(oy + sy)
                rx.append((x + sx) - (ox + sx))
                ry.append((y + sy) - (oy + sy))
        px += [ox] * len(walks)
        py += [oy] * len(walks)
        rx += [offsets[j][0] for j in walks]
        ry += [offsets[j][1] for j in walks]
    t = _crossings(np.array((px, py, rx, ry)).reshape(4, -1), segments)
    clear = np.zeros(k, bool)
    clear[walks] = t[a:].reshape(3, len(walks)).min(axis=0) == np.inf
    return t[:a] * reach, clear


def walks_touch_boxes(
    origin: np.ndarray, ends: np.ndarray, centers: np.ndarray, half: np.ndarray
) -> np.ndarray:
    """Whether a straight walk from ``origin`` to each of ``ends`` enters any axis-aligned square.

    Doom touches a pickup when the two square boxes overlap, so a walker's centre touches an
    item inside the square of half-side ``radius + item radius`` around it (slab test).

    Args:
        origin: ``(2,)`` the walker.
        ends: ``(K, 2)`` walk destinations.
        centers: ``(N, 2)`` square centres.
        half: ``(N,)`` half-sides (a walk that starts inside a square only counts if the
            square is shrunk to leave it out: pass ``min(half, distance - 1)``).

    Returns:
        bool ``(K,)``.
    """
    ends = np.asarray(ends, np.float64).reshape(-1, 2)
    if len(centers) == 0 or len(ends) == 0:
        return np.zeros(len(ends), bool)
    origin = np.asarray(origin, np.float64)[:2]
    return _touching(ends - origin, np.asarray(centers, np.float64)[:, :2] - origin, half)


def _touching(d: np.ndarray, rel: np.ndarray, half: np.ndarray) -> np.ndarray:
    """:func:`walks_touch_boxes` on walks ``d`` ``(K, 2)`` (overwritten) and square centres
    ``rel`` ``(N, 2)``, both relative to the walker."""
    d[np.abs(d) < _EPS] = _EPS  # a walk parallel to an axis: an infinite slab on that side
    inv = 1.0 / d
    half = np.maximum(np.asarray(half, np.float64), 0.0)  # an empty square touches nothing
    # Per axis (K, N) entry and exit fractions; NumPy reductions over a short last axis cost
    # more than the element-wise minimum and maximum of the two axes.
    x1, x2 = (rel[:, 0] - half) * inv[:, :1], (rel[:, 0] + half) * inv[:, :1]
    y1, y2 = (rel[:, 1] - half) * inv[:, 1:], (rel[:, 1] + half) * inv[:, 1:]
    enter = np.maximum(np.minimum(x1, x2), np.minimum(y1, y2))
    leave = np.minimum(np.maximum(x1, x2), np.maximum(y1, y2))
    np.maximum(enter, 0.0, out=enter)
    np.minimum(leave, 1.0, out=leave)
    return (enter < leave).any(axis=1)


def line_of_sight(origin: np.ndarray, points: np.ndarray, segments: np.ndarray) -> np.ndarray:
    """Whether each of ``points`` (N, 2) is visible from ``origin`` (2,) through ``segments``."""
    points = np.atleast_2d(np.asarray(points, np.float64))[:, :2]
    origin = np.broadcast_to(np.asarray(origin, np.float64)[:2], points.shape)
    return ~segments_cross(origin, points, segments)


def ray_distance(origin: np.ndarray, angles: np.ndarray, segments: np.ndarray) -> np.ndarray:
    """Distance along each ray (degrees) from ``origin`` to the first wall (inf: none)."""
    angles = np.atleast_1d(np.asarray(angles, np.float64))
    if len(segments) == 0:
        return np.full(angles.shape, np.inf)
    rad = np.radians(angles)[:, None]
    dx, dy = np.cos(rad), np.sin(rad)
    seg = np.asarray(segments, np.float64)
    ax = seg[None, :, 0] - origin[0]
    ay = seg[None, :, 1] - origin[1]
    sx = seg[None, :, 2] - seg[None, :, 0]
    sy = seg[None, :, 3] - seg[None, :, 1]
    denom = dx * sy - dy * sx
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):  # masked below
        t = (ax * sy - ay * sx) / denom
        u = (ax * dy - ay * dx) / denom
    ok = (np.abs(denom) > _EPS) & (t > 0.0) & (u >= 0.0) & (u <= 1.0)
    return np.where(ok, t, np.inf).min(axis=1)


def ray_box_distance(
    origin: np.ndarray, angle: float, centers: np.ndarray, half_sizes: np.ndarray
) -> np.ndarray:
    """Distance along one ray to each axis-aligned square box (a Doom actor's hit box).

    Args:
        origin: ``(2,)`` ray start.
        angle: ray direction in degrees.
        centers: ``(N, 2)`` box centres.
        half_sizes: ``(N,)`` half widths (the actor's radius).

    Returns:
        ``(N,)`` entry distances, inf where the ray misses the box or the box is behind.
    """
    rad = math.radians(angle)
    d = np.array([math.cos(rad), math.sin(rad)])
    d = np.where(np.abs(d) < _EPS, _EPS, d)
    rel = np.asarray(centers, np.float64)[:, :2] - np.asarray(origin, np.float64)[:2]
    h = np.asarray(half_sizes, np.float64)[:, None]
    t1 = (rel - h) / d
    t2 = (rel + h) / d
    near = np.minimum(t1, t2).max(axis=1)
    far = np.maximum(t1, t2).min(axis=1)
    hit = (far >= near) & (far > 0.0)
    return np.where(hit, np.maximum(near, 0.0), np.inf)


def track_projectiles(positions: np.ndarray, velocities: np.ndarray, horizon: int) -> np.ndarray:
    """Straight-line tracks: ``(horizon + 1, N, 2)`` positions at tics 0..horizon."""
    tics = np.arange(horizon + 1, dtype=np.float64)[:, None, None]
    return (
        np.asarray(positions, np.float64)[None, :, :2]
        + tics * np.asarray(velocities, np.float64)[None, :, :2]
    )


def closest_approach(
    rel_pos: np.ndarray, rel_vel: np.ndarray, horizon: float
) -> tuple[np.ndarray, np.ndarray]:
    """Time in ``[0, horizon]`` and distance of closest approach of straight relative tracks.

    Args:
        rel_pos: ``(N, 2)`` positions relative to the player.
        rel_vel: ``(N, 2)`` velocities relative to the player (units per tic).
        horizon: the latest time considered.
    """
    rel_pos = np.asarray(rel_pos, np.float64)
    rel_vel = np.asarray(rel_vel, np.float64)
    speed2 = (rel_vel**2).sum(axis=-1)
    t = np.clip(-(rel_pos * rel_vel).sum(axis=-1) / np.maximum(speed2, _EPS), 0.0, horizon)
    closest = rel_pos + t[..., None] * rel_vel
    return t, np.hypot(closest[..., 0], closest[..., 1])


# ---------------------------------------------------------------------------- grids and paths
@dataclasses.dataclass(frozen=True)
class OccupancyGrid:
    """Cells of a map that a walker of a given radius cannot occupy."""

    blocked: np.ndarray
    """bool ``(H, W)``: row = y index, column = x index."""
    origin: np.ndarray
    """``(x, y)`` of the lower-left corner of cell ``(0, 0)``."""
    cell: float
    """Cell side in map units."""

    def to_cell(self, points: np.ndarray) -> np.ndarray:
        """``(N, 2)`` map points to ``(N, 2)`` integer ``(row, col)`` (clipped to the grid)."""
        points = np.atleast_2d(np.asarray(points, np.float64))[:, :2]
        ij = np.floor((points - self.origin) / self.cell).astype(np.int64)[:, ::-1]
        h, w = self.blocked.shape
        return np.minimum(np.maximum(ij, 0), (h - 1, w - 1))  # np.clip costs more on tiny arrays

    def cell_of(self, x: float, y: float) -> tuple[int, int]:
        """One map point to its ``(row, col)`` (clipped), in plain Python: no array overhead."""
        h, w = self.blocked.shape
        c = min(max(int((x - self.origin[0]) // self.cell), 0), w - 1)
        r = min(max(int((y - self.origin[1]) // self.cell), 0), h - 1)
        return r, c

    def to_point(self, cells: np.ndarray) -> np.ndarray:
        """``(N, 2)`` ``(row, col)`` cells to their centre points ``(x, y)``."""
        cells = np.atleast_2d(np.asarray(cells, np.float64))
        return self.origin + (cells[:, ::-1] + 0.5) * self.cell


def point_segment_distance(points: np.ndarray, segments: np.ndarray) -> np.ndarray:
    """``(N, M)`` distances from each point to each segment."""
    p = np.asarray(points, np.float64)
    seg = np.asarray(segments, np.float64)
    px, py = p[:, 0:1], p[:, 1:2]  # (N, 1) against (M,) columns: no (N, M, 2) temporaries
    ax, ay = seg[:, 0], seg[:, 1]
    abx, aby = seg[:, 2] - ax, seg[:, 3] - ay
    t = ((px - ax) * abx + (py - ay) * aby) / np.maximum(abx * abx + aby * aby, _EPS)
    t = np.minimum(np.maximum(t, 0.0), 1.0)
    return np.hypot(px - (ax + t * abx), py - (ay + t * aby))


def occupancy_grid(
    segments: np.ndarray, radius: float, cell: float = 16.0, margin: float = 32.0
) -> OccupancyGrid:
    """Grid of cells whose centre lies within ``radius`` of a wall (vectorised over cells).

    Args:
        segments: ``(M, 4)`` impassable walls.
        radius: the walker's radius (the grid is inflated by it).
        cell: cell side in map units.
        margin: extra border around the walls' bounding box.
    """
    segments = np.asarray(segments, np.float64).reshape(-1, 4)
    lo = np.minimum(segments[:, 0:2], segments[:, 2:4]).min(axis=0) - margin
    hi = np.maximum(segments[:, 0:2], segments[:, 2:4]).max(axis=0) + margin
    shape = np.ceil((hi - lo) / cell).astype(int)[::-1]
    rows, cols = np.indices(shape)
    centres = lo + (np.stack([cols.ravel(), rows.ravel()], axis=1) + 0.5) * cell
    blocked = np.zeros(len(centres), bool)
    for start in range(0, len(centres), 4096):  # bounded memory: chunks of cells x all walls
        chunk = centres[start : start + 4096]
        blocked[start : start + 4096] = (point_segment_distance(chunk, segments) < radius).any(1)
    return OccupancyGrid(blocked=blocked.reshape(shape), origin=lo, cell=float(cell))


_NEIGHBOURS = [(-1, -1), (-1, 0), (-1, 1), (0, -1), (0, 1), (1, -1), (1, 0), (1, 1)]


def astar(
    blocked: np.ndarray, start: tuple[int, int], goal: tuple[int, int]
) -> list[tuple[int, int]] | None:
    """8-connected A* on a boolean grid (no corner cutting); ``None`` when no path exists."""
    h_, w_ = blocked.shape
    start, goal = tuple(map(int, start)), tuple(map(int, goal))
    if blocked[start] or blocked[goal]:
        return None

    def heuristic(cell: tuple[int, int]) -> float:
        dr, dc = abs(cell[0] - goal[0]), abs(cell[1] - goal[1])
        return max(dr, dc) + (math.sqrt(2) - 1) * min(dr, dc)

    best = {start: 0.0}
    parent: dict[tuple[int, int], tuple[int, int]] = {}
    frontier = [(heuristic(start), 0.0, start)]
    while frontier:
        _, cost, cell = heapq.heappop(frontier)
        if cell == goal:
            path = [cell]
            while cell in parent:
                cell = parent[cell]
                path.append(cell)
            return path[::-1]
        if cost > best.get(cell, math.inf):
            continue
        r, c = cell
        for dr, dc in _NEIGHBOURS:
            nr, nc = r + dr, c + dc
            if not (0 <= nr < h_ and 0 <= nc < w_) or blocked[nr, nc]:
                continue
            if dr and dc and (blocked[r + dr, c] or blocked[r, c + dc]):
                continue
            step = math.sqrt(2) if dr and dc else 1.0
            new = cost + step
            if new < best.get((nr, nc), math.inf):
                best[(nr, nc)] = new
                parent[(nr, nc)] = cell
                heapq.heappush(frontier, (new + heuristic((nr, nc)), new, (nr, nc)))
    return None


def distance_field(blocked: np.ndarray, goals: np.ndarray) -> np.ndarray:
    """Path length (in cells, 8-connected) from every cell to the nearest goal cell; inf: none.

    Multi-source Dijkstra (SciPy's, compiled) over the grid's moves; a move into or out of a
    blocked cell, or a diagonal past one (no corner cutting), weighs inf. Blocked goals are
    ignored.

    Args:
        blocked: bool ``(H, W)`` occupancy.
        goals: int ``(K, 2)`` goal cells ``(row, col)``.
    """
    h, w = blocked.shape
    free = ~np.asarray(blocked, bool).ravel()
    goals = np.atleast_2d(goals)
    sources = goals[:, 0] * w + goals[:, 1]
    sources = sources[free[sources]]
    if len(sources) == 0:
        return np.full((h, w), np.inf)
    graph, source, target, corner_a, corner_b, length = _grid_graph((h, w))
    ok = free[source] & free[target] & free[corner_a] & free[corner_b]
    graph.data[:] = np.where(ok, length, np.inf)
    return scipy.sparse.csgraph.dijkstra(graph, indices=sources, min_only=True).reshape(h, w)


def _grid_graph(shape: tuple[int, int]) -> tuple:
    """The 8-connected moves of a grid of ``shape`` (cached per shape): a CSR matrix whose
    weights :func:`distance_field` overwrites per call, and per move its flat source, target,
    the two cells a diagonal passes (an orthogonal move's are its target) and its length."""
    cached = _GRAPHS.get(shape)
    if cached is None:
        h, w = shape
        index = np.arange(h * w).reshape(h, w)
        parts = []
        for dr, dc in _NEIGHBOURS:
            r0, r1, c0, c1 = max(0, -dr), h - max(0, dr), max(0, -dc), w - max(0, dc)
            source = index[r0:r1, c0:c1].ravel()
            target = index[r0 + dr : r1 + dr, c0 + dc : c1 + dc].ravel()
            diagonal = bool(dr and dc)
            corner_a = index[r0 + dr : r1 + dr, c0:c1].ravel() if diagonal else target
            corner_b = index[r0:r1, c0 + dc : c1 + dc].ravel() if diagonal else target
            length = np.full(len(source), math.sqrt(2) if diagonal else 1.0)
            parts.append((source, target, corner_a, corner_b, length))
        source, target, corner_a, corner_b, length = map(np.concatenate, zip(*parts, strict=True))
        order = np.lexsort((target, source))  # CSR order: by source, then target
        source, target = source[order], target[order]
        corner_a, corner_b, length = corner_a[order], corner_b[order], length[order]
        indptr = np.searchsorted(source, np.arange(h * w + 1))
        graph = scipy.sparse.csr_matrix(
            (length.copy(), target.astype(np.int32), indptr.astype(np.int32)),
            shape=(h * w, h * w),
        )
        cached = _GRAPHS[shape] = (graph, source, target, corner_a, corner_b, length)
    return cached


_GRAPHS: dict[tuple[int, int], tuple] = {}


def descent_step(field: list[list[float]], cell: tuple[int, int]) -> tuple[int, int]:
    """The next cell down ``field``'s steepest descent from ``cell``, in plain Python (for a
    few cells per step: no whole-grid pass); :func:`descent_targets` with ``lookahead=1``.

    Args:
        field: path lengths as nested lists (``ndarray.tolist()``), inf: unreachable.
        cell: ``(row, col)``.

    Returns:
        the neighbour that minimises field + step; ``cell`` itself at a goal or unreachable.
    """
    r, c = cell
    here = field[r][c]
    if not math.isfinite(here):
        return cell
    h, w = len(field), len(field[0])
    best, nxt = math.inf, cell
    for dr, dc in _NEIGHBOURS:  # the same order and strict comparison as descent_targets
        rr, cc = r + dr, c + dc
        if not (0 <= rr < h and 0 <= cc < w):
            continue
        if dr and dc:
            if not (math.isfinite(field[rr][c]) and math.isfinite(field[r][cc])):
                continue
            cand = field[rr][cc] + _DIAG
        else:
            cand = field[rr][cc] + 1.0
        if cand < best:
            best, nxt = cand, (rr, cc)
    return nxt if best - 1.0 - 1e-9 < here else cell


_DIAG = math.sqrt(2)


def descent_targets(field: np.ndarray, lookahead: int = 4) -> np.ndarray:
    """For every cell, the cell ``lookahead`` steps down the field's steepest descent.

    Args:
        field: ``(H, W)`` path lengths to a goal (inf: unreachable).
        lookahead: steps to follow (a power of two: pointer jumping).

    Returns:
        int ``(H, W, 2)`` ``(row, col)``; a goal or unreachable cell points to itself.
    """
    h, w = field.shape
    rows, cols = np.indices((h, w))
    padded = np.pad(field, 1, constant_values=np.inf)
    best = np.full(field.shape, np.inf)
    nxt_r, nxt_c = rows.copy(), cols.copy()
    open_ = np.isfinite(padded)
    for dr, dc in _NEIGHBOURS:
        cand = padded[1 + dr : 1 + dr + h, 1 + dc : 1 + dc + w]
        if dr and dc:  # as in the field: no corner cutting
            ok = open_[1 + dr : 1 + dr + h, 1 : 1 + w] & open_[1 : 1 + h, 1 + dc : 1 + dc + w]
            cand = np.where(ok, cand + math.sqrt(2), np.inf)
        else:
            cand = cand + 1.0
        better = cand < best
        best = np.where(better, cand, best)
        nxt_r = np.where(better, rows + dr, nxt_r)
        nxt_c = np.where(better, cols + dc, nxt_c)
    # The neighbour that minimises field + step is a shortest-path predecessor, so following
    # pointers walks a shortest path.
    down = best - 1.0 - 1e-9 < field  # strictly closer to the goal: not a goal, reachable
    down &= np.isfinite(field)
    nxt_r = np.where(down, nxt_r, rows)
    nxt_c = np.where(down, nxt_c, cols)
    while lookahead > 1:
        nxt_r, nxt_c = nxt_r[nxt_r, nxt_c], nxt_c[nxt_r, nxt_c]
        lookahead //= 2
    return np.stack([nxt_r, nxt_c], axis=-1)


def nearest_open_cell(
    grid: OccupancyGrid,
    field: np.ndarray,
    origin: np.ndarray,
    walls: np.ndarray | WallColumns,
    reach: int = 2,
) -> tuple[int, int] | None:
    """The nearest cell with a finite ``field`` value that ``origin`` sees (``None``: none).

    A player pressed against a wall stands in a cell the inflated grid blocks; the cells
    around it that it sees (not those behind the wall) say where the path continues.
    ``walls`` block the view (:class:`WallColumns` saves converting them per call).
    """
    origin = np.asarray(origin, np.float64)[:2]
    r0, c0 = grid.to_cell(origin[None])[0].tolist()
    h, w = field.shape
    x0, y0, size = float(grid.origin[0]), float(grid.origin[1]), grid.cell
    # The open cells around (row by row, as grid.to_point would place their centres).
    cells = [
        (r, c)
        for r in range(max(r0 - reach, 0), min(r0 + reach + 1, h))
        for c in range(max(c0 - reach, 0), min(c0 + reach + 1, w))
        if math.isfinite(field[r, c])
    ]
    if not cells:
        return None
    points = np.array([(x0 + (c + 0.5) * size, y0 + (r + 0.5) * size) for r, c in cells])
    rel = points - origin
    order = np.hypot(rel[:, 0], rel[:, 1]).argsort()
    # line_of_sight on wall columns: a finite first crossing is a wall in between.
    ends = points[order]
    seen = ~np.isfinite(first_crossing(np.broadcast_to(origin, ends.shape), ends, walls))
    if not seen.any():
        return None
    return cells[int(order[int(seen.argmax())])]


def smooth_path(points: np.ndarray, segments: np.ndarray, clearance: float = 0.0) -> np.ndarray:
    """String-pulls a waypoint path: keeps a waypoint only where a straight line would hit a wall.

    Args:
        points: ``(N, 2)`` waypoints.
        segments: walls that block walking.
        clearance: also require the two parallel lines offset by this much to be clear.
    """
    points = np.asarray(points, np.float64)
    if len(points) <= 2:
        return points
    kept = [0]
    i = 0
    while i < len(points) - 1:
        candidates = points[i + 1 :]
        free = corridor_clear(points[i], candidates, segments, clearance)
        # The farthest waypoint reachable in a straight line (the next one always counts).
        j = i + 1 + (int(np.flatnonzero(free).max()) if free.any() else 0)
        kept.append(j)
        i = j
    return points[kept]


def corridor_clear(
    origin: np.ndarray, points: np.ndarray, segments: np.ndarray, clearance: float
) -> np.ndarray:
    """Whether a walker of half-width ``clearance`` goes straight from ``origin`` to each point."""
    points = np.atleast_2d(np.asarray(points, np.float64))[:, :2]
    origin = np.asarray(origin, np.float64)[:2]
    d = points - origin
    norm = np.maximum(np.hypot(d[:, 0], d[:, 1]), _EPS)[:, None]
    side = np.stack([-d[:, 1], d[:, 0]], axis=1) / norm * clearance
    ok = ~segments_cross(np.broadcast_to(origin, points.shape), points, segments)
    if clearance > 0:
        for sign in (-1.0, 1.0):
            ok &= ~segments_cross(origin + sign * side, points + sign * side, segments)
    return ok


# ---------------------------------------------------------------------------- per-map cache
@dataclasses.dataclass
class MapGeometry:
    """Per-map structures, built on first use and reused for every later episode."""

    walls: Walls
    sight: np.ndarray
    """``(K, 4)`` walls that block sight: lines bounding exactly one sector."""
    blocking: np.ndarray
    """``(B, 4)`` walls that block walking."""
    blocking_columns: WallColumns
    """:attr:`blocking` as :class:`WallColumns` (for :func:`rays_and_corridors`)."""
    grids: dict[tuple[float, float], OccupancyGrid] = dataclasses.field(default_factory=dict)
    fields: dict[tuple, np.ndarray] = dataclasses.field(default_factory=dict)
    rays: dict[tuple[float, float, float], float] = dataclasses.field(default_factory=dict)
    """Sight-wall distances by ``(x, y, yaw)``: turrets stand still and turn in fixed steps."""

    def sight_distances(self, x: float, y: float, angles: list[float]) -> list[float]:
        """Distance from ``(x, y)`` to the first sight-blocking wall along each yaw (cached)."""
        rays = self.rays
        out = [rays.get((x, y, a)) for a in angles]
        missing = [a for a, d in zip(angles, out, strict=True) if d is None]
        if missing:
            if len(rays) > 65536:
                rays.clear()
            found = ray_distance(np.array([x, y]), missing, self.sight).tolist()
            rays.update(((x, y, a), d) for a, d in zip(missing, found, strict=True))
            out = [rays[(x, y, a)] for a in angles]
        return out

    def grid(self, radius: float, cell: float = 16.0) -> OccupancyGrid:
        """The occupancy grid for a walker of ``radius`` (cached)."""
        key = (radius, cell)
        if key not in self.grids:
            self.grids[key] = occupancy_grid(self.blocking, radius, cell)
        return self.grids[key]

    def goal_field(
        self, goal: np.ndarray, radius: float, cell: float = 16.0, lookahead: int = 4
    ) -> tuple[OccupancyGrid, np.ndarray, np.ndarray]:
        """Path lengths (map units) to a fixed goal and look-ahead points, cached per goal.

        Returns:
            the grid, the ``(H, W)`` field (inf: blocked or unreachable) and ``(H, W, 2)``
            points ``lookahead`` cells further down the shortest path from each cell.
        """
        grid = self.grid(radius, cell)
        goal_cell = grid.to_cell(np.asarray(goal, np.float64)[None])
        key = ("goal", *goal_cell[0].tolist(), radius, cell, lookahead)
        if key not in self.fields:
            blocked = grid.blocked.copy()
            blocked[tuple(goal_cell[0])] = False  # the goal may stand close to a wall
            field = distance_field(blocked, goal_cell)
            targets = grid.to_point(descent_targets(field, lookahead).reshape(-1, 2))
            self.fields[key] = (field * cell, targets.reshape(*field.shape, 2))
        return (grid, *self.fields[key])


_BY_CONTENT: dict[bytes, MapGeometry] = {}
_LAST: list[MapGeometry] = []
_CACHE_LIMIT = 16


def map_cache(walls: Walls) -> MapGeometry:
    """The cached :class:`MapGeometry` of a map (keyed by the wall table's contents).

    The env builds a new :class:`Walls` each episode; the identity check makes the common case
    (same episode) free, and the content key makes later episodes of the map reuse the grids.
    """
    if _LAST and _LAST[0].walls is walls:
        return _LAST[0]
    key = walls.segments.tobytes() + walls.one_sided.tobytes() + walls.blocking.tobytes()
    geometry = _BY_CONTENT.get(key)
    if geometry is None:
        if len(_BY_CONTENT) >= _CACHE_LIMIT:
            _BY_CONTENT.clear()
        geometry = MapGeometry(
            walls=walls,
            sight=np.asarray(walls.segments[walls.one_sided], np.float64),
            blocking=np.asarray(walls.segments[walls.blocking], np.float64),
            blocking_columns=WallColumns.of(walls.segments[walls.blocking]),
        )
        _BY_CONTENT[key] = geometry
    geometry.walls = walls
    _LAST[:] = [geometry]
    return geometry
