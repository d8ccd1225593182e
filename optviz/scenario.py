"""``Scenario``: the one validated, frozen, hashable description of what to run and show.

The app turns its widgets into a ``Scenario``, caches the simulation on :meth:`Scenario.sim_key`,
writes the scene to the URL with :meth:`Scenario.to_query` and reads it back with
:meth:`Scenario.from_query`; the CLI loads it from JSON (:meth:`Scenario.from_json`).

Validation (:meth:`Scenario.validated`) raises :class:`ScenarioError` naming the field. Reading a
URL or a JSON document never raises for a bad field: the field falls back to its default with one
warning naming it (a bad run or start is dropped; if none remain, the defaults are used); unknown
URL keys are ignored; numbers out of range are refused, never clamped; a query over
``MAX_QUERY_CHARS`` is refused as a whole.

Query format (flat ``str -> str``, raw values; URL-encoding is the caller's job)::

    surface=rosenbrock            a key of list_surfaces(), or "custom"
    formula=x**2+3*y**2           custom only (with surface=custom)
    domain=-2,2;-1,3              custom only: xmin,xmax;ymin,ymax (default -3,3;-3,3)
    start=-1.5,2;0,-0.5           x,y;x,y ...  (1..MAX_STARTS, inside the plot window)
    steps=300                     1..MAX_STEPS
    seed=0                        0..2**31-1
    noise=0.1                     gradient-noise std in [0, MAX_NOISE]; absent = surface default
    run=sgd:lr=0.001;adam:lr=0.05,betas=0.9/0.999,amsgrad=true
                                  variant[:name=value,...];...  only hyperparameters that differ
                                  from the variant's defaults; pairs as a/b; booleans true/false
    color2=00ff00                 run 2's colour, only when it differs from PALETTE[1]
    label2=Fast Adam              run 2's label, only when set

Numbers are written in the shortest form that reads back to the same float (``repr``; integral
values without ``.0``), so ``to_query(from_query(to_query(s))) == to_query(s)`` and the
round trip is exact. Bounded: ``MAX_QUERY_CHARS`` in all, ``MAX_VALUE_CHARS`` a value, strict
regular expressions for numbers (no ``eval``, no ``inf``/``nan``/``_``/hex).

JSON (:meth:`Scenario.to_json`), complete and versioned, read back with the same rules (unknown
keys are warned about; malformed JSON raises ``ScenarioError``)::

    {"optviz": 1, "surface": "rosenbrock", "formula": null, "domain": null,
     "starts": [[-1.5, 2.0]], "steps": 300, "seed": 0, "noise": null,
     "runs": [{"variant": "adam", "optimizer": "adam",
               "hparams": {"lr": 0.05, "betas": [0.9, 0.999], ...}, "color": "#ff4fd8",
               "label": ""}, ...]}

``variant`` is the UI key (``momentum``); ``optimizer`` is the registry key behind it, written for
readers and accepted alone as the variant when ``variant`` is missing.
"""

from __future__ import annotations

import json
import math
import operator
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from functools import cache, lru_cache
from typing import Any

from optviz.formula import MAX_FORMULA_LENGTH
from optviz.optimizers import OptimizerSpec, Variant, get_optimizer, get_variant, list_variants
from optviz.surfaces import Surface, get_surface, list_surfaces, surface_from_formula

__all__ = [
    "CUSTOM",
    "DEFAULT_CUSTOM_DOMAIN",
    "DEFAULT_RUNS",
    "DEFAULT_SCENARIO",
    "DEFAULT_STARTS",
    "DEFAULT_SURFACE",
    "JSON_VERSION",
    "MAX_NOISE",
    "MAX_QUERY_CHARS",
    "MAX_RUNS",
    "MAX_SEED",
    "MAX_STARTS",
    "MAX_STEPS",
    "PALETTE",
    "RunConfig",
    "Scenario",
    "ScenarioError",
]

CUSTOM = "custom"
DEFAULT_SURFACE = "rosenbrock"
DEFAULT_STARTS: tuple[tuple[float, float], ...] = ((-1.5, 2.0),)
DEFAULT_STEPS = 300
DEFAULT_SEED = 0
DEFAULT_CUSTOM_DOMAIN: tuple[tuple[float, float], tuple[float, float]] = ((-3.0, 3.0), (-3.0, 3.0))

MAX_RUNS = 8
MAX_STARTS = 16
MAX_STEPS = 5000
MAX_SEED = 2**31 - 1
MAX_NOISE = 100.0
MAX_DOMAIN_ABS = 1e4  # |bound| of a custom plot window (the runner's divergence bound is 1e6)
MIN_DOMAIN_SPAN = 1e-6
MAX_LABEL_CHARS = 40
MAX_HPARAMS = 16  # name=value items in one run of a query
MAX_QUERY_CHARS = 16_384  # whole query (keys + values): a longer one is refused as a whole
MAX_VALUE_CHARS = 2_048  # one query value (the formula also has MAX_FORMULA_LENGTH)
MAX_JSON_CHARS = 65_536
# L-BFGS runs one instance per start, each step up to max_iter iterations of a line search
# (measured ~1.2 ms per particle-step here): Σ starts × steps × max_iter over L-BFGS runs ≤ this.
MAX_LINE_SEARCH_STEPS = 10_000
JSON_VERSION = 1

#: Eight distinct run colours readable over a viridis-like landscape AND on the white loss chart:
#: none is close to a viridis colour (CIE76 ΔE ≥ 35) or to white (ΔE ≥ 47), and any two differ by
#: ΔE ≥ 49. The first four are the default runs'.
PALETTE: tuple[str, ...] = (
    "#ff3b3b",  # red
    "#ff9500",  # orange
    "#111111",  # near-black
    "#ff4fd8",  # pink
    "#0057ff",  # blue
    "#00d9ff",  # cyan
    "#8b4513",  # brown
    "#b39dff",  # lavender
)

_FLOAT_RE = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?")
_INT_RE = re.compile(r"[+-]?\d{1,12}")
_COLOR_RE = re.compile(r"#?([0-9a-fA-F]{6})")
_INDEXED_KEY_RE = re.compile(r"(color|label)([1-9]\d?)")
_MAX_NUMBER_CHARS = 40
_TRUE = ("true", "1", "yes", "on")
_FALSE = ("false", "0", "no", "off")

Domain = tuple[tuple[float, float], tuple[float, float]]
Point = tuple[float, float]


class ScenarioError(ValueError):
    """A scenario field was refused; the message names the field and what is allowed."""


# --------------------------------------------------------------------------------------------
# small helpers


def _show(value: Any, limit: int = 40) -> str:
    """Quote user input for a message: repr-escaped and cut to ``limit`` characters."""
    text = value if isinstance(value, str) else repr(value)
    if len(text) > limit:
        text = text[:limit] + "…"
    return repr(text)


def _num(x: float) -> str:
    """Shortest text that reads back to the same float: ``2`` for 2.0, else ``repr``."""
    x = float(x)
    if x.is_integer() and abs(x) < 1e16:
        return str(int(x))
    return repr(x)


def _g(x: float) -> str:
    """Compact human form for messages and labels."""
    return f"{x:.4g}" if isinstance(x, float) else str(x)


def _parse_float(value: Any, what: str) -> float:
    """A finite float from JSON/Python numbers or strict decimal text (no inf/nan/hex/_)."""
    if isinstance(value, bool):
        raise ScenarioError(f"{what}: {_show(value)} is not a number")
    if isinstance(value, str):
        text = value.strip()
        if len(text) > _MAX_NUMBER_CHARS or not _FLOAT_RE.fullmatch(text):
            raise ScenarioError(f"{what}: {_show(value)} is not a number")
        x = float(text)
    elif isinstance(value, int | float):
        x = float(value)
    else:
        raise ScenarioError(f"{what}: {_show(value)} is not a number")
    if not math.isfinite(x):
        raise ScenarioError(f"{what}: {_show(value)} is not a finite number")
    return x


def _parse_int(value: Any, what: str, low: int, high: int) -> int:
    """An int in ``[low, high]`` from an int or strict integer text; never clamps."""
    if isinstance(value, bool):
        raise ScenarioError(f"{what}: {_show(value)} is not an integer")
    if isinstance(value, str):
        text = value.strip()
        if not _INT_RE.fullmatch(text):
            raise ScenarioError(f"{what}: {_show(value)} is not an integer")
        n = int(text)
    elif isinstance(value, int):
        n = int(value)
    else:
        try:
            n = operator.index(value)  # numpy integers
        except TypeError:
            raise ScenarioError(f"{what}: {_show(value)} is not an integer") from None
    if not low <= n <= high:
        raise ScenarioError(f"{what}: {n} is outside [{low}, {high}]")
    return n


def _parse_bool(value: Any, what: str) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in _TRUE + _FALSE:
        return value.strip().lower() in _TRUE
    raise ScenarioError(f"{what}: {_show(value)} is not true/false")


def _parse_pair(value: Any, what: str) -> tuple[float, float]:
    """Two floats: ``"a/b"`` or ``"a,b"`` text, or a 2-element list/tuple."""
    if isinstance(value, str):
        parts: Any = re.split(r"[/,]", value, maxsplit=2)
    elif isinstance(value, list | tuple):
        parts = value
    else:
        raise ScenarioError(f"{what}: {_show(value)} is not a pair of numbers")
    if len(parts) != 2:
        raise ScenarioError(f"{what}: {_show(value)} is not a pair of numbers (a/b)")
    return (_parse_float(parts[0], what), _parse_float(parts[1], what))


def _parse_points(value: Any, what: str) -> list[Any]:
    """Split ``"x,y;x,y"`` text (or take a JSON list) into raw point entries."""
    if isinstance(value, str):
        return [part for part in value.split(";")] if value.strip() else []
    if isinstance(value, list | tuple):
        return list(value)
    raise ScenarioError(f"{what}: {_show(value)} is not a list of points")


def _parse_point(value: Any, what: str) -> Point:
    if isinstance(value, str):
        parts: Any = value.split(",")
    elif isinstance(value, list | tuple):
        parts = value
    else:
        raise ScenarioError(f"{what}: {_show(value)} is not a point x,y")
    if len(parts) != 2:
        raise ScenarioError(f"{what}: {_show(value)} is not a point x,y (two numbers)")
    return (_parse_float(parts[0], what), _parse_float(parts[1], what))


def _parse_domain(value: Any) -> Domain:
    """``"xmin,xmax;ymin,ymax"`` or ``[[xmin, xmax], [ymin, ymax]]``, finite, ordered, bounded."""
    what = "domain"
    if isinstance(value, str):
        rows: Any = value.split(";")
    elif isinstance(value, list | tuple):
        rows = value
    else:
        raise ScenarioError(f"{what}: {_show(value)} is not xmin,xmax;ymin,ymax")
    if len(rows) != 2:
        raise ScenarioError(f"{what}: {_show(value)} is not xmin,xmax;ymin,ymax")
    (x0, x1), (y0, y1) = (_parse_point(row, what) for row in rows)
    for axis, lo, hi in (("x", x0, x1), ("y", y0, y1)):
        if max(abs(lo), abs(hi)) > MAX_DOMAIN_ABS:
            raise ScenarioError(
                f"{what}: {axis} bounds must lie in [-{MAX_DOMAIN_ABS:g}, "
                f"{MAX_DOMAIN_ABS:g}], got [{_g(lo)}, {_g(hi)}]"
            )
        if not hi - lo >= MIN_DOMAIN_SPAN:
            raise ScenarioError(
                f"{what}: {axis}min must be below {axis}max, got [{_g(lo)}, {_g(hi)}]"
            )
    return ((x0, x1), (y0, y1))


def _parse_color(value: Any, what: str) -> str:
    """``#rrggbb`` (``#`` optional on input), returned lower case with ``#``."""
    if isinstance(value, str):
        m = _COLOR_RE.fullmatch(value.strip())
        if m:
            return "#" + m.group(1).lower()
    raise ScenarioError(f"{what}: {_show(value)} is not a colour #rrggbb")


def _parse_label(value: Any, what: str) -> str:
    """A printable label of at most ``MAX_LABEL_CHARS`` characters (stripped)."""
    if not isinstance(value, str):
        raise ScenarioError(f"{what}: {_show(value)} is not text")
    text = value.strip()
    if len(text) > MAX_LABEL_CHARS:
        raise ScenarioError(f"{what}: longer than {MAX_LABEL_CHARS} characters ({len(text)})")
    if not text.isprintable():
        raise ScenarioError(f"{what}: {_show(text)} has control or unprintable characters")
    return text


def _in_domain(p: Point, domain: Domain) -> bool:
    (x0, x1), (y0, y1) = domain
    return x0 <= p[0] <= x1 and y0 <= p[1] <= y1


def _domain_text(domain: Domain) -> str:
    (x0, x1), (y0, y1) = domain
    return f"x in [{_g(x0)}, {_g(x1)}], y in [{_g(y0)}, {_g(y1)}]"


@lru_cache(maxsize=64)
def _custom_surface(formula: str, domain: Domain) -> Surface:
    return surface_from_formula(formula, domain)


def _check_formula(formula: Any) -> str:
    if not isinstance(formula, str):
        raise ScenarioError(f"formula: {_show(formula)} is not text")
    text = formula.strip()
    if not text:
        raise ScenarioError("formula: surface 'custom' needs a formula in x and y")
    if len(text) > MAX_FORMULA_LENGTH:
        raise ScenarioError(f"formula: too long ({len(text)} > {MAX_FORMULA_LENGTH} characters)")
    return text


def _resolve(
    surface: Any, formula: Any, domain: Any
) -> tuple[str, str | None, Domain | None, Surface]:
    """Check the surface fields together; returns them canonical plus the ``Surface``."""
    if not isinstance(surface, str):
        raise ScenarioError(f"surface: {_show(surface)} is not a name")
    if surface != CUSTOM:
        if surface not in list_surfaces():
            raise ScenarioError(
                f"surface: unknown surface {_show(surface)} (known: "
                f"{', '.join(list_surfaces())}, {CUSTOM})"
            )
        if formula is not None:
            raise ScenarioError(
                f"formula: only used with surface='{CUSTOM}' (surface is {surface!r})"
            )
        if domain is not None:
            raise ScenarioError(
                f"domain: only used with surface='{CUSTOM}' (surface is {surface!r})"
            )
        return surface, None, None, get_surface(surface)
    text = _check_formula(formula)
    dom = DEFAULT_CUSTOM_DOMAIN if domain is None else _parse_domain(domain)
    try:
        surf = _custom_surface(text, dom)
    except ValueError as exc:  # FormulaError is a ValueError
        raise ScenarioError(f"formula: {exc}") from None
    except Exception as exc:  # hostile input must never break the page
        raise ScenarioError(f"formula: refused ({type(exc).__name__}: {exc})") from None
    return CUSTOM, text, dom, surf


def _default_starts(surface: str, surf: Surface) -> tuple[Point, ...]:
    """The starts used when none (or none valid) are given."""
    if surface == DEFAULT_SURFACE:
        return DEFAULT_STARTS
    starts = tuple((float(x), float(y)) for x, y in surf.default_starts[:MAX_STARTS])
    starts = tuple(p for p in starts if _in_domain(p, surf.domain))
    if starts:
        return starts
    (x0, x1), (y0, y1) = surf.domain
    return ((x0 + 0.25 * (x1 - x0), y0 + 0.75 * (y1 - y0)),)


# --------------------------------------------------------------------------------------------
# runs


@cache
def _variant_defaults(variant: str) -> tuple[tuple[str, Any], ...]:
    """Complete canonical hyperparameters of a variant (spec defaults + variant overrides)."""
    var = get_variant(variant)
    spec = get_optimizer(var.optimizer)
    return _canonical(spec, spec.validate(dict(var.overrides)))


def _canonical(spec: OptimizerSpec, values: Mapping[str, Any]) -> tuple[tuple[str, Any], ...]:
    """Sorted ``(name, value)`` pairs with each value in its kind's hashable type."""
    kinds = {hp.name: hp.kind for hp in spec.hyperparameters}
    out = []
    for name, value in values.items():
        kind = kinds.get(name)
        if kind == "float":
            value = float(value)
        elif kind == "int":
            value = int(value)
        elif kind == "bool":
            value = bool(value)
        elif kind == "pair":
            value = (float(value[0]), float(value[1]))
        out.append((name, value))
    return tuple(sorted(out))


def _coerce(kind: str, value: Any, what: str, choices: tuple = ()) -> Any:
    """A user value (query text or JSON/Python native) in the type of its kind."""
    if kind == "float":
        return _parse_float(value, what)
    if kind == "int":
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        return _parse_int(value, what, -(2**62), 2**62)
    if kind == "bool":
        return _parse_bool(value, what)
    if kind == "pair":
        return _parse_pair(value, what)
    if kind == "choice" and isinstance(value, str) and choices:
        for choice in choices:
            if (choice is None and value.strip().lower() == "none") or str(choice) == value:
                return choice
        shown = ", ".join("none" if c is None else str(c) for c in choices)
        raise ScenarioError(f"{what}: {_show(value)} is not one of {shown}")
    return value


def _variant_name(variant: Any) -> str:
    try:
        return get_variant(variant).label
    except (KeyError, TypeError):
        return _show(variant)


def _fmt_hparam(value: Any) -> str:
    """Query form of a canonical hyperparameter value."""
    if value is None:
        return "none"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return _num(value)
    if isinstance(value, tuple):
        return "/".join(_num(v) for v in value)
    return str(value)


def _label_value(value: Any) -> str:
    if isinstance(value, tuple):
        return "(" + ", ".join(_g(v) for v in value) + ")"
    return _g(value)


def _lr_first(items: Iterable[tuple[str, Any]]) -> list[tuple[str, Any]]:
    return sorted(items, key=lambda kv: (kv[0] != "lr", kv[0]))


@dataclass(frozen=True)
class RunConfig:
    """One optimizer run: a UI variant, its hyperparameters, colour and optional label.

    ``hparams`` holds sorted ``(name, value)`` pairs (pairs of floats as tuples); after
    :meth:`validated` it is complete (every hyperparameter of the optimizer) and hashable.
    ``color=""`` means "the palette colour of my slot" until validated.
    """

    variant: str
    hparams: tuple[tuple[str, Any], ...] = ()
    color: str = ""
    label: str = ""

    @classmethod
    def make(
        cls,
        variant: str,
        hparams: Mapping[str, Any] | None = None,
        color: str = "",
        label: str = "",
        slot: int = 0,
    ) -> RunConfig:
        """Build and validate a run from a mapping of (partial) hyperparameters."""
        return cls(variant, tuple((hparams or {}).items()), color, label).validated(slot)

    @property
    def variant_spec(self) -> Variant:
        return get_variant(self.variant)

    @property
    def optimizer(self) -> str:
        """The registry key behind the variant (``"momentum"`` -> ``"sgd"``)."""
        return get_variant(self.variant).optimizer

    @property
    def spec(self) -> OptimizerSpec:
        return get_optimizer(self.optimizer)

    def kwargs(self) -> dict[str, Any]:
        """The torch keyword arguments (complete once validated)."""
        return dict(self.hparams)

    def changed(self) -> dict[str, Any]:
        """Hyperparameters that differ from the variant's defaults, ``lr`` first."""
        defaults = dict(_variant_defaults(self.variant))
        return dict(
            _lr_first(
                (k, v) for k, v in self.hparams if defaults.get(k, v) != v or k not in defaults
            )
        )

    def display_label(self) -> str:
        """The user's label, else ``"Adam (lr=0.05)"``: variant label, ``lr`` and what differs
        from the variant's defaults (at most four items)."""
        if self.label:
            return self.label
        values = dict(self.hparams)
        items = self.changed()
        if "lr" in values:
            items = {"lr": values["lr"], **items}
        parts = [f"{k}={_label_value(v)}" for k, v in items.items()]
        if len(parts) > 4:
            parts = [*parts[:4], "…"]
        name = get_variant(self.variant).label
        return f"{name} ({', '.join(parts)})" if parts else name

    def validated(self, slot: int = 0, what: str | None = None) -> RunConfig:
        """Check the variant and hyperparameters (variant overrides first, then the user's
        values, through the registry's ``spec.validate``); fill the colour of ``slot``.

        Raises ``ScenarioError`` with messages like ``run 2 (Adam): lr=50 is outside [...]``.
        """
        where = what or f"run {slot + 1}"
        if not isinstance(self.variant, str) or self.variant not in list_variants():
            raise ScenarioError(
                f"{where} ({_show(self.variant)}): unknown optimizer "
                f"(known: {', '.join(list_variants())})"
            )
        variant = get_variant(self.variant)
        where = f"{where} ({variant.label})"
        spec = get_optimizer(variant.optimizer)
        schema = {hp.name: hp for hp in spec.hyperparameters}
        raw = self.hparams.items() if isinstance(self.hparams, Mapping) else self.hparams
        user: dict[str, Any] = {}
        try:
            for name, value in raw:
                if name not in schema:
                    known = ", ".join(sorted(schema))
                    raise ScenarioError(f"unknown hyperparameter {_show(name)} (known: {known})")
                if name in user:
                    raise ScenarioError(f"{name} is given twice")
                hp = schema[name]
                user[name] = _coerce(hp.kind, value, name, getattr(hp, "choices", ()))
            full = spec.validate({**variant.overrides, **user})
            hparams = _canonical(spec, full)
        except (ValueError, TypeError) as exc:
            msg = str(exc).removeprefix(f"{spec.key}: ")
            raise ScenarioError(f"{where}: {msg}") from None
        color = (
            PALETTE[slot % len(PALETTE)]
            if self.color == ""
            else _parse_color(self.color, f"{where}: color")
        )
        label = _parse_label(self.label, f"{where}: label")
        return RunConfig(self.variant, hparams, color, label)

    def query_token(self) -> str:
        """``variant[:name=value,...]`` with only the values that differ from the defaults."""
        items = [f"{k}={_fmt_hparam(v)}" for k, v in self.changed().items()]
        return self.variant + (":" + ",".join(items) if items else "")

    def to_dict(self) -> dict[str, Any]:
        """JSON form: complete hyperparameters, pairs as lists."""
        return {
            "variant": self.variant,
            "optimizer": self.optimizer,
            "hparams": {k: list(v) if isinstance(v, tuple) else v for k, v in self.hparams},
            "color": self.color,
            "label": self.label,
        }


def _check_line_search_budget(runs: Sequence[RunConfig], n_starts: int, steps: int) -> None:
    """Refuse scenes whose L-BFGS runs would keep the page waiting for many seconds."""
    work = sum(
        n_starts * steps * int(r.kwargs().get("max_iter", 1))
        for r in runs
        if r.optimizer == "lbfgs"
    )
    if work > MAX_LINE_SEARCH_STEPS:
        raise ScenarioError(
            f"L-BFGS: {work:,} line-search iterations (starts × steps × max_iter over its runs); "
            f"at most {MAX_LINE_SEARCH_STEPS:,} so the page stays responsive"
        )


def _default_runs() -> tuple[RunConfig, ...]:
    """SGD crawls and zig-zags across the valley; Momentum overshoots, then speeds along it;
    RMSprop and Adam move at a steady, gradient-scale-free pace (Adam with a small loop first).
    Measured from (-1.5, 2) in 300 steps: distance travelled 1.3 / 5.0 / 1.8 / 2.7, ending at
    (-1.25, 1.56), (0.82, 0.66), (-0.96, 0.92), (-0.31, 0.10)."""
    specs = [
        ("sgd", {"lr": 1e-3}),
        ("momentum", {"lr": 1e-3, "momentum": 0.9}),
        ("rmsprop", {"lr": 1e-2}),
        ("adam", {"lr": 5e-2}),
    ]
    return tuple(RunConfig.make(v, h, slot=i) for i, (v, h) in enumerate(specs))


DEFAULT_RUNS: tuple[RunConfig, ...] = _default_runs()


# --------------------------------------------------------------------------------------------
# the scenario


@dataclass(frozen=True)
class Scenario:
    """What to run and show. Build it, call :meth:`validated`, then hash, cache and share it."""

    surface: str = DEFAULT_SURFACE
    formula: str | None = None
    domain: Domain | None = None
    runs: tuple[RunConfig, ...] = DEFAULT_RUNS
    starts: tuple[Point, ...] = DEFAULT_STARTS
    steps: int = DEFAULT_STEPS
    seed: int = DEFAULT_SEED
    noise: float | None = None

    # ---- validation

    def validated(self) -> Scenario:
        """A canonical copy (complete hyperparameters, palette colours filled, floats as float,
        tuples everywhere), or ``ScenarioError`` naming the first bad field."""
        surface, formula, domain, surf = _resolve(self.surface, self.formula, self.domain)
        runs = list(self.runs) if isinstance(self.runs, list | tuple) else None
        if runs is None or not 1 <= len(runs) <= MAX_RUNS:
            n = len(runs) if runs is not None else _show(self.runs)
            raise ScenarioError(f"runs: {n} runs given, 1 to {MAX_RUNS} allowed")
        checked = []
        for i, run in enumerate(runs):
            if not isinstance(run, RunConfig):
                raise ScenarioError(f"run {i + 1}: {_show(run)} is not a RunConfig")
            checked.append(run.validated(i))
        points = list(self.starts) if isinstance(self.starts, list | tuple) else None
        if points is None or not 1 <= len(points) <= MAX_STARTS:
            n = len(points) if points is not None else _show(self.starts)
            raise ScenarioError(f"starts: {n} starts given, 1 to {MAX_STARTS} allowed")
        starts = tuple(_check_start(p, i, surf.domain) for i, p in enumerate(points))
        steps = _parse_int(self.steps, "steps", 1, MAX_STEPS)
        seed = _parse_int(self.seed, "seed", 0, MAX_SEED)
        noise = None if self.noise is None else _check_noise(self.noise)
        _check_line_search_budget(checked, len(starts), steps)
        return Scenario(surface, formula, domain, tuple(checked), starts, steps, seed, noise)

    # ---- what the runner needs

    @property
    def is_custom(self) -> bool:
        return self.surface == CUSTOM

    def resolve_surface(self) -> Surface:
        """The ``Surface`` to simulate and plot (named, or compiled from the custom formula)."""
        if self.is_custom:
            return _custom_surface(
                _check_formula(self.formula),
                DEFAULT_CUSTOM_DOMAIN if self.domain is None else _parse_domain(self.domain),
            )
        return get_surface(self.surface)

    def plot_domain(self) -> Domain:
        """The plot window ``((xmin, xmax), (ymin, ymax))``."""
        return self.resolve_surface().domain

    def effective_noise(self) -> float:
        """The gradient-noise std the runner will use (``noise`` or the surface's default)."""
        return float(self.resolve_surface().noise) if self.noise is None else float(self.noise)

    def run_specs(self) -> list[tuple[str, dict[str, Any]]]:
        """``[(optimizer key, torch kwargs), ...]`` for ``optviz.runner.simulate``."""
        return [(r.optimizer, r.kwargs()) for r in self.runs]

    def sim_key(self) -> tuple:
        """Everything that changes the simulation and nothing else (no colours, no labels, no
        variant names: ``momentum`` and ``sgd`` with momentum=0.9 are one simulation).
        Meaningful on a validated scenario."""
        return (
            self.surface,
            self.formula,
            self.domain,
            tuple((r.optimizer, r.hparams) for r in self.runs),
            self.starts,
            self.steps,
            self.seed,
            self.effective_noise(),
        )

    def with_surface(
        self, surface: str, formula: str | None = None, domain: Domain | None = None
    ) -> Scenario:
        """Switch surface: its default starts, its default noise; runs, steps, seed kept."""
        name, text, dom, surf = _resolve(surface, formula, domain)
        return replace(
            self,
            surface=name,
            formula=text,
            domain=dom,
            starts=_default_starts(name, surf),
            noise=None,
        ).validated()

    # ---- URL query

    def to_query(self) -> dict[str, str]:
        """Compact, canonical ``str -> str`` query (see the module docstring)."""
        q: dict[str, str] = {"surface": self.surface}
        if self.is_custom:
            q["formula"] = self.formula or ""
            (x0, x1), (y0, y1) = self.domain or DEFAULT_CUSTOM_DOMAIN
            q["domain"] = f"{_num(x0)},{_num(x1)};{_num(y0)},{_num(y1)}"
        q["start"] = ";".join(f"{_num(x)},{_num(y)}" for x, y in self.starts)
        q["steps"] = str(self.steps)
        q["seed"] = str(self.seed)
        if self.noise is not None:
            q["noise"] = _num(self.noise)
        q["run"] = ";".join(r.query_token() for r in self.runs)
        for i, r in enumerate(self.runs):
            if r.color != PALETTE[i % len(PALETTE)]:
                q[f"color{i + 1}"] = r.color.lstrip("#")
        for i, r in enumerate(self.runs):
            if r.label:
                q[f"label{i + 1}"] = r.label
        return q

    @classmethod
    def from_query(cls, params: Mapping[str, Any]) -> tuple[Scenario, list[str]]:
        """Read a query; never raises. Returns ``(validated scenario, warnings)``.

        List values (repeated keys) use the last value with a warning; unknown keys are
        ignored; a query longer than ``MAX_QUERY_CHARS`` is refused as a whole.
        """
        warnings: list[str] = []
        try:
            size = _query_size(params)
        except Exception:  # a mapping that cannot even be iterated
            return DEFAULT_SCENARIO, ["query: unreadable; showing the default scene"]
        if size > MAX_QUERY_CHARS:
            return DEFAULT_SCENARIO, [
                f"query: too large ({size:,} characters > {MAX_QUERY_CHARS:,}); ignored, "
                "showing the default scene"
            ]
        fields: dict[str, str] = {}
        for key, value in params.items():
            if not isinstance(key, str):
                continue
            if isinstance(value, list | tuple):
                if not value:
                    continue
                if len(value) > 1:
                    warnings.append(f"{key}: given {len(value)} times; using the last one")
                value = value[-1]
            if not isinstance(value, str):
                warnings.append(f"{key}: {_show(value)} is not text; ignored")
                continue
            if len(value) > MAX_VALUE_CHARS and key != "formula":  # formula: its own message
                warnings.append(
                    f"{key}: too long ({len(value):,} characters > "
                    f"{MAX_VALUE_CHARS:,}); using the default"
                )
                continue
            fields[key] = value
        raw_runs = None
        if "run" in fields:
            raw_runs = _split_query_runs(fields["run"])
        indexed: dict[str, dict[int, str]] = {"color": {}, "label": {}}
        for key, value in fields.items():
            m = _INDEXED_KEY_RE.fullmatch(key)
            if m:
                indexed[m.group(1)][int(m.group(2))] = value
        if "formula" in fields and "surface" not in fields:
            fields["surface"] = CUSTOM
        try:
            scenario, more = _assemble(fields, raw_runs, indexed, start_key="start")
        except Exception as exc:  # a bug, not bad input: still never break the page
            return DEFAULT_SCENARIO, [
                *warnings,
                f"query: could not be read ({exc}); showing the default scene",
            ]
        return scenario, warnings + more

    # ---- JSON

    def to_json(self) -> str:
        """A versioned, complete, pretty JSON document (all hyperparameters)."""
        doc = {
            "optviz": JSON_VERSION,
            "surface": self.surface,
            "formula": self.formula,
            "domain": [list(self.domain[0]), list(self.domain[1])] if self.domain else None,
            "starts": [[x, y] for x, y in self.starts],
            "steps": self.steps,
            "seed": self.seed,
            "noise": self.noise,
            "runs": [r.to_dict() for r in self.runs],
        }
        return _pretty(doc) + "\n"

    @classmethod
    def from_json(cls, text: str) -> tuple[Scenario, list[str]]:
        """Read a JSON document. Malformed JSON, a non-object, a wrong ``optviz`` version or a
        document over ``MAX_JSON_CHARS`` raise ``ScenarioError``; bad fields fall back to their
        defaults with one warning each, as for queries; unknown keys are warned about."""
        if not isinstance(text, str | bytes):
            raise ScenarioError("json: expected text")
        if len(text) > MAX_JSON_CHARS:
            raise ScenarioError(f"json: too large ({len(text):,} characters > {MAX_JSON_CHARS:,})")

        def refuse_constant(name: str) -> None:
            raise ValueError(f"{name} is not allowed")

        try:
            doc = json.loads(text, parse_constant=refuse_constant)
        except (ValueError, RecursionError) as exc:
            raise ScenarioError(f"json: not a valid JSON document ({exc})") from None
        if not isinstance(doc, dict):
            raise ScenarioError('json: expected an object {"optviz": 1, ...}')
        version = doc.get("optviz", JSON_VERSION)
        if version != JSON_VERSION or isinstance(version, bool):
            raise ScenarioError(
                f"json: unsupported optviz version {_show(version)} "
                f"(this is version {JSON_VERSION})"
            )
        warnings = [
            f"{_show(k)}: unknown key; ignored"
            for k in doc
            if k not in _JSON_KEYS and k != "optviz"
        ]
        fields = {k: v for k, v in doc.items() if k in _JSON_KEYS and v is not None}
        raw_runs = None
        if "runs" in fields:
            raw_runs, run_warnings = _json_runs(fields.pop("runs"))
            warnings += run_warnings
        scenario, more = _assemble(fields, raw_runs, {"color": {}, "label": {}}, "starts")
        return scenario, warnings + more


_JSON_KEYS = {"surface", "formula", "domain", "starts", "steps", "seed", "noise", "runs"}


def _pretty(obj: Any, indent: str = "") -> str:
    """Indented JSON with number lists (points, pairs, domains) kept on one line."""

    def flat(v: Any) -> bool:
        return not isinstance(v, dict | list) or (
            isinstance(v, list) and all(not isinstance(e, dict) and flat(e) for e in v)
        )

    if flat(obj):
        return json.dumps(obj, allow_nan=False, ensure_ascii=False)
    inner = indent + "  "
    if isinstance(obj, dict):
        items = [
            f"{inner}{json.dumps(k, ensure_ascii=False)}: {_pretty(v, inner)}"
            for k, v in obj.items()
        ]
        return "{\n" + ",\n".join(items) + "\n" + indent + "}" if items else "{}"
    items = [inner + _pretty(v, inner) for v in obj]
    return "[\n" + ",\n".join(items) + "\n" + indent + "]" if items else "[]"


def _query_size(params: Mapping[str, Any]) -> int:
    size = 0
    for key, value in params.items():
        values = value if isinstance(value, list | tuple) else [value]
        size += len(str(key)) + 2 + sum(len(v) if isinstance(v, str) else 16 for v in values)
    return size


def _check_start(p: Any, i: int, domain: Domain, name: str = "start") -> Point:
    what = f"{name} {i + 1}"
    point = _parse_point(p, what)
    if not _in_domain(point, domain):
        raise ScenarioError(
            f"{what} ({_g(point[0])}, {_g(point[1])}): outside the plot window "
            f"{_domain_text(domain)}"
        )
    return point


def _check_noise(value: Any) -> float:
    x = _parse_float(value, "noise")
    if not 0.0 <= x <= MAX_NOISE:
        raise ScenarioError(f"noise: {_g(x)} is outside [0, {MAX_NOISE:g}]")
    return x


@dataclass
class _RawRun:
    """One run as read from a query or JSON, before validation; ``pos`` is its written slot."""

    pos: int
    variant: Any
    hparams: list[tuple[str, Any]] = field(default_factory=list)
    color: Any = ""
    label: Any = ""
    error: str | None = None  # a parse error found before validation


def _split_query_runs(text: str) -> list[_RawRun]:
    """``variant[:name=value,...];...`` into raw runs (no validation yet)."""
    runs = []
    for i, token in enumerate(text.split(";") if text.strip() else []):
        variant, _, rest = token.partition(":")
        run = _RawRun(i, variant.strip().lower())
        items = [item for item in rest.split(",")] if rest.strip() else []
        if len(items) > MAX_HPARAMS:
            run.error = f"more than {MAX_HPARAMS} hyperparameters"
        for item in items[:MAX_HPARAMS]:
            name, eq, value = item.partition("=")
            if not eq:
                run.error = run.error or f"{_show(item)} is not name=value (pairs: a/b)"
                continue
            run.hparams.append((name.strip(), value.strip()))
        runs.append(run)
    return runs


def _json_runs(value: Any) -> tuple[list[_RawRun] | None, list[str]]:
    if not isinstance(value, list):
        return None, [f"runs: {_show(value)} is not a list; using the default runs"]
    runs = []
    warnings = []
    for i, item in enumerate(value):
        if not isinstance(item, dict):
            runs.append(_RawRun(i, None, error=f"{_show(item)} is not an object"))
            continue
        variant = item.get("variant", item.get("optimizer"))
        run = _RawRun(i, variant)
        unknown = sorted(set(item) - {"variant", "optimizer", "hparams", "color", "label"})
        for key in unknown:
            warnings.append(f"run {i + 1}: unknown key {_show(key)}; ignored")
        hp = item.get("hparams", {})
        if isinstance(hp, dict):
            run.hparams = list(hp.items())
        else:
            run.error = f"hparams {_show(hp)} is not an object"
        if "variant" in item and "optimizer" in item:
            try:
                behind = get_variant(item["variant"]).optimizer
            except (KeyError, TypeError):
                behind = None
            if behind is not None and item["optimizer"] != behind:
                warnings.append(
                    f"run {i + 1}: optimizer {_show(item['optimizer'])} does not "
                    f"match variant {_show(item['variant'])} ({behind}); "
                    "using the variant"
                )
        run.color = item.get("color") or ""
        run.label = item.get("label") if item.get("label") is not None else ""
        runs.append(run)
    return runs, warnings


def _build_runs(
    raw: list[_RawRun] | None, indexed: dict[str, dict[int, str]], warnings: list[str]
) -> tuple[RunConfig, ...]:
    """Validate raw runs: drop bad ones with a warning each; none left -> the default runs
    (one warning). Query colours/labels (``color2=``) refer to the written slot."""
    if raw is not None and len(raw) > MAX_RUNS:
        warnings.append(f"run: {len(raw)} runs given, at most {MAX_RUNS}; using the default runs")
        raw = None
    if raw is not None and not raw:
        warnings.append("run: empty; using the default runs")
        raw = None
    if raw is None:
        raw = [
            _RawRun(i, r.variant, list(r.hparams), r.color, r.label)
            for i, r in enumerate(DEFAULT_RUNS)
        ]
    n_written = len(raw)
    for kind, values in indexed.items():
        for pos, value in values.items():
            if pos > n_written:
                warnings.append(f"{kind}{pos}: there is no run {pos}; ignored")
                continue
            run = raw[pos - 1]
            try:
                if kind == "color":
                    run.color = _parse_color(value, f"{kind}{pos}")
                else:
                    run.label = _parse_label(value, f"{kind}{pos}")
            except ScenarioError as exc:
                what = "the palette colour" if kind == "color" else "no label"
                warnings.append(f"{exc}; using {what}")
    good: list[RunConfig] = []
    problems: list[str] = []
    for run in raw:
        where = f"run {run.pos + 1}"
        named = f"{where} ({_variant_name(run.variant)})"
        if run.error:
            problems.append(f"{named}: {run.error}")
            continue
        slot = run.pos % len(PALETTE)
        color, label = run.color, run.label
        try:
            color = "" if color == "" else _parse_color(color, f"{named}: color")
        except ScenarioError as exc:
            warnings.append(f"{exc}; using the palette colour")
            color = ""
        try:
            label = _parse_label(label, f"{named}: label")
        except ScenarioError as exc:
            warnings.append(f"{exc}; using no label")
            label = ""
        try:
            cfg = RunConfig(run.variant, tuple(run.hparams), color, label).validated(slot, where)
        except ScenarioError as exc:
            problems.append(str(exc))
            continue
        good.append(cfg)
    if good:
        warnings.extend(f"{p}; run dropped" for p in problems)
        return tuple(good)
    warnings.append("; ".join(problems) + "; no valid run left, using the default runs")
    return DEFAULT_RUNS


def _assemble(
    fields: Mapping[str, Any],
    raw_runs: list[_RawRun] | None,
    indexed: dict[str, dict[int, str]],
    start_key: str,
) -> tuple[Scenario, list[str]]:
    """Shared by query and JSON reading: each field checked alone, falling back on error."""
    warnings: list[str] = []
    starts_field = fields.get(start_key)

    # surface, formula, domain
    surface = fields.get("surface", DEFAULT_SURFACE)
    formula = fields.get("formula")
    domain = fields.get("domain")
    if surface != CUSTOM:
        for key in ("formula", "domain"):
            if key in fields:
                warnings.append(f"{key}: only used with surface=custom; ignored")
        formula = domain = None
    elif domain is not None:
        try:
            domain = _parse_domain(domain)
        except ScenarioError as exc:
            warnings.append(f"{exc}; using {DEFAULT_CUSTOM_DOMAIN}")
            domain = None
    try:
        surface, formula, domain, surf = _resolve(surface, formula, domain)
    except ScenarioError as exc:
        warnings.append(f"{exc}; using the default surface {DEFAULT_SURFACE!r}")
        surface, formula, domain, surf = _resolve(DEFAULT_SURFACE, None, None)
    defaults = _default_starts(surface, surf)

    # starts
    starts: tuple[Point, ...] = defaults
    if starts_field is not None:
        try:
            entries = _parse_points(starts_field, start_key)
        except ScenarioError as exc:
            entries = None
            warnings.append(f"{exc}; using the default start")
        if entries is not None and len(entries) > MAX_STARTS:
            warnings.append(
                f"{start_key}: {len(entries)} starts given, at most {MAX_STARTS}; "
                "using the default start"
            )
        elif entries is not None and not entries:
            warnings.append(f"{start_key}: empty; using the default start")
        elif entries is not None:
            good, problems = [], []
            for i, entry in enumerate(entries):
                try:
                    good.append(_check_start(entry, i, surf.domain, "start"))
                except ScenarioError as exc:
                    problems.append(str(exc))
            if good:
                starts = tuple(good)
                warnings.extend(f"{p}; start dropped" for p in problems)
            else:
                shown = ", ".join(f"({_g(x)}, {_g(y)})" for x, y in defaults)
                warnings.append("; ".join(problems) + f"; using the default start {shown}")

    # steps, seed, noise
    def scalar(key: str, default: Any, check: Any, default_text: str) -> Any:
        if key not in fields:
            return default
        try:
            return check(fields[key])
        except ScenarioError as exc:
            warnings.append(f"{exc}; using {default_text}")
            return default

    steps = scalar(
        "steps", DEFAULT_STEPS, lambda v: _parse_int(v, "steps", 1, MAX_STEPS), str(DEFAULT_STEPS)
    )
    seed = scalar(
        "seed", DEFAULT_SEED, lambda v: _parse_int(v, "seed", 0, MAX_SEED), str(DEFAULT_SEED)
    )
    noise_field = fields.get("noise")
    noise = None
    if not (isinstance(noise_field, str) and noise_field.strip().lower() in ("", "none")):
        noise = scalar("noise", None, _check_noise, "the surface's default noise")

    runs = _build_runs(raw_runs, indexed, warnings)
    scenario = Scenario(surface, formula, domain, runs, starts, steps, seed, noise)
    try:
        return scenario.validated(), warnings
    except ScenarioError as exc:  # should not happen: every field was checked above
        return DEFAULT_SCENARIO, [*warnings, f"{exc}; showing the default scene"]


DEFAULT_SCENARIO: Scenario = Scenario()
