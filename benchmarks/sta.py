"""Benchmark: the vectorised spike-triggered average vs the plain per-spike loop.

Run: ``.venv/bin/python benchmarks/sta.py [--duration-s 1200] [--repeats 5]``. Prints the spike
count, both best-of-``repeats`` wall times and their ratio, all measured in this one run, and
checks that both give the same STA.
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from experiments.sgd.sta import (
    DT_MS,
    SyntheticNeuron,
    spike_triggered_average,
    spike_triggered_average_loop,
)


def best_time(fn, repeats: int) -> tuple[float, np.ndarray]:
    """Best wall time of ``fn()`` over ``repeats`` calls, and its last result."""
    best, out = float("inf"), None
    for _ in range(repeats):
        start = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - start)
    return best, out


def main() -> None:
    """Simulates a recording with 50k+ spikes and times both implementations."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration-s", type=float, default=1200.0, help="recording length")
    parser.add_argument("--repeats", type=int, default=5, help="timing repeats (best is kept)")
    args = parser.parse_args()
    stim, rho = SyntheticNeuron().simulate(
        round(args.duration_s * 1000 / DT_MS), np.random.default_rng(0)
    )
    fast, sta = best_time(lambda: spike_triggered_average(stim, rho), args.repeats)
    slow, loop = best_time(lambda: spike_triggered_average_loop(stim, rho), args.repeats)
    assert np.allclose(sta.mean, loop)
    print(f"samples {stim.size}, spikes used {sta.n_spikes}")
    print(
        f"vectorised: {fast * 1000:.1f} ms   plain loop: {slow * 1000:.1f} ms   "
        f"ratio (loop / vectorised): {slow / fast:.1f}x"
    )


if __name__ == "__main__":
    main()
