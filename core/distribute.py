"""``tf.distribute`` as an option: the default strategy on CPU or one GPU, mirrored on several."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, Literal

import tensorflow as tf

StrategyName = Literal["auto", "default", "mirrored"]


def get_strategy(name: StrategyName = "auto") -> tf.distribute.Strategy:
    """Returns the strategy to build models and optimizers under.

    Args:
        name: ``auto`` picks ``MirroredStrategy`` when more than one GPU is visible and the
            default (no-op) strategy otherwise; ``default`` and ``mirrored`` force one.
    """
    if name == "mirrored" or (name == "auto" and len(tf.config.list_logical_devices("GPU")) > 1):
        return tf.distribute.MirroredStrategy()
    return tf.distribute.get_strategy()


def replicated(
    step_fn: Callable[[Any], Mapping[str, tf.Tensor]], strategy: tf.distribute.Strategy
) -> Callable[[Any], dict[str, tf.Tensor]]:
    """Wraps a per-replica step so that it runs on every replica and returns mean metrics.

    With one replica this is the step itself. Per-replica losses should be divided by
    ``num_replicas_in_sync`` (as :func:`core.trainer.supervised_step` does), because gradients
    are summed across replicas.
    """
    if strategy.num_replicas_in_sync == 1:
        return lambda batch: dict(step_fn(batch))

    def run(batch: Any) -> dict[str, tf.Tensor]:
        per_replica = strategy.run(step_fn, args=(batch,))
        return {
            k: strategy.reduce(tf.distribute.ReduceOp.MEAN, v, axis=None)
            for k, v in per_replica.items()
        }

    return run
