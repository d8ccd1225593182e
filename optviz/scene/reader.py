"""The one lenient reader: a plain JSON-like dict -> a validated ``Scenario`` plus warnings.

Both codecs (URL query and JSON document) and the preset files end here. The dict has the JSON
document's shape (``surface``, ``formula``, ``domain``, ``starts``, ``steps``, ``seed``,
``noise``, ``runs: [{variant | optimizer, hparams, color, label, schedule, clip_norm,
clip_value}]``); values may be numbers or
strict numeric text. The scene is validated as a whole; every :class:`Problem` found falls back
by its location, generically, with one warning per field:

=============================  ==============================================================
``("runs", i, "color")``       the palette colour of run *i*'s slot
``("runs", i, "label")``       no label
``("runs", i, "schedule", …)`` no schedule (``clip_norm``, ``clip_value``: no clipping)
``("runs", i, ...)``           run *i* is dropped (none left: the default runs)
``("starts", j)``              start *j* is dropped (none left: the surface's default starts)
``("runs",)``, ``("starts",)`` the defaults
``("surface",)``               the default surface (a bad ``formula`` of the custom surface too)
``("domain",)``                the default window (custom surface)
anything else                  that field's default
=============================  ==============================================================
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from typing import Any

from optviz.optimizers import get_variant
from optviz.scene.model import (
    CUSTOM,
    DEFAULT_CUSTOM_DOMAIN,
    DEFAULT_RUNS,
    DEFAULT_SCENARIO,
    DEFAULT_SEED,
    DEFAULT_STEPS,
    DEFAULT_SURFACE,
    Scenario,
    _resolve,
    default_starts,
)
from optviz.scene.problems import Loc, Problem, ScenarioError, given_times, show, where
from optviz.scene.runs import PALETTE, RunConfig
from optviz.scene.values import from_text, short

__all__ = ["SCENE_KEYS", "scenario_from_dict"]

SCENE_KEYS = ("surface", "formula", "domain", "starts", "steps", "seed", "noise", "runs")
RUN_KEYS = ("variant", "optimizer", "hparams", "color", "label", "schedule", "clip_norm",
            "clip_value")
_FALLBACKS = {"color": "the palette colour", "label": "no label", "schedule": "no schedule",
              "clip_norm": "no clipping by norm", "clip_value": "no clipping by value"}
_MAX_ROUNDS = 6  # each round removes at least one bad field; a scene has fewer than this kinds

Namer = Callable[[Loc], str]


@dataclass
class _Run:
    pos: int  # its written slot (1-based in messages): warnings and colours refer to it
    config: RunConfig


def _last_of(pairs: Any, at: Loc, notes: list[Problem]) -> Any:
    """Hyperparameter ``(name, value)`` pairs with a name given more than once reduced to its
    last value, with one note per such name at ``(*at, name)``; anything else as it is."""
    if not isinstance(pairs, list | tuple):
        return pairs

    def named(item: Any) -> bool:
        return isinstance(item, list | tuple) and len(item) == 2 and isinstance(item[0], str)

    last = {item[0]: j for j, item in enumerate(pairs) if named(item)}
    counts: dict[str, int] = {}
    for item in pairs:
        if named(item):
            counts[item[0]] = counts.get(item[0], 0) + 1
    if all(n == 1 for n in counts.values()):
        return pairs
    for name, n in counts.items():
        if n > 1:
            notes.append(Problem((*at, name), given_times(name, n)))
    return tuple(item for j, item in enumerate(pairs) if not named(item) or last[item[0]] == j)


def _runs(
    value: Any, notes: list[Problem], early: list[Problem]
) -> list[_Run] | None:
    """Raw runs from the ``runs`` list (structure only; values are checked later). ``notes``
    gets what is odd but harmless (unknown keys, an optimizer that does not match its variant);
    ``early`` what drops a run."""
    if value is None:
        return None
    if not isinstance(value, list | tuple):
        early.append(Problem(("runs",), f"{show(value)} is not a list"))
        return None
    out = []
    for i, item in enumerate(value):
        if not isinstance(item, Mapping):
            early.append(Problem(("runs", i), f"{show(item)} is not an object"))
            continue
        for key in item:
            if key not in RUN_KEYS:
                notes.append(Problem(("runs", i, str(key)), f"unknown key {show(key)}"))
        variant = item.get("variant", item.get("optimizer"))
        if "variant" in item and "optimizer" in item:
            try:
                behind = get_variant(item["variant"]).optimizer
            except (KeyError, TypeError):
                behind = None
            if behind is not None and item["optimizer"] != behind:
                notes.append(Problem(("runs", i, "optimizer"), (
                    f"optimizer {show(item['optimizer'])} does not match variant "
                    f"{show(item['variant'])} ({behind}); using the variant")))
        hparams = item.get("hparams")
        hparams = () if hparams is None else hparams
        color = item.get("color") or ""
        label = "" if item.get("label") is None else item.get("label")
        hp = tuple(hparams.items()) if isinstance(hparams, Mapping) else _last_of(
            hparams, ("runs", i), notes)
        schedule = item.get("schedule")
        if isinstance(schedule, Mapping):
            schedule = tuple(schedule.items())
        out.append(_Run(i, RunConfig(variant, hp, PALETTE[i % len(PALETTE)] if color == ""
                                     else color, label, schedule, item.get("clip_norm"),
                                     item.get("clip_value"))))
    return out


def scenario_from_dict(
    doc: Mapping[str, Any],
    *,
    early: list[Problem] | None = None,
    name: Namer = where,
) -> tuple[Scenario, list[str]]:
    """A validated scene from a plain JSON-like dict, plus one warning per field that fell back
    to its default (see the module docstring). Unknown keys are warned about. Never raises for
    the dict's content; ``TypeError`` when ``doc`` is not a mapping.

    ``early``: problems a codec found before (e.g. a run it could not split), applied first;
    ``name``: how a location is written in a warning (the URL says ``color2``, not ``run 2``).
    For a strict read (no fallbacks), use :func:`scenario_from_dict_strict`.
    """
    if not isinstance(doc, Mapping):
        raise TypeError(f"doc must be a mapping, got {type(doc).__name__}")
    warnings: list[str] = []
    for key in doc:
        if key not in SCENE_KEYS:
            warnings.append(f"{show(key)}: unknown key; ignored")
    problems = list(early or [])
    fields = {k: doc[k] for k in SCENE_KEYS if k in doc and doc[k] is not None}
    notes: list[Problem] = []
    runs = _runs(fields.pop("runs", None), notes, problems)
    warnings += [f"{name(p.loc)}: {p.msg}" + ("" if "using" in p.msg else "; ignored")
                 for p in notes]
    noise = fields.get("noise")
    if isinstance(noise, str) and noise.strip().lower() in ("", "none"):
        fields.pop("noise")
    try:
        return _settle(fields, runs, problems, warnings, name)
    except Exception as exc:  # a bug, not bad input: still never break the page
        return DEFAULT_SCENARIO, [*warnings, f"scene: could not be read ({exc}); "
                                  "showing the default scene"]


def scenario_from_dict_strict(doc: Mapping[str, Any]) -> Scenario:
    """Like :func:`scenario_from_dict`, but any problem (or unknown key) raises one
    ``ScenarioError`` carrying them all (presets and tests want this)."""
    if not isinstance(doc, Mapping):
        raise TypeError(f"doc must be a mapping, got {type(doc).__name__}")
    problems = [Problem((str(k),), "unknown key") for k in doc if k not in SCENE_KEYS]
    notes: list[Problem] = []
    runs = _runs(doc.get("runs"), notes, problems)
    problems += notes
    starts = doc.get("starts")
    scene = Scenario(
        surface=doc.get("surface", DEFAULT_SURFACE), formula=doc.get("formula"),
        domain=doc.get("domain"),
        runs=DEFAULT_RUNS if runs is None else tuple(r.config for r in runs),
        starts=_default_starts_for(doc.get("surface", DEFAULT_SURFACE), doc.get("formula"),
                                   doc.get("domain")) if starts is None else starts,
        steps=from_text(doc.get("steps", DEFAULT_STEPS), "int"),
        seed=from_text(doc.get("seed", DEFAULT_SEED), "int"),
        noise=from_text(doc.get("noise"), "float"),
    )
    checked, found = scene.check()
    problems += found
    if problems or checked is None:
        raise ScenarioError(problems)
    return checked


def _read_numbers(fields: dict[str, Any]) -> None:
    """Number text of the scalar fields as numbers (see :func:`~optviz.scene.values.from_text`)."""
    for key, kind in (("steps", "int"), ("seed", "int"), ("noise", "float")):
        if key in fields:
            fields[key] = from_text(fields[key], kind)


def _default_starts_for(surface: Any, formula: Any, domain: Any) -> tuple:
    resolved = _resolve(surface, formula, domain, [])
    if resolved is None:
        return default_starts(DEFAULT_SURFACE, _resolve(DEFAULT_SURFACE, None, None, [])[3])
    return default_starts(resolved[0], resolved[3])


def _settle(
    fields: dict[str, Any],
    runs: list[_Run] | None,
    problems: list[Problem],
    warnings: list[str],
    name: Namer,
) -> tuple[Scenario, list[str]]:
    """Validate, fall back by location, repeat until the scene validates."""
    _read_numbers(fields)
    for round_ in range(_MAX_ROUNDS):
        if problems:
            runs = _fall_back(fields, runs, problems, warnings, name, indexed=round_ > 0)
        starts = fields.get("starts")
        if starts is None:
            starts = _default_starts_for(fields.get("surface", DEFAULT_SURFACE),
                                         fields.get("formula"), fields.get("domain"))
        scene = Scenario(
            surface=fields.get("surface", DEFAULT_SURFACE),
            formula=fields.get("formula"),
            domain=fields.get("domain"),
            runs=DEFAULT_RUNS if runs is None else tuple(r.config for r in runs),
            starts=starts,
            steps=fields.get("steps", DEFAULT_STEPS),
            seed=fields.get("seed", DEFAULT_SEED),
            noise=fields.get("noise"),
        )
        checked, problems = scene.check()
        if checked is not None:
            return checked, warnings
    return DEFAULT_SCENARIO, [*warnings, "scene: could not be repaired; showing the default"]


def _fall_back(
    fields: dict[str, Any],
    runs: list[_Run] | None,
    problems: list[Problem],
    warnings: list[str],
    name: Namer,
    indexed: bool = True,
) -> list[_Run] | None:
    """Apply each problem's fallback (one warning per field); returns the runs left.
    ``indexed``: a run location counts the runs now held (else it is the written slot)."""
    groups: dict[Loc, list[Problem]] = {}
    for p in problems:
        loc = p.loc
        if loc[:1] == ("runs",) and len(loc) >= 2 and runs is not None and indexed:
            pos = runs[loc[1]].pos if isinstance(loc[1], int) and loc[1] < len(runs) else loc[1]
            loc = ("runs", pos, *loc[2:])
            p = Problem(loc, p.msg)
        if loc[:1] == ("runs",) and len(loc) >= 2:
            key = loc[:3] if len(loc) >= 3 and loc[2] in _FALLBACKS else loc[:2]
        elif loc[:1] == ("starts",):
            key = loc[:2]
        elif loc[:1] == ("formula",) and fields.get("surface", DEFAULT_SURFACE) == CUSTOM:
            key = ("surface",)
        else:
            key = loc[:1]
        groups.setdefault(key, []).append(p)

    def text(key: Loc, items: list[Problem]) -> str:
        parts, last = [], None
        for p in items:
            label = name(p.loc if len(p.loc) <= len(key) or key[:1] != ("runs",) else key)
            parts.append(p.msg if label == last else f"{label}: {p.msg}")
            last = label
        return "; ".join(parts)

    dropped_runs: list[str] = []
    dropped_starts: list[str] = []
    bad_starts: set[Any] = set()
    by_pos = {r.pos: r for r in runs or ()}
    for key, items in groups.items():
        head = key[0] if key else ""
        if head == "runs" and len(key) == 3:
            run = by_pos.get(key[1])  # type: ignore[arg-type]
            if run is not None:
                what = str(key[2])
                cleared = PALETTE[run.pos % len(PALETTE)] if what == "color" else (
                    "" if what == "label" else None)
                run.config = replace(run.config, **{what: cleared})
                warnings.append(f"{text(key, items)}; using {_FALLBACKS[what]}")
        elif head == "runs" and len(key) == 2:
            by_pos.pop(key[1], None)  # type: ignore[arg-type]
            dropped_runs.append(text(key, items))
        elif head == "runs" or head == "":
            runs, by_pos = None, {}
            warnings.append(f"{text(key, items)}; using the default runs")
        elif head == "starts" and len(key) == 2:
            dropped_starts.append(text(key, items))
            bad_starts.add(key[1])
        elif head == "starts":
            fields.pop("starts", None)
            warnings.append(f"{text(key, items)}; using the default start")
        elif head in ("surface", "formula", "domain"):
            custom = fields.get("surface", DEFAULT_SURFACE) == CUSTOM
            if head == "domain" and custom:
                fields.pop("domain", None)
                warnings.append(f"{text(key, items)}; using {_window(DEFAULT_CUSTOM_DOMAIN)}")
            elif head != "surface" and not custom:
                fields.pop(head, None)
                warnings.append(f"{text(key, items)}; ignored")
            else:
                for k in ("surface", "formula", "domain"):
                    fields.pop(k, None)
                warnings.append(f"{text(key, items)}; using the default surface "
                                f"{DEFAULT_SURFACE!r}")
        else:
            fields.pop(str(head), None)
            default = {"steps": DEFAULT_STEPS, "seed": DEFAULT_SEED}.get(str(head))
            used = "the surface's default noise" if head == "noise" else str(default)
            warnings.append(f"{text(key, items)}; using {used}")
    starts = fields.get("starts")
    if bad_starts and isinstance(starts, list | tuple):
        fields["starts"] = [p for j, p in enumerate(starts) if j not in bad_starts] or None
    if dropped_starts:
        if fields.get("starts") is None:
            warnings.append("; ".join(dropped_starts) + "; using the default start")
        else:
            warnings.extend(f"{t}; start dropped" for t in dropped_starts)
    if runs is not None:
        runs = [r for r in runs if r.pos in by_pos]
        if dropped_runs and not runs:
            warnings.append("; ".join(dropped_runs) + "; no valid run left, using the default "
                            "runs")
            return None
        warnings.extend(f"{t}; run dropped" for t in dropped_runs)
        return runs
    return runs


def _window(domain: Any) -> str:
    (x0, x1), (y0, y1) = domain
    return f"the window x in [{short(x0)}, {short(x1)}], y in [{short(y0)}, {short(y1)}]"
