"""The student network, its auxiliary targets, the batched actor and the learning step."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from agents.student import (
    AIM_OFFSET_CLASSES,
    AUX_NAMES,
    StudentConfig,
    aim_offset_class,
    aux_targets,
    build_student,
    goal_sector,
    student_config_from_dict,
)
from envs.engine_state import Category, EngineState, Objects, PlayerState, Walls


def _frozen(a: np.ndarray) -> np.ndarray:
    a.flags.writeable = False
    return a


def _state(
    boxes: list[tuple[float, float, float, float]],
    categories: list[int],
    health: float = 100.0,
    ammo: float = 26.0,
) -> EngineState:
    n = len(boxes)
    box = np.array(boxes, np.float32).reshape(n, 4)
    objects = Objects(
        id=_frozen(np.arange(n, dtype=np.int64)),
        name=("DoomImp",) * n,
        category=_frozen(np.array(categories, np.int8)),
        position=_frozen(np.zeros((n, 3), np.float32)),
        angle=_frozen(np.zeros(n, np.float32)),
        velocity=_frozen(np.zeros((n, 3), np.float32)),
        visible=_frozen(~np.isnan(box[:, 0])),
        box=_frozen(box),
    )
    player = PlayerState(
        position=np.zeros(3, np.float32),
        angle=0.0,
        velocity=np.zeros(3, np.float32),
        health=health,
        armor=0.0,
        ammo=ammo,
        weapon=2,
    )
    walls = Walls(np.zeros((0, 4), np.float32), np.zeros(0, bool), np.zeros(0, bool))
    return EngineState(tic=1, player=player, objects=objects, walls=walls, screen_size=(160, 120))


def test_aux_targets_find_the_nearest_visible_enemy_and_the_bands() -> None:
    enemy, other = int(Category.ENEMY), int(Category.OTHER)
    nan = float("nan")
    states = [
        _state([(0, 10, 10, 20), (140, 10, 20, 60), (70, 0, 20, 100)], [enemy, enemy, other]),
        _state([(nan, nan, nan, nan)], [enemy], health=10.0, ammo=0.0),
        None,
    ]
    targets = aux_targets(states, enemy_columns=5)
    assert targets.dtype == np.int8 and targets.shape == (3, 4)  # no goal head: 4 columns
    # the taller (nearer) enemy is centred at x = 150 of 160: the rightmost bucket
    assert targets[0].tolist() == [1, 4, 3, 3]
    assert targets[1].tolist() == [0, -1, 0, 0]
    assert targets[2].tolist() == [-1, -1, -1, -1]
    # 32 buckets of 5 pixels: x = 150 is bucket 30
    assert aux_targets(states, enemy_columns=32)[0, 1] == 30


def _facing(state: EngineState, angle: float) -> EngineState:
    import dataclasses

    return dataclasses.replace(state, player=dataclasses.replace(state.player, angle=angle))


def test_the_goal_sector_is_the_goals_bearing_from_the_heading() -> None:
    east = _state([], [])  # the player at the origin, facing east (angle 0)
    # 9 sectors of 40 degrees: 0 starts straight behind, 4 is straight ahead, right below it
    assert goal_sector(east, (100.0, 0.0), 9) == 4
    assert goal_sector(east, (100.0, 30.0), 9) == 4  # 17 degrees left: still ahead
    assert goal_sector(east, (0.0, 100.0), 9) == 6  # 90 degrees left
    assert goal_sector(east, (0.0, -100.0), 9) == 2  # 90 degrees right
    assert goal_sector(east, (-100.0, -1.0), 9) == 0  # just right of straight behind
    assert goal_sector(east, (-100.0, 1.0), 9) == 8  # just left of it
    north = _facing(east, 90.0)
    assert goal_sector(north, (0.0, 100.0), 9) == 4  # the same point, now ahead
    assert goal_sector(north, (100.0, 0.0), 9) == 2  # and east is to the right
    # the mirror image of a bearing lies in the mirrored sector
    for point in [(100.0, 30.0), (10.0, 100.0), (-50.0, 40.0)]:
        left = goal_sector(east, point, 8)
        assert goal_sector(east, (point[0], -point[1]), 8) == 8 - 1 - left


def test_aux_targets_add_the_goal_sector_column_only_for_a_goal_head() -> None:
    states = [_state([], []), _state([], []), None]
    goals = [(0.0, 100.0), None, (5.0, 5.0)]
    assert aux_targets(states, goals=goals).shape == (3, 4)  # the old layout
    targets = aux_targets(states, goals=goals, goal_sectors=9)
    assert targets.shape == (3, 5) and AUX_NAMES[4] == "goal_sector"
    assert targets[:, 4].tolist() == [6, -1, -1]  # no goal, or no state: unknown


def _enemies_at(points: list[tuple[float, float]], visible: list[bool]) -> EngineState:
    """The player at the origin facing east; enemies at ``points``, on screen where ``visible``."""
    nan = float("nan")
    boxes = [(70.0, 40.0, 10.0, 20.0) if v else (nan, nan, nan, nan) for v in visible]
    state = _state(boxes, [int(Category.ENEMY)] * len(points))
    position = np.array([[x, y, 0.0] for x, y in points], np.float32).reshape(-1, 3)
    objects = dataclasses.replace(state.objects, position=_frozen(position))
    return dataclasses.replace(state, objects=objects)


def test_the_aim_offset_bins_the_bearing_of_the_visible_enemy_nearest_the_crosshair() -> None:
    def degrees_left(angle: float) -> tuple[float, float]:
        return 500.0 * np.cos(np.radians(angle)), 500.0 * np.sin(np.radians(angle))

    assert AIM_OFFSET_CLASSES == 11
    assert aim_offset_class(_enemies_at([degrees_left(0.2)], [True])) == 5  # on the crosshair
    assert aim_offset_class(_enemies_at([degrees_left(0.7)], [True])) == 6
    assert aim_offset_class(_enemies_at([degrees_left(-1.5)], [True])) == 3
    assert aim_offset_class(_enemies_at([degrees_left(30.0)], [True])) == 10
    # the nearest the crosshair counts, not the nearest to the player, and only if on screen
    near_aim = _enemies_at([(100.0, -40.0), degrees_left(3.0), degrees_left(-0.3)], [1, 1, 0])
    assert aim_offset_class(near_aim) == 8
    assert aim_offset_class(_enemies_at([degrees_left(1.0)], [False])) == -1
    # a mirror image's bin is the mirrored bin
    for angle in (0.7, 1.5, 3.0, 6.0, 12.0):
        left = aim_offset_class(_enemies_at([degrees_left(angle)], [True]))
        assert aim_offset_class(_enemies_at([degrees_left(-angle)], [True])) == 10 - left


def test_aux_targets_put_the_aim_offset_in_a_sixth_column_after_an_unknown_goal() -> None:
    states = [_enemies_at([(500.0, 10.0)], [True]), None]  # 1.1 degrees left
    targets = aux_targets(states, aim_offset=True)
    assert targets.shape == (2, 6) and AUX_NAMES[5] == "aim_offset"
    assert targets[:, 4:].tolist() == [[-1, 7], [-1, -1]]
    model = build_student((60, 80, 4), 6, StudentConfig(aim_offset_head=True))
    assert model(np.zeros((1, 60, 80, 4), np.uint8))["aim_offset"].shape == (1, 11)


def test_student_maps_uint8_frames_to_policy_and_aux_logits() -> None:
    model = build_student((60, 80, 4), 6)
    outputs = model(np.zeros((3, 60, 80, 4), np.uint8))
    assert outputs["logits"].shape == (3, 6)
    assert outputs["enemy_column"].shape == (3, 5)
    assert {"enemy_visible", "health_band", "ammo_band"} <= set(outputs)
    # flattened, not pooled: the dense layer sees every position of the 30x40 map
    assert model.get_layer("features").kernel.shape[0] == 30 * 40 * 8


def test_a_bfloat16_student_computes_in_bfloat16_and_leaves_the_global_policy_alone() -> None:
    import keras

    model = build_student((60, 80, 4), 6, StudentConfig(precision="mixed_bfloat16"))
    assert keras.mixed_precision.dtype_policy().name == "float32"
    assert model.get_layer("stem").compute_dtype == "bfloat16"
    assert model.get_layer("stem").kernel.dtype == "float32"  # variables stay float32
    outputs = model(np.zeros((2, 60, 80, 4), np.uint8))
    assert outputs["logits"].dtype == "float32"
    assert build_student((60, 80, 4), 6).get_layer("stem").compute_dtype == "float32"
    with pytest.raises(ValueError, match="precision"):
        build_student((60, 80, 4), 6, StudentConfig(precision="float8"))


def test_the_dilated_convs_run_direct_by_default_and_keras_on_request_with_the_same_outputs():
    dilated = {
        route: build_student((60, 80, 4), 3, StudentConfig(dilated_conv=route)).get_layer("dilated")
        for route in ("direct", "keras")
    }
    convs = {route: [c for c in block.layers if c.weights] for route, block in dilated.items()}
    assert [conv.direct for conv in convs["direct"]] == [True] * 4
    assert [conv.direct for conv in convs["keras"]] == [False] * 4
    dilated["keras"].set_weights(dilated["direct"].get_weights())
    features = np.random.default_rng(0).random((2, 30, 40, 16)).astype(np.float32)
    np.testing.assert_allclose(
        dilated["direct"](features), dilated["keras"](features), rtol=1e-4, atol=1e-5
    )
    with pytest.raises(ValueError, match="dilated_conv"):
        build_student((60, 80, 4), 3, StudentConfig(dilated_conv="fft"))


def test_a_run_saved_before_the_direct_dilated_conv_keeps_keras_route() -> None:
    saved = dataclasses.asdict(StudentConfig(dense_units=64))
    del saved["dilated_conv"]  # as config.json held it until session 28
    assert student_config_from_dict(saved) == StudentConfig(dense_units=64, dilated_conv="keras")
    saved_now = dataclasses.asdict(StudentConfig(dense_units=64))
    assert student_config_from_dict({**saved_now, "retired_field": 1}).dilated_conv == "direct"


def test_student_without_aux_heads_has_only_the_policy() -> None:
    model = build_student((60, 80, 4), 3, StudentConfig(aux_heads=False))
    assert set(model.output) == {"logits"}


def test_student_actor_runs_one_batched_call_per_step_and_acts_greedily() -> None:
    from agents.student_actor import StudentActor

    model = build_student((60, 80, 4), 4)
    actor = StudentActor(model)
    obs = np.random.default_rng(0).integers(0, 255, (5, 60, 80, 4), dtype=np.uint8)
    probs = actor.probabilities(obs)
    np.testing.assert_allclose(probs.sum(-1), 1.0, rtol=1e-5)
    np.testing.assert_array_equal(actor.act(obs), probs.argmax(-1))
    assert actor.calls == 2 and actor.inference_ms > 0


def test_a_logit_offset_shifts_the_policy_it_acts_with_without_a_new_trace() -> None:
    from agents.student_actor import StudentActor

    model = build_student((60, 80, 4), 4)
    obs = np.random.default_rng(0).integers(0, 255, (5, 60, 80, 4), dtype=np.uint8)
    plain = StudentActor(model).probabilities(obs)
    actor = StudentActor(model, logit_offset=[0.0, 0.0, 0.0, 50.0])
    assert (actor.act(obs) == 3).all()
    offset = np.array([0.0, 0.5, -0.25, 1.0], np.float32)
    actor.set_logit_offset(offset)
    expected = plain * np.exp(offset)
    np.testing.assert_allclose(
        actor.probabilities(obs), expected / expected.sum(-1, keepdims=True), rtol=1e-5
    )
    np.testing.assert_array_equal(actor.logit_offset, offset)
    assert actor._probabilities.experimental_get_tracing_count() == 1
    with pytest.raises(ValueError, match="shape"):
        actor.set_logit_offset([1.0, 2.0])


def test_sampling_actor_follows_the_probabilities() -> None:
    from agents.student_actor import StudentActor

    actor = StudentActor(build_student((60, 80, 4), 3), greedy=False, seed=1)
    draws = actor.choose(np.tile([[0.7, 0.3, 0.0]], (4000, 1)))
    assert set(np.unique(draws)) == {0, 1}
    assert np.mean(draws == 0) == pytest.approx(0.7, abs=0.03)


def _fit(
    arrays: dict[str, np.ndarray],
    actions: int,
    steps: int,
    config: StudentConfig | None = None,
    learning_rate: float = 1e-3,
    **step_options,
):
    """A student of ``actions`` actions trained from seed 0 by ``steps`` :func:`gps_step` updates
    (``step_options`` go to it) on batches of 32 rows of ``arrays``; returns the model and the
    last step's metrics."""
    import keras

    from agents.learner import gps_step
    from core.data import ArrayStream
    from core.seeding import seed_everything
    from core.trainer import Learner, TrainerConfig, build_optimizer

    seed_everything(0)
    model = build_student(arrays["observation"].shape[1:], actions, config)
    optimizer = keras.optimizers.Adam(learning_rate)
    build_optimizer(optimizer, model)
    learner = Learner(
        gps_step(model, optimizer, **step_options),
        ArrayStream(arrays, 32),
        config=TrainerConfig(steps=steps, log_every=steps),
        show_progress=False,
    )
    return model, learner.run()


def _probabilities(model, observation: np.ndarray) -> np.ndarray:
    """The student's action probabilities on one frame stack ``(1, H, W, C)``."""
    import keras

    return keras.ops.convert_to_numpy(keras.ops.softmax(model(observation)["logits"]))[0]


def test_gps_step_fits_soft_labels_and_aux_targets() -> None:
    import keras

    from agents.learner import gps_step
    from core.data import ArrayStream
    from core.seeding import seed_everything
    from core.trainer import Learner, TrainerConfig, build_optimizer

    seed_everything(0)
    rng = np.random.default_rng(0)
    n = 128
    obs = np.zeros((n, 60, 80, 4), np.uint8)
    side = rng.integers(0, 2, n)
    obs[side == 1, :, 40:, :] = 255  # the bright half says which action is right
    labels = np.where(side[:, None] == 1, [0.1, 0.9], [0.9, 0.1]).astype(np.float32)
    aux = np.stack([side, np.where(side == 1, 4, -1), np.full(n, 3), np.full(n, 3)], 1)
    model = build_student((60, 80, 4), 2)
    optimizer = keras.optimizers.Adam(1e-3)
    build_optimizer(optimizer, model)
    stream = ArrayStream({"observation": obs, "label": labels, "aux": aux.astype(np.int8)}, 32)
    learner = Learner(
        gps_step(model, optimizer),
        stream,
        config=TrainerConfig(steps=60, log_every=60),
        show_progress=False,
    )
    first = {k: float(v) for k, v in learner.step().items()}
    last = learner.run()
    assert last["accuracy"] == 1.0 and last["aux_enemy_visible_accuracy"] == 1.0
    assert last["kl"] < 0.05 < first["kl"]
    assert last["loss"] == pytest.approx(last["kl"] + 0.325, abs=0.05)  # H(q) = 0.325 nats


def test_a_weighted_step_follows_the_heavy_rows_where_identical_frames_disagree() -> None:
    n = 64
    obs = np.full((n, 60, 80, 4), 100, np.uint8)  # one frame, two labels: a coin flip ...
    labels = np.zeros((n, 2), np.float32)
    labels[: n // 2, 0] = labels[n // 2 :, 1] = 1.0
    aux = np.tile(np.array([0, -1, 3, 3], np.int8), (n, 1))
    weight = np.where(np.arange(n) < n // 2, 1.9, 0.1).astype(np.float32)  # ... unless weighted
    first_action = {}
    for weighted in (False, True):
        arrays = {"observation": obs, "label": labels, "aux": aux}
        if weighted:
            arrays["weight"] = weight
        model, last = _fit(arrays, 2, steps=80)
        first_action[weighted] = _probabilities(model, obs[:1])[0]
        # the reported loss stays the plain cross-entropy, at least H(q) = ln 2 here
        assert last["loss"] >= np.log(2) - 0.01
    assert abs(first_action[False] - 0.5) < 0.1
    assert first_action[True] > 0.85  # 19:1, the optimum is 0.95


def test_score_regression_learns_how_much_worse_each_action_is_mirrored_too() -> None:
    n = 64
    obs = np.zeros((n, 60, 80, 4), np.uint8)
    obs[: n // 2, :, :20, :] = 255  # a fireball on the left: stand is worst, left is bad ...
    scores = np.zeros((n, 3), np.float32)  # (stand, left, right)
    scores[: n // 2] = [-2.0, -0.6, 0.0]
    scores[n // 2 :] = [0.0, -0.1, -0.1]  # ... nothing: standing is best. Never a right side.
    labels = np.full((n, 3), 1 / 3, np.float32)  # uninformative: the scores alone teach
    aux = np.tile(np.array([1, 0, 3, 3], np.int8), (n, 1))
    arrays = {"observation": obs, "label": labels, "aux": aux, "scores": scores}
    model, last = _fit(
        arrays, 3, steps=150, mirror=[0, 2, 1], score_temperature=0.5, learning_rate=3e-3
    )
    assert last["score_loss"] < 0.01
    assert last["loss"] > np.log(3) - 0.01  # the reported cross-entropy to the uniform labels

    def centred_logits(frame: np.ndarray) -> np.ndarray:
        logits = model(frame)["logits"].numpy()[0]
        return logits - logits.mean()

    # scores / 0.5 = (-4, -1.2, 0), centred: (-2.27, 0.53, 1.73)
    np.testing.assert_allclose(centred_logits(obs[:1]), [-2.27, 0.53, 1.73], atol=0.1)
    right = np.zeros((1, 60, 80, 4), np.uint8)
    right[:, :, -20:, :] = 255  # only mirrored copies say: stand worst, left best
    np.testing.assert_allclose(centred_logits(right), [-2.27, 1.73, 0.53], atol=0.1)
    np.testing.assert_allclose(centred_logits(obs[-1:]), [0.13, -0.07, -0.07], atol=0.05)


def test_mirror_permutation_swaps_left_and_right() -> None:
    from agents.learner import mirror_permutation

    shooter = ["NOOP", "TURN_LEFT", "TURN_RIGHT", "ATTACK", "TURN_LEFT+ATTACK", "TURN_RIGHT+ATTACK"]
    assert mirror_permutation(shooter) == [0, 2, 1, 3, 5, 4]
    assert mirror_permutation(["NOOP", "MOVE_LEFT", "MOVE_RIGHT", "ATTACK"]) == [0, 2, 1, 3]
    assert mirror_permutation(["MOVE_FORWARD+TURN_LEFT", "MOVE_FORWARD"]) is None


def test_mirrored_training_turns_toward_an_enemy_on_a_side_it_never_saw() -> None:
    n = 64
    obs = np.zeros((n, 60, 80, 4), np.uint8)
    obs[: n // 2, :, :20, :] = 255  # an "enemy" on the left: turn left ...
    labels = np.zeros((n, 3), np.float32)
    labels[: n // 2, 1] = 1.0
    labels[n // 2 :, 0] = 1.0  # ... nothing: no-op. Never an enemy on the right.
    aux = np.tile(np.array([1, 0, 3, 3], np.int8), (n, 1))
    arrays = {"observation": obs, "label": labels, "aux": aux}
    model, _ = _fit(arrays, 3, steps=80, mirror=[0, 2, 1])
    right = np.zeros((1, 60, 80, 4), np.uint8)
    right[:, :, -20:, :] = 255
    assert np.argmax(_probabilities(model, right)) == 2  # TURN_RIGHT: only mirrored copies say so


def _offset(shifted: np.ndarray, image: np.ndarray, pad: int) -> tuple[int, int] | None:
    """The (down, right) offset by which ``image`` (H, W, ...) moved to ``shifted``, its edges
    filled with its border pixels; ``None`` if no offset up to ``pad`` gives it."""
    height, width = image.shape[:2]
    found = [
        (dy, dx)
        for dy in range(-pad, pad + 1)
        for dx in range(-pad, pad + 1)
        if np.array_equal(
            shifted,
            image[np.clip(np.arange(height) - dy, 0, height - 1)][
                :, np.clip(np.arange(width) - dx, 0, width - 1)
            ],
        )
    ]
    return found[0] if len(found) == 1 else None


def test_a_random_shift_moves_each_image_whole_by_its_own_offset_within_the_pad() -> None:
    from agents.learner import random_shift

    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (64, 12, 16, 4), dtype=np.uint8)
    shifted = random_shift(images, 3).numpy()
    offsets = [_offset(shifted[b], images[b], 3) for b in range(len(images))]
    assert None not in offsets  # every image moved whole, its edge filled with its border
    assert len(set(offsets)) > 20  # each its own offset (49 possible)
    assert {dy for dy, _ in offsets} == set(range(-3, 4)) == {dx for _, dx in offsets}
    np.testing.assert_array_equal(random_shift(images, 0), images)  # 0: off


def test_a_random_shift_moves_a_sequence_by_one_offset_at_every_step() -> None:
    from agents.learner import random_shift

    rng = np.random.default_rng(1)
    sequences = rng.integers(0, 256, (16, 5, 12, 16, 2), dtype=np.uint8)
    shifted = random_shift(sequences, 2, sequences=True).numpy()
    for b in range(len(sequences)):
        steps = {_offset(shifted[b, t], sequences[b, t], 2) for t in range(5)}
        assert len(steps) == 1 and None not in steps


def test_a_student_trained_with_random_shifts_still_fits_its_labels() -> None:
    n = 64
    obs = np.zeros((n, 60, 80, 4), np.uint8)
    obs[: n // 2, 20:40, 10:30, :] = 255  # an enemy on the left: turn left; else no-op
    labels = np.zeros((n, 3), np.float32)
    labels[: n // 2, 1] = 1.0
    labels[n // 2 :, 0] = 1.0
    aux = np.tile(np.array([1, 0, 3, 3], np.int8), (n, 1))
    model, last = _fit({"observation": obs, "label": labels, "aux": aux}, 3, steps=80, shift=4)
    assert last["accuracy"] == 1.0
    moved = np.zeros((1, 60, 80, 4), np.uint8)
    moved[:, 23:43, 13:33, :] = 255  # the enemy 3 pixels lower and to the right
    assert np.argmax(_probabilities(model, moved)) == 1


def test_without_mirror_unseen_a_fixed_scan_with_nothing_on_screen_is_not_mirrored() -> None:
    n = 64
    empty = np.full((n, 60, 80, 4), 100, np.uint8)  # nothing on screen (its own mirror image)
    labels = np.tile(np.array([0.0, 1.0, 0.0], np.float32), (n, 1))  # the teacher scans left
    aux = np.tile(np.array([0, -1, 3, 3], np.int8), (n, 1))  # enemy_visible 0
    turn_left = {}
    for mirror_unseen in (True, False):
        arrays = {"observation": empty, "label": labels, "aux": aux}
        model, _ = _fit(arrays, 3, steps=60, mirror=[0, 2, 1], mirror_unseen=mirror_unseen)
        turn_left[mirror_unseen] = _probabilities(model, empty[:1])[1]
    assert turn_left[False] > 0.9  # the scan stays a left scan
    assert turn_left[True] < 0.75  # mirrored copies said "right" half the time


def test_height_max_pooling_keeps_one_feature_vector_per_column() -> None:
    model = build_student((60, 160, 4), 6, StudentConfig(pooling="height_max"))
    # 30x80 map after the stride-2 stem, 8 bottleneck channels: 80 columns x 8
    assert model.get_layer("features").kernel.shape[0] == 80 * 8
    with pytest.raises(ValueError, match="pooling"):
        build_student((60, 80, 4), 6, StudentConfig(pooling="average"))


def test_the_activation_is_relu_unless_a_leaky_relu_is_asked_for() -> None:
    from scripts.train import TrainArgs, build_config

    assert build_config(TrainArgs()).student.activation == "relu"
    leaky = build_config(TrainArgs(scenario="take_cover", activation="leaky_relu")).student
    model = build_student((60, 80, 4), 3, leaky)
    dilated = model.get_layer("dilated")
    layers = [model.get_layer(name) for name in ("stem", "bottleneck", "features")]
    layers += [dilated.get_layer(f"dilated_act{i}") for i in range(4)]
    assert all(layer.activation.__name__ == "leaky_relu" for layer in layers)
    with pytest.raises(ValueError, match="activation"):
        build_student((60, 80, 4), 3, StudentConfig(activation="tanh"))


def test_previous_actions_are_one_hot_inputs_and_minus_one_means_none() -> None:
    from agents.student import ActionHistory, history_length, student_inputs

    model = build_student((60, 80, 4), 6, StudentConfig(previous_actions=3))
    assert history_length(model) == 3 and history_length(build_student((60, 80, 4), 6)) == 0
    encoded = ActionHistory(6)(np.array([[-1, 0, 5]], np.int32)).numpy()
    assert encoded.shape == (1, 18)
    assert encoded[0].tolist() == [0] * 6 + [1, 0, 0, 0, 0, 0] + [0, 0, 0, 0, 0, 1]
    obs = np.zeros((2, 60, 80, 4), np.uint8)
    history = np.array([[-1, -1, -1], [1, 1, 1]], np.int32)
    logits = model(student_inputs(model, obs, history))["logits"].numpy()
    assert not np.allclose(logits[0], logits[1])  # same frames, different past: different policy


def test_student_actor_remembers_the_actions_taken_per_env_until_reset() -> None:
    from agents.student_actor import StudentActor

    actor = StudentActor(build_student((60, 80, 4), 6, StudentConfig(previous_actions=2)))
    obs = np.zeros((3, 60, 80, 4), np.uint8)
    assert actor.history(3).tolist() == [[-1, -1]] * 3
    first = actor.act(obs)
    actor.record(np.array([4, 5, 0]))  # e.g. the teacher acted instead
    assert actor.history(3).tolist() == [[first[0], 4], [first[1], 5], [first[2], 0]]
    actor.reset(1)
    assert actor.history(3)[1].tolist() == [-1, -1]
    assert actor.history(3)[0].tolist() == [first[0], 4]


def test_mirrored_training_mirrors_the_previous_actions_too() -> None:
    from agents.student import student_inputs

    n = 64
    obs = np.zeros((n, 60, 80, 4), np.uint8)  # blank screens: only the past tells the action
    previous = np.where(np.arange(n)[:, None] % 2 == 0, 1, 0).astype(np.int32)  # TURN_LEFT or NOOP
    labels = np.zeros((n, 3), np.float32)
    labels[::2, 1] = 1.0  # after turning left, keep turning left; after a no-op, no-op
    labels[1::2, 0] = 1.0
    aux = np.tile(np.array([0, -1, 3, 3], np.int8), (n, 1))
    arrays = {"observation": obs, "previous_actions": previous, "label": labels, "aux": aux}
    history = StudentConfig(previous_actions=1)
    model, _ = _fit(arrays, 3, steps=100, config=history, learning_rate=3e-3, mirror=[0, 2, 1])
    right = np.array([[2]], np.int32)  # never seen unmirrored: after TURN_RIGHT, turn right
    logits = model(student_inputs(model, obs[:1], right))["logits"].numpy()[0]
    assert np.argmax(logits) == 2


def test_a_saved_student_with_an_action_history_serves_both_inputs(tmp_path) -> None:
    import tensorflow as tf

    from agents.gps import export_saved_model
    from agents.student import student_inputs

    model = build_student((60, 80, 4), 6, StudentConfig(previous_actions=4, pooling="height_max"))
    obs = np.random.default_rng(0).integers(0, 255, (2, 60, 80, 4), dtype=np.uint8)
    history = np.array([[-1, -1, -1, 3], [1, 1, 2, 0]], np.int32)
    loaded = tf.saved_model.load(str(export_saved_model(model, tmp_path / "sm")))
    served = loaded.serve(obs, history)
    expected = tf.nn.softmax(model(student_inputs(model, obs, history))["logits"]).numpy()
    np.testing.assert_allclose(served["probabilities"].numpy(), expected, rtol=1e-5)


def test_a_symmetric_policy_gives_a_mirrored_frame_the_mirrored_probabilities() -> None:
    from agents.learner import mirror_permutation
    from agents.student_actor import StudentActor
    from envs.registry import get_spec

    mirror = mirror_permutation(get_spec("defend_the_center").action_names)
    model = build_student((60, 160, 4), 6, StudentConfig(previous_actions=2, pooling="height_max"))
    frames = np.random.default_rng(0).integers(0, 255, (3, 60, 160, 4), dtype=np.uint8)
    taken = np.array([1, 4, 3])  # TURN_LEFT, TURN_RIGHT+ATTACK, ATTACK

    def probabilities(actor: StudentActor, frames: np.ndarray, taken: np.ndarray) -> np.ndarray:
        actor.record(taken)
        return actor.probabilities(frames)

    mirrored_taken = np.array(mirror)[taken]
    plain = probabilities(StudentActor(model), frames, taken)
    plain_mirrored = probabilities(StudentActor(model), frames[:, :, ::-1], mirrored_taken)
    assert np.abs(plain[:, mirror] - plain_mirrored).max() > 1e-3  # an untrained net is not
    symmetric = probabilities(StudentActor(model, mirror=mirror), frames, taken)
    symmetric_mirrored = probabilities(
        StudentActor(model, mirror=mirror), frames[:, :, ::-1], mirrored_taken
    )
    np.testing.assert_allclose(symmetric[:, mirror], symmetric_mirrored, atol=1e-6)
    # the symmetric policy is the mean of the two halves' logits
    logits = np.log(plain) + np.log(plain_mirrored)[:, mirror]
    expected = np.exp(logits / 2) / np.exp(logits / 2).sum(-1, keepdims=True)
    np.testing.assert_allclose(symmetric, expected, atol=1e-5)


def test_a_symmetric_policy_is_exported_as_it_acts_and_needs_a_feed_forward_student(
    tmp_path,
) -> None:
    import tensorflow as tf

    from agents.gps import export_saved_model
    from agents.student_actor import StudentActor

    mirror = [0, 2, 1, 3, 5, 4]
    model = build_student((60, 80, 4), 6, StudentConfig(previous_actions=4, pooling="height_max"))
    obs = np.random.default_rng(0).integers(0, 255, (2, 60, 80, 4), dtype=np.uint8)
    actor = StudentActor(model, mirror=mirror)
    actor.record(np.array([3, 1]))
    history = actor.history(2)
    expected = actor.probabilities(obs)
    loaded = tf.saved_model.load(str(export_saved_model(model, tmp_path / "sm", mirror)))
    served = loaded.serve(obs, history)
    np.testing.assert_allclose(served["probabilities"].numpy(), expected, rtol=1e-5)
    recurrent = build_student((60, 80, 4), 6, StudentConfig(recurrent_units=8))
    with pytest.raises(ValueError, match="feed-forward"):
        StudentActor(recurrent, mirror=mirror)
