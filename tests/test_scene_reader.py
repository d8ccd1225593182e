"""The dict reader (lenient and strict) and the Problem type: locations, not message text."""

from __future__ import annotations

import pytest

from optviz.limits import MAX_SCENE_STEPS, MAX_STEPS
from optviz.scene import (
    DEFAULT_SCENARIO,
    PALETTE,
    Problem,
    Scenario,
    ScenarioError,
    scenario_from_dict,
    scenario_from_dict_strict,
    where,
)

PRESET_LIKE = {
    "surface": "beale",
    "starts": [[1.0, 1.5]],
    "steps": 200,
    "runs": [
        {"variant": "adam", "hparams": {"lr": 0.05, "betas": [0.9, 0.99]}, "label": "Adam"},
        {"optimizer": "sgd", "hparams": {"lr": 0.001}},
    ],
}


def test_a_plain_dict_reads_into_a_validated_scene() -> None:
    scene, warnings = scenario_from_dict(PRESET_LIKE)
    assert warnings == []
    assert scene == scenario_from_dict_strict(PRESET_LIKE) == scene.validated()
    assert scene.surface == "beale" and scene.starts == ((1.0, 1.5),) and scene.steps == 200
    adam, sgd = scene.runs
    assert dict(adam.hparams)["betas"] == (0.9, 0.99) and adam.label == "Adam"
    assert sgd.variant == "sgd" and sgd.color == PALETTE[1]
    assert scenario_from_dict({}) == (DEFAULT_SCENARIO, [])


def test_strict_reading_reports_every_problem_with_its_location() -> None:
    doc = {**PRESET_LIKE, "steps": 0, "colour": "red",
           "runs": [{"variant": "adam", "hparams": {"lr": -1, "eps": "x"}},
                    {"variant": "sgd", "color": "blue", "speed": 3}],
           "starts": [[1.0, 1.5], [99.0, 0.0]]}
    with pytest.raises(ScenarioError) as info:
        scenario_from_dict_strict(doc)
    locs = {p.loc for p in info.value.problems}
    assert locs == {("colour",), ("steps",), ("runs", 0, "lr"), ("runs", 0, "eps"),
                    ("runs", 1, "color"), ("runs", 1, "speed"), ("starts", 1)}
    assert all(set(e) == {"loc", "msg"} for e in info.value.errors())
    # the lenient reader falls back field by field, one warning each
    scene, warnings = scenario_from_dict(doc)
    assert scene.steps == 300 and scene.starts == ((1.0, 1.5),)
    assert [r.variant for r in scene.runs] == ["sgd"] and scene.runs[0].color == PALETTE[1]
    assert sorted(w.split(":")[0] for w in warnings) == [
        "'colour'", "run 1", "run 2", "run 2", "start 2", "steps"]


def test_readers_refuse_a_wrong_type_with_type_error() -> None:
    for bad in (None, 5, "surface=beale", [("steps", 3)]):
        with pytest.raises(TypeError, match="doc must be a mapping"):
            scenario_from_dict(bad)  # type: ignore[arg-type]
        with pytest.raises(TypeError, match="params must be a mapping"):
            Scenario.from_query(bad)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="text must be str or bytes"):
        Scenario.from_json(5)  # type: ignore[arg-type]


def test_problem_locations_read_as_words() -> None:
    assert where(("runs", 1, "lr")) == "run 2"
    assert where(("starts", 0)) == "start 1"
    assert where(("steps",)) == "steps"
    assert where(()) == "scene"
    p = Problem(("runs", 1, "lr"), "lr = 50.0 is outside [1e-06, 10]")
    assert str(p) == "run 2: lr = 50.0 is outside [1e-06, 10]"
    err = ScenarioError([p, Problem(("seed",), "-1 is outside [0, 2147483647]")])
    assert isinstance(err, ValueError) and len(err.problems) == 2
    assert str(err) == f"{p}; seed: -1 is outside [0, 2147483647]"
    assert ScenarioError("x", ("json",)).problems == (Problem(("json",), "x"),)


def test_one_set_of_limits() -> None:
    import optviz.runner as runner
    from optviz import domain, limits, surfaces
    from optviz.scene import values

    assert runner.MAX_STEPS is limits.MAX_STEPS == 10_000
    assert MAX_SCENE_STEPS == 5_000 <= MAX_STEPS
    assert runner.MAX_SEED is limits.MAX_SEED == 2**31 - 1
    assert surfaces.validate_domain is values.validate_domain is domain.validate_domain
    with pytest.raises(ValueError, match="domain"):
        surfaces.validate_domain(((0, 10**400), (0, 1)))
    with pytest.raises(ValueError, match=r"domain: x bounds must lie in \[-10000, 10000\]"):
        surfaces.surface_from_formula("x", ((0, 2e4), (0, 1)))


def test_run_config_refuses_wrong_types_and_values_by_name() -> None:
    from optviz.scene import RunConfig

    with pytest.raises(TypeError, match="hparams must be a mapping"):
        RunConfig.make("adam", 5)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="slot must be an int"):
        RunConfig.make("adam", slot="x")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="slot must be 0 or more"):
        RunConfig.make("adam", slot=-1)
    with pytest.raises(ScenarioError, match=r"run 1: lr: .* too large") as info:
        RunConfig.make("adam", {"lr": 10**400})
    assert info.value.problems[0].loc == ("runs", 0, "lr")
