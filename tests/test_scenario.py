"""Scenario: validation, canonical URL query and JSON round trips, hostile input."""

from __future__ import annotations

import itertools
import json
import math
from dataclasses import replace

import pytest
from hypothesis import HealthCheck, given, reject, settings
from hypothesis import strategies as st

from optviz.optimizers import get_optimizer, get_variant, list_variants
from optviz.optimizers.schedules import SCHEDULES
from optviz.scene import (
    CUSTOM,
    DEFAULT_CUSTOM_DOMAIN,
    DEFAULT_RUNS,
    DEFAULT_SCENARIO,
    MAX_QUERY_CHARS,
    MAX_RUNS,
    MAX_STARTS,
    PALETTE,
    RunConfig,
    Scenario,
    ScenarioError,
)
from optviz.surfaces import get_surface, list_surfaces

ROSENBROCK_DOMAIN = get_surface("rosenbrock").domain

# ---------------------------------------------------------------------------------------------
# strategies: random valid scenarios drawn from the real registries


def _bounds(h, fallback: float) -> tuple[float, float]:
    low = -fallback if h.low is None else h.low
    high = fallback if h.high is None else h.high
    return float(low), float(high)


def _value(h) -> st.SearchStrategy:
    if h.kind == "bool":
        return st.booleans()
    if h.kind == "int":
        low, high = _bounds(h, 1000)
        return st.integers(math.ceil(low), math.floor(high))
    low, high = _bounds(h, 1e3)
    floats = st.floats(low, high, allow_nan=False, allow_infinity=False)
    if h.kind == "pair":
        return st.tuples(floats, floats)
    return floats


_label = st.text(
    alphabet=st.characters(categories=("L", "N", "P", "S")) | st.just(" "), max_size=40
).map(str.strip)
_color = st.integers(0, 0xFFFFFF).map(lambda n: f"#{n:06x}")


def _schedule_value(p) -> st.SearchStrategy:
    if p.kind == "choice":
        return st.sampled_from(p.choices)
    if p.kind == "int":
        return st.integers(int(p.low), min(int(p.high), 2000))
    if p.kind == "ints":
        return st.lists(st.integers(1, 2000), min_size=1, max_size=16, unique=True).map(
            lambda xs: tuple(sorted(xs)))
    return st.floats(p.low, p.high, allow_nan=False, allow_infinity=False)


@st.composite
def schedules(draw) -> dict | None:
    """None (most often) or a schedule with some arguments set, any of them at its default."""
    if draw(st.integers(0, 2)) == 0:
        return None
    name = draw(st.sampled_from(list(SCHEDULES)))
    out: dict = {"name": name}
    for p in SCHEDULES[name][0]:
        if draw(st.booleans()):
            out[p.name] = p.default if draw(st.booleans()) and p.default is not None \
                else draw(_schedule_value(p))
    return out


_clip = st.none() | st.floats(1e-6, 1e6, allow_nan=False, exclude_min=False)


@st.composite
def run_configs(draw, slot: int = 0) -> RunConfig:
    variant = draw(st.sampled_from(list_variants()))
    spec = get_optimizer(get_variant(variant).optimizer)
    hparams = {}
    for h in spec.hyperparameters:
        if draw(st.booleans()):
            hparams[h.name] = draw(_value(h))
    color = draw(st.just("") | _color)
    label = draw(st.just("") | _label)
    extras = (draw(schedules()), draw(_clip), draw(_clip))
    try:
        return RunConfig(variant, tuple(hparams.items()), color, label, *extras).validated(slot)
    except ScenarioError:  # a combination the registry refuses (e.g. nesterov without momentum)
        reject()


_FORMULAS = ("x**2 + 3*y**2", "sin(x) + y**2", "(x - 1)**2 + (y + 0.5)**2")


@st.composite
def surfaces(draw) -> tuple[str, str | None, tuple | None, tuple]:
    if draw(st.integers(0, 5)) == 0:
        formula = draw(st.sampled_from(_FORMULAS))
        x0 = draw(st.floats(-50, 49, allow_nan=False))
        y0 = draw(st.floats(-50, 49, allow_nan=False))
        domain = ((x0, x0 + draw(st.floats(0.5, 50))), (y0, y0 + draw(st.floats(0.5, 50))))
        return CUSTOM, formula, domain, domain
    name = draw(st.sampled_from(list_surfaces()))
    return name, None, None, get_surface(name).domain


@st.composite
def scenarios(draw) -> Scenario:
    surface, formula, domain, window = draw(surfaces())
    (x0, x1), (y0, y1) = window
    point = st.tuples(st.floats(x0, x1, allow_nan=False), st.floats(y0, y1, allow_nan=False))
    n_runs = draw(st.integers(1, MAX_RUNS))
    runs = tuple(draw(run_configs(slot=i)) for i in range(n_runs))
    scenario = Scenario(
        surface=surface,
        formula=formula,
        domain=domain,
        runs=runs,
        starts=tuple(draw(st.lists(point, min_size=1, max_size=MAX_STARTS))),
        steps=draw(st.integers(1, 5000)),
        seed=draw(st.integers(0, 2**31 - 1)),
        noise=draw(st.none() | st.floats(0, 100, allow_nan=False)),
    )
    try:
        return scenario.validated()
    except ScenarioError as err:  # only the L-BFGS work budget may refuse a drawn scene,
        # or a schedule that does not fit the drawn steps (OneCycleLR's total_steps, a warm-up
        # as long as the run)
        assert all("L-BFGS" in p.msg or "schedule" in p.loc for p in err.problems), err
        reject()


_SETTINGS = settings(
    max_examples=100,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)


# ---------------------------------------------------------------------------------------------
# round trips


@_SETTINGS
@given(scenarios())
def test_query_round_trip_is_exact_and_canonical(scenario: Scenario) -> None:
    query = scenario.to_query()
    assert all(isinstance(k, str) and isinstance(v, str) for k, v in query.items())
    assert sum(len(k) + len(v) + 2 for k, v in query.items()) < MAX_QUERY_CHARS
    back, warnings = Scenario.from_query(query)
    assert warnings == []
    assert back == scenario
    assert hash(back) == hash(scenario)
    assert back.to_query() == query


@_SETTINGS
@given(scenarios())
def test_json_round_trip_is_exact(scenario: Scenario) -> None:
    text = scenario.to_json()
    doc = json.loads(text)
    assert doc["optviz"] == 1
    for run, cfg in zip(doc["runs"], scenario.runs, strict=True):
        assert set(run["hparams"]) == {h.name for h in cfg.spec.hyperparameters}  # full
    back, warnings = Scenario.from_json(text)
    assert warnings == []
    assert back == scenario
    assert back.to_json() == text


@_SETTINGS
@given(scenarios())
def test_validated_is_idempotent_and_hashable(scenario: Scenario) -> None:
    assert scenario.validated() == scenario
    assert {scenario: 1}[scenario.validated()] == 1
    for run in scenario.runs:
        names = [name for name, _ in run.hparams]
        assert names == sorted(names)
        assert set(names) == {h.name for h in run.spec.hyperparameters}  # complete


def test_query_writes_only_what_differs_from_defaults() -> None:
    run = RunConfig.make("adam", {"lr": 0.02, "betas": (0.8, 0.999), "amsgrad": True})
    assert run.query_token() == "adam:lr=0.02,amsgrad=true,betas=0.8/0.999"
    assert RunConfig.make("adam").query_token() == "adam"
    assert RunConfig.make("amsgrad").query_token() == "amsgrad"  # its override is its default
    assert RunConfig.make("lbfgs", {"line_search_fn": None}).query_token() == (
        "lbfgs:line_search_fn=none"
    )
    scenario = replace(DEFAULT_SCENARIO, runs=(run, RunConfig.make("sgd", slot=1))).validated()
    query = scenario.to_query()
    assert not any(k.startswith(("color", "label")) for k in query)  # palette colours, no labels
    recoloured = replace(
        scenario, runs=(replace(run, color="#123abc", label="mine"), scenario.runs[1])
    ).validated()
    query = recoloured.to_query()
    assert query["color1"] == "123abc"
    assert query["label1"] == "mine"
    assert "color2" not in query


def test_query_numbers_are_exact() -> None:
    scenario = replace(DEFAULT_SCENARIO, starts=((0.1 + 0.2, -1 / 3),), noise=1e-7).validated()
    back, warnings = Scenario.from_query(scenario.to_query())
    assert warnings == []
    assert back.starts == ((0.1 + 0.2, -1 / 3),)
    assert back.noise == 1e-7


def test_custom_surface_round_trip() -> None:
    scenario = Scenario(
        surface=CUSTOM, formula="  x**2 + 3*y**2 ", domain=((-2, 2), (-1, 3)), starts=((1, 1),)
    ).validated()
    assert scenario.formula == "x**2 + 3*y**2"
    assert scenario.domain == ((-2.0, 2.0), (-1.0, 3.0))
    query = scenario.to_query()
    assert query["formula"] == "x**2 + 3*y**2"
    assert query["domain"] == "-2,2;-1,3"
    assert Scenario.from_query(query) == (scenario, [])
    assert Scenario.from_json(scenario.to_json()) == (scenario, [])
    # a formula alone means a custom surface on the default custom window
    alone, warnings = Scenario.from_query({"formula": "x**2 + y**2", "start": "1,1"})
    assert warnings == []
    assert alone.surface == CUSTOM
    assert alone.plot_domain() == DEFAULT_CUSTOM_DOMAIN


# ---------------------------------------------------------------------------------------------
# the default scene


def test_default_scenario() -> None:
    assert DEFAULT_SCENARIO.validated() == DEFAULT_SCENARIO
    assert Scenario() == DEFAULT_SCENARIO
    assert Scenario.from_query({}) == (DEFAULT_SCENARIO, [])
    assert DEFAULT_SCENARIO.surface == "rosenbrock"
    assert DEFAULT_SCENARIO.starts == ((-1.5, 2.0),)
    assert DEFAULT_SCENARIO.steps == 300
    assert [r.variant for r in DEFAULT_SCENARIO.runs] == ["sgd", "momentum", "rmsprop", "adam"]
    assert [r.color for r in DEFAULT_SCENARIO.runs] == list(PALETTE[:4])
    assert DEFAULT_SCENARIO.runs[3].display_label() == "Adam (lr=0.05)"
    assert Scenario.from_json(DEFAULT_SCENARIO.to_json()) == (DEFAULT_SCENARIO, [])


def test_default_runs_show_their_character() -> None:
    """300 steps from (-1.5, 2) on Rosenbrock: every run makes visible progress, and the final
    losses order as the story goes: Momentum (overshoots, then speeds along the valley) < Adam <
    RMSprop (steady paces) < SGD (crawls); SGD travels the least, Momentum the most."""
    from optviz.runner import simulate

    s = DEFAULT_SCENARIO
    r = simulate(s.surface, s.run_specs(), s.starts, steps=s.steps, seed=s.seed, noise=s.noise)
    assert (r.diverged_at == -1).all()
    xy = r.xy[:, 0]  # (run, step, 2)
    final_loss = r.loss[:, 0, -1]
    travelled = [float(sum(math.dist(a, b) for a, b in itertools.pairwise(p))) for p in xy]
    sgd, momentum, rmsprop, adam = range(4)
    assert all(math.dist(p[0], p[-1]) > 0.4 for p in xy)  # everyone visibly moves
    assert final_loss[momentum] < final_loss[adam] < final_loss[rmsprop] < final_loss[sgd]
    assert min(travelled) == travelled[sgd]
    assert max(travelled) == travelled[momentum]
    ends = xy[:, -1]
    assert min(math.dist(ends[i], ends[j]) for i in range(4) for j in range(i)) > 0.3


def _lab(color: str) -> tuple[float, float, float]:
    """sRGB -> CIE L*a*b* (D65)."""

    def lin(c: float) -> float:
        return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b = (lin(int(color[i : i + 2], 16) / 255) for i in (1, 3, 5))
    x = (0.4124 * r + 0.3576 * g + 0.1805 * b) / 0.95047
    y = 0.2126 * r + 0.7152 * g + 0.0722 * b
    z = (0.0193 * r + 0.1192 * g + 0.9505 * b) / 1.08883

    def f(t: float) -> float:
        return t ** (1 / 3) if t > 0.008856 else 7.787 * t + 16 / 116

    return 116 * f(y) - 16, 500 * (f(x) - f(y)), 200 * (f(y) - f(z))


_VIRIDIS = (
    "#440154",
    "#482878",
    "#3e4989",
    "#31688e",
    "#26828e",
    "#1f9e89",
    "#35b779",
    "#6ece58",
    "#b5de2b",
    "#fde725",
)  # matplotlib's viridis at 0, 1/9, ..., 1


def test_palette_is_distinct_and_readable_over_viridis() -> None:
    assert len(PALETTE) == 8
    assert all(len(c) == 7 and c[0] == "#" and c == c.lower() for c in PALETTE)
    labs = [_lab(c) for c in PALETTE]
    viridis = [_lab(c) for c in _VIRIDIS]
    # CIE76 here; tests/test_palette.py checks the stated CIEDE2000 minima, with simulated
    # deuteranopia and protanopia and the lightened landscape colours
    assert min(math.dist(a, b) for i, a in enumerate(labs) for b in labs[:i]) > 32
    assert min(math.dist(a, v) for a in labs for v in viridis) > 19
    white = _lab("#ffffff")  # the loss chart and the legend are drawn on white
    assert min(math.dist(a, white) for a in labs) > 44


# ---------------------------------------------------------------------------------------------
# validation errors name the field


@pytest.mark.parametrize(
    ("changes", "loc", "match"),
    [
        ({"surface": "nope"}, ("surface",), r"surface: unknown surface 'nope'"),
        ({"surface": CUSTOM}, ("formula",), r"formula"),
        ({"surface": CUSTOM, "formula": "__import__('os')"}, ("formula",), r"formula"),
        ({"formula": "x**2"}, ("formula",), r"formula: only used with surface='custom'"),
        (
            {"surface": CUSTOM, "formula": "x**2", "domain": ((1, -1), (0, 1))},
            ("domain",),
            r"domain",
        ),
        (
            {"surface": CUSTOM, "formula": "x**2", "domain": ((0, math.inf), (0, 1))},
            ("domain",),
            r"domain",
        ),
        (
            {"surface": CUSTOM, "formula": "x**2", "domain": ((0, 10**400), (0, 1))},
            ("domain",),
            r"domain: .*too large",
        ),
        ({"runs": ()}, ("runs",), r"runs: 0 runs"),
        ({"runs": DEFAULT_RUNS * 3}, ("runs",), r"runs: 12 runs"),
        ({"runs": (RunConfig("nope"),)}, ("runs", 0, "variant"), r"run 1: unknown optimizer"),
        (
            {"runs": (RunConfig("sgd"), RunConfig("adam", (("lr", 50.0),)))},
            ("runs", 1, "lr"),
            r"run 2: lr.*50",
        ),
        (
            {"runs": (RunConfig("adam", (("lr", 10**400),)),)},
            ("runs", 0, "lr"),
            r"run 1: lr: .*too large",
        ),
        (
            {"runs": (RunConfig("adam", (("betas", (10**400, 0.9)),)),)},
            ("runs", 0, "betas"),
            r"run 1: betas: .*too large",
        ),
        ({"runs": (RunConfig("adam", (("foo", 1.0),)),)}, ("runs", 0, "hparams"), r"'foo'"),
        ({"runs": (RunConfig("adam", (("lr", math.nan),)),)}, ("runs", 0, "lr"), r"run 1: lr"),
        ({"runs": (RunConfig("adam", color="red"),)}, ("runs", 0, "color"), r"run 1: color"),
        ({"runs": (RunConfig("adam", label="a\nb"),)}, ("runs", 0, "label"), r"run 1: label"),
        ({"starts": ()}, ("starts",), r"starts: 0 starts"),
        ({"starts": ((0.0, 0.0),) * (MAX_STARTS + 1)}, ("starts",), r"starts: 17 starts"),
        (
            {"starts": ((0.0, 0.0), (5.0, 0.0))},
            ("starts", 1),
            r"start 2: \(5, 0\) is outside the plot window",
        ),
        ({"starts": ((math.nan, 0.0),)}, ("starts", 0), r"start 1"),
        ({"starts": ((10**400, 0.0),)}, ("starts", 0), r"start 1: .*too large"),
        ({"steps": 0}, ("steps",), r"steps: 0 is outside \[1, 5000\]"),
        ({"steps": 5001}, ("steps",), r"steps"),
        ({"steps": 3.0}, ("steps",), r"steps"),
        ({"steps": True}, ("steps",), r"steps"),
        ({"steps": 10**400}, ("steps",), r"steps"),
        ({"seed": -1}, ("seed",), r"seed"),
        ({"seed": 2**31}, ("seed",), r"seed"),
        ({"noise": -0.5}, ("noise",), r"noise"),
        ({"noise": math.inf}, ("noise",), r"noise"),
        ({"noise": 101.0}, ("noise",), r"noise"),
        ({"noise": 10**400}, ("noise",), r"noise: .*too large"),
    ],
)
def test_validated_refuses_with_a_message_naming_the_field(
    changes: dict, loc: tuple, match: str
) -> None:
    with pytest.raises(ScenarioError, match=match) as info:
        replace(DEFAULT_SCENARIO, **changes).validated()
    assert [p.loc for p in info.value.problems] == [loc]
    assert info.value.errors()[0]["loc"] == loc


def test_all_problems_are_collected_at_once() -> None:
    bad = replace(
        DEFAULT_SCENARIO,
        runs=(RunConfig("sgd", (("lr", -1.0),)), RunConfig("adam", (("lr", 50.0),), "red")),
        starts=((0.0, 0.0), (9.0, 9.0)),
        steps=0,
        seed=-1,
        noise="x",
    )
    with pytest.raises(ScenarioError) as info:
        bad.validated()
    assert sorted(map(str, (p.loc for p in info.value.problems))) == sorted(
        map(
            str,
            [
                ("runs", 0, "lr"),
                ("runs", 1, "color"),
                ("runs", 1, "lr"),
                ("starts", 1),
                ("steps",),
                ("seed",),
                ("noise",),
            ],
        )
    )


def test_scenario_error_is_a_value_error() -> None:
    assert issubclass(ScenarioError, ValueError)


def test_validated_completes_and_normalises() -> None:
    scenario = Scenario(
        runs=(RunConfig("adam", {"lr": 1}, "#ABCDEF"),), starts=[[0, 1]], steps=10
    ).validated()
    (run,) = scenario.runs
    assert run.color == "#abcdef"
    assert dict(run.hparams)["lr"] == 1.0
    assert isinstance(dict(run.hparams)["lr"], float)
    assert isinstance(dict(run.hparams)["betas"], tuple)
    assert scenario.starts == ((0.0, 1.0),)
    assert run.kwargs() == dict(run.hparams)
    assert run.optimizer == "adam"


def test_variant_overrides_apply_before_user_values() -> None:
    spec = get_variant("momentum")
    run = RunConfig.make("momentum", {"lr": 0.01})
    for name, value in spec.overrides.items():
        assert dict(run.hparams)[name] == pytest.approx(value)
    assert run.optimizer == spec.optimizer
    assert run.query_token() == "momentum:lr=0.01"


# ---------------------------------------------------------------------------------------------
# sim_key, labels


def test_sim_key_ignores_colours_labels_and_variant_names() -> None:
    base = DEFAULT_SCENARIO
    cosmetic = replace(
        base,
        runs=tuple(replace(r, color="#000001", label=f"run {i}") for i, r in enumerate(base.runs)),
    ).validated()
    assert cosmetic != base
    assert cosmetic.sim_key() == base.sim_key()
    momentum = RunConfig.make("momentum", {"lr": 0.001})
    as_sgd = RunConfig.make("sgd", dict(momentum.hparams))
    assert replace(base, runs=(momentum,)).sim_key() == replace(base, runs=(as_sgd,)).sim_key()
    # noise None means the surface's default: the same simulation as writing it out
    noise = get_surface(base.surface).noise
    assert replace(base, noise=float(noise)).validated().sim_key() == base.sim_key()
    hash(base.sim_key())


@pytest.mark.parametrize(
    "changes",
    [
        {"steps": 301},
        {"seed": 1},
        {"noise": 0.25},
        {"starts": ((-1.5, 2.5),)},
        {"surface": "beale", "starts": ((1.0, 1.0),)},
        {"runs": (RunConfig.make("adam", {"lr": 0.051}), *DEFAULT_RUNS[1:])},
        {"runs": DEFAULT_RUNS[::-1]},
    ],
)
def test_sim_key_changes_with_what_changes_the_simulation(changes: dict) -> None:
    assert replace(DEFAULT_SCENARIO, **changes).validated().sim_key() != DEFAULT_SCENARIO.sim_key()


def test_display_label() -> None:
    assert RunConfig.make("adam", {"lr": 0.05}).display_label() == "Adam (lr=0.05)"
    assert RunConfig.make("adam", {"lr": 0.05}, label="fast").display_label() == "fast"
    label = RunConfig.make("adam", {"amsgrad": True}).display_label()
    assert label.startswith("Adam (lr=")
    assert "amsgrad=True" in label


def test_with_surface_takes_the_surface_defaults() -> None:
    beale = DEFAULT_SCENARIO.with_surface("beale")
    surface = get_surface("beale")
    assert beale.surface == "beale"
    assert beale.noise is None
    assert all(surface.domain[0][0] <= x <= surface.domain[0][1] for x, _ in beale.starts)
    assert beale.runs == DEFAULT_SCENARIO.runs
    assert beale.with_surface("rosenbrock") == DEFAULT_SCENARIO


# ---------------------------------------------------------------------------------------------
# broken and hostile queries: a working scene plus warnings naming the field, never an exception

_NINE_RUNS = ";".join(["sgd"] * 9)
_BIG = {"surface": "rosenbrock", "junk": "x" * 100_000}


@pytest.mark.parametrize(
    ("query", "fields", "check"),
    [
        ({"surface": "nope"}, ["surface"], lambda s: s.surface == "rosenbrock"),
        ({"surface": "<script>alert(1)</script>"}, ["surface"], lambda s: s.steps == 300),
        ({"steps": "abc"}, ["steps"], lambda s: s.steps == 300),
        ({"steps": "0"}, ["steps"], lambda s: s.steps == 300),
        ({"steps": "99999"}, ["steps"], lambda s: s.steps == 300),
        ({"steps": "1e3"}, ["steps"], lambda s: s.steps == 300),
        ({"steps": "300.0"}, ["steps"], lambda s: s.steps == 300),
        ({"steps": "9" * 5000}, ["steps"], lambda s: s.steps == 300),
        ({"seed": "-1"}, ["seed"], lambda s: s.seed == 0),
        ({"seed": str(2**31)}, ["seed"], lambda s: s.seed == 0),
        ({"seed": "0x10"}, ["seed"], lambda s: s.seed == 0),
        ({"start": "nan,1"}, ["start"], lambda s: s.starts == ((-1.5, 2.0),)),
        ({"start": "inf,1"}, ["start"], lambda s: s.starts == ((-1.5, 2.0),)),
        ({"start": "1_0,1"}, ["start"], lambda s: s.starts == ((-1.5, 2.0),)),
        ({"start": "9,9"}, ["start 1"], lambda s: s.starts == ((-1.5, 2.0),)),
        ({"start": "1"}, ["start"], lambda s: s.starts == ((-1.5, 2.0),)),
        ({"start": "0,0;9,9"}, ["start 2"], lambda s: s.starts == ((0.0, 0.0),)),
        ({"start": ";".join(["0,0"] * 17)}, ["start"], lambda s: s.starts == ((-1.5, 2.0),)),
        ({"start": ""}, ["start"], lambda s: s.starts == ((-1.5, 2.0),)),
        ({"run": "nope:lr=1"}, ["run 1"], lambda s: s.runs == DEFAULT_RUNS),
        ({"run": "adam:lr=999"}, ["run 1", "lr"], lambda s: s.runs == DEFAULT_RUNS),
        ({"run": "adam:foo=1"}, ["run 1", "foo"], lambda s: s.runs == DEFAULT_RUNS),
        (
            {"run": "adam:lr=__import__('os')"},
            ["run 1", "lr"],
            lambda s: s.runs == DEFAULT_RUNS,
        ),
        ({"run": "adam:lr"}, ["run 1"], lambda s: s.runs == DEFAULT_RUNS),
        ({"run": "adam:lr=0.1,lr=0.2"}, ["run 1: lr given 2 times; using the last one"],
         lambda s: dict(s.runs[0].hparams)["lr"] == 0.2),
        (
            {"run": "adam:lr=999;sgd"},
            ["run 1"],
            lambda s: [r.variant for r in s.runs] == ["sgd"] and s.runs[0].color == PALETTE[1],
        ),
        ({"run": _NINE_RUNS}, ["run"], lambda s: s.runs == DEFAULT_RUNS),
        ({"run": ""}, ["run"], lambda s: s.runs == DEFAULT_RUNS),
        ({"color1": "javascript:alert(1)"}, ["color1"], lambda s: s.runs == DEFAULT_RUNS),
        ({"color2": "red"}, ["color2"], lambda s: s.runs == DEFAULT_RUNS),
        ({"color9": "ff0000"}, ["color9"], lambda s: s.runs == DEFAULT_RUNS),
        ({"label1": "a\x00b"}, ["label1"], lambda s: s.runs == DEFAULT_RUNS),
        ({"label1": "x" * 500}, ["label1"], lambda s: s.runs == DEFAULT_RUNS),
        ({"noise": "-1"}, ["noise"], lambda s: s.noise is None),
        ({"noise": "inf"}, ["noise"], lambda s: s.noise is None),
        ({"noise": "1e999"}, ["noise"], lambda s: s.noise is None),
        ({"noise": "nan"}, ["noise"], lambda s: s.noise is None),
        (
            {"surface": "custom", "formula": "__import__('os').system('x')"},
            ["formula"],
            lambda s: s.surface == "rosenbrock",
        ),
        (
            {"surface": "custom", "formula": "x**2+" * 1000},
            ["formula"],
            lambda s: s.surface == "rosenbrock",
        ),
        ({"surface": "custom"}, ["formula"], lambda s: s.surface == "rosenbrock"),
        (
            {"surface": "custom", "formula": "x**2 + y**2", "domain": "1,-1;0,1", "start": "0,0"},
            ["domain"],
            lambda s: s.surface == CUSTOM and s.domain == DEFAULT_CUSTOM_DOMAIN,
        ),
        (
            {"surface": "custom", "formula": "x**2 + y**2", "domain": "0,1e300;0,1"},
            ["domain"],
            lambda s: s.domain == DEFAULT_CUSTOM_DOMAIN,
        ),
        ({"surface": "beale", "formula": "x"}, ["formula"], lambda s: s.surface == "beale"),
        (_BIG, ["too large"], lambda s: s == DEFAULT_SCENARIO),
        ({"steps": ["100", "200"]}, ["steps"], lambda s: s.steps == 200),
        ({"steps": 100}, ["steps"], lambda s: s.steps == 300),
    ],
)
def test_broken_query_gives_a_working_scene_and_a_warning(query, fields, check) -> None:
    scenario, warnings = Scenario.from_query(query)
    assert scenario.validated() == scenario
    assert check(scenario), scenario
    assert len(warnings) == 1, warnings  # exactly one warning for the one bad field
    for name in fields:
        assert name in warnings[0], warnings
    # the page keeps working: the scene round-trips cleanly from here on
    assert Scenario.from_query(scenario.to_query()) == (scenario, [])


def test_unknown_keys_are_ignored_silently() -> None:
    query = {**DEFAULT_SCENARIO.to_query(), "utm_source": "x", "embed": "true", "colour1": "y"}
    assert Scenario.from_query(query) == (DEFAULT_SCENARIO, [])


def test_many_bad_fields_give_one_warning_each() -> None:
    query = {"steps": "x", "seed": "y", "noise": "z", "start": "w", "run": "q", "color1": "p"}
    scenario, warnings = Scenario.from_query(query)
    assert scenario.steps == 300
    assert len(warnings) == 6
    for name in ("steps", "seed", "noise", "start", "run", "color1"):
        assert sum(w.startswith(name) for w in warnings) == 1, (name, warnings)


@settings(max_examples=100, deadline=None)
@given(
    st.dictionaries(
        st.sampled_from(
            [
                "surface",
                "formula",
                "domain",
                "start",
                "steps",
                "seed",
                "noise",
                "run",
                "color1",
                "label2",
                "x",
            ]
        ),
        st.text(max_size=60) | st.lists(st.text(max_size=20), max_size=3),
    )
)
def test_random_queries_never_raise(query) -> None:
    scenario, warnings = Scenario.from_query(query)
    assert scenario.validated() == scenario
    assert all(isinstance(w, str) for w in warnings)


def test_query_size_limit() -> None:
    scenario, warnings = Scenario.from_query({"run": "sgd;" * 5000})
    assert scenario == DEFAULT_SCENARIO
    assert len(warnings) == 1
    assert "too large" in warnings[0] or "too long" in warnings[0]


def test_warnings_quote_and_cut_hostile_text() -> None:
    _, warnings = Scenario.from_query({"surface": "<img src=x onerror=alert(1)>" + "a" * 500})
    assert len(warnings[0]) < 400
    _, warnings = Scenario.from_query({"steps": "1\n2"})
    assert "\n" not in warnings[0]


# ---------------------------------------------------------------------------------------------
# JSON


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ("{", "not a valid JSON"),
        ("[1, 2]", "expected an object"),
        ('{"optviz": 2}', "version"),
        ('{"optviz": 1, "steps": NaN}', "not a valid JSON"),
        ("[" * 100_000, "too large|not a valid JSON"),
        ("", "not a valid JSON"),
    ],
)
def test_malformed_json_raises(text: str, match: str) -> None:
    with pytest.raises(ScenarioError, match=match):
        Scenario.from_json(text)


def test_json_bad_fields_fall_back_with_warnings() -> None:
    doc = json.loads(DEFAULT_SCENARIO.to_json())
    doc["steps"] = "many"
    doc["runs"][1]["hparams"]["lr"] = 1e9
    doc["runs"][2]["color"] = "javascript:alert(1)"
    doc["starts"].append([50, 50])
    doc["stepz"] = 3
    scenario, warnings = Scenario.from_json(json.dumps(doc))
    assert scenario.steps == 300
    assert [r.variant for r in scenario.runs] == ["sgd", "rmsprop", "adam"]
    assert scenario.runs[1].color == PALETTE[2]
    assert scenario.starts == DEFAULT_SCENARIO.starts
    assert len(warnings) == 5, warnings
    for name in ("steps", "run 2", "run 3: color", "start 2", "stepz"):
        assert any(name in w for w in warnings), (name, warnings)


def test_json_minimal_document_and_optimizer_alias() -> None:
    scenario, warnings = Scenario.from_json(
        '{"runs": [{"optimizer": "adam", "hparams": {"lr": 0.05, "betas": [0.8, 0.99]}}]}'
    )
    assert warnings == []
    (run,) = scenario.runs
    assert run.variant == "adam"
    assert dict(run.hparams)["betas"] == (0.8, 0.99)
    assert run.color == PALETTE[0]
    assert scenario.steps == DEFAULT_SCENARIO.steps


def test_json_refuses_wrong_types_per_field() -> None:
    scenario, warnings = Scenario.from_json(
        '{"seed": true, "noise": "0.1", "runs": [{"variant": "adam", "hparams": {"amsgrad": 1}}]}'
    )
    assert scenario.seed == 0
    assert scenario.noise == 0.1  # numeric text is accepted as in the URL
    assert scenario.runs == DEFAULT_RUNS
    assert len(warnings) == 2
    assert warnings[0].startswith("seed")
    assert "run 1" in warnings[1]


def test_heavy_line_search_scenes_are_refused_with_a_clear_message() -> None:
    from optviz.limits import MAX_LINE_SEARCH_STEPS

    heavy = Scenario(
        runs=(RunConfig.make("lbfgs", {"max_iter": 5}),), starts=((-1.5, 2.0),), steps=5000
    )
    with pytest.raises(ScenarioError, match="L-BFGS"):
        heavy.validated()
    light = Scenario(runs=(RunConfig.make("lbfgs"),), starts=((-1.5, 2.0),), steps=5000)
    assert light.validated().steps == 5000 <= MAX_LINE_SEARCH_STEPS
    scene, warnings = Scenario.from_query({"run": "lbfgs:max_iter=20", "steps": "5000"})
    assert warnings and scene.validated() == scene
