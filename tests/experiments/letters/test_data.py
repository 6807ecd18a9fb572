"""The notMNIST loader: real layout, broken images, splits, dedupe, cache, pickle."""

from __future__ import annotations

import pickle
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from core.errors import UserError
from experiments.letters.data import (
    DataConfig,
    find_duplicates,
    load_letters,
    load_npz,
    normalise,
    read_letter_folder,
    save_npz,
)
from experiments.letters.generate import LETTERS, generate, render_letter


@pytest.fixture(scope="module")
def generated(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("letters")
    generate(root, per_letter_large=12, per_letter_small=4, seed=5, show_progress=False)
    return root


def test_the_generator_is_deterministic_and_writes_the_real_layout(generated, tmp_path):
    assert sorted(p.name for p in (generated / "notMNIST_large").iterdir()) == list(LETTERS)
    assert len(list((generated / "notMNIST_large" / "C").glob("*.png"))) == 12
    assert len(list((generated / "notMNIST_small").rglob("*.png"))) == 40
    again = tmp_path / "again"
    generate(again, 12, 4, seed=5, show_progress=False)
    for name in ("notMNIST_large/A/A0000003.png", "notMNIST_small/J/J0000001.png"):
        assert (generated / name).read_bytes() == (again / name).read_bytes()
    image = np.asarray(Image.open(generated / "notMNIST_large/A/A0000003.png"))
    assert image.shape == (28, 28) and image.dtype == np.uint8 and image.std() > 20
    np.testing.assert_array_equal(image, render_letter(0, 5, 0, 3))
    assert not np.array_equal(render_letter(0, 5, 0, 3), render_letter(0, 6, 0, 3))


def test_the_loader_skips_a_broken_png_with_a_message_and_reads_the_rest(tmp_path, capsys):
    for i, char in enumerate("ABCDEFGHIJ"):
        (tmp_path / "notMNIST_small" / char).mkdir(parents=True)
        for j in range(3):
            Image.fromarray(render_letter(i, 0, 1, j)).save(
                tmp_path / "notMNIST_small" / char / f"{j}.png"
            )
    broken = tmp_path / "notMNIST_small" / "D" / "broken.png"
    broken.write_bytes(b"\x89PNG\r\n\x1a\n not really")
    x, y, skipped = read_letter_folder(tmp_path / "notMNIST_small", show_progress=False)
    assert x.shape == (30, 28, 28) and np.bincount(y).tolist() == [3] * 10
    assert len(skipped) == 1 and str(broken) in skipped[0]
    assert f"skipping unreadable image {broken}" in capsys.readouterr().err
    letters = load_letters(
        DataConfig(path=tmp_path, train_size=20, valid_size=5, test_size=5, cache=False),
        show_progress=False,
    )
    assert letters.sizes() == {"train": 20, "valid": 5, "test": 5}
    assert letters.report["skipped_images"] == 1


def test_splits_follow_the_course_and_the_cache_round_trips(generated):
    cfg = DataConfig(path=generated, train_size=100, valid_size=15, test_size=30)
    letters = load_letters(cfg, show_progress=False)
    assert letters.sizes() == {"train": 100, "valid": 15, "test": 30}
    cached = sorted((generated / ".cache").glob("*.npz"))
    assert len(cached) == 1
    again = load_npz(cached[0])
    np.testing.assert_array_equal(again.train_x, letters.train_x)
    assert again.report == letters.report
    assert normalise(np.array([0, 255], np.uint8)).tolist() == [-0.5, 0.5]


def test_exact_and_near_duplicates_are_found_and_counted():
    rng = np.random.default_rng(0)
    train = np.stack([render_letter(i % 10, 1, 0, i) for i in range(300)])
    fresh = np.stack([render_letter(i % 10, 2, 0, i) for i in range(20)])
    near = train[:7].astype(np.int16) + rng.integers(-3, 4, size=(7, 28, 28))
    queries = np.concatenate([train[10:15], np.clip(near, 0, 255).astype(np.uint8), fresh])
    exact, near_mask = find_duplicates(train, queries, near_tolerance=0.02, ref_chunk=128)
    assert exact.tolist() == [True] * 5 + [False] * 27
    assert near_mask.tolist() == [False] * 5 + [True] * 7 + [False] * 20


def test_duplicates_across_splits_are_removed_and_reported(tmp_path):
    large = np.stack([render_letter(i % 10, 3, 0, i) for i in range(120)])
    # every validation candidate is a copy of some training image: all must be rejected
    root = tmp_path / "dups"
    for i, char in enumerate("ABCDEFGHIJ"):
        (root / "notMNIST_large" / char).mkdir(parents=True)
        for j in range(12):
            Image.fromarray(large[j * 10 + i]).save(root / "notMNIST_large" / char / f"{j}.png")
            Image.fromarray(large[j * 10 + i]).save(root / "notMNIST_large" / char / f"c{j}.png")
    cfg = DataConfig(path=root, train_size=200, valid_size=20, test_size=10, cache=False)
    letters = load_letters(cfg, show_progress=False)
    report = letters.report
    dropped = report["valid_vs_train_exact"] + report["test_vs_train_exact"]
    assert dropped > 0
    train_rows = {row.tobytes() for row in letters.train_x}
    assert not any(row.tobytes() in train_rows for row in letters.valid_x)
    assert not any(row.tobytes() in train_rows for row in letters.test_x)
    no_dedupe = load_letters(
        DataConfig(
            path=root, train_size=200, valid_size=20, test_size=10, cache=False, dedupe=False
        ),
        show_progress=False,
    )
    assert no_dedupe.report["valid_vs_train_exact"] == 0
    assert any(row.tobytes() in train_rows for row in no_dedupe.valid_x)


def test_a_corrupt_cache_is_one_line_naming_it(tmp_path, generated):
    letters = load_letters(
        DataConfig(path=generated, train_size=50, valid_size=10, test_size=10, cache=False),
        show_progress=False,
    )
    path = tmp_path / "letters.npz"
    save_npz(path, letters)
    path.write_bytes(path.read_bytes()[:300])
    with pytest.raises(UserError) as err:
        load_letters(DataConfig(path=path))
    assert str(err.value).startswith(f"{path}: corrupt dataset cache (")
    assert "\n" not in str(err.value)


def test_the_course_pickle_loads_only_when_trusted(tmp_path):
    x = (np.stack([render_letter(i % 10, 0, 0, i) for i in range(12)]) - 127.5) / 255
    data = {
        f"{s}_{k}": v
        for s in ("train", "valid", "test")
        for k, v in (("dataset", x.astype(np.float32)), ("labels", np.arange(12) % 10))
    }
    path = tmp_path / "notMNIST.pickle"
    path.write_bytes(pickle.dumps(data))
    with pytest.raises(UserError, match="refusing to unpickle"):
        load_letters(DataConfig(path=path))
    letters = load_letters(DataConfig(path=path, trust_pickle=True))
    np.testing.assert_array_equal(letters.train_x[3], render_letter(3, 0, 0, 3))
