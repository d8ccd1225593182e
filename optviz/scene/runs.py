"""``RunConfig``: one optimizer run of a scene (variant, hyperparameters, colour, label).

:meth:`RunConfig.check` validates a run and reports every problem at ``("runs", slot, <field>)``
(``lr``, ``betas``, ``color``, ``label``, ``variant``, ``hparams``): each user value is read as its
kind (numbers, strict numeric text, pairs ``a/b``), then checked by the registry's schema, then
the whole set by the optimizer class itself. A run's extras (a learning-rate schedule, gradient
clipping; :mod:`optviz.scene.extras`) are reported at ``("runs", slot, "schedule"[, arg])``,
``("runs", slot, "clip_norm")`` and ``("runs", slot, "clip_value")``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import cache
from typing import Any

from optviz.optimizers import OptimizerSpec, Variant, get_optimizer, get_variant, list_variants
from optviz.optimizers.schedules import check_line_search
from optviz.scene.extras import (
    SHORT_NAMES,
    Schedule,
    read_clip,
    read_schedule,
    schedule_args,
    schedule_json,
)
from optviz.scene.problems import Loc, Problem, ScenarioError, show
from optviz.scene.values import (
    hparam_text,
    parse_bool,
    parse_color,
    parse_float,
    parse_int,
    parse_label,
    parse_pair,
    short,
)

__all__ = ["DEFAULT_RUNS", "DEFAULT_STEPS", "EXTRA_FIELDS", "PALETTE", "RunConfig"]

DEFAULT_STEPS = 300  # the default scene's steps; what a run's extras are checked against alone
EXTRA_FIELDS = ("schedule", "clip_norm", "clip_value")

#: Eight run colours told apart with normal vision AND with simulated deuteranopia and
#: protanopia (Machado et al. 2009, severity 1; see :mod:`optviz.palette`), readable over the
#: landscape (viridis lightened 0.45 towards white) and on the white loss chart. Measured
#: CIEDE2000 minima (tests/test_palette.py checks them):
#:
#: * any two colours: ΔE00 ≥ 28.8 normal, ≥ 20.1 deuteranopia, ≥ 20.7 protanopia;
#: * to every landscape colour: ΔE00 ≥ 19.5 normal, ≥ 10.9 under either simulation;
#: * to white: ΔE00 ≥ 31.5 normal, ≥ 28.4 under either simulation.
#:
#: The first four are the default runs' (red, orange, near-black, pink as before, adjusted so
#: red and orange differ in lightness and pink does not turn into the blue).
PALETTE: tuple[str, ...] = (
    "#e72400",  # red
    "#ffb600",  # amber
    "#000018",  # near-black
    "#ff6dff",  # pink
    "#245555",  # dark teal
    "#0000f3",  # blue
    "#928679",  # taupe
    "#61000c",  # maroon
)

_ERRORS = (ValueError, TypeError, ArithmeticError)  # what a reader of hostile input may raise


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
    Extras: ``schedule`` (a mapping or pairs with a ``name``; canonical: see
    :mod:`optviz.scene.extras`), ``clip_norm`` and ``clip_value`` (> 0; ``None``: off).
    """

    variant: str
    hparams: tuple[tuple[str, Any], ...] = ()
    color: str = ""
    label: str = ""
    schedule: Schedule | None = None
    clip_norm: float | None = None
    clip_value: float | None = None

    @classmethod
    def make(
        cls,
        variant: str,
        hparams: Mapping[str, Any] | None = None,
        color: str = "",
        label: str = "",
        slot: int = 0,
        extras: Mapping[str, Any] | None = None,
        steps: int = DEFAULT_STEPS,
    ) -> RunConfig:
        """Build and validate a run from a mapping of (partial) hyperparameters and optional
        extras ``{"schedule": {...}, "clip_norm": ..., "clip_value": ...}``."""
        if not isinstance(variant, str):
            raise TypeError(f"variant must be a variant name (a string), got "
                            f"{type(variant).__name__}")
        for name, value in (("color", color), ("label", label)):
            if not isinstance(value, str):
                raise TypeError(f"{name} must be a string, got {type(value).__name__}")
        if isinstance(steps, bool) or not isinstance(steps, int):
            raise TypeError(f"steps must be a whole number, got {type(steps).__name__}")
        if hparams is not None and not isinstance(hparams, Mapping):
            raise TypeError(f"hparams must be a mapping, got {type(hparams).__name__}")
        if extras is not None and not isinstance(extras, Mapping):
            raise TypeError(f"extras must be a mapping, got {type(extras).__name__}")
        unknown = sorted(set(extras or ()) - set(EXTRA_FIELDS))
        if unknown:
            raise ValueError(f"extras: unknown key(s) {', '.join(map(repr, unknown))}")
        return cls(variant, tuple((hparams or {}).items()), color, label,
                   **(extras or {})).validated(slot, steps)

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

    def extras(self) -> dict[str, Any]:
        """The run's extras as :func:`optviz.simulate` takes them (only what is set; ``{}``
        for none). Meaningful once validated."""
        out: dict[str, Any] = {}
        if self.schedule is not None:
            out["schedule"] = schedule_args(self.schedule)
        if self.clip_norm is not None:
            out["clip_norm"] = self.clip_norm
        if self.clip_value is not None:
            out["clip_value"] = self.clip_value
        return out

    def extras_key(self) -> tuple:
        """The extras, hashable (part of the simulation's cache key)."""
        return (self.schedule, self.clip_norm, self.clip_value)

    def extras_text(self) -> list[str]:
        """What a legend adds for the extras: ``["cosine", "clip ‖g‖≤1"]``."""
        parts = []
        if self.schedule is not None:
            parts.append(SHORT_NAMES.get(self.schedule[0][1], str(self.schedule[0][1])))
        if self.clip_norm is not None:
            parts.append(f"clip ‖g‖≤{short(self.clip_norm)}")
        if self.clip_value is not None:
            parts.append(f"clip |g|≤{short(self.clip_value)}")
        return parts

    def changed(self) -> dict[str, Any]:
        """Hyperparameters that differ from the variant's defaults, ``lr`` first."""
        defaults = dict(_variant_defaults(self.variant))
        return dict(
            _lr_first(
                (k, v) for k, v in self.hparams if defaults.get(k, v) != v or k not in defaults
            )
        )

    def display_label(self) -> str:
        """The user's label, else ``"Adam (lr=0.05, cosine)"``: variant label, ``lr`` and what
        differs from the variant's defaults (at most four items), then the schedule and the
        clipping when set."""
        if self.label:
            return self.label
        values = dict(self.hparams)
        items = self.changed()
        if "lr" in values:
            items = {"lr": values["lr"], **items}
        parts = [f"{k}={_label_value(v)}" for k, v in items.items()]
        if len(parts) > 4:
            parts = [*parts[:4], "…"]
        parts += self.extras_text()
        name = get_variant(self.variant).label
        return f"{name} ({', '.join(parts)})" if parts else name

    def check(
        self, slot: int = 0, steps: int = DEFAULT_STEPS
    ) -> tuple[RunConfig | None, list[Problem]]:
        """The canonical run (variant overrides first, then the user's values, each through
        the registry's schema; colour of ``slot`` filled; extras checked against ``steps`` and
        the run's ``lr``), or ``None`` and every problem, at ``("runs", slot, <field>)``."""
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
        extras = self._check_extras(at, steps, dict(hparams).get("lr"), problems)
        if extras is not None and extras[0] is not None:
            try:
                check_line_search(spec.key, dict(hparams), dict(extras[0]), steps)
            except ValueError as exc:
                problems.append(Problem((*at, "schedule"), str(exc)))
        if problems or color is None or label is None or extras is None:
            return None, problems
        return RunConfig(self.variant, hparams, color, label, *extras), []

    def _check_extras(
        self, at: Loc, steps: int, lr: Any, problems: list[Problem]
    ) -> tuple[Schedule | None, float | None, float | None] | None:
        """The canonical extras, or ``None`` (problems added at ``(*at, field[, arg])``)."""
        n = len(problems)
        if self.schedule is not None and lr is None:  # e.g. vSGD: nothing for torch to scale
            problems.append(Problem((*at, "schedule"), (
                f"{get_variant(self.variant).label} has no learning rate to schedule")))
            found: list = []
            schedule = None
        else:
            schedule, found = read_schedule(self.schedule, steps,
                                            lr if isinstance(lr, float) else None)
        problems.extend(Problem((*at, "schedule", *sub), msg) for sub, msg in found)
        clips: list[float | None] = []
        for field in ("clip_norm", "clip_value"):
            try:
                clips.append(read_clip(getattr(self, field), field))
            except _ERRORS as exc:
                problems.append(Problem((*at, field), str(exc)))
                clips.append(None)
        return None if len(problems) > n else (schedule, clips[0], clips[1])

    def validated(self, slot: int = 0, steps: int = DEFAULT_STEPS) -> RunConfig:
        """:meth:`check`, raising ``ScenarioError`` with every problem."""
        run, problems = self.check(slot, steps)
        if run is None:
            raise ScenarioError(problems)
        return run

    def query_token(self) -> str:
        """``variant[:name=value,...]`` with only the values that differ from the defaults."""
        items = [f"{k}={hparam_text(v)}" for k, v in self.changed().items()]
        return self.variant + (":" + ",".join(items) if items else "")

    def to_dict(self) -> dict[str, Any]:
        """JSON form: complete hyperparameters, pairs as lists; the extras only when set (a
        schedule with every argument, ``None`` where it follows the run)."""
        out = {
            "variant": self.variant,
            "optimizer": self.optimizer,
            "hparams": {k: list(v) if isinstance(v, tuple) else v for k, v in self.hparams},
            "color": self.color,
            "label": self.label,
        }
        if self.schedule is not None:
            out["schedule"] = schedule_json(self.schedule)
        for field in ("clip_norm", "clip_value"):
            if getattr(self, field) is not None:
                out[field] = getattr(self, field)
        return out


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

