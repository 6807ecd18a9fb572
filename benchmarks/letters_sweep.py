"""The vectorised logistic-regression sweep vs scikit-learn on the same data, in one process.

Usage: ``python -m benchmarks.letters_sweep [--data data/letters] [--max-size 10000]``

scikit-learn's ``LogisticRegression(C=C)`` (lbfgs, multinomial, tol 1e-4, max_iter 100) is fit
once per (size, C) on exactly the rows our sweep uses, right after our sweep of that size
(same machine load); both report training and validation
accuracy. Prints a side-by-side table, the largest accuracy gap and the wall-time ratio.
"""

from __future__ import annotations

import argparse
import os
import time
import warnings
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np

from experiments.letters.commands import BLOG_SIZES
from experiments.letters.data import DataConfig, load_letters, normalise
from experiments.letters.sweep import run_sweep


def main() -> None:
    """Runs both sweeps and prints the comparison."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=Path("data/letters"))
    parser.add_argument("--max-size", type=int, default=10000)
    parser.add_argument("--cs", type=float, nargs="+", default=[1.0, 0.1, 0.01, 0.001])
    args = parser.parse_args()
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.linear_model import LogisticRegression

    letters = load_letters(DataConfig(path=args.data), show_progress=False)
    sizes = [s for s in BLOG_SIZES if s <= min(args.max_size, len(letters.train_y))]
    x = normalise(letters.train_x[: max(sizes)]).reshape(-1, 784)
    y = letters.train_y[: max(sizes)]
    xv, yv = normalise(letters.valid_x).reshape(-1, 784), letters.valid_y

    # size by size, ours then scikit-learn, so that both see the same machine load
    ours_s = sk_s = ours_cpu = sk_cpu = 0.0
    print("| size | C | ours train | sklearn train | ours valid | sklearn valid | sklearn iters |")
    print("|---|---|---|---|---|---|---|")
    gaps, ours = [], []
    for size in sizes:
        start, cpu = time.perf_counter(), time.process_time()
        rows = run_sweep(x[:size], y[:size], xv, yv, [size], args.cs)
        ours_s += time.perf_counter() - start
        ours_cpu += time.process_time() - cpu
        ours += rows
        for row in rows:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", ConvergenceWarning)
                start, cpu = time.perf_counter(), time.process_time()
                model = LogisticRegression(C=row["C"], max_iter=100, tol=1e-4)
                model.fit(x[:size], y[:size])
                sk_s += time.perf_counter() - start
                sk_cpu += time.process_time() - cpu
            sk_train, sk_valid = model.score(x[:size], y[:size]), model.score(xv, yv)
            gaps.append(abs(sk_valid - row["valid_accuracy"]) * 100)
            print(
                f"| {size} | {row['C']:g} | {100 * row['train_accuracy']:.1f} | "
                f"{100 * sk_train:.1f} | {100 * row['valid_accuracy']:.1f} | "
                f"{100 * sk_valid:.1f} | {model.n_iter_[0]} |",
                flush=True,
            )
    print(
        f"\nsizes {sizes[0]}..{sizes[-1]} x C {args.cs}: {len(ours)} models, cpus={os.cpu_count()}"
    )
    print(f"ours (core, batched L-BFGS): {ours_s:8.1f} s wall {ours_cpu:8.1f} s CPU")
    print(f"scikit-learn lbfgs         : {sk_s:8.1f} s wall {sk_cpu:8.1f} s CPU")
    print(f"speed ratio sklearn/ours   : {sk_s / ours_s:.2f}x wall, {sk_cpu / ours_cpu:.2f}x CPU")
    print(f"validation accuracy gap    : max {max(gaps):.2f} points, mean {np.mean(gaps):.2f}")


if __name__ == "__main__":
    main()
