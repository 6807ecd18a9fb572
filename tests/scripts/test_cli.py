import json
import subprocess
import sys
from pathlib import Path

from scripts.doomgps import run_command

ROOT = Path(__file__).resolve().parents[2]


def test_scenarios_lists_every_registered_scenario(capsys):
    assert run_command(["scenarios"]) == 0
    out = capsys.readouterr().out
    for name in ("basic", "defend_the_center", "my_way_home", "doomgps/TakeCover-v0"):
        assert name in out


def test_eval_json_reports_per_episode_returns_and_their_mean(capsys):
    code = run_command(["eval", "--scenario", "basic", "--episodes", "3", "--seed", "4", "--json"])
    assert code == 0
    report = json.loads(capsys.readouterr().out)
    assert report["scenario"] == "basic" and report["policy"] == "random"
    assert len(report["returns"]) == 3 == len(report["lengths"])
    assert report["seeds"] == [4, 5, 6]
    assert abs(report["mean_return"] - sum(report["returns"]) / 3) < 1e-9
    assert report["std_return"] >= 0


def test_eval_exits_1_when_the_mean_is_below_min_return(capsys):
    code = run_command(
        ["eval", "--scenario", "basic", "--episodes", "2", "--json", "--min-return", "1000"]
    )
    assert code == 1
    assert "below --min-return" in capsys.readouterr().err


def test_eval_records_an_mp4_of_the_first_episode(tmp_path):
    video = tmp_path / "episode.mp4"
    assert (
        run_command(["eval", "--scenario", "basic", "--episodes", "1", "--record", str(video)]) == 0
    )
    import cv2

    capture = cv2.VideoCapture(str(video))
    frames = int(capture.get(cv2.CAP_PROP_FRAME_COUNT))
    ok, frame = capture.read()
    capture.release()
    assert ok and frame.shape == (120, 160, 3) and frames >= 2


def _cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "scripts.doomgps", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_unknown_scenario_is_one_line_with_exit_code_2_and_no_traceback():
    result = _cli("eval", "--scenario", "defend_the_moon")
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "defend_the_moon" in lines[0] and "defend_the_center" in lines[0]
    assert "Traceback" not in result.stderr


def test_missing_cfg_names_the_file_in_one_line(tmp_path):
    result = _cli("eval", "--scenario", str(tmp_path / "gone.cfg"))
    assert result.returncode == 2
    assert result.stderr.strip().count("\n") == 0 and "gone.cfg" in result.stderr


def test_a_student_checkpoint_that_does_not_exist_is_a_user_error():
    result = _cli("eval", "--scenario", "basic", "--policy", "runs/does-not-exist")
    assert result.returncode == 2 and "does-not-exist" in result.stderr


def test_unknown_command_exits_2():
    assert run_command(["fly"]) == 2


TEACHER_EVAL = ["eval", "--scenario", "basic", "--policy", "teacher", "--episodes", "1", "--json"]


def _env_configs_evaluated(monkeypatch) -> list:
    """The env configs ``agents.evaluation.evaluate`` is called with from now on."""
    import agents.evaluation

    seen = []
    real = agents.evaluation.evaluate

    def spy(*args, **kwargs):
        seen.append(kwargs["env_config"])
        return real(*args, **kwargs)

    monkeypatch.setattr(agents.evaluation, "evaluate", spy)
    return seen


def test_eval_plays_the_teacher_with_the_field_of_view_asked_for(monkeypatch, capsys, tmp_path):
    seen = _env_configs_evaluated(monkeypatch)
    flags = TEACHER_EVAL
    assert run_command([*flags, "--field-of-view", "120"]) == 0
    assert seen[0].field_of_view == 120.0
    assert json.loads(capsys.readouterr().out)["episodes"] == 1
    assert run_command([*flags, "--field-of-view", "200"]) == 2
    assert "from 5 to 179" in capsys.readouterr().err
    student = ["eval", "--scenario", "basic", "--policy", str(tmp_path), "--field-of-view", "120"]
    assert run_command(student) == 2
    assert "trained with" in capsys.readouterr().err


def test_eval_plays_the_teacher_with_the_frame_skip_asked_for(monkeypatch, capsys, tmp_path):
    seen = _env_configs_evaluated(monkeypatch)
    flags = TEACHER_EVAL
    assert run_command([*flags, "--frame-skip", "2"]) == 0
    assert seen[0].frame_skip == 2 and seen[0].field_of_view == 90.0
    report = json.loads(capsys.readouterr().out)
    assert report["frames"] == 2 * report["lengths"][0]  # 2 tics a step
    assert run_command([*flags, "--frame-skip", "0"]) == 2
    assert "from 1 to 16" in capsys.readouterr().err
    student = ["eval", "--scenario", "basic", "--policy", str(tmp_path), "--frame-skip", "2"]
    assert run_command(student) == 2
    assert "trained with" in capsys.readouterr().err


def test_eval_plays_the_imitable_teacher_with_the_memory_asked_for(monkeypatch, capsys):
    import agents.evaluation

    actors = []
    real = agents.evaluation.evaluate

    def spy(spec, actor, **kwargs):
        actors.append(actor)
        return real(spec, actor, **kwargs)

    monkeypatch.setattr(agents.evaluation, "evaluate", spy)
    flags = ["eval", "--scenario", "take_cover", "--policy", "teacher", "--episodes", "1"]
    imitable = [*flags, "--teacher-mode", "imitable", "--json"]
    assert run_command([*imitable, "--teacher-memory-tics", "0"]) == 0
    assert actors[0].teachers[0].memory_tics == 0
    assert json.loads(capsys.readouterr().out)["episodes"] == 1
    assert run_command([*flags, "--teacher-memory-tics", "40"]) == 2
    assert "option of the imitable teacher" in capsys.readouterr().err
