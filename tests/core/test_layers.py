"""The dilated convolution block shared with the Doom student."""

from __future__ import annotations

import numpy as np

from core.layers import dilated_conv_stack, receptive_field


def test_dilation_doubles_per_layer_and_keeps_the_resolution():
    block = dilated_conv_stack(8, 4, base_dilation=1)
    out = block(np.zeros((2, 28, 28, 3), np.float32))
    assert tuple(out.shape) == (2, 28, 28, 8)
    convs = [layer for layer in block.layers if "conv" in layer.name]
    assert [c.dilation_rate[0] for c in convs] == [1, 2, 4, 8]
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
