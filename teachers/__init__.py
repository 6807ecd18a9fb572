"""Privileged teachers: one per scenario family, reading engine state only (never pixels).

``teachers.make(name, mode)`` returns a :class:`~teachers.base.Teacher` whose ``action_scores``
label states for the student and whose ``act`` plays the scenario.
"""

from __future__ import annotations

import inspect
from typing import Any

from core.errors import UserError
from envs.registry import SCENARIOS, get_spec
from teachers.base import MODES, Teacher

__all__ = ["MODES", "TEACHERS", "Teacher", "make", "options"]

TEACHERS: dict[str, str] = {
    "basic": "teachers.shooter:BasicTeacher",
    "defend_the_center": "teachers.shooter:ShooterTeacher",
    "defend_the_line": "teachers.shooter:ShooterTeacher",
    "health_gathering": "teachers.gatherer:GathererTeacher",
    "health_gathering_supreme": "teachers.gatherer:GathererTeacher",
    "take_cover": "teachers.dodger:DodgerTeacher",
    "deadly_corridor": "teachers.navigator:CorridorTeacher",
    "my_way_home": "teachers.navigator:NavigatorTeacher",
}
"""Scenario name -> ``module:class`` of its teacher."""

IMITABLE_OPTIONS = ("memory_tics", "view_degrees", "hurt_turn_tics")
"""Options only the imitable teachers take (each the ``--teacher-...`` flag of its name)."""


def options(
    turning_shots: bool = True,
    centre_band: float = 0.0,
    memory_tics: int | None = None,
    hurt_turn_tics: int = 0,
    view_degrees: float | None = None,
    early_dodge: bool = False,
) -> dict[str, Any]:
    """The keyword options for :func:`make` that differ from the teachers' defaults, and only
    those, so a scenario whose teacher lacks an option is unaffected while it keeps its default.

    Args:
        turning_shots: shooting teachers may fire while turning (see
            :class:`~teachers.shooter.ShooterTeacher`).
        centre_band: take_cover's dodger walks back toward the middle of the room when calm and
            farther than this from it (see :class:`~teachers.dodger.DodgerTeacher`).
        memory_tics: the imitable dodger's and gatherer's memory of what they saw on screen, in
            tics (``None``: each teacher's own default).
        hurt_turn_tics: the imitable shooter turns toward an enemy biting from out of view for
            this many tics after the player is hurt (see
            :class:`~teachers.shooter.ShooterTeacher`; 0: off).
        view_degrees: the imitable dodger sees only what lies within this horizontal view of
            the screen (see :class:`~teachers.dodger.DodgerTeacher`; ``None``: all of it).
        early_dodge: take_cover's dodger strafes as soon as standing would be hit within its
            horizon (see :class:`~teachers.dodger.DodgerTeacher`).
    """
    chosen: dict[str, Any] = {}
    if not turning_shots:
        chosen["turning_shots"] = False
    if centre_band:
        chosen["centre_band"] = centre_band
    if memory_tics is not None:
        chosen["memory_tics"] = memory_tics
    if hurt_turn_tics:
        chosen["hurt_turn_tics"] = hurt_turn_tics
    if view_degrees is not None:
        chosen["view_degrees"] = view_degrees
    if early_dodge:
        chosen["early_dodge"] = True
    return chosen


def make(scenario_name: str, mode: str = "omniscient", **options: Any) -> Teacher:
    """Builds the teacher of a registered scenario.

    Args:
        scenario_name: a registered scenario name or gymnasium id.
        mode: ``"omniscient"`` or ``"imitable"`` (see :data:`teachers.base.MODES`).
        **options: keyword options of that scenario's teacher class (e.g. ``turning_shots`` of
            :class:`~teachers.shooter.ShooterTeacher`).

    Raises:
        UserError: unknown scenario (the message lists those with a teacher), unknown mode, an
            option the scenario's teacher does not take, or a memory for the omniscient teacher.
    """
    spec = (
        get_spec(scenario_name)
        if isinstance(scenario_name, str)
        and (scenario_name in SCENARIOS or scenario_name.startswith("doomgps/"))
        else None
    )
    if spec is None or spec.name not in TEACHERS:
        known = ", ".join(TEACHERS)
        raise UserError(f"no teacher for scenario {scenario_name!r}; teachers exist for: {known}")
    if mode not in MODES:
        raise UserError(f"unknown teacher mode {mode!r}; known modes: {', '.join(MODES)}")
    if mode != "imitable":
        for name in IMITABLE_OPTIONS:
            if name in options:
                flag = "--teacher-" + name.replace("_", "-")
                raise UserError(f"{name} ({flag}) is an option of the imitable teacher")
    import importlib

    module_name, class_name = TEACHERS[spec.name].split(":")
    cls = getattr(importlib.import_module(module_name), class_name)
    accepted = inspect.signature(cls).parameters
    unknown = [name for name in options if name not in accepted or name in ("spec", "mode")]
    if unknown:
        raise UserError(
            f"the {spec.name} teacher ({class_name}) has no option {', '.join(map(repr, unknown))}"
        )
    return cls(spec, mode, **options)
