"""The run's configuration: each scenario's preset, the flags that override it and the one-line
errors for settings that cannot work (``agents.config``, ``agents.presets``)."""

from __future__ import annotations

import dataclasses

import pytest


def test_defend_the_center_defaults_are_the_measured_best_and_basic_keeps_gps() -> None:
    from scripts.train import TrainArgs, build_config

    center = build_config(TrainArgs())
    assert (center.scenario, center.mode, center.label, center.mirror) == (
        "defend_the_center",
        "dagger",
        "argmax",
        True,
    )
    basic = build_config(TrainArgs(scenario="basic"))
    assert (basic.mode, basic.label, basic.mirror) == ("gps", "softmax", False)
    assert build_config(TrainArgs(mode="gps", label="softmax", mirror=False)).mode == "gps"
    assert (center.teacher_mode, basic.teacher_mode) == ("imitable", "omniscient")
    assert build_config(TrainArgs(teacher_mode="omniscient")).teacher_mode == "omniscient"
    assert (center.env.width, center.env.height, basic.env.width) == (160, 60, 80)
    assert (center.student.pooling, center.student.previous_actions) == ("height_max", 4)
    assert (basic.student.pooling, basic.student.previous_actions) == ("flatten", 0)
    assert (center.episodes_per_iteration, center.eval_every, basic.eval_every) == (2, 4, 2)
    assert (center.turning_shots, basic.turning_shots) == (False, True)
    assert (center.symmetric_evaluation, basic.symmetric_evaluation) == (True, False)
    assert not center.student.symmetric_policy  # the rollouts stay plain
    # tau 0.75 led its snapshot ensembles on the validation seeds (session 63; 0.5 in session 57)
    assert (center.logit_adjustment, basic.logit_adjustment) == (0.75, 0.0)
    assert build_config(TrainArgs(logit_adjustment=0.0)).logit_adjustment == 0.0
    assert (center.validation_episodes, basic.validation_episodes) == (20, 0)
    # the teacher's share decays 0.7 a round on defend_the_center (session 61), 0.5 elsewhere
    assert (center.beta.decay, basic.beta.decay) == (0.7, 0.5)
    assert build_config(TrainArgs(beta_decay=0.5)).beta.decay == 0.5
    assert build_config(TrainArgs(beta="constant")).beta.start == 0.5
    assert build_config(TrainArgs(turning_shots=True)).turning_shots
    for name in ("defend_the_line", "health_gathering", "health_gathering_supreme"):
        recipe = build_config(TrainArgs(scenario=name))
        supreme = name == "health_gathering_supreme"
        assert (recipe.mode, recipe.label, recipe.mirror, recipe.teacher_mode) == (
            "dagger",
            "argmax",
            not supreme,  # its maze is not a mirror image of itself
            "imitable",
        )
        # supreme's student remembers, and learns where its teacher's medikit is
        assert (recipe.student.recurrent_units, recipe.student.goal_sectors) == (
            (128, 9) if supreme else (0, 0)
        )
        assert (recipe.frames, recipe.student.previous_actions) == (300_000, 4)
        # supreme's late iterates swing less with a falling rate
        assert recipe.learning_rate_decay == ("cosine" if supreme else "constant")
        turret = name == "defend_the_line"
        assert (recipe.turning_shots, recipe.symmetric_evaluation) == (not turret, turret)
    cover = build_config(TrainArgs(scenario="take_cover"))
    # its room is a mirror image of itself: the symmetric policy is evaluated and exported
    assert (cover.symmetric_evaluation, cover.student.symmetric_policy) == (True, False)
    assert (cover.env.width, cover.eval_every, cover.episodes_per_iteration) == (160, 2, 4)
    assert cover.steps_per_iteration == 1500
    # labelled by a teacher that forgets sooner, weighted where its choice matters, 52 tics seen
    assert (cover.teacher_memory_tics, cover.label_weighting) == (40, "spread")
    assert cover.env.frame_stack_dilation == 3
    # student and teacher see 120 degrees: fireballs 45-60 degrees off the heading are in view
    assert (cover.env.field_of_view, cover.teacher_view_degrees) == (120.0, None)
    narrow = build_config(TrainArgs(scenario="take_cover", field_of_view=90.0))
    assert narrow.env.field_of_view == 90.0
    corridor = build_config(TrainArgs(scenario="deadly_corridor"))
    assert (corridor.mode, corridor.teacher_mode) == ("dagger", "imitable")
    assert (corridor.frames, corridor.episodes_per_iteration, corridor.steps_per_iteration) == (
        1_000_000,
        16,
        400,
    )
    maze = build_config(TrainArgs(scenario="my_way_home"))
    assert (maze.mode, maze.teacher_mode, maze.student.recurrent_units) == ("bc", "imitable", 128)
    assert (maze.frames, maze.validation_episodes) == (40_000, 20)
    assert center.student.recurrent_units == 0
    feed_forward = build_config(TrainArgs(scenario="my_way_home", recurrent_units=0))
    assert feed_forward.student.recurrent_units == 0


def test_beta_end_keeps_the_teacher_in_that_share_of_the_steps() -> None:
    from scripts.train import TrainArgs, build_config

    assert build_config(TrainArgs()).beta.end == 0.0
    floored = build_config(TrainArgs(beta_end=0.1)).beta
    assert [round(floored(k), 3) for k in (0, 1, 6, 7, 20)] == [1.0, 0.7, 0.118, 0.1, 0.1]
    assert build_config(TrainArgs(beta="linear", beta_end=0.2)).beta(10) == pytest.approx(0.2)


def test_a_constant_schedule_refuses_an_end_it_would_ignore() -> None:
    from core.errors import UserError
    from scripts.train import TrainArgs, build_config

    with pytest.raises(UserError, match="--beta-end needs a decaying schedule"):
        build_config(TrainArgs(beta="constant", beta_end=0.1))
    assert build_config(TrainArgs(beta="constant", beta_decay=0.3)).beta(5) == 0.3


def test_only_students_that_use_them_add_the_history_and_hidden_columns_to_the_dataset() -> None:
    from agents.config import FIELDS, dataset_fields
    from scripts.train import TrainArgs, build_config

    centre = dataset_fields(build_config(TrainArgs()))
    assert centre == tuple(f for f in FIELDS if f != "hidden")
    plain = dataset_fields(build_config(TrainArgs(scenario="basic")))
    assert "previous_actions" not in plain and len(plain) == len(FIELDS) - 2
    zeros = build_config(TrainArgs(recurrent_units=16))
    stored = build_config(TrainArgs(recurrent_units=16, initial_state="stored"))
    assert dataset_fields(zeros) == centre and dataset_fields(stored) == FIELDS
    assert build_config(TrainArgs(previous_actions=0)).student.previous_actions == 0
    narrow = build_config(TrainArgs(width=80))
    assert (narrow.env.width, narrow.env.height) == (80, 60)


def test_a_preset_s_snapshot_ensemble_yields_to_a_gru_or_a_deep_ensemble_but_asked_for_fails() -> (
    None
):
    from core.errors import UserError
    from scripts.train import TrainArgs, build_config

    assert build_config(TrainArgs(scenario="defend_the_center")).snapshot_ensemble == 4
    assert build_config(TrainArgs(recurrent_units=16)).snapshot_ensemble == 0
    assert build_config(TrainArgs(ensemble_size=2)).snapshot_ensemble == 0
    assert build_config(TrainArgs(scenario="basic", snapshot_ensemble=3)).snapshot_ensemble == 3
    for wrong in ({"recurrent_units": 16}, {"ensemble_size": 2}):
        with pytest.raises(UserError, match="--snapshot-ensemble"):
            build_config(TrainArgs(snapshot_ensemble=2, **wrong))
    with pytest.raises(UserError, match="--snapshot-ensemble must be 0"):
        build_config(TrainArgs(snapshot_ensemble=-1))


def test_snapshots_combine_as_mean_logits_unless_mean_weights_are_asked_for_with_an_ensemble() -> (
    None
):
    from core.errors import UserError
    from scripts.train import TrainArgs, build_config

    assert build_config(TrainArgs(scenario="defend_the_center")).snapshot_combine == "logits"
    averaged = build_config(TrainArgs(scenario="defend_the_center", snapshot_combine="weights"))
    assert (averaged.snapshot_ensemble, averaged.snapshot_combine) == (4, "weights")
    with pytest.raises(UserError, match="needs a snapshot ensemble"):
        build_config(TrainArgs(scenario="basic", snapshot_combine="weights"))
    with pytest.raises(UserError, match="logits or weights"):
        build_config(TrainArgs(scenario="defend_the_center", snapshot_combine="median"))


def test_the_recurrent_flags_reach_the_config_and_a_step_takes_batch_size_frames() -> None:
    from agents.config import sequences_per_batch
    from core.errors import UserError
    from scripts.train import TrainArgs, build_config

    plain = build_config(TrainArgs(scenario="basic"))
    assert (plain.student.recurrent_units, plain.sequence_length, plain.burn_in) == (0, 16, 8)
    assert sequences_per_batch(plain) == 4  # 4 sequences of 16 steps: 64 frames, as 64 rows
    gru = build_config(TrainArgs(recurrent_units=64, sequence_length=8, burn_in=2, batch_size=96))
    assert (gru.student.recurrent_units, gru.sequence_length, gru.burn_in) == (64, 8, 2)
    assert sequences_per_batch(gru) == 12
    with pytest.raises(UserError, match="burn-in"):
        build_config(TrainArgs(recurrent_units=8, sequence_length=8, burn_in=8))


def test_enemy_columns_reach_the_student_and_out_of_range_is_a_user_error() -> None:
    from core.errors import UserError
    from scripts.train import TrainArgs, build_config

    assert build_config(TrainArgs()).student.enemy_columns == 5
    assert build_config(TrainArgs(enemy_columns=32)).student.enemy_columns == 32
    for bad in (0, 1, 128):
        with pytest.raises(UserError, match="enemy-columns"):
            build_config(TrainArgs(enemy_columns=bad))


def test_goal_sectors_reach_the_student_and_out_of_range_is_a_user_error() -> None:
    from core.errors import UserError
    from scripts.train import TrainArgs, build_config

    assert build_config(TrainArgs()).student.goal_sectors == 0  # no goal head
    assert build_config(TrainArgs(goal_sectors=9)).student.goal_sectors == 9
    for bad in (1, 128):
        with pytest.raises(UserError, match="goal-sectors"):
            build_config(TrainArgs(goal_sectors=bad))


def test_render_resolution_reaches_the_engine_and_an_unknown_one_is_a_user_error() -> None:
    from core.errors import UserError
    from envs.factory import make_env
    from scripts.train import TrainArgs, build_config

    assert build_config(TrainArgs()).env.render_resolution == "RES_160X120"
    config = build_config(TrainArgs(width=320, render_resolution="RES_320X240")).env
    env = make_env("defend_the_center", config=dataclasses.replace(config, engine_state=True))
    try:
        observation, _ = env.reset(seed=0)
        assert observation.shape == (60, 320, 4)
        assert env.unwrapped.engine_state().screen_size == (320, 240)
    finally:
        env.close()
    with pytest.raises(UserError, match="render-resolution 'RES_1X1'"):
        build_config(TrainArgs(render_resolution="RES_1X1"))


def test_frame_stack_dilation_reaches_the_env_config_and_below_one_is_a_user_error() -> None:
    from core.errors import UserError
    from scripts.train import TrainArgs, build_config

    def dilation(**flags) -> int:
        return build_config(TrainArgs(**flags)).env.frame_stack_dilation

    assert dilation(scenario="basic") == 1
    assert dilation(scenario="basic", frame_stack_dilation=2) == 2
    assert dilation(scenario="defend_the_center") == 2  # its preset
    assert dilation(scenario="defend_the_center", frame_stack_dilation=1) == 1
    with pytest.raises(UserError, match="frame-stack-dilation"):
        build_config(TrainArgs(frame_stack_dilation=0))


def test_frame_skip_reaches_the_env_config_and_one_a_teacher_cannot_track_is_a_user_error():
    from core.errors import UserError
    from scripts.train import TrainArgs, build_config

    def frame_skip(**flags) -> int:
        return build_config(TrainArgs(**flags)).env.frame_skip

    assert frame_skip(scenario="basic") == 4
    assert frame_skip(scenario="basic", frame_skip=2) == 2
    for bad in (0, 17):
        with pytest.raises(UserError, match="--frame-skip must be from 1 to 16"):
            build_config(TrainArgs(frame_skip=bad))


def test_action_noise_reaches_the_config_and_one_or_more_is_a_user_error():
    from core.errors import UserError
    from scripts.train import TrainArgs, build_config

    assert build_config(TrainArgs(scenario="basic")).action_noise == 0.0
    assert build_config(TrainArgs(scenario="basic", action_noise=0.1)).action_noise == 0.1
    assert build_config(TrainArgs()).action_noise == 0.0  # no preset takes it (docs/agents.md)
    for bad in (-0.1, 1.0):
        with pytest.raises(UserError, match="--action-noise must be in"):
            build_config(TrainArgs(action_noise=bad))


def test_the_size_flags_build_a_student_of_that_size_and_zero_is_a_user_error() -> None:
    from agents.student import build_student
    from core.errors import UserError
    from scripts.train import TrainArgs, build_config

    small = build_config(TrainArgs(scenario="defend_the_center")).student
    assert (small.stem_filters, small.dilated_filters, small.bottleneck_filters) == (16, 16, 8)
    assert small.dense_units == 128
    cover = build_config(TrainArgs(scenario="take_cover")).student  # its preset: twice as wide
    assert (cover.stem_filters, cover.dilated_filters, cover.bottleneck_filters) == (32, 32, 16)
    assert cover.dense_units == 256
    flags = dict(stem_filters=32, dilated_filters=24, bottleneck_filters=12, dense_units=64)
    wide = build_config(TrainArgs(scenario="take_cover", **flags)).student
    assert [getattr(wide, name) for name in flags] == list(flags.values())
    model = build_student((60, 160, 4), 3, wide)
    layers = [layer for layer in model.layers if hasattr(layer, "kernel")]
    kernel = {layer.name: tuple(layer.kernel.shape) for layer in layers}
    assert kernel["stem"][-1] == 32
    assert kernel["bottleneck"][-2:] == (24, 12)  # the last dilated conv's channels in
    assert kernel["features"][-1] == 64 and kernel["policy"] == (64, 3)
    for name in flags:
        with pytest.raises(UserError, match="--" + name.replace("_", "-")):
            build_config(TrainArgs(scenario="take_cover", **{name: 0}))


def test_field_of_view_reaches_the_env_config_and_out_of_range_is_a_user_error() -> None:
    from core.errors import UserError
    from scripts.train import TrainArgs, build_config

    assert build_config(TrainArgs(scenario="basic")).env.field_of_view == 90.0
    assert build_config(TrainArgs(field_of_view=120.0)).env.field_of_view == 120.0
    for bad in (4.0, 180.0):
        with pytest.raises(UserError, match="field-of-view"):
            build_config(TrainArgs(field_of_view=bad))


def test_screen_flashes_are_off_unless_turned_on() -> None:
    from scripts.train import TrainArgs, build_config

    for scenario in ("basic", "defend_the_center", "take_cover"):
        assert not build_config(TrainArgs(scenario=scenario)).env.screen_flashes
    assert build_config(TrainArgs(screen_flashes=True)).env.screen_flashes


def test_hold_fire_reaches_the_config_and_needs_a_scenario_that_fires() -> None:
    from core.errors import UserError
    from scripts.train import TrainArgs, build_config

    assert build_config(TrainArgs()).hold_fire == 0
    assert build_config(TrainArgs(hold_fire=50)).hold_fire == 50
    with pytest.raises(UserError, match="hold-fire: health_gathering has no action that fires"):
        build_config(TrainArgs(scenario="health_gathering", hold_fire=50))
    with pytest.raises(UserError, match="hold-fire must be >= 0"):
        build_config(TrainArgs(hold_fire=-1))


def test_mirror_unseen_reaches_the_config_and_a_recurrent_student_refuses_it() -> None:
    from core.errors import UserError
    from scripts.train import TrainArgs, build_config

    assert build_config(TrainArgs()).mirror_unseen
    assert not build_config(TrainArgs(mirror_unseen=False)).mirror_unseen
    with pytest.raises(UserError, match="mirror-unseen"):
        build_config(TrainArgs(mirror_unseen=False, recurrent_units=16))


def test_a_random_shift_comes_from_the_flag_or_the_preset_and_half_the_image_is_refused() -> None:
    from core.errors import UserError
    from scripts.train import TrainArgs, build_config

    assert build_config(TrainArgs()).random_shift == 0
    assert build_config(TrainArgs(random_shift=4)).random_shift == 4
    supreme = TrainArgs(scenario="health_gathering_supreme")
    assert build_config(supreme).random_shift == 4  # its preset, as deadly_corridor's
    assert build_config(TrainArgs(scenario="deadly_corridor")).random_shift == 4
    assert build_config(dataclasses.replace(supreme, random_shift=0)).random_shift == 0
    for bad in (-1, 30):  # the 60-pixel-high image allows up to 29
        with pytest.raises(UserError, match=r"random-shift must be from 0 \(off\) to 29 pixels"):
            build_config(TrainArgs(random_shift=bad))


def test_symmetric_policy_reaches_the_student_and_a_recurrent_one_is_a_user_error() -> None:
    from core.errors import UserError
    from scripts.train import TrainArgs, build_config

    assert not build_config(TrainArgs()).student.symmetric_policy
    assert build_config(TrainArgs(symmetric_policy=True)).student.symmetric_policy
    with pytest.raises(UserError, match="feed-forward"):
        build_config(TrainArgs(symmetric_policy=True, recurrent_units=16))


def test_symmetric_evaluation_reaches_the_config_and_needs_a_feed_forward_student() -> None:
    from agents.config import evaluates_symmetric
    from core.errors import UserError
    from scripts.train import TrainArgs, build_config

    plain, evaluated = (
        build_config(TrainArgs(symmetric_evaluation=flag)) for flag in (False, True)
    )
    assert (evaluates_symmetric(plain), evaluates_symmetric(evaluated)) == (False, True)
    assert not evaluated.student.symmetric_policy  # the rollouts stay plain
    assert evaluates_symmetric(build_config(TrainArgs(symmetric_policy=True)))
    # a saved config.json: older runs have no symmetric_evaluation key
    assert evaluates_symmetric(
        {"student": {"symmetric_policy": False}, "symmetric_evaluation": True}
    )
    assert not evaluates_symmetric({"student": {"symmetric_policy": False}})
    with pytest.raises(UserError, match="feed-forward"):
        build_config(TrainArgs(symmetric_evaluation=True, recurrent_units=16))
    # the preset's symmetric evaluation yields to a recurrent student
    assert not build_config(TrainArgs(recurrent_units=16)).symmetric_evaluation
    with pytest.raises(UserError, match="feed-forward"):  # my_way_home's preset has a GRU
        build_config(TrainArgs(scenario="my_way_home", symmetric_evaluation=True))


def test_precision_auto_is_resolved_before_the_run_records_it() -> None:
    from core.precision import auto_precision
    from scripts.train import TrainArgs, build_config

    assert build_config(TrainArgs()).student.precision == "float32"
    auto = build_config(TrainArgs(precision="auto")).student
    assert auto.precision == auto_precision()[0] != "auto"


def test_turning_when_hurt_reaches_the_teacher_s_options_only_when_asked_for() -> None:
    from agents.config import teacher_options
    from scripts.train import TrainArgs, build_config

    assert "hurt_turn_tics" not in teacher_options(build_config(TrainArgs()))
    config = build_config(TrainArgs(teacher_hurt_turn_tics=35))
    assert config.teacher_hurt_turn_tics == 35
    assert teacher_options(config)["hurt_turn_tics"] == 35


def test_a_take_cover_student_can_see_wider_than_its_teacher_remembers_from() -> None:
    from agents.config import teacher_options
    from scripts.train import TrainArgs, build_config

    wide = build_config(
        TrainArgs(scenario="take_cover", field_of_view=120.0, teacher_view_degrees=90.0)
    )
    assert wide.env.field_of_view == 120.0
    assert teacher_options(wide) == {"memory_tics": 40, "view_degrees": 90.0}
    assert "view_degrees" not in teacher_options(build_config(TrainArgs(scenario="take_cover")))
