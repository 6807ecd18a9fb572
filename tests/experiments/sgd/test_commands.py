"""End-to-end: each ``doomgps sgd`` subcommand on a tiny size through the real CLI dispatcher."""

from __future__ import annotations

import csv
import json
import pickle
import shutil
from pathlib import Path

import numpy as np

from scripts.doomgps import run_command


def _only_run(root: Path) -> Path:
    runs = sorted(p for p in root.iterdir() if p.is_dir())
    assert len(runs) == 1, runs
    return runs[0]


def _rows(run_dir: Path) -> list[dict[str, str]]:
    with (run_dir / "results.csv").open() as handle:
        return list(csv.DictReader(handle))


def _assert_run_outputs(run_dir: Path, png: str) -> None:
    for name in ("config.json", "results.md", "results.csv", "results.json", png):
        assert (run_dir / name).stat().st_size > 0, name
    assert (run_dir / png).read_bytes()[:4] == b"\x89PNG"
    assert list((run_dir / "tb").glob("events.out.tfevents.*"))


def test_sta_command_recovers_the_filter(tmp_path, capsys):
    code = run_command(["sgd", "sta", "--duration-s", "400", "--runs-root", str(tmp_path)])
    assert code == 0
    run_dir = _only_run(tmp_path)
    _assert_run_outputs(run_dir, "sta.png")
    (row,) = _rows(run_dir)
    assert float(row["corr_true_filter"]) >= 0.95
    assert int(row["spikes_used"]) > 10_000
    assert 0 < float(row["sta_ms"]) < 1000
    assert "corr_true_filter" in capsys.readouterr().out


def test_sta_command_refuses_an_untrusted_pickle_in_one_line(tmp_path, capsys):
    path = tmp_path / "data.pickle"
    path.write_bytes(pickle.dumps({"stim": np.zeros(300), "rho": np.ones(300)}))
    code = run_command(["sgd", "sta", "--data", str(path), "--runs-root", str(tmp_path / "r")])
    assert code == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "--trust-pickle" in err
    assert not (tmp_path / "r").exists()
    code = run_command(
        ["sgd", "sta", "--data", str(path), "--trust-pickle", "--runs-root", str(tmp_path / "r")]
    )
    assert code == 0


def test_cdf_command_fits_both_sizes(tmp_path):
    code = run_command(["sgd", "cdf", "--steps", "400", "--runs-root", str(tmp_path)])
    assert code == 0
    run_dir = _only_run(tmp_path)
    _assert_run_outputs(run_dir, "cdf_fit.png")
    rows = _rows(run_dir)
    assert [(r["points"], r["model"]) for r in rows] == [
        ("20", "blog"),
        ("20", "bernstein"),
        ("100", "blog"),
        ("100", "bernstein"),
    ]
    for row in rows:
        assert 0 < float(row["ks"]) < 0.2 and float(row["sse"]) < 1.0
        if row["model"] == "bernstein":
            assert row["monotonicity_violations"] == "0"
            assert float(row["overshoot_above_1"]) == 0.0


def test_cdf_command_takes_raw_samples(tmp_path):
    samples = np.random.default_rng(0).exponential(5.0, size=300)
    np.save(tmp_path / "samples.npy", samples)
    code = run_command(
        [
            "sgd",
            "cdf",
            "--data",
            str(tmp_path / "samples.npy"),
            "--steps",
            "300",
            "--runs-root",
            str(tmp_path / "runs"),
        ]
    )
    assert code == 0
    rows = _rows(_only_run(tmp_path / "runs"))
    assert {r["ks_to"] for r in rows} == {"data"}
    assert all(float(r["ks"]) < 0.3 for r in rows)


def test_second_order_command_runs_both_problems_and_resumes(tmp_path):
    argv = [
        "sgd",
        "second-order",
        "--steps",
        "6",
        "--eval-every",
        "3",
        "--log-every",
        "2",
        "--hidden",
        "6",
        "--betas",
        "0.01",
        "--n-train",
        "64",
        "--n-val",
        "64",
        "--letters-per-letter",
        "12",
        "--letters-train",
        "60",
        "--letters-valid",
        "20",
        "--batch-size",
        "16",
        "--sharpness-examples",
        "64",
        "--sharpness-iterations",
        "5",
        "--exact-max-params",
        "100",
        "--no-show-progress",
        "--runs-root",
        str(tmp_path),
    ]
    assert run_command(argv) == 0
    run_dir = _only_run(tmp_path)
    _assert_run_outputs(run_dir, "second_order.png")
    rows = _rows(run_dir)
    methods = {(r["problem"], r["method"]) for r in rows}
    assert ("regression", "diag_exact_b0.01") in methods  # 6-unit MLP: 61 weights
    assert ("letters", "diag_exact_b0.01") not in methods  # skipped: too many weights
    assert ("letters", "full_b0.01") in methods and ("letters", "adam") in methods
    for row in rows:
        assert float(row["sharpness"]) > 0 and float(row["ms_per_step"]) > 0
        assert np.isfinite(float(row["val_loss"]))
        if row["problem"] == "letters":
            assert 0.0 <= float(row["val_acc"]) <= 1.0
    assert list((run_dir / "checkpoints").glob("regression__sgd__s0/*.index"))
    # Resuming restores every method's final checkpoint: same numbers, no extra training.
    before = json.loads((run_dir / "results.json").read_text())
    shutil.rmtree(run_dir / "tb")
    assert run_command([*argv, "--resume", str(run_dir)]) == 0
    after = json.loads((run_dir / "results.json").read_text())
    for old, new in zip(before, after, strict=True):
        assert new["val_loss"] == old["val_loss"] and new["sharpness"] == old["sharpness"]
