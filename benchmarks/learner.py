"""Learner and rollout throughput of the pixel student.

1. Samples/s of the GPS training step run by :class:`core.trainer.Learner` versus ``model.fit``
   on the same student, the same data and the same batch size (target: >= 1.0x), in
   alternating rounds (medians reported).
2. Rollout steps/s of the vector env with the student acting (one batched network call per
   step) versus the env alone with random actions (target: >= 0.5x), each timed from its first
   step to its last over at least 32 episodes, in alternating rounds (medians reported), for
   4, 16 and 32 envs: a call of the network has a fixed cost that a larger batch spreads.

Both are measured for each ``--precisions`` entry in the same run, and each precision's speed is
also printed against the first one's (``--precisions float32 mixed_bfloat16``: what bfloat16
buys on this machine).

Run: ``python -m benchmarks.learner`` (add ``--json`` for one JSON line per precision).
"""

from __future__ import annotations

import dataclasses
import json
import operator
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

import numpy as np
import tyro

from core.hardware import describe_hardware, hardware_line
from core.precision import Precision

if TYPE_CHECKING:  # TensorFlow loads only when a benchmark runs, not for --help
    import keras

    from core.data import ArrayStream
    from core.trainer import Learner


@dataclasses.dataclass(frozen=True)
class BenchArgs:
    """Measure learner samples/s and rollout steps/s of the student."""

    scenario: str = "defend_the_center"
    """Scenario of the rollout benchmark (also fixes the number of actions)."""
    samples: int = 2048
    """Synthetic training samples (random uint8 frames and soft labels)."""
    batch_size: int = 64
    """Samples per optimizer step."""
    steps: int = 100
    """Timed optimizer steps (after a warm-up of 10)."""
    num_envs: tuple[int, ...] = (4, 16, 32)
    """Engine counts of the rollout benchmark, each measured on its own vector env (4 is
    ``doomgps train``'s default, ``--num-envs``)."""
    episodes: int = 32
    """Episodes per rollout measurement, at least 4 per env (each env plays about
    ``episodes / num_envs`` in a row)."""
    rounds: int = 3
    """Alternating rounds of the learner and ``model.fit``, and of the two rollout
    measurements; the medians are reported."""
    preset: bool = True
    """Use the scenario's training preset (input width, pooling, action history); otherwise the
    default 80x60 flattened student."""
    precisions: tuple[Precision, ...] = ("float32",)
    """Keras dtype policies to measure, one after the other (``doomgps train --precision``);
    ``mixed_bfloat16`` is fast on GPUs and on CPUs with bfloat16 instructions (AVX512-BF16,
    AMX)."""
    json: bool = False
    """Print one JSON object per precision instead of the table."""


def _setup(args: BenchArgs, precision: Precision):
    """The env config and student config the benchmark measures."""
    from agents.student import StudentConfig
    from envs.config import EnvConfig

    if not args.preset:
        return EnvConfig(), StudentConfig(precision=precision)
    from scripts.train import TrainArgs, build_config

    config = build_config(TrainArgs(scenario=args.scenario, precision=precision))
    return config.env, config.student


def synthetic_rows(
    shape: tuple[int, ...], num_actions: int, history: int, samples: int
) -> dict[str, np.ndarray]:
    """The rows the learner benchmarks train on: random uint8 frames, soft labels and previous
    actions, and no auxiliary targets (the students are built without aux heads)."""
    rng = np.random.default_rng(0)
    observation = rng.integers(0, 255, (samples, *shape), dtype=np.uint8)
    label = rng.dirichlet(np.ones(num_actions), samples).astype(np.float32)
    previous = rng.integers(-1, num_actions, (samples, history)).astype(np.int32)
    return {
        "observation": observation,
        "previous_actions": previous,
        "label": label,
        "aux": np.zeros((samples, 4), np.int8),
    }


def primed_learner(
    model: keras.Model,
    precision: Precision,
    stream: ArrayStream,
    jit_compile: bool = False,
    warmup: int = 10,
) -> Learner:
    """A :class:`core.trainer.Learner` running the GPS step on ``model`` with Adam, its step
    already traced and run ``warmup`` times, so the next steps can be timed."""
    import keras

    from agents.learner import gps_step
    from core.precision import wrap_optimizer
    from core.trainer import Learner, TrainerConfig, build_optimizer

    optimizer = wrap_optimizer(keras.optimizers.Adam(1e-3), precision)
    build_optimizer(optimizer, model)
    learner = Learner(
        gps_step(model, optimizer),
        stream,
        config=TrainerConfig(steps=10**9, log_every=10**9, jit_compile=jit_compile),
        show_progress=False,
    )
    learner.run(until=warmup)
    return learner


def learner_samples_per_sec(learner: Learner, steps: int, batch_size: int) -> float:
    """Samples/s of ``steps`` more steps of a primed :class:`core.trainer.Learner`."""
    started = time.perf_counter()
    learner.run(until=learner.steps + steps)
    return steps * batch_size / (time.perf_counter() - started)


def _learner_rates(
    args: BenchArgs, num_actions: int, precision: Precision
) -> tuple[float, float, float]:
    """Samples/s of the core Learner's step (plain ``tf.function``; medians of ``args.rounds``
    rounds alternating with ``model.fit``), of ``model.fit`` on the same network (Keras's
    ``jit_compile="auto"`` chose no XLA for it on this CPU), and of the Learner's step compiled
    with XLA (one round)."""
    import keras
    import tensorflow as tf

    from agents.student import build_student
    from core.data import ArrayStream
    from core.seeding import seed_everything

    seed_everything(0)
    env_config, student_config = _setup(args, precision)
    shape = env_config.observation_shape
    k = student_config.previous_actions
    rows = synthetic_rows(shape, num_actions, k, args.samples)
    obs, labels, previous = rows["observation"], rows["label"], rows["previous_actions"]
    # model.fit gets the very same network
    config = dataclasses.replace(student_config, aux_heads=False)
    stream = ArrayStream(rows, args.batch_size)

    class StepClock(keras.callbacks.Callback):
        """Times ``model.fit`` from the end of its first step to the end of its last: ``fit``
        can wait seconds after its last step before it returns (2.4 s after 100 steps of the
        80x60 student here, none after 150), which a timer around the call counted as training
        until session 29."""

        first = last = 0.0

        def on_train_batch_end(self, batch: int, logs: dict | None = None) -> None:
            self.last = time.perf_counter()
            self.first = self.first or self.last

    learner = primed_learner(build_student(shape, num_actions, config), precision, stream)
    model = build_student(shape, num_actions, config)
    model.compile(
        optimizer=keras.optimizers.Adam(1e-3),
        loss={"logits": keras.losses.CategoricalCrossentropy(from_logits=True)},
    )
    inputs = obs if not k else {"observation": obs, "previous_actions": previous}
    data = (
        tf.data.Dataset.from_tensor_slices((inputs, {"logits": labels}))
        .repeat()
        .shuffle(args.samples)
        .batch(args.batch_size)
        .prefetch(tf.data.AUTOTUNE)
    )
    model.fit(data, steps_per_epoch=10, epochs=1, verbose=0)
    ours, fit = [], []
    for _ in range(args.rounds):
        ours.append(learner_samples_per_sec(learner, args.steps, args.batch_size))
        clock = StepClock()
        model.fit(data, steps_per_epoch=args.steps + 1, epochs=1, verbose=0, callbacks=[clock])
        fit.append(args.steps * args.batch_size / (clock.last - clock.first))
    xla = primed_learner(build_student(shape, num_actions, config), precision, stream, True)
    xla_rate = learner_samples_per_sec(xla, args.steps, args.batch_size)
    return float(np.median(ours)), xla_rate, float(np.median(fit))


def _steady_rate(vec, actor, episodes: int, seed: int) -> float:
    """Counted (active) steps per second of one :func:`agents.rollout.run_episodes` call, timed
    from its first vector step to its last.

    The opening reset is left out: it restarts the engine of every env whose episode the
    previous call cut short (its fillers; 0.16 s an engine here, against 2 ms for a reset after
    an episode's end), a fixed cost per call, not per step. Timed in, it dominated the short
    measurement this benchmark made until session 29 and lifted defend_the_center's ratio from
    about 0.33x to 0.5x.
    """
    from agents.rollout import run_episodes

    started, steps = 0.0, 0

    def count(t) -> None:  # after each vector step; the episodes' last one ends the call
        nonlocal started, steps
        if started:
            steps += int(t.active.sum())
        else:
            started = time.perf_counter()

    run_episodes(vec, actor, episodes, seed, on_step=count, show_progress=False)
    return steps / (time.perf_counter() - started)


def _rollout_rates(args: BenchArgs, precision: Precision, num_envs: int) -> dict:
    """Median steps/s of ``num_envs`` envs alone (random actions) and with the student acting,
    over ``args.rounds`` alternating rounds on the same seeds, and the student's ms per call."""
    from agents.actors import RandomActor
    from agents.student import build_student
    from agents.student_actor import StudentActor
    from envs.registry import get_spec
    from envs.vector import make_vector_env

    spec = get_spec(args.scenario)
    config, student_config = _setup(args, precision)
    vec = make_vector_env(spec, num_envs, config)
    episodes = max(args.episodes, 4 * num_envs)
    student = StudentActor(
        build_student(config.observation_shape, len(spec.actions), student_config)
    )
    actors = (RandomActor(len(spec.actions)), student)
    rates: tuple[list[float], list[float]] = ([], [])
    try:
        for actor in actors:  # warm-up: the engines' first episodes and the student's trace
            _steady_rate(vec, actor, num_envs, 0)
        student.calls, student.seconds = 0, 0.0
        for _ in range(args.rounds):
            for actor, rate in zip(actors, rates, strict=True):
                rate.append(_steady_rate(vec, actor, episodes, 100))
    finally:
        vec.close()
    env_alone, with_student = float(np.median(rates[0])), float(np.median(rates[1]))
    return {
        "num_envs": num_envs,
        "env_steps_per_sec": round(env_alone, 1),
        "student_rollout_steps_per_sec": round(with_student, 1),
        "rollout_vs_env": round(with_student / env_alone, 3),
        "inference_ms_per_batch": round(student.inference_ms, 2),
    }


def _measure(args: BenchArgs, precision: Precision) -> dict:
    from envs.registry import get_spec

    ours, ours_xla, fit = _learner_rates(args, len(get_spec(args.scenario).actions), precision)
    return {
        "precision": precision,
        "learner_samples_per_sec": round(ours, 1),
        "fit_samples_per_sec": round(fit, 1),
        "learner_vs_fit": round(ours / fit, 3),
        "learner_xla_samples_per_sec": round(ours_xla, 1),
        "learner_xla_vs_fit": round(ours_xla / fit, 3),
        "batch_size": args.batch_size,
        "rollouts": [_rollout_rates(args, precision, n) for n in args.num_envs],
    }


def _table_rows(args: BenchArgs) -> list[tuple[str, Callable[[dict], float], str, str]]:
    """(name, value of a report, format, target) of each row of the printed table."""
    rows = [
        ("learner step (core Learner), samples/s", "learner_samples_per_sec", "{:.0f}", ""),
        ("model.fit, samples/s", "fit_samples_per_sec", "{:.0f}", ""),
        ("learner / fit", "learner_vs_fit", "{:.2f}x", ">= 1.0x"),
        ("learner step with XLA, samples/s", "learner_xla_samples_per_sec", "{:.0f}", ""),
        ("learner with XLA / fit", "learner_xla_vs_fit", "{:.2f}x", ""),
    ]
    table = [(name, operator.itemgetter(key), form, target) for name, key, form, target in rows]
    for i, n in enumerate(args.num_envs):
        rollout = [
            (f"env alone ({n} envs, random actions), steps/s", "env_steps_per_sec", "{:.0f}", ""),
            (
                f"env + batched student ({n} envs), steps/s",
                "student_rollout_steps_per_sec",
                "{:.0f}",
                "",
            ),
            (f"student rollout / env alone ({n} envs)", "rollout_vs_env", "{:.2f}x", ">= 0.5x"),
            (f"student inference per {n}-env call, ms", "inference_ms_per_batch", "{:.2f}", ""),
        ]
        table += [
            (name, lambda r, i=i, key=key: r["rollouts"][i][key], form, target)
            for name, key, form, target in rollout
        ]
    return table


def main() -> None:
    """Runs both benchmarks for each precision and prints the table."""
    args = tyro.cli(BenchArgs, prog="python -m benchmarks.learner")
    reports = [_measure(args, precision) for precision in args.precisions]
    if args.json:
        for report in reports:
            print(json.dumps(report))
        return
    print(f"machine: {hardware_line(describe_hardware())}")
    print(f"{args.scenario}: " + ", ".join(r["precision"] for r in reports) + "\n")
    print("| measurement | " + " | ".join(r["precision"] for r in reports) + " | target |")
    print("|---|" + "---:|" * len(reports) + "---|")
    for name, value, form, target in _table_rows(args):
        cells = " | ".join(form.format(value(r)) for r in reports)
        print(f"| {name} | {cells} | {target} |")
    first = reports[0]
    for report in reports[1:]:  # faster is above 1x for all three
        learner = report["learner_samples_per_sec"] / first["learner_samples_per_sec"]
        print(f"\n{report['precision']} / {first['precision']}: learner step {learner:.2f}x")
        for ours, theirs in zip(report["rollouts"], first["rollouts"], strict=True):
            inference = theirs["inference_ms_per_batch"] / ours["inference_ms_per_batch"]
            rollout = (
                ours["student_rollout_steps_per_sec"] / theirs["student_rollout_steps_per_sec"]
            )
            print(
                f"  {ours['num_envs']} envs: inference {inference:.2f}x, student rollout "
                f"{rollout:.2f}x"
            )


if __name__ == "__main__":
    main()
