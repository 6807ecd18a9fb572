"""The learner benchmark (``python -m benchmarks.learner``) runs end to end on small settings
and reports rates that are consistent with one another; every benchmark module imports."""

from __future__ import annotations

import importlib
import pkgutil

import pytest

import benchmarks

HELPER_MODULES = {"shadowing"}  # imported by other benchmarks, not run on their own


@pytest.mark.parametrize("name", [m.name for m in pkgutil.iter_modules(benchmarks.__path__)])
def test_every_benchmark_imports_and_has_an_entry_point(name: str) -> None:
    module = importlib.import_module(f"benchmarks.{name}")
    assert callable(getattr(module, "main", None)) != (name in HELPER_MODULES)


def test_the_learner_benchmark_measures_both_ratios_on_small_settings() -> None:
    from benchmarks.learner import BenchArgs, _measure

    args = BenchArgs(
        scenario="basic", samples=256, batch_size=32, steps=8, num_envs=(1, 2), episodes=4, rounds=1
    )
    report = _measure(args, "float32")
    for key in ("learner_samples_per_sec", "fit_samples_per_sec", "learner_xla_samples_per_sec"):
        assert report[key] > 0, key
    assert report["learner_vs_fit"] == pytest.approx(
        report["learner_samples_per_sec"] / report["fit_samples_per_sec"], rel=0.01
    )
    assert report["batch_size"] == 32
    assert [r["num_envs"] for r in report["rollouts"]] == [1, 2]
    for rollout in report["rollouts"]:
        assert rollout["env_steps_per_sec"] > 0 and rollout["inference_ms_per_batch"] > 0
        assert rollout["rollout_vs_env"] == pytest.approx(
            rollout["student_rollout_steps_per_sec"] / rollout["env_steps_per_sec"], rel=0.01
        )
        # the student's network costs time: its rollout cannot outrun random actions by much
        assert 0.0 < rollout["rollout_vs_env"] < 1.5
