r"""Phase 1, checking: the text is parsed with :func:`ast.parse` and checked against the
whitelist (see :mod:`optviz.formula`), then turned node by node into a sympy expression in which
numbers are opaque :class:`NumberAtom` symbols; nothing is evaluated."""

from __future__ import annotations

import ast
import math
import warnings
from typing import Any

import sympy as sp

from .functions import _ALIASES, _F, FUNCTIONS

__all__ = ["MAX_EXPONENT_NUMBER", "MAX_FORMULA_DEPTH", "MAX_FORMULA_LENGTH", "FormulaError",
           "NumberAtom"]

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
