"""The learner: a compiled ``_step`` returning a dict of tensors, a Python ``step()`` around it.

A *step function* maps one batch to a dict of scalar tensors and does its own gradient work, so
the same :class:`Learner` runs supervised training (:func:`supervised_step`), the guided policy
search learner (KL to soft labels) and optimizers with their own update code. The learner
compiles it once (``tf.function``, optionally XLA), and around it counts steps, guards against
NaN/inf, logs ``train/*`` and ``perf/*`` every ``log_every`` steps, evaluates, and checkpoints
model, optimizer, step, RNG and data position. Ctrl-C (SIGINT) or SIGTERM finish the current
step, save a checkpoint and then raise ``KeyboardInterrupt``; :meth:`Learner.restore` continues
exactly from there. The x-axis of every logged curve is the optimizer step.
"""

from __future__ import annotations

import contextlib
import dataclasses
import math
import signal
import time
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

import keras
import numpy as np
import tensorflow as tf

from core.checkpoint import Checkpointer
from core.errors import UserError
from core.logger import Logger
from core.precision import scale_loss
from core.progress import progress

StepFn = Callable[[Any], Mapping[str, tf.Tensor]]
EvalFn = Callable[[], Mapping[str, float]]


@dataclasses.dataclass(frozen=True)
class TrainerConfig:
    """How long to train and how often to log, evaluate and checkpoint."""

    steps: int = 1000
    """optimizer steps in total (a resumed run continues up to this count)"""
    log_every: int = 100
    """write train/ and perf/ scalars every this many steps"""
    eval_every: int = 1000
    """run the evaluation function every this many steps (0: only at the end)"""
    checkpoint_every: int = 1000
    """save a checkpoint every this many steps (0: only at the end and on interruption)"""
    keep_checkpoints: int = 2
    """how many recent checkpoints to keep"""
    jit_compile: bool = False
    """compile the step with XLA"""
    nan_guard: bool = True
    """stop with a clear message when a metric becomes NaN or infinite"""


class NonFiniteError(UserError):
    """A training metric became NaN or infinite; the last good checkpoint is kept."""


def supervised_step(
    model: keras.Model,
    optimizer: keras.optimizers.Optimizer,
    loss_fn: Callable[[tf.Tensor, tf.Tensor], tf.Tensor] | None = None,
    *,
    x_key: str = "x",
    y_key: str = "y",
) -> StepFn:
    """A classification step: mean loss (+ the model's regularisation losses), one update.

    Args:
        model: maps ``batch[x_key]`` to logits.
        optimizer: a Keras optimizer (wrapped for loss scaling under ``mixed_float16``).
        loss_fn: ``(labels, logits) -> per-example loss``; default sparse softmax cross-entropy.
        x_key: the batch key of the inputs.
        y_key: the batch key of the integer labels.

    Returns:
        A step function returning ``loss`` (data loss), ``total_loss``, ``accuracy`` and
        ``grad_norm``.
    """
    if loss_fn is None:

        def loss_fn(labels: tf.Tensor, logits: tf.Tensor) -> tf.Tensor:
            return tf.nn.sparse_softmax_cross_entropy_with_logits(labels, logits)

    def step(batch: Mapping[str, tf.Tensor]) -> dict[str, tf.Tensor]:
        x, y = batch[x_key], tf.cast(batch[y_key], tf.int32)
        replicas = tf.distribute.get_strategy().num_replicas_in_sync
        with tf.GradientTape() as tape:
            logits = tf.cast(model(x, training=True), tf.float32)
            loss = tf.reduce_mean(loss_fn(y, logits))
            total = loss + tf.add_n([tf.cast(r, tf.float32) for r in model.losses] or [0.0])
            scaled = scale_loss(optimizer, total / replicas)
        grads = tape.gradient(scaled, model.trainable_variables)
        optimizer.apply_gradients(zip(grads, model.trainable_variables, strict=True))
        accuracy = tf.reduce_mean(
            tf.cast(tf.equal(tf.argmax(logits, -1, output_type=tf.int32), y), tf.float32)
        )
        return {
            "loss": loss,
            "total_loss": total,
            "accuracy": accuracy,
            "grad_norm": tf.linalg.global_norm(grads),
        }

    return step


def evaluate_classifier(
    model: keras.Model, dataset: tf.data.Dataset, *, x_key: str = "x", y_key: str = "y"
) -> dict[str, float]:
    """Mean cross-entropy and accuracy of ``model`` over one pass of ``dataset``."""

    @tf.function
    def sums(batch: Mapping[str, tf.Tensor]) -> tuple[tf.Tensor, tf.Tensor, tf.Tensor]:
        y = tf.cast(batch[y_key], tf.int32)
        logits = tf.cast(model(batch[x_key], training=False), tf.float32)
        loss = tf.nn.sparse_softmax_cross_entropy_with_logits(y, logits)
        correct = tf.cast(tf.equal(tf.argmax(logits, -1, output_type=tf.int32), y), tf.float32)
        return tf.reduce_sum(loss), tf.reduce_sum(correct), tf.cast(tf.size(y), tf.float32)

    total = np.zeros(3)
    for batch in dataset:
        total += [float(v) for v in sums(batch)]
    return {"loss": total[0] / max(total[2], 1), "accuracy": total[1] / max(total[2], 1)}


def build_optimizer(optimizer: keras.optimizers.Optimizer, model: keras.Model) -> None:
    """Creates the optimizer's slot variables now, so a checkpoint can be restored into them."""
    if not optimizer.built:
        optimizer.build(model.trainable_variables)


class _DeferredInterrupt(contextlib.AbstractContextManager):
    """Turns SIGINT/SIGTERM into a flag checked between steps (main thread only).

    A signal the process inherited as ignored stays ignored, as everywhere else in the program
    (the Unix convention: ``nohup`` and a shell script's background jobs start with SIGINT
    ignored, so a Ctrl-C in that terminal is not meant for them).
    """

    def __init__(self) -> None:
        self.requested = False
        self._old: dict[int, Any] = {}

    def __enter__(self) -> _DeferredInterrupt:
        with contextlib.suppress(ValueError):  # not the main thread: keep default handling
            for sig in (signal.SIGINT, signal.SIGTERM):
                if signal.getsignal(sig) is not signal.SIG_IGN:
                    self._old[sig] = signal.signal(sig, self._handle)
        return self

    def _handle(self, signum: int, frame: Any) -> None:
        if self.requested:  # a second Ctrl-C stops at once
            raise KeyboardInterrupt
        self.requested = True

    def __exit__(self, *exc: object) -> None:
        for sig, handler in self._old.items():
            signal.signal(sig, handler)


class Learner:
    """Runs a step function with counting, NaN guard, logging, evaluation and checkpoints.

    Args:
        step_fn: ``batch -> {name: scalar tensor}``; it updates its own variables.
        data: an iterator of batches; if it has a ``position`` variable and ``seek`` (a
            :class:`core.data.BatchStream`), the position is checkpointed and restored.
        config: steps and intervals.
        trackables: what a checkpoint holds besides step, data position and RNG, e.g.
            ``{"model": model, "optimizer": optimizer}``; build them before :meth:`restore`.
        logger: where ``train/``, ``eval/`` and ``perf/`` scalars go (optional).
        checkpoint_dir: where checkpoints go (optional; none are written without it).
        evaluate: ``() -> {name: value}``, logged under ``eval/`` every ``eval_every`` steps
            and at the end; results are kept in :attr:`history`.
        rng: a ``tf.random.Generator`` the step function draws from; checkpointed.
        batch_size: samples per step, for ``perf/samples_per_sec``.
        show_progress: show a progress bar (on a terminal).
        prefix: tag prefix of the step's metrics (``train/``; e.g. ``train/n500/`` to keep
            several learners apart in one log).
    """

    def __init__(
        self,
        step_fn: StepFn,
        data: Iterator[Any],
        *,
        config: TrainerConfig,
        trackables: Mapping[str, Any] | None = None,
        logger: Logger | None = None,
        checkpoint_dir: str | Path | None = None,
        evaluate: EvalFn | None = None,
        rng: tf.random.Generator | None = None,
        batch_size: int | None = None,
        show_progress: bool = True,
        prefix: str = "train/",
    ) -> None:
        self.config = config
        self.data = data
        self.logger = logger
        self.evaluate_fn = evaluate
        self.batch_size = batch_size
        self.show_progress = show_progress
        self.prefix = prefix
        self.counter = tf.Variable(0, dtype=tf.int64, trainable=False, name="step")
        self.history: list[tuple[int, dict[str, float]]] = []
        self.last_metrics: dict[str, float] = {}
        self._fn = step_fn
        self._step = tf.function(self._compiled_step, jit_compile=config.jit_compile)
        self.checkpointer: Checkpointer | None = None
        if checkpoint_dir is not None:
            objects = dict(trackables or {})
            objects["step"] = self.counter
            if hasattr(data, "position"):
                objects["data_position"] = data.position
            if rng is not None:
                objects["rng"] = rng
            self.checkpointer = Checkpointer(checkpoint_dir, config.keep_checkpoints, **objects)

    def _compiled_step(self, batch: Any) -> tuple[dict[str, tf.Tensor], tf.Tensor]:
        metrics = dict(self._fn(batch))
        finite = tf.reduce_all(
            tf.stack(
                [tf.reduce_all(tf.math.is_finite(tf.cast(v, tf.float32))) for v in metrics.values()]
            )
        )
        self.counter.assign_add(1)
        return metrics, finite

    @property
    def steps(self) -> int:
        """Optimizer steps done so far (restored from a checkpoint on resume)."""
        return int(self.counter.numpy())

    def restore(self) -> int:
        """Restores the newest checkpoint if there is one; returns the step it continues from.

        Raises:
            UserError: the checkpoint is corrupt or does not match.
        """
        restored = self.checkpointer is not None and self.checkpointer.restore_latest()
        if restored and hasattr(self.data, "seek"):
            self.data.seek(int(self.data.position.numpy()))
        return self.steps

    def save(self) -> str | None:
        """Writes a checkpoint at the current step (if a checkpoint folder was given)."""
        if self.checkpointer is None:
            return None
        return self.checkpointer.save(self.steps)

    def step(self) -> dict[str, tf.Tensor]:
        """Runs one compiled step on the next batch; returns its metrics (tensors).

        Raises:
            NonFiniteError: a metric is NaN or infinite (nothing is saved).
        """
        metrics, finite = self._step(next(self.data))
        if self.config.nan_guard and not bool(finite):
            bad = sorted(k for k, v in metrics.items() if not math.isfinite(float(v)))
            kept = self.checkpointer.latest if self.checkpointer else None
            raise NonFiniteError(
                f"train/{', train/'.join(bad) or 'metrics'} became NaN/inf at step {self.steps}; "
                f"stopped (lower the learning rate?); last good checkpoint kept: {kept or 'none'}"
            )
        return metrics

    def evaluate(self) -> dict[str, float]:
        """Runs the evaluation function, logs ``eval/*`` and records it in :attr:`history`."""
        if self.evaluate_fn is None:
            return {}
        result = {k: float(v) for k, v in self.evaluate_fn().items()}
        self.history.append((self.steps, result))
        if self.logger is not None:
            self.logger.write({f"eval/{k}": v for k, v in result.items()}, self.steps)
        return result

    def run(
        self,
        until: int | None = None,
        stop_when: Callable[[Mapping[str, tf.Tensor]], bool] | None = None,
    ) -> dict[str, float]:
        """Trains until step ``until`` (default ``config.steps``); returns the last train metrics.

        ``stop_when(metrics)`` ends training early when it returns true (e.g. a solver converged).

        Ctrl-C or SIGTERM: the current step finishes, a checkpoint is saved, then
        ``KeyboardInterrupt`` propagates.
        """
        cfg = self.config
        target = cfg.steps if until is None else until
        last_time, last_step = time.perf_counter(), self.steps
        bar = progress(
            total=target,
            initial=self.steps,
            desc="train",
            unit="steps",
            disable=None if self.show_progress else True,
        )
        with bar, _DeferredInterrupt() as interrupt:
            while self.steps < target:
                metrics = self.step()
                step = self.steps
                bar.update(1)
                stop = stop_when is not None and stop_when(metrics)
                if (cfg.log_every and step % cfg.log_every == 0) or step == target or stop:
                    now = time.perf_counter()
                    self.last_metrics = {k: float(v) for k, v in metrics.items()}
                    rate = (step - last_step) / max(now - last_time, 1e-9)
                    last_time, last_step = now, step
                    if self.logger is not None:
                        scalars = {f"{self.prefix}{k}": v for k, v in self.last_metrics.items()}
                        scalars["perf/steps_per_sec"] = rate
                        if self.batch_size:
                            scalars["perf/samples_per_sec"] = rate * self.batch_size
                        self.logger.write(scalars, step)
                    bar.set_postfix(loss=f"{self.last_metrics.get('loss', float('nan')):.4f}")
                if cfg.eval_every and step % cfg.eval_every == 0 and step != target:
                    self.evaluate()
                if cfg.checkpoint_every and step % cfg.checkpoint_every == 0:
                    self.save()
                if interrupt.requested:
                    self.save()
                    raise KeyboardInterrupt
                if stop:
                    break
        if self.checkpointer is not None and self.checkpointer.latest != str(
            Path(self.checkpointer.directory) / f"ckpt-{self.steps}"
        ):
            self.save()
        if not self.history or self.history[-1][0] != self.steps:
            self.evaluate()
        return self.last_metrics
