r"""SGD, momentum (heavy ball) and Nesterov, as ``torch.optim.SGD`` runs them.

.. math::
    g' = g + \lambda\theta,\quad b_t = \mu b_{t-1} + (1-\tau) g' \ (b_1 = g'),\quad
    d = g' + \mu b_t \ (\text{Nesterov}) \text{ or } b_t,\quad \Delta\theta = -\gamma d

The buffer :math:`b_t` is torch's ``momentum_buffer`` after the step (recorded row ``t``).
"""

from __future__ import annotations

import numpy as np

from optviz.inspect._common import Parts, StepData, angle_between, norm, num, short, vec


def explain(d: StepData) -> Parts:
    if d.key == "asgd":
        return _asgd(d)
    p = Parts()
    hp = d.hp
    lr = p.value("γ", d.lr, "learning rate at this step (schedule included)")
    mu = p.value("μ", hp.get("momentum", 0.0), "momentum")
    wd = p.value("λ", hp.get("weight_decay", 0.0), "weight decay (L2, added to the gradient)")
    g = p.pair("g", d.grad, "gradient seen")
    p.pair("θ", d.theta, "position before the step")
    gp = p.pair("g'", g + wd * d.theta, "gradient with weight decay g + λθ") if wd else g
    p.vectors["gradient"] = g
    if mu == 0 or not d.has("momentum_buffer"):
        direction = gp
        g_tex = r"(g + \lambda\theta)" if wd else "g"
        p.latex = (rf"\Delta\theta = -\gamma\,{g_tex} = "
                   rf"-{num(lr)}\,{vec(gp)} = {vec(-lr * gp)}")
        p.why = (f"plain gradient descent: the step is the learning rate {short(lr)} times the "
                 f"negative gradient (|g| = {short(norm(gp))}), so it is long where the surface "
                 "is steep and short where it is flat")
        p.vectors["update direction −γg"] = -lr * direction
        return p
    tau = p.value("τ", hp.get("dampening", 0.0), "dampening")
    nesterov = bool(hp.get("nesterov", False))
    buf_before = p.pair("b_{t-1}", d.before("momentum_buffer"), "momentum buffer before")
    buf = p.pair("b_t", d.after("momentum_buffer"), "momentum buffer after (torch's state)")
    p.vectors["momentum buffer"] = buf
    p.vectors["previous momentum buffer"] = buf_before
    first = d.step == 0
    rule_b = (rf"b_1 = g' = {vec(buf)}" if first else
              rf"b_t = \mu\, b_{{t-1}} + (1-\tau)\, g' = {num(mu)}{vec(buf_before)} + "
              rf"{num(1 - tau)}{vec(gp)} = {vec(buf)}")
    if nesterov:
        direction = p.pair("d", gp + mu * buf, "Nesterov direction g' + μ b_t")
        rule = (rf"\Delta\theta = -\gamma\,(g' + \mu\, b_t) = -{num(lr)}\,\left({vec(gp)} + "
                rf"{num(mu)}{vec(buf)}\right)")
    else:
        direction = buf
        rule = rf"\Delta\theta = -\gamma\, b_t = -{num(lr)}\,{vec(buf)}"
    p.latex = rf"\begin{{gathered}} {rule_b} \\ {rule} = {vec(-lr * direction)} \end{{gathered}}"
    angle = angle_between(buf, gp)
    ratio = norm(buf) / norm(gp) if norm(gp) else float("inf")
    p.value("|b|/|g|", ratio, "momentum buffer length over gradient length")
    if angle is None:
        p.why = "the gradient is zero here, so only the momentum buffer moves the point"
    elif angle > 90:
        p.why = (f"the momentum buffer points {short(angle)}° away from the gradient: the "
                 "point is still coasting against the slope, so it overshoots before turning")
    elif ratio > 1.5:
        p.why = (f"the momentum buffer is {short(ratio)}× the gradient and {short(angle)}° from "
                 "it: past gradients add up, so the step is longer than plain gradient "
                 "descent's")
    else:
        p.why = (f"the momentum buffer is {short(ratio)}× the gradient and {short(angle)}° from "
                 "it: the step mostly follows the current gradient")
    return p


def _asgd(d: StepData) -> Parts:
    r"""ASGD: :math:`\theta_t = (1-\lambda\eta_t)\theta_{t-1} - \eta_t g'`, the average
    :math:`\bar\theta` (state ``ax``) reported alongside.

    torch keeps :math:`\eta` as a float32 scalar tensor, recorded as ``eta``: :math:`\eta_1 =
    \gamma` (it creates it in the first step), then after step :math:`k` it stores
    :math:`\gamma_k/(1 + \lambda\gamma_k k)^\alpha` (``γ_k`` that step's lr).
    """
    p = Parts()
    hp = d.hp
    lam = p.value("λ_d", hp.get("lambd", 1e-4), "decay term")
    p.value("α", hp.get("alpha", 0.75), "power of the η decay")
    wd = p.value("λ", hp.get("weight_decay", 0.0), "weight decay (L2, added to the gradient)")
    g = p.pair("g", d.grad, "gradient seen")
    theta = p.pair("θ", d.theta, "position before the step")
    gp = p.pair("g'", g + wd * theta, "gradient with weight decay g + λθ") if wd else g
    eta = float(d.state["eta"][d.step]) if d.step else float(np.float32(d.lr))
    eta = p.value("η_t", eta, "step size γ/(1 + λγ(t−1))^α (torch's float32 eta)")
    p.value("γ", d.lr, "learning rate at this step (schedule included)")
    step = -lam * eta * theta - eta * gp
    p.vectors["gradient"] = g
    p.boxes["step size η_t"] = np.array([eta, eta])
    if d.has("ax"):
        average = p.pair("θ̄", d.after("ax"), "running average of the iterates (torch ax)")
        p.vectors["average θ̄ − θ"] = average - theta
    p.latex = (rf"\eta_t = {num(eta)},\quad \Delta\theta = -\lambda\eta_t\,\theta - "
               rf"\eta_t\, g' = -{num(lam * eta)}\,{vec(theta)} - {num(eta)}\,{vec(gp)} = "
               rf"{vec(step)}")
    p.why = (f"ASGD steps like SGD with a slowly decaying step size η = {short(eta)}; its answer "
             "is the running average θ̄ of the points, which smooths out noise.")
    return p
