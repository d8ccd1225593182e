"""Results-table numbers computed from trajectories."""

from __future__ import annotations

import numpy as np

from optviz.metrics import last_finite_index, summarize


def test_summary_of_a_converging_run() -> None:
    xy = np.array([[0.0, 0.0], [0.5, 0.5], [0.9, 0.9], [1.0, 1.0]])
    loss = np.array([1.0, 0.25, 0.01, 0.0])
    s = summarize(xy, loss, -1, minima=[(1.0, 1.0), (-3.0, 0.0)], minimum_value=0.0, tol=0.05)
    assert s.final_loss == 0.0 and s.final_xy == (1.0, 1.0)
    assert s.distance_to_minimum == 0.0
    assert s.first_below_tol == 2
    assert s.diverged_at == -1


def test_summary_uses_the_gap_to_a_negative_minimum_value() -> None:
    xy = np.zeros((3, 2))
    loss = np.array([-0.5, -1.0, -1.0315])
    s = summarize(xy, loss, -1, minima=[(0.09, -0.71)], minimum_value=-1.0316, tol=1e-3)
    assert s.first_below_tol == 2
    assert np.isclose(s.distance_to_minimum, np.hypot(0.09, 0.71))


def test_summary_of_a_diverged_run_reports_the_last_finite_point() -> None:
    xy = np.array([[0.0, 1.0], [2.0, 3.0], [np.nan, np.nan], [np.nan, np.nan]])
    loss = np.array([1.0, 50.0, np.nan, np.nan])
    s = summarize(xy, loss, 2, minima=(), tol=1e-3)
    assert s.final_loss == 50.0 and s.final_xy == (2.0, 3.0)
    assert s.distance_to_minimum is None and s.first_below_tol is None and s.diverged_at == 2
    assert last_finite_index(np.array([np.nan])) == -1


def test_outcome_of_synthetic_paths() -> None:
    from optviz.metrics import outcome

    window = ((-1.0, 1.0), (-1.0, 1.0))
    inside = np.array([[0.0, 0.0], [0.5, 0.5], [1.0, -1.0]])  # the border counts as inside
    assert outcome(inside, -1, window) == outcome(inside, -1, window)
    o = outcome(inside, -1, window)
    assert (o.undefined_at_start, o.diverged_at, o.left_window_at) == (False, -1, None)
    leaving = np.array([[0.0, 0.0], [0.9, 0.0], [1.2, 0.0], [0.5, 0.0]])
    assert outcome(leaving, -1, window).left_window_at == 2  # first step outside, back or not
    diverging = np.array([[0.0, 0.0], [0.5, 0.0], [np.nan, np.nan]])
    o = outcome(diverging, 2, window)
    assert o.diverged_at == 2 and o.left_window_at is None and not o.undefined_at_start
    undefined = np.full((4, 2), np.nan)
    o = outcome(undefined, 0, window)
    assert o.undefined_at_start and o.diverged_at == 0 and o.left_window_at is None


def test_notes_for_an_undefined_start_and_a_run_that_leaves_the_window() -> None:
    from optviz.scene import from_query
    from optviz.views import outcomes_for, run_notes, simulate_scenario

    # log(x) from the custom window's default start (-1.5, 1.5): f is not defined there
    scene, warnings = from_query({"surface": "custom", "formula": "log(x) + y**2"})
    assert warnings == [] and scene.starts == ((-1.5, 1.5),)
    traj = simulate_scenario(scene)
    assert (traj.diverged_at == 0).all()
    notes = run_notes(scene, traj)
    assert notes[0] == "✗ SGD (lr=0.001): f is not defined at the start (−1.5, 1.5)"
    assert len(notes) == 4 and not any("diverged at step 0" in n for n in notes)

    # x² − y² from (-1.5, 1.5): the saddle sends y away; nothing diverges, three runs leave
    scene, _ = from_query({"surface": "custom", "formula": "x**2 - y**2"})
    traj = simulate_scenario(scene)
    assert (traj.diverged_at == -1).all()
    adam_y = np.abs(traj.xy[3, 0, :, 1])
    assert 23 < adam_y[-1] < 24 and np.abs(traj.xy[1, 0, -1, 1]) > 200
    first_out = int(np.flatnonzero(adam_y > 3.0)[0])
    assert first_out == 29 and adam_y[first_out - 1] <= 3.0
    assert outcomes_for(scene, traj)[3][0].left_window_at == 29
    assert run_notes(scene, traj) == [
        "↗ Momentum (lr=0.001) left the window at step 48",
        "↗ RMSprop (lr=0.01) left the window at step 51",
        "↗ Adam (lr=0.05) left the window at step 29",
    ]
