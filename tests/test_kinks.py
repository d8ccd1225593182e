r"""Kinks and removable singularities: at a point where ``sqrt``, ``abs``, a non-integer power or
``atan2`` is not differentiable, every derivative is the symmetric subgradient 0, in the closed
form, under autograd (first and second order) and in the exported PyTorch code alike; and every
optimizer started exactly at a catalogue minimum stays there."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

import optviz
from optviz.exports.torch_expr import torch_source
from optviz.formula import acos0, acosh0, asin0, atan2_0, compile_formula, pow0, sqrt0
from optviz.runner import _autograd_gradient, _autograd_hessian

# formula, point, value, gradient, Hessian (the kink's part is 0; the rest is the true value)
KINKS = [
    ("sqrt(x**2 + y**2)", (0.0, 0.0), 0.0, (0.0, 0.0), ((0.0, 0.0), (0.0, 0.0))),
    ("abs(x) + abs(y)", (0.0, 0.0), 0.0, (0.0, 0.0), ((0.0, 0.0), (0.0, 0.0))),
    ("abs(x) + y**2", (0.0, 1.0), 1.0, (0.0, 2.0), ((0.0, 0.0), (0.0, 2.0))),
    ("sqrt(x) + y", (0.0, 3.0), 3.0, (0.0, 1.0), ((0.0, 0.0), (0.0, 0.0))),
    ("x**0.5", (0.0, 0.0), 0.0, (0.0, 0.0), ((0.0, 0.0), (0.0, 0.0))),
    ("x**1.5 + y**0.25", (0.0, 0.0), 0.0, (0.0, 0.0), ((0.0, 0.0), (0.0, 0.0))),
    ("(x**2 + y**2)**0.75", (0.0, 0.0), 0.0, (0.0, 0.0), ((0.0, 0.0), (0.0, 0.0))),
    ("(x**2 + y**2)**0.25 + x*y", (0.0, 0.0), 0.0, (0.0, 0.0), ((0.0, 1.0), (1.0, 0.0))),
    ("sqrt(sqrt(x**2 + y**2) + x**2)", (0.0, 0.0), 0.0, (0.0, 0.0), ((0.0, 0.0), (0.0, 0.0))),
    ("arctan2(y, x)", (0.0, 0.0), 0.0, (0.0, 0.0), ((0.0, 0.0), (0.0, 0.0))),
    ("x**y", (0.0, 0.5), 0.0, (0.0, 0.0), ((0.0, 0.0), (0.0, 0.0))),
    ("exp(-sqrt(x**2 + y**2))", (0.0, 0.0), 1.0, (0.0, 0.0), ((0.0, 0.0), (0.0, 0.0))),
    ("sqrt(x**2 + (y - 1)**2) + (x - 2)**2", (0.0, 1.0), 4.0, (-4.0, 0.0),
     ((2.0, 0.0), (0.0, 0.0))),
]
IDS = [k[0] for k in KINKS]


def _point(xy: tuple[float, float], requires_grad: bool = False) -> torch.Tensor:
    return torch.tensor([xy], dtype=torch.float64, requires_grad=requires_grad)


@pytest.mark.parametrize(("text", "xy", "value", "grad", "hessian"), KINKS, ids=IDS)
def test_closed_form_subgradient_is_zero_at_kinks(text, xy, value, grad, hessian) -> None:
    c = compile_formula(text)
    p = _point(xy)
    assert c.f(p).item() == value
    v, g = c.value_and_grad(p)
    assert v.item() == value and g[0].tolist() == list(grad) == c.grad(p)[0].tolist()
    assert c.hessian(p)[0].tolist() == [list(r) for r in hessian]


@pytest.mark.parametrize(("text", "xy", "value", "grad", "hessian"), KINKS, ids=IDS)
def test_autograd_through_compiled_f_agrees_at_kinks(text, xy, value, grad, hessian) -> None:
    """The runner's gradient="autograd" path and Newton's double backward see the same 0."""
    c = compile_formula(text)
    p = _point(xy)
    v, g = _autograd_gradient(c.f)(p)
    assert v.item() == value and g[0].tolist() == list(grad)
    assert _autograd_hessian(c.f)(p)[0].tolist() == [list(r) for r in hessian]


def _exported(text: str):
    """The exported script's f, built from its own printed source and helper definitions."""
    source = torch_source(compile_formula(text))
    namespace: dict = {"torch": torch, "math": math}
    exec(source.preamble, namespace)  # generated from the checked tree, not from user text
    return eval("lambda x, y: " + source.code, namespace)


@pytest.mark.parametrize(("text", "xy", "value", "grad", "hessian"), KINKS, ids=IDS)
def test_exported_code_agrees_with_compiled_at_kinks(text, xy, value, grad, hessian) -> None:
    f = _exported(text)
    q = torch.tensor(xy, dtype=torch.float64)
    assert f(q[0], q[1]).item() == value
    g = torch.autograd.functional.jacobian(lambda v: f(v[0], v[1]), q)
    h = torch.autograd.functional.hessian(lambda v: f(v[0], v[1]), q)
    assert g.tolist() == list(grad) and h.tolist() == [list(r) for r in hessian]


KINK_FREE = ["sqrt(x**2 + y**2 + 1)", "x**2.5 + abs(y - 3)", "arctan2(y + 2, x)", "x**y",
             "sqrt(x)*y + x**1.5"]


@pytest.mark.parametrize("text", KINK_FREE)
def test_away_from_kinks_nothing_changes(text: str) -> None:
    """Away from 0 the kink-safe forms give the plain functions' values and derivatives: the
    closed form matches autograd through plain torch ops to rounding."""
    rng = np.random.default_rng(0)
    xy = torch.tensor(rng.uniform(0.2, 2.0, (20, 2)), dtype=torch.float64)
    c = compile_formula(text)
    leaf = xy.clone().requires_grad_(True)
    plain = eval("lambda x, y: " + text.replace("sqrt", "torch.sqrt").replace(  # our own text
        "abs", "torch.abs").replace("arctan2", "torch.atan2"), {"torch": torch})
    (g,) = torch.autograd.grad(plain(leaf[:, 0], leaf[:, 1]).sum(), leaf)
    torch.testing.assert_close(c.grad(xy), g, rtol=1e-13, atol=1e-13)
    torch.testing.assert_close(_autograd_gradient(c.f)(xy)[1], g, rtol=1e-13, atol=1e-13)


def test_kink_safe_functions_equal_plain_ones_bitwise() -> None:
    """Same values as torch.sqrt / ** / atan2 everywhere, signed zeros and NaN included."""
    a = torch.tensor([0.0, -0.0, 1e-310, 2.0, -1.0, math.inf, math.nan], dtype=torch.float64)
    b = torch.tensor([0.0, 0.0, -0.0, 0.5, 2.0, -1.0, 3.0], dtype=torch.float64)
    for safe, plain in ((sqrt0(a), torch.sqrt(a)), (pow0(a, 0.5), a**0.5), (pow0(a, b), a**b),
                        (atan2_0(a, b), torch.atan2(a, b)), (atan2_0(b, a), torch.atan2(b, a))):
        np.testing.assert_array_equal(safe.numpy(), plain.numpy())
        assert torch.equal(torch.signbit(safe), torch.signbit(plain))
    t = torch.tensor([-1.0, 1.0, 0.0, -0.0, 0.5, 2.0, -3.0, math.nan, 1.0 + 2**-52],
                     dtype=torch.float64)
    for safe, plain in ((asin0, torch.asin), (acos0, torch.acos), (acosh0, torch.acosh)):
        np.testing.assert_array_equal(safe(t).numpy(), plain(t).numpy())
        assert torch.equal(torch.signbit(safe(t)), torch.signbit(plain(t)))


def _stays_put_runs() -> list[tuple[str, dict]]:
    """Every registered optimizer at its defaults, with the decay terms that pull toward the
    origin by design (AdamW's weight decay, ASGD's lambd) turned off."""
    runs = []
    for key in optviz.list_optimizers():
        names = {hp.name for hp in optviz.get_optimizer(key).hyperparameters}
        runs.append((key, {n: 0.0 for n in ("weight_decay", "lambd") if n in names}))
    return runs


def _exact_minima() -> list[tuple[str, tuple[float, float]]]:
    """(surface, minimum) for every listed minimum where the closed-form gradient is exactly 0
    in float64 (others, such as Himmelblau's irrational minima, have a gradient of ~1e-14 that
    scale-free optimizers like Adam or Adagrad rightly turn into steps of ~lr)."""
    out = []
    for name in optviz.list_surfaces():
        surface = optviz.get_surface(name)
        for m in surface.minima:
            if not surface.grad(_point(m)).any():
                out.append((name, tuple(m)))
    return out


def test_exact_minima_cover_every_kind_of_surface() -> None:
    names = {n for n, _ in _exact_minima()}
    assert {"ackley", "rastrigin", "rosenbrock", "noisy_quadratic", "beale"} <= names
    assert len(_exact_minima()) >= 12


@pytest.mark.parametrize("gradient", ["closed_form", "autograd"])
def test_every_optimizer_started_at_a_minimum_stays_there(gradient: str) -> None:
    """No divergence, no NaN, and the position unchanged (bitwise) for 30 steps, from every
    listed minimum with an exactly zero gradient (Ackley's (0, 0), where sqrt has a kink,
    included) and every optimizer in the registry; noise off for the noisy surface."""
    runs = _stays_put_runs()
    by_surface: dict[str, list] = {}
    for name, m in _exact_minima():
        by_surface.setdefault(name, []).append(m)
    for name, minima in by_surface.items():
        r = optviz.simulate(name, runs, starts=minima, steps=30, noise=0.0, gradient=gradient)
        assert (np.asarray(r.diverged_at) < 0).all(), name
        xy, loss = np.asarray(r.xy), np.asarray(r.loss)
        assert np.isfinite(xy).all() and np.isfinite(loss).all(), name
        moved = np.abs(xy - np.asarray(minima)[None, :, None, :]).max(axis=(-2, -1))
        assert not moved.any(), (name, [runs[i][0] for i in np.argwhere(moved)[:, 0]])


def test_every_optimizer_at_an_irrational_minimum_stays_finite() -> None:
    """Where the listed minimum is only within rounding, nothing diverges or turns NaN."""
    runs = _stays_put_runs()
    exact = set(_exact_minima())
    for name in optviz.list_surfaces():
        minima = [m for m in optviz.get_surface(name).minima if (name, tuple(m)) not in exact]
        if minima:
            r = optviz.simulate(name, runs, starts=minima, steps=30, noise=0.0)
            assert (np.asarray(r.diverged_at) < 0).all() and np.isfinite(r.xy).all(), name


INVERSE_TRIG = [  # cones at the edge of arcsin / arccos / arcosh's domain: subgradient 0
    ("arcsin(1 - x**2) + y", (0.0, 0.5), math.pi / 2 + 0.5, (0.0, 1.0)),
    ("arccos(x**2 - 1)*y", (0.0, 2.0), 2 * math.pi, (0.0, math.pi)),
    ("arccosh(1 + x**2 + y**2)", (0.0, 0.0), 0.0, (0.0, 0.0)),
    ("arcsin(x)", (1.0, 0.0), math.pi / 2, (0.0, 0.0)),
]


@pytest.mark.parametrize(("text", "xy", "value", "grad"), INVERSE_TRIG,
                         ids=[k[0] for k in INVERSE_TRIG])
def test_inverse_trig_edges_are_kinks_everywhere(text, xy, value, grad) -> None:
    """arcsin(1 - x²) ≈ π/2 − √2|x| is a cone at 0: closed form, autograd (first and second
    order) and exported code all give the subgradient 0 there, finite Hessians, same values."""
    c = compile_formula(text)
    p = _point(xy)
    v, g = c.value_and_grad(p)
    assert v.item() == pytest.approx(value, abs=1e-15) and g[0].tolist() == list(grad)
    h = c.hessian(p)
    assert torch.isfinite(h).all()
    av, ag = _autograd_gradient(c.f)(p)
    assert ag[0].tolist() == list(grad) and av.item() == v.item()
    torch.testing.assert_close(_autograd_hessian(c.f)(p), h, rtol=0, atol=0)
    f = _exported(text)
    q = p[0]
    assert f(q[0], q[1]).item() == v.item()
    eg = torch.autograd.functional.jacobian(lambda u: f(u[0], u[1]), q)
    eh = torch.autograd.functional.hessian(lambda u: f(u[0], u[1]), q)
    assert eg.tolist() == list(grad)
    torch.testing.assert_close(eh, h[0], rtol=0, atol=0)
