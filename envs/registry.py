"""The scenario registry: the one place a scenario is described.

Adding a scenario is one :class:`ScenarioSpec` in :data:`SCENARIOS`. Users may also pass the path of
their own ``.cfg`` (its ``.wad`` is named inside it); :func:`get_spec` builds a spec for it.
"""

from __future__ import annotations

import dataclasses
import os
import re
from pathlib import Path

from core.errors import UserError

Action = tuple[str, ...]
"""One discrete action: the names of the buttons held together (empty: do nothing)."""


@dataclasses.dataclass(frozen=True)
class ScenarioSpec:
    """Everything the project needs to know about one scenario."""

    name: str
    """Short name used on the command line, e.g. ``defend_the_center``."""
    env_id: str
    """Registered gymnasium id, e.g. ``doomgps/DefendTheCenter-v0``."""
    cfg: str
    """Path of the ViZDoom ``.cfg`` (relative names resolve inside the vizdoom package)."""
    actions: tuple[Action, ...]
    """The meaningful discrete actions, each a button combination; empty: one per cfg button."""
    timeout_tics: int | None
    """Episode timeout in tics; ``None`` keeps the cfg's. Every registered scenario has one."""
    score: str
    """What the return means, in one line."""
    solved_return: float | None
    """A mean return that counts as solving the scenario (``None``: no agreed value)."""
    doom_skill: int | None = None
    """Overrides the cfg's skill level when set."""
    extra_buttons: tuple[str, ...] = ()
    """Buttons added to the cfg's own (both teacher and student then use them)."""

    @property
    def cfg_path(self) -> Path:
        """Absolute path of the ``.cfg`` file."""
        path = Path(self.cfg)
        if not path.is_absolute() and not path.exists():
            import vizdoom

            path = Path(vizdoom.scenarios_path) / path
        return path.resolve()

    @property
    def wad_path(self) -> Path | None:
        """Absolute path of the scenario ``.wad`` named in the cfg (``None`` if it names none)."""
        text = _read_cfg(self.cfg_path)
        match = re.search(r"^\s*doom_scenario_path\s*=\s*(\S+)", text, re.MULTILINE)
        if not match:
            return None
        return (self.cfg_path.parent / match.group(1)).resolve()

    @property
    def action_names(self) -> tuple[str, ...]:
        """Readable action names (``TURN_LEFT+ATTACK``; ``NOOP`` for the empty combination)."""
        return tuple("+".join(action) or "NOOP" for action in self.actions)


TURN_L, TURN_R, ATTACK = "TURN_LEFT", "TURN_RIGHT", "ATTACK"
MOVE_L, MOVE_R, FWD, BACK = "MOVE_LEFT", "MOVE_RIGHT", "MOVE_FORWARD", "MOVE_BACKWARD"
NOOP: Action = ()
NO_TIMEOUT_CAP = 10_500
"""Tics given to scenarios whose cfg has no timeout (defend_the_line, take_cover): 5 minutes."""

_SHOOTER_ACTIONS = (NOOP, (TURN_L,), (TURN_R,), (ATTACK,), (TURN_L, ATTACK), (TURN_R, ATTACK))
_GATHER_ACTIONS = ((FWD,), (FWD, TURN_L), (FWD, TURN_R), (TURN_L,), (TURN_R,))

SCENARIOS: dict[str, ScenarioSpec] = {
    spec.name: spec
    for spec in (
        ScenarioSpec(
            name="basic",
            env_id="doomgps/Basic-v0",
            cfg="basic.cfg",
            actions=(NOOP, (MOVE_L,), (MOVE_R,), (ATTACK,)),
            timeout_tics=300,
            score="+101 for killing the monster, -5 per missed shot, -1 per tic",
            solved_return=80.0,
        ),
        ScenarioSpec(
            name="defend_the_center",
            env_id="doomgps/DefendTheCenter-v0",
            cfg="defend_the_center.cfg",
            actions=_SHOOTER_ACTIONS,
            timeout_tics=2100,
            score="+1 per kill (26 bullets), -1 for dying",
            solved_return=24.0,
        ),
        ScenarioSpec(
            name="defend_the_line",
            env_id="doomgps/DefendTheLine-v0",
            cfg="defend_the_line.cfg",
            actions=_SHOOTER_ACTIONS,
            timeout_tics=NO_TIMEOUT_CAP,
            score="+1 per kill, -1 for dying (no cfg timeout: capped at 10,500 tics)",
            solved_return=26.0,
        ),
        ScenarioSpec(
            name="health_gathering",
            env_id="doomgps/HealthGathering-v0",
            cfg="health_gathering.cfg",
            actions=_GATHER_ACTIONS,
            timeout_tics=2100,
            score="+1 per tic alive, -100 for dying (acid floor; medikits heal)",
            solved_return=2000.0,
        ),
        ScenarioSpec(
            name="health_gathering_supreme",
            env_id="doomgps/HealthGatheringSupreme-v0",
            cfg="health_gathering_supreme.cfg",
            actions=_GATHER_ACTIONS,
            timeout_tics=2100,
            score="+1 per tic alive, -100 for dying (maze, medikits and poison vials)",
            solved_return=1800.0,
        ),
        ScenarioSpec(
            name="take_cover",
            env_id="doomgps/TakeCover-v0",
            cfg="take_cover.cfg",
            actions=(NOOP, (MOVE_L,), (MOVE_R,)),
            timeout_tics=NO_TIMEOUT_CAP,
            score="+1 per tic alive dodging fireballs (no cfg timeout: capped at 10,500 tics)",
            solved_return=8000.0,
        ),
        ScenarioSpec(
            name="deadly_corridor",
            env_id="doomgps/DeadlyCorridor-v0",
            cfg="deadly_corridor.cfg",
            actions=(
                (FWD,),
                (BACK,),
                (MOVE_L,),
                (MOVE_R,),
                (TURN_L,),
                (TURN_R,),
                (ATTACK,),
                (FWD, ATTACK),
                (FWD, TURN_L),
                (FWD, TURN_R),
            ),
            timeout_tics=2100,
            score="progress toward the vest (+dx), +1000 on reaching it, -100 for dying (skill 5)",
            solved_return=1000.0,
            doom_skill=5,
        ),
        ScenarioSpec(
            name="my_way_home",
            env_id="doomgps/MyWayHome-v0",
            cfg="my_way_home.cfg",
            actions=(
                (FWD,),
                (FWD, TURN_L),
                (FWD, TURN_R),
                (TURN_L,),
                (TURN_R,),
                (MOVE_L,),
                (MOVE_R,),
            ),
            timeout_tics=2100,
            score="+1 on reaching the vest in a maze, -0.0001 per tic",
            solved_return=0.9,
        ),
    )
}


def _read_cfg(path: Path) -> str:
    try:
        return path.read_text(errors="replace")
    except FileNotFoundError:
        raise UserError(f"scenario config not found: {path}") from None
    except OSError as error:
        raise UserError(f"cannot read scenario config {path}: {error.strerror}") from None


def _cfg_buttons(text: str) -> tuple[str, ...]:
    match = re.search(r"available_buttons\s*=\s*\{([^}]*)\}", text)
    return tuple(match.group(1).split()) if match else ()


def spec_from_cfg(path: str | os.PathLike[str]) -> ScenarioSpec:
    """Builds a spec for a user's own ``.cfg``: one action per button, the cfg's own timeout.

    Raises:
        UserError: the cfg, or the wad it names, is missing or unreadable.
    """
    cfg = Path(path).expanduser().resolve()
    text = _read_cfg(cfg)
    spec = ScenarioSpec(
        name=cfg.stem,
        env_id=f"doomgps/{cfg.stem}",
        cfg=str(cfg),
        actions=tuple((button,) for button in _cfg_buttons(text)),
        timeout_tics=None,
        score="as defined by the scenario's cfg/wad",
        solved_return=None,
    )
    wad = spec.wad_path
    if wad is not None:
        if not wad.is_file():
            raise UserError(f"scenario wad not found: {wad} (named in {cfg})")
        if not os.access(wad, os.R_OK):
            raise UserError(f"cannot read scenario wad: {wad}")
    if not spec.actions:
        raise UserError(f"{cfg}: no available_buttons listed, so there are no actions")
    return spec


def get_spec(scenario: str | ScenarioSpec) -> ScenarioSpec:
    """Looks up a registered scenario by name or gymnasium id, or loads a user ``.cfg`` path.

    Raises:
        UserError: unknown name (the message lists the known ones) or unreadable cfg/wad.
    """
    if isinstance(scenario, ScenarioSpec):
        return scenario
    if scenario in SCENARIOS:
        return SCENARIOS[scenario]
    for spec in SCENARIOS.values():
        if scenario == spec.env_id:
            return spec
    if scenario.endswith(".cfg"):
        return spec_from_cfg(scenario)
    known = ", ".join(SCENARIOS)
    raise UserError(
        f"unknown scenario {scenario!r}; known scenarios: {known} (or a path to a .cfg)"
    )
