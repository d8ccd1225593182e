r"""The loss landscape drawn so that it survives plotly.js frame animations.

plotly.js removes contour and heatmap traces from the plot once a frame animation starts
(plotly.js issues #4491 and #4596). So the filled landscape is a server-side PNG placed in
``layout.images`` under the axes, and the isolines are one ordinary scatter trace whose segments
are computed with contourpy (the contouring library matplotlib uses). Neither is ever put in a
frame.

Colour value per grid point: :math:`t = f` (linear) or
:math:`t = \log_{10}(f - b + \varepsilon)` (log scale) with :math:`b` the smaller of the grid
minimum and the literature minimum, mapped to :math:`[0, 1]` between robust limits (percentiles,
at most six decades on a log scale) so that one huge corner or a single exact zero does not wash
the picture out.
"""

from __future__ import annotations

import base64
import io
from dataclasses import dataclass

import contourpy
import numpy as np
import plotly.colors as pcolors
import plotly.graph_objects as go
from PIL import Image

from optviz.geometry import nice_ticks, padded_range, tick_labels

from .data import Landscape, decimals_for, round_list

__all__ = [
    "ColorScale",
    "color_scale",
    "colorbar_ticks",
    "colorbar_trace",
    "isoline_trace",
    "isolines",
    "landscape_image",
    "landscape_layout_image",
]

#: Colour of grid points where f is NaN or -inf (undefined), as RGB.
UNDEFINED_RGB = (200, 200, 200)
#: At most this many decades of f are spread over the colour scale when it is logarithmic.
MAX_DECADES = 6.0


@dataclass(frozen=True, eq=False)
class ColorScale:
    """How grid values map to colours: ``t`` (the transformed grid, NaN where undefined),
    the limits ``lo < hi`` of ``t`` that map to the ends of the scale, and the log base ``b``."""

    t: np.ndarray
    lo: float
    hi: float
    log_scale: bool
    base: float
    eps: float
    flat: float | None = None  # the one value of f where the finite grid is flat, else None

    def unit(self) -> np.ndarray:
        """``t`` mapped to ``[0, 1]``; +inf of f maps to 1, undefined points stay NaN."""
        return np.clip((self.t - self.lo) / (self.hi - self.lo), 0.0, 1.0)


def color_scale(land: Landscape) -> ColorScale:
    """Transformed grid and robust colour limits for ``land`` (see the module docstring)."""
    z = land.z
    finite = z[np.isfinite(z)]
    base, eps = 0.0, 0.0
    if finite.size == 0:
        t = np.where(np.isposinf(z), np.inf, np.nan)
        return ColorScale(t=t, lo=0.0, hi=1.0, log_scale=land.log_scale, base=0.0, eps=0.0)
    if land.log_scale:
        base = float(finite.min())
        if land.minimum_value is not None and np.isfinite(land.minimum_value):
            base = min(base, float(land.minimum_value))
        spread = float(np.percentile(finite, 99.0)) - base
        eps = max(spread * 1e-12, np.finfo(float).tiny)
        with np.errstate(invalid="ignore", divide="ignore"):
            t = np.log10(z - base + eps)
        t[np.isposinf(z)] = np.inf
        good = t[np.isfinite(t)]
        hi = float(np.percentile(good, 99.5))
        lo = max(float(np.percentile(good, 0.5)), hi - MAX_DECADES)
    else:
        t = z.copy()
        hi = float(np.percentile(finite, 99.5))
        lo = float(finite.min())
    t[np.isneginf(z) | np.isnan(z)] = np.nan
    flat = float(finite.min()) if not hi > lo else None
    lo, hi = padded_range(lo, hi)  # a flat grid (even f = 1e16) sits mid-scale
    return ColorScale(t=t, lo=lo, hi=hi, log_scale=land.log_scale, base=base, eps=eps,
                      flat=flat)


def _lut(colorscale: str | list, lighten: float, n: int = 255) -> np.ndarray:
    """``n`` RGB rows sampled along a plotly colour scale, blended towards white by ``lighten``."""
    samples = pcolors.sample_colorscale(colorscale, np.linspace(0.0, 1.0, n).tolist())
    rgb = np.array([pcolors.unlabel_rgb(pcolors.convert_colors_to_same_type(c, "rgb")[0][0])
                    for c in samples], dtype=float)
    rgb = rgb + (255.0 - rgb) * float(np.clip(lighten, 0.0, 1.0))
    return np.clip(np.round(rgb), 0, 255).astype(np.uint8)


def landscape_image(
    land: Landscape, colorscale: str | list = "Viridis", lighten: float = 0.45
) -> str:
    """The filled landscape as a PNG data URI, one pixel per grid point (top row = largest y).

    Colours come from ``colorscale`` (any plotly scale name or list) blended towards white by
    ``lighten`` so that trajectory colours stay readable on top; +inf is drawn in the top
    colour, NaN and -inf in light grey. The PNG is palette-based (255 levels), which keeps it
    small.
    """
    u = color_scale(land).unit()
    idx = np.full(u.shape, 255, dtype=np.uint8)
    ok = ~np.isnan(u)
    idx[ok] = np.round(u[ok] * 254).astype(np.uint8)
    palette = np.vstack([_lut(colorscale, lighten), np.array([UNDEFINED_RGB], dtype=np.uint8)])
    img = Image.fromarray(idx[::-1], mode="P")
    img.putpalette(palette.ravel().tolist())
    buf = io.BytesIO()
    img.save(buf, format="PNG", optimize=True)
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


def landscape_layout_image(land: Landscape, source: str) -> dict:
    """``layout.images`` entry that stretches ``source`` over the exact domain, below the data.

    The PNG holds one pixel per grid point, so pixel centres sit on the grid: the picture spans
    half a grid cell beyond ``xs[0]`` .. ``xs[-1]`` on each side (clipped by the fixed axes).
    """
    dx = (land.xs[-1] - land.xs[0]) / (len(land.xs) - 1)
    dy = (land.ys[-1] - land.ys[0]) / (len(land.ys) - 1)
    return dict(
        source=source, xref="x", yref="y", layer="below", sizing="stretch",
        x=float(land.xs[0] - dx / 2), y=float(land.ys[-1] + dy / 2),
        sizex=float(land.xs[-1] - land.xs[0] + dx), sizey=float(land.ys[-1] - land.ys[0] + dy),
        xanchor="left", yanchor="top",
    )


def isolines(land: Landscape, n_levels: int = 15) -> list[np.ndarray]:
    """Isoline polylines, each an ``(m, 2)`` array of (x, y) points, at ``n_levels`` levels.

    Levels are equally spaced in the colour value ``t`` strictly between its limits, so they are
    logarithmically spaced in ``f`` when the landscape is log-scaled. Undefined points are
    masked. Computed with contourpy.
    """
    if n_levels <= 0:
        return []
    cs = color_scale(land)
    t = np.ma.masked_invalid(cs.t)
    gen = contourpy.contour_generator(land.xs, land.ys, t, line_type=contourpy.LineType.Separate)
    lines: list[np.ndarray] = []
    for level in np.linspace(cs.lo, cs.hi, n_levels + 2)[1:-1]:
        lines.extend(seg for seg in gen.lines(float(level)) if len(seg) >= 2)
    return lines


def simplify(line: np.ndarray, tol: float) -> np.ndarray:
    """Ramer-Douglas-Peucker: a subset of the points of ``line`` (both ends kept) whose polyline
    stays within ``tol`` of every dropped point."""
    n = len(line)
    if n < 3 or tol <= 0:
        return line
    keep = np.zeros(n, dtype=bool)
    keep[[0, -1]] = True
    stack = [(0, n - 1)]
    while stack:
        a, b = stack.pop()
        if b - a < 2:
            continue
        d = line[b] - line[a]
        rel = line[a + 1 : b] - line[a]
        norm = float(np.hypot(d[0], d[1]))
        if norm == 0.0:
            dist = np.hypot(rel[:, 0], rel[:, 1])
        else:
            dist = np.abs(rel[:, 0] * d[1] - rel[:, 1] * d[0]) / norm
        i = int(np.argmax(dist))
        if dist[i] > tol:
            m = a + 1 + i
            keep[m] = True
            stack += [(a, m), (m, b)]
    return line[keep]


def isoline_trace(land: Landscape, n_levels: int = 15) -> go.Scatter:
    """All isolines as ONE thin, translucent, non-hoverable scatter trace (None separators)."""
    span = max(land.x_range[1] - land.x_range[0], land.y_range[1] - land.y_range[0])
    tol = span * 1e-3  # about 0.7 px on a 700 px wide plot
    xs: list[float | None] = []
    ys: list[float | None] = []
    dec = decimals_for(span, 1e-3)
    for seg in isolines(land, n_levels):
        seg = simplify(seg, tol)
        xs.extend(round_list(seg[:, 0], dec))
        ys.extend(round_list(seg[:, 1], dec))
        xs.append(None)
        ys.append(None)
    return go.Scatter(
        x=xs, y=ys, mode="lines", name="isolines", showlegend=False, hoverinfo="skip",
        line=dict(color="rgba(255,255,255,0.55)", width=0.8),
    )


def colorbar_ticks(cs: ColorScale) -> tuple[list[float], list[str], str]:
    """Ticks of the colour bar of ``cs``: positions (in ``t``, between ``cs.lo`` and
    ``cs.hi``), their labels and the bar's title. On a log scale the ticks are decades of
    :math:`f - b` and the title says so; a flat landscape has one tick, its value, mid-bar."""
    if cs.flat is not None:
        return [cs.lo / 2 + cs.hi / 2], tick_labels([cs.flat]), "f"  # no overflow at 1e308
    if cs.log_scale:
        decades = np.arange(np.ceil(cs.lo - 1e-9), np.floor(cs.hi + 1e-9) + 1)
        if len(decades) > 7:
            decades = decades[:: int(np.ceil(len(decades) / 6))]
        title = "f" if cs.base == 0 else f"f − ({cs.base:.4g})"
        return decades.tolist(), [f"{10.0 ** d:g}" for d in decades], title
    ticks = nice_ticks(cs.lo, cs.hi)
    return ticks.tolist(), tick_labels(ticks), "f"


def colorbar_trace(
    land: Landscape, colorscale: str | list = "Viridis", lighten: float = 0.45
) -> go.Scatter:
    """A colour bar for the picture: a scatter whose two markers sit outside the fixed axes.

    (A picture carries no colour bar, and contour or heatmap traces would vanish on Play.)
    On a log scale the ticks are decades of :math:`f - b` and the title says so; a flat
    landscape has one tick, its value, mid-bar.
    """
    cs = color_scale(land)
    lut = _lut(colorscale, lighten, n=11)
    scale = [[i / 10, f"rgb({r},{g},{b})"] for i, (r, g, b) in enumerate(lut.tolist())]
    tickvals, ticktext, title = colorbar_ticks(cs)
    x_out = land.x_range[0] - 10 * (land.x_range[1] - land.x_range[0])
    y_out = land.y_range[0] - 10 * (land.y_range[1] - land.y_range[0])
    return go.Scatter(
        x=[x_out, x_out], y=[y_out, y_out], mode="markers", name="colorbar", showlegend=False,
        hoverinfo="skip",
        marker=dict(
            color=[cs.lo, cs.hi], cmin=cs.lo, cmax=cs.hi, colorscale=scale, showscale=True,
            colorbar=dict(
                title=dict(text=title, side="top"), tickvals=tickvals, ticktext=ticktext,
                thickness=10, len=0.75, x=1.0, xpad=8, outlinewidth=0, ticks="outside",
                ticklen=3,
            ),
        ),
    )
