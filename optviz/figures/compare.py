"""Figures of the "Compare at scale" views: plain numpy data in, ``go.Figure`` out.

No Streamlit, no torch, no optviz core: the app (``optviz.ui.compare``) turns sweep, basin and
seed results into the arrays these take.

* :func:`sensitivity_figure`: a metric against the learning rate, one curve per run; the
  current lr starred, diverged settings crossed; points carry ``customdata = [run, lr]``.
* :func:`phase_figure`: a heat map of a metric over two hyperparameters, diverged cells
  crossed, the current setting starred; a click layer carries ``customdata = [x, y]``.
* :func:`basin_figure`: which minimum each start reaches (colour), how fast (shade).
* :func:`seed_path_figure` / :func:`seed_loss_figure`: the median over seeds with its
  10–90 % spread, over the landscape and per step.
"""

from __future__ import annotations

import base64
import io
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import plotly.graph_objects as go
from PIL import Image

from .data import Landscape
from .data import escape as _esc
from .landscape import isoline_trace, landscape_image, landscape_layout_image

__all__ = [
    "BASIN_COLORS",
    "CLICK_LAYER",
    "Curve",
    "SeedBand",
    "basin_figure",
    "basin_rgb",
    "phase_figure",
    "seed_loss_figure",
    "seed_path_figure",
    "sensitivity_figure",
]

#: The name of the phase map's invisible layer of clickable cell centres.
CLICK_LAYER = "cells"
#: Colours of minima 0, 1, 2, ... in basin maps (cycled).
BASIN_COLORS = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2",
                "#17becf", "#bcbd22", "#7f7f7f")
NONE_RGB = (215, 215, 215)
DIVERGED_RGB = (40, 40, 40)
_MARGIN = dict(l=60, r=20, t=40, b=50)


@dataclass(frozen=True, eq=False)
class Curve:
    """One run's metric over a learning-rate grid. ``values`` may hold ``inf``/``NaN``
    (diverged or undefined: not on the line); ``current`` is the run's lr (starred when it is
    one of ``lrs``)."""

    label: str
    color: str
    lrs: np.ndarray
    values: np.ndarray
    diverged: np.ndarray
    current: float | None = None
    run: int = 0


def _hex_rgb(color: str) -> tuple[int, int, int]:
    c = color.lstrip("#")
    if len(c) == 3:
        c = "".join(ch * 2 for ch in c)
    try:
        return int(c[0:2], 16), int(c[2:4], 16), int(c[4:6], 16)
    except ValueError:
        return 31, 119, 180


def _rgba(color: str, alpha: float) -> str:
    r, g, b = _hex_rgb(color)
    return f"rgba({r},{g},{b},{alpha})"


def _at(lrs: np.ndarray, values: np.ndarray, lr: float, log_y: bool) -> float | None:
    """The curve's value at ``lr`` (log-log interpolation between its grid neighbours; NaN
    when a neighbour is off the line); ``None`` when ``lr`` is outside the grid."""
    if not len(lrs) or lr <= 0 or not (lrs.min() <= lr <= lrs.max()):
        return None
    order = np.argsort(lrs)
    x, v = np.log(lrs[order]), values[order]
    j = int(np.searchsorted(x, np.log(lr)))
    if j < len(x) and np.isclose(x[j], np.log(lr)):
        return float(v[j])
    lo, hi = max(j - 1, 0), min(j, len(x) - 1)
    a, b = v[lo], v[hi]
    if not (np.isfinite(a) and np.isfinite(b)):
        return float("nan")
    w = (np.log(lr) - x[lo]) / (x[hi] - x[lo]) if hi != lo else 0.0
    if log_y and a > 0 and b > 0:
        return float(np.exp(np.log(a) + w * (np.log(b) - np.log(a))))
    return float(a + w * (b - a))


def sensitivity_figure(
    curves: Sequence[Curve], metric: str = "final loss", log_y: bool = True,
    height: int = 380,
) -> go.Figure:
    """The metric against lr (log x), one line + markers per curve, in the curve's colour.

    Every grid point is a marker with ``customdata = [run, lr]`` (a click loads it). Diverged
    points sit as crosses on the top edge; the current lr is a star on the curve (interpolated
    between grid points; on the top edge when the curve is broken there).
    """
    fig = go.Figure()
    finite_all = np.concatenate([np.asarray(c.values, float)[np.isfinite(c.values)]
                                 for c in curves] or [np.zeros(0)])
    if log_y:
        finite_all = finite_all[finite_all > 0]
    top = float(finite_all.max()) if finite_all.size else 1.0
    for c in curves:
        lrs = np.asarray(c.lrs, dtype=float)
        v = np.asarray(c.values, dtype=float)
        dead = np.asarray(c.diverged, dtype=bool)
        shown = np.where(np.isfinite(v) & ~dead & ((v > 0) | (not log_y)), v, np.nan)
        custom = np.stack([np.full(len(lrs), c.run, dtype=float), lrs], axis=1)
        fig.add_trace(go.Scatter(
            x=lrs, y=shown, mode="lines+markers", name=_esc(c.label), legendgroup=f"run{c.run}",
            line=dict(color=c.color, width=2), marker=dict(color=c.color, size=6),
            customdata=custom.tolist(), connectgaps=False,
            hovertemplate=f"{_esc(c.label)}<br>lr=%{{x:.4g}}<br>{metric}=%{{y:.4g}}"
                          "<extra></extra>",
        ))
        if dead.any():
            fig.add_trace(go.Scatter(
                x=lrs[dead], y=np.full(int(dead.sum()), top), mode="markers",
                name=f"{_esc(c.label)}: diverged", legendgroup=f"run{c.run}", showlegend=False,
                marker=dict(symbol="x", size=9, color=c.color), customdata=custom[dead].tolist(),
                hovertemplate=f"{_esc(c.label)}<br>lr=%{{x:.4g}}<br>diverged<extra></extra>",
            ))
        star = _at(lrs, shown, c.current, log_y) if c.current is not None else None
        if star is not None:
            fig.add_trace(go.Scatter(
                x=[c.current], y=[star if np.isfinite(star) else top], mode="markers",
                name=f"{_esc(c.label)}: current lr", legendgroup=f"run{c.run}",
                showlegend=False, customdata=[[c.run, c.current]],
                marker=dict(symbol="star", size=16, color=c.color,
                            line=dict(color="black", width=1)),
                hovertemplate=f"{_esc(c.label)}<br>current lr=%{{x:.4g}}<extra></extra>",
            ))
    fig.update_layout(
        height=height, margin=_MARGIN, hovermode="closest", clickmode="event+select",
        xaxis=dict(type="log", title="learning rate"),
        yaxis=dict(type="log" if log_y else "linear", title=metric),
        legend=dict(orientation="h", y=-0.2), template="plotly_white",
    )
    return fig


def phase_figure(
    x_name: str, xs: Sequence[float], y_name: str, ys: Sequence[float], values: np.ndarray,
    diverged: np.ndarray, metric: str = "final loss", log_x: bool = False,
    log_y: bool = False, log_color: bool = True, current: tuple[float, float] | None = None,
    title: str = "", height: int = 460,
) -> go.Figure:
    """A heat map of ``values[i, j]`` (at ``x = xs[j]``, ``y = ys[i]``); diverged cells are
    blank with a cross, the current setting a star. Cells are evenly spaced (indices), labelled
    with their values, so log and linear axes look alike; a click on a cell returns
    ``customdata = [x, y]`` from the :data:`CLICK_LAYER` trace."""
    xs = np.asarray(xs, dtype=float)
    ys = np.asarray(ys, dtype=float)
    v = np.asarray(values, dtype=float)
    dead = np.asarray(diverged, dtype=bool)
    if v.shape != (len(ys), len(xs)) or dead.shape != v.shape:
        raise ValueError(f"values and diverged must be (len(ys), len(xs)) = "
                         f"{(len(ys), len(xs))}, got {v.shape} and {dead.shape}")
    z = np.where(np.isfinite(v) & ~dead, v, np.nan)
    label = metric
    if log_color:
        with np.errstate(divide="ignore", invalid="ignore"):
            z = np.where(z > 0, np.log10(z), np.nan)
        label = f"log₁₀ {metric}"
    ix, iy = np.arange(len(xs), dtype=float), np.arange(len(ys), dtype=float)
    text = np.array([[f"{x_name}={x:.4g}<br>{y_name}={y:.4g}<br>{metric}="
                      + ("diverged" if dead[i, j] else f"{v[i, j]:.4g}")
                      for j, x in enumerate(xs)] for i, y in enumerate(ys)])
    fig = go.Figure(go.Heatmap(
        x=ix, y=iy, z=z, colorscale="Viridis", reversescale=True, name=metric,
        colorbar=dict(title=dict(text=label, side="right"), thickness=12), text=text,
        hoverinfo="text", hoverongaps=False,
    ))
    gx, gy = np.meshgrid(ix, iy)
    vx, vy = np.meshgrid(xs, ys)
    fig.add_trace(go.Scatter(
        x=gx.ravel(), y=gy.ravel(), mode="markers", name=CLICK_LAYER, showlegend=False,
        marker=dict(size=max(4, int(300 / max(len(xs), len(ys)))), color="rgba(0,0,0,0)"),
        customdata=np.stack([vx.ravel(), vy.ravel()], axis=1).tolist(), text=text.ravel(),
        hoverinfo="text",
    ))
    if dead.any():
        fig.add_trace(go.Scatter(
            x=gx[dead], y=gy[dead], mode="markers", name="diverged", showlegend=True,
            marker=dict(symbol="x-thin", size=max(3, int(240 / max(len(xs), len(ys)))),
                        line=dict(color="#b00020", width=1.5)), hoverinfo="skip",
        ))
    if current is not None:
        cx = _position(xs, current[0], log_x)
        cy = _position(ys, current[1], log_y)
        if cx is not None and cy is not None:
            fig.add_trace(go.Scatter(
                x=[cx], y=[cy], mode="markers", name="current setting", hoverinfo="skip",
                marker=dict(symbol="star", size=16, color="white",
                            line=dict(color="black", width=1.5)),
            ))
    fig.update_layout(
        height=height, margin=_MARGIN, title=dict(text=_esc(title), x=0.01, font=dict(size=14)),
        xaxis=dict(title=x_name, **_index_ticks(xs)), clickmode="event+select",
        yaxis=dict(title=y_name, **_index_ticks(ys)), template="plotly_white",
        legend=dict(orientation="h", y=-0.18), hovermode="closest",
    )
    return fig


def _position(values: np.ndarray, v: float, log: bool) -> float | None:
    """Where ``v`` sits on the index axis of ``values`` (interpolated), ``None`` outside."""
    if len(values) == 1:
        return 0.0 if np.isclose(values[0], v) else None
    a, b = (np.log(values), np.log(v)) if log and v > 0 and np.all(values > 0) else (values, v)
    if not (min(a[0], a[-1]) <= b <= max(a[0], a[-1])):
        return None
    order = np.argsort(a)
    return float(np.interp(b, a[order], np.arange(len(a), dtype=float)[order]))


def _index_ticks(values: np.ndarray, most: int = 8) -> dict:
    n = len(values)
    idx = np.unique(np.linspace(0, n - 1, min(n, most)).round().astype(int))
    return dict(tickvals=idx.tolist(), ticktext=[f"{values[i]:.3g}" for i in idx],
                range=[-0.5, n - 0.5], showgrid=False, zeroline=False)


def basin_rgb(minimum_index: np.ndarray, steps_to_tol: np.ndarray, steps: int) -> np.ndarray:
    """``(ny, nx, 3)`` uint8: minimum ``k`` in :data:`BASIN_COLORS` (cycled), shaded towards
    white the later the tolerance is met (never: palest); −1 (no minimum) light grey, −2
    (diverged) near black."""
    idx = np.asarray(minimum_index)
    hit = np.asarray(steps_to_tol, dtype=float)
    palette = np.array([_hex_rgb(c) for c in BASIN_COLORS], dtype=float)
    rgb = np.empty((*idx.shape, 3), dtype=float)
    reached = idx >= 0
    base = palette[np.where(reached, idx, 0) % len(palette)]
    slow = np.where(hit >= 0, np.clip(hit / max(steps, 1), 0.0, 1.0), 1.0)
    shade = 0.15 + 0.55 * slow  # 0.15 (instantly) .. 0.7 (never within tol) towards white
    rgb[:] = base + (255.0 - base) * shade[..., None]
    rgb[idx == -1] = NONE_RGB
    rgb[idx <= -2] = DIVERGED_RGB
    return np.clip(np.round(rgb), 0, 255).astype(np.uint8)


def _png(rgb: np.ndarray) -> str:
    buf = io.BytesIO()
    Image.fromarray(np.ascontiguousarray(rgb[::-1]), mode="RGB").save(buf, format="PNG",
                                                                      optimize=True)
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


def basin_figure(
    xs: np.ndarray, ys: np.ndarray, minimum_index: np.ndarray, steps_to_tol: np.ndarray,
    steps: int, minima: Sequence[Sequence[float]] = (), land: Landscape | None = None,
    title: str = "", height: int = 520,
) -> go.Figure:
    """The basin map as a picture over the start grid (cell ``[i, j]`` starts at
    ``(xs[j], ys[i])``), isolines of ``land`` on top, the minima as stars, and a legend of
    what each colour means (with the share of starts that reach it)."""
    xs, ys = np.asarray(xs, dtype=float), np.asarray(ys, dtype=float)
    idx = np.asarray(minimum_index)
    if idx.shape != (len(ys), len(xs)):
        raise ValueError(f"minimum_index must be (len(ys), len(xs)) = {(len(ys), len(xs))}, "
                         f"got {idx.shape}")
    if len(xs) < 2 or len(ys) < 2:
        raise ValueError("a basin map needs at least 2 × 2 starts")
    rgb = basin_rgb(idx, steps_to_tol, steps)
    grid = Landscape(xs=xs, ys=ys, z=np.zeros((len(ys), len(xs))))
    fig = go.Figure()
    fig.add_layout_image(landscape_layout_image(grid, _png(rgb)))
    if land is not None:
        fig.add_trace(isoline_trace(land, 12).update(line=dict(color="rgba(0,0,0,0.35)")))
    n = idx.size
    items = [(f"minimum {k + 1}", BASIN_COLORS[k % len(BASIN_COLORS)], int((idx == k).sum()))
             for k in range(len(minima))]
    items += [("no minimum", "rgb({},{},{})".format(*NONE_RGB), int((idx == -1).sum())),
              ("diverged", "rgb({},{},{})".format(*DIVERGED_RGB), int((idx <= -2).sum()))]
    for name, color, count in items:
        if count:
            fig.add_trace(go.Scatter(
                x=[None], y=[None], mode="markers", name=f"{name}: {100 * count / n:.0f} %",
                marker=dict(symbol="square", size=12, color=color),
            ))
    if len(minima):
        m = np.asarray(minima, dtype=float).reshape(-1, 2)
        fig.add_trace(go.Scatter(
            x=m[:, 0], y=m[:, 1], mode="markers+text", name="minima", showlegend=False,
            text=[str(k + 1) for k in range(len(m))], textposition="top center",
            marker=dict(symbol="star", size=13, color="white", line=dict(color="black",
                                                                           width=1)),
            hovertemplate="minimum %{text}: (%{x:.4g}, %{y:.4g})<extra></extra>",
        ))
    dx = (xs[-1] - xs[0]) / (len(xs) - 1) / 2
    dy = (ys[-1] - ys[0]) / (len(ys) - 1) / 2
    fig.update_layout(
        height=height, margin=_MARGIN, template="plotly_white",
        title=dict(text=_esc(title), x=0.01, font=dict(size=14)),
        xaxis=dict(range=[xs[0] - dx, xs[-1] + dx], title="start x", showgrid=False,
                   constrain="domain"),
        yaxis=dict(range=[ys[0] - dy, ys[-1] + dy], title="start y", showgrid=False,
                   scaleanchor="x", scaleratio=1, constrain="domain"),
        legend=dict(orientation="h", y=-0.15),
    )
    return fig


@dataclass(frozen=True, eq=False)
class SeedBand:
    """One run over K seeds: ``xy`` ``(K, T+1, 2)`` and ``loss`` ``(K, T+1)`` (NaN after a
    divergence), its label and colour."""

    label: str
    color: str
    xy: np.ndarray
    loss: np.ndarray


def _quantiles(a: np.ndarray, qs: Sequence[float]) -> list[np.ndarray]:
    with np.errstate(all="ignore"):
        import warnings

        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            return [np.nanquantile(a, q, axis=0) for q in qs]


def seed_path_figure(bands: Sequence[SeedBand], land: Landscape | None = None,
                     height: int = 480) -> go.Figure:
    """Over the landscape: each run's median path over seeds (coordinate-wise median per
    step, bold) and its 10–90 % band (the per-step box of the 10th–90th percentiles of x and
    y, drawn as a translucent ribbon of its corners)."""
    fig = go.Figure()
    if land is not None:
        fig.add_layout_image(landscape_layout_image(land, landscape_image(land)))
        fig.add_trace(isoline_trace(land))
    for b in bands:
        xy = np.asarray(b.xy, dtype=float)
        lo, med, hi = _quantiles(xy, (0.1, 0.5, 0.9))
        # the band: the polygon through the lower-left corners forward, upper-right back
        bx = np.concatenate([lo[:, 0], hi[::-1, 0]])
        by = np.concatenate([lo[:, 1], hi[::-1, 1]])
        keep = np.isfinite(bx) & np.isfinite(by)
        fig.add_trace(go.Scatter(
            x=bx[keep], y=by[keep], fill="toself", mode="lines", line=dict(width=0),
            fillcolor=_rgba(b.color, 0.22), name=f"{_esc(b.label)}: 10–90 %",
            legendgroup=b.label, showlegend=False, hoverinfo="skip",
        ))
        for k in range(len(xy)):
            fig.add_trace(go.Scatter(
                x=xy[k, :, 0], y=xy[k, :, 1], mode="lines", legendgroup=b.label,
                showlegend=False, line=dict(color=_rgba(b.color, 0.25), width=0.8),
                hoverinfo="skip", name=f"{_esc(b.label)}: seed {k}",
            ))
        fig.add_trace(go.Scatter(
            x=med[:, 0], y=med[:, 1], mode="lines", name=f"{_esc(b.label)}: median of {len(xy)}",
            legendgroup=b.label, line=dict(color=b.color, width=3),
            hovertemplate=f"{_esc(b.label)}<br>(%{{x:.4g}}, %{{y:.4g}})<extra></extra>",
        ))
    layout: dict = dict(height=height, margin=_MARGIN, template="plotly_white",
                        legend=dict(orientation="h", y=-0.15), hovermode="closest")
    if land is not None:
        layout.update(xaxis=dict(range=list(land.x_range), showgrid=False, constrain="domain"),
                      yaxis=dict(range=list(land.y_range), showgrid=False, scaleanchor="x",
                                 scaleratio=1, constrain="domain"))
    fig.update_layout(**layout)
    return fig


def seed_loss_figure(bands: Sequence[SeedBand], minimum_value: float | None = None,
                     log_y: bool = True, height: int = 340) -> go.Figure:
    """Loss per step over seeds: the median (line) and the 10–90 % band (fill), per run;
    on a log axis the gap ``f − f*`` when ``minimum_value`` is known."""
    fig = go.Figure()
    base = 0.0 if minimum_value is None else float(minimum_value)
    for b in bands:
        loss = np.asarray(b.loss, dtype=float) - base
        if log_y:
            loss = np.where(loss > 0, loss, np.nan)
        lo, med, hi = _quantiles(loss, (0.1, 0.5, 0.9))
        t = np.arange(loss.shape[1])
        fig.add_trace(go.Scatter(x=t, y=hi, mode="lines", line=dict(width=0),
                                 legendgroup=b.label, showlegend=False, hoverinfo="skip",
                                 name=f"{_esc(b.label)}: 90 %"))
        fig.add_trace(go.Scatter(x=t, y=lo, mode="lines", line=dict(width=0), fill="tonexty",
                                 fillcolor=_rgba(b.color, 0.25), legendgroup=b.label,
                                 showlegend=False, hoverinfo="skip", name=f"{_esc(b.label)}: 10 %"))
        fig.add_trace(go.Scatter(
            x=t, y=med, mode="lines", name=f"{_esc(b.label)}: median", legendgroup=b.label,
            line=dict(color=b.color, width=2),
            hovertemplate=f"{_esc(b.label)}<br>step %{{x}}<br>%{{y:.4g}}<extra></extra>",
        ))
    what = "loss" if minimum_value is None else "f − f*"
    fig.update_layout(
        height=height, margin=_MARGIN, template="plotly_white", hovermode="x unified",
        xaxis=dict(title="step"), yaxis=dict(title=f"{what}: median, 10–90 % band",
                                             type="log" if log_y else "linear"),
        legend=dict(orientation="h", y=-0.25),
    )
    return fig
