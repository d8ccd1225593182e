"""The input contract of the core's public functions, fuzzed: a wrong type raises TypeError, a bad
value ValueError, each naming the argument; nothing else escapes (no OverflowError, KeyError,
AttributeError). The scene readers have their own fuzz in the scene tests."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import optviz
from optviz import simulate
from optviz.optimizers import get_optimizer, list_optimizers
from optviz.runner import SimulationTimeout

HUGE = 10**400

junk = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**420), max_value=10**420),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=8),
    st.binary(max_size=4),
    st.lists(st.integers(-3, 3), max_size=3),
    st.dictionaries(st.text(max_size=3), st.integers(-2, 2), max_size=2),
    st.tuples(st.floats(-3, 3), st.floats(-3, 3)),
    st.just(object()),
    st.just(HUGE),
)

GOOD = {
    "surface": "rosenbrock",
    "runs": [("adam", {"lr": 0.05})],
    "starts": [(-1.5, 2.0)],
    "steps": 3,
    "seed": 0,
    "noise": None,
    "gradient": "closed_form",
    "record_state": False,
    "time_limit": None,
}


def _call(**changes):
    return simulate(**{**GOOD, **changes})


@pytest.mark.parametrize(
    ("changes", "error", "names"),
    [
        ({"surface": "nope"}, ValueError, "surface"),
        ({"surface": 5}, TypeError, "surface"),
        ({"runs": [5]}, TypeError, "runs[0]"),
        ({"runs": [("nope", {})]}, ValueError, "runs[0]"),
        ({"runs": [(5, {})]}, TypeError, "runs[0]"),
        ({"runs": [("adam", {"lr": HUGE})]}, ValueError, "lr"),
        ({"runs": [("adam", {"betas": (HUGE, 0.9)})]}, ValueError, "betas"),
        ({"runs": "adam"}, TypeError, "runs"),
        ({"noise": [0.1]}, TypeError, "noise"),
        ({"noise": HUGE}, ValueError, "noise"),
        ({"noise": -1.0}, ValueError, "noise"),
        ({"time_limit": "5"}, TypeError, "time_limit"),
        ({"starts": [(HUGE, 0.0)]}, ValueError, "starts[0][0]"),
        ({"starts": "1,2"}, TypeError, "starts"),
        ({"starts": [(1.0, 2.0, 3.0)]}, ValueError, "starts[0]"),
        ({"starts": [(math.nan, 2.0)]}, ValueError, "starts[0][0]"),
        ({"steps": 2.5}, TypeError, "steps"),
        ({"steps": HUGE}, ValueError, "steps"),
        ({"seed": -1}, ValueError, "seed"),
        ({"seed": True}, TypeError, "seed"),
        ({"gradient": "numeric"}, ValueError, "gradient"),
        ({"record_state": "yes"}, TypeError, "record_state"),
    ],
)
def test_simulate_refuses_with_the_argument_named(changes, error, names) -> None:
    with pytest.raises(error) as info:
        _call(**changes)
    assert names in str(info.value)


@settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(name=st.sampled_from(sorted(GOOD)), value=junk)
def test_simulate_fuzz_raises_only_value_or_type_errors(name: str, value) -> None:
    try:
        result = _call(**{name: value})
    except SimulationTimeout:  # a tiny time_limit is a valid limit, reached at once
        assert name == "time_limit"
        return
    except (TypeError, ValueError) as err:
        assert str(err), "a message"
        assert name.split("_")[0] in str(err) or name in ("runs", "surface"), str(err)
        return
    assert np.isfinite(result.xy[0, 0, 0]).all()


hparam_values = st.one_of(
    junk, st.floats(1e-6, 1.0), st.tuples(st.floats(0, 1), st.floats(0, 1)), st.just("exact")
)


@settings(max_examples=800, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    key=st.sampled_from(list_optimizers()),
    data=st.data(),
)
def test_hyperparameter_fuzz_raises_only_value_errors_naming_the_field(key: str, data) -> None:
    spec = get_optimizer(key)
    name = data.draw(st.sampled_from([*spec.names, "bogus"]))
    value = data.draw(hparam_values)
    try:
        spec.validate({name: value})
    except ValueError as err:
        assert not isinstance(err, OverflowError)
        assert name in str(err)
        errors = getattr(err, "errors", None)
        assert errors and any(field in (name, None) for field, _ in errors)


LOOKUPS = {
    "get_surface": lambda v: optviz.get_surface(v),
    "get_optimizer": lambda v: get_optimizer(v),
    "get_variant": lambda v: optviz.get_variant(v),
    "compile_formula": lambda v: optviz.compile_formula(v),
    "surface_from_formula(formula)": lambda v: optviz.surface_from_formula(v, ((-1, 1), (-1, 1))),
    "surface_from_formula(domain)": lambda v: optviz.surface_from_formula("x**2 + y", v),
}


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(name=st.sampled_from(sorted(LOOKUPS)), value=junk)
def test_lookups_and_formulas_raise_only_value_or_type_errors(name: str, value) -> None:
    try:
        LOOKUPS[name](value)
    except (TypeError, ValueError) as err:
        assert str(err)


def test_unknown_names_are_key_errors_and_value_errors() -> None:
    for lookup in (optviz.get_surface, get_optimizer, optviz.get_variant):
        with pytest.raises(KeyError):
            lookup("nope")
        with pytest.raises(ValueError, match="unknown"):
            lookup("nope")
        with pytest.raises(TypeError):
            lookup(5)


# ---- every public function of the scene, the exports, the presets, the views and the formula
# entry points, called with junk for one argument at a time (the others good)

import inspect  # noqa: E402
from contextlib import ExitStack  # noqa: E402
from unittest import mock  # noqa: E402

import optviz.exports  # noqa: E402
import optviz.presets  # noqa: E402
import optviz.scene  # noqa: E402
import optviz.views  # noqa: E402
from optviz.exports import media  # noqa: E402
from optviz.metrics import Outcome  # noqa: E402
from optviz.scene import RunConfig, Scenario  # noqa: E402


class _Reached(Exception):
    """The checks passed and a slow renderer started its real work: stop there."""


def _stop(*args, **kwargs):
    raise _Reached


_SCENE = Scenario(steps=5).validated()
_TRAJ = optviz.views.simulate_scenario(_SCENE)
_SURFACE = optviz.get_surface("rosenbrock")


def _scenario_validated(**fields):
    return Scenario(**fields).validated()


_FIELDS = {name: getattr(_SCENE, name) for name in
           ("surface", "formula", "domain", "runs", "starts", "steps", "seed", "noise")}

# name -> (function, its good arguments by name)
PUBLIC = {
    # optviz.scene
    "scene.from_json": (optviz.scene.from_json, {"data": _SCENE.to_json()}),
    "scene.from_query": (optviz.scene.from_query, {"params": _SCENE.to_query()}),
    "scene.scenario_from_dict": (optviz.scene.scenario_from_dict, {"doc": {"steps": 5}}),
    "scene.scenario_from_dict_strict": (optviz.scene.scenario_from_dict_strict,
                                        {"doc": {"steps": 5}}),
    "scene.to_json": (optviz.scene.to_json, {"scene": _SCENE}),
    "scene.to_query": (optviz.scene.to_query, {"scene": _SCENE}),
    "scene.where": (optviz.scene.where, {"loc": ("runs", 0)}),
    "scene.Problem": (optviz.scene.Problem, {"loc": ("steps",), "msg": "refused"}),
    "scene.ScenarioError": (optviz.scene.ScenarioError, {"problems": "refused", "loc": ()}),
    "scene.RunConfig.make": (RunConfig.make, {
        "variant": "adam", "hparams": {"lr": 0.1}, "color": "", "label": "", "slot": 0,
        "extras": None, "steps": 5}),
    "scene.Scenario.validated": (_scenario_validated, _FIELDS),
    # optviz.exports
    "exports.export": (optviz.exports.export, {"fmt": "csv", "scenario": _SCENE,
                                               "traj": _TRAJ, "progress": None, "width": 640,
                                               "duration": 2}),
    "exports.export_html": (optviz.exports.export_html, {"scenario": _SCENE, "traj": _TRAJ,
                                                         "height": 640}),
    "exports.file_name": (optviz.exports.file_name, {"scenario": _SCENE, "ext": "csv",
                                                     "suffix": "-run1"}),
    "exports.mp4_available": (optviz.exports.mp4_available, {}),
    "exports.pytorch_script": (optviz.exports.pytorch_script, {"scenario": _SCENE, "run": 0,
                                                               "start": 0}),
    "exports.render_gif": (optviz.exports.render_gif, {
        "scenario": _SCENE, "traj": _TRAJ, "progress": None, "fps": 20, "size": 200,
        "frames": 4, "width": 640, "duration": 2}),
    "exports.render_mp4": (optviz.exports.render_mp4, {
        "scenario": _SCENE, "traj": _TRAJ, "progress": None, "fps": 20, "size": 200,
        "frames": 4, "width": 640, "duration": 2}),
    "exports.render_png": (optviz.exports.render_png, {"scenario": _SCENE, "traj": _TRAJ,
                                                       "size": 200, "width": 640}),
    "exports.scene_json": (optviz.exports.scene_json, {"scenario": _SCENE}),
    "exports.trajectories_csv": (optviz.exports.trajectories_csv, {"scenario": _SCENE,
                                                                   "traj": _TRAJ}),
    "exports.trajectories_json": (optviz.exports.trajectories_json, {"scenario": _SCENE,
                                                                     "traj": _TRAJ}),
    # optviz.presets
    "presets.get_preset": (optviz.presets.get_preset, {"key": "sgd_vs_momentum"}),
    "presets.list_presets": (optviz.presets.list_presets, {}),
    "presets.preset_titles": (optviz.presets.preset_titles, {}),
    "presets.read_scene": (optviz.presets.read_scene, {"doc": {"steps": 5}}),
    "presets.Preset": (optviz.presets.Preset, {"key": "k", "title": "t", "watch": "w",
                                               "scene": {}, "claims": {}, "order": 1}),
    # optviz.views
    "views.simulate_scenario": (optviz.views.simulate_scenario, {
        "scenario": _SCENE, "record_state": False, "time_limit": None}),
    "views.landscape_for": (optviz.views.landscape_for, {"surface": _SURFACE, "n": 20}),
    "views.format_point": (optviz.views.format_point, {"point": (1.0, -2.0)}),
    "views.track_label": (optviz.views.track_label, {"scenario": _SCENE, "run": 0, "start": 0}),
    "views.tracks_for": (optviz.views.tracks_for, {"scenario": _SCENE, "traj": _TRAJ}),
    "views.summaries_for": (optviz.views.summaries_for, {"surface": _SURFACE, "traj": _TRAJ,
                                                         "tol": 1e-3}),
    "views.outcomes_for": (optviz.views.outcomes_for, {"scenario": _SCENE, "traj": _TRAJ}),
    "views.outcome_text": (optviz.views.outcome_text, {
        "o": Outcome(diverged_at=-1, undefined_at_start=True, left_window_at=None),
        "start": (1.0, 2.0)}),
    "views.run_notes": (optviz.views.run_notes, {"scenario": _SCENE, "traj": _TRAJ}),
    "views.matched": (optviz.views.matched, {"scenario": _SCENE, "traj": _TRAJ}),
    # the formula entry points
    "formula.compile_formula": (optviz.compile_formula, {"text": "x**2 + 3*y"}),
    "surfaces.surface_from_formula": (optviz.surface_from_formula, {
        "formula": "x**2 + 3*y", "domain": ((-1, 1), (-1, 1)), "name": "custom",
        "title": None, "noise": 0.0, "log_scale": None, "default_starts": None}),
}

_CASES = sorted((name, arg) for name, (_, good) in PUBLIC.items() for arg in good or [None])


def _public_functions(module) -> set[str]:
    return {name for name in module.__all__
            if inspect.isfunction(getattr(module, name)) or name in ("Problem", "Preset")}


def test_every_public_function_is_fuzzed() -> None:
    covered = {name.split(".", 1)[1] for name in PUBLIC}
    for module in (optviz.scene, optviz.exports, optviz.presets):
        assert _public_functions(module) <= covered, module.__name__
    views = {name for name, f in vars(optviz.views).items()
             if inspect.isfunction(f) and f.__module__ == "optviz.views"
             and not name.startswith("_")}
    assert views <= covered
    for name, (function, good) in PUBLIC.items():
        params = inspect.signature(function).parameters
        assert set(good) <= set(params) or "fields" in params, name


@settings(max_examples=500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(case=st.sampled_from(_CASES), value=junk)
def test_public_functions_raise_only_value_or_type_errors(case, value) -> None:
    name, arg = case
    function, good = PUBLIC[name]
    kwargs = dict(good) if arg is None else {**good, arg: value}
    with ExitStack() as stack:  # the slow renderers stop once their checks have passed
        stack.enter_context(mock.patch.object(optviz.exports.html, "race_payload", _stop))
        stack.enter_context(mock.patch.object(media, "FrameRenderer", _stop))
        stack.enter_context(mock.patch.object(media, "_ffmpeg", lambda: "ffmpeg"))
        try:
            function(**kwargs)
        except _Reached:
            pass
        except SimulationTimeout:  # a tiny time_limit is a valid limit, reached at once
            assert arg == "time_limit"
        except (TypeError, ValueError) as err:
            assert str(err), f"{name}({arg}={value!r}): an empty message"


E = optviz.exports


@pytest.mark.parametrize(
    ("call", "error", "names"),
    [
        (lambda: optviz.scene.to_json(5), TypeError, "scene"),
        (lambda: optviz.scene.to_query(5), TypeError, "scene"),
        (lambda: optviz.scene.where(5), TypeError, "loc"),
        (lambda: E.export("csv", 5, _TRAJ), TypeError, "scenario"),
        (lambda: E.export("csv", _SCENE, 5), TypeError, "traj"),
        (lambda: E.scene_json(5), TypeError, "scenario"),
        (lambda: E.trajectories_csv(_SCENE, 5), TypeError, "traj"),
        (lambda: E.file_name(5, "csv"), TypeError, "scenario"),
        (lambda: E.file_name(_SCENE, 5), TypeError, "ext"),
        (lambda: E.pytorch_script(5, 0), TypeError, "scenario"),
        (lambda: E.pytorch_script(_SCENE, 5), ValueError, "run"),
        (lambda: E.pytorch_script(_SCENE, 0, 5), ValueError, "start"),
        (lambda: E.pytorch_script(_SCENE, "0"), TypeError, "run"),
        (lambda: E.export_html(_SCENE, _TRAJ, height=HUGE), ValueError, "height"),
        (lambda: E.export_html(_SCENE, _TRAJ, height="x"), TypeError, "height"),
        (lambda: E.render_png(_SCENE, _TRAJ, size=HUGE), ValueError, "size"),
        (lambda: E.render_png(_SCENE, _TRAJ, size=0), ValueError, "size"),
        (lambda: optviz.views.simulate_scenario(5), TypeError, "scenario"),
        (lambda: optviz.presets.get_preset("x"), optviz.arguments.UnknownNameError, "x"),
        (lambda: optviz.presets.get_preset(5), TypeError, "key"),
        (lambda: RunConfig.make(5), TypeError, "variant"),
        (lambda: Scenario(seed="3").validated(), ValueError, "seed"),
        (lambda: optviz.compile_formula(5), TypeError, "formula"),
        (lambda: optviz.surface_from_formula(5, ((-1, 1), (-1, 1))), TypeError, "formula"),
        (lambda: optviz.surface_from_formula("x", ((-1, 1), (-1, 1)), title=5), TypeError,
         "title"),
        (lambda: optviz.surface_from_formula("x", ((-1, 1), (-1, 1)), log_scale="x"),
         TypeError, "log_scale"),
    ],
)
def test_the_reviewed_cases_name_the_argument(call, error, names) -> None:
    with pytest.raises(error) as info:
        call()
    assert names in str(info.value)
    if error is TypeError:
        assert not isinstance(info.value, ValueError)
