r"""Colour arithmetic for run colours: sRGB ↔ linear RGB ↔ CIELAB, colour differences, a
simulation of colour-vision deficiency, and the style of each start of a run.

Pure numpy (no Streamlit, Plotly or torch). Colours are ``#rrggbb`` strings or float arrays
whose last axis holds three channels; sRGB channels are in ``[0, 1]``.

* :func:`srgb_to_linear` / :func:`linear_to_srgb`: the IEC 61966-2-1 transfer function.
* :func:`srgb_to_lab` / :func:`lab_to_srgb`: CIE 1976 L*a*b* under D65 (white → L* = 100).
* :func:`delta_e` is **CIEDE2000** (Sharma, Wu & Dalal, "The CIEDE2000 color-difference
  formula: implementation notes, supplementary test data, and mathematical observations",
  Color Research & Application 30(1), 2005), with :math:`k_L = k_C = k_H = 1`;
  :func:`delta_e76` is the plain Euclidean CIE76 distance in L*a*b*.
* :func:`simulate_cvd` simulates deuteranopia or protanopia with the matrices of Machado,
  Oliveira & Fernandes, "A Physiologically-based Model for Simulation of Color Vision
  Deficiency", IEEE Transactions on Visualization and Computer Graphics 15(6), 2009, pp.
  1291-1298, at severity 1.0, applied to linear RGB (then clipped to the gamut).
* :func:`start_style`: the marker symbol and shade of start ``i`` of a run, so that the
  starts of one run stay told apart by shape (and by lightness).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

__all__ = [
    "CVD_MATRICES",
    "START_SYMBOLS",
    "delta_e",
    "delta_e76",
    "hex_to_srgb",
    "lab_to_srgb",
    "linear_to_srgb",
    "simulate_cvd",
    "srgb_to_hex",
    "srgb_to_lab",
    "srgb_to_linear",
    "start_style",
]

# D65 reference white (CIE 1931 2°), and linear sRGB -> XYZ (IEC 61966-2-1).
_WHITE = np.array([0.95047, 1.0, 1.08883])
_RGB_TO_XYZ = np.array([
    [0.4124564, 0.3575761, 0.1804375],
    [0.2126729, 0.7151522, 0.0721750],
    [0.0193339, 0.1191920, 0.9503041],
])
_XYZ_TO_RGB = np.linalg.inv(_RGB_TO_XYZ)
_EPS = 216 / 24389  # CIE's exact constants for the cube-root branch of f(t)
_KAPPA = 24389 / 27

#: Machado, Oliveira & Fernandes (2009), severity 1.0, for linear RGB column vectors.
CVD_MATRICES: dict[str, np.ndarray] = {
    "protanopia": np.array([
        [0.152286, 1.052583, -0.204868],
        [0.114503, 0.786281, 0.099216],
        [-0.003882, -0.048116, 1.051998],
    ]),
    "deuteranopia": np.array([
        [0.367322, 0.860646, -0.227968],
        [0.280085, 0.672501, 0.047413],
        [-0.011820, 0.042940, 0.968881],
    ]),
}

#: Plotly marker symbols for the starts of one run, in order (then again from the first).
START_SYMBOLS: tuple[str, ...] = (
    "circle", "square", "diamond", "triangle-up", "cross", "x", "star-triangle-up", "hexagon",
    "triangle-down", "pentagon", "star", "hourglass",
)
#: Changes of L* tried, in order, for the shades of starts 1, 2, ... (the first four that keep
#: L* in range are used, cycling).
_SHADE_STEPS = (12.0, -12.0, 24.0, -24.0, 36.0, -36.0, 48.0, -48.0, 60.0, -60.0, 72.0, -72.0)
_N_SHADES = 4
_L_RANGE = (12.0, 80.0)  # a shade's L* stays here: dark enough to read on the light landscape


# ---------------------------------------------------------------------------- conversions


def hex_to_srgb(color: str) -> np.ndarray:
    """``#rrggbb`` (or ``#rgb``) -> sRGB floats in ``[0, 1]``; raises ``ValueError``."""
    if not isinstance(color, str):
        raise TypeError(f"color must be a '#rrggbb' string, got {type(color).__name__}")
    c = color.strip().lstrip("#")
    if len(c) == 3:
        c = "".join(ch * 2 for ch in c)
    if len(c) != 6 or any(ch not in "0123456789abcdefABCDEF" for ch in c):
        raise ValueError(f"color must be '#rrggbb', got {color!r}")
    return np.array([int(c[i : i + 2], 16) for i in (0, 2, 4)], dtype=float) / 255.0


def srgb_to_hex(rgb: Sequence[float] | np.ndarray) -> str:
    """sRGB floats (clipped to ``[0, 1]``) -> ``#rrggbb`` in lower case."""
    v = np.clip(np.round(np.asarray(rgb, dtype=float) * 255.0), 0, 255).astype(int)
    return "#" + "".join(f"{int(x):02x}" for x in v)


def _as_rgb(color: str | Sequence[float] | np.ndarray) -> np.ndarray:
    return hex_to_srgb(color) if isinstance(color, str) else np.asarray(color, dtype=float)


def srgb_to_linear(rgb: np.ndarray) -> np.ndarray:
    """The sRGB decoding function (gamma-encoded -> linear light)."""
    c = np.asarray(rgb, dtype=float)
    return np.where(c <= 0.04045, c / 12.92, ((c + 0.055) / 1.055) ** 2.4)


def linear_to_srgb(lin: np.ndarray) -> np.ndarray:
    """The sRGB encoding function (linear light -> gamma-encoded); negatives map to 0."""
    c = np.clip(np.asarray(lin, dtype=float), 0.0, None)
    return np.where(c <= 0.0031308, 12.92 * c, 1.055 * c ** (1 / 2.4) - 0.055)


def srgb_to_lab(color: str | Sequence[float] | np.ndarray) -> np.ndarray:
    """sRGB (a ``#rrggbb`` string or floats ``(..., 3)``) -> CIELAB ``(..., 3)`` under D65."""
    xyz = srgb_to_linear(_as_rgb(color)) @ _RGB_TO_XYZ.T / _WHITE
    f = np.where(xyz > _EPS, np.cbrt(xyz), (_KAPPA * xyz + 16) / 116)
    return np.stack([116 * f[..., 1] - 16, 500 * (f[..., 0] - f[..., 1]),
                     200 * (f[..., 1] - f[..., 2])], axis=-1)


def _lab_to_linear(lab: np.ndarray) -> np.ndarray:
    """CIELAB -> linear RGB, not clipped (out of gamut: below 0 or above 1)."""
    fy = (lab[..., 0] + 16) / 116
    f = np.stack([fy + lab[..., 1] / 500, fy, fy - lab[..., 2] / 200], axis=-1)
    xyz = np.where(f**3 > _EPS, f**3, (116 * f - 16) / _KAPPA) * _WHITE
    return xyz @ _XYZ_TO_RGB.T


def lab_to_srgb(lab: Sequence[float] | np.ndarray) -> np.ndarray:
    """CIELAB ``(..., 3)`` -> sRGB floats, clipped to the gamut (``[0, 1]``)."""
    return np.clip(linear_to_srgb(_lab_to_linear(np.asarray(lab, dtype=float))), 0.0, 1.0)


def _into_gamut(lab: np.ndarray) -> np.ndarray:
    """One L*a*b* colour with its chroma reduced (L* and hue kept) until sRGB can show it."""
    lab = np.asarray(lab, dtype=float).copy()
    tol = 1e-9

    def fits(scale: float) -> bool:
        lin = _lab_to_linear(np.array([lab[0], lab[1] * scale, lab[2] * scale]))
        return bool(np.all(lin >= -tol) and np.all(lin <= 1 + tol))

    if not fits(1.0):
        lo, hi = 0.0, 1.0
        for _ in range(40):
            mid = (lo + hi) / 2
            lo, hi = (mid, hi) if fits(mid) else (lo, mid)
        lab[1:] *= lo
    return lab


# ---------------------------------------------------------------------------- differences


def delta_e76(lab1: np.ndarray, lab2: np.ndarray) -> np.ndarray:
    """CIE76 ΔE*ab: the Euclidean distance in L*a*b* (broadcasts)."""
    return np.linalg.norm(np.asarray(lab1, float) - np.asarray(lab2, float), axis=-1)


def delta_e(lab1: np.ndarray, lab2: np.ndarray) -> np.ndarray:
    """CIEDE2000 ΔE00 between L*a*b* colours (broadcasts over leading axes; kL = kC = kH = 1),
    following Sharma, Wu & Dalal (2005) step by step."""
    lab1, lab2 = np.broadcast_arrays(np.asarray(lab1, float), np.asarray(lab2, float))
    L1, a1, b1 = lab1[..., 0], lab1[..., 1], lab1[..., 2]
    L2, a2, b2 = lab2[..., 0], lab2[..., 1], lab2[..., 2]
    c_bar = (np.hypot(a1, b1) + np.hypot(a2, b2)) / 2
    g = 0.5 * (1 - np.sqrt(c_bar**7 / (c_bar**7 + 25.0**7)))
    a1p, a2p = (1 + g) * a1, (1 + g) * a2
    c1p, c2p = np.hypot(a1p, b1), np.hypot(a2p, b2)
    h1p = np.degrees(np.arctan2(b1, a1p)) % 360
    h2p = np.degrees(np.arctan2(b2, a2p)) % 360
    h1p = np.where(c1p == 0, 0.0, h1p)
    h2p = np.where(c2p == 0, 0.0, h2p)
    d_l = L2 - L1
    d_c = c2p - c1p
    dh = h2p - h1p
    dh = np.where(dh > 180, dh - 360, np.where(dh < -180, dh + 360, dh))
    dh = np.where(c1p * c2p == 0, 0.0, dh)
    d_h = 2 * np.sqrt(c1p * c2p) * np.sin(np.radians(dh / 2))
    l_bar = (L1 + L2) / 2
    cp_bar = (c1p + c2p) / 2
    hsum = h1p + h2p
    h_bar = np.where(
        c1p * c2p == 0, hsum,
        np.where(np.abs(h1p - h2p) <= 180, hsum / 2,
                 np.where(hsum < 360, (hsum + 360) / 2, (hsum - 360) / 2)))
    t = (1 - 0.17 * np.cos(np.radians(h_bar - 30)) + 0.24 * np.cos(np.radians(2 * h_bar))
         + 0.32 * np.cos(np.radians(3 * h_bar + 6)) - 0.20 * np.cos(np.radians(4 * h_bar - 63)))
    d_theta = 30 * np.exp(-(((h_bar - 275) / 25) ** 2))
    r_c = 2 * np.sqrt(cp_bar**7 / (cp_bar**7 + 25.0**7))
    s_l = 1 + 0.015 * (l_bar - 50) ** 2 / np.sqrt(20 + (l_bar - 50) ** 2)
    s_c = 1 + 0.045 * cp_bar
    s_h = 1 + 0.015 * cp_bar * t
    r_t = -np.sin(np.radians(2 * d_theta)) * r_c
    return np.sqrt((d_l / s_l) ** 2 + (d_c / s_c) ** 2 + (d_h / s_h) ** 2
                   + r_t * (d_c / s_c) * (d_h / s_h))


# ---------------------------------------------------------------------------- colour vision


def simulate_cvd(color: str | Sequence[float] | np.ndarray, kind: str) -> np.ndarray:
    """sRGB as seen with ``kind`` = ``"deuteranopia"`` or ``"protanopia"`` (Machado et al.
    2009, severity 1.0: the matrix acts on linear RGB; the result is clipped to the gamut).
    ``"normal"`` returns the colour unchanged. Returns sRGB floats ``(..., 3)``."""
    rgb = _as_rgb(color)
    if kind == "normal":
        return rgb.copy()
    if kind not in CVD_MATRICES:
        raise ValueError(f"kind must be 'normal', 'deuteranopia' or 'protanopia', got {kind!r}")
    lin = srgb_to_linear(rgb) @ CVD_MATRICES[kind].T
    return linear_to_srgb(np.clip(lin, 0.0, 1.0))


# ---------------------------------------------------------------------------- starts


def start_style(color: str, start_index: int) -> tuple[str, str]:
    """``(marker symbol, colour)`` of start ``start_index`` (from 0) of a run coloured ``color``.

    Start 0 is ``("circle", color)`` unchanged. Later starts take the next symbols of
    :data:`START_SYMBOLS` (cycling) and one of four shades of ``color`` (cycling): L* changed by
    the first four of +12, -12, +24, -24, +36, ... that keep L* in [12, 80], so that shades
    stay dark enough to read on the light landscape (hue kept; chroma reduced where sRGB
    cannot show the colour at its new L*). The four shades differ from each other and from
    ``color`` by at least 12 in L*.
    """
    if isinstance(start_index, bool) or not isinstance(start_index, int | np.integer):
        raise TypeError(f"start_index must be a whole number, got {type(start_index).__name__}")
    if start_index < 0:
        raise ValueError(f"start_index must be >= 0, got {start_index}")
    symbol = START_SYMBOLS[int(start_index) % len(START_SYMBOLS)]
    if start_index == 0:
        return symbol, color
    lab = srgb_to_lab(hex_to_srgb(color))
    lo, hi = _L_RANGE
    shades = [lab[0] + d for d in _SHADE_STEPS if lo <= lab[0] + d <= hi][:_N_SHADES]
    lab[0] = shades[(int(start_index) - 1) % len(shades)]
    return symbol, srgb_to_hex(lab_to_srgb(_into_gamut(lab)))
