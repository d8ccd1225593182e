"""Loss surfaces: the ``surfaces/*.toml`` catalogue and users' own formulas.

Each TOML file describes one surface :math:`f:\\mathbb{R}^2\\to\\mathbb{R}` by a formula in ``x``
and ``y`` that goes through the same safe compiler as users' formulas (:mod:`optviz.formula`),
a plot window :math:`[x_{\\min}, x_{\\max}]\\times[y_{\\min}, y_{\\max}]`, its global minima
:math:`f(x^*) = f^*` from the literature (SFU Virtual Library of Simulation Experiments,
BoTorch ``test_functions.synthetic``) with the source, default start points, a colour-scale hint,
an optional gradient-noise std :math:`\\sigma` and a short description.

Keys of a surface file (``name`` must equal the file's stem)::

    name, title, formula, domain = [[xmin, xmax], [ymin, ymax]], minima = [[x, y], ...],
    minimum_value (required when minima is not empty), source, default_starts = [[x, y], ...],
    log_scale, description
    optional: noise (default 0), saddles = [[x, y], ...], order (position in the list),
              literature_domain = [[xmin, xmax], [ymin, ymax]] (the usual search domain)
"""

from __future__ import annotations

import numbers
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cache, lru_cache
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from optviz._data import data_dir, toml_files
from optviz.arguments import UnknownNameError
from optviz.domain import Domain, Point, finite_float, validate_domain

if TYPE_CHECKING:  # the formula compiler (torch, sympy) is imported when a formula is compiled
    import torch

    from optviz.formula import CompiledFormula

#: The folder of the surface files (packaged, or the checkout's top-level ``surfaces/``).
SURFACES_DIR = data_dir("surfaces")

MAX_GRID = 2000  # largest n for Surface.grid

_REQUIRED = {
    "name": str,
    "title": str,
    "formula": str,
    "domain": list,
    "minima": list,
    "source": str,
    "default_starts": list,
    "log_scale": bool,
    "description": str,
}
_OPTIONAL = {
    "minimum_value": (int, float),
    "noise": (int, float),
    "saddles": list,
    "order": int,
    "literature_domain": list,
}


@dataclass(frozen=True, eq=False, kw_only=True)
class Surface:
    """A 2D loss surface: the compiled formula plus what the app needs to show it."""

    name: str  # key, e.g. "rosenbrock"
    title: str  # "Rosenbrock"
    formula: str  # text in x, y
    domain: Domain  # ((xmin, xmax), (ymin, ymax)) = plot window
    minima: tuple[Point, ...]  # global minima (x, y); () if none
    minimum_value: float | None  # f at the global minima (literature)
    source: str  # where minima/domain come from
    default_starts: tuple[Point, ...]  # at least one
    log_scale: bool  # colour the landscape on a log scale (of f − min over the grid)
    noise: float  # default gradient-noise std (0 = exact)
    description: str  # 2-3 sentences a teacher would say
    compiled: CompiledFormula  # from optviz.formula
    saddles: tuple[Point, ...] = ()  # notable saddle points
    literature_domain: Domain | None = None  # the usual search domain, when it differs

    def f(self, xy: torch.Tensor) -> torch.Tensor:
        """:math:`f(x, y)` for ``xy`` of shape ``[..., 2]`` -> ``[...]`` (autograd works)."""
        return self.compiled.f(xy)

    def grad(self, xy: torch.Tensor) -> torch.Tensor:
        """Closed-form :math:`\\nabla f`, ``[..., 2]`` -> ``[..., 2]``."""
        return self.compiled.grad(xy)

    def value_and_grad(self, xy: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """:math:`f` and :math:`\\nabla f` at once, sharing subexpressions (the hot path)."""
        return self.compiled.value_and_grad(xy)

    def hessian(self, xy: torch.Tensor) -> torch.Tensor:
        """Closed-form :math:`\\nabla^2 f`, ``[..., 2]`` -> ``[..., 2, 2]``."""
        return self.compiled.hessian(xy)

    @property
    def latex(self) -> str:
        """LaTeX of the formula."""
        return self.compiled.latex

    def grid(self, n: int = 200) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Values on an n x n grid over the window: ``z[j, i] = f(xs[i], ys[j])``.

        Returns ``xs (n,)``, ``ys (n,)``, ``z (n, n)``. Non-finite values are kept (no warnings):
        colouring them is the figure's job.
        """
        if isinstance(n, bool) or not isinstance(n, int) or not 2 <= n <= MAX_GRID:
            raise ValueError(f"grid size must be an integer in [2, {MAX_GRID}], got {n!r}")
        (xmin, xmax), (ymin, ymax) = self.domain
        xs = np.linspace(xmin, xmax, n)
        ys = np.linspace(ymin, ymax, n)
        gx, gy = np.meshgrid(xs, ys, indexing="xy")
        with np.errstate(all="ignore"):
            z = np.asarray(self.compiled.numpy(gx, gy), dtype=np.float64)
        return xs, ys, np.array(np.broadcast_to(z, (n, n)), dtype=np.float64)


# ----------------------------------------------------------------------------- validation


def _number(value: Any, what: str) -> float:
    return finite_float(value, what)


def _point(value: Any, what: str) -> Point:
    if not isinstance(value, Sequence) or isinstance(value, str) or len(value) != 2:
        raise ValueError(f"{what} must be a pair [x, y], got {value!r}")
    return (_number(value[0], f"{what} x"), _number(value[1], f"{what} y"))


def _points(value: Any, what: str) -> tuple[Point, ...]:
    if not isinstance(value, Sequence) or isinstance(value, str):
        raise ValueError(f"{what} must be a list of [x, y] pairs, got {value!r}")
    return tuple(_point(p, f"{what}[{i}]") for i, p in enumerate(value))


def _inside(p: Point, domain: Domain) -> bool:
    (xmin, xmax), (ymin, ymax) = domain
    return xmin <= p[0] <= xmax and ymin <= p[1] <= ymax


def _check_inside(points: tuple[Point, ...], domain: Domain, what: str) -> None:
    for p in points:
        if not _inside(p, domain):
            raise ValueError(f"{what} {p} lies outside the domain {domain}")


def _surface_from_table(data: Mapping[str, Any], stem: str) -> Surface:
    """Validate one parsed TOML table and compile its formula (errors without the file name)."""
    unknown = sorted(set(data) - set(_REQUIRED) - set(_OPTIONAL))
    if unknown:
        raise ValueError(f"unknown key(s) {unknown}; allowed: {sorted({*_REQUIRED, *_OPTIONAL})}")
    for key, kind in _REQUIRED.items():
        if key not in data:
            raise ValueError(f"missing required key {key!r}")
        if not isinstance(data[key], kind):
            raise ValueError(f"{key!r} must be of type {kind.__name__}, got {data[key]!r}")
    for key, kinds in _OPTIONAL.items():
        if key in data and (isinstance(data[key], bool) or not isinstance(data[key], kinds)):
            raise ValueError(f"{key!r} has the wrong type: {data[key]!r}")
    if data["name"] != stem:
        raise ValueError(f"name {data['name']!r} must equal the file name {stem!r}")
    for key in ("title", "formula", "source", "description"):
        if not data[key].strip():
            raise ValueError(f"{key!r} must not be empty")

    domain = validate_domain(data["domain"])
    minima = _points(data["minima"], "minimum")
    starts = _points(data["default_starts"], "default start")
    saddles = _points(data.get("saddles", []), "saddle")
    from optviz.formula import compile_formula

    if not starts:
        raise ValueError("default_starts needs at least one point")
    _check_inside(minima, domain, "minimum")
    _check_inside(starts, domain, "default start")
    _check_inside(saddles, domain, "saddle")
    if minima and "minimum_value" not in data:
        raise ValueError("minimum_value is required when minima are given")
    if not minima and "minimum_value" in data:
        raise ValueError("minimum_value given without minima")
    value = _number(data["minimum_value"], "minimum_value") if minima else None
    noise = _number(data.get("noise", 0.0), "noise")
    if noise < 0:
        raise ValueError(f"noise must be ≥ 0, got {noise}")
    literature = data.get("literature_domain")
    return Surface(
        name=data["name"],
        title=data["title"].strip(),
        formula=data["formula"].strip(),
        domain=domain,
        minima=minima,
        minimum_value=value,
        source=data["source"].strip(),
        default_starts=starts,
        log_scale=data["log_scale"],
        noise=noise,
        description=" ".join(data["description"].split()),
        compiled=compile_formula(data["formula"]),
        saddles=saddles,
        literature_domain=None
        if literature is None
        else validate_domain(literature, "literature_domain"),
    )


def _stem(path: Traversable) -> str:
    return path.name.removesuffix(".toml")


def load_surface_file(path: str | Path | Traversable) -> Surface:
    """Load and validate one surface file; any problem is a ``ValueError`` naming the file.

    (:class:`optviz.formula.FormulaError` is a ``ValueError`` too.)
    """
    path = Path(path) if isinstance(path, str) else path
    try:
        with path.open("rb") as fh:
            data = tomllib.load(fh)
        return _surface_from_table(data, _stem(path))
    except (tomllib.TOMLDecodeError, ValueError) as exc:
        raise ValueError(f"surfaces/{path.name}: {exc}") from exc


# ----------------------------------------------------------------------------- catalogue


@dataclass(frozen=True)
class CatalogueEntry:
    """What the list of surfaces shows, read from the TOML file without compiling its formula."""

    name: str
    title: str
    order: int
    path: Traversable


def _entry(path: Traversable) -> CatalogueEntry:
    try:
        with path.open("rb") as fh:
            data = tomllib.load(fh)
    except tomllib.TOMLDecodeError as exc:
        raise ValueError(f"surfaces/{path.name}: {exc}") from exc
    order, title = data.get("order", 10**6), data.get("title")
    if isinstance(order, bool) or not isinstance(order, int):
        raise ValueError(f"surfaces/{path.name}: 'order' must be an integer, got {order!r}")
    if not isinstance(title, str) or not title.strip():
        raise ValueError(f"surfaces/{path.name}: 'title' must be a non-empty string")
    return CatalogueEntry(_stem(path), title.strip(), order, path)


@lru_cache(maxsize=1)
def _catalogue() -> dict[str, CatalogueEntry]:
    """Surface key -> entry, in list order; read once, the formulas compile on demand."""
    entries = [_entry(path) for path in toml_files("surfaces")]
    entries.sort(key=lambda e: (e.order, e.name))
    return {e.name: e for e in entries}


def catalogue() -> list[CatalogueEntry]:
    """Every stored surface's name, title and order, in list order (cheap: nothing compiles)."""
    return list(_catalogue().values())


def list_surfaces() -> list[str]:
    """Keys of ``surfaces/*.toml`` by their ``order`` key (rosenbrock first), then by name."""
    return list(_catalogue())


@cache
def get_surface(name: str) -> Surface:
    """The surface stored as ``surfaces/<name>.toml`` (loaded once, then cached).

    ``TypeError`` for a non-string, :class:`~optviz.arguments.UnknownNameError` (a ``KeyError``
    and a ``ValueError``) for an unknown name."""
    if not isinstance(name, str):
        raise TypeError(f"surface name must be a str, got {type(name).__name__}")
    entries = _catalogue()
    if name not in entries:
        raise UnknownNameError(
            f"unknown surface {name!r}; known surfaces: {', '.join(list_surfaces())}"
        )
    return load_surface_file(entries[name].path)


def _auto_log_scale(compiled: CompiledFormula, domain: Domain, n: int = 64) -> bool:
    """Log colouring when :math:`g = f - \\min f` on the window is skewed: most values sit low.

    Rule: median(g) < 0.15 · q99(g) on an ``n x n`` grid (Rosenbrock 0.08, Beale 0.004 -> log;
    a quadratic bowl 0.28, Rastrigin 0.5 -> linear).
    """
    (xmin, xmax), (ymin, ymax) = domain
    gx, gy = np.meshgrid(np.linspace(xmin, xmax, n), np.linspace(ymin, ymax, n))
    with np.errstate(all="ignore"):
        z = np.asarray(compiled.numpy(gx, gy), dtype=np.float64)
        z = z[np.isfinite(z)]
        if z.size < 2:
            return False
        gap = z - z.min()
        typical, spread = np.quantile(gap, [0.5, 0.99])
    return bool(spread > 0 and typical < 0.15 * spread)


def surface_from_formula(
    formula: str,
    domain: Any,
    name: str = "custom",
    title: str | None = None,
    noise: float = 0.0,
    *,
    log_scale: bool | None = None,
    default_starts: Sequence[Sequence[float]] | None = None,
) -> Surface:
    """A surface from a user's formula in ``x``, ``y`` on ``((xmin, xmax), (ymin, ymax))``.

    Raises ``FormulaError`` for a refused formula and ``ValueError`` for a bad domain, noise or
    start. ``log_scale=None`` decides from the values on a coarse grid; the default start is the
    point a quarter in from the window's upper-left corner. No minima are known.
    """
    if not isinstance(formula, str):
        raise TypeError(f"formula must be a string, got {type(formula).__name__}")
    for arg, value in (("name", name), ("title", title)):
        if not isinstance(value, str) and not (arg == "title" and value is None):
            raise TypeError(f"{arg} must be a string{' or None' if arg == 'title' else ''}, "
                            f"got {type(value).__name__}")
    if log_scale is not None and not isinstance(log_scale, bool | np.bool_):
        raise TypeError(f"log_scale must be True, False or None, got {type(log_scale).__name__}")
    if isinstance(noise, bool) or not isinstance(noise, numbers.Real):
        raise TypeError(f"noise must be a number, got {type(noise).__name__}")
    window = validate_domain(domain)
    if not name.strip():
        raise ValueError(f"name must be a non-empty string, got {name!r}")
    sigma = _number(noise, "noise")
    if sigma < 0:
        raise ValueError(f"noise must be ≥ 0, got {sigma}")
    from optviz.formula import compile_formula

    compiled = compile_formula(formula)
    (xmin, xmax), (ymin, ymax) = window
    if default_starts is None:
        starts: tuple[Point, ...] = ((xmin + 0.25 * (xmax - xmin), ymin + 0.75 * (ymax - ymin)),)
    else:
        starts = _points(default_starts, "default start")
        if not starts:
            raise ValueError("default_starts needs at least one point")
        _check_inside(starts, window, "default start")
    return Surface(
        name=name.strip(),
        title=title if title else f"f(x, y) = {compiled.text}",
        formula=compiled.text,
        domain=window,
        minima=(),
        minimum_value=None,
        source="user formula",
        default_starts=starts,
        log_scale=_auto_log_scale(compiled, window) if log_scale is None else bool(log_scale),
        noise=sigma,
        description="A surface defined by your own formula.",
        compiled=compiled,
    )
