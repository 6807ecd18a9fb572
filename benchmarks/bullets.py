"""Where a turret policy's kills go: bullets fired, kills, misses, and the ammo left at death.

Not a speed benchmark but a diagnosis, for the scenarios whose score is kills from a limited
magazine (defend_the_center: 26 bullets, +1 a kill, -1 at death, so a policy that kills with
every bullet and dies only when it has run dry scores 25). Per episode: the kills (its positive
rewards), the bullets fired (the ammo of its first state less that of its last), the misses
(bullets that killed nothing) and whether it ran dry or died with bullets left. Between a
student and its teacher, the extra misses and the ammo left at death split the lost kills. That
is a ledger, not a cause: what better aim would win is what ``--takeover misses`` measures.

    .venv/bin/python -m benchmarks.bullets --policies teacher RUN_DIR --episodes 20 --seed 0
    .venv/bin/python -m benchmarks.bullets --policies RUN_DIR --logit-adjustment 0   # plainly

The ammo is read from the engine state the actions were chosen on, so a bullet fired in an
episode's very last step is not counted (its kill, if any, is).

``--takeover`` asks what a student would score if it were perfect in part of the game: its
teacher (the imitable one, firing only standing) takes over there (:class:`TeacherTakeover`).
``misses``: wherever the student presses the trigger off target (a standing shot would miss
every enemy's whole hit box), the teacher's best action without firing replaces the press, as if
the student aimed perfectly. ``near``: wherever an enemy is within ``--near-radius`` map units,
the teacher acts. ``trigger``: where ``misses`` would replace a press, the student's own most
probable action that does not fire replaces it instead: a perfect trigger on the student's own
aim, what an on-target gate learned from the engine could at best do.

    .venv/bin/python -m benchmarks.bullets --policies RUN_DIR --takeover misses
    .venv/bin/python -m benchmarks.bullets --policies RUN_DIR --takeover trigger
    .venv/bin/python -m benchmarks.bullets --policies RUN_DIR --takeover near --near-radius 200
"""

from __future__ import annotations

import dataclasses
import math
from typing import Literal

import numpy as np
import tyro

from agents.rollout import Transition
from core.errors import UserError
from envs.engine_state import Category, EngineState


@dataclasses.dataclass(frozen=True)
class BenchArgs:
    """Count the bullets, kills and misses of turret policies on the same seeded episodes."""

    policies: tuple[str, ...] = ("teacher",)
    """Each a student's run directory or checkpoint, ``teacher`` or ``random``."""
    scenario: str = "defend_the_center"
    episodes: int = 20
    """Episodes on seeds ``seed``, ``seed + 1``, ..."""
    seed: int = 0
    """Seed of the first episode."""
    teacher_mode: str = "imitable"
    """The teacher's mode (``imitable``: the one the presets' students learn from)."""
    turning_shots: bool = False
    """Whether the teacher may fire while turning (the presets' teachers fire only standing)."""
    logit_adjustment: float | None = None
    """Students: the tau of the post-hoc logit adjustment they act with (``None``: each run's
    own, as ``doomgps eval``; 0: the plain policy)."""
    takeover: Literal["none", "misses", "trigger", "near"] = "none"
    """Students: where their teacher acts instead (:class:`TeacherTakeover`); ``none``: nowhere."""
    near_radius: float = 200.0
    """``--takeover near``: the teacher acts while an enemy is within this many map units."""


@dataclasses.dataclass
class EpisodeAmmo:
    """One episode's ledger."""

    start: float | None = None
    """ammo in the episode's first state"""
    last: float = 0.0
    """ammo in its last state"""
    kills: int = 0
    died: bool = False

    @property
    def bullets(self) -> float:
        return 0.0 if self.start is None else self.start - self.last

    @property
    def misses(self) -> float:
        return self.bullets - self.kills


class AmmoLedger:
    """An ``on_step`` callback of :func:`agents.rollout.run_episodes` that keeps an
    :class:`EpisodeAmmo` per requested episode (the env must put engine states in ``info``)."""

    def __init__(self, episodes: int) -> None:
        self.episodes = [EpisodeAmmo() for _ in range(episodes)]

    def __call__(self, t: Transition) -> None:
        for i in np.flatnonzero(t.active).tolist():
            row = self.episodes[int(t.episode[i])]
            state = None if t.states is None else t.states[i]
            if state is not None:
                ammo = float(state.player.ammo)
                if row.start is None:
                    row.start = ammo
                row.last = ammo
            row.kills += max(round(float(t.rewards[i])), 0)
            row.died |= bool(t.terminated[i])


class TeacherTakeover:
    """Plays a student while its teacher takes over part of the game.

    One teacher per env (``scenario``'s, in ``mode``, built with ``options``) scores every state
    and is told the action taken. Where ``takeover`` says so, the teacher's action replaces the
    student's; the student's previous-actions input gets the action taken.

    - ``misses``: the student's action presses the trigger while a standing shot would miss
      every enemy's whole hit box (:meth:`teachers.shooter.ShooterTeacher.standing_shot_hits`):
      the teacher's best action among those that do not fire. A student that presses only on
      target: it aims perfectly. (A press with the pistol busy fires too, as the cooldown ends
      within the step, so every off-target press is replaced, not only the ready ones; a press
      while turning is judged along the yaw the player has now, as the presets' standing
      teachers, who never turn and fire, would judge it.)
    - ``trigger``: where ``misses`` would take over, the student's own most probable action
      that does not fire instead (the teacher only judges the shot): a perfect trigger.
    - ``near``: an enemy is within ``near_radius`` map units: the teacher's best action.

    :attr:`takeovers` and :attr:`steps` count the replaced and all steps.

    Raises:
        UserError: ``student`` is not a student's actor, or ``takeover`` is unknown.
    """

    needs_engine_state = True

    def __init__(
        self,
        student,
        scenario: str,
        num_envs: int,
        takeover: str,
        near_radius: float = 200.0,
        mode: str = "imitable",
        **options,
    ) -> None:
        import teachers

        if not hasattr(student, "probabilities"):
            raise UserError("--takeover needs a student's run directory or checkpoint")
        if takeover not in ("misses", "trigger", "near"):
            raise UserError(f"--takeover must be none, misses, trigger or near, not {takeover!r}")
        self.student = student
        self.takeover = takeover
        self.near_radius = float(near_radius)
        self.teachers = [teachers.make(scenario, mode, **options) for _ in range(num_envs)]
        names = self.teachers[0].action_names
        self._fires = np.array(["ATTACK" in name for name in names])
        self.takeovers = 0
        self.steps = 0

    def reset(self, env_index: int) -> None:
        self.student.reset(env_index)
        self.teachers[env_index].reset()

    def act(self, observations, states):
        probabilities = self.student.probabilities(observations)
        actions = self.student.choose(probabilities)
        for env_index, state in enumerate(states):
            if state is None:
                continue
            teacher = self.teachers[env_index]
            scores = teacher.action_scores(state)
            replacement = self._replacement(
                teacher, state, scores, probabilities[env_index], int(actions[env_index])
            )
            self.steps += 1
            if replacement is not None:
                actions[env_index] = replacement
                self.takeovers += 1
            teacher.taken(int(actions[env_index]))
        self.student.record(actions)
        return actions

    def _replacement(
        self,
        teacher,
        state: EngineState,
        scores: np.ndarray,
        probabilities: np.ndarray,
        action: int,
    ) -> int | None:
        """The action that replaces the student's ``action`` in ``state``; ``None``: keep it."""
        if self.takeover == "near":
            return int(np.argmax(scores)) if _nearest_enemy(state) < self.near_radius else None
        if not self._fires[action] or teacher.standing_shot_hits(state, box_scale=1.0):
            return None
        preferences = probabilities if self.takeover == "trigger" else scores
        return int(np.argmax(np.where(self._fires, -np.inf, preferences)))


def _nearest_enemy(state: EngineState) -> float:
    """Distance in map units from the player to the nearest enemy listed (inf: none)."""
    objects = state.objects
    enemies = objects.category == Category.ENEMY
    if not enemies.any():
        return math.inf
    offsets = objects.position[enemies, :2] - np.asarray(state.player.position[:2])
    return float(np.hypot(offsets[:, 0], offsets[:, 1]).min())


def account(
    policy: str, args: BenchArgs, num_envs: int = 2
) -> tuple[float, list[EpisodeAmmo], float | None]:
    """Plays ``policy`` on the seeded episodes; returns its mean return, its ledgers and the
    share of its steps the takeover replaced (``None`` without ``args.takeover``)."""
    import teachers
    from agents.policies import load_policy
    from agents.rollout import run_episodes
    from envs.config import EnvConfig
    from envs.registry import get_spec
    from envs.vector import open_vector_env

    spec = get_spec(args.scenario)
    num_envs = max(1, min(num_envs, args.episodes))
    options = teachers.options(turning_shots=args.turning_shots)
    actor, env_config = load_policy(
        policy,
        spec,
        num_envs,
        teacher_mode=args.teacher_mode,
        logit_adjustment=args.logit_adjustment,
        **options,
    )
    config = dataclasses.replace(
        env_config or EnvConfig(), engine_state=True, engine_state_in_info=True
    )
    if args.takeover != "none":
        actor = TeacherTakeover(
            actor,
            args.scenario,
            num_envs,
            args.takeover,
            args.near_radius,
            mode=args.teacher_mode,
            **options,
        )
    ledger = AmmoLedger(args.episodes)
    with open_vector_env(spec, num_envs, config) as vec:
        results = run_episodes(
            vec, actor, args.episodes, args.seed, on_step=ledger, show_progress=False
        )
    share = actor.takeovers / max(actor.steps, 1) if args.takeover != "none" else None
    return results.mean_return, ledger.episodes, share


def table_row(
    policy: str, mean_return: float, episodes: list[EpisodeAmmo], takeover: float | None = None
) -> str:
    """One markdown row: per-episode means and the episodes that ran dry or died armed (and,
    given ``takeover``, the share of the steps replaced)."""
    n = len(episodes)
    armed = [e.last for e in episodes if e.died and e.last > 0]
    dry = sum(e.last == 0 for e in episodes)
    left = f" ({np.mean(armed):.1f} bullets left)" if armed else ""
    return (
        f"| {policy} | {mean_return:.2f} | {np.mean([e.kills for e in episodes]):.2f} | "
        f"{np.mean([e.bullets for e in episodes]):.2f} | "
        f"{np.mean([e.misses for e in episodes]):.2f} | {dry}/{n} | {len(armed)}/{n}{left} |"
        + ("" if takeover is None else f" {100 * takeover:.1f}% |")
    )


def main(args: BenchArgs) -> str:
    """Plays every policy on the same episodes and prints (and returns) the markdown table."""
    takeover = {
        "none": "",
        "misses": ", the teacher's aim replacing each press off target",
        "trigger": ", the student's own next choice replacing each press off target",
        "near": f", the teacher acting within {args.near_radius:g} units of an enemy",
    }[args.takeover]
    extra = ("", "") if args.takeover == "none" else (" steps replaced |", "---:|")
    lines = [
        f"{args.scenario}: {args.episodes} episodes on seeds {args.seed}.."
        f"{args.seed + args.episodes - 1}, per episode{takeover}",
        "",
        "| policy | return | kills | bullets | misses | ran dry | died with bullets |" + extra[0],
        "|---|---:|---:|---:|---:|---:|---:|" + extra[1],
    ]
    for policy in args.policies:
        lines.append(table_row(policy, *account(policy, args)))
    text = "\n".join(lines)
    print(text)
    return text


if __name__ == "__main__":
    main(tyro.cli(BenchArgs, prog="python -m benchmarks.bullets"))
