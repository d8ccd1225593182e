"""The plot geometry shared by figures and renderer: ticks, labels, flat ranges, far-point pull,
aspect rule; and that both drawers use it (no copies left)."""

from __future__ import annotations

import inspect
import math

import numpy as np
import pytest

import optviz.figures.landscape as landscape
import optviz.figures.player as player
import optviz.render as render
from optviz.geometry import (
    FAR,
    equal_aspect,
    nice_ticks,
    padded_range,
    pull_far,
    tick_labels,
)


@pytest.mark.parametrize(("lo", "hi", "n", "want"), [
    (0.0, 1.0, 5, [0.0, 0.2, 0.4, 0.6, 0.8, 1.0]),
    (-5.0, 5.0, 5, [-4.0, -2.0, 0.0, 2.0, 4.0]),
    (-2.0, 2.0, 4, [-2.0, -1.0, 0.0, 1.0, 2.0]),
    (-7.3, -2.1, 5, [-6.0, -4.0]),  # negative range, step 2
    (-32.768, 32.768, 5, [-20.0, 0.0, 20.0]),
    (0.0, 10.0, 4, [0.0, 2.5, 5.0, 7.5, 10.0]),
    (1e-300, 3e-300, 4, [1e-300, 1.5e-300, 2e-300, 2.5e-300, 3e-300]),  # tiny
    (-1e308, 1e308, 4, [-1e308, -5e307, 0.0, 5e307, 1e308]),  # the span overflows float64
    (1e16, 1e16, 5, [1e16]),  # flat
    (1e16, 1e16 + 2, 5, [1e16]),  # narrower than float64's resolution there
    (5.0, 5.0, 5, [5.0]),
    (3.0, 1.0, 2, [1.0, 2.0, 3.0]),  # reversed ends
])
def test_nice_ticks(lo, hi, n, want) -> None:
    ticks = nice_ticks(lo, hi, n)
    np.testing.assert_allclose(ticks, want, rtol=1e-12, atol=0)
    assert np.all(np.diff(ticks) > 0) and not np.signbit(ticks[ticks == 0]).any()


def test_nice_ticks_bounded_and_inside_for_many_ranges() -> None:
    """Any finite range gives 1 .. 2n + 1 distinct round ticks inside it (within rounding)."""
    rng = np.random.default_rng(1)
    for _ in range(2000):
        centre = rng.choice([0.0, 1.0, -1.0]) * 10.0 ** rng.uniform(-300, 300)
        lo, hi = np.sort(centre + rng.normal(size=2) * 10.0 ** rng.uniform(-320, 300))
        if not (np.isfinite(lo) and np.isfinite(hi)):
            continue
        n = int(rng.integers(1, 12))
        ticks = nice_ticks(lo, hi, n)
        assert 1 <= len(ticks) <= 2 * n + 1 and len(np.unique(ticks)) == len(ticks)
        slack = 1e-6 * (hi - lo) + 8 * np.spacing(max(abs(lo), abs(hi)))
        assert ticks[0] >= lo - slack and ticks[-1] <= hi + slack


def test_nice_ticks_of_non_finite_ranges_are_empty() -> None:
    for lo, hi in ((0.0, math.inf), (-math.inf, 0.0), (math.nan, 1.0)):
        assert nice_ticks(lo, hi).size == 0


def test_tick_labels_tell_ticks_apart_with_few_digits() -> None:
    assert tick_labels([-4.0, -2.0, 0.0, 2.0]) == ["-4", "-2", "0", "2"]
    assert tick_labels([-0.0]) == ["0"]
    assert tick_labels([1e16, 1e16 + 2, 1e16 + 4]) == [
        "10000000000000000", "10000000000000002", "10000000000000004"]
    assert tick_labels([1e16, 2e16]) == ["1e+16", "2e+16"]
    assert tick_labels([0.123456789], 6) == ["0.123457"]


def test_padded_range_has_width_at_every_magnitude() -> None:
    assert padded_range(1.0, 2.0) == (1.0, 2.0)
    assert padded_range(3.0, 3.0) == (2.5, 3.5)
    for v in (0.0, 1e16, -1e16, 1e300, 5e-324, 1.7e308):
        lo, hi = padded_range(v, v)
        assert lo < v < hi and np.isfinite([lo, hi]).all()


def test_pull_far_keeps_near_points_and_pulls_far_ones_onto_their_ray() -> None:
    xr, yr = (-5.0, 5.0), (0.0, 4.0)  # centre (0, 2), spans (10, 4)
    xy = np.array([[3.0, 1.0], [1e9, 2.0], [0.0, -1e12], [1e9, 2.0 + 4e8], [np.nan, 0.0],
                   [np.inf, 2.0], [-np.inf, np.inf]])
    out = pull_far(xy, xr, yr)
    assert out[0].tolist() == [3.0, 1.0] and np.isnan(out[4, 0])
    np.testing.assert_allclose(out[1], [FAR * 10, 2.0])
    np.testing.assert_allclose(out[2], [0.0, 2.0 - FAR * 4])
    np.testing.assert_allclose(out[3], [FAR * 10, 2.0 + FAR * 4])  # the diagonal ray
    np.testing.assert_allclose(out[5], [FAR * 10, 2.0])
    np.testing.assert_allclose(out[6], [-FAR * 10, 2.0 + FAR * 4])
    ray = (xy[1:4] - [0.0, 2.0]) / [10.0, 4.0]
    pulled = (out[1:4] - [0.0, 2.0]) / [10.0, 4.0]
    cross = ray[:, 0] * pulled[:, 1] - ray[:, 1] * pulled[:, 0]  # parallel: same ray
    np.testing.assert_allclose(cross / (1e9 * FAR), 0.0, atol=1e-12)
    assert (np.sign(ray) == np.sign(pulled)).all()
    assert pull_far(np.zeros((0, 2)), xr, yr).shape == (0, 2)


def test_equal_aspect_rule() -> None:
    assert equal_aspect((-5, 5), (-5, 5)) and equal_aspect((0, 1), (0, 2))
    assert equal_aspect((0, 2), (0, 1)) and not equal_aspect((0, 1), (0, 2.01))
    assert not equal_aspect((-8, 8), (-1, 1)) and not equal_aspect((0, 0), (0, 1))


def test_figures_and_renderer_share_the_geometry() -> None:
    """No tick, pull or aspect code of their own left in the drawers."""
    for module in (player, landscape, render):
        source = inspect.getsource(module)
        assert "_nice_ticks" not in source and "_FAR" not in source
        assert "0.5 <=" not in source and "10 ** np.floor" not in source
    assert render.nice_ticks is nice_ticks and landscape.nice_ticks is nice_ticks
    assert player.pull_far is pull_far is render.pull_far
    assert player.equal_aspect is equal_aspect is render.default_equal_aspect
