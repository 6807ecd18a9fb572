"""The one logging path: every TensorBoard write goes through :class:`Logger`.

Tags are ``group/name`` with the group one of :data:`TAG_GROUPS`; code calls
``logger.write(metrics, step)`` and never touches ``tf.summary`` itself.
"""

from __future__ import annotations

import io
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from core.run_dir import config_to_dict

TAG_GROUPS = ("train", "eval", "teacher", "data", "perf", "config")


def _check_tag(tag: str) -> str:
    group = tag.split("/", 1)[0]
    if "/" not in tag or group not in TAG_GROUPS:
        raise ValueError(f"TensorBoard tag {tag!r} must start with one of {TAG_GROUPS} and a '/'")
    return tag


def _as_float(value: Any) -> float:
    if hasattr(value, "numpy"):
        value = value.numpy()
    return float(np.asarray(value, dtype=np.float64))


def config_markdown(config: Any) -> str:
    """Renders a (nested) dataclass config as a two-column Markdown table."""
    rows: list[tuple[str, Any]] = []

    def walk(prefix: str, value: Any) -> None:
        if isinstance(value, dict):
            for key, inner in value.items():
                walk(f"{prefix}.{key}" if prefix else str(key), inner)
        else:
            rows.append((prefix, value))

    walk("", config_to_dict(config))
    lines = ["| parameter | value |", "|---|---|"]
    lines += [f"| {key} | {value} |" for key, value in rows]
    return "\n".join(lines)


class Logger:
    """Writes scalars, histograms, images, text and hparams to one TensorBoard log directory.

    Args:
        logdir: the folder for event files (usually ``run_dir / "tb"``).
        flush_secs: how often buffered events are flushed to disk.
    """

    def __init__(self, logdir: str | Path, flush_secs: int = 10) -> None:
        import tensorflow as tf

        self._tf = tf
        self.logdir = Path(logdir)
        self.logdir.mkdir(parents=True, exist_ok=True)
        self._writer = tf.summary.create_file_writer(
            str(self.logdir), flush_millis=flush_secs * 1000
        )

    def write(self, metrics: Mapping[str, Any], step: int) -> None:
        """Writes one scalar per ``tag -> value``; values may be Python, NumPy or TF scalars."""
        with self._writer.as_default():
            for tag, value in metrics.items():
                self._tf.summary.scalar(_check_tag(tag), _as_float(value), step=int(step))

    def histogram(self, tag: str, values: Any, step: int) -> None:
        """Writes a histogram of ``values``."""
        with self._writer.as_default():
            self._tf.summary.histogram(_check_tag(tag), np.asarray(values), step=int(step))

    def image(self, tag: str, image: Any, step: int) -> None:
        """Writes one image: an HWC/HW uint8 array, PNG bytes, or a matplotlib figure."""
        tf = self._tf
        if isinstance(image, (bytes, bytearray)):
            array = tf.image.decode_png(bytes(image), channels=0)
        elif hasattr(image, "savefig"):
            array = tf.image.decode_png(figure_png(image), channels=0)
        else:
            array = np.asarray(image)
            if array.ndim == 2:
                array = array[:, :, None]
            if array.dtype != np.uint8:
                array = np.clip(array, 0, 255).astype(np.uint8)
        with self._writer.as_default():
            tf.summary.image(_check_tag(tag), tf.expand_dims(array, 0), step=int(step))

    def text(self, tag: str, text: str, step: int = 0) -> None:
        """Writes Markdown text."""
        with self._writer.as_default():
            self._tf.summary.text(_check_tag(tag), text, step=int(step))

    def config(self, config: Any) -> None:
        """Writes the run's config once, as a Markdown table under ``config/run``."""
        self.text("config/run", config_markdown(config), step=0)

    def hparams(
        self, hparams: Mapping[str, Any], metrics: Mapping[str, float] | None = None
    ) -> None:
        """Records hyper-parameters (and optionally final metrics) for TensorBoard's HParams tab."""
        from tensorboard.plugins.hparams import api as hp

        clean = {
            k: v if isinstance(v, (bool, int, float, str)) else str(v) for k, v in hparams.items()
        }
        with self._writer.as_default():
            hp.hparams(clean)
            for tag, value in (metrics or {}).items():
                self._tf.summary.scalar(_check_tag(tag), _as_float(value), step=0)

    def flush(self) -> None:
        """Flushes buffered events to disk."""
        self._writer.flush()

    def close(self) -> None:
        """Flushes and closes the event file."""
        self._writer.flush()
        self._writer.close()

    def __enter__(self) -> Logger:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def figure_png(figure: Any, dpi: int = 100) -> bytes:
    """Renders a matplotlib figure to PNG bytes."""
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=dpi, bbox_inches="tight")
    return buffer.getvalue()
