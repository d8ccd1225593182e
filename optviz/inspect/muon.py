r"""Muon (``torch.optim.Muon``) on a point run as a :math:`1\times 2` matrix.

.. math::
    b_t = \mu b_{t-1} + (1-\mu) g,\quad u = g + \mu (b_t - g)\ (\text{Nesterov}) \text{ or } b_t,
    \quad \Delta\theta = -\gamma\lambda\theta - \gamma\,\operatorname{NS}_K(u)

A rank-one matrix :math:`u = \sigma\, a b^\top` orthogonalises to :math:`a b^\top = u/\lVert u
\rVert`: Newton–Schulz (bfloat16, torch's coefficients) only maps the single singular value 1 to
roughly 1, so the step is the normalised momentum direction times a scale :math:`s \approx 1`.
``O`` below is torch's own iteration on this step's :math:`u` (the same bfloat16 ops), so the
drawn step is :math:`-\gamma O` exactly; :math:`b_t` is torch's ``momentum_buffer``.
"""

from __future__ import annotations

import numpy as np

from optviz.inspect._common import Parts, StepData, angle_between, norm, num, short, vec

NS = (3.4445, -4.7750, 2.0315)  # torch.optim.Muon's default Newton–Schulz coefficients
EPS = 1e-7  # torch.optim.Muon's default eps


def newton_schulz(u: np.ndarray, steps: int, coefficients=NS, eps: float = EPS) -> np.ndarray:
    """torch's quintic Newton–Schulz of the (1, 2) matrix ``u`` in bfloat16, as float64."""
    import torch

    a, b, c = coefficients
    x = torch.tensor(np.asarray(u, dtype=np.float64).reshape(1, 2)).bfloat16()
    x = x / x.norm().clamp(min=eps)
    for _ in range(steps):
        gram = x @ x.T
        x = torch.addmm(x, torch.addmm(gram, gram, gram, beta=b, alpha=c), x, beta=a)
    return x.double().numpy().reshape(2)


def _lerp(start: np.ndarray, end: np.ndarray, weight: float) -> np.ndarray:
    """``start + weight (end − start)`` by torch's own lerp (its rounding, as Muon runs it)."""
    import torch

    return torch.lerp(torch.tensor(start), torch.tensor(end), weight).numpy()


def explain(d: StepData) -> Parts:
    p = Parts()
    lr = p.value("γ", d.lr, "learning rate at this step (schedule included)")
    mu = p.value("μ", d.hp.get("momentum", 0.95), "momentum")
    wd = p.value("λ", d.hp.get("weight_decay", 0.0), "decoupled weight decay")
    k = int(d.hp.get("ns_steps", 5))
    p.value("K", k, "Newton–Schulz iterations")
    nesterov = bool(d.hp.get("nesterov", True))
    g = p.pair("g", d.grad, "gradient seen")
    p.pair("θ", d.theta, "position before the step")
    p.vectors["gradient"] = g
    p.pair("b_{t-1}", d.before("momentum_buffer"), "momentum buffer before")
    buf = p.pair("b_t", d.after("momentum_buffer"), "momentum buffer after (torch's state)")
    p.vectors["momentum buffer"] = buf
    p.vectors["previous momentum buffer"] = d.before("momentum_buffer")
    u = p.pair("u", _lerp(g, buf, mu) if nesterov else buf,
               "matrix to orthogonalise: g + μ(b − g) (Nesterov) or b")
    un = norm(u)
    unit = p.pair("u/‖u‖", u / un if un else np.zeros(2), "exact orthogonalisation (unit u)")
    ortho = p.pair("O", newton_schulz(u, k), f"Newton–Schulz result ({k} steps, bfloat16)")
    scale = p.value("s", norm(ortho), "length of O (the iteration's singular value, ≈ 1)")
    p.vectors["normalised direction −u/‖u‖ step"] = -lr * unit
    p.boxes["step length γ"] = np.array([lr, lr])
    step = -lr * wd * d.theta - lr * ortho
    p.latex = (rf"u = {vec(u)},\ O = \mathrm{{NS}}_{{{k}}}(u) = {vec(ortho)} \approx "
               rf"{num(scale)}\,\frac{{u}}{{\lVert u\rVert}},\quad \Delta\theta = "
               + (r"-\gamma\lambda\theta " if wd else "")
               + rf"-\gamma\, O = -{num(lr)}\,{vec(ortho)} = {vec(step)}")
    angle = angle_between(ortho, unit)
    p.why = (f"a point is a 1×2 matrix, so orthogonalising the momentum just normalises it: the "
             f"step has length γ·s = {short(lr * scale)} whatever |g| = {short(norm(g))} is "
             f"(s = {short(scale)}: the quintic Newton–Schulz in bfloat16 lands near, not at, "
             "singular value 1"
             + (f"; O is {short(angle)}° off u from bfloat16 rounding" if angle else "") + ").")
    return p
