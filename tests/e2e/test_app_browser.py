"""The app in headless Chromium, through Streamlit: the race player draws the complete race at
once, plays, pauses, scrubs; clicks, shift-clicks and drags edit the start points; a shared
link reproduces its scene; classroom mode fills a projector. Each test is also a regression
test for one of the bugs the old frame-animated figure had (issue 8, numbered there), and every
test fails on any page or console error (the ``page`` fixture).

State is read from the player's element (``data-step``, ``data-playing``, ``data-token``) and
from plotly.js's graph divs (``gd.data``, ``gd._fullLayout``). Screenshots for people go to the
ignored ``artifacts/`` folder.
"""

from __future__ import annotations

import io
import urllib.parse
from pathlib import Path

import pytest
from playwright.sync_api import TimeoutError as PlaywrightTimeout

from tests.e2e.app_page import _ROOT, PLAYER, TIMEOUT_MS, open_app, settle, token

RACE = f"{PLAYER} .ovp-race"
LOSS = f"{PLAYER} .ovp-loss"
MIN_COLOURED = 0.7  # the landscape covers (almost) the whole plot area
_GD = f"document.querySelector('{RACE}')"


def wait_redrawn(page, old: str) -> str:
    """Wait until the player drew a payload other than ``old``; the new token."""
    page.wait_for_function(f"(old) => {_ROOT}.dataset.token !== old", arg=old,
                           timeout=TIMEOUT_MS)
    settle(page)
    return token(page)


def watch_race_top(page) -> None:
    """From now on, record every distinct page y of the race plot's top (``race_tops``)."""
    page.evaluate(f"""() => {{ const seen = window.__raceTops = new Set();
        (function tick() {{ const gd = document.querySelector('{RACE}');
          if (gd) seen.add(Math.round(gd.getBoundingClientRect().top + scrollY));
          requestAnimationFrame(tick); }})(); }}""")


def race_tops(page) -> list[int]:
    return page.evaluate("() => Array.from(window.__raceTops)")


def step(page) -> int:
    return int(page.evaluate(f"() => {_ROOT}.dataset.step"))


def playing(page) -> bool:
    return page.evaluate(f"() => {_ROOT}.dataset.playing") == "1"


def n_steps(page) -> int:
    return int(page.locator(f"{PLAYER} .ovp-slider").get_attribute("max"))


def data_to_page(page, x: float, y: float) -> tuple[float, float]:
    return tuple(page.evaluate(
        f"""([x, y]) => {{ const gd = {_GD}; const r = gd.getBoundingClientRect();
              const xa = gd._fullLayout.xaxis, ya = gd._fullLayout.yaxis;
              return [r.left + xa._offset + xa.d2p(x), r.top + ya._offset + ya.d2p(y)]; }}""",
        [x, y]))


def page_to_data(page, px: float, py: float) -> tuple[float, float]:
    return tuple(page.evaluate(
        f"""([px, py]) => {{ const gd = {_GD}; const r = gd.getBoundingClientRect();
              const xa = gd._fullLayout.xaxis, ya = gd._fullLayout.yaxis;
              return [xa.p2d(px - r.left - xa._offset), ya.p2d(py - r.top - ya._offset)]; }}""",
        [px, py]))


def start_inputs(page, i: int = 0, several: bool = False) -> tuple[float, float]:
    label = f"start {i + 1}" if several else "start"
    sx = page.get_by_role("spinbutton", name=f"{label} x", exact=True).input_value()
    sy = page.get_by_role("spinbutton", name=f"{label} y", exact=True).input_value()
    return float(sx), float(sy)


def lr_slider(page):
    return page.locator("section[data-testid=stSidebar]").get_by_role("slider").first


def coloured_fraction(page, name: str, artifacts: Path) -> float:
    """Share of the plot area's pixels that are clearly coloured (HSV saturation > 0.12)."""
    from PIL import Image

    box = page.locator(f"{RACE} .nsewdrag").first.bounding_box()
    png = page.screenshot(clip=box)
    (artifacts / f"e2e-plot-{name}.png").write_bytes(png)
    hist = Image.open(io.BytesIO(png)).convert("RGB").convert("HSV").getchannel("S").histogram()
    return sum(hist[32:]) / sum(hist)


def hover_text(page, x: float, y: float) -> str:
    """Move the mouse to page pixel (x, y); the hover label's text ('' if none)."""
    page.mouse.move(x, y)
    page.wait_for_timeout(250)
    return page.evaluate(
        f"() => [...document.querySelectorAll('{RACE} .hoverlayer .hovertext')]"
        ".map(h => h.textContent).join(' | ')")


# --------------------------------------------------------------------------------------------


def test_the_complete_race_is_drawn_at_once_and_plays(page, app_url, artifacts) -> None:
    open_app(page, app_url)
    assert page.get_by_text("Rosenbrock").first.is_visible()
    assert page.locator("[data-testid=stException]").count() == 0
    # the outcome at once: the player opens at the last step, not replaying from 0
    assert step(page) == n_steps(page) == 300 and not playing(page)
    paths = page.evaluate(f"() => {_GD}.data.filter(t => String(t.uid).startsWith('path'))"
                          ".map(t => t.x.length)")
    assert len(paths) == 4 and min(paths) > 100
    before = coloured_fraction(page, "before", artifacts)
    page.locator(f"{PLAYER} .ovp-play").click()  # Play at the end replays from step 0
    page.wait_for_function(f"() => {_ROOT}.dataset.playing === '1'", timeout=5_000)
    page.wait_for_timeout(600)
    during = coloured_fraction(page, "during", artifacts)
    assert 0 < step(page) < 300
    page.screenshot(path=str(artifacts / "e2e-default.png"))
    assert min(before, during) >= MIN_COLOURED, (before, during)


def test_pause_always_works_also_after_a_change_mid_race(page, app_url) -> None:
    """Bugs 1 and 4: Pause did nothing on a race that started after a change made mid-race,
    and changing a learning rate while a race played flooded the page with errors."""
    old = open_app(page, app_url, {"run": "adam", "steps": "2000"})
    page.locator(f"{PLAYER} .ovp-play").click()
    page.wait_for_timeout(400)
    assert playing(page)
    slider = lr_slider(page)
    slider.focus()
    page.keyboard.press("ArrowRight")  # a learning-rate change mid-race
    new = wait_redrawn(page, old)
    assert new != old
    assert not playing(page) and step(page) == 2000  # the new outcome, at once
    page.locator(f"{PLAYER} .ovp-play").click()
    page.wait_for_timeout(500)
    assert playing(page)
    page.locator(f"{PLAYER} .ovp-play").click()  # Pause
    paused = step(page)
    page.wait_for_timeout(1000)
    assert not playing(page) and step(page) == paused


def test_hover_names_its_own_run_and_nothing_undrawn(page, app_url) -> None:
    """Bugs 2 and 3: a head's hover named another run; points not yet drawn were hoverable."""
    open_app(page, app_url, {"run": "sgd:lr=0.001;adam:lr=0.05", "steps": "300"})
    page.locator(RACE).click(position={"x": 5, "y": 5})  # focus, outside the plot area
    page.keyboard.press("End")
    heads = page.evaluate(f"() => {_GD}.data.filter(t => String(t.uid).startsWith('head'))"
                          ".map(t => [t.name, t.x[0], t.y[0]])")
    page.mouse.move(1, 1)  # off the plot: the pointer must not hover another run's path
    for i, (name, _x, _y) in enumerate(heads):
        # hover the head itself (where the paths cross, the pointer may be nearer a point of
        # the other run's path): its label names its own run
        page.evaluate(f"() => Plotly.Fx.unhover({_GD})")
        page.wait_for_function(f"() => !document.querySelector('{RACE} .hoverlayer .hovertext')")
        page.evaluate(f"""(i) => {{ const gd = {_GD};
            const k = gd.data.findIndex(t => t.uid === 'head' + i);
            Plotly.Fx.hover(gd, [{{curveNumber: k, pointNumber: 0}}]); }}""", i)
        page.wait_for_selector(f"{RACE} .hoverlayer .hovertext", timeout=5_000)
        label = page.evaluate(f"() => document.querySelector('{RACE} .hoverlayer').textContent")
        assert name.split(" (")[0] in label and "step 300" in label, (name, label)
        assert all(other.split(" (")[0] not in label for other, *_ in heads if other != name)
    page.evaluate(f"() => Plotly.Fx.unhover({_GD})")
    page.locator(RACE).click(position={"x": 5, "y": 5})
    page.keyboard.press("Home")
    assert step(page) == 0
    # Adam's end point (1, 1)-ward is not drawn at step 0: nothing there to hover
    x, y = heads[-1][1], heads[-1][2]
    assert hover_text(page, *data_to_page(page, x, y)) == ""


def test_one_to_one_aspect_survives_an_update(page, app_url) -> None:
    """Bug 6: after an in-place update at 1400 px with three Adam runs the plot lost its 1:1
    aspect (a white strip right of x = 2, the frame ran into the colour bar)."""
    page.set_viewport_size({"width": 1400, "height": 900})
    old = open_app(page, app_url, {"run": "adam:lr=0.05;adam:lr=0.1;adam:lr=0.2"})
    lr_slider(page).focus()
    page.keyboard.press("ArrowLeft")
    wait_redrawn(page, old)
    unit_x, unit_y, right, bar_left = page.evaluate(
        f"""() => {{ const gd = {_GD}; const L = gd._fullLayout;
              const bar = document.querySelector('[data-testid=optviz-player] .ovp-colorbar')
                .getBoundingClientRect();
              const r = gd.getBoundingClientRect();
              return [L.xaxis._length / (L.xaxis.range[1] - L.xaxis.range[0]),
                      L.yaxis._length / (L.yaxis.range[1] - L.yaxis.range[0]),
                      r.left + L.xaxis._offset + L.xaxis._length, bar.left]; }}""")
    assert unit_x == pytest.approx(unit_y, rel=0.01)
    assert right <= bar_left


def test_scrubbing_while_playing_pauses_and_sticks(page, app_url) -> None:
    """Bug 7: scrubbing during playback was rejected by plotly.js and did not stick."""
    open_app(page, app_url, {"run": "adam", "steps": "2000"})
    page.locator(f"{PLAYER} .ovp-play").click()
    page.wait_for_timeout(300)
    slider = page.locator(f"{PLAYER} .ovp-slider")
    box = slider.bounding_box()
    page.mouse.click(box["x"] + box["width"] * 0.25, box["y"] + box["height"] / 2)
    page.wait_for_timeout(200)
    scrubbed = step(page)
    assert not playing(page)
    assert 300 < scrubbed < 700
    page.wait_for_timeout(800)
    assert step(page) == scrubbed


def test_a_click_sets_the_start_exactly_where_clicked(page, app_url) -> None:
    """Bug 8: a click set the start on a 40 × 40 grid (0.5 -> 0.45)."""
    old = open_app(page, app_url)
    px, py = (round(v) for v in data_to_page(page, 0.5, -0.55))  # mouse events: whole pixels
    want = page_to_data(page, px, py)
    page.mouse.click(px, py)
    wait_redrawn(page, old)
    x, y = start_inputs(page)
    assert x == pytest.approx(want[0], abs=1e-4) and y == pytest.approx(want[1], abs=1e-4)
    assert abs(x - 0.5) < 0.01 and abs(y + 0.55) < 0.01
    starts = page.evaluate(f"() => {{ const t = {_GD}.data.find(t => t.name === 'start'); "
                           f"return [Array.from(t.x), Array.from(t.y)]; }}")
    assert starts == [[x], [y]]
    page.wait_for_function("(x) => location.search.includes('start=' + x)",
                           arg=f"{x:g}", timeout=10_000)


def test_shift_click_adds_a_start_and_dragging_moves_it(page, app_url) -> None:
    old = open_app(page, app_url, {"run": "adam", "steps": "200"})
    px, py = (round(v) for v in data_to_page(page, 1.5, -0.5))
    page.keyboard.down("Shift")
    page.mouse.click(px, py)
    page.keyboard.up("Shift")
    old = wait_redrawn(page, old)
    assert start_inputs(page, 0, several=True) == (-1.5, 2.0)
    added = start_inputs(page, 1, several=True)
    assert added[0] == pytest.approx(1.5, abs=0.01) and added[1] == pytest.approx(-0.5, abs=0.01)
    # drag the new start: the paths follow while the mouse is held, then settle where released
    watch_race_top(page)
    page.mouse.move(px, py)
    page.mouse.down()
    tokens = {old}
    for i in range(1, 4):
        x, y = px - 20 * i, py - 10 * i
        page.mouse.move(x, y, steps=2)
        # a move sent while the page was busy may be superseded: the next one still counts
        for nudge in range(30):
            try:
                page.wait_for_function(f"(seen) => !seen.includes({_ROOT}.dataset.token)",
                                       arg=sorted(tokens), timeout=3_000)
                break
            except PlaywrightTimeout:
                page.mouse.move(x, y + (nudge % 2), steps=1)
        else:
            pytest.fail("the paths never followed the dragged start")
        tokens.add(token(page))
        page.mouse.move(x, y)
    page.mouse.up()
    settle(page)
    page.wait_for_timeout(500)
    settle(page)
    want = page_to_data(page, px - 60, py - 30)
    # the sidebar's two inputs are redrawn one after the other: read them once both show the
    # release point (or after 10 s, and fail below), not in between
    for _ in range(50):
        moved = start_inputs(page, 1, several=True)
        if all(abs(m - w) <= 1e-3 for m, w in zip(moved, want, strict=True)):
            break
        page.wait_for_timeout(200)
    assert moved[0] == pytest.approx(want[0], abs=1e-3)
    assert moved[1] == pytest.approx(want[1], abs=1e-3)
    assert start_inputs(page, 0, several=True) == (-1.5, 2.0)
    # the race never moved under the mouse (a progress bar above it once pushed it down 51 px
    # while the paths computed, and the start landed that far from where it was released)
    assert len(race_tops(page)) == 1, race_tops(page)


def test_a_long_computation_shows_progress_over_the_page_and_moves_nothing(
        page, app_url, artifacts) -> None:
    """While a heavy scene computes, its progress floats under the page's header: nothing
    above the race changes height, so the race stays where it is; the box goes when done."""
    heavy = {"start": "-1.5,2.01", "steps": "5000",  # about 3.5 s of compute here
             "run": "sgd;momentum;nesterov;rmsprop;adam;adamw;nadam"}
    old = open_app(page, app_url, heavy)
    watch_race_top(page)
    page.mouse.click(*(round(v) for v in data_to_page(page, -1.2, 1.8)))  # a new start
    # read in the wait itself: the box may be gone by the next call
    shown = page.wait_for_function("""() => { const b = [...document.querySelectorAll(
        '[class*="st-key-ovp_progress_"]')].find(b => b.querySelector('[data-testid=stProgress]'));
      return b && getComputedStyle(b).opacity === '1' && {text: b.innerText,
        position: getComputedStyle(b.parentElement).position}; }""",
                                   timeout=TIMEOUT_MS).json_value()
    page.screenshot(path=str(artifacts / "e2e-progress.png"))
    assert "Running the optimizers" in shown["text"] or "Waiting" in shown["text"], shown
    assert shown["position"] == "fixed"
    wait_redrawn(page, old)
    assert page.locator('[class*="st-key-ovp_progress_"]').filter(
        has=page.locator("[data-testid=stProgress]")).count() == 0
    assert len(race_tops(page)) == 1, race_tops(page)


def test_the_loss_chart_follows_the_player(page, app_url) -> None:
    """Bug 9: the loss chart showed the complete curves while the race was at step 47."""
    open_app(page, app_url, {"run": "sgd;adam", "steps": "300"})
    page.locator(RACE).click(position={"x": 5, "y": 5})
    page.keyboard.press("Home")
    for _ in range(47):
        page.keyboard.press("ArrowRight")
    assert step(page) == 47
    lengths, cursor = page.evaluate(
        f"""() => {{ const gd = document.querySelector('{LOSS}');
              const curves = gd.data.filter(t => String(t.uid).startsWith('curve'));
              const xs = curves.map(t => Math.max(...Array.from(t.x).filter(Number.isFinite)));
              const cursor = gd.data.find(t => t.uid === 'cursor');
              return [xs, cursor.x[0]]; }}""")
    assert max(lengths) <= 47 and cursor == 47


def test_several_starts_of_one_optimizer_are_told_apart(page, app_url) -> None:
    """Bug 10: every start of an optimizer had the same colour."""
    open_app(page, app_url, {"run": "adam", "start": "-1.5,2;1.5,-0.5;0,2.5"})
    styles = page.evaluate(f"() => {_GD}.data.filter(t => String(t.uid).startsWith('head'))"
                           ".map(t => [t.marker.symbol, t.marker.color])")
    assert len(styles) == 3
    assert len({s for s, _ in styles}) == 3 and len({c for _, c in styles}) == 3


def test_a_shared_link_reproduces_its_scene(page, app_url, artifacts) -> None:
    query = {"surface": "himmelblau", "start": "-1,4", "steps": "80", "seed": "2",
             "run": "adam:lr=0.2;sgd:lr=0.01", "color2": "00d9ff", "label2": "plain SGD"}
    open_app(page, app_url, query)
    assert "Himmelblau" in page.evaluate(f"() => {_GD}._fullLayout.title.text")
    names = page.evaluate(f"() => {_GD}.data.filter(t => String(t.uid).startsWith('path'))"
                          ".map(t => t.name)")
    assert names == ["Adam (lr=0.2)", "plain SGD"]
    colours = page.evaluate(f"() => {_GD}.data.filter(t => String(t.uid).startsWith('path'))"
                            ".map(t => t.line.color)")
    assert colours[1] == "#00d9ff"
    assert start_inputs(page) == (-1.0, 4.0)
    assert page.get_by_role("spinbutton", name="steps").input_value() == "80"
    params = urllib.parse.parse_qs(urllib.parse.urlparse(page.url).query)
    assert params["surface"] == ["himmelblau"] and params["run"] == [query["run"]]
    page.screenshot(path=str(artifacts / "e2e-shared-link.png"))


def test_a_broken_link_warns_and_still_draws(page, app_url) -> None:
    open_app(page, app_url, {"steps": "abc", "run": "bogus"})
    assert page.locator("[data-testid=stAlertContentWarning]").count() >= 1
    assert page.locator("[data-testid=stException]").count() == 0
    assert step(page) == n_steps(page) == 300


def test_a_scene_file_loads_mid_race_without_page_errors(page, app_url, tmp_path) -> None:
    from optviz.scene import DEFAULT_SCENARIO, Scenario

    old = open_app(page, app_url, {"steps": "2000"})
    page.locator(f"{PLAYER} .ovp-play").click()
    page.wait_for_timeout(300)
    scene = Scenario(surface="booth", starts=((-5.0, 5.0),), steps=60,
                     runs=DEFAULT_SCENARIO.runs[3:]).validated()
    path = tmp_path / "scene.json"
    path.write_bytes(b"\xef\xbb\xbf" + scene.to_json().encode())  # a BOM, as the CLI accepts
    page.get_by_text("Load a scene file", exact=True).click()
    page.locator("[data-testid=stFileUploaderDropzoneInput]").set_input_files(str(path))
    wait_redrawn(page, old)
    page.wait_for_function(f"() => {_GD}._fullLayout.title.text.includes('Booth')",
                           timeout=TIMEOUT_MS)
    page.wait_for_timeout(1000)
    assert start_inputs(page) == (-5.0, 5.0)


def test_hostile_labels_stay_text_no_link_no_image_no_request(page, app_url) -> None:
    """Labels from a shared link: a Markdown link, an image that would be fetched on load and a
    bare URL are shown as the literal text, never as <a> or <img>, and nothing is fetched."""
    labels = {"label1": "[click me](https://example.com/x)",
              "label2": "http://2130706433/x",
              "label3": "![i](http://example.com/i.png)"}
    requests: list[str] = []
    page.on("request", lambda r: requests.append(r.url))
    open_app(page, app_url, {"run": "sgd:lr=0.01;sgd:lr=0.02;sgd:lr=0.03", **labels})
    page.get_by_text("What each optimizer does").wait_for(timeout=30_000)
    body = page.locator("body").inner_text()
    for label in labels.values():
        assert label in body, label
    hosts = page.evaluate("() => [...document.querySelectorAll('a')].map(a => a.hostname)")
    assert not [h for h in hosts if "example.com" in h or "2130706433" in h], hosts
    srcs = page.evaluate("() => [...document.querySelectorAll('img')].map(i => i.src)")
    assert not [s for s in srcs if s.startswith(("http://example.com", "https://example"))], srcs
    outside = {urllib.parse.urlparse(u).hostname for u in requests} - {"127.0.0.1", "localhost"}
    assert not [h for h in outside if h and ("example.com" in h or "2130706433" in h)], outside


@pytest.mark.parametrize(("width", "height"), [(1920, 1080), (1366, 768), (1024, 768)])
def test_classroom_mode_fills_the_screen(page, app_url, artifacts, width, height) -> None:
    """A teacher's link: the lesson in classroom mode, race and controls visible without
    scrolling, the race using most of the viewport, every text of it at least 18 px, the
    sidebar folded away, the lesson's "what to watch" on the page."""
    from optviz.presets import get_preset, list_presets

    key = list_presets()[0]
    page.set_viewport_size({"width": width, "height": height})
    open_app(page, app_url, {"preset": key, "classroom": "1"})
    page.wait_for_timeout(500)
    page.screenshot(path=str(artifacts / f"e2e-classroom-{width}x{height}.png"))
    sidebar = page.locator("section[data-testid=stSidebar]")
    assert sidebar.get_attribute("data-collapsed") == "true"
    race = page.locator(f"{RACE} .nsewdrag").first.bounding_box()
    for part in (".ovp-play", ".ovp-slider", ".ovp-speed", ".ovp-readout"):
        box = page.locator(f"{PLAYER} {part}").bounding_box()
        assert box["y"] >= 0 and box["y"] + box["height"] <= height, (part, box)
    assert race["y"] >= 0 and race["y"] + race["height"] <= height
    assert race["height"] >= 0.5 * height, race
    sizes = page.evaluate(
        f"""() => [...document.querySelectorAll(
                '{PLAYER} .ovp-controls *, {RACE} text, {LOSS} text')]
              .filter(e => e.getBoundingClientRect().width > 0 && e.textContent.trim())
              .map(e => [e.textContent.trim().slice(0, 20),
                         parseFloat(getComputedStyle(e).fontSize)])""")
    small = [s for s in sizes if s[1] < 18]
    assert not small, small[:8]
    watch = get_preset(key).watch[:40]
    assert page.get_by_text(watch, exact=False).count() >= 1


@pytest.mark.parametrize("cpu_slowdown", [1, 6])
def test_the_step_inspector_follows_the_player_step_by_step(page, app_url, artifacts,
                                                            cpu_slowdown) -> None:
    """Issue 11: with the inspector on, stepping the race forward and back redraws the
    optimizer's state at the head and rewrites the rule with that step's numbers. Also with
    the CPU slowed down 6× (as on a busy CI machine, where the glyphs of the answered step
    were seen missing while the panel showed that step) and quick steps in between."""
    if cpu_slowdown > 1:
        cdp = page.context.new_cdp_session(page)
        cdp.send("Emulation.setCPUThrottlingRate", {"rate": cpu_slowdown})
    open_app(page, app_url, {"run": "adam", "steps": "100"})
    page.get_by_text("Step inspector", exact=True).click()
    settle(page)
    page.locator(RACE).click(position={"x": 5, "y": 5})  # focus the player, outside the plot
    page.keyboard.press("Home")
    page.keyboard.press("ArrowRight")
    page.keyboard.press("ArrowRight")
    heading = page.get_by_text("Adam · step 2 → 3", exact=False).first
    heading.wait_for(timeout=TIMEOUT_MS)
    settle(page)
    _glyphs_drawn_at(page, 2)
    rule = page.locator("[data-testid=stMain] .katex").first.inner_text()
    page.screenshot(path=str(artifacts / "e2e-inspector.png"))
    page.locator(RACE).click(position={"x": 5, "y": 5})
    page.keyboard.press("ArrowRight")
    page.get_by_text("Adam · step 3 → 4", exact=False).first.wait_for(timeout=TIMEOUT_MS)
    settle(page)
    _glyphs_drawn_at(page, 3)
    assert page.locator("[data-testid=stMain] .katex").first.inner_text() != rule
    page.locator(RACE).click(position={"x": 5, "y": 5})
    page.keyboard.press("ArrowLeft")
    page.get_by_text("Adam · step 2 → 3", exact=False).first.wait_for(timeout=TIMEOUT_MS)
    settle(page)
    _glyphs_drawn_at(page, 2)
    assert page.locator("[data-testid=stMain] .katex").first.inner_text() == rule
    # quick steps, each asking before the last answer came: the glyphs follow the last one
    page.locator(RACE).click(position={"x": 5, "y": 5})
    for key in ("ArrowRight", "ArrowRight", "ArrowRight", "ArrowLeft", "ArrowRight",
                "ArrowRight"):
        page.keyboard.press(key)
        page.wait_for_timeout(60 * cpu_slowdown)
    page.get_by_text("Adam · step 6 → 7", exact=False).first.wait_for(timeout=TIMEOUT_MS)
    settle(page)
    _glyphs_drawn_at(page, 6)


def _glyphs_drawn_at(page, k: int) -> None:
    """The player shows step ``k`` with the inspector's glyphs, drawn at the head."""
    page.wait_for_function(f"() => +{_ROOT}.dataset.glyphs > 0", timeout=TIMEOUT_MS)
    assert step(page) == k
    drawn = page.evaluate(
        f"""() => {{ const d = {_GD}.data;
              const head = d.find(t => t.uid === 'head0');
              return {{head: [head.x[0], head.y[0]],
                       glyphs: d.filter(t => String(t.legendgroup).startsWith('glyph:'))
                                .map(t => ({{name: t.name, x: t.x, y: t.y}}))}}; }}""")
    names = [g["name"] for g in drawn["glyphs"]]
    assert "gradient" in names, names
    grad = next(g for g in drawn["glyphs"] if g["name"] == "gradient")
    # an arrow starts at the head of the inspected run (the step k -> k + 1 starts there)
    assert grad["x"][0] == pytest.approx(drawn["head"][0], abs=1e-9)
    assert grad["y"][0] == pytest.approx(drawn["head"][1], abs=1e-9)
