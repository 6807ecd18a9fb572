"""The beta schedules and the learning-rate decay."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from agents.schedules import BetaSchedule, decayed_learning_rate
from core.errors import UserError


def test_exponential_schedule_halves_from_one_like_dagger() -> None:
    schedule = BetaSchedule("exponential", start=1.0, decay=0.5)
    assert [schedule(k) for k in range(4)] == [1.0, 0.5, 0.25, 0.125]


def test_exponential_schedule_stops_at_its_floor() -> None:
    assert BetaSchedule("exponential", decay=0.1, end=0.05)(5) == 0.05


def test_linear_schedule_reaches_its_end_and_stays() -> None:
    schedule = BetaSchedule("linear", start=1.0, end=0.2, iterations=4)
    assert schedule(0) == 1.0
    assert schedule(2) == pytest.approx(0.6)
    assert schedule(4) == schedule(10) == pytest.approx(0.2)


def test_constant_schedule_never_changes() -> None:
    assert {BetaSchedule("constant", start=0.3)(k) for k in range(5)} == {0.3}


def test_bad_schedules_are_user_errors() -> None:
    with pytest.raises(UserError, match="constant, linear or exponential"):
        BetaSchedule("cosine")
    with pytest.raises(UserError, match=r"in \[0, 1\]"):
        BetaSchedule(start=1.5)


@pytest.mark.parametrize("kind", ["linear", "cosine"])
def test_a_decayed_learning_rate_falls_from_its_base_to_its_final_fraction(kind) -> None:
    rates = [decayed_learning_rate(1e-3, kind, 0.1, p) for p in np.linspace(0, 1, 11)]
    assert rates[0] == pytest.approx(1e-3) and rates[-1] == pytest.approx(1e-4)
    assert all(a > b for a, b in itertools.pairwise(rates))
    assert decayed_learning_rate(1e-3, kind, 0.1, 1.7) == pytest.approx(1e-4)  # past the budget


def test_linear_decay_is_halfway_at_half_the_budget_and_cosine_is_slower_early() -> None:
    assert decayed_learning_rate(1.0, "linear", 0.0, 0.5) == pytest.approx(0.5)
    assert decayed_learning_rate(1.0, "cosine", 0.0, 0.5) == pytest.approx(0.5)
    assert decayed_learning_rate(1.0, "cosine", 0.0, 0.2) > decayed_learning_rate(
        1.0, "linear", 0.0, 0.2
    )


def test_a_constant_learning_rate_ignores_progress() -> None:
    assert {decayed_learning_rate(3e-4, "constant", 0.1, p) for p in (0, 0.5, 1)} == {3e-4}


def test_an_unknown_decay_is_a_user_error_naming_the_flag() -> None:
    with pytest.raises(UserError, match="--learning-rate-decay must be constant, linear or cosine"):
        decayed_learning_rate(1e-3, "step", 0.1, 0.5)
