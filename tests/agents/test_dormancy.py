"""Dormant units: counting the encoder's ReLU units that have stopped firing."""

from __future__ import annotations

import keras
import numpy as np
import pytest

from agents.dormancy import dormant_fractions
from agents.student import StudentConfig, build_student

SHAPE = (60, 80, 4)
LAYERS = [
    "stem",
    "dilated_act0",
    "dilated_act1",
    "dilated_act2",
    "dilated_act3",
    "bottleneck",
    "features",
]


@pytest.fixture(scope="module")
def frames() -> np.ndarray:
    return np.random.default_rng(0).integers(0, 256, (300, *SHAPE), dtype=np.uint8)


def _silence(model: keras.Model, layer: str, channels: slice = slice(None)) -> None:
    """Makes ``channels`` of ``layer`` output zero on every input (no weights, a negative bias)."""
    kernel, bias = model.get_layer(layer).get_weights()
    kernel[..., channels] = 0.0
    bias[channels] = -1.0
    model.get_layer(layer).set_weights([kernel, bias])


def test_a_fresh_students_convolutions_all_fire(frames) -> None:
    keras.utils.set_random_seed(0)
    fractions = dormant_fractions(build_student(SHAPE, 3, StudentConfig()), frames)
    assert list(fractions) == LAYERS
    assert all(fractions[name] == 0.0 for name in LAYERS[:-1])


def test_silenced_channels_are_counted_per_layer(frames) -> None:
    keras.utils.set_random_seed(0)
    model = build_student(SHAPE, 3, StudentConfig())
    _silence(model, "stem", slice(0, 4))  # 4 of 16
    assert dormant_fractions(model, frames)["stem"] == 0.25
    _silence(model, "bottleneck")
    fractions = dormant_fractions(model, frames)
    # nothing reaches the dense layer but its biases, zero at the start: it is dead too
    assert fractions["bottleneck"] == fractions["features"] == 1.0
    assert fractions["dilated_act3"] == 0.0  # layers before the bottleneck still fire


def test_a_threshold_counts_units_that_barely_fire(frames) -> None:
    keras.utils.set_random_seed(0)
    model = build_student(SHAPE, 3, StudentConfig())
    kernel, bias = model.get_layer("stem").get_weights()
    kernel[..., 0] *= 1e-3  # channel 0 fires, a thousand times weaker
    bias[0] *= 1e-3
    model.get_layer("stem").set_weights([kernel, bias])
    assert dormant_fractions(model, frames)["stem"] == 0.0
    assert 1 / 16 <= dormant_fractions(model, frames, threshold=0.1)["stem"] < 0.5


def test_a_recurrent_student_with_an_action_history_is_measured_frame_by_frame(frames) -> None:
    keras.utils.set_random_seed(0)
    config = StudentConfig(recurrent_units=16, previous_actions=4)
    model = build_student(SHAPE, 3, config)
    history = np.random.default_rng(1).integers(-1, 3, (len(frames), 4))
    assert dormant_fractions(model, frames, history)["bottleneck"] == 0.0
    _silence(model, "bottleneck")
    assert dormant_fractions(model, frames, history, batch_size=64)["bottleneck"] == 1.0


def test_an_ensembles_fractions_are_its_members_mean(frames) -> None:
    keras.utils.set_random_seed(0)
    model = build_student(SHAPE, 3, StudentConfig(ensemble_size=2))
    _silence(model.get_layer("member_1"), "bottleneck")
    assert dormant_fractions(model, frames)["bottleneck"] == 0.5


def test_a_model_without_the_students_layers_is_an_error(frames) -> None:
    inputs = keras.Input(SHAPE)
    model = keras.Model(inputs, keras.layers.Dense(2)(keras.layers.Flatten()(inputs)))
    with pytest.raises(ValueError, match="none of the student's layers"):
        dormant_fractions(model, frames)


def test_a_leaky_unit_stuck_below_zero_counts_as_dormant(frames) -> None:
    keras.utils.set_random_seed(0)
    model = build_student(SHAPE, 3, StudentConfig(activation="leaky_relu"))
    assert model.get_layer("stem").activation.__name__ == "leaky_relu"
    assert dormant_fractions(model, frames)["bottleneck"] == 0.0
    _silence(model, "bottleneck")  # outputs 0.2 * -1 everywhere: never positive
    assert dormant_fractions(model, frames)["bottleneck"] == 1.0
