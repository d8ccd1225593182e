"""Trajectories as CSV and JSON, and the scene as JSON (what the app's upload reads back).

Both trajectory formats hold every recorded row: the start (step 0) and each step after it, with
position, loss and the gradient the optimizer saw there (noise included). After a run diverged
its values are unknown: empty CSV cells and JSON ``null`` (never ``NaN``, which is not JSON).
Numbers are written in the shortest form that reads back to the same float.
"""

from __future__ import annotations

import csv
import io
import json
from typing import Any

import numpy as np

from optviz.runner import Trajectories
from optviz.scene import Scenario
from optviz.scene.problems import need
from optviz.views import matched

__all__ = ["CSV_COLUMNS", "scene_json", "trajectories_csv", "trajectories_dict",
           "trajectories_json"]

CSV_COLUMNS = ("run", "variant", "optimizer", "label", "hyperparameters", "start", "start_x",
               "start_y", "step", "x", "y", "loss", "grad_x", "grad_y", "diverged")


def scene_json(scenario: Scenario) -> str:
    """The scene as the versioned JSON that :meth:`Scenario.from_json` (and the app's upload)
    reads back."""
    return need("scenario", scenario, Scenario, "a Scenario").to_json()


_check = matched


def _hparams(scenario: Scenario, r: int) -> dict[str, Any]:
    return scenario.runs[r].to_dict()["hparams"]


def _cells(values: np.ndarray) -> list[str]:
    """Shortest round-trip text of each float; NaN and ±inf as empty cells."""
    return [repr(v) if np.isfinite(v) else "" for v in values.tolist()]


def trajectories_csv(scenario: Scenario, traj: Trajectories) -> str:
    """Long format, one row per (run, start, step), columns :data:`CSV_COLUMNS`.

    ``run`` and ``start`` count from 1 (as the app shows them); ``hyperparameters`` is the run's
    complete torch keyword arguments as JSON; ``diverged`` is 1 from the step at which the run
    diverged on (its values there and after are empty), else 0.
    """
    _check(scenario, traj)
    buf = io.StringIO()
    out = csv.writer(buf, lineterminator="\n")
    out.writerow(CSV_COLUMNS)
    steps = np.arange(traj.steps + 1)
    step_text = [str(k) for k in steps.tolist()]
    for r, run in enumerate(scenario.runs):
        head = [str(r + 1), run.variant, run.optimizer, run.display_label(),
                json.dumps(_hparams(scenario, r), separators=(",", ":"))]
        for s, (sx, sy) in enumerate(scenario.starts):
            cols = [_cells(traj.xy[r, s, :, 0]), _cells(traj.xy[r, s, :, 1]),
                    _cells(traj.loss[r, s]), _cells(traj.grad[r, s, :, 0]),
                    _cells(traj.grad[r, s, :, 1])]
            at = int(traj.diverged_at[r, s])
            flags = ["1" if 0 <= at <= k else "0" for k in steps.tolist()]
            prefix = [*head, str(s + 1), repr(float(sx)), repr(float(sy))]
            out.writerows([*prefix, step_text[k], *(c[k] for c in cols), flags[k]]
                          for k in range(len(steps)))
    return buf.getvalue()


def _floats(values: np.ndarray) -> list[float | None]:
    out: list[float | None] = values.tolist()
    for i in np.flatnonzero(~np.isfinite(values)).tolist():
        out[i] = None
    return out


def trajectories_dict(scenario: Scenario, traj: Trajectories) -> dict[str, Any]:
    """The JSON document of :func:`trajectories_json` as a plain dict."""
    _check(scenario, traj)
    surface = scenario.resolve_surface()
    runs = []
    for r, run in enumerate(scenario.runs):
        tracks = []
        for s, (sx, sy) in enumerate(scenario.starts):
            at = int(traj.diverged_at[r, s])
            tracks.append({
                "start": [float(sx), float(sy)],
                "diverged_at": at if at >= 0 else None,
                "x": _floats(traj.xy[r, s, :, 0]),
                "y": _floats(traj.xy[r, s, :, 1]),
                "loss": _floats(traj.loss[r, s]),
                "grad_x": _floats(traj.grad[r, s, :, 0]),
                "grad_y": _floats(traj.grad[r, s, :, 1]),
            })
        runs.append({"run": r + 1, "variant": run.variant, "optimizer": run.optimizer,
                     "label": run.display_label(), "color": run.color,
                     "hyperparameters": _hparams(scenario, r), "tracks": tracks})
    return {
        "optviz_trajectories": 1,
        "scene": json.loads(scenario.to_json()),
        "surface": {"name": surface.name, "title": surface.title, "formula": surface.formula,
                    "domain": [list(surface.domain[0]), list(surface.domain[1])]},
        "steps": traj.steps,
        "seed": traj.seed,
        "noise": float(traj.noise),
        "runs": runs,
    }


def trajectories_json(scenario: Scenario, traj: Trajectories) -> str:
    """The scene plus, per run and start, arrays ``x``, ``y``, ``loss``, ``grad_x``,
    ``grad_y`` indexed by step (``null`` after divergence) and ``diverged_at``."""
    return json.dumps(trajectories_dict(scenario, traj), allow_nan=False,
                      ensure_ascii=False, separators=(",", ":")) + "\n"
