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

from collections.abc import Callable
from typing import Any, ClassVar

import torch

from optviz.optimizers._kernel import KernelOptimizer, check_fraction, check_number
from optviz.optimizers._linalg2x2 import add_identity, outer, solve


def init(theta: torch.Tensor) -> dict:
    """:math:`F_0 = 0` per row."""
    return {"step": 0, "fisher": theta.new_zeros(theta.shape[0], 2, 2)}


def update(
    grad: torch.Tensor,
    state: dict,
    theta: torch.Tensor,
    *,
    lr: float = 0.5,
    damping: float = 10.0,
    beta: float = 0.9,
) -> tuple[torch.Tensor, dict]:
    r""":math:`\Delta\theta = -\eta(\hat F + \lambda I)^{-1} g` with the bias-corrected average
    :math:`\hat F` of :math:`gg^\top` (``beta`` = 0: :math:`g/(|g|^2 + \lambda)`).

    ``damping`` :math:`\lambda > 0` keeps the rank-deficient :math:`\hat F` invertible and sets the
    step :math:`\eta g/\lambda` where gradients are small. State: ``fisher`` (:math:`F_t`).
    """
    step = state["step"] + 1
    fisher = beta * state["fisher"] + (1 - beta) * outer(grad)
    fisher_hat = fisher / (1 - beta**step)
    state = {"step": step, "fisher": fisher}
    return -lr * solve(add_identity(fisher_hat, damping), grad), state


class NaturalGradient(KernelOptimizer):
    """Empirical-Fisher natural gradient on ``(N, 2)`` rows, in closed form (:func:`update`)."""

    label = "NaturalGradient"
    init_state = staticmethod(init)
    update_state = staticmethod(update)
    checks: ClassVar[dict[str, Callable[[str, Any], None]]] = {
        "lr": lambda n, v: check_number(n, v, 0.0, strict=True),
        "damping": lambda n, v: check_number(n, v, 0.0, strict=True),
        "beta": check_fraction,
    }
