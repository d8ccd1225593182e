"""SophiaH's Hessian-diagonal estimate, made deterministic and batch-independent.

Hutchinson's estimator: for a probe z with E[z zᵀ] = I (Gaussian or Rademacher),
E[z ⊙ (H z)] = diag(H). pytorch_optimizer's ``SophiaH`` computes H z itself, by a second backward
pass through ``create_graph``, with z from torch's global RNG (``torch.randn_like``): its draws
would depend on how many particles share a batch and on the global seed, and a surface here has a
closed-form Hessian anyway. ``SophiaH.step(hessian=[...])`` also accepts the estimate ready-made,
and that is what :func:`hutchinson_hook` does, as a step pre-hook: on SophiaH's update steps it
hands over z ⊙ (H z) with the surface's exact (noise-free) Hessian and z from optviz's
counter-based normal stream (:mod:`optviz.noise`, key ``(PROBE_SEED, 0, 0)``, counter = step).
Every particle sees the same probe sequence z₁, z₂, ...; each row's estimate uses only its own
2×2 Hessian, elementwise, so N particles in one ``(N, 2)`` leaf equal N separate runs.

Reference: Hutchinson (1990), A stochastic estimator of the trace of the influence matrix for
Laplacian smoothing splines; Liu et al. (2024), Sophia: A Scalable Stochastic Second-order
Optimizer for Language Model Pre-training.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import torch

from optviz.noise import particle_keys, standard_normal

PROBE_SEED = 0  # the probe stream's seed: the same z_t for every particle and scene


def hutchinson_hook(
    hessian_fn: Callable[[torch.Tensor], torch.Tensor],
    update_period: int,
    distribution: str = "gaussian",
) -> Callable[..., Any]:
    """A step pre-hook for ``SophiaH``: ``step(hessian=[z ⊙ (H z) per parameter])`` on the steps
    where SophiaH refreshes its estimate (every ``update_period`` steps, the first included);
    ``hessian_fn`` maps ``(n, 2)`` points to their ``(n, 2, 2)`` Hessians."""
    key = particle_keys(PROBE_SEED, np.zeros(1), np.zeros(1))  # the probe stream, hashed once

    def hook(optimizer: torch.optim.Optimizer, args: tuple, kwargs: dict) -> Any:
        taken = optimizer.param_groups[0].get("step", 0)  # steps taken before this one
        if taken % update_period:
            return None
        z = torch.from_numpy(standard_normal(key, taken, 0)[0])
        if distribution == "rademacher":
            z = torch.where(z < 0, -1.0, 1.0).to(torch.float64)
        estimates = []
        for group in optimizer.param_groups:
            for p in group["params"]:
                h = hessian_fn(p.detach().reshape(-1, 2))
                hz0 = h[:, 0, 0] * z[0] + h[:, 0, 1] * z[1]  # elementwise: rows never mix
                hz1 = h[:, 1, 0] * z[0] + h[:, 1, 1] * z[1]
                estimates.append(torch.stack((z[0] * hz0, z[1] * hz1), -1).reshape(p.shape))
        return args, {**kwargs, "hessian": estimates}

    return hook
