"""The core's train step vs ``model.fit``: same model, same data, samples/s in one process.

Usage: ``python -m benchmarks.core_step [--steps 600] [--model hidden|logreg|conv] [--xla]``

Both sides train the same architecture from the same initial weights on the same float32
arrays, batch 128, plain SGD; each is timed after a warm-up (tracing excluded), alternating
A/B/A/B to spread machine load evenly, best of the repeats. Prints samples/s and the ratio.
"""

from __future__ import annotations

import argparse
import os
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras
import numpy as np

from core.data import ArrayStream
from core.hardware import describe_hardware, hardware_line
from core.trainer import Learner, TrainerConfig, build_optimizer, supervised_step
from experiments.letters.models import dilated_convnet, hidden_layer, logistic_regression

MODELS = {
    "hidden": lambda: hidden_layer(1024),
    "logreg": logistic_regression,
    "conv": lambda: dilated_convnet(32, 3, 64),
}


def main() -> None:
    """Runs the benchmark and prints one line per measurement and the ratio."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=600)
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--model", choices=sorted(MODELS), default="hidden")
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--xla", action="store_true", help="jit_compile both sides")
    args = parser.parse_args()
    print(f"machine: {hardware_line(describe_hardware())}")
    rng = np.random.default_rng(0)
    n = (args.steps + 20) * args.batch_size  # fit must not run out of data in one epoch
    x = rng.normal(0, 0.3, size=(n, 28, 28)).astype(np.float32)
    y = rng.integers(0, 10, size=n).astype(np.int32)
    keras.utils.set_random_seed(0)

    fit_model = MODELS[args.model]()
    fit_model.compile(
        keras.optimizers.SGD(0.05),
        keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        metrics=["accuracy"],
        jit_compile=args.xla,
    )
    fit_model.fit(x, y, batch_size=args.batch_size, epochs=1, steps_per_epoch=20, verbose=0)

    core_model = MODELS[args.model]()
    core_model.set_weights(fit_model.get_weights())
    optimizer = keras.optimizers.SGD(0.05)
    build_optimizer(optimizer, core_model)
    learner = Learner(
        supervised_step(core_model, optimizer),
        ArrayStream({"x": x, "y": y}, args.batch_size, seed=0),
        config=TrainerConfig(
            steps=10**9, log_every=100, eval_every=0, checkpoint_every=0, jit_compile=args.xla
        ),
        show_progress=False,
    )
    learner.run(until=20)

    best = {"fit": 0.0, "core": 0.0}
    for _ in range(args.repeats):
        start = time.perf_counter()
        fit_model.fit(
            x, y, batch_size=args.batch_size, epochs=1, steps_per_epoch=args.steps, verbose=0
        )
        best["fit"] = max(best["fit"], args.steps * args.batch_size / (time.perf_counter() - start))
        start = time.perf_counter()
        learner.run(until=learner.steps + args.steps)
        best["core"] = max(
            best["core"], args.steps * args.batch_size / (time.perf_counter() - start)
        )
    print(
        f"model={args.model} batch={args.batch_size} steps={args.steps} xla={args.xla} "
        f"cpus={os.cpu_count()}"
    )
    print(f"model.fit     : {best['fit']:10.0f} samples/s")
    print(f"core Learner  : {best['core']:10.0f} samples/s")
    print(f"ratio core/fit: {best['core'] / best['fit']:.2f}x")


if __name__ == "__main__":
    main()
