"""Glue from the core (Scenario, Surface, Trajectories) to the figures' plain data.

The app, the exports and the command line all show a scene the same way: simulate the
scenario, sample its surface on a grid, and turn each (run, start) into a labelled, coloured
:class:`~optviz.figures.Track`. This module is that one way; it holds no Streamlit code.
"""

from __future__ import annotations

import numpy as np

from optviz.figures.data import Landscape, Track
from optviz.metrics import Outcome, RunSummary, outcome, summarize
from optviz.runner import Trajectories, simulate
from optviz.scene import Scenario
from optviz.surfaces import Surface

GRID_POINTS = 200


def simulate_scenario(
    scenario: Scenario, record_state: bool = False, time_limit: float | None = None
) -> Trajectories:
    """Run a validated scenario (all runs from all starts) with :func:`optviz.simulate`."""
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
    )


def landscape_for(surface: Surface, n: int = GRID_POINTS) -> Landscape:
    """The surface sampled on an ``n × n`` grid over its plot window, ready to draw."""
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
    return "({:g}, {:g})".format(*(float(v) for v in point)).replace("-", "−")


def track_label(scenario: Scenario, run: int, start: int) -> str:
    """A trajectory's legend label: its run's label, plus its start when there are several."""
    label = scenario.runs[run].display_label()
    if len(scenario.starts) > 1:
        label += f" from {format_point(scenario.starts[start])}"
    return label


def tracks_for(scenario: Scenario, traj: Trajectories) -> list[Track]:
    """One track per (run, start), in run-major order, in the run's colour."""
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
                )
            )
    return tracks


def summaries_for(
    surface: Surface, traj: Trajectories, tol: float = 1e-3
) -> list[list[RunSummary]]:
    """Results-table numbers, indexed ``[run][start]``."""
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
    domain = scenario.plot_domain()
    return [
        [outcome(traj.xy[r, s], int(traj.diverged_at[r, s]), domain)
         for s in range(traj.n_starts)]
        for r in range(traj.n_runs)
    ]


def outcome_text(o: Outcome, start: tuple[float, float] | np.ndarray) -> str:
    """``"f is not defined at the start (−1.5, 1.5)"``, ``"diverged at step 14"``, ``"left the
    window at step 80"``, or ``""`` when there is nothing to say."""
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
