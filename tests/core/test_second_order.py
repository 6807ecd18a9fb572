"""Tests for core.second_order: both rules against closed forms and each other."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import tensorflow as tf

from core import second_order as so


class Quadratic(tf.Module):
    """``y(x) = x * (1/2 w^T A w + b^T w)``: dy/dw = x (A w + b), H_y = x A."""

    def __init__(self, a: np.ndarray, b: np.ndarray, w: np.ndarray) -> None:
        super().__init__()
        self.a = tf.constant(a)
        self.b = tf.constant(b)
        self.w = tf.Variable(w)

    def __call__(self, x: tf.Tensor) -> tf.Tensor:
        q = 0.5 * tf.reduce_sum(self.w * tf.linalg.matvec(self.a, self.w)) + tf.reduce_sum(
            self.b * self.w
        )
        return tf.reshape(x, [-1, 1]) * q


class TanhUnit(tf.Module):
    """The 1-D network ``y = a * tanh(w x)``."""

    def __init__(self, a: float, w: float) -> None:
        super().__init__()
        self.a = tf.Variable(a, dtype=tf.float64)
        self.w = tf.Variable(w, dtype=tf.float64)

    def __call__(self, x: tf.Tensor) -> tf.Tensor:
        return tf.reshape(self.a * tf.tanh(self.w * tf.reshape(x, [-1])), [-1, 1])


def _quadratic() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    m = rng.normal(size=(4, 4))
    return m + m.T, rng.normal(size=4), rng.normal(size=4)


def _step(model: tf.Module, rule: str, alpha: float, beta: float, **kwargs) -> so.SecondOrderStep:
    config = so.SecondOrderConfig(rule=rule, alpha=alpha, beta=beta, **kwargs)
    return so.SecondOrderStep(model, so.half_squared_error, so.regression_output, config)


@pytest.mark.parametrize("rule", ["full", "diag_exact", "diag_hutchinson", "sgd"])
def test_each_rule_matches_its_closed_form_on_a_quadratic(rule: str):
    a, b, w = _quadratic()
    if rule == "diag_hutchinson":
        a = np.diag(np.diag(a))  # a diagonal Hessian makes one Hutchinson probe exact
    alpha, beta, target = 0.1, 0.03, 0.7
    model = Quadratic(a, b, w)
    metrics = _step(model, rule, alpha, beta)(
        tf.constant([1.0], tf.float64), tf.constant([target], tf.float64)
    )
    y = 0.5 * w @ a @ w + b @ w
    grad_y = a @ w + b
    penalty = {"full": a @ grad_y, "sgd": 0 * grad_y}.get(rule, grad_y * np.diag(a))
    expected = w - alpha * (y - target) * grad_y - beta * penalty
    np.testing.assert_allclose(model.w.numpy(), expected, rtol=1e-12)
    assert float(metrics["loss"]) == pytest.approx(0.5 * (y - target) ** 2)
    assert float(metrics["flatness"]) == pytest.approx(0.5 * grad_y @ grad_y)


@pytest.mark.parametrize("rule", ["full", "diag_exact"])
def test_both_rules_match_hand_derivatives_of_a_one_unit_network(rule: str):
    a, w, x, t, alpha, beta = 0.8, 1.3, 0.6, 0.2, 0.05, 0.01
    model = TanhUnit(a, w)
    _step(model, rule, alpha, beta)(tf.constant([x], tf.float64), tf.constant([t], tf.float64))
    th = np.tanh(w * x)
    sech2 = 1 - th**2
    y = a * th
    g = np.array([th, a * x * sech2])  # dy/da, dy/dw
    h = np.array([[0.0, x * sech2], [x * sech2, -2 * a * x**2 * sech2 * th]])
    penalty = h @ g if rule == "full" else g * np.diag(h)
    expected = np.array([a, w]) - alpha * (y - t) * g - beta * penalty
    np.testing.assert_allclose([model.a.numpy(), model.w.numpy()], expected, rtol=1e-12)


def test_diagonal_rule_is_the_diagonal_approximation_of_the_full_one():
    a, b, w = _quadratic()
    a = np.diag(np.diag(a))  # with a diagonal Hessian the two penalties coincide
    updates = []
    for rule in ("full", "diag_exact"):
        model = Quadratic(a, b, w)
        _step(model, rule, 0.1, 0.05)(
            tf.constant([1.0], tf.float64), tf.constant([0.0], tf.float64)
        )
        updates.append(model.w.numpy())
    np.testing.assert_allclose(updates[0], updates[1], rtol=1e-12)


def test_rademacher_batch_output_is_unbiased_for_the_per_example_penalty():
    a, b, w = _quadratic()
    model = Quadratic(a, b, w)
    step = _step(model, "full", 0.1, 0.05)
    x = tf.constant([1.0, -0.5, 2.0], tf.float64)
    targets = tf.zeros(3, tf.float64)
    grad_y = a @ w + b
    # Per example y_n = x_n q(w): H_n g_n = x_n^2 A (A w + b).
    expected = np.mean(x.numpy() ** 2) * a @ grad_y
    directions = []
    for signs in itertools.product([-1, 1], repeat=3):
        s = np.array(signs) / np.sqrt(3.0)
        g = [tf.constant((s @ x.numpy()) * grad_y)]
        directions.append(step.penalty_direction(x, targets, tf.constant(signs), g)[0].numpy())
    np.testing.assert_allclose(np.mean(directions, axis=0), expected, rtol=1e-12)


def test_diag_rule_picks_exact_or_hutchinson_by_size():
    a, b, w = _quadratic()
    assert _step(Quadratic(a, b, w), "diag", 0.1, 0.0).rule == "diag_exact"
    step = _step(Quadratic(a, b, w), "diag", 0.1, 0.0, exact_max_params=3)
    assert step.rule == "diag_hutchinson"


def test_true_class_logit_picks_the_label_column():
    logits = tf.constant([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]])
    np.testing.assert_array_equal(
        so.true_class_logit(logits, tf.constant([2, 0])).numpy(), [3.0, 4.0]
    )


def test_flatness_term_lowers_the_output_gradient_on_a_keras_classifier():
    import keras

    keras.utils.set_random_seed(0)
    rng = np.random.default_rng(0)
    x = rng.normal(size=(64, 4)).astype(np.float32)
    labels = (x[:, 0] > 0).astype(np.int32)
    flatness = {}
    for beta in (0.0, 0.05):
        keras.utils.set_random_seed(0)
        model = keras.Sequential(
            [keras.Input((4,)), keras.layers.Dense(8, activation="tanh"), keras.layers.Dense(2)]
        )
        config = so.SecondOrderConfig(rule="full", alpha=0.1, beta=beta, reduction="mean")
        step = so.SecondOrderStep(
            model,
            so.cross_entropy,
            so.true_class_logit,
            config,
            optimizer=keras.optimizers.SGD(0.1),
        )
        for _ in range(100):
            metrics = step(x, labels)
        flatness[beta] = float(metrics["flatness"])
        assert np.isfinite(float(metrics["loss"]))
    assert flatness[0.05] < flatness[0.0]
