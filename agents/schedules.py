"""Schedules of a run: the mixing ``beta_k`` (the probability that the teacher acts in iteration
``k``) and the learning rate over the frame budget."""

from __future__ import annotations

import dataclasses
import math
from typing import Literal

from core.errors import UserError

ScheduleKind = Literal["constant", "linear", "exponential"]
DecayKind = Literal["constant", "linear", "cosine"]


@dataclasses.dataclass(frozen=True)
class BetaSchedule:
    """``beta_k`` for iteration ``k = 0, 1, ...`` (DAgger: exponential with ``beta_0 = 1``)."""

    kind: ScheduleKind = "exponential"
    """``constant`` (always ``start``), ``linear`` (``start`` to ``end`` over ``iterations``) or
    ``exponential`` (``start * decay**k``, never below ``end``)"""
    start: float = 1.0
    """beta of iteration 0 (1: the first rollouts are the teacher's alone)"""
    end: float = 0.0
    """the final (linear) or smallest (exponential) beta"""
    decay: float = 0.5
    """per-iteration factor of the exponential schedule"""
    iterations: int = 10
    """iterations of the linear schedule to go from ``start`` to ``end``"""

    def __post_init__(self) -> None:
        if self.kind not in ("constant", "linear", "exponential"):
            raise UserError(
                f"beta schedule must be constant, linear or exponential, not {self.kind!r}"
            )
        for name in ("start", "end", "decay"):
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise UserError(f"beta {name} must be in [0, 1], got {getattr(self, name)}")
        if self.iterations < 1:
            raise UserError("beta iterations must be at least 1")

    def __call__(self, iteration: int) -> float:
        """The teacher's acting probability in ``iteration`` (0-based)."""
        if self.kind == "constant":
            return self.start
        if self.kind == "linear":
            fraction = min(iteration / self.iterations, 1.0)
            return self.start + (self.end - self.start) * fraction
        return max(self.start * self.decay**iteration, self.end)


def decayed_learning_rate(base: float, kind: DecayKind, final: float, progress: float) -> float:
    """The learning rate after ``progress`` (0..1) of the frame budget.

    Args:
        base: the learning rate at the start.
        kind: ``constant`` (always ``base``), ``linear`` or ``cosine`` (from ``base`` at 0 to
            ``final * base`` at 1, then flat).
        final: the fraction of ``base`` reached at the end of the budget.
        progress: frames collected so far over the budget; clipped to ``[0, 1]``.
    """
    x = min(max(progress, 0.0), 1.0)
    if kind == "constant":
        return base
    if kind == "linear":
        weight = 1.0 - x
    elif kind == "cosine":
        weight = 0.5 * (1.0 + math.cos(math.pi * x))
    else:
        raise UserError(f"--learning-rate-decay must be constant, linear or cosine, not {kind!r}")
    return base * (final + (1.0 - final) * weight)
