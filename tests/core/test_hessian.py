"""Tests for core.hessian: HVP against finite differences, diagonals, power iteration."""

from __future__ import annotations

import numpy as np
import tensorflow as tf

from core import hessian


def _mlp(seed: int = 0) -> tuple[list[tf.Variable], tf.Tensor]:
    rng = np.random.default_rng(seed)
    shapes = [(3, 5), (5,), (5, 1), (1,)]
    variables = [tf.Variable(rng.normal(size=s) * 0.7, dtype=tf.float64) for s in shapes]
    x = tf.constant(rng.normal(size=(7, 3)))
    return variables, x


def _output(variables: list[tf.Variable], x: tf.Tensor) -> tf.Tensor:
    w1, b1, w2, b2 = variables
    return tf.reduce_sum(tf.tanh(x @ w1 + b1) @ w2 + b2)


def _full_hessian(variables: list[tf.Variable], fn) -> np.ndarray:
    with tf.GradientTape(persistent=True) as outer:
        with tf.GradientTape() as inner:
            value = fn()
        grads = inner.gradient(value, variables, unconnected_gradients="zero")
        flat = tf.concat([tf.reshape(g, [-1]) for g in grads], 0)
    blocks = outer.jacobian(flat, variables, unconnected_gradients="zero")
    return np.concatenate([tf.reshape(b, [flat.shape[0], -1]).numpy() for b in blocks], axis=1)


def test_hvp_matches_central_finite_differences_of_the_gradient():
    variables, x = _mlp()
    fn = lambda: _output(variables, x)  # noqa: E731
    rng = np.random.default_rng(1)
    vector = [tf.constant(rng.normal(size=v.shape)) for v in variables]
    product = hessian.hvp(fn, variables, vector)
    eps = 1e-5
    start = [v.numpy() for v in variables]
    grads = []
    for sign in (1.0, -1.0):
        for var, s, d in zip(variables, start, vector, strict=True):
            var.assign(s + sign * eps * d.numpy())
        grads.append(hessian.gradient(fn, variables)[1])
    for var, s in zip(variables, start, strict=True):
        var.assign(s)
    for p, gp, gm in zip(product, *grads, strict=True):
        np.testing.assert_allclose(p.numpy(), (gp - gm).numpy() / (2 * eps), rtol=1e-6, atol=1e-8)


def test_hvp_of_a_linear_bias_is_zero_not_none():
    variables, x = _mlp()
    product = hessian.hvp(
        lambda: _output(variables, x), variables, [tf.ones_like(v) for v in variables]
    )
    assert all(p is not None for p in product)
    np.testing.assert_array_equal(product[3].numpy(), 0.0)


def test_exact_diagonal_equals_the_full_hessian_diagonal():
    variables, x = _mlp()
    fn = lambda: _output(variables, x)  # noqa: E731
    full = _full_hessian(variables, fn)
    diagonal = np.concatenate([d.numpy().ravel() for d in hessian.diag_hessian(fn, variables)])
    np.testing.assert_allclose(diagonal, np.diag(full), rtol=1e-10, atol=1e-12)


def test_hutchinson_diagonal_converges_to_the_exact_one():
    variables, x = _mlp()
    fn = lambda: _output(variables, x)  # noqa: E731
    exact = np.concatenate([d.numpy().ravel() for d in hessian.diag_hessian(fn, variables)])
    probes = 256
    generator = tf.random.Generator.from_seed(0)
    estimate = tf.function(
        lambda: hessian.diag_hessian_hutchinson(fn, variables, probes, generator)
    )
    approx = np.concatenate([d.numpy().ravel() for d in estimate()])
    full = _full_hessian(variables, fn)
    # Entry i has variance sum_{j != i} H_ij^2 / probes: allow 4.5 standard deviations.
    std = np.sqrt((np.sum(full**2, axis=1) - np.diag(full) ** 2) / probes)
    # Errors are correlated across entries (shared probes), so bound the worst and the mean |z|.
    z = np.abs(approx - exact) / (std + 1e-12)
    assert z.max() <= 4.5
    assert z.mean() < 1.5


def test_hutchinson_is_exact_for_a_diagonal_hessian():
    w = tf.Variable([1.0, -2.0, 0.5], dtype=tf.float64)
    a = tf.constant([3.0, -1.0, 2.0], dtype=tf.float64)
    fn = lambda: 0.5 * tf.reduce_sum(a * w**2) + tf.reduce_sum(w**3)  # noqa: E731
    estimate = hessian.diag_hessian_hutchinson(fn, [w], 1, tf.random.Generator.from_seed(0))
    np.testing.assert_allclose(estimate[0].numpy(), a.numpy() + 6 * w.numpy())


def test_power_iteration_finds_the_top_eigenvalue_of_a_quadratic():
    rng = np.random.default_rng(0)
    q, _ = np.linalg.qr(rng.normal(size=(6, 6)))
    eigenvalues = np.array([5.0, 2.0, 1.0, 0.5, -0.3, 0.1])
    matrix = tf.constant(q @ np.diag(eigenvalues) @ q.T)
    w = tf.Variable(rng.normal(size=(6, 1)))
    fn = lambda: 0.5 * tf.reduce_sum(tf.transpose(w) @ matrix @ w)  # noqa: E731
    top = hessian.top_eigenvalue(fn, [w], iterations=200, tolerance=1e-12)
    assert abs(top - 5.0) < 1e-6


def test_keras_variables_are_unwrapped():
    import keras

    model = keras.Sequential(
        [keras.Input((3,)), keras.layers.Dense(2, activation="tanh"), keras.layers.Dense(1)]
    )
    x = tf.random.normal((4, 3))
    fn = lambda: tf.reduce_sum(model(x))  # noqa: E731
    variables = model.trainable_variables
    product = hessian.hvp(fn, variables, [tf.ones(v.shape) for v in variables])
    assert [tuple(p.shape) for p in product] == [tuple(v.shape) for v in variables]
    assert hessian.num_params(variables) == 3 * 2 + 2 + 2 + 1


def test_relu_network_output_has_a_zero_hessian_diagonal():
    # y is piecewise linear in every single weight, so the blog's diagonal rule is plain SGD.
    variables, x = _mlp()
    w1, b1, w2, b2 = variables
    fn = lambda: tf.reduce_sum(tf.nn.relu(x @ w1 + b1) @ w2 + b2)  # noqa: E731
    for diagonal in hessian.diag_hessian(fn, variables):
        np.testing.assert_array_equal(diagonal.numpy(), 0.0)
    assert np.abs(_full_hessian(variables, fn)).max() > 0.1  # the full Hessian is not zero
