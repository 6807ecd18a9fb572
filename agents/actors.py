"""The actor protocol shared by teachers, students and the random baseline.

Actors act on a *batch*: one observation (and, for privileged actors, one engine state) per env
of a vector env, so that a student's network runs once per step for all envs.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol, runtime_checkable

import numpy as np

from envs.engine_state import EngineState


@runtime_checkable
class Actor(Protocol):
    """Something that picks actions for a batch of envs."""

    needs_engine_state: bool
    """True for privileged actors (teachers); students never receive engine state."""

    def reset(self, env_index: int) -> None:
        """Forgets per-episode memory of env ``env_index`` (a new episode starts there)."""

    def act(
        self, observations: np.ndarray, states: Sequence[EngineState | None] | None
    ) -> np.ndarray:
        """Returns one int action per env. ``states`` is ``None`` unless ``needs_engine_state``."""


class RandomActor:
    """Uniformly random actions: the baseline every learner must beat."""

    needs_engine_state = False

    def __init__(self, num_actions: int, seed: int = 0) -> None:
        self.num_actions = num_actions
        self._rng = np.random.default_rng(seed)

    def reset(self, env_index: int) -> None:
        """Random actions have no memory."""

    def act(
        self, observations: np.ndarray, states: Sequence[EngineState | None] | None = None
    ) -> np.ndarray:
        return self._rng.integers(self.num_actions, size=len(observations))


class TeacherActor:
    """Runs one privileged teacher per env (teachers keep per-episode memory, e.g. a path).

    Args:
        scenario: registered scenario name.
        num_envs: how many envs the actor serves.
        mode: the teacher's mode, ``omniscient`` or ``imitable``.
        **options: options of the scenario's teacher (see :func:`teachers.make`).
    """

    needs_engine_state = True

    def __init__(
        self, scenario: str, num_envs: int, mode: str = "omniscient", **options: Any
    ) -> None:
        import teachers

        self.teachers = [teachers.make(scenario, mode=mode, **options) for _ in range(num_envs)]

    def reset(self, env_index: int) -> None:
        self.teachers[env_index].reset()

    def act(
        self, observations: np.ndarray, states: Sequence[EngineState | None] | None
    ) -> np.ndarray:
        if states is None:
            raise ValueError("a teacher needs the engine state")
        return np.array(
            [t.act(s) if s is not None else 0 for t, s in zip(self.teachers, states, strict=True)],
            dtype=np.int64,
        )

    def taken(self, actions: np.ndarray) -> None:
        """Tells each env's teacher the action taken in the state it last scored (see
        :meth:`teachers.base.Teacher.taken`): call it when another policy may have acted."""
        for teacher, action in zip(self.teachers, actions, strict=True):
            teacher.taken(int(action))

    def goals(self) -> list[tuple[float, float] | None]:
        """Each env's teacher's :attr:`~teachers.base.Teacher.goal` after its last scores."""
        return [t.goal for t in self.teachers]

    def action_scores(self, states: Sequence[EngineState | None]) -> np.ndarray:
        """The teachers' scores, ``(num_envs, num_actions)``; rows of zeros where no state."""
        rows = [
            t.action_scores(s) if s is not None else None
            for t, s in zip(self.teachers, states, strict=True)
        ]
        width = next((len(r) for r in rows if r is not None), 0)
        return np.stack([r if r is not None else np.zeros(width, np.float32) for r in rows])
