"""The app's downloads under their budgets (:mod:`optviz.exports.budget`), built in the pool.

* :func:`plans`: for the scene on screen, how each export is offered (whole, every k-th step,
  or refused with what to reduce); estimated once per scene and kept in the session.
* :func:`button`: one download button as planned (a refused one is shown disabled, its reason
  on hover and in :func:`notes`); the file is made only when the button is pressed.
* :func:`make`: the file's bytes, built by a worker process of the pool (fair across sessions,
  under :data:`~optviz.limits.EXPORT_TIME_LIMIT` seconds of compute, cancelled when its
  session ends), or in this process under ``AppTest`` / ``OPTVIZ_WORKERS=0``.

A download's data is a callable that Streamlit runs in a thread of its own when the button is
pressed (no page context there): it is handed the session id when the button is drawn.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import streamlit as st

from optviz import workers
from optviz.exports import FORMATS, file_name
from optviz.exports.budget import Plan, build, export_job, plan
from optviz.exports.media import picture_points
from optviz.limits import EXPORT_TIME_LIMIT
from optviz.runner import Trajectories
from optviz.scene import Scenario
from optviz.ui import cache

PLANS = "optviz.export_plans"  # session: (scene key, {format: Plan}) of the scene on screen
#: Seconds a download waits for its file (queue and build) before it fails.
WAIT_S = 300.0


def _key(scene: Scenario) -> tuple:
    """What a file's size depends on: the simulation and the words written in every row."""
    return (scene.sim_key(), tuple((r.variant, r.display_label()) for r in scene.runs))


def plans(scene: Scenario, traj: Trajectories) -> dict[str, Plan]:
    """How each format of :data:`~optviz.exports.FORMATS` is offered for this scene."""
    key = _key(scene)
    held = st.session_state.get(PLANS)
    if held is not None and held[0] == key:
        return held[1]
    points = picture_points(scene, traj)  # counted once for PNG, GIF and MP4
    out = {fmt: plan(fmt, scene, traj, points=points) for fmt in FORMATS}
    st.session_state[PLANS] = (key, out)
    return out


def label(text: str, the_plan: Plan) -> str:
    """A button's label: ``CSV``, or ``CSV · every 7th`` for a decimated file."""
    if not the_plan.decimated:
        return text
    k = the_plan.every
    suffix = "th" if 10 <= k % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(k % 10, "th")
    return f"{text} · every {k}{suffix}"


def button(fmt: str, text: str, scene: Scenario, traj: Trajectories, the_plan: Plan) -> None:
    """The download button of ``fmt`` as planned."""
    spec = FORMATS[fmt]
    if the_plan.refused is not None:
        st.button(text, key=f"dl.{fmt}", disabled=True, help=the_plan.refused,
                  icon=":material/block:")
        return
    help_text = spec.label if the_plan.note() is None else f"{spec.label}. {the_plan.note()}"
    st.download_button(
        label(text, the_plan), deferred(fmt, scene, traj, the_plan),
        file_name=file_name(scene, spec.ext, the_plan.suffix()), mime=spec.mime,
        key=f"dl.{fmt}", help=help_text, on_click="ignore", icon=":material/download:")


def notes(the_plans: dict[str, Plan]) -> None:
    """What the page says about decimated or refused files (once for the pictures)."""
    said: set[str] = set()
    for fmt in ("html", "csv", "json", "png", "gif", "mp4"):
        text = the_plans[fmt].note() if fmt in the_plans else None
        if text and text not in said:
            said.add(text)
            st.caption(text)


def deferred(fmt: str, scene: Scenario, traj: Trajectories, the_plan: Plan
             ) -> Callable[[], bytes]:
    """The data of a download button: a callable that makes the file when pressed."""
    session = cache.session_id()
    return lambda: make(fmt, scene, traj, the_plan, session)


def make(fmt: str, scene: Scenario, traj: Trajectories, the_plan: Plan, session: str,
         progress: Callable[[float, str], None] | None = None, **options: Any) -> bytes:
    """The file's bytes, in the pool when there is one (``options``: ``width``, ``duration``).

    ``progress(fraction, text)`` is called while it waits (queue position, then progress).
    Raises what building raised (:class:`~optviz.exports.budget.ExportTimeout`,
    :class:`~optviz.exports.budget.ExportRefused`, ``workers.Cancelled``)."""
    pool = cache.pool()
    if pool is None:
        inline = None if progress is None else (lambda f: progress(f, _running(fmt, f)))
        return build(fmt, scene, traj, the_plan, inline, time_limit=EXPORT_TIME_LIMIT,
                     **options)
    job = pool.submit(session, export_job, fmt, scene, traj, the_plan, EXPORT_TIME_LIMIT,
                      options.get("width"), options.get("duration"), slot=f"export.{fmt}",
                      time_limit=workers.WALL_FACTOR * EXPORT_TIME_LIMIT)
    deadline = time.monotonic() + WAIT_S
    try:
        while not job.done():
            if progress is not None:
                position = job.position()
                if position:
                    progress(0.0, f"Waiting for a free worker: {position - 1} ahead…"
                             if position > 1 else "Waiting for a free worker: yours is next…")
                else:
                    progress(job.progress(), _running(fmt, job.progress()))
            if time.monotonic() > deadline:
                raise TimeoutError(f"the {fmt.upper()} was not ready after {WAIT_S:g} s")
            job.wait(cache.POLL_S)
        return job.result()
    except BaseException:
        job.cancel()  # a rerun (the user moved on), a time-out: stop building it
        raise


def _running(fmt: str, fraction: float) -> str:
    return f"Building the {fmt.upper()}… {int(100 * fraction)}%"
