"""Trajectories as CSV and JSON, and the scene as JSON (what the app's upload reads back).

Both trajectory formats hold the start (step 0) and each step after it, with position, loss
and the gradient the optimizer saw there (noise included), plus each run's complete torch
hyperparameters and its extras (learning-rate schedule with every argument, clipping). After a
run diverged its values are unknown: empty CSV cells and JSON ``null`` (never ``NaN``, which is
not JSON). Numbers are written in the shortest form that reads back to the same float.

``every=k`` keeps every k-th step and the last one (steps 0, k, 2k, ..., ``steps``): the app
asks for it when the whole file would be over its size limit (:mod:`optviz.exports.budget`).
The file says so: the CSV's ``every`` column and the JSON's ``every`` and ``step`` fields.
:func:`csv_size` and :func:`json_size` estimate a file's bytes from a sample of its rows,
without building it.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np

from optviz.arguments import whole
from optviz.optimizers.schedules import check_extras
from optviz.runner import Trajectories
from optviz.scene import Scenario
from optviz.scene.problems import need
from optviz.views import matched

__all__ = ["CSV_COLUMNS", "csv_size", "json_size", "kept_steps", "run_extras", "scene_json",
           "trajectories_csv", "trajectories_dict", "trajectories_json"]

CSV_COLUMNS = ("run", "variant", "optimizer", "label", "hyperparameters", "extras", "start",
               "start_x", "start_y", "step", "x", "y", "loss", "grad_x", "grad_y", "diverged",
               "every")

#: Rows per track, and tracks per run, that :func:`csv_size` and :func:`json_size` format to
#: estimate a file.
SAMPLE_ROWS, SAMPLE_STARTS = 48, 4

Progress = Callable[[float], None]


def scene_json(scenario: Scenario) -> str:
    """The scene as the versioned JSON that :meth:`Scenario.from_json` (and the app's upload)
    reads back."""
    return need("scenario", scenario, Scenario, "a Scenario").to_json()


_check = matched


def _hparams(scenario: Scenario, r: int) -> dict[str, Any]:
    return scenario.runs[r].to_dict()["hparams"]


def _plain(value: Any) -> Any:
    """Tuples as lists, recursively (JSON's form)."""
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, tuple | list):
        return [_plain(v) for v in value]
    return value


def run_extras(scenario: Scenario, r: int) -> dict[str, Any]:
    """Run ``r``'s extras as the simulation used them: ``schedule`` (its name and every
    argument, those that follow the run resolved) and ``clip_norm`` / ``clip_value``, only
    what is set (``{}`` for none)."""
    run = scenario.runs[r]
    extras = run.extras()
    if not extras:
        return {}
    try:
        return _plain(check_extras(extras, scenario.steps, run.kwargs().get("lr")))
    except (TypeError, ValueError):  # not validated: as the scene holds them
        return _plain(extras)


def _every(every: Any) -> int:
    return whole("every", every, 1, 10**9)


def kept_steps(steps: int, every: int = 1) -> np.ndarray:
    """The steps a file with ``every=k`` holds: 0, k, 2k, ... and always the last."""
    ks = np.arange(0, steps + 1, every)
    return ks if ks[-1] == steps else np.append(ks, steps)


def _sample(ks: np.ndarray) -> np.ndarray:
    """At most :data:`SAMPLE_ROWS` of ``ks``, evenly spread, first and last included."""
    if len(ks) <= SAMPLE_ROWS:
        return ks
    return ks[np.unique(np.linspace(0, len(ks) - 1, SAMPLE_ROWS).round().astype(int))]


def _cells(values: np.ndarray) -> list[str]:
    """Shortest round-trip text of each float; NaN and ±inf as empty cells."""
    return [repr(v) if np.isfinite(v) else "" for v in values.tolist()]


def _heads(scenario: Scenario) -> list[list[str]]:
    return [[str(r + 1), run.variant, run.optimizer, run.display_label(),
             json.dumps(_hparams(scenario, r), separators=(",", ":")),
             json.dumps(run_extras(scenario, r), separators=(",", ":"))]
            for r, run in enumerate(scenario.runs)]


def _prefix(scenario: Scenario, head: list[str], s: int) -> list[str]:
    sx, sy = scenario.starts[s]
    return [*head, str(s + 1), repr(float(sx)), repr(float(sy))]


def _rests(traj: Trajectories, r: int, s: int, ks: np.ndarray, every: int
           ) -> Iterator[list[str]]:
    """The cells of each row after the run's and the start's (numbers: never quoted)."""
    cols = [_cells(traj.xy[r, s, ks, 0]), _cells(traj.xy[r, s, ks, 1]),
            _cells(traj.loss[r, s, ks]), _cells(traj.grad[r, s, ks, 0]),
            _cells(traj.grad[r, s, ks, 1])]
    at = int(traj.diverged_at[r, s])
    tail = str(every)
    return ([str(k), *(c[i] for c in cols), "1" if 0 <= at <= k else "0", tail]
            for i, k in enumerate(ks.tolist()))


def _sampling(scenario: Scenario, traj: Trajectories, every: Any
              ) -> tuple[int, np.ndarray, np.ndarray, list[int]]:
    """What a size estimate reads: the checked ``every``, the steps a file keeps, the sampled
    steps among them and the sampled starts."""
    _check(scenario, traj)
    every = _every(every)
    ks = kept_steps(traj.steps, every)
    return every, ks, _sample(ks), _sample_starts(len(scenario.starts))


def _sample_starts(n: int) -> list[int]:
    """At most :data:`SAMPLE_STARTS` start indices of ``n``, evenly spread."""
    return sorted({round(i * (n - 1) / max(SAMPLE_STARTS - 1, 1)) for i in range(SAMPLE_STARTS)}
                  if n > SAMPLE_STARTS else range(n))


def _write_csv(scenario: Scenario, traj: Trajectories, ks: np.ndarray, every: int,
               progress: Progress | None) -> str:
    buf = io.StringIO()
    out = csv.writer(buf, lineterminator="\n")
    out.writerow(CSV_COLUMNS)
    heads = _heads(scenario)
    n, done = len(scenario.runs) * len(scenario.starts), 0
    for r in range(len(scenario.runs)):
        for s in range(len(scenario.starts)):
            prefix = _prefix(scenario, heads[r], s)
            out.writerows([*prefix, *rest] for rest in _rests(traj, r, s, ks, every))
            done += 1
            if progress is not None:
                progress(done / n)
    return buf.getvalue()


def trajectories_csv(scenario: Scenario, traj: Trajectories, every: int = 1,
                     progress: Progress | None = None) -> str:
    """Long format, one row per (run, start, step), columns :data:`CSV_COLUMNS`.

    ``run`` and ``start`` count from 1 (as the app shows them); ``hyperparameters`` is the run's
    complete torch keyword arguments as JSON and ``extras`` its schedule and clipping as JSON
    (see :func:`run_extras`; ``{}`` for none); ``diverged`` is 1 from the step at which the run
    diverged on (its values there and after are empty), else 0; ``every`` is the ``every`` the
    file was made with (1: every step; k: every k-th step and the last). ``progress(fraction)``
    is called after each run's start (it may raise to stop).
    """
    _check(scenario, traj)
    every = _every(every)
    return _write_csv(scenario, traj, kept_steps(traj.steps, every), every, progress)


def csv_size(scenario: Scenario, traj: Trajectories, every: int = 1) -> int:
    """The bytes (UTF-8) :func:`trajectories_csv` would write, estimated from
    :data:`SAMPLE_ROWS` rows per track (within a few per cent; milliseconds)."""
    every, ks, sample, starts = _sampling(scenario, traj, every)
    total = len(",".join(CSV_COLUMNS)) + 1
    line = io.StringIO()
    out = csv.writer(line, lineterminator="\n")
    for head in _heads(scenario):  # the quoted run and start cells of every track, exactly
        for s in range(len(scenario.starts)):
            out.writerow(_prefix(scenario, head, s))
    total += len(ks) * (len(line.getvalue().encode("utf-8")) + len(scenario.runs)
                        * len(scenario.starts))  # each row: its prefix and one more comma
    rest = sum(len(",".join(cells)) for r in range(len(scenario.runs)) for s in starts
               for cells in _rests(traj, r, s, sample, every))
    return total + round(rest * len(ks) / len(sample) * len(scenario.starts) / len(starts))


def _floats(values: np.ndarray) -> list[float | None]:
    out: list[float | None] = values.tolist()
    for i in np.flatnonzero(~np.isfinite(values)).tolist():
        out[i] = None
    return out


def _dict(scenario: Scenario, traj: Trajectories, ks: np.ndarray, every: int,
          progress: Progress | None, starts: list[int] | None = None) -> dict[str, Any]:
    surface = scenario.resolve_surface()
    runs = []
    starts = list(range(len(scenario.starts))) if starts is None else starts
    n, done = len(scenario.runs) * len(starts), 0
    for r, run in enumerate(scenario.runs):
        tracks = []
        for s in starts:
            sx, sy = scenario.starts[s]
            at = int(traj.diverged_at[r, s])
            tracks.append({
                "start": [float(sx), float(sy)],
                "diverged_at": at if at >= 0 else None,
                "x": _floats(traj.xy[r, s, ks, 0]),
                "y": _floats(traj.xy[r, s, ks, 1]),
                "loss": _floats(traj.loss[r, s, ks]),
                "grad_x": _floats(traj.grad[r, s, ks, 0]),
                "grad_y": _floats(traj.grad[r, s, ks, 1]),
            })
            done += 1
            if progress is not None:
                progress(done / n)
        runs.append({"run": r + 1, "variant": run.variant, "optimizer": run.optimizer,
                     "label": run.display_label(), "color": run.color,
                     "hyperparameters": _hparams(scenario, r),
                     "extras": run_extras(scenario, r), "tracks": tracks})
    return {
        "optviz_trajectories": 1,
        "scene": json.loads(scenario.to_json()),
        "surface": {"name": surface.name, "title": surface.title, "formula": surface.formula,
                    "domain": [list(surface.domain[0]), list(surface.domain[1])]},
        "steps": traj.steps,
        "every": every,
        "step": ks.tolist(),
        "seed": traj.seed,
        "noise": float(traj.noise),
        "runs": runs,
    }


def trajectories_dict(scenario: Scenario, traj: Trajectories, every: int = 1,
                      progress: Progress | None = None) -> dict[str, Any]:
    """The JSON document of :func:`trajectories_json` as a plain dict."""
    _check(scenario, traj)
    every = _every(every)
    return _dict(scenario, traj, kept_steps(traj.steps, every), every, progress)


def _dumps(doc: dict[str, Any]) -> str:
    return json.dumps(doc, allow_nan=False, ensure_ascii=False, separators=(",", ":")) + "\n"


def trajectories_json(scenario: Scenario, traj: Trajectories, every: int = 1,
                      progress: Progress | None = None) -> str:
    """The scene plus, per run, its ``hyperparameters`` and ``extras`` (schedule, clipping:
    see :func:`run_extras`) and per start arrays ``x``, ``y``, ``loss``, ``grad_x``,
    ``grad_y`` (``null`` after divergence) and ``diverged_at``. The arrays are indexed like
    the top-level ``step`` (the steps kept: all of them when ``every`` is 1)."""
    return _dumps(trajectories_dict(scenario, traj, every, progress))


def json_size(scenario: Scenario, traj: Trajectories, every: int = 1) -> int:
    """The bytes (UTF-8) :func:`trajectories_json` would write, estimated from
    :data:`SAMPLE_ROWS` steps per track (within a few per cent; milliseconds)."""
    every, ks, sample, starts = _sampling(scenario, traj, every)

    def size(steps: np.ndarray, starts: list[int] | None) -> int:
        doc = _dict(scenario, traj, steps, every, None, starts)
        doc["step"] = []
        return len(_dumps(doc).encode("utf-8"))

    # the document without tracks, each sampled track without its arrays, the arrays' share
    bare = size(ks[:0], [])
    tracks = size(ks[:0], starts) - bare
    arrays = size(sample, starts) - bare - tracks
    scale = len(scenario.starts) / len(starts)
    return bare + len(json.dumps(ks.tolist(), separators=(",", ":"))) - 2 \
        + round(tracks * scale + arrays * scale * len(ks) / len(sample))
