"""Shared plumbing of the own optimizers: argument checks, ``(N, 2)`` row views, a base class."""

from __future__ import annotations

import math
from collections.abc import Callable

import torch


def check_number(name: str, value: float, low: float, *, strict: bool = False) -> None:
    """Refuse a non-finite ``value`` or one below ``low`` (``strict``: at or below), like torch."""
    bad = not math.isfinite(value) or (value <= low if strict else value < low)
    if bad:
        sign = ">" if strict else "≥"
        raise ValueError(f"Invalid {name}: {value} (must be finite and {sign} {low})")


def check_fraction(name: str, value: float) -> None:
    """Refuse ``value`` outside ``[0, 1)``."""
    if not (math.isfinite(value) and 0.0 <= value < 1.0):
        raise ValueError(f"Invalid {name}: {value} (must be in [0, 1))")


def as_rows(t: torch.Tensor, who: str) -> torch.Tensor:
    """``(..., 2) -> (N, 2)``: a parameter is a batch of independent 2D points."""
    if t.dim() == 0 or t.shape[-1] != 2:
        shape = tuple(t.shape)
        raise ValueError(f"{who} steps 2D points: the last dimension must be 2, got {shape}")
    return t.reshape(-1, 2)


class RowOptimizer(torch.optim.Optimizer):
    """Base of the gradient-only own optimizers: reads ``p.grad``, updates rows in closed form.

    ``step(closure)`` follows torch: the closure (if any) is evaluated with grad enabled and its
    loss returned; parameters without a gradient are skipped.
    """

    label = "RowOptimizer"

    def step(self, closure: Callable[[], torch.Tensor] | None = None):  # type: ignore[override]
        """One update of every row of every parameter that has a gradient."""
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        with torch.no_grad():
            for group in self.param_groups:
                for p in group["params"]:
                    if p.grad is None:
                        continue
                    grad = as_rows(p.grad, self.label).to(p.dtype)
                    update = self._update(as_rows(p, self.label), grad, group, self.state[p])
                    p.sub_(update.reshape(p.shape))
        return loss

    def _update(
        self, theta: torch.Tensor, grad: torch.Tensor, group: dict, state: dict
    ) -> torch.Tensor:
        """The step ``θ_{t-1} - θ_t`` for rows ``theta`` ``(N, 2)`` given ``grad`` ``(N, 2)``."""
        raise NotImplementedError
