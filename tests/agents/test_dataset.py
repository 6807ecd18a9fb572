"""The on-disk dataset: append, resume, corrupt shards, a kill mid-write."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

from agents.dataset import ShardedDataset

ROOT = Path(__file__).resolve().parents[2]


def _rows(n: int, start: int = 0) -> dict[str, np.ndarray]:
    return {
        "observation": np.full((n, 6, 8, 4), start % 251, np.uint8),
        "label": np.full((n, 3), 1 / 3, np.float32),
        "episode": np.arange(start, start + n, dtype=np.int64),
    }


def test_rows_come_back_in_order_across_shards_and_reopening(tmp_path: Path) -> None:
    data = ShardedDataset(tmp_path, shard_size=10)
    data.append(_rows(25))
    data.flush()
    assert len(data.shards()) == 3
    reopened = ShardedDataset(tmp_path, shard_size=10)
    reopened.append(_rows(7, start=25))
    reopened.flush()
    arrays = reopened.load()
    np.testing.assert_array_equal(arrays["episode"], np.arange(32))
    assert arrays["observation"].dtype == np.uint8 and arrays["observation"].shape == (32, 6, 8, 4)
    assert reopened.corrupt == []


def test_load_reads_only_new_shards_and_keeps_old_rows(tmp_path: Path) -> None:
    data = ShardedDataset(tmp_path, shard_size=4)
    data.append(_rows(4))
    assert len(data.load()["episode"]) == 4
    data.append(_rows(4, start=4))
    assert len(data.load()["episode"]) == 8


def test_a_corrupt_shard_is_reported_counted_and_skipped(tmp_path: Path, capsys) -> None:
    data = ShardedDataset(tmp_path, shard_size=5, fields=("observation", "label", "episode"))
    data.append(_rows(15))
    bad = data.shards()[1]
    bad.write_bytes(bad.read_bytes()[: len(bad.read_bytes()) // 2])
    reopened = ShardedDataset(tmp_path, fields=("observation", "label", "episode"))
    arrays = reopened.load()
    np.testing.assert_array_equal(arrays["episode"], np.r_[0:5, 10:15])
    assert reopened.corrupt == [bad]
    assert "corrupt shard" in capsys.readouterr().err


def test_a_shard_without_a_required_field_counts_as_corrupt(tmp_path: Path) -> None:
    np.savez_compressed(tmp_path / "shard-000000.npz", episode=np.arange(3))
    data = ShardedDataset(tmp_path, fields=("observation", "episode"))
    assert data.load() == {} and len(data.corrupt) == 1


_WRITER = """
import sys, numpy as np
sys.path.insert(0, {root!r})
from agents.dataset import ShardedDataset
data = ShardedDataset({path!r}, shard_size=64)
rng = np.random.default_rng(0)
k = 0
while True:
    data.append({{"observation": rng.integers(0, 255, (64, 60, 80, 4), dtype=np.uint8),
                 "episode": np.arange(k, k + 64)}})
    k += 64
"""


def test_shards_survive_a_kill_mid_write(tmp_path: Path) -> None:
    path = tmp_path / "data"
    script = _WRITER.format(root=str(ROOT), path=str(path))
    writer = subprocess.Popen([sys.executable, "-c", script])
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if len(list(path.glob("shard-*.npz"))) >= 3 and list(path.glob(".shard-*.tmp")):
                break  # killed while a shard is being written
            time.sleep(0.005)
    finally:
        os.kill(writer.pid, signal.SIGKILL)
        writer.wait()
    reopened = ShardedDataset(path)
    arrays = reopened.load()
    assert reopened.corrupt == []
    assert not list(path.glob(".shard-*.tmp"))
    assert len(arrays["episode"]) == 64 * len(reopened.shards()) >= 3 * 64
    np.testing.assert_array_equal(arrays["episode"], np.arange(len(arrays["episode"])))


def test_shards_of_an_uncommitted_iteration_are_set_aside_not_deleted(tmp_path: Path) -> None:
    data = ShardedDataset(tmp_path, shard_size=5)
    data.append(_rows(15))
    moved = ShardedDataset(tmp_path).set_aside(keep=2)
    assert [p.name for p in moved] == ["orphan-shard-000002.npz"] and moved[0].exists()
    reopened = ShardedDataset(tmp_path, shard_size=5)
    reopened.append(_rows(5, start=100))
    np.testing.assert_array_equal(reopened.load()["episode"], np.r_[0:10, 100:105])
