"""Second-derivative tools for any scalar function of a list of variables.

* :func:`hvp`: Hessian-vector product by forward-over-reverse differentiation (a
  ``tf.autodiff.ForwardAccumulator`` around a ``GradientTape``): the directional derivative of the
  gradient, at about the cost of two gradients and without ever forming the Hessian.
* :func:`diag_hessian`: the exact Hessian diagonal (one vectorised Jacobian per variable: costs
  ``O(P)`` backward passes and ``O(size(v)^2)`` memory per variable; small nets only).
* :func:`diag_hessian_hutchinson`: the unbiased estimate ``diag(H) ~ E[z * Hz]``, ``z``
  Rademacher, one HVP per probe (any size).
* :func:`top_eigenvalue`: the largest-magnitude Hessian eigenvalue by power iteration on HVPs
  (at a minimum this is the top eigenvalue: the "sharpness").

Functions take ``fn``, a zero-argument callable returning a scalar tensor computed from
``variables``. Keras 3 variables are accepted and unwrapped to their ``tf.Variable``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import tensorflow as tf

ScalarFn = Callable[[], tf.Tensor]
"""A zero-argument callable returning a scalar tensor that depends on the variables."""

_ZERO = tf.UnconnectedGradients.ZERO


def as_tf_variables(variables: Sequence[Any]) -> list[tf.Variable]:
    """Unwraps Keras 3 variables to the ``tf.Variable`` that autodiff tracks."""
    return [getattr(v, "value", v) if not isinstance(v, tf.Variable) else v for v in variables]


def dot(a: Sequence[tf.Tensor], b: Sequence[tf.Tensor]) -> tf.Tensor:
    """The inner product of two lists of tensors (as flat vectors)."""
    return tf.add_n([tf.reduce_sum(x * y) for x, y in zip(a, b, strict=True)])


def num_params(variables: Sequence[Any]) -> int:
    """Total number of scalar parameters in ``variables``."""
    return int(sum(int(tf.size(v)) for v in as_tf_variables(variables)))


def gradient(fn: ScalarFn, variables: Sequence[Any]) -> tuple[tf.Tensor, list[tf.Tensor]]:
    """Returns ``(fn(), d fn / d variables)`` with zeros for unconnected variables."""
    variables = as_tf_variables(variables)
    with tf.GradientTape() as tape:
        value = fn()
    return value, tape.gradient(value, variables, unconnected_gradients=_ZERO)


def hvp(fn: ScalarFn, variables: Sequence[Any], vector: Sequence[tf.Tensor]) -> list[tf.Tensor]:
    """The Hessian-vector product ``H v`` of ``fn`` at the current variables.

    Forward-over-reverse: the forward accumulator pushes the tangent ``v`` through the reverse-mode
    gradient computation, so ``jvp(grad) = (d grad / d w) v = H v``.

    Args:
        fn: the scalar function.
        variables: the variables ``w``.
        vector: ``v``, one tensor per variable with the variable's shape.

    Returns:
        ``H v`` as one tensor per variable.
    """
    variables = as_tf_variables(variables)
    vector = [tf.cast(v, w.dtype) for v, w in zip(vector, variables, strict=True)]
    with tf.autodiff.ForwardAccumulator(variables, vector) as accumulator:
        with tf.GradientTape() as tape:
            value = fn()
        grads = tape.gradient(value, variables, unconnected_gradients=_ZERO)
    return list(accumulator.jvp(grads, unconnected_gradients=_ZERO))


def diag_hessian(fn: ScalarFn, variables: Sequence[Any]) -> list[tf.Tensor]:
    """The exact diagonal of the Hessian of ``fn`` (small nets: ``size(v)^2`` memory per variable).

    Each variable's diagonal block comes from one vectorised Jacobian of its gradient.
    """
    variables = as_tf_variables(variables)
    with tf.GradientTape(persistent=True) as outer:
        with tf.GradientTape() as inner:
            value = fn()
        grads = inner.gradient(value, variables, unconnected_gradients=_ZERO)
    diagonals = []
    for variable, grad in zip(variables, grads, strict=True):
        size = tf.size(variable)
        block = outer.jacobian(grad, variable, unconnected_gradients=_ZERO)
        block = tf.reshape(block, tf.stack([size, size]))
        diagonals.append(tf.reshape(tf.linalg.diag_part(block), tf.shape(variable)))
    del outer
    return diagonals


def rademacher_like(variables: Sequence[Any], generator: tf.random.Generator) -> list[tf.Tensor]:
    """Independent +/-1 entries shaped like each variable."""
    out = []
    for v in as_tf_variables(variables):
        bits = generator.uniform(tf.shape(v), minval=0, maxval=2, dtype=tf.int32)
        out.append(tf.cast(2 * bits - 1, v.dtype))
    return out


def diag_hessian_hutchinson(
    fn: ScalarFn, variables: Sequence[Any], probes: int, generator: tf.random.Generator
) -> list[tf.Tensor]:
    """Hutchinson's estimate ``diag(H) ~ mean_k z_k * (H z_k)`` with Rademacher ``z_k``.

    Unbiased; each probe costs one HVP. The variance of entry ``i`` is
    ``sum_{j != i} H_ij^2 / probes``.

    Args:
        fn: the scalar function.
        variables: the variables.
        probes: how many random vectors to average (``>= 1``).
        generator: source of the random signs.
    """
    variables = as_tf_variables(variables)
    total = [tf.zeros_like(v) for v in variables]
    # tf.range: a graph while-loop under tf.function instead of `probes` unrolled HVPs.
    for _ in tf.range(probes):
        z = rademacher_like(variables, generator)
        hz = hvp(fn, variables, z)
        total = [t + zi * hzi for t, zi, hzi in zip(total, z, hz, strict=True)]
    return [t / tf.cast(probes, t.dtype) for t in total]


def top_eigenvalue(
    fn: ScalarFn,
    variables: Sequence[Any],
    iterations: int = 20,
    seed: int = 0,
    tolerance: float = 1e-4,
) -> float:
    """The largest-magnitude Hessian eigenvalue of ``fn`` by power iteration on HVPs.

    Args:
        fn: the scalar function (e.g. the loss on a fixed batch).
        variables: the variables.
        iterations: the most power-iteration steps.
        seed: seed of the random start vector.
        tolerance: stop when the Rayleigh quotient changes by less than this, relatively.

    Returns:
        The Rayleigh quotient ``v^T H v`` of the final unit vector ``v``.
    """
    variables = as_tf_variables(variables)
    compiled_hvp = tf.function(lambda v: hvp(fn, variables, v))
    generator = tf.random.Generator.from_seed(seed)
    v = [generator.normal(tf.shape(w), dtype=w.dtype) for w in variables]
    norm = tf.sqrt(dot(v, v))
    v = [x / norm for x in v]
    eigenvalue = 0.0
    for _ in range(iterations):
        hv = compiled_hvp(v)
        new = float(dot(v, hv))
        norm = tf.sqrt(dot(hv, hv))
        if float(norm) == 0.0:
            return 0.0
        v = [x / norm for x in hv]
        converged = abs(new - eigenvalue) <= tolerance * max(abs(new), 1e-12)
        eigenvalue = new
        if converged:
            break
    return eigenvalue
