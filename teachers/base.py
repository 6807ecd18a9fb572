"""The teacher interface: privileged policies that read :class:`EngineState`, never pixels."""

from __future__ import annotations

import numpy as np

from core.errors import UserError
from envs.engine_state import EngineState
from envs.registry import ScenarioSpec

MODES = ("omniscient", "imitable")
"""``omniscient``: acts on every object, even out of sight. ``imitable``: acts only on objects
on screen (the labels buffer) plus its memory of what it has seen, so a pixel student can copy it.
Static map geometry (walls, and goals fixed by the map) counts as learnable in both modes."""


class Teacher:
    """A privileged policy for one scenario.

    Subclasses implement :meth:`action_scores`; :meth:`act` is its argmax (first index on ties).

    Args:
        spec: the scenario (its ``actions`` define the discrete action space).
        mode: one of :data:`MODES`.
    """

    def __init__(self, spec: ScenarioSpec, mode: str = "omniscient") -> None:
        if mode not in MODES:
            raise UserError(f"unknown teacher mode {mode!r}; known modes: {', '.join(MODES)}")
        self.spec = spec
        self.mode = mode
        self.action_names = spec.action_names
        self.num_actions = len(spec.actions)
        self._index = {name: i for i, name in enumerate(self.action_names)}

    @property
    def omniscient(self) -> bool:
        """Whether the teacher may use objects that are not on screen."""
        return self.mode == "omniscient"

    def action(self, name: str) -> int:
        """Index of the action named ``name`` (e.g. ``TURN_LEFT+ATTACK``), -1 if absent."""
        return self._index.get(name, -1)

    def reset(self) -> None:
        """Forgets per-episode memory; call at the start of every episode."""

    def action_scores(self, state: EngineState) -> np.ndarray:
        """One finite float per action, higher is better (graded, for soft labels)."""
        raise NotImplementedError

    def act(self, state: EngineState) -> int:
        """The best action: argmax of :meth:`action_scores`, the lowest index on ties."""
        return int(np.argmax(self.action_scores(state)))

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.spec.name!r}, mode={self.mode!r})"
