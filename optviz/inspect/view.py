"""``StepView``: everything one optimizer step shows, as plain numpy arrays and floats."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass(frozen=True, eq=False)
class StepView:
    """One step ``θ_step -> θ_step+1`` of one particle, explained from the optimizer's own state.

    Every vector is ``(2,)`` in data coordinates (``update`` exactly as recorded), every box a
    ``(2,)`` pair of half-widths (per-coordinate step sizes, drawn axis-aligned around the
    point), every matrix ``(2, 2)`` (drawn as an ellipse along its eigenvectors). ``values``
    maps a symbol to its number at this step and ``meanings`` the same symbols to a short
    meaning; ``latex`` is the update rule with these numbers substituted, ``why`` one plain
    sentence computed from them.
    """

    optimizer: str  # registry key
    label: str  # e.g. "Adam"
    # which module explained it: sgd, adam, adaptive, newton, lbfgs, sign, packages, muon,
    # prodigy, schedulefree, lookahead, soap, generic
    family: str
    run: int
    start: int
    step: int
    position: np.ndarray  # (2,) θ at ``step``
    # (2,) the gradient the optimizer saw (noise and clipping included): the recorded
    # ``traj.grad``; schedule-free optimizers take theirs at y (state ``grad_at_point``)
    grad: np.ndarray
    grad_clean: np.ndarray | None  # (2,) noise-free gradient there (only with noise)
    update: np.ndarray  # (2,) xy[step + 1] − xy[step], bitwise
    vectors: dict[str, np.ndarray] = field(default_factory=dict)
    boxes: dict[str, np.ndarray] = field(default_factory=dict)
    matrices: dict[str, np.ndarray] = field(default_factory=dict)
    values: dict[str, float] = field(default_factory=dict)
    latex: str = ""
    why: str = ""
    meanings: dict[str, str] = field(default_factory=dict)
