"""``doomgps demo``: the README's main job in one command.

Trains a pixel student on defend_the_center on the CPU (about 15 minutes on 2 cores; the preset:
DAgger with argmax labels from the imitable teacher firing only standing, mirrored samples,
160x60 input holding the frames of steps t, t-1, t-3 and t-7, column-max pooling and the
student's last 4 actions as input: the best measured, see docs/agents.md),
evaluates it beside its teacher and the random policy on the same fixed seeds, prints a small
table, and says where the TensorBoard logs are and how to open them.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Literal

import tyro


@dataclasses.dataclass(frozen=True)
class DemoArgs:
    """Train a student on defend_the_center, then compare it with the teacher and random."""

    scenario: str = "defend_the_center"
    """Scenario to train on (defend_the_center is the demo's)."""
    mode: Literal["gps", "dagger", "bc"] | None = None
    """gps (adaptive labels), dagger or bc; default: the scenario's preset (dagger with argmax
    labels and mirrored samples on defend_the_center, the best measured)."""
    frames: int | None = None
    """Engine-frame budget; default: the scenario's preset (30,000 for defend_the_center)."""
    seed: int = 0
    """Seed of the run."""
    eval_episodes: int = 20
    """Episodes of the comparison (the same seeds for student, teacher and random)."""
    runs: Path = Path("runs")
    """Folder that holds the run directories."""


def table(result: dict) -> str:
    """The student / teacher / random table of a run summary (same seeds for all three)."""
    teacher = result["teacher"]["mean_return"]
    rows = [
        ("student", result["student"]),
        ("teacher", result["teacher"]),
        ("random", result["random"]),
    ]
    seeds = result["student"]["seeds"]
    lines = [
        f"{result['scenario']}: {len(seeds)} episodes on seeds {seeds[0]}..{seeds[-1]}",
        "| policy  | mean return | std   | vs teacher |",
        "|---------|------------:|------:|-----------:|",
    ]
    for name, report in rows:
        ratio = f"{report['mean_return'] / teacher:.0%}" if teacher > 0 else "-"
        lines.append(
            f"| {name:<7} | {report['mean_return']:11.2f} | {report['std_return']:5.2f} "
            f"| {ratio:>10} |"
        )
    return "\n".join(lines)


def main(argv: list[str]) -> int:
    """Trains, evaluates and prints the comparison."""
    args = tyro.cli(DemoArgs, args=argv, prog="doomgps demo")
    from agents.config import evaluates_symmetric
    from agents.gps import run_gps
    from core.hardware import machines_line
    from core.run_dir import make_run_dir, save_config
    from scripts.train import TrainArgs, build_config, snapshot_ensemble_line

    config = build_config(
        TrainArgs(
            scenario=args.scenario,
            mode=args.mode,
            frames=args.frames,
            seed=args.seed,
            runs=args.runs,
            eval_episodes=args.eval_episodes,
        )
    )
    run_dir = make_run_dir(args.runs, config.scenario, config.mode, config.seed)
    save_config(run_dir, config)
    print(
        f"training a pixel student on {config.scenario} ({config.mode}, {config.frames:,} "
        f"engine frames) in {run_dir}"
    )
    print(f"watch it live: tensorboard --logdir {run_dir / 'tb'}")
    result = run_gps(config, run_dir)
    print()
    print(table(result))
    print(
        f"\n{result['frames']:,} frames, {result['optimizer_steps']} optimizer steps, "
        f"{result['wall_seconds']:.0f} s {machines_line(result['hardware'])}"
    )
    if evaluates_symmetric(config):
        print(
            "student policy: left-right symmetric (the mean of its logits on the frames and on "
            "their mirror image); it trained acting plainly"
        )
    if config.logit_adjustment:
        print(
            f"student policy: logit-adjusted (tau {config.logit_adjustment:g}): rare labels such "
            "as firing lifted by how rarely the teacher chose them (docs/agents.md)"
        )
    if result["snapshot_ensemble"] is not None:
        print(f"student: {snapshot_ensemble_line(result)}")
    elif result["selected"] is not None:
        print(
            f"student: the iterate at {result['selected']['frames']:,} frames, the best on "
            f"{config.validation_episodes} separate validation seeds (the last iterate scored "
            f"{result['last']['mean_return']:.2f})"
        )
    print(f"TensorBoard logs: {run_dir / 'tb'}  ->  tensorboard --logdir {run_dir / 'tb'}")
    print(f"SavedModel: {run_dir / 'saved_model'}")
    print(f"evaluate again: doomgps eval --scenario {config.scenario} --policy {run_dir}")
    return 0
