r"""SOAP (pytorch-optimizer's ``SOAP``): Adam in the eigenbasis Q of Shampoo's preconditioner.

.. math::
    R_t = \beta_2 R_{t-1} + (1-\beta_2)\, g^\top g,\quad
    \Delta\theta = -\gamma\tfrac{\sqrt{1-\beta_2^s}}{1-\beta_1^s}\,
    Q\,\frac{Q^\top m_t}{\sqrt{v_t}+\epsilon} - \gamma\lambda\,\theta'

``m`` (``exp_avg``, original axes) and ``v`` (``exp_avg_sq``, in the eigenbasis) are recorded,
and so are the statistics GG and their eigenbases Q (lists of matrices: a 1×1 and a 2×2 one for
a 1×2 point; the 2×2 statistic is R), as ``GG.<i>`` and ``Q.<i>``. The step used Q before it
(row ``step``); a refresh of Q after it (every ``precondition_frequency`` steps: one power
iteration and a float32 QR) reorders v with Q's columns, by the order :func:`bases` recomputes
with the package's ops. The step is then the package's ``project`` through Q and back, by the
same tensordots: along Q's second column v is often ~0, so rounding residues there are divided
by ε, and only the same ops reproduce them.
"""

from __future__ import annotations

import math

import numpy as np

from optviz.inspect._common import Parts, StepData, mat, num, short, vec


def bases(d: StepData) -> tuple[list, list, list | None]:
    """(GG after this step, the Q this step used, the permutation a refresh of Q after it
    applied to v, or None) from the recorded rows, as torch tensors for :func:`project`."""
    import torch

    def rows(name: str, k: int) -> list:
        return [torch.tensor(np.asarray(d.state[f"{name}.{i}"][k], dtype=np.float64))
                for i in range(2)]

    gg = rows("GG", d.step + 1)
    if d.step == 0:
        return gg, [], None
    used = rows("Q", d.step)
    perm = None
    if d.step % int(d.hp.get("precondition_frequency", 10)) == 0:
        # the package's refresh: columns by their Rayleigh quotient under R, descending
        product = gg[1] @ used[1]
        perm = torch.argsort((used[1] * product).sum(dim=0), descending=True).tolist()
    return gg, used, perm


def project(x: np.ndarray, q: list, backward: bool = False) -> np.ndarray:
    """The package's ``project``: ``x`` (a 1×2 matrix) through every Q, by tensordot."""
    import torch

    out = torch.tensor(np.asarray(x, dtype=np.float64)).reshape(1, 2)
    for basis in q:
        out = torch.tensordot(out, basis, dims=[[0], [1 if backward else 0]])
    return out.numpy().reshape(2)


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
    gg, q, perm = bases(d)
    r = gg[1].numpy()
    p.matrices["Shampoo statistic R"] = r
    for (i, j), axis in zip(((0, 0), (0, 1), (1, 1)), ("xx", "xy", "yy"), strict=True):
        p.value(f"R_{axis}", r[i, j], f"Shampoo's R = avg gᵀg (state GG), entry {axis}")
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
    q0 = p.value("q₀", float(q[0][0, 0]), "left factor's 1×1 eigenbasis (±1, cancels)")
    q1 = q[1].numpy()
    p.pair("q₁", q1[:, 0], "eigenbasis Q, first column (largest eigenvalue)")
    p.pair("q₂", q1[:, 1], "eigenbasis Q, second column")
    if perm is not None and perm != [0, 1]:  # the refresh after this step reordered v
        p.pair("v_after", v, "second moment after, reordered with the refreshed Q")
        v = p.pair("v", v[np.argsort(perm)], "second moment this step used (eigenbasis)")
    s = d.step
    eta = lr
    if hp.get("correct_bias", True):
        eta = lr * math.sqrt(1 - b2**s) / (1 - b1**s)
    eta = p.value("η", eta, "step size γ√(1−β₂ˢ)/(1−β₁ˢ), s = t − 1")
    rotated = p.pair("Qᵀm", q0 * (q1.T @ m), "first moment in the eigenbasis")
    u = project(project(m, q) / (np.sqrt(v) + eps), q, backward=True)
    if hp.get("normalize_gradient", False):
        rms = p.value("RMS(u)", float(np.sqrt(np.mean(u**2))), "RMS of u (normalize_gradient)")
        u = u / (rms + eps)
    u = p.pair("u", u, "Adam direction in the eigenbasis, rotated back"
               + (", divided by RMS(u) + ε" if hp.get("normalize_gradient") else ""))
    p.boxes["step size in the eigenbasis η/(√v+ε)"] = eta / (np.sqrt(v) + eps)
    p.vectors["Adam ratio in the eigenbasis, rotated back −u"] = -u
    step = (theta - eta * u) * (1 - lr * wd) - theta
    p.latex = (rf"R_t = {mat(r)},\ Q^\top m_t = {vec(rotated)},\ v_t = {vec(v)},\quad"
               rf" \Delta\theta = -{num(eta)}\,Q\,\frac{{Q^\top m_t}}{{\sqrt{{v_t}}+"
               rf"\epsilon}} - \gamma\lambda\theta' = {vec(step)}")
    p.why = (f"Adam in the axes of the gradients' principal direction q₁ = ({short(q1[0, 0])}, "
             f"{short(q1[1, 0])}): along q₁ the step is normalised by √v₁ = "
             f"{short(math.sqrt(v[0]))}, across it by √v₂ = {short(math.sqrt(max(v[1], 0)))}"
             + (" — almost nothing has been seen across q₁ yet." if v[1] < 1e-12 * v[0] else "."))
    return p
