"""The scene: what to run and show, validated, with located problems and two codecs.

=====================  =========================================================================
``model``              ``Scenario``: surface, starts, steps, seed, noise, runs; defaults
``runs``               ``RunConfig``: one optimizer run; the palette and the default runs
``extras``             a run's schedule and clipping: canonical form, URL and JSON forms
``problems``           ``Problem(loc, msg)`` and ``ScenarioError`` (a ``ValueError`` with them all)
``values``             readers of single values (numbers, points, colours, labels, windows)
``reader``             the lenient dict reader ``scenario_from_dict`` (fallback by location)
``url``                the URL query codec
``jsonio``             the JSON document codec (scene files, for the app and the CLI)
=====================  =========================================================================

Limits live in :mod:`optviz.limits`, ``Point``/``Domain`` in :mod:`optviz.domain`.
"""

from optviz.domain import Domain, Point
from optviz.limits import (
    MAX_JSON_CHARS,
    MAX_LINE_SEARCH_STEPS,
    MAX_NOISE,
    MAX_QUERY_CHARS,
    MAX_RUNS,
    MAX_SCENE_STEPS,
    MAX_SEED,
    MAX_STARTS,
)
from optviz.scene.jsonio import JSON_VERSION, from_json, to_json
from optviz.scene.model import (
    CUSTOM,
    DEFAULT_CUSTOM_DOMAIN,
    DEFAULT_RUNS,
    DEFAULT_SCENARIO,
    DEFAULT_STARTS,
    DEFAULT_SURFACE,
    PALETTE,
    RunConfig,
    Scenario,
)
from optviz.scene.problems import Problem, ScenarioError, where
from optviz.scene.reader import scenario_from_dict, scenario_from_dict_strict
from optviz.scene.url import from_query, to_query

__all__ = [
    "CUSTOM",
    "DEFAULT_CUSTOM_DOMAIN",
    "DEFAULT_RUNS",
    "DEFAULT_SCENARIO",
    "DEFAULT_STARTS",
    "DEFAULT_SURFACE",
    "JSON_VERSION",
    "MAX_JSON_CHARS",
    "MAX_LINE_SEARCH_STEPS",
    "MAX_NOISE",
    "MAX_QUERY_CHARS",
    "MAX_RUNS",
    "MAX_SCENE_STEPS",
    "MAX_SEED",
    "MAX_STARTS",
    "PALETTE",
    "Domain",
    "Point",
    "Problem",
    "RunConfig",
    "Scenario",
    "ScenarioError",
    "from_json",
    "from_query",
    "scenario_from_dict",
    "scenario_from_dict_strict",
    "to_json",
    "to_query",
    "where",
]
