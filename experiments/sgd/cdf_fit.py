"""Fitting a CDF: the blog's sigmoid-polynomial model, then a fit that is monotone by construction.

Both models work on ``s = sigmoid(u)`` with ``u = (x - center) / scale`` (``center = 0``,
``scale = 1`` for the blog's data), so ``s -> 0`` as ``x -> -inf`` and ``s -> 1`` as ``x -> +inf``:

* **blog**: ``y = (1 - c - d - ...) s + c s^2 + d s^3 + ...``, written as
  ``y = s + sum_k a_k (s^k - s)`` so that ``y(0) = 0`` and ``y(1) = 1`` hold exactly in floating
  point too. Not monotone in general: it can overshoot 1 or dip below 0. (The blog's code listing
  applies the sigmoid twice in the linear term; this module implements the stated maths.)
* **bernstein**: ``y = sum_k b_k C(K, k) s^k (1 - s)^(K - k)`` with ``b_0 = 0``, ``b_K = 1`` and
  ``b_k`` the normalised cumulative sum of softplus increments, so the coefficients rise from 0 to
  1 and ``y`` is non-decreasing for any parameters, with the same exact limits.

Both start at ``y = s`` and are fitted to the mean squared error by full-batch Adagrad (as the
blog), in one compiled TensorFlow loop.
"""

from __future__ import annotations

import csv
import dataclasses
import math
from pathlib import Path
from typing import Literal

import numpy as np

from core.errors import UserError

MODELS = ("blog", "bernstein")
"""The two fitted models, in table order."""


# ----------------------------------------------------------------------------------- data
@dataclasses.dataclass(frozen=True)
class CdfData:
    """Observations ``(x, y)`` of a CDF, and the true CDF where it is known.

    Attributes:
        x: sorted abscissae.
        y: observed CDF values.
        name: a label for tables and plots.
        true_cdf: ``F(x)`` for any array ``x``, or ``None`` when unknown (user data).
        steps: ``True`` for an empirical CDF of raw samples (a step function).
    """

    x: np.ndarray
    y: np.ndarray
    name: str
    true_cdf: object | None = None
    steps: bool = False


def normal_cdf(x: np.ndarray) -> np.ndarray:
    """The standard normal CDF, vectorised (``erfc`` form, accurate in both tails)."""
    x = np.asarray(x, dtype=np.float64)
    return 0.5 * np.asarray(_erfc(-x / math.sqrt(2.0)))


def _erfc(z: np.ndarray) -> np.ndarray:
    import tensorflow as tf

    return tf.math.erfc(tf.constant(z, dtype=tf.float64)).numpy()


def blog_data(
    n_points: int, rng: np.random.Generator, low: float = -3.0, high: float = 3.0
) -> CdfData:
    """The blog's data: a binned normal with multiplicative noise, cumulated and normalised.

    ``x`` is evenly spaced in ``[low, high]``; each pdf value is multiplied by ``1 + U(-1, 1)``
    before the cumulative sum, which is divided by its last value so the curve ends at 1.
    Bin ``j`` holds the mass of ``[x_j - dx/2, x_j + dx/2]``, so the noise-free curve is the CDF
    of the normal truncated to ``[low - dx/2, high + dx/2]`` evaluated at ``x + dx/2``: that is the
    true CDF used for the Kolmogorov-Smirnov distance.
    """
    if n_points < 2:
        raise UserError(f"--n-points must be at least 2, got {n_points}")
    x = np.linspace(low, high, n_points)
    dx = x[1] - x[0]
    pdf = np.exp(-0.5 * x**2) / math.sqrt(2 * math.pi)
    noisy = pdf * (1.0 + rng.uniform(-1.0, 1.0, n_points))
    y = np.cumsum(noisy)
    y = y / y[-1]
    lo, hi = normal_cdf(np.array([low - dx / 2, high + dx / 2]))

    def true_cdf(t: np.ndarray) -> np.ndarray:
        return np.clip((normal_cdf(np.asarray(t) + dx / 2) - lo) / (hi - lo), 0.0, 1.0)

    return CdfData(x=x, y=y, name=f"blog n={n_points}", true_cdf=true_cdf)


def ecdf(samples: np.ndarray, name: str = "samples") -> CdfData:
    """Empirical CDF of raw samples: ``x`` = sorted distinct values, ``y`` = fraction ``<= x``."""
    samples = np.sort(np.asarray(samples, dtype=np.float64).ravel())
    x, counts = np.unique(samples, return_counts=True)
    return CdfData(x=x, y=np.cumsum(counts) / samples.size, name=name, steps=True)


def load_cdf_data(path: str | Path, kind: Literal["auto", "points", "samples"] = "auto") -> CdfData:
    """Loads user data from ``.csv`` or ``.npy``.

    Two columns (or an ``(n, 2)`` array) are points ``(x, y)`` of a CDF; one column (or a 1-D
    array) is raw samples, turned into an empirical CDF. ``kind`` forces one reading. A CSV may
    start with one header line. ``.npy`` files are read with ``allow_pickle=False``.

    Raises:
        UserError: one line, for a missing/unreadable file, a wrong shape, NaN/inf, too few points,
            or ``y`` outside ``[0, 1]``.
    """
    path = Path(path)
    if not path.is_file():
        raise UserError(f"{path}: no such file")
    suffix = path.suffix.lower()
    try:
        if suffix == ".npy":
            array = np.load(path, allow_pickle=False)
        elif suffix == ".csv":
            with path.open(newline="") as handle:
                rows = [r for r in csv.reader(handle) if r and any(c.strip() for c in r)]
            try:
                float(rows[0][0])
            except (ValueError, IndexError):
                rows = rows[1:]  # a header line
            array = np.array([[float(c) for c in r] for r in rows], dtype=np.float64)
        else:
            raise UserError(f"{path}: unsupported file type {suffix!r}; use .csv or .npy")
    except UserError:
        raise
    except ValueError as error:
        if "pickle" in str(error):
            raise UserError(
                f"{path}: holds pickled objects; refusing to unpickle, save plain numbers"
            ) from None
        raise UserError(f"{path}: unreadable ({error})") from None
    except OSError as error:
        raise UserError(f"{path}: unreadable ({error})") from None
    array = np.asarray(array)
    if array.dtype.kind not in "biuf":
        raise UserError(f"{path}: expected numbers, got dtype {array.dtype}")
    array = array.astype(np.float64)
    if array.ndim == 2 and array.shape[1] == 1:
        array = array[:, 0]
    if kind == "auto":
        kind = "samples" if array.ndim == 1 else "points"
    if not np.isfinite(array).all():
        raise UserError(f"{path}: contains {int((~np.isfinite(array)).sum())} NaN/inf values")
    if kind == "samples":
        if array.ndim != 1 or array.size < 2:
            raise UserError(
                f"{path}: raw samples must be one column of >= 2 numbers, got shape {array.shape}"
            )
        return ecdf(array, name=path.name)
    if array.ndim != 2 or array.shape[1] != 2 or array.shape[0] < 2:
        raise UserError(
            f"{path}: points must be two columns (x, y) with >= 2 rows, got shape {array.shape}"
        )
    order = np.argsort(array[:, 0], kind="stable")
    x, y = array[order, 0], array[order, 1]
    if y.min() < 0 or y.max() > 1:
        raise UserError(f"{path}: CDF values y must lie in [0, 1], got [{y.min():g}, {y.max():g}]")
    return CdfData(x=x, y=y, name=path.name)


# ---------------------------------------------------------------------------------- models
def blog_cdf(params, s):
    """The blog's model ``y = s + sum_k a_k (s^k - s)``, ``k = 2 .. K`` (TF or NumPy inputs).

    Args:
        params: ``(K - 1,)`` coefficients ``a_2 .. a_K``.
        s: ``sigmoid(u)`` values, any shape.
    """
    import tensorflow as tf

    s = tf.convert_to_tensor(s, dtype=tf.float64)
    params = tf.convert_to_tensor(params, dtype=tf.float64)
    powers = tf.cast(tf.range(2, tf.shape(params)[0] + 2), tf.float64)
    basis = tf.pow(s[..., None], powers) - s[..., None]
    return s + tf.reduce_sum(basis * params, axis=-1)


def bernstein_coefficients(params):
    """Coefficients ``b_0 = 0 <= b_1 <= ... <= b_K = 1`` from ``K`` free parameters."""
    import tensorflow as tf

    params = tf.convert_to_tensor(params, dtype=tf.float64)
    increments = tf.nn.softplus(params)
    inner = tf.minimum(tf.cumsum(increments)[:-1] / tf.reduce_sum(increments), 1.0)
    one = tf.ones([1], tf.float64)
    return tf.concat([tf.zeros([1], tf.float64), inner, one], axis=0)


def bernstein_cdf(params, s):
    """The monotone model: a Bernstein polynomial of degree ``K = len(params)`` in ``s``."""
    import tensorflow as tf

    s = tf.convert_to_tensor(s, dtype=tf.float64)[..., None]
    b = bernstein_coefficients(params)
    degree = tf.shape(b)[0] - 1
    k = tf.cast(tf.range(degree + 1), tf.float64)
    n = tf.cast(degree, tf.float64)
    log_binom = tf.math.lgamma(n + 1) - tf.math.lgamma(k + 1) - tf.math.lgamma(n - k + 1)
    basis = tf.exp(log_binom) * tf.pow(s, k) * tf.pow(1.0 - s, n - k)
    return tf.reduce_sum(basis * b, axis=-1)


def initial_params(model: str, degree: int) -> np.ndarray:
    """Parameters at which the model is ``y = s`` (both models start there)."""
    if degree < 2:
        raise UserError(f"--degree must be at least 2, got {degree}")
    return np.zeros(degree - 1 if model == "blog" else degree)


_FIT_FNS: dict[str, object] = {}


def _fit_fn(model: str):
    """One compiled full-batch Adagrad loop per model (shapes relaxed: traced once)."""
    if model in _FIT_FNS:
        return _FIT_FNS[model]
    import tensorflow as tf

    cdf = blog_cdf if model == "blog" else bernstein_cdf
    spec = tf.TensorSpec([None], tf.float64)

    @tf.function(
        input_signature=[
            spec,
            spec,
            spec,
            tf.TensorSpec([], tf.float64),
            tf.TensorSpec([], tf.int32),
        ]
    )
    def fit(params, s, y, lr, steps):
        accumulator = tf.fill(tf.shape(params), tf.constant(0.1, tf.float64))  # Keras' default
        history = tf.TensorArray(tf.float64, size=steps)
        for step in tf.range(steps):
            with tf.GradientTape() as tape:
                tape.watch(params)
                loss = tf.reduce_mean(tf.square(cdf(params, s) - y))
            grad = tape.gradient(loss, params)
            accumulator += tf.square(grad)
            params -= lr * grad / (tf.sqrt(accumulator) + 1e-7)
            history = history.write(step, loss)
        return params, history.stack()

    _FIT_FNS[model] = fit
    return fit


@dataclasses.dataclass(frozen=True)
class Fit:
    """A fitted CDF model.

    Attributes:
        model: ``blog`` or ``bernstein``.
        params: fitted parameters.
        center: ``x`` offset before the sigmoid.
        scale: ``x`` scale before the sigmoid.
        losses: mean squared error after each Adagrad step.
    """

    model: str
    params: np.ndarray
    center: float
    scale: float
    losses: np.ndarray

    def __call__(self, x: np.ndarray) -> np.ndarray:
        """Evaluates the fitted CDF at ``x`` (``+/-inf`` give exactly 0 and 1)."""
        z = (np.asarray(x, dtype=np.float64) - self.center) / self.scale
        with np.errstate(over="ignore"):  # exp overflows to inf far left: s -> 0 exactly
            s = 1.0 / (1.0 + np.exp(-z))
        return self.on_s(s)

    def on_s(self, s: np.ndarray) -> np.ndarray:
        """Evaluates the fitted CDF at ``s = sigmoid((x - center) / scale)``."""
        cdf = blog_cdf if self.model == "blog" else bernstein_cdf
        return np.asarray(cdf(self.params, np.asarray(s, dtype=np.float64)))


def fit_cdf(
    data: CdfData,
    model: str,
    degree: int = 5,
    steps: int = 5000,
    lr: float = 0.5,
    standardize: bool = False,
) -> Fit:
    """Fits one model to ``data`` by full-batch Adagrad on the mean squared error.

    Args:
        data: the observations.
        model: ``blog`` or ``bernstein``.
        degree: the polynomial degree ``K`` in ``s`` (the blog model has ``K - 1`` free
            coefficients, the Bernstein model ``K`` increments of which ``K - 1`` are free).
        steps: Adagrad steps.
        lr: Adagrad learning rate.
        standardize: use ``u = (x - mean) / std`` instead of ``u = x`` (for user data far from
            ``[-3, 3]``).
    """
    if model not in MODELS:
        raise UserError(f"unknown CDF model {model!r}; known: {', '.join(MODELS)}")
    import tensorflow as tf

    center, scale = (
        (float(data.x.mean()), float(data.x.std()) or 1.0) if standardize else (0.0, 1.0)
    )
    s = 1.0 / (1.0 + np.exp(-(data.x - center) / scale))
    params, losses = _fit_fn(model)(
        tf.constant(initial_params(model, degree)),
        tf.constant(s),
        tf.constant(data.y),
        tf.constant(lr, tf.float64),
        tf.constant(steps, tf.int32),
    )
    return Fit(
        model=model, params=params.numpy(), center=center, scale=scale, losses=losses.numpy()
    )


# --------------------------------------------------------------------------------- metrics
def fit_metrics(fit: Fit, data: CdfData, grid_size: int = 20001) -> dict[str, float]:
    """Scores a fit.

    Returns:
        ``sse``: sum of squared errors on the data points; ``ks``: the Kolmogorov-Smirnov
        distance ``sup_x |F_fit - F|`` to the true CDF on a fine grid over the whole real line
        (where ``F`` is unknown: to the data, on both sides of each step of an empirical CDF);
        ``overshoot_above_1`` / ``overshoot_below_0``: how far the fit leaves ``[0, 1]``;
        ``monotonicity_violations``: grid points where the fit decreases.
    """
    # An even grid in s covers the whole real line in x, limits included.
    s = np.linspace(0.0, 1.0, grid_size)
    on_grid = fit.on_s(s)
    metrics = {
        "sse": float(np.sum((fit(data.x) - data.y) ** 2)),
        "overshoot_above_1": float(max(0.0, on_grid.max() - 1.0)),
        "overshoot_below_0": float(max(0.0, -on_grid.min())),
        "monotonicity_violations": int(np.sum(np.diff(on_grid) < -1e-12)),
    }
    if data.true_cdf is not None:
        inner = s[1:-1]
        x = fit.center + fit.scale * np.log(inner / (1.0 - inner))
        metrics["ks"] = float(np.max(np.abs(on_grid[1:-1] - data.true_cdf(x))))
    else:
        at_data = fit(data.x)
        ks = np.abs(at_data - data.y)
        if data.steps:  # just below each jump the ECDF holds the previous value
            ks = np.maximum(ks, np.abs(at_data - np.concatenate([[0.0], data.y[:-1]])))
        metrics["ks"] = float(ks.max())
    return metrics


# ------------------------------------------------------------------------------ experiment
@dataclasses.dataclass(frozen=True)
class CdfConfig:
    """``doomgps sgd cdf``: fit the blog's CDF model and a monotone Bernstein fit; score both."""

    n_points: tuple[int, ...] = (20, 100)
    """Sizes of the blog's generated data sets (ignored with --data)."""
    data: Path | None = None
    """User data instead: .csv/.npy with columns (x, y) of a CDF, or one column of raw samples."""
    kind: Literal["auto", "points", "samples"] = "auto"
    """How to read --data: auto (2 columns = points, 1 column = samples), points or samples."""
    standardize: Literal["auto", "yes", "no"] = "auto"
    """Use (x - mean) / std inside the sigmoid; auto = yes for user data, no for the blog's data."""
    degree: int = 5
    """Polynomial degree K in s = sigmoid(x) for both models."""
    steps: int = 20000
    """Full-batch Adagrad steps per fit."""
    lr: float = 0.5
    """Adagrad learning rate."""
    log_every: int = 100
    """Log the training loss every this many steps (TensorBoard x-axis: Adagrad steps)."""
    seed: int = 0
    """Seed for the generated noise."""
    runs_root: Path = Path("runs")
    """Folder that holds run directories."""
    name: str = "cdf"
    """Run label used in the run directory name."""


def _plot_fits(results: list[tuple[CdfData, dict[str, Fit]]]):  # -> matplotlib Figure
    from matplotlib.figure import Figure

    figure = Figure(figsize=(6 * len(results), 8), layout="constrained")
    axes = figure.subplots(2, len(results), squeeze=False)
    for column, (data, fits) in enumerate(results):
        span = data.x.max() - data.x.min()
        grid = np.linspace(data.x.min() - 0.5 * span, data.x.max() + 0.5 * span, 2001)
        for row, ax in enumerate(axes[:, column]):
            ax.plot(data.x, data.y, "o", ms=4, color="black", label="data")
            if data.true_cdf is not None:
                ax.plot(grid, data.true_cdf(grid), ":", color="grey", label="true CDF")
            for model, fit in fits.items():
                ax.plot(grid, fit(grid), lw=2, label=f"{model} fit")
            ax.axhline(1.0, color="red", lw=0.5)
            ax.axhline(0.0, color="red", lw=0.5)
            if row == 0:
                ax.set(title=data.name, xlabel="x", ylabel="CDF")
                ax.legend(loc="upper left")
            else:
                ax.set(
                    title=f"{data.name}: zoom at the top (overshoot above 1)",
                    xlabel="x",
                    ylim=(0.94, 1.03),
                    xlim=(np.median(data.x), grid[-1]),
                )
    return figure


def run_cdf(config: CdfConfig) -> Path:
    """Fits both models to each data set; writes ``cdf_fit.png``, results and TensorBoard logs.

    TensorBoard scalars ``train/{data}/{model}_mse`` are plotted against Adagrad steps.

    Returns:
        The run directory.
    """
    from core.seeding import seed_everything
    from experiments.sgd.common import save_figure, start_run, write_results

    rng = seed_everything(config.seed)
    if config.data is not None:
        datasets = [load_cdf_data(config.data, config.kind)]
    else:
        datasets = [blog_data(n, rng) for n in config.n_points]
    if config.steps < 1 or config.log_every < 1:
        raise UserError("--steps and --log-every must be positive")
    run_dir, logger = start_run(config.runs_root, "sgd_cdf", config.name, config.seed, config)
    rows, results = [], []
    with logger:
        for data in datasets:
            standardize = config.standardize == "yes" or (
                config.standardize == "auto" and config.data is not None
            )
            label = data.name.replace(" ", "").replace("=", "")
            fits = {}
            for model in MODELS:
                fit = fit_cdf(data, model, config.degree, config.steps, config.lr, standardize)
                fits[model] = fit
                for step in range(0, config.steps, config.log_every):
                    logger.write({f"train/{label}/{model}_mse": fit.losses[step]}, step=step)
                logger.write({f"train/{label}/{model}_mse": fit.losses[-1]}, step=config.steps)
                metrics = fit_metrics(fit, data)
                logger.write({f"eval/{label}/{model}_{k}": v for k, v in metrics.items()}, 0)
                rows.append(
                    {
                        "data": data.name,
                        "points": int(data.x.size),
                        "model": model,
                        **metrics,
                        "ks_to": "true CDF" if data.true_cdf else "data",
                    }
                )
            results.append((data, fits))
        save_figure(run_dir, _plot_fits(results), "cdf_fit.png", logger, tag="eval/cdf_fit")
        columns = [
            "data",
            "points",
            "model",
            "sse",
            "ks",
            "ks_to",
            "overshoot_above_1",
            "overshoot_below_0",
            "monotonicity_violations",
        ]
        table = write_results(run_dir, rows, columns, "CDF fits", logger)
    print(table)
    print(f"run dir: {run_dir}")
    return run_dir
