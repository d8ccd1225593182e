"""The "Compare at scale" views in headless Chromium: a click on a point of the learning-rate
sensitivity chart loads that learning rate into the race (the sidebar, the race and the URL).
"""

from __future__ import annotations

from tests.e2e.app_page import open_app, settle

SENSITIVITY = """() => [...document.querySelectorAll('.js-plotly-plot')].find(gd =>
    gd._fullLayout && gd._fullLayout.xaxis && gd._fullLayout.xaxis.type === 'log'
    && gd.data.some(t => t.mode === 'lines+markers' && t.customdata))"""
QUERY = {"surface": "rosenbrock", "start": "-1.5,2", "steps": "40", "seed": "0",
         "run": "sgd;momentum;rmsprop;adam"}


def open_compare(page) -> None:
    """Open "Compare at scale" and wait for the run that builds its views to end: a button
    clicked while that run still draws can be replaced under the click (CI once lost the
    start cloud's click that way)."""
    page.get_by_text("Compare at scale", exact=False).first.click()
    page.get_by_role("tab", name="Basins").wait_for()
    settle(page)


def test_clicking_a_sensitivity_point_races_that_learning_rate(page, app_url) -> None:
    open_app(page, app_url, QUERY)
    open_compare(page)
    page.get_by_role("button", name="Compute the sensitivity").click()
    page.wait_for_function(f"() => !!({SENSITIVITY})()", timeout=90_000)
    settle(page)
    page.evaluate(f"() => ({SENSITIVITY})().scrollIntoView({{block: 'center'}})")
    # the chart's place and plot area stay put for 300 ms: laid out, safe to click
    page.wait_for_function(f"""() => new Promise(done => {{
        const at = () => JSON.stringify([({SENSITIVITY})().getBoundingClientRect(),
                                         ({SENSITIVITY})()._fullLayout._size]);
        const a = at(); setTimeout(() => done(at() === a), 300); }})""", timeout=30_000)
    # Adam's curve (run 4), the grid point with lr 0.1 (not its current 0.05)
    target = page.evaluate(f"""() => {{
        const gd = ({SENSITIVITY})();
        const t = gd._fullData.find(t => t.mode === 'lines+markers' && t.customdata
                                         && t.customdata[0][0] === 3);
        const xs = Array.from(t.x), ys = Array.from(t.y);
        let best = 0;
        xs.forEach((x, i) => {{ if (Math.abs(Math.log(x / 0.1)) <
                                    Math.abs(Math.log(xs[best] / 0.1))) best = i; }});
        const r = gd.getBoundingClientRect(), L = gd._fullLayout;
        return [r.left + L.xaxis._offset + L.xaxis.c2p(xs[best]),
                r.top + L.yaxis._offset + L.yaxis.c2p(ys[best]), xs[best]];
    }}""")
    x, y, lr = target
    page.mouse.click(x, y)
    expected = f"adam:lr={lr:g}"
    page.wait_for_function(
        f"() => decodeURIComponent(location.search).includes('{expected}')", timeout=30_000)
    # the sidebar shows it, and the chart stayed on screen (its key does not hold the lr)
    assert page.evaluate(f"() => !!({SENSITIVITY})()")


CLOUD = "[data-testid=optviz-player][data-mode=cloud]"


def test_start_cloud_plays_in_the_race_player(page, app_url, artifacts) -> None:
    page.set_viewport_size({"width": 1366, "height": 768})
    open_app(page, app_url, QUERY)
    open_compare(page)
    page.get_by_role("tab", name="Basins").click()
    page.get_by_role("button", name="Race the start cloud").click()
    page.wait_for_selector(f"{CLOUD} .ovp-race .main-svg", timeout=90_000)
    cloud = page.locator(CLOUD)
    cloud.scroll_into_view_if_needed()
    # one cloud trace of the default 1,000 starts, at frame 0 of steps 0..40
    n = page.evaluate(f"""() => document.querySelector('{CLOUD} .ovp-race').data
        .filter(t => t.uid === 'cloud').map(t => t.x.length)""")
    assert n == [1000]
    assert cloud.get_attribute("data-step") == "0"
    assert "step 0 / 40" in cloud.locator(".ovp-readout").inner_text()
    # no Plotly frames anywhere on the page
    assert page.evaluate("""() => [...document.querySelectorAll('.js-plotly-plot')]
        .every(gd => !gd._transitionData || !gd._transitionData._frames.length)""")
    page.wait_for_timeout(500)
    page.screenshot(path=str(artifacts / "cloud-app-0.png"))
    cloud.locator(".ovp-play").click()
    page.wait_for_function(f"() => +document.querySelector('{CLOUD}').dataset.step >= 8",
                           timeout=20_000)
    cloud.locator(".ovp-play").click()
    page.wait_for_function(f"() => document.querySelector('{CLOUD}').dataset.playing === '0'")
    j = int(cloud.get_attribute("data-step"))
    page.wait_for_timeout(300)
    assert int(cloud.get_attribute("data-step")) == j
    assert cloud.get_attribute("data-frame-step") == str(j)  # 40 steps: every step a frame
    page.screenshot(path=str(artifacts / "cloud-app-playing.png"))
    # the race above is still the race
    assert page.locator("[data-testid=optviz-player][data-mode=race]").count() == 1
