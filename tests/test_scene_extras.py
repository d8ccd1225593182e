"""Run extras in the scene: a learning-rate schedule and gradient clipping, validated with
located problems, simulated, cached, and carried by the URL and the JSON document."""

from __future__ import annotations

import json
from dataclasses import replace

import numpy as np
import pytest
from hypothesis import HealthCheck, given, reject, settings
from hypothesis import strategies as st

from optviz import simulate
from optviz.optimizers.schedules import SCHEDULES, check_schedule
from optviz.scene import (
    DEFAULT_SCENARIO,
    RunConfig,
    Scenario,
    ScenarioError,
    from_json,
    from_query,
    scenario_from_dict_strict,
)
from optviz.scene.extras import read_schedule, schedule_call

COSINE = {"name": "CosineAnnealingLR", "T_max": 200}


def _arg(p) -> st.SearchStrategy:
    """A value of a schedule argument within its range (its default among them)."""
    if p.kind == "choice":
        return st.sampled_from(p.choices)
    if p.kind == "ints":
        return st.lists(st.integers(1, 3000), min_size=1, max_size=16, unique=True).map(sorted)
    if p.kind == "int":
        return st.integers(int(p.low), min(int(p.high), 3000))
    return st.floats(p.low, p.high, allow_nan=False) | st.just(p.default)


def _scene(*runs: RunConfig, steps: int = 300) -> Scenario:
    return replace(DEFAULT_SCENARIO, runs=runs, steps=steps).validated()


def _adam(**extras) -> RunConfig:
    return RunConfig("adam", (("lr", 0.05),), "", "", **extras)


def test_canonical_schedule_keeps_only_what_differs_from_the_defaults() -> None:
    got, problems = read_schedule({"name": "cosineannealinglr", "T_max": "200", "eta_min": 0},
                                  300, 0.05)
    assert problems == []
    assert got == (("name", "CosineAnnealingLR"), ("T_max", 200))
    got, _ = read_schedule([("name", "MultiStepLR"), ("milestones", "50/120"), ("gamma", 0.5)],
                           300, 0.05)
    assert got == (("name", "MultiStepLR"), ("milestones", (50, 120)), ("gamma", 0.5))
    assert schedule_call(got) == "MultiStepLR(milestones=50/120, gamma=0.5)"
    assert read_schedule(None, 300, 0.05) == (None, [])


def test_run_specs_pass_the_extras_and_simulate_them() -> None:
    run = _adam(schedule=COSINE, clip_norm="1", clip_value=0.5)
    scene = _scene(run, _adam())
    specs = scene.run_specs()
    assert specs[0][2] == {"schedule": {"name": "CosineAnnealingLR", "T_max": 200},
                           "clip_norm": 1.0, "clip_value": 0.5}
    assert specs[1][2] == {}
    got = simulate("rosenbrock", specs, scene.starts, steps=300)
    direct = simulate("rosenbrock", [("adam", {"lr": 0.05}, {
        "schedule": {"name": "CosineAnnealingLR", "T_max": 200},
        "clip_norm": 1.0, "clip_value": 0.5})], scene.starts, steps=300)
    np.testing.assert_array_equal(got.xy[0], direct.xy[0])
    assert np.abs(got.xy[0, 0, -1] - got.xy[1, 0, -1]).max() > 0.05  # the extras matter


def test_sim_key_changes_with_each_extra_and_labels_say_them() -> None:
    plain = _scene(_adam())
    keys = {plain.sim_key()}
    for extras in ({"schedule": COSINE}, {"schedule": {**COSINE, "T_max": 201}},
                   {"clip_norm": 1}, {"clip_value": 1}):
        keys.add(_scene(_adam(**extras)).sim_key())
    assert len(keys) == 5
    assert _scene(_adam(schedule=COSINE)).runs[0].display_label() == "Adam (lr=0.05, cosine)"
    label = _scene(_adam(schedule={"name": "warmup_cosine"}, clip_norm=2)).runs[0]
    assert label.display_label() == "Adam (lr=0.05, warm-up + cosine, clip ‖g‖≤2)"


def test_problems_are_located_in_the_run_and_the_argument() -> None:
    runs = (_adam(), _adam(schedule={**COSINE, "T_max": 0}, clip_norm=-1, clip_value="x"))
    with pytest.raises(ScenarioError) as err:
        _scene(*runs)
    locs = {p.loc: p.msg for p in err.value.problems}
    assert set(locs) == {("runs", 1, "schedule", "T_max"), ("runs", 1, "clip_norm"),
                         ("runs", 1, "clip_value")}
    assert "T_max must be between 1 and 100,000, got 0" in locs[("runs", 1, "schedule", "T_max")]
    assert locs[("runs", 1, "clip_norm")].startswith("clip_norm must be in (0, 1e6]")
    for schedule, loc in [({"name": "ReduceLROnPlateau"}, ("runs", 0, "schedule")),
                          ({**COSINE, "T_maxx": 3}, ("runs", 0, "schedule")),
                          ({"name": "StepLR", "gamma": 0}, ("runs", 0, "schedule", "gamma")),
                          ({"name": "MultiStepLR", "milestones": "5/3"},
                           ("runs", 0, "schedule", "milestones")),
                          ({"name": "OneCycleLR", "total_steps": 100},
                           ("runs", 0, "schedule", "total_steps"))]:
        with pytest.raises(ScenarioError) as err:
            _scene(_adam(schedule=schedule))
        assert [p.loc for p in err.value.problems] == [loc], schedule


def test_defaults_that_follow_the_run_follow_its_steps() -> None:
    scene = _scene(_adam(schedule={"name": "OneCycleLR"}), steps=120)
    assert scene.runs[0].schedule == (("name", "OneCycleLR"),)
    longer = replace(scene, steps=500).validated()  # total_steps follows: still valid
    assert longer.runs[0].schedule == (("name", "OneCycleLR"),)
    fixed = _scene(_adam(schedule={"name": "OneCycleLR", "total_steps": 120}), steps=120)
    with pytest.raises(ScenarioError) as err:
        replace(fixed, steps=500).validated()
    assert err.value.problems[0].loc == ("runs", 0, "schedule", "total_steps")


def test_url_carries_the_extras_compactly_and_only_when_set() -> None:
    scene = _scene(_adam(), _adam(schedule={**COSINE, "eta_min": 0.0}, clip_norm=1.0),
                   _adam(schedule={"name": "MultiStepLR", "milestones": [50, 120]},
                         clip_value=0.25))
    q = scene.to_query()
    assert {k: v for k, v in q.items() if k[:-1] in ("schedule", "clip_norm", "clip_value")} == {
        "schedule2": "CosineAnnealingLR:T_max=200", "clip_norm2": "1",
        "schedule3": "MultiStepLR:milestones=50/120", "clip_value3": "0.25"}
    assert from_query(q) == (scene, [])
    assert "schedule1" not in _scene(_adam()).to_query()


def test_url_bad_extra_falls_back_with_one_warning_naming_it() -> None:
    q = {"run": "sgd;adam:lr=0.05", "schedule2": "CosineAnnealingLR:T_max=0",
         "clip_norm1": "-1", "clip_value2": "abc", "schedule3": "StepLR"}
    scene, warnings = from_query(q)
    assert [r.variant for r in scene.runs] == ["sgd", "adam"]
    assert all(r.extras() == {} for r in scene.runs)
    assert sorted(w.split(":")[0] for w in warnings) == ["clip_norm1", "clip_value2",
                                                         "schedule2", "schedule3"]
    assert any(w.startswith("schedule2: T_max must be between 1 and 100,000, got 0; using no "
                            "schedule") for w in warnings), warnings
    scene, warnings = from_query({"run": "adam", "schedule1": "Nope:x=1,T_max"})
    assert warnings == ["schedule1: 'T_max' is not name=value; using no schedule"]
    scene, warnings = from_query({"run": "adam", "schedule1": "Nope"})
    assert len(warnings) == 1 and warnings[0].startswith("schedule1: unknown schedule 'Nope'")


def test_json_writes_the_whole_schedule_and_reads_it_back() -> None:
    scene = _scene(_adam(schedule={"name": "OneCycleLR", "pct_start": 0.5}, clip_value=2))
    doc = json.loads(scene.to_json())
    run = doc["runs"][0]
    assert run["schedule"] == {"name": "OneCycleLR", "max_lr": None, "total_steps": None,
                               "pct_start": 0.5, "anneal_strategy": "cos", "div_factor": 25.0,
                               "final_div_factor": 10000.0}
    assert run["clip_value"] == 2.0 and "clip_norm" not in run
    assert from_json(scene.to_json()) == (scene, [])
    assert "schedule" not in json.loads(_scene(_adam()).to_json())["runs"][0]
    run["schedule"]["pct_start"] = 2
    back, warnings = from_json(json.dumps(doc))
    assert back.runs[0].schedule is None and back.runs[0].clip_value == 2.0
    assert warnings == ["run 1: pct_start must be in [0, 1], got 2.0; using no schedule"]


def test_strict_reader_refuses_a_bad_extra_with_its_location() -> None:
    doc = json.loads(_scene(_adam(schedule=COSINE)).to_json())
    doc.pop("optviz")
    assert scenario_from_dict_strict(doc).runs[0].schedule == (("name", "CosineAnnealingLR"),
                                                                ("T_max", 200))
    doc["runs"][0]["schedule"]["T_max"] = -1
    with pytest.raises(ScenarioError) as err:
        scenario_from_dict_strict(doc)
    assert [p.loc for p in err.value.problems] == [("runs", 0, "schedule", "T_max")]


def test_make_takes_extras_and_refuses_unknown_ones() -> None:
    run = RunConfig.make("sgd", {"lr": 0.01}, extras={"clip_value": 1})
    assert run.clip_value == 1.0 and run.extras() == {"clip_value": 1.0}
    with pytest.raises(ValueError, match="clip"):
        RunConfig.make("sgd", extras={"clip": 1})
    with pytest.raises(TypeError):
        RunConfig.make("sgd", extras=[("clip_norm", 1)])  # type: ignore[arg-type]


def test_a_schedule_needs_a_learning_rate() -> None:
    """vSGD has no ``lr`` in its parameter groups: torch's schedulers would fail on it."""
    with pytest.raises(ScenarioError) as err:
        _scene(RunConfig("vsgd", (), "", "", {"name": "StepLR"}))
    assert [p.as_dict() for p in err.value.problems] == [
        {"loc": ("runs", 0, "schedule"), "msg": "vSGD has no learning rate to schedule"}]
    assert _scene(RunConfig("vsgd", (), "", "", None, 1.0)).runs[0].clip_norm == 1.0


@settings(max_examples=150, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
@given(st.sampled_from(list(SCHEDULES)).flatmap(
    lambda name: st.fixed_dictionaries({"name": st.just(name)}, optional={
        p.name: _arg(p) for p in SCHEDULES[name][0]})),
    st.none() | st.floats(1e-6, 1e6), st.none() | st.floats(1e-6, 1e6),
    st.integers(1, 3000))
def test_every_schedule_round_trips_through_the_url_and_the_json(
    schedule: dict, clip_norm: float | None, clip_value: float | None, steps: int
) -> None:
    run = _adam(schedule=schedule, clip_norm=clip_norm, clip_value=clip_value)
    try:
        scene = _scene(run, steps=steps)
    except ScenarioError as err:  # a drawn argument that does not fit (e.g. warm-up ≥ steps)
        assert all(p.loc[2] == "schedule" for p in err.problems), err
        reject()
    assert scene.runs[0].schedule[0] == ("name", schedule["name"])
    query = scene.to_query()
    assert from_query(query) == (scene, [])
    assert from_query(query)[0].to_query() == query
    assert from_json(scene.to_json()) == (scene, [])
    assert scene.run_specs()[0][2]["schedule"]["name"] == schedule["name"]


def test_a_short_run_with_its_own_t_max_round_trips_through_json() -> None:
    # warmup (20 by default) alone would leave T_max = steps - 20 < 1; T_max is given, so the
    # complete JSON form (warmup written out) must read back without a warning
    scene = Scenario(runs=(RunConfig("sgd", schedule=(("name", "warmup_cosine"),
                                                      ("T_max", 1))),), steps=1).validated()
    assert Scenario.from_json(scene.to_json()) == (scene, [])


def test_a_schedule_that_zeroes_lbfgs_line_searched_lr_is_refused_in_words() -> None:
    """torch's strong-Wolfe line search divides by a zero step (ZeroDivisionError): the
    scene and ``simulate`` refuse it up front, and say what to change."""
    hp = {"lr": 0.01, "max_iter": 3, "line_search_fn": "strong_wolfe"}
    cosine = {"name": "CosineAnnealingLR", "T_max": 20}
    with pytest.raises(ValueError, match=r"reaches 0 at step 21.*eta_min above 0"):
        simulate("rosenbrock", [("lbfgs", hp, {"schedule": cosine})], [(-1.5, 2)], 30)
    lbfgs = RunConfig("lbfgs", tuple(hp.items()), "", "", schedule=tuple(cosine.items()))
    with pytest.raises(ScenarioError) as err:
        _scene(lbfgs, steps=30)
    assert [p.loc for p in err.value.problems] == [("runs", 0, "schedule")]
    assert "strong-Wolfe" in err.value.problems[0].msg
    # what the message suggests works: eta_min above 0, a schedule that ends first, no search
    for extras, kw in [({"schedule": {**cosine, "eta_min": 1e-4}}, hp),
                       ({"schedule": cosine}, {**hp, "line_search_fn": None})]:
        t = simulate("rosenbrock", [("lbfgs", kw, extras)], [(-1.5, 2)], 30)
        assert np.isfinite(t.xy).all()
    _scene(replace(lbfgs, schedule=(("name", "CosineAnnealingLR"), ("T_max", 40))), steps=30)


@pytest.mark.parametrize("name", sorted(SCHEDULES))
def test_a_line_searched_lbfgs_schedule_named_alone_is_checked_with_its_defaults(name) -> None:
    """A scene's canonical schedule leaves out the arguments at their defaults; the strong-Wolfe
    check fills them in (it once built ``StepLR`` without its ``step_size``: TypeError, found
    by the scene round-trip property test)."""
    hp = {"lr": 0.01, "max_iter": 3, "line_search_fn": "strong_wolfe"}
    lbfgs = RunConfig("lbfgs", tuple(hp.items()), "", "", schedule=(("name", name),))
    scene = _scene(lbfgs, steps=30)
    full = check_schedule({"name": name}, 30, 0.01)
    assert np.isfinite(simulate("rosenbrock", [("lbfgs", hp, {"schedule": full})],
                                [(-1.5, 2)], 30).xy).all()
    assert Scenario.from_json(scene.to_json()) == (scene, [])
