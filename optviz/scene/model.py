"""``Scenario``: the validated, frozen, hashable description of a scene (runs: :mod:`.runs`).

Build either with raw values (numbers, numeric text, lists), call :meth:`Scenario.validated`:
it checks every field and raises one :class:`~optviz.scene.problems.ScenarioError` carrying
every :class:`~optviz.scene.problems.Problem` found, each with its location (``("runs", 1,
"lr")``), or returns the canonical scene (complete hyperparameters, palette colours filled,
floats as float, tuples everywhere).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from functools import lru_cache
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
from optviz.scene.problems import Loc, Problem, ScenarioError, show
from optviz.scene.runs import DEFAULT_RUNS, DEFAULT_STEPS, PALETTE, RunConfig
from optviz.scene.values import (
    from_text,
    parse_domain,
    parse_float,
    parse_int,
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
    "PALETTE",  # re-exported from .runs
    "RunConfig",
    "Scenario",
    "default_starts",
]

CUSTOM = "custom"
DEFAULT_SURFACE = "rosenbrock"
DEFAULT_STARTS: tuple[Point, ...] = ((-1.5, 2.0),)
DEFAULT_SEED = 0
DEFAULT_CUSTOM_DOMAIN: Domain = ((-3.0, 3.0), (-3.0, 3.0))

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


def _not_text(value: Any, what: str) -> Any:
    """A scene built in code takes numbers: text such as ``"3"`` is refused here, not read
    (the codecs read number text before they build the scene)."""
    if isinstance(value, str):
        number = from_text(value, "int" if "whole" in what else "float")
        raise ValueError(f"{show(value)} is text, not {what}" if not isinstance(number, str)
                         else f"{show(value)} is not {what}")
    return value


def _check_noise(value: Any) -> float:
    x = parse_float(value)
    if not 0.0 <= x <= MAX_NOISE:
        raise ValueError(f"{short(x)} is outside [0, {MAX_NOISE:g}]")
    return x



# --------------------------------------------------------------------------------------------
# the scenario


def _line_search_work(runs: Iterable[RunConfig], n_starts: int, steps: int) -> int:
    return sum(
        n_starts * steps * int(r.kwargs().get("max_iter", 1)) for r in runs
        if r.optimizer == "lbfgs"
    )


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

        def scalar(name: str, check: Any) -> Any:
            try:
                return check(getattr(self, name))
            except _ERRORS as exc:
                problems.append(Problem((name,), str(exc)))
                return None

        steps = scalar("steps", lambda v: parse_int(_not_text(v, "a whole number"), 1,
                                                    MAX_SCENE_STEPS))
        runs: list[RunConfig] = []
        items = _sized(self.runs, ("runs",), "runs", MAX_RUNS, problems)
        for i, run in enumerate(items or ()):
            if not isinstance(run, RunConfig):
                problems.append(Problem(("runs", i), f"{show(run)} is not a RunConfig"))
                continue
            good, found = run.check(i, DEFAULT_STEPS if steps is None else steps)
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

        seed = scalar("seed", lambda v: parse_int(_not_text(v, "a whole number"), 0, MAX_SEED))
        noise = None if self.noise is None else scalar(
            "noise", lambda v: _check_noise(_not_text(v, "a number")))
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

    def run_specs(self) -> list[tuple[str, dict[str, Any], dict[str, Any]]]:
        """``[(optimizer key, torch kwargs, extras), ...]`` for ``optviz.runner.simulate``
        (extras ``{}`` when the run has none)."""
        return [(r.optimizer, r.kwargs(), r.extras()) for r in self.runs]

    def sim_key(self) -> tuple:
        """Everything that changes the simulation and nothing else (no colours, no labels, no
        variant names: ``momentum`` and ``sgd`` with momentum=0.9 are one simulation).
        Meaningful on a validated scenario."""
        return (
            self.surface,
            self.formula,
            self.domain,
            tuple((r.optimizer, r.hparams, r.extras_key()) for r in self.runs),
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
