"""The blog's second-order SGD rule as a reusable train step, in two flavours.

The idea: at a good minimum the network output ``y`` should also be flat in each weight, so besides
``E = 1/2 (y - t)^2`` the rule minimises ``F_i = 1/2 (dy/dw_i)^2`` per weight:

* ``diag_exact`` / ``diag_hutchinson`` (the blog's rule, flavour a)::

      dw_i = -alpha * dE/dw_i - beta * (dy/dw_i) * (d2y/dw_i^2)

  with the exact Hessian diagonal of ``y`` (small nets) or Hutchinson's estimate
  ``diag(H_y) ~ E[z * H_y z]`` (Rademacher ``z``; any size). ``diag`` picks exact below
  ``exact_max_params`` parameters and Hutchinson above.
* ``full`` (flavour b): the exact gradient of ``E + (beta / alpha) * 1/2 * ||dy/dw||^2``::

      dw = -alpha * dE/dw - beta * H_y (dy/dw)

  one Hessian-vector product per step (forward-over-reverse, :func:`core.hessian.hvp`).
  Flavour a is flavour b with ``H_y`` replaced by its diagonal.
* ``sgd``: ``beta`` is ignored; plain ``-alpha * dE/dw`` (or any Keras optimizer: the baseline).

**What y is.** Each example ``n`` contributes a scalar output ``y_n = output_fn(predictions,
targets)[n]``: for regression the network's (single) output; for a multi-class network the
*logit of the true class* (:func:`true_class_logit`), i.e. the pre-softmax output the true label
should push up. (Softmax probabilities summed over classes are constant, so "sum over outputs"
is only meaningful for logits, and their sum is not tied to the label.) For a batch of ``B``
examples the rule uses one scalar::

    y = B^(-1/2) * sum_n r_n * y_n,   r_n = +/-1 at random each step   (reduction="rademacher")

Then ``E_r ||dy/dw||^2 = mean_n ||dy_n/dw||^2`` and ``E_r[H_y dy/dw] = mean_n H_{y_n} dy_n/dw``:
the blog's per-example penalty averaged over the batch, unbiased, at the cost of one HVP (the
exact per-example sum would need ``B`` of them). At batch size 1 it is exactly the blog's rule.
``reduction="mean"`` uses ``y = mean_n y_n`` instead (flatness of the batch-mean output).

The optimizer applies ``u = dE/dw + (beta / alpha) * P`` (``P`` the penalty direction), so with
the default plain SGD at learning rate ``alpha`` the update is exactly the rule above.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from typing import Any, Literal

import tensorflow as tf

from core import hessian

Rule = Literal["sgd", "diag", "diag_exact", "diag_hutchinson", "full"]
"""The update rules; see the module docstring."""
RULES: tuple[str, ...] = ("sgd", "diag", "diag_exact", "diag_hutchinson", "full")


def regression_output(predictions: tf.Tensor, targets: tf.Tensor) -> tf.Tensor:
    """``y_n`` for a single-output regression network: the output itself, shape ``(B,)``."""
    del targets
    return tf.reshape(predictions, [tf.shape(predictions)[0]])


def true_class_logit(logits: tf.Tensor, labels: tf.Tensor) -> tf.Tensor:
    """``y_n`` for a multi-class network: the logit of the true class, shape ``(B,)``."""
    labels = tf.cast(tf.reshape(labels, [-1]), tf.int32)
    return tf.gather(logits, labels, axis=1, batch_dims=1)


def half_squared_error(targets: tf.Tensor, predictions: tf.Tensor) -> tf.Tensor:
    """``E = mean_n 1/2 (y_n - t_n)^2`` (the blog's loss)."""
    predictions = tf.reshape(predictions, tf.shape(targets))
    return 0.5 * tf.reduce_mean(tf.square(predictions - tf.cast(targets, predictions.dtype)))


def cross_entropy(labels: tf.Tensor, logits: tf.Tensor) -> tf.Tensor:
    """Mean softmax cross-entropy of integer labels."""
    labels = tf.cast(tf.reshape(labels, [-1]), tf.int32)
    return tf.reduce_mean(
        tf.nn.sparse_softmax_cross_entropy_with_logits(labels=labels, logits=logits)
    )


@dataclasses.dataclass(frozen=True)
class SecondOrderConfig:
    """Settings of :class:`SecondOrderStep`.

    Attributes:
        rule: ``sgd``, ``diag`` (exact or Hutchinson by size), ``diag_exact``,
            ``diag_hutchinson`` or ``full``.
        alpha: learning rate of the loss term (the default optimizer's learning rate).
        beta: step size of the flatness term; the penalty weight is ``beta / alpha``.
        probes: Hutchinson probes per step (one HVP each).
        exact_max_params: ``diag`` uses the exact diagonal up to this many parameters.
        reduction: ``rademacher`` (unbiased per-example penalty) or ``mean`` (batch-mean output).
    """

    rule: Rule = "full"
    alpha: float = 0.05
    beta: float = 0.0
    probes: int = 1
    exact_max_params: int = 4096
    reduction: Literal["rademacher", "mean"] = "rademacher"


class SecondOrderStep:
    """One compiled optimisation step with the second-order flatness term.

    Args:
        model: a callable ``model(x) -> predictions`` with ``trainable_variables`` (a Keras model
            or a ``tf.Module``); it must be deterministic (no dropout) because the penalty
            recomputes the forward pass.
        loss_fn: ``loss_fn(targets, predictions) -> scalar E``.
        output_fn: ``output_fn(predictions, targets) -> (B,)`` per-example outputs ``y_n``
            (:func:`regression_output`, :func:`true_class_logit`).
        config: the rule and its step sizes.
        optimizer: a Keras optimizer applied to the combined update; ``None`` = plain SGD with
            learning rate ``config.alpha`` (the blog's rule).
        seed: seed of the Rademacher signs (batch reduction and Hutchinson probes).

    Calling the step with ``(x, targets)`` updates the variables and returns a dict of scalar
    tensors: ``loss`` (E before the step), ``flatness`` (``1/2 ||dy/dw||^2``), ``grad_norm``
    (``||dE/dw||``) and ``penalty_norm`` (``||P||``).
    """

    def __init__(
        self,
        model: Any,
        loss_fn: Callable[[tf.Tensor, tf.Tensor], tf.Tensor],
        output_fn: Callable[[tf.Tensor, tf.Tensor], tf.Tensor],
        config: SecondOrderConfig,
        optimizer: Any | None = None,
        seed: int = 0,
    ) -> None:
        if config.rule not in RULES:
            raise ValueError(f"unknown rule {config.rule!r}; known: {RULES}")
        if config.alpha <= 0 or config.probes < 1:
            raise ValueError("alpha must be positive and probes >= 1")
        self.model = model
        self.loss_fn = loss_fn
        self.output_fn = output_fn
        self.config = config
        self.optimizer = optimizer
        self.variables = hessian.as_tf_variables(model.trainable_variables)
        self.num_params = hessian.num_params(self.variables)
        rule = config.rule
        if rule == "diag":
            rule = "diag_exact" if self.num_params <= config.exact_max_params else "diag_hutchinson"
        self.rule = rule
        """The resolved rule (``diag`` becomes ``diag_exact`` or ``diag_hutchinson``)."""
        self.generator = tf.random.Generator.from_seed(seed)
        if optimizer is not None:
            optimizer.build(model.trainable_variables)
        self._step = tf.function(self._update)

    def __call__(self, x: Any, targets: Any) -> dict[str, tf.Tensor]:
        """Runs one compiled step on a batch and returns its metrics."""
        return self._step(tf.convert_to_tensor(x), tf.convert_to_tensor(targets))

    def train_step(self, batch: Mapping[str, tf.Tensor]) -> dict[str, tf.Tensor]:
        """The uncompiled step on a ``{"x": inputs, "y": targets}`` batch.

        For :class:`core.trainer.Learner`, which compiles it and adds counting, logging and
        checkpoints (checkpoint :attr:`generator` as its ``rng`` to resume the same signs).
        """
        return self._update(batch["x"], batch["y"])

    def _batch_output(
        self, predictions: tf.Tensor, targets: tf.Tensor, signs: tf.Tensor
    ) -> tf.Tensor:
        outputs = self.output_fn(predictions, targets)
        if self.config.reduction == "mean":
            return tf.reduce_mean(outputs)
        scale = tf.math.rsqrt(tf.cast(tf.shape(outputs)[0], outputs.dtype))
        return scale * tf.reduce_sum(tf.cast(signs, outputs.dtype) * outputs)

    def penalty_direction(
        self, x: tf.Tensor, targets: tf.Tensor, signs: tf.Tensor, grad_y: list[tf.Tensor]
    ) -> list[tf.Tensor]:
        """``P``: ``H_y dy/dw`` (full) or ``dy/dw * diag(H_y)`` (diag) for the batch output."""

        def y_fn() -> tf.Tensor:
            return self._batch_output(self.model(x), targets, signs)

        if self.rule == "full":
            return hessian.hvp(y_fn, self.variables, grad_y)
        if self.rule == "diag_exact":
            diagonal = hessian.diag_hessian(y_fn, self.variables)
        else:
            diagonal = hessian.diag_hessian_hutchinson(
                y_fn, self.variables, self.config.probes, self.generator
            )
        return [g * d for g, d in zip(grad_y, diagonal, strict=True)]

    def _update(self, x: tf.Tensor, targets: tf.Tensor) -> dict[str, tf.Tensor]:
        batch = tf.shape(x)[0]
        bits = self.generator.uniform([batch], minval=0, maxval=2, dtype=tf.int32)
        signs = 2 * bits - 1
        with tf.GradientTape(persistent=True) as tape:
            predictions = self.model(x)
            loss = self.loss_fn(targets, predictions)
            y = self._batch_output(predictions, targets, signs)
        zero = tf.UnconnectedGradients.ZERO
        grad_e = tape.gradient(loss, self.variables, unconnected_gradients=zero)
        grad_y = tape.gradient(y, self.variables, unconnected_gradients=zero)
        del tape
        flatness = 0.5 * hessian.dot(grad_y, grad_y)
        if self.rule == "sgd" or self.config.beta == 0.0:
            penalty = [tf.zeros_like(g) for g in grad_e]
        else:
            penalty = self.penalty_direction(x, targets, signs, grad_y)
        weight = self.config.beta / self.config.alpha
        update = [ge + weight * p for ge, p in zip(grad_e, penalty, strict=True)]
        if self.optimizer is None:
            for variable, u in zip(self.variables, update, strict=True):
                variable.assign_sub(self.config.alpha * u)
        else:
            self.optimizer.apply_gradients(
                zip(update, self.model.trainable_variables, strict=False)
            )
        return {
            "loss": loss,
            "flatness": flatness,
            "grad_norm": tf.sqrt(hessian.dot(grad_e, grad_e)),
            "penalty_norm": tf.sqrt(hessian.dot(penalty, penalty)),
        }
