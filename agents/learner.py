"""The student's learner on the core: KL to the soft labels plus the auxiliary losses.

:func:`gps_step` is a step function for :class:`core.trainer.Learner` (compiled there; returns a
dict of scalar tensors that become ``train/*`` tags). :class:`SwappableStream` lets one learner
train on a dataset that grows every iteration: each iteration hands it a fresh shuffled stream
over the aggregated data.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence

import keras
import numpy as np
import tensorflow as tf

from agents.student import AUX_NAMES, history_length, student_inputs
from core.averaging import WeightAverage
from core.data import ArrayStream
from core.precision import scale_loss

MIRRORED_BUTTONS = {
    "TURN_LEFT": "TURN_RIGHT",
    "TURN_RIGHT": "TURN_LEFT",
    "MOVE_LEFT": "MOVE_RIGHT",
    "MOVE_RIGHT": "MOVE_LEFT",
}


def mirror_permutation(action_names: Sequence[str]) -> list[int] | None:
    """Index of each action's left-right mirror image (``None`` if some action has none).

    ``TURN_LEFT+ATTACK`` mirrors to ``TURN_RIGHT+ATTACK``; names are ``+``-joined buttons.
    """
    index = {frozenset(n.split("+")): i for i, n in enumerate(action_names)}
    out = []
    for name in action_names:
        mirrored = frozenset(MIRRORED_BUTTONS.get(b, b) for b in name.split("+"))
        if mirrored not in index:
            return None
        out.append(index[mirrored])
    return out


def gps_step(
    model: keras.Model,
    optimizer: keras.optimizers.Optimizer,
    aux_weight: float = 0.5,
    mirror: Sequence[int] | None = None,
    enemy_columns: int = 5,
    average: WeightAverage | None = None,
) -> callable:
    """One update on a batch ``{"observation", "label", "aux"}`` (and ``"previous_actions"``
    when the student takes them).

    With ``mirror`` (a :func:`mirror_permutation`), each sample is flipped left-right with
    probability 1/2: the image is mirrored, the label's and the previous actions permuted and
    the enemy-column target reversed. This doubles the data of a left-right symmetric scenario
    and forces the student to turn toward an enemy the same way on both sides (defend_the_center).

    The policy loss is the cross-entropy ``H(q, pi)`` to the soft labels ``q`` (the same gradient
    as ``KL(q || pi)``); each auxiliary head adds a sparse cross-entropy over the rows whose
    target is known (``>= 0``), weighted by ``aux_weight``. With ``average``, its moving
    average of the weights is updated after each step.

    Returns:
        A step function returning ``loss`` (policy cross-entropy), ``kl`` (``KL(q || pi)``),
        ``accuracy`` (argmax agreement with ``q``), ``entropy`` (of ``pi``), ``aux_loss``,
        ``aux_<name>_accuracy``, ``total_loss`` and ``grad_norm``.
    """
    aux_names = [name for name in AUX_NAMES if name in model.output]

    perm = None if mirror is None else tf.constant(list(mirror), tf.int32)
    uses_history = history_length(model) > 0

    def step(batch: Mapping[str, tf.Tensor]) -> dict[str, tf.Tensor]:
        labels = tf.cast(batch["label"], tf.float32)
        observation, aux = batch["observation"], tf.cast(batch["aux"], tf.int32)
        previous = tf.cast(batch["previous_actions"], tf.int32) if uses_history else None
        if perm is not None:
            flip = tf.random.uniform(tf.shape(labels)[:1]) < 0.5
            observation = tf.where(
                flip[:, None, None, None], tf.reverse(observation, [2]), observation
            )
            labels = tf.where(flip[:, None], tf.gather(labels, perm, axis=1), labels)
            column = aux[:, 1]
            column = tf.where(flip & (column >= 0), enemy_columns - 1 - column, column)
            aux = tf.concat([aux[:, :1], column[:, None], aux[:, 2:]], axis=1)
            if previous is not None:
                mirrored = tf.where(previous >= 0, tf.gather(perm, tf.maximum(previous, 0)), -1)
                previous = tf.where(flip[:, None], mirrored, previous)
        metrics: dict[str, tf.Tensor] = {}
        with tf.GradientTape() as tape:
            outputs = model(student_inputs(model, observation, previous), training=True)
            log_pi = tf.nn.log_softmax(tf.cast(outputs["logits"], tf.float32))
            loss = tf.reduce_mean(-tf.reduce_sum(labels * log_pi, axis=-1))
            aux_total = tf.constant(0.0)
            for name in aux_names:
                column = AUX_NAMES.index(name)
                target = aux[:, column]
                known = target >= 0
                logits = tf.cast(outputs[name], tf.float32)
                per_row = tf.nn.sparse_softmax_cross_entropy_with_logits(
                    tf.maximum(target, 0), logits
                )
                weight = tf.cast(known, tf.float32)
                count = tf.maximum(tf.reduce_sum(weight), 1.0)
                aux_total += tf.reduce_sum(per_row * weight) / count
                hit = tf.cast(
                    tf.equal(tf.argmax(logits, -1, output_type=tf.int32), target), tf.float32
                )
                metrics[f"aux_{name}_accuracy"] = tf.reduce_sum(hit * weight) / count
            total = loss + aux_weight * aux_total
            scaled = scale_loss(optimizer, total)
        grads = tape.gradient(scaled, model.trainable_variables)
        optimizer.apply_gradients(zip(grads, model.trainable_variables, strict=True))
        if average is not None:
            average.update()
        entropy_q = -tf.reduce_sum(labels * tf.math.log(labels + 1e-8), axis=-1)
        pi = tf.exp(log_pi)
        metrics.update(
            {
                "loss": loss,
                "kl": loss - tf.reduce_mean(entropy_q),
                "accuracy": tf.reduce_mean(
                    tf.cast(tf.equal(tf.argmax(log_pi, -1), tf.argmax(labels, -1)), tf.float32)
                ),
                "entropy": tf.reduce_mean(-tf.reduce_sum(pi * log_pi, axis=-1)),
                "aux_loss": aux_total,
                "total_loss": total,
                "grad_norm": tf.linalg.global_norm(grads),
            }
        )
        return metrics

    return step


class SwappableStream:
    """An endless batch iterator whose source is replaced when the dataset grows.

    The learner holds this object; :meth:`use` points it at a fresh :class:`ArrayStream` over
    the aggregated arrays (seeded by the iteration, so a resumed run sees the same order).
    """

    def __init__(self) -> None:
        self._stream: ArrayStream | None = None

    def use(self, arrays: Mapping[str, np.ndarray], batch_size: int, seed: int) -> None:
        """Trains from now on on shuffled minibatches of ``arrays``."""
        self._stream = ArrayStream(arrays, batch_size, seed=seed)

    def __iter__(self) -> Iterator[dict[str, tf.Tensor]]:
        return self

    def __next__(self) -> dict[str, tf.Tensor]:
        if self._stream is None:
            raise RuntimeError("SwappableStream.use() was never called")
        return next(self._stream)
