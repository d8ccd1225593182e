"""Run metrics, defined once and computed streaming (one update per step, ``O(rows)`` memory).

For a particle with positions :math:`\\theta_0,\\dots,\\theta_T` and losses :math:`f_t`, known
global minima :math:`\\theta^*_k` and minimum value :math:`f^*` (0 when the surface has none):

* ``final_loss``: :math:`f_T`;
* ``mean_loss``: :math:`\\frac{1}{T+1}\\sum_{t=0}^{T} f_t`, summed in step order (the same
  floating-point sum as ``np.add.accumulate(loss)[-1]`` over a ``simulate`` history);
* ``steps_to_tol``: the first :math:`t` with :math:`f_t - f^* \\le \\text{tol}` (evaluated as
  :math:`f_t \\le f^* + \\text{tol}`), −1 if never;
* ``distance_to_minimum``: :math:`\\min_k \\lVert\\theta_T - \\theta^*_k\\rVert_2`
  (NaN when the surface knows no minimum);
* ``minimum_index``: that nearest :math:`k` when the distance is at most ``radius``, else −1.

A particle is diverged from its first step outside the runner's bounds (``ok`` False; the same
rule as :func:`optviz.simulate`'s ``diverged_at``). Diverged particles get defined values, not
whatever their dead rows hold: ``final_loss``, ``mean_loss`` and ``distance_to_minimum`` are
``inf``, ``steps_to_tol`` is −1 (even if the tolerance was met before), ``minimum_index`` −2.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch

METRICS: tuple[str, ...] = ("final_loss", "mean_loss", "steps_to_tol", "distance_to_minimum")
NONE, DIVERGED = -1, -2  # minimum_index codes


@dataclass(frozen=True, eq=False)
class Metrics:
    """Per-particle metric arrays, all of one shape (rows, or reshaped by the caller)."""

    final_loss: np.ndarray
    mean_loss: np.ndarray
    steps_to_tol: np.ndarray  # int64, −1 never or diverged
    distance_to_minimum: np.ndarray
    minimum_index: np.ndarray  # int64: index into surface.minima, −1 none, −2 diverged
    final_xy: np.ndarray  # (..., 2), NaN where diverged
    diverged_at: np.ndarray  # int64, −1 never

    @property
    def diverged(self) -> np.ndarray:
        return self.diverged_at >= 0

    def get(self, name: str) -> np.ndarray:
        """The array of metric ``name`` (one of :data:`METRICS`)."""
        return getattr(self, name)

    def reshape(self, *shape: int) -> Metrics:
        """Every array reshaped to ``shape`` (plus the trailing 2 of ``final_xy``)."""
        return Metrics(
            **{
                name: getattr(self, name).reshape(*shape, *(2,) * (name == "final_xy"))
                for name in self.__dataclass_fields__
            }
        )


class StreamingMetrics:
    """An ``on_step`` observer for :func:`optviz.runner.stream` that keeps only running sums.

    ``minima`` ``(k, 2)``; ``minimum_value`` is :math:`f^*` (``None``: 0); ``radius`` is how
    close the final point must be to a minimum to count as reaching it.
    """

    def __init__(
        self,
        n_rows: int,
        steps: int,
        minima: Sequence[Sequence[float]] = (),
        minimum_value: float | None = None,
        tol: float = 1e-6,
        radius: float = 0.0,
    ) -> None:
        self.steps = steps
        self.minima = np.asarray(minima, dtype=np.float64).reshape(-1, 2)
        self.threshold = (0.0 if minimum_value is None else float(minimum_value)) + tol
        self.radius = radius
        self.alive = torch.ones(n_rows, dtype=torch.bool)
        self.diverged_at = torch.full((n_rows,), -1, dtype=torch.int64)
        self.hit = torch.full((n_rows,), -1, dtype=torch.int64)
        self.loss_sum = torch.zeros(n_rows, dtype=torch.float64)
        self.final_xy = torch.full((n_rows, 2), float("nan"), dtype=torch.float64)
        self.final_loss = torch.full((n_rows,), float("nan"), dtype=torch.float64)

    def __call__(
        self,
        step: int,
        xy: torch.Tensor,
        loss: torch.Tensor,
        grad: torch.Tensor,
        ok: torch.Tensor,
    ) -> None:
        newly_dead = self.alive & ~ok
        if bool(newly_dead.any()):
            self.diverged_at.masked_fill_(newly_dead, step)
            self.alive &= ok
        self.loss_sum += loss
        first = (loss <= self.threshold) & (self.hit < 0)
        self.hit.masked_fill_(first, step)  # NaN compares False
        if step == self.steps:
            self.final_xy.copy_(xy)
            self.final_loss.copy_(loss)

    def result(self) -> Metrics:
        """The metrics after the last step."""
        dead = ~self.alive
        inf = float("inf")
        final_loss = self.final_loss.masked_fill(dead, inf)
        mean_loss = (self.loss_sum / (self.steps + 1)).masked_fill(dead, inf)
        steps_to_tol = self.hit.masked_fill(dead, -1)
        final_xy = self.final_xy.masked_fill(dead[:, None], float("nan")).numpy()
        dead_np = dead.numpy()
        n = len(final_xy)
        if len(self.minima):  # numpy, in one fixed op order: sqrt(dx² + dy²)
            d = np.sqrt(((final_xy[:, None, :] - self.minima[None]) ** 2).sum(-1))
            nearest = d.argmin(axis=1) if n else np.zeros(0, dtype=np.int64)
            distance = d[np.arange(n), nearest]
            index = np.where(distance <= self.radius, nearest, NONE).astype(np.int64)
        else:
            distance = np.full(n, np.nan)
            index = np.full(n, NONE, dtype=np.int64)
        distance[dead_np] = inf
        index[dead_np] = DIVERGED
        return Metrics(
            final_loss=final_loss.numpy(),
            mean_loss=mean_loss.numpy(),
            steps_to_tol=steps_to_tol.numpy(),
            distance_to_minimum=distance,
            minimum_index=index,
            final_xy=final_xy,
            diverged_at=self.diverged_at.numpy(),
        )


def score(metrics: Metrics, criterion: str, steps: int, axis: int = -1) -> np.ndarray:
    """A lower-is-better criterion over ``axis`` (the starts): the mean of per-start scores.

    A diverged start scores ``inf`` (so one diverged start rules a setting out); ``steps_to_tol``
    −1 (never reached) scores ``steps + 1``; a NaN (distance with no known minimum) is ``inf``.
    """
    if criterion not in METRICS:
        raise ValueError(f"criterion must be one of {list(METRICS)}, got {criterion!r}")
    v = np.asarray(metrics.get(criterion), dtype=np.float64)
    if criterion == "steps_to_tol":
        v = np.where(v < 0, steps + 1.0, v)
    v = np.where(metrics.diverged | np.isnan(v), np.inf, v)
    return v.mean(axis=axis)
