r"""The step inspector: what one optimizer step did, drawn inside the race and written out.

Pick a run (and start); the player's current step (when it is paused or stepped) comes back
from the browser as the component's ``inspect_step`` trigger. The scene is simulated once more
with ``record_state=True`` (in the worker pool, kept in the byte-bounded simulation cache),
:func:`optviz.inspect_step` reads the optimizer's own
state tensors at that step, and :func:`optviz.inspect.glyphs.step_glyphs` turns them into
arrows, boxes and ellipses that the player draws at the head; below the race, the update rule
with this step's numbers, the "why" sentence and a table of every intermediate quantity.
Glyphs of one run share the scales of its first step, so a shrinking step size is visible.
"""

from __future__ import annotations

import hashlib
import math
from typing import Any

import pandas as pd
import streamlit as st

from optviz.inspect import StepView, inspect_step
from optviz.inspect.glyphs import glyph_scales, step_glyphs
from optviz.runner import SimulationTimeout, Trajectories
from optviz.scene import Scenario
from optviz.ui import cache
from optviz.ui.style import md_escape
from optviz.views import track_label

#: Widget keys: the toggle and the inspected track (run-major index, as the player's tracks).
TOGGLE = "optviz.inspect"
TRACK = "optviz.inspect.track"
#: Session key: the last step the player asked about, ``{"track": i, "step": k}``.
STEP = "optviz.inspect.step"
#: Glyphs are about this share of the plot window long (the longest of a kind).
GLYPH_SHARE = 0.12


def on_step(player_key: str) -> None:
    """The player's ``inspect_step`` trigger: remember which step to explain."""
    state = st.session_state.get(player_key)
    event = state.get("inspect_step") if hasattr(state, "get") else None
    if (isinstance(event, dict) and isinstance(event.get("step"), int)
            and not isinstance(event.get("step"), bool) and event["step"] >= 0
            and isinstance(event.get("track"), int)):
        st.session_state[STEP] = {"track": event["track"], "step": event["step"]}


def chosen_track(scene: Scenario) -> int | None:
    """The inspected track (run-major index), or None with the inspector off. Read from the
    session before :func:`controls` draws the widgets, which sit under the race so that the
    race stays at the top of the page (classroom mode fits it to the screen)."""
    if not st.session_state.get(TOGGLE):
        return None
    n = len(scene.runs) * len(scene.starts)
    track = st.session_state.get(TRACK)
    if not isinstance(track, int) or isinstance(track, bool) or not 0 <= track < n:
        st.session_state[TRACK] = track = 0
    return track


def controls(scene: Scenario, view: StepView | None) -> None:
    """The toggle, the run (and start) picker and, while a step is drawn, one toggle per
    glyph: under the race."""
    n = len(scene.runs) * len(scene.starts)
    with st.container(horizontal=True, vertical_alignment="center", gap="medium"):
        on = st.toggle("Step inspector", key=TOGGLE,
                       help="Pause or step the race (← →): the chosen run's gradient, update, "
                            "momentum, per-coordinate step sizes and curvature are drawn at "
                            "its head, and its update rule is written out with this step's "
                            "numbers below the race.")
        if on:
            st.selectbox(
                "inspect", list(range(n)), key=TRACK, label_visibility="collapsed", width=340,
                format_func=lambda i: track_label(scene, *divmod(i, len(scene.starts))))
            if view is None:
                st.caption("Pause the race or step it with ← → to inspect a step.")
    if on and view is not None:
        options = _known_names(view.optimizer)
        off = _switched_off(view.optimizer)
        # the row's value is the session's "switched off" set (its own key), given as the
        # widget's default: a browser that never showed the row's last value (a slow one,
        # where the next run's row replaced it before it was drawn) reports that default.
        # The key names the options too: a new glyph name makes a new row, whose default
        # shows it on, as it is drawn.
        key = _glyph_key(view.optimizer, options)
        st.pills("glyphs", options, selection_mode="multi", key=key,
                 default=[n for n in options if n not in off], label_visibility="collapsed",
                 on_change=_remember_off, args=(view.optimizer, key, tuple(options)),
                 help="Which of this optimizer's quantities are drawn at the head.")


def _glyph_key(optimizer: str, options: list[str]) -> str:
    digest = hashlib.blake2s("\n".join(options).encode("utf-8"), digest_size=4).hexdigest()
    return f"optviz.inspect.glyphs.{optimizer}.{digest}"


def _names_key(optimizer: str) -> str:
    return f"optviz.inspect.glyph_names.{optimizer}"


def _known_names(optimizer: str) -> list[str]:
    """Glyph names this session has drawn for ``optimizer``, in order of first appearance
    (the options of its row of toggles)."""
    names = st.session_state.get(_names_key(optimizer))
    return list(names) if isinstance(names, list) else []


def _off_key(optimizer: str) -> str:
    return f"optviz.inspect.glyphs_off.{optimizer}"


def _switched_off(optimizer: str) -> set[str]:
    off = st.session_state.get(_off_key(optimizer))
    return set(off) if isinstance(off, set | list | tuple) else set()


def _remember_off(optimizer: str, key: str, options: tuple[str, ...]) -> None:
    """The row of glyph toggles changed: remember which of its glyphs are switched off."""
    value = st.session_state.get(key)
    on = set(value) if isinstance(value, list) else set()
    st.session_state[_off_key(optimizer)] = set(options) - on


@st.cache_data(max_entries=64, show_spinner=False)
def _scales(sim_key: tuple, track: int, hint: float, _traj: Trajectories,
            n_starts: int) -> dict[str, float]:
    run, start = divmod(track, n_starts)
    return glyph_scales(inspect_step(_traj, run, start, 0), hint)


def attach(payload: dict[str, Any], scene: Scenario, track: int,
           span: float) -> StepView | None:
    """Add the inspection of ``track`` to ``payload`` (not part of its token: the race is the
    same); the :class:`StepView` drawn, or None (no step chosen yet, or none to explain)."""
    run, start = divmod(track, len(scene.starts))
    label = track_label(scene, run, start)
    asked = st.session_state.get(STEP)
    payload["inspect"] = {"track": track, "step": None, "glyphs": None, "label": label}
    if not isinstance(asked, dict) or asked.get("track") != track:
        return None
    k = min(int(asked["step"]), scene.steps - 1)
    try:
        traj = cache.trajectories(scene.sim_key(), scene, record_state=True)
        surface = scene.resolve_surface()
        view = inspect_step(traj, run, start, k, surface=surface)
        hint = GLYPH_SHARE * span
        scales = _scales(scene.sim_key(), track, hint, traj, len(scene.starts))
        glyphs = step_glyphs(view, hint, scales=scales)
    except SimulationTimeout as exc:
        st.info(f"Recording the state takes too long here: {md_escape(exc)}",
                icon=":material/timer:")
        return None
    except ValueError as exc:  # a diverged particle, a step past the end
        st.info(f"Step {k} cannot be inspected: {md_escape(exc)}", icon=":material/info:")
        return None
    payload["inspect"] = {"track": track, "step": k, "glyphs": shown_glyphs(glyphs, view),
                          "label": label}
    return view


def shown_glyphs(glyphs: dict[str, Any], view: StepView) -> dict[str, Any]:
    """``glyphs`` less those switched off in the row of toggles under the race (one per
    glyph, kept per optimizer; the player's legend can hide them too)."""
    names = [g["name"] for g in glyphs["legend"]]
    if not names:
        return glyphs
    known = _known_names(view.optimizer)
    new = [n for n in names if n not in known]
    if new:
        st.session_state[_names_key(view.optimizer)] = known + new
    on = set(names) - _switched_off(view.optimizer)
    out = dict(glyphs)
    for kind in ("arrows", "boxes", "ellipses"):
        out[kind] = [g for g in glyphs[kind] if g["name"] in on]
    out["legend"] = [g for g in glyphs["legend"] if g["name"] in on]
    return out


def _number(x: float) -> str:
    return "—" if x is None or not math.isfinite(x) else f"{x:.6g}"


def panel(view: StepView) -> None:
    """The update rule with this step's numbers, why, and every quantity in a table."""
    st.markdown(f"**{md_escape(view.label)} · step {view.step} → {view.step + 1}**")
    st.latex(view.latex)
    if view.why:
        st.caption(md_escape(view.why))
    rows = [{"symbol": name, "value": _number(value), "meaning": view.meanings.get(name, "")}
            for name, value in view.values.items()]
    if rows:
        st.dataframe(pd.DataFrame(rows), hide_index=True, width="stretch")
