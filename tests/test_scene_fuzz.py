"""The input contract of the scene readers, fuzzed (2,300 generated inputs, a few seconds).

Allowed outcomes only: a reader of a URL query or a scene dict returns a validated scene and
warnings (never raises for the content); the JSON reader returns the same or raises
``ScenarioError`` (a ``ValueError``) for a document that is not a scene; ``Scenario(...)
.validated()`` returns a scene or raises ``ScenarioError`` whose problems name their fields;
the CLI ends with status 0 or 2 and prints no traceback. Hostile values include 400-digit
integers anywhere a number is read, NaN/inf, numeric text such as ``1e999``, wrong types and
nested junk.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import tempfile

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from optviz.cli import main
from optviz.scene import (
    DEFAULT_SCENARIO,
    RunConfig,
    Scenario,
    ScenarioError,
    from_json,
    from_query,
    scenario_from_dict,
)
from optviz.scene.reader import SCENE_KEYS

BIG = 10**400


def _fuzz(n: int) -> settings:
    return settings(max_examples=n, deadline=None, suppress_health_check=list(HealthCheck),
                    derandomize=True, database=None)


numeric_text = st.sampled_from(
    ["1e999", "9" * 400, "-" + "9" * 45, "nan", "inf", "-0", "0x10", "1_0", "", " ", "0.05",
     "1", "-1.5", "2", "300", "0.9/0.999", "1,2", "-1.5,2;0,0", "true", "none", "#ff0000"]
)
scalar = st.one_of(
    st.just(BIG), st.just(-BIG), st.integers(-(2**70), 2**70), st.floats(), st.booleans(),
    st.none(), st.text(max_size=12), numeric_text,
)
junk = st.recursive(
    scalar,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner,
                                                                 max_size=3),
    max_leaves=6,
)
point = st.lists(scalar, min_size=2, max_size=2) | junk
hp_names = st.sampled_from(["lr", "betas", "momentum", "max_iter", "amsgrad", "nesterov",
                            "line_search_fn", "history_size", "eps", "foo"])
hp_value = scalar | st.lists(scalar, min_size=2, max_size=2) | junk
run_dict = st.fixed_dictionaries(
    {},
    optional={
        "variant": st.sampled_from(["sgd", "adam", "lbfgs", "momentum", "nope"]) | junk,
        "optimizer": st.sampled_from(["sgd", "adam"]) | junk,
        "hparams": st.dictionaries(hp_names, hp_value, max_size=3) | junk,
        "color": st.sampled_from(["#ff0000", "00ff00", "red"]) | junk,
        "label": st.sampled_from(["fast", "[click me](https://x.test)", "a\nb"]) | junk,
        "schedule": st.fixed_dictionaries(
            {"name": st.sampled_from(["CosineAnnealingLR", "OneCycleLR", "MultiStepLR",
                                      "warmup_cosine", "steplr", "ReduceLROnPlateau"]) | junk},
            optional={"T_max": scalar, "total_steps": scalar, "milestones": junk,
                      "warmup": scalar, "gamma": scalar, "anneal_strategy": scalar,
                      "nope": scalar}) | junk,
        "clip_norm": scalar | junk,
        "clip_value": scalar | junk,
    },
)
formulas = st.sampled_from(["x**2 + y**2", "log(x) + y", "x**2 - y**2", "__import__('os')"])
domains = st.sampled_from([[[-1, 1], [-1, 1]], [[0, BIG], [0, 1]], [[1, -1], [0, 1]],
                           "-2,2;-1,3"]) | junk
scene_dict = st.fixed_dictionaries(
    {},
    optional={
        "surface": st.sampled_from(["rosenbrock", "beale", "custom", "nope"]) | junk,
        "formula": formulas | junk,
        "domain": domains,
        "starts": st.lists(point, max_size=3) | junk,
        "steps": scalar | junk,
        "seed": scalar | junk,
        "noise": scalar | junk,
        "runs": st.lists(run_dict, max_size=3) | junk,
        "stepz": scalar,
    },
)


def _is_clean(scene: object, warnings: object) -> None:
    assert isinstance(scene, Scenario)
    assert scene.validated() == scene
    assert isinstance(warnings, list) and all(isinstance(w, str) for w in warnings)
    assert all("\n" not in w and len(w) < 2000 for w in warnings), warnings


@_fuzz(700)
@given(scene_dict)
def test_scene_dict_reader_always_gives_a_valid_scene(doc: dict) -> None:
    _is_clean(*scenario_from_dict(doc))


@_fuzz(500)
@given(scene_dict, st.booleans(), st.sampled_from(["", "steps", "runs"]))
def test_json_reader_gives_a_scene_or_a_scenario_error(doc: dict, bom: bool, dup: str) -> None:
    text = json.dumps(doc, allow_nan=True)
    if dup and text.startswith("{") and len(text) > 2:
        text = '{"' + dup + '": 1, ' + text[1:]  # a key given twice (the later one wins)
    data: str | bytes = ("\ufeff" + text).encode() if bom else text
    try:
        _is_clean(*from_json(data))
    except ScenarioError as exc:
        assert isinstance(exc, ValueError) and exc.problems
        assert all(p.loc == ("json",) for p in exc.problems)


@_fuzz(500)
@given(st.dictionaries(
    st.sampled_from(["surface", "formula", "domain", "start", "steps", "seed", "noise", "run",
                     "color1", "label2", "color9", "x", "schedule1", "schedule2",
                     "clip_norm1", "clip_value1"]),
    numeric_text | st.text(max_size=40) | st.lists(numeric_text, max_size=3)
    | st.sampled_from(["adam:lr=" + "9" * 400, "lbfgs:max_iter=" + "9" * 30, "sgd:lr=1e999",
                       "adam:betas=1e999/0.9", "adam:lr", "custom", "CosineAnnealingLR",
                       "OneCycleLR:total_steps=10", "MultiStepLR:milestones=5/3",
                       "MultiStepLR:milestones=" + "9/" * 30, "StepLR:gamma=0,step_size=",
                       "warmup_cosine:warmup=99999", "StepLR:step_size=1e999", "StepLR:x"]),
))
def test_url_reader_always_gives_a_valid_scene(query: dict) -> None:
    _is_clean(*from_query(query))


@_fuzz(400)
@given(st.fixed_dictionaries({}, optional={
    "surface": st.sampled_from(["rosenbrock", "custom"]) | scalar,
    "formula": formulas | scalar,
    "domain": domains,
    "runs": st.lists(st.builds(RunConfig, st.sampled_from(["adam", "sgd", "nope"]) | scalar,
                               st.dictionaries(hp_names, hp_value, max_size=2) | junk,
                               st.just("") | scalar, st.just("") | scalar,
                               st.none() | junk, scalar, scalar), max_size=3)
    | junk,
    "starts": st.lists(point, max_size=3) | junk,
    "steps": scalar, "seed": scalar, "noise": scalar,
}))
def test_scenario_construction_validates_or_names_the_field(kwargs: dict) -> None:
    try:
        scene = Scenario(**kwargs).validated()
    except ScenarioError as exc:
        assert exc.problems
        for p in exc.problems:
            assert p.loc and p.loc[0] in SCENE_KEYS, p
            assert isinstance(p.msg, str) and p.msg
    else:
        assert scene.validated() == scene


@_fuzz(200)
@given(scene_dict, st.booleans())
def test_cli_loader_is_status_0_or_2_and_never_a_traceback(doc: dict, bom: bool) -> None:
    text = json.dumps(doc, allow_nan=True)
    fd, path = tempfile.mkstemp(suffix=".json")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write((("\ufeff" if bom else "") + text).encode())
        out, err = io.StringIO(), io.StringIO()
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            status = main(["code", path, "--run", "1"])
    finally:
        os.unlink(path)
    assert status in (0, 2)
    lines = err.getvalue().splitlines()
    assert all(line.startswith("optviz: ") for line in lines), lines
    if status == 2:
        assert sum(line.startswith("optviz: error: ") for line in lines) == 1
    else:
        assert "import torch" in out.getvalue()


def test_a_400_digit_integer_is_a_warning_naming_the_field_everywhere() -> None:
    for key, value in [("noise", BIG), ("starts", [[BIG, 0]]), ("steps", BIG), ("seed", BIG),
                       ("runs", [{"variant": "adam", "hparams": {"lr": BIG}}]),
                       ("runs", [{"variant": "adam", "hparams": {"betas": [0.9, BIG]}}])]:
        doc = {key: value}
        scene, warnings = from_json(json.dumps(doc))
        assert scene == DEFAULT_SCENARIO, key
        assert len(warnings) == 1, warnings
        name = {"starts": "start 1", "runs": "run 1"}.get(key, key)
        assert warnings[0].startswith(name), warnings
    doc = {"surface": "custom", "formula": "x**2", "domain": [[0, BIG], [0, 1]],
           "starts": [[0.5, 0.5]]}
    scene, warnings = from_json(json.dumps(doc))
    assert scene.domain == ((-3.0, 3.0), (-3.0, 3.0)) and warnings[0].startswith("domain")
    scene, warnings = from_query({"noise": "9" * 400, "start": "1e999,0"})
    assert scene == DEFAULT_SCENARIO
    assert sorted(w.split(":")[0] for w in warnings) == ["noise", "start 1"]


def test_byte_order_mark_and_duplicate_keys_read_as_in_the_url() -> None:
    text = DEFAULT_SCENARIO.to_json()
    assert from_json(("\ufeff" + text).encode()) == (DEFAULT_SCENARIO, [])
    assert from_json("\ufeff" + text) == (DEFAULT_SCENARIO, [])
    scene, warnings = from_json('{"steps": 10, "steps": 20}')
    url_scene, url_warnings = from_query({"steps": ["10", "20"]})
    assert scene.steps == url_scene.steps == 20
    assert warnings == url_warnings == ["steps: given 2 times; using the last one"]


def test_a_hyperparameter_given_twice_reads_alike_in_json_and_url() -> None:
    scene, warnings = from_json(
        '{"runs": [{"variant": "adam", "hparams": {"lr": 0.01, "lr": 0.02}}]}')
    url_scene, url_warnings = from_query({"run": "adam:lr=0.01,lr=0.02"})
    assert dict(scene.runs[0].hparams)["lr"] == dict(url_scene.runs[0].hparams)["lr"] == 0.02
    assert warnings == url_warnings == ["run 1: lr given 2 times; using the last one"]
    _, warnings = from_json('{"runs": [{"variant": "sgd", "variant": "adam"}]}')
    assert warnings == ["run 1: variant given 2 times; using the last one"]
