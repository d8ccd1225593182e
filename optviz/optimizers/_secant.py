r"""Secant curvature of the last move, shared by the diagonal quasi-Newton method and vSGD.

.. math::
    h = \left|\frac{G(\theta_{t-1}) - G(\theta_{t-2})}{\theta_{t-1} - \theta_{t-2}}\right|
    \quad\text{(elementwise)}

Both gradients :math:`G` must come from the same sample, or their noise does not cancel: with
independent noise :math:`\xi` the difference carries :math:`\xi_t - \xi_{t-1}`, divided by a step
that shrinks, and :math:`h` blows up (the method then freezes). Schaul & LeCun (2013), "Adaptive
learning rates and parallelization for stochastic, sparse, non-smooth gradients" (ICLR), measure
the finite difference on one minibatch for this reason. Under additive gradient noise the same
sample at both points is the noise-free gradient, so :math:`G` is ``grad_fn`` when the optimizer
is given one; without it :math:`G` is ``p.grad``, which is right only when there is no noise.
"""

from __future__ import annotations

from collections.abc import Callable

import torch

from optviz.optimizers._common import RowOptimizer

GradFn = Callable[[torch.Tensor], torch.Tensor]


def secant_curvature(
    theta: torch.Tensor, grad: torch.Tensor, state: dict
) -> tuple[torch.Tensor, torch.Tensor]:
    r"""Elementwise :math:`|\Delta g / \Delta\theta|` since the last step, and where it is defined.

    ``grad`` is differenced against ``state["prev_grad"]`` (the same kind of gradient, taken at
    ``state["prev_param"]``). A coordinate that did not move (:math:`\Delta\theta = 0`, e.g. a
    frozen row) gives no estimate.
    """
    d_theta = theta - state["prev_param"]
    valid = (d_theta != 0) & torch.isfinite(d_theta)
    safe = torch.where(valid, d_theta, torch.ones_like(d_theta))
    h = ((grad - state["prev_grad"]) / safe).abs()
    valid &= torch.isfinite(h)
    return torch.where(valid, h, torch.zeros_like(h)), valid


class SecantOptimizer(RowOptimizer):
    """A :class:`RowOptimizer` whose curvature is the secant of the gradient ``secant_gradient``.

    ``grad_fn`` maps ``(N, 2)`` positions to their ``(N, 2)`` noise-free gradients; when given it
    is called once per step (at the current point; the previous one is kept in the state as
    ``prev_grad``), while the update itself still uses ``p.grad``, noise included.
    """

    def __init__(self, params, defaults: dict, grad_fn: GradFn | None = None) -> None:
        if grad_fn is not None and not callable(grad_fn):
            raise ValueError(f"Invalid grad_fn: {grad_fn!r} (must be callable or None)")
        super().__init__(params, defaults)
        self.grad_fn = grad_fn

    def secant_gradient(self, theta: torch.Tensor, grad: torch.Tensor) -> torch.Tensor:
        """The gradient the secant differences: ``grad_fn(theta)`` when given, else ``grad``."""
        if self.grad_fn is None:
            return grad
        out = torch.as_tensor(self.grad_fn(theta.clone())).to(theta)
        if out.numel() != theta.numel() or out.dim() == 0 or out.shape[-1] != 2:
            raise ValueError(
                f"{self.label}: grad_fn must map (N, 2) positions to (N, 2) gradients; "
                f"got shape {tuple(out.shape)} for positions {tuple(theta.shape)}"
            )
        return out.reshape(theta.shape).clone()
