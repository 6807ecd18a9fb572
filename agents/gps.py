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
from typing import Any, NamedTuple

import numpy as np

from agents.actors import RandomActor, TeacherActor
from agents.config import (
    FIELDS,
    GPSConfig,
    dataset_fields,
    evaluates_symmetric,
    resolve_config,
    sequences_per_batch,
    stores_hidden,
    teacher_options,
)
from agents.dataset import ShardedDataset, atomic_write_bytes
from agents.evaluation import evaluate, summary
from agents.labels import (
    choice_weights,
    gps_labels,
    kl_divergence,
    label_prior,
    logit_adjustment,
    mean_logit_adjustment,
    teacher_labels,
    update_eta,
)
from agents.rollout import Transition, run_episodes
from agents.schedules import decayed_learning_rate
from agents.student import aux_targets
from agents.student_actor import StudentActor, restore_snapshot_ensemble, symmetric_mirror
from core.checkpoint import Checkpointer
from core.errors import UserError
from envs.engine_state import EngineState


def training_columns(config: GPSConfig, arrays: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
    """What the learner trains on, from the aggregated dataset's ``arrays``: the observations,
    action histories, labels and auxiliary targets; the episode ids for a recurrent student
    (its windows are cut at episode ends) and, with ``initial_state="stored"``, the hidden
    states its windows start from; with ``spread`` label weighting, each row's weight
    (:func:`agents.labels.choice_weights` of the teacher's scores); with the score regression
    (``policy_loss``), the teacher's scores."""
    columns = ("observation", "previous_actions", "label", "aux")
    columns += ("episode",) if config.student.recurrent_units > 0 else ()
    columns += ("hidden",) if stores_hidden(config) else ()
    train = {name: arrays[name] for name in columns if name in arrays}
    if config.label_weighting == "spread":
        train["weight"] = choice_weights(arrays["scores"], config.weight_floor)
    if config.policy_loss == "score_regression":
        train["scores"] = arrays["scores"]
    return train


def training_stream(config: GPSConfig) -> tuple[Any, int]:
    """The learner's batch stream for the run's student and the batch size it is ``use``d with
    (:class:`agents.learner.SwappableStream`): rows, or for a recurrent student windows of
    episodes, ``batch_size`` frames as ``B`` sequences of ``T``."""
    from agents.learner import SwappableStream

    if config.student.recurrent_units > 0:
        stream = SwappableStream(config.sequence_length, config.burn_in)
        return stream, sequences_per_batch(config)
    return SwappableStream(0, config.burn_in), config.batch_size


DORMANCY_ROWS = 512
"""Rows of the dataset on which ``train/dormant/*`` is measured after each round."""


def dormancy_scalars(model: Any, train: Mapping[str, np.ndarray], seed: int) -> dict[str, float]:
    """``train/dormant/<layer>``: the fraction of each encoder layer's units positive on none of
    :data:`DORMANCY_ROWS` rows of ``train`` drawn with ``seed``
    (:func:`agents.dormancy.dormant_fractions`)."""
    from agents.dormancy import dormant_fractions

    n = len(train["observation"])
    rows = np.sort(np.random.default_rng(seed).permutation(n)[:DORMANCY_ROWS])
    previous = train["previous_actions"][rows] if "previous_actions" in train else None
    fractions = dormant_fractions(model, train["observation"][rows], previous)
    return {f"train/dormant/{name}": value for name, value in fractions.items()}


def imitation_step(
    config: GPSConfig,
    model: Any,
    optimizer: Any,
    mirror: Sequence[int] | None,
    average: Any = None,
) -> Any:
    """The run's optimizer step on ``model``: :func:`agents.learner.gps_sequence_step` for a
    recurrent student, else :func:`agents.learner.gps_step`, with the config's auxiliary weight,
    mirroring (``mirror``, a :func:`agents.learner.mirror_permutation` or ``None``), random
    shift and policy loss, and ``average`` (a :class:`~core.averaging.WeightAverage`) if any."""
    from agents.learner import gps_sequence_step, gps_step

    make_step = gps_sequence_step if config.student.recurrent_units > 0 else gps_step
    return make_step(
        model,
        optimizer,
        config.aux_weight,
        mirror,
        config.student.enemy_columns,
        average,
        config.mirror_unseen,
        config.random_shift,
        config.tau if config.policy_loss == "score_regression" else 0.0,
    )


TRAIN_SEED_BASE = 1_000_000
"""Training episodes use seeds from ``TRAIN_SEED_BASE * (seed + 1)``, far from evaluation seeds
(:func:`training_episode_seed`)."""


def training_episode_seed(config: GPSConfig, episodes_played: int) -> int:
    """The engine seed of the run's next training episode: ``TRAIN_SEED_BASE * (s + 1)`` plus
    the episodes played so far, ``s`` being ``config.episode_seed`` or, without it,
    ``config.seed``."""
    seed = config.seed if config.episode_seed is None else config.episode_seed
    return TRAIN_SEED_BASE * (seed + 1) + episodes_played


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
    hidden: np.ndarray
    """the hidden states the student's call started from, ``(N, units)`` (``units`` 0 for a
    feed-forward student)"""


class MixingActor:
    """Per env and per step, the teacher acts with probability ``beta``, the student otherwise.

    The teacher scores every state (its labels are needed anyway, and its per-episode memory must
    see every state); the teacher's action is the argmax of those scores, exactly as
    :meth:`teachers.base.Teacher.act`, so scores are computed once per step. The student runs once
    per step on the whole batch. Both are told the actions taken: the student's previous-action
    input, and the teacher's memory of what was pressed (its pistol cooldown), so the labels of
    the next states describe the game the student is really in. Because the student runs every
    step, a recurrent student's hidden state follows the real trajectory even where the teacher
    acted. With ``action_noise`` a step's action, whoever chose it, is replaced by a uniformly
    random one with that probability (DART's disturbances: the dataset then holds the states
    such slips lead to, labelled by the teacher). With ``hold_fire`` steps and ``unfired`` (each
    action's index without its ATTACK button, :func:`unfired_actions`), half the episodes, drawn
    at their start, fire no shot for their first ``hold_fire`` steps: the enemies come close,
    and the teacher labels the states a student meets when it has let them (its labels still
    say fire). :attr:`last` keeps the step's :class:`MixedStep` for the dataset writer.
    """

    needs_engine_state = True

    def __init__(
        self,
        teacher: TeacherActor,
        student: StudentActor,
        beta: float,
        rng: np.random.Generator,
        action_noise: float = 0.0,
        hold_fire: int = 0,
        unfired: np.ndarray | None = None,
    ) -> None:
        if hold_fire and unfired is None:
            raise ValueError("hold_fire needs the actions without ATTACK (unfired)")
        self.teacher, self.student, self.beta, self.rng = teacher, student, beta, rng
        self.action_noise, self.hold_fire, self.unfired = action_noise, hold_fire, unfired
        self._holding: dict[int, int] = {}  # env -> steps left without a shot
        self.last: MixedStep | None = None

    def reset(self, env_index: int) -> None:
        self.teacher.reset(env_index)
        self.student.reset(env_index)
        if self.hold_fire:  # no draw without it, so older runs repeat
            self._holding[env_index] = self.hold_fire * int(self.rng.random() < 0.5)

    def act(
        self, observations: np.ndarray, states: Sequence[EngineState | None] | None
    ) -> np.ndarray:
        scores = self.teacher.action_scores(states).astype(np.float32)
        history = self.student.history(len(observations))
        hidden = self.student.hidden_state(len(observations))
        probs = self.student.probabilities(observations)
        use_teacher = self.rng.random(len(observations)) < self.beta
        actions = np.where(use_teacher, np.argmax(scores, axis=-1), self.student.choose(probs))
        if self.action_noise:
            noisy = self.rng.random(len(observations)) < self.action_noise
            random_actions = self.rng.integers(scores.shape[1], size=len(actions))
            actions = np.where(noisy, random_actions, actions)
            use_teacher = use_teacher & ~noisy
        if self.hold_fire:
            held = np.array([self._holding.get(i, 0) > 0 for i in range(len(actions))])
            self._holding = {i: max(left - 1, 0) for i, left in self._holding.items()}
            unfired = np.where(held, self.unfired[actions], actions)
            use_teacher = use_teacher & (unfired == actions)
            actions = unfired
        self.teacher.taken(actions)
        self.student.record(actions)
        self.last = MixedStep(scores, probs, use_teacher, history, self.teacher.goals(), hidden)
        return actions


def unfired_actions(actions: Sequence[tuple[str, ...]]) -> np.ndarray:
    """For each action (a button combination), the index of the same buttons without ATTACK.

    Raises:
        ValueError: some ATTACK combination has no counterpart without it, or none has ATTACK.
    """
    index = {frozenset(buttons): i for i, buttons in enumerate(actions)}
    if not any("ATTACK" in buttons for buttons in actions):
        raise ValueError("no action presses ATTACK")
    try:
        return np.array([index[frozenset(buttons) - {"ATTACK"}] for buttons in actions])
    except KeyError as missing:
        raise ValueError(f"no action presses {sorted(missing.args[0])} alone") from None


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
        aim_offset: bool = False,
    ) -> None:
        self.actor, self.frame_skip, self.frames_left = actor, frame_skip, frames_left
        self.episode_offset, self.enemy_columns = episode_offset, enemy_columns
        self.goal_sectors, self.aim_offset = goal_sectors, aim_offset
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
        if "hidden" in self.rows:
            self.rows["hidden"].append(step.hidden[keep].astype(np.float16))
        self.rows["scores"].append(step.scores[keep])
        self.rows["policy"].append(step.probabilities[keep])
        self.rows["aux"].append(
            aux_targets(states, self.enemy_columns, goals, self.goal_sectors, self.aim_offset)
        )
        self.rows["episode"].append(t.episode[keep].astype(np.int64) + self.episode_offset)
        self.rows["teacher"].append(step.teacher_acted[keep])
        for episode, reward in zip(t.episode[keep], t.rewards[keep], strict=True):
            self.returns[int(episode)] = self.returns.get(int(episode), 0.0) + float(reward)
        self.frames += int(keep.sum()) * self.frame_skip
        if self.frames >= self.frames_left:
            raise self.BudgetReachedError

    def arrays(self) -> dict[str, np.ndarray]:
        return {k: np.concatenate(v) for k, v in self.rows.items()}


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
    from envs.vector import open_vector_env

    run = _Run(config, run_dir, verbose)
    try:
        with open_vector_env(run.spec, run.config.num_envs, run.env_config) as vec:
            run.score_baselines(vec)
            run.alternate(vec)
            run.finish(vec)
    finally:
        run.logger.close()
    return run.result()


class _Run:
    """One run of the alternation in its run directory: the network, its optimizer and learner,
    the dataset, the actors and ``state.json``, restored from the directory where it has them.

    :func:`_run_gps` drives it: :meth:`score_baselines`, :meth:`alternate` (each iteration
    :meth:`collect` then :meth:`train`, and every ``eval_every`` iterations
    :meth:`evaluate_student`), :meth:`finish`, then :meth:`result`.
    """

    def __init__(self, config: GPSConfig, run_dir: Path, verbose: bool) -> None:
        from core.logger import Logger
        from core.seeding import seed_everything
        from envs.registry import get_spec

        self.config = config = resolve_config(config)
        self.run_dir, self.verbose = run_dir, verbose
        self.spec = get_spec(config.scenario)
        self.state_path = run_dir / "state.json"
        self.state = self._load_state()
        seed_everything(config.seed)
        self.env_config = dataclasses.replace(
            config.env, engine_state=True, engine_state_in_info=True
        )
        self.logger = Logger(run_dir / "tb")
        if self.state["iteration"] == 0:
            self.logger.config(config)
        self._build_learner()
        self._open_dataset()
        self._build_actors()
        self.started = time.perf_counter() - self.state["wall_seconds"]
        self.ensemble_actor: StudentActor | None = None  # the snapshot ensemble, once built

    def _load_state(self) -> dict[str, Any]:
        """``state.json`` as the run left it (a fresh one for a new run), with this machine
        appended to the machines the run ran on where it differs from the last."""
        from core.hardware import describe_hardware

        state: dict[str, Any] = (
            json.loads(self.state_path.read_text())
            if self.state_path.exists()
            else {
                "iteration": 0,
                "trained": True,
                "frames": 0,
                "episodes": 0,
                "shards": 0,
                "eta": self.config.eta_init,
                "wall_seconds": 0.0,
                "history": [],
            }
        )
        hardware = describe_hardware()
        machines = state.setdefault("hardware", [])  # each machine the run ran on, in order
        if not machines or machines[-1] != hardware:
            machines.append(hardware)
        return state

    def _build_learner(self) -> None:
        """The student, its optimizer, its Polyak average and label prior where the run keeps
        them, the learner over the training stream (restored from ``checkpoints/``), and the
        checkpointers of the best iterate and of the snapshot ensemble's members."""
        import keras
        import tensorflow as tf

        from agents.learner import mirror_permutation
        from agents.student import build_student
        from core.averaging import WeightAverage
        from core.precision import wrap_optimizer
        from core.trainer import Learner, TrainerConfig, build_optimizer

        config, spec = self.config, self.spec
        shape, num_actions = self.env_config.observation_shape, len(spec.actions)
        self.model = build_student(shape, num_actions, config.student)
        optimizer = wrap_optimizer(
            keras.optimizers.Adam(config.learning_rate), config.student.precision
        )
        build_optimizer(optimizer, self.model)
        self.optimizer = optimizer
        trackables: dict[str, Any] = {"model": self.model, "optimizer": optimizer}
        average = None
        if config.average_decay:
            twin = build_student(shape, num_actions, config.student)
            average = WeightAverage(self.model, twin, config.average_decay)
            trackables.update(average=twin, average_updates=average.updates)
        # the weights that act: the trained ones, or their Polyak average
        self.acting = self.model if average is None else average.average
        # post-hoc logit adjustment: the label prior the acting weights trained on, saved with them
        self.prior = tf.Variable(tf.zeros(num_actions), trainable=False, name="label_prior")
        adjusting = {"label_prior": self.prior} if config.logit_adjustment else {}
        trackables.update(adjusting)
        recurrent = config.student.recurrent_units > 0
        self.stream, self.batch = training_stream(config)
        frames_per_step = self.batch * (config.sequence_length if recurrent else 1)
        self.mirror = mirror_permutation(spec.action_names) if config.mirror else None
        if config.mirror and self.mirror is None:
            raise UserError(f"--mirror: {spec.name}'s actions have no left-right mirror images")
        self.learner = Learner(
            imitation_step(config, self.model, optimizer, self.mirror, average),
            self.stream,
            config=TrainerConfig(
                steps=10**9, log_every=config.log_every, eval_every=0, checkpoint_every=0
            ),
            trackables=trackables,
            logger=self.logger,
            checkpoint_dir=self.run_dir / "checkpoints",
            batch_size=frames_per_step,
            show_progress=False,
        )
        self.learner.restore()
        # the weights that act, at each evaluation that scored best on the validation seeds
        self.best = Checkpointer(
            self.run_dir / "best", max_to_keep=2, model=self.acting, **adjusting
        )
        # the acting weights after each of the last rounds: the members of a snapshot ensemble
        self.snapshots = (
            Checkpointer(
                self.run_dir / "snapshots",
                max_to_keep=config.snapshot_ensemble,
                model=self.acting,
                **adjusting,
            )
            if config.snapshot_ensemble
            else None
        )

    def _open_dataset(self) -> None:
        """The run's dataset, with the shards an interrupted iteration left set aside."""
        self.dataset = ShardedDataset(
            self.run_dir / "dataset", self.config.shard_size, fields=dataset_fields(self.config)
        )
        orphans = self.dataset.set_aside(self.state["shards"]) if "shards" in self.state else []
        if orphans:
            print(
                f"dataset: {len(orphans)} shard(s) of an interrupted iteration set aside as "
                f"{orphans[0].parent}/orphan-*.npz (that iteration is collected again)",
                flush=True,
            )

    def _build_actors(self) -> None:
        """The evaluated student, the rollouts' student and the teacher."""
        config, spec = self.config, self.spec
        recurrent = config.student.recurrent_units > 0
        symmetric = symmetric_mirror(spec, config.student.symmetric_policy, recurrent)
        self.evaluated = symmetric_mirror(spec, evaluates_symmetric(config), recurrent)
        greedy = not config.student_sampling
        # the policy evaluated, chosen and exported
        self.evaluator = StudentActor(
            self.acting, greedy=greedy, seed=config.seed, mirror=self.evaluated
        )
        # the training rollouts' student: the evaluator itself where it acts the same way, or
        # where --rollout-policy evaluated has the teacher label the evaluated policy's states
        self.student = (
            self.evaluator
            if config.rollout_policy == "evaluated"
            or (self.evaluated == symmetric and not config.logit_adjustment)
            else StudentActor(self.acting, greedy=greedy, seed=config.seed, mirror=symmetric)
        )
        self.adjust()
        self.teacher = TeacherActor(
            spec.name, config.num_envs, mode=config.teacher_mode, **teacher_options(config)
        )

    def say(self, text: str) -> None:
        """Prints a progress line (unless the run is quiet)."""
        if self.verbose:
            print(text, flush=True)

    def save_state(self) -> None:
        """Writes ``state.json`` (atomically), with the wall time so far."""
        self.state["wall_seconds"] = time.perf_counter() - self.started
        _write_json(self.state_path, self.state)

    def vs_teacher(self, mean_return: float) -> tuple[float, float]:
        """The teacher's mean return on the evaluation seeds, and ``mean_return`` as a share of
        it (NaN where the teacher scores 0 or less)."""
        teacher = self.state["teacher_eval"]["mean_return"]
        return teacher, mean_return / teacher if teacher > 0 else float("nan")

    def adjust(self) -> None:
        """The evaluator acts with the logit adjustment of the prior restored or learnt."""
        if self.config.logit_adjustment and float(self.prior.numpy().sum()) > 0:
            self.evaluator.set_logit_offset(
                logit_adjustment(self.prior.numpy(), self.config.logit_adjustment)
            )

    def score_baselines(self, vec: Any) -> None:
        """Scores the teacher and the random policy on the evaluation seeds, once a run."""
        state, config = self.state, self.config
        if "teacher_eval" in state:
            return
        state["teacher_eval"] = summary(
            _play(config, self.teacher, vec, config.eval_seed), policy="teacher"
        )
        random = RandomActor(len(self.spec.actions), config.seed)
        state["random_eval"] = summary(
            _play(config, random, vec, config.eval_seed), policy="random"
        )
        self.logger.write(
            {
                "teacher/return": state["teacher_eval"]["mean_return"],
                "teacher/random_return": state["random_eval"]["mean_return"],
            },
            0,
        )
        self.save_state()
        self.say(
            f"{self.spec.name}: teacher {state['teacher_eval']['mean_return']:.2f}, random "
            f"{state['random_eval']['mean_return']:.2f} on eval seeds {config.eval_seed}.."
            f"{config.eval_seed + config.eval_episodes - 1}"
        )

    def alternate(self, vec: Any) -> None:
        """Collects and trains round after round until the frame budget is spent, evaluating
        every ``eval_every`` rounds and after the last; resumes a round where it was left."""
        state, config = self.state, self.config
        while True:
            if state["trained"]:
                if state["frames"] >= config.frames:
                    break
                self.collect(vec)
                self.save_state()
            k = self.train()
            if (k + 1) % config.eval_every == 0 or state["frames"] >= config.frames:
                self.evaluate_student(vec)
            self.save_state()

    def collect(self, vec: Any) -> None:
        """Phases 1-3 of the next iteration: mixed rollouts, labels, dataset append, dual step."""
        config, state = self.config, self.state
        k = state["iteration"]
        beta = config.beta(k)
        rng = np.random.default_rng([config.seed, k])
        unfired = unfired_actions(self.spec.actions) if config.hold_fire else None
        actor = MixingActor(
            self.teacher, self.student, beta, rng, config.action_noise, config.hold_fire, unfired
        )
        collector = _Collector(
            actor,
            config.env.frame_skip,
            config.frames - state["frames"],
            state["episodes"],
            config.student.enemy_columns,
            dataset_fields(config),
            config.student.goal_sectors,
            config.student.aim_offset_head,
        )
        student = self.student
        calls_before, seconds_before = student.calls, student.seconds
        started = time.perf_counter()
        seed = training_episode_seed(config, state["episodes"])
        with contextlib.suppress(_Collector.BudgetReachedError):
            run_episodes(
                vec,
                actor,
                config.episodes_per_iteration,
                seed,
                on_step=collector,
                show_progress=False,
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
        dataset = self.dataset
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
        returns = list(collector.returns.values())
        rollout_return = float(np.mean(returns)) if returns else 0.0
        self.logger.write(
            {
                "teacher/beta": beta,
                "teacher/eta": eta,
                "teacher/kl": kl,
                "teacher/kl_teacher_label": kl_teacher,
                "teacher/teacher_action_fraction": float(rows["teacher"].mean()),
                "teacher/rollout_return": rollout_return,
                "data/frames": state["frames"],
                "data/episodes": state["episodes"],
                "data/shards": state["shards"],
                "perf/env_steps_per_sec": steps / max(elapsed, 1e-9),
                "perf/inference_ms": 1000.0 * (student.seconds - seconds_before) / calls,
            },
            state["frames"],
        )
        self.say(
            f"iter {k:3d}  frames {state['frames']:>8,}/{config.frames:,}  beta {beta:.2f}  "
            f"eta {eta:.2f}  kl {kl:.3f}  rollout return {rollout_return:.1f}  rows {n}"
        )

    def train(self) -> int:
        """Phase 4 of the iteration collected last: ``steps_per_iteration`` optimizer steps on
        the whole dataset, then a snapshot of the acting weights; returns the iteration."""
        config, state, logger = self.config, self.state, self.logger
        k = state["iteration"] - 1
        train = training_columns(config, self.dataset.load())
        self.stream.use(train, self.batch, seed=config.seed * 100_003 + k)
        rate = decayed_learning_rate(
            config.learning_rate,
            config.learning_rate_decay,
            config.final_learning_rate_fraction,
            state["frames"] / config.frames,
        )
        self.optimizer.learning_rate = rate
        logger.write({"train/learning_rate": rate}, self.learner.steps)
        if config.logit_adjustment:
            self.prior.assign(label_prior(train["label"], self.mirror))
            self.adjust()
        self.learner.run(until=(k + 1) * config.steps_per_iteration)
        logger.write(dormancy_scalars(self.model, train, seed=k), self.learner.steps)
        if self.snapshots is not None:
            self.snapshots.save(state["frames"])
            state.pop("ensemble", None)  # a finished run resumed for more frames
        state["trained"] = True
        logger.write(
            {
                "data/samples": len(train["label"]),
                "data/corrupt_shards": len(self.dataset.corrupt),
            },
            state["frames"],
        )
        return k

    def evaluate_student(self, vec: Any) -> None:
        """Scores the student alone on the fixed evaluation seeds; logs eval/ and a frame strip.

        With validation episodes it also plays the validation seeds, and when it scores at least
        as well there as every earlier evaluation, its weights are saved in ``best/`` (numbered
        by frames) and ``state["best"]`` names them.
        """
        config, state = self.config, self.state
        strip = _FrameStrip(self.evaluator)
        report = summary(_play(config, strip, vec, config.eval_seed), policy="student")
        teacher, ratio = self.vs_teacher(report["mean_return"])
        entry = {"frames": state["frames"], "iteration": state["iteration"], "eval": report}
        scalars = {
            "eval/return": report["mean_return"],
            "eval/return_std": report["std_return"],
            "eval/length": report["mean_length"],
            "eval/return_vs_teacher": ratio,
        }
        chosen = ""
        if config.validation_episodes:
            played = _play(
                config, self.evaluator, vec, config.validation_seed, config.validation_episodes
            )
            validation = played.returns.mean()
            entry["validation"] = scalars["eval/validation_return"] = float(validation)
            if "best" not in state or validation >= state["best"]["validation"]:
                prefix = Path(self.best.save(state["frames"]))
                state["best"] = {**entry, "checkpoint": f"{prefix.parent.name}/{prefix.name}"}
                chosen = "  (best on validation)"
            chosen = f"  validation {validation:.2f}{chosen}"
        state["history"].append(entry)
        self.logger.write(scalars, state["frames"])
        image = strip.image()
        if image is not None:
            self.logger.image("eval/frames", image, state["frames"])
        self.say(
            f"eval  frames {state['frames']:>8,}  student {report['mean_return']:.2f} "
            f"± {report['std_return']:.2f}  ({ratio:.0%} of the teacher's {teacher:.2f}){chosen}"
        )

    def finish(self, vec: Any) -> None:
        """Evaluates the last iterate if the last round was not, and scores the snapshot
        ensemble once."""
        state = self.state
        final = state["history"][-1] if state["history"] else None
        if final is None or final["frames"] != state["frames"]:
            self.evaluate_student(vec)
            self.save_state()
        if self.snapshots is not None and "ensemble" not in state:
            prefixes = list(self.snapshots.manager.checkpoints)
            self.ensemble_actor = _ensemble_actor(self.config, self.spec, prefixes, self.evaluated)
            self.evaluate_ensemble(vec, self.ensemble_actor, prefixes)
            self.save_state()

    def evaluate_ensemble(self, vec: Any, actor: StudentActor, prefixes: Sequence[str]) -> None:
        """Scores the snapshot ensemble ``actor`` of the weights saved at ``prefixes`` on the
        evaluation seeds, and on the validation seeds where the run has them, into
        ``state["ensemble"]``."""
        config, state = self.config, self.state
        report = summary(_play(config, actor, vec, config.eval_seed), policy="student")
        entry = {
            "frames": state["frames"],
            "member_frames": [int(Path(p).name.split("-")[-1]) for p in prefixes],
            "checkpoints": [str(Path(p).relative_to(self.run_dir)) for p in prefixes],
            "combine": config.snapshot_combine,
            "eval": report,
        }
        scalars = {"eval/ensemble_return": report["mean_return"]}
        validation = ""
        if config.validation_episodes:
            played = _play(config, actor, vec, config.validation_seed, config.validation_episodes)
            entry["validation"] = scalars["eval/ensemble_validation_return"] = float(
                played.returns.mean()
            )
            validation = f"  validation {entry['validation']:.2f}"
        state["ensemble"] = entry
        self.logger.write(scalars, state["frames"])
        teacher, ratio = self.vs_teacher(report["mean_return"])
        combined = "mean weights" if config.snapshot_combine == "weights" else "mean logits"
        self.say(
            f"eval  snapshot ensemble of {len(prefixes)} ({combined})  student "
            f"{report['mean_return']:.2f} "
            f"± {report['std_return']:.2f}  ({ratio:.0%} of the teacher's {teacher:.2f})"
            f"{validation}"
        )

    def result(self) -> dict[str, Any]:
        """Restores the run's result (the snapshot ensemble, the iterate chosen on validation,
        or the last iterate), exports it as a SavedModel and writes ``summary.json``."""
        config, state, run_dir = self.config, self.state, self.run_dir
        selected = state.get("best")
        ensemble = state.get("ensemble")
        evaluator, acting = self.evaluator, self.acting
        if ensemble is not None:  # the result: the mean logits of the last rounds' weights
            evaluator = self.ensemble_actor or _ensemble_actor(
                config,
                self.spec,
                [str(run_dir / c) for c in ensemble["checkpoints"]],
                self.evaluated,
            )
            acting = evaluator.model
            self.say(
                f"result: the snapshot ensemble of the last {len(ensemble['checkpoints'])} "
                f"rounds ({', '.join(f'{f:,}' for f in ensemble['member_frames'])} frames): "
                f"student {ensemble['eval']['mean_return']:.2f} on the evaluation seeds; chosen "
                f"iterate {(selected or state['history'][-1])['eval']['mean_return']:.2f}, last "
                f"iterate {state['history'][-1]['eval']['mean_return']:.2f}"
            )
        elif selected is not None:
            self.best.restore(str(run_dir / selected["checkpoint"]))
            self.adjust()
            self.say(
                f"result: the iterate at {selected['frames']:,} frames (validation "
                f"{selected['validation']:.2f}, the best of {len(state['history'])}): student "
                f"{selected['eval']['mean_return']:.2f} on the evaluation seeds; last iterate "
                f"{state['history'][-1]['eval']['mean_return']:.2f}"
            )
        export_saved_model(acting, run_dir / "saved_model", self.evaluated, evaluator.logit_offset)
        result = {
            "scenario": self.spec.name,
            "mode": config.mode,
            "seed": config.seed,
            "teacher_mode": config.teacher_mode,
            "frames": state["frames"],
            "episodes": state["episodes"],
            "iterations": state["iteration"],
            "optimizer_steps": self.learner.steps,
            "wall_seconds": round(state["wall_seconds"], 1),
            "student": (ensemble or selected or state["history"][-1])["eval"],
            "last": state["history"][-1]["eval"],
            "selected": None
            if selected is None
            else {k: selected[k] for k in ("frames", "iteration", "validation")},
            "chosen_iterate": (selected or state["history"][-1])["eval"],
            "snapshot_ensemble": None
            if ensemble is None
            else {
                k: ensemble[k] for k in ("member_frames", "combine", "validation") if k in ensemble
            },
            "teacher": state["teacher_eval"],
            "random": state["random_eval"],
            "curve": [(h["frames"], h["eval"]["mean_return"]) for h in state["history"]],
            "corrupt_shards": len(self.dataset.corrupt),
            "hardware": state["hardware"],
            "run_dir": str(run_dir),
        }
        _write_json(run_dir / "summary.json", result)
        return result


def _play(config: GPSConfig, actor: Any, vec: Any, seed: int, episodes: int | None = None) -> Any:
    """:func:`agents.evaluation.evaluate` on the run's vector env: ``episodes`` (default: the
    evaluation's) seeded episodes from ``seed``."""
    episodes = config.eval_episodes if episodes is None else episodes
    return evaluate(
        config.scenario, actor, episodes=episodes, seed=seed, env=vec, show_progress=False
    )


def _ensemble_actor(
    config: GPSConfig, spec: Any, prefixes: Sequence[str], mirror: Sequence[int] | None
) -> StudentActor:
    """The policy a snapshot ensemble evaluates and exports: the mean logits of the weights
    saved at ``prefixes`` (or the network of their mean weights, ``snapshot_combine``
    ``"weights"``), offset by the mean of their logit adjustments."""
    model, priors = restore_snapshot_ensemble(
        prefixes,
        config.env.observation_shape,
        len(spec.actions),
        config.student,
        bool(config.logit_adjustment),
        config.snapshot_combine,
    )
    actor = StudentActor(model, greedy=not config.student_sampling, seed=config.seed, mirror=mirror)
    if config.logit_adjustment:
        actor.set_logit_offset(mean_logit_adjustment(priors, config.logit_adjustment))
    return actor


def export_saved_model(
    model: Any,
    path: str | Path,
    mirror: Sequence[int] | None = None,
    logit_offset: Sequence[float] | np.ndarray | None = None,
) -> Path:
    """Exports ``serve(observation uint8 (B,H,W,C)) -> {probabilities, action}`` as a SavedModel.

    With ``mirror`` (a feed-forward student's action permutation), the exported policy is the
    left-right symmetric one the run was evaluated with (:func:`agents.student.policy_logits`).
    With ``logit_offset`` ``(A,)``, it is added to the logits first (the run's post-hoc logit
    adjustment, :func:`agents.labels.logit_adjustment`).

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
    offset = None if logit_offset is None else tf.constant(np.asarray(logit_offset, np.float32))
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
        if offset is not None:
            logits = logits + offset
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
