"""Engine processes: a private working folder and no orphans.

ViZDoom starts its engine as a child process and writes ``_vizdoom.ini`` and ``_vizdoom/`` into
the engine's current directory. We point ViZDoom at a tiny launcher script that (1) asks the
kernel to kill the engine when its parent dies (``PR_SET_PDEATHSIG``: even a SIGKILL of
``doomgps`` then leaves no engine behind), (2) moves into a private temporary folder, and
(3) ``exec``\\ s the real engine binary.
"""

from __future__ import annotations

import atexit
import contextlib
import functools
import os
import shutil
import signal
import stat
import sys
import tempfile
from pathlib import Path

_LAUNCHER = """#!{python} -S
import ctypes, os, signal, sys
ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
if os.getppid() != {parent}:
    os._exit(1)  # the parent died before the line above took effect
os.chdir({workdir!r})
os.execv({engine!r}, [{engine!r}] + sys.argv[1:])
"""


PREFIX = "doomgps-engine-"
"""Private engine folders are ``{tempdir}/doomgps-engine-{pid}-{random}``."""


@functools.cache
def _private_dir(pid: int) -> Path:
    remove_stale_dirs()
    path = Path(tempfile.mkdtemp(prefix=f"{PREFIX}{pid}-"))
    atexit.register(_cleanup, path)
    return path


def remove_stale_dirs(root: str | Path | None = None) -> list[Path]:
    """Deletes the private folders of processes that no longer exist and returns them.

    ``atexit`` cannot run in a process that was killed (SIGKILL, a vector worker terminated on
    close), so each new process sweeps what dead ones left behind.
    """
    removed = []
    for path in Path(root or tempfile.gettempdir()).glob(f"{PREFIX}*-*"):
        owner = path.name[len(PREFIX) :].split("-", 1)[0]
        if owner.isdigit() and not _alive(int(owner)):
            shutil.rmtree(path, ignore_errors=True)
            removed.append(path)
    return removed


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # another user's process
    return True


def _cleanup(path: Path) -> None:
    # Engines still running would try to save their ini into the folder we are deleting.
    for pid in child_pids():
        try:
            exe = os.readlink(f"/proc/{pid}/exe")
        except OSError:
            continue
        if Path(exe).name == "vizdoom":
            kill(pid)
    shutil.rmtree(path, ignore_errors=True)


def engine_launcher() -> str:
    """Returns the path of this process's engine launcher (created on first use)."""
    pid = os.getpid()  # forked workers need their own: the launcher checks its parent's pid
    folder = _private_dir(pid)
    launcher = folder / "vizdoom-launcher"
    if not launcher.exists():
        import vizdoom

        engine = str(Path(vizdoom.__file__).with_name("vizdoom"))
        text = _LAUNCHER.format(
            python=sys.executable, parent=pid, workdir=str(folder), engine=engine
        )
        launcher.write_text(text)
        launcher.chmod(launcher.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    return str(launcher)


def engine_workdir() -> Path:
    """The folder where this process's engines write their ini and logs."""
    return _private_dir(os.getpid())


def child_pids() -> set[int]:
    """Pids of this process's direct children (all threads), from ``/proc``."""
    pids: set[int] = set()
    task_dir = Path(f"/proc/{os.getpid()}/task")
    for task in task_dir.iterdir():
        try:
            pids.update(int(p) for p in (task / "children").read_text().split())
        except (FileNotFoundError, ProcessLookupError):
            continue
    return pids


def kill(pid: int) -> None:
    """Kills a process with SIGKILL if it still exists."""
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)
