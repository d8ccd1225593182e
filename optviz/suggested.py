"""Suggested learning rates per surface and optimizer, kept as data (surfaces/suggested_lr.json).

The registry's default learning rates suit Rosenbrock; on other surfaces they can diverge at
step 1 (SGD on Goldstein–Price) or crawl. ``bench/suggest_lr.py`` tunes the learning rate of
each common UI variant on each catalogue surface with :func:`optviz.tune` (log grid, then a
finer grid; criterion, steps and budget are stored in the file) from the surface's default
starts, and keeps the best rounded value that, simulated as the app runs it, lowers the loss
without diverging. The file sits next to the surface TOMLs, so it is packaged with them
(``optviz/data/surfaces`` in a wheel, see :mod:`optviz._data`).

:func:`suggested_lr` is pure (no Streamlit): the sidebar may call it when a surface or an
optimizer is picked.
"""

from __future__ import annotations

import functools
import json
from typing import Any

from optviz._data import data_dir

FILE = "suggested_lr.json"

__all__ = ["FILE", "suggested_lr", "table"]


@functools.cache
def table() -> dict[str, Any]:
    """The whole file: ``{"criterion", "steps", "budget", "seed", "lr": {surface: {variant:
    lr}}}``."""
    return json.loads((data_dir("surfaces") / FILE).read_text(encoding="utf-8"))


def suggested_lr(surface_key: str, optimizer_key: str) -> float | None:
    """The suggested lr of ``optimizer_key`` (a UI variant such as ``"momentum"``, or a
    registry key such as ``"adam"``, which is also its plain variant) on the catalogue surface
    ``surface_key``; ``None`` when there is none (custom formula, unlisted optimizer)."""
    if not isinstance(surface_key, str) or not isinstance(optimizer_key, str):
        return None
    value = table()["lr"].get(surface_key, {}).get(optimizer_key)
    return None if value is None else float(value)
