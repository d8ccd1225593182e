"""The main area: the animated race, divergence notes, loss per step, the results table and
each optimizer's update rule, PyTorch call and reference."""

from __future__ import annotations

import math
from dataclasses import dataclass

import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from optviz.figures import Landscape, clicked_point
from optviz.metrics import RunSummary
from optviz.runner import Trajectories
from optviz.scene import Scenario
from optviz.ui import cache, state
from optviz.ui.autoplay import autoplay
from optviz.ui.controls import forget
from optviz.ui.model import class_path, format_number, rule_captions, run_code
from optviz.ui.style import md_escape
from optviz.views import run_notes, summaries_for, track_label

CHART_KEY = "race"
#: Plotly config: no logo, no editing; the mode bar keeps zoom, pan and the PNG button.
CHART_CONFIG = {"displaylogo": False, "scrollZoom": False,
                "modeBarButtonsToRemove": ["select2d", "lasso2d", "autoScale2d"]}
DEFAULT_TOL = 1e-3
#: A race figure wider than this (px) does not fit next to the loss chart on a laptop screen.
SIDE_BY_SIDE_MAX_WIDTH = 600


@dataclass
class Shown:
    """What the main area drew (the exports reuse it)."""

    scene: Scenario
    traj: Trajectories
    land: Landscape
    fig: go.Figure


def compute(scene: Scenario, classroom: bool) -> Shown:
    """Simulate (cached on ``sim_key``), sample the surface and build the race figure."""
    key = scene.sim_key()
    traj = cache.trajectories(key, scene)
    land = cache.landscape(cache.surface_key(scene), scene)
    look = cache.look_key(scene, classroom)
    fig = cache.race_figure(key, look, cache.figure_token(scene, classroom), scene, traj, land)
    return Shown(scene, traj, land, fig)


def _on_click() -> None:
    """A click on the plot's invisible grid moves the first start there."""
    event = st.session_state.get(CHART_KEY)
    fig = st.session_state.get("optviz.fig")
    selection = event.get("selection") if hasattr(event, "get") else None
    point = clicked_point(selection, fig) if fig is not None else None
    if point is None:
        return
    model = state.model()
    x, y = (float(f"{v:.4g}") for v in point)
    model.starts = [(x, y), *model.starts[1:]]
    g = f"g{model.generation}"
    forget(f"{g}.start.x", f"{g}.start.y")


def race(shown: Shown, classroom: bool, play: bool) -> None:
    """The animated figure; a click on it sets the start point."""
    st.session_state["optviz.fig"] = shown.fig
    st.plotly_chart(shown.fig, key=CHART_KEY, on_select=_on_click, selection_mode="points",
                    width="content", theme=None, config=CHART_CONFIG,
                    alt="Animated race of the optimizer runs over the loss surface; click the "
                        "plot to start there")
    autoplay(CHART_KEY, shown.fig.layout.meta, enabled=play)


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


def loss(shown: Shown, classroom: bool) -> None:
    """Loss per step for every run (log y where possible)."""
    key = shown.scene.sim_key()
    look = cache.look_key(shown.scene, classroom)
    fig = cache.loss_chart(key, look, shown.scene, shown.traj, shown.land)
    st.plotly_chart(fig, key="loss", width="stretch", theme=None, config=CHART_CONFIG,
                    alt="Loss per optimizer step for every run, logarithmic axis")


def table(shown: Shown) -> None:
    """The results table, then its tolerance."""
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
