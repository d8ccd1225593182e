"""One control per hyperparameter, built from the registry schema.

* ``log`` floats (learning rates, ε, ...): a select-slider over 1-2-5 values per decade of the
  schema's range (plus the current value) for exploring, and beside it a field that takes any
  typed value (``3e-4``): within the range the slider takes it, outside it gets the error.
* other floats and ints: a number input without hard bounds: an out-of-range value reaches
  validation and gets an ``st.error`` under the control (the range is in the help text).
* bools: a checkbox; pairs: two number inputs; choices: a select box.

Widget values are seeded from the :class:`~optviz.ui.model.Model` before each widget is drawn
(``st.session_state[key] = value`` only when the key is missing), never passed as ``value=``, so
the model stays the source of truth and hidden widgets come back with their values.
"""

from __future__ import annotations

import math
import re
from typing import Any

import streamlit as st

from optviz.optimizers import Hyperparameter
from optviz.ui.model import format_number, log_options
from optviz.ui.style import md_escape


def seed(key: str, value: Any) -> None:
    """Give the widget ``key`` its model value unless it already has one."""
    if key not in st.session_state:
        st.session_state[key] = value


def forget(*keys: str) -> None:
    """Drop widget values so that the next run seeds them from the model again."""
    for key in keys:
        st.session_state.pop(key, None)


def help_text(hp: Hyperparameter) -> str:
    """Help on hover: the schema's line, the allowed range and the torch keyword."""
    parts = [hp.help.rstrip(".") + "." if hp.help else ""]
    if hp.kind != "bool":
        parts.append(f"Allowed: {hp.range_text()}.")
    parts.append(f"torch keyword: `{hp.name}`")
    return " ".join(p for p in parts if p)


def _step(hp: Hyperparameter) -> float:
    if hp.low is not None and hp.high is not None and hp.high - hp.low <= 1:
        return 0.01
    return 0.1


def _pair_labels(hp: Hyperparameter) -> tuple[str, str]:
    m = re.search(r"\(([^,()]+),\s*([^,()]+)\)", hp.label or "")
    if m:
        return m.group(1).strip(), m.group(2).strip()
    name = hp.label or hp.name
    return f"{name} (1st)", f"{name} (2nd)"


def _allowed(value: Any, hp: Hyperparameter) -> bool:
    return (isinstance(value, int | float) and not isinstance(value, bool)
            and math.isfinite(value) and hp.low <= value <= hp.high)


def _slid(key: str, typed_key: str) -> None:
    """The slider moved: the typed field shows its value."""
    st.session_state[typed_key] = st.session_state[key]


def _typed(typed_key: str, key: str, hp: Hyperparameter) -> None:
    """A value was typed: within the range, the slider takes it (its options gain it)."""
    value = st.session_state.get(typed_key)
    if _allowed(value, hp):
        st.session_state[key] = float(value)


def hyperparameter(
    hp: Hyperparameter, value: Any, key: str, optimizer: str
) -> tuple[Any, bool]:
    """Draw the control for ``hp`` (current ``value``) under ``key``; returns the new value and
    whether it passed the schema.

    An invalid value gets an ``st.error`` right under the control and is returned as it is
    (validation of the whole scene refuses it again and keeps the last good figure).
    """
    label = hp.label or hp.name
    tip = help_text(hp)
    if hp.kind == "float" and hp.log and hp.low is not None and hp.high is not None:
        current = value if isinstance(value, int | float) and math.isfinite(value) else hp.default
        seed(key, float(current))
        if _allowed(st.session_state[key], hp):  # a typed value the slider has not shown yet
            current = float(st.session_state[key])
        options = log_options(hp.low, hp.high, float(current))
        if st.session_state[key] not in options:  # e.g. a stale value: show the nearest
            st.session_state[key] = min(options, key=lambda o: abs(math.log(o / current)))
        typed_key = f"{key}.typed"
        c1, c2 = st.columns([3, 1.4], vertical_alignment="bottom", gap="small")
        with c1:
            new: Any = st.select_slider(label, options=options, key=key, help=tip,
                                        format_func=format_number, on_change=_slid,
                                        args=(key, typed_key))
        seed(typed_key, float(new))
        if _allowed(st.session_state[typed_key], hp) and st.session_state[typed_key] != new:
            # in range, a typed value has already moved the slider: this one is stale (the
            # model changed: a preset, a click on a sensitivity chart), the slider wins
            st.session_state[typed_key] = float(new)
        with c2:
            typed = st.number_input(
                f"{label} (typed)", key=typed_key, format="%g", step=None,
                label_visibility="collapsed", on_change=_typed, args=(typed_key, key, hp),
                help=f"Type any value, e.g. 3e-4. Allowed: {hp.range_text()}.")
        if typed is not None and not _allowed(typed, hp):  # outside the range: refused below
            new = typed
    elif hp.kind == "float":
        seed(key, float(value))
        new = st.number_input(label, key=key, step=_step(hp), format="%g", help=tip)
    elif hp.kind == "int":
        seed(key, int(value))
        new = st.number_input(label, key=key, step=1, format="%d", help=tip)
    elif hp.kind == "bool":
        seed(key, bool(value))
        new = st.checkbox(label, key=key, help=tip)
    elif hp.kind == "choice":
        seed(key, value)
        new = st.selectbox(label, options=list(hp.choices), key=key, help=tip,
                           format_func=lambda c: "none" if c is None else str(c))
    elif hp.kind == "pair":
        first, second = _pair_labels(hp)
        a, b = (float(v) for v in value)
        seed(f"{key}.0", a)
        seed(f"{key}.1", b)
        c1, c2 = st.columns(2)
        with c1:
            new_a = st.number_input(first, key=f"{key}.0", step=_step(hp), format="%g",
                                    help=tip)
        with c2:
            new_b = st.number_input(second, key=f"{key}.1", step=_step(hp), format="%g",
                                    help=tip)
        new = (new_a, new_b)
    else:  # an unknown kind: keep the value, say so
        st.caption(f"{label}: {format_number(value)} (no control for kind {hp.kind!r})")
        return value, True
    try:
        hp.check(new, optimizer)
    except ValueError as exc:
        st.error(md_escape(str(exc).removeprefix(f"{optimizer}: ")), icon=":material/warning:")
        return new, False
    return new, True
