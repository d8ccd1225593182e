"""Session state: the editable model, the last good scene, and the scene in the URL.

* ``model``: the :class:`~optviz.ui.model.Model` the sidebar edits (source of truth).
* ``good``: the last scene that validated; the figures always show it, so an invalid value
  leaves the last good figure on screen.
* The URL: on the first run of a session a query string is read with
  :meth:`Scenario.from_query` (each bad field falls back with one warning); after every run
  the good scene is written back with :meth:`Scenario.to_query`, so the address bar always
  shares the scene on screen.
"""

from __future__ import annotations

from typing import Any

import streamlit as st

from optviz.scene import DEFAULT_SCENARIO, Scenario, ScenarioError
from optviz.ui.model import Model

MODEL = "optviz.model"
GOOD = "optviz.good"
NOTICES = "optviz.notices"
MAX_SHOWN_WARNINGS = 12


def _query() -> dict[str, Any]:
    """The page's query as ``{key: [values]}`` (repeated keys kept, so they can be warned
    about)."""
    qp = st.query_params
    return {k: qp.get_all(k) for k in qp}


def model() -> Model:
    """The session's model; on the first run, from the URL's query (or the default scene)."""
    ss = st.session_state
    if MODEL not in ss:
        params = _query()
        if params:
            scene, warnings = Scenario.from_query(params)
        else:
            scene, warnings = DEFAULT_SCENARIO, []
        ss[MODEL] = Model.from_scenario(scene)
        ss[GOOD] = scene
        notify(warnings, "link")
    return ss[MODEL]


def notify(messages: list[str], source: str) -> None:
    """Queue warnings to show once at the top of the page (``source``: "link", "file", or
    "file-refused" for a file that was not loaded at all)."""
    if messages:
        st.session_state.setdefault(NOTICES, []).append((source, list(messages)))


def take_notices() -> list[tuple[str, list[str]]]:
    """Queued warnings, emptied: each is shown once."""
    return st.session_state.pop(NOTICES, [])


def remember(scene: Scenario) -> None:
    st.session_state[GOOD] = scene


def good() -> Scenario:
    return st.session_state.get(GOOD, DEFAULT_SCENARIO)


def load(scene: Scenario, warnings: list[str] | None = None, source: str = "file") -> None:
    """Replace the whole scene (preset, upload): new widget generation, seeded from it."""
    ss = st.session_state
    current = ss.get(MODEL)
    ss[MODEL] = current.replaced_by(scene) if current is not None else Model.from_scenario(scene)
    ss[GOOD] = scene
    notify(warnings or [], source)


def sync_url(scene: Scenario) -> None:
    """Write ``scene`` to the query string when it differs from what is there."""
    try:
        query = scene.to_query()
    except ScenarioError:
        return
    current = {k: st.query_params.get(k) for k in st.query_params}
    if current != query:
        st.query_params.from_dict(query)
