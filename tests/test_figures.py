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
    Landscape,
    Track,
    color_scale,
    divergence_notes,
    frame_steps,
    isoline_trace,
    isolines,
    landscape_image,
    loss_figure,
    simplify,
    thin_minmax,
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


@pytest.fixture(scope="module")
def land() -> Landscape:
    return rosen_land()


@pytest.fixture(scope="module")
def tracks() -> list[Track]:
    return default_tracks()


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


# ----------------------------------------------------------------------------- flat landscapes


