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

from optviz.runner import SimulationTimeout  # noqa: E402
from optviz.ui import compare, results, share, sidebar, state  # noqa: E402 (after set_page_config)
from optviz.ui.model import check  # noqa: E402
from optviz.ui.style import BASE_CSS, CLASSROOM_CSS, md_escape  # noqa: E402


def main() -> None:
    st.html(BASE_CSS)
    model = state.model()
    with st.sidebar:
        st.markdown("## ★ optviz")
        share.preset_picker()
        classroom = st.toggle("Classroom mode", key="optviz.classroom",
                              help="Bigger text, lines and markers for a projector; "
                                   "hides the sidebar's details.")
        play = st.toggle("Play each new race", key="optviz.autoplay", value=True,
                         help="Start the animation by itself whenever the scene changes.")
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

    st.markdown(results.scene_caption(good))
    share.watch_note(good)
    if problems:
        st.info("A setting in the sidebar is not valid (see the message there): the figures "
                "show the last valid scene.", icon=":material/info:")
    try:
        shown = results.compute(good, classroom)
    except SimulationTimeout as exc:
        st.error(f"This scene takes too long to compute here: {md_escape(exc)}.",
                 icon=":material/timer:")
        return
    except Exception as exc:  # nothing the user does may break the page
        st.error(f"This scene could not be computed: {type(exc).__name__}: {md_escape(exc)}",
                 icon=":material/warning:")
        return
    wide = (shown.fig.layout.width or 0) > results.SIDE_BY_SIDE_MAX_WIDTH
    if wide:  # a long legend column or classroom sizes: the race gets the whole width
        results.race(shown, classroom, play)
        left, right = st.columns([1.2, 1], gap="medium")
    else:
        left, right = st.columns([1.6, 1], gap="small")
        with left:
            results.race(shown, classroom, play)
    with right if not wide else left:
        results.loss(shown, classroom)
        results.notes(shown)
    with right:
        share.exports(good, shown.traj)
        with st.expander("Load a scene file"):
            share.scene_upload()
    results.table(shown)
    results.rules(good, classroom)
    with st.expander("Compare at scale"):
        compare.render(good)
    state.sync_url(good)


main()
