"""Opening a run: a fresh run directory, or an existing one to resume with the same config."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from core.errors import UserError
from core.run_dir import config_to_dict, load_config_dict, make_run_dir, save_config

# Fields that may differ between the original run and its resumption.
RESUME_FREE_FIELDS = frozenset({"resume", "show_progress"})


def _flatten(prefix: str, value: Any, out: dict[str, Any]) -> dict[str, Any]:
    if isinstance(value, dict):
        for key, inner in value.items():
            _flatten(f"{prefix}.{key}" if prefix else key, inner, out)
    else:
        out[prefix] = value
    return out


def open_run(
    config: Any,
    *,
    root: str | Path,
    experiment: str,
    name: str,
    seed: int,
    resume: str | Path | None = None,
) -> Path:
    """Returns the run directory: a new ``{root}/{experiment}__{name}__{seed}__{time}`` with
    ``config.json``, or ``resume`` after checking that its saved config matches ``config``.

    Raises:
        UserError: ``resume`` is not a run directory or was started with other settings.
    """
    if resume is None:
        run_dir = make_run_dir(root, experiment, name, seed)
        save_config(run_dir, config)
        return run_dir
    run_dir = Path(resume)
    saved = _flatten("", load_config_dict(run_dir), {})
    current = _flatten("", config_to_dict(config), {})
    differing = sorted(
        k
        for k in set(saved) | set(current)
        if k.split(".")[-1] not in RESUME_FREE_FIELDS and saved.get(k) != current.get(k)
    )
    if differing:
        key = differing[0]
        raise UserError(
            f"{run_dir}: cannot resume, {key} was {saved.get(key)!r} and is now "
            f"{current.get(key)!r} ({len(differing)} setting(s) differ)"
        )
    return run_dir
