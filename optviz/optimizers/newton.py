r"""Damped Newton–Raphson for batches of 2D points.

.. math::
    \theta_t = \theta_{t-1} - \gamma\,(\nabla^2 f(\theta_{t-1}) + \lambda I)^{-1}
    \nabla f(\theta_{t-1})

Reference: Nocedal & Wright (2006), *Numerical Optimization*, 2nd ed., ch. 3 (Newton's method).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ClassVar

import torch

from optviz.optimizers._kernel import (
    GradFn,
    HessianFn,
    KernelOptimizer,
    autograd_hessian,
    check_number,
)
from optviz.optimizers._linalg2x2 import add_identity, solve

__all__ = ["GradFn", "HessianFn", "Newton", "autograd_hessian", "init", "update"]


def init(theta: torch.Tensor) -> dict:
    """Newton keeps no memory: only a step count (and, for drawing, the last Hessian)."""
    return {"step": 0}


def update(
    grad: torch.Tensor,
    state: dict,
    theta: torch.Tensor,
    *,
    hessian: torch.Tensor | None,
    lr: float = 1.0,
    damping: float = 0.0,
) -> tuple[torch.Tensor, dict]:
    r""":math:`\Delta\theta = -\gamma\,(H + \lambda I)^{-1} g` per row, by the 2x2 adjugate.

    A singular :math:`H + \lambda I` (possible with ``damping=0``) gives inf/NaN in that row only.
    State: ``hessian`` ``(N, 2, 2)`` and ``direction`` (the Newton step before scaling by γ).
    """
    if hessian is None:
        raise RuntimeError("Newton needs hessian_fn or a closure returning the loss")
    direction = solve(add_identity(hessian, damping), grad)
    state = {"step": state["step"] + 1, "hessian": hessian, "direction": direction}
    return -lr * direction, state


class Newton(KernelOptimizer):
    r"""Newton–Raphson on ``(N, 2)`` parameters: :math:`\theta \leftarrow \theta - \gamma (H +
    \lambda I)^{-1} g` per row (:func:`update`).

    The Hessian comes from ``hessian_fn(p)`` (``(N, 2) -> (N, 2, 2)``) when given, else by double
    backward through ``closure``, which must return the summed loss WITHOUT calling
    ``backward()``. Pure Newton heads for any stationary point: saddles and maxima too.
    """

    label = "Newton"
    requires_hessian = True
    init_state = staticmethod(init)
    update_state = staticmethod(update)
    checks: ClassVar[dict[str, Callable[[str, Any], None]]] = {
        "lr": lambda n, v: check_number(n, v, 0.0, strict=True),
        "damping": lambda n, v: check_number(n, v, 0.0),
    }
