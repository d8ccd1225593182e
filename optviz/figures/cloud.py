r"""The start cloud as a mode of the race player: many starts of one run, drawn as one marker
trace that ``optviz/web/player.js`` moves frame by frame (its own animation loop, like the
race; no Plotly frames).

:func:`cloud_payload` gives a race-player payload (:func:`optviz.figures.race_payload`'s
format) with no tracks and a ``cloud``:

* ``base`` / ``base_token``: the landscape figure, the race's own when the caller hands it in
  (the page then reuses the base it already holds), else built as the race builds it;
* ``steps``: the number of frames − 1 (the player's slider, ±1, keys and Play run over frame
  indices ``0..steps``); ``cloud["steps"]`` the optimizer step each frame shows;
* ``cloud["xy"]``: the positions, ``frames × particles × 2`` (x, y interleaved, frame-major)
  as little-endian uint16 codes on a grid over the window widened by one window span on each
  side: ``value = lo + code * scale`` per axis (``cloud["grid"]``), code ``65535``
  (:data:`MISSING`) where a particle diverged (NaN). A step of the grid is 3 / 65534 of the
  window, far below a pixel; a particle farther out sits on the grid's edge, off the plot
  anyway. 10,000 starts × 61 frames: 2.4 MB of codes, 3.3 MB of base64 (float32 would be
  6.5 MB);
* frames beyond :data:`MAX_CLOUD_CODES` (frames × particles × 2) are dropped evenly, the first
  and last kept.

Pure numpy (plus :mod:`optviz.figures.player`'s helpers): no torch, no Streamlit.
"""

from __future__ import annotations

import base64
from collections.abc import Sequence
from typing import Any

import numpy as np

from .data import Landscape, decimals_for
from .player import SPEEDS, VERSION, _base, _hash

__all__ = ["CLOUD_SECONDS", "MAX_CLOUD_CODES", "MISSING", "cloud_frames", "cloud_payload"]

#: The uint16 code of a diverged particle (NaN).
MISSING = 65535
#: Codes 0..GRID_MAX cover the widened window.
GRID_MAX = 65534
#: At most this many uint16 codes (frames × particles × 2): 2.5 MB, 3.3 MB as base64.
MAX_CLOUD_CODES = 1_250_000
#: The cloud plays its frames in about this many seconds at 1×.
CLOUD_SECONDS = 6.0


def _grid(lo: float, hi: float) -> tuple[float, float]:
    """``(start, step)`` of an axis's code grid: the window ``[lo, hi]`` widened by its span
    on each side, cut into :data:`GRID_MAX` steps."""
    span = float(hi) - float(lo)
    start = float(lo) - span
    return start, 3.0 * span / GRID_MAX


def _encode(xy: np.ndarray, grids: Sequence[tuple[float, float]]) -> np.ndarray:
    codes = np.empty(xy.shape, dtype="<u2")
    for axis, (start, step) in enumerate(grids):
        v = xy[..., axis]
        with np.errstate(invalid="ignore"):
            c = np.clip(np.rint((v - start) / step), 0, GRID_MAX)
        codes[..., axis] = np.where(np.isfinite(v), c, MISSING).astype("<u2")
    return codes


def _thin(n_frames: int, n_particles: int) -> np.ndarray:
    """Indices of the frames kept so that frames × particles × 2 <= MAX_CLOUD_CODES."""
    most = max(2, MAX_CLOUD_CODES // max(1, 2 * n_particles))
    if n_frames <= most:
        return np.arange(n_frames)
    return np.unique(np.round(np.linspace(0, n_frames - 1, most)).astype(int))


def cloud_payload(
    land: Landscape,
    xy: np.ndarray,
    steps: Sequence[int],
    color: str,
    label: str,
    *,
    race: dict[str, Any] | None = None,
    classroom: bool = False,
    height: int | None = None,
    notes: Sequence[str] = (),
) -> dict[str, Any]:
    """The race player's payload in cloud mode: ``xy`` ``(n_frames, n_particles, 2)`` (NaN:
    diverged, not drawn), frame ``j`` after ``steps[j]`` optimizer steps, drawn in ``color``
    under the legend entry ``label``.

    ``race``: a race payload over the same ``land`` whose ``base`` (and ``base_token``) the
    cloud reuses, so that the page's base cache serves both; otherwise the base is built for
    the legend ``[label]`` (and ``classroom``)."""
    xy = np.asarray(xy, dtype=float)
    if xy.ndim != 3 or xy.shape[2] != 2 or len(steps) != len(xy) or not len(xy):
        raise ValueError(f"xy must be (n_frames, n_particles, 2) with one step per frame, got "
                         f"{xy.shape} and {len(steps)} steps")
    keep = _thin(len(xy), xy.shape[1])
    xy = xy[keep]
    frame_steps = [int(steps[i]) for i in keep]
    grids = [_grid(*land.x_range), _grid(*land.y_range)]
    codes = _encode(xy, grids)
    if race is not None and race.get("base") is not None:
        base, base_token = race["base"], race["base_token"]
        classroom = bool(race.get("classroom", classroom))
    else:
        base = _base(land, [label], bool(classroom))
        base_token = _hash(base)
    n_frames, n = xy.shape[0], xy.shape[1]
    alive = np.isfinite(xy).all(axis=2)
    span = max(land.x_range[1] - land.x_range[0], land.y_range[1] - land.y_range[0])
    cloud = {
        "label": str(label), "color": str(color),
        "frames": int(n_frames), "particles": int(n),
        "steps": frame_steps,
        "alive": [int(a) for a in alive.sum(axis=1)],
        "grid": [[start, step] for start, step in grids],
        "xy": {"dtype": "u2", "b64": base64.b64encode(codes.tobytes()).decode("ascii")},
        "marker_size": (3 if n > 2000 else 5) * (1.5 if classroom else 1),
    }
    payload: dict[str, Any] = {
        "version": VERSION,
        "steps": int(n_frames - 1),
        "initial_step": 0,
        "classroom": bool(classroom),
        "height": None if height is None else int(height),
        "max_starts": 0,
        "base": base,
        "loss_layout": {},
        "tracks": [],
        "starts": [],
        "several_starts": False,
        "notes": [str(s) for s in notes],
        "speeds": list(SPEEDS),
        "base_rate": float(max(1, n_frames - 1) / CLOUD_SECONDS),
        "decimals": decimals_for(span),
        "style": {"line_width": 2.2, "head_size": 11, "start_size": 11},
        "cloud": cloud,
    }
    payload["base_token"] = base_token
    payload["token"] = _hash({k: v for k, v in payload.items() if k != "base"})
    return payload


def cloud_frames(payload: dict[str, Any]) -> np.ndarray:
    """The positions a cloud payload carries, ``(frames, particles, 2)``, NaN where diverged:
    what the player draws (tests; the inverse of the encoding up to the grid step)."""
    c = payload["cloud"]
    codes = np.frombuffer(base64.b64decode(c["xy"]["b64"]), dtype="<u2")
    codes = codes.reshape(c["frames"], c["particles"], 2)
    out = np.empty(codes.shape, dtype=float)
    for axis, (start, step) in enumerate(c["grid"]):
        k = codes[..., axis]
        out[..., axis] = np.where(k == MISSING, np.nan, start + k.astype(float) * step)
    return out
