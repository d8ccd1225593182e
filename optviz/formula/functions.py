r"""The functions a formula may call: for each, its torch and numpy forward, its LaTeX and its
partial derivatives (as ops on the emitter's registers), side by side; and the kink-safe torch
functions that give every derivative at a kink as the subgradient 0 under autograd."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, NamedTuple

import numpy as np
import sympy as sp
import torch
from sympy.core.function import FunctionClass

if TYPE_CHECKING:
    from .ir import Operand, _Emitter

__all__ = ["FUNCTIONS", "acos0", "acosh0", "asin0", "atan2_0", "pow0", "sqrt0"]


class _Spec(NamedTuple):
    arity: int
    torch: Callable
    numpy: Callable
    tex: str  # LaTeX operator, or a template such as e^{%s}
    partials: Callable[..., tuple]  # (emitter, result register, *args) -> d/d(each arg)


_SPECS: dict[str, _Spec] = {}
_F: dict[str, FunctionClass] = {}


def _define(name: str, arity: int, torch_fn: Callable, numpy_fn: Callable, tex: str,
            partials: Callable[..., tuple]) -> None:
    def _latex(self: sp.Function, printer: Any, exp: str | None = None, **kwargs: Any) -> str:
        args = ", ".join(printer._print(a) for a in self.args)
        if "%s" in tex:  # template such as e^{%s}, \sqrt{%s}, \left|%s\right|
            out = tex % args
            return out if exp is None else rf"\left({out}\right)^{{{exp}}}"
        power = "" if exp is None else f"^{{{exp}}}"
        return rf"{tex}{power}\left({args}\right)"

    namespace = {"nargs": arity, "_latex": _latex, "__module__": __name__}
    _F[name] = FunctionClass(name, (sp.Function,), namespace)
    _SPECS[name] = _Spec(arity, torch_fn, numpy_fn, tex, partials)


# ---------------------------------------------------------------- kinks
# At a point where sqrt, a non-integer power or atan2 is not differentiable (argument 0, or the
# origin for atan2) every derivative is taken as 0: the symmetric (minimum-norm) element of the
# subdifferential of the kink it makes in f, e.g. 0 for the cone sqrt(x**2 + y**2) at the origin
# (Rockafellar, *Convex Analysis*, 1970, §23; Clarke, *Optimization and Nonsmooth Analysis*, 1983,
# §2.1), as torch already does for abs (sign(0) = 0). The closed form masks those derivatives
# (_Emitter.zero_at); under autograd the functions below do (each selects the plain function away
# from the kink and a detached value at it, so no NaN reaches a backward pass, first or second).
# The exported PyTorch script embeds their source (optviz.exports.torch_expr).
def sqrt0(a: torch.Tensor) -> torch.Tensor:
    r"""$\sqrt{a}$; every derivative is 0 where $a = 0$ (also under double backward)."""
    at0 = a == 0
    return torch.where(at0, a.detach(), torch.sqrt(torch.where(at0, 1.0, a)))


def pow0(a: torch.Tensor, b: torch.Tensor | float) -> torch.Tensor:
    r"""$a^b$; every derivative is 0 where $a = 0$ (the limit of $a^b \ln a$ for $b > 0$)."""
    at0 = a == 0
    return torch.where(at0, (a**b).detach(), torch.where(at0, 1.0, a) ** b)


def atan2_0(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    r"""$\operatorname{atan2}(a, b)$; every derivative is 0 at $a = b = 0$."""
    at0 = (a == 0) & (b == 0)
    return torch.where(at0, torch.atan2(a, b).detach(), torch.atan2(torch.where(at0, 1.0, a), b))


def asin0(a: torch.Tensor) -> torch.Tensor:
    r"""$\arcsin a$; every derivative is 0 where $|a| = 1$ (e.g. the cone of
    $\arcsin(1 - x^2)$ at 0)."""
    at1 = a.abs() == 1
    return torch.where(at1, torch.asin(a).detach(), torch.asin(torch.where(at1, 0.0, a)))


def acos0(a: torch.Tensor) -> torch.Tensor:
    r"""$\arccos a$; every derivative is 0 where $|a| = 1$."""
    at1 = a.abs() == 1
    return torch.where(at1, torch.acos(a).detach(), torch.acos(torch.where(at1, 0.0, a)))


def acosh0(a: torch.Tensor) -> torch.Tensor:
    r"""$\operatorname{arcosh} a$; every derivative is 0 where $a = 1$."""
    at1 = a == 1
    return torch.where(at1, torch.acosh(a).detach(), torch.acosh(torch.where(at1, 2.0, a)))


def _autograd_safe(plain: Callable, safe: Callable) -> Callable[[torch.Tensor], torch.Tensor]:
    """``plain`` (faster) unless autograd records the call, then ``safe``: the same values."""
    return lambda a: safe(a) if a.requires_grad else plain(a)


_sqrt = _autograd_safe(torch.sqrt, sqrt0)


def _atan2(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """torch.atan2 unless autograd records the call, then :func:`atan2_0`."""
    return atan2_0(a, b) if a.requires_grad or b.requires_grad else torch.atan2(a, b)


def _pow(a: torch.Tensor, b: Any) -> torch.Tensor:
    """``a**b`` (b a tensor or a constant) unless autograd records it, then :func:`pow0`."""
    grad = a.requires_grad or (isinstance(b, torch.Tensor) and b.requires_grad)
    return pow0(a, b) if grad else a**b


# derivative rules on registers: m is the _Emitter, r the function's own value, a (b) its arguments
def _inv_sqrt(m: _Emitter, s: Operand, kink: bool = True) -> Operand:
    r""":math:`1/\sqrt{s}`; with ``kink``, 0 where s = 0 (arcsin, arccos at ±1, arcosh at 1)."""
    out = m.div(1.0, m.call("sqrt", s))
    return m.zero_at(s, out) if kink else out


def _d_atan2(m: _Emitter, r: Operand, a: Operand, b: Operand) -> tuple[Operand, Operand]:
    r"""$\partial_a = b / (a^2 + b^2)$, $\partial_b = -a / (a^2 + b^2)$; 0 at the origin."""
    norm = m.add(m.power(a, 2.0), m.power(b, 2.0))
    return m.zero_at(norm, m.div(b, norm)), m.zero_at(norm, m.neg(m.div(a, norm)))


_define("sin", 1, torch.sin, np.sin, r"\sin", lambda m, r, a: (m.call("cos", a),))
_define("cos", 1, torch.cos, np.cos, r"\cos", lambda m, r, a: (m.neg(m.call("sin", a)),))
_define("tan", 1, torch.tan, np.tan, r"\tan", lambda m, r, a: (m.add(1.0, m.power(r, 2.0)),))
_define("arcsin", 1, _autograd_safe(torch.asin, asin0), np.arcsin, r"\arcsin",
        lambda m, r, a: (_inv_sqrt(m, m.sub(1.0, m.power(a, 2.0))),))
_define("arccos", 1, _autograd_safe(torch.acos, acos0), np.arccos, r"\arccos",
        lambda m, r, a: (m.neg(_inv_sqrt(m, m.sub(1.0, m.power(a, 2.0)))),))
_define("arctan", 1, torch.atan, np.arctan, r"\arctan",
        lambda m, r, a: (m.div(1.0, m.add(1.0, m.power(a, 2.0))),))
_define("arctan2", 2, _atan2, np.arctan2, r"\operatorname{atan2}",
        _d_atan2)
_define("sinh", 1, torch.sinh, np.sinh, r"\sinh", lambda m, r, a: (m.call("cosh", a),))
_define("cosh", 1, torch.cosh, np.cosh, r"\cosh", lambda m, r, a: (m.call("sinh", a),))
_define("tanh", 1, torch.tanh, np.tanh, r"\tanh", lambda m, r, a: (m.sub(1.0, m.power(r, 2.0)),))
_define("arcsinh", 1, torch.asinh, np.arcsinh, r"\operatorname{arsinh}",
        lambda m, r, a: (_inv_sqrt(m, m.add(m.power(a, 2.0), 1.0), kink=False),))
_define("arccosh", 1, _autograd_safe(torch.acosh, acosh0), np.arccosh, r"\operatorname{arcosh}",
        lambda m, r, a: (_inv_sqrt(m, m.sub(m.power(a, 2.0), 1.0)),))
_define("arctanh", 1, torch.atanh, np.arctanh, r"\operatorname{artanh}",
        lambda m, r, a: (m.div(1.0, m.sub(1.0, m.power(a, 2.0))),))
_define("exp", 1, torch.exp, np.exp, "e^{%s}", lambda m, r, a: (r,))
_define("expm1", 1, torch.expm1, np.expm1, r"\operatorname{expm1}",
        lambda m, r, a: (m.call("exp", a),))
_define("log", 1, torch.log, np.log, r"\ln", lambda m, r, a: (m.div(1.0, a),))
_define("log1p", 1, torch.log1p, np.log1p, r"\operatorname{log1p}",
        lambda m, r, a: (m.div(1.0, m.add(1.0, a)),))
_define("log2", 1, torch.log2, np.log2, r"\log_{2}",
        lambda m, r, a: (m.div(1.0, m.mul(a, math.log(2.0))),))
_define("log10", 1, torch.log10, np.log10, r"\log_{10}",
        lambda m, r, a: (m.div(1.0, m.mul(a, math.log(10.0))),))
_define("sqrt", 1, _sqrt, np.sqrt, r"\sqrt{%s}",
        lambda m, r, a: (m.zero_at(a, m.div(0.5, r)),))  # 1/(2 sqrt a), 0 at a = 0
_define("abs", 1, torch.abs, np.abs, r"\left|%s\right|", lambda m, r, a: (m.call("sign", a),))
_define("sign", 1, torch.sign, np.sign, r"\operatorname{sign}", lambda m, r, a: (0.0,))  # internal

_ALIASES = {"asin": "arcsin", "acos": "arccos", "atan": "arctan", "atan2": "arctan2",
            "asinh": "arcsinh", "acosh": "arccosh", "atanh": "arctanh", "ln": "log"}
#: Functions a formula may call: name -> number of arguments.
FUNCTIONS: dict[str, int] = {n: _SPECS[n].arity for n in sorted(_SPECS) if n != "sign"} | {
    a: _SPECS[n].arity for a, n in sorted(_ALIASES.items())}
