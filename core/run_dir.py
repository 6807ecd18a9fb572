"""Run directories ``runs/{experiment}__{name}__{seed}__{timestamp}``: config, logs, checkpoints."""

from __future__ import annotations

import contextlib
import dataclasses
import fcntl
import json
import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from core.errors import UserError


def make_run_dir(root: str | Path, experiment: str, name: str, seed: int) -> Path:
    """Creates a fresh, uniquely named run directory and returns its path.

    Args:
        root: folder that holds all runs (usually ``runs``).
        experiment: scenario or experiment name, e.g. ``defend_the_center`` or ``letters_sweep``.
        name: a short label for this run.
        seed: the run's seed.
    """
    stamp = time.strftime("%Y%m%d-%H%M%S")
    base = Path(root) / f"{experiment}__{name}__{seed}__{stamp}"
    path, n = base, 1
    while path.exists():
        path, n = base.with_name(f"{base.name}-{n}"), n + 1
    path.mkdir(parents=True)
    return path


def config_to_dict(config: Any) -> dict[str, Any]:
    """Turns a (nested) dataclass config into JSON-friendly data."""

    def convert(value: Any) -> Any:
        if dataclasses.is_dataclass(value) and not isinstance(value, type):
            return {f.name: convert(getattr(value, f.name)) for f in dataclasses.fields(value)}
        if isinstance(value, dict):
            return {str(k): convert(v) for k, v in value.items()}
        if isinstance(value, (list, tuple)):
            return [convert(v) for v in value]
        if isinstance(value, Path):
            return str(value)
        if isinstance(value, (str, int, float, bool)) or value is None:
            return value
        return repr(value)

    return convert(config)


def save_config(run_dir: str | Path, config: Any) -> Path:
    """Writes ``config.json`` into ``run_dir`` and returns its path."""
    path = Path(run_dir) / "config.json"
    path.write_text(json.dumps(config_to_dict(config), indent=2, sort_keys=True) + "\n")
    return path


def load_config_dict(run_dir: str | Path) -> dict[str, Any]:
    """Reads ``config.json`` from a run directory, with a one-line error when it is unusable."""
    path = Path(run_dir) / "config.json"
    try:
        return json.loads(path.read_text())
    except FileNotFoundError:
        raise UserError(f"{run_dir}: not a run directory (no config.json)") from None
    except (OSError, json.JSONDecodeError) as error:
        raise UserError(f"{path}: unreadable run config ({error})") from None


@contextlib.contextmanager
def exclusive(run_dir: str | Path) -> Iterator[Path]:
    """Holds ``run_dir/.lock`` for one process at a time (an OS lock: freed when the process
    ends, even killed).

    Raises:
        UserError: another process holds it, e.g. an interrupted run still shutting down when
            ``--resume`` starts a second one on the same directory.
    """
    run_dir = Path(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    with open(run_dir / ".lock", "a+") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            owner = handle.read().strip() or "?"
            raise UserError(
                f"{run_dir} is in use by another process (pid {owner}); wait for it to exit"
            ) from None
        handle.truncate(0)
        handle.write(str(os.getpid()))
        handle.flush()
        try:
            yield run_dir
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
