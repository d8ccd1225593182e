r"""L-BFGS as ``torch.optim.LBFGS`` runs it: the search direction and the line-search step.

The runner records (``record_state``) torch's last search direction ``d`` (``direction``), its
step length ``t`` (``step_length``) and the running counts of iterations and evaluations, after
each ``step()``. With one iteration per step (this app's default) :math:`\Delta\theta = t\,d`.
"""

from __future__ import annotations

import numpy as np

from optviz.inspect._common import Parts, StepData, angle_between, norm, num, short, vec


def explain(d: StepData) -> Parts:
    p = Parts()
    p.vectors["gradient"] = d.grad
    g = p.pair("g", d.grad, "gradient seen")
    direction = p.pair("d", d.after("direction"), "search direction −H g (two-loop recursion)")
    t = p.value("α", float(d.after("step_length")), "step length (line search result)")
    iters = p.value("iterations", _count(d, "iterations"), "iterations in this step()")
    p.value("evaluations", _count(d, "evaluations"), "function evaluations in this step()")
    gtd = p.value("gᵀd", float(np.dot(g, direction)), "slope along d (negative: descent)")
    p.vectors["search direction d"] = direction
    p.vectors["line-search step αd"] = t * direction
    search = d.hp.get("line_search_fn") == "strong_wolfe"
    if not d.update.any():
        p.latex = rf"g^\top d = {num(gtd)} > -10^{{-9}}:\ \Delta\theta = 0"
        p.why = ("torch's L-BFGS did not move: the gradient is tiny or the direction is no "
                 "descent direction (gᵀd > −10⁻⁹), so it stops before the line search.")
        return p
    p.latex = (rf"d = -H_t g = {vec(direction)},\ \alpha = {num(t)}"
               + (r"\ (\text{strong Wolfe})" if search else "")
               + rf",\quad \Delta\theta = \alpha\, d = {vec(t * direction)}")
    if iters > 1:
        p.latex += rf"\quad (\text{{last of {int(iters)} iterations}})"
    angle = angle_between(direction, -g)
    p.why = (f"the quasi-Newton direction is {short(angle or 0)}° from −g and "
             f"{short(norm(direction) / max(norm(g), 1e-300))}× its length: the curvature "
             f"learnt from past steps bends and scales it; the line search then took "
             f"α = {short(t)}.")
    return p


def _count(d: StepData, name: str) -> float:
    after = float(d.after(name))
    before = float(d.state[name][d.step]) if d.step > 0 else 0.0
    return after - (0.0 if np.isnan(before) else before)
