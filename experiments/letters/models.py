"""The letter classifiers: logistic regression, one hidden layer, a dilated conv net."""

from __future__ import annotations

import keras

from core.layers import dilated_conv_stack


def logistic_regression(l2: float = 0.0) -> keras.Model:
    """Softmax regression on the 784 pixels; ``l2`` adds ``l2 * 0.5 * ||W||^2`` to the loss."""
    reg = keras.regularizers.L2(l2 / 2) if l2 else None
    return keras.Sequential(
        [
            keras.Input((28, 28)),
            keras.layers.Flatten(),
            keras.layers.Dense(10, kernel_regularizer=reg),
        ],
        name="logreg",
    )


def hidden_layer(units: int = 1024, l2: float = 0.0, dropout: float = 0.0) -> keras.Model:
    """One ReLU hidden layer; ``l2`` penalises both weight matrices as ``l2 * 0.5 * ||W||^2``
    (the course's ``beta * tf.nn.l2_loss``), ``dropout`` drops hidden units while training."""
    reg = keras.regularizers.L2(l2 / 2) if l2 else None
    layers = [
        keras.Input((28, 28)),
        keras.layers.Flatten(),
        keras.layers.Dense(units, activation="relu", kernel_regularizer=reg),
    ]
    if dropout:
        layers.append(keras.layers.Dropout(dropout))
    layers.append(keras.layers.Dense(10, kernel_regularizer=reg))
    return keras.Sequential(layers, name="hidden")


def dilated_convnet(
    filters: int = 32, num_layers: int = 3, dense: int = 64, dropout: float = 0.0
) -> keras.Model:
    """Stride-2 stem, :func:`core.layers.dilated_conv_stack` (dilation 1, 2, 4, ...), dense head."""
    return keras.Sequential(
        [
            keras.Input((28, 28)),
            keras.layers.Reshape((28, 28, 1)),
            keras.layers.Conv2D(
                filters // 2, 3, strides=2, padding="same", activation="relu", name="stem"
            ),
            dilated_conv_stack(filters, num_layers, name="dilated"),
            keras.layers.Flatten(),
            keras.layers.Dense(dense, activation="relu"),
            *([keras.layers.Dropout(dropout)] if dropout else []),
            keras.layers.Dense(10),
        ],
        name="dilated_convnet",
    )
