"""The main area: the race player (race and loss per step), findings in words, the results
table and each optimizer's update rule, PyTorch call and reference."""

from __future__ import annotations

import math
from dataclasses import dataclass

import pandas as pd
import streamlit as st

from optviz.figures import Landscape
from optviz.inspect import StepView
from optviz.metrics import RunSummary
from optviz.runner import Trajectories
from optviz.scene import Scenario
from optviz.ui import cache, inspector, state
from optviz.ui.controls import forget
from optviz.ui.model import class_path, format_number, rule_captions, run_code
from optviz.ui.player import apply_start_event, race_player, start_event
from optviz.ui.sidebar import start_keys
from optviz.ui.style import md_escape
from optviz.views import run_notes, summaries_for, track_label

PLAYER_KEY = "race"
#: Base tokens (landscape and layout) this session's page already holds: later payloads send
#: only the token (optviz/web/component.js keeps the bases).
SENT_BASES = "optviz.sent_bases"
DEFAULT_TOL = 1e-3


@dataclass
class Shown:
    """What the main area drew (the exports reuse it)."""

    scene: Scenario
    traj: Trajectories
    land: Landscape
    payload: dict


def compute(scene: Scenario, classroom: bool) -> Shown:
    """Simulate (cached on ``sim_key``), sample the surface and build the player's payload."""
    key = scene.sim_key()
    traj = cache.trajectories(key, scene)
    land = cache.landscape(cache.surface_key(scene), scene)
    payload = cache.race_payload(key, cache.look_key(scene, classroom), scene, traj, land)
    return Shown(scene, traj, land, payload)


#: Session key: the player's last event needs the whole page rerun (not only the race).
FULL_RERUN = "optviz.full_rerun"


def _on_start() -> None:
    """A click, shift-click or drag on the race: the model's start points follow. A move in
    the middle of a drag reruns only the race (its fragment); anything else the whole page."""
    model = state.model()
    shown = st.session_state.get(state.SHOWN)
    if shown is None:
        return
    event = start_event(PLAYER_KEY)
    if apply_start_event(model, event, (shown.land.x_range, shown.land.y_range)):
        forget(*start_keys(model))
        if not (event.get("action") == "move" and event.get("final") is False):
            st.session_state[FULL_RERUN] = True


def wants_full_rerun() -> bool:
    """Did the player's last event ask for the whole page (taken once)?"""
    return bool(st.session_state.pop(FULL_RERUN, False))


def _on_need_base() -> None:
    """The page lost a landscape it was told it had: send it again."""
    st.session_state.pop(SENT_BASES, None)


def race(shown: Shown, inspect_track: int | None = None) -> StepView | None:
    """The race player: paths, heads, loss chart, Play / Pause, steps, speed; a click on the
    race sets the start, shift-click adds one, dragging a start moves it. With
    ``inspect_track``, the step inspector's glyphs for that track (the view drawn, or None)."""
    payload = dict(shown.payload)
    sent = st.session_state.setdefault(SENT_BASES, set())
    if payload["base_token"] in sent:
        payload["base"] = None
    else:
        sent.add(payload["base_token"])
    view = None
    if inspect_track is not None:
        (x0, x1), (y0, y1) = shown.land.x_range, shown.land.y_range
        view = inspector.attach(payload, shown.scene, inspect_track, max(x1 - x0, y1 - y0))
    race_player(payload, key=PLAYER_KEY, on_start=_on_start, on_need_base=_on_need_base,
                on_inspect_step=lambda: inspector.on_step(PLAYER_KEY))
    return view


def notes(shown: Shown) -> None:
    """A diverged run, a formula undefined at the start, a run that left the window: findings,
    said in words (:func:`optviz.views.run_notes`). Plain text: a note
    names runs by their labels, which come from links and files (``st.text`` parses no
    Markdown)."""
    for note in run_notes(shown.scene, shown.traj):
        st.text(note)


def notice(source: str, messages: list[str]) -> None:
    """Warnings from reading a link or a file: a fixed headline, then the messages as plain
    text (they quote what the link or file held)."""
    shown = messages[: state.MAX_SHOWN_WARNINGS]
    more = len(messages) - len(shown)
    lines = [f"• {m}" for m in shown] + ([f"• … and {more} more"] if more else [])
    with st.container(key=f"notice-{source}"):
        if source == "file-refused":
            st.error("The scene file was not loaded:", icon=":material/warning:")
        else:
            what = {"link": "The link", "file": "The scene file"}.get(source, "The scene")
            st.warning(f"{what} had problems; the rest of the scene was loaded:",
                       icon=":material/warning:")
        st.text("\n".join(lines))


@st.fragment
def table(shown: Shown) -> None:
    """The results table, then its tolerance (a fragment: the tolerance reruns only this)."""
    st.markdown("#### Results")
    slot = st.empty()
    tol = tolerance()
    slot.dataframe(results_table(shown, tol), hide_index=True, width="content",
                   column_config={" ": st.column_config.TextColumn(" ", width=28),
                                  "run": st.column_config.TextColumn("run", width="large")})


def tolerance() -> float:
    """The table's tolerance (a positive number; an invalid one shows an error)."""
    k = "optviz.tol"
    if k not in st.session_state:
        st.session_state[k] = DEFAULT_TOL
    tol = st.number_input(
        "tolerance for “reached”", key=k, format="%g", step=None, width=240,
        help="A run has reached the minimum at the first step with f − f* below this "
             "(f* = the known minimum value; without one the column shows —).")
    if tol is None or not math.isfinite(tol) or tol <= 0:
        st.error(f"tolerance must be a positive number, got {tol}; using {DEFAULT_TOL:g}",
                 icon=":material/warning:")
        return DEFAULT_TOL
    return float(tol)


def results_table(shown: Shown, tol: float) -> pd.io.formats.style.Styler:
    """One row per run and start: final loss, distance to the nearest minimum, first step
    within ``tol`` of the minimum, divergence. The first cell shows the run's colour."""
    surf = shown.scene.resolve_surface()
    sums = summaries_for(surf, shown.traj, tol)
    rows, colors = [], []
    for r, run in enumerate(shown.scene.runs):
        for s in range(len(shown.scene.starts)):
            summ: RunSummary = sums[r][s]
            rows.append({
                " ": "○" if _light(run.color) else "",
                "run": track_label(shown.scene, r, s),
                "final loss": _num(summ.final_loss),
                "distance to min": "—" if summ.distance_to_minimum is None
                else _num(summ.distance_to_minimum),
                # "reached" needs a known minimum value: without one it would mean nothing
                "reached at step": "—" if surf.minimum_value is None
                else "never" if summ.first_below_tol is None else str(summ.first_below_tol),
                "diverged": f"at step {summ.diverged_at}" if summ.diverged_at >= 0 else "no",
            })
            colors.append(run.color)
    df = pd.DataFrame(rows)

    def paint(col: pd.Series) -> list[str]:
        return [f"background-color: {c}; color: {'#999' if _light(c) else c}" for c in colors]

    return df.style.apply(paint, subset=[" "])


def _light(color: str) -> bool:
    """Is ``#rrggbb`` so light that it vanishes on white?"""
    r, g, b = (int(color[i : i + 2], 16) for i in (1, 3, 5))
    return 0.2126 * r + 0.7152 * g + 0.0722 * b > 225


def _num(x: float) -> str:
    return "—" if x is None or not math.isfinite(x) else f"{x:.4g}"


def rules(scene: Scenario, classroom: bool) -> None:
    """For each optimizer in use: the update rule that runs, the PyTorch call(s), reference."""
    st.markdown("#### What each optimizer does")
    seen: dict[str, list[int]] = {}
    for i, run in enumerate(scene.runs):
        seen.setdefault(run.optimizer, []).append(i)
    for idx in seen.values():
        spec = scene.runs[idx[0]].spec
        names = ", ".join(dict.fromkeys(scene.runs[i].display_label() for i in idx))
        # the title is registry text only: an expander's label parses Markdown, run labels
        # are the user's (shown below as plain text)
        with st.expander(f"{md_escape(spec.label)} · {md_escape(class_path(spec.cls))}",
                         expanded=classroom and len(seen) == 1):
            st.text(f"Runs: {names}")
            st.latex(spec.update_rule)
            for caption in rule_captions(spec):
                st.caption(caption)
            code = "\n".join(
                f"# {scene.runs[i].display_label()}\n{run_code(scene.runs[i], scene.steps)}"
                for i in idx)
            st.code(code, language="python")
            st.caption(f"**Reference:** {spec.reference}")


def scene_caption(scene: Scenario) -> str:
    surf = scene.resolve_surface()
    starts = ", ".join("(" + ", ".join(format_number(v) for v in p) + ")" for p in scene.starts)
    noise = scene.effective_noise()
    extra = f" · gradient noise σ = {noise:g} (seed {scene.seed})" if noise else ""
    return f"**{md_escape(surf.title)}** · start {starts} · {scene.steps:,} steps{extra}"
