"""optviz in the browser: ``streamlit run app.py`` (or ``make run``).

The sidebar edits a model of the scene; it is validated control by control into a
:class:`~optviz.scene.Scenario`; the main area shows the last scene that validated (so an
invalid value leaves the last good figure on screen) and the URL always holds that scene.
"""

from __future__ import annotations

import streamlit as st

st.set_page_config(
    page_title="optviz · optimizers racing on loss surfaces",
    page_icon="★",
    layout="wide",
    initial_sidebar_state="expanded",
)

from optviz.runner import SimulationTimeout, Trajectories  # noqa: E402
from optviz.scene import Scenario  # noqa: E402
from optviz.ui import (  # noqa: E402 (after set_page_config)
    compare,
    inspector,
    results,
    share,
    sidebar,
    state,
)
from optviz.ui.memory import freeze_imports  # noqa: E402
from optviz.ui.model import check  # noqa: E402
from optviz.ui.player import preload  # noqa: E402
from optviz.ui.style import BASE_CSS, CLASSROOM_CSS, md_escape  # noqa: E402

#: Session key: True while the whole script runs, False during a fragment's own rerun.
FULL_RUN = "optviz.full_run"
#: Widget keys of the two expanders whose content is built only while they are open (the
#: first page is lighter for the browser: the race's player loads sooner).
COMPARE_OPEN = "optviz.compare.open"
UPLOAD_OPEN = "optviz.upload.open"


def main() -> None:
    freeze_imports()  # once per process: Streamlit's collection after each run stays cheap
    st.session_state[FULL_RUN] = True
    st.html(BASE_CSS)
    preload()  # plotly.js and the player start loading while the rest of the page is built
    model = state.model()
    if st.session_state.get(state.CLASSROOM):  # a projector: the race gets the whole width
        st.set_page_config(initial_sidebar_state="collapsed")
    with st.sidebar:
        st.markdown("## ★ optviz")
        share.preset_picker()
        classroom = st.toggle("Classroom mode", key=state.CLASSROOM,
                              help="Fills a projector: the race and its controls fit the screen, "
                                   "with big text; the sidebar folds away (open it with the "
                                   "arrow at the top left). The link keeps it on.")
        slots = sidebar.render(model, classroom)
    if classroom:
        st.html(CLASSROOM_CSS)

    scene, problems = check(model)
    slots.show(problems)
    if scene is not None:
        state.remember(scene)
    good = state.good()

    for source, messages in state.take_notices():
        results.notice(source, messages)

    if not classroom:  # in classroom mode the race comes first, the words under it
        heading(good)
    if problems:
        st.info("A setting in the sidebar is not valid (see the message there): the figures "
                "show the last valid scene.", icon=":material/info:")
    race_area(classroom)
    shown = state.last_shown()
    if classroom:
        heading(good)
    if shown is not None:
        left, right = st.columns([1.25, 1], gap="medium")
        with left:
            compare.race_summary(shown.scene)  # several starts: per-optimizer success rates
            results.table(shown)
        with right:
            exports(shown.scene, shown.traj)
            upload = st.expander("Load a scene file", key=UPLOAD_OPEN, on_change="rerun")
            if upload.open:  # built only when opened: a lighter first page
                with upload:
                    share.scene_upload()
        results.rules(shown.scene, classroom)
    views = st.expander("Compare at scale: sensitivity, phase maps, basins, seeds, tuned races",
                        key=COMPARE_OPEN, on_change="rerun")
    if views.open:  # its five views' widgets are built only when it is opened
        with views:
            compare.render(good)
    else:
        compare.keep_settings()
    state.sync_url(good)
    st.session_state[FULL_RUN] = False  # from now on until the next full run: fragment runs


@st.fragment
def race_area(classroom: bool) -> None:
    """The race player and its findings. A fragment: while a start marker is dragged, each
    move reruns only this (the model's scene again, then the player); any other event of the
    player (a click, the end of a drag) reruns the whole page, so the sidebar follows."""
    if results.wants_full_rerun():
        st.rerun(scope="app")
    if not _in_full_run():  # the drag changed the model's starts: its scene again
        scene, _ = check(state.model())
        if scene is not None:
            state.remember(scene)
    good = state.good()
    try:
        state.keep_shown(results.compute(good, classroom))
    except SimulationTimeout as exc:
        st.error(f"This scene takes too long to compute here: {md_escape(exc)}. The race below "
                 "is the last one that finished.", icon=":material/timer:")
    except Exception as exc:  # nothing the user does may break the page
        st.error(f"This scene could not be computed: {type(exc).__name__}: {md_escape(exc)}. "
                 "The race below is the last one that finished.", icon=":material/warning:")
    shown = state.last_shown()
    if shown is not None:
        view = results.race(shown, inspector.chosen_track(shown.scene))
        results.notes(shown)
        inspector.controls(shown.scene, view)
        if view is not None:
            inspector.panel(view)
    if not _in_full_run():
        state.sync_url(good)


def _in_full_run() -> bool:
    """Is the whole script running (not only a fragment)?"""
    return st.session_state.get(FULL_RUN, False)


@st.fragment
def exports(scene: Scenario, traj: Trajectories) -> None:
    """Downloads, GIF / MP4 rendering and PyTorch code: a fragment, so rendering a GIF or
    picking the run whose code to show reruns only this part of the page."""
    share.exports(scene, traj)


def heading(scene: Scenario) -> None:
    """The scene in one line, and the lesson's "what to watch"."""
    st.markdown(results.scene_caption(scene))
    share.watch_note(scene)


main()
