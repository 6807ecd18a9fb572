"""What a take_cover policy must get right: the imitable dodger's limits, and a student's misses.

Not a speed benchmark but a diagnosis, take_cover's twin of :mod:`benchmarks.imitability`.

``--policy RUN_DIR`` plays a student (or ``teacher``) on seeded episodes while an imitable dodger
shadows it and scores every state it visits, as in a DAgger rollout. The states are split by
the teacher's margin (its best action's score less the second best's): near-ties, where the
choice hardly matters, and decisive states. Per band it prints the share of the states and how
often the policy took the teacher's best action; for the decisive states it missed, whether it
stood or strafed the wrong way, and where the nearest approaching fireball was (off screen, or
how far away on screen); for a student, also its median probability of standing there.

The other flags play the imitable teacher itself, limited, to show what its survival rests on:
``--memory-tics`` (how long it follows a fireball it saw on screen), ``--reach`` (blind to
fireballs farther away) and ``--noise`` (a uniformly random action in that share of the
``--noise-where`` states):

    .venv/bin/python -m benchmarks.dodging --policy RUN_DIR --episodes 20 --seed 100
    .venv/bin/python -m benchmarks.dodging --memory-tics 105 40 12 0
    .venv/bin/python -m benchmarks.dodging --noise 0.05 0.1 0.25 0.5 --noise-where decisive
"""

from __future__ import annotations

import dataclasses
import itertools
import math
from typing import Literal

import numpy as np
import tyro

from benchmarks.shadowing import ShadowedActor
from envs.engine_state import Category, EngineState
from teachers.dodger import DodgerTeacher

Where = Literal["decisive", "near-tie", "all"]


@dataclasses.dataclass(frozen=True)
class BenchArgs:
    """Diagnose a take_cover policy against the imitable dodger, or play the dodger limited."""

    policy: str = "teacher"
    """A student's run directory or checkpoint, or ``teacher`` (the imitable one)."""
    episodes: int = 10
    """Episodes on seeds ``seed``, ``seed + 1``, ..."""
    seed: int = 0
    """Seed of the first episode."""
    decisive_margin: float = 0.05
    """A state is decisive where the teacher's best action beats the second by this much."""
    shadow_memory_tics: int | None = None
    """``--policy``: the shadowing dodger's memory in tics. Default: for a student, that of the
    teacher it was trained with (``doomgps train --teacher-memory-tics``), else the dodger's own
    (105)."""
    shadow_view_degrees: float | None = None
    """``--policy``: the shadowing dodger sees only the fireballs within this horizontal view
    (degrees). Default: for a student, that of the teacher it was trained with (``doomgps train
    --teacher-view-degrees``), else the whole screen."""
    early_dodge: bool | None = None
    """``--policy``: the shadowing dodger strafes as soon as standing would be hit within its
    horizon (``doomgps train --early-dodge``); with ``--policy teacher`` the dodger that acts
    does too, so the table shows how many of its own states are decisive. Default: for a
    student, as the teacher it was trained with, else off."""
    memory_tics: tuple[int, ...] = ()
    """Instead: play the teacher with each of these memories (tics; its default is 105)."""
    reach: tuple[float, ...] = ()
    """Instead: play the teacher blind to fireballs farther than each of these (map units)."""
    noise: tuple[float, ...] = ()
    """Instead: play the teacher taking a random action in each of these shares of the
    ``noise_where`` states."""
    noise_where: Where = "decisive"
    """Which states ``noise`` acts in: decisive ones, near-ties (below the margin), or all."""


class LimitedDodger(DodgerTeacher):
    """The imitable dodger blind beyond ``reach`` and taking a uniformly random action in a
    ``noise`` share of the ``where`` states (seeded by ``seed``)."""

    def __init__(
        self,
        spec,
        reach: float = math.inf,
        noise: float = 0.0,
        where: Where = "decisive",
        margin: float = 0.05,
        seed: int = 0,
        **options,
    ) -> None:
        super().__init__(spec, "imitable", **options)
        self.reach, self.noise, self.where, self.margin = reach, noise, where, margin
        self._rng = np.random.default_rng(seed)

    def _projectiles(self, state: EngineState, tic: int) -> tuple[np.ndarray, np.ndarray]:
        position, velocity = super()._projectiles(state, tic)
        if math.isinf(self.reach) or not len(position):
            return position, velocity
        near = np.hypot(*(position - state.player.position[:2]).T) <= self.reach
        return position[near], velocity[near]

    def _decide(self, state: EngineState) -> np.ndarray:
        scores = super()._decide(state)
        if not self.noise:
            return scores
        best, second = np.sort(scores)[-2:][::-1]
        decisive = best - second >= self.margin
        applies = self.where == "all" or decisive == (self.where == "decisive")
        if applies and self._rng.random() < self.noise:
            scores = np.zeros_like(scores)
            scores[self._rng.integers(len(scores))] = 1.0
        return scores


def limited_teacher_return(episodes: int, seed: int, **limits) -> float:
    """The mean return of the imitable dodger with ``limits`` (:class:`LimitedDodger`'s options)
    on ``episodes`` episodes from ``seed``."""
    from agents.actors import TeacherActor
    from agents.evaluation import evaluate
    from envs.registry import get_spec

    spec = get_spec("take_cover")
    num_envs = min(2, episodes)  # as evaluate() plays them
    actor = TeacherActor(spec.name, num_envs, "imitable")
    actor.teachers = [LimitedDodger(spec, seed=index, **limits) for index in range(num_envs)]
    return evaluate(
        spec, actor, episodes=episodes, seed=seed, num_envs=num_envs, show_progress=False
    ).mean_return


@dataclasses.dataclass(frozen=True)
class Visit:
    """One state a shadowed policy acted in."""

    margin: float
    """the teacher's best score less its second best"""
    best: int
    """the teacher's best action"""
    taken: int
    """the policy's action"""
    off_screen: bool
    """the nearest approaching fireball is off screen"""
    on_screen_distance: float
    """distance to the nearest approaching fireball on screen (inf: none)"""
    stand_probability: float = math.nan
    """a student's probability of standing (NOOP) there (nan: a policy without probabilities)"""


class DodgerShadow(ShadowedActor):
    """Wraps an actor: an imitable dodger per env (built with ``options``) scores each state the
    actor acts in; each state is recorded as a :class:`Visit`."""

    def __init__(self, actor, num_envs: int, **options) -> None:
        super().__init__(actor, "take_cover", num_envs, **options)
        self.visits: list[Visit] = []

    def record(
        self,
        teacher,
        state: EngineState,
        scores: np.ndarray,
        action: int,
        probabilities: np.ndarray | None = None,
    ) -> None:
        best, second = np.sort(scores)[-2:][::-1]
        stand = math.nan if probabilities is None else float(probabilities[0])
        self.visits.append(
            Visit(best - second, int(scores.argmax()), action, *_threat(state), stand)
        )


def _threat(state: EngineState) -> tuple[bool, float]:
    """Whether the nearest approaching fireball is off screen, and the distance to the nearest
    approaching one on screen (inf: none)."""
    objects = state.objects
    rows = objects.category == int(Category.PROJECTILE)
    offset = objects.position[rows, :2] - state.player.position[:2]
    approaching = (offset * objects.velocity[rows, :2]).sum(-1) < 0
    if not approaching.any():
        return False, math.inf
    distance = np.hypot(*offset[approaching].T)
    visible = objects.visible[rows][approaching]
    on_screen = float(distance[visible].min()) if visible.any() else math.inf
    return not bool(visible[distance.argmin()]), on_screen


def margin_bands(decisive_margin: float) -> list[tuple[float, float]]:
    """The bands of the teacher's margin the diagnoses report: two of near-ties, two of
    decisive states split at 0.5 (a dodge that costs a hit)."""
    return list(itertools.pairwise((0.0, 0.02, decisive_margin, 0.5, math.inf)))


def agreement_table(visits: list[Visit], decisive_margin: float) -> str:
    """The markdown tables of :class:`DodgerShadow` visits: per margin band, the share of the
    states and the agreement; then how the decisive misses split and, for a student, its median
    probability of standing in each kind, and how often, where it stood and the teacher strafed,
    its two strafes together outweighed standing (a plurality that argmax threw away)."""
    margin = np.array([v.margin for v in visits])
    agrees = np.array([v.best == v.taken for v in visits])
    lines = ["| teacher's margin | share of states | best action taken |", "|---|---:|---:|"]
    for low, high in margin_bands(decisive_margin):
        band = (margin >= low) & (margin < high)
        if band.any():
            lines.append(f"| {low:g} to {high:g} | {band.mean():.1%} | {agrees[band].mean():.1%} |")
    decisive = [v for v in visits if v.margin >= decisive_margin]
    kinds = {
        "took the best action": [v for v in decisive if v.taken == v.best],
        "stood, the teacher strafed": [v for v in decisive if v.taken == 0 != v.best],
        "strafed the wrong way": [v for v in decisive if v.taken not in (0, v.best)],
        "strafed, the teacher stood": [v for v in decisive if v.best == 0 != v.taken],
    }
    student = any(not math.isnan(v.stand_probability) for v in visits)
    lines += [
        "",
        "| decisive states | share | nearest approaching fireball off screen "
        "| median distance of the nearest on screen |" + (" median P(stand) |" if student else ""),
        "|---|---:|---:|---:|" + ("---:|" if student else ""),
    ]
    for kind, group in kinds.items():
        if group:
            hidden = np.mean([v.off_screen for v in group])
            distance = np.median([v.on_screen_distance for v in group])
            stand = f" {np.median([v.stand_probability for v in group]):.2f} |" if student else ""
            lines.append(
                f"| {kind} | {len(group) / len(decisive):.1%} | {hidden:.0%} | {distance:.0f} |"
                + stand
            )
    stood = kinds["stood, the teacher strafed"]
    if student and stood:
        outweighed = np.mean([v.stand_probability < 0.5 for v in stood])
        lines += [
            "",
            f"Where it stood and the teacher strafed, its two strafes together outweighed "
            f"standing in {outweighed:.0%} of the states.",
        ]
    return "\n".join(lines)


def _trained_config(policy: str) -> dict:
    """The saved config of a student's run (``{}`` for ``teacher`` and ``random``)."""
    if policy in ("teacher", "random"):
        return {}
    from agents.student_actor import find_run_dir
    from core.run_dir import load_config_dict

    return load_config_dict(find_run_dir(policy)[0])


def shadow_limits(args: BenchArgs) -> tuple[int | None, float | None]:
    """The shadowing dodger's ``(memory_tics, view_degrees)``: the flags where given, else, for a
    student, those of the imitable teacher it was trained with (``None``: the dodger's own)."""
    memory_tics, view_degrees = args.shadow_memory_tics, args.shadow_view_degrees
    trained = _trained_config(args.policy)
    if trained.get("teacher_mode") != "imitable":
        return memory_tics, view_degrees
    if memory_tics is None:
        memory_tics = trained.get("teacher_memory_tics")
    if view_degrees is None:
        view_degrees = trained.get("teacher_view_degrees")
    return memory_tics, view_degrees


def shadow_early_dodge(args: BenchArgs) -> bool:
    """Whether the shadowing dodger dodges early: the flag where given, else, for a student, as
    the teacher it was trained with (``doomgps train --early-dodge``)."""
    if args.early_dodge is not None:
        return args.early_dodge
    return bool(_trained_config(args.policy).get("early_dodge", False))


def main(args: BenchArgs) -> str:
    """Runs the diagnosis (or the teacher's sweeps) and returns the markdown it printed."""
    import teachers
    from agents.evaluation import evaluate
    from agents.policies import load_policy
    from envs.registry import get_spec

    sweeps = [
        ("memory (tics)", "memory_tics", args.memory_tics),
        ("blind beyond (units)", "reach", args.reach),
        (f"random action in this share of {args.noise_where} states", "noise", args.noise),
    ]
    if any(values for _, _, values in sweeps):
        lines = []
        for header, option, values in sweeps:
            if not values:
                continue
            lines += [f"| {header} | mean return |", "|---:|---:|"]
            for value in values:
                extra = {"where": args.noise_where, "margin": args.decisive_margin}
                limits = {option: value, **(extra if option == "noise" else {})}
                mean = limited_teacher_return(args.episodes, args.seed, **limits)
                lines.append(f"| {value:g} | {mean:.2f} |")
            lines.append("")
        text = "\n".join(lines).rstrip()
    else:
        spec = get_spec("take_cover")
        num_envs = min(2, args.episodes)
        early_dodge = shadow_early_dodge(args)
        acting = teachers.options(early_dodge=early_dodge) if args.policy == "teacher" else {}
        actor, env_config = load_policy(
            args.policy, spec, num_envs, teacher_mode="imitable", **acting
        )
        memory_tics, view_degrees = shadow_limits(args)
        options = teachers.options(
            memory_tics=memory_tics, view_degrees=view_degrees, early_dodge=early_dodge
        )
        shadowed = DodgerShadow(actor, num_envs, **options)
        results = evaluate(
            spec,
            shadowed,
            episodes=args.episodes,
            seed=args.seed,
            env_config=env_config,
            show_progress=False,
        )
        text = (
            f"{args.policy}: mean return {results.mean_return:.2f} over {args.episodes} "
            f"episodes, {len(shadowed.visits)} states\n\n"
            f"{agreement_table(shadowed.visits, args.decisive_margin)}"
        )
    print(text)
    return text


if __name__ == "__main__":
    main(tyro.cli(BenchArgs, prog="python -m benchmarks.dodging"))
