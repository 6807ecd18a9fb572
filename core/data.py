"""Input pipelines: endless, shuffled, resumable ``tf.data`` minibatch streams.

Two sources share one interface (:class:`BatchStream`): in-memory NumPy arrays
(:class:`ArrayStream`, or :class:`SequenceStream` for fixed-length sequences of their rows) and
on-disk TFRecord shards written by :func:`write_shards` (:class:`ShardStream`). A stream owns a
``position`` variable (batches handed out so far) that a checkpoint saves; after a restore,
:meth:`BatchStream.seek` puts the stream back exactly where it stopped, so a resumed run sees
the same batches as an uninterrupted one.

Order is a pure function of ``(seed, position)``: an array stream uses one NumPy permutation per
epoch drawn from ``default_rng([seed, epoch])``, so seeking is O(1).
"""

from __future__ import annotations

import json
import weakref
import zlib
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import tensorflow as tf

from core.errors import UserError

Batch = dict[str, tf.Tensor]
Transform = Callable[[Batch], Batch]

_META = "shards.json"


def epoch_permutation(size: int, seed: int, epoch: int) -> np.ndarray:
    """The sample order of one epoch: a permutation of ``range(size)`` fixed by (seed, epoch)."""
    return np.random.default_rng([seed, epoch]).permutation(size)


class BatchStream:
    """An endless iterator of batches (dicts of tensors) with a checkpointable position.

    Subclasses implement :meth:`dataset`, the ``tf.data`` pipeline that starts at a given batch.
    """

    def __init__(self, strategy: tf.distribute.Strategy | None = None) -> None:
        self.position = tf.Variable(0, dtype=tf.int64, trainable=False, name="data_position")
        self._strategy = strategy
        self._iterator: Iterator[Batch] | None = None

    def dataset(self, start: int) -> tf.data.Dataset:
        """The pipeline of batches ``start, start + 1, ...``."""
        raise NotImplementedError

    def seek(self, position: int) -> None:
        """Moves the stream so that the next batch is batch number ``position``."""
        self.position.assign(position)
        dataset = self.dataset(int(position))
        if self._strategy is not None and self._strategy.num_replicas_in_sync > 1:
            dataset = self._strategy.experimental_distribute_dataset(dataset)
        self._iterator = iter(dataset)

    def __iter__(self) -> BatchStream:
        return self

    def __next__(self) -> Batch:
        if self._iterator is None:
            self.seek(int(self.position))
        try:
            batch = next(self._iterator)
        except tf.errors.DataLossError as error:
            raise UserError(
                f"corrupt data while reading batch {int(self.position)}: "
                f"{error.message.splitlines()[0]}"
            ) from None
        self.position.assign_add(1)
        return batch


class ArrayStream(BatchStream):
    """Shuffled minibatches from NumPy arrays of equal length, as a prefetched ``tf.data`` pipeline.

    Batches run across epoch boundaries (every batch is full); epoch ``e`` visits the samples in
    :func:`epoch_permutation` order. Arrays are kept as they are (e.g. ``uint8``), not copied:
    each batch is gathered from them in NumPy, and ``transform`` (run on the batch, in parallel)
    converts it, so memory stays small. (A TensorFlow copy of the arrays would cost as much
    again, and TensorFlow does not give the memory of a large freed tensor back: a learner that
    streams from a dataset grown each iteration grew by the dataset's size per iteration.)

    Args:
        arrays: name -> array; all share the first dimension.
        batch_size: samples per batch.
        seed: fixes the order.
        shuffle: ``False`` walks the arrays in order (for evaluation-like passes).
        transform: a TF function applied to each batch dict, several batches at once: it
            must draw no stateful random numbers (``tf.random.uniform``), which would come
            in thread order and differ from run to run; draw them in the training step.
        strategy: distributes batches over replicas when it has more than one.
    """

    def __init__(
        self,
        arrays: Mapping[str, np.ndarray],
        batch_size: int,
        seed: int = 0,
        *,
        shuffle: bool = True,
        transform: Transform | None = None,
        strategy: tf.distribute.Strategy | None = None,
    ) -> None:
        super().__init__(strategy)
        sizes = {len(a) for a in arrays.values()}
        if len(sizes) != 1 or 0 in sizes:
            raise ValueError(f"arrays must be non-empty and of equal length, got {sizes}")
        self.size = sizes.pop()
        self.batch_size = int(batch_size)
        self.seed = int(seed)
        self.shuffle = shuffle
        self._arrays = {k: np.asarray(v) for k, v in arrays.items()}
        self._transform = transform
        self._perms: dict[int, np.ndarray] = {}

    def _order(self, epoch: int) -> np.ndarray:
        if not self.shuffle:
            return np.arange(self.size)
        if epoch not in self._perms:
            self._perms = {epoch: epoch_permutation(self.size, self.seed, epoch)}
        return self._perms[epoch]

    def batch_indices(self, batch: int) -> np.ndarray:
        """The sample indices of batch number ``batch`` (pure function of seed and batch)."""
        first = batch * self.batch_size
        positions = np.arange(first, first + self.batch_size)
        epochs, within = np.divmod(positions, self.size)
        out = np.empty(self.batch_size, dtype=np.int64)
        for epoch in np.unique(epochs):
            mask = epochs == epoch
            out[mask] = self._order(int(epoch))[within[mask]]
        return out

    def rows(self, index: np.ndarray) -> list[np.ndarray]:
        """The rows ``index`` of every array, in the arrays' order."""
        return [array[index] for array in self._arrays.values()]

    def specs(self) -> tuple[list[str], list[tf.DType], list[tuple[int, ...]]]:
        """Names, dtypes and shapes of a batch's tensors, in the order :meth:`rows` returns."""
        names = list(self._arrays)
        dtypes = [tf.as_dtype(a.dtype) for a in self._arrays.values()]
        shapes = [(self.batch_size, *a.shape[1:]) for a in self._arrays.values()]
        return names, dtypes, shapes

    def dataset(self, start: int) -> tf.data.Dataset:
        """The pipeline of batches ``start, start + 1, ...``; valid while this stream lives."""
        transform, size = self._transform, self.batch_size
        names, dtypes, shapes = self.specs()
        # TensorFlow never releases a Python function that a tf.data pipeline calls through
        # numpy_function: referenced strongly, this stream (and its arrays) would outlive it,
        # and a learner that gets a fresh stream per iteration would keep them all.
        stream = weakref.ref(self)

        def indices(batch: tf.Tensor) -> tf.Tensor:
            index = tf.numpy_function(
                lambda b: stream().batch_indices(int(b)), [batch], tf.int64, stateful=False
            )
            return tf.ensure_shape(index, [size])

        def gather(index: tf.Tensor) -> Batch:
            rows = tf.numpy_function(lambda i: stream().rows(i), [index], dtypes, stateful=False)
            batch = {k: tf.ensure_shape(v, s) for k, v, s in zip(names, rows, shapes, strict=True)}
            return transform(batch) if transform else batch

        # indices are drawn sequentially (the permutation cache is not thread-safe), gathering
        # and the transform run in parallel
        return (
            tf.data.Dataset.range(start, 2**62)
            .map(indices)
            .map(gather, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
            .prefetch(tf.data.AUTOTUNE)
        )


class SequenceStream(ArrayStream):
    """Shuffled minibatches of fixed-length sequences of rows, for recurrent networks.

    A sequence is one row of ``windows``: the indices of ``T`` rows of the arrays, ``-1`` for
    padding (a short sequence's tail). Batches hold ``batch_size`` sequences, drawn in
    :func:`epoch_permutation` order over the windows as :class:`ArrayStream` draws rows: every
    array comes back ``(batch_size, T, ...)``, padded steps zeroed, plus ``mask`` float32
    ``(batch_size, T)``, the caller's loss weight of each step (0 on padding).

    Args:
        arrays: name -> array; all share the first dimension.
        windows: ``(W, T)`` int row indices, ``-1`` for padding.
        mask: ``(W, T)`` loss weights (e.g. 0 on burn-in steps); ``None``: 1 on every real step.
        batch_size: sequences per batch.
        seed: fixes the order.
        shuffle: ``False`` walks the windows in order.
        transform: a TF function applied to each batch dict, several batches at once: it
            must draw no stateful random numbers (``tf.random.uniform``), which would come
            in thread order and differ from run to run; draw them in the training step.
        strategy: distributes batches over replicas when it has more than one.
    """

    def __init__(
        self,
        arrays: Mapping[str, np.ndarray],
        windows: np.ndarray,
        batch_size: int,
        seed: int = 0,
        *,
        mask: np.ndarray | None = None,
        shuffle: bool = True,
        transform: Transform | None = None,
        strategy: tf.distribute.Strategy | None = None,
    ) -> None:
        super().__init__(
            arrays, batch_size, seed, shuffle=shuffle, transform=transform, strategy=strategy
        )
        windows = np.asarray(windows, np.int64)
        if windows.ndim != 2 or not len(windows) or windows.max() >= self.size:
            raise ValueError(f"windows must be (W, T) row indices below {self.size}")
        mask = windows >= 0 if mask is None else np.asarray(mask)
        if mask.shape != windows.shape:
            raise ValueError(f"mask {mask.shape} does not match windows {windows.shape}")
        self._windows = windows
        self._mask = (mask * (windows >= 0)).astype(np.float32)
        self.rows_count, self.size = self.size, len(windows)

    def rows(self, index: np.ndarray) -> list[np.ndarray]:
        """The sequences ``index`` of every array, then their mask."""
        rows = self._windows[index]
        padding = rows < 0
        out = []
        for array in self._arrays.values():
            batch = array[np.maximum(rows, 0)]
            batch[padding] = 0
            out.append(batch)
        return [*out, self._mask[index]]

    def specs(self) -> tuple[list[str], list[tf.DType], list[tuple[int, ...]]]:
        names, dtypes, shapes = super().specs()
        steps = self._windows.shape[1]
        shapes = [(shape[0], steps, *shape[1:]) for shape in shapes]
        return [*names, "mask"], [*dtypes, tf.float32], [*shapes, (self.batch_size, steps)]


def write_shards(
    directory: str | Path, arrays: Mapping[str, np.ndarray], shard_size: int = 10000
) -> list[Path]:
    """Writes arrays as TFRecord shards plus a ``shards.json`` with shapes, counts and CRCs.

    Args:
        directory: output folder (created).
        arrays: name -> array; all share the first dimension.
        shard_size: records per shard.

    Returns:
        The shard paths.
    """
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    size = len(next(iter(arrays.values())))
    count = max(1, -(-size // shard_size))
    meta: dict[str, Any] = {
        "features": {
            k: {"dtype": str(v.dtype), "shape": list(v.shape[1:])} for k, v in arrays.items()
        },
        "shards": [],
    }
    paths = []
    for index in range(count):
        path = directory / f"shard-{index:05d}-of-{count:05d}.tfrecord"
        lo, hi = index * shard_size, min(size, (index + 1) * shard_size)
        with tf.io.TFRecordWriter(str(path)) as writer:
            for row in range(lo, hi):
                feature = {
                    k: tf.train.Feature(
                        bytes_list=tf.train.BytesList(
                            value=[np.ascontiguousarray(v[row]).tobytes()]
                        )
                    )
                    for k, v in arrays.items()
                }
                writer.write(
                    tf.train.Example(
                        features=tf.train.Features(feature=feature)
                    ).SerializeToString()
                )
        meta["shards"].append(
            {"file": path.name, "records": hi - lo, "crc32": zlib.crc32(path.read_bytes())}
        )
        paths.append(path)
    (directory / _META).write_text(json.dumps(meta, indent=1) + "\n")
    return paths


def read_shard_meta(directory: str | Path, verify: bool = True) -> dict[str, Any]:
    """Reads ``shards.json`` and (optionally) checks every shard's CRC; one-line errors."""
    directory = Path(directory)
    try:
        meta = json.loads((directory / _META).read_text())
    except FileNotFoundError:
        raise UserError(f"{directory}: not a shard folder (no {_META})") from None
    except (OSError, json.JSONDecodeError) as error:
        raise UserError(f"{directory / _META}: unreadable shard index ({error})") from None
    for shard in meta["shards"] if verify else []:
        path = directory / shard["file"]
        if not path.exists():
            raise UserError(f"{path}: data shard missing")
        if zlib.crc32(path.read_bytes()) != shard["crc32"]:
            raise UserError(f"{path}: corrupt data shard (checksum mismatch); regenerate it")
    return meta


class ShardStream(BatchStream):
    """Shuffled minibatches from TFRecord shards: parallel reads and decode, prefetch.

    Each epoch is one full pass: shard order is reshuffled and records pass a seeded shuffle
    buffer; batches run across epoch boundaries. With a fixed seed the order is deterministic.
    Seeking skips batches from the start (reads them again).

    Args:
        directory: a folder written by :func:`write_shards`.
        batch_size: samples per batch.
        seed: fixes the order.
        shuffle_buffer: records held in the shuffle buffer.
        transform: a TF function applied to each batch dict, several batches at once: it
            must draw no stateful random numbers (``tf.random.uniform``), which would come
            in thread order and differ from run to run; draw them in the training step.
        strategy: distributes batches over replicas when it has more than one.
    """

    def __init__(
        self,
        directory: str | Path,
        batch_size: int,
        seed: int = 0,
        *,
        shuffle_buffer: int = 10000,
        transform: Transform | None = None,
        strategy: tf.distribute.Strategy | None = None,
    ) -> None:
        super().__init__(strategy)
        self.directory = Path(directory)
        self.meta = read_shard_meta(self.directory)
        self.size = sum(s["records"] for s in self.meta["shards"])
        self.batch_size, self.seed = int(batch_size), int(seed)
        self.shuffle_buffer = shuffle_buffer
        self._transform = transform

    def dataset(self, start: int) -> tf.data.Dataset:
        features = self.meta["features"]
        files = [str(self.directory / s["file"]) for s in self.meta["shards"]]
        spec = {k: tf.io.FixedLenFeature([], tf.string) for k in features}

        def decode(serialized: tf.Tensor) -> Batch:
            parsed = tf.io.parse_example(serialized, spec)
            return {
                k: tf.reshape(
                    tf.io.decode_raw(parsed[k], tf.dtypes.as_dtype(f["dtype"])), [-1, *f["shape"]]
                )
                for k, f in features.items()
            }

        transform = self._transform
        dataset = (
            tf.data.Dataset.from_tensor_slices(files)
            .shuffle(len(files), seed=self.seed, reshuffle_each_iteration=True)
            .interleave(
                tf.data.TFRecordDataset,
                cycle_length=min(4, len(files)),
                num_parallel_calls=tf.data.AUTOTUNE,
                deterministic=True,
            )
            .shuffle(self.shuffle_buffer, seed=self.seed + 1, reshuffle_each_iteration=True)
            .repeat()
            .batch(self.batch_size, drop_remainder=True)
            .map(decode, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
        )
        if transform is not None:
            dataset = dataset.map(
                transform, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True
            )
        return dataset.skip(start).prefetch(tf.data.AUTOTUNE)


def batches_in_order(
    arrays: Mapping[str, np.ndarray], batch_size: int, transform: Transform | None = None
) -> tf.data.Dataset:
    """One ordered pass over arrays (the last batch may be short): for evaluation."""
    dataset = tf.data.Dataset.from_tensor_slices(dict(arrays)).batch(batch_size)
    if transform is not None:
        dataset = dataset.map(transform, num_parallel_calls=tf.data.AUTOTUNE)
    return dataset.prefetch(tf.data.AUTOTUNE)
