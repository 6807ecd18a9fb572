"""One place that seeds every random number generator the project uses."""

from __future__ import annotations

import os
import random

import numpy as np


def seed_everything(seed: int, *, tensorflow: bool = True) -> np.random.Generator:
    """Seeds Python, NumPy and (optionally) TensorFlow, and returns a NumPy generator.

    Args:
        seed: the run's seed.
        tensorflow: also seed TensorFlow's global generator (imports TensorFlow).

    Returns:
        A ``np.random.Generator`` seeded with ``seed`` for code that wants its own stream.
    """
    os.environ["PYTHONHASHSEED"] = str(seed)
    random.seed(seed)
    np.random.seed(seed % 2**32)
    if tensorflow:
        import tensorflow as tf

        tf.random.set_seed(seed)
        try:
            import keras

            keras.utils.set_random_seed(seed)
        except ImportError:  # pragma: no cover - keras ships with tensorflow
            pass
    return np.random.default_rng(seed)
