"""Per-trajectory summary numbers for the results table.

For a trajectory :math:`\\theta_0, \\dots, \\theta_T` with losses :math:`f_t`:
final loss :math:`f_T` (or the last finite one before divergence), distance to the nearest known
global minimum :math:`\\min_k \\lVert \\theta_T - \\theta^*_k \\rVert_2`, and the first step with
:math:`f_t - f^* < \\text{tol}` (loss above the known minimum value, or the raw loss when the
surface has none).

:func:`outcome` says how a trajectory ended in words the app and the CLI share: the formula was
not defined at the start (the runner marks that as divergence at step 0), it diverged at step
*k*, or it left the plot window at step *k* without diverging.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from optviz.domain import Domain


@dataclass(frozen=True)
class RunSummary:
    """One row of the results table."""

    final_loss: float  # last finite loss
    final_xy: tuple[float, float]  # last finite position
    distance_to_minimum: float | None  # None when the surface has no known minimum
    first_below_tol: int | None  # first step whose gap f_t − f* is below tol; None if never
    diverged_at: int  # -1 if the run never diverged


def last_finite_index(loss: np.ndarray) -> int:
    """Index of the last finite entry of a 1D array (-1 when there is none)."""
    finite = np.flatnonzero(np.isfinite(loss))
    return int(finite[-1]) if finite.size else -1


def summarize(
    xy: np.ndarray,
    loss: np.ndarray,
    diverged_at: int,
    minima: Sequence[tuple[float, float]] = (),
    minimum_value: float | None = None,
    tol: float = 1e-3,
) -> RunSummary:
    """Summarize one trajectory: ``xy`` (steps + 1, 2), ``loss`` (steps + 1,)."""
    last = last_finite_index(loss)
    final_xy = (float(xy[last, 0]), float(xy[last, 1])) if last >= 0 else (np.nan, np.nan)
    distance = None
    if minima:
        d = np.linalg.norm(np.asarray(minima, dtype=np.float64) - np.asarray(final_xy), axis=1)
        distance = float(d.min())
    gap = loss - (minimum_value if minimum_value is not None else 0.0)
    with np.errstate(invalid="ignore"):
        below = np.flatnonzero(gap < tol)
    return RunSummary(
        final_loss=float(loss[last]) if last >= 0 else float("nan"),
        final_xy=final_xy,
        distance_to_minimum=distance,
        first_below_tol=int(below[0]) if below.size else None,
        diverged_at=int(diverged_at),
    )


@dataclass(frozen=True)
class Outcome:
    """How one trajectory went, beyond its numbers."""

    diverged_at: int  # -1 if it never diverged
    undefined_at_start: bool  # f is not finite at the start (so the run never moved)
    left_window_at: int | None  # first step outside the plot window before any divergence


def outcome(
    xy: np.ndarray, diverged_at: int, domain: Domain
) -> Outcome:
    """The outcome of one trajectory ``xy`` (steps + 1, 2) in the window ``domain``.

    A run "diverges at step 0" only when the loss at its start is not finite (a validated
    start lies far inside the runner's position bound), i.e. f is not defined there.
    """
    diverged_at = int(diverged_at)
    if diverged_at == 0:
        return Outcome(0, True, None)
    end = diverged_at if diverged_at > 0 else len(xy)
    (x0, x1), (y0, y1) = domain
    path = np.asarray(xy[:end], dtype=np.float64)
    with np.errstate(invalid="ignore"):
        out = (path[:, 0] < x0) | (path[:, 0] > x1) | (path[:, 1] < y0) | (path[:, 1] > y1)
    steps = np.flatnonzero(out)
    return Outcome(diverged_at, False, int(steps[0]) if steps.size else None)
