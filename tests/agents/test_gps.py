"""The alternation on the real engine: a CI learning test on basic, the CLI, Ctrl-C and resume."""

from __future__ import annotations

import itertools
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from scripts.doomgps import run_command

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def basic_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict]:
    """Behaviour cloning on basic: ~20 teacher episodes (400 frames) and 200 optimizer steps."""
    runs = tmp_path_factory.mktemp("runs")
    code = run_command(
        [
            "train",
            "--scenario",
            "basic",
            "--mode",
            "bc",
            "--frames",
            "400",
            "--episodes-per-iteration",
            "20",
            "--steps-per-iteration",
            "200",
            "--eval-episodes",
            "20",
            "--runs",
            str(runs),
        ]
    )
    assert code == 0
    (run_dir,) = runs.iterdir()
    return run_dir, json.loads((run_dir / "summary.json").read_text())


def test_a_few_teacher_episodes_lift_the_student_far_above_random(basic_run) -> None:
    _, result = basic_run
    student, random = result["student"], result["random"]
    assert student["seeds"] == random["seeds"] == result["teacher"]["seeds"] == list(range(20))
    assert student["mean_return"] > random["mean_return"] + 100
    assert 400 <= result["frames"] < 400 + 4 * 4  # engine frames: agent steps x frame skip
    assert result["optimizer_steps"] == 200 and result["iterations"] == 1


def test_the_cli_evaluates_a_saved_student_on_the_same_seeds(basic_run, capsys) -> None:
    run_dir, result = basic_run
    capsys.readouterr()
    assert (
        run_command(
            [
                "eval",
                "--scenario",
                "basic",
                "--policy",
                str(run_dir),
                "--episodes",
                "20",
                "--json",
                "--min-return",
                str(result["random"]["mean_return"] + 100),
            ]
        )
        == 0
    )
    report = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert report["returns"] == result["student"]["returns"]
    assert (
        run_command(
            [
                "eval",
                "--scenario",
                "basic",
                "--policy",
                str(run_dir / "checkpoints"),
                "--episodes",
                "2",
                "--min-return",
                "1000",
            ]
        )
        == 1
    )


def test_a_student_of_another_scenario_is_a_one_line_error(basic_run, capsys) -> None:
    run_dir, _ = basic_run
    assert run_command(["eval", "--scenario", "defend_the_center", "--policy", str(run_dir)]) == 2
    assert "trained on basic" in capsys.readouterr().err


def test_a_run_directory_in_use_by_another_process_is_a_one_line_error(basic_run, capsys) -> None:
    from core.run_dir import exclusive

    run_dir, _ = basic_run
    capsys.readouterr()
    with exclusive(run_dir):
        assert run_command(["train", "--resume", str(run_dir)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "in use by another process" in err[0]


def test_the_exported_saved_model_acts_like_the_student(basic_run) -> None:
    import tensorflow as tf

    from agents.dataset import ShardedDataset
    from agents.student_actor import load_student_actor
    from envs.registry import get_spec

    run_dir, _ = basic_run
    obs = ShardedDataset(run_dir / "dataset").load()["observation"][:16]
    loaded = tf.saved_model.load(str(run_dir / "saved_model"))
    served = loaded.serve(obs)
    actor, env_config = load_student_actor(run_dir, get_spec("basic"))
    assert env_config.observation_shape == obs.shape[1:] and not env_config.engine_state
    np.testing.assert_array_equal(served["action"].numpy(), actor.act(obs))


def test_a_weight_averaged_run_acts_evaluates_and_exports_its_average(
    tmp_path: Path, capsys
) -> None:
    import tensorflow as tf

    from agents.dataset import ShardedDataset
    from agents.student import StudentConfig, build_student
    from agents.student_actor import load_student_actor
    from core.checkpoint import Checkpointer
    from envs.config import EnvConfig
    from envs.registry import get_spec

    args = ["--scenario", "basic", "--mode", "bc", "--frames", "200", "--eval-episodes", "5"]
    args += ["--episodes-per-iteration", "10", "--steps-per-iteration", "60"]
    assert run_command(["train", *args, "--average-decay", "0.9", "--runs", str(tmp_path)]) == 0
    (run_dir,) = tmp_path.iterdir()
    result = json.loads((run_dir / "summary.json").read_text())
    spec = get_spec("basic")
    actor, _ = load_student_actor(run_dir, spec)
    trained = build_student(EnvConfig().observation_shape, len(spec.actions), StudentConfig())
    checkpointer = Checkpointer(run_dir / "checkpoints", model=trained)
    checkpointer.checkpoint.restore(checkpointer.latest).expect_partial()
    assert any(
        not np.allclose(a, b)
        for a, b in zip(actor.model.get_weights(), trained.get_weights(), strict=True)
    ), "the evaluated student is the average, not the last iterate"
    obs = ShardedDataset(run_dir / "dataset").load()["observation"][:16]
    loaded = tf.saved_model.load(str(run_dir / "saved_model"))
    served = loaded.serve(obs)
    np.testing.assert_array_equal(served["action"].numpy(), actor.act(obs))
    capsys.readouterr()
    assert (
        run_command(
            ["eval", "--scenario", "basic", "--policy", str(run_dir), "--episodes", "5", "--json"]
        )
        == 0
    )
    report = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert report["returns"] == result["student"]["returns"]
    assert run_command(["train", *args, "--average-decay", "1.0", "--runs", str(tmp_path)]) == 2


def test_a_bfloat16_run_is_evaluated_by_the_cli_with_the_numerics_it_trained_with(
    tmp_path: Path, capsys
) -> None:
    import keras

    from agents.student_actor import load_student_actor
    from envs.registry import get_spec

    args = ["--scenario", "basic", "--mode", "bc", "--frames", "200", "--eval-episodes", "5"]
    args += ["--episodes-per-iteration", "10", "--steps-per-iteration", "60"]
    args += ["--precision", "mixed_bfloat16", "--runs", str(tmp_path)]
    assert run_command(["train", *args]) == 0
    assert keras.mixed_precision.dtype_policy().name == "float32"  # the run leaked nothing
    (run_dir,) = tmp_path.iterdir()
    result = json.loads((run_dir / "summary.json").read_text())
    actor, _ = load_student_actor(run_dir, get_spec("basic"))
    assert actor.model.get_layer("stem").compute_dtype == "bfloat16"
    capsys.readouterr()
    command = ["eval", "--scenario", "basic", "--policy", str(run_dir), "--episodes", "5"]
    assert run_command([*command, "--json"]) == 0
    report = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert report["returns"] == result["student"]["returns"]


@pytest.mark.parametrize(
    ("flag", "rollouts_symmetric"),
    [("--symmetric-policy", True), ("--symmetric-evaluation", False)],
)
def test_a_symmetric_run_evaluates_and_exports_the_symmetric_policy(
    tmp_path: Path, capsys, monkeypatch, flag: str, rollouts_symmetric: bool
) -> None:
    """``--symmetric-policy`` acts symmetrically in the rollouts too; ``--symmetric-evaluation``
    only evaluates, chooses and exports the symmetric policy."""
    import tensorflow as tf

    from agents import gps
    from agents.dataset import ShardedDataset
    from agents.learner import mirror_permutation
    from agents.student_actor import load_student_actor
    from envs.registry import get_spec

    rollout_mirrors = []
    mixing_init = gps.MixingActor.__init__

    def spy(self, teacher, student, beta, rng, *rest) -> None:
        rollout_mirrors.append(student.mirror)
        mixing_init(self, teacher, student, beta, rng, *rest)

    monkeypatch.setattr(gps.MixingActor, "__init__", spy)
    args = ["--scenario", "basic", "--mode", "bc", "--frames", "200", "--eval-episodes", "5"]
    args += ["--episodes-per-iteration", "10", "--steps-per-iteration", "60"]
    assert run_command(["train", *args, flag, "True", "--runs", str(tmp_path)]) == 0
    (run_dir,) = tmp_path.iterdir()
    symmetric = mirror_permutation(get_spec("basic").action_names)
    assert rollout_mirrors and all(
        m == (symmetric if rollouts_symmetric else None) for m in rollout_mirrors
    )
    result = json.loads((run_dir / "summary.json").read_text())
    spec = get_spec("basic")
    actor, _ = load_student_actor(run_dir, spec)
    assert actor.mirror == mirror_permutation(spec.action_names)
    obs = ShardedDataset(run_dir / "dataset").load()["observation"][:16]
    loaded = tf.saved_model.load(str(run_dir / "saved_model"))
    served = loaded.serve(obs)
    np.testing.assert_allclose(served["probabilities"].numpy(), actor.probabilities(obs), rtol=1e-5)
    capsys.readouterr()
    command = ["eval", "--scenario", "basic", "--policy", str(run_dir), "--episodes", "5"]
    assert run_command([*command, "--json"]) == 0
    report = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert report["returns"] == result["student"]["returns"]
    # the same weights without the mirror half: another policy, chosen per evaluation
    assert load_student_actor(run_dir, spec, symmetric=False)[0].mirror is None
    assert run_command([*command, "--json", "--symmetric-policy", "False"]) == 0
    plain = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert plain["seeds"] == report["seeds"]
    flags = ["eval", "--scenario", "basic", "--policy", "random", "--symmetric-policy", "True"]
    assert run_command(flags) == 2
    assert "student" in capsys.readouterr().err


def test_a_recurrent_student_trains_evaluates_exports_and_is_evaluated_by_the_cli(
    tmp_path: Path, capsys
) -> None:
    """DAgger on basic with a GRU core: 2 iterations of 100 steps of 8 sequences of 8 steps."""
    import tensorflow as tf

    from agents.dataset import ShardedDataset
    from agents.student_actor import load_student_actor
    from envs.registry import get_spec

    args = ["--scenario", "basic", "--mode", "dagger", "--frames", "400", "--eval-episodes", "10"]
    args += ["--episodes-per-iteration", "10", "--steps-per-iteration", "100"]
    args += ["--recurrent-units", "32", "--sequence-length", "8", "--burn-in", "2"]
    assert run_command(["train", *args, "--runs", str(tmp_path)]) == 0
    (run_dir,) = tmp_path.iterdir()
    result = json.loads((run_dir / "summary.json").read_text())
    config = json.loads((run_dir / "config.json").read_text())
    assert config["student"]["recurrent_units"] == 32 and config["sequence_length"] == 8
    assert result["optimizer_steps"] == 200 and result["iterations"] == 2
    # measured: 43.3 against random's -171.8 (the teacher: 79.8)
    assert result["student"]["mean_return"] > result["random"]["mean_return"] + 100

    actor, _ = load_student_actor(run_dir, get_spec("basic"))
    assert actor.recurrent_units == 32
    rows = ShardedDataset(run_dir / "dataset").load()
    first = rows["observation"][rows["episode"] == rows["episode"][0]]  # one episode, in order
    served = tf.saved_model.load(str(run_dir / "saved_model"))
    state = np.zeros((1, 32), np.float32)
    actor.reset(0)
    for frame in first:
        out = served.serve(frame[None], state)
        assert out["action"].numpy()[0] == actor.act(frame[None])[0]
        state = out["state"].numpy()
        np.testing.assert_allclose(state, actor.hidden_state(1), atol=1e-5)
    assert len(first) > 1 and np.abs(state).max() > 0

    capsys.readouterr()
    flags = ["--scenario", "basic", "--policy", str(run_dir), "--episodes", "10", "--json"]
    assert run_command(["eval", *flags]) == 0
    report = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert report["returns"] == result["student"]["returns"]
    assert run_command(["eval", *flags, "--symmetric-policy", "True"]) == 2
    assert "recurrent" in capsys.readouterr().err


def test_ctrl_c_leaves_a_run_that_resumes_to_the_end(tmp_path: Path, capsys) -> None:
    flags = [
        "--scenario",
        "basic",
        "--mode",
        "gps",
        "--frames",
        "700",
        "--episodes-per-iteration",
        "4",
        "--steps-per-iteration",
        "30",
        "--eval-episodes",
        "4",
        "--eval-every",
        "1",
        "--runs",
        str(tmp_path),
    ]
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "PYTHONUNBUFFERED": "1"}
    process = subprocess.Popen(
        [sys.executable, "-m", "scripts.doomgps", "train", *flags],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        # a background shell starts children with SIGINT ignored
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    lines = []
    deadline = time.monotonic() + 150
    for line in process.stdout:
        lines.append(line)
        if line.startswith("iter   1") or time.monotonic() > deadline:
            break
    process.send_signal(signal.SIGINT)
    _, err = process.communicate(timeout=120)
    assert any(line.startswith("iter   1") for line in lines), "".join(lines) + err
    assert process.returncode == 130
    assert "doomgps train --resume" in err
    (run_dir,) = tmp_path.iterdir()
    interrupted = json.loads((run_dir / "state.json").read_text())
    assert interrupted["iteration"] >= 1 and interrupted["frames"] < 700

    capsys.readouterr()
    assert run_command(["train", "--resume", str(run_dir)]) == 0
    state = json.loads((run_dir / "state.json").read_text())
    result = json.loads((run_dir / "summary.json").read_text())
    assert state["trained"] and state["frames"] == result["frames"] >= 700
    assert result["optimizer_steps"] == 30 * result["iterations"]
    # both sittings ran here: the run records this machine once and says so at its end
    from core.hardware import describe_hardware, machines_line

    assert result["hardware"] == state["hardware"] == [describe_hardware()]
    assert f"s {machines_line(result['hardware'])}" in capsys.readouterr().out
    from agents.dataset import ShardedDataset

    rows = ShardedDataset(run_dir / "dataset").load()
    # every iteration once, in order: rows of the interrupted one were set aside, not mixed in
    assert set(np.unique(rows["iteration"])) == set(range(result["iterations"]))
    assert np.all(np.diff(rows["iteration"]) >= 0)
    assert (run_dir / "saved_model" / "saved_model.pb").exists()


def test_a_run_resumed_on_another_machine_records_both_machines(
    tmp_path: Path, capsys, monkeypatch
) -> None:
    import core.hardware

    args = ["--scenario", "basic", "--mode", "bc", "--frames", "100", "--eval-episodes", "2"]
    args += ["--episodes-per-iteration", "4", "--steps-per-iteration", "10"]
    assert run_command(["train", *args, "--runs", str(tmp_path)]) == 0
    (run_dir,) = tmp_path.iterdir()
    here = core.hardware.describe_hardware()
    elsewhere = {**here, "cpu": "Another CPU", "cores": 64, "gpus": ["NVIDIA H200"]}
    monkeypatch.setattr(core.hardware, "describe_hardware", lambda: elsewhere)
    capsys.readouterr()
    assert run_command(["train", "--resume", str(run_dir), "--frames", "200"]) == 0
    result = json.loads((run_dir / "summary.json").read_text())
    assert result["frames"] >= 200 and result["hardware"] == [here, elsewhere]
    out = capsys.readouterr().out
    assert "then on Another CPU, 64 cores" in out and "NVIDIA H200" in out


def test_demo_trains_and_prints_the_comparison_and_the_tensorboard_command(
    tmp_path: Path, capsys
) -> None:
    assert (
        run_command(
            [
                "demo",
                "--scenario",
                "basic",
                "--frames",
                "100",
                "--eval-episodes",
                "4",
                "--runs",
                str(tmp_path),
            ]
        )
        == 0
    )
    out = capsys.readouterr().out
    for row in ("| student |", "| teacher |", "| random  |"):
        assert row in out
    (run_dir,) = tmp_path.iterdir()
    assert f"tensorboard --logdir {run_dir / 'tb'}" in out
    from core.hardware import cpu_model

    assert f" s on {cpu_model()}, " in out  # where the wall time was measured
    assert list((run_dir / "tb").glob("events.out.tfevents.*"))


def test_spread_weighting_and_score_regression_give_the_learner_the_teachers_scores() -> None:
    from agents.gps import training_columns
    from core.errors import UserError
    from scripts.train import TrainArgs, build_config

    arrays = {
        "observation": np.zeros((2, 60, 160, 4), np.uint8),
        "previous_actions": np.zeros((2, 4), np.int8),
        "label": np.full((2, 3), 1 / 3, np.float32),
        "aux": np.zeros((2, 4), np.int8),
        "scores": np.array([[0.0, -0.01, -0.01], [-2.0, -0.01, -3.0]], np.float32),
        "episode": np.zeros(2, np.int64),
    }
    plain = build_config(TrainArgs(scenario="take_cover", label_weighting="uniform"))
    columns = {"observation", "previous_actions", "label", "aux"}
    assert set(training_columns(plain, arrays)) == columns
    assert build_config(TrainArgs(scenario="defend_the_center")).label_weighting == "uniform"
    spread = build_config(TrainArgs(scenario="take_cover"))  # its preset's weighting
    weight = training_columns(spread, arrays)["weight"]
    np.testing.assert_allclose(weight, np.array([0.03, 3.01]) / 1.52, rtol=1e-5)
    with pytest.raises(UserError, match="weight-floor"):
        build_config(TrainArgs(label_weighting="spread", weight_floor=0.0))
    regression = build_config(
        TrainArgs(
            scenario="take_cover",
            label_weighting="uniform",
            policy_loss="score_regression",
            tau=0.05,
        )
    )
    assert set(training_columns(regression, arrays)) == columns | {"scores"}
    np.testing.assert_array_equal(training_columns(regression, arrays)["scores"], arrays["scores"])
    with pytest.raises(UserError, match="--mode dagger or bc"):
        build_config(TrainArgs(scenario="take_cover", mode="gps", policy_loss="score_regression"))


def test_a_goal_head_run_stores_the_sector_of_the_gatherers_medikit_and_trains_on_it(
    tmp_path: Path,
) -> None:
    """health_gathering, a GRU student with the goal head: one short DAgger round."""
    from agents.dataset import ShardedDataset
    from agents.student import AUX_NAMES
    from agents.student_actor import load_student_actor
    from envs.registry import get_spec

    args = ["--scenario", "health_gathering", "--frames", "1200", "--eval-episodes", "2"]
    args += ["--episodes-per-iteration", "2", "--steps-per-iteration", "20"]
    args += ["--validation-episodes", "0", "--recurrent-units", "16", "--mirror", "False"]
    assert run_command(["train", *args, "--goal-sectors", "9", "--runs", str(tmp_path)]) == 0
    (run_dir,) = tmp_path.iterdir()
    assert json.loads((run_dir / "config.json").read_text())["student"]["goal_sectors"] == 9
    aux = ShardedDataset(run_dir / "dataset").load()["aux"]
    assert aux.shape == (len(aux), 5)  # no aim-offset column
    sectors = aux[:, AUX_NAMES.index("goal_sector")]
    # the teacher walks to a medikit most of the time, and they lie all round it
    assert (sectors >= 0).mean() > 0.5 and sectors.max() < 9
    assert len(np.unique(sectors[sectors >= 0])) >= 3
    actor, _ = load_student_actor(run_dir, get_spec("health_gathering"))
    assert actor.model.output["goal_sector"].shape[-1] == 9


def test_an_aim_offset_run_stores_where_the_demon_nearest_the_crosshair_lies_and_trains_on_it(
    tmp_path: Path,
) -> None:
    """defend_the_center with the aim-offset head: one short DAgger round."""
    from agents.dataset import ShardedDataset
    from agents.student import AIM_OFFSET_CLASSES, AUX_NAMES
    from agents.student_actor import load_student_actor
    from envs.registry import get_spec

    args = ["--scenario", "defend_the_center", "--frames", "1200", "--eval-episodes", "2"]
    args += ["--episodes-per-iteration", "2", "--steps-per-iteration", "20"]
    args += ["--validation-episodes", "0", "--aim-offset-head", "True"]
    assert run_command(["train", *args, "--runs", str(tmp_path)]) == 0
    (run_dir,) = tmp_path.iterdir()
    assert json.loads((run_dir / "config.json").read_text())["student"]["aim_offset_head"]
    aux = ShardedDataset(run_dir / "dataset").load()["aux"]
    assert aux.shape == (len(aux), 6) and (aux[:, 4] == -1).all()  # no goal head
    offsets = aux[:, AUX_NAMES.index("aim_offset")]
    # demons on both sides and on the crosshair itself, where the teacher shoots them
    seen = offsets[offsets >= 0]
    assert len(seen) > 0.5 * len(aux) and seen.max() < AIM_OFFSET_CLASSES
    assert (seen < 5).any() and (seen == 5).any() and (seen > 5).any()
    actor, _ = load_student_actor(run_dir, get_spec("defend_the_center"))
    assert actor.model.output["aim_offset"].shape[-1] == AIM_OFFSET_CLASSES


def test_mixing_tells_teacher_and_student_the_actions_really_taken() -> None:
    from agents.gps import MixingActor

    class Teachers:
        def action_scores(self, states):
            return np.array([[0.0, 1.0, 0.0]] * len(states))  # the teacher's best: action 1

        def taken(self, actions):
            self.actions = np.asarray(actions)

        def goals(self):
            return [None] * 3

    class Student:
        def history(self, num_envs):
            return np.zeros((num_envs, 0), np.int32)

        def hidden_state(self, num_envs):
            return np.zeros((num_envs, 0), np.float32)

        def probabilities(self, observations):
            return np.array([[0.1, 0.1, 0.8]] * len(observations))  # the student's: action 2

        def choose(self, probs):
            return probs.argmax(-1)

        def record(self, actions):
            self.actions = np.asarray(actions)

    teacher, student = Teachers(), Student()
    rng = np.random.default_rng(0)
    students_turn = MixingActor(teacher, student, beta=0.0, rng=rng)
    assert students_turn.act(np.zeros((3, 1)), [None] * 3).tolist() == [2, 2, 2]
    assert teacher.actions.tolist() == student.actions.tolist() == [2, 2, 2]
    teachers_turn = MixingActor(teacher, student, beta=1.0, rng=rng)
    assert teachers_turn.act(np.zeros((3, 1)), [None] * 3).tolist() == [1, 1, 1]
    assert teacher.actions.tolist() == student.actions.tolist() == [1, 1, 1]


def test_action_noise_replaces_that_share_of_the_actions_and_tells_both_learners() -> None:
    from agents.gps import MixingActor

    class Teachers:
        def action_scores(self, states):
            return np.array([[0.0, 1.0, 0.0, 0.0]] * len(states))  # the teacher's best: action 1

        def taken(self, actions):
            self.actions = np.asarray(actions)

        def goals(self):
            return [None] * len(self.actions)

    class Student:
        def history(self, num_envs):
            return np.zeros((num_envs, 0), np.int32)

        def hidden_state(self, num_envs):
            return np.zeros((num_envs, 0), np.float32)

        def probabilities(self, observations):
            return np.array([[0.1, 0.1, 0.7, 0.1]] * len(observations))  # the student's: 2

        def choose(self, probs):
            return probs.argmax(-1)

        def record(self, actions):
            self.actions = np.asarray(actions)

    teacher, student = Teachers(), Student()
    for beta, chosen in ((1.0, 1), (0.0, 2)):
        mixing = MixingActor(teacher, student, beta, np.random.default_rng(0), action_noise=0.2)
        actions = np.concatenate([mixing.act(np.zeros((500, 1)), [None] * 500) for _ in range(4)])
        replaced = actions != chosen
        # a fifth of the steps draw a uniform action, and 3 of 4 draws differ from the choice
        assert 0.12 < replaced.mean() < 0.18
        assert set(actions[replaced].tolist()) == {0, 1, 2, 3} - {chosen}
        assert teacher.actions.tolist() == student.actions.tolist() == actions[-500:].tolist()
        assert not mixing.last.teacher_acted[actions[-500:] != chosen].any()
    quiet = MixingActor(teacher, student, 1.0, np.random.default_rng(0))
    assert (quiet.act(np.zeros((500, 1)), [None] * 500) == 1).all()


def test_unfired_actions_map_each_action_to_its_buttons_without_attack() -> None:
    from agents.gps import unfired_actions
    from envs.registry import get_spec

    # NOOP, TURN_L, TURN_R, ATTACK, TURN_L+ATTACK, TURN_R+ATTACK
    assert unfired_actions(get_spec("defend_the_center").actions).tolist() == [0, 1, 2, 0, 1, 2]
    with pytest.raises(ValueError, match="ATTACK"):
        unfired_actions(get_spec("health_gathering").actions)


def test_held_episodes_fire_no_shot_for_their_first_steps_and_the_teacher_is_told() -> None:
    from agents.gps import MixingActor, unfired_actions
    from envs.registry import get_spec

    class Teachers:
        def action_scores(self, states):
            return np.array([[0.0, 0.0, 0.0, 0.0, 1.0, 0.0]] * len(states))  # TURN_L+ATTACK

        def reset(self, env_index):
            pass

        def taken(self, actions):
            self.actions = np.asarray(actions)

        def goals(self):
            return [None] * len(self.actions)

    class Student(Teachers):
        def history(self, num_envs):
            return np.zeros((num_envs, 0), np.int32)

        def hidden_state(self, num_envs):
            return np.zeros((num_envs, 0), np.float32)

        def probabilities(self, observations):
            return np.full((len(observations), 6), 1 / 6)

        def choose(self, probs):
            return probs.argmax(-1)

        def record(self, actions):
            self.actions = np.asarray(actions)

    teacher, student, envs = Teachers(), Student(), 400
    unfired = unfired_actions(get_spec("defend_the_center").actions)
    mixing = MixingActor(teacher, student, 1.0, np.random.default_rng(0), 0.0, 3, unfired)
    for env in range(envs):
        mixing.reset(env)
    steps, teacher_acted = [], []
    for _ in range(5):
        steps.append(mixing.act(np.zeros((envs, 1)), [None] * envs))
        teacher_acted.append(mixing.last.teacher_acted)
        assert teacher.actions.tolist() == student.actions.tolist() == steps[-1].tolist()
    held = steps[0] == 1  # TURN_L without its shot
    assert 0.4 < held.mean() < 0.6  # half the episodes, drawn at their start
    for actions, acted in zip(steps[:3], teacher_acted[:3], strict=True):
        assert (actions == np.where(held, 1, 4)).all() and (acted == ~held).all()
    for actions, acted in zip(steps[3:], teacher_acted[3:], strict=True):
        assert (actions == 4).all() and acted.all()  # then they fire again
    quiet = MixingActor(teacher, student, 1.0, np.random.default_rng(0))
    quiet.reset(0)
    assert (quiet.act(np.zeros((envs, 1)), [None] * envs) == 4).all()


def test_while_the_teacher_acts_the_recurrent_student_still_steps_its_state() -> None:
    from agents.gps import MixingActor
    from agents.student import StudentConfig, build_student, student_inputs
    from agents.student_actor import StudentActor

    class Teachers:
        def action_scores(self, states):
            return np.array([[0.0, 1.0, 0.0]] * len(states))

        def taken(self, actions):
            pass

        def goals(self):
            return [None] * 2

    model = build_student((12, 16, 4), 3, StudentConfig(recurrent_units=8, dense_units=16))
    student = StudentActor(model)
    mixing = MixingActor(Teachers(), student, beta=1.0, rng=np.random.default_rng(0))
    frames = np.random.default_rng(3).integers(0, 255, (2, 5, 12, 16, 4), dtype=np.uint8)
    for t in range(5):
        assert mixing.act(frames[:, t], [None] * 2).tolist() == [1, 1]  # the teacher's
    # the student saw all five frames: its state is the one of the whole trajectory
    expected = model(student_inputs(model, frames))["state"].numpy()
    np.testing.assert_allclose(student.hidden_state(2), expected, atol=1e-5)


def test_turning_shots_off_for_a_teacher_without_them_fails_before_a_run_starts(
    tmp_path: Path, capsys
) -> None:
    argv = ["train", "--scenario", "health_gathering", "--turning-shots", "False"]
    assert run_command([*argv, "--runs", str(tmp_path)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "no option 'turning_shots'" in err[0]
    assert not any(tmp_path.iterdir())  # no run directory was made


def test_the_teacher_memory_reaches_the_imitable_dodger_and_is_refused_where_it_cannot_act(
    tmp_path: Path, capsys
) -> None:
    from agents.actors import TeacherActor
    from agents.config import teacher_options
    from scripts.train import TrainArgs, build_config

    config = build_config(TrainArgs(scenario="take_cover", teacher_memory_tics=25))
    assert config.teacher_mode == "imitable" and teacher_options(config) == {"memory_tics": 25}
    preset = build_config(TrainArgs(scenario="take_cover"))
    assert teacher_options(preset) == {"memory_tics": 40}
    # the preset's memory yields to a teacher without one; only the flag makes that an error
    omniscient = build_config(TrainArgs(scenario="take_cover", teacher_mode="omniscient"))
    assert omniscient.teacher_memory_tics is None and teacher_options(omniscient) == {}
    teacher = TeacherActor("take_cover", 1, mode="imitable", **teacher_options(config))
    assert teacher.teachers[0].memory_tics == 25
    refused = [
        (["--scenario", "take_cover", "--teacher-mode", "omniscient"], "imitable teacher"),
        (["--scenario", "take_cover", "--teacher-memory-tics", "-1"], "memory_tics must be"),
        (["--scenario", "defend_the_center", "--teacher-mode", "imitable"], "no option"),
    ]
    for flags, message in refused:
        if "--teacher-memory-tics" not in flags:
            flags = [*flags, "--teacher-memory-tics", "40"]
        assert run_command(["train", *flags, "--runs", str(tmp_path)]) == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and message in err[0], err
    assert not any(tmp_path.iterdir())


def test_a_centre_band_reaches_take_cover_s_teacher_and_is_refused_elsewhere(
    tmp_path: Path, capsys
) -> None:
    from scripts.train import TrainArgs, build_config

    config = build_config(TrainArgs(scenario="take_cover", centre_band=96.0))
    assert (
        config.centre_band == 96.0
        and build_config(TrainArgs(scenario="take_cover")).centre_band == 0.0
    )
    argv = ["train", "--scenario", "defend_the_center", "--centre-band", "96"]
    assert run_command([*argv, "--runs", str(tmp_path)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "no option 'centre_band'" in err[0]
    assert not any(tmp_path.iterdir())


def test_with_validation_episodes_the_result_is_the_iterate_best_on_the_validation_seeds(
    tmp_path: Path, capsys
) -> None:
    import tensorflow as tf

    from agents.dataset import ShardedDataset
    from agents.student_actor import load_student_actor
    from envs.registry import get_spec

    args = ["--scenario", "basic", "--mode", "dagger", "--frames", "600", "--eval-every", "1"]
    args += ["--episodes-per-iteration", "4", "--steps-per-iteration", "25"]
    args += ["--eval-episodes", "4", "--validation-episodes", "4", "--validation-seed", "50"]
    assert run_command(["train", *args, "--runs", str(tmp_path)]) == 0
    (run_dir,) = tmp_path.iterdir()
    state = json.loads((run_dir / "state.json").read_text())
    result = json.loads((run_dir / "summary.json").read_text())
    history = state["history"]
    assert len(history) >= 3 and all("validation" in h for h in history)
    validations = [h["validation"] for h in history]
    best = max(range(len(history)), key=lambda i: (validations[i], i))  # ties: the later one
    chosen = history[best]
    assert state["best"]["frames"] == chosen["frames"] == result["selected"]["frames"]
    assert result["selected"]["validation"] == max(validations)
    assert result["student"] == chosen["eval"] and result["last"] == history[-1]["eval"]
    assert result["student"]["seeds"] == list(range(4))  # reported on the evaluation seeds
    out = capsys.readouterr().out
    assert f"the student is the iterate at {chosen['frames']:,} frames" in out

    # the CLI and the SavedModel both act with the chosen iterate
    assert (
        run_command(
            ["eval", "--scenario", "basic", "--policy", str(run_dir), "--episodes", "4", "--json"]
        )
        == 0
    )
    report = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert report["returns"] == chosen["eval"]["returns"]
    actor, _ = load_student_actor(run_dir, get_spec("basic"))
    obs = ShardedDataset(run_dir / "dataset").load()["observation"][:16]
    loaded = tf.saved_model.load(str(run_dir / "saved_model"))  # keep it: serve needs it alive
    np.testing.assert_array_equal(loaded.serve(obs)["action"].numpy(), actor.act(obs))


def test_validation_seeds_that_overlap_the_evaluation_seeds_are_a_one_line_error(
    tmp_path: Path, capsys
) -> None:
    argv = ["train", "--scenario", "basic", "--validation-episodes", "5", "--validation-seed", "3"]
    assert run_command([*argv, "--runs", str(tmp_path)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "overlap the evaluation seeds 0..19" in err[0]
    assert not any(tmp_path.iterdir())


def test_a_decayed_learning_rate_trains_each_iteration_at_its_frames_rate(tmp_path: Path) -> None:
    import keras
    import tensorflow as tf

    from agents.schedules import decayed_learning_rate
    from core.checkpoint import Checkpointer

    args = ["--scenario", "basic", "--mode", "dagger", "--frames", "600", "--eval-episodes", "2"]
    args += ["--episodes-per-iteration", "4", "--steps-per-iteration", "10", "--eval-every", "9"]
    args += ["--learning-rate-decay", "linear", "--final-learning-rate-fraction", "0.25"]
    assert run_command(["train", *args, "--runs", str(tmp_path)]) == 0
    (run_dir,) = tmp_path.iterdir()
    logged, dormant = {}, {}
    for path in sorted((run_dir / "tb").glob("events.out.tfevents.*")):
        for event in tf.compat.v1.train.summary_iterator(str(path)):
            for value in event.summary.value:
                if value.tag == "train/learning_rate":
                    logged[event.step] = float(tf.make_ndarray(value.tensor))
                if value.tag == "train/dormant/bottleneck":
                    dormant[event.step] = float(tf.make_ndarray(value.tensor))
    rates = [logged[step] for step in sorted(logged)]
    state = json.loads((run_dir / "state.json").read_text())
    assert len(rates) == state["iteration"] >= 3
    # after each round, the fraction of the encoder's bottleneck units that never fire
    assert sorted(dormant) == [10 * (k + 1) for k in range(state["iteration"])]
    assert all(0.0 <= fraction <= 1.0 for fraction in dormant.values())
    # the first round trains at the rate of the frames it collected (a quarter of the budget or so)
    assert decayed_learning_rate(1e-3, "linear", 0.25, 0.5) < rates[0] < 1e-3
    assert all(a > b for a, b in itertools.pairwise(rates))
    assert rates[-1] == pytest.approx(2.5e-4)  # the last round trains on the whole budget
    optimizer = keras.optimizers.Adam(1e-3)
    checkpointer = Checkpointer(run_dir / "checkpoints", optimizer=optimizer)
    checkpointer.checkpoint.restore(checkpointer.latest).expect_partial()
    assert float(optimizer.learning_rate) == pytest.approx(2.5e-4)  # the rate the steps used


def _label_prior_of(run_dir: Path, rows: np.ndarray | slice = slice(None)) -> np.ndarray:
    from agents.dataset import ShardedDataset
    from agents.labels import label_prior
    from agents.learner import mirror_permutation
    from envs.registry import get_spec

    config = json.loads((run_dir / "config.json").read_text())
    labels = ShardedDataset(run_dir / "dataset", read_only=True).load()["label"][rows]
    mirror = mirror_permutation(get_spec(config["scenario"]).action_names)
    return label_prior(labels, mirror if config["mirror"] else None)


@pytest.fixture
def rollout_offsets(monkeypatch) -> list[np.ndarray]:
    """The logit offset the rollouts' student acts with, recorded at the start of each round."""
    from agents import gps

    offsets: list[np.ndarray] = []
    mixing_init = gps.MixingActor.__init__

    def spy(self, teacher, student, beta, rng, *rest) -> None:
        offsets.append(student.logit_offset.copy())
        mixing_init(self, teacher, student, beta, rng, *rest)

    monkeypatch.setattr(gps.MixingActor, "__init__", spy)
    return offsets


def test_a_logit_adjusted_run_evaluates_chooses_and_exports_the_adjusted_policy(
    tmp_path: Path, rollout_offsets: list[np.ndarray], capsys
) -> None:
    """The rollouts act with the plain policy; evaluation, validation, the SavedModel and
    ``doomgps eval`` with the prior the chosen weights trained on, saved with them."""
    import tensorflow as tf

    from agents.dataset import ShardedDataset
    from agents.labels import logit_adjustment
    from agents.student_actor import load_student_actor
    from envs.registry import get_spec

    args = ["--scenario", "basic", "--mode", "dagger", "--frames", "300", "--eval-episodes", "5"]
    args += ["--episodes-per-iteration", "10", "--steps-per-iteration", "60", "--eval-every", "1"]
    args += ["--validation-episodes", "3", "--logit-adjustment", "1"]
    assert run_command(["train", *args, "--runs", str(tmp_path)]) == 0
    (run_dir,) = tmp_path.iterdir()
    assert len(rollout_offsets) >= 2 and not np.any(rollout_offsets)
    state = json.loads((run_dir / "state.json").read_text())
    iterations = ShardedDataset(run_dir / "dataset", read_only=True).load()["iteration"]
    trained_on = iterations < state["best"]["iteration"]
    expected = logit_adjustment(_label_prior_of(run_dir, trained_on), 1.0)
    assert expected.max() > 0  # basic's teacher chooses some actions far more often
    spec = get_spec("basic")
    actor, _ = load_student_actor(run_dir, spec)
    np.testing.assert_allclose(actor.logit_offset, expected, rtol=1e-5)
    obs = ShardedDataset(run_dir / "dataset", read_only=True).load()["observation"][:16]
    loaded = tf.saved_model.load(str(run_dir / "saved_model"))
    served = loaded.serve(obs)
    np.testing.assert_allclose(served["probabilities"].numpy(), actor.probabilities(obs), rtol=1e-5)
    capsys.readouterr()
    command = ["eval", "--scenario", "basic", "--policy", str(run_dir), "--episodes", "5", "--json"]
    assert run_command(command) == 0
    report = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    result = json.loads((run_dir / "summary.json").read_text())
    assert report["returns"] == result["student"]["returns"]
    assert not load_student_actor(run_dir, spec, logit_adjustment=0.0)[0].logit_offset.any()


def test_a_snapshot_ensemble_run_acts_with_the_mean_logits_of_its_last_rounds(
    tmp_path: Path, capsys
) -> None:
    """``--snapshot-ensemble 2``: the last two rounds' weights are kept, each with its own
    label prior; the run's result, its SavedModel and ``doomgps eval`` are their mean logits,
    each member offset by the adjustment of the labels it trained on."""
    import tensorflow as tf

    from agents.dataset import ShardedDataset
    from agents.labels import logit_adjustment
    from agents.student import StudentConfig, build_student, policy_logits
    from agents.student_actor import load_student_actor
    from core.checkpoint import Checkpointer
    from envs.config import EnvConfig
    from envs.registry import get_spec

    args = ["--scenario", "basic", "--mode", "bc", "--frames", "300", "--eval-episodes", "5"]
    args += ["--episodes-per-iteration", "5", "--steps-per-iteration", "40", "--eval-every", "2"]
    args += ["--validation-episodes", "3", "--logit-adjustment", "1", "--snapshot-ensemble", "2"]
    assert run_command(["train", *args, "--runs", str(tmp_path)]) == 0
    (run_dir,) = tmp_path.iterdir()
    state = json.loads((run_dir / "state.json").read_text())
    result = json.loads((run_dir / "summary.json").read_text())
    assert state["iteration"] >= 3, "enough rounds that the oldest snapshots were dropped"
    assert len(list((run_dir / "snapshots").glob("*.index"))) == 2
    members = result["snapshot_ensemble"]["member_frames"]
    assert members[0] < members[1] == result["frames"]
    assert result["student"] == state["ensemble"]["eval"]
    assert "the student is the snapshot ensemble of the weights after" in capsys.readouterr().out
    spec = get_spec("basic")
    actor, _ = load_student_actor(run_dir, spec)
    # member k holds the weights saved after its round; the newest are the last trained
    trained = build_student(EnvConfig().observation_shape, len(spec.actions), StudentConfig())
    checkpointer = Checkpointer(run_dir / "checkpoints", model=trained)
    checkpointer.checkpoint.restore(checkpointer.latest).expect_partial()
    for a, b in zip(
        actor.model.get_layer("member_1").get_weights(), trained.get_weights(), strict=True
    ):
        np.testing.assert_array_equal(a, b)
    first = actor.model.get_layer("member_0").get_weights()
    assert any(not np.array_equal(a, b) for a, b in zip(first, trained.get_weights(), strict=True))
    # each member's offset is that of the labels of the rounds it trained on
    iterations = ShardedDataset(run_dir / "dataset", read_only=True).load()["iteration"]
    rounds = state["iteration"]
    offsets = [
        logit_adjustment(_label_prior_of(run_dir, iterations < k), 1.0)
        for k in (rounds - 1, rounds)
    ]
    np.testing.assert_allclose(actor.logit_offset, np.mean(offsets, axis=0), rtol=1e-5)
    obs = ShardedDataset(run_dir / "dataset", read_only=True).load()["observation"][:16]
    mean_logits = 0.5 * (
        policy_logits(actor.model.get_layer("member_0"), obs)
        + policy_logits(actor.model.get_layer("member_1"), obs)
    )
    expected = tf.nn.softmax(mean_logits + actor.logit_offset).numpy()
    np.testing.assert_allclose(actor.probabilities(obs), expected, rtol=1e-5, atol=1e-7)
    loaded = tf.saved_model.load(str(run_dir / "saved_model"))
    served = loaded.serve(obs)
    np.testing.assert_allclose(served["probabilities"].numpy(), expected, rtol=1e-5, atol=1e-7)
    capsys.readouterr()
    command = ["eval", "--scenario", "basic", "--policy", str(run_dir), "--episodes", "5", "--json"]
    assert run_command(command) == 0
    report = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert report["returns"] == result["student"]["returns"]
    # resumed for more frames, the run scores the ensemble of its new last rounds
    assert run_command(["train", "--resume", str(run_dir), "--frames", "450"]) == 0
    longer = json.loads((run_dir / "summary.json").read_text())
    assert longer["frames"] >= 450 > result["frames"]
    assert longer["snapshot_ensemble"]["member_frames"][-1] == longer["frames"]
    assert run_command(["train", *args[:-1], "1", "--runs", str(tmp_path)]) == 2


def test_a_weight_averaged_snapshot_run_acts_with_one_network_of_its_rounds_mean_weights(
    tmp_path: Path, capsys
) -> None:
    """``--snapshot-combine weights``: the run's result, its SavedModel and ``doomgps eval`` are
    one plain network holding the mean of the last rounds' weights (no K-fold inference)."""
    import tensorflow as tf

    from agents.dataset import ShardedDataset
    from agents.student import StudentConfig, build_student
    from agents.student_actor import load_student_actor
    from core.checkpoint import Checkpointer
    from envs.config import EnvConfig
    from envs.registry import get_spec

    args = ["--scenario", "basic", "--mode", "bc", "--frames", "300", "--eval-episodes", "5"]
    args += ["--episodes-per-iteration", "5", "--steps-per-iteration", "40", "--eval-every", "3"]
    args += ["--snapshot-ensemble", "2", "--snapshot-combine", "weights"]
    assert run_command(["train", *args, "--runs", str(tmp_path)]) == 0
    (run_dir,) = tmp_path.iterdir()
    result = json.loads((run_dir / "summary.json").read_text())
    assert result["snapshot_ensemble"]["combine"] == "weights"
    assert "(one network of their mean weights)" in capsys.readouterr().out
    spec = get_spec("basic")
    actor, _ = load_student_actor(run_dir, spec)
    assert not any(layer.name.startswith("member_") for layer in actor.model.layers)
    snapshots = []
    for prefix in json.loads((run_dir / "state.json").read_text())["ensemble"]["checkpoints"]:
        snapshot = build_student(EnvConfig().observation_shape, len(spec.actions), StudentConfig())
        Checkpointer(run_dir / "snapshots", model=snapshot).restore(str(run_dir / prefix))
        snapshots.append(snapshot.get_weights())
    assert len(snapshots) == 2
    assert any(not np.array_equal(a, b) for a, b in zip(*snapshots, strict=True))
    for a, b, c in zip(actor.model.get_weights(), *snapshots, strict=True):
        np.testing.assert_allclose(a, (b + c) / 2, rtol=1e-6, atol=1e-7)
    obs = ShardedDataset(run_dir / "dataset", read_only=True).load()["observation"][:16]
    loaded = tf.saved_model.load(str(run_dir / "saved_model"))  # kept: serve needs its variables
    served = loaded.serve(obs)
    np.testing.assert_allclose(
        served["probabilities"].numpy(), actor.probabilities(obs), rtol=1e-5, atol=1e-7
    )
    command = ["eval", "--scenario", "basic", "--policy", str(run_dir), "--episodes", "5", "--json"]
    assert run_command(command) == 0
    report = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert report["returns"] == result["student"]["returns"]
    assert run_command(["train", *args[:-1], "median", "--runs", str(tmp_path)]) == 2


def test_evaluated_rollouts_act_with_the_adjustment_of_the_labels_trained_on_so_far(
    tmp_path: Path, rollout_offsets: list[np.ndarray]
) -> None:
    """``--rollout-policy evaluated``: each round's student drives as the evaluated policy does,
    offset by the prior of every label of the rounds before it (none in the first)."""
    from agents.dataset import ShardedDataset
    from agents.labels import logit_adjustment

    args = ["--scenario", "basic", "--mode", "dagger", "--frames", "300", "--eval-episodes", "3"]
    args += ["--episodes-per-iteration", "10", "--steps-per-iteration", "40", "--eval-every", "1"]
    args += ["--logit-adjustment", "1", "--rollout-policy", "evaluated"]
    assert run_command(["train", *args, "--runs", str(tmp_path)]) == 0
    (run_dir,) = tmp_path.iterdir()
    assert len(rollout_offsets) >= 2
    assert not rollout_offsets[0].any()  # nothing trained yet: no prior
    iterations = ShardedDataset(run_dir / "dataset", read_only=True).load()["iteration"]
    for k, offset in enumerate(rollout_offsets[1:], start=1):
        expected = logit_adjustment(_label_prior_of(run_dir, iterations < k), 1.0)
        assert expected.max() > 0
        np.testing.assert_allclose(offset, expected, rtol=1e-5)


def test_a_run_trained_without_logit_adjustment_is_evaluated_with_its_datasets_prior(
    basic_run, capsys
) -> None:
    from agents.labels import logit_adjustment
    from agents.student_actor import load_student_actor
    from envs.registry import get_spec

    run_dir, _ = basic_run
    actor, _ = load_student_actor(run_dir, get_spec("basic"), logit_adjustment=0.5)
    expected = logit_adjustment(_label_prior_of(run_dir), 0.5)
    np.testing.assert_allclose(actor.logit_offset, expected, rtol=1e-5)
    command = ["eval", "--scenario", "basic", "--episodes", "2", "--logit-adjustment", "1"]
    assert run_command([*command, "--policy", str(run_dir)]) == 0
    assert run_command([*command, "--policy", "random"]) == 2
    assert "--logit-adjustment is for a student run" in capsys.readouterr().err
    assert run_command([*command[:-1], "-1", "--policy", str(run_dir)]) == 2


def test_stored_initial_states_are_the_acting_students_and_need_a_recurrent_student(
    tmp_path: Path, capsys
) -> None:
    from agents.dataset import ShardedDataset

    args = ["--scenario", "basic", "--mode", "dagger", "--frames", "200", "--eval-episodes", "2"]
    args += ["--episodes-per-iteration", "4", "--steps-per-iteration", "10", "--seed", "3"]
    args += ["--recurrent-units", "16", "--sequence-length", "4", "--burn-in", "1"]
    assert run_command(["train", *args, "--initial-state", "stored", "--runs", str(tmp_path)]) == 0
    (run_dir,) = tmp_path.iterdir()
    assert json.loads((run_dir / "config.json").read_text())["initial_state"] == "stored"
    rows = ShardedDataset(run_dir / "dataset").load()
    hidden, episode = rows["hidden"], rows["episode"]
    assert hidden.shape == (len(episode), 16) and hidden.dtype == np.float16
    # an episode's first step starts from zeros; the acting student's later steps do not
    first = np.r_[True, [e not in episode[:i] for i, e in enumerate(episode[1:], 1)]]
    assert not hidden[first].any() and (np.abs(hidden[~first]).max(axis=1) > 0).all()

    assert run_command(["train", *args[:-6], "--initial-state", "stored"]) == 2
    assert "needs a recurrent student" in capsys.readouterr().err


def test_an_episode_seed_replays_another_seeds_episodes_with_this_seeds_network(
    tmp_path: Path,
) -> None:
    from agents.dataset import ShardedDataset
    from agents.student_actor import restore_student

    args = ["--scenario", "basic", "--mode", "bc", "--frames", "240", "--eval-episodes", "2"]
    args += ["--episodes-per-iteration", "4", "--steps-per-iteration", "5"]
    runs = {}
    for name, seeds in {"a": ["--seed", "0"], "b": ["--seed", "1", "--episode-seed", "0"]}.items():
        assert run_command(["train", *args, *seeds, "--runs", str(tmp_path / name)]) == 0
        (runs[name],) = (tmp_path / name).iterdir()
    data = {k: ShardedDataset(d / "dataset", read_only=True).load() for k, d in runs.items()}
    # the teacher alone plays (bc), so the same episodes give the same frames and labels
    assert len(data["a"]["observation"]) == len(data["b"]["observation"]) > 0
    np.testing.assert_array_equal(data["a"]["observation"], data["b"]["observation"])
    np.testing.assert_array_equal(data["a"]["label"], data["b"]["label"])
    # while the network comes from --seed
    weights = {k: restore_student(d)[0].get_weights()[0] for k, d in runs.items()}
    assert not np.allclose(weights["a"], weights["b"])
    assert json.loads((runs["b"] / "config.json").read_text())["episode_seed"] == 0


def test_a_training_episode_seed_follows_the_episode_seed_else_the_seed() -> None:
    from agents.config import GPSConfig
    from agents.gps import TRAIN_SEED_BASE, training_episode_seed

    assert training_episode_seed(GPSConfig(seed=3), 5) == 4 * TRAIN_SEED_BASE + 5
    assert training_episode_seed(GPSConfig(seed=3, episode_seed=7), 5) == 8 * TRAIN_SEED_BASE + 5


def test_a_negative_episode_seed_is_a_one_line_error(tmp_path: Path, capsys) -> None:
    argv = ["train", "--scenario", "basic", "--episode-seed", "-1", "--runs", str(tmp_path)]
    assert run_command(argv) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].endswith("error: --episode-seed must be >= 0")
    assert not any(tmp_path.iterdir())
