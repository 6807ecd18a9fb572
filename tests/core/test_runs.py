"""Run directories: fresh runs save their config; resuming checks it."""

from __future__ import annotations

import dataclasses
import json

import pytest

from core.errors import UserError
from core.runs import open_run


@dataclasses.dataclass(frozen=True)
class _Cfg:
    lr: float = 0.1
    """step size"""
    resume: str | None = None
    """run to resume"""


def test_a_fresh_run_is_named_experiment_name_seed_time_and_holds_its_config(tmp_path):
    run_dir = open_run(_Cfg(), root=tmp_path, experiment="letters_sgd", name="a", seed=3)
    assert run_dir.name.startswith("letters_sgd__a__3__")
    assert json.loads((run_dir / "config.json").read_text()) == {"lr": 0.1, "resume": None}


def test_resuming_with_other_settings_names_the_setting(tmp_path):
    run_dir = open_run(_Cfg(), root=tmp_path, experiment="x", name="a", seed=3)
    assert (
        open_run(
            _Cfg(resume=str(run_dir)),
            root=tmp_path,
            experiment="x",
            name="a",
            seed=3,
            resume=run_dir,
        )
        == run_dir
    )
    with pytest.raises(UserError, match=r"cannot resume, lr was 0.1 and is now 0.2"):
        open_run(_Cfg(lr=0.2), root=tmp_path, experiment="x", name="a", seed=3, resume=run_dir)


def test_a_run_directory_is_held_by_one_process_at_a_time(tmp_path) -> None:
    import os

    from core.run_dir import exclusive

    with exclusive(tmp_path / "run") as held:
        assert (held / ".lock").read_text() == str(os.getpid())
        busy = f"in use by another process \\(pid {os.getpid()}\\)"
        with pytest.raises(UserError, match=busy), exclusive(tmp_path / "run"):
            pass
    with exclusive(tmp_path / "run"):  # released on exit
        pass
