"""The race player's payload (optviz.figures.player.race_payload): plain JSON, exact numbers."""

from __future__ import annotations

import base64
import json
from dataclasses import replace
from typing import Any

import numpy as np
import pytest

from optviz.figures import Landscape, Track, race_payload
from optviz.figures.player import SPEEDS, start_style


def _land(title: str = "bowl", n: int = 40) -> Landscape:
    xs = np.linspace(-2.0, 2.0, n)
    ys = np.linspace(-1.0, 3.0, n)
    mx, my = np.meshgrid(xs, ys)
    z = (1 - mx) ** 2 + 5 * (my - mx**2) ** 2
    return Landscape(xs=xs, ys=ys, z=z, log_scale=True, title=title, minima=((1.0, 1.0),),
                     minimum_value=0.0)


def _track(steps: int = 50, *, label: str = "Adam (lr=0.05)", color: str = "#1f77b4",
           diverge: int = -1, start: int = 0, group: str = "") -> Track:
    k = np.arange(steps + 1, dtype=float)
    xy = np.stack([-1.5 + k / steps * 2.5, 2.0 - k / steps], axis=1)
    loss = 10.0 / (1 + k)
    grad = np.stack([np.cos(k), np.sin(k) * 2], axis=1)
    if diverge >= 0:
        xy[diverge:] = np.nan
        loss[diverge:] = np.inf
        xy[diverge - 1] = [1e9, -3e9]  # far away: pulled in for drawing
    return Track(label=label, color=color, xy=xy, loss=loss, diverged_at=diverge, grad=grad,
                 start=start, group=group)


def _decode(arr: dict[str, str]) -> np.ndarray:
    return np.frombuffer(base64.b64decode(arr["b64"]), dtype="<" + arr["dtype"])


def _payload(**kw: Any) -> dict[str, Any]:
    tracks = kw.pop("tracks", None) or [_track(), _track(label="SGD", color="#d62728")]
    return race_payload(kw.pop("land", None) or _land(), tracks, [[-1.5, 2.0]], **kw)


def _walk(obj: Any, path: str = ""):
    """Every (path, value) pair of a nested JSON structure."""
    if isinstance(obj, dict):
        for k, v in obj.items():
            yield from _walk(v, f"{path}.{k}")
    elif isinstance(obj, list):
        for i, v in enumerate(obj):
            yield from _walk(v, f"{path}[{i}]")
    else:
        yield path, obj


def test_payload_is_plain_json_even_with_nans_and_divergence():
    p = _payload(tracks=[_track(diverge=30), _track(label="SGD")])
    text = json.dumps(p, allow_nan=False)  # no NaN / Infinity literal anywhere
    assert json.loads(text) == p
    assert p["version"] == 1 and p["steps"] == 50 and p["initial_step"] == "end"
    assert p["speeds"] == list(SPEEDS) == [0.25, 0.5, 1, 2, 4, 8]
    assert p["base_rate"] >= 10
    assert p["notes"] == ["Adam (lr=0.05) diverged at step 30"]
    assert p["tracks"][0]["diverged_at"] == 30 and p["tracks"][0]["last"] == 29


def test_arrays_decode_to_the_track_values_exactly():
    t = _track(diverge=30)
    p = _payload(tracks=[t])
    out = p["tracks"][0]
    assert {out[k]["dtype"] for k in ("xy", "loss", "curve", "gnorm")} == {"f8"}
    xy = _decode(out["xy"]).reshape(-1, 2)
    assert np.array_equal(xy[:28], t.xy[:28])  # exact, bit for bit
    assert np.all(np.isfinite(xy[29])) and np.abs(xy[29]).max() < 1e3  # pulled in to draw
    assert np.isnan(xy[30:]).all()
    np.testing.assert_array_equal(_decode(out["loss"]), t.loss)
    assert t.grad is not None
    np.testing.assert_array_equal(_decode(out["gnorm"]), np.hypot(t.grad[:, 0], t.grad[:, 1]))
    curve = _decode(out["curve"])
    np.testing.assert_array_equal(curve[:30], t.loss[:30])  # f* = 0: f - f* = f
    assert np.isnan(curve[30:]).all()


def test_curve_is_the_gap_to_a_known_minimum_and_gnorm_nan_without_grad():
    t = replace(_track(), grad=None)
    p = race_payload(_land(), [t], [[-1.5, 2.0]], minimum_value=-1.0)
    np.testing.assert_array_equal(_decode(p["tracks"][0]["curve"]), t.loss + 1.0)
    assert np.isnan(_decode(p["tracks"][0]["gnorm"])).all()
    assert p["loss_layout"]["yaxis"]["title"]["text"] == "f − f*"
    assert p["loss_layout"]["yaxis"]["type"] == "log"
    lo, hi = p["loss_layout"]["yaxis"]["range"]  # fixed for the whole race, in decades
    assert p["loss_layout"]["yaxis"]["autorange"] is False
    assert lo < np.log10((t.loss + 1.0).min()) < np.log10((t.loss + 1.0).max()) < hi
    lin = race_payload(replace(_land(), minimum_value=None), [t], None)
    assert lin["loss_layout"]["yaxis"]["title"]["text"] == "f"


def test_big_races_are_sent_as_float32():
    tracks = [_track(steps=20_000, label=f"run {i}") for i in range(8)]
    p = race_payload(_land(), tracks, None)
    assert p["tracks"][0]["xy"]["dtype"] == "f4"
    np.testing.assert_allclose(_decode(p["tracks"][0]["loss"]), tracks[0].loss, rtol=1e-6)


def test_token_changes_with_anything_drawn_and_base_token_only_with_the_landscape():
    p = _payload()
    assert p == _payload()  # deterministic
    other_track = _payload(tracks=[_track(), _track(label="SGD", color="#ff0000")])
    assert other_track["token"] != p["token"] and other_track["base_token"] == p["base_token"]
    moved = _payload(tracks=[_track(steps=51), _track(label="SGD", color="#d62728")])
    assert moved["token"] != p["token"] and moved["base_token"] == p["base_token"]
    for kw in ({"classroom": True}, {"land": _land(title="other")}):
        q = _payload(**kw)
        assert q["token"] != p["token"] and q["base_token"] != p["base_token"]
    for kw in ({"initial_step": 0}, {"height": 500}, {"notes": ("hello",)},
               {"max_starts": 4}):
        q = _payload(**kw)
        assert q["token"] != p["token"] and q["base_token"] == p["base_token"], kw


def test_classroom_fonts_are_at_least_18px():
    p = _payload(classroom=True)
    sizes = [(path, v) for part in (p["base"], p["loss_layout"])
             for path, v in _walk(part) if path.endswith(".size") and "font" in path]
    assert len(sizes) >= 8
    assert all(v >= 18 for _, v in sizes), [s for s in sizes if s[1] < 18]
    assert p["style"]["line_width"] > _payload()["style"]["line_width"]
    assert p["style"]["head_size"] > _payload()["style"]["head_size"]


def test_start_style_is_distinct_for_8_starts():
    styles = [start_style("#1f77b4", i) for i in range(8)]
    assert len({s for s, _ in styles}) == 8
    assert len({c for _, c in styles}) == 5  # the run's colour and four shades of it (palette)
    assert styles[0] == ("circle", "#1f77b4")
    assert styles[0] == ("circle", "#1f77b4")
    assert start_style("rgb(31, 119, 180)", 0)[1] == "#1f77b4"
    assert start_style("tomato", 3) == ("triangle-up", "tomato")


def test_tracks_carry_style_legend_and_starts():
    tracks = [_track(group="Adam", start=0), _track(group="Adam", start=1),
              _track(label="SGD", color="#d62728")]
    p = race_payload(_land(), tracks, [[-1.5, 2.0], [0.5, 0.5]], max_starts=8)
    assert [t["show_legend"] for t in p["tracks"]] == [True, False, True]
    assert [t["legend"] for t in p["tracks"]] == ["Adam", "Adam", "SGD"]
    assert p["tracks"][1]["symbol"] != p["tracks"][0]["symbol"]
    assert p["tracks"][1]["color"] != p["tracks"][0]["color"]
    assert p["starts"] == [[-1.5, 2.0], [0.5, 0.5]] and p["max_starts"] == 8


def test_base_is_static_and_has_no_plotly_animation():
    p = _payload()
    base = p["base"]
    assert set(base) == {"data", "layout", "surface3d"}
    text = json.dumps(base)
    for word in ("frames", "updatemenus", "sliders"):
        assert f'"{word}"' not in text
    lay = base["layout"]
    assert lay["xaxis"]["autorange"] is False and lay["yaxis"]["autorange"] is False
    assert lay["xaxis"]["range"] == [-2.0, 2.0] and lay["yaxis"]["range"] == [-1.0, 3.0]
    assert lay["yaxis"]["scaleanchor"] == "x"
    assert lay["xaxis"]["constrain"] == lay["yaxis"]["constrain"] == "domain"
    assert lay["images"][0]["source"].startswith("data:image/png;base64,")
    assert lay["dragmode"] is False
    names = [t.get("name") for t in base["data"]]
    assert "isolines" in names and "colorbar" in names and "global minimum" in names
    # a long, thin window gets no equal aspect
    xs, ys = np.linspace(0, 10, 20), np.linspace(0, 1, 20)
    thin = Landscape(xs=xs, ys=ys, z=np.add.outer(ys, xs))
    assert "scaleanchor" not in race_payload(thin, [_track()], None)["base"]["layout"]["yaxis"]


def test_initial_step_is_checked():
    with pytest.raises(ValueError):
        _payload(initial_step="start")
    with pytest.raises(ValueError):
        _payload(initial_step=-1)
    assert _payload(initial_step=7)["initial_step"] == 7


def test_a_hostile_label_cannot_close_the_payload_script_tag():
    from optviz.exports.html import script_json

    p = _payload(tracks=[_track(label="</script><script>alert(1)</script><!--")])
    text = script_json(p)
    assert "</" not in text and "<!--" not in text and "<" not in text
    assert json.loads(text) == p


def test_surface3d_is_the_landscape_on_at_most_80_by_80_points_and_nan_free():
    xs, ys = np.linspace(-2.0, 2.0, 201), np.linspace(-1.0, 3.0, 150)
    mx, my = np.meshgrid(xs, ys)
    z = (1 - mx) ** 2 + 5 * (my - mx**2) ** 2
    z[3, 7] = np.nan
    z[0, :] = np.inf
    land = Landscape(xs=xs, ys=ys, z=z, log_scale=True, minimum_value=0.0)
    p = _payload(land=land)
    s3 = p["base"]["surface3d"]
    assert 2 <= len(s3["x"]) <= 80 and 2 <= len(s3["y"]) <= 80
    assert len(s3["z"]) == len(s3["y"]) and all(len(r) == len(s3["x"]) for r in s3["z"])
    assert s3["x"][0] == -2.0 and s3["x"][-1] == 2.0 and s3["y"][0] == -1.0 and s3["y"][-1] == 3.0
    assert s3["z"][0] == [None] * len(s3["x"])  # inf -> null
    for j, y in enumerate(s3["y"]):
        for i, x in enumerate(s3["x"]):
            v = s3["z"][j][i]
            if v is not None:
                assert v == pytest.approx((1 - x) ** 2 + 5 * (y - x**2) ** 2, rel=1e-6, abs=1e-12)
    assert s3["minimum"] == 0.0 and s3["log_ok"] is True and s3["log_default"] is True
    assert s3["zmin"] <= s3["zmax"]
    json.dumps(p, allow_nan=False)  # raises on a NaN or inf
    # a small grid is sent whole; f* above the sampled minimum is not used
    small = _payload(land=_land(n=40))["base"]["surface3d"]
    assert len(small["x"]) == 40 and len(small["y"]) == 40
    flat = Landscape(xs=xs[:5], ys=ys[:5], z=np.ones((5, 5)), minimum_value=3.0)
    f3 = race_payload(flat, [_track()], None)["base"]["surface3d"]
    assert f3["minimum"] == 1.0 and f3["log_ok"] is False


def _log_spikes(s3: dict) -> np.ndarray:
    """Per interior grid point of the 3D view's log surface (as the player draws it:
    log10(f − minimum + log_delta)), how many decades it lies off the median of its 8
    neighbours."""
    z = np.array([[np.nan if v is None else v for v in row] for row in s3["z"]], dtype=float)
    log = np.log10(z - s3["minimum"] + s3["log_delta"])
    n, m = log.shape
    ring = np.stack([log[1 + di:n - 1 + di, 1 + dj:m - 1 + dj]
                     for di in (-1, 0, 1) for dj in (-1, 0, 1) if di or dj])
    return np.abs(log[1:-1, 1:-1] - np.median(ring, axis=0))


def test_surface3d_log_view_has_no_pits_along_rosenbrocks_valley():
    """80 × 80 points cannot resolve Rosenbrock's narrow valley: a bare log10(f − f*) drew a
    comb of pits up to 2.6 decades deep along its floor (a grid point on the floor or beside
    it, by chance). log_delta floors the log at what the grid resolves; the log view keeps
    its decades (the walls) and the valley is one smooth trough."""
    from optviz.surfaces import get_surface
    from optviz.views import landscape_for

    land = landscape_for(get_surface("rosenbrock"))
    s3 = race_payload(land, [_track()], None)["base"]["surface3d"]
    assert s3["log_ok"] and 0 < s3["log_delta"] < 1e-3 * s3["zmax"]
    bare = dict(s3, log_delta=1e-12)
    assert _log_spikes(bare).max() > 2.0  # what it was
    assert _log_spikes(s3).max() < 0.6
    z = np.array([[np.nan if v is None else v for v in row] for row in s3["z"]], dtype=float)
    log = np.log10(z - s3["minimum"] + s3["log_delta"])
    assert np.nanmax(log) - np.nanmin(log) > 3.5  # still decades of landscape
    # a bowl sampled on its minimum loses almost nothing at its bottom
    xs = ys = np.linspace(-1.0, 1.0, 81)
    mx, my = np.meshgrid(xs, ys)
    bowl = Landscape(xs=xs, ys=ys, z=mx**2 + my**2, log_scale=True, minimum_value=0.0)
    b3 = race_payload(bowl, [_track()], None)["base"]["surface3d"]
    assert b3["log_delta"] < 0.02 * b3["zmax"] and _log_spikes(b3).max() < 0.6


def test_schedule_free_tracks_carry_their_gradient_points_exactly():
    """Issue 9: schedule-free AdamW reports x and takes its gradients at y; simulate() keeps y
    (Trajectories.grad_point, also without record_state, equal to its recorded state), and
    the payload carries it for those tracks only, bit for bit, with its legend name."""
    import optviz

    runs = [("adamw_schedulefree", {"lr": 0.05}), ("adam", {"lr": 0.05})]
    starts = [(-1.5, 2.0), (1.2, -0.5)]
    traj = optviz.simulate("rosenbrock", runs, starts=starts, steps=25)
    recorded = optviz.simulate("rosenbrock", runs, starts=starts, steps=25, record_state=True)
    assert traj.grad_point.shape == traj.xy.shape
    assert np.array_equal(traj.grad_point[0], recorded.state[0]["grad_point"], equal_nan=True)
    assert np.isnan(traj.grad_point[1]).all() and np.isnan(traj.grad_point[0, :, -1]).all()
    assert np.array_equal(traj.xy, recorded.xy)
    # one particle alone: the same y, bit for bit
    alone = optviz.simulate("rosenbrock", runs[:1], starts=starts[1:], steps=25)
    assert np.array_equal(alone.grad_point[0, 0], traj.grad_point[0, 1], equal_nan=True)
    assert optviz.simulate("rosenbrock", runs[1:], starts=starts, steps=5).grad_point is None

    tracks = [Track(label=f"r{r}s{s}", color="#1f77b4", xy=traj.xy[r, s],
                    loss=traj.loss[r, s], run=r, start=s,
                    grad_point=traj.grad_point[r, s] if r == 0 else None)
              for r in range(2) for s in range(2)]
    p = race_payload(_land(), tracks, starts)
    for t, out in zip(tracks, p["tracks"], strict=True):
        if t.grad_point is None:
            assert "grad_point" not in out and "ghost_legend" not in out
            continue
        assert out["ghost_legend"] == f"{t.legend_name} · gradient point y"
        got = np.frombuffer(base64.b64decode(out["grad_point"]["b64"]), dtype="<f8")
        assert np.array_equal(got.reshape(-1, 2), t.grad_point, equal_nan=True)
    # the app's and the export's tracks carry it too (optviz.views.tracks_for)
    from optviz.scene import Scenario
    from optviz.views import simulate_scenario, tracks_for

    scene, _ = Scenario.from_query({"surface": "rosenbrock", "steps": "12",
                                    "run": "adamw_schedulefree;adam"})
    made = tracks_for(scene, simulate_scenario(scene))
    assert made[0].grad_point is not None and made[1].grad_point is None
