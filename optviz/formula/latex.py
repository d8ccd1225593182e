r"""Phase 2, printing: the checked expression as LaTeX (sympy's printer, linear time)."""

from __future__ import annotations

from typing import Any

import sympy as sp
from sympy.printing.latex import LatexPrinter

__all__ = ["to_latex"]


class _TexAtom(sp.Symbol):
    """LaTeX printed already, standing in for an exponent while the rest is printed."""

    def _latex(self, printer: Any, **kwargs: Any) -> str:
        return self.name


def to_latex(expr: sp.Expr) -> str:
    """``sympy.latex(expr, order="none")``, with each exponent that is not an integer printed on
    its own first and replaced by an opaque symbol. sympy's printer asks the sign of every
    exponent (``fraction``) through fresh evaluated objects, which re-walks the whole exponent at
    each level: seconds on deep nests such as ``2**-(2*2**-(2*...))``; this is linear."""
    printer = LatexPrinter({"order": "none"})
    memo: dict[sp.Basic, sp.Basic] = {}

    def hide(e: sp.Basic) -> sp.Basic:
        if e not in memo:
            args = [hide(a) for a in e.args]
            if isinstance(e, sp.Pow) and e.exp.args and not isinstance(e.exp, sp.Integer):
                args[1] = _TexAtom(printer.doprint(args[1]))
            same = all(a is b for a, b in zip(args, e.args, strict=True))
            memo[e] = e if same else e.func(*args, evaluate=False)
        return memo[e]

    return printer.doprint(hide(expr))

