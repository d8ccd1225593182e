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
is an opaque symbol (:class:`NumberAtom`) and every function is a sympy ``Function`` of this module,
so sympy can print it but never does arithmetic on numbers (that is what makes ``2**10**10`` hang).
The expression becomes a straight-line program of torch (or numpy) operations on registers, equal
operations shared (hash-consed); constant parts are folded once in float64 with torch's own IEEE
semantics (overflow gives ``inf``, never a hang).

The gradient and Hessian are derived from that program by forward-mode differentiation: each
register :math:`r = \mathrm{op}(a, b)` gets its tangents
:math:`\dot r = \partial_a \mathrm{op}\,\dot a + \partial_b \mathrm{op}\,\dot b` for
:math:`\dot{} = \partial_x, \partial_y` from the rule of its operation (sum, product, quotient,
power :math:`(a^c)' = c\,a^{c-1} a'` with the exact small integer exponents, each function's
derivative), memoized per register. So :math:`\nabla f` costs O(n) operations for a program of n,
and :math:`\nabla^2 f`, the same sweep over the gradient's program, O(n) again (Griewank & Walther,
*Evaluating Derivatives*, 2nd ed., 2008, ch. 3); ``sympy.diff`` re-walks every subtree and is
superlinear on deep nests. Each program keeps only the operations its outputs need and reuses a
register's storage after its last use, so memory is the peak of live values, not their total.

At a kink (``sqrt`` or a power with a non-integer or variable exponent at base 0, ``atan2`` at the
origin; ``abs`` by torch's own sign(0) = 0) every derivative is the symmetric subgradient 0, in
the closed form, under autograd through :meth:`CompiledFormula.f` (first and second order) and in
the exported PyTorch code: Ackley's gradient at its minimum (0, 0) is 0, not NaN. A consequence to
know: ``x**y`` at x = 0 has derivative 0 even where y is an integer (x**y at y = 1 is x).
"""

from __future__ import annotations

import ast
import functools
import math
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, NamedTuple

import numpy as np
import sympy as sp
import torch
from sympy.core.function import FunctionClass
from sympy.printing.latex import LatexPrinter

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
def sqrt0(a):
    r"""$\sqrt{a}$; every derivative is 0 where $a = 0$ (also under double backward)."""
    at0 = a == 0
    return torch.where(at0, a.detach(), torch.sqrt(torch.where(at0, 1.0, a)))


def pow0(a, b):
    r"""$a^b$; every derivative is 0 where $a = 0$ (the limit of $a^b \ln a$ for $b > 0$)."""
    at0 = a == 0
    return torch.where(at0, (a**b).detach(), torch.where(at0, 1.0, a) ** b)


def atan2_0(a, b):
    r"""$\operatorname{atan2}(a, b)$; every derivative is 0 at $a = b = 0$."""
    at0 = (a == 0) & (b == 0)
    return torch.where(at0, torch.atan2(a, b).detach(), torch.atan2(torch.where(at0, 1.0, a), b))


def _needs_grad(*args: Any) -> bool:
    return any(isinstance(a, torch.Tensor) and a.requires_grad for a in args)


def _kink_safe(plain: Callable, safe: Callable) -> Callable:
    """``plain`` (faster) unless autograd records the call, then ``safe``: same values."""
    return lambda *args: safe(*args) if _needs_grad(*args) else plain(*args)


_SAFE_POW = _kink_safe(lambda a, b: a**b, pow0)


# derivative rules on registers: m is the _Emitter, r the function's own value, a (b) its arguments
def _inv_sqrt(m: _Emitter, s: Operand) -> Operand:
    return m.div(1.0, m.call("sqrt", s))


def _d_atan2(m: _Emitter, r: Operand, a: Operand, b: Operand) -> tuple[Operand, Operand]:
    r"""$\partial_a = b / (a^2 + b^2)$, $\partial_b = -a / (a^2 + b^2)$; 0 at the origin."""
    norm = m.add(m.power(a, 2.0), m.power(b, 2.0))
    return m.zero_at(norm, m.div(b, norm)), m.zero_at(norm, m.neg(m.div(a, norm)))


_define("sin", 1, torch.sin, np.sin, r"\sin", lambda m, r, a: (m.call("cos", a),))
_define("cos", 1, torch.cos, np.cos, r"\cos", lambda m, r, a: (m.neg(m.call("sin", a)),))
_define("tan", 1, torch.tan, np.tan, r"\tan", lambda m, r, a: (m.add(1.0, m.power(r, 2.0)),))
_define("arcsin", 1, torch.asin, np.arcsin, r"\arcsin",
        lambda m, r, a: (_inv_sqrt(m, m.sub(1.0, m.power(a, 2.0))),))
_define("arccos", 1, torch.acos, np.arccos, r"\arccos",
        lambda m, r, a: (m.neg(_inv_sqrt(m, m.sub(1.0, m.power(a, 2.0)))),))
_define("arctan", 1, torch.atan, np.arctan, r"\arctan",
        lambda m, r, a: (m.div(1.0, m.add(1.0, m.power(a, 2.0))),))
_define("arctan2", 2, _kink_safe(torch.atan2, atan2_0), np.arctan2, r"\operatorname{atan2}",
        _d_atan2)
_define("sinh", 1, torch.sinh, np.sinh, r"\sinh", lambda m, r, a: (m.call("cosh", a),))
_define("cosh", 1, torch.cosh, np.cosh, r"\cosh", lambda m, r, a: (m.call("sinh", a),))
_define("tanh", 1, torch.tanh, np.tanh, r"\tanh", lambda m, r, a: (m.sub(1.0, m.power(r, 2.0)),))
_define("arcsinh", 1, torch.asinh, np.arcsinh, r"\operatorname{arsinh}",
        lambda m, r, a: (_inv_sqrt(m, m.add(m.power(a, 2.0), 1.0)),))
_define("arccosh", 1, torch.acosh, np.arccosh, r"\operatorname{arcosh}",
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
_define("sqrt", 1, _kink_safe(torch.sqrt, sqrt0), np.sqrt, r"\sqrt{%s}",
        lambda m, r, a: (m.zero_at(a, m.div(0.5, r)),))  # 1/(2 sqrt a), 0 at a = 0
_define("abs", 1, torch.abs, np.abs, r"\left|%s\right|", lambda m, r, a: (m.call("sign", a),))
_define("sign", 1, torch.sign, np.sign, r"\operatorname{sign}", lambda m, r, a: (0.0,))  # internal

_ALIASES = {"asin": "arcsin", "acos": "arccos", "atan": "arctan", "atan2": "arctan2",
            "asinh": "arcsinh", "acosh": "arccosh", "atanh": "arctanh", "ln": "log"}
#: Functions a formula may call: name -> number of arguments.
FUNCTIONS: dict[str, int] = {n: _SPECS[n].arity for n in sorted(_SPECS) if n != "sign"} | {
    a: _SPECS[n].arity for a, n in sorted(_ALIASES.items())}

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
            raise FormulaError(f"exponent number {_shown(p.value)} at {_where(p)} is too large: "
                               f"numbers in an exponent without x or y must be at most "
                               f"{MAX_EXPONENT_NUMBER} in magnitude")


def _shown(value: int | float) -> str:
    """A number for a message: long integers abbreviated with their digit count."""
    text = repr(value)  # at most MAX_FORMULA_LENGTH digits: far below Python's int-str limit
    digits = text.lstrip("-")
    if type(value) is int and len(digits) > 20:
        return f"{text[:len(text) - len(digits) + 6]}…{digits[-3:]} ({len(digits)} digits)"
    return text


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
        shown = "" if isinstance(value, float) else f"{_shown(value)} "  # a float is inf here
        raise FormulaError(f"number {shown}at {_where(node)} is too large for float64 "
                           "(at most about 1.8e308)")
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



# ---------------------------------------------------------------- LaTeX
class _TexAtom(sp.Symbol):
    """LaTeX printed already, standing in for an exponent while the rest is printed."""

    def _latex(self, printer: Any, **kwargs: Any) -> str:
        return self.name


def _latex(expr: sp.Expr) -> str:
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


# ---------------------------------------------------------------- straight-line programs
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


class _Emitter:
    """Turns sympy expressions into ops over registers and differentiates them.

    Ops are hash-consed (the same op on the same operands is one register), so equal
    subexpressions are computed once, and :meth:`differentiate` memoizes each register's tangents.
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
        """d a / d(x if var == 0 else y), once :meth:`differentiate` has reached ``a``."""
        return 0.0 if isinstance(a, float) else self.tangents[a][var]

    def differentiate(self, outputs: Sequence[Operand]) -> list[tuple[Operand, Operand]]:
        r"""(d/dx, d/dy) of each output: one sweep, in program order, over the registers they
        need that have no tangents yet; :math:`\dot r = \sum_k \partial_k \mathrm{op}\,\dot a_k`
        with O(1) new ops per register."""
        for reg in sorted(_reachable(self.ops, outputs) - self.tangents.keys()):
            op = ("powc", *self.powers[reg]) if reg in self.powers else self.ops[reg - 2]
            rule = _TANGENT[op[0]]
            self.tangents[reg] = (rule(self, reg, op, 0), rule(self, reg, op, 1))
        return [(self.tangent(o, 0), self.tangent(o, 1)) for o in outputs]


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
                          _SAFE_POW(r[i], j if c else r[j])))
        elif op in _TENSOR_CONSTANT:
            steps.append((out, _ARITH[op](*(constant(a) if isinstance(a, float) else a
                                             for a in args))))
        else:
            steps.append((out, _ARITH[op](*args)))
    return tuple(steps)


def _zero_at_step(backend: str, args: tuple, constant: Callable) -> Callable[[list], Any]:
    """where(a == 0, 0, v) for numpy or torch; v may be a constant."""
    i, v = args
    if backend == "numpy":
        return lambda r: np.where(r[i] == 0, 0.0, v if isinstance(v, float) else r[v])
    if isinstance(v, float):
        c = constant(v, always=True)
        return lambda r: torch.where(r[i] == 0, 0.0, c)
    return lambda r: torch.where(r[i] == 0, 0.0, r[v])


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
    m = _Emitter()
    try:
        value, latex = m.emit(expr), _latex(expr)
    except RecursionError:  # a safety net: the depth limit keeps this far away
        raise FormulaError("formula is nested too deeply to compile") from None
    [(gx, gy)] = m.differentiate([value])
    (hxx, hxy), (_, hyy) = m.differentiate([gx, gy])
    return CompiledFormula(
        text=text, expr=expr, latex=latex,
        _f=_Program.build(m.ops, [value]), _grad=_Program.build(m.ops, [gx, gy]),
        _value_and_grad=_Program.build(m.ops, [value, gx, gy]),
        _hessian=_Program.build(m.ops, [hxx, hxy, hyy]))
