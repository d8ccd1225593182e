"""The app in headless Chromium: it loads and plays by itself, Play moves the runs' heads while
the landscape stays coloured, a click on the plot sets the start, a shared link reproduces its
scene. Screenshots for people go to the ignored ``artifacts/`` folder.

Positions and state are read from plotly.js's graph div (``gd.data``, ``gd._fullLayout``); the
landscape's colour is measured in screenshots of the plot area.
"""

from __future__ import annotations

import io
import urllib.parse
from pathlib import Path

import pytest

RACE = ".st-key-race .js-plotly-plot"
PLOT_TIMEOUT_MS = 90_000
MIN_COLOURED = 0.7  # the landscape covers (almost) the whole plot area; without it: ~0.05

_GD = f"document.querySelector('{RACE}')"


def open_app(page, url: str, query: dict[str, str] | None = None) -> None:
    """Open the app (with a query string) and wait until the race figure is drawn."""
    q = "?" + urllib.parse.urlencode(query) if query else ""
    page.goto(f"{url}/{q}")
    page.wait_for_function(
        f"() => {{ const gd = {_GD}; return gd && gd._fullLayout && gd._fullLayout.meta; }}",
        timeout=PLOT_TIMEOUT_MS,
    )


def heads(page) -> list[list[float | None]]:
    """Each run's head marker position (the traces drawn as line + marker)."""
    return page.evaluate(
        f"""() => {_GD}.data.filter(t => t.mode === 'lines+markers')
                 .map(t => [t.x && t.x.length ? t.x[0] : null,
                            t.y && t.y.length ? t.y[0] : null])"""
    )


def frame_index(page) -> int:
    return page.evaluate(f"() => {_GD}._fullLayout.sliders[0].active")


def n_frames(page) -> int:
    return page.evaluate(f"() => {_GD}._fullLayout.sliders[0].steps.length")


def meta(page) -> str:
    return page.evaluate(f"() => {_GD}._fullLayout.meta")


def press(page, label: str) -> None:
    """Press one of the figure's own buttons ("Play", "Pause")."""
    page.locator(f"{RACE} .updatemenu-button").filter(has_text=label).first.click()


def coloured_fraction(page, name: str, artifacts: Path) -> float:
    """Share of the plot area's pixels that are clearly coloured (HSV saturation > 0.12)."""
    from PIL import Image

    box = page.locator(f"{RACE} .nsewdrag").first.bounding_box()
    png = page.screenshot(clip=box)
    (artifacts / f"e2e-plot-{name}.png").write_bytes(png)
    hist = Image.open(io.BytesIO(png)).convert("RGB").convert("HSV").getchannel("S").histogram()
    return sum(hist[32:]) / sum(hist)


def data_to_page(page, x: float, y: float) -> tuple[float, float]:
    return tuple(page.evaluate(
        f"""([x, y]) => {{ const gd = {_GD}; const r = gd.getBoundingClientRect();
              const xa = gd._fullLayout.xaxis, ya = gd._fullLayout.yaxis;
              return [r.left + xa._offset + xa.l2p(x), r.top + ya._offset + ya.l2p(y)]; }}""",
        [x, y],
    ))


def start_inputs(page) -> tuple[str, str]:
    sx = page.get_by_role("spinbutton", name="start x").input_value()
    sy = page.get_by_role("spinbutton", name="start y").input_value()
    return sx, sy


def full_page_screenshot(page, path: Path) -> None:
    """The whole page: Streamlit scrolls inside its own containers, so grow the viewport."""
    height = page.evaluate(
        """() => Math.max(...['[data-testid=stMain]', '[data-testid=stSidebarContent]']
              .map(s => { const e = document.querySelector(s); return e ? e.scrollHeight : 0; }))"""
    )
    width = page.viewport_size["width"]
    page.set_viewport_size({"width": width, "height": int(height) + 40})
    page.wait_for_timeout(500)
    page.screenshot(path=str(path))


def test_page_loads_and_the_race_plays_by_itself(page, app_url, artifacts) -> None:
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    open_app(page, app_url)
    assert page.get_by_text("Rosenbrock").first.is_visible()
    assert page.locator("[data-testid=stException]").count() == 0
    # autoplay: the step slider advances with nobody touching anything
    page.wait_for_function(
        f"() => {_GD}._fullLayout.sliders[0].active > 5", timeout=30_000)
    assert len(heads(page)) == 4
    assert n_frames(page) <= 200
    page.screenshot(path=str(artifacts / "e2e-default.png"))
    full_page_screenshot(page, artifacts / "e2e-full-page.png")
    assert not errors, errors


def test_play_moves_the_heads_and_the_landscape_stays_coloured(page, app_url, artifacts) -> None:
    open_app(page, app_url)
    before = coloured_fraction(page, "before", artifacts)
    press(page, "Pause")
    page.wait_for_timeout(300)
    paused = heads(page)
    page.wait_for_timeout(500)
    assert heads(page) == paused, "Pause stops the heads"
    start = frame_index(page)
    press(page, "Play")
    page.wait_for_function(
        f"() => {_GD}._fullLayout.sliders[0].active !== {start}", timeout=10_000)
    page.wait_for_timeout(400)
    during = coloured_fraction(page, "during", artifacts)
    moved = heads(page)
    assert moved != paused, "Play moves the head markers"
    press(page, "4×")  # the rest of the race at four times the speed
    last = n_frames(page) - 1
    page.wait_for_function(
        f"() => {_GD}._fullLayout.sliders[0].active === {last}", timeout=60_000)
    page.wait_for_timeout(300)
    after = coloured_fraction(page, "after", artifacts)
    assert min(before, during, after) >= MIN_COLOURED, (before, during, after)


def test_click_on_the_plot_sets_the_start(page, app_url) -> None:
    open_app(page, app_url)
    press(page, "Pause")
    old = meta(page)
    # the centre of a click-grid cell, in a corner no run visits
    x, y = data_to_page(page, 1.55, -0.55)
    page.mouse.click(x, y)
    page.wait_for_function(
        f"() => {{ const gd = {_GD}; return gd && gd._fullLayout && gd._fullLayout.meta"
        f" && gd._fullLayout.meta !== '{old}'; }}", timeout=30_000)
    assert start_inputs(page) == ("1.55", "-0.55")
    starts = page.evaluate(
        f"() => {_GD}.data.filter(t => t.name === 'start').map(t => [t.x[0], t.y[0]])")
    assert starts == [[1.55, -0.55]]
    page.wait_for_function("() => location.search.includes('start=1.55%2C-0.55')"
                           " || location.search.includes('start=1.55,-0.55')", timeout=10_000)


def test_a_shared_link_reproduces_its_scene(page, app_url, artifacts) -> None:
    query = {"surface": "himmelblau", "start": "-1,4", "steps": "80", "seed": "2",
             "run": "adam:lr=0.2;sgd:lr=0.01", "color2": "00d9ff", "label2": "plain SGD"}
    open_app(page, app_url, query)
    title = page.evaluate(f"() => {_GD}._fullLayout.title.text")
    assert "Himmelblau" in title
    names = page.evaluate(
        f"() => {_GD}.data.filter(t => t.mode === 'lines+markers').map(t => t.name)")
    assert names == ["Adam (lr=0.2)", "plain SGD"]
    colours = page.evaluate(
        f"() => {_GD}.data.filter(t => t.mode === 'lines+markers').map(t => t.marker.color)")
    assert colours[1] == "#00d9ff"
    assert start_inputs(page) == ("-1", "4")
    assert page.get_by_role("spinbutton", name="steps").input_value() == "80"
    params = urllib.parse.parse_qs(urllib.parse.urlparse(page.url).query)
    assert params["surface"] == ["himmelblau"] and params["run"] == [query["run"]]
    page.screenshot(path=str(artifacts / "e2e-shared-link.png"))


@pytest.mark.parametrize("query", [{"steps": "abc", "run": "bogus"}])
def test_a_broken_link_warns_and_still_plays(page, app_url, query) -> None:
    open_app(page, app_url, query)
    assert page.locator("[data-testid=stAlertContentWarning]").count() >= 1
    assert page.locator("[data-testid=stException]").count() == 0
    page.wait_for_function(
        f"() => {_GD}._fullLayout.sliders[0].active > 0", timeout=30_000)


def test_a_scene_file_loads_mid_race_without_page_errors(page, app_url, tmp_path) -> None:
    """Replacing the figure while it animates must not leave plotly.js throwing."""
    from optviz.scene import DEFAULT_SCENARIO, Scenario

    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    open_app(page, app_url)
    page.wait_for_function(f"() => {_GD}._fullLayout.sliders[0].active > 3", timeout=30_000)
    scene = Scenario(surface="booth", starts=((-5.0, 5.0),), steps=60,
                     runs=DEFAULT_SCENARIO.runs[3:]).validated()
    path = tmp_path / "scene.json"
    path.write_bytes(b"\xef\xbb\xbf" + scene.to_json().encode())  # a BOM, as the CLI accepts
    page.get_by_text("Load a scene file", exact=True).click()
    page.locator("[data-testid=stFileUploaderDropzoneInput]").set_input_files(str(path))
    page.wait_for_function(
        f"() => {{ const gd = {_GD}; return gd && gd._fullLayout"
        " && gd._fullLayout.title.text.includes('Booth'); }", timeout=30_000)
    page.wait_for_timeout(1500)
    assert start_inputs(page) == ("-5", "5")
    assert not errors, errors[:3]


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
