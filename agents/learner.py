"""The student's learner on the core: KL to the soft labels plus the auxiliary losses.

:func:`gps_step` is a step function for :class:`core.trainer.Learner` (compiled there; returns a
dict of scalar tensors that become ``train/*`` tags); :func:`gps_sequence_step` is its twin for a
recurrent student, on batches of sequences. :class:`SwappableStream` lets one learner train on a
dataset that grows every iteration: each iteration hands it a fresh shuffled stream over the
aggregated data (of rows, or of windows of episodes for a recurrent student).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence

import keras
import numpy as np
import tensorflow as tf

from agents.dataset import episode_windows
from agents.student import (
    AIM_OFFSET_CLASSES,
    AUX_NAMES,
    history_length,
    mirrored_actions,
    student_inputs,
)
from core.averaging import WeightAverage
from core.data import ArrayStream, BatchStream, SequenceStream
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


def mirror_batch(
    flip: tf.Tensor,
    perm: tf.Tensor,
    enemy_columns: int,
    observation: tf.Tensor,
    labels: tf.Tensor,
    aux: tf.Tensor,
    previous: tf.Tensor | None = None,
    goal_sectors: int = 0,
) -> tuple[tf.Tensor, tf.Tensor, tf.Tensor, tf.Tensor | None]:
    """The left-right mirror image of the samples, or whole sequences, where ``flip`` is true.

    The image is reversed along its width, the label's and the previous actions' indices
    permuted by ``perm`` (a :func:`mirror_permutation`; ``-1``, no action, stays) and the enemy
    column target reversed (``-1``, unknown, stays).

    Args:
        flip: ``(B,)`` bool, one per sample or per sequence.
        perm: int32 ``(A,)`` index of each action's mirror image.
        enemy_columns: buckets of the enemy-column target.
        observation: ``(B, H, W, C)``, or ``(B, T, H, W, C)`` sequences.
        labels: ``(B, A)`` or ``(B, T, A)``.
        aux: ``(B, 4)`` or ``(B, T, 4)`` targets (columns :data:`agents.student.AUX_NAMES`),
            or 5 columns with the goal sector, 6 with the aim offset (reversed too).
        previous: ``(B, k)`` or ``(B, T, k)`` action indices, or ``None``.
        goal_sectors: sectors of the goal-sector target (reversed like the enemy column), if
            ``aux`` holds it.

    Returns:
        ``(observation, labels, aux, previous)``, a sequence flipped at every step or at none.
    """

    def where(mirrored: tf.Tensor, original: tf.Tensor) -> tf.Tensor:
        return tf.where(
            tf.reshape(flip, [-1] + [1] * (len(original.shape) - 1)), mirrored, original
        )

    observation = where(tf.reverse(observation, [-2]), observation)
    labels = where(tf.gather(labels, perm, axis=-1), labels)

    def reversed_buckets(column: tf.Tensor, buckets: int) -> tf.Tensor:
        return where(tf.where(column >= 0, buckets - 1 - column, column), column)

    parts = [aux[..., :1], reversed_buckets(aux[..., 1:2], enemy_columns), aux[..., 2:4]]
    if aux.shape[-1] > 4:
        parts.append(reversed_buckets(aux[..., 4:5], goal_sectors))
    if aux.shape[-1] > 5:
        parts.append(reversed_buckets(aux[..., 5:6], AIM_OFFSET_CLASSES))
    aux = tf.concat(parts, axis=-1)
    if previous is not None:
        previous = where(mirrored_actions(previous, perm), previous)
    return observation, labels, aux, previous


def random_shift(observation: tf.Tensor, pad: int, sequences: bool = False) -> tf.Tensor:
    """Each image moved by its own random whole-pixel offset, up to ``pad`` both ways along
    height and width; the border pixels fill the uncovered edge (DrQ's random shift, Kostrikov
    et al. 2020, without the padded copy).

    Args:
        observation: ``(B, H, W, C)`` images, or ``(B, T, H, W, C)`` sequences (``sequences``).
        pad: the largest offset in pixels (0: the images unchanged).
        sequences: one offset per sequence, the same at every step, so the motion between its
            frames is kept.

    Returns:
        The shifted images, of ``observation``'s shape and dtype.
    """
    if pad == 0:
        return observation
    height_axis = 2 if sequences else 1
    height, width = observation.shape[height_axis], observation.shape[height_axis + 1]
    offsets = tf.random.uniform([tf.shape(observation)[0], 2], -pad, pad + 1, tf.int32)

    def source(size: int, offset: tf.Tensor) -> tf.Tensor:  # (B, size) source indices
        return tf.clip_by_value(tf.range(size)[None, :] - offset[:, None], 0, size - 1)

    observation = tf.gather(
        observation, source(height, offsets[:, 0]), axis=height_axis, batch_dims=1
    )
    return tf.gather(observation, source(width, offsets[:, 1]), axis=height_axis + 1, batch_dims=1)


def _members(outputs: Mapping[str, tf.Tensor], name: str) -> tf.Tensor:
    """Head ``name``'s float32 logits per ensemble member, ``(N, K, C)`` (``K = 1``: a single
    network)."""
    members = outputs.get(f"member_{name}")
    if members is None:
        members = outputs[name][:, None]
    return tf.cast(members, tf.float32)


def score_regression_loss(member_logits: tf.Tensor, targets: tf.Tensor) -> tf.Tensor:
    """Per row, the Huber loss (delta 1) between the policy's logits and ``targets``, both
    centred over the actions, averaged over the actions and an ensemble's members.

    A softmax does not change when a constant is added to all of a row's logits, so only the
    differences between actions are fitted. Trained on the teacher's scores divided by a
    temperature ``tau``, the policy becomes the teacher's Boltzmann policy ``softmax(scores /
    tau)`` and its argmax the teacher's best action; unlike the cross-entropy, the loss keeps
    growing with how much worse a wrong action is (linearly beyond 1), so the states where a
    choice costs the teacher much weigh most.

    Args:
        member_logits: ``(N, K, A)`` float32 logits of ``K`` ensemble members (``K = 1``: one
            network).
        targets: ``(N, A)``, e.g. the teacher's scores divided by ``tau``.

    Returns:
        ``(N,)`` losses.
    """
    centred = member_logits - tf.reduce_mean(member_logits, -1, keepdims=True)
    targets = targets - tf.reduce_mean(targets, -1, keepdims=True)
    error = tf.abs(centred - targets[:, None])
    huber = tf.where(error < 1.0, 0.5 * tf.square(error), error - 0.5)
    return tf.reduce_mean(huber, axis=[1, 2])


def _imitation_loss(
    outputs: Mapping[str, tf.Tensor],
    labels: tf.Tensor,
    aux: tf.Tensor,
    aux_names: Sequence[str],
    aux_weight: float,
    weight: tf.Tensor | None = None,
    label_weight: tf.Tensor | None = None,
    score_targets: tf.Tensor | None = None,
) -> tuple[tf.Tensor, dict[str, tf.Tensor]]:
    """The total loss and the metrics of :func:`gps_step` on ``(N, ...)`` rows, each row
    weighted by ``weight`` ``(N,)`` (``None``: all rows alike); ``label_weight`` ``(N,)`` also
    weighs each row's policy loss (not the auxiliary losses or the metrics). With
    ``score_targets`` ``(N, A)`` the policy loss is :func:`score_regression_loss` to them
    instead of the cross-entropy to ``labels``."""
    if weight is None:
        mean = tf.reduce_mean
    else:
        total_weight = tf.maximum(tf.reduce_sum(weight), 1.0)

        def mean(x: tf.Tensor) -> tf.Tensor:
            return tf.reduce_sum(x * weight) / total_weight

    metrics: dict[str, tf.Tensor] = {}
    log_pi = tf.nn.log_softmax(tf.cast(outputs["logits"], tf.float32))
    member_log_pi = tf.nn.log_softmax(_members(outputs, "logits"))
    # each member of an ensemble fits the labels on its own (the mean over members)
    cross_entropy = tf.reduce_mean(-tf.reduce_sum(labels[:, None] * member_log_pi, -1), -1)
    loss = policy_loss = mean(cross_entropy)
    per_row_policy = cross_entropy
    if score_targets is not None:
        per_row_policy = score_regression_loss(_members(outputs, "logits"), score_targets)
        policy_loss = metrics["score_loss"] = mean(per_row_policy)
    if label_weight is not None:
        row_weight = label_weight if weight is None else label_weight * weight
        policy_loss = tf.reduce_sum(per_row_policy * row_weight) / tf.maximum(
            tf.reduce_sum(row_weight), 1e-6
        )
    aux_total = tf.constant(0.0)
    for name in aux_names:
        target = aux[:, AUX_NAMES.index(name)]
        logits = tf.cast(outputs[name], tf.float32)
        members = _members(outputs, name)
        per_row = tf.reduce_mean(
            tf.nn.sparse_softmax_cross_entropy_with_logits(
                tf.repeat(tf.maximum(target, 0)[:, None], tf.shape(members)[1], axis=1), members
            ),
            -1,
        )
        known = tf.cast(target >= 0, tf.float32)
        if weight is not None:
            known *= weight
        count = tf.maximum(tf.reduce_sum(known), 1.0)
        aux_total += tf.reduce_sum(per_row * known) / count
        hit = tf.cast(tf.equal(tf.argmax(logits, -1, output_type=tf.int32), target), tf.float32)
        metrics[f"aux_{name}_accuracy"] = tf.reduce_sum(hit * known) / count
    total = policy_loss + aux_weight * aux_total
    entropy_q = -tf.reduce_sum(labels * tf.math.log(labels + 1e-8), axis=-1)
    pi = tf.exp(log_pi)
    metrics.update(
        {
            "loss": loss,
            "kl": loss - mean(entropy_q),
            "accuracy": mean(
                tf.cast(tf.equal(tf.argmax(log_pi, -1), tf.argmax(labels, -1)), tf.float32)
            ),
            "entropy": mean(-tf.reduce_sum(pi * log_pi, axis=-1)),
            "aux_loss": aux_total,
            "total_loss": total,
        }
    )
    return total, metrics


def gps_step(
    model: keras.Model,
    optimizer: keras.optimizers.Optimizer,
    aux_weight: float = 0.5,
    mirror: Sequence[int] | None = None,
    enemy_columns: int = 5,
    average: WeightAverage | None = None,
    mirror_unseen: bool = True,
    shift: int = 0,
    score_temperature: float = 0.0,
) -> callable:
    """One update on a batch ``{"observation", "label", "aux"}`` (and ``"previous_actions"``
    when the student takes them).

    With ``mirror`` (a :func:`mirror_permutation`), each sample is flipped left-right with
    probability 1/2 (:func:`mirror_batch`): the image is mirrored, the label's and the previous
    actions permuted and the enemy-column target reversed. This doubles the data of a left-right
    symmetric scenario and forces the student to turn toward an enemy the same way on both
    sides (defend_the_center). With ``mirror_unseen`` false, samples with no enemy on screen
    (aux ``enemy_visible`` 0) are never flipped: a teacher that scans one fixed way when it sees
    nothing is not mirror-symmetric there.

    The policy loss is the cross-entropy ``H(q, pi)`` to the soft labels ``q`` (the same gradient
    as ``KL(q || pi)``); each auxiliary head adds a sparse cross-entropy over the rows whose
    target is known (``>= 0``), weighted by ``aux_weight``. An ensemble's members
    (``StudentConfig.ensemble_size``) each take these losses on their own outputs, averaged over
    the members, so each member fits the labels alone. A batch with a ``"weight"`` column
    (:func:`agents.labels.choice_weights`) weighs each row's policy loss by it: the states where
    the teacher's choice matters count more. With ``average``, its moving average of the
    weights is updated after each step. With ``shift``, each sample's image is moved by up to
    that many pixels (:func:`random_shift`), a regulariser for a student that fits its rows
    but not the states it meets next. With ``score_temperature`` ``tau > 0`` the batch also
    holds the teacher's ``"scores"`` and the policy loss regresses the logits on ``scores /
    tau`` (:func:`score_regression_loss`) instead of the cross-entropy to the labels (which
    the metrics still report).

    Returns:
        A step function returning ``loss`` (policy cross-entropy), ``kl`` (``KL(q || pi)``),
        ``accuracy`` (argmax agreement with ``q``), ``entropy`` (of ``pi``), ``aux_loss``,
        ``aux_<name>_accuracy``, ``total_loss``, ``grad_norm`` and, regressing on the scores,
        ``score_loss``.
    """
    return _imitation_step(
        model,
        optimizer,
        aux_weight,
        mirror,
        enemy_columns,
        average,
        False,
        mirror_unseen,
        shift,
        score_temperature,
    )


def gps_sequence_step(
    model: keras.Model,
    optimizer: keras.optimizers.Optimizer,
    aux_weight: float = 0.5,
    mirror: Sequence[int] | None = None,
    enemy_columns: int = 5,
    average: WeightAverage | None = None,
    mirror_unseen: bool = True,
    shift: int = 0,
    score_temperature: float = 0.0,
) -> callable:
    """:func:`gps_step` for a recurrent student, on a batch of sequences (a
    :class:`SwappableStream` with a ``sequence_length``): ``(B, T, ...)`` tensors and ``mask``.

    Each sequence (a window of one episode; see :func:`agents.dataset.episode_windows`) starts
    from the hidden state the batch holds for its first step (``"hidden"``, ``(B, T, units)``:
    the acting student's stored states, R2D2's stored state), or from zeros without that
    column, and runs through the network in one call; the losses
    and metrics are the means over the steps weighted by ``mask`` (0 on burn-in steps and
    padding), so burn-in steps only warm up the state (gradients still flow through them, as in
    truncated backpropagation through time). With ``mirror``, each *sequence* is flipped with
    probability 1/2, at every step alike (a flipped sequence starts from zeros: its stored
    state saw the unmirrored frames), and with ``shift`` each sequence is moved by one random
    offset at every step.

    Returns:
        A step function returning the metrics of :func:`gps_step`.
    """
    return _imitation_step(
        model,
        optimizer,
        aux_weight,
        mirror,
        enemy_columns,
        average,
        True,
        mirror_unseen,
        shift,
        score_temperature,
    )


def _imitation_step(
    model: keras.Model,
    optimizer: keras.optimizers.Optimizer,
    aux_weight: float,
    mirror: Sequence[int] | None,
    enemy_columns: int,
    average: WeightAverage | None,
    sequences: bool,
    mirror_unseen: bool,
    shift: int = 0,
    score_temperature: float = 0.0,
) -> callable:
    """The step of :func:`gps_step` (``sequences=False``) and :func:`gps_sequence_step`."""
    if sequences and not mirror_unseen:
        raise ValueError("mirror_unseen=False flips single samples, not sequences")
    aux_names = [name for name in AUX_NAMES if name in model.output]
    goal_sectors = model.output["goal_sector"].shape[-1] if "goal_sector" in aux_names else 0
    perm = None if mirror is None else tf.constant(list(mirror), tf.int32)
    uses_history = history_length(model) > 0

    def rows(x: tf.Tensor) -> tf.Tensor:
        return tf.reshape(x, [-1, x.shape[-1]]) if sequences else x

    def step(batch: Mapping[str, tf.Tensor]) -> dict[str, tf.Tensor]:
        labels = tf.cast(batch["label"], tf.float32)
        observation, aux = batch["observation"], tf.cast(batch["aux"], tf.int32)
        previous = tf.cast(batch["previous_actions"], tf.int32) if uses_history else None
        scores = None
        if score_temperature > 0.0:
            scores = tf.cast(batch["scores"], tf.float32) / score_temperature
        # a window of a recurrent student starts from its stored hidden state (else zeros)
        initial = tf.cast(batch["hidden"][:, 0], tf.float32) if "hidden" in batch else None
        if perm is not None:
            flip = tf.random.uniform(tf.shape(labels)[:1]) < 0.5  # per sample or sequence
            if not mirror_unseen:
                flip = flip & (aux[:, 0] > 0)
            if scores is not None:  # the scores' actions are permuted as the labels' are
                flipped = tf.reshape(flip, [-1] + [1] * (len(scores.shape) - 1))
                scores = tf.where(flipped, tf.gather(scores, perm, axis=-1), scores)
            observation, labels, aux, previous = mirror_batch(
                flip, perm, enemy_columns, observation, labels, aux, previous, goal_sectors
            )
            if initial is not None:  # the stored state saw the unmirrored frames
                initial = tf.where(flip[:, None], tf.zeros_like(initial), initial)
        observation = random_shift(observation, shift, sequences)
        weight = tf.reshape(tf.cast(batch["mask"], tf.float32), [-1]) if sequences else None
        label_weight = (
            tf.reshape(tf.cast(batch["weight"], tf.float32), [-1]) if "weight" in batch else None
        )
        with tf.GradientTape() as tape:
            inputs = student_inputs(model, observation, previous, initial)
            outputs = model(inputs, training=True)
            outputs = {k: rows(v) for k, v in outputs.items() if k != "state"}
            total, metrics = _imitation_loss(
                outputs,
                rows(labels),
                rows(aux),
                aux_names,
                aux_weight,
                weight,
                label_weight,
                None if scores is None else rows(scores),
            )
            scaled = scale_loss(optimizer, total)
        grads = tape.gradient(scaled, model.trainable_variables)
        optimizer.apply_gradients(zip(grads, model.trainable_variables, strict=True))
        if average is not None:
            average.update()
        metrics["grad_norm"] = tf.linalg.global_norm(grads)
        return metrics

    return step


class SwappableStream:
    """An endless batch iterator whose source is replaced when the dataset grows.

    The learner holds this object; :meth:`use` points it at a fresh stream over the aggregated
    arrays (seeded by the iteration, so a resumed run sees the same order): an
    :class:`~core.data.ArrayStream` of rows, or, with a ``sequence_length``, a
    :class:`~core.data.SequenceStream` of windows of episodes (:func:`episode_windows`).

    Args:
        sequence_length: steps per sequence (0: batches of rows).
        burn_in: steps at the start of a sequence left out of the loss.
    """

    def __init__(self, sequence_length: int = 0, burn_in: int = 0) -> None:
        self.sequence_length, self.burn_in = sequence_length, burn_in
        self._stream: BatchStream | None = None

    def use(self, arrays: Mapping[str, np.ndarray], batch_size: int, seed: int) -> None:
        """Trains from now on on shuffled minibatches of ``arrays``: ``batch_size`` rows, or
        ``batch_size`` sequences (``arrays`` then hold the rows' ``episode`` ids, used to cut
        the windows and not handed out)."""
        if not self.sequence_length:
            self._stream = ArrayStream(arrays, batch_size, seed=seed)
            return
        arrays = dict(arrays)
        windows, mask = episode_windows(arrays.pop("episode"), self.sequence_length, self.burn_in)
        self._stream = SequenceStream(arrays, windows, batch_size, seed=seed, mask=mask)

    def __iter__(self) -> Iterator[dict[str, tf.Tensor]]:
        return self

    def __next__(self) -> dict[str, tf.Tensor]:
        if self._stream is None:
            raise RuntimeError("SwappableStream.use() was never called")
        return next(self._stream)
