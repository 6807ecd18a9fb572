"""Shooting teachers: turret scenarios (defend_the_center, defend_the_line) and basic.

Scores are in the scenario's reward units where that is natural: ``-(steps until the next kill)``
plus penalties for wasted bullets, so near-equivalent actions get near-equal scores.
"""

from __future__ import annotations

import math

import numpy as np

from envs.engine_state import Category, EngineState
from envs.registry import ScenarioSpec
from teachers import geometry
from teachers.base import Teacher
from teachers.motion import (
    FRICTION,
    STRAFE_ACCEL,
    TurnPlanner,
    WeaponClock,
    infer_turn_held,
    strafe,
    turn_amount,
)

RADIUS = {
    "Demon": 30.0,
    "Spectre": 30.0,
    "Cacodemon": 31.0,
    "LostSoul": 16.0,
    "HellKnight": 24.0,
    "BaronOfHell": 24.0,
    "MarineChainsawVzd": 16.0,
}
"""Actor radii (hit boxes are squares of side 2 x radius); others default to 20."""
DEFAULT_RADIUS = 20.0
RANGED = frozenset(
    {
        "Zombieman",
        "ShotgunGuy",
        "ChaingunGuy",
        "WolfensteinSS",
        "DoomImp",
        "Cacodemon",
        "HellKnight",
        "BaronOfHell",
        "Arachnotron",
        "Revenant",
        "Fatso",
        "Archvile",
        "Cyberdemon",
        "SpiderMastermind",
        "PainElemental",
    }
)
"""Enemies that hurt from afar: they come first whatever their distance."""
MEMORY_TICS = 35
"""Imitable mode: how long an enemy seen on screen is remembered at its last position."""


class _Tracker:
    """Per-episode memory of enemies: last positions (for velocity) and last sightings."""

    def __init__(self) -> None:
        self.last: dict[int, tuple[np.ndarray, int]] = {}
        self.velocity: dict[int, np.ndarray] = {}
        self.seen: dict[int, tuple[np.ndarray, int, float, float]] = {}

    def update(
        self,
        tic: int,
        ids: np.ndarray,
        pos: np.ndarray,
        visible: np.ndarray,
        radius: np.ndarray,
        urgency: np.ndarray,
    ) -> None:
        last, velocity = self.last, self.velocity
        new_last = {}
        for i, oid in enumerate(ids.tolist()):
            p = pos[i]
            prev = last.get(oid)
            if prev is not None and tic > prev[1]:
                v = (p - prev[0]) / (tic - prev[1])
                old = velocity.get(oid)
                velocity[oid] = v if old is None else 0.5 * (v + old)
            new_last[oid] = (p, tic)
            if visible[i]:
                self.seen[oid] = (p, tic, radius[i], urgency[i])
        self.last = new_last
        self.seen = {
            k: s
            for k, s in self.seen.items()
            if tic - s[1] <= MEMORY_TICS and (k in new_last or tic == s[1])
        }


class ShooterTeacher(Teacher):
    """Turns to the most urgent enemy with planned turn sequences and fires only on a sure hit.

    The firing ray (the player's yaw 4 tics after the press) is tested against every enemy's
    hit box, walls in between included; the pistol is pressed only when it is ready, so no shot
    is an inaccurate refire.
    """

    def __init__(self, spec: ScenarioSpec, mode: str = "omniscient") -> None:
        super().__init__(spec, mode)
        names = self.action_names
        self._turn = np.array(
            [1 if "TURN_LEFT" in n else -1 if "TURN_RIGHT" in n else 0 for n in names]
        )
        self._attack = np.array(["ATTACK" in n for n in names])
        self._planners: dict[int, TurnPlanner] = {}
        self.reset()

    def reset(self) -> None:
        self._tic = -1
        self._skip = 4
        self._angle: float | None = None
        self._held = 0
        self._weapon = WeaponClock()
        self._tracker = _Tracker()
        self._scores = np.zeros(self.num_actions)
        self._scan = 1

    # ------------------------------------------------------------------ memory
    def _observe(self, state: EngineState) -> None:
        player = state.player
        if self._angle is not None and 0 < state.tic - self._tic <= 16:
            self._skip = state.tic - self._tic
            delta = geometry.wrap_degrees(player.angle - self._angle)
            self._held = infer_turn_held(delta, self._held, self._skip)
        self._angle, self._tic = player.angle, state.tic
        self._weapon.update(state.tic, player.ammo)

    def _targets(self, state: EngineState) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Predicted positions at shot time, radii and urgency weights of the usable enemies."""
        objects = state.objects
        mask = objects.category == Category.ENEMY
        ids = objects.id[mask]
        pos = objects.position[mask, :2].astype(np.float64)
        names = [n for n, m in zip(objects.name, mask, strict=True) if m]
        radius = np.array([RADIUS.get(n, DEFAULT_RADIUS) for n in names])
        # Ranged attackers count as three times closer than they are.
        urgency = np.array([0.3 if n in RANGED else 1.0 for n in names])
        tracker = self._tracker
        tracker.update(state.tic, ids, pos, objects.visible[mask], radius, urgency)
        lead = self._skip + 1
        if self.omniscient:
            vel = np.array([tracker.velocity.get(i, np.zeros(2)) for i in ids.tolist()])
            if len(vel):
                pos = pos + lead * vel
            return pos, radius, urgency
        seen = tracker.seen
        if not seen:
            return np.zeros((0, 2)), np.zeros(0), np.zeros(0)
        keys = list(seen)
        pos = np.array([seen[k][0] for k in keys])
        vel = np.array(
            [
                tracker.velocity.get(k, np.zeros(2)) if seen[k][1] == state.tic else np.zeros(2)
                for k in keys
            ]
        )
        return (
            pos + lead * vel,
            np.array([seen[k][2] for k in keys]),
            np.array([seen[k][3] for k in keys]),
        )

    # ------------------------------------------------------------------ scoring
    def action_scores(self, state: EngineState) -> np.ndarray:
        if state.tic == self._tic:
            return self._scores.copy()
        self._observe(state)
        scores = self._score(state)
        self._scores = scores
        best = int(np.argmax(scores))
        if self._attack[best] and self._weapon.ready(state.tic):
            # Assume the press is taken: the shot shows two states later; until then, hold off.
            self._weapon.ready_tic = max(self._weapon.ready_tic, state.tic + self._skip + 1)
        return scores.copy()

    def _score(self, state: EngineState) -> np.ndarray:
        player = state.player
        origin = player.position[:2].astype(np.float64)
        pos, radius, urgency = self._targets(state)
        ready = self._weapon.ready(state.tic)
        turn, attack = self._turn, self._attack
        skip = self._skip
        step_turn = turn_amount(self._held, skip)
        # Pressing fire when the pistol is busy does nothing: a hair below the same turn.
        busy_penalty = np.where(attack, 0.05, 0.0)
        if len(pos) == 0:
            # Nothing known: scan (imitable mode) in a steady direction.
            return (
                np.where(turn == self._scan, 1.0, 0.0) - busy_penalty - np.where(attack, 1.0, 0.0)
            )
        rel = pos - origin
        dist = np.hypot(rel[:, 0], rel[:, 1])
        bearings = np.degrees(np.arctan2(rel[:, 1], rel[:, 0]))
        err = geometry.wrap_degrees(bearings - player.angle)
        # Hits of a shot fired this step, per distinct end yaw (left, none, right).
        hits = {}
        geo = geometry.map_cache(state.walls)
        for t in (-1, 0, 1):
            ang = player.angle + t * step_turn
            box = geometry.ray_box_distance(origin, ang, pos, radius * 0.8)
            nearest = box.min()
            if np.isfinite(nearest) and len(geo.sight):
                wall = geometry.ray_distance(origin, ang, geo.sight)[0]
                hits[t] = nearest < wall
            else:
                hits[t] = bool(np.isfinite(nearest))
        # Urgency: close enemies first, and those already near the aim.
        target = int(np.argmin(urgency * dist + 4.0 * np.abs(err)))
        tol = math.degrees(math.atan2(radius[target] * 0.7, max(dist[target], 1.0)))
        steps = self._steps_to_aim(err[target], tol)  # per first turn move {-1, 0, 1}
        scores = np.empty(self.num_actions)
        for a in range(self.num_actions):
            t = int(turn[a])
            s = -float(steps[t])
            if attack[a]:
                if ready and hits[t]:
                    s = 10.0  # a kill now
                elif ready:
                    s -= 5.0  # a wasted bullet (and a 19-tic cooldown)
                else:
                    s -= busy_penalty[a]
            scores[a] = s
        return scores

    def _steps_to_aim(self, err: float, tol: float) -> dict[int, float]:
        """Steps until the yaw is within ``tol`` of ``err``, per first move (+1 left, -1 right)."""
        planner = self._planners.get(self._skip)
        if planner is None:
            planner = self._planners[self._skip] = TurnPlanner(self._skip)
        offsets = planner.offsets(self._held)
        on = np.abs(offsets - err) <= tol
        depth = offsets.shape[1]
        # Step index of first aim (1-based); beyond the horizon: the remaining turn at full speed.
        first = np.where(
            on.any(axis=1), on.argmax(axis=1) + 1.0, depth + 1 + np.abs(err - offsets[:, -1]) / 14.0
        )
        out = {}
        for move in (-1, 0, 1):
            sel = planner.first == move
            out[move] = float(first[sel].min()) - 1.0
        return out


class BasicTeacher(Teacher):
    """basic: strafe to line up with the monster (closed-form strafing model) and fire once.

    The score of an action is minus the tics until the kill when continuing optimally (thrust,
    glide, fire), minus 5 for a missed shot: the scenario's own reward units.
    """

    HIT_TOLERANCE = 30.0
    """Lateral offset (map units) within which a shot surely hits (the cacodemon's radius is 31)."""

    def __init__(self, spec: ScenarioSpec, mode: str = "omniscient") -> None:
        super().__init__(spec, mode)
        names = self.action_names
        self._dir = np.array(
            [1.0 if n == "MOVE_LEFT" else -1.0 if n == "MOVE_RIGHT" else 0.0 for n in names]
        )
        self._attack = np.array(["ATTACK" in n for n in names])
        ks = np.arange(16.0)
        self._k, self._m = np.meshgrid(ks, ks, indexing="ij")  # thrust steps, glide steps
        self.reset()

    def reset(self) -> None:
        self._tic = -1
        self._skip = 4
        self._weapon = WeaponClock()
        self._target: float | None = None
        self._scores = np.zeros(self.num_actions)

    def action_scores(self, state: EngineState) -> np.ndarray:
        if state.tic == self._tic:
            return self._scores.copy()
        if self._tic >= 0 and 0 < state.tic - self._tic <= 16:
            self._skip = state.tic - self._tic
        self._tic = state.tic
        self._weapon.update(state.tic, state.player.ammo)
        objects = state.objects
        mask = objects.category == Category.ENEMY
        if not self.omniscient:
            mask &= objects.visible
        if mask.any():
            self._target = float(objects.position[mask, 1][0])
        scores = self._score(state)
        self._scores = scores
        best = int(np.argmax(scores))
        if self._attack[best] and self._weapon.ready(state.tic):
            self._weapon.ready_tic = max(self._weapon.ready_tic, state.tic + self._skip + 1)
        return scores.copy()

    def _score(self, state: EngineState) -> np.ndarray:
        skip = self._skip
        y, vy = float(state.player.position[1]), float(state.player.velocity[1])
        if self._target is None:  # nothing seen yet (imitable): hold still and look
            return np.where(self._attack, -5.0, 0.0) - np.abs(self._dir)
        ty = self._target
        ready = self._weapon.ready(state.tic)
        scores = np.empty(self.num_actions)
        for a in range(self.num_actions):
            accel = self._dir[a] * STRAFE_ACCEL
            y1, v1 = strafe(y, vy, accel, skip)
            if self._attack[a] and ready:
                if abs(y1 - ty) < self.HIT_TOLERANCE:
                    scores[a] = -float(skip)
                    continue
                penalty, wait = 5.0, 19
            else:
                penalty, wait = 0.0, 0
            # Ties (same step count) go to the action that ends closer to the line of fire.
            scores[a] = (
                -float(skip) - penalty - self._tics_to_kill(y1, v1, ty, wait) - 1e-3 * abs(y1 - ty)
            )
        return scores

    def _tics_to_kill(self, y: float, v: float, ty: float, wait: int) -> float:
        """Tics from ``(y, v)`` until a shot lands: thrust ``k`` steps, glide ``m``, then fire."""
        skip = self._skip
        direction = 1.0 if ty > y + v / (1 - FRICTION) else -1.0
        k, m = self._k, self._m
        y1, v1 = strafe(y, v, direction * STRAFE_ACCEL, k * skip)
        y2, _ = strafe(y1, v1, 0.0, (m + 1) * skip)  # glide, then the firing step itself
        steps = k + m + 1
        ok = (np.abs(y2 - ty) < self.HIT_TOLERANCE) & (steps * skip >= wait)
        if not ok.any():
            return 16.0 * 2 * skip
        return float(steps[ok].min()) * skip
