r"""Schedule-Free AdamW (``schedulefree.AdamWScheduleFree``): the drawn point is the average x.

.. math::
    \hat g = \frac{g(y)}{\sqrt{v_t/(1-\beta_2^t)} + \epsilon} + \lambda y,\quad
    z_{t+1} = z_t - \gamma_t \hat g,\quad \Delta x = c_{t+1}\,(z_{t+1} - x_t)

``z`` and ``exp_avg_sq`` are the package's state; ``y`` (where g is taken) is the runner's
``grad_point``. The averaging weight :math:`c_{t+1} = w_t / \sum_{i\le t} w_i`,
:math:`w_i = i^r (\max_{j\le i}\gamma_j)^p`, is computed as the package does from its
param-group scalars ``lr_max`` and ``weight_sum``, which the runner records after each step
(``group.<name>``).
"""

from __future__ import annotations

import numpy as np

from optviz.inspect._common import Parts, StepData, num, short, vec


def averaging_weight(d: StepData) -> tuple[float, float]:
    r"""(γ_t with warm-up, c_{t+1}) as the package computes them: :math:`\gamma_t = \gamma
    \min(1, t/T_w)`, :math:`c_{t+1} = t^r \gamma_{\max}^p / \sum w` from its param-group
    scalars ``lr_max`` and ``weight_sum`` after this step."""
    warmup = int(d.hp.get("warmup_steps", 0))
    r, power = d.hp.get("r", 0.0), d.hp.get("weight_lr_power", 2.0)
    lr = d.lr * ((d.step + 1) / warmup if d.step < warmup else 1.0)
    lr_max = float(d.state["group.lr_max"][d.step + 1])
    total = float(d.state["group.weight_sum"][d.step + 1])
    weight = (d.t**r) * (lr_max**power)
    return lr, (weight / total if total else 0.0)


def explain(d: StepData) -> Parts:
    p = Parts()
    hp = d.hp
    p.value("γ", d.lr, "learning rate of the param group at this step")
    b1, b2 = hp["betas"]
    p.value("β₁", b1, "where g is taken: y = (1−β₁)z + β₁x")
    p.value("β₂", b2, "second-moment decay")
    p.value("t", d.t, "step count after this step")
    eps = p.value("ε", hp.get("eps", 1e-8), "added to the denominator")
    wd = p.value("λ", hp.get("weight_decay", 0.0), "weight decay, taken at y")
    lr, c = averaging_weight(d)
    lr = p.value("γ_t", lr, "step size of z (warm-up included)")
    c = p.value("c", c, "averaging weight c_{t+1} = w_t/Σw")
    x = p.pair("θ", d.theta, "x_t: the drawn point (the average)")
    y = p.pair("y", d.state["grad_point"][d.step], "gradient point y (state grad_point)")
    g = p.pair("g", d.grad, "gradient seen at y")
    z_prev = p.pair("z_t", d.theta if d.step == 0 else d.before("z"),
                    "base sequence z before (z₁ = θ₀)")
    v = p.pair("v", d.after("exp_avg_sq"), "second moment (exp_avg_sq)")
    bc2 = p.value("1−β₂ᵗ", 1 - b2**d.t, "second-moment bias correction")
    den = np.sqrt(v / bc2) + eps
    gh = p.pair("ĝ", g / den + wd * y, "normalised gradient g/(√v̂+ε) + λy")
    z = p.pair("z", d.after("z"), "base sequence z_{t+1} = z_t − γ_t ĝ (state z)")
    p.vectors["gradient"] = g
    p.vectors["y − θ"] = y - x
    p.vectors["z_{t+1} − θ"] = z - x
    p.vectors["z step −γĝ"] = z - z_prev
    p.boxes["step size of z γ/(√v̂+ε)"] = lr / den
    step = c * (z - x)
    p.latex = (rf"z_{{t+1}} = z_t - \gamma_t\hat g = {vec(z_prev)} - {num(lr)}\,{vec(gh)} = "
               rf"{vec(z)},\quad \Delta x = c_{{t+1}}(z_{{t+1}} - x_t) = {num(c)}\,"
               rf"{vec(z - x)} = {vec(step)}")
    uniform = abs(c * d.t - 1) < 1e-9
    p.why = (f"the drawn point is an average: it moves only c = {short(c)}"
             + (" (= 1/t: a uniform average)" if uniform else
                " (weights tʳ·max γ^p: warm-up or r make it non-uniform)")
             + " of the way toward the SGD-like sequence z, whose own step is an "
             f"Adam-normalised gradient of length {short(np.hypot(*(z - z_prev)))} taken at y.")
    return p
