r"""Phase 3, the intermediate representation: the checked sympy expression lowered to a
straight-line list of ops on registers (hash-consed, constants folded in float64 with torch's IEEE
semantics), with the small algebra (sums, products, masks) the derivative rules build with."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

import sympy as sp
import torch

from .check import FormulaError, NumberAtom, X, Y
from .functions import _F, _SPECS

__all__ = ["Operand"]

Operand = int | float  # int: register (0 = x, 1 = y); float: a constant folded in float64


def _t(v: float) -> torch.Tensor:
    return torch.tensor(v, dtype=torch.float64)


def _fold(fn: Callable, *args: float) -> float:
    """A constant part, computed once in float64 with torch's IEEE semantics (inf, nan)."""
    return float(fn(*map(_t, args)))


def _is(a: Operand, value: float) -> bool:
    return isinstance(a, float) and a == value


def _registers(op: tuple) -> list[int]:
    """Register operands of an op (``call`` carries the function name first; constants are
    floats)."""
    return [a for a in op[1:] if type(a) is int]


def _reachable(ops: list[tuple], outputs: Sequence[Operand]) -> set[int]:
    """Registers (x, y excluded) that ``outputs`` depend on."""
    seen: set[int] = set()
    stack = [o for o in outputs if type(o) is int]
    while stack:
        reg = stack.pop()
        if reg >= 2 and reg not in seen:
            seen.add(reg)
            stack.extend(_registers(ops[reg - 2]))
    return seen


class _Emitter:
    """Turns sympy expressions into ops over registers and differentiates them.

    Ops are hash-consed (the same op on the same operands is one register), so equal
    subexpressions are computed once, and :func:`~.derivatives.differentiate` memoizes each
    register's tangents.
    """

    def __init__(self) -> None:
        self.ops: list[tuple] = []
        self.memo: dict[Any, Any] = {X: 0, Y: 1}
        self.consed: dict[tuple, int] = {}
        self.tangents: dict[int, tuple[Operand, Operand]] = {0: (1.0, 0.0), 1: (0.0, 1.0)}
        self.powers: dict[int, tuple[int, float]] = {}  # register = base**c, lowered to a chain

    def push(self, *op: Any) -> int:
        key = tuple(a.hex() if isinstance(a, float) else a for a in op)  # 2 != 2.0, 0.0 != -0.0
        if op[0] in ("add", "mul") and op[2] < op[1]:  # commutative: b a is a b
            key = (op[0], op[2], op[1])
        if key not in self.consed:
            self.ops.append(op)
            self.consed[key] = len(self.ops) + 1  # registers 0 and 1 hold x and y
        return self.consed[key]

    def op(self, a: Operand) -> tuple:
        """The op computing ``a`` (``("input",)`` for x, y and constants)."""
        return self.ops[a - 2] if type(a) is int and a >= 2 else ("input",)

    # ---------------------------------------------------------------- lowering sympy
    def emit(self, e: sp.Expr) -> Operand:
        if e not in self.memo:
            self.memo[e] = self._emit(e)
        return self.memo[e]

    def _emit(self, e: sp.Expr) -> Operand:
        if isinstance(e, NumberAtom):
            return e.value
        if isinstance(e, sp.Rational):
            try:
                return e.p / e.q
            except OverflowError:
                return math.copysign(math.inf, e.p) if abs(e.p) > abs(e.q) else 0.0
        if isinstance(e, sp.Add):
            return self._add(e.args)
        if isinstance(e, sp.Mul):
            return self._scale(*self._product(e.args))
        if isinstance(e, sp.Pow):
            return self.power(self.emit(e.base), self.emit(e.exp))
        name = type(e).__name__
        if _F.get(name) is not type(e):
            raise FormulaError(f"cannot evaluate {name}")
        return self.call(name, *(self.emit(a) for a in e.args))

    def _add(self, terms: Sequence[sp.Expr]) -> Operand:
        const, plus, minus = 0.0, [], []
        for term in terms:
            coeff, num, den = self._product(term.args) if isinstance(term, sp.Mul) else (
                1.0, self.emit(term), None)
            if isinstance(num, float):
                coeff, num = coeff * num, None
            if num is None and den is None:
                const += coeff
            else:
                (minus if coeff < 0 else plus).append(self._scale(abs(coeff), num, den))
        if not plus and not minus:
            return const
        if plus:
            out = plus[0]
        elif const != 0.0:
            out, const = self.push("rsubc", const, minus.pop(0)), 0.0
        else:
            out = self.push("neg", minus.pop(0))
        for v in plus[1:]:
            out = self.push("add", out, v)
        for v in minus:
            out = self.push("sub", out, v)
        return self.push("addc", out, const) if const != 0.0 else out

    def _product(self, factors: Sequence[sp.Expr]) -> tuple[float, int | None, int | None]:
        """(constant coefficient, numerator register, denominator register) of a product."""
        key = ("product", *factors)
        if key in self.memo:
            return self.memo[key]
        coeff, num, den = 1.0, [], []
        powers: dict[int, float] = {}  # base register -> summed constant exponent: b**c / b
        for f in factors:
            base, exponent = (f.base, f.exp) if isinstance(f, sp.Pow) else (f, sp.S.One)
            b, c = self.emit(base), self.emit(exponent)
            if isinstance(b, float) or not isinstance(c, float):
                value = self.emit(f)
                if isinstance(value, float):
                    coeff *= value
                else:
                    num.append(value)
            else:
                powers[b] = powers.get(b, 0.0) + c
        for b, c in powers.items():
            if c < 0:
                den.append(self.power(b, -c))
            elif c != 0.0:  # also NaN
                num.append(self.power(b, c))
        out = (coeff, self._chain_mul(num), self._chain_mul(den))
        self.memo[key] = out
        return out

    def _chain_mul(self, regs: list[int]) -> int | None:
        out = regs[0] if regs else None
        for v in regs[1:]:
            out = self.push("mul", out, v)
        return out

    def _scale(self, coeff: float, num: int | None, den: int | None) -> Operand:
        """coeff * num / den with as few ops as possible."""
        if num is None:
            return coeff if den is None else self.push("rdivc", coeff, den)
        if coeff != 1.0:
            num = self.push("neg", num) if coeff == -1.0 else self.push("mulc", num, coeff)
        return num if den is None else self.push("div", num, den)

    def power(self, base: Operand, exponent: Operand) -> Operand:
        key = ("power", type(base), base, type(exponent), exponent)  # register 2 is not 2.0
        if key not in self.memo:
            self.memo[key] = self._power(base, exponent)
        return self.memo[key]

    def _power(self, base: Operand, exponent: Operand) -> Operand:
        if isinstance(base, float) and isinstance(exponent, float):
            return float(torch.pow(_t(base), exponent))
        if isinstance(base, float):
            return self.call("exp", exponent) if base == math.e else self.push(
                "rpowc", base, exponent)
        if not isinstance(exponent, float):
            return self.push("pow", base, exponent)
        if exponent in (0.0, 1.0):
            return 1.0 if exponent == 0.0 else base
        if exponent in (2.0, 3.0):
            square = self.push("mul", base, base)
            if exponent == 2.0:
                return square
            out = self.push("mul", square, base)
        elif abs(exponent) == 0.5:
            root = self.call("sqrt", base)
            if exponent > 0:
                return root
            out = self.push("rdivc", 1.0, root)
        elif exponent == -1.0:
            return self.push("rdivc", 1.0, base)
        else:
            return self.push("powc", base, exponent)
        self.powers.setdefault(out, (base, exponent))  # differentiate as a power, not a chain
        return out

    # ---------------------------------------------------------------- algebra for derivatives
    # These fold constants and drop symbolic zeros and unit factors (as sympy.diff does).
    def add(self, a: Operand, b: Operand) -> Operand:
        return self._sum(a, b, 1.0)

    def sub(self, a: Operand, b: Operand) -> Operand:
        return self._sum(a, b, -1.0)

    def _sum(self, a: Operand, b: Operand, sign: float) -> Operand:
        """a + sign b, gathering like terms: c u + d u = (c + d) u, c u - c v = c (u - v)."""
        if _is(b, 0.0) or _is(a, 0.0):
            return a if _is(b, 0.0) else self.mul(b, sign)
        if isinstance(a, float) and isinstance(b, float):
            return a + sign * b
        if isinstance(b, float):
            return self.push("addc", a, sign * b)
        if isinstance(a, float):
            return self.push("addc", b, a) if sign > 0 else self.push("rsubc", a, b)
        (u, cu), (v, cv) = self._term(a), self._term(b)
        cv *= sign
        if u == v:
            return self.mul(u, cu + cv)
        if cu in (cv, -cv):  # factor out the common constant, positive where it can be
            lead, p, q = (cu, u, v) if cu > 0 or cv < 0 else (cv, v, u)
            return self.mul(self.push("add" if cu == cv else "sub", p, q), lead)
        return self.push("add" if sign > 0 else "sub", a, b)

    def _term(self, a: int) -> tuple[int, float]:
        """(u, c) with register a = c u."""
        c = self._scale_of(a)
        return (a, 1.0) if c is None else (self.op(a)[1], c)

    def neg(self, a: Operand) -> Operand:
        if isinstance(a, float):
            return -a
        op = self.op(a)
        if op[0] == "neg":
            return op[1]
        if op[0] == "mulc":
            return self.mul(op[1], -op[2])
        return self.push("neg", a)

    def mul(self, a: Operand, b: Operand) -> Operand:
        if _is(a, 0.0) or _is(b, 0.0):
            return 0.0
        if isinstance(a, float) and isinstance(b, float):
            return a * b
        if isinstance(a, float):
            a, b = b, a
        if not isinstance(b, float):
            for u, v in ((a, b), (b, a)):  # (u c) v = (u v) c: constants gather in one factor
                c = self._scale_of(u)
                if c is not None:
                    return self.mul(self.mul(self.op(u)[1], v), c)
            return self.push("mul", a, b)
        if b == 1.0:
            return a
        c = self._scale_of(a)
        if c is not None and c * b != 0.0 and math.isfinite(c * b):  # (a c) b = a (c b)
            return self.mul(self.op(a)[1], c * b)
        return self.neg(a) if b == -1.0 else self.push("mulc", a, b)

    def _scale_of(self, a: Operand) -> float | None:
        """c where register ``a`` is ``u * c`` or ``-u`` (with c = -1)."""
        op = self.op(a)
        return op[2] if op[0] == "mulc" else -1.0 if op[0] == "neg" else None

    def div(self, a: Operand, b: Operand) -> Operand:
        if _is(a, 0.0):
            return 0.0
        if isinstance(b, float):
            return _fold(torch.div, a, b) if isinstance(a, float) else self.mul(
                a, _fold(torch.div, 1.0, b))
        # c / b in one rounding (torch's float / tensor is a reciprocal and a product: two)
        return self.push("cdiv", a, b) if isinstance(a, float) else self.push("div", a, b)

    def call(self, name: str, *args: Operand) -> Operand:
        if all(isinstance(a, float) for a in args):
            return _fold(_SPECS[name].torch, *args)
        return self.push("call", name, *args)

    def zero_at(self, a: Operand, v: Operand) -> Operand:
        """``v``, but 0 where ``a == 0``: a derivative taken as the subgradient 0 at a kink."""
        if _is(v, 0.0) or _is(a, 0.0):
            return 0.0
        if isinstance(a, float):
            return v
        return self.push("zero_at", a, v)

    # ---------------------------------------------------------------- forward mode
    def tangent(self, a: Operand, var: int) -> Operand:
        """d a / d(x if var == 0 else y), once :func:`~.derivatives.differentiate` has reached
        ``a``."""
        return 0.0 if isinstance(a, float) else self.tangents[a][var]
