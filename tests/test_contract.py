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
