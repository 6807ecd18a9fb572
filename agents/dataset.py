"""The aggregated dataset: append-only, sharded, compressed NumPy files on disk.

Every iteration of the alternation appends the states it visited (uint8 observations, soft
labels, teacher scores, auxiliary targets, episode ids). Rows are buffered and written as
``shard-NNNNNN.npz`` files (``np.savez_compressed``): each shard is written to a temporary file,
flushed to disk and then atomically renamed, so a process killed mid-write leaves either the whole
shard or none (its temporary file is removed, and counted, the next time the folder is opened).
Shards are never modified after they are written; reopening the folder resumes appending.

A shard that cannot be read (truncated, bit rot, missing fields) is reported on stderr and skipped,
and counted in :attr:`ShardedDataset.corrupt`; data is never dropped silently. Shards are read with
``allow_pickle=False``.

A recurrent student trains on windows of consecutive steps of one episode:
:func:`episode_windows` cuts them from the rows' episode ids.
"""

from __future__ import annotations

import os
import sys
import tempfile
import zipfile
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import BinaryIO

import numpy as np

SHARD_GLOB = "shard-*.npz"


def atomic_write(path: str | Path, write: Callable[[BinaryIO], object]) -> None:
    """Calls ``write(handle)`` on a temporary file beside ``path``, then renames it into place,
    so that readers see the old file or the whole new one (a kill leaves only a ``.*.tmp``)."""
    path = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            write(handle)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def atomic_write_bytes(path: str | Path, data: bytes) -> None:
    """Writes ``data`` to ``path`` atomically (see :func:`atomic_write`)."""
    atomic_write(path, lambda handle: handle.write(data))


_UNREADABLE = (OSError, ValueError, EOFError, zipfile.BadZipFile, KeyError)
"""What reading a damaged or incomplete shard raises (the shard is then reported and skipped)."""


class ShardedDataset:
    """An append-only dataset of equal-length named arrays in a folder of ``.npz`` shards.

    Args:
        directory: the folder (created if missing; existing shards are kept and appended to).
        shard_size: rows per shard; :meth:`append` writes a shard whenever this many are buffered.
        fields: the names every shard must hold; a shard missing one counts as corrupt.
        read_only: only :meth:`load`: the folder is not created, a live writer's temporary files
            are left alone, and :meth:`append`, :meth:`flush` and :meth:`set_aside` raise (for
            tools that read another process's run, such as ``benchmarks.offline_fit``).
    """

    def __init__(
        self,
        directory: str | Path,
        shard_size: int = 2048,
        fields: tuple[str, ...] | None = None,
        read_only: bool = False,
    ) -> None:
        self.directory = Path(directory)
        self.read_only = read_only
        self.shard_size = int(shard_size)
        self.fields = fields
        self.corrupt: list[Path] = []
        """Shards found unreadable (reported once each, skipped)."""
        self.removed_partial = 0
        """Temporary files of interrupted writes removed when the folder was opened."""
        if not read_only:
            self.directory.mkdir(parents=True, exist_ok=True)
            for stale in self.directory.glob(".shard-*.tmp"):
                stale.unlink(missing_ok=True)
                self.removed_partial += 1
        self._buffer: dict[str, list[np.ndarray]] = {}
        self._buffered = 0
        self._loaded: dict[str, np.ndarray] = {}
        self._loaded_files: set[str] = set()
        self._next_index = 1 + max((self._index(p) for p in self.shards()), default=-1)

    @staticmethod
    def _index(path: Path) -> int:
        return int(path.stem.split("-")[1])

    def shards(self) -> list[Path]:
        """The shard files written so far, in write order."""
        return sorted(self.directory.glob(SHARD_GLOB), key=self._index)

    def set_aside(self, keep: int) -> list[Path]:
        """Renames shards numbered ``keep`` and above to ``orphan-*.npz`` and returns the new paths.

        A run commits how many shards its finished iterations wrote; shards beyond that come from
        an interrupted iteration and must not be trained on (the iteration is collected again).
        They are kept on disk under another name, never deleted.
        """
        self._check_writable("set_aside")
        moved = []
        for path in self.shards():
            if self._index(path) >= keep:
                target = path.with_name(f"orphan-{path.name}")
                os.replace(path, target)
                moved.append(target)
        self._next_index = 1 + max((self._index(p) for p in self.shards()), default=-1)
        return moved

    def append(self, rows: Mapping[str, np.ndarray]) -> None:
        """Buffers rows (arrays sharing their first dimension); writes full shards."""
        self._check_writable("append")
        sizes = {len(v) for v in rows.values()}
        if len(sizes) != 1:
            raise ValueError(f"rows must share their first dimension, got {sizes}")
        if self._buffer and set(rows) != set(self._buffer):
            raise ValueError(f"fields {sorted(rows)} differ from {sorted(self._buffer)}")
        for key, value in rows.items():
            self._buffer.setdefault(key, []).append(np.asarray(value))
        self._buffered += sizes.pop()
        while self._buffered >= self.shard_size:
            self._write(self.shard_size)

    def flush(self) -> None:
        """Writes every buffered row (a last, possibly short shard)."""
        self._check_writable("flush")
        if self._buffered:
            self._write(self._buffered)

    def _check_writable(self, method: str) -> None:
        if self.read_only:
            raise PermissionError(f"{self.directory}: opened read-only, cannot {method}")

    def _write(self, count: int) -> None:
        joined = {k: np.concatenate(v) for k, v in self._buffer.items()}
        shard = {k: v[:count] for k, v in joined.items()}
        rest = {k: v[count:] for k, v in joined.items()}
        path = self.directory / f"shard-{self._next_index:06d}.npz"
        atomic_write(path, lambda handle: np.savez_compressed(handle, **shard))
        self._next_index += 1
        self._buffered -= count
        self._buffer = {k: [v] for k, v in rest.items()} if self._buffered else {}

    def _read(self, path: Path) -> dict[str, np.ndarray] | None:
        try:
            with np.load(path, allow_pickle=False) as archive:
                arrays = {k: archive[k] for k in archive.files}
            if self.fields is not None and set(self.fields) - set(arrays):
                raise ValueError(f"missing fields {sorted(set(self.fields) - set(arrays))}")
            if len({len(v) for v in arrays.values()}) != 1:
                raise ValueError("fields of different lengths")
        except _UNREADABLE as error:
            self.corrupt.append(path)
            print(
                f"dataset: skipping corrupt shard {path} ({type(error).__name__}: "
                f"{str(error).splitlines()[0] if str(error) else 'unreadable'})",
                file=sys.stderr,
            )
            return None
        return arrays

    def load(self) -> dict[str, np.ndarray]:
        """All readable rows, concatenated in write order (shards already read are cached)."""
        new = [
            p for p in self.shards() if p.name not in self._loaded_files and p not in self.corrupt
        ]
        parts: dict[str, list[np.ndarray]] = {k: [v] for k, v in self._loaded.items()}
        for path in new:
            arrays = self._read(path)
            self._loaded_files.add(path.name)
            if arrays is None:
                continue
            if parts and set(arrays) != set(parts):
                self.corrupt.append(path)
                print(
                    f"dataset: skipping shard {path} with fields {sorted(arrays)} "
                    f"(expected {sorted(parts)})",
                    file=sys.stderr,
                )
                continue
            for key, value in arrays.items():
                parts.setdefault(key, []).append(value)
        if new:
            self._loaded = {k: np.concatenate(v) for k, v in parts.items()}
        return dict(self._loaded)

    def column(self, name: str) -> np.ndarray:
        """One column of every readable shard, in write order, without reading the others (a
        shard that lacks it or cannot be read is reported and skipped, as :meth:`load` does).
        """
        parts = []
        for path in self.shards():
            try:
                with np.load(path, allow_pickle=False) as archive:
                    parts.append(archive[name])
            except _UNREADABLE as error:
                print(
                    f"dataset: skipping shard {path} for its {name!r} column "
                    f"({type(error).__name__})",
                    file=sys.stderr,
                )
        if not parts:
            raise ValueError(f"{self.directory}: no readable {name!r} column in any shard")
        return np.concatenate(parts)

    def __len__(self) -> int:
        """Rows loaded so far plus rows still buffered (:meth:`load` first for a full count)."""
        return len(next(iter(self._loaded.values()), ())) + self._buffered


def episode_windows(
    episode: np.ndarray, length: int, burn_in: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    """Cuts every episode's rows into windows of ``length`` consecutive steps (R2D2's layout).

    Rows of all envs are interleaved in the dataset, but an episode's rows are in time order, so
    a stable sort by episode id lists each episode's steps in order. Window 0 of an episode
    starts at its first step; window ``j`` starts ``j * (length - burn_in)`` steps later, so its
    first ``burn_in`` steps are the last ones of window ``j - 1`` and only warm up the hidden
    state. No window crosses an episode's end: the last is padded.

    Args:
        episode: ``(N,)`` episode id of each row.
        length: steps per window (``T``).
        burn_in: steps at the start of a window left out of the loss (``K < T``), except in an
            episode's first window, whose hidden state starts at zeros exactly as when the
            student acts: there it is not an approximation to warm up, and those steps are in
            no other window.

    Returns:
        ``(windows, mask)``: ``(W, T)`` int64 row indices (``-1``: padding) and ``(W, T)``
        float32 loss weights (1 on the steps to train on, 0 on burn-in and padding). Every row
        has weight 1 in exactly one window.

    Raises:
        ValueError: ``length < 1`` or ``burn_in`` outside ``[0, length)``.
    """
    if length < 1 or not 0 <= burn_in < length:
        raise ValueError(f"need length >= 1 and 0 <= burn_in < length, not {length}, {burn_in}")
    episode = np.asarray(episode)
    order = np.argsort(episode, kind="stable")
    first = np.flatnonzero(np.r_[True, episode[order][1:] != episode[order][:-1]])
    sizes = np.diff(np.r_[first, len(order)])
    stride = length - burn_in
    count = 1 + np.maximum(0, -(-(sizes - length) // stride))
    owner = np.repeat(np.arange(len(sizes)), count)
    index = np.arange(len(owner)) - np.repeat(np.cumsum(count) - count, count)
    offset = index * stride
    steps = np.arange(length)
    real = steps < (sizes[owner] - offset)[:, None]
    position = first[owner, None] + offset[:, None] + steps
    windows = np.where(real, order[np.where(real, position, 0)], -1)
    trained = real & ((steps >= burn_in) | (index == 0)[:, None])
    return windows, trained.astype(np.float32)
