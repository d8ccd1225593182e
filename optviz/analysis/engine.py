"""Many settings of several optimizers, from many starts, in ONE lock-step loop, metrics streaming.

Setting ``k`` (counting through every optimizer's settings in order) and start ``s`` is particle
``k · S + s`` of one :func:`optviz.runner.stream` call: one surface evaluation and one metrics
update per step for all of them, and no trajectory is kept (memory is a few arrays of ``K · S``
rows). Elementwise optimizers share one leaf (:mod:`.blocks`: batched kernels where
:mod:`.batched` has one, else one registry instance per setting); a single setting of one
optimizer steps as ``simulate`` steps it. Optimizers that need a Hessian, a clean gradient, a
closure or one tensor per particle run as registry instances in a loop of their own.
Noise is common across settings (each sees the noise ``simulate`` gives it alone), so a cell
equals ``simulate(surface, [(key, setting)], starts, ...)`` bit for bit.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np
import torch

from optviz.analysis.blocks import Blocks, Part, composable
from optviz.analysis.metrics import Metrics, StreamingMetrics
from optviz.runner import OnStep, stream
from optviz.surfaces import Surface

Progress = Callable[[int, int], object]  # progress(step, steps); raise to cancel
PROGRESS_EVERY = 10  # steps between progress calls


def evaluate_many(
    surface: Surface,
    parts: Sequence[Part],
    starts: np.ndarray,
    steps: int,
    seed: int = 0,
    noise: float | None = None,
    tol: float = 1e-6,
    radius: float = 0.0,
    time_limit: float | None = None,
    progress: Progress | None = None,
) -> list[Metrics]:
    """Metrics per part, each shaped ``(len(settings), len(starts))``, in the parts' order.

    ``progress(step, steps)`` is called every few steps of each loop (and after the last); an
    exception it raises stops the work and propagates (how a client cancels).
    """
    parts = [(key, [dict(s) for s in settings]) for key, settings in parts]
    shared = [i for i, (key, _) in enumerate(parts) if composable(key)]
    loops = [shared] if shared else []
    loops += [[i] for i, (key, _) in enumerate(parts) if not composable(key)]
    out: list[Metrics | None] = [None] * len(parts)
    for members in loops:
        chosen = [parts[i] for i in members]
        metrics = _one_loop(surface, chosen, starts, steps, seed, noise, tol, radius, time_limit,
                            progress)
        for i, m in zip(members, metrics, strict=True):
            out[i] = m
    return out  # type: ignore[return-value]


def evaluate(
    surface: Surface,
    key: str,
    settings: Sequence[Mapping[str, Any]],
    starts: np.ndarray,
    steps: int,
    seed: int = 0,
    noise: float | None = None,
    tol: float = 1e-6,
    radius: float = 0.0,
    time_limit: float | None = None,
    progress: Progress | None = None,
) -> Metrics:
    """Metrics of every (setting, start) of one optimizer, ``(len(settings), len(starts))``."""
    return evaluate_many(surface, [(key, settings)], starts, steps, seed, noise, tol, radius,
                         time_limit, progress)[0]


def _one_loop(
    surface: Surface, parts: list[Part], starts: np.ndarray, steps: int, seed: int,
    noise: float | None, tol: float, radius: float, time_limit: float | None,
    progress: Progress | None,
) -> list[Metrics]:
    sizes = [len(settings) for _, settings in parts]
    observer = StreamingMetrics(sum(sizes) * len(starts), steps, surface.minima,
                                surface.minimum_value, tol=tol, radius=radius)
    runs = [(key, s) for key, settings in parts for s in settings]
    fused = None
    if composable(parts[0][0]) and not (len(parts) == 1 and sizes[0] == 1):

        def fused(leaf: torch.Tensor) -> Blocks:
            return Blocks(leaf, parts, len(starts))

    on_step: OnStep = observer if progress is None else _reporting(observer, progress, steps)
    stream(
        surface, runs, starts, on_step, steps=steps, seed=seed, noise=noise,
        time_limit=time_limit, fused=fused, common_noise=True,
    )
    result = observer.result().reshape(sum(sizes), len(starts))
    bounds = np.cumsum([0, *sizes])
    return [
        Metrics(**{name: getattr(result, name)[a:b] for name in Metrics.__dataclass_fields__})
        for a, b in itertools.pairwise(bounds)
    ]


def _reporting(observer: OnStep, progress: Progress, steps: int) -> OnStep:
    def on_step(step: int, *args: torch.Tensor) -> None:
        observer(step, *args)
        if step % PROGRESS_EVERY == 0 or step == steps:
            progress(step, steps)

    return on_step
