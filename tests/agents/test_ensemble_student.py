"""An ensemble student (``StudentConfig.ensemble_size``): K networks, one loss each, mean logits."""

from __future__ import annotations

import numpy as np
import pytest

from agents.student import StudentConfig, build_student, student_inputs

ENSEMBLE = StudentConfig(previous_actions=2, pooling="height_max", ensemble_size=3)


def _frames(n: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 255, (n, 60, 80, 4), dtype=np.uint8)


def test_an_ensemble_acts_with_the_mean_of_its_independently_initialised_members() -> None:
    model = build_student((60, 80, 4), 6, ENSEMBLE)
    single = build_student((60, 80, 4), 6, StudentConfig(previous_actions=2, pooling="height_max"))
    assert model.count_params() == 3 * single.count_params()
    outputs = model(student_inputs(model, _frames(4), np.full((4, 2), -1, np.int32)))
    members = outputs["member_logits"].numpy()
    assert members.shape == (4, 3, 6) and outputs["member_enemy_column"].shape == (4, 3, 5)
    np.testing.assert_allclose(outputs["logits"], members.mean(1), atol=1e-6)
    np.testing.assert_allclose(
        outputs["enemy_column"], outputs["member_enemy_column"].numpy().mean(1), atol=1e-6
    )
    # different initial weights: the members disagree before training
    assert np.abs(members[:, 0] - members[:, 1]).max() > 1e-3


def test_each_member_of_an_ensemble_learns_the_labels_on_its_own() -> None:
    import keras

    from agents.learner import gps_step
    from core.data import ArrayStream
    from core.seeding import seed_everything
    from core.trainer import Learner, TrainerConfig, build_optimizer

    seed_everything(0)
    n = 128
    side = np.random.default_rng(0).integers(0, 2, n)
    obs = np.zeros((n, 60, 80, 4), np.uint8)
    obs[side == 1, :, 40:, :] = 255  # the bright half says which action is right
    labels = np.where(side[:, None] == 1, [0.0, 1.0], [1.0, 0.0]).astype(np.float32)
    aux = np.stack([side, np.where(side == 1, 4, -1), np.full(n, 3), np.full(n, 3)], 1)
    model = build_student((60, 80, 4), 2, StudentConfig(ensemble_size=2))
    optimizer = keras.optimizers.Adam(1e-3)
    build_optimizer(optimizer, model)
    # one batch of all rows: the first step's metrics are those of the initial weights
    stream = ArrayStream({"observation": obs, "label": labels, "aux": aux.astype(np.int8)}, n)
    learner = Learner(
        gps_step(model, optimizer),
        stream,
        config=TrainerConfig(steps=60, log_every=60),
        show_progress=False,
    )

    def cross_entropy(logits: np.ndarray) -> float:
        log_pi = logits - np.log(np.exp(logits).sum(-1, keepdims=True))
        return float(-(labels * log_pi).sum(-1).mean())

    before = model(obs)
    members = before["member_logits"].numpy()
    first = learner.step()
    # the policy loss is the members' mean cross-entropy, not the mean logits' (a lower one)
    expected = np.mean([cross_entropy(members[:, k]) for k in range(2)])
    assert float(first["loss"]) == pytest.approx(expected, rel=1e-4)
    assert abs(cross_entropy(before["logits"].numpy()) - expected) > 1e-4
    last = learner.run()
    assert last["accuracy"] == 1.0 and last["aux_enemy_visible_accuracy"] == 1.0
    # every member alone picks the labelled action: no member leans on the others' logits
    members = model(obs)["member_logits"].numpy()
    for k in range(2):
        np.testing.assert_array_equal(members[:, k].argmax(-1), side)


def test_a_saved_ensemble_serves_the_mean_policy_and_the_symmetric_one(tmp_path) -> None:
    import tensorflow as tf

    from agents.gps import export_saved_model
    from agents.student_actor import StudentActor

    mirror = [0, 2, 1, 3, 5, 4]
    model = build_student((60, 80, 4), 6, ENSEMBLE)
    obs = _frames(2)
    for symmetric in (None, mirror):
        actor = StudentActor(model, mirror=symmetric)
        actor.record(np.array([3, 1]))
        history = actor.history(2)
        expected = actor.probabilities(obs)
        path = export_saved_model(model, tmp_path / f"sm{symmetric is None}", symmetric)
        loaded = tf.saved_model.load(str(path))  # held: its variables die with it
        served = loaded.serve(obs, history)
        np.testing.assert_allclose(served["probabilities"].numpy(), expected, rtol=1e-5)
    # the plain policy is the softmax of the members' mean logits
    actor = StudentActor(model)
    actor.record(np.array([3, 1]))
    plain = tf.nn.softmax(model(student_inputs(model, obs, history))["logits"]).numpy()
    np.testing.assert_allclose(actor.probabilities(obs), plain, rtol=1e-5)


def test_an_ensemble_needs_a_size_of_at_least_one_and_a_feed_forward_student() -> None:
    with pytest.raises(ValueError, match="ensemble_size"):
        build_student((60, 80, 4), 3, StudentConfig(ensemble_size=0))
    with pytest.raises(ValueError, match="feed-forward"):
        build_student((60, 80, 4), 3, StudentConfig(ensemble_size=2, recurrent_units=8))


def test_the_ensemble_flag_reaches_the_student_and_bad_sizes_are_user_errors() -> None:
    from core.errors import UserError
    from scripts.train import TrainArgs, build_config

    config = build_config(TrainArgs(scenario="defend_the_center", ensemble_size=3))
    assert config.student.ensemble_size == 3
    assert build_config(TrainArgs(scenario="defend_the_center")).student.ensemble_size == 1
    with pytest.raises(UserError, match="--ensemble-size must be at least 1"):
        build_config(TrainArgs(scenario="defend_the_center", ensemble_size=0))
    with pytest.raises(UserError, match="feed-forward"):
        build_config(TrainArgs(scenario="my_way_home", ensemble_size=2))


def test_snapshots_combine_as_members_of_a_mean_logit_ensemble_or_as_one_mean_network(
    tmp_path,
) -> None:
    """``restore_snapshot_ensemble``: ``"logits"`` puts snapshot k in member k; ``"weights"``
    builds one plain network holding the mean of the snapshots' weights. Either way each
    snapshot's label prior comes back as one row."""
    import tensorflow as tf

    from agents.student_actor import restore_snapshot_ensemble
    from core.checkpoint import Checkpointer

    config = StudentConfig(previous_actions=2, pooling="height_max")
    saved, prefixes = [], []
    for k in range(3):
        snapshot = build_student((60, 80, 4), 6, config)  # a fresh initialisation each
        prior = tf.Variable(np.full(6, k, np.float32), trainable=False)
        checkpointer = Checkpointer(tmp_path, max_to_keep=3, model=snapshot, label_prior=prior)
        prefixes.append(checkpointer.save(100 * (k + 1)))
        saved.append(snapshot.get_weights())
    ensemble, priors = restore_snapshot_ensemble(prefixes, (60, 80, 4), 6, config, True)
    for k, weights in enumerate(saved):
        for a, b in zip(ensemble.get_layer(f"member_{k}").get_weights(), weights, strict=True):
            np.testing.assert_array_equal(a, b)
    averaged, same_priors = restore_snapshot_ensemble(
        prefixes, (60, 80, 4), 6, config, True, combine="weights"
    )
    assert averaged.count_params() == build_student((60, 80, 4), 6, config).count_params()
    for a, *layers in zip(averaged.get_weights(), *saved, strict=True):
        np.testing.assert_allclose(a, np.mean(layers, axis=0), rtol=1e-6, atol=1e-7)
    np.testing.assert_array_equal(priors, same_priors)
    np.testing.assert_array_equal(priors[:, 0], [0, 1, 2])
