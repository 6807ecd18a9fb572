"""The mixing schedule ``beta_k``: the probability that the teacher acts in iteration ``k``."""

from __future__ import annotations

import dataclasses
from typing import Literal

from core.errors import UserError

ScheduleKind = Literal["constant", "linear", "exponential"]


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
