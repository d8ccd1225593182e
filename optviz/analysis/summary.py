"""Per-optimizer summaries over several starts or seeds: success rate, median final loss,
median steps to tolerance (numpy only).

A particle (one start, one seed) *succeeds* when it never diverges and its loss comes within
``tol`` of the known minimum value ``f*`` (:math:`f_t \\le f^* + \\text{tol}` at some step, the
rule of :mod:`optviz.analysis.metrics`). Without a known ``f*`` success is undefined (``None``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

__all__ = ["summary_rows"]


def summary_rows(
    labels: Sequence[str],
    loss: np.ndarray,
    diverged_at: np.ndarray,
    minimum_value: float | None,
    tol: float = 1e-3,
) -> list[dict[str, Any]]:
    """One row per run: ``loss`` is ``(runs, particles, steps + 1)`` and ``diverged_at``
    ``(runs, particles)`` (−1 never), particles being starts × seeds in any order.

    Each row: ``run`` (label), ``particles``, ``success rate`` (fraction in [0, 1], ``None``
    without ``f*``), ``median final loss`` (over the particles that did not diverge; ``inf``
    when all did), ``median steps to tol`` (over the particles that reached it; ``None`` when
    none did or ``f*`` is unknown), ``diverged`` (count).
    """
    loss = np.asarray(loss, dtype=float)
    dead_at = np.asarray(diverged_at)
    if loss.ndim != 3 or dead_at.shape != loss.shape[:2] or len(labels) != loss.shape[0]:
        raise ValueError(f"loss must be (runs, particles, steps + 1) and diverged_at (runs, "
                         f"particles) with one label per run; got {loss.shape}, "
                         f"{dead_at.shape}, {len(labels)} labels")
    rows = []
    for r, label in enumerate(labels):
        dead = dead_at[r] >= 0
        final = loss[r, :, -1]
        alive_final = final[~dead & np.isfinite(final)]
        row: dict[str, Any] = {
            "run": label,
            "particles": int(loss.shape[1]),
            "success rate": None,
            "median final loss": float(np.median(alive_final)) if alive_final.size
            else float("inf"),
            "median steps to tol": None,
            "diverged": int(dead.sum()),
        }
        if minimum_value is not None:
            with np.errstate(invalid="ignore"):
                below = loss[r] <= float(minimum_value) + tol  # NaN compares False
            reached = below.any(axis=1) & ~dead
            row["success rate"] = float(reached.mean()) if reached.size else 0.0
            if reached.any():
                first = below.argmax(axis=1)[reached]
                row["median steps to tol"] = float(np.median(first))
        rows.append(row)
    return rows
