"""The app's figures for a scene, built from plain results (no Streamlit, no caching).

:mod:`optviz.ui.cache` caches these; ``bench/app.py`` times them.
"""

from __future__ import annotations

import plotly.graph_objects as go

from optviz.figures import Landscape, loss_figure, trajectory_figure
from optviz.runner import Trajectories
from optviz.scene import Scenario
from optviz.ui.style import enlarge
from optviz.views import tracks_for

#: Side of the invisible click grid (cells): 40 × 40 = a start point every 1/40 of the window.
CLICK_GRID = 40
RACE_HEIGHT = 620
CLASSROOM_RACE_HEIGHT = 740
LOSS_HEIGHT = 330
MAX_WIDTH = 920  # px: wider figures overflow the main area of a 1400 px wide window


def race_figure(scene: Scenario, traj: Trajectories, land: Landscape, classroom: bool = False,
                token: str = "") -> go.Figure:
    """The animated race with the click grid; taller, with thicker lines and bigger markers for
    a projector; ``layout.meta = token`` (the autoplay script checks it before pressing Play)."""
    tracks = tracks_for(scene, traj)
    height = CLASSROOM_RACE_HEIGHT if classroom else RACE_HEIGHT
    fig = trajectory_figure(land, tracks, scene.starts, click_grid=CLICK_GRID, height=height)
    width = fig.layout.width
    if classroom and width and width > MAX_WIDTH:
        # an equal-aspect plot grows wider with its height: keep it within a laptop's page
        (x0, x1), (y0, y1) = land.x_range, land.y_range
        height = max(RACE_HEIGHT, round(height - (width - MAX_WIDTH) * (y1 - y0) / (x1 - x0)))
        fig = trajectory_figure(land, tracks, scene.starts, click_grid=CLICK_GRID,
                                height=height)
    if classroom:
        enlarge(fig, 1.45)
    fig.update_layout(meta=token)
    return fig


def loss_chart(scene: Scenario, traj: Trajectories, land: Landscape,
               classroom: bool = False) -> go.Figure:
    """Loss (gap to the known minimum where there is one) per step, every run."""
    fig = loss_figure(tracks_for(scene, traj), minimum_value=land.minimum_value,
                      height=LOSS_HEIGHT)
    if classroom:
        enlarge(fig, 1.3)
    return fig
