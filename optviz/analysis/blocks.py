"""One leaf for several optimizers: consecutive row blocks, each stepped by its own updater.

The runner steps ONE ``(M, 2)`` leaf (:func:`optviz.runner.stream` with ``fused``); this object
splits its rows into blocks of ``len(settings) · S`` rows per optimizer: a batched kernel
(:mod:`.batched`) updates its rows of the leaf in place; any other elementwise optimizer gets one
registry instance per setting on its own ``(S, 2)`` leaf, handed its rows of the gradient, its
new positions copied back (rows never mix, so every row is what it is alone). So all settings of
all optimizers of a sweep share one surface evaluation and one metrics update per step.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import torch

from optviz.analysis import batched
from optviz.optimizers import build_optimizer, get_optimizer

Part = tuple[str, Sequence[Mapping[str, Any]]]  # (optimizer key, validated settings)


def composable(key: str) -> bool:
    """Whether ``key`` can share a leaf: elementwise, no closure, Hessian or clean gradient."""
    spec = get_optimizer(key)
    return (spec.execution == "elementwise" and not spec.needs_closure
            and not spec.needs_hessian and not getattr(spec, "needs_grad_fn", False))


class Blocks:
    """Steps the rows ``[k·S, (k+1)·S)`` of setting ``k`` (parts' settings in order)."""

    def __init__(self, leaf: torch.Tensor, parts: Sequence[Part], rows_per_setting: int) -> None:
        self.leaf = leaf
        self.kernels: list[tuple[slice, batched.BatchedOptimizer]] = []
        self.instances: list[tuple[slice, torch.optim.Optimizer, torch.Tensor]] = []
        row, n = 0, rows_per_setting
        data = leaf.detach()
        for key, settings in parts:
            if len(settings) > 1 and batched.supports(key, settings):
                rows = slice(row, row + len(settings) * n)
                self.kernels.append((rows, batched.KERNELS[key](data[rows], settings)))
                row = rows.stop
                continue
            for setting in settings:
                rows = slice(row, row + n)
                own = data[rows].clone().requires_grad_(True)
                self.instances.append((rows, build_optimizer(key, own, setting), own))
                row = rows.stop
        if row != leaf.shape[0]:
            raise ValueError(f"the parts cover {row} rows of a {leaf.shape[0]}-row leaf")

    @torch.no_grad()
    def step(self, closure: Any = None) -> None:
        data, grad = self.leaf.detach(), self.leaf.grad
        for rows, kernel in self.kernels:
            kernel.step_rows(data[rows], grad[rows])
        for rows, optimizer, own in self.instances:
            own.grad = grad[rows]
            optimizer.step()
            data[rows] = own.detach()
