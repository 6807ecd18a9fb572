"""Progress bars for long loops (tqdm on stderr, silent when not a terminal unless forced)."""

from __future__ import annotations

import sys
from collections.abc import Iterable
from typing import Any, TypeVar

from tqdm.auto import tqdm

T = TypeVar("T")


def progress(
    iterable: Iterable[T] | None = None,
    *,
    total: int | None = None,
    desc: str = "",
    unit: str = "it",
    disable: bool | None = None,
    **kwargs: Any,
) -> tqdm:
    """Returns a tqdm progress bar on stderr.

    Args:
        iterable: what to iterate over (or ``None`` and call ``update`` by hand).
        total: the expected count.
        desc: a short label.
        unit: what one step counts (``frames``, ``steps``, ``episodes``).
        disable: ``None`` hides the bar when stderr is not a terminal.
    """
    if disable is None:
        disable = not sys.stderr.isatty()
    return tqdm(
        iterable,
        total=total,
        desc=desc,
        unit=unit,
        disable=disable,
        file=sys.stderr,
        dynamic_ncols=True,
        **kwargs,
    )
