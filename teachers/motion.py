"""The player's own dynamics, as measured in ViZDoom 1.3.2, for short-horizon planning.

* Turning: 1.7578125 deg/tic for the first 5 tics a turn button is held, then 3.515625 deg/tic;
  the ramp resets only after a tic with no turn button (either direction keeps it going).
* Walking/strafing: each tic ``v += a``, ``x += v``, ``v *= 0.90625`` (``a`` = 0.75 strafing,
  top speed 8 units/tic), so positions after ``k`` tics have a closed form.
* The pistol fires 4 tics after the press; a press is not taken again until 19 tics later, and
  holding fire at the refire check (tic 14) gives an inaccurate shot.
"""

from __future__ import annotations

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


def infer_turn_held(delta: float, previous_held: int, skip: int) -> int:
    """Tics a turn has been held, from the last step's absolute angle change ``delta``."""
    if abs(delta) < 0.5 * SLOW_TURN:
        return 0
    candidates = range(SLOW_TURN_TICS + 1)
    best = min(candidates, key=lambda h: abs(turn_amount(h, skip) - abs(delta)))
    if abs(turn_amount(previous_held, skip) - abs(delta)) < 1e-3:
        best = previous_held
    return min(best + skip, SLOW_TURN_TICS + skip)


class TurnPlanner:
    """All turn sequences up to ``depth`` steps (left, right, none) from every ramp state.

    ``offsets(held)`` gives ``(S, depth)`` cumulative angle changes and the ``(S,)`` first move
    (+1 left, -1 right, 0 none); teachers pick the first move of the quickest sequence that
    brings their aim onto a target.
    """

    def __init__(self, skip: int, depth: int = 5) -> None:
        self.skip, self.depth = skip, depth
        moves = np.array(list(itertools.product((0, 1, -1), repeat=depth)), np.int8)
        self.first = moves[:, 0]
        self._tables: dict[int, np.ndarray] = {}
        self._moves = moves

    def offsets(self, held: int) -> np.ndarray:
        """Cumulative angle after each step of each sequence, starting with ``held`` tics held."""
        held = min(held, SLOW_TURN_TICS)
        table = self._tables.get(held)
        if table is None:
            table = np.zeros(self._moves.shape)
            for s, seq in enumerate(self._moves):
                h, total = held, 0.0
                for k, move in enumerate(seq):
                    if move:
                        total += move * turn_amount(h, self.skip)
                        h = min(h + self.skip, SLOW_TURN_TICS)
                    else:
                        h = 0
                    table[s, k] = total
            self._tables[held] = table
        return table


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
