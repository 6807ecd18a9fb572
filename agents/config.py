"""The configuration of a teacher-student run: :class:`GPSConfig`, its validation
(:func:`resolve_config`) and what follows from it (the dataset's columns, the teacher's
options, whether the run evaluates the symmetric policy)."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any, Literal

from agents.schedules import BetaSchedule, DecayKind, decayed_learning_rate
from agents.student import SIZE_FIELDS, StudentConfig
from agents.student_actor import symmetric_mirror
from core.errors import UserError
from envs.config import EnvConfig
from envs.doom_env import check_field_of_view, screen_resolution
from teachers.base import check_frame_skip

Mode = Literal["gps", "dagger", "bc"]
InitialState = Literal["zeros", "stored"]
SnapshotCombine = Literal["logits", "weights"]


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
    """seeds the network, the mixing, the batch order and the training episodes"""
    episode_seed: int | None = None
    """seeds the training episodes instead of ``seed`` (``None``: ``seed``), so runs can keep
    their episodes and redraw the rest, or the reverse"""
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
    initial_state: InitialState = "zeros"
    """recurrent student: where a training window's hidden state starts. ``zeros``: every
    window starts from zeros, as an episode does, and its burn-in warms the state up. ``stored``
    (R2D2's stored state): the dataset keeps the hidden state the acting student started each
    step from (column ``hidden``), and a window starts from the one of its first step, stale by
    the training since but from the distribution the student acts in; a mirrored window starts
    from zeros (its stored state saw the unmirrored frames)"""
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
    policy_loss: Literal["cross_entropy", "score_regression"] = "cross_entropy"
    """what the policy head learns: the cross-entropy to the labels ``q``, or a regression of
    its logits on the teacher's scores divided by ``tau`` (centred over the actions; a Huber
    loss, :func:`agents.learner.score_regression_loss`): the student learns how much worse
    each action is, not only which is best (dagger and bc; gps tilts labels it would not
    use)"""
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
    early_dodge: bool = False
    """take_cover's dodger: standing is scored as standing for the whole horizon, so it strafes
    as soon as a fireball would hit it (off: at the last step that gets it clear)"""
    teacher_memory_tics: int | None = None
    """the imitable dodger's and gatherer's memory of what they saw on screen, in tics (None:
    the teacher's own, 105 on take_cover and 140 on the health scenarios)"""
    teacher_view_degrees: float | None = None
    """take_cover's imitable dodger sees only the fireballs within this horizontal view
    (degrees), so a student can see wider (``env.field_of_view``) than its teacher remembers
    from (None: the whole screen)"""
    teacher_hurt_turn_tics: int = 0
    """the imitable shooter: for this many tics after the player is hurt, it turns toward an
    enemy biting from out of view (0: off; it acts only on what the screen shows)"""
    action_noise: float = 0.0
    """probability that a training rollout step's action, the teacher's or the student's, is
    replaced by a uniformly random one (DART-style disturbances; 0: none)"""
    hold_fire: int = 0
    """in half the training rollouts' episodes, drawn at their start, no shot is fired for the
    first this many steps (an action pressing ATTACK is taken without it), so the data holds
    enemies at close range, labelled by the teacher (0: off; scenarios with an ATTACK action)"""
    student_sampling: bool = False
    """in training rollouts the student samples from its policy instead of taking the argmax"""
    symmetric_evaluation: bool = False
    """evaluate, choose on validation and export the left-right symmetric policy
    (:func:`agents.student.policy_logits`) while the plain one acts in the training rollouts;
    ``doomgps eval`` of the run acts with it too. Feed-forward students of scenarios whose
    actions have mirror images only (``StudentConfig.symmetric_policy`` makes both symmetric)"""
    logit_adjustment: float = 0.0
    """tau of post-hoc logit adjustment: the policy evaluated, chosen on validation and exported
    (and ``doomgps eval`` of the run) acts by ``argmax log pi(a|s) - tau log prior(a)``, the
    prior being how often each action is best in the labels it trained on
    (:func:`agents.labels.logit_adjustment`); the training rollouts act with the plain policy
    unless ``rollout_policy`` is ``evaluated``. 0: off"""
    rollout_policy: Literal["plain", "evaluated"] = "plain"
    """how the student acts in the training rollouts: ``plain`` (its own argmax, or sample) or
    ``evaluated``, as the policy that is evaluated, chosen and exported acts
    (``symmetric_evaluation``'s mirror and ``logit_adjustment``'s offset, the offset from the
    labels of the last round trained), so that the teacher labels the states that policy
    visits"""
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
    snapshot_ensemble: int = 0
    """> 1: the run's result (summary, SavedModel, ``doomgps eval``) is a snapshot ensemble, the
    mean of the logits of the acting weights after each of the last this many rounds (kept in
    ``snapshots/``), each with the logit adjustment of the labels it trained on; it is scored
    once at the end, on the evaluation and validation seeds, and replaces the iterate chosen on
    validation. Feed-forward students only. 0: off"""
    snapshot_combine: SnapshotCombine = "logits"
    """how a snapshot ensemble acts: ``"logits"``, the mean of its members' logits (K times the
    inference); ``"weights"``, one network holding the mean of their weights (stochastic weight
    averaging over the last rounds: one network's inference)"""
    shard_size: int = 2048
    """rows per dataset shard"""
    log_every: int = 50
    """write train/ scalars every this many optimizer steps"""
    env: EnvConfig = dataclasses.field(default_factory=EnvConfig)
    """observation options (the student is trained and evaluated on these)"""
    student: StudentConfig = dataclasses.field(default_factory=StudentConfig)
    """network sizes"""


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
    "hidden",
)
"""Dataset columns: uint8 obs, the actions taken before it (``(N, k)``, ``-1``: none; ``k`` is
the student's ``previous_actions``; the column exists only when ``k > 0``, so runs of students
without an action history keep the shard layout they always had), q, teacher scores, the acting
student's pi, aux targets, global episode id, iteration, whether the teacher took the action,
and the hidden state a recurrent student started the step from (``(N, units)`` float16; only
with ``initial_state="stored"``)."""


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


def dataset_fields(config: GPSConfig) -> tuple[str, ...]:
    """The columns a run's dataset holds (:data:`FIELDS`, less the action history and the hidden
    states where unused, so older runs keep their shard layout)."""
    unused = set() if config.student.previous_actions else {"previous_actions"}
    unused |= set() if stores_hidden(config) else {"hidden"}
    return tuple(f for f in FIELDS if f not in unused)


def stores_hidden(config: GPSConfig) -> bool:
    """Whether the run's dataset keeps the acting student's hidden states (a recurrent student
    whose training windows start from them, ``initial_state="stored"``)."""
    return config.student.recurrent_units > 0 and config.initial_state == "stored"


def teacher_options(config: GPSConfig) -> dict[str, Any]:
    """Keyword options of the run's teacher beyond its mode (see :func:`teachers.options`)."""
    import teachers

    return teachers.options(
        turning_shots=config.turning_shots,
        centre_band=config.centre_band,
        memory_tics=config.teacher_memory_tics,
        hurt_turn_tics=config.teacher_hurt_turn_tics,
        view_degrees=config.teacher_view_degrees,
        early_dodge=config.early_dodge,
    )


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
    for name in ("seed", "episode_seed"):
        if (getattr(config, name) or 0) < 0:
            raise UserError(f"--{name.replace('_', '-')} must be >= 0")
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
    if not 0 <= config.logit_adjustment <= 10:
        raise UserError(
            f"--logit-adjustment must be in [0, 10] (0: off), got {config.logit_adjustment}"
        )
    if evaluates_symmetric(config):
        from envs.registry import get_spec

        # an impossible one fails here, before the run starts
        symmetric_mirror(get_spec(config.scenario), True, config.student.recurrent_units > 0)
    screen_resolution(config.env.render_resolution)  # an unknown one fails before the run
    check_field_of_view(config.env.field_of_view)
    if config.env.frame_stack_dilation < 1:
        raise UserError("--frame-stack-dilation must be at least 1 (1: consecutive frames)")
    check_frame_skip(config.env.frame_skip)
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
    if config.policy_loss not in ("cross_entropy", "score_regression"):
        raise UserError(
            f"--policy-loss must be cross_entropy or score_regression, not {config.policy_loss!r}"
        )
    if config.policy_loss == "score_regression" and config.mode == "gps":
        raise UserError(
            "--policy-loss score_regression fits the teacher's scores, not gps's tilted labels: "
            "use --mode dagger or bc"
        )
    # an unknown decay fails here, before the run starts
    decayed_learning_rate(
        config.learning_rate, config.learning_rate_decay, config.final_learning_rate_fraction, 0.0
    )
    if config.learning_rate <= 0 or not 0.0 < config.final_learning_rate_fraction <= 1.0:
        raise UserError(
            "--learning-rate must be positive and --final-learning-rate-fraction in (0, 1]"
        )
    if not 0.0 <= config.action_noise < 1.0:
        raise UserError("--action-noise must be in [0, 1) (0: no random actions)")
    if config.hold_fire < 0:
        raise UserError("--hold-fire must be >= 0 steps (0: off)")
    if config.hold_fire:
        from envs.registry import get_spec

        if not any("ATTACK" in action for action in get_spec(config.scenario).actions):
            raise UserError(f"--hold-fire: {config.scenario} has no action that fires")
    if not 0.0 <= config.average_decay < 1.0:
        raise UserError("--average-decay must be in [0, 1) (0: no weight averaging)")
    if config.student.recurrent_units < 0:
        raise UserError("--recurrent-units must be >= 0 (0: no recurrent core)")
    for name in SIZE_FIELDS:
        if getattr(config.student, name) < 1:
            flag = "--" + name.replace("_", "-")
            raise UserError(f"{flag} must be at least 1, got {getattr(config.student, name)}")
    if config.student.ensemble_size < 1:
        raise UserError("--ensemble-size must be at least 1")
    if config.student.ensemble_size > 1 and config.student.recurrent_units:
        raise UserError("--ensemble-size above 1 needs a feed-forward student, not a GRU")
    if config.snapshot_ensemble < 0 or config.snapshot_ensemble == 1:
        raise UserError("--snapshot-ensemble must be 0 (off) or at least 2 rounds")
    if config.snapshot_ensemble and config.student.recurrent_units:
        raise UserError("--snapshot-ensemble needs a feed-forward student, not a GRU")
    if config.snapshot_ensemble and config.student.ensemble_size > 1:
        raise UserError("--snapshot-ensemble and --ensemble-size above 1 do not combine")
    if config.snapshot_combine not in ("logits", "weights"):
        raise UserError(
            f"--snapshot-combine must be logits or weights, got {config.snapshot_combine!r}"
        )
    if config.snapshot_combine == "weights" and not config.snapshot_ensemble:
        raise UserError(
            "--snapshot-combine weights needs a snapshot ensemble (--snapshot-ensemble K)"
        )
    if config.sequence_length < 1 or not 0 <= config.burn_in < config.sequence_length:
        raise UserError(
            "--sequence-length must be at least 1 and --burn-in in [0, sequence length)"
        )
    if config.initial_state not in ("zeros", "stored"):
        raise UserError(f"--initial-state must be zeros or stored, not {config.initial_state!r}")
    if config.initial_state == "stored" and not config.student.recurrent_units:
        raise UserError("--initial-state stored needs a recurrent student (--recurrent-units N)")
    if teacher_options(config):
        import teachers

        teachers.make(config.scenario, config.teacher_mode, **teacher_options(config))
    if config.mode == "bc":
        config = dataclasses.replace(config, beta=BetaSchedule(kind="constant", start=1.0))
    return config
