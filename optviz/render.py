r"""Animation frames of a scene drawn with Pillow: the GIF, MP4 and PNG exports (no browser).

Like :mod:`optviz.figures`, this module is pure: plain numpy data in (a
:class:`~optviz.figures.Landscape` and :class:`~optviz.figures.Track` records), ``PIL.Image`` out;
it imports no torch, Streamlit or optviz core. Ticks, the pull of far points towards the window
and the aspect rule come from :mod:`optviz.geometry`, as the figures' do. It draws what the
animated figure shows, in the same colours: the landscape coloured by
:func:`optviz.figures.landscape_image` (so both share one colour mapping), the isolines of
:func:`optviz.figures.isolines`, the global minima as gold stars, saddle points, the starts,
and each path growing with a head dot, a ✗ where a run diverged, a legend and a step counter.

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
from optviz.figures import Landscape, Track, isolines, landscape_image
from optviz.geometry import equal_aspect as default_equal_aspect
from optviz.geometry import nice_ticks, pull_far, tick_labels

__all__ = [
    "SUPERSAMPLE",
    "FrameRenderer",
    "LegendEntry",
    "SceneLayout",
    "plan_layout",
]

#: Supersampling factor of everything drawn inside the plot.
SUPERSAMPLE = 2
MIN_SIZE, MAX_SIZE = 64, 2048  # the plot's longer side, in pixels (plan_layout's ``size``)

_BG = (255, 255, 255)
_INK = (34, 34, 34)
_MUTED = (90, 90, 90)
_AXIS = (153, 153, 153)
_ISOLINE_ALPHA = 0.5
_LINE_WIDTH = 2.25  # path width in output pixels
_HALO = (0, 0, 0, 70)  # a faint dark edge under every path: white and pale runs stay visible
_HEAD_RADIUS = 5.5
_MARGIN_LEFT, _MARGIN_RIGHT, _MARGIN_BOTTOM = 58, 20, 46
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


def _swatch_width(label: str) -> int:
    return 26 + _text_width(label, _FONT_TEXT) + 18


def plan_layout(
    x_range: tuple[float, float],
    y_range: tuple[float, float],
    legend: Sequence[LegendEntry],
    size: int = 560,
    equal_aspect: bool | None = None,
) -> SceneLayout:
    """Geometry of a frame whose plot's longer side is ``size`` pixels.

    ``equal_aspect``: one unit is as long on both axes (default: when the window's aspect ratio
    is within 1:2 .. 2:1, as in the animated figure); otherwise the plot is 4:3. Width and
    height are even (H.264 needs that). ``size`` is in ``[MIN_SIZE, MAX_SIZE]``.
    """
    size = whole("size", size, MIN_SIZE, MAX_SIZE)
    if equal_aspect is not None:
        equal_aspect = flag("equal_aspect", equal_aspect)
    (x0, x1), (y0, y1) = x_range, y_range
    ratio = (y1 - y0) / (x1 - x0)
    if equal_aspect is None:
        equal_aspect = default_equal_aspect(x_range, y_range)
    if not equal_aspect:
        ratio = 0.75
    plot_w, plot_h = (size, round(size * ratio)) if ratio <= 1 else (round(size / ratio), size)
    plot_w, plot_h = max(plot_w, 40), max(plot_h, 40)
    width = _even(_MARGIN_LEFT + plot_w + _MARGIN_RIGHT)
    width = max(width, _even(_MARGIN_LEFT + 360))
    rows: list[list[tuple[int, int]]] = [[]]
    x, avail = 12, width - 12
    for i, entry in enumerate(legend):
        w = _swatch_width(entry.label)
        if rows[-1] and x + w > avail:
            rows.append([])
            x = 12
        rows[-1].append((i, x))
        x += w
    if not rows[-1]:
        rows.pop()
    top = _TITLE_ROW + _LEGEND_ROW * len(rows) + 8
    height = _even(top + plot_h + _MARGIN_BOTTOM)
    left = _MARGIN_LEFT + (width - _MARGIN_LEFT - _MARGIN_RIGHT - plot_w) // 2
    return SceneLayout(width=width, height=height, left=left, top=top, plot_w=plot_w,
                       plot_h=plot_h, legend_rows=tuple(tuple(r) for r in rows),
                       x_range=(float(x0), float(x1)), y_range=(float(y0), float(y1)))


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


class FrameRenderer:
    """Draws frames of one scene: ``frame(k)`` is the picture at optimizer step ``k``.

    ``land`` is best sampled at ``layout.pixel_centres()`` (one grid point per pixel; any other
    grid over the same window is resampled). ``tracks`` are drawn in order; ``legend`` groups
    them (one entry per run); ``starts`` default to the tracks' first points. Frames must be
    asked for in increasing ``k`` (paths are drawn incrementally); asking for an earlier step
    starts the paths over.
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
        self._cross = [self._cross_px(i) for i in range(len(self.tracks))]
        self._static = self._draw_static(n_levels)
        self._reset_paths()

    # ---- coordinates

    def _to_px(self, xy: np.ndarray) -> np.ndarray:
        """Data -> supersampled plot pixels; far points pulled towards the window on their ray."""
        lay = self.layout
        (x0, x1), (y0, y1) = lay.x_range, lay.y_range
        near = pull_far(xy, lay.x_range, lay.y_range)
        rel = (near - [(x0 + x1) / 2, (y0 + y1) / 2]) / [x1 - x0, y1 - y0]
        s = SUPERSAMPLE
        px = (rel[:, 0] + 0.5) * lay.plot_w * s
        py = (0.5 - rel[:, 1]) * lay.plot_h * s
        return np.stack([px, py], axis=1)

    def _cross_px(self, i: int) -> tuple[float, float] | None:
        """Where track ``i``'s ✗ goes: its last finite point, clamped just inside the plot."""
        if self._stop[i] < 0 or self._last[i] < 0:
            return None
        s = SUPERSAMPLE
        p = self._px[i][-1]
        pad = 8 * s
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
        lay, s = self.layout, SUPERSAMPLE
        canvas = Image.new("RGB", (lay.width, lay.height), _BG)
        plot = self._landscape_rgb().convert("RGBA")
        over = Image.new("RGBA", (lay.plot_w * s, lay.plot_h * s), (255, 255, 255, 0))
        draw = ImageDraw.Draw(over)
        for line in isolines(self.land, n_levels):
            pts = self._to_px(line)
            draw.line([tuple(p) for p in pts.tolist()], fill=(255, 255, 255, 255),
                      width=s, joint="curve")
        iso = over.reduce(s)
        alpha = iso.getchannel("A").point(lambda a: round(a * _ISOLINE_ALPHA))
        iso.putalpha(alpha)
        plot.alpha_composite(iso)
        marks = Image.new("RGBA", over.size, (0, 0, 0, 0))
        draw = ImageDraw.Draw(marks)
        for x, y in self._to_px(np.asarray(self.land.saddles, dtype=float)).tolist():
            _cross(draw, x, y, 4.5 * s, 2.0 * s, (255, 255, 255, 255), (51, 51, 51, 255), s)
        for x, y in self._to_px(np.asarray(self.land.minima, dtype=float)).tolist():
            draw.polygon(_star(x, y, 9.5 * s), fill=(255, 215, 0, 255), outline=(51, 51, 51, 255),
                         width=max(1, round(1.2 * s)))
        for x, y in self._to_px(self.starts).tolist():
            r = 5.5 * s
            draw.ellipse([x - r - 2.5 * s, y - r - 2.5 * s, x + r + 2.5 * s, y + r + 2.5 * s],
                         fill=(255, 255, 255, 255))
            draw.ellipse([x - r, y - r, x + r, y + r], fill=(*_INK, 255))
        plot.alpha_composite(marks.reduce(s))
        canvas.paste(plot.convert("RGB"), (lay.left, lay.top))
        self._draw_axes(ImageDraw.Draw(canvas))
        return canvas

    def _draw_axes(self, draw: ImageDraw.ImageDraw) -> None:
        lay = self.layout
        left, t, w, h = lay.left, lay.top, lay.plot_w, lay.plot_h
        draw.rectangle([left - 1, t - 1, left + w, t + h], outline=_AXIS, width=1)
        tick_font = _font(_FONT_TICK)
        (x0, x1), (y0, y1) = lay.x_range, lay.y_range
        xticks = nice_ticks(x0, x1, max(2, w // 110))
        for v, label in zip(xticks, tick_labels(xticks, _TICK_DIGITS), strict=True):
            px = left + (v - x0) / (x1 - x0) * w
            draw.line([(px, t + h), (px, t + h + 4)], fill=_AXIS, width=1)
            text = _safe(label, _FONT_TICK)
            draw.text((px, t + h + 6), text, font=tick_font, fill=_MUTED, anchor="mt")
        yticks = nice_ticks(y0, y1, max(2, h // 90))
        for v, label in zip(yticks, tick_labels(yticks, _TICK_DIGITS), strict=True):
            py = t + (y1 - v) / (y1 - y0) * h
            draw.line([(left - 5, py), (left - 1, py)], fill=_AXIS, width=1)
            text = _safe(label, _FONT_TICK)
            draw.text((left - 8, py), text, font=tick_font, fill=_MUTED, anchor="rm")
        label_font = _font(_FONT_TEXT)
        draw.text((left + w / 2, t + h + 26), "x", font=label_font, fill=_INK, anchor="mt")
        draw.text((12, t + h / 2), "y", font=label_font, fill=_INK, anchor="lm")
        title = _safe(self.title, _FONT_TITLE, bold=True)
        font = _font(_FONT_TITLE, bold=True)
        draw.text((12, 8), title, font=font, fill=_INK)
        if font is _font(_FONT_TITLE):  # no bold face here: thicken the regular one
            draw.text((12.7, 8), title, font=font, fill=_INK)

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
        width = round(_LINE_WIDTH * SUPERSAMPLE)
        edge = width + 2 * SUPERSAMPLE
        for i, track in enumerate(self.tracks):
            hi = min(k, self._last[i])
            if hi <= lo:
                continue
            pts = [tuple(p) for p in self._px[i][lo : hi + 1].tolist()]
            color = (*_rgb(track.color), 255)
            for d, w, fill in ((halo, edge, _HALO), (draw, width, color)):
                d.line(pts, fill=fill, width=w, joint="curve")
                x, y = pts[0]
                d.ellipse([x - w / 2, y - w / 2, x + w / 2, y + w / 2], fill=fill)
        self._drawn_to = k

    def _draw_heads(self, draw: ImageDraw.ImageDraw, k: int) -> None:
        s = SUPERSAMPLE
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
        font = _font(_FONT_TEXT)
        for row, items in enumerate(self.layout.legend_rows):
            y = _TITLE_ROW + row * _LEGEND_ROW + _LEGEND_ROW / 2
            for index, x in items:
                entry = self.legend[index]
                color = _rgb(entry.color)
                dead = bool(entry.tracks) and all(
                    self._stop[t] >= 0 and k >= self._stop[t] for t in entry.tracks)
                if color == (255, 255, 255):  # a white run's swatch needs an edge
                    draw.line([(x - 1, y), (x + 21, y)], fill=(160, 160, 160), width=5)
                draw.line([(x, y), (x + 20, y)], fill=color, width=3)
                if dead:
                    _cross(draw, x + 10, y, 4.5, 2.5, color, (120, 120, 120), 0.8)
                else:
                    draw.ellipse([x + 6, y - 4, x + 14, y + 4], fill=color,
                                 outline=(255, 255, 255) if color != (255, 255, 255) else _AXIS)
                text = _safe(entry.label, _FONT_TEXT)
                draw.text((x + 26, y), text, font=font, fill=_MUTED if dead else _INK,
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
        draw.text((self.layout.width - 14, 11), counter, font=_font(_FONT_TEXT), fill=_MUTED,
                  anchor="ra")
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
