"""Shooting teachers: turret scenarios (defend_the_center, defend_the_line) and basic.

Scores are in the scenario's reward units where that is natural: ``-(steps until the next kill)``
plus penalties for wasted bullets, so near-equivalent actions get near-equal scores.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np

from core.errors import UserError
from envs.engine_state import Category, EngineState
from envs.registry import ScenarioSpec
from teachers import geometry
from teachers.base import Teacher
from teachers.motion import (
    FRICTION,
    PLANNER_DEPTH,
    STRAFE_ACCEL,
    WeaponClock,
    strafe,
    turn_amount,
    turn_planner,
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
IMITABLE_DISTANCE_WEIGHT = 0.0
"""Imitable mode: weight of distance (1 in omniscient mode) against aim error when choosing the
target. 0: the visible enemy nearest the crosshair, a choice the screen alone determines, which a
pixel student predicts better; it also scored 23.90 vs 23.60 (distance weight 1) on
defend_the_center seeds 0..19."""


_ENEMY = int(Category.ENEMY)
_STATIC: dict[str, tuple[float, float]] = {}


def _radius_urgency(name: str) -> tuple[float, float]:
    """Hit-box radius and urgency weight of an enemy class (ranged ones count 3x closer)."""
    out = _STATIC.get(name)
    if out is None:
        out = _STATIC[name] = (RADIUS.get(name, DEFAULT_RADIUS), 0.3 if name in RANGED else 1.0)
    return out


class _Tracker:
    """Per-episode memory of enemies: last positions (for velocity) and last sightings.

    Plain Python tuples: a scenario has a handful of enemies, where NumPy's per-call overhead
    would cost more than the arithmetic.
    """

    def __init__(self) -> None:
        self.last: dict[int, tuple[float, float, int]] = {}
        self.velocity: dict[int, tuple[float, float]] = {}
        self.seen: dict[int, tuple[float, float, int, float, float]] = {}

    def update(self, tic: int, enemies: list[tuple[int, float, float, bool, str]]) -> None:
        """Records ``(id, x, y, visible, name)`` of every listed enemy at ``tic``."""
        last, velocity, seen = self.last, self.velocity, self.seen
        new_last = {}
        for oid, x, y, visible, name in enemies:
            prev = last.get(oid)
            if prev is not None and tic > prev[2]:
                dt = tic - prev[2]
                vx, vy = (x - prev[0]) / dt, (y - prev[1]) / dt
                old = velocity.get(oid)
                velocity[oid] = (
                    (vx, vy) if old is None else (0.5 * (vx + old[0]), 0.5 * (vy + old[1]))
                )
            new_last[oid] = (x, y, tic)
            if visible:
                seen[oid] = (x, y, tic, *_radius_urgency(name))
        self.last = new_last
        if seen:
            self.seen = {
                k: s
                for k, s in seen.items()
                if tic - s[2] <= MEMORY_TICS and (k in new_last or tic == s[2])
            }


def _enemies(state: EngineState) -> list[tuple[int, float, float, bool, str]]:
    """``(id, x, y, visible, name)`` of every enemy listed in the state (plain Python)."""
    objects = state.objects
    rows = [i for i, c in enumerate(objects.category.tolist()) if c == _ENEMY]
    if not rows:
        return []
    ids, pos, vis, names = objects.id, objects.position, objects.visible, objects.name
    return [(int(ids[i]), float(pos[i, 0]), float(pos[i, 1]), bool(vis[i]), names[i]) for i in rows]


SURE_HIT_BOX = 0.8
"""The teacher fires only where the ray passes within this share of an enemy's hit-box half
width: a margin for the lead it predicts and the pixel it cannot resolve."""


def _ray_box(
    ox: float, oy: float, angle: float, targets: list, box_scale: float = SURE_HIT_BOX
) -> float:
    """Distance along a ray to the nearest square hit box ``(x, y, half, ...)``, each half width
    scaled by ``box_scale``; inf: none."""
    rad = math.radians(angle)
    dx, dy = math.cos(rad), math.sin(rad)
    if abs(dx) < 1e-9:
        dx = 1e-9
    if abs(dy) < 1e-9:
        dy = 1e-9
    best = math.inf
    for t in targets:
        h = t[2] * box_scale
        rx, ry = t[0] - ox, t[1] - oy
        a1, a2 = (rx - h) / dx, (rx + h) / dx
        b1, b2 = (ry - h) / dy, (ry + h) / dy
        near = max(min(a1, a2), min(b1, b2))
        far = min(max(a1, a2), max(b1, b2))
        if far >= near and far > 0.0:
            near = max(near, 0.0)
            if near < best:
                best = near
    return best


STANDING_PLANNER_DEPTH = 7
"""Turn-plan depth of a teacher that fires only standing. At frame skip 4 one step turns 7.0,
12.3 or 14.1 degrees, so exact landings need stops and reversals (left then right nets -5.3,
left-stop-left 14.1). Within 5 steps the reachable yaws leave 7-degree gaps (nothing lands
between 26.4 and 33.4 degrees out), and a teacher that may not fire during a turn stood still
before an enemy there until it was shot: 22.25 on defend_the_center seeds 0..19, against 24.45
with 7 steps, whose gaps on screen (within 45 degrees, any ramp state) are at most 5.3 degrees.
A teacher with turning shots fires as a turn sweeps across the enemy and keeps the default
depth, 5 (with 7 its omniscient mode scored a kill less: ``docs/teachers.md``)."""

TURN_NOW_BONUS = 0.01
"""Standing teachers: how much a turn that reaches the aim as soon as waiting would is preferred
to waiting (a tie-break: well below a step's cost). Their imitable scores rose from 24.45 / 24.40
to 24.60 / 24.65 on defend_the_center seeds 0..19 / 100..119, and their students learn faster
(``docs/agents.md``)."""

SHOT_DELAY_TICS = 4
"""Tics from a clean press of the pistol to its bullet (the first frame of its fire animation
lasts 4 tics); the bullet flies along the yaw of that tic. A teacher that fires only standing
keeps still until then. At frame skip 4 the next step starts that late anyway; at frame skip 2
the step after the press would turn the shot off its target: its imitable teacher scored 22.70
on defend_the_center seeds 0..19 without this, 24.95 with it (24.60 at frame skip 4)."""


HURT_RANGE = 160.0
"""Imitable mode with ``hurt_turn_tics``: how close (map units, centre to centre) an enemy out
of view must be to count as the one that hurt the player. A demon bites from about 90 units."""


class ShooterTeacher(Teacher):
    """Turns to the most urgent enemy with planned turn sequences and fires only on a sure hit.

    The firing ray (the player's yaw 4 tics after the press) is tested against every enemy's
    hit box, walls in between included; the pistol is pressed only when it is ready, so no shot
    is an inaccurate refire. The per-step work is plain Python over the few enemies (NumPy only
    for the wall ray casts, cached per map, position and yaw).
    """

    def __init__(
        self,
        spec: ScenarioSpec,
        mode: str = "omniscient",
        turning_shots: bool = True,
        hurt_turn_tics: int = 0,
    ) -> None:
        super().__init__(spec, mode)
        self.turning_shots = turning_shots
        """Whether it may fire while turning (the shot flies along the yaw the turn ends at).
        Without, it fires only standing: a little slower, but a shot's timing then depends on
        where the enemy is now, not on how far the turn will carry the view, which a pixel
        student copies much more reliably (``docs/agents.md``)."""
        if hurt_turn_tics < 0:
            raise UserError(f"hurt_turn_tics must be >= 0 (0: off), got {hurt_turn_tics}")
        self.hurt_turn_tics = int(hurt_turn_tics)
        """Imitable mode: for this many tics after the player lost health, an enemy out of view
        within :data:`HURT_RANGE` (the one biting, which the screen does not show) is the
        target, unless an enemy that close is on screen. A student sees the hurt only where
        the screen flashes are rendered (``EnvConfig.screen_flashes``: the red flash washes out
        its grey frames), never the biter: the label turns toward it. 0: off (the imitable
        teacher only acts on what the screen shows)."""
        names = self.action_names
        self._turn = np.array(
            [1 if "TURN_LEFT" in n else -1 if "TURN_RIGHT" in n else 0 for n in names]
        )
        self._attack = np.array(["ATTACK" in n for n in names])
        self._turn_list = [int(t) for t in self._turn]
        self._attack_list = [bool(a) for a in self._attack]
        self.reset()

    TRACKS_TURN = True

    def reset(self) -> None:
        super().reset()
        self._weapon = WeaponClock()
        self._tracker = _Tracker()
        self._scan = 1
        self._stand_until = -1
        self._health: float | None = None
        self._hurt_tic = -(10**9)

    # ------------------------------------------------------------------ memory
    def _targets(self, state: EngineState) -> list[tuple[float, float, float, float]]:
        """``(x, y, radius, urgency)`` of the usable enemies, predicted at shot time."""
        tracker = self._tracker
        tic = state.tic
        enemies = _enemies(state)
        tracker.update(tic, enemies)
        lead = self._skip + 1
        velocity = tracker.velocity
        zero = (0.0, 0.0)
        out = []
        if self.omniscient:
            for oid, x, y, _, name in enemies:
                vx, vy = velocity.get(oid, zero)
                out.append((x + lead * vx, y + lead * vy, *_radius_urgency(name)))
            return out
        if self.hurt_turn_tics and tic - self._hurt_tic <= self.hurt_turn_tics:
            biter = self._biter(state, enemies)
            if biter is not None:
                return [biter]
        # Imitable: what is on screen now comes first, so the choice is a function of the
        # frames; only with nothing in view does the teacher turn toward a remembered enemy
        # (one that just left the screen, which the stacked frames still show).
        remembered = []
        for oid, (x, y, seen_tic, r, u) in tracker.seen.items():
            if seen_tic == tic:
                vx, vy = velocity.get(oid, zero)
                out.append((x + lead * vx, y + lead * vy, r, u))
            else:
                remembered.append((x, y, r, u))
        return out or remembered

    def _biter(
        self, state: EngineState, enemies: list[tuple[int, float, float, bool, str]]
    ) -> tuple[float, float, float, float] | None:
        """The nearest enemy within :data:`HURT_RANGE` as a target, if it is out of view and no
        enemy that close is on screen; else ``None``."""
        ox, oy = float(state.player.position[0]), float(state.player.position[1])
        best, nearest = HURT_RANGE, None
        for _, x, y, visible, name in enemies:
            dist = math.hypot(x - ox, y - oy)
            if dist <= HURT_RANGE and visible:
                return None
            if dist < best:
                best, nearest = dist, (x, y, *_radius_urgency(name))
        return nearest

    def standing_shot_hits(self, state: EngineState, box_scale: float = 1.0) -> bool:
        """Whether a shot fired standing in ``state`` would hit an enemy: the ray along the
        player's yaw, walls in between included, against every enemy listed in the state (seen
        or not) at its position when the bullet leaves, each hit box's half width scaled by
        ``box_scale`` (1: the whole box; the teacher fires within :data:`SURE_HIT_BOX`).

        Call it after :meth:`action_scores` on the same state: the enemies' velocities are
        those tracked up to it.
        """
        lead = self._skip + 1
        velocity = self._tracker.velocity
        targets = []
        for oid, x, y, _, name in _enemies(state):
            vx, vy = velocity.get(oid, (0.0, 0.0))
            targets.append((x + lead * vx, y + lead * vy, *_radius_urgency(name)))
        ox, oy = float(state.player.position[0]), float(state.player.position[1])
        angle = float(state.player.angle)
        box = _ray_box(ox, oy, angle, targets, box_scale)
        if box == math.inf:
            return False
        return box < geometry.map_cache(state.walls).sight_distances(ox, oy, [angle])[0]

    # ------------------------------------------------------------------ scoring
    def _decide(self, state: EngineState) -> np.ndarray:
        self._weapon.update(state.tic, state.player.ammo)
        health = float(state.player.health)
        if self._health is not None and health < self._health:
            self._hurt_tic = state.tic
        self._health = health
        return self._score(state)

    def _took(self, state: EngineState, action: int) -> None:
        if self._attack_list[action]:
            if self._weapon.ready(state.tic):
                self._stand_until = state.tic + SHOT_DELAY_TICS
            self._weapon.pressed(state.tic, self._skip)

    def _score(self, state: EngineState) -> np.ndarray:
        return self._fight(state, self._targets(state))

    def _hold_shot(self, state: EngineState, scores: np.ndarray) -> np.ndarray:
        """A standing teacher's scores while a pressed shot has not left yet: turning now would
        spoil it, so it costs a wasted bullet (see :data:`SHOT_DELAY_TICS`)."""
        if self.turning_shots or state.tic >= self._stand_until:
            return scores
        return scores - 5.0 * np.abs(self._turn)

    def _fight(self, state: EngineState, targets: list) -> np.ndarray:
        """Shooter scores against ``targets`` (see :meth:`_targets`)."""
        player = state.player
        ready = self._weapon.ready(state.tic)
        turn, attack = self._turn_list, self._attack_list
        if not targets:
            # Nothing known: scan (imitable mode) in a steady direction; never fire.
            scan = np.array(
                [
                    (1.0 if t == self._scan else 0.0) - (1.05 if a else 0.0)
                    for t, a in zip(turn, attack, strict=True)
                ]
            )
            return self._hold_shot(state, scan)
        ox, oy = float(player.position[0]), float(player.position[1])
        angle = player.angle
        step_turn = turn_amount(self._held, self._skip)
        # Urgency: close enemies first, and those already near the aim (imitable: nearest the aim).
        best_key, target, target_err, target_dist = math.inf, None, 0.0, 1.0
        dist_weight = 1.0 if self.omniscient else IMITABLE_DISTANCE_WEIGHT
        for t in targets:
            rx, ry = t[0] - ox, t[1] - oy
            dist = math.hypot(rx, ry)
            err = (math.degrees(math.atan2(ry, rx)) - angle + 180.0) % 360.0 - 180.0
            key = t[3] * dist * dist_weight + 4.0 * abs(err)
            if key < best_key:
                best_key, target, target_err, target_dist = key, t, err, dist
        tol = math.degrees(math.atan2(target[2] * 0.7, max(target_dist, 1.0)))
        steps = self._steps_to_aim(target_err, tol)  # per first turn move {-1, 0, 1}
        if not self.turning_shots and steps[0] > 0:
            # Not on target yet, and turning now is as quick as waiting first (after a turn, a
            # stop resets the ramp and can tie): turn now. "Enemy off the crosshair: turn toward
            # it" is what a pixel student copies; stop-and-go ties are a coin it cannot see.
            steps = {m: v - TURN_NOW_BONUS if m and v <= steps[0] else v for m, v in steps.items()}
        hits = {-1: False, 0: False, 1: False}
        if ready and any(attack):
            # Hits of a shot fired this step, per distinct end yaw (right, none, left).
            moves = sorted(set(turn[a] for a in range(self.num_actions) if attack[a]))
            if not self.turning_shots:
                moves = [m for m in moves if m == 0]
            yaws = [angle + m * step_turn for m in moves]
            boxes = [_ray_box(ox, oy, yaw, targets) for yaw in yaws]
            geo = geometry.map_cache(state.walls)
            need = [i for i, b in enumerate(boxes) if b < math.inf]
            if need:
                walls = geo.sight_distances(ox, oy, [yaws[i] for i in need])
                for i, wall in zip(need, walls, strict=True):
                    hits[moves[i]] = boxes[i] < wall
        scores = []
        for t, a in zip(turn, attack, strict=True):
            s = -steps[t]
            if a:
                if ready and hits[t]:
                    s = 10.0  # a kill now
                elif ready:
                    s -= 5.0  # a wasted bullet (and a 19-tic cooldown)
                else:
                    s -= 0.05  # pressing fire when the pistol is busy does nothing
            scores.append(s)
        return self._hold_shot(state, np.array(scores))

    def _steps_to_aim(self, err: float, tol: float) -> dict[int, float]:
        """Steps until the yaw is within ``tol`` of ``err``, per first move (+1 left, -1 right)."""
        depth = PLANNER_DEPTH if self.turning_shots else STANDING_PLANNER_DEPTH
        return turn_planner(self._skip, depth).steps_to_aim(self._held, err, tol)


class _StrafeTables(NamedTuple):
    """:class:`BasicTeacher`'s per-frame-skip tables. The strafe model is linear in position,
    velocity and thrust, so each quantity is ``y + v * (per-velocity) + thrust * (per-thrust)``."""

    y_per_v: float
    """This step: end position per unit of starting velocity."""
    y_thrust: np.ndarray
    """This step: end position of each action from rest ``(A,)``."""
    v_per_v: float
    """This step: end velocity per unit of starting velocity."""
    v_thrust: np.ndarray
    """This step: end velocity of each action from rest ``(A,)``."""
    land_per_v: np.ndarray
    """Each (thrust k, glide m) plan, by length: landing offset per unit of velocity ``(P,)``."""
    land_per_thrust: np.ndarray
    """Each plan: landing offset per unit of thrust direction ``(P,)``."""
    tics: np.ndarray
    """Each plan's length in tics, then the fallback (no plan in reach: 32 steps) ``(P + 1,)``."""
    penalty: np.ndarray
    """Each action's cost beyond the plan when the pistol is ready: the step, plus a bullet (5)
    for a firing action that misses ``(A,)``."""
    after_miss: np.ndarray
    """``(A, P)``: plans that can land after the action: a missed shot waits out the 19-tic
    cooldown."""


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
        self._tables: dict[int, _StrafeTables] = {}
        self.reset()

    def reset(self) -> None:
        super().reset()
        self._weapon = WeaponClock()
        self._target: float | None = None

    def _decide(self, state: EngineState) -> np.ndarray:
        self._weapon.update(state.tic, state.player.ammo)
        objects = state.objects
        mask = objects.category == _ENEMY
        if not self.omniscient:
            mask &= objects.visible
        if mask.any():
            self._target = float(objects.position[mask, 1][0])
        return self._score(state)

    def _took(self, state: EngineState, action: int) -> None:
        if self._attack[action]:
            self._weapon.pressed(state.tic, self._skip)

    def _score(self, state: EngineState) -> np.ndarray:
        skip = self._skip
        y, vy = float(state.player.position[1]), float(state.player.velocity[1])
        if self._target is None:  # nothing seen yet (imitable): hold still and look
            return np.where(self._attack, -5.0, 0.0) - np.abs(self._dir)
        ty = self._target
        # All actions at once: where each ends this step, then the quickest kill from there.
        table = self._table(skip)
        y1 = (y + vy * table.y_per_v) + table.y_thrust
        v1 = vy * table.v_per_v + table.v_thrust
        ready = self._weapon.ready(state.tic)
        off = np.abs(y1 - ty)
        # Ties (same step count) go to the action that ends closer to the line of fire.
        cost = self._tics_to_kill(table, y1, v1, ty, ready)
        cost += 1e-3 * off
        if not ready:  # pressing fire does nothing
            cost += skip
            return -cost
        # A shot that misses costs a bullet (5) and the cooldown; one that lands ends the plan.
        cost += table.penalty
        scores = -cost
        scores[self._attack & (off < self.HIT_TOLERANCE)] = -float(skip)
        return scores

    def _table(self, skip: int) -> _StrafeTables:
        """The tables of a frame skip, built on first use."""
        table = self._tables.get(skip)
        if table is None:
            y_per_v, v_per_v = strafe(0.0, 1.0, 0.0, skip)
            y_thrust, v_thrust = strafe(0.0, 0.0, self._dir * STRAFE_ACCEL, skip)
            # Plans (thrust k steps, glide m, fire), shortest first.
            k, m = self._k.ravel(), self._m.ravel()
            steps = k + m + 1
            order = np.argsort(steps, kind="stable")
            k, m, steps = k[order], m[order], steps[order]

            def land(v0: float, thrust: float) -> np.ndarray:
                y1, v1 = strafe(0.0, v0, thrust * STRAFE_ACCEL, k * skip)
                return strafe(y1, v1, 0.0, (m + 1) * skip)[0]  # glide, then the firing step

            tics = np.append(steps * skip, 16.0 * 2 * skip)
            table = self._tables[skip] = _StrafeTables(
                y_per_v=y_per_v,
                y_thrust=y_thrust,
                v_per_v=v_per_v,
                v_thrust=v_thrust,
                land_per_v=land(1.0, 0.0),
                land_per_thrust=land(0.0, 1.0),
                tics=tics,
                penalty=np.where(self._attack, skip + 5.0, float(skip)),
                after_miss=~self._attack[:, None] | (tics[None, :-1] >= 19.0),
            )
        return table

    def _tics_to_kill(
        self, table: _StrafeTables, y: np.ndarray, v: np.ndarray, ty: float, ready: bool
    ) -> np.ndarray:
        """Tics from each ``(y, v)`` until a shot lands: thrust ``k`` steps, glide ``m``, fire.

        A firing action that misses (the pistol ``ready``) waits out the cooldown first; with no
        plan in reach the answer is 32 steps.
        """
        direction = np.where(ty > y + v / (1 - FRICTION), 1.0, -1.0)
        offset = v[:, None] * table.land_per_v
        offset += (y - ty)[:, None]
        offset += direction[:, None] * table.land_per_thrust
        tics = table.tics
        ok = np.ones((len(y), len(tics)), bool)  # the last column: the fallback, always "ok"
        np.less(np.abs(offset, out=offset), self.HIT_TOLERANCE, out=ok[:, :-1])
        if ready:
            ok[:, :-1] &= table.after_miss
        return tics[ok.argmax(axis=1)]
