r"""Any optimizer without a family module (none of the registry's today; a new key until it gets
one): the gradient, the recorded update and every recorded state tensor after the step, with the
spec's update rule and this step's numbers.
"""

from __future__ import annotations

import numpy as np

from optviz.inspect._common import Parts, StepData, angle_between, norm, short, vec

#: state tensors that are points, not directions: drawn as the offset from θ
POSITIONS = {"ax": "ASGD's average", "slow_params": "Lookahead's slow weights",
             "z": "schedule-free's base sequence z", "p0": "Prodigy's start point"}


def explain(d: StepData, rule: str = "") -> Parts:
    p = Parts()
    p.vectors["gradient"] = d.grad
    p.value("γ", d.lr, "learning rate at this step (schedule included)")
    p.pair("g", d.grad, "gradient seen")
    for name in sorted(d.state):
        if name == "grad_at_point":  # schedule-free: this is the gradient seen (``grad``)
            continue
        if name == "grad_point":  # schedule-free: y at row ``step`` (where g was taken)
            y = np.array(d.state[name][d.step], dtype=np.float64)
            p.pair("y", y, "schedule-free gradient point y (where g is taken)")
            p.vectors["gradient point y − θ"] = y - d.theta
            continue
        value = d.after(name)
        if value.shape == (2,) and name in POSITIONS:
            p.pair(name, value, f"{POSITIONS[name]} (state {name}) after the step")
            p.vectors[f"{name} − θ"] = value - d.theta
        elif value.shape == (2,):
            p.pair(name, value, f"state {name} after the step")
            p.vectors[f"state {name}"] = value
        elif value.shape == (2, 2):
            p.matrices[f"state {name}"] = value
            for (i, j), axis in zip(((0, 0), (0, 1), (1, 1)), ("xx", "xy", "yy"), strict=True):
                p.value(f"{name}_{axis}", value[i, j], f"state {name}, entry {axis}")
    step = d.update
    p.pair("Δθ", step, "update θ_{t+1} − θ_t (recorded)")
    gn, sn = norm(d.grad), norm(step)
    ratio = p.value("|Δθ|/|g|", sn / gn if gn else float("inf"), "step length per unit gradient")
    angle = angle_between(step, -d.grad)
    numbers = rf"\Delta\theta = {vec(step)},\quad g = {vec(d.grad)}"
    p.latex = (rf"\begin{{gathered}} {rule} \\ {numbers} \end{{gathered}}" if rule else numbers)
    if angle is None:
        p.why = "the point did not move this step." if sn == 0 else "the gradient is zero here."
    else:
        p.why = (f"the step is {short(ratio)}× the gradient's length and points {short(angle)}° "
                 "away from −g: "
                 + ("it follows the gradient downhill." if angle < 30 else
                    "its state (momentum, per-coordinate scaling) turns it away from −g."))
    return p
