"""Results tables (Markdown + CSV) and plots written into a run directory."""

from __future__ import annotations

import csv
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any


def write_table(run_dir: Path, name: str, rows: Sequence[Mapping[str, Any]]) -> str:
    """Writes ``{name}.md`` and ``{name}.csv``; returns the Markdown table."""
    columns = list(rows[0]) if rows else []

    def fmt(value: Any) -> str:
        return f"{value:.4f}" if isinstance(value, float) else str(value)

    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    lines += ["| " + " | ".join(fmt(row[c]) for c in columns) + " |" for row in rows]
    markdown = "\n".join(lines) + "\n"
    (run_dir / f"{name}.md").write_text(markdown)
    with open(run_dir / f"{name}.csv", "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=columns)
        writer.writeheader()
        writer.writerows(rows)
    return markdown


def new_figure(width: float = 7.0, height: float = 4.5) -> tuple[Any, Any]:
    """A matplotlib figure and axes on the non-interactive Agg backend."""
    import matplotlib

    matplotlib.use("Agg", force=False)
    from matplotlib.figure import Figure

    figure = Figure(figsize=(width, height))
    return figure, figure.add_subplot(1, 1, 1)


def save_figure(figure: Any, path: Path) -> bytes:
    """Saves ``figure`` as PNG at ``path`` and returns the PNG bytes (for the logger)."""
    from core.logger import figure_png

    png = figure_png(figure)
    path.write_bytes(png)
    return png
