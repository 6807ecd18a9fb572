"""Does a run's student play as well as a fresh network fitted to the same dataset?

Not a speed benchmark but a diagnosis of the alternation's training. A run trains one network
round after round on a dataset that grows; this trains a student of the run's own config on the
run's *whole* dataset in one go, from fresh weights (``--start fresh``) or from the run's own
last or chosen iterate (``--start last`` / ``chosen``), with the run's step (its mirroring,
label weighting, sequences for a recurrent student), and plays it live (the plain greedy policy:
no symmetric policy, no logit adjustment) before and after. Feed-forward and recurrent students
alike. Each row also gives the share of the encoder's last dilated layer, bottleneck and dense
layer that never fires on 512 of the dataset's rows (:mod:`agents.dormancy`).

    .venv/bin/python -m benchmarks.refit --run RUN_DIR --start last --steps 0   # the run's own
    .venv/bin/python -m benchmarks.refit --run RUN_DIR --start fresh --steps 4500
    .venv/bin/python -m benchmarks.refit --run RUN_DIR --start last --steps 1500

A fresh fit far ahead of the run's iterate, where more steps from the run's weights do not close
the gap, says the run's network lost what the data could teach it (session 50: the GRU students'
encoders had gone dormant, docs/agents.md), not that the data or the network's size fall short.
"""

from __future__ import annotations

import dataclasses
import time
from pathlib import Path
from typing import Literal

import tyro

Start = Literal["fresh", "last", "chosen"]


@dataclasses.dataclass(frozen=True)
class BenchArgs:
    """Fit a student of a run's config to the run's whole dataset; play it before and after."""

    run: Path
    """A training run directory (finished or live: its dataset is read without writing)."""
    start: Start = "fresh"
    """fresh: new weights; last: the run's newest checkpoint; chosen: the iterate the run chose on
    its validation seeds."""
    steps: int = 1500
    """Optimizer steps on the whole dataset (0: only play the starting student)."""
    episodes: int = 10
    """Live episodes played by the student, before (unless fresh) and after the fit."""
    eval_seed: int = 0
    """Seed of the first live episode."""
    seed: int = 0
    """Seeds the fresh weights and the batches."""


def start_prefix(run: Path, start: Start) -> str | None:
    """The checkpoint prefix ``start`` names in ``run`` (``None``: the chosen iterate).

    Raises:
        UserError: ``last`` in a run without checkpoints.
    """
    import tensorflow as tf

    from core.errors import UserError

    if start != "last":
        return None
    prefix = tf.train.latest_checkpoint(str(run / "checkpoints"))
    if prefix is None:
        raise UserError(f"{run}: no checkpoint in {run / 'checkpoints'}")
    return prefix


def main(args: BenchArgs) -> str:
    """Fits, plays, and returns the markdown table it printed."""
    import keras

    from agents.evaluation import evaluate
    from agents.gps import dormancy_scalars, imitation_step, training_columns, training_stream
    from agents.learner import mirror_permutation
    from agents.student import build_student
    from agents.student_actor import StudentActor, restore_student
    from benchmarks.offline_fit import load_rows
    from core.errors import UserError
    from core.precision import wrap_optimizer
    from core.seeding import seed_everything
    from core.trainer import Learner, TrainerConfig, build_optimizer
    from envs.registry import get_spec
    from scripts.train import load_run_config

    if args.steps < 0 or args.episodes < 1:
        raise UserError("--steps must be >= 0 and --episodes >= 1")
    if args.start == "fresh" and args.steps == 0:
        raise UserError("--start fresh needs --steps above 0 (untrained weights play randomly)")
    config = load_run_config(args.run, None)
    spec = get_spec(config.scenario)
    prefix = start_prefix(args.run, args.start)
    seed_everything(args.seed)
    if args.start == "fresh":
        model = build_student(config.env.observation_shape, len(spec.actions), config.student)
    else:
        model = restore_student(args.run, prefix)[0]
    env_config = dataclasses.replace(config.env, engine_state=False, engine_state_in_info=False)

    def live() -> float:
        actor = StudentActor(model)  # plain and greedy: the run's rollouts' policy
        results = evaluate(
            spec,
            actor,
            episodes=args.episodes,
            seed=args.eval_seed,
            env_config=env_config,
            show_progress=False,
        )
        return results.mean_return

    rows = load_rows(args.run)
    size = len(rows["label"])
    columns = training_columns(config, rows)

    def dormant() -> str:  # % of units that never fire on 512 of the dataset's rows
        fractions = dormancy_scalars(model, columns, seed=args.seed)
        dilated = [tag for tag in fractions if "/dilated_act" in tag][-1]
        tags = (dilated, "train/dormant/bottleneck", "train/dormant/features")
        return " / ".join(f"{fractions[tag]:.0%}" for tag in tags)

    lines = [
        "| student | optimizer steps | dataset rows | live return | seconds "
        "| dormant: last dilated / bottleneck / dense |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    if args.start != "fresh":
        lines.append(
            f"| the run's {args.start} iterate | 0 | {size} | {live():.2f} | 0 | {dormant()} |"
        )
    if args.steps:
        optimizer = wrap_optimizer(
            keras.optimizers.Adam(config.learning_rate), config.student.precision
        )
        build_optimizer(optimizer, model)
        stream, batch = training_stream(config)
        stream.use(columns, batch, seed=args.seed)
        mirror = mirror_permutation(spec.action_names) if config.mirror else None
        step = imitation_step(config, model, optimizer, mirror)
        started = time.perf_counter()
        trainer = TrainerConfig(steps=args.steps, log_every=args.steps)
        Learner(step, stream, config=trainer, show_progress=False).run()
        seconds = time.perf_counter() - started
        name = "fresh weights" if args.start == "fresh" else f"the run's {args.start} iterate"
        lines.append(
            f"| {name}, fitted | {args.steps} | {size} | {live():.2f} | {seconds:.0f} "
            f"| {dormant()} |"
        )
    table = "\n".join(lines)
    print(f"{args.run} ({config.scenario}, {args.episodes} episodes from seed {args.eval_seed})")
    print(table)
    return table


if __name__ == "__main__":
    main(tyro.cli(BenchArgs))
