"""The refit diagnosis (``python -m benchmarks.refit``): a run's student against a fresh fit."""

from __future__ import annotations

from pathlib import Path

import pytest

from agents.config import GPSConfig
from benchmarks.refit import BenchArgs, main, start_prefix
from core.errors import UserError
from core.run_dir import save_config
from scripts.doomgps import run_command


def test_a_recurrent_runs_last_iterate_is_played_then_fitted_to_its_whole_dataset_and_played(
    tmp_path: Path, capsys
) -> None:
    args = ["--scenario", "basic", "--mode", "dagger", "--frames", "200", "--eval-episodes", "2"]
    args += ["--episodes-per-iteration", "4", "--steps-per-iteration", "10"]
    args += ["--recurrent-units", "16", "--sequence-length", "4", "--burn-in", "1"]
    assert run_command(["train", *args, "--runs", str(tmp_path)]) == 0
    (run,) = tmp_path.iterdir()
    table = main(BenchArgs(run=run, start="last", steps=30, episodes=2))
    played, fitted = table.splitlines()[2:]
    assert played.startswith("| the run's last iterate | 0 |")
    assert fitted.startswith("| the run's last iterate, fitted | 30 |")
    fresh = main(BenchArgs(run=run, start="fresh", steps=30, episodes=2)).splitlines()[2:]
    assert len(fresh) == 1 and fresh[0].startswith("| fresh weights, fitted | 30 |")
    # basic's returns lie in [-400, 100]: each row's live return is a real episode mean
    assert all(-400 <= float(row.split("|")[4]) <= 100 for row in [played, fitted, *fresh])
    # and the share of dormant units in three encoder layers, as percentages
    for row in [played, fitted, *fresh]:
        shares = row.split("|")[6].split(" / ")
        assert len(shares) == 3 and all(0 <= float(s.strip(" %")) <= 100 for s in shares)


def test_untrained_fresh_weights_and_a_run_without_checkpoints_are_refused(tmp_path) -> None:
    save_config(tmp_path, GPSConfig(scenario="basic"))
    with pytest.raises(UserError, match="--start fresh needs --steps"):
        main(BenchArgs(run=tmp_path, start="fresh", steps=0))
    with pytest.raises(UserError, match="no checkpoint"):
        start_prefix(tmp_path, "last")
    assert start_prefix(tmp_path, "chosen") is None
