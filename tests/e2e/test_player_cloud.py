"""The race player's start-cloud mode (optviz/web/player.js with a ``cloud_payload``) alone in
headless Chromium, no Streamlit: it plays over the frames, pauses, steps, shows each frame's
optimizer step, draws exactly the payload's positions, and edits no starts.

A small page loads plotly.min.js, player.css and player.js from disk; the test fails on any
page or console error. Uses ``conftest.py``'s ``open_player`` page (and its skip logic).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from optviz.figures import Landscape
from optviz.figures.cloud import cloud_frames, cloud_payload

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "artifacts"


def _land() -> Landscape:
    xs, ys = np.linspace(-2.0, 2.0, 120), np.linspace(-1.0, 3.0, 120)
    mx, my = np.meshgrid(xs, ys)
    return Landscape(xs=xs, ys=ys, z=(1 - mx) ** 2 + 5 * (my - mx**2) ** 2, log_scale=True,
                     title="Valley", minima=((1.0, 1.0),), minimum_value=0.0)


def _cloud(n: int = 3000, frames: int = 41, steps: int = 200) -> tuple[np.ndarray, list[int]]:
    """Particles drifting from uniform starts towards (1, 1); a tenth diverge half way."""
    rng = np.random.default_rng(0)
    start = np.column_stack([rng.uniform(-2, 2, n), rng.uniform(-1, 3, n)])
    t = np.linspace(0, 1, frames)[:, None, None]
    xy = start[None] * (1 - t) + np.array([1.0, 1.0]) * t
    xy[frames // 2:, : n // 10] = np.nan
    return xy, [round(v) for v in np.linspace(0, steps, frames)]


def _step(page) -> int:
    return int(page.get_attribute("#root", "data-step"))


_CLOUD_XY = """() => { const d = document.querySelector('.ovp-race');
    const t = d.data.find(t => t.uid === 'cloud');
    return [Array.from(t.x, v => Number.isNaN(v) ? null : v),
            Array.from(t.y, v => Number.isNaN(v) ? null : v)]; }"""


def _drawn(page) -> np.ndarray:
    x, y = page.evaluate(_CLOUD_XY)
    return np.column_stack([np.array(x, dtype=float), np.array(y, dtype=float)])


def test_cloud_plays_pauses_and_draws_the_payloads_frames(open_player, artifacts) -> None:
    xy, steps = _cloud()
    payload = cloud_payload(_land(), xy, steps, "#d62728", "Adam (lr=0.05)")
    frames = cloud_frames(payload)
    page = open_player(payload, width=1366, height=768)
    root = "#root"
    assert page.get_attribute(root, "data-mode") == "cloud"
    assert _step(page) == 0 and page.get_attribute(root, "data-playing") == "0"
    assert page.get_attribute(root, "data-frame-step") == "0"
    # no loss chart, no 3D button, no loss-mode button; the cloud is one scattergl trace
    for sel in (".ovp-side", ".ovp-3d", ".ovp-lossmode"):
        assert not page.is_visible(sel), sel
    types = page.evaluate("() => document.querySelector('.ovp-race').data.map(t => t.type)")
    assert types.count("scattergl") == 1
    np.testing.assert_allclose(_drawn(page), frames[0], rtol=0, atol=1e-6)
    page.screenshot(path=str(artifacts / "cloud-standalone-0.png"))

    # Play: data-step (the frame index) advances, the readout names the optimizer step
    page.click(".ovp-play")
    page.wait_for_function("() => +document.getElementById('root').dataset.step >= 5",
                           timeout=10_000)
    page.click(".ovp-play")  # pause
    page.wait_for_function("() => document.getElementById('root').dataset.playing === '0'")
    j = _step(page)
    page.wait_for_timeout(400)
    assert _step(page) == j and 5 <= j < payload["steps"]
    assert page.get_attribute(root, "data-frame-step") == str(steps[j])
    assert f"step {steps[j]} / {steps[-1]}" in page.inner_text(".ovp-readout")
    np.testing.assert_allclose(_drawn(page), frames[j], rtol=0, atol=1e-6)

    # ±1 and the keys move over frames; past the middle the diverged tenth is gone (NaN)
    page.click(".ovp-fwd")
    assert _step(page) == j + 1
    page.focus(root)
    page.keyboard.press("End")
    last = payload["steps"]
    assert _step(page) == last == len(steps) - 1
    drawn = _drawn(page)
    np.testing.assert_allclose(drawn, frames[last], rtol=0, atol=1e-6)
    assert np.isnan(drawn[: len(xy[0]) // 10]).all() and np.isfinite(drawn[len(xy[0]) // 10:]).all()
    assert np.abs(drawn[-1] - xy[last, -1]).max() < 1e-4  # the grid is far finer than a pixel
    page.keyboard.press("ArrowLeft")
    assert _step(page) == last - 1
    page.screenshot(path=str(artifacts / "cloud-standalone-end.png"))

    # a click on the plot edits no start
    box = page.locator(".ovp-race").bounding_box()
    page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    page.wait_for_timeout(200)
    assert page.evaluate("() => window.__events.length") == 0

    # Play at the end restarts from frame 0 and plays to the end
    page.keyboard.press("End")
    page.click(".ovp-play")
    page.wait_for_function("() => document.getElementById('root').dataset.playing === '0'",
                           timeout=20_000)
    assert _step(page) == last


def test_update_to_another_cloud_starts_at_its_first_frame(open_player) -> None:
    xy, steps = _cloud(n=500, frames=11, steps=50)
    first = cloud_payload(_land(), xy, steps, "#1f77b4", "SGD")
    page = open_player(first, width=1366, height=768)
    page.keyboard.press("End")
    xy2, steps2 = _cloud(n=800, frames=21, steps=100)
    second = cloud_payload(_land(), xy2, steps2, "#2ca02c", "Adam")
    page.evaluate("p => window.__player.update(p)", second)
    assert _step(page) == 0
    assert page.get_attribute("#root", "data-token") == second["token"]
    page.evaluate("() => window.__player.seek(7)")
    np.testing.assert_allclose(_drawn(page), cloud_frames(second)[7], rtol=0, atol=1e-6)
