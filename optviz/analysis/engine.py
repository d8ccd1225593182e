"""Many settings of one optimizer, from many starts, in ONE lock-step loop, metrics streaming.

Every setting ``k`` and start ``s`` is particle ``k · S + s`` of one :func:`optviz.runner.stream`
call: one surface evaluation per step for all of them, and no trajectory is kept (memory is a few
arrays of ``K · S`` rows). Several settings that a batched kernel covers (:mod:`.batched`) step
as rows of one leaf; a single setting steps with the registry's own class (one leaf for all
starts, as in ``simulate``); any other optimizer gets one registry instance per setting, in the
same loop (~0.2 ms per instance per step: correct, but no faster than separate runs).
Noise is common across settings (each setting sees the noise ``simulate`` gives it alone), so a
cell equals ``simulate(surface, [(key, setting)], starts, ...)`` bit for bit.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from optviz.analysis import batched
from optviz.analysis.metrics import Metrics, StreamingMetrics
from optviz.runner import stream
from optviz.surfaces import Surface


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
) -> Metrics:
    """Metrics of every (setting, start), shaped ``(len(settings), len(starts))``.

    ``settings`` are complete, validated keyword arguments of optimizer ``key``.
    """
    settings = [dict(s) for s in settings]
    n_rows = len(settings) * len(starts)
    observer = StreamingMetrics(
        n_rows, steps, surface.minima, surface.minimum_value, tol=tol, radius=radius
    )
    runs = [(key, s) for s in settings]
    fused = None
    if len(settings) > 1 and batched.supports(key, settings):  # one setting: torch's own class
        kernel = batched.KERNELS[key]

        def fused(leaf: Any) -> batched.BatchedOptimizer:
            return kernel(leaf, settings)

    stream(
        surface, runs, starts, observer, steps=steps, seed=seed, noise=noise,
        time_limit=time_limit, fused=fused, common_noise=True,
    )
    return observer.result().reshape(len(settings), len(starts))
