"""Dormant units: the units of a student's encoder that have stopped firing.

A ReLU unit whose output is zero on every input gets no gradient and so never comes back (the
"dormant neuron" of Sokar et al., 2023, who count a unit dormant when its mean absolute output is
at most ``threshold`` times its layer's mean). With ``threshold`` 0 a unit is dormant when it is
positive on no row: for a ReLU, dead; for a leaky ReLU (``StudentConfig.activation``), stuck on
its small negative slope, where it still passes a gradient.

Session 50 found the encoders of GRU students fed their previous actions dead in the first rounds
(the 1x1 bottleneck 100% dormant, so no pixel reached the policy), while the feed-forward
student's stayed alive (``docs/agents.md``). The loop logs these fractions as ``train/dormant/*``
after each round; ``benchmarks.refit`` and ``benchmarks.offline_fit`` print them.
"""

from __future__ import annotations

from typing import Any

import numpy as np

ENCODER_LAYERS = ("stem", "dilated", "bottleneck", "features")
"""The student's ReLU layers, input first; ``dilated`` is reported per convolution."""


def dormant_fractions(
    model: Any,
    observation: np.ndarray,
    previous_actions: np.ndarray | None = None,
    *,
    threshold: float = 0.0,
    batch_size: int = 256,
) -> dict[str, float]:
    """The fraction of each encoder layer's units that are dormant on a batch of rows.

    A convolution's unit is a channel (its output averaged over the batch and every position).

    Args:
        model: a student (:func:`agents.student.build_student`): feed-forward, recurrent or an
            ensemble, whose fractions are averaged over its members.
        observation: uint8 ``(N, H, W, C)`` rows, one frame each (a recurrent student sees them
            as sequences of one step from a zero state: its encoder reads one frame at a time).
        previous_actions: int ``(N, k)``, if the student takes an action history.
        threshold: a unit is dormant when its mean absolute output is at most this fraction of
            the mean over its layer's units; 0: when it is positive on no row.
        batch_size: rows per forward pass.

    Returns:
        ``{layer: fraction}`` in input order: ``stem``, ``dilated_act0`` ...,
        ``bottleneck``, ``features``.
    """
    networks = [model] if _is_network(model) else [m for m in model.layers if _is_network(m)]
    if not networks:
        raise ValueError(f"{model.name} has none of the student's layers {ENCODER_LAYERS}")
    per_network = [
        _fractions(network, observation, previous_actions, threshold, batch_size)
        for network in networks
    ]
    return {name: float(np.mean([f[name] for f in per_network])) for name in per_network[0]}


def _is_network(model: Any) -> bool:
    names = {layer.name for layer in getattr(model, "layers", ())}
    return set(ENCODER_LAYERS) <= names


def _fractions(
    network: Any,
    observation: np.ndarray,
    previous_actions: np.ndarray | None,
    threshold: float,
    batch_size: int,
) -> dict[str, float]:
    """:func:`dormant_fractions` of one network (not an ensemble)."""
    import keras

    from agents.student import history_length, recurrent_units, student_inputs

    recurrent = recurrent_units(network) > 0
    probe = keras.Model(
        network.input, {name: network.get_layer(name).output for name in ENCODER_LAYERS}
    )
    stack = network.get_layer("dilated")
    sums: dict[str, np.ndarray] = {}  # per unit: the sum of |output| over rows and positions
    fires: dict[str, np.ndarray] = {}  # per unit: positive somewhere
    for start in range(0, len(observation), batch_size):
        rows = slice(start, start + batch_size)
        frames, history = observation[rows], None
        if history_length(network):
            history = np.asarray(previous_actions[rows], np.int32)
        if recurrent:
            frames = frames[:, None]
            history = None if history is None else history[:, None]
        out = probe(student_inputs(network, frames, history), training=False)
        outputs = {"stem": out["stem"]}
        x = out["stem"]
        for layer in stack.layers:  # the dilated block is a chain; keep each activation
            x = layer(x, training=False)
            if isinstance(layer, keras.layers.Activation):
                outputs[layer.name] = x
        outputs.update(bottleneck=out["bottleneck"], features=out["features"])
        for name, value in outputs.items():
            value = np.asarray(keras.ops.convert_to_numpy(value), np.float32)
            value = value.reshape(-1, value.shape[-1])
            total, positive = np.abs(value).sum(axis=0), (value > 0).any(axis=0)
            sums[name] = sums.get(name, 0.0) + total
            fires[name] = fires.get(name, False) | positive
    fractions = {}
    for name, total in sums.items():
        if threshold == 0.0:
            dormant = ~fires[name]
        else:  # each unit's mean |output| against its layer's (both over the same count)
            scale = total.mean()
            dormant = total <= threshold * scale if scale > 0 else np.ones_like(total, bool)
        fractions[name] = float(dormant.mean())
    return fractions
