"""The teacher-student alternation: guided policy search, DAgger and behaviour cloning in one loop.

Each iteration ``k``:

1. **Roll out** whole episodes in the vector env with a :class:`MixingActor`: per env and per step
   the teacher acts with probability ``beta_k``, the student otherwise (one batched network call).
2. **Label** every visited state: the teacher's action scores become soft labels
   ``q ∝ exp(scores/tau)^(1/(1+eta)) * pi^(eta/(1+eta))`` (see :mod:`agents.labels`); the rows
   (uint8 observations, labels, scores, auxiliary targets, episode ids) are appended to the
   on-disk :class:`~agents.dataset.ShardedDataset`.
3. **Dual step** on ``eta`` toward the KL target (mode ``gps`` only).
4. **Train** the student on the aggregated dataset for ``steps_per_iteration`` optimizer steps with
   the core's :class:`~core.trainer.Learner`, which checkpoints at the end of the phase.
5. **Evaluate** the student alone every ``eval_every`` iterations with
   :func:`agents.evaluation.evaluate` on the same fixed seeds the teacher and the random
   policy were scored on.

Modes: ``gps`` (beta schedule, adaptive ``eta``), ``dagger`` (beta schedule, ``eta = 0``) and
``bc`` (``beta = 1``, ``eta = 0``: the student never acts, so its data does not depend on it and the
loop is offline behaviour cloning with the same number of optimizer steps).

Frames are engine frames (agent steps x frame skip) of the training rollouts; evaluation episodes
are not counted. The run stops once the budget is spent (the last rollout is cut there).

Resuming: ``state.json`` (written atomically) records the phase reached. Collection writes the
iteration's shards, then the state ("collected"); training ends with a checkpoint, then the state
("trained"). Shards of an iteration whose state was never written are set aside (renamed
``orphan-*``, reported) and the iteration is collected again.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Literal, NamedTuple

import numpy as np

from agents.actors import RandomActor, TeacherActor
from agents.dataset import ShardedDataset, atomic_write_bytes
from agents.evaluation import evaluate, summary
from agents.labels import (
    choice_weights,
    gps_labels,
    kl_divergence,
    teacher_labels,
    update_eta,
)
from agents.rollout import Transition, run_episodes
from agents.schedules import BetaSchedule, DecayKind, decayed_learning_rate
from agents.student import StudentConfig, aux_targets
from agents.student_actor import StudentActor, symmetric_mirror
from core.checkpoint import Checkpointer
from core.errors import UserError
from envs.config import EnvConfig
from envs.doom_env import check_field_of_view, screen_resolution
from envs.engine_state import EngineState

Mode = Literal["gps", "dagger", "bc"]


@dataclasses.dataclass(frozen=True)
class GPSConfig:
    """Everything one training run needs; saved as the run's ``config.json``."""

    scenario: str = "defend_the_center"
    """registered scenario name"""
    mode: Mode = "gps"
    """``gps`` (adaptive eta), ``dagger`` (eta = 0) or ``bc`` (teacher-only rollouts)"""
    frames: int = 30_000
    """budget of engine frames (agent steps x frame skip) for the training rollouts"""
    seed: int = 0
    """seeds the network, the mixing and the training episodes"""
    num_envs: int = 4
    """engines stepped in parallel"""
    episodes_per_iteration: int = 4
    """whole episodes rolled out per iteration"""
    steps_per_iteration: int = 300
    """optimizer steps on the aggregated dataset per iteration"""
    batch_size: int = 64
    """samples (frames) per optimizer step; a recurrent student takes ``batch_size //
    sequence_length`` sequences per step, so a step runs about as many frames through the
    network as a feed-forward one"""
    sequence_length: int = 16
    """recurrent student: steps per training sequence, burn-in included (a window of one
    episode; see :func:`agents.dataset.episode_windows`)"""
    burn_in: int = 8
    """recurrent student: first steps of a sequence that only warm up the hidden state (not in
    the loss), except in an episode's first window, which starts from the true zero state"""
    learning_rate: float = 1e-3
    """Adam learning rate (at the start, with a decay)"""
    learning_rate_decay: DecayKind = "constant"
    """``constant``, or ``linear`` / ``cosine`` decay over the frame budget to
    ``final_learning_rate_fraction`` of ``learning_rate``: each iteration trains at the rate its
    collected frames have reached (see :func:`agents.schedules.decayed_learning_rate`)"""
    final_learning_rate_fraction: float = 0.1
    """the decay's end: this fraction of ``learning_rate`` once the budget is collected"""
    average_decay: float = 0.0
    """Polyak averaging of the student's weights: the moving average's decay per optimizer step
    (0: off). The averaged student acts in the rollouts, is evaluated and is exported; the raw
    one keeps training (see :mod:`core.averaging`)"""
    aux_weight: float = 0.5
    """weight of the auxiliary engine-state losses"""
    tau: float = 1.0
    """temperature of the teacher's Boltzmann label ``softmax(scores / tau)``"""
    label: Literal["softmax", "argmax"] = "softmax"
    """the teacher's label: ``softmax(scores / tau)`` or its best action(s) with ``1 -
    label_smoothing`` of the mass (no near-ties; see :func:`agents.labels.argmax_distribution`)"""
    label_smoothing: float = 0.05
    """argmax labels: mass spread evenly over all actions"""
    label_weighting: Literal["uniform", "spread"] = "uniform"
    """how each state's policy loss is weighted: all alike, or by how much the teacher's choice
    matters there, the spread of its scores plus ``weight_floor``
    (:func:`agents.labels.choice_weights`)"""
    weight_floor: float = 0.02
    """``spread`` weighting: added to every state's spread, so calm states still count"""
    mirror: bool = False
    """train on left-right mirrored copies too (image flipped, TURN/MOVE left and right swapped)"""
    mirror_unseen: bool = True
    """with ``mirror``: also mirror samples with no enemy on screen (off: a teacher's fixed scan
    direction stays one direction in the data)"""
    random_shift: int = 0
    """train on images moved by a random offset of up to this many pixels along height and width
    (:func:`agents.learner.random_shift`; a recurrent student's sequence moves as one; 0: off)"""
    kl_target: float = 0.3
    """gps: the mean KL(q || pi) per state (nats) that the dual variable eta aims for"""
    eta_init: float = 0.0
    """gps: eta of the first iteration"""
    eta_learning_rate: float = 1.0
    """gps: dual step size (per unit of relative KL error)"""
    beta: BetaSchedule = dataclasses.field(default_factory=BetaSchedule)
    """probability that the teacher acts, per iteration (bc: always 1)"""
    teacher_mode: str = "omniscient"
    """the teacher's mode: ``omniscient`` or ``imitable``"""
    turning_shots: bool = True
    """shooting teachers (defend_the_center, defend_the_line): may fire while turning; off, they
    fire only standing, which a pixel student copies more reliably"""
    centre_band: float = 0.0
    """take_cover's dodger: when calm and farther than this (map units) from the middle of the
    room, it strafes back toward the middle (0: off; only near-ties between strafes lean there)"""
    student_sampling: bool = False
    """in training rollouts the student samples from its policy instead of taking the argmax"""
    symmetric_evaluation: bool = False
    """evaluate, choose on validation and export the left-right symmetric policy
    (:func:`agents.student.policy_logits`) while the plain one acts in the training rollouts;
    ``doomgps eval`` of the run acts with it too. Feed-forward students of scenarios whose
    actions have mirror images only (``StudentConfig.symmetric_policy`` makes both symmetric)"""
    eval_every: int = 2
    """evaluate the student alone every this many iterations (and at the end)"""
    eval_episodes: int = 20
    """evaluation episodes (the teacher and random are scored on the same ones)"""
    eval_seed: int = 0
    """seed of the first evaluation episode (episode k: eval_seed + k)"""
    validation_episodes: int = 0
    """> 0: at every evaluation the student also plays this many episodes on separate
    validation seeds, and the run's result (summary, SavedModel, ``doomgps eval``) is the
    evaluated iterate that scored best there, kept in ``best/``; the choice never sees the
    evaluation seeds the result is reported on. 0: the result is the last iterate"""
    validation_seed: int = 100_000
    """seed of the first validation episode (far from the evaluation and training seeds)"""
    shard_size: int = 2048
    """rows per dataset shard"""
    log_every: int = 50
    """write train/ scalars every this many optimizer steps"""
    env: EnvConfig = dataclasses.field(default_factory=EnvConfig)
    """observation options (the student is trained and evaluated on these)"""
    student: StudentConfig = dataclasses.field(default_factory=StudentConfig)
    """network sizes"""


IMITATION_RECIPE: dict[str, Any] = {
    "mode": "dagger",
    "label": "argmax",
    "mirror": True,
    "teacher_mode": "imitable",
    "previous_actions": 4,
    "eval_every": 4,
    "validation_episodes": 20,
}
"""What measured best on defend_the_center (``docs/agents.md``): DAgger on the imitable teacher's
best actions, mirrored samples, the student's last 4 actions as an input; the result is the
iterate that scored best on 20 validation episodes."""

WIDE_INPUT: dict[str, Any] = {"width": 160, "pooling": "height_max"}
"""160x60 frames and the conv map's maximum over each column: small distant enemies."""

PRESETS: dict[str, dict[str, Any]] = {
    "basic": {"frames": 2_000, "episodes_per_iteration": 8, "steps_per_iteration": 150},
    "defend_the_center": {
        **IMITATION_RECIPE,
        **WIDE_INPUT,
        "turning_shots": False,
        "symmetric_evaluation": True,
        "frame_stack_dilation": 2,
        "frames": 30_000,
        "episodes_per_iteration": 2,
        "steps_per_iteration": 400,
    },
    "defend_the_line": {
        **IMITATION_RECIPE,
        **WIDE_INPUT,
        "turning_shots": False,
        "symmetric_evaluation": True,
        "frames": 300_000,
        "episodes_per_iteration": 8,
        "steps_per_iteration": 600,
    },
    "health_gathering": {
        **IMITATION_RECIPE,
        "frames": 300_000,
        "episodes_per_iteration": 8,
        "steps_per_iteration": 600,
    },
    "health_gathering_supreme": {
        **IMITATION_RECIPE,
        "mirror": False,
        "recurrent_units": 128,
        "goal_sectors": 9,
        "random_shift": 4,
        "frames": 300_000,
        "episodes_per_iteration": 8,
        "steps_per_iteration": 600,
    },
    "take_cover": {
        **IMITATION_RECIPE,
        **WIDE_INPUT,
        "eval_every": 2,
        "frames": 300_000,
        "episodes_per_iteration": 4,
        "steps_per_iteration": 600,
    },
    "deadly_corridor": {
        **IMITATION_RECIPE,
        "random_shift": 4,
        "frames": 1_000_000,
        "episodes_per_iteration": 16,
        "steps_per_iteration": 400,
    },
    "my_way_home": {
        "mode": "bc",
        "teacher_mode": "imitable",
        "recurrent_units": 128,
        "validation_episodes": 20,
        "frames": 40_000,
        "episodes_per_iteration": 16,
        "steps_per_iteration": 250,
    },
}
"""Per-scenario budgets and iteration sizes (the issue's frame targets). defend_the_line and
health_gathering use defend_the_center's recipe (measured there too); defend_the_line's teacher
also fires only standing (30.10 kills against the turning teacher's 29.55, and its student 89.5%
against 81% at 300k frames). Both turret scenarios evaluate, choose and export the symmetric
policy (defend_the_center: 93% of its teacher on seeds 0-2 against 87% for the same runs'
plain policy, 90% over six seeds; defend_the_line: 91% at 120k frames, 3 seeds).
defend_the_center's student also sees the frames of steps t, t-1, t-3 and t-7 instead of the
last four (``frame_stack_dilation`` 2): 95.8% on seeds 0-2 and 94.2% over six seeds, against
93.3% and 90.3% with consecutive frames. my_way_home
uses what measured best there: offline cloning of the imitable teacher (the same teacher on
that map) by a GRU student, the result chosen on validation episodes, 40k of its 1M-frame
budget (DAgger's lost episodes run to the timeout and eat its frames). take_cover uses the
recipe with the wide input, 4 episodes a round (its teacher's episodes last ~9,500 tics) and an
evaluation every 2 rounds: 11% of its teacher at 100k frames, 14% at 218k (the iterate best on
validation; one seed, not on course for 90%). health_gathering_supreme and deadly_corridor use
the recipe with the iteration sizes measured there (deadly_corridor, whose episodes last ~85 steps:
16 episodes a round) and images shifted by up to 4 pixels (deadly_corridor: 94.6% chosen on
validation and 102.3% for the last iterates at 260k over 3 seeds, against 67.4% and 70.2%
without the shifts). Supreme's student is a GRU with the goal-sector head and no mirrored samples
(its maze is not symmetric), trained on images shifted by up to 4 pixels: 89.5% of its teacher at
its 300k frames over 3 seeds, against 76.1% without the shifts (84.4% at 120k, a high point of a
noisy curve), 59% for the GRU alone at 60k and 71% for the feed-forward student at 300k (one seed).
basic keeps the defaults (gps on the omniscient teacher's soft labels), which meet its target."""

FIELDS = (
    "observation",
    "previous_actions",
    "label",
    "scores",
    "policy",
    "aux",
    "episode",
    "iteration",
    "teacher",
)
"""Dataset columns: uint8 obs, the actions taken before it (``(N, k)``, ``-1``: none; ``k`` is
the student's ``previous_actions``; the column exists only when ``k > 0``, so runs of students
without an action history keep the shard layout they always had), q, teacher scores, the acting
student's pi, aux targets, global episode id, iteration, whether the teacher took the action."""


def evaluates_symmetric(config: GPSConfig | Mapping[str, Any]) -> bool:
    """Whether a run evaluates, chooses and exports the left-right symmetric policy (a
    :class:`GPSConfig` or its saved ``config.json``; older runs lack ``symmetric_evaluation``)."""
    if isinstance(config, GPSConfig):
        return config.student.symmetric_policy or config.symmetric_evaluation
    student = config.get("student", {})
    return bool(student.get("symmetric_policy", False) or config.get("symmetric_evaluation", False))


def sequences_per_batch(config: GPSConfig) -> int:
    """Sequences per optimizer step of a recurrent student (``batch_size`` frames, at least 1)."""
    return max(1, config.batch_size // config.sequence_length)


def training_columns(config: GPSConfig, arrays: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
    """What the learner trains on, from the aggregated dataset's ``arrays``: the observations,
    action histories, labels and auxiliary targets; the episode ids for a recurrent student
    (its windows are cut at episode ends); with ``spread`` label weighting, each row's weight
    (:func:`agents.labels.choice_weights` of the teacher's scores)."""
    columns = ("observation", "previous_actions", "label", "aux")
    columns += ("episode",) if config.student.recurrent_units > 0 else ()
    train = {name: arrays[name] for name in columns if name in arrays}
    if config.label_weighting == "spread":
        train["weight"] = choice_weights(arrays["scores"], config.weight_floor)
    return train


def dataset_fields(config: GPSConfig) -> tuple[str, ...]:
    """The columns a run's dataset holds (:data:`FIELDS`, less the action history if unused)."""
    if config.student.previous_actions:
        return FIELDS
    return tuple(f for f in FIELDS if f != "previous_actions")


TRAIN_SEED_BASE = 1_000_000
"""Training episodes use seeds from ``TRAIN_SEED_BASE * (seed + 1)``, far from evaluation seeds."""


class MixedStep(NamedTuple):
    """What :class:`MixingActor` saw and did in one step, per env (for the dataset writer)."""

    scores: np.ndarray
    """the teacher's action scores, ``(N, A)``"""
    probabilities: np.ndarray
    """the student's pi, ``(N, A)``"""
    teacher_acted: np.ndarray
    """bool ``(N,)``: whether the teacher's action was taken"""
    history: np.ndarray
    """the previous actions the student saw, ``(N, k)``"""
    goals: list[tuple[float, float] | None]
    """each teacher's :attr:`~teachers.base.Teacher.goal`"""


class MixingActor:
    """Per env and per step, the teacher acts with probability ``beta``, the student otherwise.

    The teacher scores every state (its labels are needed anyway, and its per-episode memory must
    see every state); the teacher's action is the argmax of those scores, exactly as
    :meth:`teachers.base.Teacher.act`, so scores are computed once per step. The student runs once
    per step on the whole batch. Both are told the actions taken: the student's previous-action
    input, and the teacher's memory of what was pressed (its pistol cooldown), so the labels of
    the next states describe the game the student is really in. Because the student runs every
    step, a recurrent student's hidden state follows the real trajectory even where the teacher
    acted.
    :attr:`last` keeps the step's :class:`MixedStep` for the dataset writer.
    """

    needs_engine_state = True

    def __init__(
        self, teacher: TeacherActor, student: StudentActor, beta: float, rng: np.random.Generator
    ) -> None:
        self.teacher, self.student, self.beta, self.rng = teacher, student, beta, rng
        self.last: MixedStep | None = None

    def reset(self, env_index: int) -> None:
        self.teacher.reset(env_index)
        self.student.reset(env_index)

    def act(
        self, observations: np.ndarray, states: Sequence[EngineState | None] | None
    ) -> np.ndarray:
        scores = self.teacher.action_scores(states).astype(np.float32)
        history = self.student.history(len(observations))
        probs = self.student.probabilities(observations)
        use_teacher = self.rng.random(len(observations)) < self.beta
        actions = np.where(use_teacher, np.argmax(scores, axis=-1), self.student.choose(probs))
        self.teacher.taken(actions)
        self.student.record(actions)
        self.last = MixedStep(scores, probs, use_teacher, history, self.teacher.goals())
        return actions


class _Collector:
    """The ``on_step`` callback: keeps the rows of active envs; stops at the frame budget."""

    class BudgetReachedError(Exception):
        """The frame budget is spent (raised out of the episode loop)."""

    def __init__(
        self,
        actor: MixingActor,
        frame_skip: int,
        frames_left: int,
        episode_offset: int,
        enemy_columns: int,
        fields: tuple[str, ...] = FIELDS,
        goal_sectors: int = 0,
    ) -> None:
        self.actor, self.frame_skip, self.frames_left = actor, frame_skip, frames_left
        self.episode_offset, self.enemy_columns = episode_offset, enemy_columns
        self.goal_sectors = goal_sectors
        self.rows: dict[str, list[np.ndarray]] = {
            k: [] for k in fields if k not in ("label", "iteration")
        }
        self.frames = 0
        self.returns: dict[int, float] = {}

    def __call__(self, t: Transition) -> None:
        step = self.actor.last
        keep = t.active
        states = [s for s, k in zip(t.states, keep, strict=True) if k]
        goals = [g for g, k in zip(step.goals, keep, strict=True) if k]
        self.rows["observation"].append(t.observations[keep])
        if "previous_actions" in self.rows:
            self.rows["previous_actions"].append(step.history[keep])
        self.rows["scores"].append(step.scores[keep])
        self.rows["policy"].append(step.probabilities[keep])
        self.rows["aux"].append(aux_targets(states, self.enemy_columns, goals, self.goal_sectors))
        self.rows["episode"].append(t.episode[keep].astype(np.int64) + self.episode_offset)
        self.rows["teacher"].append(step.teacher_acted[keep])
        for episode, reward in zip(t.episode[keep], t.rewards[keep], strict=True):
            self.returns[int(episode)] = self.returns.get(int(episode), 0.0) + float(reward)
        self.frames += int(keep.sum()) * self.frame_skip
        if self.frames >= self.frames_left:
            raise self.BudgetReachedError

    def arrays(self) -> dict[str, np.ndarray]:
        return {k: np.concatenate(v) for k, v in self.rows.items()}


def teacher_options(config: GPSConfig) -> dict[str, Any]:
    """Keyword options of the run's teacher beyond its mode (see :func:`teachers.options`)."""
    import teachers

    return teachers.options(turning_shots=config.turning_shots, centre_band=config.centre_band)


def resolve_config(config: GPSConfig) -> GPSConfig:
    """Validates a config (one-line :class:`UserError` on mistakes) and fixes the bc schedule."""
    if config.mode not in ("gps", "dagger", "bc"):
        raise UserError(f"--mode must be gps, dagger or bc, not {config.mode!r}")
    if config.teacher_mode not in ("omniscient", "imitable"):
        raise UserError(
            f"--teacher-mode must be omniscient or imitable, not {config.teacher_mode!r}"
        )
    for name in (
        "frames",
        "num_envs",
        "episodes_per_iteration",
        "steps_per_iteration",
        "batch_size",
        "eval_episodes",
        "eval_every",
    ):
        if getattr(config, name) < 1:
            raise UserError(f"--{name.replace('_', '-')} must be at least 1")
    if config.validation_episodes < 0:
        raise UserError("--validation-episodes must be >= 0 (0: the result is the last iterate)")
    validation = range(config.validation_seed, config.validation_seed + config.validation_episodes)
    evaluation = range(config.eval_seed, config.eval_seed + config.eval_episodes)
    if validation and max(validation.start, evaluation.start) < min(
        validation.stop, evaluation.stop
    ):
        raise UserError(
            f"--validation-seed: seeds {validation.start}..{validation.stop - 1} overlap the "
            f"evaluation seeds {evaluation.start}..{evaluation.stop - 1}"
        )
    if config.tau <= 0 or config.kl_target <= 0:
        raise UserError("--tau and --kl-target must be positive")
    if evaluates_symmetric(config):
        from envs.registry import get_spec

        # an impossible one fails here, before the run starts
        symmetric_mirror(get_spec(config.scenario), True, config.student.recurrent_units > 0)
    screen_resolution(config.env.render_resolution)  # an unknown one fails before the run
    check_field_of_view(config.env.field_of_view)
    if config.env.frame_stack_dilation < 1:
        raise UserError("--frame-stack-dilation must be at least 1 (1: consecutive frames)")
    largest_shift = min(config.env.height, config.env.width) // 2 - 1
    if not 0 <= config.random_shift <= largest_shift:
        raise UserError(
            f"--random-shift must be from 0 (off) to {largest_shift} pixels, "
            f"got {config.random_shift}"
        )
    if not config.mirror_unseen and config.student.recurrent_units > 0:
        raise UserError("--mirror-unseen False needs a feed-forward student (it flips samples)")
    if not 2 <= config.student.enemy_columns <= 127:  # the dataset stores it as int8
        raise UserError("--enemy-columns must be from 2 to 127")
    if config.student.goal_sectors and not 2 <= config.student.goal_sectors <= 127:
        raise UserError("--goal-sectors must be 0 (no goal head) or from 2 to 127")
    if config.label not in ("softmax", "argmax"):
        raise UserError(f"--label must be softmax or argmax, not {config.label!r}")
    if not 0.0 <= config.label_smoothing < 1.0:
        raise UserError("--label-smoothing must be in [0, 1)")
    if config.label_weighting not in ("uniform", "spread"):
        raise UserError(
            f"--label-weighting must be uniform or spread, not {config.label_weighting!r}"
        )
    if config.weight_floor <= 0:
        raise UserError("--weight-floor must be positive")
    # an unknown decay fails here, before the run starts
    decayed_learning_rate(
        config.learning_rate, config.learning_rate_decay, config.final_learning_rate_fraction, 0.0
    )
    if config.learning_rate <= 0 or not 0.0 < config.final_learning_rate_fraction <= 1.0:
        raise UserError(
            "--learning-rate must be positive and --final-learning-rate-fraction in (0, 1]"
        )
    if not 0.0 <= config.average_decay < 1.0:
        raise UserError("--average-decay must be in [0, 1) (0: no weight averaging)")
    if config.student.recurrent_units < 0:
        raise UserError("--recurrent-units must be >= 0 (0: no recurrent core)")
    if config.student.ensemble_size < 1:
        raise UserError("--ensemble-size must be at least 1")
    if config.student.ensemble_size > 1 and config.student.recurrent_units:
        raise UserError("--ensemble-size above 1 needs a feed-forward student, not a GRU")
    if config.sequence_length < 1 or not 0 <= config.burn_in < config.sequence_length:
        raise UserError(
            "--sequence-length must be at least 1 and --burn-in in [0, sequence length)"
        )
    if teacher_options(config):
        import teachers

        teachers.make(config.scenario, config.teacher_mode, **teacher_options(config))
    if config.mode == "bc":
        config = dataclasses.replace(config, beta=BetaSchedule(kind="constant", start=1.0))
    return config


def _write_json(path: Path, data: dict[str, Any]) -> None:
    atomic_write_bytes(path, (json.dumps(data, indent=1, sort_keys=True) + "\n").encode())


class _FrameStrip:
    """Wraps an actor and keeps every 4th observation of env 0's first episode (newest frame)."""

    def __init__(self, actor: StudentActor, count: int = 8) -> None:
        self.actor, self.count, self.frames, self._step = actor, count, [], 0
        self.needs_engine_state = actor.needs_engine_state

    def reset(self, env_index: int) -> None:
        if env_index == 0 and self._step:
            self.count = len(self.frames)  # env 0's first episode is over
        self.actor.reset(env_index)

    def act(self, observations: np.ndarray, states: Any = None) -> np.ndarray:
        if len(self.frames) < self.count and self._step % 4 == 0:
            self.frames.append(observations[0, :, :, -1])
        self._step += 1
        return self.actor.act(observations, states)

    def image(self) -> np.ndarray | None:
        return np.concatenate(self.frames, axis=1) if self.frames else None


def run_gps(config: GPSConfig, run_dir: str | Path, *, verbose: bool = True) -> dict[str, Any]:
    """Runs (or resumes) the alternation in ``run_dir`` and returns the run's summary.

    The run directory holds ``config.json``, ``state.json``, ``dataset/``, ``checkpoints/``,
    ``tb/`` (TensorBoard), ``saved_model/`` and ``summary.json`` at the end. TensorBoard x-axes:
    ``train/*`` and ``perf/steps_per_sec``/``perf/samples_per_sec`` count optimizer steps; every
    other tag counts engine frames of the training rollouts.

    Raises:
        UserError: bad settings, a corrupt checkpoint, a scenario without a teacher, a run
            directory another process is using.
        KeyboardInterrupt: Ctrl-C; the run directory stays resumable.
    """
    from core.run_dir import exclusive

    with exclusive(run_dir):
        return _run_gps(config, Path(run_dir), verbose)


def _run_gps(config: GPSConfig, run_dir: Path, verbose: bool) -> dict[str, Any]:
    """The body of :func:`run_gps`, with the run directory held."""
    import keras

    from agents.learner import (
        SwappableStream,
        gps_sequence_step,
        gps_step,
        mirror_permutation,
    )
    from agents.student import build_student
    from core.averaging import WeightAverage
    from core.logger import Logger
    from core.precision import set_precision, wrap_optimizer
    from core.seeding import seed_everything
    from core.trainer import Learner, TrainerConfig, build_optimizer
    from envs.registry import get_spec
    from envs.vector import open_vector_env

    config = resolve_config(config)
    spec = get_spec(config.scenario)
    state_path = run_dir / "state.json"
    state: dict[str, Any] = (
        json.loads(state_path.read_text())
        if state_path.exists()
        else {
            "iteration": 0,
            "trained": True,
            "frames": 0,
            "episodes": 0,
            "shards": 0,
            "eta": config.eta_init,
            "wall_seconds": 0.0,
            "history": [],
        }
    )
    seed_everything(config.seed)
    set_precision(config.student.precision)
    env_config = dataclasses.replace(config.env, engine_state=True, engine_state_in_info=True)
    model = build_student(env_config.observation_shape, len(spec.actions), config.student)
    optimizer = wrap_optimizer(
        keras.optimizers.Adam(config.learning_rate), config.student.precision
    )
    build_optimizer(optimizer, model)
    trackables: dict[str, Any] = {"model": model, "optimizer": optimizer}
    average = None
    if config.average_decay:
        twin = build_student(env_config.observation_shape, len(spec.actions), config.student)
        average = WeightAverage(model, twin, config.average_decay)
        trackables.update(average=twin, average_updates=average.updates)
    acting = model if average is None else average.average
    logger = Logger(run_dir / "tb")
    if state["iteration"] == 0:
        logger.config(config)
    recurrent = config.student.recurrent_units > 0
    # a recurrent student trains on windows of episodes: batch_size frames as B sequences of T
    stream = SwappableStream(config.sequence_length if recurrent else 0, config.burn_in)
    batch = sequences_per_batch(config) if recurrent else config.batch_size
    frames_per_step = batch * (config.sequence_length if recurrent else 1)
    mirror = mirror_permutation(spec.action_names) if config.mirror else None
    if config.mirror and mirror is None:
        raise UserError(f"--mirror: {spec.name}'s actions have no left-right mirror images")
    make_step = gps_sequence_step if recurrent else gps_step
    learner = Learner(
        make_step(
            model,
            optimizer,
            config.aux_weight,
            mirror,
            config.student.enemy_columns,
            average,
            config.mirror_unseen,
            config.random_shift,
        ),
        stream,
        config=TrainerConfig(
            steps=10**9, log_every=config.log_every, eval_every=0, checkpoint_every=0
        ),
        trackables=trackables,
        logger=logger,
        checkpoint_dir=run_dir / "checkpoints",
        batch_size=frames_per_step,
        show_progress=False,
    )
    learner.restore()
    # the weights that act, at each evaluation that scored best on the validation seeds
    best = Checkpointer(run_dir / "best", max_to_keep=2, model=acting)
    dataset = ShardedDataset(run_dir / "dataset", config.shard_size, fields=dataset_fields(config))
    orphans = dataset.set_aside(state["shards"]) if "shards" in state else []
    if orphans:
        print(
            f"dataset: {len(orphans)} shard(s) of an interrupted iteration set aside as "
            f"{orphans[0].parent}/orphan-*.npz (that iteration is collected again)",
            flush=True,
        )
    symmetric = symmetric_mirror(spec, config.student.symmetric_policy, recurrent)
    student = StudentActor(
        acting, greedy=not config.student_sampling, seed=config.seed, mirror=symmetric
    )
    evaluated = symmetric_mirror(spec, evaluates_symmetric(config), recurrent)
    evaluator = (  # the policy evaluated, chosen and exported
        student
        if evaluated == symmetric
        else StudentActor(
            acting, greedy=not config.student_sampling, seed=config.seed, mirror=evaluated
        )
    )
    teacher = TeacherActor(
        spec.name, config.num_envs, mode=config.teacher_mode, **teacher_options(config)
    )
    started = time.perf_counter() - state["wall_seconds"]

    def say(text: str) -> None:
        if verbose:
            print(text, flush=True)

    def save_state() -> None:
        state["wall_seconds"] = time.perf_counter() - started
        _write_json(state_path, state)

    def score(actor: Any, name: str) -> dict[str, Any]:
        return summary(_play(config, actor, vec, config.eval_seed), policy=name)

    try:
        with open_vector_env(spec, config.num_envs, env_config) as vec:
            if "teacher_eval" not in state:
                state["teacher_eval"] = score(teacher, "teacher")
                state["random_eval"] = score(RandomActor(len(spec.actions), config.seed), "random")
                logger.write(
                    {
                        "teacher/return": state["teacher_eval"]["mean_return"],
                        "teacher/random_return": state["random_eval"]["mean_return"],
                    },
                    0,
                )
                save_state()
                say(
                    f"{spec.name}: teacher {state['teacher_eval']['mean_return']:.2f}, random "
                    f"{state['random_eval']['mean_return']:.2f} on eval seeds {config.eval_seed}.."
                    f"{config.eval_seed + config.eval_episodes - 1}"
                )
            while True:
                if state["trained"]:
                    if state["frames"] >= config.frames:
                        break
                    _collect(
                        config,
                        state,
                        state["iteration"],
                        vec,
                        teacher,
                        student,
                        dataset,
                        logger,
                        say,
                    )
                    save_state()
                k = state["iteration"] - 1
                train = training_columns(config, dataset.load())
                stream.use(train, batch, seed=config.seed * 100_003 + k)
                rate = decayed_learning_rate(
                    config.learning_rate,
                    config.learning_rate_decay,
                    config.final_learning_rate_fraction,
                    state["frames"] / config.frames,
                )
                optimizer.learning_rate = rate
                logger.write({"train/learning_rate": rate}, learner.steps)
                learner.run(until=(k + 1) * config.steps_per_iteration)
                state["trained"] = True
                logger.write(
                    {
                        "data/samples": len(train["label"]),
                        "data/corrupt_shards": len(dataset.corrupt),
                    },
                    state["frames"],
                )
                last = state["frames"] >= config.frames
                if (k + 1) % config.eval_every == 0 or last:
                    _evaluate_student(config, state, evaluator, vec, logger, say, best)
                save_state()
            final = state["history"][-1] if state["history"] else None
            if final is None or final["frames"] != state["frames"]:
                _evaluate_student(config, state, evaluator, vec, logger, say, best)
                save_state()
    finally:
        logger.close()
    selected = state.get("best")
    if selected is not None:
        best.restore(str(run_dir / selected["checkpoint"]))
        say(
            f"result: the iterate at {selected['frames']:,} frames (validation "
            f"{selected['validation']:.2f}, the best of {len(state['history'])}): student "
            f"{selected['eval']['mean_return']:.2f} on the evaluation seeds; last iterate "
            f"{state['history'][-1]['eval']['mean_return']:.2f}"
        )
    export_saved_model(acting, run_dir / "saved_model", evaluated)
    result = {
        "scenario": spec.name,
        "mode": config.mode,
        "seed": config.seed,
        "teacher_mode": config.teacher_mode,
        "frames": state["frames"],
        "episodes": state["episodes"],
        "iterations": state["iteration"],
        "optimizer_steps": learner.steps,
        "wall_seconds": round(state["wall_seconds"], 1),
        "student": (selected or state["history"][-1])["eval"],
        "last": state["history"][-1]["eval"],
        "selected": None
        if selected is None
        else {k: selected[k] for k in ("frames", "iteration", "validation")},
        "teacher": state["teacher_eval"],
        "random": state["random_eval"],
        "curve": [(h["frames"], h["eval"]["mean_return"]) for h in state["history"]],
        "corrupt_shards": len(dataset.corrupt),
        "run_dir": str(run_dir),
    }
    _write_json(run_dir / "summary.json", result)
    return result


def _collect(
    config: GPSConfig,
    state: dict[str, Any],
    k: int,
    vec: Any,
    teacher: TeacherActor,
    student: StudentActor,
    dataset: ShardedDataset,
    logger: Any,
    say: Any,
) -> None:
    """Phase 1-3 of iteration ``k``: mixed rollouts, labels, dataset append, dual step."""
    beta = config.beta(k)
    rng = np.random.default_rng([config.seed, k])
    actor = MixingActor(teacher, student, beta, rng)
    collector = _Collector(
        actor,
        config.env.frame_skip,
        config.frames - state["frames"],
        state["episodes"],
        config.student.enemy_columns,
        dataset_fields(config),
        config.student.goal_sectors,
    )
    calls_before, seconds_before = student.calls, student.seconds
    started = time.perf_counter()
    seed = TRAIN_SEED_BASE * (config.seed + 1) + state["episodes"]
    with contextlib.suppress(_Collector.BudgetReachedError):
        run_episodes(
            vec, actor, config.episodes_per_iteration, seed, on_step=collector, show_progress=False
        )
    elapsed = time.perf_counter() - started
    rows = collector.arrays()
    eta = state["eta"] if config.mode == "gps" else 0.0
    labels = gps_labels(
        rows["scores"], rows["policy"], config.tau, eta, config.label, config.label_smoothing
    )
    kl = float(kl_divergence(labels, rows["policy"]).mean())
    kl_teacher = float(
        kl_divergence(
            teacher_labels(rows["scores"], config.tau, config.label, config.label_smoothing),
            rows["policy"],
        ).mean()
    )
    n = len(labels)
    dataset.append({**rows, "label": labels, "iteration": np.full(n, k, np.int32)})
    dataset.flush()
    state["shards"] = len(dataset.shards())
    state["iteration"] = k + 1
    state["trained"] = False
    state["frames"] += collector.frames
    state["episodes"] += len(collector.returns)
    if config.mode == "gps":
        state["eta"] = update_eta(eta, kl, config.kl_target, config.eta_learning_rate)
    steps = collector.frames // config.env.frame_skip
    calls = max(student.calls - calls_before, 1)
    rollout_return = float(np.mean(list(collector.returns.values()))) if collector.returns else 0.0
    logger.write(
        {
            "teacher/beta": beta,
            "teacher/eta": eta,
            "teacher/kl": kl,
            "teacher/kl_teacher_label": kl_teacher,
            "teacher/teacher_action_fraction": float(rows["teacher"].mean()),
            "teacher/rollout_return": rollout_return,
            "data/frames": state["frames"],
            "data/episodes": state["episodes"],
            "data/shards": len(dataset.shards()),
            "perf/env_steps_per_sec": steps / max(elapsed, 1e-9),
            "perf/inference_ms": 1000.0 * (student.seconds - seconds_before) / calls,
        },
        state["frames"],
    )
    say(
        f"iter {k:3d}  frames {state['frames']:>8,}/{config.frames:,}  beta {beta:.2f}  "
        f"eta {eta:.2f}  kl {kl:.3f}  rollout return {rollout_return:.1f}  rows {n}"
    )


def _play(config: GPSConfig, actor: Any, vec: Any, seed: int, episodes: int | None = None) -> Any:
    """:func:`agents.evaluation.evaluate` on the run's vector env: ``episodes`` (default: the
    evaluation's) seeded episodes from ``seed``."""
    episodes = config.eval_episodes if episodes is None else episodes
    return evaluate(
        config.scenario, actor, episodes=episodes, seed=seed, env=vec, show_progress=False
    )


def _evaluate_student(
    config: GPSConfig,
    state: dict[str, Any],
    student: StudentActor,
    vec: Any,
    logger: Any,
    say: Any,
    best: Checkpointer,
) -> None:
    """Scores the student alone on the fixed evaluation seeds; logs eval/ and a frame strip.

    With validation episodes it also plays the validation seeds, and when it scores at least as
    well there as every earlier evaluation, its weights are saved in ``best`` (a
    :class:`~core.checkpoint.Checkpointer` numbered by frames) and ``state["best"]`` names them.
    """
    strip = _FrameStrip(student)
    report = summary(_play(config, strip, vec, config.eval_seed), policy="student")
    teacher = state["teacher_eval"]["mean_return"]
    ratio = report["mean_return"] / teacher if teacher > 0 else float("nan")
    entry = {"frames": state["frames"], "iteration": state["iteration"], "eval": report}
    scalars = {
        "eval/return": report["mean_return"],
        "eval/return_std": report["std_return"],
        "eval/length": report["mean_length"],
        "eval/return_vs_teacher": ratio,
    }
    chosen = ""
    if config.validation_episodes:
        played = _play(config, student, vec, config.validation_seed, config.validation_episodes)
        validation = played.returns.mean()
        entry["validation"] = scalars["eval/validation_return"] = float(validation)
        if "best" not in state or validation >= state["best"]["validation"]:
            prefix = Path(best.save(state["frames"]))
            state["best"] = {**entry, "checkpoint": f"{prefix.parent.name}/{prefix.name}"}
            chosen = "  (best on validation)"
        chosen = f"  validation {validation:.2f}{chosen}"
    state["history"].append(entry)
    logger.write(scalars, state["frames"])
    image = strip.image()
    if image is not None:
        logger.image("eval/frames", image, state["frames"])
    say(
        f"eval  frames {state['frames']:>8,}  student {report['mean_return']:.2f} "
        f"± {report['std_return']:.2f}  ({ratio:.0%} of the teacher's {teacher:.2f}){chosen}"
    )


def export_saved_model(model: Any, path: str | Path, mirror: Sequence[int] | None = None) -> Path:
    """Exports ``serve(observation uint8 (B,H,W,C)) -> {probabilities, action}`` as a SavedModel.

    With ``mirror`` (a feed-forward student's action permutation), the exported policy is the
    left-right symmetric one the run was evaluated with (:func:`agents.student.policy_logits`).

    A student with a previous-action input takes ``previous_actions`` int32 ``(B, k)`` too
    (the last ``k`` actions taken in each env, oldest first, ``-1`` before the first).

    A recurrent student steps one frame per env and call: it takes ``state`` float32 ``(B, N)``
    last (zeros at an episode's start) and returns the ``state`` to pass with the next frame as
    well: ``serve(observation, [previous_actions,] state) -> {probabilities, action, state}``.
    """
    import keras
    import tensorflow as tf

    from agents.student import (
        history_length,
        observation_shape,
        policy_logits,
        recurrent_units,
        student_inputs,
    )

    path = Path(path)
    k, units = history_length(model), recurrent_units(model)
    archive = keras.export.ExportArchive()
    archive.track(model)

    def serve(*args: tf.Tensor) -> dict[str, tf.Tensor]:
        observation = args[0]
        previous = args[1] if k else None
        if not units:
            logits, extra = policy_logits(model, observation, previous, mirror), {}
        else:  # one step: a sequence of one frame
            if previous is not None:
                previous = previous[:, None]
            inputs = student_inputs(model, observation[:, None], previous, args[-1])
            out = model(inputs, training=False)
            logits, extra = out["logits"][:, 0], {"state": out["state"]}
        probs = tf.nn.softmax(logits)
        action = tf.argmax(probs, axis=-1, output_type=tf.int32)
        return {"probabilities": probs, "action": action, **extra}

    signature = [tf.TensorSpec((None, *observation_shape(model)), tf.uint8, "observation")]
    if k:
        signature.append(tf.TensorSpec((None, k), tf.int32, "previous_actions"))
    if units:
        signature.append(tf.TensorSpec((None, units), tf.float32, "state"))
    archive.add_endpoint("serve", serve, input_signature=signature)
    archive.write_out(str(path), verbose=False)
    return path
