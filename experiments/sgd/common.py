"""Small helpers the three SGD experiments share: run directory + logger, tables, figures."""

from __future__ import annotations

import csv
import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from core.logger import Logger, figure_png
from core.run_dir import make_run_dir, save_config


def start_run(
    root: str | Path, experiment: str, name: str, seed: int, config: Any
) -> tuple[Path, Logger]:
    """Creates the run directory, saves ``config.json`` and opens a logger on ``run_dir/tb``.

    Args:
        root: folder that holds all runs.
        experiment: experiment name, e.g. ``sgd_sta``.
        name: short run label.
        seed: the run's seed.
        config: the (dataclass) config to save and log as text.

    Returns:
        ``(run_dir, logger)``; the caller closes the logger.
    """
    run_dir = make_run_dir(root, experiment, name, seed)
    save_config(run_dir, config)
    logger = Logger(run_dir / "tb")
    logger.config(config)
    return run_dir, logger


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        if value != value:  # NaN
            return "n/a"
        if value == 0 or 1e-3 <= abs(value) < 1e5:
            return f"{value:.4g}"
        return f"{value:.3e}"
    return str(value)


def markdown_table(rows: Sequence[Mapping[str, Any]], columns: Sequence[str]) -> str:
    """Renders ``rows`` as a Markdown table with the given column order."""
    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    lines += ["| " + " | ".join(_fmt(row.get(c, "")) for c in columns) + " |" for row in rows]
    return "\n".join(lines)


def write_results(
    run_dir: Path,
    rows: Sequence[Mapping[str, Any]],
    columns: Sequence[str],
    title: str,
    logger: Logger | None = None,
    note: str = "",
) -> str:
    """Writes ``results.md``, ``results.csv`` and ``results.json`` and returns the Markdown.

    Args:
        run_dir: the run directory.
        rows: one mapping per table row.
        columns: column order.
        title: a heading for the Markdown file.
        logger: when given, the table is also logged as TensorBoard text ``eval/results``.
        note: optional text printed under the table (e.g. the reproducing command).
    """
    table = markdown_table(rows, columns)
    text = f"# {title}\n\n{table}\n" + (f"\n{note}\n" if note else "")
    (run_dir / "results.md").write_text(text)
    with (run_dir / "results.csv").open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(columns), extrasaction="ignore")
        writer.writeheader()
        writer.writerows(rows)
    (run_dir / "results.json").write_text(json.dumps(list(rows), indent=2, default=float) + "\n")
    if logger is not None:
        logger.text("eval/results", table)
    return table


def save_figure(
    run_dir: Path, figure: Any, filename: str, logger: Logger | None = None, tag: str = "eval/plot"
) -> Path:
    """Saves a matplotlib figure as PNG in ``run_dir`` (and as a TensorBoard image)."""
    png = figure_png(figure)
    path = run_dir / filename
    path.write_bytes(png)
    if logger is not None:
        logger.image(tag, png, step=0)
    return path
