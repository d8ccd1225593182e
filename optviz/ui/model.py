"""The editable scene behind the sidebar: plain Python, no Streamlit.

The app keeps one :class:`Model` in the session. Widgets write raw values into it (possibly
invalid ones: that is how an error reaches the user), :meth:`Model.candidate` turns it into an
unvalidated :class:`~optviz.scene.Scenario`, and ``Scenario.validated()`` decides. Each run
is an :class:`Entry` with a stable ``id`` so that adding, removing or duplicating entries never
hands one run's widget state to another.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from typing import Any

from optviz.domain import Domain, Point
from optviz.optimizers import (
    Hyperparameter,
    OptimizerSpec,
    get_optimizer,
    get_variant,
    variant_hyperparameters,
)
from optviz.scene import (
    CUSTOM,
    DEFAULT_CUSTOM_DOMAIN,
    DEFAULT_SCENARIO,
    MAX_RUNS,
    PALETTE,
    Problem,
    RunConfig,
    Scenario,
)
from optviz.scene.runs import EXTRA_FIELDS

#: Mantissas of the log-scale choices: 1-2-5 per decade.
LOG_MANTISSAS = (1.0, 2.0, 5.0)


@dataclass
class Entry:
    """One optimizer run as the sidebar edits it: raw hyperparameter values by name, and its
    extras (``schedule``: ``{"name": ..., argument: raw value}`` or ``None``; clipping
    thresholds, ``None`` = off)."""

    id: int
    variant: str
    values: dict[str, Any]
    color: str
    label: str = ""
    schedule: dict[str, Any] | None = None
    clip_norm: Any = None
    clip_value: Any = None

    def run_config(self) -> RunConfig:
        """The unvalidated run these values describe."""
        schedule = None if self.schedule is None else tuple(self.schedule.items())
        return RunConfig(self.variant, tuple(self.values.items()), self.color, self.label,
                         schedule, self.clip_norm, self.clip_value)


@dataclass
class Model:
    """Everything the sidebar edits. ``starts[0]`` is the one the start controls show; more
    starts (from a shared link or a preset) are kept as they are."""

    surface: str
    entries: list[Entry]
    starts: list[Point]
    steps: int
    seed: int
    noise: float | None
    formula: str | None = None
    domain: Domain | None = None
    next_id: int = 0
    generation: int = 0  # bumped when the whole scene is replaced: widgets get fresh keys

    # ---- conversions

    @classmethod
    def from_scenario(cls, scenario: Scenario, generation: int = 0) -> Model:
        """A model showing ``scenario`` (which should be validated: complete hyperparameters)."""
        entries = [
            Entry(i, run.variant, dict(run.hparams), run.color, run.label,
                  None if run.schedule is None else dict(run.schedule), run.clip_norm,
                  run.clip_value)
            for i, run in enumerate(scenario.runs)
        ]
        return cls(
            surface=scenario.surface,
            entries=entries,
            starts=[tuple(p) for p in scenario.starts],
            steps=scenario.steps,
            seed=scenario.seed,
            noise=scenario.noise,
            formula=scenario.formula,
            domain=scenario.domain,
            next_id=len(entries),
            generation=generation,
        )

    def candidate(self) -> Scenario:
        """The scenario the widgets describe, not yet validated."""
        custom = self.surface == CUSTOM
        return Scenario(
            surface=self.surface,
            formula=self.formula if custom else None,
            domain=(self.domain or DEFAULT_CUSTOM_DOMAIN) if custom else None,
            runs=tuple(e.run_config() for e in self.entries),
            starts=tuple(self.starts),
            steps=self.steps,
            seed=self.seed,
            noise=self.noise,
        )

    def replaced_by(self, scenario: Scenario) -> Model:
        """A model for a new scene (preset, link, upload): next generation of widget keys."""
        return Model.from_scenario(scenario, generation=self.generation + 1)

    # ---- editing the run list

    def entry(self, entry_id: int) -> Entry:
        for e in self.entries:
            if e.id == entry_id:
                return e
        raise KeyError(f"no run with id {entry_id}")

    def index(self, entry_id: int) -> int:
        return [e.id for e in self.entries].index(entry_id)

    @property
    def full(self) -> bool:
        return len(self.entries) >= MAX_RUNS

    def free_color(self) -> str:
        """The first palette colour no run uses (the palette's next one if all are taken)."""
        used = {e.color.lower() for e in self.entries}
        for c in PALETTE:
            if c not in used:
                return c
        return PALETTE[len(self.entries) % len(PALETTE)]

    def add(self, variant: str) -> Entry | None:
        """Append a run of ``variant`` at its defaults; ``None`` when the list is full."""
        if self.full:
            return None
        e = Entry(self.next_id, variant, variant_defaults(variant), self.free_color())
        self.next_id += 1
        self.entries.append(e)
        return e

    def duplicate(self, entry_id: int) -> Entry | None:
        """Insert a copy of a run right after it, in a free colour and without its legend label
        (the automatic one then shows what differs); ``None`` when full."""
        if self.full:
            return None
        src = self.entry(entry_id)
        e = replace(src, id=self.next_id, values=dict(src.values), color=self.free_color(),
                    label="", schedule=None if src.schedule is None else dict(src.schedule))
        self.next_id += 1
        self.entries.insert(self.index(entry_id) + 1, e)
        return e

    def remove(self, entry_id: int) -> None:
        """Drop a run (the last one stays: a scene needs at least one)."""
        if len(self.entries) > 1:
            self.entries.pop(self.index(entry_id))

    def set_variant(self, entry_id: int, variant: str) -> None:
        """Switch a run to another optimizer: its hyperparameters go to that one's defaults
        (its schedule and clipping stay: they do not depend on the optimizer)."""
        e = self.entry(entry_id)
        e.variant = variant
        e.values = variant_defaults(variant)


# --------------------------------------------------------------------------------------------
# helpers the widgets use


def variant_defaults(variant: str) -> dict[str, Any]:
    """Complete hyperparameters of a variant (its optimizer's defaults plus its overrides)."""
    return dict(variant_hyperparameters(variant))


def schema(variant: str) -> tuple[Hyperparameter, ...]:
    """Hyperparameters the controls show for a variant, ``lr`` first."""
    hps = get_optimizer(get_variant(variant).optimizer).hyperparameters
    return tuple(sorted(hps, key=lambda hp: hp.name != "lr"))


def log_options(low: float, high: float, value: float | None = None) -> list[float]:
    r"""Choices for a log-scale control: :math:`m \cdot 10^k` for :math:`m \in \{1, 2, 5\}`
    within ``[low, high]``, plus ``value`` itself (a shared link may hold 0.03)."""
    out: set[float] = set()
    for k in range(math.floor(math.log10(low)) - 1, math.ceil(math.log10(high)) + 1):
        for m in LOG_MANTISSAS:
            v = float(f"{m}e{k}")
            if low <= v <= high:
                out.add(v)
    if value is not None and isinstance(value, int | float) and math.isfinite(value):
        out.add(float(value))
    return sorted(out)


def format_number(x: Any) -> str:
    """``0.05``, ``1e-08``, ``3``: compact, exact enough for a control's label."""
    if isinstance(x, bool) or not isinstance(x, int | float):
        return str(x)
    return f"{x:.6g}"


def python_value(value: Any) -> str:
    """A hyperparameter as Python source: ``0.05``, ``(0.9, 0.999)``, ``True``, ``None``."""
    if isinstance(value, tuple):
        return "(" + ", ".join(python_value(v) for v in value) + ")"
    if isinstance(value, float):
        return repr(value)
    return repr(value)


def class_path(cls: type) -> str:
    """``torch.optim.Adam`` for torch's classes, ``optviz.optimizers.Newton`` for ours."""
    module = cls.__module__
    if module.startswith("torch.optim"):
        return f"torch.optim.{cls.__name__}"
    if module.startswith("optviz.optimizers"):
        return f"optviz.optimizers.{cls.__name__}"
    return f"{module}.{cls.__name__}"


def rule_captions(spec: OptimizerSpec) -> list[str]:
    """Markdown captions under an optimizer's rule: what the class is, and how it runs. "How
    PyTorch runs it" only for ``torch.optim`` classes; a package's class names its package and
    version; ours say what they are."""
    if spec.origin == "torch":
        return [f"**How PyTorch runs it:** {spec.note}"] if spec.note else []
    if spec.origin == "package":
        where = (f"From the `{spec.package}` package (`{class_path(spec.cls)}`, a "
                 "`torch.optim.Optimizer` subclass).")
        return [where + (f" **How it runs there:** {spec.note}" if spec.note else "")]
    own = (f"optviz's own optimizer (`{class_path(spec.cls)}`, a `torch.optim.Optimizer` "
           "subclass).")
    return [own + (f" **How it runs:** {spec.note}" if spec.note else "")]


def torch_call(run: RunConfig) -> str:
    """The constructor call that runs, e.g. ``torch.optim.Adam(params, lr=0.05, ...)``."""
    spec = run.spec
    args = ", ".join(f"{k}={python_value(v)}" for k, v in _schema_order(run))
    extra = ", hessian_fn=hessian" if spec.needs_hessian else ""
    return f"{class_path(spec.cls)}(params, {args}{extra})"


def run_code(run: RunConfig, steps: int) -> str:
    """The PyTorch that runs ``run``: its constructor call, then (when set) its schedule and
    what each step does with the clipping and the scheduler."""
    extras = run.extras()
    if not extras:
        return torch_call(run)
    from optviz.exports.pytorch import schedule_lines

    lines = [f"opt = {torch_call(run)}",
             *schedule_lines(extras, steps, dict(run.hparams).get("lr"))]
    each = ["loss.backward()"]
    if run.clip_value is not None:
        each.append(f"torch.nn.utils.clip_grad_value_(params, {run.clip_value!r})")
    if run.clip_norm is not None:
        each.append(f"torch.nn.utils.clip_grad_norm_(params, {run.clip_norm!r})")
    each.append("opt.step()")
    if run.schedule is not None:
        each.append("sched.step()")
    lines.append("# each step, per particle: " + "; ".join(each))
    return "\n".join(lines)


def _schema_order(run: RunConfig) -> list[tuple[str, Any]]:
    values = dict(run.hparams)
    return [(hp.name, values[hp.name]) for hp in run.spec.hyperparameters if hp.name in values]


#: The sidebar control that shows a problem, by the first key of its location.
_CONTROLS = {"surface": "surface", "formula": "surface", "domain": "surface", "starts": "start",
             "steps": "steps", "seed": "seed", "noise": "noise", "runs": "runs"}


@dataclass
class Problems:
    """Validation messages by control: ``runs[i]`` for entry ``i``, ``fields[name]`` else
    (``"surface"``, ``"start"``, ``"steps"``, ``"seed"``, ``"noise"``, ``"runs"``, ``"scene"``),
    placed by each :class:`~optviz.scene.Problem`'s location."""

    runs: dict[int, list[str]] = field(default_factory=dict)
    fields: dict[str, list[str]] = field(default_factory=dict)
    extras: dict[int, list[str]] = field(default_factory=dict)  # also in runs: schedule, clip

    def add(self, problem: Problem) -> None:
        loc = problem.loc
        if len(loc) >= 2 and loc[0] == "runs" and isinstance(loc[1], int):
            self.runs.setdefault(loc[1], []).append(str(problem))
            if len(loc) >= 3 and loc[2] in EXTRA_FIELDS:
                self.extras.setdefault(loc[1], []).append(str(problem))
        else:
            control = _CONTROLS.get(str(loc[0]), "scene") if loc else "scene"
            self.fields.setdefault(control, []).append(str(problem))

    def __bool__(self) -> bool:
        return bool(self.runs or self.fields)


def check(model: Model) -> tuple[Scenario | None, Problems]:
    """Validate the scene the widgets describe, once: every problem is placed under its control
    by its location. Returns ``(validated scenario or None, problems)``."""
    problems = Problems()
    try:
        scene, found = model.candidate().check()
    except Exception as exc:  # never let a surprise break the page
        scene, found = None, [Problem((), f"refused ({type(exc).__name__}: {exc})")]
    for problem in found:
        problems.add(problem)
    return scene, problems


def default_model() -> Model:
    return Model.from_scenario(DEFAULT_SCENARIO)
