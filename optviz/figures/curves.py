r"""Loss per step for every run: one line per track, in the track's colour and label.

The y axis is logarithmic when it can be: with the literature minimum :math:`f^*` known, the
plot shows the gap :math:`f(x_k) - f^*`, which is positive even on surfaces whose minimum is
negative; without it, the loss itself when no value is negative, else a linear axis (the title
says why). On a log axis values are floored at :math:`10^{-16}\max(1, |f^*|)`, the resolution
of float64 there, so a run that reaches the minimum exactly stays on the plot. Long runs are
thinned to ``max_points`` per run keeping each bucket's minimum and maximum, so oscillations
keep their envelope.
"""

from __future__ import annotations

from collections.abc import Sequence
from itertools import pairwise
from typing import Any

import numpy as np
import plotly.graph_objects as go

from .data import (
    Track,
    divergence_note,
    escape,
    legend_entries,
    legend_names,
    legend_rows,
    sig_list,
)

__all__ = ["loss_figure", "thin_minmax"]


#: Width the legend wraps at: the narrowest column the app gives this chart.
LEGEND_WIDTH_PX = 280

def thin_minmax(values: np.ndarray, max_points: int) -> np.ndarray:
    """Indices of at most ``max_points`` samples of ``values``: first, last, and the min and
    max of each of ``max_points // 2`` equal buckets (NaN-aware); all indices if few enough."""
    n = len(values)
    if n <= max_points:
        return np.arange(n)
    n_buckets = max(1, (max_points - 2) // 2)
    edges = np.linspace(0, n, n_buckets + 1).astype(int)
    keep = [0, n - 1]
    for a, b in pairwise(edges.tolist()):
        seg = values[a:b]
        ok = np.isfinite(seg)
        if not ok.any():
            continue
        idx = np.flatnonzero(ok)
        keep += [a + idx[np.argmin(seg[ok])], a + idx[np.argmax(seg[ok])]]
    return np.unique(np.asarray(keep, dtype=int))


def loss_figure(
    tracks: Sequence[Track],
    *,
    minimum_value: float | None = None,
    log_y: bool = True,
    height: int = 320,
    max_points: int = 1000,
    cursor_step: int | None = None,
    title: str = "Loss per step",
) -> go.Figure:
    """Loss (or gap to ``minimum_value``) against the optimizer step, one line per track.

    A diverged run stops at its last finite value, marked with a ✗ whose hover gives the
    divergence note. ``log_y=False`` forces a linear axis. ``cursor_step`` draws a dashed
    vertical line at that step (for an app that shows a chosen step).
    """
    known = minimum_value is not None and bool(np.isfinite(minimum_value))
    shift = float(minimum_value) if known and minimum_value is not None else 0.0
    series = [np.asarray(t.loss[: t.last_finite + 1], dtype=float) - shift for t in tracks]
    finite = np.concatenate([s[np.isfinite(s)] for s in series]) if series else np.zeros(0)
    # with f* known, values below it are rounding (or f* rounded): they sit on the floor
    use_log = bool(log_y) and (known or bool(np.all(finite >= 0)))
    if use_log:
        floor = 1e-16 * max(1.0, abs(shift))
        series = [np.maximum(s, floor) for s in series]
    what = "loss − f*" if shift != 0 else "loss"
    note = f" (gap to the minimum f* = {shift:.6g})" if shift != 0 else ""
    if log_y and not use_log:
        note = " (linear: the loss goes below 0)"

    y_range = _y_range(tracks, series, use_log)
    y_top = None if y_range is None else (10 ** y_range[1] if use_log else y_range[1])
    fig = go.Figure()
    n_steps = max((t.steps for t in tracks), default=1)
    for track, y, (key, in_legend) in zip(tracks, series, legend_entries(tracks), strict=True):
        name, label = escape(track.legend_name), escape(track.label)
        idx = thin_minmax(y, max_points)
        tmpl = f"<b>{label}</b><br>step %{{x}}<br>{what}=%{{y:.4g}}<extra></extra>"
        contiguous = len(idx) == len(y)
        fig.add_trace(go.Scatter(
            x=None if contiguous else idx.tolist(), x0=0, dx=1, y=sig_list(y[idx], 5),
            mode="lines", name=name, legendgroup=key, showlegend=in_legend,
            line=dict(color=track.color, width=1.8), hovertemplate=tmpl))
        note_text = divergence_note(track)
        if note_text and len(y):
            y_end = y[-1:] if y_top is None else np.minimum(y[-1:], y_top)  # ✗ stays in view
            fig.add_trace(go.Scatter(
                x=[len(y) - 1], y=sig_list(y_end, 5), mode="markers", name=name,
                legendgroup=key, showlegend=False, cliponaxis=False,
                marker=dict(symbol="x", size=11, color=track.color,
                            line=dict(color="white", width=1)),
                hovertemplate=f"{escape(note_text)}<extra></extra>"))
    yaxis: dict[str, Any] = dict(
        title=dict(text=what), type="log" if use_log else "linear", exponentformat="power",
        showgrid=True, gridcolor="#eee", zeroline=False, showline=True, linecolor="#999",
        ticks="outside", ticklen=4)
    if y_range is not None:
        yaxis.update(range=y_range, autorange=False)
    if cursor_step is not None:
        fig.add_vline(x=cursor_step, line=dict(color="#555", width=1, dash="dash"))
    fig.update_layout(
        height=height, template="none",
        # the legend sits under the x axis (above, in a narrow column, it ran into the title)
        margin=dict(l=64, r=16, t=40,
                    b=56 + 24 * legend_rows(legend_names(tracks), LEGEND_WIDTH_PX)),
        font=dict(family="Inter, Segoe UI, Helvetica, Arial, sans-serif", size=12, color="#222"),
        title=dict(text=f"<b>{escape(title)}</b>{escape(note)}", x=0, xref="container",
                   xanchor="left", y=1, yref="container", yanchor="top", pad=dict(t=10, l=12),
                   font=dict(size=14)),
        legend=dict(orientation="h", x=0, xanchor="left", yref="container", y=0,
                    yanchor="bottom", bgcolor="rgba(0,0,0,0)"),
        hovermode="closest", plot_bgcolor="white",
        xaxis=dict(title=dict(text="step", standoff=6), range=[0, max(n_steps, 1)],
                   showgrid=True, gridcolor="#eee", zeroline=False, showline=True,
                   linecolor="#999", ticks="outside", ticklen=4),
        yaxis=yaxis,
    )
    return fig


def _y_range(tracks: Sequence[Track], series: Sequence[np.ndarray],
             use_log: bool) -> list[float] | None:
    """A y range that a diverging run cannot blow up: up to a bit above the largest value of
    the runs that did not diverge (or the starting values), ``None`` (autorange) if no run
    diverged or no bound is needed."""
    kept = [s for t, s in zip(tracks, series, strict=True) if t.diverged_at < 0 and len(s)]
    kept += [s[:1] for t, s in zip(tracks, series, strict=True) if t.diverged_at >= 0 and len(s)]
    if not kept or all(t.diverged_at < 0 for t in tracks):
        return None
    ref = np.concatenate(kept)
    ref = ref[np.isfinite(ref) & ((ref > 0) if use_log else True)]
    every = np.concatenate([s[np.isfinite(s)] for s in series])
    every = every[every > 0] if use_log else every
    if ref.size == 0 or every.size == 0 or every.max() <= ref.max():
        return None
    lo, hi = float(every.min()), float(ref.max())
    if use_log:
        return [np.log10(lo) - 0.3, np.log10(hi) + 1.0]
    pad = 0.1 * (hi - lo or 1.0)
    return [lo - pad, hi + 4 * pad]
