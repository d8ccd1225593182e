"""The race as one standalone HTML page that works offline: plotly.js, the race player
(``optviz/web/player.js`` and ``player.css``) and the payload are all inlined."""

from __future__ import annotations

import html
import json
from typing import Any

from optviz.arguments import whole
from optviz.figures import race_payload
from optviz.runner import Trajectories
from optviz.scene import Scenario
from optviz.views import landscape_for, matched, tracks_for
from optviz.web import plotly_js, read_asset

MIN_HEIGHT, MAX_HEIGHT = 200, 4000  # the race plot's largest height in pixels

__all__ = ["export_html"]

_BOOT = """(function () {
  "use strict";
  var payload = JSON.parse(document.getElementById("optviz-payload").textContent);
  OptvizPlayer.mount(document.getElementById("optviz-root"), payload, {});
})();"""


def script_json(obj: Any) -> str:
    """JSON safe inside a ``<script>`` element: ``</`` (and ``<!--``) cannot end it."""
    text = json.dumps(obj, allow_nan=False, separators=(",", ":"))
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def _inline_script(code: str) -> str:
    """Inline JavaScript: a literal ``</script`` in it would close the element."""
    return code.replace("</script", "<\\/script")


def export_html(scenario: Scenario, traj: Trajectories, height: int = 640) -> str:
    """A complete HTML page with the race player (Play / Pause, steps, slider, speed, loss
    chart), sized to the window; it opens at step 0.

    plotly.js is embedded in the page (about 4.7 MB), so it needs no network. ``height`` is
    the most the race plot may take, in pixels, in ``[200, 4000]`` (the page fits the plot to
    the window's width and height below that).
    """
    matched(scenario, traj)
    height = whole("height", height, MIN_HEIGHT, MAX_HEIGHT)
    surface = scenario.resolve_surface()
    land = landscape_for(surface)
    payload = race_payload(land, tracks_for(scenario, traj), scenario.starts,
                           initial_step=0, minimum_value=surface.minimum_value)
    title = html.escape(f"optviz: {surface.title}")
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title>
<style>
html, body {{ margin: 0; padding: 0; background: white; }}
#optviz-root {{ box-sizing: border-box; width: 100%; padding: 8px 12px; outline: none;
  max-width: 100vw; }}
</style>
<style>
{read_asset("player.css")}
</style>
<script>{_inline_script(plotly_js())}</script>
<script>{_inline_script(read_asset("player.js"))}</script>
</head>
<body>
<div id="optviz-root" data-max-height="{height}"></div>
<script type="application/json" id="optviz-payload">{script_json(payload)}</script>
<script>{_BOOT}</script>
</body>
</html>
"""
