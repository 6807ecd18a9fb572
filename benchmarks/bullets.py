"""Where a turret policy's kills go: bullets fired, kills, misses, and the ammo left at death.

Not a speed benchmark but a diagnosis, for the scenarios whose score is kills from a limited
magazine (defend_the_center: 26 bullets, +1 a kill, -1 at death, so a policy that kills with
every bullet and dies only when it has run dry scores 25). Per episode: the kills (its positive
rewards), the bullets fired (the ammo of its first state less that of its last), the misses
(bullets that killed nothing) and whether it ran dry or died with bullets left. Between a
student and its teacher, the misses count the kills lost to its aim and the ammo left at death
those lost to its early deaths.

    .venv/bin/python -m benchmarks.bullets --policies teacher RUN_DIR --episodes 20 --seed 0
    .venv/bin/python -m benchmarks.bullets --policies RUN_DIR --logit-adjustment 0   # plainly

The ammo is read from the engine state the actions were chosen on, so a bullet fired in an
episode's very last step is not counted (its kill, if any, is).
"""

from __future__ import annotations

import dataclasses

import numpy as np
import tyro

from agents.rollout import Transition


@dataclasses.dataclass(frozen=True)
class BenchArgs:
    """Count the bullets, kills and misses of turret policies on the same seeded episodes."""

    policies: tuple[str, ...] = ("teacher",)
    """Each a student's run directory or checkpoint, ``teacher`` or ``random``."""
    scenario: str = "defend_the_center"
    episodes: int = 20
    """Episodes on seeds ``seed``, ``seed + 1``, ..."""
    seed: int = 0
    """Seed of the first episode."""
    teacher_mode: str = "imitable"
    """The teacher's mode (``imitable``: the one the presets' students learn from)."""
    turning_shots: bool = False
    """Whether the teacher may fire while turning (the presets' teachers fire only standing)."""
    logit_adjustment: float | None = None
    """Students: the tau of the post-hoc logit adjustment they act with (``None``: each run's
    own, as ``doomgps eval``; 0: the plain policy)."""


@dataclasses.dataclass
class EpisodeAmmo:
    """One episode's ledger."""

    start: float | None = None
    """ammo in the episode's first state"""
    last: float = 0.0
    """ammo in its last state"""
    kills: int = 0
    died: bool = False

    @property
    def bullets(self) -> float:
        return 0.0 if self.start is None else self.start - self.last

    @property
    def misses(self) -> float:
        return self.bullets - self.kills


class AmmoLedger:
    """An ``on_step`` callback of :func:`agents.rollout.run_episodes` that keeps an
    :class:`EpisodeAmmo` per requested episode (the env must put engine states in ``info``)."""

    def __init__(self, episodes: int) -> None:
        self.episodes = [EpisodeAmmo() for _ in range(episodes)]

    def __call__(self, t: Transition) -> None:
        for i in np.flatnonzero(t.active).tolist():
            row = self.episodes[int(t.episode[i])]
            state = None if t.states is None else t.states[i]
            if state is not None:
                ammo = float(state.player.ammo)
                if row.start is None:
                    row.start = ammo
                row.last = ammo
            row.kills += max(round(float(t.rewards[i])), 0)
            row.died |= bool(t.terminated[i])


def account(policy: str, args: BenchArgs, num_envs: int = 2) -> tuple[float, list[EpisodeAmmo]]:
    """Plays ``policy`` on the seeded episodes; returns its mean return and its ledgers."""
    import teachers
    from agents.policies import load_policy
    from agents.rollout import run_episodes
    from envs.config import EnvConfig
    from envs.registry import get_spec
    from envs.vector import open_vector_env

    spec = get_spec(args.scenario)
    num_envs = max(1, min(num_envs, args.episodes))
    options = teachers.options(turning_shots=args.turning_shots)
    actor, env_config = load_policy(
        policy,
        spec,
        num_envs,
        teacher_mode=args.teacher_mode,
        logit_adjustment=args.logit_adjustment,
        **options,
    )
    config = dataclasses.replace(
        env_config or EnvConfig(), engine_state=True, engine_state_in_info=True
    )
    ledger = AmmoLedger(args.episodes)
    with open_vector_env(spec, num_envs, config) as vec:
        results = run_episodes(
            vec, actor, args.episodes, args.seed, on_step=ledger, show_progress=False
        )
    return results.mean_return, ledger.episodes


def table_row(policy: str, mean_return: float, episodes: list[EpisodeAmmo]) -> str:
    """One markdown row: per-episode means and the episodes that ran dry or died armed."""
    n = len(episodes)
    armed = [e.last for e in episodes if e.died and e.last > 0]
    dry = sum(e.last == 0 for e in episodes)
    left = f" ({np.mean(armed):.1f} bullets left)" if armed else ""
    return (
        f"| {policy} | {mean_return:.2f} | {np.mean([e.kills for e in episodes]):.2f} | "
        f"{np.mean([e.bullets for e in episodes]):.2f} | "
        f"{np.mean([e.misses for e in episodes]):.2f} | {dry}/{n} | {len(armed)}/{n}{left} |"
    )


def main(args: BenchArgs) -> str:
    """Plays every policy on the same episodes and prints (and returns) the markdown table."""
    lines = [
        f"{args.scenario}: {args.episodes} episodes on seeds {args.seed}.."
        f"{args.seed + args.episodes - 1}, per episode",
        "",
        "| policy | return | kills | bullets | misses | ran dry | died with bullets |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for policy in args.policies:
        lines.append(table_row(policy, *account(policy, args)))
    text = "\n".join(lines)
    print(text)
    return text


if __name__ == "__main__":
    main(tyro.cli(BenchArgs, prog="python -m benchmarks.bullets"))
