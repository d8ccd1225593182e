r"""Lion (pytorch-optimizer's ``Lion``): the sign of an interpolated momentum.

.. math::
    c_t = \beta_1 m_{t-1} + (1-\beta_1) g,\quad \Delta\theta = -\gamma\,\operatorname{sign}(c_t)
    \ (-\gamma\lambda\theta),\quad m_t = \beta_2 m_{t-1} + (1-\beta_2) g

:math:`m` is the package's ``exp_avg``: before the step at row ``step``, after at ``step + 1``.
"""

from __future__ import annotations

import numpy as np

from optviz.inspect._common import Parts, StepData, num, short, vec


def explain(d: StepData) -> Parts:
    p = Parts()
    lr = p.value("γ", d.lr, "learning rate at this step (schedule included)")
    b1, b2 = d.hp["betas"]
    p.value("β₁", b1, "interpolation weight of the momentum in the update")
    p.value("β₂", b2, "momentum decay")
    wd = p.value("λ", d.hp.get("weight_decay", 0.0), "weight decay")
    decoupled = bool(d.hp.get("weight_decouple", True))
    g = p.pair("g", d.grad, "gradient seen")
    p.pair("θ", d.theta, "position before the step")
    if wd and not decoupled:
        g = p.pair("g'", g + wd * d.theta, "gradient with L2 term g + λθ")
    m_prev = p.pair("m_{t-1}", d.before("exp_avg"), "momentum before (exp_avg)")
    m = p.pair("m_t", d.after("exp_avg"), "momentum after (exp_avg)")
    c = p.pair("c", m_prev + (1 - b1) * (g - m_prev), "interpolation β₁m + (1−β₁)g")
    s = p.pair("sign(c)", np.sign(c), "the update's signs")
    p.vectors["gradient"] = d.grad
    p.vectors["momentum m"] = m
    p.vectors["interpolation c"] = c
    step = -lr * s - (lr * wd * d.theta if wd and decoupled else 0.0)
    p.boxes["step size γ"] = np.array([lr, lr])
    p.latex = (rf"c_t = \beta_1 m_{{t-1}} + (1-\beta_1) g = {vec(c)},\quad \Delta\theta = "
               rf"-\gamma\,\operatorname{{sign}}(c_t)"
               + (r" - \gamma\lambda\theta" if wd and decoupled else "")
               + rf" = -{num(lr)}\,{vec(s)} = {vec(step)}")
    flipped = [a for i, a in enumerate("xy") if s[i] != 0 and np.sign(g[i]) not in (0, s[i])]
    p.why = (f"only signs count: every coordinate moves by exactly γ = {short(lr)}, however "
             "large or small the gradient" + (
                 f"; along {' and '.join(flipped)} the momentum outvotes the current gradient"
                 if flipped else "") + ".")
    return p
