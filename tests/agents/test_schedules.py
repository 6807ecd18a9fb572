"""The beta schedules."""

from __future__ import annotations

import pytest

from agents.schedules import BetaSchedule
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
