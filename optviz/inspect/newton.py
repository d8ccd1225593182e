r"""Our curvature optimizers (``optviz/optimizers/*.py`` kernels): Newton, diagonal Newton,
natural gradient (empirical Fisher), full-matrix AdaGrad and vSGD.

Every kernel stores what its step used: Newton its ``hessian`` (at :math:`\theta_{t-1}`) and
``direction`` :math:`(H+\lambda I)^{-1}g`; natural gradient ``fisher`` :math:`F_t`; full-matrix
AdaGrad ``G`` and ``G_sqrt``; diagonal Newton ``curvature`` :math:`\bar h_t` and ``estimates``;
vSGD ``rate`` :math:`\eta^*`. All read after the step (recorded row ``t``).
"""

from __future__ import annotations

import numpy as np

from optviz.inspect._common import (
    Parts,
    StepData,
    angle_between,
    larger_axis_sentence,
    mat,
    num,
    short,
    vec,
)


def explain(d: StepData) -> Parts:
    p = Parts()
    p.vectors["gradient"] = d.grad
    p.pair("g", d.grad, "gradient seen")
    return {"newton": _newton, "diag_newton": _diag_newton, "natural_gradient": _natural,
            "adagrad_full": _adagrad_full, "vsgd": _vsgd}[d.key](p, d)


def solve2(m: np.ndarray, v: np.ndarray) -> np.ndarray:
    """:math:`M^{-1}v` by the adjugate (as the kernels solve)."""
    a, b, c, e = m[0, 0], m[0, 1], m[1, 0], m[1, 1]
    det = a * e - b * c
    return np.array([(e * v[0] - b * v[1]) / det, (a * v[1] - c * v[0]) / det])


def _matrix(p: Parts, symbol: str, m: np.ndarray, meaning: str) -> np.ndarray:
    m = np.asarray(m, dtype=np.float64).reshape(2, 2)
    for (i, j), name in zip(((0, 0), (0, 1), (1, 1)), ("xx", "xy", "yy"), strict=True):
        p.value(f"{symbol}_{name}", m[i, j], f"{meaning}, entry {name}")
    if np.isfinite(m).all():
        lam = np.linalg.eigvalsh((m + m.T) / 2)
        p.value(f"{symbol} λ₁", lam[0], f"smaller eigenvalue of {meaning}")
        p.value(f"{symbol} λ₂", lam[1], f"larger eigenvalue of {meaning}")
    return m


def _curvature_sentence(h: np.ndarray) -> str:
    if not np.isfinite(h).all():
        return "the Hessian is not finite here"
    lam, vecs = np.linalg.eigh((h + h.T) / 2)
    soft = vecs[:, 0]
    direction = f"({soft[0]:.2f}, {soft[1]:.2f})"
    if lam[0] > 0:
        ratio = lam[1] / lam[0]
        return (f"the Hessian is positive definite (curvatures {short(lam[0])} and "
                f"{short(lam[1])}, {short(ratio)}× apart), so the Newton step jumps to the "
                "minimum of the local quadratic: far along the flat direction "
                f"{direction}, little along the steep one")
    if lam[1] < 0:
        return (f"both curvatures are negative ({short(lam[0])}, {short(lam[1])}): a local "
                "maximum, and pure Newton steps toward it, uphill")
    if lam[0] < 0:
        return (f"the curvature is negative ({short(lam[0])}) along {direction} and positive "
                f"({short(lam[1])}) across it: a saddle, and pure Newton heads for the saddle "
                "point, uphill along that eigen-direction")
    return "the Hessian is singular here, so the Newton step is unbounded"


def _newton(p: Parts, d: StepData) -> Parts:
    lr = p.value("γ", d.lr, "learning rate at this step (schedule included)")
    damping = p.value("λ", d.hp.get("damping", 0.0), "damping added to the Hessian")
    h = _matrix(p, "H", d.after("hessian"), "Hessian at θ")
    p.matrices["Hessian H"] = h
    direction = p.pair("d", d.after("direction"), "Newton direction (H+λI)⁻¹g (state direction)")
    p.vectors["Newton direction −(H+λI)⁻¹g"] = -direction
    step = -lr * direction
    p.latex = (rf"\Delta\theta = -\gamma\,(H + \lambda I)^{{-1}} g = -{num(lr)}\,"
               rf"\left({mat(h)} + {num(damping)} I\right)^{{-1}}{vec(d.grad)} = {vec(step)}")
    p.why = _curvature_sentence(h + damping * np.eye(2)) + "."
    return p


def _natural(p: Parts, d: StepData) -> Parts:
    lr = p.value("γ", d.lr, "learning rate at this step (schedule included)")
    damping = p.value("λ", d.hp.get("damping", 10.0), "damping added to the Fisher")
    beta = p.value("β", d.hp.get("beta", 0.9), "decay of the Fisher average")
    bc = p.value("1−βᵗ", 1 - beta**d.t, "bias correction")
    fisher = d.after("fisher")
    f_hat = _matrix(p, "F̂", fisher / bc, "bias-corrected empirical Fisher F/(1−βᵗ)")
    p.matrices["Fisher F̂"] = f_hat
    pre = f_hat + damping * np.eye(2)
    natural = solve2(pre, d.grad)
    p.vectors["natural gradient direction −(F̂+λI)⁻¹g"] = -natural
    step = -lr * natural
    p.latex = (rf"\Delta\theta = -\eta\,(\hat F_t + \lambda I)^{{-1}} g = -{num(lr)}\,"
               rf"\left({mat(f_hat)} + {num(damping)} I\right)^{{-1}}{vec(d.grad)} = {vec(step)}")
    lam = np.linalg.eigvalsh(pre) if np.isfinite(pre).all() else np.array([np.nan, np.nan])
    angle = angle_between(-natural, -d.grad)
    p.why = (f"the Fisher average of g gᵀ is large ({short(lam[1])}) along the directions the "
             f"gradient has taken and only the damping ({short(lam[0])}) across them, so steps "
             f"along past gradients are damped: the step turns {short(angle or 0)}° away from "
             "−g.")
    return p


def _adagrad_full(p: Parts, d: StepData) -> Parts:
    lr = p.value("γ", d.lr, "learning rate at this step (schedule included)")
    eps = p.value("δ", d.hp.get("eps", 1e-8), "added to G^½'s diagonal")
    G = _matrix(p, "G", d.after("G"), "sum of outer products g gᵀ")
    root = _matrix(p, "G^½", d.after("G_sqrt"), "matrix square root of G")
    pre = root + eps * np.eye(2)
    inverse = np.linalg.inv(pre) if np.isfinite(pre).all() else np.full((2, 2), np.nan)
    p.matrices["preconditioner (δI+G^½)⁻¹"] = inverse
    p.matrices["accumulated G"] = G
    direction = solve2(pre, d.grad)
    p.vectors["preconditioned direction −(δI+G^½)⁻¹g"] = -direction
    step = -lr * direction
    p.latex = (rf"G_t = G_{{t-1}} + g g^\top,\quad \Delta\theta = -\eta\,(\delta I + G_t^{{1/2}})"
               rf"^{{-1}} g = -{num(lr)}\,{mat(pre)}^{{-1}}{vec(d.grad)} = {vec(step)}")
    lam = np.linalg.eigvalsh(inverse) if np.isfinite(inverse).all() else [np.nan, np.nan]
    p.why = (f"G has summed every g gᵀ so far: directions the gradient often took get small "
             f"steps ({short(lam[0])} per unit gradient) and rarely-seen directions large ones "
             f"({short(lam[1])}); like AdaGrad, these only shrink.")
    return p


def _diag_newton(p: Parts, d: StepData) -> Parts:
    lr = p.value("γ", d.lr, "learning rate at this step (schedule included)")
    damping = p.value("μ", d.hp.get("damping", 1.0), "added to the curvature")
    init_lr = p.value("γ₀", d.hp.get("init_lr", 1e-3), "step size before any curvature estimate")
    h_bar = p.pair("h̄", d.after("curvature"), "running mean of |∂²f/∂θᵢ²| (state curvature)")
    estimates = d.after("estimates")
    p.pair("n", estimates, "curvature estimates so far")
    size = np.where(estimates == 0, init_lr, lr / (h_bar + damping))
    p.pair("η", size, "step size γ/(h̄+μ) per coordinate (γ₀ without an estimate)")
    p.boxes["step size γ/(h̄+μ)"] = size
    p.matrices["diagonal curvature h̄+μ"] = np.diag(h_bar + damping)
    step = -size * d.grad
    p.latex = (rf"\Delta\theta = -\gamma\,\frac{{g}}{{\bar h_t + \mu}} = -{num(lr)}\,"
               rf"\frac{{{vec(d.grad)}}}{{{vec(h_bar)} + {num(damping)}}} = {vec(step)}")
    p.why = larger_axis_sentence(size, "curvature h̄", "small") + "."
    return p


def _vsgd(p: Parts, d: StepData) -> Parts:
    if not d.has("rate") or np.isnan(d.after("rate")).all():
        init_lr = p.value("γ₀", d.hp.get("init_lr", 1e-3), "first (secant) step size")
        p.boxes["step size"] = np.array([init_lr, init_lr])
        p.latex = rf"\Delta\theta = -\gamma_0\, g = {vec(-init_lr * d.grad)}"
        p.why = "no curvature estimate yet (the secant needs one move), so a small plain step."
        return p
    for name, meaning in (("g_avg", "running mean of g"), ("v_avg", "running mean of g²"),
                          ("h_avg", "running mean of the curvature"), ("tau", "memory size τ")):
        p.pair(name, d.after(name), meaning)
    rate = p.pair("η*", d.after("rate"), "learned rate ḡ²/(v̄ h̄) per coordinate (state rate)")
    p.boxes["learned rate η*"] = rate
    p.vectors["mean gradient ḡ"] = d.after("g_avg")
    step = -rate * d.grad
    p.latex = (rf"\eta^* = \frac{{\bar g^2}}{{\bar v\,\bar h}} = {vec(rate)},\quad"
               rf" \Delta\theta = -\eta^*\odot g = {vec(step)}")
    p.why = larger_axis_sentence(rate, "noise or curvature", "small") + (
        "; vSGD picks each rate itself, with no learning rate to tune.")
    return p
