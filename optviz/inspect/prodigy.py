r"""Prodigy (``prodigyopt.Prodigy``): Adam whose step size :math:`d` is learned.

.. math::
    \hat\gamma = \gamma\, d_{t-1},\quad m_t = \beta_1 m + (1-\beta_1) d_{t-1} g,\quad
    v_t = \beta_2 v + (1-\beta_2) d_{t-1}^2 g^2,\quad
    \Delta\theta = -\hat\gamma\,\frac{m_t}{\sqrt{v_t} + d_t\,\epsilon}

:math:`d` and the numerator :math:`r` are scalars of the param group, which the runner records
after each step (``group.d``, ``group.d_numerator``): :math:`r_t = \beta_3 r_{t-1} +
\frac{d_{t-1}}{d_0}\gamma_t d_{t-1} \langle g_t, \theta_0 - \theta_{t-1}\rangle`,
:math:`d_t = \max(d_{t-1}, c_d\, r_t / \lVert s_t\rVert_1)` with :math:`s` the state ``s`` and
:math:`\theta_0` its ``p0``; the denominator and the estimate are computed from them as the
package does.
"""

from __future__ import annotations

import math

import numpy as np

from optviz.inspect._common import Parts, StepData, num, short, vec


def d_history(d: StepData) -> tuple[float, float, float, float, float]:
    """(d_{t−1}, d_t, r_t, ‖s_t‖₁, d̂_t) of this step: d and r as the package's param group
    held them before and after it, ‖s‖₁ and d̂ = c_d r/‖s‖₁ by its own arithmetic. A step whose
    ‖s‖₁ is 0 (no gradient yet) returns before touching d and r; then d̂ reads as d."""
    prev = float(d.state["group.d"][d.step])
    new = float(d.state["group.d"][d.step + 1])
    r = float(d.state["group.d_numerator"][d.step + 1])
    denom = float(np.abs(d.after("s")).sum())
    d_hat = d.hp.get("d_coef", 1.0) * r / denom if denom else new
    return prev, new, r, denom, d_hat


def explain(d: StepData) -> Parts:
    p = Parts()
    hp = d.hp
    lr = p.value("γ", d.lr, "learning rate at this step (multiplies d)")
    b1, b2 = hp["betas"]
    p.value("β₁", b1, "first-moment decay")
    p.value("β₂", b2, "second-moment decay")
    p.value("β₃", math.sqrt(b2), "decay of r and s (√β₂)")
    p.value("t", d.t, "step count after this step")
    eps = p.value("ε", hp.get("eps", 1e-8), "times d_t, added to the denominator")
    wd = p.value("λ", hp.get("weight_decay", 0.0), "weight decay")
    d0 = p.value("d₀", hp.get("d0", 1e-6), "initial estimate of d")
    g = p.pair("g", d.grad, "gradient seen")
    theta = p.pair("θ", d.theta, "position before the step")
    p.vectors["gradient"] = g
    decoupled = bool(hp.get("decouple", True))
    if wd and not decoupled:
        g = p.pair("g'", g + wd * theta, "gradient with L2 term g + λθ")
    d_prev, d_new, r, denom, d_hat = d_history(d)
    p.value("d_{t-1}", d_prev, "step size d before this step (group d)")
    p.value("d_t", d_new, "step size d after this step")
    p.value("r_t", r, "numerator r: β₃-average of d²γ⟨g, θ₀ − θ⟩/d₀ (group d_numerator)")
    p.value("‖s_t‖₁", denom, "denominator: L1 norm of the state s")
    p.value("d̂_t", d_hat, "this step's estimate c_d r_t/‖s_t‖₁")
    bc = (math.sqrt(1 - b2**d.t) / (1 - b1**d.t)) if hp.get("use_bias_correction") else 1.0
    p.value("bc", bc, "bias correction √(1−β₂ᵗ)/(1−β₁ᵗ) (1 when off)")
    dlr = p.value("γ̂", d_prev * lr * bc, "effective learning rate γ d_{t−1}")
    p.pair("s_{t-1}", d.before("s"), "s before")
    p.pair("s", d.after("s"), "s = β₃s + d²γ g/d₀ (state s)")
    p.pair("m_{t-1}", d.before("exp_avg"), "first moment before")
    start = np.broadcast_to(d.after("p0"), (2,))  # a start at the origin: a 0-dim zero
    p.pair("θ₀", start, "start point (state p0)")
    p.vectors["start θ₀ − θ"] = start - theta
    m = p.pair("m", d.after("exp_avg"), "first moment of d·g (exp_avg)")
    v = p.pair("v", d.after("exp_avg_sq"), "second moment of d²g² (exp_avg_sq)")
    p.vectors["first moment m"] = m
    p.vectors["previous first moment"] = d.before("exp_avg")
    den = np.sqrt(v) + d_new * eps
    size = p.pair("η", dlr * d_prev / den, "step size per unit gradient γ̂ d/(√v + dε)")
    p.boxes["step size γ̂ d/(√v+dε)"] = size
    step = -dlr * m / den - (dlr * wd * theta if wd and decoupled else 0.0)
    p.latex = (rf"d_{{t-1}} = {num(d_prev)},\ d_t = \max\Bigl(d_{{t-1}},\ "
               rf"\frac{{r_t}}{{\lVert s_t\rVert_1}} = {num(d_hat)}\Bigr) = {num(d_new)},\quad "
               rf"\Delta\theta = -\gamma d_{{t-1}}\,\frac{{m_t}}{{\sqrt{{v_t}} + d_t\epsilon}} = "
               rf"-{num(dlr)}\,\frac{{{vec(m)}}}{{{vec(den)}}} = {vec(step)}")
    grew = d_new > d_prev
    p.why = (f"the learned step size is d = {short(d_prev)} (d₀ = {short(d0)}): "
             + (f"it grew this step to {short(d_new)}, because θ has moved "
                "along past gradients farther than d, a lower bound on the distance to the "
                "solution" if grew else "it did not grow this step (d never shrinks)")
             + "; per coordinate it is then an Adam step normalised by √v.")
    return p
