"""Reusable network blocks shared by the letter experiments and the Doom pixel student."""

from __future__ import annotations

import functools
from typing import Any

import keras
import tensorflow as tf


@functools.cache
def native_dilation_supported() -> bool:
    """Whether the default device runs and differentiates a dilated ``Conv2D`` op itself.

    GPUs (cuDNN) and CPUs with oneDNN (TensorFlow's default on x86) do; TensorFlow's plain CPU
    kernels compute the forward pass but refuse its gradient. Probed once per process with the
    forward op and both gradient ops on a 5x5 image, outside any graph being traced.
    """
    shape = (1, 5, 5, 1)
    options = {"strides": [1, 1, 1, 1], "padding": "SAME", "dilations": [1, 2, 2, 1]}
    with tf.init_scope():  # eager even when called while a graph is traced
        image, kernel = tf.zeros(shape), tf.zeros((3, 3, 1, 1))
        try:
            tf.nn.conv2d(image, kernel, **options)
            tf.raw_ops.Conv2DBackpropInput(
                input_sizes=shape, filter=kernel, out_backprop=image, **options
            )
            tf.raw_ops.Conv2DBackpropFilter(
                input=image, filter_sizes=kernel.shape, out_backprop=image, **options
            )
        except tf.errors.OpError:
            return False
    return True


@keras.saving.register_keras_serializable(package="doomgps")
class DilatedConv2D(keras.layers.Conv2D):
    """``keras.layers.Conv2D`` that hands its dilation to the convolution op itself.

    ``tf.nn.convolution``, which Keras calls, implements any dilation by rearranging the image
    into ``dilation**2`` smaller ones (``space_to_batch``), convolving and rearranging back;
    ``tf.nn.conv2d`` with ``dilations`` runs oneDNN's or cuDNN's dilated kernel directly: the
    Doom student's inference call 1.4-1.6x and its training step 1.5-2x as fast on this
    project's CPUs (``python -m benchmarks.dilated_conv``). The weights, outputs and gradients
    are Keras' own (to float rounding: ``tests/core/test_layers.py``), so checkpoints of either
    layer load into the other. Falls back to Keras' path where
    :func:`native_dilation_supported` is false, and for strides, groups or channels-first data,
    which this layer does not route.

    Args:
        *args: ``keras.layers.Conv2D``'s.
        direct: ``False`` keeps Keras' route: the same function, rounded differently, for
            repeating to the last digit a network trained that way.
        **kwargs: ``keras.layers.Conv2D``'s.
    """

    def __init__(self, *args: Any, direct: bool = True, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.direct = direct

    def get_config(self) -> dict[str, Any]:
        """Keras' serialisation hook: ``Conv2D``'s config and ``direct``."""
        return {**super().get_config(), "direct": self.direct}

    def convolution_op(self, inputs: tf.Tensor, kernel: tf.Tensor) -> tf.Tensor:
        """Keras' hook: the convolution alone (``call`` adds the bias and the activation)."""
        direct = (
            self.direct
            and max(self.dilation_rate) > 1
            and self.groups == 1
            and self.data_format == "channels_last"
            and tuple(self.strides) == (1, 1)
            and native_dilation_supported()
        )
        if not direct:
            return super().convolution_op(inputs, kernel)
        return tf.nn.conv2d(
            inputs,
            kernel,
            strides=1,
            padding=self.padding.upper(),
            dilations=list(self.dilation_rate),
        )


def dilated_conv_stack(
    filters: int,
    num_layers: int,
    *,
    kernel_size: int = 3,
    base_dilation: int = 1,
    activation: str = "relu",
    batch_norm: bool = False,
    direct: bool = True,
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
        direct: run each dilation in the convolution op itself (:class:`DilatedConv2D`);
            ``False``: Keras' ``space_to_batch`` route.
        name: the block's name (layers are ``{name}_conv{i}``).

    Returns:
        A ``keras.Sequential`` mapping ``(B, H, W, C)`` to ``(B, H, W, filters)``.
    """
    layers: list[keras.layers.Layer] = []
    for i in range(num_layers):
        layers.append(
            DilatedConv2D(
                filters,
                kernel_size,
                padding="same",
                dilation_rate=base_dilation * 2**i,
                use_bias=not batch_norm,
                direct=direct,
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
