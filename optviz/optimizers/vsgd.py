r"""vSGD: per-coordinate learning rates from gradient statistics and a curvature estimate.

Elementwise, with :math:`g` the gradient seen at :math:`\theta_{t-1}` (noise included) and memory
:math:`\tau` (in steps):

.. math::
    \bar g \leftarrow (1-\tfrac1\tau)\bar g + \tfrac1\tau g,\quad
    \bar v \leftarrow (1-\tfrac1\tau)\bar v + \tfrac1\tau g^2,\quad
    \bar h \leftarrow (1-\tfrac1\tau)\bar h + \tfrac1\tau h,\quad
    \eta^* = \frac{\bar g^2}{\bar h\,(\bar v + \epsilon)},\quad
    \tau \leftarrow \Bigl(1 - \frac{\bar g^2}{\bar v + \epsilon}\Bigr)\tau + 1,\quad
    \theta \leftarrow \theta - \eta^* g

The paper's curvature :math:`h` is a diagonal Hessian estimate from a "bbprop" backward pass on
the current sample; a 2D surface has no network to bbprop through, so here :math:`h =
\max(|\Delta G/\Delta\theta|, h_{\min})` is the secant of the last move, the finite-difference
variant of Schaul & LeCun (2013), which takes both gradients on ONE sample so that its noise
cancels. Under additive gradient noise that sample is the noise-free gradient: :math:`G` is
``grad_fn`` (one extra evaluation per step) when given. Without ``grad_fn``, :math:`G = g`, which
is right only without noise: independent noise at the two points, over a shrinking step, inflates
:math:`h` until the rate vanishes and the method freezes.

Reference: Schaul, Zhang & LeCun (2012), "No More Pesky Learning Rates", arXiv:1206.1106
(ICML 2013); Schaul & LeCun (2013), "Adaptive learning rates and parallelization for stochastic,
sparse, non-smooth gradients", arXiv:1301.3764 (ICLR 2013).
"""

from __future__ import annotations

import torch

from optviz.optimizers._common import check_number
from optviz.optimizers._secant import GradFn, SecantOptimizer, secant_curvature


class VSGD(SecantOptimizer):
    r"""vSGD (Schaul, Zhang & LeCun 2012), "vSGD-l" elementwise form, on ``(N, 2)`` rows.

    Step 1 is a gradient step with ``init_lr`` (no curvature known yet). At the first secant the
    statistics start as in the paper's slow start: :math:`\bar g = g`, :math:`\bar v = C(g^2 +
    \epsilon)`, :math:`\bar h = C h`, :math:`\tau = \tau_0` with ``slow_constant`` :math:`C` and
    ``init_tau`` :math:`\tau_0`; every later step averages with weight :math:`1/\tau`. Without
    gradient noise :math:`\bar g^2 \approx \bar v`, so :math:`\tau \to 1` and the step tends to the
    secant diagonal-Newton step :math:`g/h`; noise lowers :math:`\bar g^2/\bar v` and with it the
    rate. No global learning rate, by design. ``min_curvature`` :math:`h_{\min}` bounds the step
    where the secant sees (almost) no curvature. The secant differences ``grad_fn`` (``(N, 2) ->
    (N, 2)`` noise-free gradients, one call per step) when given, else ``p.grad`` (only correct
    without noise). State (rows ``(N, 2)``): ``g_avg``, ``v_avg``, ``h_avg``, ``tau``, ``rate``
    (:math:`\eta^*`), ``prev_param``, ``prev_grad`` (the secant's gradient there).
    """

    label = "vSGD"

    def __init__(
        self,
        params,
        init_lr: float = 1e-3,
        min_curvature: float = 1.0,
        slow_constant: float = 2.0,
        init_tau: float = 10.0,
        eps: float = 1e-12,
        grad_fn: GradFn | None = None,
    ) -> None:
        check_number("init_lr", init_lr, 0.0, strict=True)
        check_number("min_curvature", min_curvature, 0.0, strict=True)
        check_number("slow_constant", slow_constant, 1.0)
        check_number("init_tau", init_tau, 1.0)
        check_number("eps", eps, 0.0, strict=True)
        defaults = {
            "init_lr": init_lr,
            "min_curvature": min_curvature,
            "slow_constant": slow_constant,
            "init_tau": init_tau,
            "eps": eps,
        }
        super().__init__(params, defaults, grad_fn)

    def _update(self, theta, grad, group, state):
        secant_grad = self.secant_gradient(theta, grad)
        if not state:
            state["step"] = 0
            update = group["init_lr"] * grad
        else:
            update = self._vsgd_update(theta, grad, secant_grad, group, state)
        state["step"] += 1
        state["prev_param"] = theta.clone()
        state["prev_grad"] = secant_grad.clone()
        return update

    def _vsgd_update(self, theta, grad, secant_grad, group, state) -> torch.Tensor:
        h, valid = secant_curvature(theta, secant_grad, state)
        h = h.clamp(min=group["min_curvature"])
        eps = group["eps"]
        if "tau" not in state:  # slow start: statistics inflated by C
            c = group["slow_constant"]
            h0 = torch.where(valid, h, torch.full_like(h, group["min_curvature"]))
            state["g_avg"] = grad.clone()
            state["v_avg"] = c * (grad * grad + eps)
            state["h_avg"] = c * h0
            state["tau"] = torch.full_like(grad, group["init_tau"])
        else:
            w = 1.0 / state["tau"]
            state["g_avg"] = (1 - w) * state["g_avg"] + w * grad
            state["v_avg"] = (1 - w) * state["v_avg"] + w * (grad * grad)
            h_new = (1 - w) * state["h_avg"] + w * h
            state["h_avg"] = torch.where(valid, h_new, state["h_avg"])
        ratio = (state["g_avg"] ** 2 / (state["v_avg"] + eps)).clamp(max=1.0)
        state["rate"] = ratio / state["h_avg"]
        state["tau"] = (1 - ratio) * state["tau"] + 1
        return state["rate"] * grad
