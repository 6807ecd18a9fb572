"""The player's own dynamics, as measured in ViZDoom 1.3.2, for short-horizon planning.

* Turning: 1.7578125 deg/tic for the first 5 tics a turn button is held, then 3.515625 deg/tic;
  the ramp resets only after a tic with no turn button (either direction keeps it going).
* Walking/strafing: each tic ``v += a``, ``x += v``, ``v *= 0.90625`` (``a`` = 0.75 strafing,
  top speed 8 units/tic), so positions after ``k`` tics have a closed form.
* The pistol fires 4 tics after the press; a press is not taken again until 19 tics later, and
  holding fire at the refire check (tic 14) gives an inaccurate shot.
"""

from __future__ import annotations

import bisect
import functools
import itertools

import numpy as np

SLOW_TURN = 320 / 65536 * 360
FAST_TURN = 2 * SLOW_TURN
SLOW_TURN_TICS = 5
FRICTION = 0.90625
STRAFE_ACCEL = 0.75
FORWARD_ACCEL = 0.78125  # forwardmove 25 / 32
PISTOL_DELAY = 4


def turn_amount(held: int, tics: int) -> float:
    """Degrees turned in ``tics`` tics when the turn had already been held ``held`` tics."""
    slow = max(0, min(tics, SLOW_TURN_TICS - held))
    return slow * SLOW_TURN + (tics - slow) * FAST_TURN


@functools.lru_cache(maxsize=64)
def _turn_amounts(skip: int) -> tuple[float, ...]:
    return tuple(turn_amount(h, skip) for h in range(SLOW_TURN_TICS + 1))


def infer_turn_held(delta: float, previous_held: int, skip: int) -> int:
    """Tics a turn has been held, from the last step's absolute angle change ``delta``."""
    delta = abs(delta)
    if delta < 0.5 * SLOW_TURN:
        return 0
    amounts = _turn_amounts(skip)
    errors = [abs(a - delta) for a in amounts]
    best = errors.index(min(errors))
    # turn_amount saturates at SLOW_TURN_TICS held tics: longer holds turn like the last entry.
    if errors[min(previous_held, SLOW_TURN_TICS)] < 1e-3:
        best = previous_held
    return min(best + skip, SLOW_TURN_TICS + skip)


PLANNER_DEPTH = 5
"""Steps a turn plan looks ahead by default (3**5 sequences per ramp state)."""


class TurnPlanner:
    """All turn sequences up to ``depth`` steps (left, right, none) from every ramp state.

    ``offsets(held)`` gives ``(S, depth)`` cumulative angle changes and the ``(S,)`` first move
    (+1 left, -1 right, 0 none); teachers pick the first move of the quickest sequence that
    brings their aim onto a target. Build one with :func:`turn_planner` (cached per frame skip).
    """

    def __init__(self, skip: int, depth: int = PLANNER_DEPTH) -> None:
        self.skip, self.depth = skip, depth
        moves = np.array(list(itertools.product((0, 1, -1), repeat=depth)), np.int8)
        self.first = moves[:, 0]
        self._tables: dict[int, np.ndarray] = {}
        self._moves = moves
        self._sorted: dict[int, dict[int, tuple[list[list[float]], list[float]]]] = {}

    def offsets(self, held: int) -> np.ndarray:
        """Cumulative angle after each step of each sequence, starting with ``held`` tics held."""
        held = min(held, SLOW_TURN_TICS)
        table = self._tables.get(held)
        if table is None:
            amounts = np.array([turn_amount(h, self.skip) for h in range(SLOW_TURN_TICS + 1)])
            table = np.zeros(self._moves.shape)
            h = np.full(len(self._moves), held)
            total = np.zeros(len(self._moves))
            for k in range(self.depth):
                move = self._moves[:, k]
                total = total + move * amounts[h]
                h = np.where(move != 0, np.minimum(h + self.skip, SLOW_TURN_TICS), 0)
                table[:, k] = total
            self._tables[held] = table
        return table

    def steps_to_aim(self, held: int, err: float, tol: float) -> dict[int, float]:
        """Steps until the aim is within ``tol`` of ``err`` degrees, per first move (-1, 0, 1).

        The first step ``k`` (0-based) at which some sequence starting with that move is on
        target; beyond the horizon, ``depth`` plus the remaining turn at full speed (14 deg per
        step). Bisection in per-move sorted offset tables keeps it a few microseconds.
        """
        held = min(held, SLOW_TURN_TICS)
        tables = self._sorted.get(held)
        if tables is None:
            offsets = self.offsets(held)
            tables = {}
            for move in (-1, 0, 1):
                group = offsets[self.first == move]
                columns = [sorted(set(group[:, k].tolist())) for k in range(self.depth)]
                tables[move] = (columns, columns[-1])
            self._sorted[held] = tables
        lo, hi = err - tol, err + tol
        out = {}
        for move, (columns, last) in tables.items():
            for k, column in enumerate(columns):
                i = bisect.bisect_left(column, lo)
                if i < len(column) and column[i] <= hi:
                    out[move] = float(k)
                    break
            else:
                i = bisect.bisect_left(last, err)
                gap = min(abs(err - last[j]) for j in (i - 1, i) if 0 <= j < len(last))
                out[move] = self.depth + gap / 14.0
        return out


@functools.lru_cache(maxsize=8)
def turn_planner(skip: int, depth: int = PLANNER_DEPTH) -> TurnPlanner:
    """The shared :class:`TurnPlanner` of a frame skip (its tables are built once per process)."""
    return TurnPlanner(skip, depth)


def strafe(x0: np.ndarray, v0: np.ndarray, accel: np.ndarray, tics: np.ndarray):
    """Position and velocity after ``tics`` tics of constant thrust ``accel`` (closed form)."""
    f = FRICTION
    fk = f**tics
    u_star = f * accel / (1.0 - f)
    x = x0 + tics * (accel + u_star) + (v0 - u_star) * (1.0 - fk) / (1.0 - f)
    v = u_star + fk * (v0 - u_star)
    return x, v


class WeaponClock:
    """Tracks when the pistol can fire again from ammo drops (the teacher never sees its sprite)."""

    COOLDOWN = 12
    """Tics after the state that shows a shot before a new press fires cleanly (no refire)."""

    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        self.ammo: float | None = None
        self.ready_tic = -1

    def update(self, tic: int, ammo: float) -> None:
        if self.ammo is not None and ammo < self.ammo:
            self.ready_tic = tic + self.COOLDOWN
        self.ammo = ammo

    def ready(self, tic: int) -> bool:
        """Whether a press in the step that starts at ``tic`` fires a clean shot."""
        return tic >= self.ready_tic and (self.ammo is None or self.ammo != 0)

    def pressed(self, tic: int, skip: int) -> None:
        """Assumes a press in the step that starts at ``tic`` is taken when the pistol is ready:
        the shot shows two states later, so hold off until then."""
        if self.ready(tic):
            self.ready_tic = max(self.ready_tic, tic + skip + 1)


@functools.lru_cache(maxsize=128)
def walk_paths(
    turns: tuple[int, ...], forwards: tuple[bool, ...], held: int, skip: int, steps: int
) -> tuple[np.ndarray, np.ndarray]:
    """Per-tic walks of every (first action, continuation) pair, at yaw 0 from rest (cached).

    The first action is held for ``skip`` tics, then a continuation (any of the same actions)
    for ``steps`` more steps: each tic turns (the ramp of :func:`turn_amount`, kept while either
    turn button is held), thrusts ``FORWARD_ACCEL`` along the new yaw, moves, then applies
    friction. Positions are linear in the start velocity, so a walk from velocity ``v`` at yaw
    ``a`` is ``R(a) @ offsets + v * drift``.

    Args:
        turns: per action +1 (left), -1 (right) or 0.
        forwards: per action whether it walks forward.
        held: tics a turn button has already been held.
        skip: tics per step.
        steps: continuation steps after the first.

    Returns:
        ``(A, A, T, 2)`` offsets after each of the ``T = skip * (1 + steps)`` tics, and the
        ``(T,)`` distance a unit start velocity carries the player.
    """
    n, tics = len(turns), skip * (1 + steps)
    offsets = np.zeros((n, n, tics, 2))
    for a in range(n):
        for c in range(n):
            h, yaw, x, y, vx, vy = min(held, SLOW_TURN_TICS), 0.0, 0.0, 0.0, 0.0, 0.0
            for t in range(tics):
                k = a if t < skip else c
                if turns[k]:
                    yaw += turns[k] * (SLOW_TURN if h < SLOW_TURN_TICS else FAST_TURN)
                    h += 1
                else:
                    h = 0
                if forwards[k]:
                    rad = np.radians(yaw)
                    vx += FORWARD_ACCEL * float(np.cos(rad))
                    vy += FORWARD_ACCEL * float(np.sin(rad))
                x, y = x + vx, y + vy
                vx, vy = vx * FRICTION, vy * FRICTION
                offsets[a, c, t] = x, y
    drift = np.cumsum(FRICTION ** np.arange(tics))
    for table in (offsets, drift):
        table.flags.writeable = False
    return offsets, drift
