r"""SOAP (pytorch-optimizer's ``SOAP``): Adam in the eigenbasis Q of Shampoo's preconditioner.

.. math::
    R_t = \beta_2 R_{t-1} + (1-\beta_2)\, g^\top g,\quad
    \Delta\theta = -\gamma\tfrac{\sqrt{1-\beta_2^s}}{1-\beta_1^s}\,
    Q\,\frac{Q^\top m_t}{\sqrt{v_t}+\epsilon} - \gamma\lambda\,\theta'

``m`` (``exp_avg``, original axes) and ``v`` (``exp_avg_sq``, in the eigenbasis) are recorded; R
and Q are lists of matrices that the runner does not record. R is rebuilt here from the recorded
gradients (the same EMA); Q is the package's: ``eigh`` of :math:`R_1` (columns by descending
eigenvalue) until the first refresh (every ``precondition_frequency`` steps, by a float32 power
iteration + QR, shown as the eigenbasis of the rebuilt R). The step is then reconstructed, not
recomputed bit for bit: along Q's null direction :math:`v \approx 0`, so the rounding residue of
:math:`Q^\top m` there is divided by ε and the reconstruction agrees only to ~1e-6.
"""

from __future__ import annotations

import math

import numpy as np

from optviz.inspect._common import Parts, StepData, mat, num, short, vec


def preconditioner(d: StepData) -> tuple[np.ndarray, np.ndarray]:
    """(R after this step, Q used by this step) rebuilt from the recorded gradients."""
    import torch

    b2 = d.hp["betas"][1]
    freq = int(d.hp.get("precondition_frequency", 10))
    r = torch.zeros(2, 2, dtype=torch.float64)
    q = None
    for k in range(d.step + 1):
        g = torch.tensor(np.asarray(d.grad_row[k], dtype=np.float64)).reshape(1, 2)
        r = r.lerp(g.T @ g, 1 - b2)  # the package's GG update, right factor
        if k == 0:
            q = torch.flip(torch.linalg.eigh(r + 1e-30 * torch.eye(2, dtype=r.dtype))[1], [1])
        elif k < d.step and k % freq == 0:  # refreshed after step k (approximation: eigh)
            q = torch.flip(torch.linalg.eigh(r)[1], [1])
    return r.numpy(), q.numpy()


def explain(d: StepData) -> Parts:
    p = Parts()
    hp = d.hp
    lr = p.value("γ", d.lr, "learning rate at this step (schedule included)")
    b1, b2 = hp["betas"]
    p.value("β₁", b1, "first-moment decay")
    p.value("β₂", b2, "decay of the rotated second moment and of R")
    eps = p.value("ε", hp.get("eps", 1e-8), "added to the denominator")
    wd = p.value("λ", hp.get("weight_decay", 0.01), "decoupled weight decay, after the step")
    g = p.pair("g", d.grad, "gradient seen")
    theta = p.pair("θ", d.theta, "position before the step")
    p.vectors["gradient"] = g
    r, q = preconditioner(d)
    p.matrices["Shampoo statistic R"] = r
    for (i, j), axis in zip(((0, 0), (0, 1), (1, 1)), ("xx", "xy", "yy"), strict=True):
        p.value(f"R_{axis}", r[i, j], f"Shampoo's R = avg gᵀg (rebuilt), entry {axis}")
    p.pair("q₁", q[:, 0], "eigenbasis Q, first column (largest eigenvalue)")
    p.pair("q₂", q[:, 1], "eigenbasis Q, second column")
    m = p.pair("m", d.after("exp_avg"), "first moment, original axes (exp_avg)")
    v = p.pair("v", d.after("exp_avg_sq"), "second moment in the eigenbasis (exp_avg_sq)")
    p.vectors["first moment m"] = m
    p.vectors["previous first moment"] = d.before("exp_avg")
    if d.step == 0:
        p.latex = r"t = 1:\ R_1 = (1-\beta_2)\, g^\top g,\ Q = \operatorname{eig}(R_1),\quad"\
                  r" \Delta\theta = 0"
        p.why = ("SOAP's first step only builds the preconditioner R and its eigenbasis Q "
                 "(along the first gradient); the point does not move.")
        return p
    s = d.step
    eta = lr
    if hp.get("correct_bias", True):
        eta = lr * math.sqrt(1 - b2**s) / (1 - b1**s)
    eta = p.value("η", eta, "step size γ√(1−β₂ˢ)/(1−β₁ˢ), s = t − 1")
    rotated = p.pair("Qᵀm", q.T @ m, "first moment in the eigenbasis")
    scaled = rotated / (np.sqrt(v) + eps)
    u = p.pair("u", q @ scaled, "Adam direction in the eigenbasis, rotated back")
    p.boxes["step size in the eigenbasis η/(√v+ε)"] = eta / (np.sqrt(v) + eps)
    p.vectors["preconditioned direction −u"] = -u
    new = (theta - eta * u) * (1 - lr * wd)
    step = new - theta
    p.latex = (rf"R_t = {mat(r)},\ Q^\top m_t = {vec(rotated)},\ v_t = {vec(v)},\quad"
               rf" \Delta\theta \approx -{num(eta)}\,Q\,\frac{{Q^\top m_t}}{{\sqrt{{v_t}}+"
               rf"\epsilon}} - \gamma\lambda\theta' = {vec(step)}")
    p.why = (f"Adam in the axes of the gradients' principal direction q₁ = ({short(q[0, 0])}, "
             f"{short(q[1, 0])}): along q₁ the step is normalised by √v₁ = {short(math.sqrt(v[0]))}"
             f", across it by √v₂ = {short(math.sqrt(max(v[1], 0)))}"
             + (" — almost nothing has been seen across q₁ yet." if v[1] < 1e-12 * v[0] else "."))
    return p
