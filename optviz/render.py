r"""Animation frames of a scene drawn with Pillow: the GIF, MP4 and PNG exports (no browser).

Like :mod:`optviz.figures`, this module is pure: plain numpy data in (a
:class:`~optviz.figures.Landscape` and :class:`~optviz.figures.Track` records), ``PIL.Image`` out;
it imports no torch, Streamlit or optviz core. Ticks, the pull of far points towards the window
and the aspect rule come from :mod:`optviz.geometry`, as the figures' do. It draws what the
animated figure shows, in the same colours: the landscape coloured by
:func:`optviz.figures.landscape_image` (so both share one colour mapping), the isolines of
:func:`optviz.figures.isolines`, the global minima as gold stars, saddle points, the starts,
and each path growing with a head dot, a ✗ where a run diverged, a legend, a step counter and,
right of the plot, the colour bar (the landscape's value scale, ticked as the figure's).

A layout planned for an output ``width`` (:func:`plan_layout`) carries a ``scale``
(``width / 640``): fonts, margins, lines and markers are drawn that many times larger, so a
1280 px picture is drawn at 1280 px, not upscaled.

Drawing is supersampled: everything in the plot is drawn at :data:`SUPERSAMPLE` times the pixel
size and reduced with a box filter (Pillow draws without anti-aliasing). The static part (axes,
landscape, isolines, markers) is drawn once; paths are drawn incrementally on one persistent
layer, so a frame costs a copy, the heads and one reduction.

Text uses DejaVu Sans where the system has it (it covers Greek and maths signs, which preset
labels use), else Pillow's built-in scalable font (``ImageFont.load_default(size=...)``, Pillow
≥ 10.1), so no font file is needed; characters a font lacks are transliterated (``γ`` →
``gamma``, ``−`` → ``-``).
"""

from __future__ import annotations

import base64
import io
import math
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from functools import cache

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from optviz.arguments import flag, whole
from optviz.figures import Landscape, Track, color_scale, colorbar_ticks, isolines, landscape_image
from optviz.figures.landscape import _lut
from optviz.geometry import equal_aspect as default_equal_aspect
from optviz.geometry import nice_ticks, pull_far, tick_labels

__all__ = [
    "MAX_WIDTH",
    "MIN_WIDTH",
    "SUPERSAMPLE",
    "VISIBLE_CELL",
    "FrameRenderer",
    "LegendEntry",
    "SceneLayout",
    "plan_layout",
    "to_pixels",
    "visible_points",
]

#: Supersampling factor of everything drawn inside the plot.
SUPERSAMPLE = 2
MIN_SIZE, MAX_SIZE = 64, 2048  # the plot's longer side, in pixels (plan_layout's ``size``)
MIN_WIDTH, MAX_WIDTH = 320, 1920  # a whole picture's width, in pixels (plan_layout's ``width``)
REFERENCE_WIDTH = 640  # a picture this wide is drawn at scale 1

_BG = (255, 255, 255)
_INK = (34, 34, 34)
_MUTED = (90, 90, 90)
_AXIS = (153, 153, 153)
_ISOLINE_ALPHA = 0.5
_LINE_WIDTH = 2.25  # path width in output pixels
_HALO = (0, 0, 0, 70)  # a faint dark edge under every path: white and pale runs stay visible
_HEAD_RADIUS = 5.5
_MARGIN_LEFT, _MARGIN_RIGHT, _MARGIN_BOTTOM = 58, 20, 46
_CBAR_GAP, _CBAR_WIDTH, _CBAR_LABELS = 14, 12, 52  # colour bar: gap, bar, tick labels (px)
_CBAR_LENGTH = 0.75  # of the plot's height, as in the figure
_TITLE_ROW, _LEGEND_ROW = 32, 21
_FONT_TITLE, _FONT_TEXT, _FONT_TICK = 16, 12, 11
_TICK_DIGITS = 6  # axis tick labels: at least this many significant digits

_FONT_FILES = {False: "DejaVuSans.ttf", True: "DejaVuSans-Bold.ttf"}  # found by Pillow
_FALLBACK = {"−": "-", "–": "-", "—": "-", "×": "x", "·": ".", "…": "...", "≤": "<=",
             "≥": ">=", "≈": "~", "α": "alpha", "β": "beta", "γ": "gamma", "δ": "delta",
             "ε": "eps", "η": "eta", "θ": "theta", "λ": "lambda", "μ": "mu", "ρ": "rho",
             "σ": "sigma", "τ": "tau", "₁": "1", "₂": "2", "²": "^2", "³": "^3", "✗": "x"}


@dataclass(frozen=True)
class LegendEntry:
    """One legend item: a run's label and colour, and which tracks (indices) belong to it."""

    label: str
    color: str
    tracks: tuple[int, ...]


@dataclass(frozen=True)
class SceneLayout:
    """Pixel geometry of a frame: canvas size, the plot box and where the legend rows sit."""

    width: int
    height: int
    left: int
    top: int
    plot_w: int
    plot_h: int
    legend_rows: tuple[tuple[tuple[int, int], ...], ...]  # per row: (entry index, x) pairs
    x_range: tuple[float, float]
    y_range: tuple[float, float]
    scale: float = 1.0  # fonts, margins, lines and markers are drawn this many times larger
    colorbar: bool = True  # the colour bar sits right of the plot

    def pixel_centres(self) -> tuple[np.ndarray, np.ndarray]:
        """Data coordinates of the plot's pixel centres: ``xs`` (plot_w,), ``ys`` (plot_h,)
        increasing, so a landscape sampled there fills the plot one grid point per pixel."""
        (x0, x1), (y0, y1) = self.x_range, self.y_range
        xs = x0 + (np.arange(self.plot_w) + 0.5) * (x1 - x0) / self.plot_w
        ys = y0 + (np.arange(self.plot_h) + 0.5) * (y1 - y0) / self.plot_h
        return xs, ys


@cache
def _font(size: int, bold: bool = False) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    """DejaVu Sans (bold) at ``size`` px if the system has it, else Pillow's built-in font."""
    try:
        return ImageFont.truetype(_FONT_FILES[bold], size)
    except OSError:
        return _font(size) if bold else ImageFont.load_default(size=size)


@cache
def _has_glyph(size: int, ch: str, bold: bool = False) -> bool:
    """Whether the font draws ``ch`` (a missing glyph draws the same box as U+F0000)."""
    if ch.isspace() or ord(ch) < 128:
        return True
    font = _font(size, bold)
    missing = font.getmask("\U000f0000")
    mask = font.getmask(ch)
    return not (mask.size == missing.size and bytes(mask) == bytes(missing))


def _safe(text: str, size: int, bold: bool = False) -> str:
    """``text`` on one line, with characters the font lacks transliterated (or ``?``)."""
    text = " ".join("".join(ch if ch.isprintable() else " " for ch in text).split())
    return "".join(ch if _has_glyph(size, ch, bold) else _FALLBACK.get(ch, "?") for ch in text)


def _text_width(text: str, size: int) -> int:
    return math.ceil(_font(size).getlength(_safe(text, size)))


def _font_size(size: int, scale: float) -> int:
    """A font size ``size`` (at scale 1) drawn at ``scale``; never below 7 px."""
    return max(7, round(size * scale))


def _rgb(color: str) -> tuple[int, int, int]:
    """``#rrggbb`` (or ``#rgb``) -> RGB; anything else draws black."""
    c = color.strip().lstrip("#")
    if len(c) == 3:
        c = "".join(ch * 2 for ch in c)
    try:
        return int(c[0:2], 16), int(c[2:4], 16), int(c[4:6], 16)
    except ValueError:
        return (0, 0, 0)


def _even(n: float) -> int:
    n = math.ceil(n)
    return n + (n % 2)


def _swatch_width(label: str, scale: float = 1.0) -> int:
    return round((26 + 18) * scale) + _text_width(label, _font_size(_FONT_TEXT, scale))


def plan_layout(
    x_range: tuple[float, float],
    y_range: tuple[float, float],
    legend: Sequence[LegendEntry],
    size: int = 560,
    equal_aspect: bool | None = None,
    width: int | None = None,
    colorbar: bool = True,
) -> SceneLayout:
    """Geometry of a frame whose plot's longer side is ``size`` pixels, or, given ``width``,
    of a picture exactly ``width`` pixels wide.

    ``equal_aspect``: one unit is as long on both axes (default: when the window's aspect ratio
    is within 1:2 .. 2:1, as in the animated figure); otherwise the plot is 4:3. Height is
    even, and width too unless ``width`` is given odd (H.264 needs even sides; the MP4 encoder
    pads). ``size`` is in ``[MIN_SIZE, MAX_SIZE]``; ``width`` in ``[MIN_WIDTH, MAX_WIDTH]``
    sets ``scale = width / 640`` (fonts, margins and lines grow with it) and the plot's longer
    side to what the margins leave. ``colorbar``: room for the colour bar right of the plot.
    """
    size = whole("size", size, MIN_SIZE, MAX_SIZE)
    if width is not None:
        width = whole("width", width, MIN_WIDTH, MAX_WIDTH)
    if equal_aspect is not None:
        equal_aspect = flag("equal_aspect", equal_aspect)
    colorbar = flag("colorbar", colorbar)
    scale = 1.0 if width is None else width / REFERENCE_WIDTH
    margin_left = round(_MARGIN_LEFT * scale)
    margin_right = round((_MARGIN_RIGHT + (_CBAR_GAP + _CBAR_WIDTH + _CBAR_LABELS
                                           if colorbar else 0)) * scale)
    if width is not None:
        size = max(40, width - margin_left - margin_right)
    (x0, x1), (y0, y1) = x_range, y_range
    ratio = (y1 - y0) / (x1 - x0)
    if equal_aspect is None:
        equal_aspect = default_equal_aspect(x_range, y_range)
    if not equal_aspect:
        ratio = 0.75
    plot_w, plot_h = (size, round(size * ratio)) if ratio <= 1 else (round(size / ratio), size)
    plot_w, plot_h = max(plot_w, 40), max(plot_h, 40)
    if width is None:
        width = _even(margin_left + plot_w + margin_right)
        width = max(width, _even(margin_left + 360))
    rows: list[list[tuple[int, int]]] = [[]]
    pad = round(12 * scale)
    x, avail = pad, width - pad
    for i, entry in enumerate(legend):
        w = _swatch_width(entry.label, scale)
        if rows[-1] and x + w > avail:
            rows.append([])
            x = pad
        rows[-1].append((i, x))
        x += w
    if not rows[-1]:
        rows.pop()
    top = round((_TITLE_ROW + _LEGEND_ROW * len(rows) + 8) * scale)
    height = _even(top + plot_h + round(_MARGIN_BOTTOM * scale))
    left = margin_left + (width - margin_left - margin_right - plot_w) // 2
    return SceneLayout(width=width, height=height, left=left, top=top, plot_w=plot_w,
                       plot_h=plot_h, legend_rows=tuple(tuple(r) for r in rows),
                       x_range=(float(x0), float(x1)), y_range=(float(y0), float(y1)),
                       scale=scale, colorbar=colorbar)


def _star(cx: float, cy: float, r: float) -> list[tuple[float, float]]:
    """Vertices of a five-pointed star (inner radius 0.45 r), pointing up."""
    pts = []
    for i in range(10):
        rad = r if i % 2 == 0 else 0.45 * r
        a = -math.pi / 2 + i * math.pi / 5
        pts.append((cx + rad * math.cos(a), cy + rad * math.sin(a)))
    return pts


def _cross(draw: ImageDraw.ImageDraw, cx: float, cy: float, r: float, width: float,
           color: tuple[int, ...], outline: tuple[int, ...] | None, outline_w: float) -> None:
    """An ✗ of half-size ``r``, optionally over a wider outline."""
    segs = [((cx - r, cy - r), (cx + r, cy + r)), ((cx - r, cy + r), (cx + r, cy - r))]
    if outline is not None:
        for a, b in segs:
            draw.line([a, b], fill=outline, width=round(width + 2 * outline_w))
    for a, b in segs:
        draw.line([a, b], fill=color, width=round(width))


def to_pixels(layout: SceneLayout, xy: np.ndarray) -> np.ndarray:
    """Data -> supersampled plot pixels; far points pulled towards the window on their ray."""
    (x0, x1), (y0, y1) = layout.x_range, layout.y_range
    near = pull_far(xy, layout.x_range, layout.y_range)
    rel = (near - [(x0 + x1) / 2, (y0 + y1) / 2]) / [x1 - x0, y1 - y0]
    s = SUPERSAMPLE
    px = (rel[:, 0] + 0.5) * layout.plot_w * s
    py = (0.5 - rel[:, 1]) * layout.plot_h * s
    return np.stack([px, py], axis=1)


#: The grid, in supersampled pixels, that :func:`visible_points` thins a path on: half a pixel.
VISIBLE_CELL = SUPERSAMPLE / 2


def visible_points(px: np.ndarray, cell: float = VISIBLE_CELL) -> np.ndarray:
    """Indices of the points of one path worth drawing (``px``: its supersampled pixels): the
    first, the last and every point in another cell of a ``cell``-pixel grid (half a pixel of
    the picture) than the point before it. A point left out lies in the same cell as the last
    one drawn, so the line through the drawn ones passes within ``cell·√2`` (0.71 pixel) of
    it: a path that settles into its minimum (most of a long run) costs a handful of points,
    not thousands."""
    n = len(px)
    if n <= 2:
        return np.arange(n)
    cells = np.floor(np.asarray(px, dtype=np.float64) / cell)
    moved = np.flatnonzero((cells[1:] != cells[:-1]).any(axis=1)) + 1
    return np.unique(np.concatenate(([0], moved, [n - 1])))


class FrameRenderer:
    """Draws frames of one scene: ``frame(k)`` is the picture at optimizer step ``k``.

    ``land`` is best sampled at ``layout.pixel_centres()`` (one grid point per pixel; any other
    grid over the same window is resampled). ``tracks`` are drawn in order; ``legend`` groups
    them (one entry per run); ``starts`` default to the tracks' first points. Frames must be
    asked for in increasing ``k`` (paths are drawn incrementally); asking for an earlier step
    starts the paths over. A path is drawn through its :func:`visible_points` (and the point
    at ``k``, where its head is).
    """

    def __init__(
        self,
        layout: SceneLayout,
        land: Landscape,
        tracks: Sequence[Track],
        legend: Sequence[LegendEntry],
        starts: Sequence[Sequence[float]] | np.ndarray | None = None,
        title: str | None = None,
        n_levels: int = 15,
    ) -> None:
        self.layout = layout
        self.k = layout.scale  # how many times larger than at 640 px everything is drawn
        self.land = land
        self.tracks = list(tracks)
        self.legend = list(legend)
        self.n_steps = max((t.steps for t in self.tracks), default=0)
        self.title = land.title if title is None else title
        if starts is None:
            starts = [t.xy[0] for t in self.tracks if np.isfinite(t.xy[0]).all()]
        self.starts = np.asarray(starts, dtype=float).reshape(-1, 2)
        self._last = [t.last_finite for t in self.tracks]
        self._stop = [last + 1 if last < t.steps else -1
                      for last, t in zip(self._last, self.tracks, strict=True)]
        self._px = [self._to_px(t.xy[: max(last, 0) + 1])
                    for last, t in zip(self._last, self.tracks, strict=True)]
        self._keep = [visible_points(px) if last >= 0 else np.zeros(0, dtype=np.int64)
                      for px, last in zip(self._px, self._last, strict=True)]
        self._cross = [self._cross_px(i) for i in range(len(self.tracks))]
        self._static = self._draw_static(n_levels)
        self._reset_paths()

    @property
    def drawn_points(self) -> int:
        """Path points the last frame draws (:func:`visible_points` of every path)."""
        return sum(len(keep) for keep in self._keep)

    # ---- coordinates

    def _to_px(self, xy: np.ndarray) -> np.ndarray:
        return to_pixels(self.layout, xy)

    def _cross_px(self, i: int) -> tuple[float, float] | None:
        """Where track ``i``'s ✗ goes: its last finite point, clamped just inside the plot."""
        if self._stop[i] < 0 or self._last[i] < 0:
            return None
        s = SUPERSAMPLE
        p = self._px[i][-1]
        pad = 8 * s * self.k
        return (float(np.clip(p[0], pad, self.layout.plot_w * s - pad)),
                float(np.clip(p[1], pad, self.layout.plot_h * s - pad)))

    # ---- static part

    def _landscape_rgb(self) -> Image.Image:
        uri = landscape_image(self.land)
        img = Image.open(io.BytesIO(base64.b64decode(uri.split(",", 1)[1]))).convert("RGB")
        lay = self.layout
        if img.size != (lay.plot_w, lay.plot_h):
            img = img.resize((lay.plot_w, lay.plot_h), Image.Resampling.BICUBIC)
        return img

    def _draw_static(self, n_levels: int) -> Image.Image:
        lay, s, k = self.layout, SUPERSAMPLE, self.k
        canvas = Image.new("RGB", (lay.width, lay.height), _BG)
        plot = self._landscape_rgb().convert("RGBA")
        over = Image.new("RGBA", (lay.plot_w * s, lay.plot_h * s), (255, 255, 255, 0))
        draw = ImageDraw.Draw(over)
        for line in isolines(self.land, n_levels):
            pts = self._to_px(line)
            draw.line([tuple(p) for p in pts.tolist()], fill=(255, 255, 255, 255),
                      width=max(1, round(s * k)), joint="curve")
        iso = over.reduce(s)
        alpha = iso.getchannel("A").point(lambda a: round(a * _ISOLINE_ALPHA))
        iso.putalpha(alpha)
        plot.alpha_composite(iso)
        marks = Image.new("RGBA", over.size, (0, 0, 0, 0))
        draw = ImageDraw.Draw(marks)
        for x, y in self._to_px(np.asarray(self.land.saddles, dtype=float)).tolist():
            _cross(draw, x, y, 4.5 * s * k, 2.0 * s * k, (255, 255, 255, 255),
                   (51, 51, 51, 255), s * k)
        for x, y in self._to_px(np.asarray(self.land.minima, dtype=float)).tolist():
            draw.polygon(_star(x, y, 9.5 * s * k), fill=(255, 215, 0, 255),
                         outline=(51, 51, 51, 255), width=max(1, round(1.2 * s * k)))
        for x, y in self._to_px(self.starts).tolist():
            r, ring = 5.5 * s * k, 2.5 * s * k
            draw.ellipse([x - r - ring, y - r - ring, x + r + ring, y + r + ring],
                         fill=(255, 255, 255, 255))
            draw.ellipse([x - r, y - r, x + r, y + r], fill=(*_INK, 255))
        plot.alpha_composite(marks.reduce(s))
        canvas.paste(plot.convert("RGB"), (lay.left, lay.top))
        self._draw_axes(ImageDraw.Draw(canvas))
        if lay.colorbar:
            self._draw_colorbar(canvas)
        return canvas

    def _draw_axes(self, draw: ImageDraw.ImageDraw) -> None:
        lay, k = self.layout, self.k
        left, t, w, h = lay.left, lay.top, lay.plot_w, lay.plot_h
        thin = max(1, round(k))
        draw.rectangle([left - thin, t - thin, left + w + thin - 1, t + h + thin - 1],
                       outline=_AXIS, width=thin)
        tick_size = _font_size(_FONT_TICK, k)
        tick_font = _font(tick_size)
        (x0, x1), (y0, y1) = lay.x_range, lay.y_range
        xticks = nice_ticks(x0, x1, max(2, int(w / (110 * k))))
        for v, label in zip(xticks, tick_labels(xticks, _TICK_DIGITS), strict=True):
            px = left + (v - x0) / (x1 - x0) * w
            draw.line([(px, t + h), (px, t + h + 4 * k)], fill=_AXIS, width=thin)
            text = _safe(label, tick_size)
            draw.text((px, t + h + 6 * k), text, font=tick_font, fill=_MUTED, anchor="mt")
        yticks = nice_ticks(y0, y1, max(2, int(h / (90 * k))))
        for v, label in zip(yticks, tick_labels(yticks, _TICK_DIGITS), strict=True):
            py = t + (y1 - v) / (y1 - y0) * h
            draw.line([(left - 5 * k, py), (left - 1, py)], fill=_AXIS, width=thin)
            text = _safe(label, tick_size)
            draw.text((left - 8 * k, py), text, font=tick_font, fill=_MUTED, anchor="rm")
        text_size = _font_size(_FONT_TEXT, k)
        label_font = _font(text_size)
        draw.text((left + w / 2, t + h + 26 * k), "x", font=label_font, fill=_INK, anchor="mt")
        draw.text((12 * k, t + h / 2), "y", font=label_font, fill=_INK, anchor="lm")
        title_size = _font_size(_FONT_TITLE, k)
        title = _safe(self.title, title_size, bold=True)
        font = _font(title_size, bold=True)
        draw.text((12 * k, 8 * k), title, font=font, fill=_INK)
        if font is _font(title_size):  # no bold face here: thicken the regular one
            draw.text((12 * k + 0.7 * k, 8 * k), title, font=font, fill=_INK)

    def colorbar_box(self) -> tuple[int, int, int, int]:
        """``(left, top, right, bottom)`` of the colour bar's coloured pixels (right and bottom
        exclusive): right of the plot, 3/4 of its height, centred on it."""
        lay, k = self.layout, self.k
        x0 = lay.left + lay.plot_w + round(_CBAR_GAP * k)
        length = max(8, round(lay.plot_h * _CBAR_LENGTH))
        y0 = lay.top + (lay.plot_h - length) // 2
        return x0, y0, x0 + max(4, round(_CBAR_WIDTH * k)), y0 + length

    def _draw_colorbar(self, canvas: Image.Image) -> None:
        """The landscape's value scale: its 255 colours bottom (low) to top (high), ticked and
        titled as the figure's colour bar (decades of f - b on a log scale)."""
        k = self.k
        x0, y0, x1, y1 = self.colorbar_box()
        cs = color_scale(self.land)
        lut = _lut("Viridis", 0.45)  # as landscape_image colours the plot
        frac = (y1 - 1 - np.arange(y0, y1) + 0.5) / (y1 - y0)  # 1 at the top row, 0 at the bottom
        rows = lut[np.round(np.clip(frac, 0.0, 1.0) * 254).astype(int)]
        bar = np.repeat(rows[:, None, :], x1 - x0, axis=1)
        canvas.paste(Image.fromarray(np.ascontiguousarray(bar)), (x0, y0))
        draw = ImageDraw.Draw(canvas)
        thin = max(1, round(k))
        draw.rectangle([x0 - thin, y0 - thin, x1 + thin - 1, y1 + thin - 1], outline=_AXIS,
                       width=thin)
        size = _font_size(_FONT_TICK, k)
        font = _font(size)
        tickvals, ticktext, title = colorbar_ticks(cs)
        for v, label in zip(tickvals, ticktext, strict=True):
            u = (v - cs.lo) / (cs.hi - cs.lo)
            if not -1e-9 <= u <= 1 + 1e-9:
                continue
            py = y1 - u * (y1 - y0)
            draw.line([(x1, py), (x1 + 3 * k, py)], fill=_AXIS, width=thin)
            draw.text((x1 + 5 * k, py), _safe(label, size), font=font, fill=_MUTED, anchor="lm")
        title = _safe(title, size)
        if x0 + _text_width(title, size) <= self.layout.width - 2 * k:
            draw.text((x0, y0 - 6 * k), title, font=font, fill=_INK, anchor="ld")
        else:  # a long title ("f − (-1.0316)") ends at the picture's right edge
            draw.text((self.layout.width - 2 * k, y0 - 6 * k), title, font=font, fill=_INK,
                      anchor="rd")

    # ---- moving part

    def _reset_paths(self) -> None:
        s = SUPERSAMPLE
        size = (self.layout.plot_w * s, self.layout.plot_h * s)
        self._halo = Image.new("RGBA", size, (0, 0, 0, 0))
        self._paths = Image.new("RGBA", size, (0, 0, 0, 0))
        self._drawn_to = 0

    def _extend_paths(self, k: int) -> None:
        """Draw every path from the step drawn so far up to step ``k``."""
        if k < self._drawn_to:
            self._reset_paths()
        lo = self._drawn_to
        if k <= lo and lo > 0:
            return
        draw = ImageDraw.Draw(self._paths)
        halo = ImageDraw.Draw(self._halo)
        width = max(1, round(_LINE_WIDTH * SUPERSAMPLE * self.k))
        edge = width + max(1, round(2 * SUPERSAMPLE * self.k))
        for i, track in enumerate(self.tracks):
            hi = min(k, self._last[i])
            if hi <= lo:
                continue
            keep = self._keep[i]  # the points between lo and hi worth drawing, and both ends
            inner = keep[np.searchsorted(keep, lo, "right") : np.searchsorted(keep, hi)]
            pts = [tuple(p) for p in self._px[i][[lo, *inner.tolist(), hi]].tolist()]
            color = (*_rgb(track.color), 255)
            for d, w, fill in ((halo, edge, _HALO), (draw, width, color)):
                d.line(pts, fill=fill, width=w, joint="curve")
                x, y = pts[0]
                d.ellipse([x - w / 2, y - w / 2, x + w / 2, y + w / 2], fill=fill)
        self._drawn_to = k

    def _draw_heads(self, draw: ImageDraw.ImageDraw, k: int) -> None:
        s = SUPERSAMPLE * self.k
        for i, track in enumerate(self.tracks):
            if self._last[i] < 0:
                continue
            color = (*_rgb(track.color), 255)
            if self._stop[i] >= 0 and k >= self._stop[i] and self._cross[i] is not None:
                x, y = self._cross[i]
                _cross(draw, x, y, 6.5 * s, 3.0 * s, color, (255, 255, 255, 255), 1.5 * s)
                continue
            x, y = self._px[i][min(k, self._last[i])].tolist()
            r, ring = _HEAD_RADIUS * s, 1.5 * s
            draw.ellipse([x - r - ring, y - r - ring, x + r + ring, y + r + ring],
                         fill=(255, 255, 255, 255))
            draw.ellipse([x - r, y - r, x + r, y + r], fill=color)

    def _draw_legend(self, draw: ImageDraw.ImageDraw, k: int) -> None:
        z = self.k
        size = _font_size(_FONT_TEXT, z)
        font = _font(size)
        for row, items in enumerate(self.layout.legend_rows):
            y = (_TITLE_ROW + row * _LEGEND_ROW + _LEGEND_ROW / 2) * z
            for index, x in items:
                entry = self.legend[index]
                color = _rgb(entry.color)
                dead = bool(entry.tracks) and all(
                    self._stop[t] >= 0 and k >= self._stop[t] for t in entry.tracks)
                if color == (255, 255, 255):  # a white run's swatch needs an edge
                    draw.line([(x - z, y), (x + 21 * z, y)], fill=(160, 160, 160),
                              width=round(5 * z))
                draw.line([(x, y), (x + 20 * z, y)], fill=color, width=max(1, round(3 * z)))
                if dead:
                    _cross(draw, x + 10 * z, y, 4.5 * z, 2.5 * z, color, (120, 120, 120),
                           0.8 * z)
                else:
                    draw.ellipse([x + 6 * z, y - 4 * z, x + 14 * z, y + 4 * z], fill=color,
                                 outline=(255, 255, 255) if color != (255, 255, 255) else _AXIS,
                                 width=max(1, round(z)))
                text = _safe(entry.label, size)
                draw.text((x + 26 * z, y), text, font=font, fill=_MUTED if dead else _INK,
                          anchor="lm")

    def frame(self, k: int) -> Image.Image:
        """The RGB picture at optimizer step ``k`` (clipped to ``0..n_steps``)."""
        k = int(min(max(k, 0), self.n_steps))
        self._extend_paths(k)
        layer = self._halo.copy()
        layer.alpha_composite(self._paths)
        self._draw_heads(ImageDraw.Draw(layer), k)
        small = layer.reduce(SUPERSAMPLE)
        img = self._static.copy()
        img.paste(small, (self.layout.left, self.layout.top), small)
        draw = ImageDraw.Draw(img)
        self._draw_legend(draw, k)
        counter = f"step {k} / {self.n_steps}"
        z = self.k
        draw.text((self.layout.width - 14 * z, 11 * z), counter,
                  font=_font(_font_size(_FONT_TEXT, z)), fill=_MUTED, anchor="ra")
        return img

    def frames(
        self, steps: Sequence[int] | np.ndarray,
        progress: Callable[[float], None] | None = None,
    ) -> Iterator[Image.Image]:
        """``frame(k)`` for each ``k`` in ``steps``; ``progress(i / n)`` after each one."""
        ks = [int(k) for k in steps]
        for i, k in enumerate(ks):
            yield self.frame(k)
            if progress is not None:
                progress((i + 1) / len(ks))
