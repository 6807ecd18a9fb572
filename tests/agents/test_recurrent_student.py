"""The recurrent student: stepping vs whole sequences, per-env hidden states, mirrored sequences
and a task that needs memory."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from agents.student import StudentConfig, build_student, student_inputs

TINY = StudentConfig(
    stem_filters=4,
    dilated_filters=4,
    dilated_layers=1,
    bottleneck_filters=4,
    dense_units=16,
    aux_heads=False,
)
"""A student small enough to train in seconds on 8x8 frames."""


def test_a_recurrent_student_stepped_frame_by_frame_gives_the_logits_of_the_sequence() -> None:
    config = StudentConfig(recurrent_units=8, previous_actions=2, dense_units=16)
    model = build_student((12, 16, 4), 3, config)
    rng = np.random.default_rng(0)
    obs = rng.integers(0, 255, (2, 6, 12, 16, 4), dtype=np.uint8)
    previous = rng.integers(-1, 3, (2, 6, 2)).astype(np.int32)
    whole = model(student_inputs(model, obs, previous))
    assert whole["logits"].shape == (2, 6, 3) and whole["state"].shape == (2, 8)
    state = np.zeros((2, 8), np.float32)
    for t in range(6):
        step = model(student_inputs(model, obs[:, t : t + 1], previous[:, t : t + 1], state))
        np.testing.assert_allclose(step["logits"][:, 0], whole["logits"][:, t], atol=1e-5)
        state = step["state"].numpy()
    np.testing.assert_allclose(state, whole["state"], atol=1e-5)
    # the state matters: the last frame alone, from a zero state, gives other logits
    alone = model(student_inputs(model, obs[:, 5:], previous[:, 5:]))["logits"][:, 0]
    assert np.abs(alone - whole["logits"][:, 5]).max() > 1e-3


def test_the_feed_forward_student_keeps_its_layers_and_the_recurrent_one_adds_a_core() -> None:
    plain = build_student((60, 80, 4), 6)
    recurrent = build_student((60, 80, 4), 6, StudentConfig(recurrent_units=32))
    names = {layer.name for layer in plain.layers}
    assert "core" not in names and len(plain.inputs) == 1
    assert names - {"observation"} <= {layer.name for layer in recurrent.layers}
    assert recurrent.get_layer("core").units == 32
    # the heads read the dense features (128) beside the GRU's output (32)
    assert recurrent.get_layer("policy").kernel.shape == (128 + 32, 6)
    with pytest.raises(ValueError, match="recurrent_units"):
        build_student((60, 80, 4), 6, StudentConfig(recurrent_units=-1))


def test_the_actor_keeps_one_hidden_state_per_env_and_reset_clears_only_that_env() -> None:
    from agents.student_actor import StudentActor

    model = build_student((12, 16, 4), 3, StudentConfig(recurrent_units=8, dense_units=16))
    actor = StudentActor(model)
    rng = np.random.default_rng(1)
    first, second = rng.integers(0, 255, (2, 3, 12, 16, 4), dtype=np.uint8)
    assert np.all(actor.hidden_state(3) == 0)
    actor.act(first)
    after_one = actor.hidden_state(3)
    assert np.all(np.abs(after_one).max(axis=1) > 0)
    actor.reset(1)
    reset = actor.hidden_state(3)
    assert np.all(reset[1] == 0)
    np.testing.assert_array_equal(reset[[0, 2]], after_one[[0, 2]])
    actor.act(second)
    assert actor.calls == 2  # one batched call per vector step
    # envs 0 and 2 carried their state over both frames; env 1 started again at the second
    both = model(student_inputs(model, np.stack([first, second], axis=1)))["state"].numpy()
    fresh = model(student_inputs(model, second[:, None]))["state"].numpy()
    hidden = actor.hidden_state(3)
    np.testing.assert_allclose(hidden[[0, 2]], both[[0, 2]], atol=1e-5)
    np.testing.assert_allclose(hidden[1], fresh[1], atol=1e-5)
    assert np.abs(hidden[0] - fresh[0]).max() > 1e-4


def test_a_mirrored_sequence_is_flipped_at_every_step_and_the_other_not_at_all() -> None:
    import tensorflow as tf

    from agents.learner import mirror_batch

    rng = np.random.default_rng(2)
    obs = rng.integers(0, 255, (2, 3, 4, 6, 1), dtype=np.uint8)
    labels = rng.random((2, 3, 3)).astype(np.float32)
    aux = np.array([[[1, 0, 3, 3], [1, 4, 2, 3], [0, -1, 3, 3]]] * 2, np.int32)
    previous = np.array([[[-1, 1], [1, 2], [2, 0]]] * 2, np.int32)
    perm = tf.constant([0, 2, 1])  # NOOP, TURN_LEFT, TURN_RIGHT
    out = mirror_batch(tf.constant([True, False]), perm, 5, obs, labels, aux, previous)
    obs_m, labels_m, aux_m, previous_m = (t.numpy() for t in out)
    np.testing.assert_array_equal(obs_m[0], obs[0, :, :, ::-1])  # every step's image
    np.testing.assert_array_equal(labels_m[0], labels[0][:, [0, 2, 1]])
    assert aux_m[0, :, 1].tolist() == [4, 0, -1]  # columns reversed, unknown kept
    np.testing.assert_array_equal(aux_m[0][:, [0, 2, 3]], aux[0][:, [0, 2, 3]])
    assert previous_m[0].tolist() == [[-1, 2], [2, 1], [1, 0]]  # -1 (no action) kept
    for mirrored, original in zip(out, (obs, labels, aux, previous), strict=True):
        np.testing.assert_array_equal(mirrored.numpy()[1], original[1])


def test_mirroring_reverses_the_goal_sector_as_it_reverses_the_enemy_column() -> None:
    import tensorflow as tf

    from agents.learner import mirror_batch

    obs = np.zeros((2, 4, 6, 1), np.uint8)
    labels = np.full((2, 3), 1 / 3, np.float32)
    aux = np.array([[1, 0, 3, 3, 1], [1, 0, 3, 3, -1]], np.int32)
    perm = tf.constant([0, 2, 1])
    _, _, aux_m, _ = mirror_batch(tf.constant([True, True]), perm, 5, obs, labels, aux, None, 9)
    assert aux_m.numpy().tolist() == [[1, 4, 3, 3, 7], [1, 4, 3, 3, -1]]


def test_mirroring_reverses_the_aim_offset_and_keeps_an_absent_goal_sector_unknown() -> None:
    import tensorflow as tf

    from agents.learner import mirror_batch

    obs = np.zeros((2, 4, 6, 1), np.uint8)
    labels = np.full((2, 3), 1 / 3, np.float32)
    aux = np.array([[1, 0, 3, 3, -1, 7], [0, -1, 3, 3, -1, -1]], np.int32)  # 7: 1-2 degrees left
    perm = tf.constant([0, 2, 1])
    _, _, aux_m, _ = mirror_batch(tf.constant([True, True]), perm, 5, obs, labels, aux, None)
    assert aux_m.numpy().tolist() == [[1, 4, 3, 3, -1, 3], [0, -1, 3, 3, -1, -1]]  # 1-2 right


def _cue_episodes(
    episodes: int,
    length: int,
    rng: np.random.Generator,
    envs: int = 4,
    side: int | None = None,
    noise: bool = False,
) -> dict:
    """Episodes whose first frame shows a cue (left or right half lit; half each, or all on
    ``side``) and whose other frames are blank (with ``noise``, random dots on 30% of the
    pixels, alike on both halves); every step's label is the cue's side. Rows of ``envs``
    episodes are interleaved step by step, as the collector writes them."""
    side = np.tile([0, 1], episodes // 2) if side is None else np.full(episodes, side)
    rng.shuffle(side)
    frames = np.zeros((episodes, length, 8, 8, 1), np.uint8)
    if noise:
        frames[:, 1:] = 255 * (rng.random(frames[:, 1:].shape) < 0.3)
    frames[side == 0, 0, :, :4] = 255
    frames[side == 1, 0, :, 4:] = 255
    labels = np.full((episodes, length, 2), 0.05, np.float32)
    labels[np.arange(episodes), :, side] = 0.95
    order = [
        (e, t)
        for block in range(0, episodes, envs)
        for t in range(length)
        for e in range(block, min(block + envs, episodes))
    ]
    e, t = np.array(order).T
    return {
        "observation": frames[e, t],
        "label": labels[e, t],
        "aux": np.full((len(e), 4), -1, np.int8),
        "episode": e.astype(np.int64),
        "frames": frames,
        "side": side,
    }


def _train(model, data: dict, steps: int, mirror: list[int] | None = None) -> None:
    """Trains ``model`` on ``data``: a recurrent one on 8 sequences of 16 steps (an episode and
    its padding; 8 of burn-in) per step, a feed-forward one on 64 rows."""
    import keras

    from agents.learner import SwappableStream, gps_sequence_step, gps_step
    from agents.student import recurrent_units
    from core.trainer import Learner, TrainerConfig, build_optimizer

    optimizer = keras.optimizers.Adam(3e-3)
    build_optimizer(optimizer, model)
    columns = ["observation", "label", "aux"]
    if recurrent_units(model):
        stream, step, batch = SwappableStream(16, 8), gps_sequence_step, 8
        columns.append("episode")
    else:
        stream, step, batch = SwappableStream(), gps_step, 64
    stream.use({k: data[k] for k in columns}, batch, seed=0)
    Learner(
        step(model, optimizer, mirror=mirror),
        stream,
        config=TrainerConfig(steps=steps, log_every=steps),
        show_progress=False,
    ).run()


def _play(model, frames: np.ndarray, envs: int = 8) -> np.ndarray:
    """The actor's action probabilities ``(episodes, steps, 2)`` on each episode's frames,
    ``envs`` episodes at a time."""
    from agents.student_actor import StudentActor

    actor = StudentActor(model)
    probs = np.zeros((*frames.shape[:2], 2), np.float32)
    for block in range(0, len(frames), envs):
        for i in range(envs):
            actor.reset(i)
        for t in range(frames.shape[1]):
            probs[block : block + envs, t] = actor.probabilities(frames[block : block + envs, t])
    return probs


def test_the_gru_remembers_a_first_frame_cue_that_a_feed_forward_student_cannot() -> None:
    from core.seeding import seed_everything

    seed_everything(0)
    rng = np.random.default_rng(0)
    train, test = _cue_episodes(64, 10, rng), _cue_episodes(32, 10, rng)
    accuracy = {}
    for units in (16, 0):
        model = build_student((8, 8, 1), 2, dataclasses.replace(TINY, recurrent_units=units))
        _train(model, train, steps=300)
        correct = _play(model, test["frames"]).argmax(-1) == test["side"][:, None]
        accuracy[units] = (correct[:, 0].mean(), correct[:, 1:].mean())
    assert accuracy[16][0] == 1.0 and accuracy[16][1] > 0.9, accuracy
    # the feed-forward student reads the cue when it is on screen, then sees the same blank
    # frame in every episode: one answer for all, right in exactly half of the balanced episodes
    assert accuracy[0][0] == 1.0 and accuracy[0][1] == pytest.approx(0.5), accuracy


def test_mirrored_sequences_teach_the_gru_to_remember_a_cue_on_the_side_it_never_saw() -> None:
    from core.seeding import seed_everything

    seed_everything(0)
    rng = np.random.default_rng(1)
    left_only = _cue_episodes(64, 10, rng, side=0)
    model = build_student((8, 8, 1), 2, dataclasses.replace(TINY, recurrent_units=16))
    # a sequence flipped at some steps only would pair a cue with the other side's labels
    _train(model, left_only, steps=300, mirror=[1, 0])
    right = _play(model, _cue_episodes(16, 10, rng, side=1)["frames"])[:, :, 1]
    # the labels say 0.95; a per-step flip would have taught 0.5 after the cue
    assert right[:, 0].min() > 0.8 and right[:, 1:].mean() > 0.8, right.mean(0)


def test_a_weighted_sequence_step_follows_the_heavy_episodes_where_frames_disagree() -> None:
    import keras

    from agents.learner import SwappableStream, gps_sequence_step
    from core.seeding import seed_everything
    from core.trainer import Learner, TrainerConfig, build_optimizer

    seed_everything(0)
    episodes, length = 16, 10
    episode = np.repeat(np.arange(episodes), length).astype(np.int64)
    heavy = episode % 2 == 0  # blank frames throughout; even episodes say action 0 ...
    labels = np.where(heavy[:, None], [0.95, 0.05], [0.05, 0.95]).astype(np.float32)
    arrays = {
        "observation": np.zeros((len(episode), 8, 8, 1), np.uint8),
        "label": labels,
        "aux": np.full((len(episode), 4), -1, np.int8),
        "weight": np.where(heavy, 1.9, 0.1).astype(np.float32),  # ... and weigh 19 times more
        "episode": episode,
    }
    model = build_student((8, 8, 1), 2, dataclasses.replace(TINY, recurrent_units=16))
    optimizer = keras.optimizers.Adam(3e-3)
    build_optimizer(optimizer, model)
    stream = SwappableStream(16, 8)
    stream.use(arrays, 8, seed=0)
    config = TrainerConfig(steps=100, log_every=100)
    Learner(gps_sequence_step(model, optimizer), stream, config=config, show_progress=False).run()
    probs = _play(model, np.zeros((8, length, 8, 8, 1), np.uint8))
    assert probs[..., 0].mean() > 0.8  # unweighted, the answer would be a coin flip


def _hidden_states(model, data: dict) -> np.ndarray:
    """The hidden state the acting student starts each row's step from, ``(rows, units)``
    float16, as :class:`agents.gps.MixingActor` stores it (episodes played 8 at a time)."""
    from agents.student_actor import StudentActor

    actor, frames = StudentActor(model), data["frames"]
    hidden = np.zeros((*frames.shape[:2], actor.recurrent_units), np.float16)
    for block in range(0, len(frames), 8):
        for i in range(8):
            actor.reset(i)
        for t in range(frames.shape[1]):
            hidden[block : block + 8, t] = actor.hidden_state(8)
            actor.probabilities(frames[block : block + 8, t])
    steps = np.zeros(len(data["episode"]), np.int64)  # each row's step in its episode
    for e in np.unique(data["episode"]):
        steps[data["episode"] == e] = np.arange(np.sum(data["episode"] == e))
    return hidden[data["episode"], steps]


def test_windows_that_start_from_stored_states_keep_the_gru_reading_what_it_saw_before() -> None:
    """Episodes of 12 steps with the cue on the first frame and random dots after it, cut into
    windows of 4 steps (1 of burn-in), trained in rounds as the alternation does: a window
    after the first never shows the cue, so from zeros its labels teach the heads that the
    dots say nothing, and the student unlearns its memory late in the episode; from the state
    the acting student had there (stored, as R2D2's), it learns to read the cue from it."""
    import keras

    from agents.learner import SwappableStream, gps_sequence_step
    from core.seeding import seed_everything
    from core.trainer import Learner, TrainerConfig, build_optimizer

    rng = np.random.default_rng(2)
    train, test = _cue_episodes(64, 12, rng, noise=True), _cue_episodes(32, 12, rng, noise=True)
    accuracy = {}
    for start in ("zeros", "stored"):
        seed_everything(0)
        model = build_student((8, 8, 1), 2, dataclasses.replace(TINY, recurrent_units=16))
        optimizer = keras.optimizers.Adam(3e-3)
        build_optimizer(optimizer, model)
        stream = SwappableStream(4, 1)
        for k in range(4):  # rounds: the stored states come from the student as it is now
            arrays = {name: train[name] for name in ("observation", "label", "aux", "episode")}
            if start == "stored":
                arrays["hidden"] = _hidden_states(model, train)
            stream.use(arrays, 16, seed=k)
            config = TrainerConfig(steps=100, log_every=100)
            step = gps_sequence_step(model, optimizer)
            Learner(step, stream, config=config, show_progress=False).run()
        correct = _play(model, test["frames"]).argmax(-1) == test["side"][:, None]
        accuracy[start] = (correct[:, :4].mean(), correct[:, 8:].mean())
    # measured: the first window right either way; steps 8-11 1.0 stored, 0.766 from zeros
    assert accuracy["stored"] == (1.0, 1.0), accuracy
    assert accuracy["zeros"][0] == 1.0 and accuracy["zeros"][1] < 0.85, accuracy


def test_a_mirrored_window_starts_from_zeros_and_the_others_from_their_stored_state(
    monkeypatch,
) -> None:
    """The stored state saw the unmirrored frames, so a flipped window must not start from it."""
    import keras
    import tensorflow as tf

    from agents import learner
    from core.trainer import build_optimizer

    model = build_student((8, 8, 1), 3, dataclasses.replace(TINY, recurrent_units=8))
    optimizer = keras.optimizers.Adam(1e-3)
    build_optimizer(optimizer, model)
    rng = np.random.default_rng(0)
    batch = {
        "observation": rng.integers(0, 256, (16, 3, 8, 8, 1), dtype=np.uint8),
        "label": np.full((16, 3, 3), 1 / 3, np.float32),
        "aux": np.zeros((16, 3, 4), np.int8),
        "mask": np.ones((16, 3), np.float32),
        "hidden": (rng.random((16, 3, 8)) + 0.5).astype(np.float16),  # never zero
    }
    called = []
    original = learner.student_inputs

    def recording(model, observation, previous=None, state=None):
        called.append((np.asarray(observation), np.asarray(state)))
        return original(model, observation, previous, state)

    monkeypatch.setattr(learner, "student_inputs", recording)
    tf.random.set_seed(0)
    learner.gps_sequence_step(model, optimizer, mirror=[0, 2, 1])(batch)
    ((observation, state),) = called
    pairs = list(zip(observation, batch["observation"], strict=True))
    flipped = np.array([np.array_equal(o, b[:, :, ::-1]) for o, b in pairs])  # width reversed
    kept = np.array([np.array_equal(o, b) for o, b in pairs])
    assert np.all(flipped ^ kept) and 0 < flipped.sum() < 16  # each window one or the other
    assert np.all(state[flipped] == 0.0)
    np.testing.assert_array_equal(state[kept], batch["hidden"][kept, 0].astype(np.float32))
