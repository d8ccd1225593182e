"""Exports: offline HTML, GIF/MP4/PNG frames, CSV/JSON trajectories, scene JSON, PyTorch code.

The PyTorch scripts are run for real (in one isolated subprocess, where optviz cannot be
imported) and their trajectories compared with ``simulate``'s, noise and L-BFGS included.
"""

from __future__ import annotations

import ast
import base64
import csv
import inspect
import io
import itertools
import json
import math
import re
import subprocess
import sys
import tokenize
from dataclasses import replace

import numpy as np
import pytest
import sympy
import torch
from PIL import Image

from optviz.exports import (
    FORMATS,
    export,
    export_html,
    file_name,
    media,
    mp4_available,
    pytorch_script,
    render_gif,
    render_mp4,
    render_png,
    scene_json,
    trajectories_csv,
    trajectories_json,
)
from optviz.exports.budget import (
    MARGIN,
    ExportRefused,
    ExportTimeout,
    build,
    drawn_points,
    html_size,
    plan,
)
from optviz.exports.tables import CSV_COLUMNS, csv_size, json_size
from optviz.exports.torch_expr import CONST_HELPER, TORCH_FUNCTIONS, torch_source
from optviz.figures import Landscape, Track, landscape_image
from optviz.formula import FUNCTIONS, compile_formula
from optviz.limits import (
    MAX_DRAWN_POINTS,
    MAX_EXPORT_BYTES,
    MAX_RUNS,
    MAX_SCENE_STEPS,
    MAX_STARTS,
)
from optviz.optimizers import diag_newton as diag_newton_kernel
from optviz.optimizers import get_variant, list_optimizers
from optviz.render import FrameRenderer, LegendEntry, _swatch_width, plan_layout, visible_points
from optviz.runner import Trajectories, simulate
from optviz.scene import DEFAULT_SCENARIO, PALETTE, RunConfig, Scenario
from optviz.views import simulate_scenario

# ----------------------------------------------------------------------------- fixtures


@pytest.fixture(scope="module")
def scene() -> Scenario:
    return replace(DEFAULT_SCENARIO, steps=60).validated()


@pytest.fixture(scope="module")
def traj(scene):
    return simulate_scenario(scene)


@pytest.fixture(scope="module")
def diverging() -> Scenario:
    """SGD with lr=0.5 on x² − y² runs away along y; Adam does not."""
    runs = (RunConfig.make("sgd", {"lr": 0.5}), RunConfig.make("adam", {"lr": 0.05}, slot=1))
    return Scenario(surface="saddle", runs=runs, starts=((-1.5, 0.01), (1.0, -0.5)),
                    steps=40).validated()


@pytest.fixture(scope="module")
def diverging_traj(diverging):
    traj = simulate_scenario(diverging)
    assert (traj.diverged_at[0] > 0).all() and (traj.diverged_at[1] == -1).all()
    return traj


# ----------------------------------------------------------------------------- HTML


def test_html_is_standalone_and_offline(scene, traj):
    page = export_html(scene, traj)
    assert page.lstrip().lower().startswith("<!doctype html")
    assert "<title>optviz: Rosenbrock</title>" in page
    # plotly.js is inlined: no script is loaded from anywhere (no CDN, no https)
    assert not re.search(r"<script[^>]*\bsrc\s*=", page, flags=re.IGNORECASE)
    assert not re.search(r"<link[^>]*\bhref\s*=\s*[\"']https?:", page, flags=re.IGNORECASE)
    assert len(page) > 3_000_000  # the library itself
    assert "OptvizPlayer.mount" in page  # the race player and its payload travel with the page
    assert '<script type="application/json" id="optviz-payload">' in page
    assert '"frames"' not in page  # no plotly.js frame animation any more


# ----------------------------------------------------------------------------- CSV / JSON


def _read_csv(text: str) -> list[dict[str, str]]:
    rows = list(csv.DictReader(io.StringIO(text)))
    assert rows and tuple(rows[0]) == CSV_COLUMNS
    return rows


def test_csv_holds_every_row_exactly(scene, traj):
    rows = _read_csv(trajectories_csv(scene, traj))
    assert len(rows) == len(scene.runs) * len(scene.starts) * (scene.steps + 1)
    for row in rows[:: 37]:
        r, s, k = int(row["run"]) - 1, int(row["start"]) - 1, int(row["step"])
        assert float(row["x"]) == traj.xy[r, s, k, 0]
        assert float(row["y"]) == traj.xy[r, s, k, 1]
        assert float(row["loss"]) == traj.loss[r, s, k]
        assert float(row["grad_x"]) == traj.grad[r, s, k, 0]
        assert float(row["grad_y"]) == traj.grad[r, s, k, 1]
        assert row["diverged"] == "0"
        assert row["optimizer"] == scene.runs[r].optimizer
        assert row["label"] == scene.runs[r].display_label()
        assert json.loads(row["hyperparameters"]) == scene.runs[r].to_dict()["hparams"]
        assert json.loads(row["extras"]) == {}  # no schedule, no clipping
        assert row["every"] == "1"
        assert (float(row["start_x"]), float(row["start_y"])) == scene.starts[s]


def test_csv_marks_divergence_with_empty_cells(diverging, diverging_traj):
    rows = _read_csv(trajectories_csv(diverging, diverging_traj))
    for row in rows:
        r, s, k = int(row["run"]) - 1, int(row["start"]) - 1, int(row["step"])
        at = int(diverging_traj.diverged_at[r, s])
        if 0 <= at <= k:
            assert row["diverged"] == "1"
            assert row["x"] == row["y"] == row["loss"] == ""
        else:
            assert row["diverged"] == "0"
            assert float(row["y"]) == diverging_traj.xy[r, s, k, 1]
    assert all("nan" not in value.lower() for row in rows for value in row.values())


def _no_constants(name: str) -> None:
    raise AssertionError(f"{name} in JSON")


def test_trajectories_json_round_trips(diverging, diverging_traj):
    doc = json.loads(trajectories_json(diverging, diverging_traj), parse_constant=_no_constants)
    scenario, warnings = Scenario.from_json(json.dumps(doc["scene"]))
    assert (scenario, warnings) == (diverging, [])
    assert doc["surface"]["name"] == "saddle" and doc["steps"] == diverging.steps
    assert len(doc["runs"]) == 2
    for r, run in enumerate(doc["runs"]):
        assert run["optimizer"] == diverging.runs[r].optimizer
        assert run["hyperparameters"]["lr"] == diverging.runs[r].kwargs()["lr"]
        for s, track in enumerate(run["tracks"]):
            at = int(diverging_traj.diverged_at[r, s])
            assert track["diverged_at"] == (at if at >= 0 else None)
            for key, values in (("x", diverging_traj.xy[r, s, :, 0]),
                                ("loss", diverging_traj.loss[r, s]),
                                ("grad_y", diverging_traj.grad[r, s, :, 1])):
                want = [v if math.isfinite(v) else None for v in values.tolist()]
                assert track[key] == want


def test_scene_json_reads_back(diverging):
    assert Scenario.from_json(scene_json(diverging)) == (diverging, [])


def test_export_dispatch_and_names(scene, traj):
    for fmt in ("csv", "json", "png"):
        calls: list[float] = []
        data = export(fmt, scene, traj, calls.append)
        assert isinstance(data, bytes) and data
        assert calls[-1] == 1.0 and calls == sorted(calls), (fmt, calls)
        # CSV and JSON report each track (a time limit can stop them between tracks)
        assert len(calls) == (1 if fmt == "png" else len(scene.runs) * len(scene.starts) + 1)
    assert export("csv", scene, traj).decode() == trajectories_csv(scene, traj)
    with pytest.raises(ValueError, match="unknown export format"):
        export("bmp", scene, traj)
    assert set(FORMATS) == {"html", "gif", "mp4", "png", "csv", "json"}
    assert file_name(scene, "gif") == "optviz-rosenbrock.gif"
    assert file_name(scene, "py", "-run2") == "optviz-rosenbrock-run2.py"


# ----------------------------------------------------------------------------- budgets


def _extras_scene() -> Scenario:
    """Run 2 has a schedule whose T_max follows the run, and clipping by norm and value."""
    runs = (RunConfig.make("sgd"),
            RunConfig.make("adam", {"lr": 0.05}, slot=1, steps=40, extras={
                "schedule": {"name": "CosineAnnealingLR"}, "clip_norm": 1.0,
                "clip_value": 5.0}))
    return Scenario(surface="rosenbrock", runs=runs, starts=((-1.5, 2.0), (0.5, -0.5)),
                    steps=40).validated()


def test_csv_and_json_record_each_runs_schedule_and_clipping():
    scene = _extras_scene()
    traj = simulate_scenario(scene)
    want = {"schedule": {"name": "CosineAnnealingLR", "T_max": 40, "eta_min": 0.0},
            "clip_norm": 1.0, "clip_value": 5.0}  # T_max resolved: what torch was given
    rows = _read_csv(trajectories_csv(scene, traj))
    assert {json.dumps(json.loads(r["extras"]), sort_keys=True) for r in rows if r["run"] == "1"} \
        == {"{}"}
    assert all(json.loads(r["extras"]) == want for r in rows if r["run"] == "2")
    doc = json.loads(trajectories_json(scene, traj))
    assert [run["extras"] for run in doc["runs"]] == [{}, want]
    # the scene inside the JSON still reads back with its extras (None: follows the run)
    assert Scenario.from_json(json.dumps(doc["scene"])) == (scene, [])


def test_every_kth_step_is_stated_in_the_file(scene, traj):
    rows = _read_csv(trajectories_csv(scene, traj, every=7))
    steps = sorted({int(r["step"]) for r in rows})
    assert steps == [*range(0, scene.steps + 1, 7), scene.steps]  # and always the last
    assert {r["every"] for r in rows} == {"7"}
    for row in rows[::5]:
        r, s, k = int(row["run"]) - 1, int(row["start"]) - 1, int(row["step"])
        assert float(row["loss"]) == traj.loss[r, s, k]
    doc = json.loads(trajectories_json(scene, traj, every=7))
    assert doc["every"] == 7 and doc["step"] == steps and doc["steps"] == scene.steps
    track = doc["runs"][0]["tracks"][0]
    assert track["x"] == [traj.xy[0, 0, k, 0] for k in steps]
    assert json.loads(trajectories_json(scene, traj))["step"] == list(range(scene.steps + 1))
    with pytest.raises(ValueError, match="every"):
        trajectories_csv(scene, traj, every=0)


@pytest.mark.parametrize("every", [1, 7])
def test_size_estimates_are_within_two_per_cent(scene, traj, diverging, diverging_traj, every):
    for s, t in ((scene, traj), (diverging, diverging_traj), (_big_scene(300), None)):
        t = _fake_traj(s) if t is None else t
        for size, make in ((csv_size, trajectories_csv), (json_size, trajectories_json)):
            real = len(make(s, t, every).encode("utf-8"))
            assert size(s, t, every) == pytest.approx(real, rel=0.02), (size.__name__, every)


def _big_scene(steps: int = MAX_SCENE_STEPS) -> Scenario:
    """The largest scene the app accepts: MAX_RUNS runs × MAX_STARTS starts × steps."""
    variants = ["sgd", "momentum", "rmsprop", "adam", "adamw", "nesterov", "adagrad", "nadam"]
    runs = tuple(RunConfig.make(v, {}, slot=i) for i, v in enumerate(variants[:MAX_RUNS]))
    starts = tuple((-1.5 + 0.1 * i, 2.0 - 0.1 * i) for i in range(MAX_STARTS))
    return Scenario(surface="rosenbrock", runs=runs, starts=starts, steps=steps).validated()


def _fake_traj(scene: Scenario) -> Trajectories:
    """Trajectories of the scene's shape with random 17-digit floats: the longest numbers a
    file can hold (real paths that converge write shorter ones), made in milliseconds."""
    n_runs, n_starts, n = len(scene.runs), len(scene.starts), scene.steps + 1
    rng = np.random.default_rng(0)
    xy = rng.normal(size=(n_runs, n_starts, n, 2))
    xy[:, :, 0] = np.asarray(scene.starts)
    return Trajectories(
        surface=scene.surface, runs=tuple((r.optimizer, r.kwargs()) for r in scene.runs),
        starts=np.asarray(scene.starts), steps=scene.steps, seed=scene.seed, noise=0.0, xy=xy,
        loss=rng.lognormal(size=(n_runs, n_starts, n)), grad=rng.normal(size=(n_runs, n_starts,
                                                                              n, 2)),
        diverged_at=-np.ones((n_runs, n_starts), dtype=int))


def test_the_largest_scenes_exports_stay_within_their_budgets():
    """By estimate (the full CSV would be ~160 MB): CSV and JSON keep every k-th step to fit
    25 MB and say so; the HTML page fits whole; pictures are refused, saying what to reduce."""
    scene = _big_scene()
    traj = _fake_traj(scene)
    plans = {fmt: plan(fmt, scene, traj) for fmt in FORMATS}
    csv_plan, json_plan = plans["csv"], plans["json"]
    assert csv_plan.full_size > 150e6 and json_plan.full_size > 50e6  # as measured before
    for p in (csv_plan, json_plan):
        assert p.refused is None and p.every > 1
        assert p.size * MARGIN <= MAX_EXPORT_BYTES
        assert p.size > 0.8 * MAX_EXPORT_BYTES  # not decimated more than it needs
        # the estimate the plan used is the file's, decimated
        size = csv_size if p.fmt == "csv" else json_size
        assert size(scene, traj, p.every) == p.size
        note = p.note()
        assert f"every {p.every}" in note and "25 MB limit" in note and "fewer steps" in note
        assert p.suffix() == f"-every{p.every}"
    assert csv_plan.every == 7  # 165 MB / 7: 23.6 MB
    assert plans["html"].refused is None and plans["html"].size <= MAX_EXPORT_BYTES
    for fmt in ("png", "gif", "mp4"):
        points = media.picture_points(scene, traj)  # random paths: hardly any left out
        assert points > 0.99 * drawn_points(traj)
        assert plans[fmt].refused and f"{points:,}" in plans[fmt].refused
        assert "fewer steps, starts or runs" in plans[fmt].refused
        with pytest.raises(ExportRefused, match="at most 150,000 path points"):
            build(fmt, scene, traj, plans[fmt])
    # the default scene (4 runs × 300 steps) is offered whole, every format
    default = DEFAULT_SCENARIO.validated()
    small = {fmt: plan(fmt, default, _fake_traj(default)) for fmt in FORMATS}
    assert all(p.refused is None and p.every == 1 and p.note() is None for p in small.values())


def test_an_oversized_export_is_decimated_to_its_budget_when_built(scene, traj):
    whole = len(trajectories_csv(scene, traj).encode())
    p = plan("csv", scene, traj, max_bytes=whole // 3)
    assert p.every >= 3 and p.note().startswith(f"The CSV keeps every {p.every}")
    data = build("csv", scene, traj, p)
    assert len(data) <= whole // 3
    rows = _read_csv(data.decode())
    assert {r["every"] for r in rows} == {str(p.every)}
    assert file_name(scene, "csv", p.suffix()) == f"optviz-rosenbrock-every{p.every}.csv"
    # an HTML page over a (tiny) budget is refused with its size; a bad plan is refused
    html = plan("html", scene, traj, max_bytes=2_000_000)
    assert html.refused and "over the 2.0 MB limit" in html.refused
    with pytest.raises(ExportRefused, match="HTML page would be about"):
        build("html", scene, traj, html)
    with pytest.raises(ValueError, match="plan is for"):
        build("json", scene, traj, p)


def test_html_size_estimate_bounds_the_page(scene, traj):
    page = len(export_html(scene, traj).encode())
    assert page <= html_size(traj) <= page + 1_500_000
    mid = _big_scene(300)  # 8 × 16 × 301 points: float32 arrays
    mid_traj = _fake_traj(mid)
    page = len(export_html(mid, mid_traj).encode())
    assert page <= html_size(mid_traj) <= page + 1_500_000


def test_building_an_export_stops_at_its_time_limit(scene, traj):
    with pytest.raises(ExportTimeout, match="building the CSV took more than"):
        build("csv", scene, traj, time_limit=1e-9)
    with pytest.raises(ExportTimeout, match="building the GIF took more than"):
        build("gif", scene, traj, time_limit=1e-9, width=640, duration=1)
    assert build("json", scene, traj, time_limit=60) == export("json", scene, traj)


def _exports_page():
    """A page with only the exports of a 60-step default scene (``AppTest.from_function``)."""
    from dataclasses import replace

    from optviz.scene import DEFAULT_SCENARIO
    from optviz.ui import share
    from optviz.views import simulate_scenario

    scene = replace(DEFAULT_SCENARIO, steps=60).validated()
    share.exports(scene, simulate_scenario(scene))


def test_the_page_offers_a_decimated_csv_and_refused_pictures_with_their_reasons(monkeypatch):
    from streamlit.testing.v1 import AppTest

    from optviz.exports import budget

    monkeypatch.setattr(budget, "MAX_EXPORT_BYTES", 20_000)  # the 60-step CSV is ~30 kB
    monkeypatch.setattr(budget, "MAX_DRAWN_POINTS", 100)
    at = AppTest.from_function(_exports_page, default_timeout=60).run()
    assert not at.exception, at.exception
    labels = {b.proto.label for b in at.get("download_button")}
    assert any(label.startswith("CSV · every ") for label in labels), labels
    captions = [c.value for c in at.caption]
    assert any(c.startswith("The CSV keeps every") and "over the 20 kB limit" in c
               for c in captions), captions
    assert any(c.startswith("Pictures (PNG, GIF, MP4) are drawn for at most 100") and
               "244" in c for c in captions), captions  # 4 runs × 61 steps
    assert at.button(key="dl.png").disabled
    assert "render.gif" not in [b.key for b in at.button]  # refused: no render button
    # within the budgets: every file whole, nothing said
    monkeypatch.setattr(budget, "MAX_EXPORT_BYTES", 25_000_000)
    monkeypatch.setattr(budget, "MAX_DRAWN_POINTS", 150_000)
    at = AppTest.from_function(_exports_page, default_timeout=60).run()
    assert not at.exception and not at.caption
    assert {"HTML", "PNG", "CSV", "JSON"} <= {b.proto.label for b in at.get("download_button")}
    assert "render.gif" in [b.key for b in at.button]


# ----------------------------------------------------------------------------- pictures


def _decode_uri(uri: str) -> Image.Image:
    return Image.open(io.BytesIO(base64.b64decode(uri.split(",", 1)[1]))).convert("RGB")


def test_landscape_is_coloured_exactly_like_the_figure():
    """With nothing drawn over it, the plot holds the figures' landscape picture pixel for
    pixel (one grid point per pixel)."""
    surface = DEFAULT_SCENARIO.resolve_surface()
    layout = plan_layout(*surface.domain, legend=[], size=120)
    xs, ys = layout.pixel_centres()
    gx, gy = np.meshgrid(xs, ys)
    land = Landscape(xs=xs, ys=ys, z=surface.compiled.numpy(gx, gy), log_scale=True)
    renderer = FrameRenderer(layout, land, [], [], starts=np.zeros((0, 2)), n_levels=0)
    frame = renderer.frame(0)
    box = (layout.left, layout.top, layout.left + layout.plot_w, layout.top + layout.plot_h)
    plot = np.asarray(frame.crop(box))
    assert np.array_equal(plot, np.asarray(_decode_uri(landscape_image(land))))


def test_png_is_the_final_frame(scene, traj):
    png = Image.open(io.BytesIO(render_png(scene, traj, size=240)))
    assert png.format == "PNG" and png.mode == "RGB"
    assert png.size[0] % 2 == 0 and png.size[1] % 2 == 0 and png.size[0] >= 240
    renderer = media.scene_renderer(scene, traj, size=240)
    assert np.array_equal(np.asarray(png), np.asarray(renderer.frame(scene.steps)))
    # each run's head is drawn in its colour somewhere in the picture
    pixels = np.asarray(png).reshape(-1, 3)
    for run in scene.runs[:2]:
        rgb = np.array([int(run.color[i : i + 2], 16) for i in (1, 3, 5)])
        assert (np.abs(pixels - rgb).sum(axis=1) == 0).any(), run.color


def test_gif_frames_progress_and_loop(scene, traj):
    seen: list[float] = []
    data = render_gif(scene, traj, progress=seen.append, size=200, frames=12, fps=10)
    gif = Image.open(io.BytesIO(data))
    assert gif.format == "GIF" and gif.n_frames == 12 and gif.info["loop"] == 0
    assert len(seen) >= 12 and seen[-1] == 1.0
    assert all(0.0 <= a <= b <= 1.0 for a, b in itertools.pairwise(seen))
    gif.seek(0)
    assert gif.info["duration"] == 100
    gif.seek(gif.n_frames - 1)
    last = np.asarray(gif.convert("RGB"), dtype=float)
    final = np.asarray(Image.open(io.BytesIO(render_png(scene, traj, size=200))), dtype=float)
    assert last.shape == final.shape
    assert np.abs(last - final).mean() < 2.0  # only the 255-colour palette differs


def test_renderer_survives_divergence_and_far_points(diverging, diverging_traj):
    data = render_gif(diverging, diverging_traj, size=160, frames=6)
    assert Image.open(io.BytesIO(data)).n_frames == 6
    surface = DEFAULT_SCENARIO.resolve_surface()
    legend = [LegendEntry("far", "#ff0000", (0,)), LegendEntry("nan", "#00ff00", (1,))]
    layout = plan_layout(*surface.domain, legend=legend, size=100)
    xs, ys = layout.pixel_centres()
    land = Landscape(xs=xs, ys=ys, z=np.add.outer(ys, xs) ** 2)
    far = np.array([[0.0, 0.0], [1e300, -1e300], [np.inf, 0.0], [np.nan, np.nan]])
    tracks = [Track("far", "#ff0000", far, np.array([0.0, 1.0, np.inf, np.nan]), 2),
              Track("nan", "#00ff00", np.full((4, 2), np.nan), np.full(4, np.nan), 0)]
    renderer = FrameRenderer(layout, land, tracks, legend)
    for k in (0, 1, 3, 1):  # going back restarts the paths
        assert renderer.frame(k).size == (layout.width, layout.height)


def test_visible_points_keep_both_ends_and_every_cell_change():
    # cells of a 1-pixel grid: (0,0) (0,0) (0,0) (1,0) (1,0) (1,0) (5,5) (5,5)
    px = np.array([[0.1, 0.1], [0.2, 0.3], [0.9, 0.2], [1.2, 0.2], [1.3, 0.4], [1.4, 0.9],
                   [5.0, 5.0], [5.1, 5.2]])
    assert visible_points(px, 1.0).tolist() == [0, 3, 6, 7]
    assert visible_points(px[:6], 1.0).tolist() == [0, 3, 5]  # the last point, always
    assert visible_points(px[:2], 1.0).tolist() == [0, 1]
    assert visible_points(px[:0]).tolist() == []
    back_and_forth = np.array([[0.5, 0.5], [1.5, 0.5]] * 3)  # every point changes cell
    assert visible_points(back_and_forth, 1.0).tolist() == list(range(6))


def _long_scene(steps: int = 1500, surface: str = "rosenbrock") -> Scenario:
    runs = tuple(RunConfig.make(v, {}, slot=i) for i, v in enumerate(["sgd", "adam", "rmsprop"]))
    starts = tuple((-1.5 + 0.3 * i, 2.0 - 0.2 * i) for i in range(4))
    return Scenario(surface=surface, runs=runs, starts=starts, steps=steps).validated()


def test_picture_points_count_what_the_renderer_draws(diverging, diverging_traj):
    """``picture_points`` (all paths at once, nothing drawn) equals the renderer's own count,
    divergence included; the widest picture draws the most."""
    long_scene = _long_scene()
    long_traj = simulate_scenario(long_scene)
    dead = replace(long_traj, xy=long_traj.xy.copy(), diverged_at=long_traj.diverged_at.copy())
    dead.xy[0, 0] = np.nan  # a path with nothing to draw (its start is not finite)
    dead.diverged_at[0, 0], dead.diverged_at[1, 1] = 0, 1  # and one with its start only
    for scene, traj in ((long_scene, long_traj), (long_scene, dead),
                        (diverging, diverging_traj)):
        counts = {}
        for width in (320, 640, 1920):
            counts[width] = media.picture_points(scene, traj, width)
            assert counts[width] == media.scene_renderer(scene, traj, width=width).drawn_points
        assert counts[320] <= counts[640] <= counts[1920] == media.picture_points(scene, traj)
        assert counts[1920] <= drawn_points(traj)
    assert counts[1920] < drawn_points(traj)  # the diverged paths stop being drawn


def test_a_thinned_path_draws_the_same_picture(monkeypatch):
    """Points within half a pixel of the one before are not drawn: the picture is the one every
    point draws, to a few levels of one channel in a few pixels, with half the points."""
    from optviz import render

    scene = _long_scene(2000)
    traj = simulate_scenario(scene)
    thinned = media.scene_renderer(scene, traj, width=640)
    picture = np.asarray(thinned.frame(scene.steps), dtype=int)
    monkeypatch.setattr(render, "visible_points", lambda px, cell=None: np.arange(len(px)))
    every = media.scene_renderer(scene, traj, width=640)
    assert every.drawn_points == drawn_points(traj)
    assert thinned.drawn_points < 0.6 * every.drawn_points
    diff = np.abs(picture - np.asarray(every.frame(scene.steps), dtype=int)).max(axis=2)
    assert diff.max() <= 32 and (diff > 0).mean() < 0.005


def test_settled_paths_no_longer_refuse_a_picture():
    """A scene over the drawing budget by runs × starts × steps, whose paths settle: its
    pictures are offered (before, every point counted)."""
    scene = _big_scene()
    traj = _fake_traj(scene)
    traj.xy[:, :, 20:] = traj.xy[:, :, 20:21]  # every path stops moving after 20 steps
    assert drawn_points(traj) > 4 * MAX_DRAWN_POINTS
    # each path: its 21 moving points and its last one
    assert media.picture_points(scene, traj) == 22 * MAX_RUNS * MAX_STARTS
    for fmt in ("png", "gif", "mp4"):
        assert plan(fmt, scene, traj).refused is None


def test_legend_wraps_within_the_picture():
    legend = [LegendEntry(f"Optimizer number {i} (lr=0.00{i}, betas=(0.9, 0.999))",
                          PALETTE[i], (i,)) for i in range(8)]
    layout = plan_layout((-2.0, 2.0), (-1.0, 3.0), legend, size=300)
    assert len(layout.legend_rows) > 2
    assert sorted(i for row in layout.legend_rows for i, _ in row) == list(range(8))
    for row in layout.legend_rows:
        for i, x in row:
            assert x + _swatch_width(legend[i].label) <= layout.width or len(row) == 1


@pytest.mark.skipif(not mp4_available(), reason="imageio-ffmpeg not installed")
def test_mp4_is_h264_in_mp4(scene, traj):
    seen: list[float] = []
    data = render_mp4(scene, traj, progress=seen.append, size=160, frames=8)
    assert data[4:8] == b"ftyp" and len(data) > 1000
    assert seen[-1] == 1.0


def test_mp4_without_encoder_says_so(scene, traj, monkeypatch):
    monkeypatch.setattr(media, "_ffmpeg", lambda: None)
    assert not media.mp4_available()
    with pytest.raises(RuntimeError, match="imageio-ffmpeg"):
        media.render_mp4(scene, traj)


# ----------------------------------------------------------------------------- torch source

_FORMULAS = [
    "x + 1/0", "x*(-8)**(1/3)", "2**x + e**y", "-x**2 + (-y)**2", "x**-0.5 + y",
    "atan2(x, 2) + atan2(1, y)", "sin(1)*x", "3", "x/3 + 1/3", "x**(1/3)", "1e300**2 + x",
    "x - -y", "x**2/2**3", "x/(1/0)", "100000000000*x + y", "(x # a comment\n + y)",
    "2.5e-3*x*y", "-(x + y)**2/4", "pi*x - e", "x**y", "2/(3*x)",
]


def _as_function(text: str):
    source = torch_source(compile_formula(text))
    namespace: dict = {"torch": torch, "math": math}
    exec(CONST_HELPER, namespace)  # generated from the checked tree, not from the text
    return eval("lambda x, y: " + source.code, namespace)


@pytest.mark.parametrize("text", [
    *_FORMULAS,
    *(f"{name}(x/3) + {name}(y/3 + 2)" if arity == 1 else f"{name}(x, y + 3)"
      for name, arity in FUNCTIONS.items()),
])
def test_torch_source_computes_the_formula(text):
    grid = torch.linspace(-2.5, 2.5, 9, dtype=torch.float64)
    x, y = torch.meshgrid(grid, grid + 0.1, indexing="xy")
    want = compile_formula(text).f(torch.stack([x, y], dim=-1))
    got = _as_function(text)(x, y)
    assert got.shape == want.shape and got.dtype == torch.float64
    torch.testing.assert_close(got, want, rtol=1e-13, atol=1e-13, equal_nan=True)


def test_torch_source_is_readable_and_refuses_unknown_nodes():
    surface = DEFAULT_SCENARIO.resolve_surface()
    assert torch_source(surface.compiled).code == "(1 - x)**2 + 100*(y - x**2)**2"
    assert "torch.cos(2*math.pi*x)" in torch_source(compile_formula("cos(2*pi*x)")).code
    assert set(TORCH_FUNCTIONS) >= {n for n in FUNCTIONS if n in TORCH_FUNCTIONS} | {"sin"}

    class Fake:
        expr = compile_formula("x").expr * sympy.Symbol("z")

    with pytest.raises(ValueError, match=r"unknown symbol|cannot write"):
        torch_source(Fake())  # type: ignore[arg-type]


# ----------------------------------------------------------------------------- PyTorch script

_SCRIPT_CASES = [  # surface, variant, hyperparameters, noise, steps, starts
    ("rosenbrock", "adam", {"lr": 0.05}, None, 200, ((-1.5, 2.0), (0.5, -0.5))),
    ("rosenbrock", "lbfgs", {}, None, 30, ((-1.5, 2.0), (0.5, -0.5))),
    ("noisy_quadratic", "momentum", {"lr": 0.01}, None, 150, ((-2.0, 1.5), (1.5, 1.0))),
    ("noisy_quadratic", "lbfgs", {"lr": 0.1, "line_search_fn": None}, None, 40,
     ((-2.0, 1.5), (1.5, 1.0))),
    ("himmelblau", "newton", {"damping": 1.0}, None, 60, ((-4.0, 4.0), (1.0, 1.0))),
    ("booth", "diag_newton", {}, None, 100, ((-8.0, 2.0), (9.0, 0.0))),
    ("rosenbrock", "vsgd", {}, None, 150, ((-1.5, 2.0), (0.5, -0.5))),
    ("noisy_quadratic", "diag_newton", {}, None, 100, ((-2.0, 1.5), (1.5, 1.0))),
    ("rosenbrock", "vsgd", {}, 0.5, 150, ((-1.5, 2.0), (0.5, -0.5))),
    ("booth", "adagrad_full", {}, None, 100, ((-8.0, 2.0), (9.0, 0.0))),
    ("rosenbrock", "natural_gradient", {}, None, 150, ((-1.5, 2.0), (0.5, -0.5))),
    ("ackley", "nadam", {}, 0.5, 100, ((-2.0, 1.5), (1.0, -2.0))),
    ("saddle", "sgd", {"lr": 0.5}, None, 60, ((-1.5, 0.01), (1.0, -0.5))),
    # the diagonal methods where the secant used to amplify rounding (2e-4 apart before)
    ("beale", "diag_newton", {}, None, 150, ((1.0, 1.5), (-1.0, 1.0))),
    ("beale", "vsgd", {}, 0.3, 150, ((1.0, 1.5), (-1.0, 1.0))),
    ("himmelblau", "vsgd", {}, None, 150, ((-4.0, 4.0), (1.0, 1.0))),
    ("himmelblau", "diag_newton", {}, 0.5, 150, ((-4.0, 4.0), (1.0, 1.0))),
    ("booth", "vsgd", {"curvature": "secant"}, None, 100, ((-8.0, 2.0), (9.0, 0.0))),
    # every other torch.optim class
    ("rosenbrock", "rprop", {}, None, 100, ((-1.5, 2.0), (0.5, -0.5))),
    ("beale", "adagrad", {}, 0.2, 100, ((1.0, 1.5), (-1.0, 1.0))),
    ("himmelblau", "rmsprop", {"centered": True, "momentum": 0.5}, None, 100,
     ((-4.0, 4.0), (1.0, 1.0))),
    ("rosenbrock", "adadelta", {}, None, 100, ((-1.5, 2.0), (0.5, -0.5))),
    ("matyas", "adamw", {}, None, 100, ((-8.0, 6.0), (3.0, -4.0))),
    ("rosenbrock", "adamax", {}, None, 100, ((-1.5, 2.0), (0.5, -0.5))),
    ("rosenbrock", "radam", {"decoupled_weight_decay": True, "weight_decay": 0.1}, None, 100,
     ((-1.5, 2.0), (0.5, -0.5))),
    ("booth", "asgd", {"t0": 20.0}, None, 100, ((-8.0, 2.0), (9.0, 0.0))),
    ("rosenbrock", "adafactor", {}, 0.3, 100, ((-1.5, 2.0), (0.5, -0.5))),
    ("himmelblau", "muon", {"lr": 0.05}, None, 100, ((-4.0, 4.0), (1.0, 1.0))),
    # the packages' classes, imported from them
    ("rosenbrock", "lion", {}, None, 100, ((-1.5, 2.0), (0.5, -0.5))),
    ("himmelblau", "adopt", {}, 0.3, 100, ((-4.0, 4.0), (1.0, 1.0))),
    ("rosenbrock", "adan", {"beta3": 0.95}, None, 100, ((-1.5, 2.0), (0.5, -0.5))),
    ("booth", "lamb", {"weight_decay": 0.1}, None, 100, ((-8.0, 2.0), (9.0, 0.0))),
    ("beale", "adabelief", {}, 0.2, 100, ((1.0, 1.5), (-1.0, 1.0))),
    ("rosenbrock", "ademamix", {"beta3": 0.99}, None, 100, ((-1.5, 2.0), (0.5, -0.5))),
    ("himmelblau", "soap", {}, None, 100, ((-4.0, 4.0), (1.0, 1.0))),
    ("rosenbrock", "prodigy", {}, 0.3, 100, ((-1.5, 2.0), (0.5, -0.5))),
    ("rosenbrock", "adamw_schedulefree", {}, 0.3, 100, ((-1.5, 2.0), (0.5, -0.5))),
    ("matyas", "adamw_schedulefree", {"warmup_steps": 10}, None, 100,
     ((-8.0, 6.0), (3.0, -4.0))),
    ("rosenbrock", "sophiah", {}, None, 100, ((-1.5, 2.0), (0.5, -0.5))),
    ("himmelblau", "sophiah", {"update_period": 3, "hessian_distribution": "rademacher"}, 0.3,
     100, ((-4.0, 4.0), (1.0, 1.0))),
    ("rosenbrock", "lookahead", {"base": "momentum", "k": 3, "pullback_momentum": "reset"}, 0.3,
     100, ((-1.5, 2.0), (0.5, -0.5))),
    # schedules and clipping (extras as the last item): with and without noise, L-BFGS too
    ("rosenbrock", "adam", {"lr": 0.05}, None, 150, ((-1.5, 2.0), (0.5, -0.5)),
     {"schedule": {"name": "CosineAnnealingLR", "T_max": 100}, "clip_norm": 1.0}),
    ("rosenbrock", "momentum", {"lr": 0.002}, 0.5, 150, ((-1.5, 2.0), (0.5, -0.5)),
     {"schedule": {"name": "warmup_cosine", "warmup": 30}, "clip_value": 5.0, "clip_norm": 20.0}),
    ("himmelblau", "sgd", {"lr": 0.01}, 0.3, 120, ((-4.0, 4.0), (1.0, 1.0)),
     {"schedule": {"name": "OneCycleLR"}, "clip_value": 2.0}),
    ("beale", "rmsprop", {"lr": 0.01}, None, 120, ((1.0, 1.5), (-1.0, 1.0)),
     {"schedule": {"name": "MultiStepLR", "milestones": [40, 80], "gamma": 0.5}}),
    ("booth", "adam", {"lr": 0.5}, None, 100, ((-8.0, 2.0), (9.0, 0.0)),
     {"schedule": {"name": "CosineAnnealingWarmRestarts", "T_0": 20, "T_mult": 2}}),
    ("rosenbrock", "lbfgs", {"lr": 0.5}, None, 30, ((-1.5, 2.0), (0.5, -0.5)),
     {"schedule": {"name": "StepLR", "step_size": 10, "gamma": 0.5}, "clip_norm": 10.0}),
    ("noisy_quadratic", "lbfgs", {"lr": 0.5, "line_search_fn": None}, 0.2, 30,
     ((-2.0, 1.5), (1.5, 1.0)), {"schedule": {"name": "ExponentialLR", "gamma": 0.95},
                                 "clip_value": 3.0}),
    ("himmelblau", "muon", {"lr": 0.05}, None, 80, ((-4.0, 4.0), (1.0, 1.0)),
     {"schedule": {"name": "LinearLR", "start_factor": 0.2, "total_iters": 40},
      "clip_norm": 0.5}),
]


def _case_scene(surface, variant, hparams, noise, steps, starts, extras=None) -> Scenario:
    runs = (RunConfig.make("sgd"), RunConfig.make(variant, hparams, slot=1, extras=extras,
                                                  steps=steps))
    return Scenario(surface=surface, runs=runs, starts=starts, steps=steps, noise=noise,
                    seed=7).validated()


def _custom_scene(variant: str = "adam", noise: float | None = None) -> Scenario:
    runs = (RunConfig.make("rmsprop", {"lr": 0.02}), RunConfig.make(variant, {}, slot=1))
    return Scenario(surface="custom", formula="x**2 + 3*y**2 + x*y*sin(1) + 1/3 + atan2(1, y)",
                    domain=((-3.0, 3.0), (0.5, 4.0)), runs=runs, starts=((2.0, 3.0), (-1, 1)),
                    steps=80, noise=noise, seed=5).validated()


def test_script_cases_cover_every_optimizer():
    covered = {get_variant(case[1]).optimizer for case in _SCRIPT_CASES} | {"adam"}
    assert covered == set(list_optimizers())


def _imports(script: str) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(script)):
        if isinstance(node, ast.Import):
            found |= {a.name.split(".")[0] for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            found.add((node.module or "").split(".")[0])
    return found


def test_scripts_reproduce_simulate(tmp_path, scene):
    """Every script, run where optviz cannot be imported, retraces the app's run (``simulate``
    with its closed-form derivatives; the script uses autograd) to 1e-9: noise, L-BFGS
    closures, own optimizers, divergence. One subprocess runs them all (torch is imported
    once); the last prints its table."""
    scenes = [_case_scene(*case) for case in _SCRIPT_CASES] + [
        _custom_scene(), _custom_scene("diag_newton", 0.4), _custom_scene("vsgd", 0.4)]
    args = []
    for i, sc in enumerate(scenes):
        script = pytorch_script(sc, run=1, start=1)
        assert _imports(script) <= {"__future__", "torch", "numpy", "math", "sys", "itertools",
                                    "inspect", "pytorch_optimizer", "prodigyopt", "schedulefree"}
        path = tmp_path / f"script{i}.py"
        path.write_text(script, encoding="utf-8")
        args += [str(path), str(tmp_path / f"out{i}.csv")]
    printing = tmp_path / "adam.py"
    printing.write_text(pytorch_script(scene, run=3), encoding="utf-8")
    driver = ("import runpy, sys\n"
              "pairs, printing = sys.argv[1:-1], sys.argv[-1]\n"
              "for script, out in zip(pairs[0::2], pairs[1::2], strict=True):\n"
              "    sys.argv = [script, out]\n"
              "    runpy.run_path(script, run_name='__main__')\n"
              "print('=== printing ===')\n"
              "sys.argv = [printing]\n"
              "runpy.run_path(printing, run_name='__main__')\n")
    proc = subprocess.run([sys.executable, "-I", "-c", driver, *args, str(printing)],
                          cwd=tmp_path, capture_output=True, text=True, timeout=600,
                          check=False)
    assert proc.returncode == 0, proc.stderr[-2000:]
    for i, sc in enumerate(scenes):
        ref = simulate(sc.resolve_surface(), sc.run_specs(), sc.starts, steps=sc.steps,
                       seed=sc.seed, noise=sc.noise)
        rows = np.loadtxt(tmp_path / f"out{i}.csv", delimiter=",", skiprows=1, ndmin=2)
        at = int(ref.diverged_at[1, 1])
        assert len(rows) == (at if at >= 0 else sc.steps + 1), sc.surface
        n = len(rows)
        np.testing.assert_array_equal(rows[:, 0], np.arange(n))
        want = np.column_stack([ref.xy[1, 1, :n], ref.loss[1, 1, :n], ref.grad[1, 1, :n]])
        np.testing.assert_allclose(rows[:, 1:], want, rtol=1e-9, atol=1e-9,
                                   err_msg=f"{sc.surface} {sc.runs[1].variant}")
    before, printed = proc.stdout.split("=== printing ===\n")
    assert before.count("diverged at step") == 1
    lines = printed.strip().splitlines()
    assert len(lines) == 11 and lines[-1].startswith("step    60")
    x = float(re.search(r"x=\s*(\S+)", lines[-1]).group(1))
    assert x == pytest.approx(simulate_scenario(scene).xy[3, 0, -1, 0], abs=1e-6)


def test_script_shape_and_text(scene):
    script = pytorch_script(scene, run=3)
    assert "opt = torch.optim.Adam(\n    [p], lr=0.05, betas=(0.9, 0.999)," in script
    assert "def f(x, y):\n" in script and "(1 - x)**2 + 100*(y - x**2)**2" in script
    assert "requires_grad=True" in script and "dtype=torch.float64" in script
    assert "noise(" not in script  # no noise in this scene
    noisy = pytorch_script(_case_scene(*_SCRIPT_CASES[2]), run=1, start=1)
    assert "def noise(step, call=0):" in noisy and "SEED, RUN, START_INDEX = 7, 1, 1" in noisy
    newton = pytorch_script(_case_scene(*_SCRIPT_CASES[4]), run=1)
    assert "class Newton(KernelOptimizer):" in newton and "hessian_fn=hessian" in newton
    assert "class KernelOptimizer(torch.optim.Optimizer):" in newton
    diagonal = pytorch_script(_case_scene(*_SCRIPT_CASES[7]), run=1)
    assert "class DiagNewton(KernelOptimizer):" in diagonal and "grad_fn=gradient" in diagonal
    # the embedded kernel is optviz's own source, not a copy
    assert inspect.getsource(diag_newton_kernel.update) in diagonal
    with pytest.raises(ValueError, match="run 4 is out of range"):
        pytorch_script(scene, run=4)
    with pytest.raises(ValueError, match="start 1 is out of range"):
        pytorch_script(scene, run=0, start=1)


def test_script_imports_a_package_class_and_builds_wrappers_and_averages():
    cases = {case[1]: case for case in _SCRIPT_CASES}
    lion = pytorch_script(_case_scene(*cases["lion"]), run=1)
    assert "\nfrom pytorch_optimizer import Lion\n" in lion and "opt = Lion([p], lr=0.01," in lion
    adan = pytorch_script(_case_scene(*cases["adan"]), run=1)
    assert "betas=(0.98, 0.92, 0.95)" in adan and "beta3=" not in adan.split("import torch")[1]
    lookahead = pytorch_script(_case_scene(*cases["lookahead"]), run=1)
    assert "base = torch.optim.SGD(" in lookahead and "momentum=0.9" in lookahead
    assert "opt = Lookahead(base, k=3, alpha=0.5, pullback_momentum='reset')" in lookahead
    averaged = pytorch_script(_case_scene(*cases["adamw_schedulefree"]), run=1)
    assert "from schedulefree import AdamWScheduleFree" in averaged
    assert "    opt.eval()" in averaged
    assert "        opt.train()\n        evaluate(step)\n        opt.step()" in averaged


def test_user_text_reaches_the_script_only_as_comments():
    formula = '(x**2 # """ + __import__("os").system("boom")\n + y**2)'
    runs = (RunConfig.make("adam", label='evil """ \\'),)
    sc = Scenario(surface="custom", formula=formula, runs=runs, starts=((1.0, 1.0),),
                  steps=5).validated()
    script = pytorch_script(sc, run=0)
    ast.parse(script)
    tokens = list(tokenize.generate_tokens(io.StringIO(script).readline))
    for tok in tokens:
        if "boom" in tok.string or "evil" in tok.string:
            assert tok.type == tokenize.COMMENT, tok
    assert "return x**2 + y**2" in script


def test_scripts_with_extras_build_torch_schedulers_and_clip_and_the_extras_matter():
    """The extras cases of ``_SCRIPT_CASES`` (reproduced to 1e-9 above) change the path, so
    that comparison covers the schedule and the clipping; the script uses torch's objects."""
    cases = [case for case in _SCRIPT_CASES if len(case) == 7]
    assert len(cases) >= 6
    for case in cases:
        with_extras, plain = _case_scene(*case), _case_scene(*case[:6])
        a = simulate_scenario(with_extras).xy[1, 1]
        b = simulate_scenario(plain).xy[1, 1]
        assert np.nanmax(np.abs(a - b)) > 1e-3, case[:2]
        script = pytorch_script(with_extras, run=1, start=1)
        extras = case[6]
        assert ("sched.step()" in script) == ("schedule" in extras)
        for key, call in (("clip_value", "clip_grad_value_(p, CLIP_VALUE)"),
                          ("clip_norm", "clip_grad_norm_(p, CLIP_NORM)")):
            assert (call in script) == (key in extras)
        if "clip_value" in extras and "clip_norm" in extras:  # by value first, as optviz does
            assert script.index("clip_grad_value_(p") < script.index("clip_grad_norm_(p")
    warm = pytorch_script(_case_scene(*cases[1]), run=1)
    assert ("sched = torch.optim.lr_scheduler.SequentialLR(opt, [warmup, cosine], "
            "milestones=[30])") in warm
    assert "CosineAnnealingLR(opt, T_max=120, eta_min=0.0)" in warm  # 150 steps − 30 warm-up
    one_cycle = pytorch_script(_case_scene(*cases[2]), run=1)
    assert "max_lr=0.01, total_steps=120" in one_cycle and "cycle_momentum=False" in one_cycle
    assert "milestones=[40, 80]" in pytorch_script(_case_scene(*cases[3]), run=1)
