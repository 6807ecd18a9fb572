"""What of the imitable gatherer's play a pixel policy copies (health_gathering_supreme).

Not a speed benchmark but a diagnosis. A policy (a student's run directory, or ``teacher``)
plays seeded episodes while an imitable teacher shadows it and labels every state it visits,
as in a DAgger rollout. The states are split by what the teacher's decision followed
(:attr:`teachers.gatherer.GathererTeacher.decision`): a straight walk to a medikit on screen,
one to a medikit remembered from earlier (off screen now), the path field to the known
medikits, a break-away, or open space. Per kind it prints the share of the states, how often
the policy's action is the teacher's best, and the mean regret (the teacher's score of its
best action less that of the policy's, in steps). ``--memory-tics`` instead plays the teacher
itself with memories of that many tics, to show how much its play rests on memory:

    .venv/bin/python -m benchmarks.imitability --policy RUN_DIR --episodes 10
    .venv/bin/python -m benchmarks.imitability --memory-tics 140 80 40 16 0
"""

from __future__ import annotations

import dataclasses
import math
from collections import defaultdict

import numpy as np
import tyro

from benchmarks.shadowing import ShadowedActor

KINDS = ("medikit on screen", "remembered medikit", "path field", "break-away", "open space")
"""What a decision followed, in the order of the table."""


@dataclasses.dataclass(frozen=True)
class BenchArgs:
    """Split a policy's states by what the imitable gatherer's labels there follow."""

    policy: str = "teacher"
    """A student's run directory or checkpoint, or ``teacher`` (the imitable one)."""
    scenario: str = "health_gathering_supreme"
    """health_gathering or health_gathering_supreme (the gatherer's scenarios)."""
    episodes: int = 10
    """Episodes on seeds ``seed``, ``seed + 1``, ..."""
    seed: int = 0
    """Seed of the first episode."""
    memory_tics: tuple[int, ...] = ()
    """Instead: play the imitable teacher with each of these memories (tics a medikit seen on
    screen is remembered; its default is 140) and print the mean returns."""


class GathererShadow(ShadowedActor):
    """Wraps an actor: an imitable gatherer per env labels each state the actor acts in; each
    state is recorded with what the label followed."""

    def __init__(self, actor, scenario: str, num_envs: int) -> None:
        super().__init__(actor, scenario, num_envs)
        self.rows: list[tuple[str, bool, float]] = []
        """Per state: the decision's kind, whether the actor took the best action, regret."""
        self.remembered: list[tuple[float, float]] = []
        """Per state whose label walks to a remembered medikit: its distance and its bearing
        off the player's heading (degrees, absolute)."""

    def record(self, teacher, state, scores: np.ndarray, action: int, probabilities=None) -> None:
        kind = decision_kind(teacher, state)
        self.rows.append((kind, action == scores.argmax(), float(scores.max() - scores[action])))
        if kind == KINDS[1]:
            self.remembered.append(_distance_and_bearing(state, teacher.decision[1]))


def decision_kind(teacher, state) -> str:
    """Which of :data:`KINDS` the ``teacher``'s decision on ``state`` followed."""
    from teachers.gatherer import is_medikit

    decision, goal = teacher.decision
    if decision != "straight":
        return {"path": KINDS[2], "escape": KINDS[3], "explore": KINDS[4]}[decision]
    objects = state.objects
    for i in np.flatnonzero(objects.visible).tolist():
        x, y = objects.position[i, 0], objects.position[i, 1]
        if is_medikit(objects.name[i]) and abs(x - goal[0]) < 16 and abs(y - goal[1]) < 16:
            return KINDS[0]
    return KINDS[1]


def _distance_and_bearing(state, goal: tuple[float, float]) -> tuple[float, float]:
    """How far ``goal`` is from the player and how many degrees off its heading."""
    from teachers.geometry import bearing, wrap_degrees

    me = state.player.position[:2]
    off_heading = wrap_degrees(float(bearing(me, np.array(goal))) - state.player.angle)
    return math.hypot(goal[0] - me[0], goal[1] - me[1]), abs(off_heading)


def agreement_table(rows: list[tuple[str, bool, float]]) -> str:
    """The markdown table of :class:`GathererShadow` rows: share, agreement and regret per kind."""
    by_kind: dict[str, list[tuple[bool, float]]] = defaultdict(list)
    for kind, agrees, regret in rows:
        by_kind[kind].append((agrees, regret))
    lines = [
        "| the label follows | share of states | best action taken | mean regret (steps) |",
        "|---|---:|---:|---:|",
    ]
    for kind in KINDS:
        if by_kind[kind]:
            agrees, regrets = np.array(by_kind[kind]).T
            share = len(agrees) / len(rows)
            lines.append(f"| {kind} | {share:.1%} | {agrees.mean():.1%} | {regrets.mean():.2f} |")
    return "\n".join(lines)


def main(args: BenchArgs) -> str:
    """Runs the diagnosis (or the memory sweep) and returns the markdown it printed."""
    from agents.evaluation import evaluate
    from agents.policies import load_policy
    from envs.registry import get_spec

    spec = get_spec(args.scenario)
    num_envs = min(2, args.episodes)  # as evaluate() plays them: one actor per env
    if args.memory_tics:
        lines = ["| memory (tics) | mean return |", "|---:|---:|"]
        for tics in args.memory_tics:
            teacher, _ = load_policy(
                "teacher", spec, num_envs, teacher_mode="imitable", memory_tics=tics
            )
            results = evaluate(spec, teacher, episodes=args.episodes, seed=args.seed)
            lines.append(f"| {tics} | {np.mean(results.returns):.2f} |")
        text = "\n".join(lines)
    else:
        actor, env_config = load_policy(args.policy, spec, num_envs, teacher_mode="imitable")
        shadowed = GathererShadow(actor, spec.name, num_envs)
        results = evaluate(
            spec, shadowed, episodes=args.episodes, seed=args.seed, env_config=env_config
        )
        text = (
            f"{args.policy}: mean return {np.mean(results.returns):.2f} over {args.episodes} "
            f"episodes, {len(shadowed.rows)} states\n\n{agreement_table(shadowed.rows)}"
        )
        if shadowed.remembered:
            distance, bearing = np.percentile(shadowed.remembered, [50, 90], axis=0).T
            text += (
                f"\n\nremembered medikits walked to: median {distance[0]:.0f} units away "
                f"(90th percentile {distance[1]:.0f}), median {bearing[0]:.0f} degrees off the "
                f"heading (90th percentile {bearing[1]:.0f})"
            )
    print(text)
    return text


if __name__ == "__main__":
    main(tyro.cli(BenchArgs, prog="python -m benchmarks.imitability"))
