"""Formula compiler: hostile inputs are refused, valid formulas match numpy, derivatives match
autograd, random formulas either compile or raise FormulaError."""

from __future__ import annotations

import ast
import builtins
import importlib
import inspect
import math
import pkgutil
import re
import tracemalloc
from collections.abc import Callable

import numpy as np
import pytest
import sympy as sp
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import optviz
import optviz.formula as formula
from optviz.formula import (
    FUNCTIONS,
    MAX_FORMULA_DEPTH,
    MAX_FORMULA_LENGTH,
    CompiledFormula,
    FormulaError,
    compile_formula,
)

HOSTILE = [
    "__import__('os')", "().__class__", "x.real", "x[0]", "'a'", "b'a'", "x if y else 1", "x < y",
    "lambda: 1", "[x for x in y]", "{x for x in y}", "(x for x in y)", "x; y", "import os",
    "x = 1", "x := 1", "sin(x, y)", "sin()", "arctan2(x)", "foo(x)", "sin(x)(y)", "os.system('ls')",
    "getattr(x, 'real')", "sin(x=1)", "sin(*x)", "2**10**10", "9**9**9", "x**99999999",
    "x**(2**200)", "x**-101", "sqrt(x)**(10**10)", "x**y**(2**300)", "1e999", "-1e999", "1j",
    "x + 2j", "x @ y", "x // y", "x % y", "x ^ y", "x | y", "x & y", "x << 1", "~x", "not x",
    "x and y", "x or y", "x + " * 332 + "x1", "sin(" * 51 + "x" + ")" * 51,
    "-" * (MAX_FORMULA_DEPTH + 1) + "x", "(" * 300 + "x" + ")" * 300, "sin(x)**(1e400)",
    'f"{x}"', "True", "None", "...", "(x, y)", "[x]", "{x: y}", "z", "X", "sin", "pi(x)",
    "x.__class__.__bases__[0].__subclasses__()", "eval('1')", "exec", "print(x)", "", "   ",
    "x\0", "x +", "x y", "yield x", "await x", "x[1:2]", "*x",
]


@pytest.mark.parametrize("text", HOSTILE)
def test_hostile_inputs_are_refused(text: str) -> None:
    with pytest.raises(FormulaError):
        compile_formula(text)


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("os", ["name 'os'", "column 1", "x, y, pi, e"]),
        ("x + foo(y)", ["unknown function 'foo'", "column 5", "sin"]),
        ("x + y.real", ["attribute", "column 5"]),
        ("sin(x, y)", ["sin()", "1 argument", "got 2"]),
        ("2**10**10", ["exponent", "column 4"]),
        ("x**99999999", ["99999999", "at most 100"]),
        ("1e999", ["too large", "column 1"]),
        ("x // 2", ["'//'", "column 1"]),
        ("x; y", ["one expression"]),
        ("sin(" * 51 + "x" + ")" * 51, ["nested deeper than 50"]),
        ("x" * (MAX_FORMULA_LENGTH + 1), ["1001 characters", "1000"]),
    ],
)
def test_messages_say_what_and_where(text: str, words: list[str]) -> None:
    with pytest.raises(FormulaError) as info:
        compile_formula(text)
    for word in words:
        assert word in str(info.value)


def test_formula_error_is_a_value_error_and_exported() -> None:
    assert issubclass(FormulaError, ValueError)
    assert optviz.FormulaError is FormulaError
    assert optviz.compile_formula is compile_formula


def test_limits_are_inclusive() -> None:
    compile_formula("sin(" * MAX_FORMULA_DEPTH + "x" + ")" * MAX_FORMULA_DEPTH)
    text = "x " + "+x" * ((MAX_FORMULA_LENGTH - 2) // 2)  # a flat sum of 500 terms
    assert len(text) == MAX_FORMULA_LENGTH
    assert compile_formula(text).f(torch.ones(2)).item() == 500


def test_power_rule() -> None:
    for ok in ["x**0.5", "x**(1/3)", "e**(-x**2)", "x**-2", "x**100", "2**x", "x**y",
               "x**(2*pi)", "2**(100*100*100*100*100*100)*x", "x**(y**2)", "(x**100)**100"]:
        compile_formula(ok)
    for bad in ["x**101", "x**(2**3)", "x**(-(3**2))", "x**(1e300)"]:
        with pytest.raises(FormulaError):
            compile_formula(bad)


# name, formula, independent numpy reference, box for x, box for y
CASES: list[tuple[str, str, Callable[[np.ndarray, np.ndarray], np.ndarray], tuple, tuple]] = [
    ("rosenbrock", "(1 - x)**2 + 100*(y - x**2)**2",
     lambda x, y: (1 - x) ** 2 + 100 * (y - x**2) ** 2, (-2, 2), (-1, 3)),
    ("beale", "(1.5 - x + x*y)**2 + (2.25 - x + x*y**2)**2 + (2.625 - x + x*y**3)**2",
     lambda x, y: (1.5 - x + x * y) ** 2 + (2.25 - x + x * y**2) ** 2
     + (2.625 - x + x * y**3) ** 2, (-4.5, 4.5), (-4.5, 4.5)),
    ("himmelblau", "(x**2 + y - 11)**2 + (x + y**2 - 7)**2",
     lambda x, y: (x**2 + y - 11) ** 2 + (x + y**2 - 7) ** 2, (-5, 5), (-5, 5)),
    ("rastrigin", "20 + x**2 - 10*cos(2*pi*x) + y**2 - 10*cos(2*pi*y)",
     lambda x, y: 20 + x**2 - 10 * np.cos(2 * np.pi * x) + y**2 - 10 * np.cos(2 * np.pi * y),
     (-5.12, 5.12), (-5.12, 5.12)),
    ("ackley",
     "-20*exp(-0.2*sqrt(0.5*(x**2 + y**2))) - exp(0.5*(cos(2*pi*x) + cos(2*pi*y))) + 20 + e",
     lambda x, y: -20 * np.exp(-0.2 * np.sqrt(0.5 * (x**2 + y**2)))
     - np.exp(0.5 * (np.cos(2 * np.pi * x) + np.cos(2 * np.pi * y))) + 20 + np.e, (-5, 5), (-5, 5)),
    ("goldstein_price",
     "(1 + (x + y + 1)**2*(19 - 14*x + 3*x**2 - 14*y + 6*x*y + 3*y**2))"
     "*(30 + (2*x - 3*y)**2*(18 - 32*x + 12*x**2 + 48*y - 36*x*y + 27*y**2))",
     lambda x, y: (1 + (x + y + 1) ** 2 * (19 - 14 * x + 3 * x**2 - 14 * y + 6 * x * y + 3 * y**2))
     * (30 + (2 * x - 3 * y) ** 2 * (18 - 32 * x + 12 * x**2 + 48 * y - 36 * x * y + 27 * y**2)),
     (-2, 2), (-2, 2)),
    ("eggholder", "-(y + 47)*sin(sqrt(abs(x/2 + y + 47))) - x*sin(sqrt(abs(x - (y + 47))))",
     lambda x, y: -(y + 47) * np.sin(np.sqrt(np.abs(x / 2 + y + 47)))
     - x * np.sin(np.sqrt(np.abs(x - (y + 47)))), (-512, 512), (-512, 512)),
    ("roots", "x**0.5 + x**(1/3) + y**-2", lambda x, y: x**0.5 + x ** (1 / 3) + y**-2.0,
     (0.1, 3), (0.5, 3)),
    ("gauss", "e**(-x**2) + 2**y - x/y/2*3", lambda x, y: np.exp(-(x**2)) + 2**y - x / y / 2 * 3,
     (-2, 2), (0.5, 2)),
    ("abs", "abs(x) + abs(y)", lambda x, y: np.abs(x) + np.abs(y), (-2, 2), (-2, 2)),
    ("constants", "2.5e-3*x - 1e-20*y + 1_000*x*y",
     lambda x, y: 2.5e-3 * x - 1e-20 * y + 1000 * x * y, (-2, 2), (-2, 2)),
    ("trig", "tan(x) + arcsin(x/3) + acos(y/3) + atan(x*y) + arctan2(y, x) + asin(y/4)",
     lambda x, y: np.tan(x) + np.arcsin(x / 3) + np.arccos(y / 3) + np.arctan(x * y)
     + np.arctan2(y, x) + np.arcsin(y / 4), (-1.2, 1.2), (-2, 2)),
    ("hyperbolic", "sinh(x) + cosh(y) + tanh(x*y) + arcsinh(x) + acosh(y + 3) + atanh(x/2)",
     lambda x, y: np.sinh(x) + np.cosh(y) + np.tanh(x * y) + np.arcsinh(x) + np.arccosh(y + 3)
     + np.arctanh(x / 2), (-1.5, 1.5), (-1.5, 1.5)),
    ("logs", "log(x) + ln(y) + log1p(x*y) + log2(x + y) + log10(x) + expm1(y) + exp(-x)",
     lambda x, y: np.log(x) + np.log(y) + np.log1p(x * y) + np.log2(x + y) + np.log10(x)
     + np.expm1(y) + np.exp(-x), (0.1, 3), (0.1, 3)),
    ("variable_powers", "x**y + (x + 1)**(sin(y)) - pi**(-x*y)",
     lambda x, y: x**y + (x + 1) ** np.sin(y) - np.pi ** (-x * y), (0.1, 2), (-2, 2)),
]


def _points(box_x: tuple, box_y: tuple, n: int = 300, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return np.stack([rng.uniform(*box_x, n), rng.uniform(*box_y, n)], axis=-1)


def _autograd(c: CompiledFormula, xy: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    leaf = xy.clone().requires_grad_()
    (g,) = torch.autograd.grad(c.f(leaf).sum(), leaf, create_graph=True)
    rows = [torch.autograd.grad(g[..., k].sum(), leaf, retain_graph=True)[0]
            if g.requires_grad else torch.zeros_like(leaf) for k in (0, 1)]  # f linear: H = 0
    return g.detach(), torch.stack(rows, dim=-2).detach()


@pytest.mark.parametrize(("name", "text", "reference", "box_x", "box_y"), CASES,
                         ids=[c[0] for c in CASES])
def test_values_match_numpy_and_derivatives_match_autograd(
    name: str, text: str, reference: Callable, box_x: tuple, box_y: tuple
) -> None:
    c = compile_formula(text)
    pts = _points(box_x, box_y)
    expected = reference(pts[:, 0], pts[:, 1])
    xy = torch.from_numpy(pts)
    np.testing.assert_allclose(c.f(xy).numpy(), expected, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(c.numpy(pts[:, 0], pts[:, 1]), expected, rtol=1e-12, atol=1e-12)
    grad, hessian = _autograd(c, xy)
    scale_g, scale_h = grad.abs().max().item(), hessian.abs().max().item()
    torch.testing.assert_close(c.grad(xy), grad, rtol=1e-9, atol=1e-12 * scale_g)
    torch.testing.assert_close(c.hessian(xy), hessian, rtol=1e-9, atol=1e-12 * scale_h)
    value, g = c.value_and_grad(xy)
    torch.testing.assert_close(value, c.f(xy), rtol=0, atol=0)
    torch.testing.assert_close(g, c.grad(xy), rtol=0, atol=0)


@pytest.mark.parametrize("text", ["(1 - x)**2 + 100*(y - x**2)**2", "sin(x*y)/(2 + cos(x))",
                                  "x**y + sqrt(x**2 + y**2) + abs(x - y)*arctan2(y, x)"])
def test_gradcheck_float64(text: str) -> None:
    c = compile_formula(text)
    xy = torch.tensor([[0.3, 0.7], [1.2, -0.4], [0.9, 2.1]], dtype=torch.float64,
                      requires_grad=True)
    assert torch.autograd.gradcheck(c.f, (xy,))
    assert torch.autograd.gradgradcheck(c.f, (xy,))
    assert torch.autograd.gradcheck(c.grad, (xy,))  # the closed form is differentiable too


def test_rosenbrock_known_values() -> None:
    c = compile_formula("(1 - x)**2 + 100*(y - x**2)**2")
    xy = torch.tensor([[1.0, 1.0], [-1.5, 2.0]], dtype=torch.float64)
    torch.testing.assert_close(c.f(xy), torch.tensor([0.0, 12.5], dtype=torch.float64))
    torch.testing.assert_close(c.grad(xy), torch.tensor([[0.0, 0.0], [-155.0, -50.0]],
                                                        dtype=torch.float64))
    torch.testing.assert_close(c.hessian(xy)[0], torch.tensor([[802.0, -400.0], [-400.0, 200.0]],
                                                              dtype=torch.float64))


@pytest.mark.parametrize("shape", [(), (5,), (3, 4)])
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_shapes_dtypes_and_constant_components_broadcast(shape: tuple, dtype: torch.dtype) -> None:
    xy = torch.rand(*shape, 2, dtype=dtype)
    for text in ["y**2", "x*y", "3", "x", "2*x + 3*y"]:
        c = compile_formula(text)
        assert c.f(xy).shape == shape and c.f(xy).dtype == dtype
        assert c.grad(xy).shape == (*shape, 2) and c.grad(xy).dtype == dtype
        assert c.hessian(xy).shape == (*shape, 2, 2) and c.hessian(xy).dtype == dtype
        value, g = c.value_and_grad(xy)
        assert value.shape == shape and g.shape == (*shape, 2)
    c = compile_formula("y**2")
    assert (c.grad(xy)[..., 0] == 0).all() and (c.hessian(xy)[..., 1, 1] == 2).all()
    assert (compile_formula("x").f(xy) == xy[..., 0]).all()
    assert compile_formula("x").f(xy).data_ptr() != xy.data_ptr()  # a copy, not a view


@pytest.mark.parametrize("text", ["7", "1", "0", "pi"])
def test_constant_formula_supports_backward(text: str) -> None:
    leaf = torch.zeros(4, 2, dtype=torch.float64, requires_grad=True)
    compile_formula(text).f(leaf).sum().backward()
    assert leaf.grad is not None and (leaf.grad == 0).all()


def test_numpy_broadcasts_grids() -> None:
    c = compile_formula("x**2 + 3")
    xs, ys = np.linspace(-1, 1, 5), np.linspace(0, 2, 3)
    z = c.numpy(xs[None, :], ys[:, None])
    assert z.shape == (3, 5)
    np.testing.assert_allclose(z, np.broadcast_to(xs**2 + 3, (3, 5)))
    assert compile_formula("4").numpy(xs, xs).tolist() == [4.0] * 5


def test_latex() -> None:
    cases = {
        "(1 - x)**2 + 100*(y - x**2)**2":
            r"\left(1 - x\right)^{2} + 100 \left(y - x^{2}\right)^{2}",
        "x/y/2*3": r"\frac{3 x}{2 y}",
        "sin(x)**2 + abs(y)": r"\sin^{2}\left(x\right) + \left|y\right|",
        "e**(-x**2)*pi": r"\pi e^{- x^{2}}",
        "2.5e-30*sqrt(x) + 1e-20*y + 0.0025": r"2.5 \cdot 10^{-30} \sqrt{x} + 10^{-20} y + 0.0025",
        "atan2(x, pi) + 2": r"\operatorname{atan2}\left(x, \pi\right) + 2",
        "exp(x) + log(y) + arcsin(x)": r"e^{x} + \ln\left(y\right) + \arcsin\left(x\right)",
    }
    for text, tex in cases.items():
        assert compile_formula(text).latex == tex


@pytest.mark.parametrize(
    "text",
    ["x - exp(exp(exp(exp(100))))", "2**(100*100*100*100*100*100)*x", "(2**100)**100*x",
     "-(2**(100*100*100*100)*x)", "x**(100*100*100*100*100*100)",
     "9**(100*100*100*100*100*100 + x)", "((((x**100)**100)**100)**100)**100",
     "1e308*1e308*x - 1e308*1e308*y", "(1/0.0000001)**(1/0.0000001)*x"],
)
def test_huge_constants_compile_quickly_and_evaluate_in_floats(text: str) -> None:
    """These pass the rules; exact arithmetic on them would hang, float64 gives inf/nan."""
    c = compile_formula(text)
    assert c.latex and repr(c) and str(c.expr)
    xy = torch.tensor([[0.5, 0.25], [1.5, -2.0]], dtype=torch.float64)
    for out in (c.f(xy), c.grad(xy), c.hessian(xy)):
        assert out.dtype == torch.float64  # any values, inf and nan included


def test_raw_text_never_reaches_eval_exec_or_code_compilation(monkeypatch) -> None:
    real_compile = builtins.compile

    def only_ast(source, filename, mode, flags=0, *args, **kwargs):
        assert flags & ast.PyCF_ONLY_AST, "compile() was asked for code"
        return real_compile(source, filename, mode, flags, *args, **kwargs)

    def forbidden(*args, **kwargs):
        raise AssertionError("eval/exec called")

    monkeypatch.setattr(builtins, "compile", only_ast)
    monkeypatch.setattr(builtins, "eval", forbidden)
    monkeypatch.setattr(builtins, "exec", forbidden)
    for text in ["(1 - x)**2 + 100*(y - x**2)**2", "sin(x)*exp(-y**2) + arctan2(y, x)"]:
        compile_formula(text).grad(torch.ones(2, dtype=torch.float64))
    source = "".join(inspect.getsource(importlib.import_module(f"optviz.formula.{m.name}"))
                     for m in pkgutil.iter_modules(formula.__path__)) + inspect.getsource(formula)
    assert "def _compile(" in source and "class _Emitter" in source  # every module read
    for call in ["eval(", "exec(", "sympify(", "lambdify(", "parse_expr(", "compile("]:
        assert not re.search(rf"(?<![\w.]){re.escape(call)}", source), call


def test_function_table() -> None:
    assert FUNCTIONS["sin"] == 1 and FUNCTIONS["arctan2"] == 2 and FUNCTIONS["atan2"] == 2
    for name, arity in FUNCTIONS.items():
        first = "(x + 1.5)" if name in ("arccosh", "acosh") else "(x/4 + 0.3)"
        args = ", ".join([first, "(y + 3)"][:arity])
        c = compile_formula(f"{name}({args})/4")
        assert torch.isfinite(c.grad(torch.tensor([0.1, 0.2], dtype=torch.float64))).all()


# ------------------------------------------------------------------ deep and long valid formulas
def _nest(template: str, depth: int, seed: str = "x") -> str:
    """``template`` wrapped ``depth`` times around ``seed``: _nest("sin({})", 2) = sin(sin(x))."""
    text = seed
    for _ in range(depth):
        text = template.format(text)
    return text


# name -> nesting template, nesting depth (within two levels of the depth limit), box for x,
# box for y (boxes where f, the gradient and the Hessian stay finite)
NESTS: dict[str, tuple[str, int, tuple, tuple]] = {
    "arctan2": ("arctan2({},y)", 49, (0.5, 2), (0.5, 2)),  # 540 characters
    "power_tower": ("x**({})", 49, (0.6, 1.3), (-1, 1)),  # 246 characters
    "sum_power": ("({}+y)**x", 24, (0.5, 1), (0.5, 1)),
    "sin": ("sin({})", 49, (-2, 2), (-2, 2)),
    "add_mul": ("({} + y)*x", 24, (0.2, 0.9), (-1, 1)),
    "continued_fraction": ("x/(1 + {})", 24, (0.5, 2), (-1, 1)),
    "negative_powers": ("x**(-y*{})", 24, (0.5, 1.5), (0.1, 0.5)),
    "constant_base": ("2**-(2*{})", 16, (-1, 1), (-1, 1)),
}
# long flat formulas: name -> text, box for x, box for y
FLATS: dict[str, tuple[str, tuple, tuple]] = {
    "sum_500": ("x " + "+x" * 499, (-2, 2), (-2, 2)),
    "sum_of_powers": ("+".join(f"{k % 5 + 1}*x**{k % 9 + 2}*y**{k % 7 + 1}" for k in range(60)),
                      (-1, 1), (-1, 1)),
    "sum_of_squares": ("+".join(f"(x - {k}*y)**2" for k in range(66)), (-2, 2), (-2, 2)),
    "product_40": ("*".join(f"(x+{k})" for k in range(40)), (-1, 1), (-1, 1)),
    "sum_of_nests": ("+".join(_nest("x**(-y*{})", 16, f"(x+{k})") for k in range(7)),
                     (0.8, 1.2), (0.2, 0.5)),
}
DEEP = {name: (_nest(t, n), bx, by) for name, (t, n, bx, by) in NESTS.items()} | FLATS


def test_deep_and_long_cases_are_what_they_claim() -> None:
    assert len(DEEP["arctan2"][0]) == 540 and len(DEEP["power_tower"][0]) == 246
    assert DEEP["sum_power"][0].startswith("(" * 24 + "x+y)**x")
    for text, _, _ in DEEP.values():
        assert len(text) <= MAX_FORMULA_LENGTH
    for template, depth, _, _ in NESTS.values():  # as deep as the limit (nearly) allows
        with pytest.raises(FormulaError, match="nested deeper"):
            compile_formula(_nest(template, depth + 2))


@pytest.mark.parametrize("name", list(DEEP))
def test_deep_and_long_formulas_compile_and_match_autograd(name: str, monkeypatch) -> None:
    """Derivatives come from the program by forward mode, never from sympy's differentiation
    (whose subtree walks took 14-30 s on the first two of these)."""
    text, box_x, box_y = DEEP[name]

    def no_sympy_diff(*args, **kwargs):
        raise AssertionError("sympy differentiation was called")

    monkeypatch.setattr(sp.Derivative, "__new__", no_sympy_diff)
    formula._compile.cache_clear()
    c = compile_formula(text)
    assert c.latex
    xy = torch.from_numpy(_points(box_x, box_y, n=1000, seed=1))
    value, g = c.value_and_grad(xy)
    assert value.shape == (1000,) and torch.isfinite(value).all()
    torch.testing.assert_close(value, c.f(xy), rtol=0, atol=0)
    torch.testing.assert_close(g, c.grad(xy), rtol=0, atol=0)
    np.testing.assert_allclose(c.numpy(xy[:, 0].numpy(), xy[:, 1].numpy()), value.numpy(),
                               rtol=1e-13, atol=0)
    grad, hessian = _autograd(c, xy)
    scale_g, scale_h = grad.abs().max().item(), hessian.abs().max().item()
    torch.testing.assert_close(g, grad, rtol=1e-8, atol=1e-12 * scale_g)
    torch.testing.assert_close(c.hessian(xy), hessian, rtol=1e-8, atol=1e-12 * scale_h)


def _sizes(text: str) -> tuple[int, int, int]:
    c = compile_formula(text)
    return len(c._f.code), len(c._value_and_grad.code), len(c._hessian.code)


@pytest.mark.parametrize("name", list(NESTS))
def test_derivative_programs_grow_linearly(name: str) -> None:
    """Doubling the nesting at most about doubles the gradient and Hessian programs (a quadratic
    blow-up would quadruple them), and they stay within a few operations per character."""
    template, depth, _, _ = NESTS[name]
    half, full = _sizes(_nest(template, depth // 2)), _sizes(_nest(template, depth // 2 * 2))
    for small, large in zip(half, full, strict=True):
        assert large <= 2.25 * small + 10


def test_derivative_programs_are_a_few_operations_per_character() -> None:
    for text, _, _ in DEEP.values():  # each at most 1000 characters: at most 8000 operations
        assert max(_sizes(text)) <= 8 * len(text)


def test_evaluation_keeps_only_live_values() -> None:
    """A register's storage is reused after its last use: a 500-term sum needs a few arrays, not
    500 (before, a 560 x 560 grid took 1.2 GB)."""
    c = compile_formula(DEEP["sum_500"][0])
    assert len(c._f.code) == 499 and c._f.slots <= 4
    assert compile_formula(DEEP["sum_of_squares"][0])._f.slots <= 4
    grid = np.linspace(-1, 1, 300)
    xs, ys = np.meshgrid(grid, grid)
    tracemalloc.start()
    try:
        z = c.numpy(xs, ys)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    np.testing.assert_allclose(z, 500 * xs)
    assert peak < 8 * xs.nbytes


def test_latex_is_sympys_and_linear_in_deep_exponents() -> None:
    """The LaTeX is exactly sympy's; exponents are printed on their own first, because sympy
    re-walks every exponent at each level (seconds for the 937-character sum_of_nests)."""
    texts = [case[1] for case in CASES] + [_nest("2**-(2*{})", 4), _nest("x**(-y*{})", 5),
                                           _nest("(-({}))**-2", 3), "x**(1/(y + 1))/y**-x"]
    for text in texts:
        c = compile_formula(text)
        assert c.latex == sp.latex(c.expr, order="none")
    assert compile_formula(DEEP["sum_of_nests"][0]).latex.count("^{") >= 7 * 16


# ------------------------------------------------------------------ property-based
TOKENS = ["x", "y", "pi", "e", "z", "os", "__import__", "sin", "cos", "exp", "log", "sqrt", "abs",
          "arctan2", "foo", "0", "1", "2", "0.5", "100", "101", "1e308", "1e999", "9" * 30, "1j",
          "True", "'s'", "+", "-", "*", "/", "**", "//", "%", "@", "^", "~", "(", ")", ",", ".",
          "[", "]", ":", "lambda", "if", "else", "<", "and", "not", ";", "=", " ", "\n", "#",
          "\\", "{", "}", "é", "\0", "_", "'"]
LEAVES = ["x", "y", "pi", "e", "0", "1", "2", "3", "0.5", "2.7", "100", "1e-3", "1e300", "-x"]


def _call(name: str, a: str, b: str) -> str:
    return f"{name}({a})" if FUNCTIONS[name] == 1 else f"{name}({a}, {b})"


FORMULAS = st.recursive(
    st.sampled_from(LEAVES),
    lambda children: st.one_of(
        st.tuples(children, st.sampled_from(["+", "-", "*", "/", "**"]), children).map(
            lambda t: f"({t[0]} {t[1]} {t[2]})"),
        st.tuples(st.sampled_from(sorted(FUNCTIONS)), children, children).map(
            lambda t: _call(*t)),
        children.map(lambda c: f"-{c}"),
    ),
    max_leaves=12,
)
XY = torch.tensor([[0.3, -0.7], [1.5, 2.0], [0.0, 0.0], [-2.0, 0.5]], dtype=torch.float64)


def _compile_or_refuse(text: str) -> CompiledFormula | None:
    try:
        return compile_formula(text)
    except FormulaError:
        return None


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.one_of(st.lists(st.sampled_from(TOKENS), max_size=30).map("".join), st.text(max_size=30)))
def test_random_token_soup_compiles_or_raises_formula_error(text: str) -> None:
    _compile_or_refuse(text)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(FORMULAS)
def test_random_formulas_compile_and_run_or_raise_formula_error(text: str) -> None:
    c = _compile_or_refuse(text)
    if c is None:
        return
    assert c.f(XY).shape == (4,)
    assert c.grad(XY).shape == (4, 2)
    assert c.hessian(XY).shape == (4, 2, 2)
    assert c.numpy(XY[:, 0].numpy(), XY[:, 1].numpy()).shape == (4,)
    assert isinstance(c.latex, str) and c.latex


_HUGE = "9" * 400
_HUGE_FORMULAS = [
    f"x + {_HUGE}", f"x + 10**{_HUGE}", f"x**{_HUGE}", f"x**-{_HUGE}", f"{_HUGE}**x",
    f"x**(1/{_HUGE})", f"sin({_HUGE})*x", f"arctan2({_HUGE}, x)", f"x**(y*{_HUGE})",
    f"({_HUGE})**2*x", f"x/{_HUGE}", f"-{_HUGE}", f"{_HUGE}.5 + y", "x + 10**400",
    f"2**x**{_HUGE}", "x + 1e400", "x*1" + "0" * 400 + ".0",
]


@pytest.mark.parametrize("text", _HUGE_FORMULAS, ids=range(len(_HUGE_FORMULAS)))
def test_huge_numbers_are_a_formula_error_never_overflow(text: str) -> None:
    """A 400-digit integer (or a literal beyond float64) anywhere is a FormulaError (a
    ValueError) that names the problem and abbreviates the number, never an OverflowError."""
    with pytest.raises(FormulaError) as info:
        compile_formula(text)
    message = str(info.value)
    assert "too large" in message and "column" in message and len(message) < 160
    assert _HUGE not in message


def test_huge_integer_message_names_its_size() -> None:
    with pytest.raises(FormulaError, match=r"number 999999…999 \(400 digits\) at column 5 is "
                                           r"too large for float64"):
        compile_formula(f"x + {_HUGE}")


@pytest.mark.parametrize(("text", "want"), [
    ("x*1e308*10", math.inf), ("(10**100)**3*x", 2e300), ("x + 1e-400", 2.0),
    ("1e308*10 + x*0", math.inf), ("x**-100", 2.0**-100), ("x + 0." + "0" * 400 + "1", 2.0),
    ("(1e200)**2 - x", math.inf), ("x*(1e-200)**2", 0.0)])
def test_large_but_float64_numbers_fold_with_ieee_semantics(text: str, want: float) -> None:
    """Numbers that are float64 fold in float64: overflow gives inf, underflow 0, no error."""
    c = compile_formula(text)
    assert c.f(torch.tensor([[2.0, 3.0]], dtype=torch.float64)).item() == want
