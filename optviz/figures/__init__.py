"""Pure Plotly figure builders for optviz: plain numpy data in, ``go.Figure`` out.

They import only plotly, numpy, contourpy, Pillow and :mod:`optviz.geometry` (ticks, far-point
pull and aspect rule, shared with the Pillow renderer :mod:`optviz.render`), never torch,
Streamlit or the optviz core, so the app converts its results to :class:`Landscape` and
:class:`Track` first.

* :func:`loss_figure`: loss (or gap to the minimum) per step, log scale where possible.
* :func:`race_payload`: the JSON the JavaScript race player (``optviz/web/player.js``) draws.
"""

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
from .player import race_payload

__all__ = [
    "Landscape",
    "Track",
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
    "race_payload",
    "simplify",
    "thin_minmax",
]
