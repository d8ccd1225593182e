"""Looks the app adds on top of the figures: classroom (projector) sizes and the page's CSS.

:func:`enlarge` is a pure function on a Plotly figure (no Streamlit): line widths and marker
sizes and the title times ``factor``, in the static traces and in every animation frame.
"""

from __future__ import annotations

import string
from typing import Any

import plotly.graph_objects as go

from optviz.figures import CLICK_GRID_NAME


def _scaled(value: Any, factor: float) -> Any:
    if isinstance(value, int | float) and not isinstance(value, bool):
        return round(value * factor, 2)
    return value


def _font(font: Any, factor: float, default: float = 12) -> dict[str, Any]:
    size = getattr(font, "size", None) if font is not None else None
    return {"size": _scaled(size if size is not None else default, factor)}


def enlarge(fig: go.Figure, factor: float) -> go.Figure:
    """Scale ``fig``'s lines, markers and title by ``factor`` for a projector, in place.

    Other text keeps its size: the figures size their margins and legend rows for their own
    fonts (the page's text is enlarged with CSS instead).
    """
    fig.update_layout(title_font=_font(fig.layout.title.font, factor, 15))
    for trace in fig.data:
        if trace.name == CLICK_GRID_NAME:
            continue
        line = getattr(trace, "line", None)
        if line is not None and line.width:
            line.width = _scaled(line.width, factor)
        marker = getattr(trace, "marker", None)
        if marker is not None and isinstance(marker.size, int | float):
            marker.size = _scaled(marker.size, factor)
    for frame in fig.frames or ():
        for item in frame.data or ():
            marker = getattr(item, "marker", None)
            if marker is not None and isinstance(marker.size, int | float):
                marker.size = _scaled(marker.size, factor)
    return fig


#: Page CSS: a little tighter than Streamlit's defaults so the race fits a laptop screen.
BASE_CSS = """
<style>
.block-container {padding-top: 3.6rem; padding-bottom: 2rem;}
section[data-testid="stSidebar"] h3 {margin-top: 0.4rem;}
section[data-testid="stSidebar"] .katex-display {overflow-x: auto; overflow-y: hidden;
  padding: 0.2rem 0; font-size: 0.92em;}
.stAppDeployButton {display: none;}
div[data-testid="stExpander"] details summary p {font-weight: 600;}
</style>
"""

#: Classroom mode: larger text everywhere for a projector.
CLASSROOM_CSS = """
<style>
[data-testid="stMain"] .stMarkdown p, [data-testid="stMain"] .stMarkdown li,
[data-testid="stMain"] .stAlert p {font-size: 1.25rem !important; line-height: 1.5;}
[data-testid="stMain"] h4 {font-size: 1.6rem !important;}
[data-testid="stSidebar"] label p {font-size: 1.05rem !important;}
</style>
"""


_MARKDOWN_SPECIALS = frozenset(string.punctuation)


def md_escape(text: str) -> str:
    """``text`` shown literally inside Streamlit Markdown (formulas like ``x**2``, labels like
    ``[click me](https://…)``, ``__import__``): every ASCII punctuation character is
    backslash-escaped, which CommonMark guarantees to show literally. That also breaks what
    escaping single characters cannot: bare-URL autolinks (``http\\://``, ``www\\.``),
    e-mail links (``\\@``), Streamlit's ``:red[…]``/``:material/…:`` directives and ``$``
    LaTeX. Prefer elements that do not parse Markdown (``st.text``, dataframe cells) for user
    text; use this where a Markdown element is the only fit (alerts, captions)."""
    return "".join("\\" + c if c in _MARKDOWN_SPECIALS else c for c in str(text))
