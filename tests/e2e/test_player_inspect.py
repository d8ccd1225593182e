"""The race player's step inspector and 3D view, alone in headless Chromium (no Streamlit).

Real data: Adam (and Newton, for an ellipse) on Rosenbrock with ``simulate(record_state=True)``;
the glyphs of a step come from ``inspect_step`` + ``step_glyphs``, as the host sends them.
Uses ``conftest.py``'s ``open_player`` page (fails on any page or console
error) with a host whose ``onStep`` records its events in ``window.__steps``.
"""

from __future__ import annotations

import copy
from functools import cache
from typing import Any

import numpy as np
import pytest
from test_player_standalone import (
    _AXES,
    ARTIFACTS,
    _playing,
    _step,
    _to_page,
)

import optviz
from optviz.figures import Track, race_payload
from optviz.inspect.glyphs import step_glyphs
from optviz.surfaces import get_surface
from optviz.views import landscape_for

STEPS = 60
START = (-1.5, 2.0)
RUNS = [("adam", {"lr": 0.05}), ("newton", {"lr": 0.5, "damping": 1.0})]
LABELS = ["Adam", "Newton"]


@cache
def _traj() -> optviz.Trajectories:
    return optviz.simulate("rosenbrock", RUNS, starts=[START], steps=STEPS, record_state=True)


@cache
def _base_payload(classroom: bool = False) -> dict[str, Any]:
    traj = _traj()
    land = landscape_for(get_surface("rosenbrock"))
    tracks = [Track(label=LABELS[i], color=c, xy=traj.xy[i, 0], loss=traj.loss[i, 0],
                    diverged_at=int(traj.diverged_at[i, 0]), grad=traj.grad[i, 0], run=i)
              for i, c in enumerate(["#1f77b4", "#d62728"])]
    return race_payload(land, tracks, [list(START)], initial_step=0, classroom=classroom)


def _glyphs(track: int, step: int) -> dict[str, Any]:
    view = optviz.inspect_step(_traj(), track, 0, step)
    return step_glyphs(view, 0.08 * 4.0)  # 8 % of the window's width


def _with_inspect(track: int = 0, step: int | None = None,
                  classroom: bool = False) -> dict[str, Any]:
    p = copy.deepcopy(_base_payload(classroom))
    p["inspect"] = {"track": track, "step": step,
                    "glyphs": None if step is None else _glyphs(track, step),
                    "label": f"{LABELS[track]}, start 1"}
    return p


HOST = """window.__steps = [];
window.__host = {onStep: function (e) { e.t = performance.now(); window.__steps.push(e); }};
window.__player.destroy();
window.__player = OptvizPlayer.mount(document.getElementById('root'), window.__payloads[0],
                                     window.__host);"""

GLYPHS = """() => document.querySelector('.ovp-race').data
    .filter(t => (t.legendgroup || '').startsWith('glyph:'))
    .map(t => ({name: t.name, x: t.x, y: t.y, visible: t.visible === undefined ? true : t.visible,
                dash: t.line && t.line.dash}))"""


def _mount(open_player, payload):
    page = open_player(payload)
    page.evaluate(HOST)  # the same page, mounted again with a host that has onStep
    page.wait_for_selector("[data-testid=optviz-player] .ovp-race .main-svg")
    return page


def _send(page, payload) -> None:
    page.evaluate("(p) => window.__player.update(p)", payload)


def _steps(page) -> list[dict]:
    return page.evaluate("window.__steps")


def _asks(page, n: int = 1) -> list[tuple[int, int]]:
    """(track, step) of the host's ``onStep`` events, once there are ``n``, and 300 ms more
    (the player's 150 ms debounce) in which an unwanted extra one would arrive."""
    page.wait_for_function("(n) => window.__steps.length >= n", arg=n, timeout=10_000)
    page.wait_for_timeout(300)
    return [(e["track"], e["step"]) for e in _steps(page)]


def test_inspector_asks_for_the_shown_step_and_draws_its_glyphs(open_player):
    page = _mount(open_player, _with_inspect(0, None))
    assert _asks(page) == [(0, 0)]  # initial step 0
    page.evaluate("window.__steps = []")
    # quick seeks (30 ms apart, inside the page: no round trip stretches a gap past the
    # debounce): debounced to the last one
    page.evaluate("""async () => { for (const k of [3, 4, 5]) {
        window.__player.seek(k); await new Promise(r => setTimeout(r, 30)); } }""")
    assert _asks(page) == [(0, 5)]
    assert page.inner_text(".ovp-readout") == f"step 5 → 6 / {STEPS}"
    assert page.evaluate(GLYPHS) == []  # nothing drawn until the host answers
    reply = _with_inspect(0, 5)
    token = page.get_attribute("#root", "data-token")
    page.evaluate("window.__steps = []")
    page.select_option(".ovp-speed", "2")
    _send(page, reply)
    assert _step(page) == 5 and not _playing(page) and page.input_value(".ovp-speed") == "2"
    assert page.get_attribute("#root", "data-token") == token
    glyphs = page.evaluate(GLYPHS)
    g = reply["inspect"]["glyphs"]
    assert [t["name"] for t in glyphs] == [e["name"] for e in g["legend"]]
    by_name = {t["name"]: t for t in glyphs}
    for a in g["arrows"]:
        t = by_name[a["name"]]
        assert t["x"] == pytest.approx([a["points"][0], a["points"][2]], abs=1e-12)
        assert t["y"] == pytest.approx([a["points"][1], a["points"][3]], abs=1e-12)
    box = g["boxes"][0]
    t = by_name[box["name"]]
    cx, cy = box["center"]
    hx, hy = box["half_widths"]
    assert min(t["x"]) == pytest.approx(cx - hx) and max(t["y"]) == pytest.approx(cy + hy)
    assert g["note"] in page.inner_text(".ovp-notes")
    # glyphs between the paths and the heads, each in the legend
    uids = page.evaluate("document.querySelector('.ovp-race').data.map(t => t.uid || '')")
    first_glyph = min(i for i, u in enumerate(uids) if u.startswith("glyph"))
    assert max(uids.index(f"path{i}") for i in range(2)) < first_glyph
    assert min(uids.index(f"head{i}") for i in range(2)) > first_glyph
    legend = page.evaluate("[...document.querySelectorAll('.ovp-race .legend .traces')]"
                           ".map(e => e.textContent)")
    assert all(e["name"] in legend for e in g["legend"])
    page.wait_for_timeout(300)
    assert _steps(page) == []  # the answer is for the shown step: nothing more to ask
    # hover on the gradient's tip: its name and its numbers
    grad = g["arrows"][0]
    assert grad["name"] == "gradient"
    ax = page.evaluate(_AXES)
    cx, cy = _to_page(ax, grad["points"][2], grad["points"][3])
    page.mouse.move(cx + 15, cy + 15)
    page.wait_for_timeout(100)
    page.mouse.move(cx, cy)
    page.wait_for_selector(".hoverlayer .hovertext", timeout=3000)
    text = page.evaluate("document.querySelector('.hoverlayer').textContent")
    assert "gradient" in text and f"{grad['vector'][0]:.5g}"[:5] in text, text
    # step forward: asks for 6; the glyphs of 5 go
    page.focus("#root")
    page.keyboard.press("ArrowRight")
    assert page.evaluate(GLYPHS) == []
    assert _asks(page) == [(0, 6)]
    ARTIFACTS.mkdir(exist_ok=True)
    _send(page, _with_inspect(0, 6))
    assert _step(page) == 6 and len(page.evaluate(GLYPHS)) == len(g["legend"])
    page.screenshot(path=str(ARTIFACTS / "player-inspect.png"), full_page=True)


def test_legend_toggle_sticks_and_playing_hides_glyphs(open_player):
    page = _mount(open_player, _with_inspect(0, None))
    page.evaluate("window.__player.seek(5)")
    _send(page, _with_inspect(0, 5))
    names = [t["name"] for t in page.evaluate(GLYPHS)]
    target = names[0]  # "gradient"
    legend = page.locator(".ovp-race .legend .traces", has_text=target).first
    legend.click()
    page.wait_for_function(  # plotly waits out a double click first
        "(n) => document.querySelector('.ovp-race').data.some("
        "t => t.name === n && t.visible === 'legendonly')", arg=target, timeout=10_000)
    vis = {t["name"]: t["visible"] for t in page.evaluate(GLYPHS)}
    assert vis[target] == "legendonly" and all(v is True for n, v in vis.items() if n != target)
    page.evaluate("window.__player.seek(6)")
    _send(page, _with_inspect(0, 6))
    vis = {t["name"]: t["visible"] for t in page.evaluate(GLYPHS)}
    assert vis[target] == "legendonly" and vis[names[1]] is True  # still switched off
    # playing hides the glyphs; the end asks for steps - 1, never steps
    page.evaluate("window.__steps = []")
    page.click(".ovp-play")
    page.wait_for_timeout(150)
    assert _playing(page) and page.evaluate(GLYPHS) == []
    page.wait_for_function("document.getElementById('root').dataset.playing === '0'",
                           timeout=15000)
    assert _step(page) == STEPS
    assert [step for _, step in _asks(page)] == [STEPS - 1]
    assert page.inner_text(".ovp-readout") == f"step {STEPS} / {STEPS}"
    page.keyboard.press("End")
    page.evaluate(f"window.__player.seek({STEPS})")
    page.wait_for_timeout(400)
    assert all(e["step"] < STEPS for e in _steps(page))
    # a new race (another token) keeps inspection on and asks again
    other = _with_inspect(0, None)
    other["token"] = "another"
    page.evaluate("window.__steps = []")
    _send(page, other)
    assert [step for _, step in _asks(page)] == [STEPS - 1]
    assert "→" not in page.inner_text(".ovp-readout")  # at the end: no next step
    page.evaluate("window.__player.seek(10)")
    assert page.inner_text(".ovp-readout") == f"step 10 → 11 / {STEPS}"


def test_newton_ellipse_is_a_closed_curve(open_player):
    page = _mount(open_player, _with_inspect(1, None))
    page.evaluate("window.__player.seek(2)")
    reply = _with_inspect(1, 2)
    _send(page, reply)
    ell = reply["inspect"]["glyphs"]["ellipses"]
    assert ell
    glyphs = {t["name"]: t for t in page.evaluate(GLYPHS)}
    for e in ell:
        t = glyphs[e["name"]]
        assert len(t["x"]) == len(e["points"]) + 1 and t["x"][0] == t["x"][-1]
        assert t["dash"] == ("dash" if any(e["negative"]) else "solid")


def test_no_on_step_without_inspect_and_without_the_callback(open_player):
    page = _mount(open_player, copy.deepcopy(_base_payload()))
    page.evaluate("window.__player.seek(5)")
    page.wait_for_timeout(400)
    assert _steps(page) == [] and page.inner_text(".ovp-readout") == f"step 5 / {STEPS}"
    page2 = open_player(_with_inspect(0, None))  # the default host: no onStep, no error
    page2.evaluate("window.__player.seek(5)")
    page2.wait_for_timeout(400)
    _send(page2, _with_inspect(0, 5))
    assert len(page2.evaluate(GLYPHS)) > 0


THREE = """() => { const d = document.querySelector('.ovp-three');
  if (!d.data) return null;
  return {types: d.data.map(t => t.type), uids: d.data.map(t => t.uid),
          heads: d.data.filter(t => (t.uid || '').startsWith('head3d'))
                       .map(t => [t.x[0], t.y[0], t.z[0]]),
          paths: d.data.filter(t => (t.uid || '').startsWith('path3d')).map(t => t.x.length),
          z00: d.data[0].z[40][40], camera: JSON.parse(JSON.stringify(d.layout.scene.camera)),
          visible: d.offsetHeight > 0}; }"""


def test_3d_view_plays_logs_turns_and_goes_back(open_player):
    page = _mount(open_player, _with_inspect(0, None))
    page.evaluate("window.__player.seek(2)")
    assert page.is_hidden(".ovp-logz")
    page.click(".ovp-3d")
    page.wait_for_selector(".ovp-three .main-svg")
    three = page.evaluate(THREE)
    assert three["visible"] and three["types"][0] == "surface"
    assert three["types"].count("scatter3d") == 4  # two paths, two heads
    assert page.is_hidden(".ovp-race-wrap") and page.get_attribute("#root", "data-view") == "3d"
    assert three["paths"] == [3, 3]
    page.set_viewport_size({"width": 1200, "height": 900})  # a resize in 3D mode
    page.wait_for_timeout(200)
    width = page.evaluate("document.querySelector('.ovp-three').getBoundingClientRect().width")
    assert 300 < width <= 1200
    page.click(".ovp-play")
    # software WebGL may take long over a frame: wait for the heads to move, not a set time
    page.wait_for_function(f"(h) => JSON.stringify(({THREE})().heads) !== JSON.stringify(h)",
                           arg=three["heads"], timeout=10_000)
    assert _playing(page)
    page.click(".ovp-play")
    # log z: the surface's z changes (Rosenbrock: log by default)
    s3 = _base_payload()["base"]["surface3d"]
    assert s3["log_ok"] and page.is_checked(".ovp-logz") == s3["log_default"]
    before = page.evaluate(THREE)["z00"]
    page.click(".ovp-logz")
    after = page.evaluate(THREE)["z00"]
    f = s3["z"][40][40]
    logged = np.log10(f - s3["minimum"] + s3["log_delta"])
    assert (before, after) in ((pytest.approx(logged), pytest.approx(f)),
                               (pytest.approx(f), pytest.approx(logged)))
    page.click(".ovp-logz")
    # camera presets
    cams = {}
    for name in ("top", "side", "default"):
        page.click(f".ovp-cam-{name}")
        page.wait_for_timeout(100)
        cams[name] = page.evaluate(THREE)["camera"]
    assert cams["top"]["eye"]["z"] > 2 and abs(cams["top"]["eye"]["x"]) < 1e-9
    assert cams["side"]["eye"]["z"] < 0.5 and cams["side"] != cams["default"] != cams["top"]
    page.click(".ovp-cam-top")
    ARTIFACTS.mkdir(exist_ok=True)
    page.wait_for_timeout(300)
    page.screenshot(path=str(ARTIFACTS / "player-3d.png"), full_page=True)
    page.click(".ovp-cam-default")
    # an update in 3D mode (same token, then a new race) and a toggle while playing
    _send(page, _with_inspect(0, min(_step(page), STEPS - 1)))
    other = _with_inspect(0, None)
    other["token"] = "another"
    _send(page, other)
    assert page.evaluate(THREE)["paths"] == [STEPS + 1, STEPS + 1]
    page.wait_for_timeout(300)
    page.screenshot(path=str(ARTIFACTS / "player-3d-default.png"), full_page=True)
    page.click(".ovp-play")
    page.wait_for_timeout(200)
    page.click(".ovp-3d")  # back to 2D while playing
    assert page.is_visible(".ovp-race-wrap") and page.is_hidden(".ovp-three")
    page.wait_for_timeout(300)
    k = _step(page)
    heads = {t["uid"]: t for t in page.evaluate("""() => document.querySelector('.ovp-race')
        .data.map(t => ({uid: t.uid, x: t.x}))""")}
    assert heads["head0"]["x"] and heads["path0"]["x"]
    page.click(".ovp-3d")  # and 3D again while playing
    page.wait_for_timeout(300)
    assert page.evaluate(THREE)["visible"]
    page.click(".ovp-3d")
    page.evaluate("window.__player.pause()")
    assert _step(page) >= k and page.get_attribute("#root", "data-view") == "2d"


def test_classroom_glyphs_fit_the_screen(open_player):
    p = _with_inspect(0, 5, classroom=True)
    p["initial_step"] = 5
    page = open_player(p, width=1366, height=768)
    widths = {t["name"]: t["width"] for t in page.evaluate(
        """() => document.querySelector('.ovp-race').data
        .filter(t => (t.legendgroup || '').startsWith('glyph:'))
        .map(t => ({name: t.name, width: t.line.width}))""")}
    assert widths and min(widths.values()) >= 4
    bottom = page.evaluate("document.querySelector('.ovp-controls').getBoundingClientRect()"
                           ".bottom")
    assert bottom <= 768
    # the legend (runs and glyphs) stays below the x axis title
    boxes = page.evaluate("""() => { const r = e => document.querySelector(e)
        .getBoundingClientRect(); return [r('.ovp-race .legend').top,
        r('.ovp-race .xtitle').bottom]; }""")
    assert boxes[0] >= boxes[1] - 1, boxes
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "player-inspect-classroom.png"))
