"""The URL codec: a ``Scenario`` as a flat ``str -> str`` query, and back.

Query format (raw values; URL-encoding is the caller's job)::

    surface=rosenbrock            a key of list_surfaces(), or "custom"
    formula=x**2+3*y**2           custom only (with surface=custom)
    domain=-2,2;-1,3              custom only: xmin,xmax;ymin,ymax (default -3,3;-3,3)
    start=-1.5,2;0,-0.5           x,y;x,y ...  (1..MAX_STARTS, inside the plot window)
    steps=300                     1..MAX_SCENE_STEPS
    seed=0                        0..MAX_SEED
    noise=0.1                     gradient-noise std in [0, MAX_NOISE]; absent = surface default
    run=sgd:lr=0.001;adam:lr=0.05,betas=0.9/0.999,amsgrad=true
                                  variant[:name=value,...];...  only hyperparameters that differ
                                  from the variant's defaults; pairs as a/b; booleans true/false
    color2=00ff00                 run 2's colour, only when it differs from PALETTE[1]
    label2=Fast Adam              run 2's label, only when set
    schedule2=CosineAnnealingLR:T_max=300,eta_min=0.001
                                  run 2's learning-rate schedule, only when set: a name of
                                  optviz.optimizers.schedules.SCHEDULES, then only the arguments
                                  that differ from its defaults (milestones as 100/200)
    clip_norm2=1                  run 2's gradient clipping by norm, only when set
    clip_value2=0.5               run 2's gradient clipping by value, only when set

Numbers are written in the shortest form that reads back to the same float, so the round trip
is exact and canonical. Reading never raises for the query's content: the query is decoded into
the scene dict and read by :func:`optviz.scene.reader.scenario_from_dict` (a bad field falls back
with one warning naming it as the URL does, e.g. ``color2`` or ``schedule2``); repeated keys
use the last value with a warning; unknown keys are ignored; a query over ``MAX_QUERY_CHARS``
is refused whole.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from optviz.limits import MAX_HPARAMS, MAX_QUERY_CHARS, MAX_VALUE_CHARS
from optviz.scene.extras import schedule_from_text, schedule_text
from optviz.scene.model import CUSTOM, DEFAULT_CUSTOM_DOMAIN, DEFAULT_SCENARIO, PALETTE, Scenario
from optviz.scene.problems import Loc, Problem, need, repeated, show, where
from optviz.scene.reader import scenario_from_dict
from optviz.scene.values import hparam_text, num_text

__all__ = ["from_query", "hparam_text", "to_query"]

_INDEXED = ("color", "label", "schedule", "clip_norm", "clip_value")
_INDEXED_KEY_RE = re.compile(r"(color|label|schedule|clip_norm|clip_value)([1-9]\d?)")


def to_query(scene: Scenario) -> dict[str, str]:
    """Compact, canonical ``str -> str`` query of a validated scene."""
    need("scene", scene, Scenario, "a Scenario")
    q: dict[str, str] = {"surface": scene.surface}
    if scene.is_custom:
        q["formula"] = scene.formula or ""
        (x0, x1), (y0, y1) = scene.domain or DEFAULT_CUSTOM_DOMAIN
        q["domain"] = f"{num_text(x0)},{num_text(x1)};{num_text(y0)},{num_text(y1)}"
    q["start"] = ";".join(f"{num_text(x)},{num_text(y)}" for x, y in scene.starts)
    q["steps"] = str(scene.steps)
    q["seed"] = str(scene.seed)
    if scene.noise is not None:
        q["noise"] = num_text(scene.noise)
    q["run"] = ";".join(r.query_token() for r in scene.runs)
    for i, r in enumerate(scene.runs):
        if r.color != PALETTE[i % len(PALETTE)]:
            q[f"color{i + 1}"] = r.color.lstrip("#")
    for i, r in enumerate(scene.runs):
        if r.label:
            q[f"label{i + 1}"] = r.label
    for i, r in enumerate(scene.runs):
        if r.schedule is not None:
            q[f"schedule{i + 1}"] = schedule_text(r.schedule)
        for field in ("clip_norm", "clip_value"):
            if getattr(r, field) is not None:
                q[f"{field}{i + 1}"] = num_text(getattr(r, field))
    return q


def url_name(loc: Loc) -> str:
    """A location as the URL writes it: ``color2``, ``label1``, ``schedule2``, ``run 2``,
    ``start``."""
    if len(loc) >= 3 and loc[0] == "runs" and loc[2] in _INDEXED:
        return f"{loc[2]}{int(loc[1]) + 1}"
    if loc == ("runs",):
        return "run"
    if loc == ("starts",):
        return "start"
    return where(loc)


def _query_size(params: Mapping[str, Any]) -> int:
    size = 0
    for key, value in params.items():
        values = value if isinstance(value, list | tuple) else [value]
        size += len(str(key)) + 2 + sum(len(v) if isinstance(v, str) else 16 for v in values)
    return size


def _split_runs(text: str, early: list[Problem]) -> list[dict[str, Any]]:
    """``variant[:name=value,...];...`` into run dicts (hyperparameters as pairs, so a name
    given twice is seen)."""
    runs = []
    for i, token in enumerate(text.split(";") if text.strip() else []):
        variant, _, rest = token.partition(":")
        items = rest.split(",") if rest.strip() else []
        if len(items) > MAX_HPARAMS:
            early.append(Problem(("runs", i), f"more than {MAX_HPARAMS} hyperparameters"))
        pairs = []
        for item in items[:MAX_HPARAMS]:
            name, eq, value = item.partition("=")
            if not eq:
                early.append(Problem(("runs", i), f"{show(item)} is not name=value (pairs: a/b)"))
                continue
            pairs.append((name.strip(), value.strip()))
        runs.append({"variant": variant.strip().lower(), "hparams": pairs})
    return runs


def from_query(params: Mapping[str, Any]) -> tuple[Scenario, list[str]]:
    """Read a query: ``(validated scenario, warnings)``; never raises for the query's content
    (``TypeError`` when ``params`` is not a mapping)."""
    if not isinstance(params, Mapping):
        raise TypeError(f"params must be a mapping, got {type(params).__name__}")
    try:
        size = _query_size(params)
    except Exception:  # a mapping that cannot even be iterated
        return DEFAULT_SCENARIO, ["query: unreadable; showing the default scene"]
    if size > MAX_QUERY_CHARS:
        return DEFAULT_SCENARIO, [
            f"query: too large ({size:,} characters > {MAX_QUERY_CHARS:,}); ignored, "
            "showing the default scene"
        ]
    warnings: list[str] = []
    fields: dict[str, str] = {}
    for key, value in params.items():
        if not isinstance(key, str):
            continue
        if isinstance(value, list | tuple):
            if not value:
                continue
            if len(value) > 1:
                warnings.append(repeated(key, len(value)))
            value = value[-1]
        if not isinstance(value, str):
            warnings.append(f"{key}: {show(value)} is not text; ignored")
            continue
        if len(value) > MAX_VALUE_CHARS and key != "formula":  # formula: its own message
            warnings.append(
                f"{key}: too long ({len(value):,} characters > {MAX_VALUE_CHARS:,}); "
                "using the default"
            )
            continue
        fields[key] = value
    early: list[Problem] = []
    doc: dict[str, Any] = {k: fields[k] for k in ("surface", "formula", "domain", "steps",
                                                   "seed", "noise") if k in fields}
    if "formula" in fields and "surface" not in fields:
        doc["surface"] = CUSTOM
    if "start" in fields:
        text = fields["start"]
        doc["starts"] = [p.split(",") for p in text.split(";")] if text.strip() else []
    runs = _split_runs(fields["run"], early) if "run" in fields else None
    indexed = sorted((m.group(1), int(m.group(2)), v) for k, v in fields.items()
                     if (m := _INDEXED_KEY_RE.fullmatch(k)))
    if indexed and runs is None:
        runs = [r.to_dict() for r in DEFAULT_SCENARIO.runs]
        for r in runs:
            r.pop("optimizer")
    for kind, pos, value in indexed:
        if runs is None or pos > len(runs):
            warnings.append(f"{kind}{pos}: there is no run {pos}; ignored")
            continue
        if kind == "schedule":
            try:
                runs[pos - 1][kind] = schedule_from_text(value)
            except ValueError as exc:
                warnings.append(f"{kind}{pos}: {exc}; using no schedule")
            continue
        runs[pos - 1][kind] = value
    if runs is not None:
        doc["runs"] = runs
    scene, more = scenario_from_dict(doc, early=early, name=url_name)
    return scene, warnings + more
