"""Suggested learning rates per surface (``surfaces/suggested_lr.json``, made by
``bench/suggest_lr.py`` with the tuner): complete for the default runs, and good for them."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from optviz.scene import DEFAULT_RUNS, DEFAULT_SCENARIO, RunConfig
from optviz.suggested import suggested_lr, table
from optviz.surfaces import list_surfaces
from optviz.views import simulate_scenario

DEFAULT_VARIANTS = [r.variant for r in DEFAULT_RUNS]


def test_the_file_covers_every_surface_and_every_default_run() -> None:
    lr = table()["lr"]
    assert set(lr) == set(list_surfaces())
    for surface in list_surfaces():
        for variant in DEFAULT_VARIANTS:
            value = suggested_lr(surface, variant)
            assert value is not None and 1e-6 <= value <= 10, (surface, variant)
    assert {"criterion", "steps", "budget", "seed"} <= set(table())


def test_unknown_names_have_no_suggestion() -> None:
    assert suggested_lr("custom", "adam") is None
    assert suggested_lr("rosenbrock", "no-such-optimizer") is None
    assert suggested_lr(None, "adam") is None  # type: ignore[arg-type]
    assert isinstance(suggested_lr("beale", "adam"), float)


@pytest.mark.parametrize("surface", list_surfaces())
def test_with_the_suggested_lr_every_default_run_lowers_its_loss_without_diverging(
    surface: str,
) -> None:
    scene = DEFAULT_SCENARIO.with_surface(surface)
    runs = tuple(RunConfig.make(r.variant, dict(r.hparams, lr=suggested_lr(surface, r.variant)),
                                slot=i) for i, r in enumerate(DEFAULT_RUNS))
    traj = simulate_scenario(replace(scene, runs=runs))
    assert (traj.diverged_at < 0).all(), traj.diverged_at
    assert np.all(traj.loss[:, :, -1] < traj.loss[:, :, 0]), traj.loss[:, :, [0, -1]]


def test_the_issue_cases_are_fixed() -> None:
    """Goldstein–Price: SGD and Momentum at their registry lr diverge at step 1."""
    scene = DEFAULT_SCENARIO.with_surface("goldstein_price")
    before = simulate_scenario(scene)
    assert (before.diverged_at[:2] >= 0).any()
    runs = tuple(RunConfig.make(r.variant, dict(r.hparams, lr=suggested_lr(
        "goldstein_price", r.variant)), slot=i) for i, r in enumerate(DEFAULT_RUNS))
    after = simulate_scenario(replace(scene, runs=runs))
    assert (after.diverged_at < 0).all()
