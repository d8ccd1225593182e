"""The sidebar: surface, the list of optimizer runs, start point and run settings.

Widget keys are ``g{generation}.<what>``: a new generation (a preset, a shared link, an upload)
gives every widget a fresh key, seeded from the model. Runs are keyed by their stable entry id,
so adding, removing or duplicating runs never moves one run's values to another. Buttons and
select boxes that change the list act in callbacks (before the script runs again).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import streamlit as st
from streamlit.delta_generator import DeltaGenerator

from optviz.optimizers import Hyperparameter, get_optimizer, get_variant, list_variants
from optviz.scene import (
    CUSTOM,
    DEFAULT_CUSTOM_DOMAIN,
    DEFAULT_SCENARIO,
    MAX_RUNS,
    MAX_SCENE_STEPS,
    MAX_STARTS,
    ScenarioError,
)
from optviz.suggested import suggested_lr
from optviz.surfaces import Surface, get_surface, list_surfaces
from optviz.ui import extras
from optviz.ui.controls import forget, hyperparameter, seed
from optviz.ui.model import Entry, Model, Problems, format_number, schema, variant_defaults
from optviz.ui.style import md_escape

DEFAULT_FORMULA = "x**2 + 3*y**2"


@dataclass
class Slots:
    """Placeholders under the controls, filled with validation errors after the whole model
    has been read (``runs[i]`` under run ``i``)."""

    fields: dict[str, DeltaGenerator] = field(default_factory=dict)
    runs: dict[int, DeltaGenerator] = field(default_factory=dict)
    inline: set[int] = field(default_factory=set)  # runs whose error is already shown inline

    def show(self, problems: Problems) -> None:
        for name, messages in problems.fields.items():
            slot = self.fields.get(name) or self.fields.get("scene")
            if slot is not None:
                slot.error(_alert_text(messages), icon=":material/warning:")
        for i, messages in problems.runs.items():
            if i in self.inline:  # the hyperparameter's error is under it; extras are not
                messages = problems.extras.get(i, [])
            if i in self.runs and messages:
                self.runs[i].error(_alert_text(messages), icon=":material/warning:")


def _alert_text(messages: list[str]) -> str:
    """Validation messages quote the user's text: shown literally (``st.error`` parses
    Markdown)."""
    return "\n\n".join(md_escape(m) for m in messages)


def key(model: Model, what: str) -> str:
    return f"g{model.generation}.{what}"


def variant_label(variant: str) -> str:
    try:
        return get_variant(variant).label
    except KeyError:
        return variant


# --------------------------------------------------------------------------------------------
# callbacks (they run before the script, so they may change widget values)


def _on_surface(model: Model, k: str) -> None:
    name = st.session_state[k]
    model.surface = name
    model.noise = None
    if name == CUSTOM:
        model.formula = model.formula or DEFAULT_FORMULA
        model.domain = model.domain or DEFAULT_CUSTOM_DOMAIN
    try:
        scene = DEFAULT_SCENARIO.with_surface(
            name, model.formula if name == CUSTOM else None,
            model.domain if name == CUSTOM else None)
        model.starts = list(scene.starts)
    except ScenarioError:
        pass  # a bad custom formula: keep the starts, the formula's error says what is wrong
    forget(*start_keys(model), key(model, "noise"))
    for entry in model.entries:
        _surface_lr(model, entry)


def _surface_lr(model: Model, entry: Entry) -> None:
    """Give a run the learning rate suggested for the model's surface (surfaces/
    suggested_lr.json, tuned per surface); on the default surface, for which the registry's
    teaching defaults were chosen, and where there is no suggestion, the registry default."""
    if "lr" not in entry.values:
        return
    lr = None
    if model.surface != DEFAULT_SCENARIO.surface:
        lr = suggested_lr(model.surface, entry.variant)
    if lr is None:
        lr = variant_defaults(entry.variant).get("lr")
    if lr is not None and lr != entry.values["lr"]:
        entry.values["lr"] = lr
        lr_key = key(model, f"e{entry.id}.{entry.variant}.lr")
        forget(lr_key, f"{lr_key}.typed")


def _on_variant(model: Model, entry_id: int, k: str) -> None:
    model.set_variant(entry_id, st.session_state[k])
    _surface_lr(model, model.entry(entry_id))


def _on_add(model: Model, k: str) -> None:
    variant = st.session_state.get(k)
    if variant:
        entry = model.add(variant)
        if entry is not None:
            _surface_lr(model, entry)
    st.session_state[k] = None


def _on_duplicate(model: Model, entry_id: int) -> None:
    model.duplicate(entry_id)


def _on_remove(model: Model, entry_id: int) -> None:
    model.remove(entry_id)


def _on_single_start(model: Model) -> None:
    model.starts = model.starts[:1]
    forget(*start_keys(model))


# --------------------------------------------------------------------------------------------
# sections


def surface_section(model: Model, slots: Slots, classroom: bool) -> Surface | None:
    """Surface choice, its formula, description and minima. Returns the surface (``None`` when
    a custom formula does not compile)."""
    st.markdown("### Surface")
    names = [*list_surfaces(), CUSTOM]
    titles = {n: get_surface(n).title for n in names if n != CUSTOM}
    titles[CUSTOM] = "Your own formula…"
    k = key(model, "surface")
    seed(k, model.surface if model.surface in names else names[0])
    st.selectbox("Surface", names, key=k, format_func=titles.get,
                 label_visibility="collapsed", on_change=_on_surface, args=(model, k))
    surf: Surface | None = None
    if model.surface == CUSTOM:
        kf = key(model, "formula")
        seed(kf, model.formula or DEFAULT_FORMULA)
        model.formula = st.text_input(
            "f(x, y) =", key=kf, max_chars=1000,
            help="Numbers, x, y, pi, e, + − * / **, and functions such as sin, cos, exp, "
                 "log, sqrt, abs, tanh. Example: (1 - x)**2 + 100*(y - x**2)**2")
        dom = model.domain or DEFAULT_CUSTOM_DOMAIN
        cols = st.columns(4)
        values = []
        for col, what, v in zip(cols, ("x min", "x max", "y min", "y max"),
                                (dom[0][0], dom[0][1], dom[1][0], dom[1][1]), strict=True):
            kd = key(model, f"domain.{what}")
            seed(kd, float(v))
            with col:
                values.append(st.number_input(what, key=kd, step=0.5, format="%g"))
        model.domain = ((values[0], values[1]), (values[2], values[3]))
        try:
            surf = model.candidate().resolve_surface()
        except Exception:  # the slot below shows the validation message
            surf = None
    else:
        surf = get_surface(model.surface)
    slots.fields["surface"] = st.empty()
    if surf is not None:
        st.latex(surf.latex)
        if not classroom:
            if surf.description and model.surface != CUSTOM:
                st.caption(surf.description)
            st.caption(minima_text(surf))
    return surf


def minima_text(surf: Surface) -> str:
    """"Global minimum f(1, 1) = 0" in words, or that none is known."""
    def pt(p: Any) -> str:
        return "(" + ", ".join(f"{v:.4g}" for v in p) + ")"

    if not surf.minima:
        if surf.saddles:  # the catalogue's saddles: x² − y², x³ − 3xy²
            saddles = ", ".join(pt(p) for p in surf.saddles)
            return f"No global minimum (unbounded below). Saddle points: {saddles}."
        return "Global minimum not known."
    value = "" if surf.minimum_value is None else f" = {surf.minimum_value:.6g}"
    if len(surf.minima) == 1:
        return f"★ Global minimum: f{pt(surf.minima[0])}{value}."
    pts = ", ".join(pt(p) for p in surf.minima)
    return f"★ {len(surf.minima)} global minima{value}: {pts}."


def runs_section(model: Model, slots: Slots, classroom: bool) -> None:
    """The editable list of runs, then the add box."""
    st.markdown("### Optimizers")
    for i, entry in enumerate(list(model.entries)):
        _entry(model, entry, i, slots, classroom)
    k = key(model, "add")
    if k not in st.session_state:
        st.session_state[k] = None
    st.selectbox(
        "Add an optimizer", list_variants(), key=k, index=None,
        format_func=variant_label, on_change=_on_add, args=(model, k),
        placeholder="+ Add an optimizer…" if not model.full else f"At most {MAX_RUNS} runs",
        disabled=model.full, label_visibility="collapsed",
        help="Add the same optimizer twice to compare two settings of it.")


def _entry(model: Model, entry: Entry, i: int, slots: Slots, classroom: bool) -> None:
    base = key(model, f"e{entry.id}")
    with st.container(border=True, key=f"run-{model.generation}-{entry.id}"):
        c1, c2 = st.columns([5, 1], vertical_alignment="bottom")
        kv = f"{base}.variant"
        seed(kv, entry.variant)
        with c1:
            st.selectbox(f"Run {i + 1}", list_variants(), key=kv, format_func=variant_label,
                         on_change=_on_variant, args=(model, entry.id, kv))
        kc = f"{base}.color"
        seed(kc, entry.color)
        with c2:
            entry.color = st.color_picker("colour", key=kc, label_visibility="collapsed",
                                          help="This run's colour")
        spec = get_optimizer(get_variant(entry.variant).optimizer)
        hps = schema(entry.variant)
        ok = True

        def control(hp: Hyperparameter) -> None:
            nonlocal ok
            value, good = hyperparameter(hp, entry.values.get(hp.name, hp.default),
                                         f"{base}.{entry.variant}.{hp.name}", spec.key)
            entry.values[hp.name] = value
            ok = ok and good

        main, rest = hps[:1], hps[1:]
        for hp in main:
            control(hp)
        if not classroom:
            with st.expander("More settings"):
                for hp in rest:
                    control(hp)
                steps = st.session_state.get(key(model, "steps"), model.steps)
                extras.controls(entry, base, steps)
                kl = f"{base}.label"
                seed(kl, entry.label)
                entry.label = st.text_input(
                    "Legend label", key=kl, max_chars=40, placeholder="automatic",
                    help="Shown in the legend instead of e.g. “Adam (lr=0.05, cosine)”.")
        if not ok:
            slots.inline.add(i)
        slots.runs[i] = st.empty()
        with st.container(horizontal=True, gap="small"):
            st.button("Duplicate", key=f"{base}.dup", icon=":material/content_copy:",
                      on_click=_on_duplicate, args=(model, entry.id), disabled=model.full,
                      type="tertiary",
                      help="Add a copy of this run (then change one setting to compare)")
            st.button("Remove", key=f"{base}.remove", icon=":material/delete:",
                      on_click=_on_remove, args=(model, entry.id), type="tertiary",
                      disabled=len(model.entries) <= 1, help="Remove this run")


def start_keys(model: Model) -> list[str]:
    """Widget keys of every start point's x and y (start 0: ``start.x``, ``start.y``)."""
    out = []
    for i in range(MAX_STARTS):
        tag = "start" if i == 0 else f"start{i}"
        out += [key(model, f"{tag}.x"), key(model, f"{tag}.y")]
    return out


def _on_remove_start(model: Model, index: int) -> None:
    if 0 <= index < len(model.starts) and len(model.starts) > 1:
        del model.starts[index]
    forget(*start_keys(model))


def start_section(model: Model, slots: Slots, surf: Surface | None, classroom: bool) -> None:
    """Start points (click the plot to move the first, shift-click to add one, drag to move
    any), number of steps, seed and gradient noise."""
    st.markdown("### Start and run")
    if not model.starts:
        model.starts = [(0.0, 0.0)]
    starts = []
    for i, (x0, y0) in enumerate(model.starts):
        tag = "start" if i == 0 else f"start{i}"
        kx, ky = key(model, f"{tag}.x"), key(model, f"{tag}.y")
        seed(kx, float(x0))
        seed(ky, float(y0))
        several = len(model.starts) > 1
        c1, c2, c3 = st.columns([5, 5, 2] if several else [1, 1, 0.001],
                                vertical_alignment="bottom")
        label = f" {i + 1}" if several else ""
        with c1:
            x = st.number_input(f"start{label} x", key=kx, step=0.1, format="%g")
        with c2:
            y = st.number_input(f"start{label} y", key=ky, step=0.1, format="%g")
        if several:
            with c3:
                st.button("", key=key(model, f"{tag}.remove"), icon=":material/close:",
                          on_click=_on_remove_start, args=(model, i), type="tertiary",
                          help=f"Remove start {i + 1}")
        starts.append((x, y))
    model.starts = starts
    st.caption(f"Click the plot to start there; shift-click adds a start (up to {MAX_STARTS}); "
               "drag a start marker to move it.")
    if len(model.starts) > 1:
        st.button("Keep only the first start", key=key(model, "single-start"),
                  on_click=_on_single_start, args=(model,))
    slots.fields["start"] = st.empty()
    ks = key(model, "steps")
    seed(ks, int(model.steps))
    model.steps = st.number_input(
        "steps", key=ks, step=50, format="%d",
        help=f"Optimizer steps per run: 1 to {MAX_SCENE_STEPS:,}. The player draws every "
             "step.")
    slots.fields["steps"] = st.empty()
    if not classroom:
        kseed = key(model, "seed")
        seed(kseed, int(model.seed))
        model.seed = st.number_input(
            "seed", key=kseed, step=1, format="%d",
            help="Seed of the gradient noise (0 to 2³¹ − 1): same seed, same noisy path.")
        slots.fields["seed"] = st.empty()
        default_noise = float(surf.noise) if surf is not None else 0.0
        kn = key(model, "noise")
        seed(kn, float(model.noise if model.noise is not None else default_noise))
        noise = st.number_input(
            "gradient noise σ", key=kn, step=0.1, format="%g",
            help="Standard deviation of Gaussian noise added to every gradient, as in "
                 "stochastic training (0 = exact gradients; at most 100). The noisy quadratic "
                 f"has it on by default. This surface's default: {default_noise:g}.")
        if model.noise is None and noise == default_noise:
            pass
        else:
            model.noise = noise
        slots.fields["noise"] = st.empty()
    slots.fields["scene"] = st.empty()


def render(model: Model, classroom: bool) -> Slots:
    """Draw the sidebar's scene controls, reading every widget into ``model``."""
    slots = Slots()
    surf = surface_section(model, slots, classroom)
    runs_section(model, slots, classroom)
    start_section(model, slots, surf, classroom)
    slots.fields.setdefault("runs", slots.fields["scene"])
    return slots


def describe(value: Any) -> str:
    return format_number(value)
