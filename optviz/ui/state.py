"""Session state: the editable model, the last good scene, and the scene in the URL.

* ``model``: the :class:`~optviz.ui.model.Model` the sidebar edits (source of truth).
* ``good``: the last scene that validated; the figures always show it, so an invalid value
  leaves the last good figure on screen.
* The URL: on the first run of a session a query string is read with
  :meth:`Scenario.from_query` (each bad field falls back with one warning); after every run
  the good scene is written back with :meth:`Scenario.to_query`, so the address bar always
  shares the scene on screen. Two page keys travel with it: ``preset=<key>`` while a lesson's
  scene is on screen (a link opens that lesson with its "what to watch" text; alone, it loads
  the lesson) and ``classroom=1`` in classroom mode.
* ``shown``: what the main area drew last; a scene that fails (over the time limit) leaves it
  on screen with the message.
"""

from __future__ import annotations

from typing import Any

import streamlit as st

from optviz.presets import get_preset
from optviz.scene import DEFAULT_SCENARIO, Scenario, ScenarioError
from optviz.ui.model import Model

MODEL = "optviz.model"
GOOD = "optviz.good"
NOTICES = "optviz.notices"
SHOWN = "optviz.shown"
#: Widget keys of the preset select box and the classroom toggle (their values go in the URL).
PRESET = "optviz.preset"
CLASSROOM = "optviz.classroom"
MAX_SHOWN_WARNINGS = 12
_TRUE = ("1", "true", "yes", "on")


def _query() -> dict[str, Any]:
    """The page's query as ``{key: [values]}`` (repeated keys kept, so they can be warned
    about)."""
    qp = st.query_params
    return {k: qp.get_all(k) for k in qp}


def _page_keys(params: dict[str, Any]) -> tuple[str | None, bool, list[str]]:
    """Take ``preset`` and ``classroom`` out of ``params``: the preset key (None if absent or
    unknown), classroom on or off, and warnings."""
    warnings = []
    lesson = (params.pop("preset", None) or [None])[-1]
    classroom = str((params.pop("classroom", None) or [""])[-1]).strip().lower() in _TRUE
    if lesson is not None:
        try:
            get_preset(str(lesson))
        except (KeyError, ValueError) as exc:
            warnings.append(f"preset: {exc.args[0] if exc.args else exc}; the lesson was not "
                            "opened")
            lesson = None
    return lesson, classroom, warnings


def model() -> Model:
    """The session's model; on the first run, from the URL's query (or the default scene)."""
    ss = st.session_state
    if MODEL not in ss:
        params = _query()
        lesson, classroom, warnings = _page_keys(params)
        if params:
            scene, more = Scenario.from_query(params)
            warnings += more
        elif lesson is not None:
            scene = get_preset(lesson).scenario
        else:
            scene = DEFAULT_SCENARIO
        if lesson is not None:
            ss[PRESET] = lesson
        if classroom:
            ss[CLASSROOM] = True
        ss[MODEL] = Model.from_scenario(scene)
        ss[GOOD] = scene
        notify(warnings, "link")
    return ss[MODEL]


def lesson_on_screen(scene: Scenario) -> str | None:
    """The chosen preset's key while its scene (colours aside) is the one on screen."""
    key = st.session_state.get(PRESET)
    if not key:
        return None
    try:
        preset = get_preset(key)
    except (KeyError, ValueError, TypeError):
        return None
    return key if preset.scenario.sim_key() == scene.sim_key() else None


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


def keep_shown(shown: Any) -> None:
    st.session_state[SHOWN] = shown


def last_shown() -> Any:
    """What the main area drew last (None before the first scene)."""
    return st.session_state.get(SHOWN)


def load(scene: Scenario, warnings: list[str] | None = None, source: str = "file") -> None:
    """Replace the whole scene (preset, upload): new widget generation, seeded from it."""
    ss = st.session_state
    current = ss.get(MODEL)
    ss[MODEL] = current.replaced_by(scene) if current is not None else Model.from_scenario(scene)
    ss[GOOD] = scene
    notify(warnings or [], source)


def sync_url(scene: Scenario) -> None:
    """Write ``scene`` (and the lesson on screen, classroom mode) to the query string when it
    differs from what is there."""
    try:
        query = scene.to_query()
    except ScenarioError:
        return
    lesson = lesson_on_screen(scene)
    if lesson is not None:
        query["preset"] = lesson
    if st.session_state.get(CLASSROOM):
        query["classroom"] = "1"
    current = {k: st.query_params.get(k) for k in st.query_params}
    if current != query:
        st.query_params.from_dict(query)
