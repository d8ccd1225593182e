"""GIF, MP4 and PNG of a scene, drawn by :mod:`optviz.render` (Pillow; no browser).

The landscape is sampled once per plot pixel with the surface's own formula and coloured by the
figures' mapping, so the pictures match the app's animated figure. Frames are the steps of
:func:`optviz.figures.frame_steps` (about 100, evenly spread); the last one is held a moment.
MP4 needs the ``imageio-ffmpeg`` package (its wheel ships an ffmpeg binary); without it
:func:`mp4_available` is False and :func:`render_mp4` raises ``RuntimeError``.
"""

from __future__ import annotations

import io
import os
import subprocess
import tempfile
from collections.abc import Callable, Iterable, Iterator

import numpy as np
from PIL import Image

from optviz.arguments import real, whole
from optviz.figures import Landscape, frame_steps
from optviz.render import MAX_SIZE, MIN_SIZE, FrameRenderer, LegendEntry, SceneLayout, plan_layout
from optviz.runner import Trajectories
from optviz.scene import Scenario
from optviz.surfaces import Surface
from optviz.views import matched, tracks_for

__all__ = [
    "DEFAULT_FPS",
    "DEFAULT_FRAMES",
    "DEFAULT_SIZE",
    "mp4_available",
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


def scene_renderer(scenario: Scenario, traj: Trajectories, size: int = DEFAULT_SIZE
                   ) -> FrameRenderer:
    """A :class:`~optviz.render.FrameRenderer` for the scene (one legend entry per run);
    ``size`` (the plot's longer side in pixels) is in ``[MIN_SIZE, MAX_SIZE]``."""
    matched(scenario, traj)
    size = whole("size", size, MIN_SIZE, MAX_SIZE)
    surface = scenario.resolve_surface()
    legend = _legend(scenario)
    layout = plan_layout(*surface.domain, legend=legend, size=size)
    return FrameRenderer(layout, _landscape_on(surface, layout), tracks_for(scenario, traj),
                         legend, starts=scenario.starts)


def _frames(renderer: FrameRenderer, n_frames: int, progress: Progress | None,
            share: float) -> Iterator[Image.Image]:
    """The frames at :func:`frame_steps`, reporting ``progress`` scaled into ``[0, share]``."""

    def scaled(fraction: float) -> None:
        if progress is not None:
            progress(fraction * share)

    ks = frame_steps(renderer.n_steps, max(2, n_frames))
    return renderer.frames(ks, scaled)


def _check(fps: float, n_frames: int, progress: Progress | None) -> None:
    real("fps", fps, 1, 60)
    whole("frames", n_frames, 2, MAX_FRAMES)
    if progress is not None and not callable(progress):
        raise TypeError(f"progress must be a function or None, got {type(progress).__name__}")


def render_gif(
    scenario: Scenario,
    traj: Trajectories,
    progress: Progress | None = None,
    fps: float = DEFAULT_FPS,
    size: int = DEFAULT_SIZE,
    frames: int = DEFAULT_FRAMES,
) -> bytes:
    """The animated scene as a looping GIF (one shared 255-colour palette, no dithering, so
    the landscape does not shimmer). ``progress(fraction)`` is called after every frame and
    with 1.0 when the file is ready. About 1-3 s for the default scene."""
    _check(fps, frames, progress)
    renderer = scene_renderer(scenario, traj, size)
    # The last frame shows every path, head and ✗: its palette serves all frames. 255 colours
    # leave an index free, which Pillow's optimize uses to make unchanged pixels transparent
    # (a tenth of the size; decoding gives the frames back exactly).
    last = renderer.frame(renderer.n_steps)
    palette = last.quantize(colors=255, method=Image.Quantize.MEDIANCUT)
    indexed = [im.quantize(palette=palette, dither=Image.Dither.NONE)
               for im in _frames(renderer, frames, progress, 1 - _ENCODE_SHARE)]
    ms = round(1000 / fps)
    durations = [ms] * len(indexed)
    durations[-1] = max(ms, round(HOLD_SECONDS * 1000))
    buf = io.BytesIO()
    indexed[0].save(buf, format="GIF", save_all=True, append_images=indexed[1:],
                    duration=durations, loop=0, optimize=True, disposal=1)
    if progress is not None:
        progress(1.0)
    return buf.getvalue()


def render_png(scenario: Scenario, traj: Trajectories, size: int = DEFAULT_SIZE) -> bytes:
    """The final frame (every path drawn to its end) as a PNG."""
    renderer = scene_renderer(scenario, traj, size)
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
) -> bytes:
    """The animated scene as an H.264 MP4 (the last frame held ~2 s). Raises ``RuntimeError``
    when :func:`mp4_available` is False."""
    _check(fps, frames, progress)
    exe = _ffmpeg()
    if exe is None:
        raise RuntimeError("MP4 export needs the imageio-ffmpeg package (pip install "
                           "imageio-ffmpeg); GIF works without it")
    renderer = scene_renderer(scenario, traj, size)
    size_px = (renderer.layout.width, renderer.layout.height)
    data = _encode_mp4(exe, _frames(renderer, frames, progress, 1 - _ENCODE_SHARE), size_px,
                       fps, round(HOLD_SECONDS * fps))
    if progress is not None:
        progress(1.0)
    return data


