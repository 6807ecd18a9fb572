"""Geometry unit tests: known cases and hypothesis properties."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from teachers import geometry

WALL = np.array([[0.0, -10.0, 0.0, 10.0]])  # a vertical wall on x = 0
coords = st.floats(-500, 500, allow_nan=False, allow_infinity=False)


def test_line_of_sight_is_blocked_by_a_wall_between_the_points():
    assert not geometry.line_of_sight([-5.0, 0.0], [[5.0, 0.0]], WALL)[0]


def test_line_of_sight_passes_beside_the_wall():
    assert geometry.line_of_sight([-5.0, 20.0], [[5.0, 20.0]], WALL)[0]


def test_ray_distance_finds_the_first_wall_and_inf_when_none():
    walls = np.array([[10.0, -5, 10, 5], [20.0, -5, 20, 5]])
    dist = geometry.ray_distance(np.zeros(2), [0.0, 180.0, 90.0], walls)
    assert dist[0] == 10.0 and np.isinf(dist[1]) and np.isinf(dist[2])


def test_firing_ray_hits_a_box_off_centre_but_not_beside_it():
    centres = np.array([[100.0, 15.0], [100.0, 25.0], [-100.0, 0.0]])
    dist = geometry.ray_box_distance(np.zeros(2), 0.0, centres, np.full(3, 20.0))
    assert dist[0] == 80.0  # the ray enters the box at its near face
    assert np.isinf(dist[1]) and np.isinf(dist[2])  # beside, and behind the shooter


def test_astar_finds_a_path_around_a_wall_and_none_through_a_closed_one():
    blocked = np.zeros((10, 10), bool)
    blocked[:9, 5] = True
    path = geometry.astar(blocked, (0, 0), (0, 9))
    assert path is not None and path[0] == (0, 0) and path[-1] == (0, 9)
    assert not any(blocked[c] for c in path)
    blocked[9, 5] = True
    assert geometry.astar(blocked, (0, 0), (0, 9)) is None


def test_occupancy_grid_blocks_cells_near_walls_only():
    square = np.array([[0, 0, 320, 0], [320, 0, 320, 320], [320, 320, 0, 320], [0, 320, 0, 0.0]])
    grid = geometry.occupancy_grid(square, radius=16.0, cell=16.0)
    centre = grid.to_cell(np.array([[160.0, 160.0]]))[0]
    edge = grid.to_cell(np.array([[8.0, 160.0]]))[0]
    assert not grid.blocked[tuple(centre)] and grid.blocked[tuple(edge)]


def test_distance_field_matches_astar_length():
    blocked = np.zeros((12, 12), bool)
    blocked[2:12, 6] = True
    field = geometry.distance_field(blocked, np.array([[11, 11]]))
    path = geometry.astar(blocked, (11, 0), (11, 11))
    steps = np.diff(np.array(path), axis=0)
    length = np.where(np.abs(steps).sum(1) == 2, np.sqrt(2), 1.0).sum()
    assert np.isclose(field[11, 0], length)
    assert np.isinf(
        geometry.distance_field(blocked | (np.arange(12) == 6)[None, :], np.array([[11, 11]]))[
            11, 0
        ]
    )


def test_smoothed_path_keeps_corners_and_clears_walls():
    walls = np.array([[100.0, -100.0, 100.0, 50.0]])
    points = np.array([[0, 0], [50, 80], [100, 80], [150, 80], [200, 0.0]])
    smooth = geometry.smooth_path(points, walls)
    assert smooth[0].tolist() == [0, 0] and smooth[-1].tolist() == [200, 0]
    assert len(smooth) < len(points)
    assert not geometry.segments_cross(smooth[:-1], smooth[1:], walls).any()


@settings(max_examples=60, deadline=None)
@given(coords, coords, coords, coords)
def test_line_of_sight_is_symmetric(x1, y1, x2, y2):
    walls = np.array([[-100.0, -50, 100, 60], [30.0, 200, 30, -200], [-300, 10, 300, 12.0]])
    a, b = np.array([x1, y1]), np.array([x2, y2])
    assert geometry.line_of_sight(a, [b], walls)[0] == geometry.line_of_sight(b, [a], walls)[0]


@settings(max_examples=60, deadline=None)
@given(coords, coords, st.floats(-180, 180), coords, coords)
def test_ray_stops_at_the_wall_it_crosses(x, y, angle, wx, wy):
    origin = np.array([x, y])
    wall = np.array([[wx, wy, wx + 37.0, wy + 91.0]])
    dist = geometry.ray_distance(origin, [angle], wall)[0]
    if np.isfinite(dist):
        rad = np.radians(angle)
        hit = origin + dist * np.array([np.cos(rad), np.sin(rad)])
        assert geometry.point_segment_distance(hit[None], wall)[0, 0] < 1e-6 * (1 + dist)
        beyond = origin + (dist + 1.0) * np.array([np.cos(rad), np.sin(rad)])
        short = origin + max(dist - 1.0, 0.0) * np.array([np.cos(rad), np.sin(rad)])
        assert geometry.segments_cross(origin[None], beyond[None], wall)[0]
        if dist > 1.0:
            assert not geometry.segments_cross(origin[None], short[None], wall)[0]


@settings(max_examples=40, deadline=None)
@given(st.integers(0, 2**32 - 1))
def test_astar_path_is_free_connected_and_no_longer_than_the_field(seed):
    rng = np.random.default_rng(seed)
    blocked = rng.random((9, 9)) < 0.3
    blocked[0, 0] = blocked[8, 8] = False
    path = geometry.astar(blocked, (0, 0), (8, 8))
    field = geometry.distance_field(blocked, np.array([[8, 8]]))
    assert (path is None) == np.isinf(field[0, 0])
    if path is not None:
        cells = np.array(path)
        assert not blocked[cells[:, 0], cells[:, 1]].any()
        steps = np.abs(np.diff(cells, axis=0))
        assert (steps.max(axis=1) == 1).all()
        length = np.where(steps.sum(1) == 2, np.sqrt(2), 1.0).sum()
        assert np.isclose(length, field[0, 0])


@settings(max_examples=40, deadline=None)
@given(coords, coords, st.floats(-10, 10), st.floats(-10, 10))
def test_closest_approach_is_no_farther_than_the_start(x, y, vx, vy):
    t, d = geometry.closest_approach(np.array([[x, y]]), np.array([[vx, vy]]), 100.0)
    assert 0.0 <= t[0] <= 100.0 and d[0] <= np.hypot(x, y) + 1e-6


def test_descent_targets_walk_down_a_shortest_path_to_the_goal():
    blocked = np.zeros((12, 12), bool)
    blocked[2:12, 6] = True
    goal = np.array([[11, 11]])
    field = geometry.distance_field(blocked, goal)
    step = geometry.descent_targets(field, 1)
    cell, length = (11, 0), 0.0
    while cell != (11, 11):
        nxt = tuple(step[cell].tolist())
        assert not blocked[nxt] and max(abs(nxt[0] - cell[0]), abs(nxt[1] - cell[1])) == 1
        length += np.hypot(nxt[0] - cell[0], nxt[1] - cell[1])
        cell = nxt
    assert np.isclose(length, field[11, 0])
    ahead = geometry.descent_targets(field, 4)
    assert field[tuple(ahead[11, 0])] == field[11, 0] - 4  # four straight steps up the column
    assert tuple(ahead[11, 11]) == (11, 11)  # the goal stays put


@settings(max_examples=60, deadline=None)
@given(st.integers(0, 5), st.floats(-180, 180), st.floats(0.5, 20))
def test_turn_planner_bisection_matches_the_brute_force(held, err, tol):
    from teachers.motion import TurnPlanner

    planner = TurnPlanner(skip=4)
    offsets = planner.offsets(held)
    on = np.abs(offsets - err) <= tol
    depth = offsets.shape[1]
    first = np.where(
        on.any(axis=1), on.argmax(axis=1) + 1.0, depth + 1 + np.abs(err - offsets[:, -1]) / 14.0
    )
    fast = planner.steps_to_aim(held, err, tol)
    for move in (-1, 0, 1):
        assert np.isclose(fast[move], first[planner.first == move].min() - 1.0)


@settings(max_examples=40, deadline=None)
@given(st.integers(0, 2**32 - 1))
def test_first_crossing_finds_the_crossings_segments_cross_finds(seed):
    # Integer coordinates on a small range: many parallel and collinear pairs, and ends on walls.
    rng = np.random.default_rng(seed)
    walls = rng.integers(-8, 8, (12, 4)).astype(np.float64)
    walls[::3, 3] = walls[::3, 1]  # some horizontal walls
    p, q = rng.integers(-8, 8, (2, 10, 2)).astype(np.float64)
    q[::2, 1] = p[::2, 1]  # some horizontal queries: parallel to those walls
    t = geometry.first_crossing(p, q, walls)
    assert np.array_equal(np.isfinite(t), geometry.segments_cross(p, q, walls))
    assert ((t >= 0.0) & (t <= 1.0) | np.isinf(t)).all()


@settings(max_examples=40, deadline=None)
@given(st.integers(0, 2**32 - 1))
def test_batched_rays_and_corridors_agree_with_the_single_queries(seed):
    rng = np.random.default_rng(seed)
    walls = rng.uniform(-200, 200, (6, 4))
    origin = rng.uniform(-200, 200, 2)
    angles = rng.uniform(-180, 180, 5)
    points = rng.uniform(-200, 200, (4, 2))
    rays, clear = geometry.rays_and_corridors(origin, angles, points, walls, 12.0)
    expected = geometry.ray_distance(origin, angles, walls)
    assert np.allclose(
        np.where(np.isinf(rays), -1, rays), np.where(np.isinf(expected), -1, expected)
    )
    assert np.array_equal(clear, geometry.corridor_clear(origin, points, walls, 12.0))
    # With squares to avoid too: a walk that touches one is not clear, whatever the walls.
    centres, half = rng.uniform(-200, 200, (3, 2)), rng.uniform(0, 60, 3)
    _, clear_of_both = geometry.rays_and_corridors(
        origin, angles, points, walls, 12.0, boxes=(centres, half)
    )
    touch = geometry.walks_touch_boxes(origin, points, centres, half)
    assert np.array_equal(clear_of_both, clear & ~touch)


@settings(max_examples=40, deadline=None)
@given(st.integers(0, 2**32 - 1))
def test_descent_step_matches_the_whole_grid_descent_targets(seed):
    rng = np.random.default_rng(seed)
    blocked = rng.random((rng.integers(1, 14), rng.integers(1, 14))) < 0.35
    h, w = blocked.shape
    goals = np.stack([rng.integers(0, h, 2), rng.integers(0, w, 2)], axis=1)
    field = geometry.distance_field(blocked, goals)
    step = geometry.descent_targets(field, 1)
    rows = field.tolist()
    for cell in np.ndindex(field.shape):
        assert geometry.descent_step(rows, cell) == tuple(step[cell].tolist())


def relaxed_distance_field(blocked: np.ndarray, goals: np.ndarray) -> np.ndarray:
    """The former distance_field (relaxation with array shifts until nothing changes): a
    reference for the Dijkstra one.

    Args:
        blocked: bool ``(H, W)`` occupancy.
        goals: int ``(K, 2)`` goal cells ``(row, col)``.
    """
    h, w = blocked.shape
    padded = np.full((h + 2, w + 2), np.inf)  # a border of inf: no np.pad per pass
    dist = padded[1:-1, 1:-1]
    goals = np.atleast_2d(goals)
    dist[goals[:, 0], goals[:, 1]] = 0.0
    dist[blocked] = np.inf
    free = np.zeros((h + 2, w + 2), bool)
    free[1:-1, 1:-1] = ~blocked
    diag = math.sqrt(2)
    steps = []
    for dr, dc in geometry._NEIGHBOURS:
        if dr and dc:  # no corner cutting: both orthogonal neighbours must be free
            ok = free[1 + dr : 1 + dr + h, 1 : 1 + w] & free[1 : 1 + h, 1 + dc : 1 + dc + w]
            step = np.where(ok, diag, np.inf)
        else:
            step = 1.0
        steps.append((padded[1 + dr : 1 + dr + h, 1 + dc : 1 + dc + w], step))
    best = np.empty((h, w))
    cand = np.empty((h, w))
    while True:
        best[...] = dist
        for shifted, step in steps:
            np.add(shifted, step, out=cand)
            np.minimum(best, cand, out=best)
        best[blocked] = np.inf
        if np.array_equal(best, dist):
            return dist.copy()
        dist[...] = best


@settings(max_examples=60, deadline=None)
@given(st.integers(0, 2**32 - 1))
def test_distance_field_equals_the_relaxation_bit_for_bit(seed):
    rng = np.random.default_rng(seed)
    blocked = rng.random((rng.integers(1, 20), rng.integers(1, 20))) < rng.random() * 0.5
    h, w = blocked.shape
    goals = np.stack([rng.integers(0, h, 3), rng.integers(0, w, 3)], axis=1)
    field = geometry.distance_field(blocked, goals)
    assert np.array_equal(field, relaxed_distance_field(blocked, goals))
    assert np.isinf(field[blocked]).all() or not blocked.any()


def test_a_walk_touches_a_square_it_crosses_but_not_one_beside_it_or_behind_it():
    centres = np.array([[50.0, 20.0], [50.0, 40.0], [-50.0, 0.0]])
    hit = geometry.walks_touch_boxes(np.zeros(2), [[100.0, 0.0]], centres[:1], np.array([36.0]))
    assert hit.tolist() == [True]  # 20 units off the line: the boxes overlap
    half = np.full(2, 36.0)
    assert not geometry.walks_touch_boxes(np.zeros(2), [[100.0, 0.0]], centres[1:], half)[0]
    # A walk that starts inside a square only counts when it goes deeper: shrink the square.
    assert not geometry.walks_touch_boxes([40.0, 0.0], [[100.0, 0.0]], centres[:1], [0.0])[0]


def test_walk_paths_from_rest_straight_ahead_follow_the_engine_update():
    from teachers.motion import FORWARD_ACCEL, FRICTION, walk_paths

    offsets, drift = walk_paths((0, 1), (True, False), 0, 4, 2)
    x, v, xs = 0.0, 0.0, []
    for _ in range(12):  # each tic: thrust, move, friction
        v += FORWARD_ACCEL
        x += v
        v *= FRICTION
        xs.append(x)
    assert np.allclose(offsets[0, 0, :, 0], xs) and np.allclose(offsets[0, 0, :, 1], 0.0)
    # A unit start velocity coasts 1, 1 + f, 1 + f + f^2, ...
    assert np.isclose(drift[2], 1 + FRICTION + FRICTION**2)
    # Turning on the spot from rest never moves; a left turn then a walk veers left.
    assert np.allclose(offsets[1, 1], 0.0) and (offsets[1, 0, 4:, 1] > 0).all()


@pytest.mark.parametrize("held", range(6))
def test_standing_turn_plans_land_within_a_few_degrees_of_every_angle_on_screen(held):
    from teachers.motion import turn_planner
    from teachers.shooter import STANDING_PLANNER_DEPTH as DEPTH

    planner = turn_planner(4, DEPTH)
    for err in np.arange(-45.0, 45.25, 0.25):  # the 90-degree field of view
        steps = planner.steps_to_aim(held, float(err), 2.7)
        assert min(steps.values()) < DEPTH, (held, err)


def test_a_degenerate_segment_is_no_crossing_and_raises_no_warning() -> None:
    # a start and end 1e-310 apart: the determinant underflows and t_num / denom overflows;
    # hypothesis found such points once (a RuntimeWarning in CI)
    wall = np.array([[1.0, 1.0, 1.0, 2.0]])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert not geometry.segments_cross([[0.0, 0.0]], [[1e-310, 0.0]], wall)[0]
        assert np.isinf(geometry.first_crossing([[0.0, 0.0]], [[1e-310, 0.0]], wall)[0])
