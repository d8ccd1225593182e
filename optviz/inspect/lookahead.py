r"""Lookahead (pytorch-optimizer's ``Lookahead``): k fast steps of the base, one step back.

.. math::
    \theta' = \operatorname{base\ step}(\theta),\quad \text{every } k\text{-th step: }
    \theta_{t+1} = \theta' + (1-\alpha)(\phi - \theta'),\ \phi \leftarrow \theta_{t+1}

``φ`` is the recorded ``slow_params``. By a step post-hook on the base optimizer, the runner
records the point and the base's state right after the base's own step, before a sync pulls
them back (``fast.point``, ``fast.<name>``). So the fast step reads its state before at row
``step`` and after at row ``step + 1`` of ``fast.<name>`` and is explained by the base's own
family module; the sync step adds the interpolation toward φ. The one thing a sync changes in
the base's state is the momentum buffer (``pullback_momentum``): "reset" zeroes it, "pullback"
moves it toward Lookahead's slow buffer and copies the result there (state ``slow_momentum``),
so the step after a sync starts from that.
"""

from __future__ import annotations

from dataclasses import replace
from importlib import import_module

import numpy as np

from optviz.inspect._common import Parts, StepData, num, short, vec
from optviz.optimizers.wrappers import base_of


def pulled_buffer(d: StepData, row: int) -> np.ndarray | None:
    """The momentum buffer right after a sync whose state is row ``row`` (``pullback_momentum``
    "reset": zeros; "pullback": the slow buffer it was copied to), or None without one."""
    mode = d.hp.get("pullback_momentum", "none")
    if mode == "none":
        return None
    if mode == "reset":
        return np.zeros(2)
    return np.array(d.state["slow_momentum"][row], dtype=np.float64)


def base_rows(d: StepData) -> dict[str, np.ndarray]:
    """The base's state as its own step saw it: rows ``step`` and ``step + 1`` of
    ``fast.<name>``, with the momentum buffer that a sync before this step left
    (:func:`pulled_buffer`)."""
    rows = {name.removeprefix("fast."): rows for name, rows in d.state.items()
            if name.startswith("fast.") and name != "fast.point"}
    k = int(d.hp.get("k", 5))
    pulled = pulled_buffer(d, d.step) if d.step > 0 and d.step % k == 0 else None
    if pulled is not None and "momentum_buffer" in rows:
        rows["momentum_buffer"] = buffer = np.array(rows["momentum_buffer"], dtype=np.float64)
        buffer[d.step] = pulled
    return rows


def explain(d: StepData) -> Parts:
    from optviz.inspect import FAMILIES

    key, kwargs = base_of(d.hp)
    fast_point = np.array(d.state["fast.point"][d.step + 1], dtype=np.float64)
    rows = base_rows(d)
    family = FAMILIES.get(key, "generic")
    module = import_module(f"optviz.inspect.{family}")
    base_data = replace(d, key=key, hp=dict(kwargs), state=rows, update=fast_point - d.theta)
    p = module.explain(base_data)
    k = int(d.hp.get("k", 5))
    alpha = p.value("α_slow", d.hp.get("alpha", 0.5), "fraction of the way the slow weights "
                    "move (Lookahead's α)")
    p.value("k_sync", k, "fast steps between two syncs (Lookahead's k)")
    count = (d.step + 1) % k
    sync = count == 0
    p.value("sync", float(sync), "1 on a step that pulls back to the slow weights")
    if "θ_x" not in p.values:
        p.pair("θ", d.theta, "position before the step")
    slow = p.pair("φ", d.before("slow_params") if d.step else d.theta,
                  "slow weights before (state slow_params; φ₀ = θ₀)")
    slow_after = p.pair("φ_{t+1}", d.after("slow_params"), "slow weights after")
    fast_point = p.pair("θ'", fast_point,
                        f"fast point of the base's ({key}) step (state fast.point)")
    fast = p.pair("Δθ_fast", fast_point - d.theta, f"the base's ({key}) fast step")
    p.vectors["slow weights φ − θ"] = slow - d.theta
    p.vectors["fast step"] = fast
    base_latex = p.latex
    if not sync:
        p.latex = (rf"\begin{{gathered}} \text{{fast step {count} of {k}}}:\ {base_latex} \\ "
                   rf"\phi = {vec(slow_after)} \end{{gathered}}")
        p.why = (f"a fast step of the base optimizer ({key}): {p.why.rstrip('.')}; in "
                 f"{k - count} more step(s) the point will be pulled {short(1 - alpha)} of the "
                 f"way back to the slow weights φ, now {short(np.hypot(*(slow - d.theta)))} "
                 "away.")
        return p
    w = 1 - alpha
    pulled = pulled_buffer(d, d.step + 1)
    if pulled is not None and "b_t_x" in p.values:  # the base keeps a momentum buffer
        p.pair("b_pulled", pulled, "momentum buffer after the sync, which the next step "
               f"starts from (pullback_momentum = {d.hp['pullback_momentum']})")
    back = p.pair("pull", w * (slow - fast_point), "the pull-back (1−α)(φ − θ')")
    p.vectors["pull-back step (1−α)(φ − θ')"] = back
    new = d.theta + d.update
    p.latex = (rf"\begin{{gathered}} {base_latex} \\ \theta_{{t+1}} = \theta' + (1-\alpha)"
               rf"(\phi - \theta') = {vec(fast_point)} + {num(w)}\,{vec(slow - fast_point)} = "
               rf"{vec(new)} = \phi_{{t+1}} \end{{gathered}}")
    p.why = (f"sync step: the base's ({key}) fast step went to θ', then the point jumps "
             f"{short(w)} of the way back to the slow weights φ (a jump of "
             f"{short(np.hypot(*back))} against a fast step of {short(np.hypot(*fast))}), and φ "
             "moves there too.")
    if "b_pulled_x" in p.values:
        p.why += (" The momentum buffer is " + (
            "reset to 0" if d.hp["pullback_momentum"] == "reset" else
            f"pulled {short(w)} of the way back to the slow buffer")
            + ", so the next fast step starts from it.")
    return p
