"""Plain data the figures draw, and the small numeric helpers they share.

Everything here is numpy and the standard library: the figures never see torch tensors or
optviz core objects, only these two frozen records.
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

__all__ = [
    "Landscape",
    "Track",
    "divergence_note",
    "divergence_notes",
    "frame_steps",
]


@dataclass(frozen=True, eq=False)
class Landscape:
    r"""A surface sampled on a grid, for drawing.

    ``z[j, i]`` is :math:`f(x_i, y_j)`; it may hold ``inf`` and ``nan`` (drawn in the colour of the
    top of the scale). ``log_scale`` colours :math:`\log_{10}(f - f_{\min} + \varepsilon)` instead
    of :math:`f`. ``minimum_value`` is the literature value :math:`f^*` (``None`` if unknown); it
    anchors the log scale when the grid misses the minimum.
    """

    xs: np.ndarray
    ys: np.ndarray
    z: np.ndarray
    log_scale: bool = False
    title: str = ""
    minima: tuple[tuple[float, float], ...] = ()
    saddles: tuple[tuple[float, float], ...] = ()
    minimum_value: float | None = None

    def __post_init__(self) -> None:
        xs = np.asarray(self.xs, dtype=float)
        ys = np.asarray(self.ys, dtype=float)
        z = np.asarray(self.z, dtype=float)
        if xs.ndim != 1 or ys.ndim != 1 or len(xs) < 2 or len(ys) < 2:
            raise ValueError("xs and ys must be 1-D with at least 2 points each")
        if z.shape != (len(ys), len(xs)):
            raise ValueError(f"z must have shape (len(ys), len(xs)) = {(len(ys), len(xs))}, "
                             f"got {z.shape}")
        if not (np.all(np.diff(xs) > 0) and np.all(np.diff(ys) > 0)):
            raise ValueError("xs and ys must be strictly increasing")
        object.__setattr__(self, "xs", xs)
        object.__setattr__(self, "ys", ys)
        object.__setattr__(self, "z", z)

    @property
    def x_range(self) -> tuple[float, float]:
        """The plot window along x: ``(xs[0], xs[-1])``."""
        return float(self.xs[0]), float(self.xs[-1])

    @property
    def y_range(self) -> tuple[float, float]:
        """The plot window along y: ``(ys[0], ys[-1])``."""
        return float(self.ys[0]), float(self.ys[-1])


@dataclass(frozen=True, eq=False)
class Track:
    """One trajectory: an optimizer run from one start point.

    ``xy`` has shape ``(steps + 1, 2)`` with row 0 the start and NaN rows after divergence;
    ``loss`` has shape ``(steps + 1,)``; ``diverged_at`` is the first step whose value was not
    finite (or out of bounds), ``-1`` if the run never diverged. ``label`` reads like
    ``"Adam (lr=0.05)"`` (or ``"Adam (lr=0.05) from (−1.5, 2)"``) and names the track in hover
    labels and notes; ``color`` is any CSS colour (``"#1f77b4"``). Tracks with the same
    ``group`` (say, one run from several starts) share one legend entry named ``group``, which
    shows or hides them together; an empty group gives the track its own entry. ``grad``
    (optional, shape of ``xy``) is the gradient the optimizer saw at each step (noise
    included); ``run`` and ``start`` are the track's indices in its scene.
    """

    label: str
    color: str
    xy: np.ndarray
    loss: np.ndarray
    diverged_at: int = -1
    group: str = ""
    grad: np.ndarray | None = None
    run: int = 0
    start: int = 0
    #: schedule-free runs (gradient at y, reports x): y_k per step, shape of ``xy`` (NaN where
    #: there is none); None for every other optimizer
    grad_point: np.ndarray | None = None

    def __post_init__(self) -> None:
        xy = np.asarray(self.xy, dtype=float)
        loss = np.asarray(self.loss, dtype=float)
        if xy.ndim != 2 or xy.shape[1] != 2 or len(xy) < 1:
            raise ValueError(f"xy must have shape (steps + 1, 2), got {xy.shape}")
        if loss.shape != (len(xy),):
            raise ValueError(f"loss must have shape ({len(xy)},), got {loss.shape}")
        if self.grad is not None:
            grad = np.asarray(self.grad, dtype=float)
            if grad.shape != xy.shape:
                raise ValueError(f"grad must have the shape of xy {xy.shape}, got {grad.shape}")
            object.__setattr__(self, "grad", grad)
        if self.grad_point is not None:
            point = np.asarray(self.grad_point, dtype=float)
            if point.shape != xy.shape:
                raise ValueError(f"grad_point must have the shape of xy {xy.shape}, "
                                 f"got {point.shape}")
            object.__setattr__(self, "grad_point", point)
        object.__setattr__(self, "xy", xy)
        object.__setattr__(self, "loss", loss)
        object.__setattr__(self, "diverged_at", int(self.diverged_at))

    @property
    def legend_name(self) -> str:
        """The legend entry this track belongs to: its group, or its own label."""
        return self.group or self.label

    @property
    def steps(self) -> int:
        """Number of optimizer steps recorded (rows of ``xy`` minus the start)."""
        return len(self.xy) - 1

    @property
    def last_finite(self) -> int:
        """The last step drawn: the one before the first non-finite row of ``xy`` or before
        ``diverged_at``, whichever comes first; -1 if even the start is not finite."""
        bad = ~np.isfinite(self.xy).all(axis=1)
        if 0 <= self.diverged_at <= self.steps:
            bad[self.diverged_at :] = True
        return int(np.argmax(bad)) - 1 if bad.any() else self.steps


def frame_steps(n_steps: int, max_frames: int = 200) -> np.ndarray:
    """Optimizer steps shown as animation frames: evenly spread over ``0..n_steps``.

    Every step when ``n_steps + 1 <= max_frames``; otherwise ``max_frames`` steps rounded from
    ``linspace(0, n_steps, max_frames)``. Always starts at 0 and ends at ``n_steps``; strictly
    increasing.
    """
    if n_steps < 0:
        raise ValueError("n_steps must be >= 0")
    if max_frames < 2:
        raise ValueError("max_frames must be >= 2")
    if n_steps + 1 <= max_frames:
        return np.arange(n_steps + 1)
    return np.unique(np.round(np.linspace(0, n_steps, max_frames)).astype(int))


def divergence_note(track: Track) -> str | None:
    """``"Adam (lr=3) diverged at step 14"`` for a diverged track, else ``None``. A run stopped
    at step 0 never moved: its start is inside the window, so f is not defined there."""
    if track.diverged_at < 0:
        return None
    if track.diverged_at == 0:
        return f"{track.label}: f is not defined at the start"
    return f"{track.label} diverged at step {track.diverged_at}"


def divergence_notes(tracks: Sequence[Track]) -> list[str]:
    """One note per diverged track, in order: ``"Adam (lr=3) diverged at step 14"``."""
    return [n for n in (divergence_note(t) for t in tracks) if n is not None]


def decimals_for(span: float, resolution: float = 1e-4) -> int:
    """Decimal places that resolve ``resolution * span`` (coordinates in a window of ``span``)."""
    if not np.isfinite(span) or span <= 0:
        return 6
    return int(max(0, np.ceil(-np.log10(span * resolution))))


def round_list(values: np.ndarray, decimals: int) -> list[float | None]:
    """Rounded plain floats for JSON (shorter than base64 once plotly escapes '/'); NaN -> None."""
    arr = np.round(np.asarray(values, dtype=float), decimals)
    out = arr.tolist()
    bad = np.flatnonzero(~np.isfinite(arr))
    for i in bad:
        out[i] = None
    return out


def sig_list(values: np.ndarray, digits: int = 4) -> list[float | None]:
    """Values rounded to ``digits`` significant digits as plain floats; non-finite -> None."""
    fmt = f"{{:.{digits}g}}"
    return [float(fmt.format(v)) if np.isfinite(v) else None for v in np.asarray(values, float)]


def escape(text: str) -> str:
    """Text safe inside plotly's HTML-like labels and hover templates."""
    return html.escape(text, quote=False).replace("%{", "%&#123;")


def legend_entries(tracks: Sequence[Track]) -> list[tuple[str, bool]]:
    """For each track, its legend group id and whether it carries the group's legend entry
    (the first track of a ``group`` does; a track without a group is its own entry, even when
    another track has the same label)."""
    seen: set[str] = set()
    out = []
    for i, track in enumerate(tracks):
        key = f"group:{track.group}" if track.group else f"track:{i}"
        out.append((key, key not in seen))
        seen.add(key)
    return out


def legend_names(tracks: Sequence[Track]) -> list[str]:
    """The legend's entries, in order: one per group, one per track without a group."""
    return [t.legend_name for t, (_, first) in zip(tracks, legend_entries(tracks), strict=True)
            if first]


def legend_rows(labels: Sequence[str], avail_px: float) -> int:
    """Rows of a horizontal legend of ``labels`` that plotly wraps at ``avail_px``: an estimate
    from the label lengths (12 px font, line-and-marker icons)."""
    rows, used = (1 if labels else 0), 0.0
    for label in labels:
        w = 42 + 6.2 * len(label)
        if used and used + w > avail_px:
            rows, used = rows + 1, 0.0
        used += w
    return rows


def legend_width(labels: Sequence[str]) -> int:
    """Width (px) of a vertical legend of ``labels``: an estimate, at most 320."""
    return int(min(320, 46 + 5.6 * max((len(lab) for lab in labels), default=0)))
