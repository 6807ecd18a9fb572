"""Tests for experiments.sgd.cdf_fit: exact limits, monotone fit, data, metrics, loaders."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from core.errors import UserError
from experiments.sgd import cdf_fit

params = st.lists(st.floats(-50, 50), min_size=1, max_size=8).map(np.array)


@settings(max_examples=30, deadline=None)
@given(params)
def test_blog_model_meets_its_limits_exactly(a):
    values = cdf_fit.blog_cdf(a, np.array([0.0, 1.0])).numpy()
    assert values[0] == 0.0 and values[1] == 1.0
    fit = cdf_fit.Fit("blog", a, 0.0, 1.0, np.zeros(1))
    assert fit(np.array([-np.inf, np.inf])).tolist() == [0.0, 1.0]
    assert fit(np.array([-800.0, 800.0])).tolist() == [0.0, 1.0]


@settings(max_examples=30, deadline=None)
@given(st.lists(st.floats(-30, 30), min_size=2, max_size=9).map(np.array))
def test_bernstein_model_is_monotone_with_exact_limits_for_any_parameters(theta):
    s = np.linspace(0.0, 1.0, 2001)
    values = cdf_fit.bernstein_cdf(theta, s).numpy()
    assert values[0] == 0.0 and values[-1] == 1.0
    assert np.all(np.diff(values) >= -1e-12)
    b = cdf_fit.bernstein_coefficients(theta).numpy()
    assert np.all(np.diff(b) >= 0)


@settings(max_examples=8, deadline=None)
@given(
    st.integers(3, 40),
    st.integers(0, 2**31 - 1),
    st.floats(-5, 5),
    st.floats(0.2, 4),
)
def test_monotone_fit_is_monotone_on_random_data(n, seed, center, spread):
    rng = np.random.default_rng(seed)
    x = np.sort(center + spread * rng.normal(size=n))
    y = rng.uniform(0, 1, size=n)  # arbitrary, even decreasing, observations
    data = cdf_fit.CdfData(x=x, y=y, name="random")
    fit = cdf_fit.fit_cdf(data, "bernstein", degree=6, steps=200, lr=0.5, standardize=True)
    metrics = cdf_fit.fit_metrics(fit, data, grid_size=4001)
    assert metrics["monotonicity_violations"] == 0
    assert metrics["overshoot_above_1"] == 0.0 and metrics["overshoot_below_0"] == 0.0
    assert fit.losses[-1] <= fit.losses[0] + 1e-12


def test_blog_data_ends_at_one_and_its_true_cdf_matches_the_noise_free_curve():
    data = cdf_fit.blog_data(100, np.random.default_rng(0))
    assert data.y[-1] == 1.0 and np.all(np.diff(data.y) > 0)
    assert data.x[0] == -3.0 and data.x[-1] == 3.0
    pdf = np.exp(-0.5 * data.x**2)
    noise_free = np.cumsum(pdf) / pdf.sum()
    assert np.max(np.abs(data.true_cdf(data.x) - noise_free)) < 2e-3
    assert data.true_cdf(np.array([-10.0, 10.0])).tolist() == [0.0, 1.0]


def test_fits_improve_on_the_start_and_the_blog_model_overshoots():
    data = cdf_fit.blog_data(20, np.random.default_rng(0))
    for model in cdf_fit.MODELS:
        fit = cdf_fit.fit_cdf(data, model, steps=3000)
        metrics = cdf_fit.fit_metrics(fit, data)
        assert fit.losses[-1] < 0.2 * fit.losses[0]
        assert metrics["ks"] < 0.1
        if model == "bernstein":
            assert metrics["monotonicity_violations"] == 0
        else:  # the blog's model leaves [0, 1] on this data (the post's complaint)
            assert metrics["overshoot_above_1"] > 0 and metrics["monotonicity_violations"] > 0


def test_metrics_on_a_known_case():
    data = cdf_fit.CdfData(
        x=np.array([0.0]),
        y=np.array([0.25]),
        name="one",
        true_cdf=lambda t: 1 / (1 + np.exp(-np.asarray(t))),
    )
    fit = cdf_fit.Fit("blog", np.zeros(2), 0.0, 1.0, np.zeros(1))  # y = sigmoid(x)
    metrics = cdf_fit.fit_metrics(fit, data)
    assert metrics["sse"] == pytest.approx(0.0625)
    assert metrics["ks"] < 1e-12
    assert metrics["monotonicity_violations"] == 0


def test_user_points_samples_and_ecdf(tmp_path):
    (tmp_path / "points.csv").write_text("x,y\n2,0.9\n0,0.1\n1,0.5\n")
    points = cdf_fit.load_cdf_data(tmp_path / "points.csv")
    assert points.x.tolist() == [0.0, 1.0, 2.0] and points.y.tolist() == [0.1, 0.5, 0.9]
    np.save(tmp_path / "samples.npy", np.array([3.0, 1.0, 2.0, 2.0]))
    samples = cdf_fit.load_cdf_data(tmp_path / "samples.npy")
    assert samples.steps and samples.x.tolist() == [1.0, 2.0, 3.0]
    assert samples.y.tolist() == [0.25, 0.75, 1.0]


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("bad.csv", "x,y\n0,0.1\n1,oops\n", "unreadable"),
        ("range.csv", "0,0.1\n1,1.5\n", r"must lie in \[0, 1\]"),
        ("nan.csv", "0,0.1\n1,nan\n", "NaN/inf"),
        ("three.csv", "0,0.1,2\n1,0.5,3\n", "two columns"),
        ("data.txt", "0,0.1\n", "unsupported file type"),
    ],
)
def test_bad_user_data_gives_one_line_errors(tmp_path, name, content, message):
    (tmp_path / name).write_text(content)
    with pytest.raises(UserError, match=message) as info:
        cdf_fit.load_cdf_data(tmp_path / name)
    assert "\n" not in str(info.value)


def test_npy_with_pickled_objects_is_refused(tmp_path):
    np.save(tmp_path / "obj.npy", np.array([object(), object()]), allow_pickle=True)
    with pytest.raises(UserError, match="refusing to unpickle"):
        cdf_fit.load_cdf_data(tmp_path / "obj.npy")
