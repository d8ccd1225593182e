r"""Diagonal quasi-Newton: per-coordinate curvature from differences of consecutive gradients.

.. math::
    h_t = \left|\frac{g_t - g_{t-1}}{\theta_{t-1} - \theta_{t-2}}\right|,\quad
    \bar h_t = \beta\,\bar h_{t-1} + (1-\beta)\,h_t,\quad
    \theta_t = \theta_{t-1} - \gamma\,\frac{g_t}{\bar h_t + \mu}

(elementwise; :math:`g_t = \nabla f(\theta_{t-1})`). Becker & LeCun's "pseudo-Newton" step
:math:`-\epsilon\, g_i / (|\partial^2 f/\partial\theta_i^2| + \mu)`, with the diagonal second
derivative estimated here by the secant of the last move instead of a second backward pass.

Reference: Becker & LeCun (1988), "Improving the convergence of back-propagation learning with
second order methods", Proc. 1988 Connectionist Models Summer School.
"""

from __future__ import annotations

import torch

from optviz.optimizers._common import RowOptimizer, check_fraction, check_number


def secant_curvature(
    theta: torch.Tensor, grad: torch.Tensor, state: dict
) -> tuple[torch.Tensor, torch.Tensor]:
    r"""Elementwise :math:`|\Delta g / \Delta\theta|` since the last step, and where it is defined.

    A coordinate that did not move (:math:`\Delta\theta = 0`, e.g. a frozen row) gives no estimate.
    """
    d_theta = theta - state["prev_param"]
    valid = (d_theta != 0) & torch.isfinite(d_theta)
    safe = torch.where(valid, d_theta, torch.ones_like(d_theta))
    h = ((grad - state["prev_grad"]) / safe).abs()
    valid &= torch.isfinite(h)
    return torch.where(valid, h, torch.zeros_like(h)), valid


class DiagNewton(RowOptimizer):
    r"""Diagonal quasi-Newton (after Becker & LeCun 1988), elementwise on ``(N, 2)`` rows.

    Step 1 (no curvature known yet) is a plain gradient step :math:`\theta_1 = \theta_0 - \gamma_0
    g_1` with ``init_lr`` :math:`\gamma_0`. Afterwards each coordinate's secant curvature
    :math:`h = |\Delta g/\Delta\theta|` is averaged (:math:`\bar h` starts at the first estimate,
    then :math:`\bar h \leftarrow \beta\bar h + (1-\beta) h`) and the step is :math:`\gamma g /
    (\bar h + \mu)`; ``damping`` :math:`\mu` floors the denominator where curvature is tiny or
    mis-estimated (the secant also picks up cross terms :math:`H_{xy}\Delta y/\Delta x`).
    State (rows ``(N, 2)``): ``curvature`` (:math:`\bar h`), ``estimates`` (count of secants seen
    per coordinate), ``prev_param``, ``prev_grad``.
    """

    label = "DiagNewton"

    def __init__(
        self,
        params,
        lr: float = 1.0,
        damping: float = 1.0,
        beta: float = 0.5,
        init_lr: float = 1e-3,
    ) -> None:
        check_number("lr", lr, 0.0, strict=True)
        check_number("damping", damping, 0.0)
        check_fraction("beta", beta)
        check_number("init_lr", init_lr, 0.0, strict=True)
        defaults = {"lr": lr, "damping": damping, "beta": beta, "init_lr": init_lr}
        super().__init__(params, defaults)

    def _update(self, theta, grad, group, state):
        if not state:
            state["step"] = 0
            state["curvature"] = torch.zeros_like(theta)
            state["estimates"] = torch.zeros_like(theta)
            update = group["init_lr"] * grad
        else:
            h, valid = secant_curvature(theta, grad, state)
            first = state["estimates"] == 0
            beta = group["beta"]
            averaged = torch.where(first, h, beta * state["curvature"] + (1 - beta) * h)
            state["curvature"] = torch.where(valid, averaged, state["curvature"])
            state["estimates"] = state["estimates"] + valid.to(theta.dtype)
            newton = group["lr"] * grad / (state["curvature"] + group["damping"])
            update = torch.where(state["estimates"] == 0, group["init_lr"] * grad, newton)
        state["step"] += 1
        state["prev_param"] = theta.clone()
        state["prev_grad"] = grad.clone()
        return update
