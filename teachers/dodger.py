"""take_cover: strafe out of the way of fireballs, predicted on straight tracks.

Each action is scored by the safest continuation (stand, strafe left, strafe right) over a short
horizon: the closest approach of every flying projectile to the player's simulated position.
The imitable teacher remembers the straight track of every fireball it has seen on screen: a
fireball close to the player is often beside it, out of the field of view.

When both ways out are about as safe, the teacher strafes toward the middle of the room, where
it keeps both ways open for the next fireball.
"""

from __future__ import annotations

import math

import numpy as np

from core.errors import UserError
from envs.engine_state import Category, EngineState
from envs.registry import ScenarioSpec
from teachers import geometry
from teachers.base import Teacher
from teachers.motion import STRAFE_ACCEL, strafe

PLAYER_RADIUS = 16.0
MISSILE_RADIUS = 6.0
MARGIN = 8.0
HORIZON_TICS = 40
"""How far ahead (engine tics) the actions are scored, whatever the frame skip: 10 steps at the
default frame skip 4. With a horizon of 10 steps (20 tics at frame skip 2) take_cover's preset
teacher (imitable, 120 degrees, 40 tics of memory) scored 6,210.20 on seeds 0..19 at frame skip
2; with 40 tics it scores 9,885.20 there, and 10,309.90 at frame skip 4 (``docs/teachers.md``)."""
MIN_HORIZON_STEPS = 10
"""At frame skips above 4 the horizon is this many steps (longer than :data:`HORIZON_TICS`)."""
MEMORY_TICS = 105
"""Imitable mode: how long a fireball seen on screen is followed along its track. With 40 tics
the teacher survives 8,843 tics on seeds 0..9, with 12 (what 4 consecutive frames of frame skip
4 span) 5,040 and with none 3,458, against 9,986 (``python -m benchmarks.dodging --memory-tics
105 40 12 0``)."""
CENTRE_TIE = 0.05
"""When a strafe is best and the other one scores within this of it, the one toward the middle of
the room is taken. The imitable teacher then survives 9,472 tics on take_cover seeds 0..19
against 5,692 without (``docs/teachers.md``)."""
TIE_BONUS = 0.01
"""How far the tie-broken strafe is lifted above the one it beat (well below a dodge's cost)."""
_PROJECTILE = int(Category.PROJECTILE)


class DodgerTeacher(Teacher):
    """Dodges projectiles by strafing; scores are minus the predicted danger of each action.

    Args:
        spec: the scenario.
        mode: ``omniscient`` or ``imitable``.
        centre_band: when standing is best, the player is farther than this (map units) from
            the middle of the room, and the strafe toward the middle scores within
            :data:`CENTRE_TIE` of standing, the teacher strafes back toward the middle instead of
            standing where a dodge left it (0: off; the room is 736 units wide). The score of an
            action is that of its best continuation, so a position cost alone would not do it:
            "stand now, walk back later" always scores about as well, and later never comes.
        memory_tics: imitable mode: how long a fireball seen on screen is followed along its
            track (:data:`MEMORY_TICS`; 0: only those on screen now).
        view_degrees: imitable mode: it sees only the fireballs on screen within this horizontal
            view (degrees, centred on the player's heading), so that it plays as it would on a
            narrower screen while its student sees a wider one (``--field-of-view``); ``None``:
            the whole screen.
        early_dodge: standing is scored only as standing for the whole horizon, so the teacher
            strafes as soon as a fireball's track would hit it within its horizon
            (:func:`horizon_tics`);
            off, it stands while "stand now, strafe later" is still as safe, and dodges at the
            last step that gets it clear. 19.6% of the imitable dodger's own states are then
            decisive (a margin of 0.05 or more) instead of 7.2% (``python -m benchmarks.dodging
            --policy teacher --episodes 4 --early-dodge True``; ``docs/teachers.md``).
    """

    def __init__(
        self,
        spec: ScenarioSpec,
        mode: str = "omniscient",
        centre_band: float = 0.0,
        memory_tics: int = MEMORY_TICS,
        view_degrees: float | None = None,
        early_dodge: bool = False,
    ) -> None:
        super().__init__(spec, mode)
        if view_degrees is not None and not 0.0 < view_degrees < 180.0:
            raise UserError(f"view_degrees must be in (0, 180), got {view_degrees}")
        self.view_degrees = view_degrees
        if not (centre_band >= 0.0 and math.isfinite(centre_band)):
            raise UserError(f"centre_band must be a distance >= 0 (0: off), got {centre_band}")
        if memory_tics < 0:
            raise UserError(f"memory_tics must be >= 0 (0: no memory), got {memory_tics}")
        self.centre_band = float(centre_band)
        self.memory_tics = int(memory_tics)
        self.early_dodge = bool(early_dodge)
        names = self.action_names
        self._dir = np.array(
            [1.0 if "MOVE_LEFT" in n else -1.0 if "MOVE_RIGHT" in n else 0.0 for n in names]
        )
        self._left, self._right = self.action("MOVE_LEFT"), self.action("MOVE_RIGHT")
        self._stand = self.action("NOOP")
        self._tables: dict[int, tuple[np.ndarray, ...]] = {}
        self.reset()

    def reset(self) -> None:
        super().reset()
        self._limits: tuple[float, float] | None = None
        self._tracks: dict[int, tuple[float, float, float, float, int]] = {}

    def _table(self, skip: int) -> tuple[np.ndarray, ...]:
        """Per frame skip: the strafe paths of (action, continuation) as ``s + v * g + h``."""
        table = self._tables.get(skip)
        if table is None:
            horizon = horizon_tics(skip)
            tics = np.arange(1, horizon + 1, dtype=np.float64)  # (T,)
            dirs = self._dir
            first = np.minimum(tics, skip)
            rest = np.maximum(tics - skip, 0.0)

            def path(v: float, thrust: float) -> np.ndarray:  # (A, C, T), linear in v, thrust
                s1, _ = strafe(0.0, v, thrust * dirs[:, None] * STRAFE_ACCEL, first[None, :])
                s_end, v_end = strafe(0.0, v, thrust * dirs * STRAFE_ACCEL, float(skip))
                s2, _ = strafe(
                    s_end[:, None, None],
                    v_end[:, None, None],
                    thrust * dirs[None, :, None] * STRAFE_ACCEL,
                    rest[None, None, :],
                )
                return np.where(tics <= skip, s1[:, None, :], s2)

            # Earlier threats weigh more (their prediction is surer): the danger at tic t,
            # exp((reach - gap) / MARGIN) * exp(-t / tau), is exp(peak_t - gap / MARGIN) with
            # the log-weight folded into ``peak`` (T,).
            log_weight = -tics / (2.0 * horizon)
            peak = (PLAYER_RADIUS + MISSILE_RADIUS) / MARGIN + log_weight
            # Continuations that stand still are preferred slightly, so no dancing in calm.
            still = np.abs(dirs)[None, :] * 0.01 + np.abs(dirs)[:, None] * 0.01
            scaled_tics = tics / MARGIN  # projectile tracks are in units of MARGIN
            table = self._tables[skip] = (
                scaled_tics,
                path(1.0, 0.0),
                path(0.0, 1.0),
                peak,
                still,
            )
        return table

    def _projectiles(self, state: EngineState, tic: int) -> tuple[np.ndarray, np.ndarray]:
        """Positions and velocities ``(N, 2)`` of the flying projectiles the mode may use."""
        objects = state.objects
        rows = (objects.category == _PROJECTILE).nonzero()[0]
        if self.omniscient:
            velocity = objects.velocity[rows, :2]
            moving = np.hypot(velocity[:, 0], velocity[:, 1]) > 0.5  # exploding ones stay, still
            return objects.position[rows[moving], :2], velocity[moving]
        # Imitable: fireballs on screen, and the straight tracks of those seen before.
        tracks = self._tracks
        visible = objects.visible
        if self.view_degrees is not None:
            visible = visible & self._within_view(state)
        for i in rows.tolist():
            if visible[i]:
                vx, vy = float(objects.velocity[i, 0]), float(objects.velocity[i, 1])
                oid = int(objects.id[i])
                if vx * vx + vy * vy > 0.25:
                    x, y = float(objects.position[i, 0]), float(objects.position[i, 1])
                    tracks[oid] = (x, y, vx, vy, tic)
                else:  # seen exploding
                    tracks.pop(oid, None)
        me_x, me_y = float(state.player.position[0]), float(state.player.position[1])
        pos, vel = [], []
        for oid, (x, y, vx, vy, seen) in list(tracks.items()):
            age = tic - seen
            px, py = x + age * vx, y + age * vy
            # Forget old tracks and those that have flown past the player.
            if age > self.memory_tics or (
                (px - me_x) * vx + (py - me_y) * vy > 0 and math.hypot(px - me_x, py - me_y) > 64
            ):
                del tracks[oid]
                continue
            pos.append((px, py))
            vel.append((vx, vy))
        return np.array(pos).reshape(-1, 2), np.array(vel).reshape(-1, 2)

    def _within_view(self, state: EngineState) -> np.ndarray:
        """Per object: whether any of it lies within :attr:`view_degrees` of the heading."""
        objects, player = state.objects, state.player
        offset = objects.position[:, :2] - player.position[:2]
        distance = np.maximum(np.hypot(offset[:, 0], offset[:, 1]), MISSILE_RADIUS)
        bearing = np.degrees(np.arctan2(offset[:, 1], offset[:, 0])) - player.angle
        bearing = (bearing + 180.0) % 360.0 - 180.0
        half_width = np.degrees(np.arcsin(MISSILE_RADIUS / distance))
        return np.abs(bearing) <= 0.5 * self.view_degrees + half_width

    def _decide(self, state: EngineState) -> np.ndarray:
        player = state.player
        rad = math.radians(player.angle + 90.0)
        # MOVE_LEFT direction, exact along the map axes (cos 90 deg is 6e-17 otherwise).
        cx, cy = round(math.cos(rad), 12), round(math.sin(rad), 12)
        ox, oy = float(player.position[0]), float(player.position[1])
        s = ox * cx + oy * cy
        if self._limits is None:
            geo = geometry.map_cache(state.walls)
            left = geometry.ray_distance(
                np.array([ox, oy]), [player.angle + 90.0, player.angle - 90.0], geo.blocking
            )
            self._limits = (s - left[1] + PLAYER_RADIUS, s + left[0] - PLAYER_RADIUS)
        lo, hi = self._limits[0] - s, self._limits[1] - s
        v = float(player.velocity[0]) * cx + float(player.velocity[1]) * cy
        scaled_tics, g, h, peak, still = self._table(self._skip)
        shift = v * g  # (A, C, T): the strafe from here, relative to the player
        shift += h
        np.minimum(np.maximum(shift, lo, out=shift), hi, out=shift)  # walls stop the strafe
        # Wall proximity costs a little: cornered players have one way out.
        end = shift[..., -1]
        cost = 0.2 * np.exp(np.minimum(end - lo, hi - end) * (-1.0 / 64.0))
        pos, vel = self._projectiles(state, state.tic)
        if len(pos):
            # Relative to the player now, in units of MARGIN (a power of two: the scaling is
            # exact). Hit boxes are squares: Chebyshev distance over the two map axes.
            scale = 1.0 / MARGIN
            rel = (pos - np.array([ox, oy])) * scale  # (N, 2)
            track = rel[..., None] + vel[..., None] * scaled_tics  # (N, 2, T): time last
            if cx == 0.0 or cy == 0.0:  # strafing along a map axis (take_cover): one gap is
                along, across = (1, 0) if cx == 0.0 else (0, 1)  # the same for every path
                step = (cy if cx == 0.0 else cx) * scale
                gap = np.abs(track[:, along] - shift[:, :, None, :] * step)  # (A, C, N, T)
                np.maximum(gap, np.abs(track[:, across]), out=gap)
            else:
                me = shift[:, :, None, None, :] * np.array([[cx * scale], [cy * scale]])
                gap = np.abs(track - me).max(axis=3)  # (A, C, N, T)
            # The worst moment of each projectile, then exp over (A, C, N) only.
            danger = (peak - gap).max(axis=-1)
            cost += np.exp(danger).sum(axis=-1)
        cost += still
        if self.early_dodge:
            cost[self._stand, :] = cost[self._stand, self._stand]
        # No wall on either side (an open test map): no middle to prefer.
        centre = 0.0 if math.isinf(lo) and math.isinf(hi) else 0.5 * (lo + hi)
        return tie_broken_scores(cost, self._left, self._right, centre, self.centre_band)


def horizon_tics(skip: int) -> int:
    """The dodger's horizon in engine tics at frame skip ``skip``: :data:`HORIZON_TICS`, or
    :data:`MIN_HORIZON_STEPS` steps where those are longer."""
    return max(HORIZON_TICS, MIN_HORIZON_STEPS * skip)


def tie_broken_scores(
    cost: np.ndarray, left: int, right: int, centre: float, band: float = 0.0
) -> np.ndarray:
    """The dodger's action scores from the costs of (first action, continuation).

    Each first action scores minus the cost of its best continuation; when a strafe is best and
    the other strafe scores within :data:`CENTRE_TIE` of it, the one toward the middle of the
    room wins. With a ``band``, so does the strafe toward the middle when another action is best
    by less than :data:`CENTRE_TIE` and the middle is farther than ``band`` away.

    Args:
        cost: ``(A, C)`` costs.
        left: index of the action that strafes left.
        right: index of the action that strafes right.
        centre: the middle of the room along the strafe axis, relative to the player
            (positive: to the left).
        band: distance from the middle beyond which a near-tie with any action walks back toward
            it (0: off).

    Returns:
        ``(A,)`` scores, higher is better.
    """
    scores = -cost.min(axis=1)
    best = int(scores.argmax())
    if best in (left, right) and abs(scores[left] - scores[right]) < CENTRE_TIE:
        toward, away = (left, right) if centre > 0.0 else (right, left)
        scores[toward] = max(scores[toward], scores[away]) + TIE_BONUS
    elif band and abs(centre) > band and best not in (left, right):
        toward = left if centre > 0.0 else right
        if scores[best] - scores[toward] < CENTRE_TIE:
            scores[toward] = scores[best] + TIE_BONUS
    return scores
