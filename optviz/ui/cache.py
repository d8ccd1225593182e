"""What the app computes, cached on hashable descriptions of the scene.

* :func:`trajectories`: ``simulate`` keyed on :meth:`Scenario.sim_key` only, so colours, labels
  and variant names never re-run the optimizers (``st.cache_data``; ``Trajectories`` pickles).
* :func:`landscape`: the surface on its plot grid, keyed on (surface, formula, domain).
* :func:`race_figure` / :func:`loss_chart`: the Plotly figures, keyed on the simulation key plus
  what only changes the look (colours, labels, classroom mode). They live in
  ``st.cache_resource``: a figure with 200 frames takes longer to pickle (0.15 s) than
  ``st.cache_data`` would save, and Streamlit only reads the figure (it serializes a copy).

:data:`CALLS` counts real (uncached) computations per function; tests read it to check that a
colour change does not re-simulate.
"""

from __future__ import annotations

import hashlib
from collections import Counter

import plotly.graph_objects as go
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


def figure_token(scene: Scenario, classroom: bool) -> str:
    """A short stable id of the race figure (the autoplay uses it to know a new race is up)."""
    text = repr((scene.sim_key(), look_key(scene, classroom)))
    return hashlib.blake2s(text.encode(), digest_size=8).hexdigest()


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
def race_figure(
    sim_key: tuple, look: tuple, token: str, _scene: Scenario, _traj: Trajectories,
    _land: Landscape,
) -> go.Figure:
    """The animated race (``look[2]``: classroom mode). Read-only: do not change it."""
    CALLS["race_figure"] += 1
    return build.race_figure(_scene, _traj, _land, classroom=look[2], token=token)


@st.cache_resource(max_entries=16, show_spinner=False)
def loss_chart(
    sim_key: tuple, look: tuple, _scene: Scenario, _traj: Trajectories, _land: Landscape
) -> go.Figure:
    """Loss per step for every run. Read-only."""
    CALLS["loss_figure"] += 1
    return build.loss_chart(_scene, _traj, _land, classroom=look[2])


def clear() -> None:
    """Empty every cache and the call counts (tests)."""
    st.cache_data.clear()
    st.cache_resource.clear()
    CALLS.clear()
