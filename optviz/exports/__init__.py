"""Exports of a scene: what the app's download buttons and ``python -m optviz run`` write.

=========  ===============================================  ========================  =====
format     function                                         what                      speed
=========  ===============================================  ========================  =====
``html``   :func:`export_html` ``(scenario, traj) -> str``  animated figure, offline  ~1 s
``gif``    :func:`render_gif` ``(..., progress) -> bytes``  animation, loops          ~2 s
``mp4``    :func:`render_mp4` ``(..., progress) -> bytes``  H.264 (imageio-ffmpeg)    ~3 s
``png``    :func:`render_png` ``(scenario, traj) -> bytes`` final frame               <1 s
``csv``    :func:`trajectories_csv` ``-> str``              one row per run/start/step fast
``json``   :func:`trajectories_json` ``-> str``             scene + per-track arrays  fast
=========  ===============================================  ========================  =====

plus :func:`scene_json` (the scene alone, read back by ``Scenario.from_json``) and
:func:`pytorch_script` (one run as a plain-PyTorch script). :func:`export` dispatches on the
format name; :data:`FORMATS` says each format's MIME type, whether it is slow and what file name
suits it (:func:`file_name`).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from optviz.exports.html import export_html
from optviz.exports.media import mp4_available, render_gif, render_mp4, render_png
from optviz.exports.pytorch import pytorch_script
from optviz.exports.tables import scene_json, trajectories_csv, trajectories_json
from optviz.runner import Trajectories
from optviz.scene import Scenario

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
    fmt: str, scenario: Scenario, traj: Trajectories, progress: Progress | None = None
) -> bytes:
    """The file of format ``fmt`` (a key of :data:`FORMATS`) as bytes (text in UTF-8).

    ``progress(fraction)`` is called during GIF and MP4 rendering; the others finish at once
    (it is then called once with 1.0). Raises ``ValueError`` for an unknown format and
    ``RuntimeError`` for MP4 without its encoder.
    """
    if fmt == "gif":
        return render_gif(scenario, traj, progress)
    if fmt == "mp4":
        return render_mp4(scenario, traj, progress)
    makers: dict[str, Callable[[Scenario, Trajectories], str | bytes]] = {
        "html": export_html, "png": render_png, "csv": trajectories_csv,
        "json": trajectories_json,
    }
    if fmt not in makers:
        raise ValueError(f"unknown export format {fmt!r} (known: {', '.join(FORMATS)})")
    data = makers[fmt](scenario, traj)
    if progress is not None:
        progress(1.0)
    return data.encode("utf-8") if isinstance(data, str) else data


def file_name(scenario: Scenario, ext: str, suffix: str = "") -> str:
    """A download name such as ``optviz-rosenbrock.gif`` (``optviz-custom-run2.py``)."""
    stem = re.sub(r"[^a-z0-9_]+", "-", scenario.surface.lower()).strip("-") or "scene"
    return f"optviz-{stem}{suffix}.{ext}"
