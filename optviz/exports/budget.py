"""How large and how slow an export of the app may be, decided before it is built.

The app's downloads are built on the server for whoever presses a button, so each one has a
budget (:mod:`optviz.limits`):

* **bytes**, :data:`~optviz.limits.MAX_EXPORT_BYTES` (25 MB), estimated before anything is built
  (:func:`optviz.exports.tables.csv_size` and ``json_size`` format a sample of the rows; the
  HTML page is its fixed part plus a known number of bytes per path point). A CSV or JSON that
  would be larger keeps every k-th step and the last, the smallest k that fits: the file says so
  (the CSV's ``every`` column, the JSON's ``every`` and ``step``), its name ends ``-every{k}``,
  and the page says why. An HTML page over the budget is refused (no allowed scene reaches it:
  the largest is ~22 MB).
* **drawing**, :data:`~optviz.limits.MAX_DRAWN_POINTS` path points for a PNG, GIF or MP4
  (Pillow's line drawing is the slow part; points in the same half-pixel cell as the one
  before are not drawn, :func:`optviz.render.visible_points`, so a path that settles costs
  little): above it the pictures are refused, saying what to reduce.
* **time**, :data:`~optviz.limits.EXPORT_TIME_LIMIT` seconds of compute, checked while the file
  is built (after each track of a CSV or JSON, each frame of a GIF or MP4): past it
  :class:`ExportTimeout`. In the app the file is built by a worker process of the pool
  (:func:`export_job`), so it never holds the server's own process.

:func:`plan` says, for one format, whether the file is offered and how; :func:`build` makes it
(the bytes) under the time limit.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass

from optviz import workers
from optviz.exports import FORMATS, export
from optviz.exports.media import picture_points
from optviz.exports.tables import csv_size, json_size
from optviz.limits import EXPORT_TIME_LIMIT, MAX_DRAWN_POINTS, MAX_EXPORT_BYTES
from optviz.runner import Trajectories
from optviz.scene import Scenario
from optviz.views import matched

__all__ = [
    "ExportRefused",
    "ExportTimeout",
    "Plan",
    "build",
    "drawn_points",
    "export_job",
    "html_size",
    "plan",
]

#: A CSV or JSON is planned so that its estimate times this stays within the byte budget (the
#: estimates are within 1 % of the real size; this keeps the file under the limit).
MARGIN = 1.03
#: What the HTML page holds besides plotly.js, the player and the path arrays (landscape
#: picture, axes, isolines, layout): a generous allowance, bytes.
HTML_FIXED_EXTRA = 1_000_000
#: Numbers per path point in the HTML page's typed arrays (x, y, loss, loss curve, |gradient|),
#: and above how many numbers they are float32 (``optviz.figures.player.F8_LIMIT``).
HTML_NUMBERS_PER_POINT = 5
HTML_F8_LIMIT = 100_000
#: What to reduce, said when a file is too large.
REDUCE = "fewer steps, starts or runs"


class ExportRefused(ValueError):
    """The export would be over its budget (the message says by how much and what to reduce)."""


class ExportTimeout(TimeoutError):
    """Building the export took longer than its time limit."""


@dataclass(frozen=True)
class Plan:
    """How the app offers one export of a scene.

    ``every``: 1 for every step, k for every k-th step and the last (CSV and JSON only);
    ``size``: the estimated bytes of the file offered (``None`` where not estimated: PNG, GIF
    and MP4, whose size the picture sets); ``full_size``: the whole file's estimate;
    ``refused``: why it is not offered (``None``: it is); ``limit``: the byte budget.
    """

    fmt: str
    every: int = 1
    size: int | None = None
    full_size: int | None = None
    refused: str | None = None
    limit: int = MAX_EXPORT_BYTES  # the byte budget it was planned for

    @property
    def decimated(self) -> bool:
        return self.every > 1

    def suffix(self) -> str:
        """File name suffix: ``-every7`` for a decimated file, else empty."""
        return f"-every{self.every}" if self.decimated else ""

    def note(self) -> str | None:
        """What the page says about this file: why it is refused or decimated (else None)."""
        if self.refused is not None:
            return self.refused
        if self.decimated:
            return (f"The {self.fmt.upper()} keeps every {_ordinal(self.every)} step and the "
                    f"last ({_mb(self.size)}): with every step it would be about "
                    f"{_mb(self.full_size)}, over the {_mb(self.limit)} limit for a "
                    f"download. For every step, use {REDUCE}, or `python -m optviz run` on "
                    "your own machine.")
        return None


def _mb(n: int | None) -> str:
    if n is None:
        return "?"
    if n < 1e6:
        return f"{n / 1e3:.0f} kB"
    return f"{n / 1e6:.1f} MB" if n < 10e6 else f"{n / 1e6:.0f} MB"


def _ordinal(k: int) -> str:
    suffix = "th" if 10 <= k % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(k % 10, "th")
    return f"{k}{suffix}"


def drawn_points(traj: Trajectories) -> int:
    """Path points a picture draws: runs × starts × (steps + 1)."""
    return int(traj.n_runs * traj.n_starts * (traj.steps + 1))


def html_size(traj: Trajectories) -> int:
    """Estimated bytes of :func:`optviz.exports.export_html`'s page: plotly.js and the player
    (measured), an allowance for the figure's fixed part, and the path arrays (base64)."""
    from optviz.web import plotly_js, read_asset

    numbers = HTML_NUMBERS_PER_POINT * drawn_points(traj)
    width = 8 if numbers <= HTML_F8_LIMIT else 4
    fixed = len(plotly_js()) + len(read_asset("player.js")) + len(read_asset("player.css"))
    return fixed + HTML_FIXED_EXTRA + math.ceil(numbers * width / 3) * 4


_SIZES: dict[str, Callable[[Scenario, Trajectories, int], int]] = {
    "csv": csv_size, "json": json_size}


def plan(fmt: str, scenario: Scenario, traj: Trajectories, *, max_bytes: int | None = None,
         max_points: int | None = None, points: int | None = None) -> Plan:
    """How ``fmt`` (a key of :data:`optviz.exports.FORMATS`) is offered for this scene, within
    ``max_bytes`` (default :data:`~optviz.limits.MAX_EXPORT_BYTES`) and ``max_points``
    (default :data:`~optviz.limits.MAX_DRAWN_POINTS`); ``points``: the scene's
    :func:`~optviz.exports.media.picture_points`, when already counted."""
    max_bytes = MAX_EXPORT_BYTES if max_bytes is None else max_bytes
    max_points = MAX_DRAWN_POINTS if max_points is None else max_points
    if fmt not in FORMATS:
        raise ValueError(f"unknown export format {fmt!r} (known: {', '.join(FORMATS)})")
    matched(scenario, traj)
    if fmt in _SIZES:
        size = _SIZES[fmt]
        full = size(scenario, traj, 1)
        if full * MARGIN <= max_bytes:
            return Plan(fmt, 1, full, full, limit=max_bytes)
        every = max(2, math.ceil(full * MARGIN / max_bytes))
        for _ in range(64):  # the estimate shrinks about as 1/k; a few more k at most
            estimate = size(scenario, traj, every)
            if estimate * MARGIN <= max_bytes or every > traj.steps:
                return Plan(fmt, every, estimate, full, limit=max_bytes)
            every += max(1, every // 20)
        return Plan(fmt, every, size(scenario, traj, every), full,  # pragma: no cover
                    limit=max_bytes)
    if fmt == "html":
        full = html_size(traj)
        if full <= max_bytes:
            return Plan(fmt, 1, full, full, limit=max_bytes)
        return Plan(fmt, 1, None, full, limit=max_bytes, refused=(
            f"The HTML page would be about {_mb(full)}, over the {_mb(max_bytes)} limit for a "
            f"download: use {REDUCE}."))
    points = picture_points(scenario, traj) if points is None else points
    if points > max_points:
        return Plan(fmt, limit=max_bytes, refused=(
            f"Pictures (PNG, GIF, MP4) are drawn for at most {max_points:,} path points "
            f"(runs × starts × steps, less those in the same half-pixel cell as the point "
            f"before); this scene has {points:,}: use {REDUCE} (the race above and the HTML "
            "export show them all)."))
    return Plan(fmt, limit=max_bytes)


def _ticker(fmt: str, progress: Callable[[float], None] | None,
            time_limit: float | None) -> Callable[[float], None]:
    """A progress callback that also stops the build: past ``time_limit`` seconds of this
    thread's CPU time (or 3× that of wall-clock time, for a starved worker), and when the pool
    cancels the job."""
    cpu0, wall0 = time.thread_time(), time.monotonic()

    def tick(fraction: float) -> None:
        if progress is not None:
            progress(fraction)
        workers.report(fraction)
        workers.check()  # a pool job: cancelled (the session ended or asked again)
        if time_limit is None:
            return
        cpu, wall = time.thread_time() - cpu0, time.monotonic() - wall0
        if cpu > time_limit or wall > workers.WALL_FACTOR * time_limit:
            raise ExportTimeout(
                f"building the {fmt.upper()} took more than "
                f"{time_limit if cpu > time_limit else workers.WALL_FACTOR * time_limit:g} s "
                f"(stopped at {100 * fraction:.0f} %): use {REDUCE}")

    return tick


def build(fmt: str, scenario: Scenario, traj: Trajectories, the_plan: Plan | None = None,
          progress: Callable[[float], None] | None = None, *,
          time_limit: float | None = EXPORT_TIME_LIMIT, width: int | None = None,
          duration: float | None = None) -> bytes:
    """The file of ``fmt`` as ``the_plan`` (default: :func:`plan`) offers it, built under
    ``time_limit`` seconds of compute (:class:`ExportTimeout` past it; ``None``: no limit).
    Raises :class:`ExportRefused` when the plan refuses it."""
    the_plan = plan(fmt, scenario, traj) if the_plan is None else the_plan
    if the_plan.fmt != fmt:
        raise ValueError(f"the plan is for {the_plan.fmt!r}, not {fmt!r}")
    if the_plan.refused is not None:
        raise ExportRefused(the_plan.refused)
    tick = _ticker(fmt, progress, time_limit)
    tick(0.0)
    return export(fmt, scenario, traj, tick, width=width, duration=duration,
                  every=the_plan.every)


def export_job(fmt: str, scenario: Scenario, traj: Trajectories, the_plan: Plan,
               time_limit: float | None, width: int | None = None,
               duration: float | None = None) -> bytes:
    """:func:`build` as a worker pool job (:mod:`optviz.workers`): progress and cancellation
    go through the pool."""
    return build(fmt, scenario, traj, the_plan, time_limit=time_limit, width=width,
                 duration=duration)
