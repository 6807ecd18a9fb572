"""The teacher interface: privileged policies that read :class:`EngineState`, never pixels."""

from __future__ import annotations

import numpy as np

from core.errors import UserError
from envs.engine_state import EngineState
from envs.registry import ScenarioSpec
from teachers.geometry import wrap_degrees
from teachers.motion import infer_turn_held

MODES = ("omniscient", "imitable")
"""``omniscient``: acts on every object, even out of sight. ``imitable``: acts only on objects
on screen (the labels buffer) plus its memory of what it has seen, so a pixel student can copy it.
Static map geometry (walls, and goals fixed by the map) counts as learnable in both modes."""


MAX_SKIP = 16
"""Largest tic gap between two states still taken as one step (a frame skip to track)."""


def check_frame_skip(frame_skip: int) -> None:
    """Checks that a teacher can follow ``frame_skip`` tics per step as one step.

    Raises:
        UserError: below 1 or above :data:`MAX_SKIP`.
    """
    if not 1 <= frame_skip <= MAX_SKIP:
        raise UserError(
            f"--frame-skip must be from 1 to {MAX_SKIP} tics per step "
            "(the most a teacher tracks as one step)"
        )


class Teacher:
    """A privileged policy for one scenario.

    :meth:`action_scores` is a template: it returns the cached scores when called again on the
    same tic; on a new state it first passes the action taken in the previous one to the
    :meth:`_took` hook (the teacher's own best action unless :meth:`taken` said otherwise), then
    tracks the frame skip (``_skip``) from the tic gap between states and, for subclasses with
    ``TRACKS_TURN``, how long a turn has been held (``_held``), then calls the :meth:`_decide`
    hook. :meth:`act` is the argmax of the scores (first index on ties).

    Per-episode memory that depends on what was pressed (the pistol's cooldown, walking
    momentum) must follow the action really taken: in DAgger and GPS rollouts the student often
    acts instead, and a teacher that assumed its own choice would label the next states from a
    game that did not happen (e.g. ask for a shot while the student's shot is still cooling down).

    Args:
        spec: the scenario (its ``actions`` define the discrete action space).
        mode: one of :data:`MODES`.
    """

    TRACKS_TURN = False
    """Whether to infer ``_held`` (tics a turn button has been held) from the yaw changes."""

    def __init__(self, spec: ScenarioSpec, mode: str = "omniscient") -> None:
        if mode not in MODES:
            raise UserError(f"unknown teacher mode {mode!r}; known modes: {', '.join(MODES)}")
        self.spec = spec
        self.mode = mode
        self.action_names = spec.action_names
        self.num_actions = len(spec.actions)
        self._index = {name: i for i, name in enumerate(self.action_names)}

    @property
    def omniscient(self) -> bool:
        """Whether the teacher may use objects that are not on screen."""
        return self.mode == "omniscient"

    @property
    def goal(self) -> tuple[float, float] | None:
        """The map point ``(x, y)`` the last scores lead toward (a medikit, say), ``None`` when
        there is none or the teacher does not say. The student's goal-sector head learns its
        bearing (:func:`agents.student.aux_targets`)."""
        return None

    def action(self, name: str) -> int:
        """Index of the action named ``name`` (e.g. ``TURN_LEFT+ATTACK``), -1 if absent."""
        return self._index.get(name, -1)

    def reset(self) -> None:
        """Forgets per-episode memory; call at the start of every episode.

        Subclasses that keep memory of their own extend it and call ``super().reset()``.
        """
        self._tic = -1
        self._skip = 4
        self._angle: float | None = None
        self._held = 0
        self._scores = np.zeros(self.num_actions)
        self._last: EngineState | None = None
        self._taken: int | None = None

    def action_scores(self, state: EngineState) -> np.ndarray:
        """One finite float per action, higher is better (graded, for soft labels).

        A second call on the same tic returns (a copy of) the same scores without deciding.
        """
        if state.tic == self._tic:
            return self._scores.copy()
        if self._last is not None and self._taken is not None:
            self._took(self._last, self._taken)
        stepped = self._tic >= 0 and 0 < state.tic - self._tic <= MAX_SKIP
        if stepped:
            self._skip = state.tic - self._tic
        self._tic = state.tic
        if self.TRACKS_TURN:
            angle = state.player.angle
            if stepped and self._angle is not None:
                delta = wrap_degrees(angle - self._angle)
                self._held = infer_turn_held(delta, self._held, self._skip)
            self._angle = angle
        scores = self._scores = self._decide(state)
        self._last, self._taken = state, int(scores.argmax())
        return scores.copy()

    def taken(self, action: int) -> None:
        """Says which action was taken in the state last scored, when it was not the teacher's.

        Call it after :meth:`action_scores` whenever another policy acted (a DAgger or GPS
        rollout); without the call the teacher assumes its own best action was taken.
        """
        if self._last is not None:
            self._taken = int(action)

    def _decide(self, state: EngineState) -> np.ndarray:
        """The scores of a new state (``_skip`` and ``_held`` are already up to date)."""
        raise NotImplementedError

    def _took(self, state: EngineState, action: int) -> None:
        """Called with the previous state and the action taken in it, before the next decision
        (``_skip`` and ``_held`` are still those of that state)."""

    def act(self, state: EngineState) -> int:
        """The best action: argmax of :meth:`action_scores`, the lowest index on ties."""
        return int(self.action_scores(state).argmax())

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.spec.name!r}, mode={self.mode!r})"
