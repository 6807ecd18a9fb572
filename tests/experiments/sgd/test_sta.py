"""Tests for experiments.sgd.sta: recovery of a known filter, the blog's convention, loaders."""

from __future__ import annotations

import pickle

import numpy as np
import pytest

from core.errors import UserError
from experiments.sgd import sta


def test_sta_recovers_the_synthetic_neurons_filter():
    neuron = sta.SyntheticNeuron()
    stim, rho = neuron.simulate(300_000, np.random.default_rng(0))
    result = sta.spike_triggered_average(stim, rho)
    assert result.n_spikes > 20_000
    assert sta.correlation(result.mean, neuron.true_sta()) >= 0.95


def test_sta_follows_the_blogs_window_convention():
    stim = np.arange(400, dtype=float)
    rho = np.zeros(400, dtype=int)
    rho[[10, 149, 150, 300]] = 1  # spikes before index 150 are skipped
    result = sta.spike_triggered_average(stim, rho)
    assert result.n_spikes == 2
    expected = (stim[1:151] + stim[151:301]) / 2  # windows stim[i-149 .. i]
    np.testing.assert_allclose(result.mean, expected)
    np.testing.assert_allclose(result.std, np.full(150, 75.0))
    assert result.time_ms[0] == -298.0 and result.time_ms[-1] == 0.0


def test_vectorised_sta_equals_the_plain_loop_and_weights_counts():
    rng = np.random.default_rng(1)
    stim = rng.standard_normal(5000)
    rho = rng.poisson(0.2, 5000)
    result = sta.spike_triggered_average(stim, rho, chunk=64)
    np.testing.assert_allclose(result.mean, sta.spike_triggered_average_loop(stim, rho))
    spikes = np.flatnonzero(rho[150:]) + 150
    windows = np.repeat(np.stack([stim[i - 149 : i + 1] for i in spikes]), rho[spikes], axis=0)
    np.testing.assert_allclose(result.std, windows.std(axis=0), rtol=1e-9)


@pytest.mark.parametrize(
    ("stim", "rho", "message"),
    [
        (np.zeros(300), np.zeros(299), "same length"),
        (np.zeros(300), np.zeros(300), "no spikes at index >= 150"),
        (np.r_[np.zeros(299), np.nan], np.ones(300), "NaN/inf"),
        (np.zeros(300), np.r_[np.zeros(299), -1], "non-negative integer"),
        (np.zeros((2, 300)), np.zeros((2, 300)), "must be 1-D"),
    ],
)
def test_bad_recordings_give_one_line_errors(stim, rho, message):
    with pytest.raises(UserError, match=message) as info:
        sta.spike_triggered_average(stim, rho)
    assert "\n" not in str(info.value)


def _recording() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(2)
    return rng.standard_normal(1000), (rng.random(1000) < 0.1).astype(int)


def test_npz_recordings_load(tmp_path):
    stim, rho = _recording()
    np.savez(tmp_path / "rec.npz", stim=stim, rho=rho)
    loaded_stim, loaded_rho = sta.load_recording(tmp_path / "rec.npz")
    np.testing.assert_array_equal(loaded_stim, stim)
    np.testing.assert_array_equal(loaded_rho, rho)


def test_pickles_are_refused_without_the_flag_and_loaded_with_it(tmp_path):
    stim, rho = _recording()
    path = tmp_path / "data.pickle"
    path.write_bytes(pickle.dumps({"stim": stim, "rho": rho}))
    with pytest.raises(UserError, match="--trust-pickle") as info:
        sta.load_recording(path)
    assert "\n" not in str(info.value)
    loaded_stim, _ = sta.load_recording(path, trust_pickle=True)
    np.testing.assert_array_equal(loaded_stim, stim)
    renamed = tmp_path / "sneaky.npz"  # a pickle behind an .npz name is refused too
    renamed.write_bytes(path.read_bytes())
    with pytest.raises(UserError, match="--trust-pickle"):
        sta.load_recording(renamed)


def test_npz_with_object_arrays_is_refused(tmp_path):
    np.savez(tmp_path / "obj.npz", stim=np.array([object()] * 3), rho=np.zeros(3))
    with pytest.raises(UserError, match="refusing to unpickle"):
        sta.load_recording(tmp_path / "obj.npz")


@pytest.mark.parametrize(
    ("content", "message"),
    [(b"PK\x03\x04garbage", "not a valid .npz"), (b"hello", "not a .npz archive")],
)
def test_bad_files_are_reported_in_one_line(tmp_path, content, message):
    path = tmp_path / "bad.npz"
    path.write_bytes(content)
    with pytest.raises(UserError, match=message) as info:
        sta.load_recording(path)
    assert "\n" not in str(info.value)


def test_missing_keys_and_missing_files_are_named(tmp_path):
    np.savez(tmp_path / "keys.npz", stimulus=np.zeros(3))
    with pytest.raises(UserError, match="expected 'stim' and 'rho'"):
        sta.load_recording(tmp_path / "keys.npz")
    with pytest.raises(UserError, match="no such file"):
        sta.load_recording(tmp_path / "absent.npz")
