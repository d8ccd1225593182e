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

from collections.abc import Callable
from typing import Any, ClassVar

import torch

from optviz.optimizers._kernel import KernelOptimizer, check_number
from optviz.optimizers._linalg2x2 import add_identity, outer, solve, sqrtm_psd


def init(theta: torch.Tensor) -> dict:
    """:math:`G_0 = 0` per row."""
    return {"step": 0, "G": theta.new_zeros(theta.shape[0], 2, 2)}


def update(
    grad: torch.Tensor, state: dict, theta: torch.Tensor, *, lr: float = 0.5, eps: float = 1e-8
) -> tuple[torch.Tensor, dict]:
    r""":math:`G \leftarrow G + gg^\top`, :math:`\Delta\theta = -\eta(\delta I + G^{1/2})^{-1}g`.

    :math:`G^{1/2} = (G + sI)/t` with :math:`s = \sqrt{\det G}`, :math:`t = \sqrt{\operatorname{tr}
    G + 2s}`; a diagonal :math:`G` stays exactly diagonal. While :math:`G` is (nearly) rank one
    its small eigenvalue is known only to rounding, so float64 steps wobble in the 8th digit or
    so: invisible in a plot. State: ``G``, ``G_sqrt`` (both ``(N, 2, 2)``), ``step``.
    """
    G = state["G"] + outer(grad)
    G_sqrt = sqrtm_psd(G)
    state = {"step": state["step"] + 1, "G": G, "G_sqrt": G_sqrt}
    return -lr * solve(add_identity(G_sqrt, eps), grad), state


class AdaGradFull(KernelOptimizer):
    """Full-matrix AdaGrad on ``(N, 2)`` rows, per row in closed form (:func:`update`)."""

    label = "AdaGradFull"
    init_state = staticmethod(init)
    update_state = staticmethod(update)
    checks: ClassVar[dict[str, Callable[[str, Any], None]]] = {
        "lr": lambda n, v: check_number(n, v, 0.0, strict=True),
        "eps": lambda n, v: check_number(n, v, 0.0, strict=True),
    }
