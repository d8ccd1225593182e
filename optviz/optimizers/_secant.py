r"""Per-coordinate curvature for the diagonal methods (diagonal quasi-Newton, vSGD).

Two estimates of :math:`h_i \approx \partial^2 f/\partial\theta_i^2`, elementwise on ``(N, 2)``:

- **exact** (the default): the diagonal of the Hessian at :math:`\theta_{t-1}`, as the papers
  compute it (Becker & LeCun 1988 by a second backward pass; Schaul, Zhang & LeCun 2012 by
  "bbprop"). Every surface has its closed-form Hessian, so this costs one evaluation per step.
- **secant**: :math:`|\Delta G/\Delta\theta|` over the last move, a finite difference that also
  picks up cross terms :math:`H_{xy}\Delta y/\Delta x` and divides by moves that may be a few ulps
  long (then :math:`h` is rounding noise: on Beale vSGD's average reached 8e12 against a true
  3–46). Both gradients :math:`G` must come from one sample, or their noise does not cancel
  (Schaul & LeCun 2013): under additive noise that is the noise-free gradient.

Curvature may be negative (a saddle, Rosenbrock's ridge) or zero: both methods use its size
:math:`|h|`, which keeps the step along :math:`-g` (a descent direction), and bound the step
where :math:`|h|` is small (diagonal quasi-Newton adds :math:`\mu`, vSGD floors at
:math:`h_{\min}`).
"""

from __future__ import annotations

import torch

CURVATURES = ("exact", "secant")


def check_curvature(name: str, value: object) -> None:
    """Refuse a curvature estimate other than ``exact`` / ``secant``."""
    if value not in CURVATURES:
        raise ValueError(f"Invalid {name}: {value!r} (must be 'exact' or 'secant')")


def hessian_diagonal(hessian: torch.Tensor | None) -> tuple[torch.Tensor, torch.Tensor]:
    r"""Elementwise :math:`|\partial^2 f/\partial\theta_i^2|` from ``(N, 2, 2)`` Hessians, and
    where it is finite."""
    if hessian is None:
        raise RuntimeError("curvature='exact' needs hessian_fn (or a closure returning the loss)")
    h = hessian.diagonal(dim1=-2, dim2=-1).abs()
    valid = torch.isfinite(h)
    return torch.where(valid, h, torch.zeros_like(h)), valid


def secant_curvature(
    theta: torch.Tensor, grad: torch.Tensor, state: dict
) -> tuple[torch.Tensor, torch.Tensor]:
    r"""Elementwise :math:`|\Delta G / \Delta\theta|` since the last step, and where it is defined.

    ``grad`` is differenced against ``state["prev_grad"]`` (taken at ``state["prev_param"]``);
    before any move, or for a coordinate that did not move (:math:`\Delta\theta = 0`: no move, no
    curvature update), there is no estimate.
    """
    if "prev_param" not in state:
        return torch.zeros_like(theta), torch.zeros_like(theta, dtype=torch.bool)
    d_theta = theta - state["prev_param"]
    valid = (d_theta != 0) & torch.isfinite(d_theta)
    safe = torch.where(valid, d_theta, torch.ones_like(d_theta))
    h = ((grad - state["prev_grad"]) / safe).abs()
    valid &= torch.isfinite(h)
    return torch.where(valid, h, torch.zeros_like(h)), valid


def curvature_estimate(
    curvature: str,
    theta: torch.Tensor,
    hessian: torch.Tensor | None,
    clean_grad: torch.Tensor,
    state: dict,
) -> tuple[torch.Tensor, torch.Tensor, dict]:
    """``(h, valid, memory)``: this step's estimate and what the next step needs to remember."""
    if curvature == "exact":
        h, valid = hessian_diagonal(hessian)
        return h, valid, {}
    h, valid = secant_curvature(theta, clean_grad, state)
    return h, valid, {"prev_param": theta.clone(), "prev_grad": clean_grad.clone()}
