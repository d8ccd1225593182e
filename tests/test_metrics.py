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
