"""``tune()``: the best hyperparameters of one optimizer for a named criterion, within a budget.

Learning rate alone: a log grid over the lr range (3/4 of the budget), then a finer log grid
between the best cell's neighbours (the rest); each grid is one :func:`~optviz.analysis.sweep`
loop. Several hyperparameters: optuna's TPE sampler (Bergstra et al. 2011, "Algorithms for
Hyper-Parameter Optimization"), seeded, asked for batches of trials with the constant-liar
strategy, each batch one loop. The score of a setting is
:func:`optviz.analysis.metrics.score` over the starts (lower is better; a diverged start rules
a setting out).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from optviz import arguments
from optviz.analysis.engine import Progress, evaluate
from optviz.analysis.metrics import METRICS, Metrics, score
from optviz.analysis.sweep import (
    MAX_SETTINGS,
    SweepResult,
    _apply,
    _resolve,
    as_optimizer,
    sweep,
)
from optviz.optimizers import get_optimizer
from optviz.optimizers.spec import OptimizerSpec
from optviz.runner import MAX_SEED, MAX_STEPS, _as_surface
from optviz.surfaces import Surface

TPE_ROUNDS = 8  # batches of trials (each one loop): more rounds, better TPE, more time
_PENALTY = 1e300  # what TPE is told for a diverged setting (it ranks; inf is not a value)


@dataclass(frozen=True, eq=False)
class TuneResult:
    """The best setting found, and every setting tried."""

    optimizer: str
    best: dict[str, Any]  # complete kwargs
    score: float  # its criterion score (inf: every setting diverged)
    criterion: str
    params: tuple[str, ...]  # the tuned names
    settings: tuple[dict[str, Any], ...]  # every setting evaluated, in evaluation order
    scores: np.ndarray  # (len(settings),)
    sweep: SweepResult | None  # lr only: the merged grid behind the choice, sorted by lr


@dataclass(frozen=True)
class _Dimension:
    name: str
    kind: str  # "float", "int" or "bool"
    low: float = 0.0
    high: float = 1.0
    log: bool = False


def _dimension(spec: OptimizerSpec, name: str, limits: Any = None) -> _Dimension:
    target, element = _resolve(spec, name)
    h = next(h for h in spec.hyperparameters if h.name == target)
    if h.kind == "bool":
        return _Dimension(name, "bool")
    if h.kind not in ("float", "int", "pair"):
        raise ValueError(f"params: {name!r} ({h.kind}) cannot be tuned")
    low, high = h._limits(element)
    if limits is not None:
        if isinstance(limits, str | bytes) or not isinstance(limits, Sequence) \
                or len(limits) != 2:
            raise TypeError(f"params[{name!r}] must be a (low, high) pair")
        low = arguments.real(f"params[{name!r}][0]", limits[0])
        high = arguments.real(f"params[{name!r}][1]", limits[1], low=low)
    if low is None or high is None:
        raise ValueError(f"params: {name!r} has no finite range; give one as (low, high)")
    if h.exclusive:
        low, high = math.nextafter(low, math.inf), math.nextafter(high, -math.inf)
    kind = "int" if h.kind == "int" else "float"
    return _Dimension(name, kind, float(low), float(high), bool(h.log and low > 0))


def _as_params(spec: OptimizerSpec, params: Any) -> list[_Dimension]:
    if isinstance(params, str):
        params = (params,)
    if isinstance(params, Mapping):
        dims = [_dimension(spec, name, limits) for name, limits in params.items()]
    elif isinstance(params, Sequence):
        dims = [_dimension(spec, name) for name in params]
    else:
        raise TypeError(f"params must be names or a mapping name -> (low, high), got "
                        f"{type(params).__name__}")
    if not dims:
        raise ValueError("params must name at least one hyperparameter")
    return dims


def tune(
    surface: str | Surface,
    optimizer: str | tuple[str, Mapping[str, Any]],
    starts: Any,
    steps: int = 500,
    criterion: str = "final_loss",
    budget: int = 64,
    seed: int = 0,
    noise: float | None = None,
    params: Sequence[str] | Mapping[str, tuple[float, float]] = ("lr",),
    tol: float = 1e-6,
    progress: Progress | None = None,
) -> TuneResult:
    """Tune ``params`` of ``optimizer`` (``key`` or ``(key, base kwargs)``) on ``surface``.

    ``budget`` is the number of settings evaluated (each from every start for ``steps`` steps).
    ``params`` names the hyperparameters to tune (ranges from the registry) or maps them to
    ``(low, high)``. ``criterion`` is one of
    :data:`~optviz.analysis.metrics.METRICS`. Deterministic for a given ``seed``.
    ``progress(step, steps)`` is called every few steps of each loop (raise from it to cancel).
    """
    surf = _as_surface(surface)
    key, base = as_optimizer(optimizer)
    spec = get_optimizer(key)
    criterion = arguments.choice("criterion", criterion, METRICS)
    if criterion == "distance_to_minimum" and not surf.minima:
        raise ValueError(f"criterion: {surf.name!r} knows no minimum to measure distance to")
    budget = arguments.whole("budget", budget, 2, MAX_SETTINGS)
    steps = arguments.whole("steps", steps, 1, MAX_STEPS)
    seed = arguments.whole("seed", seed, 0, MAX_SEED)
    start_array = arguments.points("starts", starts)
    tol = arguments.real("tol", tol, low=0.0)
    dims = _as_params(spec, params)
    if progress is not None and not callable(progress):
        raise TypeError(f"progress must be callable, got {type(progress).__name__}")
    run = dict(surface=surf, starts=start_array, steps=steps, seed=seed, noise=noise, tol=tol,
               progress=progress)
    if len(dims) == 1 and dims[0].kind == "float" and dims[0].log:
        return _tune_log_grid(spec, base, dims[0], criterion, budget, run)
    return _tune_tpe(spec, base, dims, criterion, budget, run)


def _tune_log_grid(
    spec: OptimizerSpec, base: dict[str, Any], dim: _Dimension, criterion: str, budget: int,
    run: dict[str, Any],
) -> TuneResult:
    """A log grid, then a finer one between the best cell's neighbours."""
    n1 = max(2, budget - budget // 4)
    n2 = budget - n1
    coarse = np.geomspace(dim.low, dim.high, n1)
    first = sweep(run["surface"], (spec.key, base), {dim.name: coarse}, run["starts"],
                  run["steps"], run["seed"], run["noise"], criterion, run["tol"],
                  progress=run["progress"])
    s1 = score(first.metrics, criterion, run["steps"])
    results = [(coarse, first.metrics, s1)]
    if n2 > 0:
        best = coarse[int(np.argmin(s1))]
        ratio = (dim.high / dim.low) ** (1 / (n1 - 1))
        fine = np.geomspace(max(best / ratio, dim.low), min(best * ratio, dim.high), n2 + 2)
        fine = fine[1:-1]
        second = sweep(run["surface"], (spec.key, base), {dim.name: fine}, run["starts"],
                       run["steps"], run["seed"], run["noise"], criterion, run["tol"],
                  progress=run["progress"])
        results.append((fine, second.metrics, score(second.metrics, criterion, run["steps"])))
    values = np.concatenate([r[0] for r in results])
    order = np.argsort(values, kind="stable")
    metrics = Metrics(**{
        name: np.concatenate([getattr(r[1], name) for r in results])[order]
        for name in Metrics.__dataclass_fields__
    })
    scores = np.concatenate([r[2] for r in results])[order]
    values = values[order]
    grid = {dim.name: tuple(float(v) for v in values)}
    merged = SweepResult(
        surface=first.surface, optimizer=spec.key, base=base, grid=grid, starts=first.starts,
        steps=first.steps, seed=first.seed, noise=first.noise, metric=criterion,
        values=metrics.get(criterion), metrics=metrics,
    )
    settings = tuple(merged.kwargs_at((i,)) for i in range(len(values)))
    i = int(np.argmin(scores))
    return TuneResult(spec.key, settings[i], float(scores[i]), criterion, (dim.name,), settings,
                      scores, merged)


def _tune_tpe(
    spec: OptimizerSpec, base: dict[str, Any], dims: list[_Dimension], criterion: str,
    budget: int, run: dict[str, Any],
) -> TuneResult:
    """optuna TPE, seeded; ``TPE_ROUNDS`` batches of trials, each batch one loop."""
    import optuna

    sampler = optuna.samplers.TPESampler(
        seed=run["seed"], multivariate=True, constant_liar=True,
        n_startup_trials=max(1, min(10, budget // 2)),
    )
    verbosity = optuna.logging.get_verbosity()
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    try:
        study = optuna.create_study(direction="minimize", sampler=sampler)
        per_round = max(1, math.ceil(budget / TPE_ROUNDS))
        settings: list[dict[str, Any]] = []
        scores: list[float] = []
        while len(settings) < budget:
            trials = [study.ask() for _ in range(min(per_round, budget - len(settings)))]
            batch, valid = [], []
            for trial in trials:
                values = {d.name: _suggest(trial, d) for d in dims}
                try:
                    batch.append(spec.validate(_apply(base, values)))
                    valid.append(trial)
                except ValueError:  # an invalid combination (e.g. Nesterov with dampening)
                    study.tell(trial, _PENALTY)
            if batch:
                metrics = evaluate(run["surface"], spec.key, batch, run["starts"], run["steps"],
                                   run["seed"], run["noise"], tol=run["tol"],
                                   progress=run["progress"])
                for trial, kwargs, value in zip(
                    valid, batch, score(metrics, criterion, run["steps"]), strict=True
                ):
                    study.tell(trial, min(float(value), _PENALTY))
                    settings.append(kwargs)
                    scores.append(float(value))
            if not batch and len(study.trials) >= 4 * budget:
                break  # the space is almost all invalid
    finally:
        optuna.logging.set_verbosity(verbosity)
    if not settings:
        raise ValueError("params: no valid combination found in the ranges given")
    score_array = np.asarray(scores)
    i = int(np.argmin(score_array))
    return TuneResult(spec.key, settings[i], float(score_array[i]), criterion,
                      tuple(d.name for d in dims), tuple(settings), score_array, None)


def _suggest(trial: Any, d: _Dimension) -> Any:
    if d.kind == "bool":
        return trial.suggest_categorical(d.name, [False, True])
    if d.kind == "int":
        return trial.suggest_int(d.name, math.ceil(d.low), math.floor(d.high),
                                 log=d.log)
    return trial.suggest_float(d.name, d.low, d.high, log=d.log)


__all__ = ["TuneResult", "tune"]
