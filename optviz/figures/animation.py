r"""The animated figure: runs racing over the landscape, with Play / Pause, speed and a slider.

Design, forced by plotly.js and by the payload budget:

* The landscape is a ``layout.images`` picture and the isolines one scatter trace
  (see :mod:`optviz.figures.landscape`); frames never touch them, so they survive Play.
* Frames carry only what moves, and only what changed. Each run's path is drawn by
  ``n_blocks + 2`` line traces: *blocks* (finished parts of the race, one trace each, filled
  once), *recent* (from the start of the current block to the start of the current chunk) and
  *tip* (from there to the frame's step). Plotly's ``baseframe`` chains do the bookkeeping:
  frame ``"123"`` (group ``"steps"``) holds the tip and the head marker and names
  ``"chunk-c"`` as its base; ``"chunk-c"`` holds *recent* and names ``"block-s"``;
  ``"block-s"`` adds block ``s - 1`` to ``"block-(s-1)"``, and ``"block-0"`` empties
  everything. So every frame resolves to the full state (the slider can jump anywhere), while a
  path point is sent about :math:`1 + m/2 + F/(2C)` times (F frames, C chunks, m chunks per
  block) instead of :math:`F/2` times: about 7 for 200 frames.
* plotly.js re-runs its defaults and calc steps on *every* trace at every frame, so the
  number of traces is kept small: per run ``n_blocks + 4`` (blocks, recent, tip, an invisible
  static hover trace, the head). Static traces are listed in ``"block-0"`` with empty updates
  so that each frame redraws them too: otherwise a click selection after Play throws inside
  plotly.js and never reaches Streamlit.
* Axes are fixed to the surface's domain (``autorange`` off); far-away points are pulled
  towards the window along their ray for drawing only, so a diverging run can neither rescale
  nor break the view.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import plotly.graph_objects as go

from optviz.geometry import equal_aspect as default_equal_aspect
from optviz.geometry import pull_far

from .data import (
    Landscape,
    Track,
    decimals_for,
    divergence_note,
    escape,
    frame_steps,
    legend_entries,
    legend_names,
    legend_rows,
    legend_width,
    round_list,
    sig_list,
)
from .landscape import colorbar_trace, isoline_trace, landscape_image, landscape_layout_image

__all__ = [
    "CLICK_GRID_NAME",
    "PLAY_GROUP",
    "clicked_point",
    "resolve_frame",
    "trajectory_figure",
]

#: ``name`` of the invisible scatter grid that turns a click into a start point.
CLICK_GRID_NAME = "click-grid"
#: Frame group the Play button animates (bookkeeping frames are in group ``"base"``).
PLAY_GROUP = "steps"
#: Speed buttons: label -> multiple of the frame rate.
SPEEDS = {"0.5×": 0.5, "1×": 1.0, "2×": 2.0, "4×": 4.0}

_UNSELECTED = dict(marker=dict(opacity=1.0))  # a click selection must not dim the markers
_HIDDEN = dict(marker=dict(opacity=0.0))
_NO_EXTRA = "<extra></extra>"
_MAX_NOTES = 4  # divergence notes written on the plot (all of them: divergence_notes())
# A trace emptied in a frame keeps its old drawing (plotly.js skips empty traces when it
# animates): "nothing" is one null point instead.
_EMPTY: dict[str, Any] = {"x": [None], "y": [None]}


@dataclass(frozen=True, eq=False)
class _Schedule:
    """Frames, chunks and blocks: which frame is in which chunk, which chunk in which block."""

    ks: np.ndarray  # step of each frame
    chunk_of: np.ndarray  # frame -> chunk
    block_of: np.ndarray  # chunk -> block
    chunk_start: list[int]  # first step of each chunk
    block_start: list[int]  # first step of each block, then the last step
    n_blocks: int

    @classmethod
    def build(cls, n_steps: int, max_frames: int, n_blocks: int | None = None) -> _Schedule:
        """Blocks default to the cube root of the frame count F and chunks to
        sqrt(F * blocks): about the fewest copies of each point for that many traces."""
        ks = frame_steps(n_steps, max_frames)
        n_frames = len(ks)
        blocks = max(1, min(n_frames, n_blocks or round(n_frames ** (1 / 3))))
        chunks = max(blocks, min(n_frames, round(math.sqrt(n_frames * blocks))))
        chunk_of = (np.arange(n_frames) * chunks) // n_frames
        block_of = (np.arange(chunks) * blocks) // chunks
        chunk_start = [int(ks[np.argmax(chunk_of == c)]) for c in range(chunks)]
        block_start = [chunk_start[int(np.argmax(block_of == b))] for b in range(blocks)]
        return cls(ks=ks, chunk_of=chunk_of, block_of=block_of, chunk_start=chunk_start,
                   block_start=[*block_start, n_steps], n_blocks=blocks)


@dataclass(frozen=True, eq=False)
class _Run:
    """Per-track data prepared once: line points (rounded plain lists), their steps, trace ids."""

    track: Track
    steps: np.ndarray  # step number of each line point (sorted)
    x: list[float | None]  # drawing coordinates of the line points
    y: list[float | None]
    last: int  # last drawn step (the last finite point), -1 if none
    stop: int  # first step at which the run shows as diverged (the ✗), -1 if never
    cross: tuple[float, float] | None  # where the ✗ goes
    first_id: int  # trace index of block 0; then the other blocks, recent, tip, hover, head
    n_blocks: int

    @property
    def block_ids(self) -> list[int]:
        return list(range(self.first_id, self.first_id + self.n_blocks))

    @property
    def recent_id(self) -> int:
        return self.first_id + self.n_blocks

    @property
    def tip_id(self) -> int:
        return self.first_id + self.n_blocks + 1

    @property
    def head_id(self) -> int:
        return self.first_id + self.n_blocks + 3

    def line(self, lo: int, hi: int) -> dict[str, Any]:
        """Line points with ``lo <= step <= hi`` (and not past the last finite point)."""
        a = int(np.searchsorted(self.steps, lo, side="left"))
        b = int(np.searchsorted(self.steps, min(hi, self.last), side="right"))
        return {"x": self.x[a:b], "y": self.y[a:b]} if b > a else _EMPTY


def _cross_point(xy: np.ndarray, land: Landscape) -> tuple[float, float]:
    """Where to put the ✗: the last point if it is in view, else where the path last left the
    window (1 % inside its edge), else the last point clamped into the window."""
    (x0, x1), (y0, y1) = land.x_range, land.y_range
    pad = 0.01
    lo = np.array([x0 + pad * (x1 - x0), y0 + pad * (y1 - y0)])
    hi = np.array([x1 - pad * (x1 - x0), y1 - pad * (y1 - y0)])
    inside = np.all((xy >= lo) & (xy <= hi), axis=1)
    if inside[-1]:
        return float(xy[-1, 0]), float(xy[-1, 1])
    idx = np.flatnonzero(inside)
    if len(idx) == 0:
        p = np.clip(xy[-1], lo, hi)
        return float(p[0]), float(p[1])
    p, q = xy[idx[-1]], xy[idx[-1] + 1]
    d = q - p
    ts = [((hi[a] if d[a] > 0 else lo[a]) - p[a]) / d[a] for a in (0, 1) if d[a] != 0]
    t = min([1.0, *[v for v in ts if v >= 0]])
    out = p + t * d
    return float(out[0]), float(out[1])


def _prepare(track: Track, land: Landscape, ks: np.ndarray, stride: int, dec: int,
             first_id: int, n_blocks: int) -> _Run:
    last = track.last_finite
    stop = last + 1 if last < track.steps else -1
    steps = np.zeros(0, dtype=int)
    if last >= 0:
        steps = np.union1d(np.arange(0, last + 1, stride), np.append(ks[ks <= last], last))
    xy = pull_far(track.xy[steps], land.x_range, land.y_range)
    cross = _cross_point(track.xy[: last + 1], land) if (stop >= 0 and last >= 0) else None
    return _Run(track=track, steps=steps.astype(int), x=round_list(xy[:, 0], dec),
                y=round_list(xy[:, 1], dec), last=last, stop=stop, cross=cross,
                first_id=first_id, n_blocks=n_blocks)


def _head(run: _Run, k: int, dec: int) -> dict[str, Any]:
    """Head marker at step ``k``: the point itself, or the ✗ once the run has diverged."""
    diverged = run.stop >= 0 and k >= run.stop
    if run.last < 0:
        head: dict[str, Any] = {"x": [None], "y": [None], "customdata": [[0, None]]}
    elif diverged and run.cross is not None:
        head = {"x": round_list(np.array(run.cross[:1]), dec),
                "y": round_list(np.array(run.cross[1:]), dec),
                "customdata": [[run.last, sig_list(run.track.loss[[run.last]])[0]]]}
    else:
        s = min(k, run.last)
        i = int(np.searchsorted(run.steps, s))
        head = {"x": run.x[i : i + 1], "y": run.y[i : i + 1],
                "customdata": [[s, sig_list(run.track.loss[[s]])[0]]]}
    if run.stop >= 0:  # only runs that diverge change symbol and text
        head["marker"] = {"symbol": "x" if diverged else "circle", "size": 15 if diverged else 11}
        head["text"] = [f"diverged at step {run.stop}" if diverged else ""]
    return head


def _domain_axis(lo: float, hi: float, title: str) -> dict[str, Any]:
    return dict(range=[lo, hi], autorange=False, constrain="domain", showgrid=False,
                zeroline=False, ticks="outside", ticklen=4, title=dict(text=title, standoff=6),
                mirror=True, showline=True, linecolor="#999", linewidth=1)


def trajectory_figure(
    land: Landscape,
    tracks: Sequence[Track],
    starts: Sequence[Sequence[float]] | np.ndarray | None = None,
    *,
    max_frames: int = 200,
    frame_ms: int = 50,
    click_grid: int = 0,
    height: int = 640,
    width: int | None = None,
    equal_aspect: bool | None = None,
    colorscale: str | list = "Viridis",
    lighten: float = 0.45,
    n_levels: int = 15,
    colorbar: bool = True,
    show: Literal["end", "start"] = "end",
    max_path_points: int | None = None,
    n_blocks: int | None = None,
) -> go.Figure:
    """The animated figure: landscape, isolines, minima, starts, and every track racing.

    ``starts``: drawn as white-ringed start markers (default: each track's first point).
    ``max_frames``: frames are at ``frame_steps(steps, max_frames)``, from 0 to the last step.
    ``frame_ms``: frame duration at speed 1×. ``click_grid``: ``n`` adds an ``n × n``
    invisible scatter grid named :data:`CLICK_GRID_NAME` whose clicks give a start point (see
    :func:`clicked_point`); 0 for none. ``equal_aspect``: one unit is as long on both axes
    (default: when the domain's aspect ratio is within 1:2 .. 2:1); then ``width`` defaults to
    the width that fits the plot exactly (show it with ``width="content"`` in Streamlit),
    otherwise to the container's. ``show``: the state before Play, the end of the race
    (default) or its start. ``max_path_points``: longer runs are drawn (and hovered) every
    ``ceil(steps / max_path_points)``-th step, plus every frame step (default: 1000, fewer
    when there are more than 8 tracks, so that the payload stays about the same).
    ``n_blocks``: see the module docstring (a payload / frame-rate trade-off; default the cube
    root of the frame count).
    """
    if show not in ("end", "start"):
        raise ValueError("show must be 'end' or 'start'")
    (x0, x1), (y0, y1) = land.x_range, land.y_range
    dec = decimals_for(max(x1 - x0, y1 - y0))
    n_steps = max((t.steps for t in tracks), default=0)
    sched = _Schedule.build(n_steps, max_frames, n_blocks)
    if max_path_points is None:
        max_path_points = min(1000, max(150, 8000 // max(1, len(tracks))))
    stride = max(1, math.ceil(n_steps / max(1, max_path_points)))

    fig = go.Figure()
    if click_grid > 0:
        fig.add_trace(_click_grid_trace(land, click_grid))
    if n_levels > 0:
        fig.add_trace(isoline_trace(land, n_levels))
    if colorbar:
        fig.add_trace(colorbar_trace(land, colorscale, lighten))
    if land.minima:
        fig.add_trace(_points_trace(land.minima, "global minimum", dec, marker=dict(
            symbol="star", size=17, color="gold", line=dict(color="#333", width=1.2))))
    if land.saddles:
        fig.add_trace(_points_trace(land.saddles, "saddle point", dec, marker=dict(
            symbol="x", size=11, color="white", line=dict(color="#333", width=1))))
    if starts is None:
        starts = [t.xy[0] for t in tracks if np.isfinite(t.xy[0]).all()]
    start_arr = np.unique(np.asarray(starts, dtype=float).reshape(-1, 2), axis=0)
    if len(start_arr):
        fig.add_trace(_points_trace(start_arr, "start", dec, marker=dict(
            symbol="circle", size=11, color="#222", line=dict(color="white", width=2.5))))

    runs = []
    for track, (key, in_legend) in zip(tracks, legend_entries(tracks), strict=True):
        run = _prepare(track, land, sched.ks, stride, dec, len(fig.data), sched.n_blocks)
        runs.append(run)
        fig.add_traces(_run_traces(run, key, in_legend))

    frames = _frames(sched, runs, dec, n_traces=len(fig.data))
    active = len(sched.ks) - 1 if show == "end" else 0
    for tid, data in resolve_frame(frames, str(sched.ks[active])).items():
        fig.data[tid].update(data)
    fig.frames = frames

    if equal_aspect is None:
        equal_aspect = default_equal_aspect(land.x_range, land.y_range)
    layout, plot_h = _layout(land, legend_names(tracks), height=height, width=width,
                             equal_aspect=equal_aspect, colorbar=colorbar)
    notes = [n for n in (divergence_note(t) for t in tracks) if n]
    # paper y units are fractions of the plot height: the controls are placed in pixels
    layout.update(
        images=[landscape_layout_image(land, landscape_image(land, colorscale, lighten))],
        updatemenus=_menus(frame_ms, -48 / plot_h),
        sliders=[_slider(sched.ks, active, -88 / plot_h)],
        annotations=[_speed_label(-48 / plot_h),
                     *([_notes_annotation(notes, tracks)] if notes else [])],
    )
    fig.update_layout(layout)
    return fig


def resolve_frame(frames: Sequence[Mapping[str, Any]], name: str) -> dict[int, dict[str, Any]]:
    """What plotly.js applies for frame ``name`` (its ``computeFrame``): the frame merged over
    its ``baseframe`` chain, later frames winning, as ``{trace index: data}``."""
    by_name = {f["name"]: f for f in frames}
    chain = [by_name[name]]
    while "baseframe" in chain[-1] and chain[-1]["baseframe"] not in {f["name"] for f in chain}:
        chain.append(by_name[chain[-1]["baseframe"]])
    out: dict[int, dict[str, Any]] = {}
    for frame in reversed(chain):
        for tid, data in zip(frame["traces"], frame["data"], strict=True):
            out[tid] = {**out.get(tid, {}), **data}
    return out


def _layout(land: Landscape, names: Sequence[str], *, height: int, width: int | None,
            equal_aspect: bool, colorbar: bool) -> tuple[dict[str, Any], float]:
    """Layout without the controls, and the plot height in px.

    The legend (entries ``names``) goes above the plot while it fits in two rows, else in a
    column at the right. With ``equal_aspect`` and no ``width`` the figure is exactly as wide
    as the plot, colour bar and legend need, so nothing is left empty beside the plot.
    """
    (x0, x1), (y0, y1) = land.x_range, land.y_range
    aspect = (x1 - x0) / (y1 - y0)
    left, bottom, bar = 62, 118, (88 if colorbar else 24)
    fit = equal_aspect and width is None

    def plot_width(top: int, right: int) -> float:
        if fit:
            return max(height - top - bottom, 50) * aspect
        return (width or 760) - left - right

    rows = legend_rows(names, plot_width(36 + 28 * 2, bar))
    column = rows > 2
    if column:
        top, right = 40, bar + legend_width(names)
        legend = dict(orientation="v", xref="container", x=1, xanchor="right", yref="paper",
                      y=1, yanchor="top")
    else:
        top, right = 36 + 28 * legend_rows(names, plot_width(36 + 28 * rows, bar)), bar
        legend = dict(orientation="h", x=0, xanchor="left", y=1.005, yanchor="bottom")
    plot_h = float(max(height - top - bottom, 50))
    w = round(left + right + plot_h * aspect) if fit else width
    yaxis = _domain_axis(y0, y1, "y")
    if equal_aspect:
        yaxis.update(scaleanchor="x", scaleratio=1)
    layout = dict(
        height=height, width=w, template="none", margin=dict(l=left, r=right, t=top, b=bottom),
        font=dict(family="Inter, Segoe UI, Helvetica, Arial, sans-serif", size=12, color="#222"),
        paper_bgcolor="white", plot_bgcolor="white",
        title=dict(text=f"<b>{escape(land.title)}</b>" if land.title else "", x=0,
                   xref="container", xanchor="left", y=1, yref="container", yanchor="top",
                   pad=dict(t=10, l=12), font=dict(size=15)),
        xaxis=_domain_axis(x0, x1, "x"), yaxis=yaxis,
        legend=dict(legend, itemclick="toggle", itemdoubleclick="toggleothers",
                    bgcolor="rgba(0,0,0,0)"),
        hovermode="closest", hoverdistance=12, hoverlabel=dict(font=dict(size=12)),
        uirevision=f"{land.title}|{x0}|{x1}|{y0}|{y1}",
    )
    return layout, plot_h


def _run_traces(run: _Run, legend_key: str, in_legend: bool) -> list[go.Scatter]:
    """The run's traces, in the order of its ids: blocks, recent, tip, hover, head."""
    label, name = escape(run.track.label), escape(run.track.legend_name)
    line = dict(color=run.track.color, width=2.2)
    tmpl = (f"<b>{label}</b><br>step %{{customdata[0]}}<br>x=%{{x:.4g}}, y=%{{y:.4g}}"
            "<br>loss=%{customdata[1]:.4g}")
    group = dict(name=name, legendgroup=legend_key)
    lines = [go.Scatter(x=[], y=[], mode="lines", line=line, showlegend=False,
                        hoverinfo="skip", **group) for _ in range(run.n_blocks + 2)]
    hover = go.Scatter(  # invisible and static: hover labels along the whole path
        x=run.x, y=run.y, customdata=_customdata(run.track, run.steps), mode="markers",
        marker=dict(size=6, color=run.track.color, opacity=0, maxdisplayed=1),
        showlegend=False, hovertemplate=tmpl + _NO_EXTRA, selected=_HIDDEN,
        unselected=_HIDDEN, **group)
    head = go.Scatter(
        x=[], y=[], mode="lines+markers", line=line, showlegend=in_legend,
        marker=dict(symbol="circle", size=11, color=run.track.color,
                    line=dict(color="white", width=1.5)),
        text=[""], hovertemplate=tmpl + "<br>%{text}" + _NO_EXTRA, unselected=_UNSELECTED,
        **group)
    return [*lines, hover, head]


def _frames(sched: _Schedule, runs: Sequence[_Run], dec: int,
            n_traces: int) -> list[dict[str, Any]]:
    """Bookkeeping frames (group ``"base"``) then one frame per shown step (``PLAY_GROUP``).

    ``"block-0"`` also lists every static trace with an empty update: plotly.js recomputes
    all traces at each frame but redraws only the listed ones, and a trace left out loses its
    link to its drawing, so that a click selection after Play throws ("reading 'selectAll'")
    and never reaches Streamlit. Listed, they are redrawn unchanged (no data is sent).
    """
    bs, cs = sched.block_start, sched.chunk_start
    reset = [tid for run in runs for tid in (*run.block_ids, run.recent_id)]
    moving = set(reset) | {tid for run in runs for tid in (run.tip_id, run.head_id)}
    static = [tid for tid in range(n_traces) if tid not in moving]
    frames: list[dict[str, Any]] = [
        {"name": "block-0", "group": "base", "traces": reset + static,
         "data": [_EMPTY] * len(reset) + [{}] * len(static)}]
    for b in range(1, sched.n_blocks):
        frames.append({"name": f"block-{b}", "group": "base", "baseframe": f"block-{b - 1}",
                       "traces": [run.block_ids[b - 1] for run in runs],
                       "data": [run.line(bs[b - 1], bs[b]) for run in runs]})
    for c, b in enumerate(sched.block_of.tolist()):
        frames.append({"name": f"chunk-{c}", "group": "base", "baseframe": f"block-{b}",
                       "traces": [run.recent_id for run in runs],
                       "data": [run.line(bs[b], cs[c]) for run in runs]})
    for f, k in enumerate(sched.ks.tolist()):
        c = int(sched.chunk_of[f])
        ids: list[int] = []
        data: list[dict[str, Any]] = []
        for run in runs:
            ids += [run.tip_id, run.head_id]
            data += [run.line(cs[c], k), _head(run, k, dec)]
        frames.append({"name": str(k), "group": PLAY_GROUP, "baseframe": f"chunk-{c}",
                       "traces": ids, "data": data})
    return frames


def _customdata(track: Track, steps: np.ndarray) -> list[list[float | None]]:
    """Hover rows ``[step, loss]`` (loss to 4 significant digits)."""
    return [[s, v] for s, v in zip(steps.tolist(), sig_list(track.loss[steps]), strict=True)]


def _points_trace(points: Sequence[Sequence[float]] | np.ndarray, name: str, dec: int,
                  marker: dict[str, Any]) -> go.Scatter:
    arr = np.asarray(points, dtype=float).reshape(-1, 2)
    return go.Scatter(
        x=round_list(arr[:, 0], dec), y=round_list(arr[:, 1], dec), mode="markers", name=name,
        showlegend=False, marker=marker, unselected=_UNSELECTED,
        hovertemplate=f"{name}<br>x=%{{x:.4g}}, y=%{{y:.4g}}<extra></extra>")


def _nearest(grid: np.ndarray, values: np.ndarray) -> np.ndarray:
    """Index of the grid point nearest to each value (``grid`` increasing)."""
    i = np.clip(np.searchsorted(grid, values), 1, len(grid) - 1)
    return np.where(values - grid[i - 1] <= grid[i] - values, i - 1, i)


def _click_grid_trace(land: Landscape, n: int) -> go.Scatter:
    """``n × n`` transparent points at cell centres; hovering shows f, clicking picks a start."""
    (x0, x1), (y0, y1) = land.x_range, land.y_range
    gx = x0 + (np.arange(n) + 0.5) * (x1 - x0) / n
    gy = y0 + (np.arange(n) + 0.5) * (y1 - y0) / n
    mx, my = np.meshgrid(gx, gy)
    f = land.z[np.ix_(_nearest(land.ys, gy), _nearest(land.xs, gx))]
    dec = decimals_for(max(x1 - x0, y1 - y0), 1e-3)
    return go.Scatter(
        x=round_list(mx.ravel(), dec), y=round_list(my.ravel(), dec), mode="markers",
        name=CLICK_GRID_NAME, showlegend=False, customdata=sig_list(f.ravel()),
        marker=dict(size=8, color="rgba(0,0,0,0)", maxdisplayed=1),
        selected=dict(marker=dict(opacity=0)), unselected=dict(marker=dict(opacity=0)),
        hovertemplate="x=%{x:.3g}, y=%{y:.3g}<br>f=%{customdata:.4g}"
                      "<br><i>click to start here</i><extra></extra>")


def clicked_point(
    selection: Mapping[str, Any] | None, fig: go.Figure
) -> tuple[float, float] | None:
    """The start point picked by a click on ``fig``'s click grid, from a Streamlit selection.

    ``selection`` is ``event.selection`` of ``st.plotly_chart(fig, on_select="rerun")`` (a
    mapping with ``"points"``, each with ``curve_number``, ``x``, ``y``). Points on other traces
    are ignored; the last click-grid point wins; ``None`` if there is none.
    """
    if not selection:
        return None
    grid = [i for i, tr in enumerate(fig.data) if tr.name == CLICK_GRID_NAME]
    if not grid:
        return None
    for point in reversed(list(selection.get("points") or [])):
        if point.get("curve_number") == grid[0] and point.get("x") is not None:
            return float(point["x"]), float(point["y"])
    return None


def _animate_args(duration: float) -> dict[str, Any]:
    return {"frame": {"duration": duration, "redraw": False}, "mode": "immediate",
            "transition": {"duration": 0}, "fromcurrent": True}


_JUMP = {"frame": {"duration": 0, "redraw": False}, "mode": "immediate",
         "transition": {"duration": 0}}


def _menus(frame_ms: int, y: float) -> list[dict[str, Any]]:
    """Play / Pause, and speed buttons that (re)start playing at their speed."""
    common = dict(type="buttons", direction="right", showactive=True, xanchor="left",
                  yanchor="top", y=y, pad=dict(t=0, r=0, l=0, b=0), font=dict(size=12),
                  bgcolor="#f6f6f6", bordercolor="#cccccc", borderwidth=1)
    play = dict(common, x=0, buttons=[
        dict(label="▶ Play", method="animate", args=[PLAY_GROUP, _animate_args(frame_ms)]),
        dict(label="❚❚ Pause", method="animate", args=[[None], _JUMP]),
    ])
    speed = dict(common, x=1, xanchor="right", active=list(SPEEDS).index("1×"), buttons=[
        dict(label=label, method="animate", args=[PLAY_GROUP, _animate_args(frame_ms / mult)])
        for label, mult in SPEEDS.items()
    ])
    return [play, speed]


def _speed_label(y: float) -> dict[str, Any]:
    """The word "speed" left of the speed buttons (right-aligned with the plot)."""
    return dict(text="speed", xref="paper", yref="paper", x=1, xanchor="right", xshift=-172,
                y=y, yanchor="top", yshift=-6, showarrow=False,
                font=dict(size=12, color="#555"))


def _slider(ks: np.ndarray, active: int, y: float) -> dict[str, Any]:
    """One slider step per frame, labelled with its optimizer step (tick labels hidden)."""
    return dict(
        active=active, x=0, len=1, xanchor="left", y=y, yanchor="top", pad=dict(t=0, b=0, l=0, r=0),
        currentvalue=dict(prefix="step ", visible=True, xanchor="right", offset=4,
                          font=dict(size=12, color="#333")),
        font=dict(size=1, color="rgba(0,0,0,0)"), ticklen=0, minorticklen=0,
        tickcolor="rgba(0,0,0,0)", bgcolor="#e6e6e6", bordercolor="#c8c8c8",
        activebgcolor="#cfcfcf", transition=dict(duration=0),
        steps=[dict(label=str(k), method="animate", args=[[str(k)], _JUMP])
               for k in ks.tolist()],
    )


def _notes_annotation(notes: list[str], tracks: Sequence[Track]) -> dict[str, Any]:
    """The divergence notes, one per line, each with a ✗ in its run's colour."""
    colors = [t.color for t in tracks if t.diverged_at >= 0]
    lines = [f"<span style='color:{c}'>✗</span> {escape(n)}"
             for c, n in zip(colors, notes, strict=True)]
    if len(lines) > _MAX_NOTES:
        lines = [*lines[: _MAX_NOTES - 1], f"✗ … and {len(lines) - _MAX_NOTES + 1} more"]
    return dict(text="<br>".join(lines), xref="paper", yref="paper", x=0.01, y=0.01,
                xanchor="left", yanchor="bottom", showarrow=False, align="left",
                font=dict(size=12, color="#222"), bgcolor="rgba(255,255,255,0.85)",
                borderpad=4)
