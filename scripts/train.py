"""``doomgps train``: train a pixel student from a privileged teacher (GPS, DAgger or BC).

A run lives in ``runs/{scenario}__{mode}__{seed}__{time}/`` (config, dataset, checkpoints,
TensorBoard logs under ``tb/``, a SavedModel and ``summary.json``). Ctrl-C leaves it resumable
with ``--resume RUN_DIR``. TensorBoard x-axes: ``train/`` counts optimizer steps; ``teacher/``,
``eval/``, ``data/`` and the rollout ``perf/`` tags count engine frames.
"""

from __future__ import annotations

import dataclasses
import sys
from pathlib import Path
from typing import Literal

import tyro

from agents.schedules import DecayKind


@dataclasses.dataclass(frozen=True)
class TrainArgs:
    """Train a pixel student on a scenario by guided policy search (or DAgger / BC)."""

    scenario: str = "defend_the_center"
    """Scenario name (see `doomgps scenarios`)."""
    mode: Literal["gps", "dagger", "bc"] | None = None
    """gps: adaptive labels (eta); dagger: eta = 0; bc: teacher-only rollouts. Default: the
    scenario's preset (dagger on defend_the_center, defend_the_line and health_gathering, bc
    on my_way_home, gps elsewhere)."""
    frames: int | None = None
    """Engine-frame budget (agent steps x frame skip); default: the scenario's preset. With
    --resume, a larger value extends the run."""
    seed: int = 0
    """Seed of the network, the mixing, the batch order and the training episodes."""
    episode_seed: int | None = None
    """Seed of the training episodes alone, instead of --seed (default: --seed): e.g. --seed 3
    --episode-seed 7 plays seed 7's episodes with seed 3's network and draws."""
    resume: Path | None = None
    """Continue the run in this directory (its saved config is used)."""
    runs: Path = Path("runs")
    """Folder that holds the run directories."""
    episodes_per_iteration: int | None = None
    """Whole episodes rolled out per iteration; default: the scenario's preset."""
    steps_per_iteration: int | None = None
    """Optimizer steps per iteration; default: the scenario's preset."""
    batch_size: int = 64
    """Samples per optimizer step (a recurrent student: frames, as --batch-size //
    --sequence-length sequences)."""
    learning_rate: float = 1e-3
    """Adam learning rate (at the start, with a decay)."""
    learning_rate_decay: DecayKind | None = None
    """Decay the learning rate over the frame budget (each iteration trains at the rate its
    collected frames reach) down to --final-learning-rate-fraction of it. Default: the
    scenario's preset (else constant)."""
    final_learning_rate_fraction: float = 0.1
    """End of the decay: this fraction of --learning-rate once the budget is collected."""
    average_decay: float | None = None
    """Polyak-average the student's weights with this decay per optimizer step (0: off); the
    average acts, is evaluated and exported. Default: the scenario's preset (else 0)."""
    num_envs: int = 4
    """Engines stepped in parallel."""
    tau: float = 1.0
    """Temperature of the teacher's soft labels softmax(scores / tau)."""
    label: Literal["softmax", "argmax"] | None = None
    """Teacher labels: softmax(scores / tau), or argmax (its best action, 1 - label_smoothing of
    the mass). Default: the scenario's preset (argmax on defend_the_center, softmax elsewhere)."""
    label_smoothing: float = 0.05
    """argmax labels: probability mass spread evenly over all actions."""
    label_weighting: Literal["uniform", "spread"] | None = None
    """Weigh each state's policy loss alike, or by how much the teacher's choice matters there
    (the spread of its action scores, plus --weight-floor; mean weight 1). Default: the
    scenario's preset (spread on take_cover), else uniform."""
    weight_floor: float = 0.02
    """spread weighting: added to every state's score spread, so calm states still count."""
    policy_loss: Literal["cross_entropy", "score_regression"] | None = None
    """What the policy learns: the cross-entropy to the teacher's labels, or a regression of its
    logits on the teacher's action scores / --tau (the student learns how much worse each
    action is; --mode dagger or bc). Default: the scenario's preset, else cross_entropy."""
    mirror: bool | None = None
    """Also train on left-right mirrored samples. Default: the preset (on for defend_the_center)."""
    mirror_unseen: bool | None = None
    """With --mirror: also mirror the samples with no enemy on screen (False: never those, so a
    teacher's fixed scan direction is not mirrored into its opposite). Default: the preset, else
    True."""
    random_shift: int | None = None
    """Train on images moved by a random offset of up to this many pixels (edges filled with
    the border; one offset per sequence of a recurrent student): a regulariser against
    fitting the rows seen, as DrQ's. Default: the scenario's preset (4 on
    health_gathering_supreme and deadly_corridor), else 0 (off)."""
    action_noise: float | None = None
    """Probability that a training rollout's step takes a uniformly random action instead of
    the teacher's or the student's (DART-style disturbances: the data then holds the states
    such slips lead to, labelled by the teacher; evaluations never take them; 0: none).
    Default: the scenario's preset, else 0."""
    hold_fire: int | None = None
    """In half the training rollouts' episodes no shot is fired for the first N steps (an
    action pressing ATTACK is taken without it): the data then holds enemies at close range,
    labelled by the teacher; evaluations never hold. Default: the scenario's preset, else 0."""
    kl_target: float = 0.3
    """gps: target of the mean KL(q || pi) per state, in nats."""
    beta: Literal["constant", "linear", "exponential"] = "exponential"
    """Schedule of the teacher's acting probability (starts at 1)."""
    beta_decay: float | None = None
    """Per-iteration factor of the exponential schedule (constant: the value itself).
    Default: the scenario's preset for the exponential schedule (0.7 on defend_the_center),
    else 0.5."""
    beta_end: float | None = None
    """The teacher's smallest share of the exponential schedule (its last of the linear one):
    it keeps acting in this fraction of the steps (an error with --beta constant, whose share is
    --beta-decay). Default: the scenario's preset, else 0."""
    teacher_mode: Literal["omniscient", "imitable"] | None = None
    """The teacher that labels (and acts). Default: the scenario's preset (omniscient unless the
    preset says otherwise)."""
    turning_shots: bool | None = None
    """Shooting teachers: may fire while turning. Default: the scenario's preset (False on
    defend_the_center: standing shots are easier for the student to copy)."""
    centre_band: float | None = None
    """take_cover's teacher: when calm and farther than this (map units; the room is 736 wide)
    from the middle of the room, it strafes back toward the middle instead of standing where a
    dodge left it (0: off). Default: the scenario's preset (0)."""
    early_dodge: bool | None = None
    """take_cover's teacher: standing is scored as standing for the whole horizon (40 tics), so
    it strafes as soon as a fireball would hit it, instead of at the last step that gets it clear
    (more decisive labels). Default: the scenario's preset (off)."""
    teacher_memory_tics: int | None = None
    """The imitable teacher of take_cover and the health scenarios: how long (tics) it remembers
    what it saw on screen (0: only what is on screen now). Default: the scenario's preset (40 on
    take_cover), else the teacher's own (105 on take_cover, 140 on the health scenarios)."""
    teacher_view_degrees: float | None = None
    """take_cover's imitable teacher sees only the fireballs within this horizontal view
    (degrees), e.g. 90 with `--field-of-view 120`: the student sees wider than the teacher
    remembers from, and the teacher plays as on the usual screen. Default: the whole screen."""
    teacher_hurt_turn_tics: int | None = None
    """The imitable shooting teacher: for this many tics after the player is hurt it turns
    toward an enemy biting from out of view, which the student's frames do not show (they show
    the hurt only with --screen-flashes True: the screen's red flash, as in the runs that
    measured it). 0: off. Default: the scenario's preset (0)."""
    eval_every: int | None = None
    """Evaluate the student alone every this many iterations (and at the end). Default: the
    scenario's preset (4 on defend_the_center, else 2)."""
    eval_episodes: int = 20
    """Evaluation episodes on fixed seeds (teacher and random get the same ones)."""
    eval_seed: int = 0
    """Seed of the first evaluation episode."""
    validation_episodes: int | None = None
    """At every evaluation also play this many episodes on separate validation seeds; the
    result (summary, SavedModel, `doomgps eval`) is then the iterate that scored best there,
    not the last one (0: the last). Default: the scenario's preset (20 with the imitation
    recipe, else 0)."""
    validation_seed: int = 100_000
    """Seed of the first validation episode (must not overlap the evaluation seeds)."""
    snapshot_ensemble: int | None = None
    """The result (summary, SavedModel, `doomgps eval`) is the mean of the logits of the acting
    weights after each of the last this many rounds, scored at the end; it replaces the iterate
    chosen on validation (0: off). Default: the scenario's preset (4 on defend_the_center, else
    0; 0 for a GRU or a deep ensemble)."""
    snapshot_combine: str | None = None
    """How the snapshot ensemble acts: logits (the mean of its members' logits, K times the
    inference) or weights (one network holding the mean of their weights). Default: the
    scenario's preset (logits)."""
    width: int | None = None
    """Observation width in pixels. Default: the scenario's preset (160 on defend_the_center),
    else the env's 80."""
    height: int | None = None
    """Observation height in pixels (default: the env's 60)."""
    render_resolution: str | None = None
    """The engine's render resolution, a ``vizdoom.ScreenResolution`` name such as RES_320X240;
    observations are resized from it, so a width above the render's only upsamples (default:
    the env's RES_160X120)."""
    field_of_view: float | None = None
    """The player's horizontal field of view in degrees, 5 to 179: a wider one shows the
    student (and what an imitable teacher counts as seen) what lies beside it, at the same
    input size. Default: the scenario's preset, else Doom's 90."""
    frame_skip: int | None = None
    """Engine tics per agent step (the action is held; --frames counts tics, so a smaller skip
    gives the student more labelled states per frame of the budget). Default: the scenario's
    preset, else the env's 4."""
    screen_flashes: bool | None = None
    """Render Doom's screen flashes (the red tint of a hit, the gold of a pickup), which wash
    out the frames the student sees while it is hurt. Default: the scenario's preset, else
    off (ViZDoom's own rendering, with which every preset was measured)."""
    frame_stack_dilation: int | None = None
    """Growth of the gaps between the 4 stacked frames: 1 stacks the last 4 steps' frames, 2
    those of steps t, t-1, t-3, t-7 (a memory of what went off screen 28 tics ago at the same
    input size). Default: the scenario's preset (2 on defend_the_center, 3 on take_cover),
    else 1."""
    pooling: Literal["flatten", "height_max"] | None = None
    """How the student's conv map becomes a vector: flatten it, or take each column's maximum
    first. Default: the scenario's preset (height_max on defend_the_center, else flatten)."""
    previous_actions: int | None = None
    """Feed the student its own last N actions (the turn ramp and the pistol's cooldown depend
    on them). Default: the scenario's preset (4 on defend_the_center, else 0)."""
    enemy_columns: int | None = None
    """Horizontal screen buckets of the student's auxiliary enemy-position head (finer buckets
    ask its features for finer aim). Default: the scenario's preset, else 5."""
    aim_offset_head: bool | None = None
    """Add an auxiliary head that learns how far (in degree bins, fine near the crosshair) the
    visible enemy nearest the crosshair lies from it: which way and how far to turn onto it.
    Default: the scenario's preset, else off."""
    goal_sectors: int | None = None
    """Sectors round the player of an auxiliary head that learns the bearing of the teacher's
    goal (a gatherer's medikit, on screen or remembered; 0: no such head). It asks a recurrent
    student to remember what it saw. Default: the scenario's preset (9 on
    health_gathering_supreme), else 0."""
    recurrent_units: int | None = None
    """Units of a GRU core between the student's dense layer and its heads (0: none). Default:
    the scenario's preset (128 on my_way_home and health_gathering_supreme, else 0). A
    recurrent student keeps a hidden state per env through each episode and is trained on
    windows of --sequence-length steps of one episode."""
    sequence_length: int = 16
    """Recurrent student: steps per training sequence, burn-in included; a step takes
    --batch-size // --sequence-length sequences."""
    burn_in: int = 8
    """Recurrent student: first steps of a sequence that only warm up the hidden state (not in
    the loss), except in an episode's first window."""
    initial_state: Literal["zeros", "stored"] = "zeros"
    """Recurrent student: a training sequence's hidden state starts from zeros, or from the one
    the acting student had at its first step, kept in the dataset (R2D2's stored state)."""
    symmetric_policy: bool | None = None
    """Act with the mean of the student's logits on the frames and on their left-right mirror
    image (actions swapped back): an exactly symmetric policy, twice the inference cost.
    Feed-forward students only. Default: the scenario's preset (else False)."""
    symmetric_evaluation: bool | None = None
    """Evaluate, choose on validation and export the symmetric policy (as --symmetric-policy
    acts) while the plain policy acts in the training rollouts. Feed-forward students only.
    Default: the scenario's preset (on for defend_the_center and defend_the_line, unless the
    student is recurrent), else False."""
    logit_adjustment: float | None = None
    """Post-hoc logit adjustment: the policy evaluated, chosen and exported acts by the argmax
    of its log-probabilities minus TAU times the log of how often each action is best in the
    labels it trained on, leaning toward the actions the teacher chooses rarely (firing) where
    the student is unsure (Menon et al. 2021); the training rollouts act with the plain policy
    unless --rollout-policy evaluated. 0: off. Default: the scenario's preset (0.75 on
    defend_the_center, else 0)."""
    rollout_policy: Literal["plain", "evaluated"] | None = None
    """How the student acts in the training rollouts: plain (its own policy), or evaluated (as
    the policy that is evaluated and exported: --symmetric-evaluation's mirror and
    --logit-adjustment's offset), so the teacher labels the states that policy visits.
    Default: the scenario's preset (else plain)."""
    ensemble_size: int | None = None
    """Train this many independently initialised copies of the student on the same batches,
    each on its own loss, and act with the mean of their logits (a deep ensemble; this many
    times the training and inference cost). Feed-forward students only. Default: the
    scenario's preset (else 1)."""
    stem_filters: int | None = None
    """Channels of the student's first 5x5 stride-2 convolution. Default: the scenario's preset,
    else 16."""
    dilated_filters: int | None = None
    """Channels of each of the student's dilated 3x3 convolutions. Default: the scenario's
    preset, else 16."""
    bottleneck_filters: int | None = None
    """Channels of the student's 1x1 convolution before pooling or flattening. Default: the
    scenario's preset, else 8."""
    dense_units: int | None = None
    """Width of the student's dense layer shared by all heads. Default: the scenario's preset,
    else 128."""
    activation: Literal["relu", "leaky_relu"] | None = None
    """The activation of the student's convolutions and dense layer: relu, or leaky_relu
    (slope 0.2 below zero), whose units cannot die (a ReLU unit that never fires gets no
    gradient; TensorBoard's train/dormant/* counts them). Default: the scenario's preset, else
    relu."""
    precision: Literal["float32", "mixed_float16", "mixed_bfloat16", "auto"] = "float32"
    """Numeric precision of the network: mixed_float16 or mixed_bfloat16 on a GPU,
    mixed_bfloat16 on a CPU with bfloat16 instructions (AVX512-BF16, AMX), where its training
    step ran 1.75-2.1x as fast (docs/agents.md, "bfloat16"); auto picks one of those for this
    machine's GPU or CPU (float32 where neither computes 16-bit floats natively) and the run
    records the one it picked. float32 by default: every result in the README was measured in
    it."""
    dilated_conv: Literal["direct", "keras"] = "direct"
    """How the student's dilated convolutions run: direct, in the convolution op itself
    (1.5-2x the training step of keras on this project's CPUs), or keras, Keras'
    space_to_batch route: the same network, rounded differently, with which every result
    measured before session 28 repeats to the last digit (docs/agents.md, "Direct dilated
    convolutions")."""


def build_config(args: TrainArgs):
    """The run's :class:`agents.config.GPSConfig`: the scenario's preset overridden by the flags."""
    from agents.config import GPSConfig, resolve_config
    from agents.presets import PRESETS
    from agents.schedules import BetaSchedule
    from agents.student import StudentConfig
    from core.precision import resolve_precision
    from envs.config import EnvConfig
    from envs.registry import get_spec

    spec = get_spec(args.scenario)
    preset = PRESETS.get(spec.name, PRESETS["defend_the_center"])

    def chosen(name: str, default):
        """The flag ``name`` when given, else the preset's value, else ``default``."""
        value = getattr(args, name)
        return preset.get(name, default) if value is None else value

    recurrent_units = chosen("recurrent_units", 0)
    # a preset's symmetric evaluation yields to a recurrent student (asked for, it is an error)
    symmetric_evaluation = chosen("symmetric_evaluation", False) and (
        args.symmetric_evaluation is not None or not recurrent_units
    )
    # so does a preset's snapshot ensemble, and to a deep ensemble too
    snapshot_ensemble = chosen("snapshot_ensemble", 0)
    if args.snapshot_ensemble is None and (recurrent_units or chosen("ensemble_size", 1) > 1):
        snapshot_ensemble = 0
    teacher_mode = chosen("teacher_mode", "omniscient")

    def imitable_option(name: str):
        """The flag ``name`` when given, else the preset's value for the imitable teacher: a
        preset's teacher memory or view yields to a teacher without one (asked for, an error)."""
        value = getattr(args, name)
        return value if value is not None or teacher_mode != "imitable" else preset.get(name)

    if args.beta == "constant":
        if args.beta_end is not None:
            from core.errors import UserError

            raise UserError(
                "--beta-end needs a decaying schedule: --beta constant acts with one share"
            )
        start = 0.5 if args.beta_decay is None else args.beta_decay
        beta = BetaSchedule(kind="constant", start=start)
    else:
        beta = BetaSchedule(
            kind=args.beta, decay=chosen("beta_decay", 0.5), end=chosen("beta_end", 0.0)
        )
    return resolve_config(
        GPSConfig(
            scenario=spec.name,
            mode=chosen("mode", "gps"),
            seed=args.seed,
            episode_seed=args.episode_seed,
            num_envs=args.num_envs,
            label=chosen("label", "softmax"),
            label_smoothing=args.label_smoothing,
            label_weighting=chosen("label_weighting", "uniform"),
            weight_floor=args.weight_floor,
            policy_loss=chosen("policy_loss", "cross_entropy"),
            mirror=chosen("mirror", False),
            mirror_unseen=chosen("mirror_unseen", True),
            random_shift=chosen("random_shift", 0),
            frames=args.frames or preset["frames"],
            episodes_per_iteration=args.episodes_per_iteration or preset["episodes_per_iteration"],
            steps_per_iteration=args.steps_per_iteration or preset["steps_per_iteration"],
            batch_size=args.batch_size,
            sequence_length=args.sequence_length,
            burn_in=args.burn_in,
            initial_state=args.initial_state,
            learning_rate=args.learning_rate,
            learning_rate_decay=chosen("learning_rate_decay", "constant"),
            final_learning_rate_fraction=args.final_learning_rate_fraction,
            average_decay=chosen("average_decay", 0.0),
            action_noise=chosen("action_noise", 0.0),
            hold_fire=chosen("hold_fire", 0),
            tau=args.tau,
            kl_target=args.kl_target,
            beta=beta,
            teacher_mode=teacher_mode,
            turning_shots=chosen("turning_shots", True),
            centre_band=chosen("centre_band", 0.0),
            early_dodge=chosen("early_dodge", False),
            teacher_memory_tics=imitable_option("teacher_memory_tics"),
            teacher_view_degrees=imitable_option("teacher_view_degrees"),
            teacher_hurt_turn_tics=chosen("teacher_hurt_turn_tics", 0),
            eval_every=args.eval_every or preset.get("eval_every", 2),
            eval_episodes=args.eval_episodes,
            eval_seed=args.eval_seed,
            validation_episodes=chosen("validation_episodes", 0),
            validation_seed=args.validation_seed,
            snapshot_ensemble=snapshot_ensemble,
            snapshot_combine=chosen("snapshot_combine", "logits"),
            symmetric_evaluation=symmetric_evaluation,
            logit_adjustment=chosen("logit_adjustment", 0.0),
            rollout_policy=chosen("rollout_policy", "plain"),
            student=StudentConfig(
                precision=resolve_precision(args.precision),
                dilated_conv=args.dilated_conv,
                recurrent_units=recurrent_units,
                pooling=chosen("pooling", "flatten"),
                previous_actions=chosen("previous_actions", 0),
                enemy_columns=chosen("enemy_columns", 5),
                goal_sectors=chosen("goal_sectors", 0),
                aim_offset_head=chosen("aim_offset_head", False),
                symmetric_policy=chosen("symmetric_policy", False),
                ensemble_size=chosen("ensemble_size", 1),
                stem_filters=chosen("stem_filters", 16),
                dilated_filters=chosen("dilated_filters", 16),
                bottleneck_filters=chosen("bottleneck_filters", 8),
                dense_units=chosen("dense_units", 128),
                activation=chosen("activation", "relu"),
            ),
            env=EnvConfig(
                **{
                    k: v
                    for k, v in (
                        ("width", args.width or preset.get("width")),
                        ("height", args.height or preset.get("height")),
                        ("render_resolution", args.render_resolution),
                        ("frame_skip", chosen("frame_skip", None)),
                        ("frame_stack_dilation", chosen("frame_stack_dilation", None)),
                        ("field_of_view", chosen("field_of_view", None)),
                        ("screen_flashes", chosen("screen_flashes", None)),
                    )
                    if v is not None
                }
            ),
        )
    )


def load_run_config(run_dir: Path, frames: int | None):
    """The saved config of ``run_dir`` (budget raised to ``frames`` when given)."""
    from agents.config import GPSConfig
    from agents.schedules import BetaSchedule
    from agents.student import student_config_from_dict
    from core.run_dir import load_config_dict
    from envs.config import EnvConfig

    saved = load_config_dict(run_dir)
    nested = {
        "beta": lambda values: BetaSchedule(**values),
        "env": lambda values: EnvConfig(**values),
        "student": student_config_from_dict,
    }
    fields = {f.name for f in dataclasses.fields(GPSConfig)}
    values = {k: nested[k](v) if k in nested else v for k, v in saved.items() if k in fields}
    config = GPSConfig(**values)
    if frames is not None:
        config = dataclasses.replace(config, frames=frames)
    return config


def main(argv: list[str]) -> int:
    """Parses the flags, creates or resumes the run, trains, prints the result."""
    args = tyro.cli(TrainArgs, args=argv, prog="doomgps train")
    from agents.gps import run_gps
    from core.errors import UserError
    from core.hardware import machines_line
    from core.run_dir import make_run_dir, save_config

    if args.resume is not None:
        if not (args.resume / "state.json").exists():
            raise UserError(f"--resume {args.resume}: not a training run (no state.json)")
        run_dir = args.resume
        config = load_run_config(run_dir, args.frames)
        save_config(run_dir, config)
        print(f"resuming {run_dir}")
    else:
        config = build_config(args)
        run_dir = make_run_dir(args.runs, config.scenario, config.mode, config.seed)
        save_config(run_dir, config)
        print(f"run: {run_dir}")
        if args.precision == "auto":
            from core.precision import auto_precision

            print(f"precision: {config.student.precision} (auto: {auto_precision()[1]})")
    print(f"TensorBoard: tensorboard --logdir {run_dir / 'tb'}")
    try:
        result = run_gps(config, run_dir)
    except KeyboardInterrupt:
        print(f"interrupted; continue with: doomgps train --resume {run_dir}", file=sys.stderr)
        raise
    student, teacher = result["student"]["mean_return"], result["teacher"]["mean_return"]
    print(
        f"{result['scenario']} ({result['mode']}): student {student:.2f}, teacher {teacher:.2f}, "
        f"random {result['random']['mean_return']:.2f} over {result['student']['episodes']} "
        f"episodes; {result['frames']:,} frames, {result['wall_seconds']:.0f} s "
        f"{machines_line(result['hardware'])}"
    )
    if result["snapshot_ensemble"] is not None:
        print(f"the student is {snapshot_ensemble_line(result)}")
    elif result["selected"] is not None:
        print(
            f"the student is the iterate at {result['selected']['frames']:,} frames, the best "
            f"on the validation seeds; the last iterate scored {result['last']['mean_return']:.2f}"
        )
    print(
        f"SavedModel: {run_dir / 'saved_model'}; evaluate with: doomgps eval --scenario "
        f"{result['scenario']} --policy {run_dir}"
    )
    return 0


def snapshot_ensemble_line(result: dict) -> str:
    """What acts in a run whose result is a snapshot ensemble, beside what would have acted."""
    ensemble = result["snapshot_ensemble"]
    frames = ", ".join(f"{f:,}" for f in ensemble["member_frames"])
    combined = (
        "one network of their mean weights"
        if ensemble.get("combine") == "weights"
        else "the mean of their logits"
    )
    return (
        f"the snapshot ensemble of the weights after the rounds ending at {frames} frames "
        f"({combined}); the iterate chosen on validation scored "
        f"{result['chosen_iterate']['mean_return']:.2f}, the last "
        f"{result['last']['mean_return']:.2f}"
    )
