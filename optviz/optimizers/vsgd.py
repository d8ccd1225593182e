r"""vSGD: per-coordinate learning rates from gradient statistics and the curvature.

Elementwise, with :math:`g` the gradient seen at :math:`\theta_{t-1}` (noise included) and memory
:math:`\tau` (in steps):

.. math::
    \bar g \leftarrow (1-\tfrac1\tau)\bar g + \tfrac1\tau g,\quad
    \bar v \leftarrow (1-\tfrac1\tau)\bar v + \tfrac1\tau g^2,\quad
    \bar h \leftarrow (1-\tfrac1\tau)\bar h + \tfrac1\tau h,\quad
    \eta^* = \frac{\bar g^2}{\bar h\,(\bar v + \epsilon)},\quad
    \tau \leftarrow \Bigl(1 - \frac{\bar g^2}{\bar v + \epsilon}\Bigr)\tau + 1,\quad
    \theta \leftarrow \theta - \eta^* g

with :math:`h = \max(|\partial^2 f/\partial\theta_i^2|, h_{\min})`. The paper estimates the
diagonal Hessian by "bbprop" on the current sample; a surface has its exact Hessian, and its
diagonal is what runs by default (noise-free: the noise is additive to the gradient). The
absolute value keeps the rate positive at negative curvature; :math:`h_{\min}` bounds the step
where the curvature vanishes. ``curvature="secant"`` uses the finite-difference variant of
Schaul & LeCun (2013) instead (:mod:`optviz.optimizers._secant`).

Reference: Schaul, Zhang & LeCun (2012), "No More Pesky Learning Rates", arXiv:1206.1106
(ICML 2013); Schaul & LeCun (2013), "Adaptive learning rates and parallelization for stochastic,
sparse, non-smooth gradients", arXiv:1301.3764 (ICLR 2013).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ClassVar

import torch

from optviz.optimizers._kernel import KernelOptimizer, check_number
from optviz.optimizers._secant import check_curvature, curvature_estimate

__all__ = ["VSGD", "init", "update"]


def init(theta: torch.Tensor) -> dict:
    """No statistics yet (the slow start fills them at the first curvature estimate)."""
    return {"step": 0}


def update(
    grad: torch.Tensor,
    state: dict,
    theta: torch.Tensor,
    *,
    hessian: torch.Tensor | None,
    clean_grad: torch.Tensor,
    min_curvature: float = 1.0,
    slow_constant: float = 2.0,
    init_tau: float = 10.0,
    eps: float = 1e-12,
    curvature: str = "exact",
    init_lr: float = 1e-3,
) -> tuple[torch.Tensor, dict]:
    r"""vSGD-l: :math:`\Delta\theta = -\eta^* g` (module docstring).

    At the first curvature estimate (step 1 exact, step 2 secant; the secant's step 1 is
    :math:`-\gamma_0 g` with ``init_lr``) the statistics start as in the paper's slow start:
    :math:`\bar g = g`, :math:`\bar v = C(g^2 + \epsilon)`, :math:`\bar h = C h`, :math:`\tau =
    \tau_0`. Later a coordinate without a new estimate (secant: it did not move) keeps
    :math:`\bar h`. State: ``g_avg``, ``v_avg``, ``h_avg``, ``tau``, ``rate`` (:math:`\eta^*`).
    """
    h, valid, memory = curvature_estimate(curvature, theta, hessian, clean_grad, state)
    step = state["step"] + 1
    if curvature == "secant" and step == 1:
        return -init_lr * grad, {"step": step, **memory}
    h = h.clamp(min=min_curvature)
    if "tau" not in state:  # slow start: statistics inflated by C
        h0 = torch.where(valid, h, torch.full_like(h, min_curvature))
        g_avg = grad.clone()
        v_avg = slow_constant * (grad * grad + eps)
        h_avg = slow_constant * h0
        tau = torch.full_like(grad, init_tau)
    else:
        w = 1.0 / state["tau"]
        g_avg = (1 - w) * state["g_avg"] + w * grad
        v_avg = (1 - w) * state["v_avg"] + w * (grad * grad)
        h_avg = torch.where(valid, (1 - w) * state["h_avg"] + w * h, state["h_avg"])
        tau = state["tau"]
    ratio = (g_avg**2 / (v_avg + eps)).clamp(max=1.0)
    rate = ratio / h_avg
    state = {
        "step": step,
        "g_avg": g_avg,
        "v_avg": v_avg,
        "h_avg": h_avg,
        "tau": (1 - ratio) * tau + 1,
        "rate": rate,
        **memory,
    }
    return -rate * grad, state


class VSGD(KernelOptimizer):
    """vSGD (Schaul, Zhang & LeCun 2012), "vSGD-l" elementwise form, on ``(N, 2)`` rows.

    No global learning rate, by design. ``hessian_fn`` gives the exact curvature (default);
    ``curvature="secant"`` differences ``grad_fn``'s noise-free gradients instead.
    """

    label = "vSGD"
    init_state = staticmethod(init)
    update_state = staticmethod(update)
    checks: ClassVar[dict[str, Callable[[str, Any], None]]] = {
        "min_curvature": lambda n, v: check_number(n, v, 0.0, strict=True),
        "slow_constant": lambda n, v: check_number(n, v, 1.0),
        "init_tau": lambda n, v: check_number(n, v, 1.0),
        "eps": lambda n, v: check_number(n, v, 0.0, strict=True),
        "curvature": check_curvature,
        "init_lr": lambda n, v: check_number(n, v, 0.0, strict=True),
    }
