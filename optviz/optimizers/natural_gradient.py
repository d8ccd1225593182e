r"""Natural gradient with the empirical Fisher: precondition by an average of :math:`g g^\top`.

.. math::
    F_t = \beta F_{t-1} + (1-\beta)\,g_t g_t^\top,\qquad
    \hat F_t = \frac{F_t}{1-\beta^t},\qquad
    \theta_t = \theta_{t-1} - \eta\,(\hat F_t + \lambda I)^{-1} g_t

The true natural gradient uses the Fisher information of a probabilistic model; averaging
:math:`g g^\top` over past steps is the *empirical Fisher* approximation, which on a deterministic
surface mostly measures the gradient's own direction and size (Kunstner, Balles & Hennig 2019).

References: Amari (1998), "Natural Gradient Works Efficiently in Learning", Neural Computation 10;
Kunstner, Balles & Hennig (2019), "Limitations of the Empirical Fisher Approximation for Natural
Gradient Descent", NeurIPS.
"""

from __future__ import annotations

from optviz.optimizers import _linalg2x2 as la
from optviz.optimizers._common import RowOptimizer, check_fraction, check_number


class NaturalGradient(RowOptimizer):
    r"""Empirical-Fisher natural gradient on ``(N, 2)`` rows, per row in closed form.

    :math:`F` is an exponential moving average of :math:`g g^\top` with Adam-style bias correction
    (``beta`` = 0: only the current gradient, :math:`(gg^\top + \lambda I)^{-1}g = g/(|g|^2 +
    \lambda)`). ``damping`` :math:`\lambda > 0` keeps the rank-deficient :math:`\hat F` invertible
    and sets the step :math:`\eta g/\lambda` where gradients are small.
    State: ``fisher`` (:math:`F_t`, ``(N, 2, 2)``), ``step``.
    """

    label = "NaturalGradient"

    def __init__(self, params, lr: float = 1.0, damping: float = 1.0, beta: float = 0.9) -> None:
        check_number("lr", lr, 0.0, strict=True)
        check_number("damping", damping, 0.0, strict=True)
        check_fraction("beta", beta)
        super().__init__(params, {"lr": lr, "damping": damping, "beta": beta})

    def _update(self, theta, grad, group, state):
        beta = group["beta"]
        if not state:
            state["step"] = 0
            state["fisher"] = theta.new_zeros(theta.shape[0], 2, 2)
        state["step"] += 1
        state["fisher"] = beta * state["fisher"] + (1 - beta) * la.outer(grad)
        fisher_hat = state["fisher"] / (1 - beta ** state["step"])
        return group["lr"] * la.solve(la.add_identity(fisher_hat, group["damping"]), grad)
