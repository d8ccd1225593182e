"""A run card's schedule and clipping controls, and the small lr-against-step chart.

The schedule picker offers None and every name of
:data:`optviz.optimizers.schedules.SCHEDULES` (with the table's one-line formula as help); the
chosen schedule's arguments are number inputs keyed by the schedule's name, so switching
schedules never hands one's values to another. An argument whose default follows the run
(``T_max``, ``total_steps``, ``max_lr``) is empty until set and says what it follows. Clipping
inputs are empty when off. Values go into the :class:`~optviz.ui.model.Entry` raw; validation
of the whole scene places a problem in the run card. The chart shows only a schedule that
validates.
"""

from __future__ import annotations

from typing import Any

import streamlit as st

from optviz.figures.schedule import lr_figure
from optviz.limits import MAX_SCENE_STEPS
from optviz.optimizers.schedules import SCHEDULES, ScheduleParam, check_schedule, learning_rates
from optviz.scene.extras import read_schedule
from optviz.ui.controls import forget, seed
from optviz.ui.model import Entry, format_number
from optviz.ui.style import md_escape

NONE_LABEL = "None (constant learning rate)"
_FOLLOWS = {"T_max": "steps", "total_steps": "steps", "max_lr": "lr"}
CHART_CONFIG = {"displayModeBar": False, "staticPlot": False}


def schedule_help() -> str:
    """Help on hover for the picker: each schedule with its formula (escaped)."""
    lines = [f"- **{name}**: {md_escape(formula)}" for name, (_, formula) in SCHEDULES.items()]
    return ("A `torch.optim.lr_scheduler` stepped after every optimizer step (all particles "
            "of a run share it).\n\n" + "\n".join(lines))


def _on_schedule(entry: Entry, k: str, arg_keys: list[str]) -> None:
    name = st.session_state[k]
    entry.schedule = None if name is None else {"name": name}
    forget(*arg_keys)


def _follows_text(p: ScheduleParam, steps: Any, lr: Any) -> str:
    """What an empty argument follows, short enough for a narrow input's placeholder."""
    if p.name == "max_lr":
        return f"= lr ({format_number(lr)})"
    if p.name == "T_max" and "warmup" in p.help:
        return "= steps−warmup"
    return f"= steps ({format_number(steps)})"


def _argument(p: ScheduleParam, value: Any, k: str, steps: Any, lr: Any) -> Any:
    """One argument's control; returns its raw value (``None``: the default that follows)."""
    tip = f"{p.help}. torch keyword: `{p.name}`."
    if p.kind == "choice":
        seed(k, value if value in p.choices else p.default)
        return st.selectbox(p.name, list(p.choices), key=k, help=tip)
    if p.kind == "ints":
        seed(k, "/".join(str(v) for v in (value if value is not None else p.default)))
        return st.text_input(p.name, key=k, help=tip + " Whole numbers separated by /.")
    if p.default is None:
        seed(k, value)
        return st.number_input(
            p.name, key=k, value=None, step=1 if p.kind == "int" else None,
            format="%d" if p.kind == "int" else "%g",
            placeholder=_follows_text(p, steps, lr),
            help=tip + " Empty: follows the run (as the placeholder says).")
    seed(k, value if value is not None else p.default)
    if p.kind == "int":
        return st.number_input(p.name, key=k, step=1, format="%d", help=tip)
    return st.number_input(p.name, key=k, step=0.01 if (p.high or 10) <= 1 else 0.1,
                           format="%g", help=tip)


def controls(entry: Entry, base: str, steps: Any) -> None:
    """Draw the schedule picker, its arguments, the clipping inputs and (schedule set) the
    chart, reading every widget into ``entry``."""
    lr = entry.values.get("lr")
    current = (entry.schedule or {}).get("name")
    names: list[str | None] = [None, *SCHEDULES]
    k = f"{base}.schedule"
    arg_keys = [f"{base}.schedule.{n}.{p.name}" for n in SCHEDULES for p in SCHEDULES[n][0]]
    seed(k, current if current in SCHEDULES else None)
    if lr is None:  # e.g. vSGD: its steps have no learning rate for a schedule to scale
        st.caption("No learning-rate schedule: this optimizer has no learning rate.")
        name = entry.schedule = None
    else:
        name = st.selectbox("Learning-rate schedule", names, key=k,
            format_func=lambda n: NONE_LABEL if n is None else n,
            on_change=_on_schedule, args=(entry, k, arg_keys), help=schedule_help())
    if name is None:
        entry.schedule = None
    else:
        params, formula = SCHEDULES[name]
        st.caption(md_escape(formula))
        raw = dict(entry.schedule or {})
        out: dict[str, Any] = {"name": name}
        for p in params:
            value = _argument(p, raw.get(p.name), f"{base}.schedule.{name}.{p.name}", steps, lr)
            if value is not None and not (isinstance(value, str) and not value.strip()):
                out[p.name] = value
        entry.schedule = out
    c1, c2 = st.columns(2)
    for col, field, label, tip in (
        (c1, "clip_norm", "clip norm", "torch.nn.utils.clip_grad_norm_ on each particle's "
         "gradient: scaled down to this norm when longer. Empty: off."),
        (c2, "clip_value", "clip value", "torch.nn.utils.clip_grad_value_: each gradient "
         "coordinate clamped to [−v, v] (before clipping by norm). Empty: off."),
    ):
        kc = f"{base}.{field}"
        seed(kc, getattr(entry, field))
        with col:
            setattr(entry, field, st.number_input(label, key=kc, value=None, min_value=None,
                                                  format="%g", placeholder="off", help=tip))
    if entry.schedule is not None:
        chart(entry, base, steps, lr)


@st.cache_data(max_entries=64, show_spinner=False)
def _rates(schedule: tuple, lr: float, steps: int) -> list[float]:
    return learning_rates(check_schedule(dict(schedule), steps, lr), lr, steps)


def chart(entry: Entry, base: str, steps: Any, lr: Any) -> None:
    """The lr-against-step chart of the entry's schedule, when it validates."""
    if not isinstance(steps, int) or not 1 <= steps <= MAX_SCENE_STEPS \
            or not isinstance(lr, int | float):  # the steps' own error says what is wrong
        return
    schedule, problems = read_schedule(entry.schedule, steps, float(lr))
    if schedule is None or problems:
        return  # the run card says what is wrong
    rates = _rates(schedule, float(lr), steps)
    st.plotly_chart(lr_figure(rates, entry.color), key=f"{base}.lr-chart", width="stretch",
                    theme=None, config=CHART_CONFIG)
