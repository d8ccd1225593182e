r"""Phase 4, derivatives: forward-mode differentiation of the register program (each op's
tangent rule; each function's partials live with it in :mod:`~optviz.formula.functions`), so
:math:`\nabla f` and :math:`\nabla^2 f` cost O(n) ops for a program of n (Griewank & Walther,
*Evaluating Derivatives*, 2nd ed., 2008, ch. 3). At a kink every derivative is the subgradient 0
(see :mod:`optviz.formula`)."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch

from .functions import _SPECS
from .ir import Operand, _Emitter, _fold, _is, _reachable

__all__ = ["differentiate"]


TangentRule = Callable[[_Emitter, int, tuple, int], Operand]


def _d_power(m: _Emitter, r: int, op: tuple, v: int) -> Operand:
    """(a^c)' = c a^{c-1} a': exact at a = 0 for the integer exponents; for any other c the
    derivative at a = 0 (infinite for c < 1, a cusp) is the subgradient 0."""
    _, a, c = op
    partial = m.mul(m.power(a, c - 1.0), c)
    if not c.is_integer():
        partial = m.zero_at(a, partial)
    return m.mul(partial, m.tangent(a, v))


def _d_pow(m: _Emitter, r: int, op: tuple, v: int) -> Operand:
    r"""(a^b)' = b a^{b-1} a' + a^b \ln(a) b', both terms 0 at a = 0 (where
    :math:`a^b \ln a \to 0` for b > 0)."""
    _, a, b = op
    ta, tb = m.tangent(a, v), m.tangent(b, v)
    out = 0.0 if _is(ta, 0.0) else m.mul(m.zero_at(a, m.mul(b, m.power(a, m.add(b, -1.0)))), ta)
    return out if _is(tb, 0.0) else m.add(
        out, m.mul(m.zero_at(a, m.mul(r, m.call("log", a))), tb))


def _d_rpowc(m: _Emitter, r: int, op: tuple, v: int) -> Operand:
    r"""(c^b)' = c^b \ln(c) b'; for c = 0, 0 (0^b is constant where it is finite)."""
    _, c, b = op
    return 0.0 if c == 0.0 else m.mul(m.mul(r, _fold(torch.log, c)), m.tangent(b, v))


def _d_div(m: _Emitter, r: int, op: tuple, v: int) -> Operand:
    """(a/b)' = a'/b - (a/b) b'/b."""
    _, a, b = op
    ta, tb = m.tangent(a, v), m.tangent(b, v)
    out = m.div(ta, b)
    return out if _is(tb, 0.0) else m.sub(out, m.mul(m.div(r, b), tb))


def _d_call(m: _Emitter, r: int, op: tuple, v: int) -> Operand:
    """Chain rule with the function's partial derivatives."""
    name, args = op[1], op[2:]
    tangents = [m.tangent(a, v) for a in args]
    if all(_is(t, 0.0) for t in tangents):
        return 0.0
    out: Operand = 0.0
    for partial, t in zip(_SPECS[name].partials(m, r, *args), tangents, strict=True):
        out = m.add(out, m.mul(partial, t))
    return out


_TANGENT: dict[str, TangentRule] = {
    "add": lambda m, r, op, v: m.add(m.tangent(op[1], v), m.tangent(op[2], v)),
    "sub": lambda m, r, op, v: m.sub(m.tangent(op[1], v), m.tangent(op[2], v)),
    "mul": lambda m, r, op, v: m.add(m.mul(m.tangent(op[1], v), op[2]),
                                     m.mul(op[1], m.tangent(op[2], v))),
    "div": _d_div,
    "pow": _d_pow,
    "neg": lambda m, r, op, v: m.neg(m.tangent(op[1], v)),
    "addc": lambda m, r, op, v: m.tangent(op[1], v),
    "mulc": lambda m, r, op, v: m.mul(m.tangent(op[1], v), op[2]),
    "rdivc": lambda m, r, op, v: m.mul(m.div(-op[1], m.power(op[2], 2.0)), m.tangent(op[2], v)),
    "cdiv": lambda m, r, op, v: m.mul(m.div(-op[1], m.power(op[2], 2.0)), m.tangent(op[2], v)),
    "rsubc": lambda m, r, op, v: m.neg(m.tangent(op[2], v)),
    "powc": _d_power,
    "rpowc": _d_rpowc,
    "call": _d_call,
    "zero_at": lambda m, r, op, v: m.zero_at(op[1], m.tangent(op[2], v)),
}


def differentiate(m: _Emitter, outputs: Sequence[Operand]) -> list[tuple[Operand, Operand]]:
    r"""(d/dx, d/dy) of each output of ``m``'s program: one sweep, in program order, over the
    registers they need that have no tangents yet;
    :math:`\dot r = \sum_k \partial_k \mathrm{op}\,\dot a_k` with O(1) new ops per register
    (memoized in ``m.tangents``)."""
    for reg in sorted(_reachable(m.ops, outputs) - m.tangents.keys()):
        op = ("powc", *m.powers[reg]) if reg in m.powers else m.ops[reg - 2]
        rule = _TANGENT[op[0]]
        m.tangents[reg] = (rule(m, reg, op, 0), rule(m, reg, op, 1))
    return [(m.tangent(o, 0), m.tangent(o, 1)) for o in outputs]
