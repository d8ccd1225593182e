r"""Diagonal quasi-Newton: per-coordinate curvature from differences of gradients.

.. math::
    h_t = \left|\frac{\nabla f(\theta_{t-1}) - \nabla f(\theta_{t-2})}
    {\theta_{t-1} - \theta_{t-2}}\right|,\quad
    \bar h_t = \beta\,\bar h_{t-1} + (1-\beta)\,h_t,\quad
    \theta_t = \theta_{t-1} - \gamma\,\frac{g_t}{\bar h_t + \mu}

(elementwise; :math:`g_t` is the gradient seen at :math:`\theta_{t-1}`, noise included, while
:math:`h_t` differences noise-free gradients from ``grad_fn``: one sample at both points, so
additive noise cancels; without ``grad_fn`` it differences :math:`g_t - g_{t-1}`, exact only
without noise). Becker & LeCun's "pseudo-Newton" step :math:`-\epsilon\, g_i /
(|\partial^2 f/\partial\theta_i^2| + \mu)`, with the diagonal second derivative estimated here by
the secant of the last move instead of a second backward pass.

Reference: Becker & LeCun (1988), "Improving the convergence of back-propagation learning with
second order methods", Proc. 1988 Connectionist Models Summer School.
"""

from __future__ import annotations

import torch

from optviz.optimizers._common import check_fraction, check_number
from optviz.optimizers._secant import GradFn, SecantOptimizer, secant_curvature

__all__ = ["DiagNewton", "GradFn", "secant_curvature"]


class DiagNewton(SecantOptimizer):
    r"""Diagonal quasi-Newton (after Becker & LeCun 1988), elementwise on ``(N, 2)`` rows.

    Step 1 (no curvature known yet) is a plain gradient step :math:`\theta_1 = \theta_0 - \gamma_0
    g_1` with ``init_lr`` :math:`\gamma_0`. Afterwards each coordinate's secant curvature
    :math:`h = |\Delta G/\Delta\theta|` is averaged (:math:`\bar h` starts at the first estimate,
    then :math:`\bar h \leftarrow \beta\bar h + (1-\beta) h`) and the step is :math:`\gamma g /
    (\bar h + \mu)`; ``damping`` :math:`\mu` floors the denominator where curvature is tiny or
    mis-estimated (the secant also picks up cross terms :math:`H_{xy}\Delta y/\Delta x`).
    :math:`G` is ``grad_fn`` (``(N, 2) -> (N, 2)`` noise-free gradients, one call per step) when
    given, else ``p.grad`` (correct only without gradient noise: independent noise at the two
    points, divided by a shrinking step, inflates :math:`h` until the method freezes).
    State (rows ``(N, 2)``): ``curvature`` (:math:`\bar h`), ``estimates`` (count of secants seen
    per coordinate), ``prev_param``, ``prev_grad`` (:math:`G` there).
    """

    label = "DiagNewton"

    def __init__(
        self,
        params,
        lr: float = 1.0,
        damping: float = 1.0,
        beta: float = 0.5,
        init_lr: float = 1e-3,
        grad_fn: GradFn | None = None,
    ) -> None:
        check_number("lr", lr, 0.0, strict=True)
        check_number("damping", damping, 0.0)
        check_fraction("beta", beta)
        check_number("init_lr", init_lr, 0.0, strict=True)
        defaults = {"lr": lr, "damping": damping, "beta": beta, "init_lr": init_lr}
        super().__init__(params, defaults, grad_fn)

    def _update(self, theta, grad, group, state):
        secant_grad = self.secant_gradient(theta, grad)
        if not state:
            state["step"] = 0
            state["curvature"] = torch.zeros_like(theta)
            state["estimates"] = torch.zeros_like(theta)
            update = group["init_lr"] * grad
        else:
            h, valid = secant_curvature(theta, secant_grad, state)
            first = state["estimates"] == 0
            beta = group["beta"]
            averaged = torch.where(first, h, beta * state["curvature"] + (1 - beta) * h)
            state["curvature"] = torch.where(valid, averaged, state["curvature"])
            state["estimates"] = state["estimates"] + valid.to(theta.dtype)
            newton = group["lr"] * grad / (state["curvature"] + group["damping"])
            update = torch.where(state["estimates"] == 0, group["init_lr"] * grad, newton)
        state["step"] += 1
        state["prev_param"] = theta.clone()
        state["prev_grad"] = secant_grad.clone()
        return update
