r"""The race player's payload: everything ``optviz/web/player.js`` draws, as plain JSON.

The player (one JavaScript file, hosted by the Streamlit component and by the offline HTML
export) animates the race itself with ``requestAnimationFrame``; this module only describes
the race, once:

* ``base``: a Plotly figure ``{"data", "layout"}`` with the static part (landscape picture,
  isolines, colour bar, minima, saddles, axes fixed to the domain, 1:1 aspect), and
  ``surface3d``, the landscape on at most 80 × 80 points for the player's 3D view;
* ``loss_layout``: the loss chart's layout;
* ``tracks``: per track its style and its numbers as base64 typed arrays (NaN is fine there,
  so the JSON never holds a NaN literal);
* ``token`` / ``base_token``: hashes the player compares to know what changed.

A host may add ``inspect`` after the token is computed (it is not part of it): ``None`` or
``{"track": i, "step": k or None, "glyphs": step_glyphs(...) or None, "label": str}``; the
player then asks for the shown step with ``host.onStep({track, step})`` and draws the glyphs.

Pure numpy and plotly (plus :mod:`optviz.geometry`): no torch, no Streamlit.
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Sequence
from typing import Any

import numpy as np
import plotly.colors as pcolors

from optviz.geometry import equal_aspect, pull_far
from optviz.palette import START_SYMBOLS
from optviz.palette import start_style as palette_start_style

from .curves import _y_range
from .data import (
    Landscape,
    Track,
    decimals_for,
    divergence_notes,
    escape,
    legend_entries,
    legend_names,
    legend_rows,
)
from .landscape import colorbar_trace, isoline_trace, landscape_image, landscape_layout_image

__all__ = ["SPEEDS", "START_SYMBOLS", "VERSION", "race_payload", "start_style"]

VERSION = 1
#: Speed choices (multiples of ``base_rate``).
SPEEDS = (0.25, 0.5, 1, 2, 4, 8)
#: A race lasts about this long at 1×, and runs at least MIN_RATE steps per second.
RACE_SECONDS, MIN_RATE = 8.0, 10.0
#: Above this many numbers in all the typed arrays, they are sent as float32 (8 runs × 5,000
#: steps: 1 MB instead of 2 MB; float32 keeps 7 digits, hover shows 6).
F8_LIMIT = 100_000
#: The legend wraps at about this width (px, 12 px font): the narrowest race plot drawn.
LEGEND_WRAP_PX = 480
#: The 3D view's surface has at most this many points per side.
SURFACE3D_MAX = 80
_FONT = "Inter, Segoe UI, Helvetica, Arial, sans-serif"


def start_style(color: str, start_index: int) -> tuple[str, str]:
    """Marker symbol and colour of a run's ``start_index``-th start: a distinct symbol per start
    and a lighter or darker shade of the run's colour (the colour itself for start 0), as
    :func:`optviz.palette.start_style` chooses them; a colour given as ``rgb(…)`` is read as
    its hex value, a colour name keeps its colour (the symbol tells the starts apart)."""
    symbol = START_SYMBOLS[start_index % len(START_SYMBOLS)]
    try:
        if not color.startswith("#"):
            rgb = pcolors.unlabel_rgb(color)[:3]
            color = "#{:02x}{:02x}{:02x}".format(*(round(float(v)) for v in rgb))
        return palette_start_style(color, start_index)
    except (ValueError, TypeError, IndexError):
        return symbol, color


def _typed(values: np.ndarray, dtype: str) -> dict[str, str]:
    """``{"dtype", "b64"}``: little-endian float64 or float32 bytes, base64."""
    arr = np.ascontiguousarray(np.asarray(values, dtype=float).ravel(), dtype="<" + dtype)
    return {"dtype": dtype, "b64": base64.b64encode(arr.tobytes()).decode("ascii")}


def _hash(obj: Any) -> str:
    text = json.dumps(obj, sort_keys=True, separators=(",", ":"), allow_nan=False)
    return hashlib.blake2s(text.encode("utf-8"), digest_size=16).hexdigest()


def _fonts(classroom: bool) -> dict[str, int]:
    if classroom:
        return {"base": 18, "title": 22, "tick": 18, "legend": 18, "hover": 18, "bar": 18}
    return {"base": 12, "title": 15, "tick": 12, "legend": 12, "hover": 12, "bar": 11}


def _points_trace(points: Sequence[Sequence[float]], name: str,
                  marker: dict[str, Any]) -> dict[str, Any]:
    arr = np.asarray(points, dtype=float).reshape(-1, 2)
    return dict(type="scatter", x=arr[:, 0].tolist(), y=arr[:, 1].tolist(), mode="markers",
                name=name, showlegend=False, marker=marker, meta="above",
                hovertemplate=f"{name}<br>x=%{{x:.6g}}, y=%{{y:.6g}}<extra></extra>")


def _axis(lo: float, hi: float, title: str, fonts: dict[str, int]) -> dict[str, Any]:
    return dict(range=[lo, hi], autorange=False, fixedrange=True, showgrid=False,
                zeroline=False, ticks="outside", ticklen=4, mirror=True, showline=True,
                linecolor="#999", linewidth=1, tickfont=dict(size=fonts["tick"]),
                title=dict(text=title, standoff=6, font=dict(size=fonts["tick"])))


def _base(land: Landscape, names: Sequence[str], classroom: bool) -> dict[str, Any]:
    """The static figure: picture, isolines, colour bar, minima, saddles, axes and legend.

    The legend (entries ``names``) sits under the x axis, where it cannot run into the title;
    the bottom margin is sized for its rows at the narrowest plot the player draws."""
    fonts = _fonts(classroom)
    rows = legend_rows(names, LEGEND_WRAP_PX * (12 / fonts["legend"]))
    (x0, x1), (y0, y1) = land.x_range, land.y_range
    bar = colorbar_trace(land).to_plotly_json()
    cb = bar["marker"]["colorbar"]
    cb["tickfont"] = dict(size=fonts["bar"])
    cb["title"]["font"] = dict(size=fonts["bar"])
    if classroom:
        cb["thickness"] = 16
    star = 22 if classroom else 17
    data = [isoline_trace(land).to_plotly_json(), bar]
    if land.minima:
        data.append(_points_trace(land.minima, "global minimum", dict(
            symbol="star", size=star, color="gold", line=dict(color="#333", width=1.2))))
    if land.saddles:
        data.append(_points_trace(land.saddles, "saddle point", dict(
            symbol="x", size=star - 6, color="white", line=dict(color="#333", width=1))))
    xaxis, yaxis = _axis(x0, x1, "x", fonts), _axis(y0, y1, "y", fonts)
    if equal_aspect(land.x_range, land.y_range):
        xaxis["constrain"] = yaxis["constrain"] = "domain"
        yaxis.update(scaleanchor="x", scaleratio=1)
    layout = dict(
        template="none", autosize=True, dragmode=False,
        margin=dict(l=70 if classroom else 60, r=110 if classroom else 90,
                    t=56 if classroom else 40,
                    b=(70 if classroom else 56) + rows * (30 if classroom else 21)),
        font=dict(family=_FONT, size=fonts["base"], color="#222"),
        paper_bgcolor="white", plot_bgcolor="white",
        title=dict(text=f"<b>{escape(land.title)}</b>" if land.title else "", x=0,
                   xref="container", xanchor="left", y=1, yref="container", yanchor="top",
                   pad=dict(t=10, l=12), font=dict(size=fonts["title"])),
        xaxis=xaxis, yaxis=yaxis,
        legend=dict(orientation="h", x=0, xanchor="left", yref="container", y=0,
                    yanchor="bottom",
                    itemclick="toggle", itemdoubleclick="toggleothers",
                    bgcolor="rgba(0,0,0,0)", font=dict(size=fonts["legend"])),
        hovermode="closest", hoverdistance=12,
        hoverlabel=dict(font=dict(size=fonts["hover"], family=_FONT)),
        images=[landscape_layout_image(land, landscape_image(land))],
        uirevision=f"{land.title}|{x0}|{x1}|{y0}|{y1}",
    )
    return {"data": data, "layout": layout, "surface3d": _surface3d(land)}


def _surface3d(land: Landscape) -> dict[str, Any]:
    """The landscape for the player's 3D view: at most ``SURFACE3D_MAX`` × ``SURFACE3D_MAX``
    grid points (evenly spaced rows and columns of ``land``, the first and last kept), values as
    7-digit floats, ``None`` where not finite. ``minimum``: f* when known and not above the
    sampled minimum, else the sampled minimum; ``log_ok``: some finite value lies above it, so
    that log10(f − minimum + log_delta) is drawable.

    ``log_delta`` (:func:`_log_floor`): what the log view adds to f − minimum. A grid this
    coarse cannot resolve a narrow valley: whether a grid point falls on its floor, where
    f − f* is 1e-9, or beside it, where it is 1, is chance, and a bare log10(f − f*) turns that
    chance into spikes decades deep along the floor (Rosenbrock). Values below the grid's
    resolution are drawn as what they are at this resolution: "about as low as the floor"."""
    xs, ys, z = (np.asarray(a, dtype=float) for a in (land.xs, land.ys, land.z))
    ix = np.unique(np.round(np.linspace(0, len(xs) - 1, min(len(xs), SURFACE3D_MAX))).astype(int))
    iy = np.unique(np.round(np.linspace(0, len(ys) - 1, min(len(ys), SURFACE3D_MAX))).astype(int))
    sub = z[np.ix_(iy, ix)]
    finite = sub[np.isfinite(sub)]
    lo = float(finite.min()) if finite.size else 0.0
    hi = float(finite.max()) if finite.size else 0.0
    fstar = land.minimum_value
    minimum = (float(fstar) if fstar is not None and np.isfinite(fstar) and fstar <= lo else lo)

    def short(v: float) -> float | None:
        return float(f"{v:.7g}") if np.isfinite(v) else None

    log_ok = bool(finite.size) and hi > minimum
    return {
        "x": [float(v) for v in xs[ix]], "y": [float(v) for v in ys[iy]],
        "z": [[short(v) for v in row] for row in sub.tolist()],
        "zmin": short(lo), "zmax": short(hi), "minimum": short(minimum),
        "log_ok": log_ok, "log_default": bool(land.log_scale),
        "log_delta": float(f"{_log_floor(finite - minimum, max(sub.shape)):.3g}")
        if log_ok else LOG_DELTA_MIN,
    }


#: The least ``log_delta`` (relative to max(1, range)), as the log view added before.
LOG_DELTA_MIN = 1e-12


def _log_floor(gap: np.ndarray, side: int) -> float:
    """``log_delta`` for the gaps f − minimum of a ``side`` × ``side`` grid: the gap that
    about one grid point per row lies below (the 1/side quantile), i.e. the lowest the grid
    can tell apart from the floor; at least LOG_DELTA_MIN × max(1, largest gap).

    A bowl loses little (its lowest percent of points is near its bottom); a narrow valley
    stops being drawn as a comb of isolated pits one grid point wide."""
    gap = gap[np.isfinite(gap) & (gap >= 0)]
    if gap.size == 0:
        return LOG_DELTA_MIN
    least = LOG_DELTA_MIN * max(1.0, float(gap.max()))
    return max(float(np.quantile(gap, 1.0 / max(side, 1))), least)


def _loss(tracks: Sequence[Track], minimum_value: float | None,
          classroom: bool) -> tuple[list[np.ndarray], dict[str, Any]]:
    """What the loss chart plots per track (NaN past the last finite step) and its layout.

    Same rules as :func:`optviz.figures.curves.loss_figure`: with f* known the gap f − f*,
    floored at 1e-16 max(1, |f*|) on the log axis; otherwise f, on a log axis only when every
    value is positive."""
    fonts = _fonts(classroom)
    known = minimum_value is not None and bool(np.isfinite(minimum_value))
    shift = float(minimum_value) if known and minimum_value is not None else 0.0
    curves = []
    for t in tracks:
        c = np.full(len(t.loss), np.nan)
        n = t.last_finite + 1
        c[:n] = t.loss[:n] - shift
        curves.append(c)
    finite = np.concatenate([c[np.isfinite(c)] for c in curves]) if curves else np.zeros(0)
    if known:
        floor = 1e-16 * max(1.0, abs(shift))
        curves = [np.where(np.isfinite(c), np.maximum(c, floor), c) for c in curves]
        use_log = True
    else:
        use_log = bool(finite.size) and bool(np.all(finite > 0))
    what = "f − f*" if known else "f"
    yaxis_range = _loss_range(tracks, curves, use_log)
    n_steps = max((t.steps for t in tracks), default=1)
    axis = dict(showgrid=True, gridcolor="#eee", zeroline=False, showline=True,
                linecolor="#999", ticks="outside", ticklen=4, fixedrange=True,
                tickfont=dict(size=fonts["tick"]))
    layout = dict(
        template="none", autosize=True, dragmode=False,
        margin=dict(l=80 if classroom else 64, r=16, t=44 if classroom else 36,
                    b=60 if classroom else 48),
        font=dict(family=_FONT, size=fonts["base"], color="#222"),
        title=dict(text=f"<b>Loss per step</b> ({what})", x=0, xref="container",
                   xanchor="left", y=1, yref="container", yanchor="top", pad=dict(t=8, l=12),
                   font=dict(size=fonts["title"] - 1)),
        showlegend=False, hovermode="closest",
        hoverlabel=dict(font=dict(size=fonts["hover"], family=_FONT)),
        plot_bgcolor="white", paper_bgcolor="white",
        xaxis=dict(axis, title=dict(text="step", standoff=6, font=dict(size=fonts["tick"])),
                   range=[0, max(n_steps, 1)], autorange=False),
        yaxis=dict(axis, title=dict(text=what, font=dict(size=fonts["tick"])),
                   type="log" if use_log else "linear", exponentformat="power",
                   **({"range": yaxis_range, "autorange": False} if yaxis_range else {}),
                   # plotly.js writes a log axis's 2 and 5 labels at 3/4 of the tick font:
                   # decades only on a projector, where every label must stay >= 18 px
                   **({"dtick": 1} if use_log and classroom else {})),
        uirevision="loss",
    )
    return curves, layout


def _loss_range(tracks: Sequence[Track], curves: Sequence[np.ndarray],
                use_log: bool) -> list[float] | None:
    """The loss chart's y range for the whole race, so that the axis stands still while the
    curves grow: :func:`optviz.figures.curves._y_range` when a diverging run would blow it
    up, else all finite values with a little room (log: in decades)."""
    series = [c[np.isfinite(c)] for c in curves]
    fixed = _y_range(tracks, series, use_log)
    if fixed is not None:
        return [float(v) for v in fixed]
    every = np.concatenate(series) if series else np.zeros(0)
    if use_log:
        every = every[every > 0]
    if every.size == 0:
        return None
    lo, hi = float(every.min()), float(every.max())
    if use_log:
        lo, hi = np.log10(lo), np.log10(hi)
        pad = max(0.05 * (hi - lo), 0.1)
    else:
        pad = max(0.05 * (hi - lo), 1e-12 * max(abs(lo), abs(hi), 1.0))
    return [float(lo - pad), float(hi + pad)]


def race_payload(
    land: Landscape,
    tracks: Sequence[Track],
    starts: Sequence[Sequence[float]] | np.ndarray | None,
    *,
    classroom: bool = False,
    initial_step: str | int = "end",
    height: int | None = None,
    max_starts: int = 16,
    notes: Sequence[str] = (),
    minimum_value: float | None = None,
) -> dict[str, Any]:
    """The player's payload (version 1) for ``tracks`` racing over ``land``.

    ``starts``: the scene's start points (drawn as draggable markers; default each track's
    first point). ``initial_step``: ``"end"`` shows the complete race at once, an int that
    step. ``height``: the race plot's height in px, ``None`` to let the host decide.
    ``notes``: plain-text notes shown under the plot (divergence notes are added).
    ``minimum_value``: f* for the loss chart (default ``land.minimum_value``).
    """
    if not (initial_step == "end" or (isinstance(initial_step, int)
                                      and not isinstance(initial_step, bool)
                                      and initial_step >= 0)):
        raise ValueError("initial_step must be 'end' or a step >= 0")
    if minimum_value is None:
        minimum_value = land.minimum_value
    classroom = bool(classroom)
    # the legend: the runs, then the ghost paths of schedule-free runs (its rows size the margin)
    ghosts = [f"{t.legend_name} · gradient point y"
              for t, (_, first) in zip(tracks, legend_entries(tracks), strict=True)
              if first and t.grad_point is not None]
    base = _base(land, legend_names(tracks) + ghosts, classroom)
    curves, loss_layout = _loss(tracks, minimum_value, classroom)
    n_steps = max((t.steps for t in tracks), default=0)
    # xy (2), loss, curve, gnorm per step; a schedule-free run's gradient point y (2)
    total = sum(len(t.xy) * (5 if t.grad_point is None else 7) for t in tracks)
    dtype = "f8" if total <= F8_LIMIT else "f4"
    out_tracks = []
    for t, curve, (_, first) in zip(tracks, curves, legend_entries(tracks), strict=True):
        last = t.last_finite
        xy = np.full(t.xy.shape, np.nan)
        if last >= 0:
            xy[: last + 1] = pull_far(t.xy[: last + 1], land.x_range, land.y_range)
        gnorm = (np.hypot(t.grad[:, 0], t.grad[:, 1]) if t.grad is not None
                 else np.full(len(t.loss), np.nan))
        symbol, shade = start_style(t.color, t.start)
        ghost = {}
        if t.grad_point is not None:  # schedule-free: where its gradients were taken
            point = np.full(t.grad_point.shape, np.nan)
            if last >= 0:
                point[: last + 1] = pull_far(t.grad_point[: last + 1], land.x_range,
                                             land.y_range)
            ghost = {"grad_point": _typed(point, dtype),
                     "ghost_legend": f"{t.legend_name} · gradient point y"}
        out_tracks.append({
            "name": t.label, "legend": t.legend_name, "show_legend": first,
            "color": shade, "run_color": t.color, "symbol": symbol, "run": int(t.run),
            "start": int(t.start), "diverged_at": int(t.diverged_at), "last": int(last),
            "steps": int(t.steps),
            "xy": _typed(xy, dtype), "loss": _typed(t.loss, dtype),
            "curve": _typed(curve, dtype), "gnorm": _typed(gnorm, dtype), **ghost,
        })
    if starts is None:
        starts = [t.xy[0] for t in tracks if np.isfinite(t.xy[0]).all()]
    start_list = [[float(x), float(y)] for x, y in np.asarray(starts, float).reshape(-1, 2)]
    all_notes = [str(n) for n in notes]
    all_notes += [n for n in divergence_notes(tracks) if n not in all_notes]
    span = max(land.x_range[1] - land.x_range[0], land.y_range[1] - land.y_range[0])
    payload: dict[str, Any] = {
        "version": VERSION,
        "steps": int(n_steps),
        "initial_step": initial_step,
        "classroom": classroom,
        "height": None if height is None else int(height),
        "max_starts": int(max_starts),
        "base": base,
        "loss_layout": loss_layout,
        "tracks": out_tracks,
        "starts": start_list,
        "several_starts": len(start_list) > 1,
        "notes": all_notes,
        "speeds": list(SPEEDS),
        "base_rate": float(max(MIN_RATE, n_steps / RACE_SECONDS)),
        "decimals": decimals_for(span),
        "style": {"line_width": 3.5 if classroom else 2.2,
                  "head_size": 16 if classroom else 11,
                  "start_size": 16 if classroom else 11},
    }
    payload["base_token"] = _hash(base)
    payload["token"] = _hash(payload)
    return payload
