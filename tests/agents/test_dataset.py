"""The on-disk dataset: append, resume, corrupt shards, a kill mid-write."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

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


def test_a_read_only_dataset_reads_a_live_folder_without_touching_it(tmp_path: Path) -> None:
    writer = ShardedDataset(tmp_path / "live", shard_size=5)
    writer.append(_rows(12))
    partial = tmp_path / "live" / ".shard-000002.npz.abc.tmp"
    partial.write_bytes(b"half a shard")
    reader = ShardedDataset(tmp_path / "live", read_only=True)
    np.testing.assert_array_equal(reader.load()["episode"], np.arange(10))
    assert partial.exists() and reader.removed_partial == 0
    with pytest.raises(PermissionError, match="read-only"):
        reader.append(_rows(1))
    assert ShardedDataset(tmp_path / "absent", read_only=True).load() == {}
    assert not (tmp_path / "absent").exists()


def _interleaved(lengths: list[int], envs: int = 3) -> tuple[np.ndarray, np.ndarray]:
    """Episode ids and in-episode step numbers of rows written as the collector does: one row
    per busy env per step, an env starting the next episode when its own ends."""
    queue, playing, rows = list(range(len(lengths))), {}, []
    while queue or playing:
        for env in range(envs):
            if env not in playing and queue:
                playing[env] = [queue.pop(0), 0]
        for env in sorted(playing):
            episode, step = playing[env]
            rows.append((episode, step))
            playing[env][1] += 1
            if step + 1 == lengths[episode]:
                del playing[env]
    episode, step = np.array(rows).T
    return episode, step


def test_windows_stay_inside_one_episode_in_time_order_and_train_every_row_once() -> None:
    from agents.dataset import episode_windows

    lengths = [9, 3, 6, 1, 4, 12]
    episode, step = _interleaved(lengths)
    windows, mask = episode_windows(episode, length=4, burn_in=2)
    real = windows >= 0
    # padding only at a window's tail, never in the loss
    assert np.all(real[:, :-1] | ~real[:, 1:]) and np.all(mask[~real] == 0)
    for row, weight in zip(windows, mask, strict=True):
        rows = row[row >= 0]
        assert len(set(episode[rows])) == 1  # never crosses an episode boundary
        assert np.all(np.diff(step[rows]) == 1)  # consecutive steps, in order
        if step[rows[0]] > 0:  # a later window: its first 2 steps only warm up the state
            assert weight[:2].tolist() == [0, 0]
    # every row is in the loss exactly once; windows start every 4 - 2 steps
    assert sorted(windows[mask > 0].tolist()) == list(range(len(episode)))
    per_episode = np.bincount(episode[windows[:, 0]])
    assert per_episode.tolist() == [4, 1, 2, 1, 1, 5]
    with pytest.raises(ValueError, match="burn_in"):
        episode_windows(episode, length=4, burn_in=4)


def test_the_sequence_stream_hands_out_masked_windows_in_a_seeded_order() -> None:
    from agents.learner import SwappableStream

    episode, step = _interleaved([9, 3, 6, 1, 4, 12])
    arrays = {
        "observation": np.repeat(step[:, None, None, None] + 1, 2, axis=2).astype(np.uint8),
        "label": np.stack([episode, step], 1).astype(np.float32),
        "aux": np.zeros((len(episode), 4), np.int8),
        "episode": episode,
    }
    stream = SwappableStream(sequence_length=4, burn_in=2)
    stream.use(arrays, batch_size=3, seed=7)
    batches = [next(stream) for _ in range(10)]  # 30 windows: more than two epochs of 14
    assert set(batches[0]) == {"observation", "label", "aux", "mask"}
    assert batches[0]["observation"].shape == (3, 4, 1, 2, 1)
    trained = 0.0
    for batch in batches:
        label, mask = batch["label"].numpy(), batch["mask"].numpy()
        obs = batch["observation"].numpy()[:, :, 0, 0, 0]
        real = obs > 0  # step + 1; padding is zeroed
        assert np.all(mask[~real] == 0) and np.all(label[~real] == 0)
        for seq, keep in zip(label, real, strict=True):
            assert len(set(seq[keep, 0])) == 1 and np.all(np.diff(seq[keep, 1]) == 1)
        trained += mask.sum()
    assert trained > 0
    again = SwappableStream(sequence_length=4, burn_in=2)
    again.use(arrays, batch_size=3, seed=7)  # a resumed run: the same batches
    for batch in batches:
        np.testing.assert_array_equal(next(again)["label"], batch["label"])


def test_one_column_is_read_alone_and_a_corrupt_shard_is_reported_and_skipped(
    tmp_path: Path, capsys
) -> None:
    data = ShardedDataset(tmp_path, shard_size=5)
    data.append(_rows(15))
    data.flush()
    bad = data.shards()[1]
    bad.write_bytes(bad.read_bytes()[: len(bad.read_bytes()) // 2])
    episodes = ShardedDataset(tmp_path, read_only=True).column("episode")
    np.testing.assert_array_equal(episodes, np.r_[0:5, 10:15])
    assert "skipping shard" in capsys.readouterr().err
    with pytest.raises(ValueError, match="no readable 'iteration' column"):
        ShardedDataset(tmp_path, read_only=True).column("iteration")
