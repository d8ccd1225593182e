"""The learning rate against the step under a run's schedule: a small line chart.

Pure Plotly: the values come in (``optviz.optimizers.schedules.learning_rates``), a figure
goes out. Long runs are thinned to ``max_points`` evenly spaced steps (first and last kept);
a schedule is smooth or piecewise constant, so nothing that matters is lost at that size.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import plotly.graph_objects as go

__all__ = ["lr_figure"]

HEIGHT_PX = 170


def lr_figure(lrs: Sequence[float], color: str = "#0057ff", max_points: int = 400) -> go.Figure:
    """``γ_t`` for ``t = 0..len(lrs) − 1`` as one line in ``color``, step on x, γ on y."""
    values = np.asarray(lrs, dtype=float)
    steps = np.arange(len(values))
    if len(values) > max_points:
        keep = np.unique(np.linspace(0, len(values) - 1, max_points).round().astype(int))
        steps, values = steps[keep], values[keep]
    fig = go.Figure(go.Scatter(
        x=steps.tolist(), y=values.tolist(), mode="lines",
        line={"color": color, "width": 2, "shape": "hv"},
        hovertemplate="step %{x}<br>γ = %{y:.4g}<extra></extra>", showlegend=False))
    fig.update_layout(
        height=HEIGHT_PX, margin={"l": 8, "r": 12, "t": 26, "b": 8},
        title={"text": "learning rate γ by step", "font": {"size": 12}, "x": 0.02},
        plot_bgcolor="white", paper_bgcolor="white",
        xaxis={"title": None, "showgrid": True, "gridcolor": "#eee", "zeroline": False,
               "automargin": True},
        yaxis={"title": None, "showgrid": True, "gridcolor": "#eee", "rangemode": "tozero",
               "exponentformat": "e", "tickformat": ".2~g", "automargin": True, "nticks": 4},
    )
    return fig
