"""The app's race payload for a scene, built from plain results (no Streamlit, no caching).

:mod:`optviz.ui.cache` caches it; ``bench/app.py`` times it.
"""

from __future__ import annotations

from typing import Any, Literal

from optviz.figures import Landscape, race_payload
from optviz.runner import Trajectories
from optviz.scene import MAX_STARTS, Scenario
from optviz.views import run_notes, tracks_for


def player_payload(scene: Scenario, traj: Trajectories, land: Landscape,
                   classroom: bool = False, *, initial_step: int | Literal["end"] = "end",
                   with_notes: bool = False) -> dict[str, Any]:
    """What the race player draws: landscape, every step of every path, loss curves.

    The app opens on the complete outcome (``initial_step="end"``) and writes its notes under
    the player; the HTML export opens on step 0 and carries the notes in the page.
    """
    return race_payload(land, tracks_for(scene, traj), scene.starts, classroom=classroom,
                        initial_step=initial_step, max_starts=MAX_STARTS,
                        notes=run_notes(scene, traj) if with_notes else (),
                        minimum_value=land.minimum_value)
