"""Input pipelines: deterministic order, exact seeking, shards, corrupt shards."""

from __future__ import annotations

import gc
import weakref

import numpy as np
import pytest

from core.data import (
    ArrayStream,
    SequenceStream,
    ShardStream,
    epoch_permutation,
    write_shards,
)
from core.errors import UserError


def _arrays(n: int = 50) -> dict[str, np.ndarray]:
    return {"x": np.arange(n * 3, dtype=np.float32).reshape(n, 3), "y": np.arange(n)}


def test_array_stream_visits_every_sample_once_per_epoch_in_the_seeded_order():
    stream = ArrayStream(_arrays(), batch_size=10, seed=4)
    labels = np.concatenate([next(stream)["y"].numpy() for _ in range(10)])
    np.testing.assert_array_equal(labels[:50], epoch_permutation(50, 4, 0))
    np.testing.assert_array_equal(labels[50:], epoch_permutation(50, 4, 1))
    assert sorted(labels[50:]) == list(range(50))
    assert int(stream.position) == 10


def test_array_stream_seek_continues_exactly_across_an_epoch_boundary():
    full = ArrayStream(_arrays(), batch_size=7, seed=1)
    expected = [next(full)["y"].numpy() for _ in range(12)]
    resumed = ArrayStream(_arrays(), batch_size=7, seed=1)
    resumed.seek(6)
    got = [next(resumed)["y"].numpy() for _ in range(6)]
    for a, b in zip(expected[6:], got, strict=True):
        np.testing.assert_array_equal(a, b)


def test_array_stream_applies_the_transform_to_each_batch():
    stream = ArrayStream(
        _arrays(), batch_size=5, seed=0, transform=lambda b: {"x": b["x"] * 2, "y": b["y"]}
    )
    batch = next(stream)
    np.testing.assert_array_equal(batch["x"].numpy(), _arrays()["x"][batch["y"].numpy()] * 2)


def test_a_dropped_array_stream_frees_its_arrays_after_it_was_read():
    """A learner swaps in a fresh stream over the grown dataset every iteration: TensorFlow's
    registry of numpy_function callables must not keep the old ones (and their arrays) alive."""
    stream = ArrayStream(_arrays(), batch_size=5, seed=0)
    next(stream)
    alive = weakref.ref(stream)
    del stream
    gc.collect()
    assert alive() is None


def test_sequence_stream_gathers_windows_of_rows_zeroes_padding_and_adds_the_mask():
    arrays = _arrays()
    windows = np.array([[0, 1, 2], [10, 11, -1], [20, -1, -1]])
    mask = np.array([[0, 1, 1], [1, 1, 1], [1, 1, 1]], np.float32)
    stream = SequenceStream(arrays, windows, batch_size=3, seed=0, mask=mask, shuffle=False)
    batch = next(stream)
    assert batch["x"].shape == (3, 3, *arrays["x"].shape[1:])
    np.testing.assert_array_equal(batch["y"].numpy(), [[0, 1, 2], [10, 11, 0], [20, 0, 0]])
    np.testing.assert_array_equal(batch["x"].numpy()[1, 2], np.zeros_like(arrays["x"][0]))
    # the given weights, and 0 on padding whatever they said
    np.testing.assert_array_equal(batch["mask"].numpy(), [[0, 1, 1], [1, 1, 0], [1, 0, 0]])
    with pytest.raises(ValueError, match="row indices"):
        SequenceStream(arrays, np.array([[0, 50]]), batch_size=1)


def test_shards_round_trip_every_record_and_resume_by_position(tmp_path):
    arrays = {
        "x": np.random.default_rng(0).integers(0, 255, (95, 4, 4), dtype=np.uint8),
        "y": np.arange(95, dtype=np.int32),
    }
    paths = write_shards(tmp_path, arrays, shard_size=20)
    assert len(paths) == 5
    stream = ShardStream(tmp_path, batch_size=19, seed=3, shuffle_buffer=30)
    batches = [next(stream) for _ in range(10)]
    first_epoch = np.concatenate([b["y"].numpy() for b in batches[:5]])
    assert sorted(first_epoch) == list(range(95))
    for b in batches[:5]:
        np.testing.assert_array_equal(b["x"].numpy(), arrays["x"][b["y"].numpy()])
    again = ShardStream(tmp_path, batch_size=19, seed=3, shuffle_buffer=30)
    again.seek(7)
    np.testing.assert_array_equal(next(again)["y"].numpy(), batches[7]["y"].numpy())


def test_a_corrupt_shard_is_named_in_one_line(tmp_path):
    write_shards(tmp_path, _arrays(40), shard_size=20)
    shard = sorted(tmp_path.glob("*.tfrecord"))[1]
    data = bytearray(shard.read_bytes())
    data[30] ^= 0xFF
    shard.write_bytes(bytes(data))
    with pytest.raises(UserError) as err:
        ShardStream(tmp_path, batch_size=4)
    assert str(err.value) == f"{shard}: corrupt data shard (checksum mismatch); regenerate it"
