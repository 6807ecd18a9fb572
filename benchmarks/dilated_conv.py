"""The student's dilated convolutions: the direct op against Keras' rearrangement.

Keras' ``Conv2D`` computes a dilated convolution through ``tf.nn.convolution``, which rearranges
the image into ``dilation**2`` smaller ones (``space_to_batch``), convolves them and rearranges
back; :class:`core.layers.DilatedConv2D` hands the dilation to the convolution op itself
(oneDNN's or cuDNN's dilated kernel); ``doomgps train --dilated-conv keras|direct`` chooses.
Both are measured in the same run, on the scenario's training-preset student, for each
``--precisions`` entry:

1. milliseconds per batched inference call of :class:`agents.student_actor.StudentActor` at the
   vector env's batch (``--num-envs`` frames), the call every rollout step makes;
2. samples/s of the GPS training step run by :class:`core.trainer.Learner`.

The two networks hold the same weights; the largest difference between their action
probabilities is printed beside the timings. Rounds alternate between the two so that a change
in the machine's load falls on both.

Run: ``python -m benchmarks.dilated_conv`` (``--scenario take_cover``, ``--precisions float32
mixed_bfloat16``).
"""

from __future__ import annotations

import dataclasses
import statistics
import time

import numpy as np
import tyro

from core.hardware import describe_hardware, hardware_line
from core.precision import Precision

ROUTES = ("keras", "direct")
"""The two values of ``StudentConfig.dilated_conv`` (``doomgps train --dilated-conv``)."""


@dataclasses.dataclass(frozen=True)
class BenchArgs:
    """Time the student's dilated convolutions through Keras and through the direct op."""

    scenario: str = "defend_the_center"
    """Scenario whose training preset fixes the student and its input."""
    num_envs: int = 4
    """Frames per inference call (the vector env's width)."""
    calls: int = 200
    """Timed inference calls per round."""
    batch_size: int = 64
    """Samples per optimizer step."""
    steps: int = 40
    """Timed optimizer steps per round (after a warm-up of 5)."""
    rounds: int = 3
    """Alternating rounds per route; the median round is reported."""
    precisions: tuple[Precision, ...] = ("float32",)
    """Keras dtype policies to measure (``doomgps train --precision``)."""


def _measure(args: BenchArgs, precision: Precision) -> dict[str, dict[str, float]]:
    from agents.student import build_student
    from agents.student_actor import StudentActor
    from benchmarks.learner import learner_samples_per_sec, primed_learner, synthetic_rows
    from core.data import ArrayStream
    from core.seeding import seed_everything
    from envs.registry import get_spec
    from scripts.train import TrainArgs, build_config

    config = build_config(TrainArgs(scenario=args.scenario, precision=precision))
    num_actions = len(get_spec(args.scenario).actions)
    shape = config.env.observation_shape
    student_config = dataclasses.replace(config.student, aux_heads=False)
    rows = synthetic_rows(shape, num_actions, student_config.previous_actions, 16 * args.batch_size)
    stream = ArrayStream(rows, args.batch_size)
    frames = rows["observation"][: args.num_envs]

    seed_everything(0)
    weights = build_student(shape, num_actions, student_config).get_weights()
    actors, learners = {}, {}
    for route in ROUTES:
        routed = dataclasses.replace(student_config, dilated_conv=route)
        model = build_student(shape, num_actions, routed)
        model.set_weights(weights)
        actors[route] = StudentActor(model)
        actors[route].probabilities(frames)
        trained = build_student(shape, num_actions, routed)
        trained.set_weights(weights)
        learners[route] = primed_learner(trained, precision, stream, warmup=5)
    difference = float(
        np.abs(actors["keras"].probabilities(frames) - actors["direct"].probabilities(frames)).max()
    )
    rounds: dict[str, dict[str, list[float]]] = {
        route: {"inference_ms": [], "samples_per_sec": []} for route in ROUTES
    }
    for _ in range(args.rounds):
        for route in ROUTES:
            started = time.perf_counter()
            for _ in range(args.calls):
                actors[route].probabilities(frames)
            elapsed = time.perf_counter() - started
            rounds[route]["inference_ms"].append(1000.0 * elapsed / args.calls)
            rounds[route]["samples_per_sec"].append(
                learner_samples_per_sec(learners[route], args.steps, args.batch_size)
            )
    report = {
        route: {key: statistics.median(values) for key, values in rounds[route].items()}
        for route in ROUTES
    }
    report["direct"]["probability_difference"] = difference
    return report


def main() -> None:
    """Measures both routes for each precision and prints one table."""
    args = tyro.cli(BenchArgs, prog="python -m benchmarks.dilated_conv")
    print(f"machine: {hardware_line(describe_hardware())}")
    print(
        f"{args.scenario} preset student; inference at {args.num_envs} frames a call, "
        f"training at {args.batch_size} a step; the median of {args.rounds} alternating rounds\n"
    )
    print(
        "| precision | inference ms, keras | direct | speed-up | learner samples/s, keras "
        "| direct | speed-up | largest probability difference |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for precision in args.precisions:
        report = _measure(args, precision)
        keras_route, direct = report["keras"], report["direct"]
        print(
            f"| {precision} | {keras_route['inference_ms']:.2f} | {direct['inference_ms']:.2f} | "
            f"{keras_route['inference_ms'] / direct['inference_ms']:.2f}x | "
            f"{keras_route['samples_per_sec']:.0f} | {direct['samples_per_sec']:.0f} | "
            f"{direct['samples_per_sec'] / keras_route['samples_per_sec']:.2f}x | "
            f"{direct['probability_difference']:.1e} |"
        )


if __name__ == "__main__":
    main()
