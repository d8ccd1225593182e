"""The lr-against-step chart of a run's schedule (a pure Plotly builder)."""

from __future__ import annotations

import pytest

from optviz.figures.schedule import lr_figure
from optviz.optimizers.schedules import check_schedule, learning_rates


def test_lr_figure_draws_the_schedule_in_the_run_colour() -> None:
    rates = learning_rates(check_schedule({"name": "StepLR", "step_size": 10, "gamma": 0.5},
                                          30, 0.1), 0.1, 30)
    fig = lr_figure(rates, "#ff4fd8")
    (trace,) = fig.data
    assert list(trace.x) == list(range(30))
    assert list(trace.y[:10]) == [0.1] * 10 and trace.y[10] == pytest.approx(0.05)
    assert trace.y[-1] == pytest.approx(0.025)
    assert trace.line.color == "#ff4fd8" and trace.line.shape == "hv"
    assert fig.layout.height == 170


def test_lr_figure_thins_long_runs_keeping_both_ends() -> None:
    rates = [1.0 / (1 + t) for t in range(5000)]
    (trace,) = lr_figure(rates, max_points=400).data
    assert len(trace.x) == 400 and trace.x[0] == 0 and trace.x[-1] == 4999
    assert trace.y[-1] == pytest.approx(1 / 5000)
