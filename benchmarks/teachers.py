"""Teacher benchmark: scores of both modes and time per step, per scenario, as a markdown table.

Every episode ``k`` resets with ``seed=first_seed + k`` (default 0..episodes-1), frame skip 4,
one engine at a time. Teacher time is one ``action_scores`` call; env time is one ``step``
plus the ``engine_state()`` read the teacher needs. Reproduce the README table with:

    .venv/bin/python -m benchmarks.teachers --episodes 20
"""

from __future__ import annotations

import dataclasses
import time

import numpy as np
import tyro

TARGETS = {
    "basic": ("mean return", 80.0),
    "defend_the_center": ("mean kills", 24.0),
    "defend_the_line": ("mean kills", 26.0),
    "health_gathering": ("% full 2,100 tics", 95.0),
    "health_gathering_supreme": ("% of timeout survived", 90.0),
    "take_cover": ("mean tics survived", 8000.0),
    "deadly_corridor": ("% reached vest", 75.0),
    "my_way_home": ("% reached vest", 95.0),
}
"""Scenario -> (the metric, the issue's floor for the omniscient teacher)."""


@dataclasses.dataclass(frozen=True)
class BenchArgs:
    """Run every teacher on fixed seeds and print scores and time per step."""

    scenarios: tuple[str, ...] = tuple(TARGETS)
    """Scenarios to run."""
    modes: tuple[str, ...] = ("omniscient", "imitable")
    """Teacher modes to run."""
    episodes: int = 20
    """Episodes per scenario and mode; episode k uses seed ``first_seed + k``."""
    first_seed: int = 0
    """Seed of the first episode (e.g. 100 to check a tuning on seeds it never saw)."""
    frame_skip: int = 4
    """Engine tics per step."""
    labels: bool = True
    """Render the labels buffer (on-screen boxes). Imitable teachers need it; omniscient ones do
    not, and the engine runs faster without it (``--no-labels``, omniscient mode only)."""
    verbose: bool = False
    """Print every episode's outcome."""


@dataclasses.dataclass
class EpisodeResult:
    ret: float
    tics: int
    kills: int
    terminated: bool
    truncated: bool
    last_reward: float
    teacher_s: float
    env_s: float
    steps: int


def run_episode(env, teacher, seed: int) -> EpisodeResult:
    """One episode of ``teacher`` on ``env`` (built with ``engine_state=True``)."""
    base = env.unwrapped
    env.reset(seed=seed)
    teacher.reset()
    ret, kills, steps, teacher_s, env_s = 0.0, 0, 0, 0.0, 0.0
    state = base.engine_state()
    terminated = truncated = False
    reward = 0.0
    tics = 0
    while True:
        t0 = time.perf_counter()
        action = teacher.act(state)
        t1 = time.perf_counter()
        _, reward, terminated, truncated, info = env.step(action)
        if not (terminated or truncated):
            state = base.engine_state()
        t2 = time.perf_counter()
        teacher_s += t1 - t0
        env_s += t2 - t1
        ret += reward
        kills += int(reward > 0.5)
        steps += 1
        tics += int(info["frames"])
        if terminated or truncated:
            break
    return EpisodeResult(
        ret, tics, kills, terminated, truncated, float(reward), teacher_s, env_s, steps
    )


def metric(scenario: str, results: list[EpisodeResult], timeout: int) -> float:
    """The scenario's headline number over episodes (see :data:`TARGETS`)."""
    if scenario == "basic":
        return float(np.mean([r.ret for r in results]))
    if scenario in ("defend_the_center", "defend_the_line"):
        return float(np.mean([r.kills for r in results]))
    if scenario == "health_gathering":
        return 100.0 * float(np.mean([r.truncated for r in results]))
    if scenario == "health_gathering_supreme":
        return 100.0 * float(np.mean([min(r.tics, timeout) / timeout for r in results]))
    if scenario == "take_cover":
        return float(np.mean([r.tics for r in results]))
    if scenario == "deadly_corridor":
        # No state after the last step: reaching the vest = ended early without the death penalty.
        return 100.0 * float(np.mean([r.terminated and r.last_reward > -50 for r in results]))
    if scenario == "my_way_home":
        return 100.0 * float(np.mean([r.terminated and not r.truncated for r in results]))
    return float(np.mean([r.ret for r in results]))


def main(args: BenchArgs) -> str:
    """Runs the benchmark and returns (and prints) the markdown table."""
    import teachers
    from core.errors import UserError
    from envs.config import EnvConfig
    from envs.factory import make_env
    from envs.registry import get_spec

    if not args.labels and "imitable" in args.modes:
        raise UserError("imitable teachers need the labels buffer: drop --no-labels or the mode")
    rows = []
    for scenario in args.scenarios:
        spec = get_spec(scenario)
        config = EnvConfig(engine_state=True, frame_skip=args.frame_skip, labels=args.labels)
        env = make_env(scenario, config)
        timeout = spec.timeout_tics or 2100
        cells, t_teacher, t_env, steps = {}, 0.0, 0.0, 0
        try:
            for mode in args.modes:
                teacher = teachers.make(scenario, mode)
                results = []
                for seed in range(args.first_seed, args.first_seed + args.episodes):
                    r = run_episode(env, teacher, seed)
                    results.append(r)
                    t_teacher += r.teacher_s
                    t_env += r.env_s
                    steps += r.steps
                    if args.verbose:
                        print(
                            f"{scenario} {mode} seed={seed} return={r.ret:.1f} tics={r.tics} "
                            f"kills={r.kills} term={r.terminated} trunc={r.truncated} "
                            f"last={r.last_reward:.1f}",
                            flush=True,
                        )
                cells[mode] = metric(scenario, results, timeout)
        finally:
            env.close()
        name, target = TARGETS.get(scenario, ("mean return", float("nan")))
        teacher_ms, env_ms = 1e3 * t_teacher / steps, 1e3 * t_env / steps
        rows.append((scenario, name, target, cells, teacher_ms, env_ms))
    lines = [
        f"| scenario | metric | target | {' | '.join(args.modes)} | teacher ms/step "
        "| env ms/step | teacher/env |",
        "|---|---|---|" + "---|" * len(args.modes) + "---|---|---|",
    ]
    for scenario, name, target, cells, teacher_ms, env_ms in rows:
        values = " | ".join(f"{cells[m]:.1f}" for m in args.modes)
        lines.append(
            f"| {scenario} | {name} | >= {target:g} | {values} | {teacher_ms:.3f} | "
            f"{env_ms:.3f} | {100 * teacher_ms / env_ms:.0f}% |"
        )
    table = "\n".join(lines)
    print(
        f"\n{args.episodes} episodes per cell "
        f"(seeds {args.first_seed}..{args.first_seed + args.episodes - 1}), "
        f"frame skip {args.frame_skip}, labels buffer {'on' if args.labels else 'off'}\n"
    )
    print(table)
    return table


if __name__ == "__main__":
    main(tyro.cli(BenchArgs))
