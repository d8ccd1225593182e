"""Analyses over many runs, each in ONE lock-step loop with streaming metrics.

* :func:`sweep`: one optimizer over a hyperparameter grid (lr sensitivity, phase maps);
  :func:`sweep_many`: the same grid for several optimizers, in one loop;
* :func:`basins`: a grid of starts for one setting (which minimum, how fast);
* :func:`tune`: the best setting for a criterion within a budget (log grid, or optuna TPE);
* :mod:`.metrics`: final loss, mean loss, steps to tolerance, distance to the nearest minimum.
"""

from optviz.analysis.basins import BasinMap, basins
from optviz.analysis.metrics import METRICS, Metrics
from optviz.analysis.sweep import SweepResult, sweep, sweep_many
from optviz.analysis.tune import TuneResult, tune

__all__ = ["METRICS", "BasinMap", "Metrics", "SweepResult", "TuneResult", "basins", "sweep",
           "sweep_many", "tune"]
