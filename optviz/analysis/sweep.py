"""``sweep()``: one optimizer over a grid of hyperparameters (lr sweeps, phase maps), one loop.

The grid is the Cartesian product of its value lists, in the order given (C order: the last name
varies fastest). A pair hyperparameter is swept per element by ``name[0]``/``name[1]`` or, for
``betas``, ``beta1``/``beta2``; the other element keeps its base value.
"""

from __future__ import annotations

import itertools
import numbers
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from optviz import arguments
from optviz.analysis.engine import Progress, evaluate_many
from optviz.analysis.metrics import METRICS, Metrics
from optviz.optimizers import get_optimizer
from optviz.optimizers.spec import OptimizerSpec
from optviz.runner import MAX_SEED, MAX_STEPS, _as_surface
from optviz.surfaces import Surface

_ALIASES = {"beta1": ("betas", 0), "beta2": ("betas", 1)}
MAX_SETTINGS = 4096


@dataclass(frozen=True, eq=False)
class SweepResult:
    """Metric values over a hyperparameter grid: ``values[i₁, …, i_d, start]``."""

    surface: str
    optimizer: str
    base: dict[str, Any]  # the validated kwargs the grid varies
    grid: dict[str, tuple[Any, ...]]  # name -> values, in axis order
    starts: np.ndarray  # (n_starts, 2)
    steps: int
    seed: int
    noise: float  # the std of the gradient noise used (the surface's default when None given)
    metric: str
    values: np.ndarray  # grid shape + (n_starts,)
    metrics: Metrics  # every metric, same shape

    @property
    def shape(self) -> tuple[int, ...]:
        return tuple(len(v) for v in self.grid.values())

    @property
    def diverged(self) -> np.ndarray:
        return self.metrics.diverged

    def kwargs_at(self, index: Sequence[int]) -> dict[str, Any]:
        """The complete kwargs of the grid cell ``index`` (one index per grid axis)."""
        values = {name: self.grid[name][i] for name, i in zip(self.grid, index, strict=True)}
        return _apply(self.base, values)


def _resolve(spec: OptimizerSpec, name: Any) -> tuple[str, int | None]:
    """A grid name as (hyperparameter, element index or None)."""
    if not isinstance(name, str):
        raise TypeError(f"grid keys must be hyperparameter names (str), got "
                        f"{type(name).__name__}")
    known = {h.name: h for h in spec.hyperparameters}
    if name in _ALIASES and _ALIASES[name][0] in known:
        return _ALIASES[name]
    if name.endswith(("[0]", "[1]")) and name[:-3] in known and known[name[:-3]].kind == "pair":
        return name[:-3], int(name[-2])
    if name in known and known[name].kind != "pair":
        return name, None
    if name in known:
        raise ValueError(f"grid: {name!r} is a pair; sweep its elements as {name}[0] and "
                         f"{name}[1]" + (" (or beta1, beta2)" if name == "betas" else ""))
    raise ValueError(f"grid: {name!r} is not a sweepable hyperparameter of {spec.key!r}; "
                     f"known: {', '.join(known)}")


def _apply(base: Mapping[str, Any], values: Mapping[str, Any]) -> dict[str, Any]:
    """``base`` with the grid ``values`` put in (pair elements by ``name[i]`` / aliases)."""
    out = dict(base)
    for name, value in values.items():
        target, element = _ALIASES.get(name, (name, None))
        if name.endswith(("[0]", "[1]")):
            target, element = name[:-3], int(name[-2])
        if element is None:
            out[target] = value
        else:
            pair = list(out[target])
            pair[element] = value
            out[target] = tuple(pair)
    return out


def as_optimizer(optimizer: Any) -> tuple[str, dict[str, Any]]:
    """``key`` or ``(key, base_kwargs)`` → (key, validated kwargs)."""
    if isinstance(optimizer, str):
        key, base = optimizer, None
    elif isinstance(optimizer, Sequence) and not isinstance(optimizer, bytes) \
            and len(optimizer) == 2:
        key, base = optimizer
    else:
        raise TypeError(f"optimizer must be a key (str) or a (key, hyperparameters) pair, got "
                        f"{arguments.show(optimizer)}")
    if base is not None and not isinstance(base, Mapping):
        raise TypeError(f"optimizer hyperparameters must be a mapping, got "
                        f"{type(base).__name__}")
    spec = get_optimizer(key)  # TypeError / UnknownNameError (a ValueError)
    try:
        return key, spec.validate(base)
    except ValueError as err:
        raise ValueError(f"optimizer: {err}") from err


def _as_grid(spec: OptimizerSpec, grid: Any) -> dict[str, tuple[Any, ...]]:
    if not isinstance(grid, Mapping):
        raise TypeError(f"grid must be a mapping of hyperparameter names to value lists, got "
                        f"{type(grid).__name__}")
    if not grid:
        raise ValueError("grid must name at least one hyperparameter")
    out: dict[str, tuple[Any, ...]] = {}
    for name, values in grid.items():
        _resolve(spec, name)
        if isinstance(values, str | bytes | Mapping) or not isinstance(
            values, Sequence | np.ndarray
        ):
            raise TypeError(f"grid[{name!r}] must be a list of values, got "
                            f"{type(values).__name__}")
        if len(values) == 0:
            raise ValueError(f"grid[{name!r}] must hold at least one value")
        items = []
        for v in values:
            if isinstance(v, np.generic):
                v = v.item()
            if not isinstance(v, numbers.Real):
                raise TypeError(f"grid[{name!r}] values must be numbers or booleans, got "
                                f"{type(v).__name__}")
            items.append(v)
        out[name] = tuple(items)
    return out


def grid_settings(
    spec: OptimizerSpec, base: Mapping[str, Any], grid: Mapping[str, tuple[Any, ...]]
) -> list[dict[str, Any]]:
    """Validated kwargs of every grid cell, in C order."""
    settings = []
    for combo in itertools.product(*grid.values()):
        values = dict(zip(grid, combo, strict=True))
        try:
            settings.append(spec.validate(_apply(base, values)))
        except ValueError as err:
            raise ValueError(f"grid: {values}: {err}") from err
    return settings


def sweep(
    surface: str | Surface,
    optimizer: str | tuple[str, Mapping[str, Any]],
    grid: Mapping[str, Sequence[Any]],
    starts: Any,
    steps: int = 500,
    seed: int = 0,
    noise: float | None = None,
    metric: str = "final_loss",
    tol: float = 1e-6,
    time_limit: float | None = None,
    progress: Progress | None = None,
) -> SweepResult:
    """Run ``optimizer`` at every cell of ``grid`` from every start; one loop, metrics streaming.

    ``optimizer`` is a registry key or ``(key, base kwargs)``; ``grid`` maps hyperparameter names
    to value lists, e.g. ``{"lr": np.geomspace(1e-4, 1, 64)}`` or ``{"lr": [...], "momentum":
    [...]}``. ``.values`` holds ``metric`` (one of :data:`~optviz.analysis.metrics.METRICS`)
    shaped ``grid shape + (n_starts,)``; ``.metrics`` holds them all. Cell ``[i…, s]`` equals
    ``simulate(surface, [(key, kwargs_at(i…))], starts, steps, seed, noise)`` for start ``s``
    (tests compare samples bit for bit). ``tol`` is the tolerance of ``steps_to_tol``;
    ``progress(step, steps)`` is called every few steps (raise from it to cancel).
    """
    return sweep_many(surface, [optimizer], grid, starts, steps, seed, noise, metric, tol,
                      time_limit, progress)[0]


def sweep_many(
    surface: str | Surface,
    optimizers: Sequence[str | tuple[str, Mapping[str, Any]]],
    grid: Mapping[str, Sequence[Any]],
    starts: Any,
    steps: int = 500,
    seed: int = 0,
    noise: float | None = None,
    metric: str = "final_loss",
    tol: float = 1e-6,
    time_limit: float | None = None,
    progress: Progress | None = None,
) -> list[SweepResult]:
    """:func:`sweep` of the same grid for several optimizers, in one loop where they allow it.

    One :class:`SweepResult` per optimizer, in order (an lr-sensitivity chart of every optimizer
    in a scene is one call: elementwise optimizers share one step loop and one surface
    evaluation per step).
    """
    surf = _as_surface(surface)
    if isinstance(optimizers, str | bytes | Mapping) or not isinstance(optimizers, Sequence):
        raise TypeError(f"optimizers must be a list of keys or (key, hyperparameters) pairs, "
                        f"got {type(optimizers).__name__}")
    if not optimizers:
        raise ValueError("optimizers must name at least one optimizer")
    chosen = [as_optimizer(o) for o in optimizers]
    start_array = arguments.points("starts", starts)
    steps = arguments.whole("steps", steps, 1, MAX_STEPS)
    seed = arguments.whole("seed", seed, 0, MAX_SEED)
    metric = arguments.choice("metric", metric, METRICS)
    tol = arguments.real("tol", tol, low=0.0)
    sigma = surf.noise if noise is None else arguments.real("noise", noise, low=0.0)
    parts, grids = [], []
    for key, base in chosen:
        spec = get_optimizer(key)
        cells = _as_grid(spec, grid)
        n_cells = int(np.prod([len(v) for v in cells.values()]))
        if n_cells > MAX_SETTINGS:
            raise ValueError(f"grid has {n_cells:,} cells; at most {MAX_SETTINGS:,}")
        parts.append((key, grid_settings(spec, base, cells)))
        grids.append(cells)
    if progress is not None and not callable(progress):
        raise TypeError(f"progress must be callable, got {type(progress).__name__}")
    results = evaluate_many(surf, parts, start_array, steps, seed, sigma, tol=tol,
                            time_limit=time_limit, progress=progress)
    out = []
    for (key, base), cells, metrics in zip(chosen, grids, results, strict=True):
        shaped = metrics.reshape(*(len(v) for v in cells.values()), len(start_array))
        out.append(SweepResult(
            surface=surf.name, optimizer=key, base=base, grid=cells, starts=start_array,
            steps=steps, seed=seed, noise=sigma, metric=metric, values=shaped.get(metric),
            metrics=shaped,
        ))
    return out
