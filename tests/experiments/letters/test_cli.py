"""Each letter experiment end to end through the real CLI on a tiny generated dataset."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from scripts.doomgps import run_command

DATA = ["--data.train-size", "800", "--data.valid-size", "100", "--data.test-size", "150"]


@pytest.fixture(scope="module")
def root(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("cli")
    assert (
        run_command(
            [
                "letters",
                "generate",
                "--out",
                str(root / "data"),
                "--large-per-letter",
                "95",
                "--small-per-letter",
                "20",
                "--workers",
                "1",
                "--no-show-progress",
            ]
        )
        == 0
    )
    return root


def _args(root: Path, name: str) -> list[str]:
    return [
        "--data.path",
        str(root / "data"),
        *DATA,
        "--run.runs",
        str(root / "runs"),
        "--run.name",
        name,
        "--run.no-show-progress",
    ]


def _run_dir(root: Path, experiment: str, name: str) -> Path:
    (run_dir,) = (root / "runs").glob(f"{experiment}__{name}__1__*")
    return run_dir


def _rows(run_dir: Path) -> list[dict[str, str]]:
    with open(run_dir / "results.csv") as handle:
        return list(csv.DictReader(handle))


def test_sweep_fits_every_size_and_c_beats_chance_and_writes_table_plot_logs(root):
    code = run_command(
        ["letters", "sweep", *_args(root, "t"), "--sizes", "50", "400", "800", "--cs", "1", "0.01"]
    )
    assert code == 0
    run_dir = _run_dir(root, "letters_sweep", "t")
    rows = _rows(run_dir)
    assert [(int(r["size"]), float(r["C"])) for r in rows] == [
        (50, 1.0),
        (50, 0.01),
        (400, 1.0),
        (400, 0.01),
        (800, 1.0),
        (800, 0.01),
    ]
    best = max(float(r["valid_accuracy"]) for r in rows if r["size"] == "800")
    assert best > 0.35
    assert float(rows[0]["train_accuracy"]) == 1.0  # 50 samples, weak penalty: memorised
    assert (run_dir / "sweep.png").read_bytes()[:4] == b"\x89PNG"
    assert (run_dir / "results.md").read_text().startswith("| size | C |")
    assert list((run_dir / "tb").glob("events.out.tfevents.*"))
    assert json.loads((run_dir / "config.json").read_text())["cs"] == [1.0, 0.01]


def test_sgd_logistic_regression_beats_chance(root):
    assert (
        run_command(["letters", "sgd", *_args(root, "t"), "--steps", "300", "--eval-every", "100"])
        == 0
    )
    run_dir = _run_dir(root, "letters_sgd", "t")
    (row,) = _rows(run_dir)
    assert row["steps"] == "300" and float(row["valid_accuracy"]) > 0.35
    assert len((run_dir / "eval_sgd_logreg.jsonl").read_text().splitlines()) == 3
    assert (run_dir / "accuracy.png").exists()
    assert (run_dir / "checkpoints" / "sgd_logreg" / "ckpt-300.index").exists()


def test_hidden_layer_reports_both_step_counts_for_each_variant(root):
    assert (
        run_command(
            [
                "letters",
                "hidden",
                *_args(root, "t"),
                "--steps",
                "200",
                "--report-steps",
                "100",
                "200",
                "--eval-every",
                "100",
                "--units",
                "128",
                "--variants",
                "plain",
                "dropout",
            ]
        )
        == 0
    )
    rows = _rows(_run_dir(root, "letters_hidden", "t"))
    assert [(r["variant"], r["steps"]) for r in rows] == [
        ("plain", "100"),
        ("plain", "200"),
        ("dropout", "100"),
        ("dropout", "200"),
    ]
    assert all(float(r["valid_accuracy"]) > 0.3 for r in rows)


def test_dilated_conv_net_beats_chance(root):
    assert (
        run_command(
            [
                "letters",
                "conv",
                *_args(root, "t"),
                "--steps",
                "250",
                "--eval-every",
                "250",
                "--filters",
                "16",
                "--batch-size",
                "32",
            ]
        )
        == 0
    )
    (row,) = _rows(_run_dir(root, "letters_conv", "t"))
    assert float(row["valid_accuracy"]) > 0.35


def test_user_mistakes_exit_2_with_one_line(root, capsys):
    code = run_command(["letters", "sweep", *_args(root, "bad"), "--sizes", "100000"])
    assert code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1].startswith("doomgps letters: error: training sizes [100000] exceed")
    code = run_command(
        ["letters", "sgd", "--data.path", str(root / "missing"), "--run.runs", str(root / "runs")]
    )
    assert code == 2
    assert "no such dataset folder" in capsys.readouterr().err
