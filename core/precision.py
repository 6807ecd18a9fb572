"""Mixed precision as an option: one switch for the Keras dtype policy and loss scaling."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Literal

import keras
import tensorflow as tf

Precision = Literal["float32", "mixed_float16", "mixed_bfloat16"]


def set_precision(precision: Precision = "float32") -> None:
    """Sets the global Keras dtype policy; call before building models.

    ``mixed_float16`` computes in float16 with float32 variables (use :func:`wrap_optimizer`);
    ``mixed_bfloat16`` needs no loss scaling. ``float32`` is the default and works everywhere.
    """
    keras.mixed_precision.set_dtype_policy(precision)


@contextlib.contextmanager
def precision_scope(precision: Precision) -> Iterator[None]:
    """Builds the models made inside it with ``precision``'s dtype policy, then restores the
    global policy: a layer keeps the policy it was built with, so a model's numerics follow its
    own config wherever it is built (a run, ``doomgps eval``, a benchmark)."""
    previous = keras.mixed_precision.dtype_policy()
    set_precision(precision)
    try:
        yield
    finally:
        keras.mixed_precision.set_dtype_policy(previous)


def wrap_optimizer(
    optimizer: keras.optimizers.Optimizer, precision: Precision = "float32"
) -> keras.optimizers.Optimizer:
    """Adds dynamic loss scaling for ``mixed_float16``; other precisions get the optimizer back."""
    if precision == "mixed_float16" and not isinstance(
        optimizer, keras.optimizers.LossScaleOptimizer
    ):
        return keras.optimizers.LossScaleOptimizer(optimizer)
    return optimizer


def scale_loss(optimizer: keras.optimizers.Optimizer, loss: tf.Tensor) -> tf.Tensor:
    """The loss to differentiate: scaled when the optimizer does loss scaling.

    A :class:`keras.optimizers.LossScaleOptimizer` unscales the gradients in ``apply_gradients``.
    """
    if isinstance(optimizer, keras.optimizers.LossScaleOptimizer):
        return optimizer.scale_loss(loss)
    return loss
