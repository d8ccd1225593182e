"""Pure Plotly figure builders for optviz: plain numpy data in, ``go.Figure`` out.

They import only plotly, numpy, contourpy, Pillow and :mod:`optviz.geometry` (ticks, far-point
pull and aspect rule, shared with the Pillow renderer :mod:`optviz.render`), never torch,
Streamlit or the optviz core, so the app converts its results to :class:`Landscape` and
:class:`Track` first.

* :func:`trajectory_figure`: the animated race over the landscape (Play / Pause, speed,
  step slider; the landscape is a picture so that it survives animation).
* :func:`loss_figure`: loss (or gap to the minimum) per step, log scale where possible.
* :func:`clicked_point`: the start point a click on the trajectory figure's click grid picked.
"""

from .animation import CLICK_GRID_NAME, PLAY_GROUP, SPEEDS, clicked_point, trajectory_figure
from .curves import loss_figure, thin_minmax
from .data import Landscape, Track, divergence_note, divergence_notes, frame_steps
from .landscape import (
    color_scale,
    colorbar_ticks,
    colorbar_trace,
    isoline_trace,
    isolines,
    landscape_image,
    simplify,
)

__all__ = [
    "CLICK_GRID_NAME",
    "PLAY_GROUP",
    "SPEEDS",
    "Landscape",
    "Track",
    "clicked_point",
    "color_scale",
    "colorbar_ticks",
    "colorbar_trace",
    "divergence_note",
    "divergence_notes",
    "frame_steps",
    "isoline_trace",
    "isolines",
    "landscape_image",
    "loss_figure",
    "simplify",
    "thin_minmax",
    "trajectory_figure",
]
