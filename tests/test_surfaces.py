"""Surfaces: every TOML loads, matches an independent implementation and the literature's minima.

References: BoTorch ``botorch/test_functions/synthetic.py`` (``evaluate_true`` and
``_optimizers`` / ``_optimal_value``), SFU Virtual Library of Simulation Experiments, argmin's
test functions (Himmelblau, Booth, Matyas). The reference functions below are written from those
sources independently of the TOML formulas, so a typo in a TOML shows up as a mismatch.
"""

from __future__ import annotations

import math
import warnings
from pathlib import Path

import numpy as np
import pytest
import torch

import optviz
from optviz.figures import Track
from optviz.formula import FormulaError
from optviz.surfaces import (
    SURFACES_DIR,
    Surface,
    get_surface,
    list_surfaces,
    load_surface_file,
    surface_from_formula,
)

PI = math.pi

# Independent numpy implementations (from BoTorch evaluate_true / SFU / argmin).
REFERENCE = {
    "rosenbrock": lambda x, y: 100.0 * (y - x**2) ** 2 + (x - 1) ** 2,
    "beale": lambda x, y: (
        (1.5 - x + x * y) ** 2 + (2.25 - x + x * y**2) ** 2 + (2.625 - x + x * y**3) ** 2
    ),
    "saddle": lambda x, y: x**2 - y**2,
    "noisy_quadratic": lambda x, y: 0.5 * x**2 + 5.0 * y**2,
    "monkey_saddle": lambda x, y: x**3 - 3.0 * x * y**2,
    "himmelblau": lambda x, y: (x**2 + y - 11) ** 2 + (x + y**2 - 7) ** 2,
    "booth": lambda x, y: (x + 2 * y - 7) ** 2 + (2 * x + y - 5) ** 2,
    "matyas": lambda x, y: 0.26 * (x**2 + y**2) - 0.48 * x * y,
    "rastrigin": lambda x, y: (
        20.0 + (x**2 - 10.0 * np.cos(2 * PI * x)) + (y**2 - 10.0 * np.cos(2 * PI * y))
    ),
    "ackley": lambda x, y: (
        -20.0 * np.exp(-0.2 / math.sqrt(2) * np.hypot(x, y))
        - np.exp((np.cos(2 * PI * x) + np.cos(2 * PI * y)) / 2)
        + 20.0
        + math.e
    ),
    "goldstein_price": lambda x, y: (
        (1 + (x + y + 1) ** 2 * (19 - 14 * x + 3 * x**2 - 14 * y + 6 * x * y + 3 * y**2))
        * (30 + (2 * x - 3 * y) ** 2 * (18 - 32 * x + 12 * x**2 + 48 * y - 36 * x * y + 27 * y**2))
    ),
    "six_hump_camel": lambda x, y: (
        (4 - 2.1 * x**2 + x**4 / 3) * x**2 + x * y + (4 * y**2 - 4) * y**2
    ),
    "three_hump_camel": lambda x, y: 2.0 * x**2 - 1.05 * x**4 + x**6 / 6.0 + x * y + y**2,
    "styblinski_tang": lambda x, y: 0.5 * ((x**4 - 16 * x**2 + 5 * x) + (y**4 - 16 * y**2 + 5 * y)),
}

# Minima and values as printed in the literature (rounded there): (points, value).
LITERATURE: dict[str, tuple[list[tuple[float, float]], float | None]] = {
    "rosenbrock": ([(1.0, 1.0)], 0.0),  # BoTorch
    "beale": ([(3.0, 0.5)], 0.0),  # BoTorch
    "saddle": ([], None),
    "noisy_quadratic": ([(0.0, 0.0)], 0.0),
    "monkey_saddle": ([], None),
    "himmelblau": (  # argmin testfunctions, Wikipedia
        [(3.0, 2.0), (-2.805118, 3.131312), (-3.779310, -3.283186), (3.584428, -1.848126)],
        0.0,
    ),
    "booth": ([(1.0, 3.0)], 0.0),  # SFU, argmin
    "matyas": ([(0.0, 0.0)], 0.0),  # SFU, argmin
    "rastrigin": ([(0.0, 0.0)], 0.0),  # BoTorch
    "ackley": ([(0.0, 0.0)], 0.0),  # BoTorch
    "goldstein_price": ([(0.0, -1.0)], 3.0),  # SFU, benchmarkfcns
    "six_hump_camel": ([(0.0898, -0.7126), (-0.0898, 0.7126)], -1.0316),  # BoTorch
    "three_hump_camel": ([(0.0, 0.0)], 0.0),  # BoTorch
    "styblinski_tang": ([(-2.903534, -2.903534)], -39.166166 * 2),  # BoTorch, d = 2
}
LITERATURE_DIGITS_TOL = 1e-4  # the literature prints 4 to 6 decimals

# Minima whose coordinates are exact in binary: the closed-form gradient must be exactly 0 there.
EXACT_MINIMA = {
    "rosenbrock": [(1.0, 1.0)],
    "beale": [(3.0, 0.5)],
    "noisy_quadratic": [(0.0, 0.0)],
    "himmelblau": [(3.0, 2.0)],
    "booth": [(1.0, 3.0)],
    "matyas": [(0.0, 0.0)],
    "rastrigin": [(0.0, 0.0)],
    "goldstein_price": [(0.0, -1.0)],
    "three_hump_camel": [(0.0, 0.0)],
}
# Ackley's global minimum is the tip of a cone (sqrt of x² + y²): no gradient there (as in
# BoTorch, whose Ackley sets _check_grad_at_opt = False). It is tested as a strict local minimum.
NONSMOOTH_AT_MINIMUM = {"ackley"}

REQUIRED = {
    "rosenbrock",
    "beale",
    "saddle",
    "noisy_quadratic",
    "monkey_saddle",
    "himmelblau",
    "booth",
    "matyas",
    "rastrigin",
    "ackley",
    "goldstein_price",
    "six_hump_camel",
    "three_hump_camel",
    "styblinski_tang",
}

NAMES = list_surfaces()
WITH_MINIMA = [n for n in NAMES if get_surface(n).minima]
WITH_SADDLES = [n for n in NAMES if get_surface(n).saddles]


def _xy(points) -> torch.Tensor:
    return torch.tensor(points, dtype=torch.float64).reshape(-1, 2)


def _random_inside(surface: Surface, n: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    (xmin, xmax), (ymin, ymax) = surface.domain
    return np.column_stack([rng.uniform(xmin, xmax, n), rng.uniform(ymin, ymax, n)])


def _inside(p, domain) -> bool:
    (xmin, xmax), (ymin, ymax) = domain
    return xmin <= p[0] <= xmax and ymin <= p[1] <= ymax


# ----------------------------------------------------------------------------- catalogue


def test_catalogue_has_the_required_surfaces_with_rosenbrock_first():
    assert set(NAMES) >= REQUIRED
    assert NAMES[0] == "rosenbrock"
    assert sorted(NAMES) == sorted(p.stem for p in SURFACES_DIR.glob("*.toml"))
    assert len(NAMES) == len(set(NAMES))


def test_every_surface_has_an_independent_reference():
    assert set(REFERENCE) == set(NAMES)
    assert set(LITERATURE) == set(NAMES)


@pytest.mark.parametrize("name", NAMES)
def test_toml_loads_and_is_cached(name):
    s = get_surface(name)
    assert isinstance(s, Surface)
    assert s.name == name
    assert get_surface(name) is s
    assert s.title and s.formula and s.source and s.latex
    assert 80 <= len(s.description) <= 800
    assert 2 <= s.description.count(". ") + 1 <= 4
    assert 1 <= len(s.default_starts) <= 4
    assert isinstance(s.log_scale, bool)
    assert s.noise >= 0
    (xmin, xmax), (ymin, ymax) = s.domain
    assert xmin < xmax and ymin < ymax
    if s.minima:
        assert s.minimum_value is not None
    else:
        assert s.minimum_value is None and s.saddles
    assert load_surface_file(SURFACES_DIR / f"{name}.toml").formula == s.formula


def test_unknown_surface_is_a_key_error_listing_the_known_ones():
    with pytest.raises(KeyError) as info:
        get_surface("no_such_surface")
    message = str(info.value)
    assert "no_such_surface" in message
    for name in NAMES:
        assert name in message


# ----------------------------------------------------------------------------- the formulas


@pytest.mark.parametrize("name", NAMES)
def test_formula_matches_independent_reference(name):
    s = get_surface(name)
    pts = np.vstack([_random_inside(s, 300, seed=1), np.asarray(s.default_starts)])
    want = REFERENCE[name](pts[:, 0], pts[:, 1])
    scale = np.maximum(1.0, np.abs(want))
    torch_vals = s.f(torch.from_numpy(pts)).numpy()
    numpy_vals = np.asarray(s.compiled.numpy(pts[:, 0], pts[:, 1]), dtype=np.float64)
    np.testing.assert_array_less(np.abs(torch_vals - want) / scale, 1e-12)
    np.testing.assert_array_less(np.abs(numpy_vals - want) / scale, 1e-12)


@pytest.mark.parametrize("name", NAMES)
def test_gradcheck_and_closed_forms_agree_with_autograd(name):
    s = get_surface(name)
    pts = torch.from_numpy(_random_inside(s, 4, seed=2))
    for p in pts:
        xy = p.clone().requires_grad_(True)
        assert torch.autograd.gradcheck(s.f, (xy,), eps=1e-6, atol=1e-5, rtol=1e-4)
        (auto,) = torch.autograd.grad(s.f(xy), xy)
        torch.testing.assert_close(s.grad(p), auto, rtol=1e-9, atol=1e-9)
        hess = torch.autograd.functional.hessian(s.f, p)
        torch.testing.assert_close(s.hessian(p), hess, rtol=1e-9, atol=1e-9)
    # batched shapes
    batch = pts.reshape(2, 2, 2)
    assert s.f(batch).shape == (2, 2)
    assert s.grad(batch).shape == (2, 2, 2)
    assert s.hessian(batch).shape == (2, 2, 2, 2)


# ----------------------------------------------------------------------------- minima


@pytest.mark.parametrize("name", NAMES)
def test_minima_agree_with_the_literature(name):
    s = get_surface(name)
    points, value = LITERATURE[name]
    assert len(s.minima) == len(points)
    for lit in points:  # one TOML minimum per literature minimum
        d = [math.dist(lit, m) for m in s.minima]
        assert min(d) < LITERATURE_DIGITS_TOL * 10, (lit, s.minima)
    if value is None:
        assert s.minimum_value is None
    else:
        assert abs(s.minimum_value - value) < LITERATURE_DIGITS_TOL


@pytest.mark.parametrize("name", WITH_MINIMA)
def test_minima_give_the_value_with_zero_gradient(name):
    s = get_surface(name)
    xy = _xy(s.minima)
    value = s.minimum_value
    # value from the TOML's formula and from the independent reference
    f = s.f(xy)
    ref = REFERENCE[name](xy[:, 0].numpy(), xy[:, 1].numpy())
    tol = 1e-12 * max(1.0, abs(value))
    assert torch.all((f - value).abs() <= tol), (f, value)
    assert np.all(np.abs(ref - value) <= tol), (ref, value)
    if name in NONSMOOTH_AT_MINIMUM:
        return
    # closed-form gradient and autograd
    g = s.grad(xy)
    leaf = xy.clone().requires_grad_(True)
    (auto,) = torch.autograd.grad(s.f(leaf).sum(), leaf)
    assert torch.all(g.norm(dim=-1) < 1e-7), g
    assert torch.all(auto.norm(dim=-1) < 1e-7), auto
    # positive definite Hessian: a strict minimum
    eig = torch.linalg.eigvalsh(s.hessian(xy))
    assert torch.all(eig > 0), eig


@pytest.mark.parametrize("name", sorted(EXACT_MINIMA))
def test_exact_minima_have_exactly_zero_gradient(name):
    s = get_surface(name)
    for point in EXACT_MINIMA[name]:
        assert point in s.minima
        xy = _xy([point])
        assert torch.equal(s.grad(xy), torch.zeros_like(xy))
        leaf = xy.clone().requires_grad_(True)
        (auto,) = torch.autograd.grad(s.f(leaf).sum(), leaf)
        assert torch.equal(auto, torch.zeros_like(xy))


@pytest.mark.parametrize("name", WITH_MINIMA)
def test_minima_are_strict_local_minima(name):
    s = get_surface(name)
    angles = np.linspace(0, 2 * np.pi, 16, endpoint=False)
    ring = np.column_stack([np.cos(angles), np.sin(angles)])
    for m in s.minima:
        for radius in (1e-3, 1e-2):
            around = torch.from_numpy(np.asarray(m) + radius * ring)
            assert torch.all(s.f(around) > s.minimum_value), (m, radius)


@pytest.mark.parametrize("name", WITH_MINIMA)
def test_minimum_is_global_on_the_window(name):
    s = get_surface(name)
    _, _, z = s.grid(301)
    assert np.isfinite(z).all()
    assert z.min() >= s.minimum_value - 1e-12 * max(1.0, abs(s.minimum_value))


@pytest.mark.parametrize("name", WITH_SADDLES)
def test_saddles_are_stationary_and_not_minima(name):
    s = get_surface(name)
    xy = _xy(s.saddles)
    assert torch.equal(s.grad(xy), torch.zeros_like(xy))
    eig = torch.linalg.eigvalsh(s.hessian(xy))
    # either indefinite (x² − y²) or degenerate (monkey saddle: zero Hessian)
    assert torch.all((eig.min(dim=-1).values < 0) | (eig.abs().max(dim=-1).values == 0))
    angles = np.linspace(0, 2 * np.pi, 12, endpoint=False)
    for p in s.saddles:
        around = torch.from_numpy(
            np.asarray(p) + 1e-2 * np.column_stack([np.cos(angles), np.sin(angles)])
        )
        f0 = s.f(_xy([p]))
        assert torch.any(s.f(around) < f0) and torch.any(s.f(around) > f0)


# ----------------------------------------------------------------------------- window and starts


@pytest.mark.parametrize("name", NAMES)
def test_minima_saddles_and_starts_lie_inside_the_domain(name):
    s = get_surface(name)
    for p in (*s.minima, *s.saddles, *s.default_starts):
        assert _inside(p, s.domain), (p, s.domain)
    if s.literature_domain is not None:
        for p in s.minima:
            assert _inside(p, s.literature_domain)


@pytest.mark.parametrize("name", NAMES)
def test_default_starts_are_not_stationary(name):
    s = get_surface(name)
    g = s.grad(_xy(s.default_starts))
    assert torch.all(torch.isfinite(g)) and torch.all(g.norm(dim=-1) > 1e-3)


@pytest.mark.parametrize("name", [n for n in WITH_MINIMA if get_surface(n).noise == 0])
@pytest.mark.parametrize("optimizer", ["sgd", "adam"])
def test_default_starts_do_not_fly_off(name, optimizer):
    """Adam (lr 0.05) and SGD (lr 1e-3, 1e-5 on Goldstein–Price) stay near the window."""
    s = get_surface(name)
    xy = _xy(s.default_starts).requires_grad_(True)
    lr = 0.05 if optimizer == "adam" else (1e-5 if name == "goldstein_price" else 1e-3)
    opt = torch.optim.Adam([xy], lr=lr) if optimizer == "adam" else torch.optim.SGD([xy], lr=lr)
    (xmin, xmax), (ymin, ymax) = s.domain
    w, h = xmax - xmin, ymax - ymin
    for _ in range(300):
        opt.zero_grad()
        xy.grad = s.grad(xy.detach())
        opt.step()
        p = xy.detach()
        assert torch.all(torch.isfinite(p))
        assert torch.all((p[:, 0] > xmin - w / 4) & (p[:, 0] < xmax + w / 4))
        assert torch.all((p[:, 1] > ymin - h / 4) & (p[:, 1] < ymax + h / 4))


def test_noisy_quadratic_is_noisy_and_adam_still_converges():
    s = get_surface("noisy_quadratic")
    assert s.noise > 0
    gen = torch.Generator().manual_seed(0)
    start = _xy(s.default_starts)
    clean = start.clone().requires_grad_(True)
    noisy = start.clone().requires_grad_(True)
    opts = [torch.optim.Adam([clean], lr=0.05), torch.optim.Adam([noisy], lr=0.05)]
    deviation, tail = [], []
    for step in range(500):
        for opt in opts:
            opt.zero_grad()
        clean.grad = s.grad(clean.detach())
        noisy.grad = s.grad(noisy.detach()) + s.noise * torch.randn(
            noisy.shape, generator=gen, dtype=torch.float64
        )
        for opt in opts:
            opt.step()
        deviation.append((noisy - clean).detach().norm(dim=-1))
        if step >= 400:
            tail.append(noisy.detach().norm(dim=-1))
    (xmin, xmax), _ = s.domain
    # visibly noisy: the path strays by more than 1% of the window on average
    assert torch.stack(deviation).mean() > 0.01 * (xmax - xmin)
    # still converges: the last 100 steps stay within 10% of the start distance
    assert torch.all(torch.stack(tail).mean(dim=0) < 0.1 * start.norm(dim=-1))


# ----------------------------------------------------------------------------- grid


@pytest.mark.parametrize("name", NAMES)
def test_grid_orientation_and_values(name):
    s = get_surface(name)
    xs, ys, z = s.grid(7)
    assert xs.shape == (7,) and ys.shape == (7,) and z.shape == (7, 7)
    (xmin, xmax), (ymin, ymax) = s.domain
    assert (xs[0], xs[-1], ys[0], ys[-1]) == (xmin, xmax, ymin, ymax)
    gx, gy = np.meshgrid(xs, ys)
    np.testing.assert_allclose(z, REFERENCE[name](gx, gy), rtol=1e-12, atol=1e-12)
    # z[j, i] = f(xs[i], ys[j]) on a non-square index
    i, j = 1, 5
    assert z[j, i] == pytest.approx(float(s.f(_xy([(xs[i], ys[j])]))[0]), rel=1e-12, abs=1e-12)


def test_grid_keeps_non_finite_values_without_warnings():
    s = surface_from_formula("log(x) + 1/y", ((-1.0, 1.0), (-1.0, 1.0)))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        xs, ys, z = s.grid(5)
    assert z.shape == (5, 5)
    assert not np.isfinite(z).all()
    assert np.isfinite(z[np.ix_(ys != 0, xs > 0)]).all()


@pytest.mark.parametrize("n", [0, 1, 2.5, True, 10**6])
def test_grid_refuses_bad_sizes(n):
    with pytest.raises(ValueError, match="grid size"):
        get_surface("booth").grid(n)


def test_grid_of_a_constant_formula_has_the_full_shape():
    s = surface_from_formula("3", ((0.0, 1.0), (0.0, 2.0)))
    _, _, z = s.grid(4)
    assert z.shape == (4, 4) and np.all(z == 3.0)


# ----------------------------------------------------------------------------- user formulas


def test_surface_from_formula_happy_path():
    s = surface_from_formula(" x**2 + 3*y**2 ", [[-2, 2], [-1, 1]], title="Bowl", noise=0.25)
    assert s.name == "custom" and s.title == "Bowl" and s.noise == 0.25
    assert s.formula == "x**2 + 3*y**2"
    assert s.domain == ((-2.0, 2.0), (-1.0, 1.0))
    assert s.minima == () and s.minimum_value is None and s.saddles == ()
    assert len(s.default_starts) == 1 and _inside(s.default_starts[0], s.domain)
    xy = torch.tensor([[1.0, 2.0], [0.5, -0.5]], dtype=torch.float64)
    torch.testing.assert_close(s.f(xy), xy[:, 0] ** 2 + 3 * xy[:, 1] ** 2)
    torch.testing.assert_close(s.grad(xy), torch.stack([2 * xy[:, 0], 6 * xy[:, 1]], dim=-1))
    assert s.latex
    assert surface_from_formula("x", ((0, 1), (0, 1))).title  # a default title


def test_surface_from_formula_log_scale_hint():
    rosen = get_surface("rosenbrock")
    assert surface_from_formula(rosen.formula, rosen.domain).log_scale is True
    assert surface_from_formula("x + y", ((-1, 1), (-1, 1))).log_scale is False
    assert surface_from_formula("x + y", ((-1, 1), (-1, 1)), log_scale=True).log_scale is True


def test_surface_from_formula_with_starts():
    s = surface_from_formula("x*y", ((-1, 1), (-1, 1)), default_starts=[(0.5, 0.5)])
    assert s.default_starts == ((0.5, 0.5),)
    with pytest.raises(ValueError, match="outside"):
        surface_from_formula("x*y", ((-1, 1), (-1, 1)), default_starts=[(2.0, 0.0)])


@pytest.mark.parametrize(
    "domain",
    [
        ((1.0, -1.0), (0.0, 1.0)),  # xmin > xmax
        ((0.0, 1.0), (2.0, 2.0)),  # ymin == ymax
        ((float("nan"), 1.0), (0.0, 1.0)),
        ((0.0, float("inf")), (0.0, 1.0)),
        ((0.0, 1e9), (0.0, 1.0)),  # absurd size
        ((0.0, 1e-9), (0.0, 1.0)),  # degenerate width
        ((0.0, 1.0),),
        ((0.0, 1.0), (0.0, 1.0), (0.0, 1.0)),
        ((0.0, 1.0, 2.0), (0.0, 1.0)),
        ((True, 2.0), (0.0, 1.0)),
        ("[-1, 1] x [-1, 1]",),
        None,
        ((0.0, "1"), (0.0, 1.0)),
    ],
)
def test_surface_from_formula_refuses_bad_domains(domain):
    with pytest.raises(ValueError, match="domain"):
        surface_from_formula("x**2 + y**2", domain)


@pytest.mark.parametrize("noise", [-0.1, float("nan"), float("inf"), 10**400])
def test_surface_from_formula_refuses_bad_noise(noise):
    with pytest.raises(ValueError, match="noise"):
        surface_from_formula("x**2 + y**2", ((-1, 1), (-1, 1)), noise=noise)


@pytest.mark.parametrize("kwargs", [{"noise": "0.1"}, {"title": 5}, {"name": 5},
                                    {"log_scale": "x"}, {"formula": 5}])
def test_surface_from_formula_refuses_wrong_types(kwargs):
    args = {"formula": "x**2 + y**2", "domain": ((-1, 1), (-1, 1)), **kwargs}
    with pytest.raises(TypeError, match=next(iter(kwargs))):
        surface_from_formula(**args)


@pytest.mark.parametrize(
    "formula",
    [
        "__import__('os').system('echo hi')",
        "x.__class__",
        "open('/etc/passwd')",
        "lambda: x",
        "[x for x in (1, 2)]",
        "z + x",
        "x +",
        "",
        "x" + " + x" * 2000,
    ],
)
def test_surface_from_formula_refuses_hostile_or_broken_formulas(formula):
    with pytest.raises(FormulaError):
        surface_from_formula(formula, ((-1, 1), (-1, 1)))


# ----------------------------------------------------------------------------- file validation

VALID = {
    "name": "probe",
    "title": "Probe",
    "formula": "x**2 + y**2",
    "domain": [[-1.0, 1.0], [-2.0, 2.0]],
    "minima": [[0.0, 0.0]],
    "minimum_value": 0.0,
    "source": "test",
    "default_starts": [[0.5, 0.5]],
    "log_scale": False,
    "description": "A bowl. Nothing to see.",
}


def _toml(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    return "[" + ", ".join(_toml(v) for v in value) + "]"


def _write(tmp_path: Path, table: dict, stem: str = "probe") -> Path:
    path = tmp_path / f"{stem}.toml"
    path.write_text("".join(f"{k} = {_toml(v)}\n" for k, v in table.items()), encoding="utf-8")
    return path


def test_valid_probe_file_loads(tmp_path):
    s = load_surface_file(_write(tmp_path, VALID))
    assert s.name == "probe" and s.minima == ((0.0, 0.0),) and s.noise == 0.0


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"title": None}, "missing required key 'title'"),
        ({"formula": None}, "missing required key 'formula'"),
        ({"colour": "red"}, "unknown key"),
        ({"name": "other"}, "must equal the file name"),
        ({"domain": [[1.0, -1.0], [-2.0, 2.0]]}, "xmin < xmax"),
        ({"domain": [[-1.0, 1.0]]}, "domain"),
        ({"minima": [[5.0, 0.0]]}, "outside the domain"),
        ({"default_starts": [[0.0, 3.0]]}, "outside the domain"),
        ({"default_starts": []}, "at least one"),
        ({"minimum_value": None}, "minimum_value is required"),
        ({"minima": []}, "without minima"),
        ({"log_scale": "yes"}, "log_scale"),
        ({"noise": -1.0}, "noise"),
        ({"noise": True}, "noise"),
        ({"minima": [[0.0]]}, "pair"),
        ({"formula": "x.__class__"}, "probe.toml"),
        ({"description": "  "}, "must not be empty"),
    ],
)
def test_bad_files_are_refused_with_the_file_name(tmp_path, change, message):
    table = {k: v for k, v in {**VALID, **change}.items() if v is not None}
    with pytest.raises(ValueError, match=r"probe\.toml") as info:
        load_surface_file(_write(tmp_path, table))
    assert message in str(info.value)


def test_broken_toml_syntax_is_refused_with_the_file_name(tmp_path):
    path = tmp_path / "broken.toml"
    path.write_text('name = "broken\n', encoding="utf-8")
    with pytest.raises(ValueError, match=r"broken\.toml"):
        load_surface_file(path)


@pytest.mark.parametrize("text", ["1e16", "1e18+x", "-1e16 + 0*y", "1e308 + x", "3"])
def test_flat_and_huge_constant_formulas_draw_end_to_end(text):
    """Accepted flat or huge-constant formulas give a grid, a figure, a loss chart and a
    rendered frame (before: "arange: cannot compute length" and no figure)."""
    import json

    from optviz.figures import loss_figure, race_payload
    from optviz.render import FrameRenderer, LegendEntry, plan_layout
    from optviz.views import landscape_for

    surface = surface_from_formula(text, domain=((-5.0, 5.0), (-5.0, 5.0)))
    land = landscape_for(surface, 40)
    assert np.isfinite(land.z).all()
    r = optviz.simulate(surface, [("adam", {"lr": 0.1})], starts=[(1.0, 1.0)], steps=10)
    track = Track("Adam", "#1f77b4", r.xy[0, 0], r.loss[0, 0], int(r.diverged_at[0, 0]))
    json.dumps(race_payload(land, [track], None), allow_nan=False)
    loss_figure([track]).to_json()
    legend = [LegendEntry("Adam", "#1f77b4", (0,))]
    FrameRenderer(plan_layout(land.x_range, land.y_range, legend, 120), land, [track],
                  legend).frame(10)
