"""Turns a ``--policy`` string (``random``, ``teacher``, a run dir or checkpoint) into an actor."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from agents.actors import Actor, RandomActor, TeacherActor
from core.errors import UserError
from envs.config import EnvConfig
from envs.registry import ScenarioSpec


def load_policy(
    policy: str,
    spec: ScenarioSpec,
    num_envs: int,
    seed: int = 0,
    teacher_mode: str = "omniscient",
    symmetric: bool | None = None,
    logit_adjustment: float | None = None,
    **teacher_options: Any,
) -> tuple[Actor, EnvConfig | None]:
    """Returns the actor for ``policy`` and, for a student, the env config it was trained with
    (``teacher_options`` go to the teacher, see :func:`teachers.make`; ``symmetric`` and
    ``logit_adjustment`` to :func:`agents.student_actor.load_student_actor`).

    Raises:
        UserError: unknown policy, missing or unusable checkpoint.
    """
    if policy == "random":
        return RandomActor(len(spec.actions), seed=seed), None
    if policy == "teacher":
        return TeacherActor(spec.name, num_envs, mode=teacher_mode, **teacher_options), None
    path = Path(policy)
    if not path.exists():
        raise UserError(
            f"--policy {policy!r} is neither 'random', 'teacher' nor an existing run dir/checkpoint"
        )
    from agents.student_actor import load_student_actor

    return load_student_actor(path, spec, symmetric, logit_adjustment)
