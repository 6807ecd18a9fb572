"""The letter experiments as functions of one frozen config each (the CLI wires them to tyro).

Every command writes a run directory ``{runs}/letters_{command}__{name}__{seed}__{time}`` with
``config.json``, TensorBoard logs under ``tb/``, ``results.md``/``results.csv`` and a PNG plot.
"""

from __future__ import annotations

import dataclasses
import time
from pathlib import Path

import keras

from core.errors import UserError
from core.logger import Logger
from core.runs import open_run
from core.seeding import seed_everything
from experiments.letters import generate as gen
from experiments.letters.data import DataConfig, load_letters, normalise
from experiments.letters.minibatch import RunConfig, Variant, train_variants
from experiments.letters.models import dilated_convnet, hidden_layer, logistic_regression
from experiments.letters.report import save_figure, write_table
from experiments.letters.sweep import plot_sweep, run_sweep

BLOG_SIZES = (
    50,
    200,
    300,
    400,
    500,
    600,
    700,
    800,
    900,
    1000,
    2000,
    3000,
    4000,
    5000,
    10000,
    50000,
    100000,
    200000,
)


@dataclasses.dataclass(frozen=True)
class GenerateConfig:
    """Render notMNIST-style letters into the real dataset's folder layout."""

    out: Path = Path("data/letters")
    """dataset root to write notMNIST_large/ and notMNIST_small/ into"""
    large_per_letter: int = 21500
    """images per letter in notMNIST_large (train + validation + dedupe slack)"""
    small_per_letter: int = 1100
    """images per letter in notMNIST_small (test + dedupe slack)"""
    seed: int = 0
    """dataset seed: the same seed gives identical images"""
    workers: int = 2
    """rendering processes"""
    show_progress: bool = True
    """show a progress bar on a terminal"""


@dataclasses.dataclass(frozen=True)
class SweepConfig:
    """Logistic regression, training size x C sweep (the x-axis of eval/ curves is the size)."""

    data: DataConfig = dataclasses.field(default_factory=DataConfig)
    """the dataset"""
    run: RunConfig = dataclasses.field(default_factory=RunConfig)
    """run directory, seed, resume"""
    sizes: tuple[int, ...] = BLOG_SIZES
    """training sizes (first n training images)"""
    cs: tuple[float, ...] = (1.0, 0.1, 0.01, 0.001)
    """inverse L2 strengths, as scikit-learn's C"""
    max_iter: int = 100
    """L-BFGS iterations per size at most (scikit-learn's default)"""
    tol: float = 1e-4
    """stop a model when its largest gradient entry is below this (scikit-learn's default)"""


@dataclasses.dataclass(frozen=True)
class SgdConfig:
    """Logistic regression by minibatch SGD, no regularisation (x-axis: optimizer steps)."""

    data: DataConfig = dataclasses.field(default_factory=DataConfig)
    """the dataset"""
    run: RunConfig = dataclasses.field(default_factory=RunConfig)
    """run directory, seed, resume"""
    steps: int = 9000
    """optimizer steps"""
    batch_size: int = 128
    """samples per step"""
    learning_rate: float = 0.02
    """plain SGD step size (the course's 0.5 oscillates on generated data: 40% vs 60% valid
    after 2000 steps)"""
    eval_every: int = 500
    """validation/test evaluation interval in steps"""


@dataclasses.dataclass(frozen=True)
class HiddenConfig:
    """One hidden layer of ReLU units with plain / L2 / dropout variants (x-axis: steps)."""

    data: DataConfig = dataclasses.field(default_factory=DataConfig)
    """the dataset"""
    run: RunConfig = dataclasses.field(default_factory=RunConfig)
    """run directory, seed, resume"""
    steps: int = 18000
    """optimizer steps of every variant"""
    report_steps: tuple[int, ...] = (9000, 18000)
    """steps whose accuracies go into the results table (multiples of eval_every)"""
    variants: tuple[str, ...] = ("plain", "l2", "dropout")
    """which variants to train: plain, l2, dropout"""
    units: int = 1024
    """hidden units"""
    l2: float = 1e-3
    """L2 weight (the course's beta * tf.nn.l2_loss(W)) in the l2 variant"""
    dropout: float = 0.5
    """drop rate of hidden units in the dropout variant"""
    batch_size: int = 128
    """samples per step"""
    learning_rate: float = 0.1
    """plain SGD step size (the course's 0.5 diverges with Keras' Glorot initialisation)"""
    eval_every: int = 1000
    """evaluation interval in steps"""


@dataclasses.dataclass(frozen=True)
class ConvConfig:
    """A small dilated-convolution net, dilation doubling per layer (x-axis: steps)."""

    data: DataConfig = dataclasses.field(default_factory=DataConfig)
    """the dataset"""
    run: RunConfig = dataclasses.field(default_factory=RunConfig)
    """run directory, seed, resume"""
    steps: int = 3000
    """optimizer steps"""
    batch_size: int = 64
    """samples per step"""
    learning_rate: float = 1e-3
    """Adam step size"""
    filters: int = 32
    """channels of the dilated layers (the stride-2 stem has half)"""
    num_layers: int = 3
    """dilated layers (dilations 1, 2, 4, ...)"""
    dense: int = 64
    """units of the dense layer before the classifier"""
    dropout: float = 0.25
    """dropout before the classifier"""
    eval_every: int = 500
    """evaluation interval in steps"""


def generate(cfg: GenerateConfig) -> dict[str, int]:
    """Writes the generated dataset; prints what was written."""
    if cfg.large_per_letter < 0 or cfg.small_per_letter < 0:
        raise UserError("image counts must be >= 0")
    start = time.perf_counter()
    counts = gen.generate(
        cfg.out,
        cfg.large_per_letter,
        cfg.small_per_letter,
        cfg.seed,
        cfg.workers,
        cfg.show_progress,
    )
    print(
        f"wrote {counts} to {cfg.out} in {time.perf_counter() - start:.1f} s "
        f"(fonts from {gen.font_dir()})"
    )
    return counts


def sweep(cfg: SweepConfig) -> Path:
    """Runs the size x C sweep; writes results, the blog-style plot and TensorBoard logs."""
    run_dir = open_run(
        cfg,
        root=cfg.run.runs,
        experiment="letters_sweep",
        name=cfg.run.name,
        seed=cfg.run.seed,
        resume=cfg.run.resume,
    )
    letters = load_letters(cfg.data, show_progress=cfg.run.show_progress)
    too_big = [s for s in cfg.sizes if s > len(letters.train_y)]
    if too_big:
        raise UserError(
            f"training sizes {too_big} exceed the {len(letters.train_y)} training "
            "images; pass smaller --sizes or more data"
        )
    seed_everything(cfg.run.seed)
    x_train = normalise(letters.train_x[: max(cfg.sizes)]).reshape(-1, 784)
    x_valid = normalise(letters.valid_x).reshape(-1, 784)
    with Logger(run_dir / "tb") as logger:
        logger.config(cfg)
        logger.write(
            {f"data/{k}": v for k, v in letters.report.items() if isinstance(v, int | float)}, 0
        )
        start = time.perf_counter()
        rows = run_sweep(
            x_train,
            letters.train_y,
            x_valid,
            letters.valid_y,
            cfg.sizes,
            cfg.cs,
            max_iter=cfg.max_iter,
            tol=cfg.tol,
            logger=logger,
            jit_compile=cfg.run.jit_compile,
            show_progress=cfg.run.show_progress,
        )
        wall = time.perf_counter() - start
        table = write_table(run_dir, "results", rows)
        figure = plot_sweep(rows, f"logistic regression on {cfg.data.path} (valid dashed)")
        png = save_figure(figure, run_dir / "sweep.png")
        logger.image("eval/sweep_plot", png, step=0)
        logger.text("eval/results", table, step=0)
        logger.write({"perf/sweep_seconds": wall}, 0)
    print(table)
    print(f"sweep of {len(rows)} models in {wall:.1f} s; run directory: {run_dir}")
    return run_dir


def sgd(cfg: SgdConfig) -> Path:
    """Trains minibatch SGD logistic regression."""
    variant = Variant(
        "sgd_logreg", logistic_regression, lambda: keras.optimizers.SGD(cfg.learning_rate)
    )
    return train_variants(
        cfg,
        "letters_sgd",
        None,
        [variant],
        run=cfg.run,
        steps=cfg.steps,
        batch_size=cfg.batch_size,
        eval_every=cfg.eval_every,
        report_steps=sorted({cfg.steps}),
        title=f"SGD logistic regression, batch {cfg.batch_size}",
    )


def hidden(cfg: HiddenConfig) -> Path:
    """Trains the one-hidden-layer net in its variants."""
    factories = {
        "plain": lambda: hidden_layer(cfg.units),
        "l2": lambda: hidden_layer(cfg.units, l2=cfg.l2),
        "dropout": lambda: hidden_layer(cfg.units, dropout=cfg.dropout),
    }
    unknown = [v for v in cfg.variants if v not in factories]
    if unknown:
        raise UserError(f"unknown variant(s) {unknown}; known: {list(factories)}")
    variants = [
        Variant(name, factories[name], lambda: keras.optimizers.SGD(cfg.learning_rate))
        for name in cfg.variants
    ]
    report = sorted({s for s in cfg.report_steps if s <= cfg.steps} | {cfg.steps})
    if any(s % cfg.eval_every for s in report):
        raise UserError(f"report steps {report} must be multiples of eval_every={cfg.eval_every}")
    return train_variants(
        cfg,
        "letters_hidden",
        None,
        variants,
        run=cfg.run,
        steps=cfg.steps,
        batch_size=cfg.batch_size,
        eval_every=cfg.eval_every,
        report_steps=report,
        title=f"{cfg.units} ReLU hidden units",
    )


def conv(cfg: ConvConfig) -> Path:
    """Trains the dilated convolution net."""
    variant = Variant(
        "dilated_conv",
        lambda: dilated_convnet(cfg.filters, cfg.num_layers, cfg.dense, cfg.dropout),
        lambda: keras.optimizers.Adam(cfg.learning_rate),
    )
    return train_variants(
        cfg,
        "letters_conv",
        None,
        [variant],
        run=cfg.run,
        steps=cfg.steps,
        batch_size=cfg.batch_size,
        eval_every=cfg.eval_every,
        report_steps=sorted({cfg.steps}),
        title=f"dilated conv net ({cfg.num_layers} layers)",
    )
