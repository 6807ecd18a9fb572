"""The pixel student: a dilated-convolution network with a policy head and auxiliary heads.

The input is the env's stacked uint8 observation (default 4 grey 60x80 frames); the network
scales it. A 5x5 stride-2 convolution halves the resolution once, then 3x3 convolutions with
dilation 1, 2, 4, 8 grow the receptive field to the whole frame without pooling away small,
distant enemies, a 1x1 convolution shrinks the channels, and the map is *flattened* (global
average pooling throws away where an enemy is horizontally, and a student trained that way could
not even fit its labels). A dense layer then feeds the policy head and the auxiliary heads.

The auxiliary heads are trained from engine-state labels the student never sees as input (as in
Arnold's game features): whether an enemy is on screen, which horizontal screen bucket the nearest
visible enemy is in, and health and ammo bands. :func:`aux_targets` computes them; ``-1`` marks
"unknown" and is left out of the loss.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

import keras
import numpy as np

from core.layers import dilated_conv_stack
from envs.engine_state import Category, EngineState


@dataclasses.dataclass(frozen=True)
class StudentConfig:
    """Sizes of the student network (defaults train at ~1,000 samples/s on 2 CPU cores)."""

    stem_filters: int = 16
    """channels of the first 5x5 stride-2 convolution"""
    stem_stride: int = 2
    """stride of the first convolution (1 was 3x slower in the prototype and no better)"""
    dilated_filters: int = 16
    """channels of each dilated 3x3 convolution"""
    dilated_layers: int = 4
    """dilated convolutions; dilation doubles per layer (1, 2, 4, 8, ...)"""
    bottleneck_filters: int = 8
    """channels of the 1x1 convolution before flattening"""
    dense_units: int = 128
    """width of the dense layer shared by all heads"""
    aux_heads: bool = True
    """add the auxiliary engine-state heads (enemy visible, enemy column, health/ammo bands)"""
    enemy_columns: int = 5
    """horizontal screen buckets of the enemy-position head"""
    precision: str = "float32"
    """``float32``, ``mixed_float16`` or ``mixed_bfloat16`` (set the policy before building)"""


HEALTH_BANDS = (25.0, 50.0, 75.0)
"""Upper edges of the health bands (4 classes: <25, <50, <75, more)."""
AMMO_BANDS = (1.0, 10.0, 20.0)
"""Upper edges of the ammo bands (4 classes: empty, <10, <20, more)."""


def aux_head_sizes(config: StudentConfig) -> dict[str, int]:
    """Auxiliary head name -> number of classes (empty when the heads are off)."""
    if not config.aux_heads:
        return {}
    return {
        "enemy_visible": 2,
        "enemy_column": config.enemy_columns,
        "health_band": len(HEALTH_BANDS) + 1,
        "ammo_band": len(AMMO_BANDS) + 1,
    }


AUX_NAMES = ("enemy_visible", "enemy_column", "health_band", "ammo_band")
"""Column order of the auxiliary target array written by :func:`aux_targets`."""


def aux_targets(states: Sequence[EngineState | None], enemy_columns: int = 5) -> np.ndarray:
    """Auxiliary class labels for a batch of engine states, ``(N, 4)`` int8, ``-1`` = unknown.

    Columns follow :data:`AUX_NAMES`. The enemy column is the horizontal bucket of the visible
    enemy with the tallest screen box (the nearest one); it is ``-1`` when no enemy is visible.
    """
    out = np.full((len(states), len(AUX_NAMES)), -1, np.int8)
    for i, state in enumerate(states):
        if state is None:
            continue
        objects = state.objects
        enemies = (objects.category == Category.ENEMY) & objects.visible
        out[i, 0] = int(enemies.any())
        if enemies.any():
            boxes = objects.box[enemies]
            nearest = boxes[np.argmax(boxes[:, 3])]
            centre = (nearest[0] + nearest[2] / 2) / max(state.screen_size[0], 1)
            out[i, 1] = int(np.clip(centre * enemy_columns, 0, enemy_columns - 1))
        out[i, 2] = int(np.searchsorted(HEALTH_BANDS, state.player.health, side="right"))
        out[i, 3] = int(np.searchsorted(AMMO_BANDS, state.player.ammo, side="right"))
    return out


def build_student(
    observation_shape: tuple[int, int, int], num_actions: int, config: StudentConfig | None = None
) -> keras.Model:
    """Builds the student.

    Args:
        observation_shape: ``(H, W, C)`` of the stacked uint8 observation.
        num_actions: size of the scenario's action set.
        config: network sizes.

    Returns:
        A Keras model mapping a uint8 ``(B, H, W, C)`` batch to a dict with ``logits``
        ``(B, num_actions)`` and one logits tensor per auxiliary head (float32 outputs).
    """
    config = config or StudentConfig()
    inputs = keras.Input(observation_shape, dtype="uint8", name="observation")
    x = keras.layers.Rescaling(1.0 / 255.0, name="scale")(inputs)
    x = keras.layers.Conv2D(
        config.stem_filters,
        5,
        strides=config.stem_stride,
        padding="same",
        activation="relu",
        name="stem",
    )(x)
    x = dilated_conv_stack(config.dilated_filters, config.dilated_layers, name="dilated")(x)
    x = keras.layers.Conv2D(config.bottleneck_filters, 1, activation="relu", name="bottleneck")(x)
    x = keras.layers.Flatten(name="flatten")(x)
    features = keras.layers.Dense(config.dense_units, activation="relu", name="features")(x)
    outputs = {"logits": keras.layers.Dense(num_actions, dtype="float32", name="policy")(features)}
    for name, size in aux_head_sizes(config).items():
        outputs[name] = keras.layers.Dense(size, dtype="float32", name=f"aux_{name}")(features)
    return keras.Model(inputs, outputs, name="student")
