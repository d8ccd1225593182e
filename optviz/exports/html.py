"""The animated figure as one standalone HTML page that works offline (plotly.js inlined)."""

from __future__ import annotations

import html

from optviz.arguments import whole
from optviz.figures import trajectory_figure
from optviz.runner import Trajectories
from optviz.scene import Scenario
from optviz.views import landscape_for, matched, tracks_for

MIN_HEIGHT, MAX_HEIGHT = 200, 4000  # the figure's height in pixels

__all__ = ["export_html"]


def export_html(scenario: Scenario, traj: Trajectories, height: int = 640) -> str:
    """A complete HTML page with the animated trajectory figure (Play / Pause, speed, slider).

    plotly.js is embedded in the page (about 4.7 MB), so it needs no network; the page opens at
    the end of the race, like the app. ``height`` is in pixels, in ``[200, 4000]``.
    """
    matched(scenario, traj)
    height = whole("height", height, MIN_HEIGHT, MAX_HEIGHT)
    surface = scenario.resolve_surface()
    fig = trajectory_figure(landscape_for(surface), tracks_for(scenario, traj),
                            starts=scenario.starts, height=height)
    page = fig.to_html(include_plotlyjs=True, full_html=True, auto_play=False,
                       config={"displaylogo": False, "responsive": True})
    title = f"<title>optviz: {html.escape(surface.title)}</title>"
    return page.replace("<head>", f"<head>\n    {title}", 1)
