"""The JSON codec: a ``Scenario`` as a complete, versioned document, and back.

::

    {"optviz": 1, "surface": "rosenbrock", "formula": null, "domain": null,
     "starts": [[-1.5, 2.0]], "steps": 300, "seed": 0, "noise": null,
     "runs": [{"variant": "adam", "optimizer": "adam",
               "hparams": {"lr": 0.05, "betas": [0.9, 0.999], ...}, "color": "#ff4fd8",
               "label": "", "schedule": {"name": "CosineAnnealingLR", "T_max": null,
               "eta_min": 0.0}, "clip_norm": 1.0}, ...]}

A run's ``schedule`` (every argument; ``null``: follows the run's steps or lr), ``clip_norm`` and
``clip_value`` are written only when set.

``variant`` is the UI key (``momentum``); ``optimizer`` is the registry key behind it, written for
readers and accepted alone as the variant when ``variant`` is missing.

:func:`from_json` (text or bytes; a UTF-8 byte-order mark is accepted) is the one reader of scene
files, for the app's upload and the CLI alike: malformed JSON, a non-object, a wrong version or
a document over ``MAX_JSON_CHARS`` raise ``ScenarioError``; bad fields fall back with one warning
each (:func:`optviz.scene.reader.scenario_from_dict`); a key given twice uses the last value
with a warning, as a repeated URL key does.
"""

from __future__ import annotations

import json
from typing import Any

from optviz.limits import MAX_JSON_CHARS
from optviz.scene.model import Scenario
from optviz.scene.problems import Loc, ScenarioError, given_times, need, repeated, show, where
from optviz.scene.reader import scenario_from_dict

__all__ = ["JSON_VERSION", "from_json", "to_json"]

JSON_VERSION = 1


def to_json(scene: Scenario) -> str:
    """A versioned, complete, pretty JSON document (all hyperparameters)."""
    need("scene", scene, Scenario, "a Scenario")
    doc = {
        "optviz": JSON_VERSION,
        "surface": scene.surface,
        "formula": scene.formula,
        "domain": [list(scene.domain[0]), list(scene.domain[1])] if scene.domain else None,
        "starts": [[x, y] for x, y in scene.starts],
        "steps": scene.steps,
        "seed": scene.seed,
        "noise": scene.noise,
        "runs": [r.to_dict() for r in scene.runs],
    }
    return _pretty(doc) + "\n"


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


def _text(data: str | bytes) -> str:
    if isinstance(data, bytes | bytearray):
        if len(data) > 4 * MAX_JSON_CHARS:
            raise ScenarioError(f"too large ({len(data):,} bytes)", ("json",))
        try:
            data = bytes(data).decode("utf-8-sig")
        except UnicodeDecodeError:
            raise ScenarioError("not UTF-8 text", ("json",)) from None
    elif not isinstance(data, str):
        raise TypeError(f"text must be str or bytes, got {type(data).__name__}")
    return data.removeprefix("\ufeff")


class _Repeats(dict):
    """A JSON object in which a key was given more than once: its last values, plus the
    pairs as written (``pairs``) and how often each key came (``counts``)."""

    pairs: list[tuple[str, Any]]
    counts: dict[str, int]

    @classmethod
    def make(cls, items: list[tuple[str, Any]]) -> dict[str, Any]:
        counts: dict[str, int] = {}
        for key, _ in items:
            counts[key] = counts.get(key, 0) + 1
        if all(n == 1 for n in counts.values()):
            return dict(items)
        obj = cls(items)
        obj.pairs, obj.counts = items, counts
        return obj


def _repeats(value: Any, loc: Loc, warnings: list[str]) -> None:
    """Warn once for each repeated key (the last value is used), located as the URL codec
    does. A run's repeated hyperparameter is left to the scene reader (the one rule for both
    codecs: ``run 1: lr given 2 times; using the last one``): its pairs go to it as written."""
    if isinstance(value, list):
        for j, item in enumerate(value):
            _repeats(item, (*loc, j), warnings)
        return
    if not isinstance(value, dict):
        return
    if isinstance(value, _Repeats):
        for key, n in value.counts.items():
            if n > 1:
                warnings.append(f"{where(loc)}: {given_times(key, n)}" if loc
                                else repeated(key, n))
    for key, item in list(value.items()):
        if (isinstance(item, _Repeats) and len(loc) == 2 and loc[0] == "runs"
                and key == "hparams"):
            value[key] = list(item.pairs)
            continue
        _repeats(item, (*loc, key), warnings)


def from_json(data: str | bytes) -> tuple[Scenario, list[str]]:
    """Read a scene document: ``(validated scenario, warnings)``. ``ScenarioError`` (a
    ``ValueError``) for a document that is not a scene at all; ``TypeError`` for a non-text."""
    text = _text(data)
    if len(text) > MAX_JSON_CHARS:
        raise ScenarioError(f"too large ({len(text):,} characters > {MAX_JSON_CHARS:,})",
                            ("json",))
    warnings: list[str] = []

    def refuse_constant(name: str) -> None:
        raise ValueError(f"{name} is not allowed")

    try:
        doc = json.loads(text, parse_constant=refuse_constant, object_pairs_hook=_Repeats.make)
    except (ValueError, RecursionError) as exc:
        raise ScenarioError(f"not a valid JSON document ({exc})", ("json",)) from None
    if not isinstance(doc, dict):
        raise ScenarioError('expected an object {"optviz": 1, ...}', ("json",))
    _repeats(doc, (), warnings)
    version = doc.pop("optviz", JSON_VERSION)
    if version != JSON_VERSION or isinstance(version, bool):
        raise ScenarioError(
            f"unsupported optviz version {show(version)} (this is version {JSON_VERSION})",
            ("json",),
        )
    scene, more = scenario_from_dict(doc)
    return scene, warnings + more
