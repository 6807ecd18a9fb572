"""The logistic-regression regularisation sweep, vectorised: all C values of a size in one model.

For training size ``n`` and inverse regularisation strengths ``C_1..C_M`` this minimises, for
every ``m`` at once, scikit-learn's multinomial L2 objective in its scaled form

    f_m(W, b) = mean_i CE(softmax(x_i W + b), y_i) + ||W||^2 / (2 C_m n)

(the intercept is not penalised), which has the same minimiser as sklearn's
``C * sum CE + ||W||^2 / 2``. The optimiser is L-BFGS (history 10, backtracking Armijo line
search) batched over the M models, stopping a model when its largest gradient entry is below
``tol`` -- the same objective, solver family and stopping rule as sklearn's default ``lbfgs``
(``tol=1e-4``, ``max_iter=100``). One L-BFGS iteration is one step of the core's
:class:`~core.trainer.Learner`; all M models share one matrix product per evaluation.
"""

from __future__ import annotations

import itertools
import math
import time
from collections.abc import Sequence

import numpy as np
import tensorflow as tf

from core.logger import Logger
from core.trainer import Learner, TrainerConfig


class BatchedLogisticLBFGS:
    """L-BFGS over ``M`` independent L2-regularised softmax regressions sharing one dataset.

    Args:
        x: float32 features ``(n, d)``.
        y: int labels ``(n,)`` in ``0..k-1``.
        cs: the M inverse regularisation strengths.
        num_classes: ``k``.
        history: L-BFGS memory.
        tol: a model stops when ``max |grad| <= tol``.
        max_line_search: halvings tried per iteration.
    """

    def __init__(
        self,
        x: np.ndarray,
        y: np.ndarray,
        cs: Sequence[float],
        num_classes: int = 10,
        history: int = 10,
        tol: float = 1e-4,
        max_line_search: int = 20,
    ) -> None:
        n, d = x.shape
        self.n, self.d1, self.k, self.m = n, d + 1, num_classes, len(cs)
        self.x = tf.constant(np.concatenate([x, np.ones((n, 1), np.float32)], axis=1))
        self.y = tf.constant(y.astype(np.int32))
        self.lam = tf.constant([1.0 / (c * n) for c in cs], tf.float32)
        self.tol, self.h, self.max_ls = tol, history, max_line_search
        size = self.d1 * self.k
        mask = np.ones((self.d1, self.k), np.float32)
        mask[-1] = 0.0  # the intercept row is not penalised
        self.penalty_mask = tf.constant(mask.reshape(1, size))
        zeros = tf.zeros((self.m, size))
        self.w = tf.Variable(zeros, name="weights")
        self.g = tf.Variable(zeros, name="grad")
        self.f = tf.Variable(tf.zeros(self.m), name="loss")
        self.s_hist = tf.Variable(tf.zeros((history, self.m, size)), name="s_history")
        self.y_hist = tf.Variable(tf.zeros((history, self.m, size)), name="y_history")
        self.rho = tf.Variable(tf.zeros((history, self.m)), name="rho")
        self.iteration = tf.Variable(0, dtype=tf.int64, name="iteration")
        f, g = self.loss_and_grad(self.w)
        self.f.assign(f)
        self.g.assign(g)

    def logits(self, w: tf.Tensor, x: tf.Tensor | None = None) -> tf.Tensor:
        """Logits ``(n, M, k)`` of all models (``x`` includes the ones column)."""
        x = self.x if x is None else x
        w2 = tf.reshape(
            tf.transpose(tf.reshape(w, (self.m, self.d1, self.k)), (1, 0, 2)),
            (self.d1, self.m * self.k),
        )
        return tf.reshape(tf.matmul(x, w2), (-1, self.m, self.k))

    def loss_and_grad(self, w: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
        """Objective ``(M,)`` and gradient ``(M, (d+1)k)`` of every model, in closed form."""
        logits = self.logits(w)
        lse = tf.reduce_logsumexp(logits, axis=-1)
        onehot = tf.one_hot(self.y, self.k)[:, None, :]
        ce = tf.reduce_mean(lse - tf.reduce_sum(logits * onehot, -1), axis=0)
        residual = tf.reshape(tf.exp(logits - lse[..., None]) - onehot, (-1, self.m * self.k))
        grad = tf.matmul(self.x, residual, transpose_a=True) / self.n
        grad = tf.reshape(
            tf.transpose(tf.reshape(grad, (self.d1, self.m, self.k)), (1, 0, 2)), (self.m, -1)
        )
        pw = w * self.penalty_mask
        loss = ce + 0.5 * self.lam * tf.reduce_sum(pw * pw, axis=1)
        return loss, grad + self.lam[:, None] * pw

    def _direction(self) -> tf.Tensor:
        q = -self.g
        alphas = []
        for i in reversed(range(self.h)):
            alpha = self.rho[i] * tf.reduce_sum(self.s_hist[i] * q, 1)
            q -= alpha[:, None] * self.y_hist[i]
            alphas.append(alpha)
        yy = tf.reduce_sum(self.y_hist[-1] ** 2, 1)
        gamma = tf.where(
            self.rho[-1] > 0,
            1.0 / tf.maximum(self.rho[-1] * yy, 1e-30),
            1.0 / tf.maximum(tf.norm(self.g, axis=1), 1e-30),
        )
        r = gamma[:, None] * q
        for i, alpha in zip(range(self.h), reversed(alphas), strict=True):
            beta = self.rho[i] * tf.reduce_sum(self.y_hist[i] * r, 1)
            r += self.s_hist[i] * (alpha - beta)[:, None]
        return r

    def step(self, _batch: object = None) -> dict[str, tf.Tensor]:
        """One L-BFGS iteration of every unconverged model; returns mean loss and #active."""
        active = tf.reduce_max(tf.abs(self.g), axis=1) > self.tol
        p = tf.where(active[:, None], self._direction(), 0.0)
        slope = tf.reduce_sum(p * self.g, 1)
        p = tf.where((slope < 0)[:, None], p, -self.g * tf.cast(active, tf.float32)[:, None])
        slope = tf.reduce_sum(p * self.g, 1)
        t = tf.ones(self.m)
        accepted = tf.logical_not(active)
        new_f, new_g = self.f.read_value(), self.g.read_value()
        for _ in tf.range(self.max_ls):
            if tf.reduce_all(accepted):
                break
            f_try, g_try = self.loss_and_grad(self.w + t[:, None] * p)
            ok = tf.logical_and(tf.logical_not(accepted), f_try <= self.f + 1e-4 * t * slope)
            new_f = tf.where(ok, f_try, new_f)
            new_g = tf.where(ok[:, None], g_try, new_g)
            accepted = tf.logical_or(accepted, ok)
            t = tf.where(accepted, t, 0.5 * t)
        moved = tf.logical_and(active, accepted)
        s = tf.where(moved[:, None], t[:, None] * p, 0.0)
        yv = tf.where(moved[:, None], new_g - self.g, 0.0)
        sy = tf.reduce_sum(s * yv, 1)
        keep = sy > 1e-10
        self.s_hist.assign(tf.concat([self.s_hist[1:], s[None]], 0))
        self.y_hist.assign(tf.concat([self.y_hist[1:], yv[None]], 0))
        self.rho.assign(
            tf.concat([self.rho[1:], tf.where(keep, 1.0 / tf.where(keep, sy, 1.0), 0.0)[None]], 0)
        )
        self.w.assign_add(s)
        self.f.assign(new_f)
        self.g.assign(new_g)
        self.iteration.assign_add(1)
        still = tf.reduce_max(tf.abs(new_g), axis=1) > self.tol
        return {
            "loss": tf.reduce_mean(new_f),
            "active_models": tf.reduce_sum(tf.cast(still, tf.float32)),
            "line_search_failures": tf.reduce_sum(
                tf.cast(tf.logical_and(active, tf.logical_not(accepted)), tf.float32)
            ),
        }

    def accuracy(self, x: np.ndarray, y: np.ndarray, chunk: int = 50000) -> np.ndarray:
        """Accuracy ``(M,)`` of every model on ``(x, y)``."""
        correct = np.zeros(self.m)
        for lo in range(0, len(x), chunk):
            xb = np.concatenate(
                [x[lo : lo + chunk], np.ones((len(x[lo : lo + chunk]), 1), np.float32)], axis=1
            )
            pred = tf.argmax(self.logits(self.w, tf.constant(xb)), -1, output_type=tf.int32)
            correct += (pred.numpy() == y[lo : lo + chunk, None]).sum(0)
        return correct / len(x)


def run_sweep(
    x_train: np.ndarray,
    y_train: np.ndarray,
    x_valid: np.ndarray,
    y_valid: np.ndarray,
    sizes: Sequence[int],
    cs: Sequence[float],
    *,
    max_iter: int = 100,
    tol: float = 1e-4,
    logger: Logger | None = None,
    jit_compile: bool = False,
    show_progress: bool = False,
) -> list[dict[str, float]]:
    """Fits every ``(size, C)`` on the first ``size`` training rows; returns one row per pair.

    Rows: ``size, C, train_accuracy, valid_accuracy, iterations, fit_s``. TensorBoard (when
    ``logger`` is given): ``train/n{size}/loss`` per L-BFGS iteration, and
    ``eval/valid_accuracy_c{C}`` / ``eval/train_accuracy_c{C}`` with the training size as step.
    """
    rows: list[dict[str, float]] = []
    for size in sizes:
        if size > len(x_train):
            raise ValueError(f"training size {size} > {len(x_train)} available images")
        start = time.perf_counter()
        problem = BatchedLogisticLBFGS(x_train[:size], y_train[:size], cs, tol=tol)

        learner = Learner(
            problem.step,
            itertools.repeat(None),
            config=TrainerConfig(
                steps=max_iter,
                log_every=10,
                eval_every=0,
                checkpoint_every=0,
                jit_compile=jit_compile,
            ),
            logger=logger,
            show_progress=show_progress,
            prefix=f"train/n{size}/",
        )
        learner.run(stop_when=lambda metrics: float(metrics["active_models"]) == 0)
        fit_s = time.perf_counter() - start
        train_acc = problem.accuracy(x_train[:size], y_train[:size])
        valid_acc = problem.accuracy(x_valid, y_valid)
        for i, c in enumerate(cs):
            rows.append(
                {
                    "size": size,
                    "C": c,
                    "train_accuracy": float(train_acc[i]),
                    "valid_accuracy": float(valid_acc[i]),
                    "iterations": learner.steps,
                    "fit_s": fit_s,
                }
            )
        if logger is not None:
            logger.write(
                {f"eval/valid_accuracy_c{c:g}": valid_acc[i] for i, c in enumerate(cs)}
                | {f"eval/train_accuracy_c{c:g}": train_acc[i] for i, c in enumerate(cs)}
                | {"perf/fit_seconds": fit_s},
                size,
            )
    return rows


def plot_sweep(rows: Sequence[dict[str, float]], title: str) -> object:
    """Accuracy vs training size (log x), one colour per C, train solid, validation dashed."""
    from experiments.letters.report import new_figure

    figure, axes = new_figure(8, 5)
    cs = sorted({r["C"] for r in rows}, reverse=True)
    colours = ["tab:blue", "tab:orange", "tab:green", "tab:red", "tab:purple", "tab:brown"]
    for colour, c in zip(itertools.cycle(colours), cs):
        mine = sorted((r for r in rows if r["C"] == c), key=lambda r: r["size"])
        sizes = [r["size"] for r in mine]
        axes.plot(
            sizes,
            [100 * r["train_accuracy"] for r in mine],
            "-",
            color=colour,
            label=f"C={c:g} train",
        )
        axes.plot(
            sizes,
            [100 * r["valid_accuracy"] for r in mine],
            "--",
            color=colour,
            label=f"C={c:g} valid",
        )
    axes.set_xscale("log")
    axes.set(xlabel="training samples", ylabel="accuracy (%)", title=title)
    axes.grid(alpha=0.3, which="both")
    axes.legend(ncol=2, fontsize=8)
    return figure


def samples_per_feature(size: int, features: int = 784) -> float:
    """The blog's rule of thumb: training samples per input feature."""
    return size / features if features else math.inf
