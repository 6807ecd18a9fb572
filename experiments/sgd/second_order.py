"""Is the blog's second-order SGD rule any better? Plain SGD vs flavours (a), (b) vs Adam.

Two problems: a 1-D regression (``t = sin x + 0.3 sin 3x + noise``, a tanh MLP) and the letters
(notMNIST-style, :mod:`experiments.letters`, a one-hidden-layer tanh net). Every method starts from
the same initial weights per seed and sees the same batches; it trains with
:class:`core.second_order.SecondOrderStep` inside :class:`core.trainer.Learner` (checkpoints,
resume, TensorBoard), and is scored on: final training loss, validation loss / MSE / accuracy,
sharpness (top Hessian eigenvalue of the training loss, power iteration), output flatness
``mean_n 1/2 ||dy_n/dw||^2`` on validation examples (what the rule minimises), and wall time per
step.

Note: in a ReLU network each output is piecewise linear in every single weight, so
``diag(H_y) = 0`` and flavour (a) is plain SGD; hence the tanh nets here.
"""

from __future__ import annotations

import dataclasses
import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, Literal

import numpy as np

from core.errors import UserError

METHODS = ("sgd", "diag_exact", "diag_hutchinson", "full", "adam")
"""Methods: plain SGD, flavour (a) exact / Hutchinson, flavour (b), and Adam."""


@dataclasses.dataclass(frozen=True)
class SecondOrderExperimentConfig:
    """``doomgps sgd second-order``: SGD vs the second-order rule (a, b) at several beta vs Adam.

    TensorBoard x-axis: optimizer steps. Tags ``train/{problem}/{method}/*``,
    ``eval/{problem}/{method}/*``.
    """

    problems: tuple[Literal["regression", "letters"], ...] = ("regression", "letters")
    """Which problems to run."""
    methods: tuple[Literal["sgd", "diag_exact", "diag_hutchinson", "full", "adam"], ...] = METHODS
    """Methods; diag_exact is skipped when a net has more than --exact-max-params weights."""
    betas: tuple[float, ...] = (0.001, 0.01)
    """Flatness step sizes beta for the diag_* and full rules (penalty weight beta / alpha)."""
    alpha: float = 0.05
    """SGD learning rate (also the loss step of the second-order rules)."""
    adam_lr: float = 0.003
    """Adam's learning rate."""
    steps: int = 2000
    """Optimizer steps per method."""
    batch_size: int = 32
    """Examples per step."""
    hidden: int = 32
    """Hidden units per layer (regression: two tanh layers; letters: one)."""
    probes: int = 1
    """Hutchinson probes per step (one HVP each)."""
    exact_max_params: int = 4096
    """Largest net (in weights) for the exact Hessian diagonal."""
    reduction: Literal["rademacher", "mean"] = "rademacher"
    """Batch output y: Rademacher mix (unbiased per-example penalty) or batch mean."""
    n_train: int = 256
    """Regression: training examples."""
    n_val: int = 1024
    """Regression: validation examples."""
    noise: float = 0.1
    """Regression: target noise standard deviation."""
    letters_data: Path | None = None
    """Letters: a notMNIST root, .npz cache or course pickle; default: generate a small set."""
    letters_per_letter: int = 200
    """Letters: images per letter to generate when --letters-data is not given."""
    letters_train: int = 1500
    """Letters: training images."""
    letters_valid: int = 500
    """Letters: validation images."""
    trust_pickle: bool = False
    """Letters: allow loading --letters-data as a pickle (pickles can run arbitrary code)."""
    sharpness_examples: int = 512
    """Training examples in the loss whose top Hessian eigenvalue is the sharpness."""
    sharpness_iterations: int = 30
    """Power-iteration steps for the sharpness."""
    log_every: int = 50
    """Log train/ scalars every this many steps."""
    eval_every: int = 200
    """Evaluate on the validation set every this many steps (the loss curves in the plot)."""
    seed: int = 0
    """First seed (initial weights, data, batch order, random signs)."""
    num_seeds: int = 1
    """Seeds seed .. seed + num_seeds - 1; the table shows their mean (and std)."""
    runs_root: Path = Path("runs")
    """Folder that holds run directories."""
    name: str = "second_order"
    """Run label used in the run directory name."""
    resume: Path | None = None
    """Continue this run directory from its checkpoints (same settings)."""
    show_progress: bool = True
    """Show progress bars (on a terminal)."""


@dataclasses.dataclass(frozen=True)
class Method:
    """One optimiser configuration: ``rule`` with flatness step ``beta``, or Adam."""

    name: str
    rule: str
    beta: float
    adam: bool = False


def method_list(config: SecondOrderExperimentConfig) -> list[Method]:
    """Expands ``methods x betas`` into the table's rows, in order."""
    out: list[Method] = []
    for method in config.methods:
        if method == "sgd":
            out.append(Method("sgd", "sgd", 0.0))
        elif method == "adam":
            out.append(Method("adam", "sgd", 0.0, adam=True))
        else:
            out += [Method(f"{method}_b{beta:g}", method, beta) for beta in config.betas]
    return out


@dataclasses.dataclass
class Problem:
    """A data set and a model factory for one comparison."""

    name: str
    train: dict[str, np.ndarray]
    valid: dict[str, np.ndarray]
    make_model: Callable[[], Any]
    classification: bool


def regression_problem(config: SecondOrderExperimentConfig, seed: int) -> Problem:
    """``t = sin x + 0.3 sin 3x + noise``, ``x ~ U(-3, 3)``; a 1-H-H-1 tanh MLP."""
    import keras

    rng = np.random.default_rng([seed, 1])

    def draw(n: int) -> dict[str, np.ndarray]:
        x = rng.uniform(-3.0, 3.0, size=(n, 1))
        t = np.sin(x[:, 0]) + 0.3 * np.sin(3 * x[:, 0]) + config.noise * rng.standard_normal(n)
        return {"x": x.astype(np.float32), "y": t.astype(np.float32)}

    def make_model() -> Any:
        return keras.Sequential(
            [
                keras.Input((1,)),
                keras.layers.Dense(config.hidden, activation="tanh"),
                keras.layers.Dense(config.hidden, activation="tanh"),
                keras.layers.Dense(1),
            ]
        )

    return Problem("regression", draw(config.n_train), draw(config.n_val), make_model, False)


def letters_problem(config: SecondOrderExperimentConfig, run_dir: Path, seed: int) -> Problem:
    """The letters (generated into ``run_dir/letters`` unless given); a 784-H-10 tanh net."""
    import keras

    from experiments.letters import generate
    from experiments.letters.data import DataConfig, load_letters, normalise

    path = config.letters_data
    if path is None:
        path = run_dir / "letters"
        if not (path / "notMNIST_large").is_dir():
            generate.generate(
                path,
                config.letters_per_letter,
                max(1, config.letters_per_letter // 10),
                seed=seed,
                show_progress=config.show_progress,
            )
    data_config = DataConfig(
        path=Path(path),
        train_size=config.letters_train,
        valid_size=config.letters_valid,
        test_size=1,
        split_seed=seed,
        trust_pickle=config.trust_pickle,
    )
    letters = load_letters(data_config, show_progress=config.show_progress)
    if len(letters.train_y) < config.batch_size or len(letters.valid_y) == 0:
        raise UserError(
            f"{path}: too few letters ({letters.sizes()}) for batch size {config.batch_size}"
        )

    def make_model() -> Any:
        return keras.Sequential(
            [
                keras.Input((28, 28)),
                keras.layers.Flatten(),
                keras.layers.Dense(config.hidden, activation="tanh"),
                keras.layers.Dense(10),
            ]
        )

    return Problem(
        "letters",
        {"x": normalise(letters.train_x), "y": letters.train_y.astype(np.int32)},
        {"x": normalise(letters.valid_x), "y": letters.valid_y.astype(np.int32)},
        make_model,
        True,
    )


def _losses(problem: Problem):
    from core import second_order as so

    if problem.classification:
        return so.cross_entropy, so.true_class_logit
    return so.half_squared_error, so.regression_output


def evaluate(model: Any, problem: Problem, split: dict[str, np.ndarray]) -> dict[str, float]:
    """Validation loss (and accuracy, or MSE) over a whole split."""
    import tensorflow as tf

    loss_fn, _ = _losses(problem)
    predictions = model(tf.constant(split["x"]))
    out = {"val_loss": float(loss_fn(tf.constant(split["y"]), predictions))}
    if problem.classification:
        out["val_acc"] = float(np.mean(np.argmax(predictions.numpy(), -1) == split["y"]))
    else:
        out["val_mse"] = 2.0 * out["val_loss"]
    return out


def output_flatness(
    model: Any, problem: Problem, split: dict[str, np.ndarray], examples: int = 64
) -> float:
    """``mean_n 1/2 ||dy_n/dw||^2`` over the first ``examples`` of ``split`` (exact Jacobian)."""
    import tensorflow as tf

    from core.hessian import as_tf_variables

    _, output_fn = _losses(problem)
    x, y = tf.constant(split["x"][:examples]), tf.constant(split["y"][:examples])
    variables = as_tf_variables(model.trainable_variables)
    with tf.GradientTape() as tape:
        outputs = output_fn(model(x), y)
    jacobians = tape.jacobian(outputs, variables)
    squares = tf.add_n(
        [tf.reduce_sum(tf.reshape(j, [tf.shape(outputs)[0], -1]) ** 2, axis=1) for j in jacobians]
    )
    return float(0.5 * tf.reduce_mean(squares))


def sharpness(
    model: Any, problem: Problem, config: SecondOrderExperimentConfig, seed: int
) -> float:
    """Top Hessian eigenvalue of the training loss on the first ``sharpness_examples`` examples."""
    import tensorflow as tf

    from core.hessian import top_eigenvalue

    loss_fn, _ = _losses(problem)
    n = config.sharpness_examples
    x, y = tf.constant(problem.train["x"][:n]), tf.constant(problem.train["y"][:n])
    return top_eigenvalue(
        lambda: loss_fn(y, model(x)),
        model.trainable_variables,
        iterations=config.sharpness_iterations,
        seed=seed,
    )


def train_method(
    problem: Problem,
    method: Method,
    config: SecondOrderExperimentConfig,
    seed: int,
    run_dir: Path,
    logger: Any,
) -> dict[str, Any]:
    """Trains one method from the seed's initial weights; returns its table row."""
    import keras

    from core import second_order as so
    from core.data import ArrayStream
    from core.hessian import num_params
    from core.trainer import Learner, TrainerConfig

    keras.utils.set_random_seed(seed)
    model = problem.make_model()
    params = num_params(model.trainable_variables)
    row: dict[str, Any] = {
        "problem": problem.name,
        "method": method.name,
        "rule": method.rule,
        "beta": method.beta,
        "seed": seed,
        "params": params,
    }
    if method.rule == "diag_exact" and params > config.exact_max_params:
        return {**row, "skipped": f"{params} weights > --exact-max-params"}
    loss_fn, output_fn = _losses(problem)
    optimizer = keras.optimizers.Adam(config.adam_lr) if method.adam else None
    rule = so.SecondOrderConfig(
        rule=method.rule,
        alpha=config.alpha,
        beta=method.beta,
        probes=config.probes,
        exact_max_params=config.exact_max_params,
        reduction=config.reduction,
    )
    step = so.SecondOrderStep(model, loss_fn, output_fn, rule, optimizer=optimizer, seed=seed)
    stream = ArrayStream(problem.train, config.batch_size, seed=seed)
    trackables = {"model": model, **({"optimizer": optimizer} if optimizer else {})}
    tag = f"{problem.name}/{method.name}" + (f"/s{seed}" if config.num_seeds > 1 else "")
    learner = Learner(
        step.train_step,
        stream,
        config=TrainerConfig(
            steps=config.steps,
            log_every=config.log_every,
            eval_every=config.eval_every,
            checkpoint_every=config.steps,
        ),
        trackables=trackables,
        logger=logger,
        rng=step.generator,
        checkpoint_dir=run_dir / "checkpoints" / f"{problem.name}__{method.name}__s{seed}",
        evaluate=lambda: {
            f"{tag}/{k}": v for k, v in evaluate(model, problem, problem.valid).items()
        },
        batch_size=config.batch_size,
        show_progress=config.show_progress,
        prefix=f"train/{tag}/",
    )
    start_step = learner.restore()
    first = learner.run(until=min(config.steps, start_step + 1))  # compiles the step
    start, timed_from = time.perf_counter(), learner.steps
    last = learner.run() or first
    timed = learner.steps - timed_from
    ms_per_step = 1000.0 * (time.perf_counter() - start) / timed if timed else float("nan")
    row.update(evaluate(model, problem, problem.valid))
    row.update(
        {
            "train_loss": float(evaluate(model, problem, problem.train)["val_loss"]),
            "last_batch_loss": last.get("loss", float("nan")),
            "sharpness": sharpness(model, problem, config, seed),
            "val_flatness": output_flatness(model, problem, problem.valid),
            "ms_per_step": ms_per_step,
            "curve": [(s, m[f"{tag}/val_loss"]) for s, m in learner.history],
        }
    )
    logger.write(
        {f"eval/{tag}/{k}": row[k] for k in ("sharpness", "val_flatness", "train_loss")},
        config.steps,
    )
    logger.write({f"perf/{tag}/ms_per_step": ms_per_step}, config.steps)
    return row


NUMERIC = (
    "train_loss",
    "val_loss",
    "val_mse",
    "val_acc",
    "sharpness",
    "val_flatness",
    "ms_per_step",
)


def aggregate(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Averages each (problem, method) over seeds; adds ``*_std`` for the validation metrics."""
    groups: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for row in rows:
        groups.setdefault((row["problem"], row["method"]), []).append(row)
    out = []
    for group in groups.values():
        first = dict(group[0])
        first.pop("curve", None)
        first["seeds"] = len(group)
        for key in NUMERIC:
            values = [r[key] for r in group if key in r]
            if values:
                first[key] = float(np.mean(values))
                if key in ("val_loss", "val_mse", "val_acc") and len(values) > 1:
                    first[f"{key}_std"] = float(np.std(values))
        out.append(first)
    return out


def _plot(rows: list[dict[str, Any]], problems: list[str]):  # -> matplotlib Figure
    from matplotlib.figure import Figure

    figure = Figure(figsize=(12, 4 * len(problems)), layout="constrained")
    axes = figure.subplots(len(problems), 2, squeeze=False)
    for (curves, scatter), problem in zip(axes, problems, strict=True):
        for row in rows:
            if row["problem"] != problem or "curve" not in row or row["seed"] != rows[0]["seed"]:
                continue
            steps, values = zip(*row["curve"], strict=True)
            curves.plot(steps, values, label=row["method"])
            metric = row.get("val_acc", row.get("val_mse"))
            scatter.scatter(row["sharpness"], metric)
            scatter.annotate(row["method"], (row["sharpness"], metric), fontsize=7)
        curves.set(title=f"{problem}: validation loss", xlabel="optimizer step", yscale="log")
        curves.legend(fontsize=7)
        scatter.set(
            title=f"{problem}: final metric vs sharpness",
            xlabel="sharpness (top eig)",
            ylabel="val accuracy" if problem == "letters" else "val MSE",
            xscale="log",
        )
    return figure


def run_second_order(config: SecondOrderExperimentConfig) -> Path:
    """Runs every (problem, method, seed); writes ``second_order.png``, results, TensorBoard.

    Returns:
        The run directory.
    """
    from core.logger import Logger
    from core.runs import open_run
    from core.seeding import seed_everything
    from experiments.sgd.common import save_figure, write_results

    if config.steps < 2 or config.num_seeds < 1 or not config.methods or not config.problems:
        raise UserError("need --steps >= 2, --num-seeds >= 1, and at least one method and problem")
    run_dir = open_run(
        config,
        root=config.runs_root,
        experiment="sgd_second_order",
        name=config.name,
        seed=config.seed,
        resume=config.resume,
    )
    rows: list[dict[str, Any]] = []
    with Logger(run_dir / "tb") as logger:
        logger.config(config)
        for seed in range(config.seed, config.seed + config.num_seeds):
            seed_everything(seed)
            for name in config.problems:
                problem = (
                    regression_problem(config, seed)
                    if name == "regression"
                    else letters_problem(config, run_dir, seed)
                )
                for method in method_list(config):
                    rows.append(train_method(problem, method, config, seed, run_dir, logger))
        problems = list(dict.fromkeys(r["problem"] for r in rows))
        save_figure(
            run_dir, _plot(rows, problems), "second_order.png", logger, tag="eval/second_order"
        )
        table_rows = [r for r in aggregate(rows) if "skipped" not in r]
        columns = [
            "problem",
            "method",
            "beta",
            "train_loss",
            "val_loss",
            "val_mse",
            "val_mse_std",
            "val_acc",
            "val_acc_std",
            "sharpness",
            "val_flatness",
            "ms_per_step",
            "params",
            "seeds",
        ]
        if config.num_seeds == 1:
            columns = [c for c in columns if not c.endswith("_std")]
        table = write_results(
            run_dir, table_rows, columns, "Second-order rule vs SGD vs Adam", logger
        )
        (run_dir / "runs.json").write_text(
            json.dumps([{k: v for k, v in r.items() if k != "curve"} for r in rows], indent=2)
            + "\n"
        )
    print(table)
    print(f"run dir: {run_dir}")
    return run_dir
