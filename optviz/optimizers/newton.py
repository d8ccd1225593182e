r"""Damped Newton–Raphson for batches of 2D points.

.. math::
    \theta_t = \theta_{t-1} - \gamma\,(\nabla^2 f(\theta_{t-1}) + \lambda I)^{-1}
    \nabla f(\theta_{t-1})

Reference: Nocedal & Wright (2006), *Numerical Optimization*, 2nd ed., ch. 3 (Newton's method).
"""

from __future__ import annotations

from collections.abc import Callable

import torch

from optviz.optimizers import _linalg2x2 as la
from optviz.optimizers._common import as_rows, check_number

HessianFn = Callable[[torch.Tensor], torch.Tensor]


def autograd_hessian(loss: torch.Tensor, p: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Gradient ``(N, 2)`` and per-row Hessian ``(N, 2, 2)`` of ``loss`` (a sum over rows).

    Rows are independent, so :math:`\\partial(\\sum_n g_{n,k})/\\partial\\theta = H[:, k, :]`: two
    extra backward passes give every row's Hessian.
    """
    if not (torch.is_tensor(loss) and loss.requires_grad):
        raise RuntimeError(
            "Newton without hessian_fn needs a closure returning the loss still attached to its "
            "graph (do not call backward() inside it)"
        )
    try:
        (g,) = torch.autograd.grad(loss, p, create_graph=True)
    except RuntimeError as err:
        raise RuntimeError(
            "Newton could not differentiate the closure's loss twice; return the loss without "
            f"calling backward() (or use backward(create_graph=True)): {err}"
        ) from err
    rows = as_rows(g, "Newton")
    hessian_rows = []
    for k in (0, 1):
        if rows.requires_grad:
            (hk,) = torch.autograd.grad(
                rows[:, k].sum(), p, retain_graph=True, allow_unused=True, materialize_grads=True
            )
        else:  # the gradient does not depend on p: f is linear
            hk = torch.zeros_like(p)
        hessian_rows.append(as_rows(hk, "Newton"))
    return rows.detach(), torch.stack(hessian_rows, dim=-2).detach()


class Newton(torch.optim.Optimizer):
    r"""Newton–Raphson on ``(N, 2)`` parameters: :math:`\theta \leftarrow \theta - \gamma (H +
    \lambda I)^{-1} g` per row, by the closed-form 2x2 adjugate (no per-row loop).

    The Hessian comes from ``hessian_fn(p)`` (``(..., 2) -> (..., 2, 2)``) when given, else by
    double backward through ``closure``, which must return the summed loss WITHOUT calling
    ``backward()``. The gradient is ``p.grad`` when set (the runner sets it, noise included), else
    the closure's. Pure Newton heads for any stationary point: saddles and maxima too. A singular
    :math:`H + \lambda I` (possible with ``damping=0``) gives inf/NaN in that row only, which the
    runner reports as divergence. State per parameter: ``hessian`` ``(..., 2, 2)`` and
    ``direction`` (the Newton step before scaling by ``lr``, shaped like the parameter).
    """

    def __init__(
        self,
        params,
        lr: float = 1.0,
        damping: float = 0.0,
        hessian_fn: HessianFn | None = None,
    ) -> None:
        check_number("lr", lr, 0.0, strict=True)
        check_number("damping", damping, 0.0)
        super().__init__(params, {"lr": lr, "damping": damping})
        self.hessian_fn = hessian_fn

    def step(self, closure: Callable[[], torch.Tensor] | None = None):  # type: ignore[override]
        """One Newton step for every row of every parameter."""
        loss = None
        auto: dict[torch.Tensor, tuple[torch.Tensor, torch.Tensor]] = {}
        if self.hessian_fn is None:
            if closure is None:
                raise RuntimeError("Newton needs hessian_fn or a closure returning the loss")
            with torch.enable_grad():
                loss = closure()
                for group in self.param_groups:
                    for p in group["params"]:
                        auto[p] = autograd_hessian(loss, p)
        elif closure is not None:
            with torch.enable_grad():
                loss = closure()
        with torch.no_grad():
            for group in self.param_groups:
                for p in group["params"]:
                    self._step_param(p, group, auto.get(p))
        return loss

    def _step_param(self, p: torch.Tensor, group: dict, auto) -> None:
        if auto is not None:
            g_auto, hessian = auto
            grad = as_rows(p.grad, "Newton") if p.grad is not None else g_auto
        else:
            if p.grad is None:
                return
            grad = as_rows(p.grad, "Newton")
            hessian = self.hessian_fn(p.detach()).reshape(-1, 2, 2).to(p)  # type: ignore[misc]
        direction = la.solve(la.add_identity(hessian, group["damping"]), grad)
        p.add_(direction.reshape(p.shape), alpha=-group["lr"])
        state = self.state[p]
        state["step"] = state.get("step", 0) + 1
        state["hessian"] = hessian.reshape(*p.shape, 2)
        state["direction"] = direction.reshape(p.shape)
