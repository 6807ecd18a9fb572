"""The student as an :class:`~agents.actors.Actor`: one compiled network call per vector step.

Keras calls on single frames cost 1.5-2.8 ms, 3-10x an engine step, so the actor runs the whole
vector env's batch of observations through one ``tf.function`` and never sees engine state.
:func:`load_student_actor` rebuilds a trained student from a run directory or checkpoint for
``doomgps eval --policy RUN_DIR_OR_CHECKPOINT``.
"""

from __future__ import annotations

import dataclasses
import json
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import keras
import numpy as np
import tensorflow as tf

from agents.learner import mirror_permutation
from agents.student import (
    StudentConfig,
    history_length,
    num_actions,
    observation_shape,
    policy_logits,
    recurrent_units,
    student_inputs,
)
from core.errors import UserError
from envs.config import EnvConfig
from envs.engine_state import EngineState
from envs.registry import ScenarioSpec


class StudentActor:
    """Acts with the student network on a batch of observations.

    A student that takes its previous actions as input (``StudentConfig.previous_actions``)
    gets them from this actor: it keeps the last actions *taken* in each env (its own, or, via
    :meth:`record`, another policy's when a teacher acted), and :meth:`reset` clears an env's.

    A recurrent student (``StudentConfig.recurrent_units``) gets its GRU state from this actor:
    one hidden state per env, zeroed by :meth:`reset` at the env's episode start and advanced by
    every :meth:`probabilities` call, which is one step of every env (the same single batched
    call as a feed-forward student's). Call it once per vector step, also when another policy
    acts (as :class:`agents.gps.MixingActor` does), so the state follows the real trajectory.

    Args:
        model: a student from :func:`agents.student.build_student`.
        greedy: take the most probable action (evaluation); otherwise sample from the policy.
        seed: seeds the sampling.
        mirror: each action's mirror image (:func:`agents.learner.mirror_permutation`): act
            with the left-right symmetric policy (:func:`agents.student.policy_logits`);
            feed-forward students only.
        logit_offset: ``(A,)`` added to the logits before the softmax (post-hoc logit
            adjustment, :func:`agents.labels.logit_adjustment`); ``None``: zeros. Change it
            later with :meth:`set_logit_offset` (no retracing).

    Raises:
        ValueError: ``mirror`` with a recurrent student.
    """

    needs_engine_state = False

    def __init__(
        self,
        model: keras.Model,
        greedy: bool = True,
        seed: int = 0,
        mirror: Sequence[int] | None = None,
        logit_offset: Sequence[float] | np.ndarray | None = None,
    ) -> None:
        self.model = model
        self.greedy = greedy
        self._rng = np.random.default_rng(seed)
        shape = observation_shape(model)
        self.history_length = history_length(model)
        self.recurrent_units = recurrent_units(model)
        self._history = np.full((0, self.history_length), -1, np.int32)
        self._hidden = np.zeros((0, self.recurrent_units), np.float32)
        if mirror is not None and self.recurrent_units:
            raise ValueError("a symmetric policy needs a feed-forward student")
        self.mirror = None if mirror is None else list(mirror)
        self._offset = tf.Variable(tf.zeros(num_actions(model)), trainable=False)
        if logit_offset is not None:
            self.set_logit_offset(logit_offset)
        offset = self._offset

        def step(x: tf.Tensor, h: tf.Tensor, s: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
            if not self.recurrent_units:
                return tf.nn.softmax(policy_logits(model, x, h, self.mirror) + offset), s
            # a recurrent student steps every env by a sequence of one frame
            outputs = model(student_inputs(model, x[:, None], h[:, None], s), training=False)
            return tf.nn.softmax(outputs["logits"][:, 0] + offset), outputs["state"]

        self._probabilities = tf.function(
            step,
            input_signature=[
                tf.TensorSpec((None, *shape), tf.uint8),
                tf.TensorSpec((None, self.history_length), tf.int32),
                tf.TensorSpec((None, self.recurrent_units), tf.float32),
            ],
        )
        self.calls = 0
        self.seconds = 0.0
        """Total time spent in network calls (for ``perf/inference_ms``)."""
        self.last_probabilities: np.ndarray | None = None
        """``(N, A)``: the probabilities the last :meth:`act` chose from (diagnoses read them)."""

    @property
    def logit_offset(self) -> np.ndarray:
        """``(A,)``: what is added to the logits before the softmax (zeros: the plain policy)."""
        return self._offset.numpy()

    def set_logit_offset(self, offset: Sequence[float] | np.ndarray) -> None:
        """Acts from now on with ``offset`` ``(A,)`` added to the logits."""
        offset = np.asarray(offset, np.float32)
        if offset.shape != tuple(self._offset.shape):
            expected = tuple(self._offset.shape)
            raise ValueError(f"logit offset must have shape {expected}, got {offset.shape}")
        self._offset.assign(offset)

    def reset(self, env_index: int) -> None:
        """Forgets env ``env_index``'s previous actions and hidden state (its episode starts)."""
        if env_index < len(self._history):
            self._history[env_index] = -1
        if env_index < len(self._hidden):
            self._hidden[env_index] = 0.0

    def _histories(self, num_envs: int) -> np.ndarray:
        """The histories of ``num_envs`` envs (all empty when the number of envs changes)."""
        if len(self._history) != num_envs:
            self._history = np.full((num_envs, self.history_length), -1, np.int32)
        return self._history

    def _hidden_states(self, num_envs: int) -> np.ndarray:
        """The hidden states of ``num_envs`` envs (all zero when the number of envs changes)."""
        if len(self._hidden) != num_envs:
            self._hidden = np.zeros((num_envs, self.recurrent_units), np.float32)
        return self._hidden

    def hidden_state(self, num_envs: int) -> np.ndarray:
        """The ``(num_envs, N)`` GRU states the next call starts from (a copy; ``N = 0`` for a
        feed-forward student)."""
        return self._hidden_states(num_envs).copy()

    def history(self, num_envs: int) -> np.ndarray:
        """The ``(num_envs, k)`` previous actions the next call sees (a copy; ``-1``: none)."""
        return self._histories(num_envs).copy()

    def record(self, actions: np.ndarray) -> None:
        """Appends the actions just taken in every env to their histories (oldest dropped)."""
        if self.history_length:
            history = self._histories(len(actions))
            history[:, :-1] = history[:, 1:]
            history[:, -1] = actions

    def probabilities(self, observations: np.ndarray) -> np.ndarray:
        """``(N, A)`` action probabilities for a uint8 ``(N, H, W, C)`` batch (one call; a
        recurrent student's hidden states advance one step)."""
        started = time.perf_counter()
        history = self._histories(len(observations))
        hidden = self._hidden_states(len(observations))
        probs, hidden = self._probabilities(np.asarray(observations, np.uint8), history, hidden)
        probs = probs.numpy()
        if self.recurrent_units:
            self._hidden = np.array(hidden)
        self.seconds += time.perf_counter() - started
        self.calls += 1
        return probs

    def choose(self, probs: np.ndarray) -> np.ndarray:
        """Actions from probabilities: argmax when greedy, else one sample per row."""
        if self.greedy:
            return np.argmax(probs, axis=-1)
        cumulative = np.cumsum(probs, axis=-1)
        draws = self._rng.random((len(probs), 1)) * cumulative[:, -1:]
        return np.minimum((draws > cumulative).sum(-1), probs.shape[-1] - 1)

    def act(
        self, observations: np.ndarray, states: Sequence[EngineState | None] | None = None
    ) -> np.ndarray:
        self.last_probabilities = self.probabilities(observations)
        actions = self.choose(self.last_probabilities)
        self.record(actions)
        return actions

    @property
    def inference_ms(self) -> float:
        """Mean milliseconds per batched call so far."""
        return 1000.0 * self.seconds / max(self.calls, 1)


def _from_dict(cls: type, values: dict[str, Any]) -> Any:
    names = {f.name for f in dataclasses.fields(cls)}
    return cls(**{k: v for k, v in values.items() if k in names})


def find_run_dir(path: str | Path) -> tuple[Path, str | None]:
    """Returns ``(run_dir, checkpoint_prefix or None for the newest)`` for a run dir,
    its ``checkpoints`` folder, or a checkpoint prefix / file such as ``ckpt-300.index``."""
    path = Path(path)
    if path.is_dir() and (path / "config.json").exists():
        return path, None
    if path.is_dir() and (path.parent / "config.json").exists():
        return path.parent, None
    prefix = path.with_suffix("") if path.suffix in (".index",) else path
    if prefix.name.startswith("ckpt-") and (prefix.parent.parent / "config.json").exists():
        prefix = Path(str(prefix).split(".data-")[0])
        return prefix.parent.parent, str(prefix)
    raise UserError(f"{path}: not a student run directory or checkpoint (no config.json found)")


def selected_checkpoint(run_dir: str | Path) -> str | None:
    """The checkpoint prefix of the iterate a run with validation episodes chose (the best on
    its validation seeds so far, in ``best/``), or ``None`` for a run without a choice."""
    best = _run_state(run_dir).get("best")
    return None if best is None else str(Path(run_dir) / best["checkpoint"])


def _run_state(run_dir: str | Path) -> dict[str, Any]:
    """A run's ``state.json`` (empty where there is none).

    Raises:
        UserError: the file is not a readable run state.
    """
    state_path = Path(run_dir) / "state.json"
    if not state_path.exists():
        return {}
    try:
        state = json.loads(state_path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError):
        state = None
    if not isinstance(state, dict):
        raise UserError(f"{state_path}: not a readable run state (corrupt JSON)")
    return state


def snapshot_checkpoints(run_dir: str | Path) -> list[str] | None:
    """The checkpoint prefixes of the snapshot ensemble a run with ``snapshot_ensemble`` scored
    as its result (oldest first), or ``None`` for a run without one (yet)."""
    ensemble = _run_state(run_dir).get("ensemble")
    return None if ensemble is None else [str(Path(run_dir) / c) for c in ensemble["checkpoints"]]


def restore_snapshot_ensemble(
    prefixes: Sequence[str],
    observation_shape: tuple[int, int, int],
    num_actions: int,
    student_config: StudentConfig,
    adjusted: bool,
    combine: str = "logits",
) -> tuple[keras.Model, np.ndarray | None]:
    """A snapshot ensemble of the acting weights saved at ``prefixes``.

    With ``combine="logits"``, a deep-ensemble network (:func:`agents.student.build_student`
    with ``ensemble_size = len(prefixes)``) whose member ``k`` holds the weights saved at
    ``prefixes[k]``, so that it acts with the mean of their logits. With ``"weights"``, one
    network holding the mean of those weights (stochastic weight averaging).

    Args:
        prefixes: checkpoint prefixes of one run's ``snapshots/``.
        observation_shape: ``(H, W, C)`` of the run's observations.
        num_actions: the scenario's actions.
        student_config: the run's network (one, not an ensemble).
        adjusted: the snapshots hold the label prior their weights trained on (a run with
            ``logit_adjustment``).
        combine: ``"logits"`` or ``"weights"``.

    Returns:
        ``(model, priors)``: ``priors`` ``(K, A)``, one row per snapshot, or ``None`` when not
        ``adjusted``.

    Raises:
        UserError: a snapshot is missing, corrupt or does not match the network.
    """
    from agents.student import build_student
    from core.checkpoint import Checkpointer

    averaged = combine == "weights"
    size = 1 if averaged else len(prefixes)
    model = build_student(
        observation_shape, num_actions, dataclasses.replace(student_config, ensemble_size=size)
    )
    # a run of one round has one snapshot: a plain network
    members = (
        [model] * len(prefixes)
        if size == 1
        else [model.get_layer(f"member_{k}") for k in range(len(prefixes))]
    )
    priors, weights = [], []
    for member, prefix in zip(members, prefixes, strict=True):
        prior = tf.Variable(tf.zeros(num_actions), trainable=False)
        saved = {"label_prior": prior} if adjusted else {}
        Checkpointer(Path(prefix).parent, model=member, **saved).restore(prefix)
        priors.append(prior.numpy())
        if averaged:  # the one network is overwritten by each snapshot: keep its weights
            weights.append(member.get_weights())
    if averaged:
        model.set_weights([np.mean(layer, axis=0) for layer in zip(*weights, strict=True)])
    return model, np.stack(priors) if adjusted else None


def restore_student(
    run_dir: str | Path, prefix: str | None = None
) -> tuple[keras.Model, dict[str, Any], EnvConfig, np.ndarray | None]:
    """Rebuilds a student from its run's ``config.json`` and restores the weights it acts with:
    without ``prefix``, the run's result: its snapshot ensemble
    (:func:`restore_snapshot_ensemble`) where it scored one, else the iterate it chose on its
    validation seeds (:func:`selected_checkpoint`); else the newest checkpoint (the moving
    average of a run with ``average_decay``, else the trained weights).

    Returns:
        ``(model, config dict, env config, label prior)``: the prior ``(A,)`` the weights
        trained on, saved with them by a run with ``logit_adjustment`` (else ``None``); a
        snapshot ensemble's ``(K, A)``, one row per member.

    Raises:
        UserError: no checkpoint, or one that does not match the configured network.
    """
    from agents.student import build_student, student_config_from_dict
    from core.checkpoint import Checkpointer
    from core.run_dir import load_config_dict
    from envs.registry import get_spec

    run_dir = Path(run_dir)
    config = load_config_dict(run_dir)
    if "student" not in config or "env" not in config:
        raise UserError(f"{run_dir}: config.json does not describe a student run")
    env_config = _from_dict(EnvConfig, config["env"])
    student_config = student_config_from_dict(config["student"])
    spec = get_spec(config["scenario"])
    snapshots = None if prefix else snapshot_checkpoints(run_dir)
    if snapshots:
        model, priors = restore_snapshot_ensemble(
            snapshots,
            env_config.observation_shape,
            len(spec.actions),
            student_config,
            bool(config.get("logit_adjustment")),
            config.get("snapshot_combine", "logits"),
        )
        return model, config, env_config, priors
    model = build_student(env_config.observation_shape, len(spec.actions), student_config)
    prior = tf.Variable(tf.zeros(len(spec.actions)), trainable=False)
    saved = {"label_prior": prior} if config.get("logit_adjustment") else {}
    selected = None if prefix else selected_checkpoint(run_dir)
    if selected is not None:  # the iterate that scored best on the validation seeds
        checkpointer, prefix = Checkpointer(run_dir / "best", model=model, **saved), selected
    else:  # a run with weight averaging acts with (and exports) the average: restore that one
        key = "average" if config.get("average_decay") else "model"
        checkpointer = Checkpointer(run_dir / "checkpoints", **{key: model}, **saved)
        prefix = prefix or checkpointer.latest
    if prefix is None:
        raise UserError(f"{run_dir}: no checkpoint yet (the run stopped before its first save)")
    try:
        status = checkpointer.checkpoint.restore(prefix)
        status.expect_partial()
        status.assert_existing_objects_matched()
    except (tf.errors.OpError, ValueError, AssertionError, KeyError) as error:
        first = (getattr(error, "message", None) or str(error)).strip().splitlines()[0][:200]
        raise UserError(f"{prefix}: corrupt or mismatched student checkpoint ({first})") from None
    restored = prior.numpy()
    return model, config, env_config, restored if saved and restored.sum() > 0 else None


def dataset_label_prior(run_dir: str | Path, mirror: Sequence[int] | None) -> np.ndarray:
    """The label prior (:func:`agents.labels.label_prior`) of all of a run's dataset.

    Raises:
        UserError: the run has no readable labels.
    """
    from agents.dataset import ShardedDataset
    from agents.labels import label_prior

    try:
        labels = ShardedDataset(Path(run_dir) / "dataset", read_only=True).column("label")
    except ValueError as error:
        raise UserError(f"logit adjustment needs the run's labels: {error}") from None
    return label_prior(labels, mirror)


def load_student_actor(
    path: str | Path,
    spec: ScenarioSpec,
    symmetric: bool | None = None,
    logit_adjustment: float | None = None,
) -> tuple[StudentActor, EnvConfig]:
    """The greedy student of a run directory or checkpoint, and the env config it was trained on.

    Args:
        path: a run directory or checkpoint.
        spec: the scenario it is evaluated on.
        symmetric: act with the left-right symmetric policy (:func:`agents.student.policy_logits`);
            ``None``: as the run was evaluated (:func:`agents.config.evaluates_symmetric`).
        logit_adjustment: tau of the post-hoc logit adjustment it acts with
            (:func:`agents.labels.logit_adjustment`); ``None``: the run's own
            (``GPSConfig.logit_adjustment``). It uses the label prior saved with the weights,
            or, for a run that saved none, the prior of the run's whole dataset.

    Raises:
        UserError: not a student run, no/corrupt checkpoint, trained on another scenario, or a
            symmetric policy of a recurrent student or of actions without mirror images.
    """
    from agents.labels import mean_logit_adjustment

    run_dir, prefix = find_run_dir(path)
    model, config, env_config, prior = restore_student(run_dir, prefix)
    if config["scenario"] != spec.name:
        raise UserError(f"{path} was trained on {config['scenario']}, not {spec.name}")
    env_config = dataclasses.replace(env_config, engine_state=False, engine_state_in_info=False)
    if symmetric is None:
        from agents.config import evaluates_symmetric

        symmetric = evaluates_symmetric(config)
    mirror = symmetric_mirror(spec, symmetric, recurrent_units(model) > 0)
    own = config.get("logit_adjustment", 0.0)
    tau = float(own if logit_adjustment is None else logit_adjustment)
    if tau < 0:
        raise UserError(f"--logit-adjustment must be >= 0, got {tau}")
    offset = None
    if tau > 0:
        if prior is None:
            trained_mirrored = config.get("mirror", False)
            prior = dataset_label_prior(
                run_dir, mirror_permutation(spec.action_names) if trained_mirrored else None
            )
        offset = mean_logit_adjustment(prior, tau)  # a snapshot ensemble's prior is (K, A)
    return StudentActor(model, greedy=True, mirror=mirror, logit_offset=offset), env_config


def symmetric_mirror(spec: ScenarioSpec, symmetric: bool, recurrent: bool) -> list[int] | None:
    """The action permutation a symmetric policy acts with (``None`` when not ``symmetric``).

    Raises:
        UserError: a symmetric policy of a recurrent student, or of actions without mirror
            images.
    """
    if not symmetric:
        return None
    if recurrent:
        raise UserError("--symmetric-policy needs a feed-forward student, not a recurrent one")
    mirror = mirror_permutation(spec.action_names)
    if mirror is None:
        raise UserError(
            f"--symmetric-policy: {spec.name}'s actions have no left-right mirror images"
        )
    return mirror
