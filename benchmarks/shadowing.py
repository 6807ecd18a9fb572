"""A policy shadowed by a teacher: the diagnoses' DAgger-style view of what a policy does.

:class:`ShadowedActor` plays a policy while one teacher per env scores every state the policy
acts in and is told the action taken, as in a DAgger rollout; subclasses record what they
measure in :meth:`ShadowedActor.record`.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from envs.engine_state import EngineState


class ShadowedActor:
    """Wraps an actor: a ``mode`` teacher of ``scenario`` per env (built with ``options``, see
    :func:`teachers.make`) scores each state the actor acts in and is told the action taken
    (see :meth:`teachers.base.Teacher.taken`)."""

    needs_engine_state = True

    def __init__(
        self, actor, scenario: str, num_envs: int, mode: str = "imitable", **options: Any
    ) -> None:
        import teachers

        self.actor = actor
        self.teachers = [teachers.make(scenario, mode, **options) for _ in range(num_envs)]

    def reset(self, env_index: int) -> None:
        self.actor.reset(env_index)
        self.teachers[env_index].reset()

    def act(self, observations, states):
        inner_states = states if self.actor.needs_engine_state else None
        actions = np.asarray(self.actor.act(observations, inner_states))
        # a student keeps the probabilities it chose from (StudentActor.last_probabilities)
        probabilities = getattr(self.actor, "last_probabilities", None)
        for env_index, state in enumerate(states):
            if state is None:
                continue
            teacher = self.teachers[env_index]
            scores = teacher.action_scores(state)
            action = int(actions[env_index])
            teacher.taken(action)
            policy = None if probabilities is None else probabilities[env_index]
            self.record(teacher, state, scores, action, policy)
        return actions

    def record(
        self,
        teacher: Any,
        state: EngineState,
        scores: np.ndarray,
        action: int,
        probabilities: np.ndarray | None = None,
    ) -> None:
        """Called for every state: the teacher (told the action already), the state, the
        teacher's scores there, the policy's action and, for a student, the ``(A,)`` action
        probabilities it chose from (``None`` for a teacher or random)."""
        raise NotImplementedError
