r"""Plot geometry shared by the Plotly figures and the Pillow renderer: pure numpy.

* :func:`nice_ticks` and :func:`tick_labels`: round tick values :math:`k\,s` with
  :math:`s \in \{1, 2, 2.5, 5\} \cdot 10^m` (Heckbert, "Nice numbers for graph labels",
  *Graphics Gems*, 1990), safe for flat, tiny, huge and negative ranges, and labels with just
  enough digits to tell them apart.
* :func:`padded_range`: a range of positive width at any magnitude (a flat colour scale).
* :func:`pull_far`: points far outside the window moved towards it along their ray from the
  window's centre, so that a diverging path still points the right way when drawn.
* :func:`equal_aspect`: the rule for drawing one unit as long on both axes.
"""

from __future__ import annotations

import math

import numpy as np

__all__ = [
    "FAR",
    "MAX_ASPECT",
    "equal_aspect",
    "nice_ticks",
    "padded_range",
    "pull_far",
    "tick_labels",
]

#: Points farther than this many window spans from the window's centre are pulled in (drawing).
FAR = 50.0
#: Equal aspect by default while the window's height / width lies in [1/MAX_ASPECT, MAX_ASPECT].
MAX_ASPECT = 2.0
_STEPS = (1.0, 2.0, 2.5, 5.0, 10.0)


def nice_ticks(lo: float, hi: float, n: int = 5) -> np.ndarray:
    r"""About ``n`` round values in ``[lo, hi]`` (ends included within rounding), increasing.

    The step is the smallest :math:`\{1, 2, 2.5, 5, 10\} \cdot 10^m` at least
    :math:`(hi - lo) / n` and at least a few float64 spacings at the range's magnitude, so the
    ticks are distinct numbers. A flat range (``hi <= lo``, or narrower than that resolution, as
    ``[1e16, 1e16 + 1]``) has the one tick ``lo``; a non-finite end gives none. A tick within
    rounding of 0 is exactly 0.0 (never printed as "-0").
    """
    lo, hi = float(lo), float(hi)
    if not (math.isfinite(lo) and math.isfinite(hi)):
        return np.zeros(0)
    if hi < lo:
        lo, hi = hi, lo
    n = max(int(n), 1)
    resolution = 4.0 * float(np.spacing(max(abs(lo), abs(hi))))
    raw = max(hi / n - lo / n, resolution)  # hi / n - lo / n: no overflow at ±1.8e308
    if hi - lo <= resolution:
        return np.array([lo + 0.0])
    mag = 10.0 ** math.floor(math.log10(raw))
    ladder = [s * mag for s in _STEPS[::-1]] + [s * mag / 10 for s in _STEPS[-2::-1]]
    nice = min(s for s in ladder if s >= raw * (1 - 1e-12))
    for step in (s for s in ladder if s <= nice):  # finer if no multiple of it lies inside
        first, last = math.ceil(lo / step - 1e-9), math.floor(hi / step + 1e-9)
        if last >= first:
            ticks = (first + np.arange(last - first + 1)) * step
            return np.where(np.abs(ticks) < step * 1e-9, 0.0, ticks) + 0.0
    return np.array([lo + 0.0])


def tick_labels(values: np.ndarray | list[float], digits: int = 4) -> list[str]:
    """``%g`` labels with at least ``digits`` significant digits and as many more (up to 17)
    as it takes to tell the values apart: ``1e16`` and ``1e16 + 2`` read ``10000000000000000``
    and ``10000000000000002``, not twice ``1e+16``."""
    vals = [float(v) + 0.0 for v in values]  # + 0.0: -0.0 prints as "0"
    for d in range(max(1, digits), 18):
        labels = [f"{v:.{d}g}" for v in vals]
        if len(set(labels)) == len(set(vals)):
            break
    return labels


def padded_range(lo: float, hi: float, pad: float = 0.5) -> tuple[float, float]:
    """``(lo, hi)`` if ``hi > lo``, else widened about them by ``pad``, or by a few float64
    spacings where ``pad`` is below the resolution at that magnitude (``1e16 ± 0.5`` is
    ``1e16``): the result always has ``hi > lo`` for finite input."""
    lo, hi = float(lo), float(hi)
    if hi > lo:
        return lo, hi
    pad = max(pad, 4.0 * float(np.spacing(max(abs(lo), abs(hi)))))
    return lo - pad, hi + pad


def pull_far(xy: np.ndarray, x_range: tuple[float, float], y_range: tuple[float, float],
             far: float = FAR) -> np.ndarray:
    r"""``xy`` (``(m, 2)``) with each point more than ``far`` window spans from the centre
    :math:`c` moved onto that distance along its ray: with :math:`r = (p - c) / \mathrm{span}`,
    :math:`p' = c + r \cdot \mathrm{far} / \|r\|_\infty \cdot \mathrm{span}`. Nearer points are
    unchanged (bitwise); an infinite coordinate points along its axis; NaN rows stay NaN."""
    (x0, x1), (y0, y1) = x_range, y_range
    c = np.array([(x0 + x1) / 2, (y0 + y1) / 2])
    span = np.array([x1 - x0, y1 - y0], dtype=float)
    xy = np.asarray(xy, dtype=float).reshape(-1, 2)
    with np.errstate(invalid="ignore", over="ignore"):
        rel = np.clip((xy - c) / span, -1e300, 1e300)  # inf -> huge, NaN stays
        r = np.max(np.abs(rel), axis=1, initial=0.0)
        pulled = c + rel * (far / np.maximum(r, far))[:, None] * span
    return np.where((r > far)[:, None], pulled, xy)


def equal_aspect(x_range: tuple[float, float], y_range: tuple[float, float]) -> bool:
    """Draw one unit as long on both axes? Yes while the window's height / width is within
    ``1 / MAX_ASPECT .. MAX_ASPECT`` (1:2 .. 2:1); a longer window gets a fixed plot shape."""
    width, height = x_range[1] - x_range[0], y_range[1] - y_range[0]
    if not (width > 0 and height > 0):
        return False
    return 1.0 / MAX_ASPECT <= height / width <= MAX_ASPECT
