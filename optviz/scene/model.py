"""``Scenario`` and ``RunConfig``: the validated, frozen, hashable description of a scene.

Build either with raw values (numbers, numeric text, lists), call :meth:`Scenario.validated`:
it checks every field and raises one :class:`~optviz.scene.problems.ScenarioError` carrying
every :class:`~optviz.scene.problems.Problem` found, each with its location (``("runs", 1,
"lr")``), or returns the canonical scene (complete hyperparameters, palette colours filled,
floats as float, tuples everywhere).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from functools import cache, lru_cache
from typing import Any

from optviz.domain import Domain, Point, in_domain
from optviz.formula import MAX_FORMULA_LENGTH
from optviz.limits import (
    MAX_LINE_SEARCH_STEPS,
    MAX_NOISE,
    MAX_RUNS,
    MAX_SCENE_STEPS,
    MAX_SEED,
    MAX_STARTS,
)
from optviz.optimizers import OptimizerSpec, Variant, get_optimizer, get_variant, list_variants
from optviz.scene.problems import Loc, Problem, ScenarioError, show
from optviz.scene.values import (
    parse_bool,
    parse_color,
    parse_domain,
    parse_float,
    parse_int,
    parse_label,
    parse_pair,
    parse_point,
    short,
)
from optviz.surfaces import Surface, get_surface, list_surfaces, surface_from_formula

__all__ = [
    "CUSTOM",
    "DEFAULT_CUSTOM_DOMAIN",
    "DEFAULT_RUNS",
    "DEFAULT_SCENARIO",
    "DEFAULT_SEED",
    "DEFAULT_STARTS",
    "DEFAULT_STEPS",
    "DEFAULT_SURFACE",
    "PALETTE",
    "RunConfig",
    "Scenario",
    "default_starts",
]

CUSTOM = "custom"
DEFAULT_SURFACE = "rosenbrock"
DEFAULT_STARTS: tuple[Point, ...] = ((-1.5, 2.0),)
DEFAULT_STEPS = 300
DEFAULT_SEED = 0
DEFAULT_CUSTOM_DOMAIN: Domain = ((-3.0, 3.0), (-3.0, 3.0))

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

_ERRORS = (ValueError, TypeError, ArithmeticError)  # what a reader of hostile input may raise


# --------------------------------------------------------------------------------------------
# surface


@lru_cache(maxsize=64)
def _custom_surface(formula: str, domain: Domain) -> Surface:
    return surface_from_formula(formula, domain)


def _check_formula(formula: Any) -> str:
    if formula is None:
        formula = ""
    if not isinstance(formula, str):
        raise ValueError(f"{show(formula)} is not text")
    text = formula.strip()
    if not text:
        raise ValueError(f"surface '{CUSTOM}' needs a formula in x and y")
    if len(text) > MAX_FORMULA_LENGTH:
        raise ValueError(f"too long ({len(text)} > {MAX_FORMULA_LENGTH} characters)")
    return text


def _resolve(
    surface: Any, formula: Any, domain: Any, problems: list[Problem]
) -> tuple[str, str | None, Domain | None, Surface] | None:
    """Check the surface fields together; ``None`` (with problems) when they are refused."""
    if not isinstance(surface, str) or (surface != CUSTOM and surface not in list_surfaces()):
        known = ", ".join([*list_surfaces(), CUSTOM])
        problems.append(Problem(("surface",), f"unknown surface {show(surface)} (known: {known})"))
        return None
    if surface != CUSTOM:
        n = len(problems)
        for key, value in (("formula", formula), ("domain", domain)):
            if value is not None:
                problems.append(
                    Problem((key,), f"only used with surface='{CUSTOM}' (surface is {surface!r})")
                )
        return None if len(problems) > n else (surface, None, None, get_surface(surface))
    text = dom = None
    try:
        text = _check_formula(formula)
    except ValueError as exc:
        problems.append(Problem(("formula",), str(exc)))
    try:
        dom = DEFAULT_CUSTOM_DOMAIN if domain is None else parse_domain(domain)
    except _ERRORS as exc:
        problems.append(Problem(("domain",), str(exc)))
    if text is None or dom is None:
        return None
    try:
        surf = _custom_surface(text, dom)
    except ValueError as exc:  # FormulaError is a ValueError
        problems.append(Problem(("formula",), str(exc)))
        return None
    except Exception as exc:  # hostile input must never break the page
        problems.append(Problem(("formula",), f"refused ({type(exc).__name__}: {exc})"))
        return None
    return CUSTOM, text, dom, surf


def default_starts(surface: str, surf: Surface) -> tuple[Point, ...]:
    """The starts used when none (or none valid) are given."""
    if surface == DEFAULT_SURFACE:
        return DEFAULT_STARTS
    starts = tuple((float(x), float(y)) for x, y in surf.default_starts[:MAX_STARTS])
    starts = tuple(p for p in starts if in_domain(p, surf.domain))
    if starts:
        return starts
    (x0, x1), (y0, y1) = surf.domain
    return ((x0 + 0.25 * (x1 - x0), y0 + 0.75 * (y1 - y0)),)


def _domain_text(domain: Domain) -> str:
    (x0, x1), (y0, y1) = domain
    return f"x in [{short(x0)}, {short(x1)}], y in [{short(y0)}, {short(y1)}]"


def _check_start(p: Any, domain: Domain | None) -> Point:
    point = parse_point(p)
    if domain is not None and not in_domain(point, domain):
        raise ValueError(
            f"({short(point[0])}, {short(point[1])}) is outside the plot window "
            f"{_domain_text(domain)}"
        )
    return point


def _check_noise(value: Any) -> float:
    x = parse_float(value)
    if not 0.0 <= x <= MAX_NOISE:
        raise ValueError(f"{short(x)} is outside [0, {MAX_NOISE:g}]")
    return x


# --------------------------------------------------------------------------------------------
# runs


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


@cache
def _variant_defaults(variant: str) -> tuple[tuple[str, Any], ...]:
    """Complete canonical hyperparameters of a variant (spec defaults + variant overrides)."""
    var = get_variant(variant)
    spec = get_optimizer(var.optimizer)
    return _canonical(spec, spec.validate(dict(var.overrides)))


def _coerce(kind: str, value: Any, choices: tuple = ()) -> Any:
    """A user value (query text or JSON/Python native) in the type of its kind."""
    if kind == "float":
        return parse_float(value)
    if kind == "int":
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        if isinstance(value, int) and not isinstance(value, bool) and abs(value) > 2**62:
            raise ValueError(f"{show(value)} is too large")
        return parse_int(value, -(2**62), 2**62)
    if kind == "bool":
        return parse_bool(value)
    if kind == "pair":
        return parse_pair(value)
    if kind == "choice" and isinstance(value, str) and choices:
        for choice in choices:
            if (choice is None and value.strip().lower() == "none") or str(choice) == value:
                return choice
        shown = ", ".join("none" if c is None else str(c) for c in choices)
        raise ValueError(f"{show(value)} is not one of {shown}")
    return value


def _label_value(value: Any) -> str:
    if isinstance(value, tuple):
        return "(" + ", ".join(short(v) for v in value) + ")"
    return short(value)


def _lr_first(items: Iterable[tuple[str, Any]]) -> list[tuple[str, Any]]:
    return sorted(items, key=lambda kv: (kv[0] != "lr", kv[0]))


def _pairs(hparams: Any) -> list[tuple[Any, Any]]:
    """``(name, value)`` pairs from a mapping or a sequence of pairs."""
    if isinstance(hparams, Mapping):
        return list(hparams.items())
    if isinstance(hparams, list | tuple) and all(
        isinstance(kv, list | tuple) and len(kv) == 2 for kv in hparams
    ):
        return [tuple(kv) for kv in hparams]
    raise ValueError(f"hyperparameters {show(hparams)} are not name: value pairs")


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
        if hparams is not None and not isinstance(hparams, Mapping):
            raise TypeError(f"hparams must be a mapping, got {type(hparams).__name__}")
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

    def check(self, slot: int = 0) -> tuple[RunConfig | None, list[Problem]]:
        """The canonical run (variant overrides first, then the user's values, each through
        the registry's schema; colour of ``slot`` filled), or ``None`` and every problem, at
        ``("runs", slot, <field>)``."""
        if isinstance(slot, bool) or not isinstance(slot, int):
            raise TypeError(f"slot must be an int, got {type(slot).__name__}")
        if slot < 0:
            raise ValueError(f"slot must be 0 or more, got {slot}")
        at: Loc = ("runs", slot)
        problems: list[Problem] = []
        color = label = None
        try:
            color = PALETTE[slot % len(PALETTE)] if self.color == "" else parse_color(self.color)
        except _ERRORS as exc:
            problems.append(Problem((*at, "color"), str(exc)))
        try:
            label = parse_label(self.label)
        except _ERRORS as exc:
            problems.append(Problem((*at, "label"), str(exc)))
        if not isinstance(self.variant, str) or self.variant not in list_variants():
            problems.append(Problem((*at, "variant"), f"unknown optimizer {show(self.variant)} "
                                    f"(known: {', '.join(list_variants())})"))
            return None, problems
        variant = get_variant(self.variant)
        spec = get_optimizer(variant.optimizer)
        schema = {hp.name: hp for hp in spec.hyperparameters}
        try:
            raw = _pairs(self.hparams)
        except ValueError as exc:
            return None, [*problems, Problem((*at, "hparams"), str(exc))]
        user: dict[str, Any] = {}
        bad = False
        for name, value in raw:
            if not isinstance(name, str) or name not in schema:
                known = ", ".join(sorted(schema))
                problems.append(Problem((*at, "hparams"),
                                        f"unknown hyperparameter {show(name)} (known: {known})"))
                bad = True
                continue
            if name in user:
                problems.append(Problem((*at, name), f"{name} is given twice"))
                bad = True
                continue
            hp = schema[name]
            try:
                user[name] = hp.check(_coerce(hp.kind, value, hp.choices), spec.key)
            except _ERRORS as exc:
                msg = str(exc).removeprefix(f"{spec.key}: ").removeprefix(f"{name}: ")
                problems.append(Problem((*at, name), msg if msg.startswith(name)
                                        else f"{name}: {msg}"))
                bad = True
        if bad:
            return None, problems
        try:
            hparams = _canonical(spec, spec.validate({**variant.overrides, **user}))
        except _ERRORS as exc:
            return None, [*problems, Problem(at, str(exc).removeprefix(f"{spec.key}: "))]
        if problems or color is None or label is None:
            return None, problems
        return RunConfig(self.variant, hparams, color, label), []

    def validated(self, slot: int = 0) -> RunConfig:
        """:meth:`check`, raising ``ScenarioError`` with every problem."""
        run, problems = self.check(slot)
        if run is None:
            raise ScenarioError(problems)
        return run

    def query_token(self) -> str:
        """``variant[:name=value,...]`` with only the values that differ from the defaults."""
        from optviz.scene.url import hparam_text

        items = [f"{k}={hparam_text(v)}" for k, v in self.changed().items()]
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


def _line_search_work(runs: Iterable[RunConfig], n_starts: int, steps: int) -> int:
    return sum(
        n_starts * steps * int(r.kwargs().get("max_iter", 1)) for r in runs
        if r.optimizer == "lbfgs"
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


def _sized(value: Any, loc: Loc, noun: str, most: int, problems: list[Problem]) -> list | None:
    items = list(value) if isinstance(value, list | tuple) else None
    if items is None:
        problems.append(Problem(loc, f"{show(value)} is not a list of {noun}"))
    elif not 1 <= len(items) <= most:
        problems.append(Problem(loc, f"{len(items)} {noun} given, 1 to {most} allowed"))
        items = None
    return items


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

    def check(self) -> tuple[Scenario | None, list[Problem]]:
        """The canonical scene and ``[]``, or ``None`` and every problem found."""
        problems: list[Problem] = []
        resolved = _resolve(self.surface, self.formula, self.domain, problems)
        window = resolved[3].domain if resolved else None

        runs: list[RunConfig] = []
        items = _sized(self.runs, ("runs",), "runs", MAX_RUNS, problems)
        for i, run in enumerate(items or ()):
            if not isinstance(run, RunConfig):
                problems.append(Problem(("runs", i), f"{show(run)} is not a RunConfig"))
                continue
            good, found = run.check(i)
            problems.extend(found)
            if good is not None:
                runs.append(good)

        starts: list[Point] = []
        for j, p in enumerate(_sized(self.starts, ("starts",), "starts", MAX_STARTS, problems)
                              or ()):
            try:
                starts.append(_check_start(p, window))
            except _ERRORS as exc:
                problems.append(Problem(("starts", j), str(exc)))

        def scalar(name: str, check: Any) -> Any:
            try:
                return check(getattr(self, name))
            except _ERRORS as exc:
                problems.append(Problem((name,), str(exc)))
                return None

        steps = scalar("steps", lambda v: parse_int(v, 1, MAX_SCENE_STEPS))
        seed = scalar("seed", lambda v: parse_int(v, 0, MAX_SEED))
        noise = None if self.noise is None else scalar("noise", _check_noise)
        if problems or resolved is None:
            return None, problems
        work = _line_search_work(runs, len(starts), steps)
        if work > MAX_LINE_SEARCH_STEPS:
            return None, [Problem(("steps",), (
                f"L-BFGS: {work:,} line-search iterations (starts × steps × max_iter over its "
                f"runs); at most {MAX_LINE_SEARCH_STEPS:,} so the page stays responsive"))]
        surface, formula, domain, _ = resolved
        return Scenario(surface, formula, domain, tuple(runs), tuple(starts), steps, seed,
                        noise), []

    def validated(self) -> Scenario:
        """A canonical copy (complete hyperparameters, palette colours filled, floats as float,
        tuples everywhere), or ``ScenarioError`` carrying every problem with its location."""
        scene, problems = self.check()
        if scene is None:
            raise ScenarioError(problems)
        return scene

    # ---- what the runner needs

    @property
    def is_custom(self) -> bool:
        return self.surface == CUSTOM

    def resolve_surface(self) -> Surface:
        """The ``Surface`` to simulate and plot (named, or compiled from the custom formula)."""
        problems: list[Problem] = []
        resolved = _resolve(self.surface, self.formula, self.domain, problems)
        if resolved is None:
            raise ScenarioError(problems)
        return resolved[3]

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
        problems: list[Problem] = []
        resolved = _resolve(surface, formula, domain, problems)
        if resolved is None:
            raise ScenarioError(problems)
        name, text, dom, surf = resolved
        return replace(
            self, surface=name, formula=text, domain=dom, starts=default_starts(name, surf),
            noise=None,
        ).validated()

    # ---- codecs (see optviz.scene.url and optviz.scene.jsonio)

    def to_query(self) -> dict[str, str]:
        """Compact, canonical ``str -> str`` URL query (:func:`optviz.scene.url.to_query`)."""
        from optviz.scene.url import to_query

        return to_query(self)

    @classmethod
    def from_query(cls, params: Mapping[str, Any]) -> tuple[Scenario, list[str]]:
        """Read a URL query; never raises for its content (:func:`optviz.scene.url.from_query`)."""
        from optviz.scene.url import from_query

        return from_query(params)

    def to_json(self) -> str:
        """A versioned, complete, pretty JSON document (:func:`optviz.scene.jsonio.to_json`)."""
        from optviz.scene.jsonio import to_json

        return to_json(self)

    @classmethod
    def from_json(cls, text: str | bytes) -> tuple[Scenario, list[str]]:
        """Read a JSON document (:func:`optviz.scene.jsonio.from_json`)."""
        from optviz.scene.jsonio import from_json

        return from_json(text)


DEFAULT_SCENARIO: Scenario = Scenario()
