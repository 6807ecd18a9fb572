"""The take_cover diagnosis (``python -m benchmarks.dodging``): a policy against its dodger."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np

from agents.actors import RandomActor
from agents.evaluation import evaluate
from agents.student import StudentConfig, build_student
from agents.student_actor import StudentActor
from benchmarks.dodging import (
    BenchArgs,
    DodgerShadow,
    Visit,
    agreement_table,
    shadow_early_dodge,
    shadow_limits,
)
from envs.config import EnvConfig
from envs.registry import get_spec

NOOP, LEFT, RIGHT = 0, 1, 2


def _visit(margin: float, best: int, taken: int, stand: float = math.nan) -> Visit:
    return Visit(margin, best, taken, False, 300.0, stand)


def test_the_table_splits_states_by_the_teachers_margin_and_the_decisive_misses_by_kind() -> None:
    visits = [_visit(0.01, NOOP, NOOP)] * 6 + [
        _visit(0.2, LEFT, LEFT),
        _visit(0.2, LEFT, NOOP),
        _visit(0.8, RIGHT, LEFT),
        _visit(0.8, NOOP, RIGHT),
    ]
    lines = agreement_table(visits, decisive_margin=0.05).splitlines()
    assert "| 0 to 0.02 | 60.0% | 100.0% |" in lines
    assert "| 0.05 to 0.5 | 20.0% | 50.0% |" in lines
    assert "| 0.5 to inf | 20.0% | 0.0% |" in lines
    for kind in ("took the best action", "stood, the teacher strafed"):
        assert f"| {kind} | 25.0% | 0% | 300 |" in lines
    assert not any("P(stand)" in line or "outweighed" in line for line in lines)


def test_a_students_stand_probability_shows_whether_argmax_threw_a_plurality_away() -> None:
    visits = [
        _visit(0.3, LEFT, NOOP, stand=0.45),  # L + R = 0.55 outweighed standing
        _visit(0.3, RIGHT, NOOP, stand=0.7),
        _visit(0.3, RIGHT, NOOP, stand=0.6),
        _visit(0.3, LEFT, LEFT, stand=0.1),
    ]
    text = agreement_table(visits, decisive_margin=0.05)
    assert "| stood, the teacher strafed | 75.0% | 0% | 300 | 0.60 |" in text
    assert "| took the best action | 25.0% | 0% | 300 | 0.10 |" in text
    assert text.endswith("outweighed standing in 33% of the states.")


def test_the_shadow_records_every_state_a_random_policy_acts_in() -> None:
    spec = get_spec("take_cover")
    shadow = DodgerShadow(RandomActor(len(spec.actions), seed=0), num_envs=1)
    results = evaluate(spec, shadow, episodes=1, seed=0, num_envs=1, show_progress=False)
    assert len(shadow.visits) == results.lengths[0]
    assert all(v.margin >= 0 and v.best in (NOOP, LEFT, RIGHT) for v in shadow.visits)
    assert all(math.isnan(v.stand_probability) for v in shadow.visits)


def test_the_shadow_keeps_the_probabilities_a_student_chose_from() -> None:
    spec = get_spec("take_cover")
    config = EnvConfig()
    model = build_student(config.observation_shape, len(spec.actions), StudentConfig())
    student = StudentActor(model)
    shadow = DodgerShadow(student, num_envs=1)
    evaluate(spec, shadow, episodes=1, seed=1, num_envs=1, env_config=config, show_progress=False)
    stand = np.array([v.stand_probability for v in shadow.visits])
    assert len(stand) > 0 and np.all((stand > 0) & (stand < 1))
    assert stand[-1] == student.last_probabilities[0, NOOP]
    taken = np.array([v.taken for v in shadow.visits])
    assert np.all(taken[stand > 0.5] == NOOP)  # greedy: a majority is the argmax


def _run_dir(tmp_path: Path, **config) -> str:
    tmp_path.mkdir(parents=True, exist_ok=True)
    (tmp_path / "config.json").write_text(json.dumps({"scenario": "take_cover", **config}))
    return str(tmp_path)


def test_a_students_shadow_remembers_and_sees_as_the_teacher_it_was_trained_with(
    tmp_path: Path,
) -> None:
    run = _run_dir(
        tmp_path, teacher_mode="imitable", teacher_memory_tics=40, teacher_view_degrees=90.0
    )
    assert shadow_limits(BenchArgs(policy=run)) == (40, 90.0)
    flags = BenchArgs(policy=run, shadow_memory_tics=12, shadow_view_degrees=60.0)
    assert shadow_limits(flags) == (12, 60.0)


def test_the_shadow_keeps_the_dodgers_own_limits_for_the_teacher_and_omniscient_runs(
    tmp_path: Path,
) -> None:
    run = _run_dir(tmp_path, teacher_mode="omniscient", teacher_memory_tics=None)
    assert shadow_limits(BenchArgs(policy=run)) == (None, None)
    assert shadow_limits(BenchArgs(policy="teacher")) == (None, None)
    assert shadow_limits(BenchArgs(policy="teacher", shadow_view_degrees=90.0)) == (None, 90.0)


def test_a_students_shadow_dodges_early_as_the_teacher_it_was_trained_with(tmp_path: Path) -> None:
    early = _run_dir(tmp_path / "early", teacher_mode="imitable", early_dodge=True)
    assert shadow_early_dodge(BenchArgs(policy=early)) is True
    assert shadow_early_dodge(BenchArgs(policy=early, early_dodge=False)) is False
    before = _run_dir(tmp_path / "before", teacher_mode="imitable")  # a run from before the flag
    assert shadow_early_dodge(BenchArgs(policy=before)) is False
    assert shadow_early_dodge(BenchArgs(policy="teacher")) is False
    assert shadow_early_dodge(BenchArgs(policy="teacher", early_dodge=True)) is True
