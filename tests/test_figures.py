"""Tests for optviz.figures: pure builders from numpy data to Plotly figures.

Trajectories are computed here with numpy (heavy-ball gradient descent on Rosenbrock, and
smooth synthetic spirals), so these tests need neither torch nor the optviz core.
"""

from __future__ import annotations

import base64
import io
import json
import subprocess
import sys

import numpy as np
import plotly.io as pio
import plotly.tools
import pytest
from PIL import Image

from optviz.figures import (
    CLICK_GRID_NAME,
    PLAY_GROUP,
    Landscape,
    Track,
    clicked_point,
    color_scale,
    divergence_notes,
    frame_steps,
    isoline_trace,
    isolines,
    landscape_image,
    loss_figure,
    simplify,
    thin_minmax,
    trajectory_figure,
)

COLORS = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#17becf"]


# ----------------------------------------------------------------------------- helpers


def rosenbrock(x, y):
    return (1 - x) ** 2 + 100 * (y - x**2) ** 2


def rosenbrock_grad(p):
    x, y = p
    return np.array([-2 * (1 - x) - 400 * x * (y - x**2), 200 * (y - x**2)])


def rosen_land(n: int = 200) -> Landscape:
    xs, ys = np.linspace(-2, 2, n), np.linspace(-1, 3, n)
    gx, gy = np.meshgrid(xs, ys)
    return Landscape(xs, ys, rosenbrock(gx, gy), log_scale=True, title="Rosenbrock",
                     minima=((1.0, 1.0),), minimum_value=0.0)


def heavy_ball(lr: float, beta: float, steps: int, start=(-1.5, 2.0), bound=1e6):
    """x_{k+1} = x_k - lr * v_{k+1}, v_{k+1} = beta v_k + grad f(x_k); NaN after divergence."""
    p, v = np.array(start, float), np.zeros(2)
    xy, loss = np.full((steps + 1, 2), np.nan), np.full(steps + 1, np.nan)
    xy[0], loss[0], diverged = p, rosenbrock(*p), -1
    for k in range(1, steps + 1):
        v = beta * v + rosenbrock_grad(p)
        p = p - lr * v
        if not np.all(np.isfinite(p)) or np.abs(p).max() > bound:
            diverged = k
            break
        xy[k], loss[k] = p, rosenbrock(*p)
    return xy, loss, diverged


def default_tracks(steps: int = 500) -> list[Track]:
    specs = [("SGD (lr=0.0005)", 5e-4, 0.0), ("Momentum (lr=0.0005)", 5e-4, 0.9),
             ("Heavy ball (lr=0.0002)", 2e-4, 0.95), ("SGD (lr=0.003)", 3e-3, 0.0)]
    out = []
    for (label, lr, beta), color in zip(specs, COLORS, strict=False):
        xy, loss, div = heavy_ball(lr, beta, steps)
        out.append(Track(label, color, xy, loss, div))
    return out


def spiral_tracks(n_runs: int, steps: int) -> list[Track]:
    out = []
    for r in range(n_runs):
        t = np.linspace(0, 1, steps + 1)
        ang = 12 * np.pi * t * (1 + 0.1 * r) + r
        rad = 1.8 * np.exp(-3 * t)
        xy = np.c_[0.9 * rad * np.cos(ang), 1 + rad * np.sin(ang)]
        out.append(Track(f"Run {r} (lr={0.01 * (r + 1):g})", COLORS[r % 8], xy,
                         rosenbrock(xy[:, 0], xy[:, 1])))
    return out


def sent_json(fig) -> str:
    """The figure JSON exactly as st.plotly_chart builds it (Streamlit 1.67)."""
    spec = plotly.tools.return_figure_from_figure_or_data(fig, validate_figure=True)
    return pio.to_json(spec, validate=False)


def strict_loads(text: str):
    def refuse(token):
        raise ValueError(f"non-JSON token {token}")

    return json.loads(text, parse_constant=refuse)


def resolve(frames: list[dict], name: str) -> dict[int, dict]:
    """plotly.js computeFrame, written independently: merge the baseframe chain."""
    by_name = {f["name"]: f for f in frames}
    chain, seen = [], set()
    frame = by_name[name]
    while frame is not None and frame["name"] not in seen:
        chain.append(frame)
        seen.add(frame["name"])
        frame = by_name.get(frame.get("baseframe"))
    out: dict[int, dict] = {}
    for frame in reversed(chain):
        for tid, data in zip(frame["traces"], frame["data"], strict=True):
            out.setdefault(tid, {}).update(data)
    return out


def traces_named(spec: dict, name: str) -> list[int]:
    return [i for i, t in enumerate(spec["data"]) if t.get("name") == name]


@pytest.fixture(scope="module")
def land() -> Landscape:
    return rosen_land()


@pytest.fixture(scope="module")
def tracks() -> list[Track]:
    return default_tracks()


@pytest.fixture(scope="module")
def default_fig(land, tracks):
    return trajectory_figure(land, tracks, click_grid=30)


@pytest.fixture(scope="module")
def default_spec(default_fig) -> dict:
    return strict_loads(sent_json(default_fig))


# ----------------------------------------------------------------------------- data


@pytest.mark.parametrize("n_steps", [0, 1, 5, 199, 200, 201, 500, 4999, 5000])
def test_frame_steps_even_bounded_and_complete(n_steps):
    ks = frame_steps(n_steps, 200)
    assert ks[0] == 0 and ks[-1] == n_steps
    assert len(ks) <= 200 and np.all(np.diff(ks) > 0)
    if n_steps + 1 <= 200:
        assert np.array_equal(ks, np.arange(n_steps + 1))
    else:
        assert len(ks) == 200
        gaps = np.diff(ks)
        assert gaps.max() - gaps.min() <= 1  # evenly spread


def test_divergence_notes_text(tracks):
    assert divergence_notes(tracks) == ["SGD (lr=0.003) diverged at step 5"]
    t = Track("Adam (lr=3)", "#000", np.zeros((20, 2)), np.zeros(20), diverged_at=14)
    assert divergence_notes([t]) == ["Adam (lr=3) diverged at step 14"]
    undefined = Track("SGD", "#000", np.full((20, 2), np.nan), np.full(20, np.nan), diverged_at=0)
    assert divergence_notes([undefined]) == ["SGD: f is not defined at the start"]


def test_track_and_landscape_validate_shapes():
    with pytest.raises(ValueError, match="xy"):
        Track("a", "#000", np.zeros((5, 3)), np.zeros(5))
    with pytest.raises(ValueError, match="loss"):
        Track("a", "#000", np.zeros((5, 2)), np.zeros(4))
    with pytest.raises(ValueError, match="shape"):
        Landscape(np.arange(3.0), np.arange(4.0), np.zeros((3, 4)))
    xy = np.array([[0, 0], [1, 1], [np.nan, np.nan], [np.nan, np.nan]], float)
    assert Track("a", "#000", xy, np.zeros(4), diverged_at=2).last_finite == 1
    assert Track("a", "#000", np.ones((4, 2)), np.zeros(4), diverged_at=3).last_finite == 2
    xy[3] = 7.0  # a finite row after a gap is not drawn: the run stopped at its first NaN
    assert Track("a", "#000", xy, np.zeros(4)).last_finite == 1
    assert Track("a", "#000", np.full((3, 2), np.nan), np.zeros(3)).last_finite == -1


# ----------------------------------------------------------------------------- landscape


def decode_png(uri: str) -> Image.Image:
    prefix = "data:image/png;base64,"
    assert uri.startswith(prefix)
    return Image.open(io.BytesIO(base64.b64decode(uri[len(prefix):], validate=True)))


def test_landscape_image_is_png_of_grid_size_with_top_row_at_max_y():
    xs, ys = np.linspace(0, 1, 37), np.linspace(0, 2, 23)
    z = np.tile(ys[:, None], (1, len(xs)))  # increases with y
    img = decode_png(landscape_image(Landscape(xs, ys, z), colorscale="Greys"))
    assert img.format == "PNG" and img.size == (37, 23)
    rgb = np.asarray(img.convert("RGB"), dtype=int)
    # Greys runs white -> black: the top row (largest y, largest f) is the darkest
    assert rgb[0].sum() < rgb[-1].sum()
    assert np.all(np.diff(rgb[:, 5, 0]) >= 0)  # darker towards the top, monotonically


def test_landscape_image_survives_inf_and_nan():
    xs, ys = np.linspace(-1, 1, 40), np.linspace(-1, 1, 30)
    gx, gy = np.meshgrid(xs, ys)
    z = gx**2 + gy**2
    z[0, 0], z[1, 1], z[2, 2] = np.inf, np.nan, -np.inf
    for log in (False, True):
        img = decode_png(landscape_image(Landscape(xs, ys, z, log_scale=log)))
        assert img.size == (40, 30)
        rgb = np.asarray(img.convert("RGB"))
        assert tuple(rgb[-2, 1]) == (200, 200, 200)  # NaN drawn in light grey


def test_log_colour_scale_with_negative_minimum_is_monotone():
    xs, ys = np.linspace(-3, 3, 80), np.linspace(-3, 3, 80)
    gx, gy = np.meshgrid(xs, ys)
    z = gx**2 + gy**2 - 5.0  # minimum -5
    cs = color_scale(Landscape(xs, ys, z, log_scale=True, minimum_value=-5.0))
    u = cs.unit()
    assert np.isfinite(u).all() and u.min() == 0.0 and u.max() == 1.0
    order = np.argsort(z, axis=None)
    assert np.all(np.diff(u.ravel()[order]) >= -1e-12)  # colour never decreases with f
    assert cs.base == -5.0 and cs.hi - cs.lo <= 6.0 + 1e-9


def test_isolines_of_a_paraboloid_are_circles():
    xs, ys = np.linspace(-2, 2, 161), np.linspace(-2, 2, 161)
    gx, gy = np.meshgrid(xs, ys)
    land = Landscape(xs, ys, gx**2 + gy**2)
    cs = color_scale(land)
    levels = np.linspace(cs.lo, cs.hi, 5 + 2)[1:-1]
    lines = isolines(land, 5)
    assert lines
    radii = sorted({round(float(np.hypot(*seg.T).mean()), 2) for seg in lines})
    for seg in lines:
        r2 = (seg**2).sum(axis=1)
        level = levels[np.argmin(abs(levels - r2.mean()))]
        assert np.allclose(r2, level, atol=2e-3)  # linear interpolation on a 0.025 grid
    assert len(radii) == 5


def test_isolines_rosenbrock_log_levels(land):
    lines = isolines(land, 15)
    assert len(lines) >= 15
    cs = color_scale(land)
    levels = np.linspace(cs.lo, cs.hi, 17)[1:-1]
    f_levels = np.sort(10**levels + cs.base - cs.eps)
    assert np.all(np.diff(np.log10(f_levels)) > 0)  # equally spaced in log f
    trace = isoline_trace(land, 15)
    assert trace.hoverinfo == "skip" and trace.mode == "lines"
    pts = np.array([(a, b) for a, b in zip(trace.x, trace.y, strict=True) if a is not None])
    assert pts[:, 0].min() >= -2 and pts[:, 0].max() <= 2
    assert pts[:, 1].min() >= -1 and pts[:, 1].max() <= 3


def test_simplify_keeps_shape_within_tolerance():
    t = np.linspace(0, 2 * np.pi, 2000)
    line = np.c_[np.cos(t), np.sin(t)]
    out = simplify(line, 1e-3)
    assert len(out) < 200
    assert np.array_equal(out[0], line[0]) and np.array_equal(out[-1], line[-1])
    # every original point lies within tol of the simplified polyline (circle: chord sagitta)
    seg_len = np.hypot(*np.diff(out, axis=0).T)
    assert np.all(seg_len**2 / 8 <= 1e-3 + 1e-9)
    straight = np.c_[np.linspace(0, 1, 50), np.linspace(0, 2, 50)]
    assert len(simplify(straight, 1e-9)) == 2


# ----------------------------------------------------------------------------- animated figure


def test_default_scene_payload_and_frames(default_fig, default_spec):
    size = len(sent_json(default_fig))
    assert size <= 500_000, size
    steps = [f for f in default_spec["frames"] if f.get("group") == PLAY_GROUP]
    assert len(steps) == 200 and steps[-1]["name"] == "500" and steps[0]["name"] == "0"
    slider = default_spec["layout"]["sliders"][0]
    assert [s["label"] for s in slider["steps"]] == [f["name"] for f in steps]
    assert slider["active"] == len(steps) - 1  # shows the end of the race before Play


def test_big_scene_payload():
    land = rosen_land()
    fig = trajectory_figure(land, spiral_tracks(8, 5000), click_grid=30)
    size = len(sent_json(fig))
    assert size <= 2_000_000, size
    steps = [f for f in fig.frames if f.group == PLAY_GROUP]
    assert len(steps) <= 200 and steps[-1].name == "5000"


def test_landscape_is_a_picture_and_frames_never_touch_it(default_spec):
    text = json.dumps(default_spec)
    assert '"contour"' not in text and '"heatmap"' not in text
    images = default_spec["layout"]["images"]
    assert len(images) == 1 and images[0]["layer"] == "below"
    assert images[0]["source"].startswith("data:image/png;base64,")
    static = {i for i, t in enumerate(default_spec["data"])
              if t.get("name") in {CLICK_GRID_NAME, "isolines", "colorbar", "global minimum",
                                   "start"}}
    assert len(static) == 5
    for frame in default_spec["frames"]:
        for tid, data in zip(frame["traces"], frame["data"], strict=True):
            if tid in static:  # listed once, empty: redrawn unchanged, never sent again
                assert frame["name"] == "block-0" and set(data) <= {"type"}
            assert set(data) <= {"x", "y", "customdata", "marker", "text", "type"}
        assert "layout" not in frame
    moving = set()
    for frame in default_spec["frames"]:
        if frame.get("group") == PLAY_GROUP:
            moving |= set(frame["traces"])
    assert len(moving) == 2 * 4  # a tip and a head per run, nothing else


def test_every_frame_resolves_to_the_path_so_far(land, tracks, default_spec):
    spec = default_spec
    frames = spec["frames"]
    for track in tracks:
        ids = traces_named(spec, track.label)
        line_ids, hover_id, head_id = ids[:-2], ids[-2], ids[-1]
        hover = spec["data"][hover_id]
        drawn_steps = np.array([c[0] for c in hover["customdata"]])
        for frame in (f for f in frames if f.get("group") == PLAY_GROUP):
            k = int(frame["name"])
            state = resolve(frames, frame["name"])
            assert set(line_ids) | {head_id} <= set(state)
            pts = []
            for tid in line_ids:  # blocks, recent, tip: consecutive pieces sharing ends
                piece = [(a, b) for a, b in zip(state[tid]["x"], state[tid]["y"], strict=True)
                         if a is not None]
                if pts and piece and piece[0] == pts[-1]:
                    piece = piece[1:]
                pts += piece
            n = int(np.sum(drawn_steps <= min(k, track.last_finite)))
            expected = list(zip(hover["x"][:n], hover["y"][:n], strict=True))
            assert pts == expected, (track.label, k)
            head = state[head_id]
            if track.diverged_at < 0:
                assert (head["x"][0], head["y"][0]) == expected[-1]
                assert head["customdata"][0][0] == k


def test_every_trace_is_redrawn_by_every_frame(default_spec):
    # plotly.js recomputes every trace at each animation frame but redraws only the listed
    # ones; an unlisted trace loses its drawing's handle and a click selection after Play
    # throws (seen in Streamlit 1.67: "Cannot read properties of undefined (reading
    # 'selectAll')"), so click-to-start would silently stop working.
    frames = default_spec["frames"]
    for frame in (f for f in frames if f.get("group") == PLAY_GROUP):
        assert set(resolve(frames, frame["name"])) == set(range(len(default_spec["data"])))


def test_initial_data_is_the_last_frame(default_spec):
    frames = default_spec["frames"]
    last = [f for f in frames if f.get("group") == PLAY_GROUP][-1]
    for tid, data in resolve(frames, last["name"]).items():
        for key in set(data) & {"x", "y"}:
            assert default_spec["data"][tid].get(key, []) == data[key], tid


def test_show_start(land, tracks):
    fig = trajectory_figure(land, tracks, show="start", n_levels=0, colorbar=False)
    spec = fig.to_plotly_json()
    assert fig.layout.sliders[0].active == 0
    for track in tracks:
        ids = traces_named(spec, track.label)
        pts = {(a, b) for tid in ids[:-2]
               for a, b in zip(fig.data[tid].x or (), fig.data[tid].y or (), strict=True)
               if a is not None}
        assert pts == {(-1.5, 2.0)}  # just the start
        assert fig.data[ids[-1]].customdata[0][0] == 0


def test_diverged_run_shows_cross_and_note(default_spec, tracks):
    frames = default_spec["frames"]
    ids = traces_named(default_spec, "SGD (lr=0.003)")
    head = ids[-1]
    for frame in (f for f in frames if f.get("group") == PLAY_GROUP):
        data = frame["data"][frame["traces"].index(head)]
        k = int(frame["name"])
        assert data["marker"]["symbol"] == ("x" if k >= 5 else "circle")
        if k >= 5:
            x, y = data["x"][0], data["y"][0]
            assert -2 <= x <= 2 and -1 <= y <= 3  # the ✗ is in view
            assert data["text"] == ["diverged at step 5"]
    notes = [a["text"] for a in default_spec["layout"]["annotations"]]
    assert any("SGD (lr=0.003) diverged at step 5" in n for n in notes)
    # the line stops at the last finite point: never past step 4
    hover = default_spec["data"][ids[-2]]
    assert max(c[0] for c in hover["customdata"]) == 4


def test_axes_fixed_to_domain_whatever_the_path():
    land = rosen_land(60)
    xy = np.array([[0.0, 0.0], [0.5, 0.5], [1e300, -1e300], [np.inf, 3.0], [np.nan, np.nan]])
    wild = Track("Wild (lr=1e9)", "#d62728", xy, np.array([1, 2, 1e300, np.inf, np.nan]), 3)
    far = Track("Far (lr=1)", "#1f77b4", np.array([[0.0, 0.0], [1e12, 1e12], [2e12, 3e12]]),
                np.array([1.0, 1e50, 1e60]))
    fig = trajectory_figure(land, [wild, far], max_frames=10)
    spec = strict_loads(sent_json(fig))  # no NaN / Infinity tokens
    for axis, rng in (("xaxis", [-2, 2]), ("yaxis", [-1, 3])):
        assert spec["layout"][axis]["range"] == rng
        assert spec["layout"][axis]["autorange"] is False
    coords = [v for f in spec["frames"] for d in f["data"] for key in ("x", "y")
              for v in d.get(key, []) if v is not None]
    assert max(abs(v) for v in coords) < 1e3  # far points pulled in for drawing


def test_hover_names_the_run_step_position_and_loss(default_spec):
    for label in ("Momentum (lr=0.0005)", "SGD (lr=0.003)"):
        ids = traces_named(default_spec, label)
        hover, head = default_spec["data"][ids[-2]], default_spec["data"][ids[-1]]
        for trace in (hover, head):
            tmpl = trace["hovertemplate"]
            for part in (label, "step %{customdata[0]}", "x=%{x", "y=%{y",
                         "loss=%{customdata[1]"):
                assert part in tmpl
        assert len(hover["customdata"]) == len(hover["x"])
    legend = [t["name"] for t in default_spec["data"] if t.get("showlegend", True)
              and t.get("name") not in {CLICK_GRID_NAME, "isolines", "colorbar",
                                        "global minimum", "start"}]
    assert sorted(legend) == sorted(t.label for t in default_tracks())


def test_controls_play_pause_speed(default_spec):
    play, speed = default_spec["layout"]["updatemenus"]
    labels = [b["label"] for b in play["buttons"]]
    assert labels == ["▶ Play", "❚❚ Pause"]
    assert play["buttons"][0]["args"][0] == PLAY_GROUP
    opts = play["buttons"][0]["args"][1]
    assert opts["frame"]["redraw"] is False and opts["transition"]["duration"] == 0
    assert opts["fromcurrent"] is True
    assert play["buttons"][1]["args"][0] == [None]
    durations = [b["args"][1]["frame"]["duration"] for b in speed["buttons"]]
    assert durations == sorted(durations, reverse=True) and len(durations) == 4


def test_click_grid_and_clicked_point(land, tracks, default_fig):
    grid = [t for t in default_fig.data if t.name == CLICK_GRID_NAME]
    assert len(grid) == 1 and len(grid[0].x) == 30 * 30
    gi = next(i for i, t in enumerate(default_fig.data) if t.name == CLICK_GRID_NAME)
    x, y = grid[0].x[37], grid[0].y[37]
    sel = {"points": [{"curve_number": gi + 7, "x": 0.1, "y": 0.2},
                      {"curve_number": gi, "point_index": 37, "x": x, "y": y}]}
    assert clicked_point(sel, default_fig) == (x, y)
    assert clicked_point({"points": [{"curve_number": gi + 7, "x": 0, "y": 0}]},
                         default_fig) is None
    assert clicked_point(None, default_fig) is None
    no_grid = trajectory_figure(land, tracks[:1], max_frames=5)
    assert clicked_point(sel, no_grid) is None
    # the grid's hover value is f at the nearest grid point
    f = grid[0].customdata[37]
    assert f == pytest.approx(rosenbrock(x, y), rel=0.05, abs=0.5)


def test_equal_aspect_only_for_squarish_domains(tracks):
    square = trajectory_figure(rosen_land(40), tracks[:1], max_frames=5)
    assert square.layout.yaxis.scaleanchor == "x" and square.layout.width is not None
    xs, ys = np.linspace(-8, 8, 40), np.linspace(-1, 1, 20)
    wide = Landscape(xs, ys, np.add.outer(ys**2, xs**2))
    fig = trajectory_figure(wide, [], max_frames=5)
    assert fig.layout.yaxis.scaleanchor is None and fig.layout.width is None


def test_edge_cases_build():
    land = rosen_land(30)
    one = Track("One (lr=1)", "#000", np.array([[0.0, 0.0], [0.1, 0.1]]), np.array([1.0, 0.5]))
    nan_start = Track("Bad", "#111", np.full((3, 2), np.nan), np.full(3, np.nan), 0)
    short = Track("Short", "#222", np.zeros((3, 2)), np.ones(3))
    for tracks in ([], [one], [one, nan_start, short]):
        fig = trajectory_figure(land, tracks, click_grid=5)
        strict_loads(sent_json(fig))
        assert [f.name for f in fig.frames if f.group == PLAY_GROUP][-1] == str(
            max((t.steps for t in tracks), default=0))


def test_many_starts_are_drawn(land):
    starts = np.array([[-1.5, 2.0], [0.0, -0.5], [1.5, 2.5]])
    fig = trajectory_figure(land, [], starts=starts, max_frames=5)
    trace = next(t for t in fig.data if t.name == "start")
    assert sorted(zip(trace.x, trace.y, strict=True)) == sorted(map(tuple, starts.tolist()))


def test_figures_import_no_torch_or_streamlit():
    code = ("import sys, optviz.figures; "
            "bad = [m for m in ('torch', 'streamlit', 'optviz.runner', 'optviz.surfaces') "
            "if m in sys.modules]; assert not bad, bad")
    subprocess.run([sys.executable, "-c", code], check=True)


# ----------------------------------------------------------------------------- loss curves


def test_loss_figure_log_when_positive(tracks):
    fig = loss_figure(tracks)
    assert fig.layout.yaxis.type == "log"
    lines = [t for t in fig.data if t.mode == "lines"]
    assert [t.name for t in lines] == [t.label for t in tracks]
    assert [t.line.color for t in lines] == [t.color for t in tracks]
    diverged = lines[3]
    assert len(diverged.y) == 5  # steps 0..4, the last finite ones
    cross = [t for t in fig.data if t.mode == "markers"]
    assert len(cross) == 1 and "diverged at step 5" in cross[0].hovertemplate
    # the diverged run's blow-up does not stretch the axis beyond the others' scale
    assert fig.layout.yaxis.range[1] < np.log10(1e5)


def test_loss_figure_negative_minimum_uses_the_gap():
    steps = np.arange(101)
    loss = -3.0 + 10.0 * 0.9**steps  # negative values, minimum -3
    t = Track("Adam (lr=0.1)", "#1f77b4", np.zeros((101, 2)), loss)
    gap = loss_figure([t], minimum_value=-3.0)
    assert gap.layout.yaxis.type == "log"
    assert np.allclose(gap.data[0].y, 10.0 * 0.9**steps, rtol=1e-4)
    linear = loss_figure([t])
    assert linear.layout.yaxis.type == "linear"
    assert "below 0" in linear.layout.title.text
    # a run that reaches f* exactly (or a hair below, by rounding) stays on the log plot
    exact = Track("Newton", "#000", np.zeros((3, 2)), np.array([4.0, 0.0, -1e-18]))
    assert loss_figure([exact]).layout.yaxis.type == "linear"  # f* unknown, a value < 0
    zero = Track("Newton", "#000", np.zeros((2, 2)), np.array([4.0, 0.0]))
    assert loss_figure([zero]).layout.yaxis.type == "log"  # no value below 0: log, floored
    fig = loss_figure([exact], minimum_value=0.0)
    assert fig.layout.yaxis.type == "log" and min(fig.data[0].y) == pytest.approx(1e-16)


def test_thin_minmax_keeps_extremes():
    rng = np.random.default_rng(0)
    v = rng.standard_normal(50_000)
    idx = thin_minmax(v, 1000)
    assert len(idx) <= 1000 and idx[0] == 0 and idx[-1] == len(v) - 1
    assert v.argmax() in idx and v.argmin() in idx
    assert np.array_equal(thin_minmax(v[:10], 1000), np.arange(10))


def test_loss_figure_long_runs_are_thinned():
    fig = loss_figure(spiral_tracks(8, 5000), max_points=1000)
    assert all(len(t.y) <= 1000 for t in fig.data)
    assert len(sent_json(fig)) < 250_000


def test_groups_share_one_legend_entry_and_many_entries_go_to_a_column(land):
    tracks = []
    for r, label in enumerate(["Adam (lr=0.05)", "SGD (lr=0.001)", "RMSprop (lr=0.01)"]):
        for s, start in enumerate([(-1.5, 2.0), (0.0, -0.5), (1.5, 2.5), (-1.0, 0.0)]):
            xy = np.array(start) + np.outer(np.linspace(0, 1, 51), [0.5 - s * 0.2, -0.5])
            tracks.append(Track(f"{label} from {start}", COLORS[r], xy, np.ones(51), group=label))
    fig = trajectory_figure(land, tracks, max_frames=20)
    shown = [t.name for t in fig.data if t.showlegend is not False and t.legendgroup]
    assert shown == ["Adam (lr=0.05)", "SGD (lr=0.001)", "RMSprop (lr=0.01)"]
    hover = [t.hovertemplate for t in fig.data if t.name == "Adam (lr=0.05)"
             and t.hovertemplate]
    assert any("Adam (lr=0.05) from (0.0, -0.5)" in h for h in hover)
    assert fig.layout.legend.orientation == "h"
    ungrouped = [Track(t.label, t.color, t.xy, t.loss) for t in tracks]
    fig = trajectory_figure(land, ungrouped, max_frames=20)
    assert fig.layout.legend.orientation == "v"  # 12 long entries: a column at the right
    assert fig.layout.margin.r > 200 and fig.layout.margin.t < 60
    loss = loss_figure(tracks)
    assert [t.name for t in loss.data if t.showlegend is not False] == shown
    # without groups, equal labels still get one entry each (two runs with the same settings)
    twins = [Track("Adam (lr=0.05)", c, tracks[0].xy, tracks[0].loss) for c in COLORS[:2]]
    fig = trajectory_figure(land, twins, max_frames=5)
    assert [t.name for t in fig.data if t.showlegend is not False and t.legendgroup] == [
        "Adam (lr=0.05)", "Adam (lr=0.05)"]
    assert len({t.legendgroup for t in fig.data if t.legendgroup}) == 2


def test_notes_on_the_plot_are_capped(land):
    xy = np.array([[0.0, 0.0], [0.1, 0.1], [np.nan, np.nan]])
    tracks = [Track(f"Run {i}", COLORS[i], xy, np.array([1.0, 2.0, np.nan]), diverged_at=2)
              for i in range(7)]
    fig = trajectory_figure(land, tracks, max_frames=5)
    note = next(a.text for a in fig.layout.annotations if "diverged" in a.text)
    assert note.count("<br>") == 3 and "and 4 more" in note
    assert len(divergence_notes(tracks)) == 7


# ----------------------------------------------------------------------------- flat landscapes


@pytest.mark.parametrize("value", [0.0, 3.0, -7.5, 1e16, -1e16, 1e18, 1e300])
@pytest.mark.parametrize("log_scale", [False, True])
def test_flat_landscapes_draw(value, log_scale):
    """A constant f (even 1e16, where ±0.5 is lost to rounding) draws: mid-scale colour, one
    colour-bar tick with its value, a loss chart and a rendered frame (the app showed
    "arange: cannot compute length" and no figure)."""
    from optviz.render import FrameRenderer, LegendEntry, plan_layout

    xs, ys = np.linspace(-5, 5, 30), np.linspace(-5, 5, 30)
    land = Landscape(xs, ys, np.full((30, 30), value), log_scale=log_scale, title="flat")
    track = Track("Adam (lr=0.1)", COLORS[0], np.array([[1.0, 1.0], [0.9, 0.9], [0.8, 0.8]]),
                  np.full(3, value))
    cs = color_scale(land)
    assert cs.flat == value and cs.lo < cs.hi and np.all(cs.unit() == 0.5)
    fig = trajectory_figure(land, [track], max_frames=3)
    strict_loads(sent_json(fig))
    bar = next(t for t in fig.data if t.name == "colorbar").marker.colorbar
    assert list(bar.ticktext) == [f"{value:.4g}"] and bar.title.text == "f"
    strict_loads(sent_json(loss_figure([track])))
    legend = [LegendEntry(track.label, track.color, (0,))]
    layout = plan_layout(land.x_range, land.y_range, legend, size=120)
    frame = np.asarray(FrameRenderer(layout, land, [track], legend).frame(2))
    plot = frame[layout.top + 5 : layout.top + layout.plot_h - 5,
                 layout.left + 5 : layout.left + 20]
    assert (plot.std(axis=(0, 1)) < 1.0).all()  # one colour, not undefined grey
    assert tuple(plot[0, 0]) != (200, 200, 200)


def test_nearly_flat_huge_landscape_draws_with_distinct_ticks():
    """1e18 + x over [-5, 5] is 1e18 ± a few float64 steps (128 apart): it still draws."""
    xs = np.linspace(-5, 5, 40)
    z = 1e18 + np.add.outer(np.zeros(40), xs * 1000)
    land = Landscape(xs, xs, z)
    fig = trajectory_figure(land, [], max_frames=2)
    strict_loads(sent_json(fig))
    bar = next(t for t in fig.data if t.name == "colorbar").marker.colorbar
    assert len(set(bar.ticktext)) == len(bar.ticktext) >= 1
