"""Reusable network blocks shared by the letter experiments and the Doom pixel student."""

from __future__ import annotations

import keras


def dilated_conv_stack(
    filters: int,
    num_layers: int,
    *,
    kernel_size: int = 3,
    base_dilation: int = 1,
    activation: str = "relu",
    batch_norm: bool = False,
    name: str = "dilated",
) -> keras.Sequential:
    """Convolutions whose dilation doubles per layer: ``base, 2*base, 4*base, ...``.

    The receptive field grows exponentially with depth at constant resolution (``same``
    padding, stride 1), so a few layers see a whole 28x28 letter or a large part of a frame.

    Args:
        filters: channels of every layer.
        num_layers: how many convolutions.
        kernel_size: square kernel size.
        base_dilation: the first layer's dilation rate.
        activation: activation after each convolution.
        batch_norm: add batch normalisation before each activation.
        name: the block's name (layers are ``{name}_conv{i}``).

    Returns:
        A ``keras.Sequential`` mapping ``(B, H, W, C)`` to ``(B, H, W, filters)``.
    """
    layers: list[keras.layers.Layer] = []
    for i in range(num_layers):
        layers.append(
            keras.layers.Conv2D(
                filters,
                kernel_size,
                padding="same",
                dilation_rate=base_dilation * 2**i,
                use_bias=not batch_norm,
                name=f"{name}_conv{i}",
            )
        )
        if batch_norm:
            layers.append(keras.layers.BatchNormalization(name=f"{name}_bn{i}"))
        layers.append(keras.layers.Activation(activation, name=f"{name}_act{i}"))
    return keras.Sequential(layers, name=name)


def receptive_field(num_layers: int, kernel_size: int = 3, base_dilation: int = 1) -> int:
    """The receptive field (pixels per side) of :func:`dilated_conv_stack`."""
    return 1 + (kernel_size - 1) * base_dilation * (2**num_layers - 1)
