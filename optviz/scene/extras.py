"""A run's extras as the scene holds them: a learning-rate schedule and gradient clipping.

The checks and the torch objects live in :mod:`optviz.optimizers.schedules`; this module reads
user values (numbers, strict numeric text, a URL token) into one canonical, hashable form and
writes it back:

* a schedule is a tuple ``(("name", name), (arg, value), ...)`` holding only the arguments that
  differ from the table's defaults, in the table's order (``milestones`` as a tuple of ints).
  An argument whose default is ``None`` (``T_max``, ``total_steps``, ``max_lr``) follows the
  run's steps or learning rate until it is set;
* ``clip_norm`` and ``clip_value`` are floats > 0, or ``None`` (off).

The URL writes a schedule as ``CosineAnnealingLR:T_max=300,eta_min=0.001`` (milestones as
``100/200``), the JSON document as a complete object (``null``: follows the run).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from optviz.optimizers.schedules import SCHEDULES, ScheduleParam, check_schedule
from optviz.scene.problems import show
from optviz.scene.values import num_text, parse_float, parse_int

__all__ = [
    "SHORT_NAMES",
    "Schedule",
    "read_clip",
    "read_schedule",
    "schedule_args",
    "schedule_call",
    "schedule_from_text",
    "schedule_json",
    "schedule_text",
]

Schedule = tuple[tuple[str, Any], ...]

#: How a legend says the schedule: "Adam (lr=0.05, cosine)".
SHORT_NAMES: dict[str, str] = {
    "StepLR": "step decay",
    "MultiStepLR": "multi-step decay",
    "ExponentialLR": "exponential decay",
    "CosineAnnealingLR": "cosine",
    "CosineAnnealingWarmRestarts": "cosine restarts",
    "OneCycleLR": "one-cycle",
    "LinearLR": "linear ramp",
    "warmup_cosine": "warm-up + cosine",
}

_ERRORS = (ValueError, TypeError, ArithmeticError)


def _name(value: Any) -> str:
    """A schedule name from the table (case-insensitive on input)."""
    if isinstance(value, str):
        by_lower = {n.lower(): n for n in SCHEDULES}
        found = by_lower.get(value.strip().lower())
        if found:
            return found
    raise ValueError(f"unknown schedule {show(value)} (known: {', '.join(SCHEDULES)})")


def _coerce(p: ScheduleParam, value: Any) -> Any:
    """A user value (number or text) in the type of the argument's kind."""
    if p.kind == "int":
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        return parse_int(value, -(2**62), 2**62)
    if p.kind == "float":
        return parse_float(value)
    if p.kind == "choice":
        if not isinstance(value, str) or value.strip() not in p.choices:
            raise ValueError(f"{show(value)} is not one of {', '.join(p.choices)}")
        return value.strip()
    items = value.split("/") if isinstance(value, str) else value
    if not isinstance(items, list | tuple):
        raise ValueError(f"{show(value)} is not a list of whole numbers (a/b/c)")
    return tuple(_coerce(ScheduleParam(p.name, "int", None), v) for v in items)


def _pairs(value: Any) -> list[tuple[Any, Any]]:
    if isinstance(value, Mapping):
        return list(value.items())
    if isinstance(value, list | tuple) and all(
        isinstance(kv, list | tuple) and len(kv) == 2 for kv in value
    ):
        return [tuple(kv) for kv in value]
    raise ValueError(f"{show(value)} is not a schedule {{name, arguments}}")


def read_schedule(
    value: Any, steps: int, lr: float | None
) -> tuple[Schedule | None, list[tuple[tuple[str, ...], str]]]:
    """The canonical schedule of ``value`` (a mapping or pairs with a ``name``; ``None``: no
    schedule), or ``None`` and every problem as ``(sub-location, message)``: ``()`` for the
    schedule as a whole, ``(arg,)`` for one argument."""
    if value is None:
        return None, []
    try:
        pairs = _pairs(value)
    except ValueError as exc:
        return None, [((), str(exc))]
    try:
        raw = dict(pairs)
        name = _name(raw.pop("name", None))
    except ValueError as exc:
        return None, [((), str(exc))]
    params = {p.name: p for p in SCHEDULES[name][0]}
    problems: list[tuple[tuple[str, ...], str]] = []
    if len(raw) + 1 < len(pairs):
        problems.append(((), "an argument is given twice"))
    unknown = sorted(str(k) for k in raw if k not in params)
    if unknown:
        problems.append(((), f"{name}: unknown argument(s) {', '.join(map(show, unknown))} "
                             f"(known: {', '.join(params)})"))
    given: dict[str, Any] = {}
    for arg, p in params.items():
        if arg not in raw or raw[arg] is None:
            continue
        try:
            value = _coerce(p, raw[arg])
        except _ERRORS as exc:
            msg = str(exc).removeprefix(f"schedule {name}: ")
            problems.append(((arg,), msg if msg.startswith(arg) else f"{arg}: {msg}"))
            continue
        try:
            check_schedule({"name": name, arg: value}, steps, lr)
        except _ERRORS as exc:
            msg = str(exc).removeprefix(f"schedule {name}: ")
            # another argument's default failed with this one alone (warmup=20 leaves T_max =
            # steps - 20 < 1 for a short run, though T_max is given too): the check of all the
            # given arguments together, below, judges that
            if msg.startswith(arg):
                problems.append(((arg,), msg))
                continue
        given[arg] = value
    if not problems:
        try:
            check_schedule({"name": name, **given}, steps, lr)
        except _ERRORS as exc:
            problems.append(((), str(exc).removeprefix("schedule ")))
    if problems:
        return None, problems
    out: list[tuple[str, Any]] = [("name", name)]
    for arg, p in params.items():
        if arg not in given:
            continue
        v = given[arg]
        v = float(v) if p.kind == "float" else v
        default = tuple(p.default) if isinstance(p.default, list) else p.default
        if v != default:
            out.append((arg, v))
    return tuple(out), []


def read_clip(value: Any, field: str = "clip_norm") -> float | None:
    """A clipping threshold: a number > 0, or ``None`` / empty text (off); ``ValueError``
    naming ``field`` otherwise."""
    if value is None or (isinstance(value, str) and value.strip().lower() in ("", "none")):
        return None
    try:
        x = parse_float(value)
    except ValueError as exc:
        raise ValueError(f"{field}: {exc}") from None
    if not 0.0 < x <= 1e6:
        raise ValueError(f"{field} must be in (0, 1e6], got {num_text(x)} (empty: no clipping)")
    return x


def schedule_args(schedule: Schedule) -> dict[str, Any]:
    """The schedule as :func:`optviz.simulate` takes it: ``{"name": ..., set arguments}``."""
    return dict(schedule)


def schedule_json(schedule: Schedule) -> dict[str, Any]:
    """Every argument (defaults filled; ``None``: follows the run), lists for milestones."""
    d = dict(schedule)
    out: dict[str, Any] = {"name": d["name"]}
    for p in SCHEDULES[d["name"]][0]:
        v = d.get(p.name, p.default)
        out[p.name] = list(v) if isinstance(v, tuple | list) else v
    return out


def schedule_call(schedule: Schedule) -> str:
    """``CosineAnnealingLR(T_max=300)``: the name and the arguments that are set."""
    name, *args = schedule
    return f"{name[1]}({', '.join(f'{k}={_value_text(v)}' for k, v in args)})"


def _value_text(value: Any) -> str:
    if isinstance(value, tuple):
        return "/".join(str(v) for v in value)
    if isinstance(value, float):
        return num_text(value)
    return str(value)


def schedule_text(schedule: Schedule) -> str:
    """URL form: ``CosineAnnealingLR:T_max=300`` (only the arguments that are set)."""
    name, *args = schedule
    items = ",".join(f"{k}={_value_text(v)}" for k, v in args)
    return name[1] + (":" + items if items else "")


def schedule_from_text(text: str) -> list[tuple[str, str]] | None:
    """A URL token as ``[("name", ...), (arg, text), ...]`` for :func:`read_schedule`; empty
    or ``none``: ``None`` (no schedule). ``ValueError`` for an item that is not ``arg=value``."""
    if text.strip().lower() in ("", "none"):
        return None
    name, _, rest = text.partition(":")
    pairs = [("name", name.strip())]
    for item in rest.split(",") if rest.strip() else []:
        arg, eq, value = item.partition("=")
        if not eq:
            raise ValueError(f"{show(item)} is not name=value")
        pairs.append((arg.strip(), value.strip()))
    return pairs
