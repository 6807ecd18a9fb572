"""Polyak (exponential moving) averaging of a model's weights into a twin model.

SGD's last iterate wanders: a greedy policy read from it can lose a third of its score from one
evaluation to the next. The average of the recent iterates is a steadier policy (Polyak and
Juditsky 1992; the "EMA" of many RL and imitation codebases). :class:`WeightAverage` keeps it in
a second model of the same architecture, so the averaged model acts, is evaluated and exported
while the raw model keeps training; checkpoint both (and :attr:`WeightAverage.updates`).
"""

from __future__ import annotations

import keras
import tensorflow as tf


class WeightAverage:
    """Keeps ``average`` equal to an exponential moving average of ``model``'s weights.

    The decay ramps up as in ``tf.train.ExponentialMovingAverage`` with ``num_updates``:
    ``min(decay, (1 + n) / (10 + n))`` after ``n`` updates, so the average follows the model
    closely at first and does not remember its random initialisation for long.

    Args:
        model: the model being trained.
        average: a model of the same architecture (e.g. built by the same function); its weights
            are overwritten with ``model``'s now.
        decay: the largest decay, in ``(0, 1)`` (0.999 averages about the last 1,000 steps).

    Raises:
        ValueError: ``decay`` outside ``(0, 1)`` or models with different weight shapes.
    """

    def __init__(self, model: keras.Model, average: keras.Model, decay: float) -> None:
        if not 0.0 < decay < 1.0:
            raise ValueError(f"decay must be in (0, 1), not {decay}")
        shapes = [tuple(w.shape) for w in model.weights]
        if shapes != [tuple(w.shape) for w in average.weights]:
            raise ValueError("the average model's weights do not match the model's")
        average.set_weights(model.get_weights())
        self.model, self.average, self.decay = model, average, decay
        self.updates = tf.Variable(0, dtype=tf.int64, trainable=False, name="average_updates")

    def update(self) -> None:
        """Moves the average toward the model's current weights (callable in a ``tf.function``)."""
        n = tf.cast(self.updates, tf.float32)
        decay = tf.minimum(self.decay, (1.0 + n) / (10.0 + n))
        for target, source in zip(self.average.weights, self.model.weights, strict=True):
            value = tf.cast(source.value, target.dtype)
            target.assign(decay * target.value + (1.0 - decay) * value)
        self.updates.assign_add(1)
