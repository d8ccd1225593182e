"""The start cloud's player payload (:func:`optviz.figures.cloud.cloud_payload`): shape, NaN for
diverged particles, each frame's step, the race's base reused, and its size for 10,000
starts."""

from __future__ import annotations

import json

import numpy as np
import pytest

from optviz.figures import Landscape, Track, race_payload
from optviz.figures.cloud import MAX_CLOUD_CODES, MISSING, cloud_frames, cloud_payload
from optviz.ui.compare import CLOUD_FRAMES, MAX_CLOUD


def _land() -> Landscape:
    xs, ys = np.linspace(-2.0, 2.0, 60), np.linspace(-1.0, 3.0, 50)
    mx, my = np.meshgrid(xs, ys)
    return Landscape(xs=xs, ys=ys, z=(1 - mx) ** 2 + 5 * (my - mx**2) ** 2, title="Valley",
                     minima=((1.0, 1.0),), minimum_value=0.0)


def _xy(frames: int, n: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return np.stack([rng.uniform(-2, 2, (frames, n)), rng.uniform(-1, 3, (frames, n))], axis=-1)


def test_shape_steps_nan_for_diverged_and_grid_precision() -> None:
    xy = _xy(5, 40)
    xy[3:, 7] = np.nan  # particle 7 diverged after frame 2
    xy[4, 9] = (50.0, -80.0)  # far outside the window: on the grid's edge
    steps = [0, 5, 10, 15, 20]
    p = cloud_payload(_land(), xy, steps, "#d62728", "Adam")
    c = p["cloud"]
    assert (c["frames"], c["particles"], c["steps"]) == (5, 40, steps)
    assert p["steps"] == 4 and p["initial_step"] == 0 and p["tracks"] == []
    assert c["alive"] == [40, 40, 40, 39, 39] and c["xy"]["dtype"] == "u2"
    assert c["color"] == "#d62728" and c["label"] == "Adam"
    got = cloud_frames(p)
    assert got.shape == (5, 40, 2)
    assert np.isnan(got[3:, 7]).all() and np.isfinite(got[:3, 7]).all()
    inside = np.isfinite(xy).all(axis=2)
    inside[4, 9] = False
    # one grid step is 3 / 65534 of the window: within half of it everywhere in the window
    assert np.abs(got - xy)[inside].max() <= 0.5 * 3 * 4 / 65534 + 1e-12
    assert got[4, 9, 0] == pytest.approx(2.0 + 4.0) and got[4, 9, 1] == pytest.approx(-1 - 4.0)
    assert np.count_nonzero(np.isnan(got)) == 2 * 2  # only the diverged particle
    text = json.dumps(p, allow_nan=False)  # plain JSON, and no Plotly animation in it
    assert '"updatemenus"' not in text and '"sliders"' not in text
    assert MISSING == 65535


def test_bad_shapes_raise() -> None:
    for xy, steps in ((np.zeros((3, 4)), [0, 1, 2]), (np.zeros((3, 4, 2)), [0, 1]),
                      (np.zeros((0, 4, 2)), [])):
        with pytest.raises(ValueError):
            cloud_payload(_land(), xy, steps, "#000", "x")


def test_the_race_base_is_reused_and_tokens_follow_the_data() -> None:
    land = _land()
    t = np.linspace(0, 1, 11)[:, None]
    path = np.hstack([-1.5 + 2.5 * t, 2 - t])
    race = race_payload(land, [Track(label="SGD", color="#1f77b4", xy=path,
                                     loss=np.ones(11), diverged_at=-1)], None)
    xy = _xy(3, 20)
    p = cloud_payload(land, xy, [0, 5, 10], "#1f77b4", "SGD", race=race)
    assert p["base"] is race["base"] and p["base_token"] == race["base_token"]
    own = cloud_payload(land, xy, [0, 5, 10], "#1f77b4", "SGD")
    assert own["base_token"] != "" and own["base"]["layout"]["images"]
    again = cloud_payload(land, xy, [0, 5, 10], "#1f77b4", "SGD")
    assert again["token"] == own["token"]
    other = cloud_payload(land, _xy(3, 20, seed=1), [0, 5, 10], "#1f77b4", "SGD")
    assert other["token"] != own["token"] and other["base_token"] == own["base_token"]


def test_ten_thousand_starts_stay_under_four_megabytes() -> None:
    frames = CLOUD_FRAMES + 1
    xy = _xy(frames, MAX_CLOUD).astype(np.float32)
    steps = [round(v) for v in np.linspace(0, 5000, frames)]
    p = cloud_payload(_land(), xy, steps, "#d62728", "Adam")
    assert p["cloud"]["frames"] == frames  # all kept at the app's largest cloud
    size = len(json.dumps(p["cloud"]))
    assert size <= 4 * 10**6, size
    assert len(p["cloud"]["xy"]["b64"]) == 4 * -(-frames * MAX_CLOUD * 2 * 2 // 3)


def test_frames_beyond_the_bound_are_thinned_keeping_first_and_last() -> None:
    n = 20_000
    frames = MAX_CLOUD_CODES // (2 * n) + 30
    xy = _xy(frames, n)
    steps = list(range(0, 10 * frames, 10))
    p = cloud_payload(_land(), xy, steps, "#000", "x")
    c = p["cloud"]
    assert c["frames"] * c["particles"] * 2 <= MAX_CLOUD_CODES
    assert c["steps"][0] == 0 and c["steps"][-1] == steps[-1]
    assert c["steps"] == sorted(set(c["steps"]))
    j = c["steps"].index(steps[-1])
    assert np.abs(cloud_frames(p)[j] - xy[-1]).max() < 1e-3
