"""optviz.palette: colour conversions, CIEDE2000, colour-vision simulation, start styles, and
the run PALETTE's distinctness (normal vision, deuteranopia, protanopia)."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from optviz.figures.landscape import _lut
from optviz.palette import (
    START_SYMBOLS,
    delta_e,
    delta_e76,
    hex_to_srgb,
    lab_to_srgb,
    linear_to_srgb,
    simulate_cvd,
    srgb_to_hex,
    srgb_to_lab,
    srgb_to_linear,
    start_style,
)
from optviz.scene import PALETTE

KINDS = ("normal", "deuteranopia", "protanopia")
# The stated minima of PALETTE's comment (CIEDE2000), a little rounded down.
MIN_PAIR = {"normal": 28.5, "deuteranopia": 20.0, "protanopia": 20.0}
MIN_LANDSCAPE = {"normal": 19.0, "deuteranopia": 10.5, "protanopia": 10.5}
MIN_WHITE = {"normal": 31.0, "deuteranopia": 28.0, "protanopia": 28.0}


# ---------------------------------------------------------------------------- conversions


def test_lab_reference_values():
    assert srgb_to_lab("#ffffff") == pytest.approx([100.0, 0.0, 0.0], abs=1e-3)
    assert srgb_to_lab("#000000") == pytest.approx([0.0, 0.0, 0.0], abs=1e-9)
    # sRGB primaries under D65 (as e.g. Bruce Lindbloom's calculator gives them)
    assert srgb_to_lab("#ff0000") == pytest.approx([53.24, 80.09, 67.20], abs=0.02)
    assert srgb_to_lab("#00ff00") == pytest.approx([87.73, -86.18, 83.18], abs=0.02)
    assert srgb_to_lab("#0000ff") == pytest.approx([32.30, 79.19, -107.86], abs=0.02)
    assert srgb_to_lab("#808080")[0] == pytest.approx(53.59, abs=0.02)


def test_transfer_function_and_round_trips():
    assert srgb_to_linear(np.array([0.0, 0.04045, 0.5, 1.0])) == pytest.approx(
        [0.0, 0.04045 / 12.92, 0.214041, 1.0], abs=1e-6)
    rng = np.random.default_rng(0)
    rgb = rng.random((200, 3))
    assert linear_to_srgb(srgb_to_linear(rgb)) == pytest.approx(rgb, abs=1e-12)
    assert lab_to_srgb(srgb_to_lab(rgb)) == pytest.approx(rgb, abs=1e-6)
    assert srgb_to_hex(hex_to_srgb("#12abEF")) == "#12abef"
    assert hex_to_srgb("#f00") == pytest.approx([1.0, 0.0, 0.0])
    with pytest.raises(ValueError, match="color"):
        hex_to_srgb("#12345g")


# Sharma, Wu & Dalal (2005), Table 1: pairs 1, 7, 13, 17, 19, 25 and 34.
SHARMA = [
    ((50.0, 2.6772, -79.7751), (50.0, 0.0, -82.7485), 2.0425),
    ((50.0, 0.0, 0.0), (50.0, -1.0, 2.0), 2.3669),
    ((50.0, 2.4900, -0.0010), (50.0, -2.4900, 0.0011), 7.2195),
    ((50.0, 2.5, 0.0), (56.0, -27.0, -3.0), 31.9030),
    ((50.0, 2.5, 0.0), (50.0, 3.1736, 0.5854), 1.0000),
    ((60.2574, -34.0099, 36.2677), (60.4626, -34.1751, 39.4387), 1.2644),
    ((2.0776, 0.0795, -1.1350), (0.9033, -0.0636, -0.5514), 0.9082),
]


@pytest.mark.parametrize(("lab1", "lab2", "expected"), SHARMA)
def test_ciede2000_matches_sharma_et_al(lab1, lab2, expected):
    assert float(delta_e(lab1, lab2)) == pytest.approx(expected, abs=1e-4)
    assert float(delta_e(lab2, lab1)) == pytest.approx(expected, abs=1e-4)  # symmetric


def test_ciede2000_broadcasts_and_cie76_is_euclidean():
    lab1 = np.array([p[0] for p in SHARMA])
    lab2 = np.array([p[1] for p in SHARMA])
    assert delta_e(lab1, lab2) == pytest.approx([p[2] for p in SHARMA], abs=1e-4)
    assert float(delta_e76([50, 0, 0], [53, 4, 0])) == pytest.approx(5.0)


def test_cvd_matrices_map_greys_to_greys():
    greys = np.linspace(0, 1, 11)[:, None].repeat(3, axis=1)
    for kind in ("deuteranopia", "protanopia"):
        sim = simulate_cvd(greys, kind)
        assert sim == pytest.approx(greys, abs=2e-6), kind
    assert simulate_cvd("#ff0000", "normal") == pytest.approx([1.0, 0.0, 0.0])
    # red and green, far apart for normal vision, come close without M or L cones
    red, green = srgb_to_lab("#d62728"), srgb_to_lab("#2ca02c")
    assert delta_e(red, green) > 60
    for kind in ("deuteranopia", "protanopia"):
        seen = [srgb_to_lab(simulate_cvd(c, kind)) for c in ("#d62728", "#2ca02c")]
        assert delta_e(*seen) < 25, kind
    with pytest.raises(ValueError, match="kind"):
        simulate_cvd("#ff0000", "tritanopia")


# ---------------------------------------------------------------------------- the palette


def _seen(colors: np.ndarray, kind: str) -> np.ndarray:
    return srgb_to_lab(simulate_cvd(colors, kind))


@pytest.mark.parametrize("kind", KINDS)
def test_palette_pairs_are_distinct(kind):
    assert len(PALETTE) == 8 and len(set(PALETTE)) == 8
    labs = _seen(np.array([hex_to_srgb(c) for c in PALETTE]), kind)
    worst = min(float(delta_e(a, b)) for a, b in itertools.combinations(labs, 2))
    assert worst >= MIN_PAIR[kind], (kind, worst)


@pytest.mark.parametrize("kind", KINDS)
def test_palette_stays_off_the_landscape_and_white(kind):
    labs = _seen(np.array([hex_to_srgb(c) for c in PALETTE]), kind)
    land = _seen(_lut("Viridis", 0.45) / 255.0, kind)  # the landscape's exact 255 colours
    to_land = delta_e(labs[:, None, :], land[None, :, :]).min(axis=1)
    assert to_land.min() >= MIN_LANDSCAPE[kind], (kind, to_land.round(1))
    to_white = delta_e(labs, _seen(np.ones(3), kind))
    assert to_white.min() >= MIN_WHITE[kind], (kind, to_white.round(1))


def test_the_old_palette_would_fail_under_deuteranopia():
    """The reported problem: blue, cyan and lilac of the old palette were near-identical."""
    old = np.array([hex_to_srgb(c) for c in ("#0057ff", "#00d9ff", "#b39dff", "#ff4fd8")])
    labs = _seen(old, "deuteranopia")
    assert min(float(delta_e(a, b)) for a, b in itertools.combinations(labs, 2)) < 10


# ---------------------------------------------------------------------------- start styles


@pytest.mark.parametrize("color", [*PALETTE, "#ffffff", "#000000", "#123456"])
def test_start_styles(color):
    assert start_style(color, 0) == ("circle", color)
    styles = [start_style(color, i) for i in range(8)]
    assert len({s for s, _ in styles}) == 8  # eight starts, eight shapes
    assert [s for s, _ in styles] == list(START_SYMBOLS[:8])
    base = srgb_to_lab(color)
    shades = [srgb_to_lab(c) for _, c in styles[1:5]]
    for lab in shades:  # a shade of the same colour: lighter or darker, readable
        assert 11.5 <= lab[0] <= 80.5
        assert abs(lab[0] - base[0]) >= 11.5
    assert len({c for _, c in styles[1:5]}) == 4
    assert start_style(color, len(START_SYMBOLS))[0] == "circle"  # symbols cycle


def test_start_style_arguments():
    with pytest.raises(ValueError, match="start_index"):
        start_style("#ff0000", -1)
    with pytest.raises(TypeError, match="start_index"):
        start_style("#ff0000", 1.0)
    with pytest.raises(ValueError, match="color"):
        start_style("red", 1)
