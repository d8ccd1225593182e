r"""Safe formula compiler: text in ``x``, ``y`` -> torch function, LaTeX, closed-form derivatives.

The text is parsed with :func:`ast.parse` (``mode="eval"``) and checked against a whitelist:

* numbers (finite, real), the variables ``x``, ``y`` and the constants ``pi`` (or ``π``) and ``e``;
* the operators ``+ - * / **``, unary ``+``/``-`` and parentheses;
* calls of the functions in :data:`FUNCTIONS` with the right number of positional arguments.

Everything else (attributes, subscripts, other names, strings, comparisons, conditionals, lambdas,
comprehensions, statements, ...) raises :class:`FormulaError`, a :class:`ValueError` whose message
says what was refused and where. Also refused: texts over :data:`MAX_FORMULA_LENGTH` characters,
nesting deeper than :data:`MAX_FORMULA_DEPTH` (each call, power, sign or switch between sums and
products is a level; chains like ``a + b - c`` are one), and a power :math:`a^b` whose exponent
:math:`b` neither involves ``x`` or ``y`` nor is free of ``**`` with every number at most
:data:`MAX_EXPONENT_NUMBER` in magnitude (``x**0.5``, ``e**(-x**2)`` pass; ``2**10**10`` does not).

Nothing is computed exactly: the text never reaches ``eval``, ``exec``, code compilation or
``sympify``. The checked AST is turned node by node into a sympy expression in which every number
is an opaque symbol (:class:`NumberAtom`) and every function is a sympy ``Function`` of this module
with its own derivative rule, so sympy can differentiate and print it but never does arithmetic on
numbers (that is what makes ``2**10**10`` hang). The gradient :math:`\nabla f` and Hessian
:math:`\nabla^2 f` come from ``sympy.diff``. All four expressions run through a small straight-line
program of torch (or numpy) operations with shared subexpressions; constant parts are folded once in
float64 with torch's own IEEE semantics (overflow gives ``inf``, never a hang).
"""

from __future__ import annotations

import ast
import functools
import math
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import sympy as sp
import torch
from sympy.core.function import FunctionClass

__all__ = [
    "FUNCTIONS",
    "MAX_FORMULA_DEPTH",
    "MAX_FORMULA_LENGTH",
    "CompiledFormula",
    "FormulaError",
    "NumberAtom",
    "compile_formula",
]

MAX_FORMULA_LENGTH = 1000
MAX_FORMULA_DEPTH = 50
MAX_EXPONENT_NUMBER = 100
MAX_DERIVATIVE_COST = 10_000  # rough operation count of a derivative; larger ones are refused


# the parser's SyntaxWarnings about user text ("invalid decimal literal") are noise here
warnings.filterwarnings("ignore", category=SyntaxWarning, module="<formula>")


class FormulaError(ValueError):
    """A formula was refused; the message says what and where."""


X, Y = sp.Symbol("x"), sp.Symbol("y")
_CONSTANTS = {"pi": (math.pi, r"\pi"), "e": (math.e, "e"), "ln2": (math.log(2.0), r"\ln 2"),
              "ln10": (math.log(10.0), r"\ln 10")}


class NumberAtom(sp.Symbol):
    """A number or named constant, kept as an opaque symbol so sympy never computes with it."""

    @property
    def value(self) -> float:
        return _CONSTANTS[self.name][0] if self.name in _CONSTANTS else float(self.name)

    def _latex(self, printer: Any, **kwargs: Any) -> str:
        if self.name in _CONSTANTS:
            return _CONSTANTS[self.name][1]
        mantissa, _, exponent = self.name.partition("e")
        if not exponent:
            return mantissa
        power = f"10^{{{int(exponent)}}}"
        return power if mantissa == "1" else rf"{mantissa} \cdot {power}"


# name -> (arity, torch, numpy, LaTeX operator or template, derivative rule in terms of the args)
_SPECS: dict[str, tuple[int, Callable, Callable, str, Callable[..., tuple]]] = {}
_F: dict[str, FunctionClass] = {}


def _define(name: str, arity: int, torch_fn: Callable, numpy_fn: Callable, tex: str,
            rule: Callable[..., tuple]) -> None:
    def fdiff(self: sp.Function, argindex: int = 1) -> sp.Expr:
        return rule(*self.args)[argindex - 1]

    def _latex(self: sp.Function, printer: Any, exp: str | None = None, **kwargs: Any) -> str:
        args = ", ".join(printer._print(a) for a in self.args)
        if "%s" in tex:  # template such as e^{%s}, \sqrt{%s}, \left|%s\right|
            out = tex % args
            return out if exp is None else rf"\left({out}\right)^{{{exp}}}"
        power = "" if exp is None else f"^{{{exp}}}"
        return rf"{tex}{power}\left({args}\right)"

    namespace = {"nargs": arity, "fdiff": fdiff, "_latex": _latex, "__module__": __name__}
    _F[name] = FunctionClass(name, (sp.Function,), namespace)
    _SPECS[name] = (arity, torch_fn, numpy_fn, tex, rule)


def _sq(a: sp.Expr) -> sp.Expr:
    return a**2


_define("sin", 1, torch.sin, np.sin, r"\sin", lambda a: (_F["cos"](a),))
_define("cos", 1, torch.cos, np.cos, r"\cos", lambda a: (-_F["sin"](a),))
_define("tan", 1, torch.tan, np.tan, r"\tan", lambda a: (1 + _F["tan"](a) ** 2,))
_define("arcsin", 1, torch.asin, np.arcsin, r"\arcsin", lambda a: (1 / _F["sqrt"](1 - _sq(a)),))
_define("arccos", 1, torch.acos, np.arccos, r"\arccos", lambda a: (-1 / _F["sqrt"](1 - _sq(a)),))
_define("arctan", 1, torch.atan, np.arctan, r"\arctan", lambda a: (1 / (1 + _sq(a)),))
_define("arctan2", 2, torch.atan2, np.arctan2, r"\operatorname{atan2}",
        lambda a, b: (b / (_sq(a) + _sq(b)), -a / (_sq(a) + _sq(b))))
_define("sinh", 1, torch.sinh, np.sinh, r"\sinh", lambda a: (_F["cosh"](a),))
_define("cosh", 1, torch.cosh, np.cosh, r"\cosh", lambda a: (_F["sinh"](a),))
_define("tanh", 1, torch.tanh, np.tanh, r"\tanh", lambda a: (1 - _F["tanh"](a) ** 2,))
_define("arcsinh", 1, torch.asinh, np.arcsinh, r"\operatorname{arsinh}",
        lambda a: (1 / _F["sqrt"](_sq(a) + 1),))
_define("arccosh", 1, torch.acosh, np.arccosh, r"\operatorname{arcosh}",
        lambda a: (1 / _F["sqrt"](_sq(a) - 1),))
_define("arctanh", 1, torch.atanh, np.arctanh, r"\operatorname{artanh}",
        lambda a: (1 / (1 - _sq(a)),))
_define("exp", 1, torch.exp, np.exp, "e^{%s}", lambda a: (_F["exp"](a),))
_define("expm1", 1, torch.expm1, np.expm1, r"\operatorname{expm1}", lambda a: (_F["exp"](a),))
_define("log", 1, torch.log, np.log, r"\ln", lambda a: (1 / a,))
_define("log1p", 1, torch.log1p, np.log1p, r"\operatorname{log1p}", lambda a: (1 / (1 + a),))
_define("log2", 1, torch.log2, np.log2, r"\log_{2}", lambda a: (1 / (a * NumberAtom("ln2")),))
_define("log10", 1, torch.log10, np.log10, r"\log_{10}", lambda a: (1 / (a * NumberAtom("ln10")),))
_define("sqrt", 1, torch.sqrt, np.sqrt, r"\sqrt{%s}", lambda a: (1 / (2 * _F["sqrt"](a)),))
_define("abs", 1, torch.abs, np.abs, r"\left|%s\right|", lambda a: (_F["sign"](a),))
_define("sign", 1, torch.sign, np.sign, r"\operatorname{sign}", lambda a: (sp.S.Zero,))  # internal

_ALIASES = {"asin": "arcsin", "acos": "arccos", "atan": "arctan", "atan2": "arctan2",
            "asinh": "arcsinh", "acosh": "arccosh", "atanh": "arctanh", "ln": "log"}
#: Functions a formula may call: name -> number of arguments.
FUNCTIONS: dict[str, int] = {n: _SPECS[n][0] for n in sorted(_SPECS) if n != "sign"} | {
    a: _SPECS[n][0] for a, n in sorted(_ALIASES.items())}
# what sympy itself may put into a derivative (log of a variable base, ...)
_SYMPY_FUNCS = {sp.log: "log", sp.exp: "exp", sp.Abs: "abs", sp.sign: "sign"}


# ---------------------------------------------------------------- checking the AST
_REFUSED = {
    ast.Attribute: "attribute access", ast.Subscript: "indexing", ast.Compare: "comparisons",
    ast.IfExp: "conditional expressions", ast.Lambda: "lambdas", ast.BoolOp: "'and'/'or'",
    ast.ListComp: "comprehensions", ast.SetComp: "comprehensions", ast.DictComp: "comprehensions",
    ast.GeneratorExp: "comprehensions", ast.JoinedStr: "f-strings", ast.NamedExpr: "assignments",
    ast.List: "lists", ast.Tuple: "tuples", ast.Set: "sets", ast.Dict: "dicts",
    ast.Starred: "starred arguments", ast.Await: "await", ast.Yield: "yield",
    ast.YieldFrom: "yield", ast.Slice: "slices", ast.FormattedValue: "f-strings",
}
_OPS = {ast.Add: "+", ast.Sub: "-", ast.Mult: "*", ast.Div: "/", ast.Pow: "**", ast.USub: "-",
        ast.UAdd: "+"}
_CHAIN = {ast.Add: "sum", ast.Sub: "sum", ast.Mult: "product", ast.Div: "product"}


def _where(node: ast.AST) -> str:
    line, col = getattr(node, "lineno", 1), getattr(node, "col_offset", 0) + 1
    return f"column {col}" if line == 1 else f"line {line}, column {col}"


def _chain(node: ast.AST) -> str | None:
    return _CHAIN.get(type(node.op)) if isinstance(node, ast.BinOp) else None


def _parse(text: str) -> ast.expr:
    """Parse and check size and depth (iteratively: nothing here may recurse without a bound)."""
    if len(text) > MAX_FORMULA_LENGTH:
        raise FormulaError(f"formula is {len(text)} characters long; the limit is "
                           f"{MAX_FORMULA_LENGTH}")
    if not text:
        raise FormulaError("formula is empty")
    try:
        tree = ast.parse(text, filename="<formula>", mode="eval")
    except SyntaxError as err:
        try:
            ast.parse(text, filename="<formula>", mode="exec")
            what = "only one expression is allowed, not statements"
        except (SyntaxError, ValueError, RecursionError, MemoryError):
            what = err.msg
        raise FormulaError(f"syntax error at column {err.offset or 1}: {what}") from None
    except (ValueError, RecursionError, MemoryError) as err:
        raise FormulaError(f"formula cannot be parsed: {err}") from None
    stack: list[tuple[ast.AST, int]] = [(tree.body, 0)]
    while stack:
        node, depth = stack.pop()
        if depth > MAX_FORMULA_DEPTH:
            raise FormulaError(f"formula is nested deeper than {MAX_FORMULA_DEPTH} levels "
                               f"({_where(node)})")
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.expr_context | ast.operator | ast.unaryop | ast.cmpop):
                continue
            flat = child is getattr(node, "left", None) and _chain(node) is not None
            stack.append((child, depth if flat and _chain(child) == _chain(node) else depth + 1))
    return tree.body


def _check_exponent(node: ast.expr) -> None:
    """The power rule: a constant exponent is free of ``**`` and has only small numbers."""
    parts = list(ast.walk(node))
    if any(isinstance(p, ast.Name) and p.id in ("x", "y") for p in parts):
        return
    for p in parts:
        if isinstance(p, ast.BinOp) and isinstance(p.op, ast.Pow):
            raise FormulaError(f"power in a constant exponent at {_where(p)}: an exponent without "
                               "x or y may not contain '**'")
        if (isinstance(p, ast.Constant) and isinstance(p.value, int | float)
                and abs(p.value) > MAX_EXPONENT_NUMBER):
            raise FormulaError(f"exponent number {p.value!r} at {_where(p)} is too large: numbers "
                               f"in an exponent without x or y must be at most "
                               f"{MAX_EXPONENT_NUMBER} in magnitude")


def _number(node: ast.Constant) -> sp.Expr:
    value = node.value
    if isinstance(value, bool) or not isinstance(value, int | float):
        kind = {str: "strings", bytes: "bytes", complex: "complex numbers"}.get(type(value))
        raise FormulaError(f"{kind or repr(value)} not allowed ({_where(node)})")
    try:
        finite = math.isfinite(float(value))
    except OverflowError:
        finite = False
    if not finite:
        raise FormulaError(f"number at {_where(node)} is too large for float64")
    return NumberAtom(str(value) if isinstance(value, int) else repr(value))


def _integer(node: ast.expr) -> sp.Integer | None:
    """A literal integer exponent such as ``2`` or ``-1`` (at most 100 by the power rule)."""
    sign = 1
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub | ast.UAdd):
        sign, node = (-1 if isinstance(node.op, ast.USub) else 1), node.operand
    if isinstance(node, ast.Constant) and type(node.value) is int:
        return sp.Integer(sign * node.value)
    return None


def _is_negation(e: sp.Expr) -> bool:
    return isinstance(e, sp.Mul) and len(e.args) == 2 and e.args[0] == -1


def _is_reciprocal(e: sp.Expr) -> bool:
    return isinstance(e, sp.Pow) and e.exp == -1


def _build(node: ast.expr) -> sp.Expr:
    """Checked AST -> sympy expression, node by node, nothing evaluated."""
    if isinstance(node, ast.Constant):
        return _number(node)
    if isinstance(node, ast.Name):
        if node.id in ("x", "y"):
            return X if node.id == "x" else Y
        if node.id in ("pi", "π", "e"):
            return NumberAtom("pi" if node.id == "π" else node.id)
        if node.id in FUNCTIONS:
            raise FormulaError(f"function '{node.id}' at {_where(node)} must be called, "
                               f"e.g. {node.id}(x)")
        raise FormulaError(f"name '{node.id}' is not allowed at {_where(node)}: use x, y, pi, e "
                           "and the functions " + ", ".join(FUNCTIONS))
    if isinstance(node, ast.UnaryOp) and type(node.op) in _OPS:
        inner = _build(node.operand)
        return inner if isinstance(node.op, ast.UAdd) else sp.Mul(-1, inner, evaluate=False)
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Pow):
        _check_exponent(node.right)
        exponent = _integer(node.right)  # small integer exponents are exact: x**2 -> 2*x
        return sp.Pow(_build(node.left), _build(node.right) if exponent is None else exponent,
                      evaluate=False)
    if isinstance(node, ast.BinOp) and type(node.op) in _CHAIN:
        kind, items = _CHAIN[type(node.op)], []
        while _chain(node) == kind:  # walk the left spine: a - b + c is one flat sum
            items.append((node.op, node.right))
            node = node.left
        items.append((None, node))
        args = []
        for op, item in reversed(items):
            arg = _build(item)
            if isinstance(op, ast.Sub):
                arg = sp.Mul(-1, arg, evaluate=False)
            elif isinstance(op, ast.Div):
                arg = sp.Pow(arg, -1, evaluate=False)
            args.append(arg)
        if kind == "sum":
            return sp.Add(*args, evaluate=False)
        # signs in front and numbers first, as one writes them: -x/2*3 is shown as -(3 x)/(2 y)
        negative = [a.args[1] for a in args if _is_negation(a)]
        args = negative + [a for a in args if not _is_negation(a)]
        args.sort(key=lambda a: not isinstance(a.base if _is_reciprocal(a) else a, NumberAtom))
        return sp.Mul(*[-1] * (len(negative) % 2), *args, evaluate=False)
    if isinstance(node, ast.Call):
        name = node.func.id if isinstance(node.func, ast.Name) else None
        if name is None:
            raise FormulaError(f"only named functions can be called ({_where(node)})")
        if name not in FUNCTIONS:
            raise FormulaError(f"unknown function '{name}' at {_where(node)}: allowed are "
                               + ", ".join(FUNCTIONS))
        if node.keywords or any(isinstance(a, ast.Starred) for a in node.args):
            raise FormulaError(f"{name}() takes plain positional arguments ({_where(node)})")
        if len(node.args) != FUNCTIONS[name]:
            raise FormulaError(f"{name}() takes {FUNCTIONS[name]} argument"
                               f"{'s' if FUNCTIONS[name] > 1 else ''}, got {len(node.args)} "
                               f"({_where(node)})")
        return _F[_ALIASES.get(name, name)](*map(_build, node.args), evaluate=False)
    if isinstance(node, ast.BinOp | ast.UnaryOp):
        symbol = {ast.FloorDiv: "//", ast.Mod: "%", ast.MatMult: "@", ast.BitXor: "^",
                  ast.BitOr: "|", ast.BitAnd: "&", ast.LShift: "<<", ast.RShift: ">>",
                  ast.Invert: "~", ast.Not: "not"}.get(type(node.op), type(node.op).__name__)
        raise FormulaError(f"operator '{symbol}' is not allowed ({_where(node)}): use + - * / **")
    what = _REFUSED.get(type(node), type(node).__name__)
    raise FormulaError(f"{what} not allowed ({_where(node)})")


def _derivative_cost(exprs: Sequence[sp.Expr]) -> int:
    """Rough number of operations in the derivatives of ``exprs``, counting shared subexpressions
    once: a product of m varying factors costs about m times its length (the product rule)."""
    varying: dict[sp.Expr, bool] = {X: True, Y: True}
    cost, stack = 0, [(e, False) for e in exprs]
    while stack:  # iterative post-order walk over the distinct nodes
        e, done = stack.pop()
        if e in varying:
            continue
        if not done:
            stack.append((e, True))
            stack.extend((a, False) for a in e.args if a not in varying)
            continue
        m = sum(varying[a] for a in e.args)
        varying[e] = m > 0
        if isinstance(e, sp.Add | sp.Mul) and m:
            cost += m * len(e.args) if isinstance(e, sp.Mul) else len(e.args)
        elif m:
            cost += 8  # chain rule of a power or a function
    return cost


# ---------------------------------------------------------------- straight-line programs
Operand = int | float  # int: register (0 = x, 1 = y); float: a constant folded in float64


def _t(v: float) -> torch.Tensor:
    return torch.tensor(v, dtype=torch.float64)


class _Emitter:
    """Turns sympy expressions into a list of ops over registers, sharing equal subexpressions."""

    def __init__(self) -> None:
        self.ops: list[tuple] = []
        self.memo: dict[Any, Any] = {X: 0, Y: 1}

    def push(self, *op: Any) -> int:
        self.ops.append(op)
        return len(self.ops) + 1  # registers 0 and 1 hold x and y

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
        if isinstance(e, sp.Float):
            return float(e)
        if isinstance(e, sp.Add):
            return self._add(e.args)
        if isinstance(e, sp.Mul):
            return self._scale(*self._product(e.args))
        if isinstance(e, sp.Pow):
            return self.power(self.emit(e.base), self.emit(e.exp))
        name = _SYMPY_FUNCS.get(e.func, e.func.__name__ if e.func in _F.values() else None)
        if name is None:
            raise FormulaError(f"cannot evaluate {type(e).__name__} in a derivative")
        args = [self.emit(a) for a in e.args]
        if all(isinstance(a, float) for a in args):
            return float(_SPECS[name][1](*map(_t, args)))
        return self.push("call", name, *args)

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
            return self.push("call", "exp", exponent) if base == math.e else self.push(
                "rpowc", base, exponent)
        if not isinstance(exponent, float):
            return self.push("pow", base, exponent)
        if exponent == 1.0:
            return base
        if exponent in (2.0, 3.0):
            square = self.push("mul", base, base) if exponent == 2.0 else self.power(base, 2.0)
            return square if exponent == 2.0 else self.push("mul", square, base)
        if abs(exponent) == 0.5:
            root = self.push("call", "sqrt", base)
            return root if exponent > 0 else self.push("rdivc", 1.0, root)
        if exponent == -1.0:
            return self.push("rdivc", 1.0, base)
        integral = exponent.is_integer() and abs(exponent) <= 1024
        return self.push("powc", base, int(exponent) if integral else exponent)


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
}


@dataclass(frozen=True)
class _Program:
    """Straight-line code for some outputs; linked once for torch and once for numpy."""

    outputs: tuple[Operand, ...]
    torch_steps: tuple[Callable[[list], Any], ...]
    numpy_steps: tuple[Callable[[list], Any], ...]

    @classmethod
    def build(cls, exprs: Sequence[sp.Expr]) -> _Program:
        em = _Emitter()
        outputs = tuple(em.emit(e) for e in exprs)
        return cls(outputs, cls._link(em.ops, 1), cls._link(em.ops, 2))

    @staticmethod
    def _link(ops: list[tuple], backend: int) -> tuple[Callable[[list], Any], ...]:
        steps = []
        for op, *args in ops:
            if op == "call" and len(args) == 2:  # one register argument: the hot path
                steps.append(lambda r, fn=_SPECS[args[0]][backend], i=args[1]: fn(r[i]))
            elif op == "call":  # arctan2 with a constant argument: a 0-d tensor for torch
                consts = {k: _t(a) if backend == 1 else a for k, a in enumerate(args[1:])
                          if isinstance(a, float)}
                steps.append(lambda r, fn=_SPECS[args[0]][backend], regs=args[1:], c=consts: fn(
                    *(c[k] if k in c else r[i] for k, i in enumerate(regs))))
            else:
                steps.append(_ARITH[op](*args))
        return tuple(steps)

    def run(self, x: Any, y: Any, numpy: bool = False) -> list[Any]:
        regs = [x, y]
        for step in self.numpy_steps if numpy else self.torch_steps:
            regs.append(step(regs))
        full = np.full_like if numpy else torch.full_like
        return [full(x, o) if isinstance(o, float) else regs[o] for o in self.outputs]


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


def compile_formula(text: str) -> CompiledFormula:
    """Check ``text`` against the whitelist and compile it; raises :class:`FormulaError`.
    Results are cached by the stripped text (a :class:`CompiledFormula` is immutable)."""
    if not isinstance(text, str):
        raise FormulaError(f"formula must be a string, not {type(text).__name__}")
    return _compile(text.strip())


@functools.lru_cache(maxsize=256)
def _compile(text: str) -> CompiledFormula:
    expr = _build(_parse(text))
    try:
        if _derivative_cost([expr]) > MAX_DERIVATIVE_COST:
            raise FormulaError("formula is too complex to differentiate in closed form")
        gx, gy = sp.diff(expr, X), sp.diff(expr, Y)
        if _derivative_cost([gx, gy]) > MAX_DERIVATIVE_COST:
            raise FormulaError("formula is too complex: its Hessian would be too large")
        hxx, hxy, hyy = sp.diff(gx, X), sp.diff(gx, Y), sp.diff(gy, Y)
        return CompiledFormula(
            text=text, expr=expr, latex=sp.latex(expr, order="none"),
            _f=_Program.build([expr]), _grad=_Program.build([gx, gy]),
            _value_and_grad=_Program.build([expr, gx, gy]),
            _hessian=_Program.build([hxx, hxy, hyy]))
    except RecursionError:  # a safety net: the depth limit keeps this far away
        raise FormulaError("formula is nested too deeply to differentiate") from None
