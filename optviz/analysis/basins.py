"""``basins()``: which minimum each start of a grid reaches, and how fast (one loop, streaming).

Starts are the ``nx × ny`` grid ``xs = linspace(x_min, x_max, nx)``, ``ys = linspace(y_min,
y_max, ny)`` over the surface's domain; cell ``[i, j]`` starts at ``(xs[j], ys[i])`` (particle
``i · nx + j``). All starts are rows of one run of :func:`optviz.runner.stream`: for elementwise
optimizers ONE ``(nx · ny, 2)`` leaf, and no trajectory is kept (a 200 × 200 × 500 map holds a
few 40,000-row arrays, not a 320 MB history).

A start reaches minimum ``k`` when its final point lies within ``radius`` of
``surface.minima[k]`` (the nearest one); ``radius`` defaults to 1 % of the domain's diagonal.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from optviz import arguments
from optviz.analysis.engine import Progress, evaluate
from optviz.analysis.sweep import as_optimizer
from optviz.runner import MAX_PARTICLES, MAX_SEED, MAX_STEPS, _as_surface
from optviz.surfaces import Surface


@dataclass(frozen=True, eq=False)
class BasinMap:
    """Per-start outcomes on a grid of starts; arrays are ``(ny, nx)``."""

    surface: str
    optimizer: str
    kwargs: dict[str, Any]
    xs: np.ndarray  # (nx,)
    ys: np.ndarray  # (ny,)
    steps: int
    tol: float
    radius: float
    final_xy: np.ndarray  # (ny, nx, 2), NaN where diverged
    final_loss: np.ndarray  # inf where diverged
    minimum_index: np.ndarray  # index into surface.minima; -1 none, -2 diverged
    steps_to_tol: np.ndarray  # first step with f - f* <= tol; -1 never (or diverged)
    diverged_at: np.ndarray  # -1 never

    @property
    def starts(self) -> np.ndarray:
        """``(ny · nx, 2)`` start points in particle order."""
        gx, gy = np.meshgrid(self.xs, self.ys)
        return np.stack([gx.ravel(), gy.ravel()], axis=1)


def _resolution(value: Any) -> tuple[int, int]:
    if isinstance(value, str | bytes | Mapping) or not isinstance(value, Sequence) \
            or len(value) != 2:
        raise TypeError(f"resolution must be an (nx, ny) pair, got {arguments.show(value)}")
    nx = arguments.whole("resolution[0]", value[0], 1, MAX_PARTICLES)
    ny = arguments.whole("resolution[1]", value[1], 1, MAX_PARTICLES)
    if nx * ny > MAX_PARTICLES:
        raise ValueError(f"resolution {nx} × {ny} = {nx * ny:,} starts; at most "
                         f"{MAX_PARTICLES:,}")
    return nx, ny


def basins(
    surface: str | Surface,
    optimizer: str | tuple[str, Mapping[str, Any]],
    resolution: tuple[int, int] = (100, 100),
    steps: int = 500,
    tol: float = 1e-6,
    seed: int = 0,
    noise: float | None = None,
    radius: float | None = None,
    time_limit: float | None = None,
    progress: Progress | None = None,
) -> BasinMap:
    """Run ``optimizer`` (``key`` or ``(key, kwargs)``) from every start of a grid.

    ``progress(step, steps)`` is called every few steps (raise from it to cancel).
    """
    surf = _as_surface(surface)
    key, kwargs = as_optimizer(optimizer)
    nx, ny = _resolution(resolution)
    steps = arguments.whole("steps", steps, 1, MAX_STEPS)
    seed = arguments.whole("seed", seed, 0, MAX_SEED)
    tol = arguments.real("tol", tol, low=0.0)
    (x0, x1), (y0, y1) = surf.domain
    if radius is None:
        radius = 0.01 * math.hypot(x1 - x0, y1 - y0)
    radius = arguments.real("radius", radius, low=0.0)
    xs, ys = np.linspace(x0, x1, nx), np.linspace(y0, y1, ny)
    gx, gy = np.meshgrid(xs, ys)
    starts = np.stack([gx.ravel(), gy.ravel()], axis=1)
    if progress is not None and not callable(progress):
        raise TypeError(f"progress must be callable, got {type(progress).__name__}")
    m = evaluate(surf, key, [kwargs], starts, steps, seed, noise, tol=tol, radius=radius,
                 time_limit=time_limit, progress=progress).reshape(ny, nx)
    return BasinMap(
        surface=surf.name, optimizer=key, kwargs=kwargs, xs=xs, ys=ys, steps=steps, tol=tol,
        radius=radius, final_xy=m.final_xy, final_loss=m.final_loss,
        minimum_index=m.minimum_index, steps_to_tol=m.steps_to_tol, diverged_at=m.diverged_at,
    )
