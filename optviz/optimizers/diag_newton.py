r"""Diagonal quasi-Newton (Becker & LeCun's "pseudo-Newton" step), elementwise on ``(N, 2)``.

.. math::
    h_t = \left|\frac{\partial^2 f}{\partial\theta_i^2}(\theta_{t-1})\right|,\quad
    \bar h_t = \beta\,\bar h_{t-1} + (1-\beta)\,h_t,\quad
    \theta_t = \theta_{t-1} - \gamma\,\frac{g_t}{\bar h_t + \mu}

:math:`g_t` is the gradient seen at :math:`\theta_{t-1}` (noise included); :math:`h_t` the exact
diagonal of the Hessian (noise-free) or, with ``curvature="secant"``, the secant of the last move
(:mod:`optviz.optimizers._secant`). Becker & LeCun's step is :math:`-\epsilon\,g_i /
(|\partial^2 f/\partial\theta_i^2| + \mu)`: the absolute value keeps the step a descent
direction where the curvature is negative, and :math:`\mu` bounds it where the curvature is small.

Reference: Becker & LeCun (1988), "Improving the convergence of back-propagation learning with
second order methods", Proc. 1988 Connectionist Models Summer School.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ClassVar

import torch

from optviz.optimizers._kernel import KernelOptimizer, check_fraction, check_number
from optviz.optimizers._secant import check_curvature, curvature_estimate

__all__ = ["DiagNewton", "init", "update"]


def init(theta: torch.Tensor) -> dict:
    """No curvature known yet: :math:`\\bar h = 0` with no estimates."""
    zeros = torch.zeros_like(theta)
    return {"step": 0, "curvature": zeros, "estimates": zeros.clone()}


def update(
    grad: torch.Tensor,
    state: dict,
    theta: torch.Tensor,
    *,
    hessian: torch.Tensor | None,
    clean_grad: torch.Tensor,
    lr: float = 1.0,
    damping: float = 1.0,
    beta: float = 0.5,
    curvature: str = "exact",
    init_lr: float = 1e-3,
) -> tuple[torch.Tensor, dict]:
    r""":math:`\Delta\theta = -\gamma g/(\bar h + \mu)`, :math:`\bar h` the running average of
    :math:`|h|` (it starts at the first estimate).

    A coordinate with no estimate yet (the secant's first step) takes a plain gradient step
    :math:`-\gamma_0 g` with ``init_lr`` :math:`\gamma_0`; the exact curvature is known from step 1.
    State: ``curvature`` (:math:`\bar h`), ``estimates`` (count of estimates per coordinate), and
    for the secant ``prev_param``, ``prev_grad``.
    """
    h, valid, memory = curvature_estimate(curvature, theta, hessian, clean_grad, state)
    first = state["estimates"] == 0
    averaged = torch.where(first, h, beta * state["curvature"] + (1 - beta) * h)
    h_bar = torch.where(valid, averaged, state["curvature"])
    estimates = state["estimates"] + valid.to(theta.dtype)
    newton = lr * grad / (h_bar + damping)
    step = torch.where(estimates == 0, init_lr * grad, newton)
    state = {"step": state["step"] + 1, "curvature": h_bar, "estimates": estimates, **memory}
    return -step, state


class DiagNewton(KernelOptimizer):
    """Diagonal quasi-Newton (after Becker & LeCun 1988) on ``(N, 2)`` rows (:func:`update`).

    ``hessian_fn`` gives the exact curvature (default); ``curvature="secant"`` differences
    ``grad_fn``'s noise-free gradients instead (``p.grad`` without it: right only without noise).
    """

    label = "DiagNewton"
    init_state = staticmethod(init)
    update_state = staticmethod(update)
    checks: ClassVar[dict[str, Callable[[str, Any], None]]] = {
        "lr": lambda n, v: check_number(n, v, 0.0, strict=True),
        "damping": lambda n, v: check_number(n, v, 0.0),
        "beta": check_fraction,
        "curvature": check_curvature,
        "init_lr": lambda n, v: check_number(n, v, 0.0, strict=True),
    }
