"""Learner: resume equals an uninterrupted run, NaN guard, corrupt checkpoints, custom steps."""

from __future__ import annotations

import signal
from pathlib import Path

import keras
import numpy as np
import pytest
import tensorflow as tf

from core.data import ArrayStream
from core.errors import UserError
from core.seeding import seed_everything
from core.trainer import (
    Learner,
    NonFiniteError,
    TrainerConfig,
    build_optimizer,
    supervised_step,
)


def _data(n: int = 256) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(0)
    x = rng.normal(size=(n, 8)).astype(np.float32)
    y = (x[:, 0] + x[:, 1] > 0).astype(np.int32)
    return {"x": x, "y": y}


def _learner(
    tmp: Path | None, steps: int, lr: float = 0.05, data=None
) -> tuple[Learner, keras.Model]:
    seed_everything(3)
    model = keras.Sequential(
        [
            keras.Input((8,)),
            keras.layers.Dense(16, activation="relu"),
            keras.layers.Dropout(0.3),
            keras.layers.Dense(2),
        ]
    )
    optimizer = keras.optimizers.Adam(lr)
    build_optimizer(optimizer, model)
    stream = data or ArrayStream(_data(), batch_size=32, seed=5)
    learner = Learner(
        supervised_step(model, optimizer),
        stream,
        config=TrainerConfig(steps=steps, log_every=5, checkpoint_every=4, eval_every=0),
        trackables={"model": model, "optimizer": optimizer},
        checkpoint_dir=tmp,
        show_progress=False,
    )
    return learner, model


class _InterruptAt:
    """Wraps a stream and sends SIGINT to this process when batch ``at`` is drawn."""

    def __init__(self, stream: ArrayStream, at: int) -> None:
        self.stream, self.at, self.position = stream, at, stream.position

    def seek(self, position: int) -> None:
        self.stream.seek(position)

    def __next__(self):
        if int(self.position) == self.at:
            signal.raise_signal(signal.SIGINT)
        return next(self.stream)


class _PoisonAt(_InterruptAt):
    """Returns a batch of infinities as batch ``at``."""

    def __next__(self):
        batch = next(self.stream)
        if int(self.position) == self.at + 1:
            batch = {"x": batch["x"] * np.inf, "y": batch["y"]}
        return batch


@pytest.fixture
def ctrl_c_enabled():
    """SIGINT as in a terminal, also when the suite runs as a background job (SIGINT ignored)."""
    old = signal.signal(signal.SIGINT, signal.default_int_handler)
    yield
    signal.signal(signal.SIGINT, old)


def test_resume_after_ctrl_c_gives_the_same_weights_as_an_uninterrupted_run(
    tmp_path, ctrl_c_enabled
):
    straight, model_a = _learner(None, steps=20)
    straight.run()

    stream = ArrayStream(_data(), batch_size=32, seed=5)
    first, _ = _learner(tmp_path, steps=20, data=_InterruptAt(stream, at=9))
    with pytest.raises(KeyboardInterrupt):
        first.run()
    assert first.steps == 10  # the step in flight finished, then a checkpoint was written
    assert first.checkpointer.latest.endswith("ckpt-10")

    second, model_b = _learner(tmp_path, steps=20)
    assert second.restore() == 10
    assert int(second.data.position) == 10
    second.run()
    assert second.steps == 20
    for a, b in zip(model_a.get_weights(), model_b.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)


def test_nan_guard_stops_with_a_message_and_keeps_the_last_good_checkpoint(tmp_path):
    learner, _ = _learner(tmp_path, steps=50, data=_PoisonAt(ArrayStream(_data(), 32), at=6))
    with pytest.raises(NonFiniteError, match=r"train/.*became NaN/inf at step 7; stopped") as err:
        learner.run()
    assert "last good checkpoint kept: " + str(tmp_path / "ckpt-4") in str(err.value)
    assert isinstance(err.value, UserError)
    assert sorted(p.name for p in tmp_path.glob("ckpt-*.index")) == ["ckpt-4.index"]
    restored, model = _learner(tmp_path, steps=50)
    restored.restore()
    assert all(np.isfinite(w).all() for w in model.get_weights())


def test_corrupt_checkpoint_is_one_line_naming_it_and_is_not_overwritten(tmp_path):
    learner, _ = _learner(tmp_path, steps=4)
    learner.run()
    data_file = next(tmp_path.glob("ckpt-4.data-*"))
    data_file.write_bytes(b"\x00garbage" * 10)
    before = data_file.read_bytes()
    again, _ = _learner(tmp_path, steps=8)
    with pytest.raises(UserError) as err:
        again.restore()
    message = str(err.value)
    assert "\n" not in message and "ckpt-4" in message and "corrupt or mismatched" in message
    assert data_file.read_bytes() == before


def test_mismatched_checkpoint_names_it(tmp_path):
    learner, _ = _learner(tmp_path, steps=4)
    learner.run()
    model = keras.Sequential([keras.Input((8,)), keras.layers.Dense(5), keras.layers.Dense(2)])
    optimizer = keras.optimizers.Adam()
    build_optimizer(optimizer, model)
    other = Learner(
        supervised_step(model, optimizer),
        ArrayStream(_data(), 32),
        config=TrainerConfig(steps=8),
        trackables={"model": model, "optimizer": optimizer},
        checkpoint_dir=tmp_path,
        show_progress=False,
    )
    with pytest.raises(UserError, match="ckpt-4: corrupt or mismatched checkpoint"):
        other.restore()


def test_a_custom_step_with_its_own_gradient_code_runs_compiled_with_xla():
    w = tf.Variable(tf.zeros(8))
    data = _data()

    def newton_like_step(batch):
        x = batch["x"]
        t = tf.cast(batch["y"], tf.float32)
        with tf.GradientTape() as tape:
            logits = tf.linalg.matvec(x, w)
            loss = tf.reduce_mean(tf.nn.sigmoid_cross_entropy_with_logits(t, logits))
        g = tape.gradient(loss, w)
        w.assign_sub(2.0 * g)
        return {"loss": loss}

    learner = Learner(
        newton_like_step,
        ArrayStream(data, 64, seed=1),
        config=TrainerConfig(steps=60, jit_compile=True, eval_every=0),
        show_progress=False,
    )
    metrics = learner.run()
    assert learner.steps == 60
    assert metrics["loss"] < 0.4


def test_a_sigint_ignored_by_the_parent_stays_ignored_while_training(tmp_path):
    old = signal.signal(signal.SIGINT, signal.SIG_IGN)  # as under nohup or a background job
    try:
        stream = ArrayStream(_data(), batch_size=32, seed=5)
        learner, _ = _learner(tmp_path, steps=12, data=_InterruptAt(stream, at=3))
        learner.run()  # the SIGINT at batch 3 is not a request to stop
        assert learner.steps == 12
        assert signal.getsignal(signal.SIGINT) is signal.SIG_IGN
    finally:
        signal.signal(signal.SIGINT, old)
