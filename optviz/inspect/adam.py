r"""The Adam family as ``torch.optim`` runs it: Adam, AMSGrad, Adam + L2, AdamW, Adamax, NAdam,
RAdam.

.. math::
    m_t = \beta_1 m_{t-1} + (1-\beta_1) g',\quad v_t = \beta_2 v_{t-1} + (1-\beta_2) g'^2,\quad
    \Delta\theta = -\frac{\gamma}{1-\beta_1^t}\,\frac{m_t}{\sqrt{v_t}/\sqrt{1-\beta_2^t} + \epsilon}
    \ (-\gamma\lambda\theta \text{ decoupled})

:math:`m_t, v_t` are torch's ``exp_avg``, ``exp_avg_sq`` (``max_exp_avg_sq`` with AMSGrad,
``exp_inf`` for Adamax) after the step: recorded row ``t = step + 1``.
"""

from __future__ import annotations

import math

import numpy as np

from optviz.inspect._common import Parts, StepData, larger_axis_sentence, num, vec

DECOUPLED = {"adamw"}  # always decoupled; nadam / radam by their flag


def _decay(p: Parts, d: StepData) -> tuple[np.ndarray, np.ndarray, float, bool]:
    """(g', decoupled part of Δθ, λ, decoupled?)."""
    wd = p.value("λ", d.hp.get("weight_decay", 0.0), "weight decay")
    decoupled = d.key in DECOUPLED or bool(d.hp.get("decoupled_weight_decay", False))
    g = p.pair("g", d.grad, "gradient seen")
    p.pair("θ", d.theta, "position before the step")
    if wd and decoupled:
        return g, -d.lr * wd * d.theta, wd, True
    if wd:
        gp = p.pair("g'", g + wd * d.theta, "gradient with L2 term g + λθ")
        return gp, np.zeros(2), wd, False
    return g, np.zeros(2), wd, False


def _moments(p: Parts, d: StepData, second: str) -> tuple[np.ndarray, np.ndarray]:
    m = p.pair("m", d.after("exp_avg"), "first moment m_t (torch exp_avg)")
    v = p.pair("v", d.after(second), f"second moment v_t (torch {second})")
    p.vectors["first moment m"] = m
    p.vectors["previous first moment"] = d.before("exp_avg")
    return m, v


def explain(d: StepData) -> Parts:
    p = Parts()
    lr = p.value("γ", d.lr, "learning rate at this step (schedule included)")
    b1, b2 = d.hp["betas"]
    p.value("β₁", b1, "first-moment decay")
    p.value("β₂", b2, "second-moment decay")
    p.value("t", d.t, "step count after this step")
    eps = p.value("ε", d.hp.get("eps", 1e-8), "added to the denominator")
    gp, decay, wd, decoupled = _decay(p, d)
    p.vectors["gradient"] = d.grad
    t = d.t
    decay_tex = (r" - \gamma\lambda\theta" if decoupled else "")
    if decoupled:
        p.pair("−γλθ", decay, "decoupled weight decay step")
        p.vectors["weight decay step"] = decay
    if d.key == "adamax":
        return _adamax(p, d, lr, b1, eps, decay)
    if d.key == "nadam":
        return _nadam(p, d, lr, b1, b2, eps, gp, decay, decay_tex)
    if d.key == "radam":
        return _radam(p, d, lr, b1, b2, eps, decay, decay_tex)
    amsgrad = bool(d.hp.get("amsgrad", False))
    m, v = _moments(p, d, "max_exp_avg_sq" if amsgrad else "exp_avg_sq")
    if amsgrad:
        p.pair("v_t^{raw}", d.after("exp_avg_sq"), "this step's second moment before the max")
    bc1 = p.value("1−β₁ᵗ", 1 - b1**t, "first-moment bias correction")
    bc2 = p.value("1−β₂ᵗ", 1 - b2**t, "second-moment bias correction")
    m_hat = p.pair("m̂", m / bc1, "bias-corrected first moment m/(1−β₁ᵗ)")
    v_hat = p.pair("v̂", v / bc2, "bias-corrected second moment v/(1−β₂ᵗ)")
    denom = np.sqrt(v) / math.sqrt(bc2) + eps
    size = p.pair("η", lr / denom, "effective step size γ/(√v̂+ε) per coordinate")
    p.boxes["step size γ/(√v̂+ε)"] = size
    step = -(lr / bc1) * m / denom + decay
    p.latex = (
        rf"\Delta\theta = -\gamma\,\frac{{\hat m_t}}{{\sqrt{{\hat v_t}} + \epsilon}}{decay_tex}"
        rf" = -{num(lr)}\,\frac{{{vec(m_hat)}}}{{\sqrt{{{vec(v_hat)}}} + {num(eps)}}}"
        + (rf" - {num(lr)}\cdot{num(wd)}\,{vec(d.theta)}" if decoupled else "")
        + rf" = {vec(step)}"
    )
    p.why = larger_axis_sentence(size, "second moment v̂", "small") + (
        "; AMSGrad divides by the largest v seen so far, so steps never grow back"
        if amsgrad else "") + "."
    return p


def _adamax(p, d, lr, b1, eps, decay):
    m = p.pair("m", d.after("exp_avg"), "first moment m_t (torch exp_avg)")
    u = p.pair("u", d.after("exp_inf"), "infinity norm u_t = max(β₂u, |g|+ε) (torch exp_inf)")
    p.vectors["first moment m"] = m
    p.vectors["previous first moment"] = d.before("exp_avg")
    bc1 = p.value("1−β₁ᵗ", 1 - b1**d.t, "first-moment bias correction")
    size = p.pair("η", lr / bc1 / u, "effective step size γ/((1−β₁ᵗ) u) per coordinate")
    p.boxes["step size γ/((1−β₁ᵗ)u)"] = size
    step = -(lr / bc1) * m / u
    p.latex = (rf"\Delta\theta = -\frac{{\gamma}}{{1-\beta_1^t}}\,\frac{{m_t}}{{u_t}} = "
               rf"-\frac{{{num(lr)}}}{{{num(bc1)}}}\,\frac{{{vec(m)}}}{{{vec(u)}}} = {vec(step)}")
    p.why = larger_axis_sentence(size, "largest recent |g| (u)", "small") + "."
    return p


def _nadam(p, d, lr, b1, b2, eps, gp, decay, decay_tex):
    m, v = _moments(p, d, "exp_avg_sq")
    psi = p.value("ψ", d.hp.get("momentum_decay", 4e-3), "momentum decay")
    t = d.t
    mu, mu_next = (b1 * (1.0 - 0.5 * (0.96 ** (i * psi))) for i in (t, t + 1))
    prod = float(d.after("mu_product"))  # torch's float32 scalar state, after this step
    mu = p.value("μ_t", mu, "momentum coefficient this step")
    p.value("μ_{t+1}", mu_next, "momentum coefficient of the next step (look-ahead)")
    p.value("Πμ", prod, "product of the μ's so far (torch mu_product)")
    bc2 = p.value("1−β₂ᵗ", 1 - b2**t, "second-moment bias correction")
    denom = p.pair("√v̂+ε", np.sqrt(v / bc2) + eps, "denominator")
    cg = p.value("c_g", -lr * (1.0 - mu) / (1.0 - prod), "coefficient of g'/(√v̂+ε)")
    cm = p.value("c_m", -lr * mu_next / (1.0 - prod * mu_next), "coefficient of m/(√v̂+ε)")
    size = p.pair("η", lr / denom, "step size γ/(√v̂+ε) per coordinate")
    p.boxes["step size γ/(√v̂+ε)"] = size
    step = cg * gp / denom + cm * m / denom + decay
    p.latex = (rf"\Delta\theta = c_g\,\frac{{g'}}{{\sqrt{{\hat v}}+\epsilon}} + c_m\,"
               rf"\frac{{m_t}}{{\sqrt{{\hat v}}+\epsilon}}{decay_tex},\ c_g = {num(cg)},\ "
               rf"c_m = {num(cm)},\ \sqrt{{\hat v}}+\epsilon = {vec(denom)},\ "
               rf"\Delta\theta = {vec(step)}")
    p.why = larger_axis_sentence(size, "second moment v̂", "small") + (
        "; Nesterov's look-ahead mixes in the current gradient g′ as well as the moment m.")
    return p


def _radam(p, d, lr, b1, b2, eps, decay, decay_tex):
    m, v = _moments(p, d, "exp_avg_sq")
    t = d.t
    bc1 = p.value("1−β₁ᵗ", 1 - b1**t, "first-moment bias correction")
    bc2 = p.value("1−β₂ᵗ", 1 - b2**t, "second-moment bias correction")
    m_hat = p.pair("m̂", m / bc1, "bias-corrected first moment")
    rho_inf = p.value("ρ_∞", 2 / (1 - b2) - 1, "maximum length of the approximated SMA")
    rho_t = p.value("ρ_t", rho_inf - 2 * t * (b2**t) / bc2, "length of the SMA at this step")
    if rho_t > 5.0:
        rect = p.value("r_t", ((rho_t - 4) * (rho_t - 2) * rho_inf
                               / ((rho_inf - 4) * (rho_inf - 2) * rho_t)) ** 0.5,
                       "variance rectification term")
        adaptive = p.pair("l_t", bc2**0.5 / (np.sqrt(v) + eps), "adaptive rate √(1−β₂ᵗ)/(√v+ε)")
        size = p.pair("η", lr * rect * adaptive, "effective step size γ r_t l_t per coordinate")
        step = -(m_hat * lr * adaptive * rect) + decay
        p.latex = (rf"\rho_t = {num(rho_t)} > 5:\ \Delta\theta = -\gamma\, r_t\, l_t\,\hat m_t"
                   rf"{decay_tex} = -{num(lr)}\cdot{num(rect)}\,{vec(adaptive)}\odot{vec(m_hat)}"
                   rf" = {vec(step)}")
        p.why = larger_axis_sentence(size, "second moment v", "small") + (
            f"; the variance estimate is trusted now (ρ_t = {rho_t:.3g} > 5), scaled by "
            f"r_t = {rect:.3g}.")
    else:
        size = np.array([lr, lr])
        step = -(m_hat * lr) + decay
        p.latex = (rf"\rho_t = {num(rho_t)} \le 5:\ \Delta\theta = -\gamma\,\hat m_t{decay_tex}"
                   rf" = -{num(lr)}\,{vec(m_hat)} = {vec(step)}")
        p.why = (f"too few steps to trust the variance estimate (ρ_t = {rho_t:.3g} ≤ 5), so "
                 "RAdam takes a plain momentum step: the same step size along x and y.")
    p.boxes["step size"] = size
    return p
