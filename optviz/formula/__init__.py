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
is an opaque symbol (:class:`NumberAtom`) and every function is a sympy ``Function`` of
:mod:`~.functions`, so sympy can print it but never does arithmetic on numbers (that is what
makes ``2**10**10`` hang).
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

One phase per module: :mod:`~.check` (parse, whitelist, sympy tree), :mod:`~.latex`,
:mod:`~.ir` (lowering to register ops), :mod:`~.derivatives` (forward mode) and
:mod:`~.program` (scheduling, linking, :class:`CompiledFormula`); :mod:`~.functions` holds each
function's forward and derivative rule side by side.

At a kink (``sqrt`` or a power with a non-integer or variable exponent at base 0, ``atan2`` at the
origin, ``arcsin`` and ``arccos`` at ±1, ``arccosh`` at 1; ``abs`` by torch's own sign(0) = 0)
every derivative is the symmetric subgradient 0, in
the closed form, under autograd through :meth:`CompiledFormula.f` (first and second order) and in
the exported PyTorch code: Ackley's gradient at its minimum (0, 0) is 0, not NaN. A consequence to
know: ``x**y`` at x = 0 has derivative 0 even where y is an integer (x**y at y = 1 is x).
"""

from __future__ import annotations

import functools

from .check import (
    MAX_EXPONENT_NUMBER,
    MAX_FORMULA_DEPTH,
    MAX_FORMULA_LENGTH,
    FormulaError,
    NumberAtom,
    _build,
    _parse,
)
from .derivatives import differentiate
from .functions import FUNCTIONS, acos0, acosh0, asin0, atan2_0, pow0, sqrt0
from .ir import _Emitter
from .latex import to_latex
from .program import CompiledFormula, _Program

__all__ = [
    "FUNCTIONS",
    "MAX_EXPONENT_NUMBER",
    "MAX_FORMULA_DEPTH",
    "MAX_FORMULA_LENGTH",
    "CompiledFormula",
    "FormulaError",
    "NumberAtom",
    "acos0",
    "acosh0",
    "asin0",
    "atan2_0",
    "compile_formula",
    "pow0",
    "sqrt0",
]


def compile_formula(text: str) -> CompiledFormula:
    """Check ``text`` against the whitelist and compile it; raises :class:`FormulaError` (a
    ``ValueError``) for a refused formula and ``TypeError`` when ``text`` is not a string.
    Results are cached by the stripped text (a :class:`CompiledFormula` is immutable)."""
    if not isinstance(text, str):
        raise TypeError(f"text (the formula) must be a string, got {type(text).__name__}")
    return _compile(text.strip())


@functools.lru_cache(maxsize=256)
def _compile(text: str) -> CompiledFormula:
    expr = _build(_parse(text))
    m = _Emitter()
    try:
        value, latex = m.emit(expr), to_latex(expr)
    except RecursionError:  # a safety net: the depth limit keeps this far away
        raise FormulaError("formula is nested too deeply to compile") from None
    [(gx, gy)] = differentiate(m, [value])
    (hxx, hxy), (_, hyy) = differentiate(m, [gx, gy])
    return CompiledFormula(
        text=text, expr=expr, latex=latex,
        _f=_Program.build(m.ops, [value]), _grad=_Program.build(m.ops, [gx, gy]),
        _value_and_grad=_Program.build(m.ops, [value, gx, gy]),
        _hessian=_Program.build(m.ops, [hxx, hxy, hyy]))
