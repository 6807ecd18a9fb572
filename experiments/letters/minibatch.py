"""Minibatch training of letter classifiers on the core (SGD LR, hidden layer, dilated conv).

Every variant gets its own TensorBoard folder ``tb/{variant}`` (so curves overlay), checkpoints
``checkpoints/{variant}`` and an ``eval_{variant}.jsonl`` history; the x-axis is the optimizer
step. ``--resume RUN_DIR`` continues every unfinished variant from its last checkpoint.
"""

from __future__ import annotations

import dataclasses
import json
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import keras
import tensorflow as tf

from core.data import ArrayStream, batches_in_order
from core.logger import Logger
from core.precision import PrecisionChoice, resolve_precision, set_precision, wrap_optimizer
from core.runs import open_run
from core.seeding import seed_everything
from core.trainer import (
    Learner,
    TrainerConfig,
    build_optimizer,
    evaluate_classifier,
    supervised_step,
)
from experiments.letters.data import DataConfig, Letters, load_letters
from experiments.letters.report import new_figure, save_figure, write_table


@dataclasses.dataclass(frozen=True)
class RunConfig:
    """Where a run goes and how it is seeded."""

    runs: Path = Path("runs")
    """folder holding all run directories"""
    name: str = "default"
    """a short label in the run directory's name"""
    seed: int = 1
    """seed of weights, dropout and batch order"""
    resume: Path | None = None
    """an existing run directory to continue (same settings required)"""
    show_progress: bool = True
    """show progress bars on a terminal"""
    jit_compile: bool = False
    """compile train steps with XLA"""
    precision: PrecisionChoice = "float32"
    """float32, mixed_float16, mixed_bfloat16, or auto: what this machine's GPU or CPU computes
    natively (core.precision.auto_precision)"""


def normalise_batch(batch: dict[str, tf.Tensor]) -> dict[str, tf.Tensor]:
    """``uint8`` pixels to ``(x - 127.5) / 255`` inside the input pipeline."""
    return {"x": (tf.cast(batch["x"], tf.float32) - 127.5) / 255.0, "y": batch["y"]}


@dataclasses.dataclass
class Variant:
    """One model to train: a name, a model factory, an optimizer factory."""

    name: str
    model: Callable[[], keras.Model]
    optimizer: Callable[[], keras.optimizers.Optimizer]


def _read_history(path: Path) -> list[dict[str, Any]]:
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def train_variants(
    config: Any,
    experiment: str,
    letters: Letters | None,
    variants: Sequence[Variant],
    *,
    run: RunConfig,
    steps: int,
    batch_size: int,
    eval_every: int,
    report_steps: Sequence[int],
    title: str,
) -> Path:
    """Trains each variant with the core's :class:`~core.trainer.Learner`; writes
    ``results.md/.csv``, ``accuracy.png`` and TensorBoard logs into the run directory.

    Returns:
        The run directory.
    """
    run_dir = open_run(
        config,
        root=run.runs,
        experiment=experiment,
        name=run.name,
        seed=run.seed,
        resume=run.resume,
    )
    data_cfg: DataConfig = config.data
    if letters is None:
        letters = load_letters(data_cfg, show_progress=run.show_progress)
    precision = resolve_precision(run.precision)
    set_precision(precision)
    valid = batches_in_order({"x": letters.valid_x, "y": letters.valid_y}, 1000, normalise_batch)
    test = batches_in_order({"x": letters.test_x, "y": letters.test_y}, 1000, normalise_batch)
    rows: list[dict[str, Any]] = []
    curves: dict[str, list[tuple[int, float]]] = {}
    for variant in variants:
        seed_everything(run.seed)
        model, optimizer = variant.model(), wrap_optimizer(variant.optimizer(), precision)
        build_optimizer(optimizer, model)
        logger = Logger(run_dir / "tb" / variant.name)
        logger.config(config)
        logger.write(
            {
                "data/train_size": len(letters.train_y),
                "data/valid_size": len(letters.valid_y),
                "data/test_size": len(letters.test_y),
            },
            0,
        )
        history_path = run_dir / f"eval_{variant.name}.jsonl"

        def evaluate(model: keras.Model = model) -> dict[str, float]:
            v, t = evaluate_classifier(model, valid), evaluate_classifier(model, test)
            return {
                "valid_accuracy": v["accuracy"],
                "valid_loss": v["loss"],
                "test_accuracy": t["accuracy"],
            }

        stream = ArrayStream(
            {"x": letters.train_x, "y": letters.train_y},
            batch_size,
            seed=run.seed,
            transform=normalise_batch,
        )
        learner = Learner(
            supervised_step(model, optimizer),
            stream,
            config=TrainerConfig(
                steps=steps,
                log_every=100,
                eval_every=eval_every,
                checkpoint_every=max(eval_every, 1000),
                jit_compile=run.jit_compile,
            ),
            trackables={"model": model, "optimizer": optimizer},
            logger=logger,
            checkpoint_dir=run_dir / "checkpoints" / variant.name,
            evaluate=evaluate,
            rng=None,
            batch_size=batch_size,
            show_progress=run.show_progress,
        )
        learner.restore()
        history = [h for h in _read_history(history_path) if h["step"] <= learner.steps]
        start = time.perf_counter()
        seen = len(learner.history)
        try:
            learner.run()
            final = learner.history[-1][1] if learner.history else {}
            logger.hparams(
                {
                    "variant": variant.name,
                    "steps": steps,
                    "batch_size": batch_size,
                    "precision": precision,
                },
                {f"eval/final_{k}": v for k, v in final.items()},
            )
        finally:
            with open(history_path, "w") as handle:
                merged = {h["step"]: h for h in history}
                merged.update({s: {"step": s, **m} for s, m in learner.history[seen:]})
                for step in sorted(merged):
                    handle.write(json.dumps(merged[step]) + "\n")
            logger.close()
        wall = time.perf_counter() - start
        history = _read_history(history_path)
        curves[variant.name] = [(h["step"], h["valid_accuracy"]) for h in history]
        by_step = {h["step"]: h for h in history}
        for report_step in report_steps:
            if report_step in by_step:
                h = by_step[report_step]
                rows.append(
                    {
                        "variant": variant.name,
                        "steps": report_step,
                        "minibatch_train_accuracy": learner.last_metrics.get(
                            "accuracy", float("nan")
                        )
                        if report_step == steps
                        else "",
                        "valid_accuracy": h["valid_accuracy"],
                        "test_accuracy": h["test_accuracy"],
                        "wall_s (this session)": round(wall, 1),
                    }
                )
    table = write_table(run_dir, "results", rows)
    figure, axes = new_figure()
    for name, points in curves.items():
        axes.plot([p[0] for p in points], [100 * p[1] for p in points], marker=".", label=name)
    axes.set(xlabel="optimizer step", ylabel="validation accuracy (%)", title=title)
    axes.grid(alpha=0.3)
    axes.legend()
    png = save_figure(figure, run_dir / "accuracy.png")
    with Logger(run_dir / "tb" / "summary") as logger:
        logger.image("eval/accuracy_plot", png, step=steps)
        logger.text("eval/results", table, step=steps)
    print(table)
    print(f"run directory: {run_dir}")
    return run_dir
