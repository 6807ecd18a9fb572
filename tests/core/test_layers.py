"""The dilated convolution block shared with the Doom student, and its direct dilated conv."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import keras
import numpy as np
import pytest
import tensorflow as tf

import core.layers as layers_module
from core.layers import (
    DilatedConv2D,
    dilated_conv_stack,
    native_dilation_supported,
    receptive_field,
)


def test_dilation_doubles_per_layer_and_keeps_the_resolution():
    block = dilated_conv_stack(8, 4, base_dilation=1)
    out = block(np.zeros((2, 28, 28, 3), np.float32))
    assert tuple(out.shape) == (2, 28, 28, 8)
    convs = [layer for layer in block.layers if "conv" in layer.name]
    assert [c.dilation_rate[0] for c in convs] == [1, 2, 4, 8]
    assert all(isinstance(c, DilatedConv2D) for c in convs)
    assert receptive_field(4) == 31


def test_the_receptive_field_matches_a_single_pixel_impulse():
    block = dilated_conv_stack(1, 3, activation="linear")
    for layer in block.layers:
        if layer.weights:
            layer.kernel.assign(np.ones(layer.kernel.shape, np.float32))
    image = np.zeros((1, 31, 31, 1), np.float32)
    image[0, 15, 15, 0] = 1.0
    touched = np.asarray(block(image))[0, :, :, 0] != 0
    assert touched[15].sum() == receptive_field(3) == 15


def _keras_and_direct_twins(dilation: int):
    """A plain ``keras.layers.Conv2D`` and a :class:`DilatedConv2D` holding the same weights."""
    keras_conv = keras.layers.Conv2D(6, 3, padding="same", dilation_rate=dilation)
    direct = DilatedConv2D(6, 3, padding="same", dilation_rate=dilation)
    for layer in (keras_conv, direct):
        layer.build((None, 30, 40, 5))
    direct.set_weights(keras_conv.get_weights())
    return keras_conv, direct


@pytest.mark.parametrize("dilation", [2, 8])
def test_the_direct_dilated_conv_matches_keras_outputs_and_gradients(dilation):
    assert native_dilation_supported()  # oneDNN on x86: this test exercises the direct op
    image = tf.random.stateless_normal((3, 30, 40, 5), seed=(dilation, 1))
    results = []
    for layer in _keras_and_direct_twins(dilation):
        with tf.GradientTape() as tape:
            tape.watch(image)
            loss = tf.reduce_sum(layer(image) ** 2)
        results.append([layer(image), *tape.gradient(loss, [image, *layer.trainable_weights])])
    for keras_value, direct_value in zip(*results, strict=True):
        np.testing.assert_allclose(direct_value, keras_value, rtol=1e-4, atol=1e-4)


def _convolution_op_types(layer) -> set[str]:
    """The TensorFlow op types of ``layer``'s convolution, traced on a (1, 30, 40, 5) image."""
    traced = tf.function(layer.convolution_op).get_concrete_function(
        tf.TensorSpec((1, 30, 40, 5)), layer.kernel.value
    )
    return {op.type for op in traced.graph.get_operations()}


def test_the_direct_dilated_conv_runs_one_conv_op_instead_of_keras_rearrangement():
    keras_conv, direct = _keras_and_direct_twins(4)
    assert "SpaceToBatchND" in _convolution_op_types(keras_conv)
    assert "SpaceToBatchND" not in _convolution_op_types(direct)
    assert "Conv2D" in _convolution_op_types(direct)


def test_a_dilated_conv_built_with_direct_false_keeps_keras_route():
    keras_conv, _ = _keras_and_direct_twins(4)
    routed = DilatedConv2D(6, 3, padding="same", dilation_rate=4, direct=False)
    routed.build((None, 30, 40, 5))
    routed.set_weights(keras_conv.get_weights())
    assert "SpaceToBatchND" in _convolution_op_types(routed)
    assert DilatedConv2D.from_config(routed.get_config()).direct is False
    image = tf.random.stateless_normal((1, 30, 40, 5), seed=(4, 2))
    np.testing.assert_array_equal(routed(image), keras_conv(image))  # Keras' digits exactly


def test_the_direct_dilated_conv_falls_back_to_keras_where_the_op_has_no_gradient(monkeypatch):
    keras_conv, direct = _keras_and_direct_twins(4)
    monkeypatch.setattr(layers_module, "native_dilation_supported", lambda: False)
    assert "SpaceToBatchND" in _convolution_op_types(direct)  # differentiable on every device
    image = tf.ones((1, 30, 40, 5))
    np.testing.assert_allclose(direct(image), keras_conv(image), rtol=1e-5, atol=1e-5)


def test_plain_cpu_kernels_are_probed_as_unable_to_differentiate_a_dilated_conv():
    probe = "from core.layers import native_dilation_supported as p; print(p())"
    without_onednn = subprocess.run(
        [sys.executable, "-c", probe],
        env={**os.environ, "TF_ENABLE_ONEDNN_OPTS": "0", "CUDA_VISIBLE_DEVICES": ""},
        capture_output=True,
        text=True,
        check=True,
        cwd=Path(__file__).resolve().parents[2],
    )
    assert without_onednn.stdout.strip().splitlines()[-1] == "False"
