"""GIF, MP4 and PNG of a scene, drawn by :mod:`optviz.render` (Pillow; no browser).

The landscape is sampled once per plot pixel with the surface's own formula and coloured by the
figures' mapping, so the pictures match the app's animated figure; its colour bar is drawn
right of the plot. Frames are the steps of :func:`optviz.figures.frame_steps` (about 100,
evenly spread); the last one is held a moment.

Options of :func:`render_gif` and :func:`render_mp4` (keyword arguments; the defaults keep the
older behaviour):

* ``width``: the picture's width in pixels, ``MIN_WIDTH``..``MAX_WIDTH`` (320-1920; the app
  offers 640 and 1280). Fonts, lines and markers are drawn at that size (a 1280 px picture is
  not an upscaled 640 px one). Without it, ``size`` (the plot's longer side) sets the size.
* ``duration``: seconds the race takes, 1-60: ``round(duration * fps)`` frames, the race's
  steps spread evenly over them (a step may show on several frames), then the last frame held
  :data:`HOLD_SECONDS` more. A GIF keeps at most :data:`MAX_FRAMES` frames and each frame's
  delay a whole number of centiseconds, so its frames may be fewer and longer than
  ``1 / fps``; the race still lasts ``duration`` within half a frame. Without it, ``frames``
  frames are shown at ``fps``.
MP4 needs the ``imageio-ffmpeg`` package (its wheel ships an ffmpeg binary); without it
:func:`mp4_available` is False and :func:`render_mp4` raises ``RuntimeError``.
"""

from __future__ import annotations

import io
import math
import os
import subprocess
import tempfile
from collections.abc import Callable, Iterable, Iterator

import numpy as np
from PIL import Image

from optviz.arguments import real, whole
from optviz.figures import Landscape, frame_steps
from optviz.render import (
    MAX_SIZE,
    MAX_WIDTH,
    MIN_SIZE,
    MIN_WIDTH,
    VISIBLE_CELL,
    FrameRenderer,
    LegendEntry,
    SceneLayout,
    plan_layout,
    to_pixels,
)
from optviz.runner import Trajectories
from optviz.scene import Scenario
from optviz.surfaces import Surface
from optviz.views import matched, tracks_for

__all__ = [
    "DEFAULT_DURATION",
    "DEFAULT_FPS",
    "DEFAULT_FRAMES",
    "DEFAULT_SIZE",
    "DEFAULT_WIDTH",
    "MAX_DURATION",
    "MAX_WIDTH",
    "MIN_DURATION",
    "MIN_WIDTH",
    "WIDTH_CHOICES",
    "mp4_available",
    "picture_points",
    "render_gif",
    "render_mp4",
    "render_png",
    "scene_renderer",
]

Progress = Callable[[float], None]

DEFAULT_FRAMES = 100
DEFAULT_FPS = 20
DEFAULT_SIZE = 560  # the plot's longer side, in pixels
MAX_FRAMES = 500
HOLD_SECONDS = 2.0  # the last frame stays this long before the GIF loops
MIN_DURATION, MAX_DURATION = 1, 60  # seconds (the ``duration`` option)
DEFAULT_DURATION = 5  # seconds: the app's default (DEFAULT_FRAMES at DEFAULT_FPS)
DEFAULT_WIDTH = 640  # pixels: the app's default picture width
WIDTH_CHOICES = (640, 1280)  # what the app offers
MAX_MP4_FRAMES = 3600  # 60 s at 60 fps
_ENCODE_SHARE = 0.1  # part of the progress bar kept for encoding


def _landscape_on(surface: Surface, layout: SceneLayout) -> Landscape:
    """The surface sampled at the plot's pixel centres (one grid point per pixel)."""
    xs, ys = layout.pixel_centres()
    gx, gy = np.meshgrid(xs, ys, indexing="xy")
    with np.errstate(all="ignore"):
        z = np.asarray(surface.compiled.numpy(gx, gy), dtype=np.float64)
    z = np.array(np.broadcast_to(z, gx.shape), dtype=np.float64)
    return Landscape(xs=xs, ys=ys, z=z, log_scale=surface.log_scale, title=surface.title,
                     minima=tuple(surface.minima), saddles=tuple(surface.saddles),
                     minimum_value=surface.minimum_value)


def _legend(scenario: Scenario) -> list[LegendEntry]:
    n = len(scenario.starts)
    return [LegendEntry(run.display_label(), run.color, tuple(range(r * n, (r + 1) * n)))
            for r, run in enumerate(scenario.runs)]


def scene_renderer(scenario: Scenario, traj: Trajectories, size: int = DEFAULT_SIZE,
                   width: int | None = None) -> FrameRenderer:
    """A :class:`~optviz.render.FrameRenderer` for the scene (one legend entry per run);
    ``size`` (the plot's longer side in pixels) is in ``[MIN_SIZE, MAX_SIZE]``; ``width``
    (the picture's width, ``[MIN_WIDTH, MAX_WIDTH]``), when given, sets the size instead."""
    matched(scenario, traj)
    size = whole("size", size, MIN_SIZE, MAX_SIZE)
    if width is not None:
        width = whole("width", width, MIN_WIDTH, MAX_WIDTH)
    surface = scenario.resolve_surface()
    legend = _legend(scenario)
    layout = plan_layout(*surface.domain, legend=legend, size=size, width=width)
    return FrameRenderer(layout, _landscape_on(surface, layout), tracks_for(scenario, traj),
                         legend, starts=scenario.starts)


def picture_points(scenario: Scenario, traj: Trajectories, width: int = MAX_WIDTH) -> int:
    """Path points a picture ``width`` pixels wide draws (``FrameRenderer.drawn_points``,
    :func:`~optviz.render.visible_points` of every path, counted for all paths at once without
    drawing anything). The default, the widest picture, has the finest grid: it keeps the
    most points (the grids of two widths do not nest, so not by rule, but in every scene
    measured)."""
    matched(scenario, traj)
    layout = plan_layout(*scenario.resolve_surface().domain, legend=_legend(scenario),
                         width=width)
    n = traj.steps + 1
    xy = traj.xy.reshape(-1, n, 2)
    steps = np.arange(n)
    # the last step drawn per path (Track.last_finite): before the first non-finite point
    # or the divergence, whichever comes first
    diverged = traj.diverged_at.reshape(-1, 1)
    bad = ~np.isfinite(xy).all(axis=2) | ((diverged >= 0) & (steps >= diverged))
    last = np.where(bad.any(axis=1), bad.argmax(axis=1) - 1, n - 1)
    with np.errstate(invalid="ignore"):
        cells = np.floor(to_pixels(layout, xy.reshape(-1, 2)).reshape(xy.shape) / VISIBLE_CELL)
    moved = np.zeros((len(xy), n), dtype=bool)  # moved[:, j]: point j left point j-1's cell
    moved[:, 1:] = (cells[:, 1:] != cells[:, :-1]).any(axis=2)
    moved &= steps <= last[:, None]
    tail = np.where(last >= 1, ~moved[np.arange(len(xy)), np.maximum(last, 0)], False)
    counts = np.where(last >= 0, 1 + moved.sum(axis=1) + tail, 0)
    return int(counts.sum())


def _frames(renderer: FrameRenderer, ks: np.ndarray, progress: Progress | None,
            share: float) -> Iterator[Image.Image]:
    """The frames at steps ``ks``, reporting ``progress`` scaled into ``[0, share]``."""

    def scaled(fraction: float) -> None:
        if progress is not None:
            progress(fraction * share)

    return renderer.frames(ks, scaled)


def _steps(n_steps: int, n_frames: int, spread: bool) -> np.ndarray:
    """The step of each frame: :func:`frame_steps` (distinct steps, at most ``n_frames``), or,
    with ``spread``, exactly ``n_frames`` steps evenly over ``0..n_steps`` (repeats allowed)."""
    if not spread:
        return frame_steps(n_steps, max(2, n_frames))
    return np.round(np.linspace(0, n_steps, n_frames)).astype(int)


def _check(fps: float, n_frames: int, progress: Progress | None, width: int | None,
           duration: float | None) -> tuple[float, int, int | None, float | None]:
    fps = real("fps", fps, 1, 60)
    n_frames = whole("frames", n_frames, 2, MAX_FRAMES)
    if width is not None:
        width = whole("width", width, MIN_WIDTH, MAX_WIDTH)
    if duration is not None:
        duration = real("duration", duration, MIN_DURATION, MAX_DURATION)
    if progress is not None and not callable(progress):
        raise TypeError(f"progress must be a function or None, got {type(progress).__name__}")
    return fps, n_frames, width, duration


def gif_timing(fps: float, frames: int, duration: float | None) -> tuple[int, int]:
    """``(number of frames, milliseconds per frame)`` of a GIF: ``frames`` at ``fps``, or,
    given ``duration``, frames whose delays (whole centiseconds, at least 2) add up to
    ``duration`` within half a frame, about ``fps`` of them a second and at most
    :data:`MAX_FRAMES`."""
    if duration is None:
        return frames, round(1000 / fps)
    ms = max(20, round(100 / fps) * 10)
    ms = max(ms, math.ceil(duration * 1000 / MAX_FRAMES / 10) * 10)
    if round(duration * 1000 / ms) < 2:  # a start and an end at least
        ms = max(20, round(duration * 1000 / 20) * 10)
    return max(2, round(duration * 1000 / ms)), ms


def render_gif(
    scenario: Scenario,
    traj: Trajectories,
    progress: Progress | None = None,
    fps: float = DEFAULT_FPS,
    size: int = DEFAULT_SIZE,
    frames: int = DEFAULT_FRAMES,
    *,
    width: int | None = None,
    duration: float | None = None,
) -> bytes:
    """The animated scene as a looping GIF (one shared 255-colour palette, no dithering, so
    the landscape does not shimmer). ``progress(fraction)`` is called after every frame and
    with 1.0 when the file is ready. ``width`` and ``duration``: see the module docstring.
    About 1-3 s for the default scene."""
    fps, frames, width, duration = _check(fps, frames, progress, width, duration)
    n_frames, ms = gif_timing(fps, frames, duration)
    renderer = scene_renderer(scenario, traj, size, width)
    # The last frame shows every path, head and ✗: its palette serves all frames. 255 colours
    # leave an index free, which Pillow's optimize uses to make unchanged pixels transparent
    # (a tenth of the size; decoding gives the frames back exactly). Consecutive equal frames
    # (a step shown twice) are merged by Pillow into one longer frame.
    last = renderer.frame(renderer.n_steps)
    palette = last.quantize(colors=255, method=Image.Quantize.MEDIANCUT)
    ks = _steps(renderer.n_steps, n_frames, duration is not None)
    indexed = [im.quantize(palette=palette, dither=Image.Dither.NONE)
               for im in _frames(renderer, ks, progress, 1 - _ENCODE_SHARE)]
    durations = [ms] * len(indexed)
    hold = round(HOLD_SECONDS * 1000)
    durations[-1] = max(ms, hold) if duration is None else ms + hold
    buf = io.BytesIO()
    indexed[0].save(buf, format="GIF", save_all=True, append_images=indexed[1:],
                    duration=durations, loop=0, optimize=True, disposal=1)
    if progress is not None:
        progress(1.0)
    return buf.getvalue()


def render_png(scenario: Scenario, traj: Trajectories, size: int = DEFAULT_SIZE, *,
               width: int | None = None) -> bytes:
    """The final frame (every path drawn to its end) as a PNG; ``width`` as for GIFs."""
    renderer = scene_renderer(scenario, traj, size, width)
    buf = io.BytesIO()
    renderer.frame(renderer.n_steps).save(buf, format="PNG", optimize=True)
    return buf.getvalue()


def _ffmpeg() -> str | None:
    """Path of the ffmpeg binary shipped by ``imageio-ffmpeg``, or None."""
    try:
        import imageio_ffmpeg
    except ImportError:
        return None
    try:
        exe = imageio_ffmpeg.get_ffmpeg_exe()
    except RuntimeError:
        return None
    return exe if exe and os.path.exists(exe) else None


def mp4_available() -> bool:
    """Whether MP4 can be written here (the ``imageio-ffmpeg`` package and its binary)."""
    return _ffmpeg() is not None


def _encode_mp4(exe: str, images: Iterable[Image.Image], size: tuple[int, int], fps: float,
                hold: int) -> bytes:
    """H.264 (yuv420p, plays everywhere) via the ffmpeg binary: raw RGB frames streamed to its
    stdin as they are drawn, the last one repeated ``hold`` times."""
    w, h = size
    with tempfile.TemporaryDirectory(prefix="optviz-") as tmp:
        path = os.path.join(tmp, "scene.mp4")
        cmd = [exe, "-hide_banner", "-loglevel", "error", "-y", "-f", "rawvideo",
               "-pix_fmt", "rgb24", "-s", f"{w}x{h}", "-r", f"{fps:g}", "-i", "-",
               *(["-vf", "pad=ceil(iw/2)*2:ceil(ih/2)*2"] if w % 2 or h % 2 else []),
               "-an", "-c:v", "libx264", "-pix_fmt", "yuv420p", "-preset", "medium",
               "-crf", "20", "-movflags", "+faststart", path]
        with open(os.path.join(tmp, "ffmpeg.log"), "w+b") as log:
            proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL,
                                    stderr=log)
            assert proc.stdin is not None
            try:
                data = b""
                for image in images:
                    data = image.tobytes()
                    proc.stdin.write(data)
                for _ in range(hold):
                    proc.stdin.write(data)
                proc.stdin.close()
            except BrokenPipeError:
                pass
            finally:
                code = proc.wait()
            if code != 0:
                log.seek(0)
                msg = log.read().decode(errors="replace").strip().splitlines()
                raise RuntimeError(f"ffmpeg failed: {msg[-1] if msg else f'exit status {code}'}")
        with open(path, "rb") as fh:
            return fh.read()


def render_mp4(
    scenario: Scenario,
    traj: Trajectories,
    progress: Progress | None = None,
    fps: float = DEFAULT_FPS,
    size: int = DEFAULT_SIZE,
    frames: int = DEFAULT_FRAMES,
    *,
    width: int | None = None,
    duration: float | None = None,
) -> bytes:
    """The animated scene as an H.264 MP4 (the last frame held ~2 s); ``width`` and
    ``duration`` (``round(duration * fps)`` frames at ``fps``): see the module docstring.
    Raises ``RuntimeError`` when :func:`mp4_available` is False."""
    fps, frames, width, duration = _check(fps, frames, progress, width, duration)
    exe = _ffmpeg()
    if exe is None:
        raise RuntimeError("MP4 export needs the imageio-ffmpeg package (pip install "
                           "imageio-ffmpeg); GIF works without it")
    renderer = scene_renderer(scenario, traj, size, width)
    size_px = (renderer.layout.width, renderer.layout.height)
    if duration is None:
        ks = _steps(renderer.n_steps, frames, False)
    else:
        ks = _steps(renderer.n_steps, min(MAX_MP4_FRAMES, max(2, round(duration * fps))), True)
    data = _encode_mp4(exe, _frames(renderer, ks, progress, 1 - _ENCODE_SHARE), size_px,
                       fps, round(HOLD_SECONDS * fps))
    if progress is not None:
        progress(1.0)
    return data
