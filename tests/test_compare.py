"""The "Compare at scale" views (issue 10): pure helpers, figure builders, summary rows, and
each view driven headless with ``AppTest`` on a short scene (20 steps, small grids)."""

from __future__ import annotations

import base64
import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import plotly.graph_objects as go
import pytest
from streamlit.testing.v1 import AppTest

from optviz.analysis.summary import summary_rows
from optviz.figures import Landscape
from optviz.figures.cloud import cloud_frames
from optviz.figures.compare import (
    BASIN_COLORS,
    CLICK_LAYER,
    DIVERGED_RGB,
    NONE_RGB,
    Curve,
    SeedBand,
    basin_figure,
    basin_rgb,
    phase_figure,
    seed_loss_figure,
    seed_path_figure,
    sensitivity_figure,
)
from optviz.scene import DEFAULT_SCENARIO
from optviz.ui import cache, compare
from optviz.ui.player import decode

APP = str(Path(__file__).resolve().parents[1] / "app.py")
SHORT = {"surface": "rosenbrock", "start": "-1.5,2", "steps": "20", "seed": "0",
         "run": "sgd;momentum;rmsprop;adam"}
P = "optviz.compare"


@pytest.fixture(autouse=True, scope="module")
def _fresh_caches() -> None:
    cache.clear()
    compare.clear()


def run_app(query: dict[str, Any] | None = None) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=120)
    for k, v in (query or SHORT).items():
        at.query_params[k] = v
    at.session_state["optviz.compare.open"] = True  # its views are built only while open
    return at.run()


def charts(at: AppTest) -> dict[str, dict]:
    """Plotly figures by the key they were drawn under (the chart's element id holds it)."""
    out = {}
    for el in at.get("plotly_chart"):
        out[el.proto.id] = json.loads(el.proto.spec)
    return out


def chart(at: AppTest, key: str) -> dict | None:
    found = [spec for eid, spec in charts(at).items() if key in eid]
    return found[0] if found else None


def arr(v: Any) -> np.ndarray:
    """A figure JSON array (plain list, or plotly's typed array ``{dtype, bdata, shape}``)."""
    if isinstance(v, dict) and "bdata" in v:
        a = np.frombuffer(base64.b64decode(v["bdata"]), dtype=v["dtype"])
        shape = v.get("shape")
        if shape:
            a = a.reshape([int(n) for n in str(shape).split(",")])
        return a
    return np.asarray(v)


def ok(at: AppTest) -> None:
    assert not at.exception, [e.value for e in at.exception]


def errors(at: AppTest) -> list[str]:
    return [e.value.replace("\\", "") for e in at.error]


# --------------------------------------------------------------------------------------------
# pure helpers


def test_grids_are_rounded_sorted_and_checked() -> None:
    g = compare.log_grid(1e-4, 1.0, 9)
    assert g[0] == 1e-4 and g[-1] == 1.0 and len(g) == 9 and g == sorted(g)
    assert all(float(f"{v:.3g}") == v for v in g)
    assert compare.lin_grid(0.0, 0.9, 4) == [0.0, 0.3, 0.6, 0.9]
    assert compare.lin_grid(1, 5, 9, integer=True) == [1, 2, 3, 4, 5]
    for bad in ((0.0, 1.0), (1.0, 0.1), (math.nan, 1.0)):
        with pytest.raises(ValueError):
            compare.log_grid(*bad, 8)
    with pytest.raises(ValueError):
        compare.lin_grid(1.0, 1.0, 4)


def test_view_key_leaves_out_what_the_view_varies() -> None:
    s = DEFAULT_SCENARIO
    runs = list(s.runs)
    runs[0] = runs[0].__class__.make("sgd", {"lr": 0.3})
    other = s.__class__(runs=tuple(runs)).validated()
    assert compare.view_key(s) != compare.view_key(other)
    assert compare.view_key(s, without=("lr",)) == compare.view_key(other, without=("lr",))
    assert compare.view_key(s, runs=(3,)) == compare.view_key(other, runs=(3,))


def test_phase_params_name_the_pair_elements_and_skip_bools() -> None:
    adam = compare.phase_params("adam")
    assert {"lr", "beta1", "beta2", "eps", "weight_decay"} <= set(adam)
    assert "amsgrad" not in adam and "betas" not in adam
    assert adam["lr"].log and not adam["beta1"].log
    assert "momentum" in compare.phase_params("sgd")
    assert compare.current_value({"betas": (0.9, 0.999)}, "beta2") == 0.999
    assert compare.current_value({"etas": (0.5, 1.2)}, "etas[0]") == 0.5
    assert compare.current_value({"nesterov": True}, "nesterov") is None
    assert compare.targets(["beta1", "lr", "etas[1]"]) == {"betas", "lr", "etas"}


def test_phase_axes_start_from_sensible_ranges() -> None:
    sgd, lbfgs = compare.phase_params("sgd"), compare.phase_params("lbfgs")
    assert compare._default_range(sgd["lr"], 0.01) == (1e-4, 0.1)
    assert compare._default_range(sgd["momentum"], 0.9) == (0.0, 0.999)
    assert compare._default_range(sgd["weight_decay"], 0.0) == (0.0, 1.0)
    assert compare._default_range(lbfgs["max_iter"], 20) == (1.0, 21.0)


def test_tuned_labels_fit_the_legend_field() -> None:
    label = compare.tuned_label("A very long optimizer label indeed (lr=0.05)", 0.0123456,
                                "steps_to_tol")
    assert len(label) <= 40 and label.endswith("lr=0.0123 (best speed)")


# --------------------------------------------------------------------------------------------
# figure builders


def test_sensitivity_figure_carries_run_and_lr_marks_divergence_and_current() -> None:
    lrs = np.array([1e-3, 1e-2, 1e-1, 1.0])
    curves = [
        Curve("SGD", "#ff0000", lrs, np.array([1.0, 0.5, np.inf, np.inf]),
              np.array([False, False, True, True]), current=1e-2, run=0),
        Curve("Adam", "#0000ff", lrs, np.array([2.0, 0.1, 0.01, 0.2]),
              np.zeros(4, bool), current=0.05, run=3),
    ]
    fig = sensitivity_figure(curves, "final loss")
    assert isinstance(fig, go.Figure) and fig.layout.xaxis.type == "log"
    lines = [t for t in fig.data if t.mode == "lines+markers"]
    assert [t.name for t in lines] == ["SGD", "Adam"]
    assert lines[0].line.color == "#ff0000"
    assert np.asarray(lines[1].customdata)[:, 0].tolist() == [3, 3, 3, 3]
    assert np.asarray(lines[1].customdata)[:, 1].tolist() == lrs.tolist()
    assert np.isnan(np.asarray(lines[0].y, float)[2:]).all()  # diverged: off the line
    crosses = [t for t in fig.data if t.marker.symbol == "x"]
    assert len(crosses) == 1 and len(crosses[0].x) == 2
    stars = [t for t in fig.data if t.marker.symbol == "star"]
    assert len(stars) == 2 and stars[0].x[0] == 1e-2


def test_phase_figure_heat_map_click_layer_divergence_and_star() -> None:
    xs, ys = [1e-3, 1e-2, 1e-1], [0.0, 0.5]
    values = np.array([[1.0, 0.1, np.inf], [0.5, 0.01, np.inf]])
    dead = np.isinf(values)
    fig = phase_figure("lr", xs, "momentum", ys, values, dead, log_x=True,
                       current=(1e-2, 0.5))
    heat = fig.data[0]
    assert heat.type == "heatmap" and np.asarray(heat.z).shape == (2, 3)
    assert np.isnan(np.asarray(heat.z, float)[:, 2]).all()
    assert math.isclose(np.asarray(heat.z, float)[1, 1], -2.0)  # log10 colour
    click = next(t for t in fig.data if t.name == CLICK_LAYER)
    cd = np.asarray(click.customdata)
    assert cd.shape == (6, 2) and (cd[5] == [1e-1, 0.5]).all()
    assert next(t for t in fig.data if t.name == "diverged").x is not None
    star = next(t for t in fig.data if t.name == "current setting")
    assert star.x[0] == pytest.approx(1.0) and star.y[0] == pytest.approx(1.0)
    with pytest.raises(ValueError):
        phase_figure("lr", xs, "momentum", ys, values.T, dead.T)


def test_basin_colours_and_figure_legend() -> None:
    idx = np.array([[0, 1], [-1, -2]])
    hit = np.array([[0, 100], [-1, -1]])
    rgb = basin_rgb(idx, hit, 100)
    assert rgb.shape == (2, 2, 3) and rgb.dtype == np.uint8
    assert tuple(rgb[1, 0]) == NONE_RGB and tuple(rgb[1, 1]) == DIVERGED_RGB
    c0 = np.array([int(BASIN_COLORS[0][i:i + 2], 16) for i in (1, 3, 5)])
    assert (rgb[0, 0] >= c0).all() and rgb[0, 0].sum() < rgb[0, 1].sum() + 255  # fast: darker
    fast = basin_rgb(np.array([[0]]), np.array([[0]]), 100)[0, 0].astype(int)
    slow = basin_rgb(np.array([[0]]), np.array([[90]]), 100)[0, 0].astype(int)
    assert fast.sum() < slow.sum()
    xs, ys = np.linspace(-1, 1, 2), np.linspace(-1, 1, 2)
    land = Landscape(xs=np.linspace(-1, 1, 20), ys=np.linspace(-1, 1, 20),
                     z=np.add.outer(np.linspace(-1, 1, 20) ** 2, np.linspace(-1, 1, 20) ** 2))
    fig = basin_figure(xs, ys, idx, hit, 100, minima=[(0, 0), (1, 1)], land=land)
    names = [t.name for t in fig.data]
    assert "minimum 1: 25 %" in names and "diverged: 25 %" in names
    assert "no minimum: 25 %" in names and "minima" in names
    assert fig.layout.images[0].source.startswith("data:image/png;base64,")
    with pytest.raises(ValueError):
        basin_figure(xs, ys, idx[:1], hit[:1], 100)


def test_seed_figures_draw_median_and_band() -> None:
    rng = np.random.default_rng(0)
    xy = rng.normal(size=(5, 11, 2)).cumsum(axis=1)
    loss = np.abs(rng.normal(size=(5, 11))) + 1e-3
    loss[0, 5:] = np.nan  # a diverged seed
    band = SeedBand("SGD", "#ff0000", xy, loss)
    land = Landscape(xs=np.linspace(-5, 5, 10), ys=np.linspace(-5, 5, 10), z=np.ones((10, 10)))
    paths = seed_path_figure([band], land)
    median = next(t for t in paths.data if t.name == "SGD: median of 5")
    assert np.allclose(np.asarray(median.x, float), np.median(xy[:, :, 0], axis=0))
    assert any(t.fill == "toself" for t in paths.data)
    curves = seed_loss_figure([band], minimum_value=0.0)
    fill = next(t for t in curves.data if t.fill == "tonexty")
    assert np.allclose(np.asarray(fill.y, float), np.nanquantile(loss, 0.1, axis=0))
    assert curves.layout.yaxis.type == "log"


# --------------------------------------------------------------------------------------------
# summary rows


def test_summary_rows_success_medians_and_divergence() -> None:
    # run 0: 4 particles, two reach 0 + tol at steps 1 and 3, one never, one diverges
    loss = np.array([[[1.0, 1e-4, 0.0, 0.0], [1.0, 0.5, 0.1, 1e-5],
                      [1.0, 0.9, 0.8, 0.7], [1.0, np.nan, np.nan, np.nan]]])
    rows = summary_rows(["SGD"], loss, np.array([[-1, -1, -1, 1]]), 0.0, tol=1e-3)
    (row,) = rows
    assert row["success rate"] == 0.5 and row["median steps to tol"] == 2.0
    assert row["median final loss"] == pytest.approx(1e-5)
    assert row["diverged"] == 1 and row["particles"] == 4
    unknown = summary_rows(["SGD"], loss, np.array([[-1, -1, -1, 1]]), None)[0]
    assert unknown["success rate"] is None and unknown["median steps to tol"] is None
    dead = summary_rows(["X"], loss[:, 3:], np.array([[1]]), 0.0)[0]
    assert dead["median final loss"] == math.inf and dead["success rate"] == 0.0
    with pytest.raises(ValueError):
        summary_rows(["a", "b"], loss, np.array([[-1, -1, -1, 1]]), 0.0)


# --------------------------------------------------------------------------------------------
# the views in the app


def test_the_views_are_built_only_while_their_expander_is_open() -> None:
    """A lighter first page: the five views' widgets are not sent until the user opens them."""
    at = AppTest.from_file(APP, default_timeout=120)
    for k, v in SHORT.items():
        at.query_params[k] = v
    at.run()
    assert not at.exception
    assert "Compute the sensitivity" not in [b.label for b in at.button]
    at.session_state["optviz.compare.open"] = True  # what a click on its label does
    at.run()
    assert "Compute the sensitivity" in [b.label for b in at.button]
    at.slider(key=f"{P}.lr.n").set_value(9).run()
    at.session_state["optviz.compare.open"] = False
    at.run()
    assert "Compute the sensitivity" not in [b.label for b in at.button]
    at.run()  # a second run without the widgets: Streamlit would forget their values here
    at.session_state["optviz.compare.open"] = True
    at.run()
    assert at.slider(key=f"{P}.lr.n").value == 9  # folding the section away kept the setting


def test_sensitivity_button_draws_one_curve_per_run_and_keeps_it() -> None:
    at = run_app()
    ok(at)
    assert chart(at, "lr.chart") is None  # nothing heavy before the button
    at.slider(key=f"{P}.lr.n").set_value(5)
    at.button(key=f"{P}.lr.go").click().run()
    ok(at)
    fig = chart(at, "lr.chart")
    assert fig is not None
    lines = [t for t in fig["data"] if t.get("mode") == "lines+markers"]
    assert len(lines) == 4
    at.selectbox(key=f"{P}.lr.metric").set_value("steps_to_tol").run()  # no recompute needed
    ok(at)
    assert chart(at, "lr.chart")["layout"]["yaxis"]["type"] == "linear"
    assert cache.CALLS["compare.sensitivity"] == 1


def test_sensitivity_bad_range_errs_and_the_page_keeps_working() -> None:
    at = run_app()
    at.number_input(key=f"{P}.lr.low").set_value(5.0).run()
    ok(at)
    assert any("Learning-rate range" in e for e in errors(at))
    assert any(el.proto.component_name == "optviz.player"
               for el in at.get("bidi_component"))  # the race is still there


def test_phase_map_button_draws_a_heat_map_and_bad_range_errs() -> None:
    at = run_app()
    at.selectbox(key=f"{P}.phase.run").set_value(3).run()  # Adam: lr × beta1 by default
    at.slider(key=f"{P}.phase.n").set_value(4)
    at.button(key=f"{P}.phase.go").click().run()
    ok(at)
    fig = chart(at, "phase.chart")
    assert fig is not None and fig["data"][0]["type"] == "heatmap"
    assert arr(fig["data"][0]["z"]).shape == (4, 4)
    at.number_input(key=f"{P}.phase.adam.beta1.hi").set_value(2.0).run()
    ok(at)
    assert any("beta1 needs" in e for e in errors(at))


def test_basin_map_button_draws_the_picture_and_bad_tolerance_errs() -> None:
    at = run_app()
    at.slider(key=f"{P}.basins.n").set_value(12)
    at.button(key=f"{P}.basins.go").click().run()
    ok(at)
    fig = chart(at, "basins.chart")
    assert fig is not None and fig["layout"]["images"]
    at.number_input(key=f"{P}.basins.tol").set_value(-1.0).run()
    ok(at)
    assert any("tolerance must be a positive number" in e for e in errors(at))


def _players(at: AppTest) -> dict[str, dict]:
    """Race-player payloads by the element id (which holds the key)."""
    return {el.proto.id: decode(el.proto.bytes)
            for el in at.get("bidi_component")
            if el.proto.component_name == "optviz.player" and el.proto.bytes}


def test_start_cloud_button_races_the_cloud_in_the_player() -> None:
    at = run_app()
    race = [p for eid, p in _players(at).items() if "cloud" not in eid]
    assert len(race) == 1 and race[0]["base"] is not None
    assert not any("cloud" in eid for eid in _players(at))  # nothing before the button
    at.slider(key=f"{P}.cloud.n").set_value(50)
    at.button(key=f"{P}.cloud.go").click().run()
    ok(at)
    assert chart(at, "cloud") is None  # no Plotly figure (no frames) any more
    found = [p for eid, p in _players(at).items() if "cloud" in eid]
    assert len(found) == 1
    payload = found[0]
    cloud = payload["cloud"]
    assert cloud["particles"] == 50 and cloud["frames"] == 21  # steps 0..20, every step
    assert cloud["steps"] == list(range(21)) and payload["steps"] == 20
    assert payload["tracks"] == [] and payload["initial_step"] == 0
    # the race's landscape: the page already holds it, so the cloud sends only its token
    assert payload["base_token"] == race[0]["base_token"] and payload["base"] is None
    xy = cloud_frames(dict(payload, base=race[0]["base"]))
    assert xy.shape == (21, 50, 2) and np.isfinite(xy[0]).all()
    (x0, x1), (y0, y1) = race[0]["base"]["layout"]["xaxis"]["range"], \
        race[0]["base"]["layout"]["yaxis"]["range"]
    assert ((xy[0, :, 0] >= x0) & (xy[0, :, 0] <= x1)).all()
    assert ((xy[0, :, 1] >= y0) & (xy[0, :, 1] <= y1)).all()
    assert any("50 starts drawn uniformly" in c.value for c in at.caption)


def test_seeds_button_draws_median_band_and_summary() -> None:
    at = run_app(dict(SHORT, noise="0.5"))
    at.slider(key=f"{P}.seeds.k").set_value(3)
    at.button(key=f"{P}.seeds.go").click().run()
    ok(at)
    assert chart(at, "seeds.paths") is not None and chart(at, "seeds.loss") is not None
    names = [t.get("name") for t in chart(at, "seeds.paths")["data"]]
    assert "Adam (lr=0.05): median of 3" in names
    frames = [d.value for d in at.dataframe]
    assert any("success rate" in f.columns for f in frames)
    at.number_input(key=f"{P}.seeds.noise").set_value(-1.0).run()
    ok(at)
    assert any("noise must be a number" in e for e in errors(at))


def test_each_at_its_best_tunes_then_races_the_tuned_settings() -> None:
    at = run_app()
    at.number_input(key=f"{P}.fair.budget").set_value(8)
    at.button(key=f"{P}.fair.go").click().run()
    ok(at)
    table = next(d.value for d in at.dataframe if "tuned lr" in d.value.columns)
    assert len(table) == 4
    at.button(key=f"{P}.fair.race").click().run()
    ok(at)
    good = at.session_state["optviz.good"]
    tuned = [float(x) for x in table["tuned lr"]]
    assert [dict(r.hparams)["lr"] for r in good.runs] == pytest.approx(tuned, rel=1e-5)
    assert all("(best final)" in r.label for r in good.runs)
    at.number_input(key=f"{P}.fair.budget").set_value(1).run()
    ok(at)
    assert any("budget must be" in e for e in errors(at))


def test_the_suggested_learning_rates_race_at_a_click() -> None:
    from optviz.suggested import suggested_lr

    at = run_app(dict(SHORT, surface="goldstein_price", start="-1.5,1.5"))
    ok(at)
    assert any("Suggested for this surface" in t.value for t in at.text)
    at.button(key=f"{P}.fair.suggested").click().run()
    ok(at)
    good = at.session_state["optviz.good"]
    assert [dict(r.hparams)["lr"] for r in good.runs] == [
        suggested_lr("goldstein_price", v) for v in ("sgd", "momentum", "rmsprop", "adam")]
    assert at.button(key=f"{P}.fair.suggested").disabled


def test_several_starts_show_the_per_optimizer_summary() -> None:
    at = run_app(dict(SHORT, start="-1.5,2;1.5,2"))
    ok(at)
    frames = [d.value for d in at.dataframe]
    summary = next(f for f in frames if "success rate" in f.columns)
    assert list(summary["diverged"]) == ["0 / 2"] * 4


def _click_app(kind: str) -> None:
    import streamlit as st

    from optviz.ui import compare, state

    model = state.model()
    key = f"optviz.compare.test.{kind}"
    if kind == "lr":
        st.session_state[key] = {"selection": {"points": [
            {"curve_number": 0, "point_index": 2, "customdata": [3, 0.0123]}]}}
        compare._on_sensitivity_click(key)
    else:
        st.session_state[key] = {"selection": {"points": [
            {"curve_number": 1, "point_index": 5, "customdata": [0.02, 0.85]}]}}
        compare._on_phase_click(key, 3, "lr", "beta1", 1)
    e = model.entries[3]
    st.write(f"lr={e.values['lr']} betas={e.values['betas']} "
             f"rerun={st.session_state.get('optviz.compare.rerun')}")


@pytest.mark.parametrize(("kind", "expected"), [
    ("lr", "lr=0.0123 betas=(0.9, 0.999) rerun=True"),
    ("phase", "lr=0.02 betas=(0.85, 0.999) rerun=True"),
])
def test_a_click_writes_the_setting_into_the_sidebar_model(kind: str, expected: str) -> None:
    at = AppTest.from_function(_click_app, args=(kind,), default_timeout=60).run()
    ok(at)
    assert at.markdown[0].value == expected


def test_too_many_seeds_for_the_page_is_refused_in_words(monkeypatch) -> None:
    monkeypatch.setattr(compare, "MAX_SEED_WORK", 100)
    at = run_app()
    ok(at)
    assert any("particle-steps; at most 100 here" in e for e in errors(at))
    assert at.button(key=f"{P}.lr.go")  # the other views are still there


def test_memo_keys_skip_underscore_arguments_and_drop_the_oldest() -> None:
    calls = []

    @compare._memo(2)
    def f(a: int, _progress: Any = None) -> int:
        calls.append(a)
        return a * 2

    assert f(1, object()) == 2 and f(1, object()) == 2 and calls == [1]
    f(2)
    f(3)
    f(1)
    assert calls == [1, 2, 3, 1]
    compare.clear()
    f(3)
    assert calls[-1] == 3 and len(calls) == 5
