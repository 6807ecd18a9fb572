"""Checkpoints: one ``tf.train.CheckpointManager`` over model, optimizer, step, RNG, data position.

A checkpoint that cannot be read, or that does not fit the objects being restored, is a
:class:`~core.errors.UserError` naming the file; nothing is written in that case, so a broken run
is never silently replaced by a fresh start.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import keras
import tensorflow as tf

from core.errors import UserError

_KERAS_TYPES = (keras.layers.Layer, keras.optimizers.Optimizer)


class _Variables(tf.Module):
    """A Keras object's variables in a fixed order.

    Keras 3 objects are not reliably tracked by ``tf.train.Checkpoint`` (a model's RNG seed
    state, for one, is left out), so a checkpoint holds their ``.variables`` lists instead:
    weights, non-trainable state, dropout seed state, optimizer iterations and slots.
    """

    def __init__(self, owner: Any) -> None:
        super().__init__()
        self.values = list(owner.variables)


def _trackable(name: str, value: Any) -> Any:
    if isinstance(value, _KERAS_TYPES):
        if not value.variables:
            raise ValueError(f"checkpoint object {name!r} has no variables yet: build it first")
        return _Variables(value)
    return value


def _first_line(error: BaseException) -> str:
    text = getattr(error, "message", None) or str(error) or type(error).__name__
    return text.strip().splitlines()[0][:200]


class Checkpointer:
    """Saves and restores a set of trackable objects in ``directory``.

    Args:
        directory: where checkpoints live (usually ``run_dir / "checkpoints"``).
        max_to_keep: how many recent checkpoints to keep.
        **trackables: what to save, e.g. ``model=..., optimizer=..., step=..., rng=...,
            data_position=...``. Keras models and optimizers must be built before this call
            (see :func:`core.trainer.build_optimizer`): their variable lists are taken now.
    """

    def __init__(self, directory: str | Path, max_to_keep: int = 3, **trackables: Any) -> None:
        self.directory = Path(directory)
        self.checkpoint = tf.train.Checkpoint(
            **{name: _trackable(name, value) for name, value in trackables.items()}
        )
        self.manager = tf.train.CheckpointManager(
            self.checkpoint, str(self.directory), max_to_keep=max_to_keep
        )

    @property
    def latest(self) -> str | None:
        """The newest checkpoint prefix, or ``None`` when there is none."""
        return self.manager.latest_checkpoint

    def has_checkpoint_files(self) -> bool:
        """Whether ``directory`` holds any checkpoint data (even an unreadable one)."""
        return self.directory.is_dir() and any(self.directory.glob("*.index"))

    def restore_latest(self) -> str | None:
        """Restores the newest checkpoint; returns its prefix, or ``None`` when there is none.

        Raises:
            UserError: the checkpoint is unreadable or does not match the objects.
        """
        path = self.latest
        if path is None:
            if self.has_checkpoint_files():
                raise UserError(
                    f"{self.directory}: checkpoint index unreadable; the files are "
                    "kept as they are, resume another run or move them away"
                )
            return None
        return self.restore(path)

    def restore(self, path: str) -> str:
        """Restores the checkpoint ``path`` (a prefix such as ``.../ckpt-300``) and returns it.

        Raises:
            UserError: the checkpoint is missing, unreadable or does not match the objects.
        """
        try:
            status = self.checkpoint.restore(path)
            status.assert_existing_objects_matched()
        except (
            tf.errors.OpError,
            ValueError,
            AssertionError,
            KeyError,
            IndexError,
            RuntimeError,
            TypeError,
        ) as error:
            raise UserError(
                f"{path}: corrupt or mismatched checkpoint ({_first_line(error)}); "
                "it is kept as it is"
            ) from None
        return path

    def save(self, step: int) -> str:
        """Writes a checkpoint numbered ``step`` and returns its prefix."""
        return self.manager.save(checkpoint_number=int(step))
