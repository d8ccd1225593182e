r"""pytorch-optimizer's Adam relatives, as the package runs them with its defaults: ADOPT, Adan,
LAMB, AdaBelief, AdEMAMix, and the clipped diagonal-Newton SophiaH.

Every rule reads its moments from the package's own state (``exp_avg``, ``exp_avg_sq``, ...):
after the step at row ``step + 1``, before at row ``step``. Weight decay is the package's:
decoupled :math:`\theta \leftarrow (1-\gamma\lambda)\theta` before the step, or :math:`g' = g +
\lambda\theta` (Adan: the proximal :math:`\theta/(1+\gamma\lambda)` after it).
"""

from __future__ import annotations

import math

import numpy as np

from optviz.inspect._common import Parts, StepData, larger_axis_sentence, num, short, vec


def _common(p: Parts, d: StepData, decouple_default: bool = False) -> tuple:
    """(γ, λ, decoupled?, g') with the symbols every rule shares."""
    lr = p.value("γ", d.lr, "learning rate at this step (schedule included)")
    p.value("t", d.t, "step count after this step")
    wd = p.value("λ", d.hp.get("weight_decay", 0.0), "weight decay")
    decoupled = bool(d.hp.get("weight_decouple", decouple_default))
    g = p.pair("g", d.grad, "gradient seen")
    p.pair("θ", d.theta, "position before the step")
    p.vectors["gradient"] = d.grad
    if wd and not decoupled and d.key != "adan":
        g = p.pair("g'", g + wd * d.theta, "gradient with L2 term g + λθ")
    return lr, wd, decoupled, g


def _decay(p: Parts, d: StepData, lr: float, wd: float, decoupled: bool) -> tuple:
    """(decoupled decay part of Δθ, its LaTeX)."""
    if not (wd and decoupled):
        return np.zeros(2), ""
    decay = p.pair("−γλθ", -lr * wd * d.theta, "decoupled weight decay step")
    p.vectors["weight decay step"] = decay
    return decay, rf" - {num(lr)}\cdot{num(wd)}\,{vec(d.theta)}"


def _moment(p: Parts, d: StepData, symbol: str, name: str, meaning: str,
            label: str | None = None) -> np.ndarray:
    value = p.pair(symbol, d.after(name), f"{meaning} after the step (state {name})")
    if label:
        p.vectors[label] = value
        p.vectors[f"previous {label}"] = d.before(name)
    return value


def explain(d: StepData) -> Parts:
    return {"adopt": _adopt, "adan": _adan, "lamb": _lamb, "adabelief": _adabelief,
            "ademamix": _ademamix, "sophiah": _sophiah}[d.key](d)


def _adopt(d: StepData) -> Parts:
    p = Parts()
    lr, wd, decoupled, g = _common(p, d)
    b1, b2 = d.hp["betas"]
    p.value("β₁", b1, "momentum of the normalised gradient")
    p.value("β₂", b2, "second-moment decay")
    eps = p.value("ε", d.hp.get("eps", 1e-6), "floor of √v (a max, not an addition)")
    decay, decay_tex = _decay(p, d, lr, wd, decoupled)
    if d.step == 0:
        v = p.pair("v", d.after("exp_avg_sq"), "second moment v₁ = g² (state exp_avg_sq)")
        p.vectors["first moment m"] = d.after("exp_avg")
        step = decay
        p.latex = (rf"t = 1:\ v_1 = g_1^2 = {vec(v)},\quad \Delta\theta = "
                   + (rf"{decay_tex} = {vec(step)}" if decay_tex else "0"))
        p.why = ("ADOPT's first step only records v₁ = g²: it needs a second moment from "
                 "EARLIER gradients to normalise by, so the point does not move"
                 + (" (apart from the weight decay)." if decay_tex else "."))
        return p
    v_prev = p.pair("v_{t-1}", d.before("exp_avg_sq"), "second moment before (exp_avg_sq)")
    p.pair("m_{t-1}", d.before("exp_avg"), "first moment before (exp_avg)")
    den = p.pair("max(√v_{t-1},ε)", np.maximum(np.sqrt(v_prev), eps), "normaliser")
    clip = p.value("c", d.t**0.25, "clip bound t^¼")
    raw = g / den
    n = p.pair("n", np.clip(raw, -clip, clip), "normalised, clipped gradient")
    m = _moment(p, d, "m", "exp_avg", "first moment m_t = β₁m + (1−β₁)n", "first moment m")
    p.pair("v", d.after("exp_avg_sq"), "second moment after (v_t, used from the next step)")
    p.vectors["normalised gradient n"] = n
    p.boxes["step size γ(1−β₁)/max(√v,ε)"] = lr * (1 - b1) / den
    step = -lr * m + decay
    p.latex = (rf"n_t = \operatorname{{clip}}\Bigl(\frac{{g}}{{\max(\sqrt{{v_{{t-1}}}},"
               rf"\epsilon)}}, \pm {num(clip)}\Bigr) = {vec(n)},\ m_t = {vec(m)},\quad"
               rf" \Delta\theta = -\gamma\, m_t{decay_tex} = -{num(lr)}\,{vec(m)} = {vec(step)}")
    clipped = [a for i, a in enumerate("xy") if abs(raw[i]) > clip]
    p.why = (larger_axis_sentence(lr / den, "previous second moment v", "small")
             + (f"; along {' and '.join(clipped)} g/√v exceeded t^¼ = {short(clip)} and was "
                "clipped" if clipped else "")
             + "; v is the one from BEFORE this gradient, so g does not shrink its own step.")
    return p


def _adan(d: StepData) -> Parts:
    p = Parts()
    lr, wd, decoupled, g = _common(p, d)
    b1, b2 = d.hp["betas"]
    b3 = d.hp.get("beta3", 0.99)
    p.value("β₁", b1, "decay of the average of g")
    p.value("β₂", b2, "decay of the average of g_t − g_{t−1}")
    p.value("β₃", b3, "decay of the average of the squared corrected gradient")
    eps = p.value("ε", d.hp.get("eps", 1e-8), "added to the denominator")
    t = d.t
    g_prev = p.pair("g_{t-1}", g if d.step == 0 else -d.before("previous_grad"),
                    "previous gradient (state previous_grad = −g_{t−1}; g₀ = g₁)")
    diff = p.pair("Δg", g - g_prev, "gradient difference g_t − g_{t−1}")
    m = _moment(p, d, "m", "exp_avg", "average of g", "first moment m")
    n = _moment(p, d, "n", "exp_avg_diff", "average of Δg", "gradient-difference average n")
    p.pair("u", g + b2 * diff, "Nesterov-corrected gradient g + β₂Δg")
    v = p.pair("v", d.after("exp_avg_sq"), "average of u² (state exp_avg_sq)")
    bc1 = p.value("1−β₁ᵗ", 1 - b1**t, "bias correction of m")
    bc2 = p.value("1−β₂ᵗ", 1 - b2**t, "bias correction of n")
    bc3 = p.value("1−β₃ᵗ", 1 - b3**t, "bias correction of v")
    den = p.pair("√v̂+ε", np.sqrt(v) / math.sqrt(bc3) + eps, "denominator")
    size = lr / den
    p.boxes["step size γ/(√v̂+ε)"] = size
    direction = p.pair("d", m / bc1 + b2 * n / bc2, "direction m̂ + β₂n̂")
    theta = d.theta * (1 - lr * wd) if wd and decoupled else d.theta
    new = theta - size * direction
    if wd and not decoupled:
        new = new / (1 + lr * wd)
    step = new - d.theta
    p.latex = (rf"\Delta\theta = -\frac{{\gamma}}{{\sqrt{{\hat v_t}} + \epsilon}}\Bigl("
               rf"\frac{{m_t}}{{1-\beta_1^t}} + \frac{{\beta_2 n_t}}{{1-\beta_2^t}}\Bigr) = "
               rf"-\frac{{{num(lr)}}}{{{vec(den)}}}\,{vec(direction)} = {vec(step)}"
               + (r"\ (\text{with decay})" if wd else ""))
    p.why = (larger_axis_sentence(size, "second moment v̂", "small")
             + ("; the gradient-difference term β₂n̂ adds Nesterov's look-ahead: "
                f"|β₂n̂| = {short(np.hypot(*(b2 * n / bc2)))} vs |m̂| = "
                f"{short(np.hypot(*(m / bc1)))}" if d.step else
                "; first step: g₀ = g₁, so the difference term is zero") + ".")
    return p


def _lamb(d: StepData) -> Parts:
    p = Parts()
    lr, wd, decoupled, _ = _common(p, d, decouple_default=True)
    b1, b2 = d.hp["betas"]
    p.value("β₁", b1, "first-moment decay")
    p.value("β₂", b2, "second-moment decay")
    eps = p.value("ε", d.hp.get("eps", 1e-6), "added to the denominator and to ‖u‖")
    m = _moment(p, d, "m", "exp_avg", "first moment", "first moment m")
    v = p.pair("v", d.after("exp_avg_sq"), "second moment (state exp_avg_sq)")
    theta = p.pair("θ'", d.theta * (1 - lr * wd) if wd and decoupled else d.theta,
                   "θ after the decoupled decay")
    u = m / (np.sqrt(v) + eps)
    if wd and not decoupled:
        u = u + wd * d.theta
    u = p.pair("u", u, "Adam direction m/(√v+ε)")
    w = p.value("‖θ'‖", min(float(np.linalg.norm(theta)), 10.0), "weight norm (clamped at 10)")
    un = p.value("‖u‖", float(np.linalg.norm(u)), "norm of the Adam direction")
    adam = bool(d.hp.get("adam", False))
    ratio = p.value("r", 1.0 if adam or w == 0 or un == 0 else w / (un + eps),
                    "trust ratio ‖θ'‖/(‖u‖+ε) (1 with adam=True or a zero norm)")
    bc1 = p.value("1−β₁ᵗ", 1 - b1**d.t, "first-moment bias correction (in the step size)")
    p.vectors["Adam ratio u = m/(√v+ε)"] = u
    p.boxes["step size γ r/((1−β₁ᵗ)(√v+ε))"] = lr * ratio / bc1 / (np.sqrt(v) + eps)
    step = theta - d.theta - (lr / bc1) * ratio * u
    p.latex = (rf"u = \frac{{m_t}}{{\sqrt{{v_t}}+\epsilon}} = {vec(u)},\ r = "
               rf"\frac{{\min(\lVert\theta'\rVert, 10)}}{{\lVert u\rVert + \epsilon}} = "
               rf"\frac{{{num(w)}}}{{{num(un)}}} = {num(ratio)},\quad \Delta\theta = "
               rf"-\frac{{\gamma\, r}}{{1-\beta_1^t}}\, u = {vec(step)}")
    if adam or w == 0 or un == 0:
        p.why = ("the trust ratio is fixed at 1 ("
                 + ("adam=True" if adam else "a zero norm") + "), so this is a plain Adam "
                 "step m/(√v+ε) with the bias correction in the step size and none on v.")
    else:
        p.why = (f"the trust ratio r = {short(ratio)} rescales the Adam direction so the step's "
                 f"length is about γ‖θ'‖/(1−β₁ᵗ) = {short(lr * w / bc1)}: LAMB moves in "
                 "proportion to how far the point is from the origin, not to the gradient's "
                 "size.")
    return p


def _adabelief(d: StepData) -> Parts:
    p = Parts()
    lr, wd, decoupled, g = _common(p, d, decouple_default=True)
    b1, b2 = d.hp["betas"]
    p.value("β₁", b1, "first-moment decay")
    p.value("β₂", b2, "belief decay")
    eps = p.value("ε", d.hp.get("eps", 1e-16), "added to s and to the denominator")
    decay, decay_tex = _decay(p, d, lr, wd, decoupled)
    p.pair("s_{t-1}", d.before("exp_avg_var"), "belief before (exp_avg_var)")
    m = _moment(p, d, "m", "exp_avg", "first moment", "first moment m")
    surprise = p.pair("g−m", g - m, "surprise: gradient minus its prediction m_t")
    s = p.pair("s", d.after("exp_avg_var"), "belief s = β₂s + (1−β₂)(g−m)² + ε (exp_avg_var)")
    bc1 = p.value("1−β₁ᵗ", 1 - b1**d.t, "first-moment bias correction")
    bc2 = p.value("1−β₂ᵗ", 1 - b2**d.t, "belief bias correction")
    den = np.sqrt(s) / math.sqrt(bc2) + eps
    size = p.pair("η", lr / den, "effective step size γ/(√ŝ+ε)")
    p.boxes["step size γ/(√ŝ+ε)"] = size
    step = -(lr / bc1) * m / den + decay
    p.latex = (rf"s_t = {vec(s)},\quad \Delta\theta = -\frac{{\gamma}}{{1-\beta_1^t}}\,"
               rf"\frac{{m_t}}{{\sqrt{{\hat s_t}}+\epsilon}}{decay_tex} = -\frac{{{num(lr)}}}"
               rf"{{{num(bc1)}}}\,\frac{{{vec(m)}}}{{{vec(den)}}}{decay_tex} = {vec(step)}")
    p.why = (larger_axis_sentence(size, "belief ŝ (how much g surprised the momentum)", "small")
             + f"; this step's surprise |g − m| is {short(np.hypot(*surprise))}.")
    return p


def _ademamix(d: StepData) -> Parts:
    p = Parts()
    lr, wd, decoupled, _ = _common(p, d)
    b1, b2 = d.hp["betas"]
    b3 = d.hp.get("beta3", 0.9999)
    p.value("β₁", b1, "decay of the fast average")
    p.value("β₂", b2, "second-moment decay")
    p.value("β₃", b3, "decay of the slow average")
    alpha = p.value("α", d.hp.get("alpha", 5.0), "weight of the slow average")
    eps = p.value("ε", d.hp.get("eps", 1e-8), "added to the denominator")
    decay, decay_tex = _decay(p, d, lr, wd, decoupled)
    m1 = _moment(p, d, "m", "exp_avg", "fast first moment", "first moment m")
    m2 = _moment(p, d, "m_slow", "exp_avg_slow", "slow first moment", "slow moment")
    v = p.pair("v", d.after("exp_avg_sq"), "second moment (exp_avg_sq)")
    bc1 = p.value("1−β₁ᵗ", 1 - b1**d.t, "fast-moment bias correction")
    bc2 = p.value("1−β₂ᵗ", 1 - b2**d.t, "second-moment bias correction")
    den = np.sqrt(v) / math.sqrt(bc2) + eps
    size = p.pair("η", lr / den, "effective step size γ/(√v̂+ε)")
    p.boxes["step size γ/(√v̂+ε)"] = size
    mix = p.pair("m̂+αm_slow", m1 / bc1 + alpha * m2, "mixed momentum")
    step = -size * mix + decay
    p.latex = (rf"\Delta\theta = -\gamma\,\frac{{\hat m_t + \alpha\, m^{{slow}}_t}}"
               rf"{{\sqrt{{\hat v_t}}+\epsilon}}{decay_tex} = -{num(lr)}\,\frac{{{vec(mix)}}}"
               rf"{{{vec(den)}}}{decay_tex} = {vec(step)}")
    share = np.hypot(*(alpha * m2)) / max(np.hypot(*mix), 1e-300)
    p.why = (larger_axis_sentence(size, "second moment v̂", "small")
             + f"; the slow average (×α) is {short(share)} of the mixed momentum's length"
             + (" — still tiny, it remembers ~1/(1−β₃) steps and is not bias-corrected."
                if share < 0.1 else "."))
    return p


def _sophiah(d: StepData) -> Parts:
    p = Parts()
    lr, wd, decoupled, _ = _common(p, d, decouple_default=True)
    b1, b2 = d.hp["betas"]
    p.value("β₁", b1, "momentum decay")
    p.value("β₂", b2, "decay of the Hessian-diagonal average")
    rho = p.value("ρ", d.hp.get("p", 1.0), "clip of m/h per coordinate")
    eps = p.value("ε", d.hp.get("eps", 1e-12), "floor of h (a max)")
    period = int(d.hp.get("update_period", 10))
    p.value("k", period, "Hessian refresh period")
    refresh = d.step % period == 0
    p.value("refresh", float(refresh), "1 if this step refreshed the Hessian estimate")
    decay, decay_tex = _decay(p, d, lr, wd, decoupled)
    m = _moment(p, d, "m", "momentum", "momentum", "momentum m")
    p.pair("h_{t-1}", d.before("hessian_moment"), "Hessian-diagonal average before")
    p.pair("ĥ", d.after("hessian"), "Hutchinson's estimate z ⊙ (Hz) (state hessian), "
           + ("drawn this step" if refresh else "from the last refresh, not used this step"))
    h = p.pair("h", d.after("hessian_moment"), "Hessian-diagonal average (hessian_moment)")
    hf = p.pair("max(h,ε)", np.maximum(h, eps), "curvature used")
    raw = m / hf
    ratio = p.pair("clip(m/h)", np.clip(raw, -rho, rho), "clipped Newton ratio")
    p.vectors["clipped Newton step −γ clip(m/h)"] = -lr * ratio
    p.boxes["step size γ/max(h,ε)"] = lr / hf
    step = -lr * ratio + decay
    p.latex = (rf"\Delta\theta = -\gamma\,\operatorname{{clip}}\Bigl(\frac{{m_t}}{{\max(h_t,"
               rf"\epsilon)}}, \pm\rho\Bigr){decay_tex} = -{num(lr)}\,\operatorname{{clip}}\Bigl("
               rf"\frac{{{vec(m)}}}{{{vec(hf)}}}, \pm{num(rho)}\Bigr) = {vec(step)}")
    negative = [a for i, a in enumerate("xy") if h[i] <= eps]
    clipped = [a for i, a in enumerate("xy") if abs(raw[i]) > rho and a not in negative]
    newton = [a for a in "xy" if a not in negative and a not in clipped]
    parts = []
    if negative:
        parts.append(f"the curvature estimate along {' and '.join(negative)} is not positive, "
                     f"so max(h, ε) = ε turns it into a sign step of γρ = {short(lr * rho)}")
    if clipped:
        parts.append(f"along {' and '.join(clipped)} m/h exceeds ρ = {short(rho)} and is "
                     f"clipped to a step of γρ = {short(lr * rho)}")
    if newton:
        parts.append(f"along {' and '.join(newton)} it takes the diagonal-Newton step γm/h "
                     "unclipped")
    p.why = ("; ".join(parts) + (" (this step refreshed the Hessian estimate)." if refresh
                                 else f" (h is reused: it refreshes every {period} steps)."))
    return p
