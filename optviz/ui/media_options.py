"""The GIF / MP4 options of the export section: the picture's width and the race's duration.

:func:`media_options` draws a width select (640 or 1280 px) and a duration input (seconds) and
returns them as keyword arguments of :func:`optviz.exports.export` (``width=``, ``duration=``).
"""

from __future__ import annotations

import streamlit as st

from optviz.exports.media import (
    DEFAULT_DURATION,
    DEFAULT_WIDTH,
    MAX_DURATION,
    MIN_DURATION,
    WIDTH_CHOICES,
)

__all__ = ["DURATION_KEY", "WIDTH_KEY", "media_options"]

WIDTH_KEY = "optviz.media_width"
DURATION_KEY = "optviz.media_duration"


def media_options() -> dict[str, int | float]:
    """Width and duration controls side by side; ``{"width": px, "duration": seconds}``."""
    c1, c2 = st.columns(2)
    with c1:
        width = st.selectbox(
            "Width", WIDTH_CHOICES, index=WIDTH_CHOICES.index(DEFAULT_WIDTH), key=WIDTH_KEY,
            format_func=lambda w: f"{w} px",
            help="Width of the GIF or MP4 picture; text and lines are drawn to match.")
    with c2:
        duration = st.number_input(
            "Duration (s)", min_value=MIN_DURATION, max_value=MAX_DURATION,
            value=DEFAULT_DURATION, step=1, key=DURATION_KEY,
            help="How long the race takes in the GIF or MP4 (the last frame is then held "
                 "a moment).")
    return {"width": int(width if width is not None else DEFAULT_WIDTH),
            "duration": float(duration if duration is not None else DEFAULT_DURATION)}
