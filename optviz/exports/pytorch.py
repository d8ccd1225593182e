r""""PyTorch code": a short, self-contained script that reproduces one run of a scene.

The script imports only torch (and the standard library). It writes the surface out as a
Python function of two tensors (:mod:`optviz.exports.torch_expr`), builds
``p = torch.tensor([x0, y0], dtype=torch.float64, requires_grad=True)`` and the optimizer
(``torch.optim.<Class>`` with the run's complete keyword arguments, or, for optviz's own
optimizers, a minimal copy of the class in the script), and loops exactly as
:func:`optviz.runner.simulate` does: at each step the loss and its gradient (autograd) at the
current point, plus optviz's counter-based Gaussian noise when the scene has noise (SplitMix64
and Box–Muller, :mod:`optviz.noise`, written out in plain Python), are recorded, then the
optimizer steps. L-BFGS steps with a closure; Newton gets the autograd Hessian of ``f``, and
the secant methods (diagonal quasi-Newton, vSGD) the noise-free autograd gradient of ``f`` for
their curvature, as optviz's ``hessian_fn`` / ``grad_fn``. A run stops where optviz marks it
diverged.

Run as ``python script.py`` it prints the trajectory every tenth of the way; ``python
script.py out.csv`` writes every step (``step,x,y,loss,grad_x,grad_y``).

User text (labels, a custom formula, which may hold comments) only ever reaches the script as
``#`` comments with unprintable characters replaced; the formula itself is printed from its
checked expression tree.
"""

from __future__ import annotations

import textwrap
from typing import Any

from optviz.exports.torch_expr import CONST_HELPER, torch_source
from optviz.optimizers import get_optimizer
from optviz.runner import LOSS_BOUND, POSITION_BOUND
from optviz.scenario import Scenario

__all__ = ["OWN_OPTIMIZERS", "pytorch_script"]

_NOISE = '''
# optviz's gradient noise: a pure function of (seed, run, start, step, call), SplitMix64
# (Steele, Lea & Flood 2014) hashed into two uniforms, Box-Muller into two normals.
MASK64 = (1 << 64) - 1
GOLDEN, MIX1, MIX2 = 0x9E3779B97F4A7C15, 0xBF58476D1CE4E5B9, 0x94D049BB133111EB


def splitmix64(z):
    z = (z + GOLDEN) & MASK64
    z = ((z ^ (z >> 30)) * MIX1) & MASK64
    z = ((z ^ (z >> 27)) * MIX2) & MASK64
    return z ^ (z >> 31)


KEY = splitmix64(splitmix64(splitmix64(SEED) ^ RUN) ^ ((START_INDEX * MIX2) & MASK64))


def noise(step, call=0):
    """Two standard normal draws for this step (and this evaluation within it)."""
    h = splitmix64(KEY ^ splitmix64(((step * 65536 + call) * 2) & MASK64))
    g = splitmix64(h ^ MIX1)
    u1 = ((h >> 11) + 1.0) * 2.0**-53
    u2 = (g >> 11) * 2.0**-53
    radius, angle = math.sqrt(-2.0 * math.log(u1)), 2.0 * math.pi * u2
    return torch.tensor([radius * math.cos(angle), radius * math.sin(angle)],
                        dtype=torch.float64)
'''

_SOLVE2 = '''
def solve2(m, v):
    """(M)^-1 v for a 2x2 matrix, by the adjugate (as optviz does it)."""
    a, b, c, d = m[0, 0], m[0, 1], m[1, 0], m[1, 1]
    det = a * d - b * c
    return torch.stack(((d * v[0] - b * v[1]) / det, (a * v[1] - c * v[0]) / det))


def plus_identity(m, scale):
    out = m.clone()
    out[0, 0] += scale
    out[1, 1] += scale
    return out
'''

_SECANT = '''
def secant_curvature(theta, grad, state):
    """Elementwise |dG / dtheta| since the last step, and where it is defined. G is the
    noise-free gradient (grad_fn): one sample at both points, so the noise cancels."""
    d_theta = theta - state["prev_param"]
    valid = (d_theta != 0) & torch.isfinite(d_theta)
    safe = torch.where(valid, d_theta, torch.ones_like(d_theta))
    h = ((grad - state["prev_grad"]) / safe).abs()
    valid &= torch.isfinite(h)
    return torch.where(valid, h, torch.zeros_like(h)), valid
'''

_STEP = '''
    @torch.no_grad()
    def step(self, closure=None):
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is not None:
                    p.sub_(self.update(p, p.grad, group, self.state[p]))
'''

#: Script source of optviz's own optimizers, for one (2,) parameter: name -> (helpers, class).
OWN_OPTIMIZERS: dict[str, tuple[str, str]] = {
    "newton": (_SOLVE2, '''
class Newton(torch.optim.Optimizer):
    """Damped Newton (Nocedal & Wright 2006, ch. 3): p <- p - lr (H + damping I)^-1 grad."""

    def __init__(self, params, lr=1.0, damping=0.0, hessian_fn=None):
        super().__init__(params, dict(lr=lr, damping=damping))
        self.hessian_fn = hessian_fn

    @torch.no_grad()
    def step(self, closure=None):
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is not None:
                    h = plus_identity(self.hessian_fn(p.detach()), group["damping"])
                    p.add_(solve2(h, p.grad), alpha=-group["lr"])
'''),
    "diag_newton": (_SECANT, '''
class DiagNewton(torch.optim.Optimizer):
    """Diagonal quasi-Newton (after Becker & LeCun 1988): lr g / (h + damping), h a running
    average of the secant curvature |dG/dp| of each coordinate; g is the gradient seen (noise
    included), G the noise-free one (grad_fn)."""

    def __init__(self, params, lr=1.0, damping=1.0, beta=0.5, init_lr=1e-3, grad_fn=None):
        super().__init__(params, dict(lr=lr, damping=damping, beta=beta, init_lr=init_lr))
        self.grad_fn = grad_fn
''' + _STEP + '''
    def update(self, theta, grad, group, state):
        clean = grad if self.grad_fn is None else self.grad_fn(theta)  # G, for the secant
        if not state:
            state["curvature"] = torch.zeros_like(theta)
            state["estimates"] = torch.zeros_like(theta)
            update = group["init_lr"] * grad
        else:
            h, valid = secant_curvature(theta, clean, state)
            first = state["estimates"] == 0
            beta = group["beta"]
            averaged = torch.where(first, h, beta * state["curvature"] + (1 - beta) * h)
            state["curvature"] = torch.where(valid, averaged, state["curvature"])
            state["estimates"] = state["estimates"] + valid.to(theta.dtype)
            newton = group["lr"] * grad / (state["curvature"] + group["damping"])
            update = torch.where(state["estimates"] == 0, group["init_lr"] * grad, newton)
        state["prev_param"] = theta.clone()
        state["prev_grad"] = clean.clone()
        return update
'''),
    "vsgd": (_SECANT, '''
class VSGD(torch.optim.Optimizer):
    """vSGD (Schaul, Zhang & LeCun 2012), elementwise, curvature from the secant |dG/dp| of the
    noise-free gradient G (grad_fn); the statistics and the step use the gradient seen, g."""

    def __init__(self, params, init_lr=1e-3, min_curvature=1.0, slow_constant=2.0,
                 init_tau=10.0, eps=1e-12, grad_fn=None):
        super().__init__(params, dict(init_lr=init_lr, min_curvature=min_curvature,
                                      slow_constant=slow_constant, init_tau=init_tau, eps=eps))
        self.grad_fn = grad_fn
''' + _STEP + '''
    def update(self, theta, grad, group, state):
        clean = grad if self.grad_fn is None else self.grad_fn(theta)  # G, for the secant
        if not state:
            update = group["init_lr"] * grad
        else:
            h, valid = secant_curvature(theta, clean, state)
            h = h.clamp(min=group["min_curvature"])
            eps = group["eps"]
            if "tau" not in state:  # slow start: statistics inflated by C
                c = group["slow_constant"]
                h0 = torch.where(valid, h, torch.full_like(h, group["min_curvature"]))
                state["g_avg"] = grad.clone()
                state["v_avg"] = c * (grad * grad + eps)
                state["h_avg"] = c * h0
                state["tau"] = torch.full_like(grad, group["init_tau"])
            else:
                w = 1.0 / state["tau"]
                state["g_avg"] = (1 - w) * state["g_avg"] + w * grad
                state["v_avg"] = (1 - w) * state["v_avg"] + w * (grad * grad)
                h_new = (1 - w) * state["h_avg"] + w * h
                state["h_avg"] = torch.where(valid, h_new, state["h_avg"])
            ratio = (state["g_avg"] ** 2 / (state["v_avg"] + eps)).clamp(max=1.0)
            rate = ratio / state["h_avg"]
            state["tau"] = (1 - ratio) * state["tau"] + 1
            update = rate * grad
        state["prev_param"] = theta.clone()
        state["prev_grad"] = clean.clone()
        return update
'''),
    "adagrad_full": (_SOLVE2 + '''
def sqrtm_psd(m):
    """Square root of a symmetric PSD 2x2 matrix: (M + sI) / t, s = sqrt(det M),
    t = sqrt(tr M + 2s) (Cayley-Hamilton); zero for M = 0."""
    s = (m[0, 0] * m[1, 1] - m[0, 1] * m[1, 0]).clamp(min=0.0).sqrt()
    t = (m[0, 0] + m[1, 1] + 2.0 * s).clamp(min=0.0).sqrt()
    root = m.clone()
    root[0, 0] += s
    root[1, 1] += s
    if t == 0:
        return torch.zeros_like(root)
    return root / t
''', '''
class AdaGradFull(torch.optim.Optimizer):
    """Full-matrix AdaGrad (Duchi, Hazan & Singer 2011): G += g g^T,
    p <- p - lr (eps I + G^1/2)^-1 g."""

    def __init__(self, params, lr=0.5, eps=1e-8):
        super().__init__(params, dict(lr=lr, eps=eps))
''' + _STEP + '''
    def update(self, theta, grad, group, state):
        if not state:
            state["G"] = theta.new_zeros(2, 2)
        state["G"] = state["G"] + torch.outer(grad, grad)
        root = sqrtm_psd(state["G"])
        return group["lr"] * solve2(plus_identity(root, group["eps"]), grad)
'''),
    "natural_gradient": (_SOLVE2, '''
class NaturalGradient(torch.optim.Optimizer):
    """Empirical-Fisher natural gradient (Amari 1998; Kunstner et al. 2019):
    F = beta F + (1 - beta) g g^T, p <- p - lr (F / (1 - beta^t) + damping I)^-1 g."""

    def __init__(self, params, lr=1.0, damping=1.0, beta=0.9):
        super().__init__(params, dict(lr=lr, damping=damping, beta=beta))
''' + _STEP + '''
    def update(self, theta, grad, group, state):
        beta = group["beta"]
        if not state:
            state["step"] = 0
            state["fisher"] = theta.new_zeros(2, 2)
        state["step"] += 1
        state["fisher"] = beta * state["fisher"] + (1 - beta) * torch.outer(grad, grad)
        fisher_hat = state["fisher"] / (1 - beta ** state["step"])
        return group["lr"] * solve2(plus_identity(fisher_hat, group["damping"]), grad)
'''),
}


def _literal(value: Any) -> str:
    """Python literal of a validated hyperparameter value (and nothing else)."""
    if value is None or isinstance(value, bool):
        return repr(value)
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, tuple | list) and all(isinstance(v, int | float) for v in value):
        return "(" + ", ".join(_literal(float(v)) for v in value) + ")"
    if isinstance(value, str) and value.isidentifier():
        return repr(value)
    raise ValueError(f"cannot write hyperparameter value {value!r} into a script")


def _short(value: float) -> str:
    """``1e6`` rather than ``1000000.0`` (the same float)."""
    text = format(value, "g").replace("e+0", "e").replace("e+", "e")
    return text if float(text) == value else repr(value)


def _comment(text: str, limit: int = 200) -> str:
    """Text safe on one ``#`` comment line: printable, single line, cut to ``limit``."""
    clean = "".join(ch if ch.isprintable() else " " for ch in str(text))
    clean = " ".join(clean.split())
    return clean if len(clean) <= limit else clean[: limit - 1] + "…"


def _wrap_comment(text: str, width: int = 94) -> list[str]:
    return ["# " + line for line in textwrap.wrap(_comment(text, 2000), width)] or ["#"]


def pytorch_script(scenario: Scenario, run: int, start: int = 0) -> str:
    """A self-contained Python script that reproduces run ``run`` (0-based) of ``scenario`` from
    start ``start`` (0-based) with plain PyTorch; see the module docstring.

    Raises ``IndexError`` for a run or start out of range and ``ValueError`` for a formula the
    torch printer cannot write (never for the built-in grammar).
    """
    if not 0 <= run < len(scenario.runs):
        raise IndexError(f"run {run} is out of range: the scene has {len(scenario.runs)} "
                         f"run(s), 0 to {len(scenario.runs) - 1}")
    if not 0 <= start < len(scenario.starts):
        raise IndexError(f"start {start} is out of range: the scene has "
                         f"{len(scenario.starts)} start(s), 0 to {len(scenario.starts) - 1}")
    surface = scenario.resolve_surface()
    cfg = scenario.runs[run]
    spec = get_optimizer(cfg.optimizer)
    source = torch_source(surface.compiled)
    sigma = scenario.effective_noise()
    own = cfg.optimizer in OWN_OPTIMIZERS
    cls = spec.cls.__name__
    values = dict(cfg.hparams)
    order = [hp.name for hp in spec.hyperparameters if hp.name in values]
    order += sorted(set(values) - set(order))
    kwargs = [f"{k}={_literal(values[k])}" for k in order]
    x0, y0 = (float(v) for v in scenario.starts[start])
    closure = not spec.batched  # L-BFGS re-evaluates the loss inside step()
    uses_math = source.uses_math or sigma > 0

    out: list[str] = ["#!/usr/bin/env python3"]
    out += _wrap_comment(f"{surface.title}: one optviz run reproduced with plain PyTorch.")
    out += [
        f"# Run {run + 1}: {_comment(cfg.display_label())}, from start {start + 1} "
        f"({x0!r}, {y0!r}), {scenario.steps} steps"
        + (f", gradient noise sigma={sigma!r} (seed {scenario.seed})." if sigma > 0 else "."),
        "#",
        "# Usage: python this_script.py [trajectory.csv]",
        "# Prints the trajectory every tenth of the way; with a file name, writes every step as",
        "# CSV (step,x,y,loss,grad_x,grad_y). The gradient is autograd's; optviz computes it in",
        "# closed form, which agrees to rounding.",
        "",
    ]
    out += ["import itertools"] if closure else []
    out += ["import math"] if uses_math else []
    out += ["import sys", "", "import torch", "", ""]
    if source.uses_const:
        out += [CONST_HELPER, ""]
    out += [
        "def f(x, y):",
        '    """The loss surface; x and y are float64 tensors."""',
        f"    return {source.code}",
        "",
        "",
        f"STEPS = {scenario.steps}",
        f"START = ({x0!r}, {y0!r})",
        f"BOUND_XY, BOUND_LOSS = {_short(POSITION_BOUND)}, {_short(LOSS_BOUND)}"
        "  # optviz stops a run (diverged) outside these",
    ]
    if sigma > 0:
        out += [f"SIGMA = {sigma!r}  # std of the Gaussian noise added to each gradient",
                f"SEED, RUN, START_INDEX = {scenario.seed}, {run}, {start}"]
        out += _NOISE.rstrip("\n").split("\n")
    if own:
        helpers, body = OWN_OPTIMIZERS[cfg.optimizer]
        out += [""]
        out += helpers.rstrip("\n").split("\n")
        out += ["", ""]
        out += _wrap_comment(f"optviz's own {spec.label} (not in torch.optim), for one 2D "
                             f"point. {spec.reference}")
        out += body.strip("\n").split("\n")
    if spec.needs_hessian:
        out += [
            "", "",
            "def hessian(q):",
            '    """The Hessian of f at q (autograd)."""',
            "    return torch.autograd.functional.hessian(lambda v: f(v[0], v[1]), q)",
        ]
        kwargs.append("hessian_fn=hessian")
    if spec.needs_grad_fn:
        out += [
            "", "",
            "def gradient(q):",
            '    """The gradient of f at q (autograd), without noise."""',
            "    return torch.autograd.functional.jacobian(lambda v: f(v[0], v[1]), q)",
        ]
        kwargs.append("grad_fn=gradient")
    ctor = cls if own else f"torch.optim.{cls}"
    call = f"opt = {ctor}([p], {', '.join(kwargs)})"
    if len(call) > 99:
        call = f"opt = {ctor}(\n" + textwrap.fill(
            ", ".join(["[p]", *kwargs]), 95, initial_indent="    ", subsequent_indent="    ",
            break_long_words=False, break_on_hyphens=False) + ",\n)"
    out += [
        "", "",
        "p = torch.tensor(START, dtype=torch.float64, requires_grad=True)",
        call,
        "",
        "",
        "def evaluate(step, call=0):",
        '    """The loss at p; its gradient' + (" plus noise" if sigma > 0 else "")
        + ' goes to p.grad."""',
        "    opt.zero_grad()",
        "    loss = f(p[0], p[1])",
        "    loss.backward()",
    ]
    if sigma > 0:
        out += ["    with torch.no_grad():", "        p.grad += SIGMA * noise(step, call)"]
    out += [
        "    return loss",
        "",
        "",
        "rows = []",
        "for step in range(STEPS + 1):",
        "    loss = evaluate(step)",
        "    x, y = p.tolist()",
        "    value = loss.item()",
        "    if not (abs(x) <= BOUND_XY and abs(y) <= BOUND_XY and abs(value) <= BOUND_LOSS):",
        '        print(f"diverged at step {step}")',
        "        break",
        "    rows.append((step, x, y, value, *p.grad.tolist()))",
        "    if step < STEPS:",
    ]
    if closure:
        out += ["        calls = itertools.count()  # the noise stream counts evaluations",
                "        opt.step(lambda: evaluate(step, next(calls)))"]
    else:
        out += ["        opt.step()"]
    out += [
        "",
        "if len(sys.argv) > 1:",
        '    with open(sys.argv[1], "w") as fh:',
        '        fh.write("step,x,y,loss,grad_x,grad_y\\n")',
        "        for row in rows:",
        '            fh.write(",".join(repr(v) for v in row) + "\\n")',
        "else:",
        "    every = max(1, STEPS // 10)",
        "    for step, x, y, value, *_ in rows:",
        "        if step % every == 0 or step == rows[-1][0]:",
        '            print(f"step {step:5d}  x={x: .6f}  y={y: .6f}  loss={value:.6g}")',
    ]
    return "\n".join(out) + "\n"
