"""Polyak averaging: the twin model holds the ramped exponential moving average of the weights."""

from __future__ import annotations

import keras
import numpy as np
import pytest
import tensorflow as tf

from core.averaging import WeightAverage


def _model(units: int = 3) -> keras.Model:
    inputs = keras.Input((2,))
    return keras.Model(inputs, keras.layers.Dense(units)(inputs))


def _set(model: keras.Model, value: float) -> None:
    model.set_weights([np.full(w.shape, value, np.float32) for w in model.get_weights()])


def test_the_average_starts_as_a_copy_and_follows_the_ramped_decay() -> None:
    model, twin = _model(), _model()
    average = WeightAverage(model, twin, decay=0.9)
    for a, b in zip(model.get_weights(), twin.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)
    _set(twin, 0.0)
    _set(model, 1.0)
    expected = 0.0
    update = tf.function(average.update)
    for n in range(30):
        update()
        decay = min(0.9, (1 + n) / (10 + n))
        expected = decay * expected + (1 - decay) * 1.0
        for w in twin.get_weights():
            np.testing.assert_allclose(w, expected, rtol=1e-5)
    assert int(average.updates.numpy()) == 30
    assert 0.9 < expected < 1.0


def test_the_average_of_oscillating_weights_stays_near_their_mean() -> None:
    model, twin = _model(), _model()
    average = WeightAverage(model, twin, decay=0.99)
    _set(twin, 0.0)
    for n in range(400):
        _set(model, 1.0 if n % 2 else -1.0)
        average.update()
    assert max(float(np.abs(w).max()) for w in twin.get_weights()) < 0.02
    assert all(np.abs(w).min() == 1.0 for w in model.get_weights())


def test_mismatched_models_and_bad_decays_are_refused() -> None:
    with pytest.raises(ValueError, match="do not match"):
        WeightAverage(_model(3), _model(4), 0.99)
    for decay in (0.0, 1.0, -0.5):
        with pytest.raises(ValueError, match="decay"):
            WeightAverage(_model(), _model(), decay)
