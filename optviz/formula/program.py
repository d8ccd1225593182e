r"""Phase 5, programs: the ops an output needs, scheduled and given reusable slots, linked to
numpy or torch closures; and :class:`CompiledFormula`, which runs them."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import sympy as sp
import torch

from .functions import _SPECS, _pow
from .ir import Operand, _registers, _t

__all__ = ["CompiledFormula"]


def _schedule(ops: list[tuple], outputs: Sequence[Operand]) -> list[int]:
    """The registers ``outputs`` need, in the order a left-to-right depth-first walk completes
    them, which is the order Python evaluates the formula in: each operand is computed shortly
    before its use, so few values are live at once (a sum adds each term as it comes instead of
    computing all terms first)."""
    order: list[int] = []
    done = {0, 1}
    stack = [(o, False) for o in reversed(outputs) if type(o) is int]
    while stack:
        reg, expanded = stack.pop()
        if reg in done:
            continue
        if expanded:
            done.add(reg)
            order.append(reg)
            continue
        stack.append((reg, True))
        stack.extend((a, False) for a in reversed(_registers(ops[reg - 2])) if a not in done)
    return order


_ARITH: dict[str, Callable[..., Callable[[list], Any]]] = {
    "add": lambda i, j: lambda r: r[i] + r[j],
    "sub": lambda i, j: lambda r: r[i] - r[j],
    "mul": lambda i, j: lambda r: r[i] * r[j],
    "div": lambda i, j: lambda r: r[i] / r[j],
    "pow": lambda i, j: lambda r: r[i] ** r[j],
    "neg": lambda i: lambda r: -r[i],
    "addc": lambda i, c: lambda r: r[i] + c,
    "mulc": lambda i, c: lambda r: r[i] * c,
    "rdivc": lambda c, i: lambda r: c / r[i],
    "rsubc": lambda c, i: lambda r: c - r[i],
    "powc": lambda i, c: lambda r: r[i] ** c,
    "rpowc": lambda c, i: lambda r: c ** r[i],
    "cdiv": lambda c, i: lambda r: c / r[i],
}
# ops whose constant torch takes as a 0-d tensor (see _link); cdiv's c / b is then one division
# (torch's float / tensor is a reciprocal times c, which rdivc keeps: Python's 1/x does that)
_TENSOR_CONSTANT = {"addc", "mulc", "rsubc", "rpowc", "cdiv"}
Step = tuple[int, Callable[[list], Any]]  # (slot written, what it computes from the slots)


@dataclass(frozen=True)
class _Program:
    """Straight-line code for some outputs: only the ops the outputs need, each writing a slot
    that is reused after its value's last use. Linked once for numpy and, for torch, once per
    dtype and device (its constants are tensors of that dtype and device)."""

    outputs: tuple[Operand, ...]  # slot (0 = x, 1 = y) or constant
    slots: int
    code: tuple[tuple[int, str, tuple], ...]  # (slot written, op, slots and constants read)
    numpy_steps: tuple[Step, ...]
    linked: dict[tuple, tuple[Step, ...]] = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def build(cls, ops: list[tuple], outputs: Sequence[Operand]) -> _Program:
        order = _schedule(ops, outputs)
        last = {a: k for k, reg in enumerate(order) for a in _registers(ops[reg - 2])}
        last.update((o, len(order)) for o in outputs if type(o) is int)  # outputs live on
        slot, free, code, size = {0: 0, 1: 1}, [], [], 2
        for k, reg in enumerate(order):
            op = ops[reg - 2]
            args = tuple(slot[a] if type(a) is int else a for a in op[1:])
            free.extend(slot[a] for a in set(_registers(op)) if a >= 2 and last[a] == k)
            if free:  # the result may overwrite an operand read for the last time
                slot[reg] = free.pop()
            else:
                slot[reg], size = size, size + 1
            code.append((slot[reg], op[0], args))
        out = tuple(slot[o] if type(o) is int else o for o in outputs)
        return cls(out, size, tuple(code), _link(code, "numpy"))

    def torch_steps(self, like: torch.Tensor) -> tuple[Step, ...]:
        key = (like.dtype, like.device)
        if key not in self.linked:
            self.linked[key] = _link(self.code, "torch", like)
        return self.linked[key]

    def run(self, x: Any, y: Any, numpy: bool = False) -> list[Any]:
        regs = [x, y, *[None] * (self.slots - 2)]
        for out, step in self.numpy_steps if numpy else self.torch_steps(x):
            regs[out] = step(regs)
        full = np.full_like if numpy else torch.full_like
        return [full(x, o) if isinstance(o, float) else regs[o] for o in self.outputs]


def _link(code: Sequence[tuple], backend: str, like: torch.Tensor | None = None
          ) -> tuple[Step, ...]:
    """Closures for ``code``. For torch, the constants of :data:`_TENSOR_CONSTANT` ops are 0-d
    tensors of ``like``'s dtype and device when it is float32 or float64: the same values as
    Python floats (torch casts those to that dtype too), without wrapping them on every call."""

    def constant(c: float, always: bool = False) -> Any:
        if like is None:
            return c
        if like.dtype in (torch.float32, torch.float64) or (always and like.is_floating_point()):
            return torch.tensor(c, dtype=like.dtype, device=like.device)
        return _t(c) if always else c

    steps: list[Step] = []
    for out, op, args in code:
        fn = getattr(_SPECS[args[0]], backend) if op == "call" else None
        if op == "call" and len(args) == 2:  # one register argument: the hot path
            steps.append((out, lambda r, fn=fn, i=args[1]: fn(r[i])))
        elif op == "call":  # arctan2 with a constant argument: a 0-d tensor for torch
            consts = {k: constant(a, always=True) for k, a in enumerate(args[1:])
                      if isinstance(a, float)}
            steps.append((out, lambda r, fn=fn, regs=args[1:], c=consts: fn(
                *(c[k] if k in c else r[i] for k, i in enumerate(regs)))))
        elif op == "powc" and args[1].is_integer() and abs(args[1]) <= 1024:
            steps.append((out, _ARITH[op](args[0], int(args[1]))))
        elif op == "rpowc" and args[0] == 0.0 and backend == "torch":  # 0**b: derivative 0
            zero = constant(0.0, always=True)
            steps.append((out, lambda r, i=args[1], c=zero: (c ** r[i]).detach()))
        elif op == "zero_at":
            steps.append((out, _zero_at_step(backend, args, constant)))
        elif op in ("powc", "pow") and backend == "torch":  # kink-safe under autograd
            steps.append((out, lambda r, i=args[0], j=args[1], c=op == "powc":
                          _pow(r[i], j if c else r[j])))
        elif op in _TENSOR_CONSTANT:
            steps.append((out, _ARITH[op](*(constant(a) if isinstance(a, float) else a
                                             for a in args))))
        else:
            steps.append((out, _ARITH[op](*args)))
    return tuple(steps)


def _zero_at_step(backend: str, args: tuple, constant: Callable) -> Callable[[list], Any]:
    """where(a == 0, 0, v) for numpy or torch; v may be a constant. (For torch, comparing with
    a 0-d tensor and masked_fill take a third of the time of ``a == 0`` and where on a few
    points.)"""
    i, v = args
    if backend == "numpy":
        return lambda r: np.where(r[i] == 0, 0.0, v if isinstance(v, float) else r[v])
    zero = constant(0.0, always=True)
    if isinstance(v, float):
        c = constant(v, always=True)
        return lambda r: torch.where(r[i] == zero, zero, c)
    return lambda r: r[v].masked_fill(r[i] == zero, 0.0)


@dataclass(frozen=True, eq=False)
class CompiledFormula:
    r"""A checked formula :math:`f(x, y)` with its LaTeX and closed-form :math:`\nabla f`,
    :math:`\nabla^2 f`. Every method takes points as the last axis of size 2."""

    text: str
    expr: sp.Expr
    latex: str
    _f: _Program = field(repr=False)
    _grad: _Program = field(repr=False)
    _value_and_grad: _Program = field(repr=False)
    _hessian: _Program = field(repr=False)

    def f(self, xy: torch.Tensor) -> torch.Tensor:
        """:math:`f` on ``[..., 2]`` -> ``[...]`` with torch ops (autograd works)."""
        x, y = _split(xy)
        (out,) = self._f.run(x, y)
        if _is_input(self._f.outputs[0]):
            return out.clone()
        return out + 0.0 * x if xy.requires_grad and not out.requires_grad else out

    def grad(self, xy: torch.Tensor) -> torch.Tensor:
        r""":math:`\nabla f = (\partial_x f, \partial_y f)`: ``[..., 2]`` -> ``[..., 2]``."""
        return torch.stack(self._grad.run(*_split(xy)), dim=-1)

    def value_and_grad(self, xy: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``(f(xy), grad(xy))`` in one pass that shares their common subexpressions."""
        value, gx, gy = self._value_and_grad.run(*_split(xy))
        value = value.clone() if _is_input(self._value_and_grad.outputs[0]) else value
        return value, torch.stack((gx, gy), dim=-1)

    def hessian(self, xy: torch.Tensor) -> torch.Tensor:
        r""":math:`\nabla^2 f` (symmetric): ``[..., 2]`` -> ``[..., 2, 2]``."""
        hxx, hxy, hyy = self._hessian.run(*_split(xy))
        return torch.stack((hxx, hxy, hxy, hyy), dim=-1).unflatten(-1, (2, 2))

    def numpy(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        """:math:`f` on numpy arrays (broadcast together, float64): the same program, for grids."""
        x, y = np.broadcast_arrays(np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64))
        with np.errstate(all="ignore"):
            (out,) = self._f.run(x, y, numpy=True)
        return np.array(out, dtype=np.float64)


def _is_input(operand: Operand) -> bool:
    """Is the output register x or y itself (then f returns a copy, not a view of its input)?"""
    return isinstance(operand, int) and operand < 2


def _split(xy: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    if xy.shape[-1] != 2:
        raise ValueError(f"expected points of shape [..., 2], got {tuple(xy.shape)}")
    x, y = xy.unbind(-1)
    return x, y
