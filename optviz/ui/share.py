"""Presets, exports and scene files: getting scenes into and out of the app.

* Presets (:mod:`optviz.presets`): a select box that loads a teaching scene; its "what to
  watch" sentences show above the figures while that scene is on screen.
* Exports (:mod:`optviz.exports`): download buttons whose data is a callable, so a file is made
  only when its button is pressed (never on a rerun), by a worker of the pool, within a byte
  budget and a time limit (:mod:`optviz.ui.downloads`). GIF and MP4 take seconds: a "Render"
  button draws them with a progress bar, then a download button offers the result.
* A scene file (the scene as JSON) downloads, and uploads back through
  :meth:`Scenario.from_json` (bad fields fall back with a warning each).
"""

from __future__ import annotations

import streamlit as st

from optviz.exports import FORMATS, file_name, mp4_available, pytorch_script, scene_json
from optviz.exports.budget import Plan
from optviz.presets import get_preset, list_presets
from optviz.runner import Trajectories
from optviz.scene import Scenario, ScenarioError
from optviz.ui import cache, downloads, state
from optviz.ui.media_options import media_options
from optviz.ui.style import md_escape

PRESET_KEY = state.PRESET
UPLOAD_KEY = "optviz.upload"
RENDERED = "optviz.rendered"  # (format, scene key) -> bytes of the last GIF / MP4 rendered
MAX_UPLOAD_MB = 1


# --------------------------------------------------------------------------------------------
# presets


def _on_preset() -> None:
    key = st.session_state.get(PRESET_KEY)
    if key:
        state.load(get_preset(key).scenario, source="preset")


def preset_picker() -> None:
    """The preset select box (sidebar)."""
    names = list_presets()
    st.selectbox(
        "Presets", names, key=PRESET_KEY, index=None, on_change=_on_preset,
        format_func=lambda k: get_preset(k).title, placeholder="Choose a lesson…",
        help="Curated scenes that each show one idea, with what to watch.")


def watch_note(scene: Scenario) -> None:
    """"What to watch" of the chosen preset, while its scene (colours aside) is on screen."""
    key = state.lesson_on_screen(scene)
    if key is not None:
        preset = get_preset(key)
        st.info(f"**{preset.title}.** {preset.watch}", icon=":material/visibility:")


# --------------------------------------------------------------------------------------------
# scene files


def _on_upload() -> None:
    upload = st.session_state.get(UPLOAD_KEY)
    if upload is None:
        return
    try:  # the same reader as the CLI's (bytes: a UTF-8 byte-order mark is accepted)
        scene, warnings = Scenario.from_json(upload.getvalue())
    except ScenarioError as exc:
        state.notify([f"{upload.name}: {exc}; nothing loaded"], "file-refused")
        return
    except Exception as exc:  # never let a file break the page
        state.notify([f"{upload.name}: could not be read ({exc}); nothing loaded"], "file-refused")
        return
    state.load(scene, warnings, source="file")


def scene_upload() -> None:
    st.file_uploader(
        "Load a scene file (.json)", type=["json"], key=UPLOAD_KEY, on_change=_on_upload,
        max_upload_size=MAX_UPLOAD_MB,
        help="A scene saved with “Scene (JSON)”: surface, runs, start, steps, seed, noise.")


# --------------------------------------------------------------------------------------------
# exports


def exports(scene: Scenario, traj: Trajectories) -> None:
    """Download buttons (made on click, within their budgets: :mod:`optviz.ui.downloads`),
    GIF/MP4 rendering with progress, PyTorch code."""
    st.markdown("##### Export")
    plans = downloads.plans(scene, traj)
    with st.container(horizontal=True, gap="small"):
        for fmt, label in (("html", "HTML"), ("png", "PNG"), ("csv", "CSV"), ("json", "JSON")):
            downloads.button(fmt, label, scene, traj, plans[fmt])
        st.download_button(
            "Scene", lambda: scene_json(scene), file_name=file_name(scene, "json", "-scene"),
            mime="application/json", key="dl.scene", on_click="ignore",
            icon=":material/download:",
            help="The scene as JSON: load it back below, or with `python -m optviz`.")
    downloads.notes(plans)
    media(scene, traj, plans)
    code(scene)


def media(scene: Scenario, traj: Trajectories, plans: dict[str, Plan] | None = None) -> None:
    """GIF (and MP4 where an encoder is installed): render on request, then download."""
    plans = downloads.plans(scene, traj) if plans is None else plans
    if plans["gif"].refused is not None:
        return  # the note above says why and what to reduce
    formats = ["gif", *(["mp4"] if mp4_available() else [])]
    options = media_options()
    scene_key = (scene.sim_key(), tuple(r.color for r in scene.runs),
                 tuple(r.display_label() for r in scene.runs), tuple(sorted(options.items())))
    rendered = st.session_state.get(RENDERED, {})
    cols = st.columns(len(formats))
    for col, fmt in zip(cols, formats, strict=True):
        spec = FORMATS[fmt]
        with col:
            data = rendered.get((fmt, scene_key))
            pressed = data is None and st.button(
                f"Render {fmt.upper()}", key=f"render.{fmt}", icon=":material/movie:",
                help=f"{spec.label}: takes a few seconds")
            if pressed:
                data = _render(fmt, scene, traj, options, plans[fmt])
                if data is not None:  # keep only the latest render of each format
                    st.session_state[RENDERED] = {
                        (fmt, scene_key): data,
                        **{k: v for k, v in rendered.items() if k[0] != fmt}}
            if data is not None:
                st.download_button(
                    f"{fmt.upper()} ({len(data) / 1e6:.1f} MB)", data,
                    file_name=file_name(scene, spec.ext), mime=spec.mime, key=f"dl.{fmt}",
                    on_click="ignore", icon=":material/download:", type="primary")


def _render(fmt: str, scene: Scenario, traj: Trajectories,
            options: dict[str, int | float], the_plan: Plan) -> bytes | None:
    """Render in the pool (or here without one) under the export time limit, with progress."""
    text = f"Rendering the {fmt.upper()}…"
    bar = st.progress(0.0, text=text)

    def progress(fraction: float, _what: str) -> None:
        bar.progress(min(max(float(fraction), 0.0), 1.0),
                     text=_what if _what.startswith("Waiting") else text)

    try:
        data = downloads.make(fmt, scene, traj, the_plan, cache.session_id(), progress,
                              **options)
    except Exception as exc:  # a failed render is a message, not a broken page
        bar.empty()
        st.error(f"Could not render the {fmt.upper()}: {md_escape(exc)}",
                 icon=":material/warning:")
        return None
    bar.empty()
    return data


def code(scene: Scenario) -> None:
    """A plain-PyTorch script that reproduces one chosen run."""
    labels = [f"{i + 1}. {r.display_label()}" for i, r in enumerate(scene.runs)]
    # The options are the labels themselves (an index with a format_func showed a stale label
    # after the run changed); a label that is gone falls back to run 1.
    k = "optviz.code_run_label"
    if st.session_state.get(k) not in labels:
        st.session_state[k] = labels[0]
    c1, c2 = st.columns([3, 2], vertical_alignment="bottom")
    with c1:
        run = labels.index(st.selectbox("PyTorch code for run", labels, key=k))
    with c2:
        st.download_button(
            "PyTorch code", lambda: pytorch_script(scene, run),
            file_name=file_name(scene, "py", f"-run{run + 1}"), mime="text/x-python",
            key="dl.code", on_click="ignore", icon=":material/code:",
            help="A self-contained script: this run with plain torch.optim, "
                 "printing the same path.")
