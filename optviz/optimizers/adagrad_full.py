r"""Full-matrix AdaGrad: precondition by the inverse square root of the summed outer products.

.. math::
    G_t = G_{t-1} + g_t g_t^\top,\qquad
    \theta_t = \theta_{t-1} - \eta\,(\delta I + G_t^{1/2})^{-1} g_t

:math:`\delta` enters as in Duchi et al.'s full-matrix update (:math:`H_t = \delta I + G_t^{1/2}`),
so for a diagonal :math:`G_t` this is exactly diagonal AdaGrad as torch runs it,
:math:`g/(\sqrt{G} + \epsilon)` with :math:`\epsilon = \delta`.

Reference: Duchi, Hazan & Singer (2011), "Adaptive Subgradient Methods for Online Learning and
Stochastic Optimization", JMLR 12.
"""

from __future__ import annotations

from optviz.optimizers import _linalg2x2 as la
from optviz.optimizers._common import RowOptimizer, check_number


class AdaGradFull(RowOptimizer):
    r"""Full-matrix AdaGrad on ``(N, 2)`` rows, per row in closed form.

    :math:`G^{1/2} = (G + sI)/t` with :math:`s = \sqrt{\det G}`, :math:`t = \sqrt{\operatorname{tr}
    G + 2s}`, then the adjugate solve; a diagonal :math:`G` stays exactly diagonal. ``eps``
    :math:`\delta` keeps :math:`\delta I + G^{1/2}` invertible while :math:`G` is (nearly) rank
    one, as in the first steps; there its condition number is about :math:`|g|/\delta` and the
    small eigenvalue of :math:`G` is known only to rounding (:math:`\sqrt{\det G}` to
    :math:`\sim\sqrt{\epsilon_{\text{mach}}}\,|g|^2`), so float64 steps wobble in the 8th digit
    or so: invisible in a plot. State: ``G``, ``G_sqrt`` (both ``(N, 2, 2)``), ``step``.
    """

    label = "AdaGradFull"

    def __init__(self, params, lr: float = 0.5, eps: float = 1e-8) -> None:
        check_number("lr", lr, 0.0, strict=True)
        check_number("eps", eps, 0.0, strict=True)
        super().__init__(params, {"lr": lr, "eps": eps})

    def _update(self, theta, grad, group, state):
        if not state:
            state["step"] = 0
            state["G"] = theta.new_zeros(theta.shape[0], 2, 2)
        state["step"] += 1
        state["G"] = state["G"] + la.outer(grad)
        state["G_sqrt"] = la.sqrtm_psd(state["G"])
        return group["lr"] * la.solve(la.add_identity(state["G_sqrt"], group["eps"]), grad)
