r"""A compiled formula written out as Python source of torch operations.

The source is printed from the :class:`~optviz.formula.CompiledFormula`'s checked sympy tree,
never from the user's text (which may carry comments): every node must be one of ``x``, ``y``, a
number (:class:`~optviz.formula.NumberAtom`), an integer exponent, a sum, a product, a power or
one of the formula module's own functions, and each becomes ``+ - * / **`` or a ``torch.*``
call; anything else raises :class:`ValueError`. Numbers are re-emitted from their float value.

Where the compiler takes a derivative as the subgradient 0 at a kink (``sqrt`` at 0, a power
with a non-integer or variable exponent at base 0, ``atan2`` at the origin, ``arcsin`` and
``arccos`` at ±1, ``arccosh`` at 1), the source calls the compiler's own kink-safe functions
(:func:`~optviz.formula.sqrt0`, :func:`~optviz.formula.pow0`, ...), whose definitions
:attr:`TorchSource.preamble` carries (their source, taken with :func:`inspect.getsource`), so
autograd in the exported script gives the app's derivatives there too.

Python evaluates an all-number part such as ``1/0`` or ``(-8)**(1/3)`` itself (raising, or
going complex) where the formula compiler folds it in float64 with torch's IEEE semantics
(``inf``, ``nan``). So a constant part that contains a function, a power or a division by
anything but a non-zero number literal is written with its numbers as float64 tensors,
``const(...)``, and behaves like the compiler's.
"""

from __future__ import annotations

import inspect
import math
from typing import Any

import sympy as sp
from sympy.printing.str import StrPrinter

from optviz.formula import (
    CompiledFormula,
    NumberAtom,
    acos0,
    acosh0,
    asin0,
    atan2_0,
    pow0,
    sqrt0,
)
from optviz.formula import functions as formula_functions
from optviz.formula.ir import _Emitter

__all__ = ["CONST_HELPER", "HELPERS", "TORCH_FUNCTIONS", "TorchSource", "torch_source"]

#: Formula function -> the torch function that computes it (the compiler's own mapping).
TORCH_FUNCTIONS: dict[str, str] = {
    "sin": "sin", "cos": "cos", "tan": "tan", "arcsin": "asin", "arccos": "acos",
    "arctan": "atan", "arctan2": "atan2", "sinh": "sinh", "cosh": "cosh", "tanh": "tanh",
    "arcsinh": "asinh", "arccosh": "acosh", "arctanh": "atanh", "exp": "exp", "expm1": "expm1",
    "log": "log", "log1p": "log1p", "log2": "log2", "log10": "log10", "sqrt": "sqrt",
    "abs": "abs", "sign": "sign",
}
_CONSTANTS = {"pi": "math.pi", "e": "math.e", "ln2": "math.log(2.0)", "ln10": "math.log(10.0)"}
_X, _Y = sp.Symbol("x"), sp.Symbol("y")
_INT_LIMIT = 10**6  # larger integers are written as floats (torch takes Python ints as int64)

_CONST = (
    "def const(value):\n"
    '    """A number as a float64 tensor, so that arithmetic on it follows IEEE rules."""\n'
    "    return torch.tensor(value, dtype=torch.float64)\n"
)
#: Helper name -> its definition: ``const`` and the compiler's kink-safe functions.
HELPERS: dict[str, str] = {"const": _CONST} | {
    fn.__name__: inspect.getsource(fn)
    for fn in (sqrt0, pow0, atan2_0, asin0, acos0, acosh0)}
#: Every helper definition (what :attr:`TorchSource.uses_const` asks for); a script needs only
#: :attr:`TorchSource.preamble`.
CONST_HELPER = "\n\n".join(HELPERS.values())
_KINK_FUNCTIONS = {"sqrt": "sqrt0", "arctan2": "atan2_0", "arcsin": "asin0", "arccos": "acos0",
                   "arccosh": "acosh0"}


class _TensorAtom(NumberAtom):
    """A number to be written as ``const(number)``."""


class TorchSource:
    """Printed source of a formula: ``code`` (an expression in ``x`` and ``y``), whether it
    uses ``math.`` constants, and the helpers it calls (``const``, ``sqrt0``, ...)."""

    def __init__(self, code: str, uses_math: bool, helpers: frozenset[str] = frozenset()
                 ) -> None:
        self.code = code
        self.uses_math = uses_math
        self.helpers = helpers

    @property
    def uses_const(self) -> bool:
        """Does the code call any helper (then :data:`CONST_HELPER` defines them all)?"""
        return bool(self.helpers)

    @property
    def preamble(self) -> str:
        """The definitions of the helpers the code calls, in a fixed order ("" if none)."""
        return "\n\n".join(src for name, src in HELPERS.items() if name in self.helpers)

    def __repr__(self) -> str:
        return f"TorchSource({self.code!r})"


def _number(atom: NumberAtom) -> str:
    """Python literal of a number atom (constants as ``math.pi`` etc.)."""
    if atom.name in _CONSTANTS:
        return _CONSTANTS[atom.name]
    value = float(atom.name)  # names come from int/float literals; re-emitted from the value
    if not math.isfinite(value):
        raise ValueError(f"number {atom.name!r} is not finite")
    if value.is_integer() and abs(value) <= _INT_LIMIT and "." not in atom.name \
            and "e" not in atom.name.lower():
        return str(int(value))
    return repr(value)


def _varying(e: sp.Expr) -> bool:
    return e.has(_X) or e.has(_Y)


def _is_function(e: sp.Expr) -> bool:
    return (isinstance(e, sp.Function) and type(e).__module__ == formula_functions.__name__
            and type(e).__name__ in TORCH_FUNCTIONS)


def _check(e: sp.Expr) -> None:
    """Refuse any node the printer does not know (iteratively)."""
    stack = [e]
    while stack:
        node = stack.pop()
        if isinstance(node, NumberAtom):
            _number(node)
            continue
        if node in (_X, _Y) or isinstance(node, sp.Integer):
            continue
        if isinstance(node, sp.Add | sp.Mul | sp.Pow) or _is_function(node):
            stack.extend(node.args)
            continue
        raise ValueError(f"cannot write {type(node).__name__} as PyTorch code")


def _safe_divisor(e: sp.Expr) -> bool:
    """``1/e`` cannot raise in Python: ``e`` is a non-zero number literal."""
    return isinstance(e, NumberAtom) and e.name not in _CONSTANTS and float(e.name) != 0.0


def _risky(e: sp.Expr) -> bool:
    """A constant part Python could evaluate differently from torch (see the module doc)."""
    for node in sp.preorder_traversal(e):
        if _is_function(node):
            return True
        if isinstance(node, sp.Pow) and not (node.exp == -1 and _safe_divisor(node.base)):
            return True
    return False


def _tensorize(e: sp.Expr) -> sp.Expr:
    if isinstance(e, NumberAtom):
        return _TensorAtom(e.name)
    if not e.args:
        return e
    return e.func(*[_tensorize(a) for a in e.args], evaluate=False)


def _guard(e: sp.Expr) -> sp.Expr:
    """``e`` with every risky constant part's numbers turned into tensors."""
    if not e.args:
        return e
    if not _varying(e):
        return _tensorize(e) if _risky(e) else e
    if _is_function(e):  # torch functions take tensors: constant arguments become tensors
        return e.func(*[a if _varying(a) else _tensorize(a) for a in map(_guard, e.args)],
                      evaluate=False)
    return e.func(*[_guard(a) for a in e.args], evaluate=False)


class _Printer(StrPrinter):
    """sympy's str printer (Python syntax, order as written) with torch functions."""

    def __init__(self) -> None:
        super().__init__({"order": "none"})
        self.uses_math = False
        self.helpers: set[str] = set()

    def _print_NumberAtom(self, e: NumberAtom) -> str:
        text = _number(e)
        self.uses_math |= text.startswith("math.")
        return text

    def _print__TensorAtom(self, e: NumberAtom) -> str:
        self.helpers.add("const")
        return f"const({self._print_NumberAtom(e)})"

    def _print_Pow(self, e: sp.Pow, rational: bool = False) -> str:
        """``a**b``, or ``pow0(a, b)`` where the compiler takes the derivative at a = 0 as 0:
        a varying base with a variable or non-integer exponent."""
        if not _varying(e.base) or _integer_exponent(e.exp):
            return super()._print_Pow(e, rational)
        self.helpers.add("pow0")
        return f"pow0({self._print(e.base)}, {self._print(e.exp)})"

    def _print_Symbol(self, e: sp.Symbol) -> str:
        if e.name not in ("x", "y"):
            raise ValueError(f"unknown symbol {e.name!r}")
        return e.name

    def _print_Function(self, e: Any) -> str:
        if not _is_function(e):
            raise ValueError(f"cannot write {type(e).__name__} as PyTorch code")
        args = ", ".join(self._print(a) for a in e.args)
        kink_safe = _KINK_FUNCTIONS.get(type(e).__name__)
        if kink_safe:
            self.helpers.add(kink_safe)
            return f"{kink_safe}({args})"
        return f"torch.{TORCH_FUNCTIONS[type(e).__name__]}({args})"


def _integer_exponent(e: sp.Expr) -> bool:
    """Is ``e`` a constant the compiler folds to an integer (``2``, ``2.0``, ``4/2``)?"""
    if isinstance(e, sp.Integer):
        return True
    if _varying(e):
        return False
    value = _Emitter().emit(e)
    return isinstance(value, float) and value.is_integer()


def torch_source(compiled: CompiledFormula) -> TorchSource:
    """Python source of ``compiled``'s :math:`f(x, y)` with ``x``, ``y`` float64 tensors.

    A formula without ``x`` and ``y`` gets ``+ 0*x + 0*y`` so it still is a tensor that
    autograd can differentiate. Raises ``ValueError`` for a node it does not know.
    """
    expr = compiled.expr
    _check(expr)
    printer = _Printer()
    code = printer.doprint(_guard(expr))
    if not _varying(expr):
        code = f"({code}) + 0*x + 0*y"
    return TorchSource(code, printer.uses_math, frozenset(printer.helpers))
