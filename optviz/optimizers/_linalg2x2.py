"""Closed-form batched 2x2 algebra: ``(..., 2, 2)`` matrices and ``(..., 2)`` vectors.

Every formula is written entry by entry, so each row's result depends on that row only (no BLAS
reduction whose rounding could depend on the batch size): batched rows equal single-row runs
bit for bit.
"""

from __future__ import annotations

import torch


def outer(v: torch.Tensor) -> torch.Tensor:
    r"""Outer products :math:`v v^\top`: ``(..., 2) -> (..., 2, 2)``."""
    return v.unsqueeze(-1) * v.unsqueeze(-2)


def add_identity(m: torch.Tensor, scale: float) -> torch.Tensor:
    r""":math:`M + sI` (a new tensor)."""
    out = m.clone()
    out[..., 0, 0] += scale
    out[..., 1, 1] += scale
    return out


def det(m: torch.Tensor) -> torch.Tensor:
    r""":math:`\det M = ad - bc`: ``(..., 2, 2) -> (...)``."""
    return m[..., 0, 0] * m[..., 1, 1] - m[..., 0, 1] * m[..., 1, 0]


def solve(m: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
    r""":math:`M^{-1} v` by the adjugate: :math:`\frac{1}{ad - bc}(d v_0 - b v_1,\ a v_1 - c v_0)`.

    A singular row gives inf/NaN in that row only (never an exception).
    """
    a, b = m[..., 0, 0], m[..., 0, 1]
    c, d = m[..., 1, 0], m[..., 1, 1]
    v0, v1 = v[..., 0], v[..., 1]
    dt = a * d - b * c
    return torch.stack(((d * v0 - b * v1) / dt, (a * v1 - c * v0) / dt), dim=-1)


def sqrtm_psd(m: torch.Tensor) -> torch.Tensor:
    r"""Principal square root of symmetric positive semi-definite 2x2 matrices.

    :math:`\sqrt{M} = (M + sI)/t` with :math:`s = \sqrt{\det M}`, :math:`t = \sqrt{\operatorname{tr}
    M + 2s}` (Cayley–Hamilton). A zero matrix (``t = 0``) maps to zero; NaN stays NaN.
    """
    s = det(m).clamp(min=0.0).sqrt()
    t = (m[..., 0, 0] + m[..., 1, 1] + 2.0 * s).clamp(min=0.0).sqrt()
    root = m.clone()
    root[..., 0, 0] += s
    root[..., 1, 1] += s
    zero = t == 0
    root = root / torch.where(zero, torch.ones_like(t), t)[..., None, None]
    return torch.where(zero[..., None, None], torch.zeros_like(root), root)
