r"""Per-coordinate adaptive steps as ``torch.optim`` runs them: AdaGrad, RMSprop (centered,
momentum), AdaDelta, Rprop, Adafactor (a 2-vector: its unfactored ``variance``).

Each keeps per-coordinate accumulators (torch's ``sum``, ``square_avg``, ``grad_avg``,
``acc_delta``, ``step_size``, ``prev``) whose values after the step (recorded row ``t``) set a
per-coordinate step size: drawn as a box.
"""

from __future__ import annotations

import numpy as np

from optviz.inspect._common import Parts, StepData, larger_axis_sentence, num, short, vec


def explain(d: StepData) -> Parts:
    p = Parts()
    p.vectors["gradient"] = d.grad
    return {"adagrad": _adagrad, "rmsprop": _rmsprop, "adadelta": _adadelta,
            "rprop": _rprop, "adafactor": _adafactor}[d.key](p, d)


def _decayed(p: Parts, d: StepData) -> np.ndarray:
    g = p.pair("g", d.grad, "gradient seen")
    p.pair("θ", d.theta, "position before the step")
    wd = p.value("λ", d.hp.get("weight_decay", 0.0), "weight decay (L2, added to the gradient)")
    return p.pair("g'", g + wd * d.theta, "gradient with weight decay g + λθ") if wd else g


def _adagrad(p: Parts, d: StepData) -> Parts:
    lr = p.value("γ", d.lr, "learning rate at this step (schedule included)")
    decay = p.value("lr_decay", d.hp.get("lr_decay", 0.0), "learning-rate decay")
    eps = p.value("ε", d.hp.get("eps", 1e-10), "added to the denominator")
    g = _decayed(p, d)
    clr = p.value("γ_t", lr / (1 + (d.t - 1) * decay), "decayed learning rate γ/(1+(t−1)·decay)")
    G = p.pair("G", d.after("sum"), "sum of squared gradients so far (torch sum)")
    p.pair("G_{t-1}", d.before("sum"), "sum of squared gradients before this step")
    size = p.pair("η", clr / (np.sqrt(G) + eps), "step size γ_t/(√G+ε) per coordinate")
    p.boxes["step size γ/(√G+ε)"] = size
    step = -clr * g / (np.sqrt(G) + eps)
    p.latex = (rf"G_t = G_{{t-1}} + g^2 = {vec(G)},\quad \Delta\theta = -\frac{{\gamma_t}}"
               rf"{{\sqrt{{G_t}}+\epsilon}}\odot g = -\frac{{{num(clr)}}}{{\sqrt{{{vec(G)}}}"
               rf" + {num(eps)}}}\odot{vec(g)} = {vec(step)}")
    p.why = (larger_axis_sentence(size, "accumulated squared gradient G", "small")
             + "; G only grows, so every coordinate's step size only shrinks.")
    return p


def _rmsprop(p: Parts, d: StepData) -> Parts:
    lr = p.value("γ", d.lr, "learning rate at this step (schedule included)")
    p.value("α", d.hp.get("alpha", 0.99), "squared-gradient decay")
    eps = p.value("ε", d.hp.get("eps", 1e-8), "added to the denominator")
    mu = p.value("μ", d.hp.get("momentum", 0.0), "momentum")
    centered = bool(d.hp.get("centered", False))
    g = _decayed(p, d)
    v = p.pair("v", d.after("square_avg"), "running mean of g² (torch square_avg)")
    if centered:
        ga = p.pair("ḡ", d.after("grad_avg"), "running mean of g (torch grad_avg)")
        avg = np.sqrt(v - ga * ga) + eps
        p.vectors["mean gradient ḡ"] = ga
        denom_tex = r"\sqrt{v_t - \bar g_t^2} + \epsilon"
    else:
        avg = np.sqrt(v) + eps
        denom_tex = r"\sqrt{v_t} + \epsilon"
    p.pair("den", avg, f"denominator {'√(v−ḡ²)+ε' if centered else '√v+ε'}")
    size = p.pair("η", lr / avg, "step size γ/den per coordinate")
    p.boxes["step size γ/(√v+ε)"] = size
    if mu > 0:
        buf = p.pair("b", d.after("momentum_buffer"), "momentum buffer (torch momentum_buffer)")
        p.pair("b_{t-1}", d.before("momentum_buffer"), "momentum buffer before")
        p.vectors["momentum buffer"] = buf
        step = -lr * buf
        p.latex = (rf"b_t = \mu b_{{t-1}} + \frac{{g}}{{{denom_tex}}} = {vec(buf)},\quad"
                   rf" \Delta\theta = -\gamma\, b_t = -{num(lr)}\,{vec(buf)} = {vec(step)}")
    else:
        step = -lr * g / avg
        p.latex = (rf"\Delta\theta = -\gamma\,\frac{{g}}{{{denom_tex}}} = -{num(lr)}\,"
                   rf"\frac{{{vec(g)}}}{{{vec(avg)}}} = {vec(step)}")
    p.why = larger_axis_sentence(size, "running mean of g²", "small") + (
        "; unlike AdaGrad it forgets old gradients, so a step size can grow back.")
    return p


def _adadelta(p: Parts, d: StepData) -> Parts:
    lr = p.value("γ", d.lr, "learning rate at this step (schedule included)")
    p.value("ρ", d.hp.get("rho", 0.9), "decay of both running means")
    eps = p.value("ε", d.hp.get("eps", 1e-6), "added inside both square roots")
    g = _decayed(p, d)
    v = p.pair("v", d.after("square_avg"), "running mean of g² (torch square_avg)")
    u_prev = p.pair("u_{t-1}", d.before("acc_delta"), "running mean of Δ² before (acc_delta)")
    p.pair("u", d.after("acc_delta"), "running mean of Δ² after (torch acc_delta)")
    ratio = p.pair("r", np.sqrt(u_prev + eps) / np.sqrt(v + eps), "√(u+ε)/√(v+ε) per coordinate")
    size = lr * ratio
    p.boxes["step size γ√(u+ε)/√(v+ε)"] = size
    step = -lr * ratio * g
    p.latex = (rf"\Delta\theta = -\gamma\,\frac{{\sqrt{{u_{{t-1}}+\epsilon}}}}"
               rf"{{\sqrt{{v_t+\epsilon}}}}\odot g = -{num(lr)}\,{vec(ratio)}\odot{vec(g)}"
               rf" = {vec(step)}")
    p.why = larger_axis_sentence(size, "ratio of past step size to gradient size", "large") + (
        "; the units match: the step is a running size of past steps over a running size of "
        "gradients.")
    return p


def _rprop(p: Parts, d: StepData) -> Parts:
    etaminus, etaplus = d.hp.get("etas", (0.5, 1.2))
    p.value("η⁻", etaminus, "step-size factor after a sign flip")
    p.value("η⁺", etaplus, "step-size factor when the sign is kept")
    g = p.pair("g", d.grad, "gradient seen")
    prev = p.pair("g_{t-1}", d.before("prev"), "previous gradient kept by Rprop (torch prev)")
    used = p.pair("ĝ", d.after("prev"), "gradient used: zero where the sign flipped")
    before = p.pair("s_{t-1}", d.before("step_size", fill=d.lr), "step sizes before")
    size = p.pair("s", d.after("step_size"), "step sizes after (torch step_size)")
    p.boxes["step sizes s"] = size
    step = -np.sign(used) * size
    p.latex = (rf"s_t = \mathrm{{clip}}(\eta^{{\pm}} s_{{t-1}}) = {vec(size)},\quad"
               rf" \Delta\theta = -\operatorname{{sign}}(\hat g)\odot s_t = {vec(step)}")
    parts = []
    for i, axis in enumerate("xy"):
        product = g[i] * prev[i]
        if product < 0:
            parts.append(f"the gradient's sign flipped along {axis}, so its step size shrank "
                         f"to {short(size[i])} and it does not move")
        elif product > 0:
            parts.append(f"the sign was kept along {axis}, so its step size grew from "
                         f"{short(before[i])} to {short(size[i])}")
        else:
            parts.append(f"along {axis} the step size stays {short(size[i])}")
    p.why = "; ".join(parts) + " (only signs matter, not the gradient's size)."
    return p


def _adafactor(p: Parts, d: StepData) -> Parts:
    r"""torch's Adafactor on a vector: :math:`\hat\beta_t = t^{c}`, :math:`v_t = (1-\hat\beta_t)
    v_{t-1} + \hat\beta_t g^2`, :math:`u = g/\sqrt{\max(v_t, \epsilon_1^2)}`, relative step
    :math:`\alpha = \max(\epsilon_2, \mathrm{RMS}(\theta))\min(\gamma, 1/\sqrt t)`,
    :math:`\Delta\theta = -\gamma\lambda\theta - \frac{\alpha}{\max(1, \mathrm{RMS}(u)/d)}\,u`."""
    lr = p.value("γ", d.lr, "learning rate at this step (schedule included)")
    wd = p.value("λ", d.hp.get("weight_decay", 0.0), "weight decay (decoupled)")
    clip = p.value("d", d.hp.get("d", 1.0), "clipping threshold of RMS(u)")
    c = p.value("c", d.hp.get("beta2_decay", -0.8), "decay rate exponent")
    eps1 = p.value("ε₁", float(np.finfo(np.float64).eps), "floor of v (squared)")
    eps2 = p.value("ε₂", 1e-3, "floor of RMS(θ)")
    t = d.t
    p.value("β̂_t", float(t) ** c, "this step's weight of g² in v, t^c")
    g = p.pair("g", d.grad, "gradient seen")
    theta = p.pair("θ", d.theta, "position before the step")
    rho = p.value("ρ_t", min(lr, 1 / (t**0.5)), "relative step size min(γ, 1/√t)")
    rms_theta = p.value("RMS(θ)", float(np.linalg.norm(theta)) / 2**0.5, "size of θ")
    alpha = p.value("α", max(eps2, rms_theta) * rho, "step scale max(ε₂, RMS(θ))·ρ_t")
    v = p.pair("v", d.after("variance"), "running mean of g² (torch variance)")
    u = p.pair("u", g / np.sqrt(np.maximum(v, eps1 * eps1)), "normalized gradient g/√v")
    rms_u = p.value("RMS(u)", float(np.linalg.norm(u)) / 2**0.5, "size of u")
    denom = p.value("max(1, RMS(u)/d)", max(1.0, rms_u / clip), "update clipping")
    size = p.pair("η", alpha / denom / np.sqrt(np.maximum(v, eps1 * eps1)),
                  "step size per unit gradient α/(max(1,RMS(u)/d)√v)")
    p.boxes["step size α/√v"] = size
    p.vectors["normalized gradient u"] = u
    step = -lr * wd * theta - (alpha / denom) * u
    p.latex = (rf"u = \frac{{g}}{{\sqrt{{v_t}}}} = {vec(u)},\ \alpha = \max(\epsilon_2,"
               rf" \mathrm{{RMS}}(\theta))\,\rho_t = {num(alpha)},\quad \Delta\theta = "
               rf"-\frac{{\alpha}}{{\max(1, \mathrm{{RMS}}(u)/d)}}\,u"
               + (r" - \gamma\lambda\theta" if wd else "")
               + rf" = {vec(step)}")
    p.why = (f"Adafactor's step is relative to the size of θ (RMS(θ) = {short(rms_theta)}, so "
             f"α = {short(alpha)}) and it divides g by √v per coordinate; "
             + larger_axis_sentence(size, "running mean of g²", "small") + ".")
    return p
