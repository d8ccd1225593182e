"""Exports of a scene: what the app's download buttons and ``python -m optviz run`` write.

=========  ===============================================  ========================  =====
format     function                                         what                      speed
=========  ===============================================  ========================  =====
``html``   :func:`export_html` ``(scenario, traj) -> str``  animated figure, offline  ~1 s
``gif``    :func:`render_gif` ``(..., progress) -> bytes``  animation, loops          ~2 s
``mp4``    :func:`render_mp4` ``(..., progress) -> bytes``  H.264 (imageio-ffmpeg)    ~3 s
``png``    :func:`render_png` ``(scenario, traj) -> bytes`` final frame               <1 s
``csv``    :func:`trajectories_csv` ``-> str``              one row per run/start/step ~6 MB/s
``json``   :func:`trajectories_json` ``-> str``             scene + per-track arrays  ~10 MB/s
=========  ===============================================  ========================  =====

plus :func:`scene_json` (the scene alone, read back by ``Scenario.from_json``) and
:func:`pytorch_script` (one run as a plain-PyTorch script). :func:`export` dispatches on the
format name; :data:`FORMATS` says each format's MIME type, whether it is slow and what file name
suits it (:func:`file_name`).

The app's downloads go through :mod:`optviz.exports.budget`: a byte budget (a CSV or JSON over
25 MB keeps every k-th step, saying so), a drawing budget for pictures and a time limit.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from optviz.arguments import real, whole
from optviz.exports.html import export_html
from optviz.exports.media import (
    MAX_DURATION,
    MAX_WIDTH,
    MIN_DURATION,
    MIN_WIDTH,
    mp4_available,
    render_gif,
    render_mp4,
    render_png,
)
from optviz.exports.pytorch import pytorch_script
from optviz.exports.tables import scene_json, trajectories_csv, trajectories_json
from optviz.runner import Trajectories
from optviz.scene import Scenario
from optviz.scene.problems import need, show
from optviz.views import matched

__all__ = [
    "FORMATS",
    "ExportFormat",
    "export",
    "export_html",
    "file_name",
    "mp4_available",
    "pytorch_script",
    "render_gif",
    "render_mp4",
    "render_png",
    "scene_json",
    "trajectories_csv",
    "trajectories_json",
]

Progress = Callable[[float], None]


@dataclass(frozen=True)
class ExportFormat:
    """One export format: file extension, MIME type, a label for a button, and whether it
    takes seconds (then it reports progress)."""

    ext: str
    mime: str
    label: str
    slow: bool


FORMATS: dict[str, ExportFormat] = {
    "html": ExportFormat("html", "text/html", "Animated figure (HTML, works offline)", False),
    "gif": ExportFormat("gif", "image/gif", "Animation (GIF)", True),
    "mp4": ExportFormat("mp4", "video/mp4", "Animation (MP4)", True),
    "png": ExportFormat("png", "image/png", "Final frame (PNG)", False),
    "csv": ExportFormat("csv", "text/csv", "Trajectories (CSV)", False),
    "json": ExportFormat("json", "application/json", "Trajectories (JSON)", False),
}


def export(
    fmt: str, scenario: Scenario, traj: Trajectories, progress: Progress | None = None, *,
    width: int | None = None, duration: float | None = None, every: int = 1,
) -> bytes:
    """The file of format ``fmt`` (a key of :data:`FORMATS`) as bytes (text in UTF-8).

    ``progress(fraction)`` is called during GIF and MP4 rendering (each frame) and CSV and
    JSON writing (each track), and with 1.0 at the end; it may raise to stop the export.
    ``width`` (pixels, 320-1920) sizes GIF, MP4 and PNG pictures and ``duration`` (seconds,
    1-60) times GIF and MP4 animations (see :mod:`optviz.exports.media`); ``every=k`` keeps
    every k-th step (and the last) of a CSV or JSON (see :mod:`optviz.exports.tables`); other
    formats ignore them. The app decides these with :mod:`optviz.exports.budget` (a byte
    budget, a drawing budget and a time limit). Raises ``ValueError`` for an
    unknown format or a bad width or duration (naming it) and ``RuntimeError`` for MP4
    without its encoder; ``TypeError`` for a wrong argument type.
    """
    need("fmt", fmt, str, "a format name (a string)")
    if fmt not in FORMATS:
        raise ValueError(f"unknown export format {show(fmt)} (known: {', '.join(FORMATS)})")
    matched(scenario, traj)
    if progress is not None and not callable(progress):
        raise TypeError(f"progress must be a function or None, got {type(progress).__name__}")
    if width is not None:
        width = whole("width", width, MIN_WIDTH, MAX_WIDTH)
    if duration is not None:
        duration = real("duration", duration, MIN_DURATION, MAX_DURATION)
    if fmt == "gif":
        return render_gif(scenario, traj, progress, width=width, duration=duration)
    if fmt == "mp4":
        return render_mp4(scenario, traj, progress, width=width, duration=duration)
    if fmt in ("csv", "json"):
        every = whole("every", every, 1, 10**9)
        maker = trajectories_csv if fmt == "csv" else trajectories_json
        data: str | bytes = maker(scenario, traj, every, progress)
    else:
        data = export_html(scenario, traj) if fmt == "html" else render_png(scenario, traj,
                                                                             width=width)
    if progress is not None:
        progress(1.0)
    return data.encode("utf-8") if isinstance(data, str) else data


def file_name(scenario: Scenario, ext: str, suffix: str = "") -> str:
    """A download name such as ``optviz-rosenbrock.gif`` (``optviz-custom-run2.py``)."""
    need("scenario", scenario, Scenario, "a Scenario")
    need("ext", ext, str, "a file extension (a string)")
    need("suffix", suffix, str, "a string")
    if not re.fullmatch(r"[A-Za-z0-9]{1,8}", ext):
        raise ValueError(f"ext must be 1 to 8 letters or digits, got {show(ext)}")
    if not re.fullmatch(r"[A-Za-z0-9_.-]{0,40}", suffix):
        raise ValueError(f"suffix must be at most 40 letters, digits, '_', '.' or '-', got "
                         f"{show(suffix)}")
    if not isinstance(scenario.surface, str):
        raise ValueError(f"scenario.surface must be a name, got {show(scenario.surface)}")
    stem = re.sub(r"[^a-z0-9_]+", "-", scenario.surface.lower()).strip("-") or "scene"
    return f"optviz-{stem}{suffix}.{ext}"
