"""The race player (optviz/web/player.js) alone in headless Chromium: no Streamlit.

Each test opens a small page that loads plotly.min.js, player.css and player.js from disk and
mounts the player with a payload from ``race_payload`` (synthetic gradient descent on a
Rosenbrock-like valley, or the real offline export). Every test fails on any page error or
console error. Reuses the ``browser`` fixture (and its skip logic) of ``conftest.py``.
"""

from __future__ import annotations

import json
import math
import re
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from optviz.figures import Landscape, Track, race_payload

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "artifacts"
COLORS = ["#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2",
          "#17becf"]


# ----------------------------------------------------------------------------- data


def _f(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    return (1 - x) ** 2 + 5 * (y - x**2) ** 2


def _grad(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    return np.stack([-2 * (1 - x) - 20 * x * (y - x**2), 10 * (y - x**2)], axis=-1)


def _land(title: str = "Valley") -> Landscape:
    xs, ys = np.linspace(-2.0, 2.0, 120), np.linspace(-1.0, 3.0, 120)
    mx, my = np.meshgrid(xs, ys)
    return Landscape(xs=xs, ys=ys, z=_f(mx, my), log_scale=True, title=title,
                     minima=((1.0, 1.0),), minimum_value=0.0)


def _tracks(steps: int, lrs: list[float], start: tuple[float, float] = (-1.5, 2.0),
            names: list[str] | None = None) -> list[Track]:
    """Gradient descent with each learning rate from ``start``; a too large one diverges."""
    n = len(lrs)
    p = np.zeros((n, steps + 1, 2))
    p[:, 0] = start
    lr = np.asarray(lrs)[:, None]
    with np.errstate(over="ignore", invalid="ignore"):
        for k in range(steps):
            p[:, k + 1] = p[:, k] - lr * _grad(p[:, k, 0], p[:, k, 1])
        loss = _f(p[..., 0], p[..., 1])
        grad = _grad(p[..., 0], p[..., 1])
    out = []
    for i in range(n):
        bad = np.flatnonzero(~np.isfinite(loss[i]) | (np.abs(p[i]) > 1e6).any(axis=1))
        div = int(bad[0]) if len(bad) else -1
        xy, f = p[i].copy(), loss[i].copy()
        if div >= 0:
            xy[div:], f[div:] = np.nan, np.nan
        name = names[i] if names else f"GD (lr={lrs[i]:g})"
        out.append(Track(label=name, color=COLORS[i % len(COLORS)], xy=xy, loss=f,
                         diverged_at=div, grad=grad[i], run=i))
    return out


def _payload(steps: int = 400, **kw: Any) -> dict[str, Any]:
    lrs = kw.pop("lrs", [0.002, 0.02])
    names = kw.pop("names", None)
    land = kw.pop("land", None) or _land()
    return race_payload(land, _tracks(steps, lrs, names=names), [[-1.5, 2.0]], **kw)


# ----------------------------------------------------------------------------- page


def _step(page) -> int:
    return int(page.get_attribute("#root", "data-step"))


def _playing(page) -> bool:
    return page.get_attribute("#root", "data-playing") == "1"


def _race_traces(page) -> list[dict]:
    return page.evaluate("""() => document.querySelector('.ovp-race').data.map(t => (
        {uid: t.uid, name: t.name, n: (t.x || []).length,
         last: (t.x && t.x.length) ? [t.x[t.x.length - 1], t.y[t.y.length - 1]] : null}))""")


_AXES = """() => { const d = document.querySelector('.ovp-race'), fl = d._fullLayout,
  r = d.getBoundingClientRect();
  return {left: r.left, top: r.top, xo: fl.xaxis._offset, xl: fl.xaxis._length,
          yo: fl.yaxis._offset, yl: fl.yaxis._length, xr: fl.xaxis.range.slice(),
          yr: fl.yaxis.range.slice(), xm: fl.xaxis._m, ym: fl.yaxis._m}; }"""


def _to_page(ax: dict, x: float, y: float) -> tuple[float, float]:
    """Data coordinates -> page pixel (linear axes)."""
    px = (x - ax["xr"][0]) / (ax["xr"][1] - ax["xr"][0]) * ax["xl"]
    py = (ax["yr"][1] - y) / (ax["yr"][1] - ax["yr"][0]) * ax["yl"]
    return ax["left"] + ax["xo"] + px, ax["top"] + ax["yo"] + py


def _to_data(ax: dict, cx: float, cy: float) -> tuple[float, float]:
    """Page pixel -> data coordinates: the inverse of the axis mapping."""
    px, py = cx - ax["left"] - ax["xo"], cy - ax["top"] - ax["yo"]
    x = ax["xr"][0] + px / ax["xl"] * (ax["xr"][1] - ax["xr"][0])
    y = ax["yr"][1] - py / ax["yl"] * (ax["yr"][1] - ax["yr"][0])
    return x, y


def _rate(page, seconds: float, warmup: float = 0.2) -> tuple[float, float]:
    """Steps per second while playing, measured in the page over ``seconds`` from the first
    to the last change of ``data-step``: against the frame times the player shows with them
    (``data-step-at``), and against the wall time the page saw each change (which also
    holds the varying time a frame takes to draw)."""
    return tuple(page.evaluate("""async ([warm, secs]) => {
        const root = document.getElementById('root');
        const sleep = ms => new Promise(r => setTimeout(r, ms));
        await sleep(warm * 1000);
        const pts = [];
        const obs = new MutationObserver(() => pts.push(
            [+root.dataset.step, +root.dataset.stepAt, performance.now()]));
        obs.observe(root, {attributes: true, attributeFilter: ['data-step']});
        await sleep(secs * 1000);
        obs.disconnect();
        const a = pts[0], b = pts[pts.length - 1];
        return [(b[0] - a[0]) / (b[1] - a[1]) * 1000, (b[0] - a[0]) / (b[2] - a[2]) * 1000];
        }""", [warmup, seconds]))


# ----------------------------------------------------------------------------- tests


def test_loads_without_errors_and_shows_the_whole_race(open_player):
    payload = _payload(lrs=[0.002, 0.02, 0.2])  # the last one diverges
    page = open_player(payload)
    assert _step(page) == payload["steps"] == 400 and not _playing(page)
    assert page.get_attribute("#root", "data-token") == payload["token"]
    traces = {t["uid"]: t for t in _race_traces(page)}
    for i, tr in enumerate(payload["tracks"]):
        path, head = traces[f"path{i}"], traces[f"head{i}"]
        assert path["n"] >= min(tr["last"] + 1, 1500) > 0
        assert path["last"] == head["last"]
    assert "diverged" in page.inner_text(".ovp-notes")
    assert page.inner_text(".ovp-readout") == "step 400 / 400"
    assert "1× · 50 steps/s" in page.inner_text(".ovp-speed")


def test_play_advances_and_pause_stops_also_after_update(open_player):
    page = open_player(_payload(), _payload(lrs=[0.004, 0.01]))
    page.click(".ovp-play")  # at the end: restarts from 0
    page.wait_for_timeout(600)
    assert _playing(page) and 0 < _step(page) < 400
    page.click(".ovp-play")
    k = _step(page)
    assert not _playing(page)
    page.wait_for_timeout(1000)
    assert _step(page) == k
    page.click(".ovp-play")
    page.wait_for_timeout(400)
    page.evaluate("window.__player.update(window.__payloads[1])")
    assert not _playing(page) and _step(page) == 400  # the whole new race at once
    assert page.get_attribute("#root", "data-token") == page.evaluate(
        "window.__payloads[1].token")
    page.wait_for_timeout(300)
    assert _step(page) == 400
    page.click(".ovp-play")
    page.wait_for_timeout(500)
    page.keyboard.press(" ")  # focus is on the play button: its click toggles, once
    k = _step(page)
    assert not _playing(page) and 0 < k < 400
    page.wait_for_timeout(1000)
    assert _step(page) == k


def test_speed_4x_is_four_times_1x(open_player):
    page = open_player(_payload(steps=2000))  # 250 steps/s at 1×: 2 s at 4×
    rates = {}
    for speed in ("1", "4"):
        page.select_option(".ovp-speed", speed)
        page.evaluate("window.__player.seek(0)")
        page.click(".ovp-play")
        rates[speed] = _rate(page, 1.5)[0]
        page.click(".ovp-play")
    assert rates["1"] == pytest.approx(250, rel=0.1)
    assert rates["4"] / rates["1"] == pytest.approx(4, rel=0.25), rates


def test_hover_shows_only_what_is_drawn_and_heads_their_own_name(open_player):
    names = ["SGD (lr=0.002)", "Adam (lr=0.02)"]
    payload = _payload(names=names, initial_step=0)
    page = open_player(payload)
    assert _step(page) == 0
    ax = page.evaluate(_AXES)
    # where the first track will be at step 300, far from the start and the minimum
    t = _tracks(400, [0.002, 0.02])[0]
    x, y = t.xy[300]
    cx, cy = _to_page(ax, x, y)
    page.mouse.move(cx + 3, cy + 3)
    page.mouse.move(cx, cy)
    page.wait_for_timeout(400)
    assert page.evaluate("document.querySelector('.hoverlayer .hovertext')") is None
    page.evaluate("window.__player.seek(60)")
    page.mouse.move(1, 1)  # off the plot: the real pointer must not hover something else
    page.wait_for_timeout(200)
    for i, name in enumerate(names):
        # hover each head itself (the mouse may land nearer another run's path where the
        # paths cross): its label must name its own run
        page.evaluate("Plotly.Fx.unhover(document.querySelector('.ovp-race'))")
        page.wait_for_function("!document.querySelector('.hoverlayer .hovertext')")
        page.evaluate("""(i) => { const gd = document.querySelector('.ovp-race');
            const k = gd.data.findIndex(t => t.uid === 'head' + i);
            Plotly.Fx.hover(gd, [{curveNumber: k, pointNumber: 0}]); }""", i)
        page.wait_for_selector(".hoverlayer .hovertext", timeout=3000)
        text = page.evaluate("document.querySelector('.hoverlayer').textContent")
        assert name in text and names[1 - i] not in text, text
        assert re.search(r"step (5[0-9]|60)", text) and "|∇f|" in text


def test_twenty_updates_while_playing_throw_nothing(open_player):
    page = open_player(_payload(), _payload(lrs=[0.003, 0.03]))
    for i in range(20):
        page.evaluate("""(i) => { window.__player.play();
            window.__player.update(window.__payloads[i % 2]); window.__player.play(); }""", i)
        page.wait_for_timeout(30)
    page.click(".ovp-play")  # pauses the last play
    assert not _playing(page)
    k = _step(page)
    page.wait_for_timeout(500)
    assert _step(page) == k
    assert page.get_attribute("#root", "data-token") == page.evaluate(
        "window.__payloads[1].token")


def test_scrubbing_the_slider_pauses_and_sticks(open_player):
    page = open_player(_payload())
    page.click(".ovp-play")
    page.wait_for_timeout(300)
    assert _playing(page)
    page.locator(".ovp-slider").fill("123")
    assert not _playing(page) and _step(page) == 123
    page.wait_for_timeout(600)
    assert _step(page) == 123 and page.input_value(".ovp-slider") == "123"
    page.focus("#root")
    page.keyboard.press("ArrowRight")
    assert _step(page) == 124
    page.keyboard.press("Home")
    assert _step(page) == 0
    page.keyboard.press("End")
    assert _step(page) == 400


def test_click_gives_exact_coordinates_and_drag_throttled_moves(open_player):
    page = open_player(_payload(initial_step=0))
    ax = page.evaluate(_AXES)
    span = max(ax["xr"][1] - ax["xr"][0], ax["yr"][1] - ax["yr"][0])
    cx = round(ax["left"] + ax["xo"] + 0.3137 * ax["xl"])
    cy = round(ax["top"] + ax["yo"] + 0.6071 * ax["yl"])
    page.mouse.click(cx, cy)
    events = page.evaluate("window.__events")
    assert len(events) == 1 and events[0]["action"] == "set" and events[0]["index"] == 0
    assert events[0]["final"] is True
    x, y = _to_data(ax, cx, cy)
    assert abs(events[0]["x"] - x) <= 1e-9 * span and abs(events[0]["y"] - y) <= 1e-9 * span
    page.keyboard.down("Shift")
    page.mouse.click(cx + 40, cy - 30)
    page.keyboard.up("Shift")
    events = page.evaluate("window.__events")
    assert events[1]["action"] == "add" and events[1]["index"] == 1
    x, y = _to_data(ax, cx + 40, cy - 30)
    assert abs(events[1]["x"] - x) <= 1e-9 * span and abs(events[1]["y"] - y) <= 1e-9 * span
    # drag the start marker at (-1.5, 2): 40 mouse moves 10 ms apart, then the mouse goes up
    sx, sy = _to_page(ax, -1.5, 2.0)
    ex, ey = round(sx + 120), round(sy + 80)
    page.evaluate("window.__events = []")
    page.mouse.move(sx + 2, sy + 1)
    page.mouse.down()
    page.evaluate("""async ([sx, sy]) => {
        for (let i = 1; i <= 40; i++) {
            window.dispatchEvent(new MouseEvent('mousemove', {bubbles: true, buttons: 1,
                clientX: sx + 3 * i, clientY: sy + 2 * i}));
            await new Promise(r => setTimeout(r, 10));
        } }""", [sx, sy])
    page.mouse.move(ex, ey)
    page.mouse.up()
    events = page.evaluate("window.__events")
    moves = [e for e in events if not e["final"]]
    assert all(e["action"] == "move" and e["index"] == 0 for e in events)
    times = [e["t"] for e in moves]
    assert 2 <= len(moves) <= 1 + (times[-1] - times[0]) / 150, len(moves)
    assert len(moves) < 40  # throttled: not one per mouse move
    assert (np.diff(times) >= 149).all(), np.diff(times)
    final = events[-1]
    assert final["final"] is True and len(events) == len(moves) + 1
    x, y = _to_data(ax, ex, ey)
    assert abs(final["x"] - x) <= 1e-9 * span and abs(final["y"] - y) <= 1e-9 * span
    # right-click on a start removes it (only while there are several: here there is one)
    page.mouse.click(ex, ey, button="right")
    assert len(page.evaluate("window.__events")) == len(events)
    starts = page.evaluate("""() => { const t = document.querySelector('.ovp-race').data
        .find(t => t.uid === 'starts'); return [t.x[0], t.y[0]]; }""")
    assert starts == pytest.approx([x, y], abs=1e-9 * span)  # the marker moved along


def test_loss_chart_stops_at_the_current_step_and_the_cursor_moves(open_player):
    page = open_player(_payload())
    curves = """() => document.querySelector('.ovp-loss').data.map(t => (
        {uid: t.uid, n: t.x.length, last: t.x[t.x.length - 1], x: t.x}))"""
    page.evaluate("window.__player.seek(150)")
    out = {t["uid"]: t for t in page.evaluate(curves)}
    assert out["curve0"]["last"] == 150 and out["curve1"]["last"] == 150
    assert out["cursor"]["x"] == [150, 150]
    page.evaluate("window.__player.seek(37)")
    out = {t["uid"]: t for t in page.evaluate(curves)}
    assert out["curve0"]["last"] == 37 and out["curve0"]["n"] == 38
    assert out["cursor"]["x"] == [37, 37]
    page.click(".ovp-lossmode")  # all of it
    out = {t["uid"]: t for t in page.evaluate(curves)}
    assert out["curve0"]["last"] == 400 and out["cursor"]["x"] == [37, 37]
    assert "all" in page.inner_text(".ovp-lossmode")
    # hiding a run in the race's legend hides its loss curve too
    page.click(".ovp-race .legend .traces >> nth=1")
    page.wait_for_function(  # plotly waits out a double click first, then the race's restyle
        "() => document.querySelector('.ovp-loss').data[1].visible === 'legendonly'",
        timeout=10_000)
    vis = page.evaluate("document.querySelector('.ovp-loss').data.map(t => t.visible)")
    assert vis[1] == "legendonly" and vis[0] in (True, None)


def test_eight_tracks_of_5000_steps_play_at_the_nominal_rate(open_player):
    payload = _payload(steps=5000, lrs=[0.001 * (i + 1) for i in range(8)])
    page = open_player(payload)
    rate = payload["base_rate"]
    page.evaluate("""() => { window.__restyles = 0; const r = Plotly.restyle;
        Plotly.restyle = function (gd) {
            if (gd.classList.contains('ovp-race')) window.__restyles++;
            return r.apply(this, arguments); };
    }""")
    page.evaluate("window.__player.seek(0)")
    page.click(".ovp-play")
    measured, wall = _rate(page, 2.0)
    frames = page.evaluate("window.__restyles")  # one race restyle per frame
    page.click(".ovp-play")
    ARTIFACTS.mkdir(exist_ok=True)
    (ARTIFACTS / "player-rate.json").write_text(json.dumps(
        {"base_rate": rate, "steps_per_s": measured, "wall_steps_per_s": wall,
         "frames_per_s": frames / 2.2}))
    assert measured == pytest.approx(rate, rel=0.1), (measured, rate)


def test_one_to_one_aspect_survives_update_at_1400px(open_player):
    page = open_player(_payload(), _payload(lrs=[0.003, 0.01], classroom=True),
                       width=1400, height=900)
    for i in (1, 0, 1):
        page.evaluate(f"window.__player.update(window.__payloads[{i}])")
        page.wait_for_timeout(200)
        ax = page.evaluate(_AXES)
        assert abs(ax["ym"]) == pytest.approx(ax["xm"], rel=0.01), ax
        rect = page.evaluate("""() => { const r = document.querySelector('.ovp-race')
            .getBoundingClientRect(); return [r.right, r.bottom]; }""")
        assert ax["left"] + ax["xo"] + ax["xl"] <= rect[0]
    # classroom: plot and controls fit the window without scrolling
    bottom = page.evaluate("document.querySelector('.ovp-controls').getBoundingClientRect()"
                           ".bottom")
    assert bottom <= 900
    page.evaluate("window.__player.update(window.__payloads[0])")
    page.evaluate("window.__player.seek(250)")
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "player.png"), full_page=True)


LEGEND_GAP = """() => { const d = document.querySelector('.ovp-race');
  const legend = d.querySelector('.legend').getBoundingClientRect();
  const axis = [...d.querySelectorAll('.xtick text, .g-xtitle text')]
    .map(e => e.getBoundingClientRect().bottom);
  return {gap: legend.top - Math.max(...axis), margin: d._fullLayout.margin.b}; }"""


def test_a_wrapped_legend_never_runs_into_the_x_axis(open_player):
    """Eight runs with long labels on a narrow plot wrap into more legend rows than the
    payload's margin holds (sized at the narrowest plot it expects): the player measures the
    legend and gives it room under the axis; at a wide window, nothing is added. (At 1024 ×
    768 the legend covered the tick labels and the axis title.)"""
    names = [f"{n} (lr=0.001, β₁=0.9)" for n in ("SGD", "Momentum", "Nesterov", "RMSprop",
                                                 "Adam", "AdamW", "NAdam", "L-BFGS")]
    payload = _payload(lrs=[0.0002 * (i + 1) for i in range(8)], names=names)
    wanted = payload["base"]["layout"]["margin"]["b"]
    page = open_player(payload, width=1024, height=768)
    narrow = page.evaluate(LEGEND_GAP)
    assert narrow["gap"] >= 4 and narrow["margin"] > wanted, narrow
    page.set_viewport_size({"width": 1800, "height": 1000})  # room again: the margin goes back
    page.wait_for_function(f"() => document.querySelector('.ovp-race')._fullLayout.margin.b"
                           f" === {wanted}", timeout=10_000)
    wide = page.evaluate(LEGEND_GAP)
    assert wide["gap"] >= 4, wide
    page.set_viewport_size({"width": 1024, "height": 768})  # and narrow again
    page.wait_for_function(f"() => ({LEGEND_GAP})().gap >= 4", timeout=10_000)
    page.evaluate("window.__player.update(window.__payloads[0])")  # an update keeps it
    assert page.evaluate(LEGEND_GAP)["gap"] >= 4
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "player-legend-1024.png"), full_page=True)


def test_offline_export_page_opens_at_step_0_and_plays(browser, tmp_path):
    from dataclasses import replace

    from optviz.exports import export_html
    from optviz.scene import DEFAULT_SCENARIO
    from optviz.views import simulate_scenario

    scene = replace(DEFAULT_SCENARIO, steps=120).validated()
    page_html = export_html(scene, simulate_scenario(scene))
    path = tmp_path / "race.html"
    path.write_text(page_html, encoding="utf-8")
    errors: list[str] = []
    context = browser.new_context(viewport={"width": 1366, "height": 768})
    try:
        page = context.new_page()
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        page.goto(path.as_uri())
        page.wait_for_selector("[data-testid=optviz-player] .ovp-race .main-svg")
        root = "#optviz-root"
        assert page.get_attribute(root, "data-step") == "0"
        page.click(".ovp-play")
        page.wait_for_timeout(500)
        assert int(page.get_attribute(root, "data-step")) > 0
        page.click(".ovp-play")
        # a click does nothing without a host: no error, no event
        ax = page.evaluate(_AXES.replace("'.ovp-race'", "'.ovp-race'"))
        page.mouse.click(ax["left"] + ax["xo"] + 50, ax["top"] + ax["yo"] + 50)
        assert not math.isnan(float(page.get_attribute(root, "data-step")))
    finally:
        context.close()
    assert not errors, errors


@pytest.mark.parametrize("size", [(1024, 768), (1366, 768), (1920, 1080)])
def test_classroom_race_and_controls_fit_the_viewport(open_player, size):
    page = open_player(_payload(classroom=True), width=size[0], height=size[1])
    assert page.evaluate("document.querySelector('.optviz-player').classList"
                         ".contains('optviz-classroom')")
    bottom = page.evaluate("document.querySelector('.ovp-controls').getBoundingClientRect()"
                           ".bottom")
    assert bottom <= size[1]
    sizes = page.evaluate("""() => [...document.querySelectorAll(
        '.ovp-controls button, .ovp-controls select, .ovp-readout')]
        .map(e => parseFloat(getComputedStyle(e).fontSize))""")
    assert min(sizes) >= 18, sizes
    ax = page.evaluate(_AXES)
    assert abs(ax["ym"]) == pytest.approx(ax["xm"], rel=0.01)
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"player-classroom-{size[0]}x{size[1]}.png"))


def test_update_keeps_speed_and_loss_mode_and_destroy_stops_everything(open_player):
    page = open_player(_payload(), _payload(lrs=[0.003, 0.03]))
    page.select_option(".ovp-speed", "2")
    page.click(".ovp-lossmode")
    page.evaluate("window.__player.update(window.__payloads[1])")
    assert page.input_value(".ovp-speed") == "2"
    assert "all" in page.inner_text(".ovp-lossmode")
    page.click(".ovp-play")
    page.wait_for_timeout(200)
    page.evaluate("""() => { window.__frames = 0; const raf = window.requestAnimationFrame;
        window.requestAnimationFrame = f => { window.__frames++; return raf(f); };
        window.__player.destroy(); window.__frames = 0; }""")
    page.wait_for_timeout(300)
    assert page.evaluate("window.__frames") == 0  # no animation loop left behind
    assert page.evaluate("document.querySelector('.optviz-player')") is None
    assert page.evaluate("window.__optvizPlayers.length") == 0


def test_schedule_free_ghost_path_follows_the_step_and_toggles(open_player):
    """Issue 9: a schedule-free run reports x and takes its gradients at y; its path is x
    (the hover says so) and y is drawn as a faint dotted ghost path with its own legend entry
    ("… gradient point y"), cut at the same step as the path, hidden by its legend entry."""
    import optviz

    steps = 30
    traj = optviz.simulate("rosenbrock", [("adamw_schedulefree", {"lr": 0.05}), ("adam", {})],
                           starts=[(-1.5, 2.0)], steps=steps)
    tracks = [Track(label=name, color=COLORS[r], xy=traj.xy[r, 0], loss=traj.loss[r, 0],
                    grad=traj.grad[r, 0], run=r,
                    grad_point=None if r else traj.grad_point[0, 0])
              for r, name in enumerate(["Schedule-Free AdamW", "Adam"])]
    page = open_player(race_payload(_land(), tracks, [[-1.5, 2.0]], initial_step=0))
    ghost = """() => { const d = document.querySelector('.ovp-race').data;
        return d.filter(t => String(t.uid).startsWith('ghost'))
                .map(t => ({uid: t.uid, name: t.name, x: t.x, y: t.y, dash: t.line.dash,
                            opacity: t.opacity, visible: t.visible === undefined ? true
                            : t.visible, hover: t.hovertemplate})); }"""
    g = page.evaluate(ghost)
    assert [t["uid"] for t in g] == ["ghost0"]  # Adam has none
    assert g[0]["name"] == "Schedule-Free AdamW · gradient point y"
    assert g[0]["dash"] == "dot" and g[0]["opacity"] < 1
    y = traj.grad_point[0, 0]
    assert g[0]["x"] == [pytest.approx(y[0, 0])] and g[0]["y"] == [pytest.approx(y[0, 1])]
    path_hover = page.evaluate("() => document.querySelector('.ovp-race').data"
                               ".find(t => t.uid === 'path0').hovertemplate")
    assert "reported point x" in path_hover
    for k in (5, 17, steps):
        page.evaluate(f"window.__player.seek({k})")
        g = page.evaluate(ghost)[0]
        upto = min(k, steps - 1)  # y exists for the steps taken, not after the last one
        assert len(g["x"]) == k + 1
        assert g["x"][: upto + 1] == pytest.approx(list(y[: upto + 1, 0]), abs=1e-12)
        assert g["y"][: upto + 1] == pytest.approx(list(y[: upto + 1, 1]), abs=1e-12)
        if k == steps:
            assert g["x"][-1] is None
    legend = page.locator(".ovp-race .legend .traces", has_text="gradient point y").first
    legend.click()  # plotly waits out a double click first
    page.wait_for_function("() => document.querySelector('.ovp-race').data"
                           ".find(t => t.uid === 'ghost0').visible === 'legendonly'")
    path = page.evaluate("() => document.querySelector('.ovp-race').data"
                         ".find(t => t.uid === 'path0').visible")
    assert path in (None, True)  # the path itself stays
    page.evaluate("window.__player.seek(8)")  # stays hidden while stepping
    g = page.evaluate(ghost)[0]
    assert g["visible"] == "legendonly" and len(g["x"]) == 9
