"""The "Compare at scale" views in headless Chromium: a click on a point of the learning-rate
sensitivity chart loads that learning rate into the race (the sidebar, the race and the URL).
"""

from __future__ import annotations

import urllib.parse

SENSITIVITY = """() => [...document.querySelectorAll('.js-plotly-plot')].find(gd =>
    gd._fullLayout && gd._fullLayout.xaxis && gd._fullLayout.xaxis.type === 'log'
    && gd.data.some(t => t.mode === 'lines+markers' && t.customdata))"""
QUERY = {"surface": "rosenbrock", "start": "-1.5,2", "steps": "40", "seed": "0",
         "run": "sgd;momentum;rmsprop;adam"}


def test_clicking_a_sensitivity_point_races_that_learning_rate(page, app_url) -> None:
    page.goto(f"{app_url}/?{urllib.parse.urlencode(QUERY)}")
    page.wait_for_function(
        "() => { const r = document.querySelector('[data-testid=optviz-player]');"
        " return r && r.dataset.token; }", timeout=90_000)
    page.get_by_text("Compare at scale", exact=False).first.click()
    page.get_by_role("button", name="Compute the sensitivity").click()
    page.wait_for_function(f"() => !!({SENSITIVITY})()", timeout=90_000)
    page.evaluate(f"() => ({SENSITIVITY})().scrollIntoView({{block: 'center'}})")
    page.wait_for_timeout(800)
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
