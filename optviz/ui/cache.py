"""What the app computes, cached on hashable descriptions of the scene.

* :func:`trajectories`: ``simulate`` keyed on :meth:`Scenario.sim_key` only, so colours, labels
  and variant names never re-run the optimizers (``st.cache_data``; ``Trajectories`` pickles).
* :func:`landscape`: the surface on its plot grid, keyed on (surface, formula, domain).
* :func:`race_payload`: what the race player draws, keyed on the simulation key plus what only
  changes the look (colours, labels, classroom mode). It lives in ``st.cache_resource``
  (Streamlit only reads it: it serializes a copy); callers must not change it.

:data:`CALLS` counts real (uncached) computations per function; tests read it to check that a
colour change does not re-simulate.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

import streamlit as st

from optviz.figures import Landscape
from optviz.runner import Trajectories
from optviz.scene import Scenario
from optviz.ui import build
from optviz.views import landscape_for, simulate_scenario

#: Seconds a page waits for one simulation before it gives up with a clear message.
SIMULATION_TIME_LIMIT = 20.0

#: Uncached computations so far, by function name (process-wide, like the caches).
CALLS: Counter[str] = Counter()


def surface_key(scene: Scenario) -> tuple:
    """What identifies the drawn surface."""
    return (scene.surface, scene.formula, scene.domain)


def look_key(scene: Scenario, classroom: bool) -> tuple:
    """Everything the figures show that the simulation does not depend on."""
    return (
        tuple(r.color for r in scene.runs),
        tuple(r.display_label() for r in scene.runs),
        bool(classroom),
    )


@st.cache_data(max_entries=64, show_spinner="Running the optimizers…")
def trajectories(sim_key: tuple, _scene: Scenario) -> Trajectories:
    """``simulate`` for ``_scene``; ``sim_key`` (its ``sim_key()``) is the cache key."""
    CALLS["simulate"] += 1
    return simulate_scenario(_scene, time_limit=SIMULATION_TIME_LIMIT)


@st.cache_data(max_entries=32, show_spinner=False)
def landscape(key: tuple, _scene: Scenario) -> Landscape:
    """The surface sampled for drawing; ``key`` is :func:`surface_key`."""
    CALLS["landscape"] += 1
    return landscape_for(_scene.resolve_surface())


@st.cache_resource(max_entries=16, show_spinner=False)
def race_payload(
    sim_key: tuple, look: tuple, _scene: Scenario, _traj: Trajectories, _land: Landscape,
) -> dict[str, Any]:
    """The race player's payload (``look[2]``: classroom mode). Read-only: do not change it."""
    CALLS["race_payload"] += 1
    return build.player_payload(_scene, _traj, _land, classroom=look[2])


def clear() -> None:
    """Empty every cache and the call counts (tests)."""
    st.cache_data.clear()
    st.cache_resource.clear()
    CALLS.clear()
