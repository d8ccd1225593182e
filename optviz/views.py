"""Glue from the core (Scenario, Surface, Trajectories) to the figures' plain data.

The app, the exports and the command line all show a scene the same way: simulate the
scenario, sample its surface on a grid, and turn each (run, start) into a labelled, coloured
:class:`~optviz.figures.Track`. This module is that one way; it holds no Streamlit code.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from optviz.arguments import flag, points, real, whole
from optviz.figures.data import Landscape, Track
from optviz.metrics import Outcome, RunSummary, outcome, summarize
from optviz.runner import Trajectories, simulate
from optviz.scene import Scenario
from optviz.scene.problems import need
from optviz.surfaces import MAX_GRID, Surface

GRID_POINTS = 200


def _scene(scenario: object) -> Scenario:
    return need("scenario", scenario, Scenario, "a Scenario")


def _traj(traj: object) -> Trajectories:
    return need("traj", traj, Trajectories, "a Trajectories (from simulate)")


def matched(scenario: Scenario, traj: Trajectories) -> None:
    """``TypeError`` unless ``scenario`` is a Scenario and ``traj`` a Trajectories;
    ``ValueError`` unless the trajectories are the scenario's (same runs and starts)."""
    _scene(scenario)
    _traj(traj)
    if traj.n_runs != len(scenario.runs) or traj.n_starts != len(scenario.starts):
        raise ValueError(
            f"traj ({traj.n_runs} runs x {traj.n_starts} starts) does not belong to this "
            f"scenario ({len(scenario.runs)} runs x {len(scenario.starts)} starts)")


def simulate_scenario(
    scenario: Scenario, record_state: bool = False, time_limit: float | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> Trajectories:
    """Run a scenario (all runs from all starts) with :func:`optviz.simulate`; an invalid one
    raises ``ScenarioError`` (a ``ValueError``). ``progress(step, steps)``: see ``simulate``."""
    scenario = _scene(scenario).validated()
    record_state = flag("record_state", record_state)
    surface = scenario.resolve_surface() if scenario.is_custom else scenario.surface
    return simulate(
        surface,
        scenario.run_specs(),
        scenario.starts,
        steps=scenario.steps,
        seed=scenario.seed,
        noise=scenario.noise,
        record_state=record_state,
        time_limit=time_limit,
        progress=progress,
    )


def landscape_for(surface: Surface, n: int = GRID_POINTS) -> Landscape:
    """The surface sampled on an ``n × n`` grid over its plot window, ready to draw."""
    need("surface", surface, Surface, "a Surface")
    n = whole("n", n, 2, MAX_GRID)
    xs, ys, z = surface.grid(n)
    return Landscape(
        xs=xs,
        ys=ys,
        z=z,
        log_scale=surface.log_scale,
        title=surface.title,
        minima=tuple(surface.minima),
        saddles=tuple(surface.saddles),
        minimum_value=surface.minimum_value,
    )


def format_point(point: tuple[float, float] | np.ndarray) -> str:
    """``(−1.5, 2)``: a start point as people write it."""
    xy = points("point", point)
    if len(xy) != 1:
        raise ValueError(f"point must be one (x, y) pair, got {len(xy)}")
    point = xy[0]
    return "({:g}, {:g})".format(*(float(v) for v in point)).replace("-", "−")


def track_label(scenario: Scenario, run: int, start: int) -> str:
    """A trajectory's legend label: its run's label, plus its start when there are several."""
    _scene(scenario)
    run = whole("run", run, 0, len(scenario.runs) - 1)
    start = whole("start", start, 0, len(scenario.starts) - 1)
    label = scenario.runs[run].display_label()
    if len(scenario.starts) > 1:
        label += f" from {format_point(scenario.starts[start])}"
    return label


def tracks_for(scenario: Scenario, traj: Trajectories) -> list[Track]:
    """One track per (run, start), in run-major order, in the run's colour."""
    matched(scenario, traj)
    labels = [run.display_label() for run in scenario.runs]
    groups = [
        label if labels.count(label) == 1 else f"{label} #{r + 1}" for r, label in enumerate(labels)
    ]
    tracks = []
    for r, run in enumerate(scenario.runs):
        for s in range(len(scenario.starts)):
            tracks.append(
                Track(
                    label=track_label(scenario, r, s),
                    color=run.color,
                    xy=traj.xy[r, s],
                    loss=traj.loss[r, s],
                    diverged_at=int(traj.diverged_at[r, s]),
                    # one legend entry per run when it starts from several points
                    group=groups[r] if len(scenario.starts) > 1 else "",
                    grad=traj.grad[r, s],
                    run=r,
                    start=s,
                    grad_point=None if traj.grad_point is None
                    or np.isnan(traj.grad_point[r, s]).all() else traj.grad_point[r, s],
                )
            )
    return tracks


def summaries_for(
    surface: Surface, traj: Trajectories, tol: float = 1e-3
) -> list[list[RunSummary]]:
    """Results-table numbers, indexed ``[run][start]``."""
    need("surface", surface, Surface, "a Surface")
    _traj(traj)
    tol = real("tol", tol, 0.0)
    return [
        [
            summarize(
                traj.xy[r, s],
                traj.loss[r, s],
                int(traj.diverged_at[r, s]),
                minima=surface.minima,
                minimum_value=surface.minimum_value,
                tol=tol,
            )
            for s in range(traj.n_starts)
        ]
        for r in range(traj.n_runs)
    ]


def outcomes_for(scenario: Scenario, traj: Trajectories) -> list[list[Outcome]]:
    """How each trajectory went (undefined at the start, diverged, left the window), indexed
    ``[run][start]``; the window is the scene's plot window."""
    matched(scenario, traj)
    domain = scenario.plot_domain()
    return [
        [outcome(traj.xy[r, s], int(traj.diverged_at[r, s]), domain)
         for s in range(traj.n_starts)]
        for r in range(traj.n_runs)
    ]


def outcome_text(o: Outcome, start: tuple[float, float] | np.ndarray) -> str:
    """``"f is not defined at the start (−1.5, 1.5)"``, ``"diverged at step 14"``, ``"left the
    window at step 80"``, or ``""`` when there is nothing to say."""
    need("o", o, Outcome, "an Outcome")
    if o.undefined_at_start:
        return f"f is not defined at the start {format_point(start)}"
    if o.diverged_at >= 0:
        return f"diverged at step {o.diverged_at}"
    if o.left_window_at is not None:
        return f"left the window at step {o.left_window_at}"
    return ""


def run_notes(scenario: Scenario, traj: Trajectories) -> list[str]:
    """One sentence per trajectory worth a note, in run-major order:
    ``"✗ Adam (lr=3) diverged at step 14"``, ``"✗ SGD (lr=0.001): f is not defined at the start
    (−1.5, 1.5)"``, ``"↗ SGD (lr=0.01) left the window at step 31"``."""
    notes = []
    for r, per_start in enumerate(outcomes_for(scenario, traj)):
        for s, o in enumerate(per_start):
            text = outcome_text(o, scenario.starts[s])
            if not text:
                continue
            label = track_label(scenario, r, s)
            if o.undefined_at_start:
                notes.append(f"✗ {label}: {text}")
            else:
                notes.append(f"{'✗' if o.diverged_at >= 0 else '↗'} {label} {text}")
    return notes
