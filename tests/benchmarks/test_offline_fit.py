"""The offline screen of student variants (``python -m benchmarks.offline_fit``): its parts."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from agents.config import GPSConfig
from benchmarks.offline_fit import (
    BenchArgs,
    agreement_by_margin,
    margins,
    resize_observations,
    variant_config,
)
from core.errors import UserError
from core.run_dir import save_config


def test_halving_the_width_averages_each_pair_of_columns_in_every_stacked_frame() -> None:
    rng = np.random.default_rng(0)
    frames = rng.integers(0, 256, size=(3, 6, 8, 4)).astype(np.uint8)
    halved = resize_observations(frames, 4)
    assert halved.shape == (3, 6, 4, 4) and halved.dtype == np.uint8
    pairs = frames.reshape(3, 6, 4, 2, 4).astype(np.float64).mean(axis=3)
    assert np.abs(halved - pairs).max() <= 0.5 + 1e-9


def test_a_one_pixel_fireball_survives_halving_at_half_its_contrast() -> None:
    frames = np.full((1, 4, 8, 1), 100, np.uint8)
    frames[0, 2, 5, 0] = 250
    halved = resize_observations(frames, 4)
    assert halved[0, 2, 2, 0] == 175 and np.count_nonzero(halved != 100) == 1


def test_a_width_of_zero_is_refused() -> None:
    with pytest.raises(UserError, match="--width"):
        resize_observations(np.zeros((1, 2, 2, 1), np.uint8), 0)


def test_a_width_of_zero_is_refused_before_any_dataset_loads(tmp_path) -> None:
    save_config(tmp_path, GPSConfig(scenario="take_cover"))  # a run with no dataset at all
    args = BenchArgs(train=(tmp_path,), test=(tmp_path,), width=0)
    with pytest.raises(UserError, match="--width must be >= 1"):
        variant_config(args)
    assert variant_config(dataclasses.replace(args, width=80)).env.width == 80


def test_agreement_is_reported_per_margin_band_and_over_the_decisive_rows() -> None:
    scores = np.array([[0.0, 0.01, 0.0], [0.0, 0.2, 0.0], [0.9, 0.0, 0.0], [0.0, 0.0, 0.7]])
    assert margins(scores) == pytest.approx([0.01, 0.2, 0.9, 0.7])
    best = scores.argmax(-1)
    taken = np.array([1, 1, 0, 0])  # the near-tie and two decisive rows right, one wrong
    shares = agreement_by_margin(best, taken, margins(scores))
    assert shares[0] == 1.0  # the near-tie band
    assert shares[-1] == pytest.approx(2 / 3)  # every row with a margin of 0.05 or more


def test_the_screened_student_takes_the_activation_asked_for(tmp_path) -> None:
    save_config(tmp_path, GPSConfig(scenario="take_cover"))
    args = BenchArgs(train=(tmp_path,), test=(tmp_path,))
    assert variant_config(args).student.activation == "relu"  # the run's
    leaky = dataclasses.replace(args, activation="leaky_relu")
    assert variant_config(leaky).student.activation == "leaky_relu"
