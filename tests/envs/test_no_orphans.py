"""Stopping doomgps in any way leaves no engine or worker process behind."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _descendants(pid: int) -> set[int]:
    found, frontier = set(), [pid]
    while frontier:
        parent = frontier.pop()
        for task in Path(f"/proc/{parent}/task").glob("*"):
            try:
                children = [int(c) for c in (task / "children").read_text().split()]
            except OSError:
                continue
            for child in children:
                if child not in found:
                    found.add(child)
                    frontier.append(child)
    return found


def _alive(pid: int) -> bool:
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return False
    return "\nState:\tZ" not in status


def _is_engine(pid: int) -> bool:
    try:
        return Path(os.readlink(f"/proc/{pid}/exe")).name == "vizdoom"
    except OSError:
        return False


def _start_long_eval() -> tuple[subprocess.Popen, set[int]]:
    command = [
        sys.executable,
        "-m",
        "scripts.doomgps",
        "eval",
        "--scenario",
        "basic",
        "--episodes",
        "100000",
        "--num-envs",
        "2",
    ]
    process = subprocess.Popen(
        command,
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        start_new_session=True,
        # as from a terminal: a shell script's background job (`cmd &`) starts its children
        # with SIGINT ignored, and Python then keeps ignoring it (no KeyboardInterrupt)
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    deadline = time.time() + 60
    while time.time() < deadline:
        family = _descendants(process.pid)
        if sum(_is_engine(p) for p in family) >= 2:
            return process, family
        time.sleep(0.2)
    process.kill()
    pytest.fail("the evaluation never started two engines")


def _describe(pid: int) -> str:
    """A process's command, state and per-thread kernel wait channels (``/proc``)."""
    try:
        command = Path(f"/proc/{pid}/cmdline").read_text().replace("\0", " ")[:80]
        state = Path(f"/proc/{pid}/status").read_text().split("\n")[2]
        waits = [(t / "wchan").read_text() for t in Path(f"/proc/{pid}/task").glob("*")]
    except OSError:
        return "gone"
    return f"{command} | {state} | waits {waits}"


def _wait_all_gone(pids: set[int], seconds: float = 15) -> set[int]:
    deadline = time.time() + seconds
    while time.time() < deadline:
        left = {p for p in pids if _alive(p)}
        if not left:
            return left
        time.sleep(0.2)
    return {p for p in pids if _alive(p)}


@pytest.mark.parametrize("how", ["SIGKILL", "SIGTERM", "SIGINT"])
def test_stopping_doomgps_leaves_no_engine_or_worker_behind(how):
    process, family = _start_long_eval()
    engines = {p for p in family if _is_engine(p)}
    assert len(engines) >= 2 and len(family) >= 4  # 2 workers + 2 engines
    if how == "SIGINT":  # Ctrl-C in a terminal signals the whole foreground process group
        os.killpg(process.pid, signal.SIGINT)
    else:
        os.kill(process.pid, getattr(signal, how))
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        # What it was waiting on, for the report.
        alive = {p: _describe(p) for p in {process.pid} | _descendants(process.pid)}
        os.killpg(process.pid, signal.SIGKILL)  # never leave a 100,000-episode run behind
        err = process.stderr.read().decode(errors="replace")[-2000:]
        pytest.fail(f"doomgps did not exit within 30 s of {how}; processes {alive}; stderr {err}")
    left = _wait_all_gone(family)
    for pid in left:
        os.kill(pid, signal.SIGKILL)
    assert not left, f"{how} left processes behind: {sorted(left)}"
    if how != "SIGKILL":
        assert process.returncode in (130, 143, -2, -15)


def test_engine_folders_of_dead_processes_are_swept_and_live_ones_kept(tmp_path: Path) -> None:
    from envs.engine_process import PREFIX, remove_stale_dirs

    finished = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        check=True,
        capture_output=True,
        text=True,
    )
    dead = tmp_path / f"{PREFIX}{int(finished.stdout)}-abc"
    live = tmp_path / f"{PREFIX}{os.getpid()}-def"
    for folder in (dead, live):
        (folder / "_vizdoom").mkdir(parents=True)
        (folder / "_vizdoom.ini").write_text("[x]\n")
    assert remove_stale_dirs(tmp_path) == [dead]
    assert not dead.exists() and (live / "_vizdoom.ini").exists()
