r"""L-BFGS as ``torch.optim.LBFGS`` runs it: the search direction and the line-search step.

The runner records (``record_state``) torch's last search direction ``d`` (``direction``), its
step length ``t`` (``step_length``) and the running counts of iterations and evaluations, after
each ``step()``. With one iteration per step (this app's default) :math:`\Delta\theta = t\,d`.

With ``max_iter > 1`` one ``step()`` runs N inner iterations, each with its own direction,
line search and surface evaluations. torch keeps only the LAST direction and step length (its
inner points and gradients are neither in its state nor recorded), so the earlier N − 1 inner
steps cannot be told apart: they are shown together as :math:`\Delta\theta - \alpha d`, the
last one as :math:`\alpha d`, and the view says how many iterations the step holds.
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
    angle = angle_between(direction, -g)
    if iters > 1:
        last = t * direction
        earlier = p.pair("Δθ_earlier", d.update - last,
                         f"the first {int(iters) - 1} inner steps together, Δθ − αd (torch "
                         "keeps no per-iteration record)")
        p.vectors["earlier inner steps Δθ − αd"] = earlier
        for axis in ("x", "y"):
            p.meanings[f"d_{axis}"] = (f"search direction of the LAST of {int(iters)} inner "
                                       f"iterations, taken at its inner point ({axis})")
        p.meanings["α"] = f"step length of the last of {int(iters)} inner iterations"
        first = rf"\text{{iterations 1..{int(iters) - 1}}}"
        p.latex = (rf"\Delta\theta = \underbrace{{{vec(earlier)}}}_{{{first}}}"
                   rf" + \underbrace{{\alpha\, d}}_{{\text{{iteration {int(iters)}}}}},\quad d = "
                   rf"{vec(direction)},\ \alpha = {num(t)}"
                   + (r"\ (\text{strong Wolfe})" if search else ""))
        p.why = (f"this step() ran {int(iters)} L-BFGS iterations "
                 f"({int(p.values['evaluations'])} evaluations): torch keeps only the last, "
                 f"whose direction is {short(angle or 0)}° from −g at the step's start "
                 f"and whose line search took α = {short(t)}; the first {int(iters) - 1} inner "
                 f"steps moved {short(norm(earlier))} together and the last "
                 f"{short(norm(last))}.")
        return p
    p.why = (f"the quasi-Newton direction is {short(angle or 0)}° from −g and "
             f"{short(norm(direction) / max(norm(g), 1e-300))}× its length: the curvature "
             f"learnt from past steps bends and scales it; the line search then took "
             f"α = {short(t)}.")
    return p


def _count(d: StepData, name: str) -> float:
    after = float(d.after(name))
    before = float(d.state[name][d.step]) if d.step > 0 else 0.0
    return after - (0.0 if np.isnan(before) else before)
