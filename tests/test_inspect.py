"""``optviz.inspect_step``: every registry optimizer's step explained from its recorded state.

For the explicit families the update is recomputed HERE from ``view.values`` by the rule's own
formula (independently of optviz.inspect's code) and must match the recorded Δθ to 1e-12
relative, plus a few ulps of θ: Δθ is the difference of two rounded positions, so its last bits
carry the rounding of θ itself.
"""

from __future__ import annotations

import math
from functools import cache

import numpy as np
import pytest
import torch

import optviz
from optviz import noise
from optviz.inspect import FAMILIES, StepView, inspect_step
from optviz.inspect.glyphs import step_glyphs
from optviz.optimizers import REGISTRY, list_optimizers

STEPS = 6
STARTS = [(-1.2, 1.0), (0.7, -0.4)]
#: (surface, noise, run extras: a schedule for runs with a learning rate, clipping)
SCENES = [("rosenbrock", 0.0, None), ("himmelblau", 0.3, "schedule"), ("booth", 0.1, "clip")]
#: extra configurations of the explicit families (weight decay, dampening, centered, ...)
CONFIGS = [
    ("sgd", {"lr": 1e-3, "momentum": 0.9, "dampening": 0.2, "weight_decay": 0.05}),
    ("sgd", {"lr": 1e-3, "momentum": 0.9, "nesterov": True}),
    ("sgd", {"lr": 1e-3, "weight_decay": 0.1}),
    ("adam", {"lr": 0.05, "amsgrad": True}),
    ("adam", {"lr": 0.05, "weight_decay": 0.1}),
    ("adamw", {"lr": 0.05, "weight_decay": 0.1, "amsgrad": True}),
    ("adamax", {"lr": 0.1, "weight_decay": 0.1}),
    ("nadam", {"lr": 0.05, "weight_decay": 0.1}),
    ("nadam", {"lr": 0.05, "weight_decay": 0.1, "decoupled_weight_decay": True}),
    ("radam", {"lr": 0.01, "weight_decay": 0.1, "decoupled_weight_decay": True}),
    ("adagrad", {"lr": 0.5, "lr_decay": 0.1, "weight_decay": 0.1,
                 "initial_accumulator_value": 0.2}),
    ("rmsprop", {"lr": 0.01, "centered": True, "momentum": 0.5, "weight_decay": 0.1}),
    ("rmsprop", {"lr": 0.01, "centered": True}),
    ("adadelta", {"lr": 1.0, "weight_decay": 0.1}),
    ("newton", {"lr": 0.5, "damping": 1.0}),
    ("diag_newton", {"curvature": "secant"}),
    ("vsgd", {"curvature": "secant"}),
    ("lbfgs", {"line_search_fn": None, "lr": 0.1}),
    ("lbfgs", {"max_iter": 4}),
    ("lbfgs", {"max_iter": 3, "line_search_fn": None, "lr": 0.05}),
    ("asgd", {"lr": 1e-3, "lambd": 0.05, "alpha": 0.5, "weight_decay": 0.1}),
    ("adafactor", {"weight_decay": 0.1, "d": 2.0}),
    ("lion", {"weight_decay": 0.1}),
    ("lion", {"weight_decay": 0.1, "weight_decouple": False}),
    ("adopt", {"weight_decay": 0.1}),
    ("adopt", {"weight_decay": 0.1, "weight_decouple": True}),
    ("adan", {"weight_decay": 0.1}),
    ("adan", {"weight_decay": 0.1, "weight_decouple": True}),
    ("lamb", {"weight_decay": 0.1, "grad_averaging": False}),
    ("lamb", {"adam": True}),
    ("adabelief", {"weight_decay": 0.1, "weight_decouple": False}),
    ("adabelief", {"weight_decay": 0.1}),
    ("ademamix", {"weight_decay": 0.1, "alpha": 20.0, "beta3": 0.9}),
    ("ademamix", {"weight_decay": 0.1, "weight_decouple": True}),
    ("soap", {"weight_decay": 0.1, "precondition_frequency": 2}),
    ("soap", {"precondition_frequency": 3, "correct_bias": False, "normalize_gradient": True}),
    ("sophiah", {"weight_decay": 0.1, "update_period": 2, "p": 0.05}),
    ("sophiah", {"weight_decay": 0.1, "weight_decouple": False,
                 "hessian_distribution": "rademacher"}),
    ("muon", {"weight_decay": 0.1, "nesterov": False, "ns_steps": 3}),
    ("prodigy", {"weight_decay": 0.1, "use_bias_correction": True, "d_coef": 2.0}),
    ("prodigy", {"weight_decay": 0.1, "decouple": False, "safeguard_warmup": True}),
    ("adamw_schedulefree", {"weight_decay": 0.1, "warmup_steps": 3, "r": 1.0}),
    ("lookahead", {"base": "momentum", "k": 2, "alpha": 0.3, "pullback_momentum": "reset"}),
    ("lookahead", {"base": "adopt", "k": 3}),
]
CASES = [(key, {}) for key in list_optimizers()] + CONFIGS
_simulated_lr: list = [None]  # the lr row of the particle being recomputed (for ASGD's η)
SCHEDULE = {"schedule": {"name": "StepLR", "step_size": 2, "gamma": 0.5}}


def _case_id(case) -> str:
    key, hp = case
    return key + "".join(f"-{k}={v}" for k, v in sorted(hp.items()))


@cache
def _simulated(key: str, hp_items: tuple, scene: int) -> optviz.Trajectories:
    surface, noise, extra = SCENES[scene]
    hp = dict(hp_items)
    extras = None
    if extra == "schedule" and "lr" in REGISTRY[key].validate(hp):
        extras = SCHEDULE
    elif extra == "clip":
        extras = {"clip_norm": 1.0}  # what the optimizer sees, and what is recorded
    run = (key, hp, extras) if extras else (key, hp)
    return optviz.simulate(surface, [run], STARTS, steps=STEPS, noise=noise, seed=3,
                           record_state=True)


def _views(key: str, hp: dict, scene: int):
    traj = _simulated(key, tuple(sorted(hp.items())), scene)
    for start in range(len(STARTS)):
        for step in range(STEPS):
            if traj.diverged_at[0, start] >= 0 and step + 1 >= traj.diverged_at[0, start]:
                continue
            yield traj, start, step, inspect_step(traj, 0, start, step)


def _close(recomputed, view: StepView, what: str) -> None:
    theta = np.maximum(np.abs(view.position), np.abs(view.position + view.update))
    tol = 1e-12 * np.abs(view.update) + 4 * np.spacing(theta)
    err = np.abs(np.asarray(recomputed) - view.update)
    assert (err <= tol).all(), f"{what}: recomputed {recomputed} vs drawn {view.update}"


def _balanced(latex: str) -> None:
    """Braces balance and every \\begin{env} has its \\end{env} (what KaTeX refuses)."""
    depth = 0
    for ch in latex.replace(r"\{", "").replace(r"\}", ""):
        depth += {"{": 1, "}": -1}.get(ch, 0)
        assert depth >= 0, latex
    assert depth == 0, latex
    for env in ("pmatrix", "gathered", "aligned", "cases"):
        assert latex.count(rf"\begin{{{env}}}") == latex.count(rf"\end{{{env}}}"), latex


def _pair(v: dict, symbol: str) -> np.ndarray:
    return np.array([v[f"{symbol}_x"], v[f"{symbol}_y"]])


def _mat(v: dict, symbol: str) -> np.ndarray:
    xx, xy, yy = (v[f"{symbol}_{e}"] for e in ("xx", "xy", "yy"))
    return np.array([[xx, xy], [xy, yy]])


def _solve(m: np.ndarray, g: np.ndarray) -> np.ndarray:
    a, b, c, d = m[0, 0], m[0, 1], m[1, 0], m[1, 1]
    det = a * d - b * c
    return np.array([(d * g[0] - b * g[1]) / det, (a * g[1] - c * g[0]) / det])


def _recompute(key: str, hp: dict, v: dict, step: int) -> np.ndarray:
    """Δθ from the view's values by the rule's formula (the test's own arithmetic)."""
    g, lr = _pair(v, "g"), v.get("γ")
    theta = _pair(v, "θ") if "θ_x" in v else None
    gp = _pair(v, "g'") if "g'_x" in v else g
    if key == "sgd":
        if "b_t_x" not in v:
            return -lr * gp
        b = _pair(v, "b_t")
        if step > 0:  # the buffer itself follows b_t = μ b_{t-1} + (1 − τ) g'
            expect = v["μ"] * _pair(v, "b_{t-1}") + (1 - v["τ"]) * gp
            np.testing.assert_allclose(b, expect, rtol=1e-13, atol=1e-300)
        else:
            np.testing.assert_array_equal(b, gp)
        return -lr * (gp + v["μ"] * b if hp.get("nesterov") else b)
    if key in ("adam", "adamw"):
        t, b1, b2 = v["t"], v["β₁"], v["β₂"]
        bc1, bc2 = 1 - b1**t, 1 - b2**t
        assert v["1−β₁ᵗ"] == bc1 and v["1−β₂ᵗ"] == bc2
        m, s = _pair(v, "m"), _pair(v, "v")
        out = -(lr / bc1) * m / (np.sqrt(s) / math.sqrt(bc2) + v["ε"])
        return out - lr * v["λ"] * theta if key == "adamw" else out
    if key == "adamax":
        return -(lr / (1 - v["β₁"] ** v["t"])) * _pair(v, "m") / _pair(v, "u")
    if key == "nadam":
        t, b1, psi = int(v["t"]), v["β₁"], v["ψ"]
        mus = [b1 * (1.0 - 0.5 * 0.96 ** (i * psi)) for i in range(1, t + 2)]
        mu_product = torch.ones((), dtype=torch.float32)  # torch's state: a float32 scalar
        for mu in mus[:-1]:
            mu_product *= mu
        prod = mu_product.item()
        denom = np.sqrt(_pair(v, "v") / (1 - v["β₂"] ** t)) + v["ε"]
        out = (-lr * (1 - mus[-2]) / (1 - prod) * gp / denom
               - lr * mus[-1] / (1 - prod * mus[-1]) * _pair(v, "m") / denom)
        return out - lr * v["λ"] * theta if hp.get("decoupled_weight_decay") else out
    if key == "radam":
        t, b1, b2 = v["t"], v["β₁"], v["β₂"]
        m_hat = _pair(v, "m") / (1 - b1**t)
        rho_inf = 2 / (1 - b2) - 1
        rho = rho_inf - 2 * t * b2**t / (1 - b2**t)
        if rho > 5:
            rect = math.sqrt((rho - 4) * (rho - 2) * rho_inf
                             / ((rho_inf - 4) * (rho_inf - 2) * rho))
            out = -lr * rect * math.sqrt(1 - b2**t) / (np.sqrt(_pair(v, "v")) + v["ε"]) * m_hat
        else:
            out = -lr * m_hat
        return out - lr * v["λ"] * theta if hp.get("decoupled_weight_decay") else out
    if key == "adagrad":
        G = _pair(v, "G")
        np.testing.assert_allclose(G, _pair(v, "G_{t-1}") + gp**2, rtol=1e-13)
        clr = lr / (1 + step * v["lr_decay"])  # step t = step + 1: γ/(1 + (t − 1)·decay)
        return -clr * gp / (np.sqrt(G) + v["ε"])
    if key == "rmsprop":
        if "b_x" in v:
            return -lr * _pair(v, "b")
        s = _pair(v, "v")
        if "ḡ_x" in v:
            s = s - _pair(v, "ḡ") ** 2
        return -lr * gp / (np.sqrt(s) + v["ε"])
    if key == "adadelta":
        eps = v["ε"]
        return -lr * np.sqrt(_pair(v, "u_{t-1}") + eps) / np.sqrt(_pair(v, "v") + eps) * gp
    if key == "rprop":
        return -np.sign(_pair(v, "ĝ")) * _pair(v, "s")
    if key == "newton":
        return -lr * _solve(_mat(v, "H") + v["λ"] * np.eye(2), g)
    if key == "natural_gradient":
        return -lr * _solve(_mat(v, "F̂") + v["λ"] * np.eye(2), g)
    if key == "adagrad_full":
        return -lr * _solve(_mat(v, "G^½") + v["δ"] * np.eye(2), g)
    if key == "diag_newton":
        n = _pair(v, "n")
        return np.where(n == 0, -v["γ₀"] * g, -lr * g / (_pair(v, "h̄") + v["μ"]))
    if key == "vsgd":
        return -_pair(v, "η*") * g if "η*_x" in v else -v["γ₀"] * g
    if key == "lbfgs":
        if v["iterations"] > 1:  # only the last inner step is recorded: the rest is Δθ − αd
            assert hp["max_iter"] >= v["iterations"] and v["evaluations"] >= v["iterations"]
            return _pair(v, "Δθ_earlier") + v["α"] * _pair(v, "d")
        return v["α"] * _pair(v, "d")
    if key == "asgd":
        eta = v["η_t"]  # torch's float32 eta: γ at step 1, then γ/(1 + λγk)^α after step k
        lrs = _simulated_lr[0]
        expect = lrs[0] if step == 0 else lrs[step - 1] / (
            (1 + v["λ_d"] * lrs[step - 1] * step) ** v["α"])
        assert eta == torch.tensor(expect, dtype=torch.float32).item()
        return -v["λ_d"] * eta * theta - eta * gp
    if key == "adafactor":
        t = step + 1
        alpha = max(1e-3, float(np.sqrt(np.mean(theta**2)))) * min(lr, t**-0.5)
        u = g / np.sqrt(np.maximum(_pair(v, "v"), np.finfo(float).eps ** 2))
        clip = max(1.0, float(np.sqrt(np.mean(u**2))) / v["d"])
        return -lr * v["λ"] * theta - alpha / clip * u
    if key == "lion":
        m_prev = _pair(v, "m_{t-1}")
        c = v["β₁"] * m_prev + (1 - v["β₁"]) * gp
        out = -lr * np.sign(c)
        return out - lr * v["λ"] * theta if hp.get("weight_decouple", True) else out
    if key in PACKAGE_RULES:
        return PACKAGE_RULES[key](hp, v, step, g, gp, lr, theta)
    raise AssertionError(f"no recomputation for {key}")


def _decayed(hp: dict, v: dict, theta, default: bool = False) -> np.ndarray:
    """pytorch-optimizer's decoupled decay θ(1 − γλ) − θ (zero when coupled or off)."""
    if v["λ"] and hp.get("weight_decouple", default):
        return -v["γ"] * v["λ"] * theta
    return np.zeros(2)


def _adopt(hp, v, step, g, gp, lr, theta):
    if step == 0:  # t = 1: v₁ = g'², no step
        np.testing.assert_array_equal(_pair(v, "v"), gp * gp)
        return _decayed(hp, v, theta)
    t = v["t"]
    n = np.clip(gp / np.maximum(np.sqrt(_pair(v, "v_{t-1}")), v["ε"]), -(t**0.25), t**0.25)
    m = v["β₁"] * _pair(v, "m_{t-1}") + (1 - v["β₁"]) * n
    np.testing.assert_allclose(_pair(v, "m"), m, rtol=1e-13, atol=1e-300)
    return -lr * _pair(v, "m") + _decayed(hp, v, theta)


def _adan(hp, v, step, g, gp, lr, theta):
    b1, b2, b3, t = v["β₁"], v["β₂"], v["β₃"], v["t"]
    diff = g - _pair(v, "g_{t-1}")
    if step == 0:
        assert not diff.any()
    u = g + b2 * diff
    np.testing.assert_allclose(_pair(v, "u"), u, rtol=1e-13)
    den = np.sqrt(_pair(v, "v")) / math.sqrt(1 - b3**t) + v["ε"]
    new = theta * (1 - lr * v["λ"]) if hp.get("weight_decouple") else theta.copy()
    new = new - lr / (1 - b1**t) * _pair(v, "m") / den - lr * b2 / (1 - b2**t) * _pair(v, "n") / den
    if v["λ"] and not hp.get("weight_decouple"):
        new = new / (1 + lr * v["λ"])
    return new - theta


def _lamb(hp, v, step, g, gp, lr, theta):
    wd, eps = v["λ"], v["ε"]
    shrunk = theta * (1 - lr * wd)
    u = _pair(v, "m") / (np.sqrt(_pair(v, "v")) + eps)
    w, un = min(math.hypot(*shrunk), 10.0), math.hypot(*u)
    r = 1.0 if hp.get("adam") or w == 0 or un == 0 else w / (un + eps)
    return shrunk - theta - lr / (1 - v["β₁"] ** v["t"]) * r * u


def _adabelief(hp, v, step, g, gp, lr, theta):
    b1, b2, eps, t = v["β₁"], v["β₂"], v["ε"], v["t"]
    m = _pair(v, "m")
    s = b2 * _pair(v, "s_{t-1}") + (1 - b2) * (gp - m) ** 2 + eps
    np.testing.assert_allclose(_pair(v, "s"), s, rtol=1e-13)
    den = np.sqrt(_pair(v, "s")) / math.sqrt(1 - b2**t) + eps
    return -lr / (1 - b1**t) * m / den + _decayed(hp, v, theta, default=True)


def _ademamix(hp, v, step, g, gp, lr, theta):
    t = v["t"]
    den = np.sqrt(_pair(v, "v")) / math.sqrt(1 - v["β₂"] ** t) + v["ε"]
    mix = _pair(v, "m") / (1 - v["β₁"] ** t) + v["α"] * _pair(v, "m_slow")
    return -lr * mix / den + _decayed(hp, v, theta)


def _sophiah(hp, v, step, g, gp, lr, theta):
    refresh = step % hp["update_period"] == 0
    h_prev = _pair(v, "h_{t-1}")
    h = h_prev + (1 - v["β₂"]) * (_pair(v, "ĥ") - h_prev) if refresh else h_prev
    np.testing.assert_allclose(_pair(v, "h"), h, rtol=1e-13, atol=1e-300)
    ratio = np.clip(_pair(v, "m") / np.maximum(_pair(v, "h"), v["ε"]), -v["ρ"], v["ρ"])
    return -lr * ratio + _decayed(hp, v, theta, default=True)


def _muon(hp, v, step, g, gp, lr, theta):
    # torch's Newton–Schulz on u, in bfloat16, by the test's own loop
    a, b, c = 3.4445, -4.7750, 2.0315
    x = torch.tensor(_pair(v, "u")[None]).bfloat16()
    x = x / x.norm().clamp(min=1e-7)
    for _ in range(hp["ns_steps"]):
        gram = x @ x.T
        x = torch.addmm(x, torch.addmm(gram, gram, gram, beta=b, alpha=c), x, beta=a)
    ortho = x.double().numpy()[0]
    np.testing.assert_array_equal(_pair(v, "O"), ortho)
    buf = _pair(v, "b_t")
    np.testing.assert_allclose(_pair(v, "u"), g + v["μ"] * (buf - g) if hp["nesterov"] else buf,
                               rtol=1e-13, atol=1e-300)
    return -lr * v["λ"] * theta - lr * ortho


def _prodigy(hp, v, step, g, gp, lr, theta):
    d_prev, d_new = v["d_{t-1}"], v["d_t"]
    assert d_new == max(d_prev, v["d̂_t"])
    np.testing.assert_allclose(v["d̂_t"], hp["d_coef"] * v["r_t"] / v["‖s_t‖₁"], rtol=1e-15)
    dlr = d_prev * lr * v["bc"]
    # the derived d_{t−1} reproduces the recorded s and m
    s_rate = d_prev if hp["safeguard_warmup"] else dlr
    np.testing.assert_allclose(_pair(v, "s"), v["β₃"] * _pair(v, "s_{t-1}")
                               + d_prev / v["d₀"] * s_rate * gp, rtol=1e-12)
    np.testing.assert_allclose(_pair(v, "m"), v["β₁"] * _pair(v, "m_{t-1}")
                               + (1 - v["β₁"]) * d_prev * gp, rtol=1e-12)
    out = -dlr * _pair(v, "m") / (np.sqrt(_pair(v, "v")) + d_new * v["ε"])
    return out - dlr * v["λ"] * theta if hp["decouple"] else out


def _schedulefree(hp, v, step, g, gp, lr, theta):
    t = step + 1
    z_prev, y = _pair(v, "z_t"), _pair(v, "y")
    den = np.sqrt(_pair(v, "v") / (1 - v["β₂"] ** t)) + v["ε"]
    gh = g / den + v["λ"] * y
    np.testing.assert_allclose(_pair(v, "z"), z_prev - v["γ_t"] * gh, rtol=1e-12,
                               atol=4 * np.spacing(np.abs(z_prev).max()))
    lr_max, total = -1.0, 0.0  # the averaging weight, from the lr row by the test's own sum
    for k in range(t):
        lr_k = _simulated_lr[0][k] * (min(1.0, (k + 1) / hp["warmup_steps"])
                                      if hp["warmup_steps"] else 1.0)
        lr_max = max(lr_max, lr_k)
        total += (k + 1) ** hp["r"] * lr_max ** hp["weight_lr_power"]
    assert v["γ_t"] == lr_k
    assert v["c"] == pytest.approx((t ** hp["r"]) * lr_max ** hp["weight_lr_power"] / total,
                                   rel=1e-14)
    if not hp["r"] and not hp["warmup_steps"]:
        assert v["c"] == pytest.approx(1 / t)  # constant peak γ and r = 0: a uniform average
    return v["c"] * (_pair(v, "z") - theta)


def _lookahead(hp, v, step, g, gp, lr, theta):
    """The base's fast step by the base's own rule from its recorded state (``base.<name>``
    before, ``fast.<name>`` after the base's step), then, on a sync, the interpolation toward
    φ."""
    from optviz.optimizers.wrappers import base_of

    key, base_hp = base_of(hp)
    fast = _recompute(key, base_hp, v, step)
    theta = _pair(v, "θ")
    scale = np.abs(theta).max() + np.abs(fast).max()
    np.testing.assert_allclose(fast, _pair(v, "Δθ_fast"), rtol=1e-12, atol=8e-16 * scale)
    slow, slow_after = _pair(v, "φ"), _pair(v, "φ_{t+1}")
    if not v["sync"]:
        np.testing.assert_array_equal(slow_after, slow)
        return fast
    new = theta + fast
    new = new + (1 - v["α_slow"]) * (slow - new)
    np.testing.assert_allclose(new, slow_after, rtol=1e-13)
    return new - theta


def _soap(hp, v, step, g, gp, lr, theta):
    """Q is the recorded eigenbasis (checked against a replay in test_inspect_records.py); the
    step through it is the test's own tensordots, in the package's order (rounding residues
    along the null direction are divided by ε)."""
    if step == 0:
        return np.zeros(2)
    q0 = torch.tensor([[v["q₀"]]], dtype=torch.float64)
    q1 = torch.tensor(np.column_stack([_pair(v, "q₁"), _pair(v, "q₂")]))
    np.testing.assert_allclose((q1.T @ q1).numpy(), np.eye(2), atol=1e-6)  # float32 QR
    x = torch.tensor(_pair(v, "m")[None])
    for mat in (q0, q1):
        x = torch.tensordot(x, mat, dims=[[0], [0]])
    x = x / (torch.tensor(_pair(v, "v")[None]).sqrt() + v["ε"])
    for mat in (q0, q1):
        x = torch.tensordot(x, mat, dims=[[0], [1]])
    s = step  # the package's bias correction counts from its second step
    eta = lr * math.sqrt(1 - v["β₂"] ** s) / (1 - v["β₁"] ** s) if hp["correct_bias"] else lr
    assert v["η"] == pytest.approx(eta, rel=1e-15)
    u = x.numpy()[0]
    if hp["normalize_gradient"]:
        u = u / (np.sqrt(np.mean(u**2)) + v["ε"])
    return (theta - eta * u) * (1 - lr * v["λ"]) - theta


#: explicit views whose step is only reconstructed, with the relative tolerance it holds to
APPROXIMATE: dict[str, float] = {}

PACKAGE_RULES = {"soap": _soap, "adopt": _adopt, "adan": _adan, "lamb": _lamb,
                 "adabelief": _adabelief, "ademamix": _ademamix, "sophiah": _sophiah, "muon": _muon,
                 "prodigy": _prodigy, "adamw_schedulefree": _schedulefree,
                 "lookahead": _lookahead}


def test_every_registry_optimizer_is_covered() -> None:
    explicit = set(FAMILIES)
    assert {"sgd", "adam", "adamw", "adamax", "nadam", "radam", "adagrad", "rmsprop", "adadelta",
            "rprop", "newton", "diag_newton", "natural_gradient", "adagrad_full",
            "lbfgs", "lion", "asgd", "adafactor",
            # the packages' optimizers and torch's Muon
            "adopt", "adan", "lamb", "adabelief", "ademamix", "sophiah", "muon", "prodigy",
            "adamw_schedulefree", "lookahead", "soap"} <= explicit
    assert set(list_optimizers()) <= explicit  # nothing is left to the generic view
    assert {key for key, _ in CASES} == set(list_optimizers())


@pytest.mark.parametrize("scene", range(len(SCENES)))
@pytest.mark.parametrize("case", CASES, ids=_case_id)
def test_view_is_the_recorded_step(case, scene: int) -> None:
    key, hp = case
    checked = 0
    for traj, start, step, view in _views(key, hp, scene):
        xy = traj.xy[0, start]
        diff = xy[step + 1] - xy[step]
        assert view.update.tobytes() == diff.tobytes()  # bitwise
        assert view.optimizer == key and (view.run, view.start, view.step) == (0, start, step)
        np.testing.assert_array_equal(view.position, xy[step])
        at = xy[step]
        if "grad_point" in traj.state[0]:  # schedule-free: the gradient taken at y
            at = traj.state[0]["grad_point"][start, step]
            np.testing.assert_array_equal(view.grad, traj.state[0]["grad_at_point"][start, step])
        else:
            np.testing.assert_array_equal(view.grad, traj.grad[0, start, step])
        if traj.noise > 0:
            surf = optviz.get_surface(traj.surface)
            clean = surf.value_and_grad(torch.tensor(at[None]))[1].numpy()[0]
            np.testing.assert_array_equal(view.grad_clean, clean)
            np.testing.assert_allclose(surf.grad(torch.tensor(at[None])).numpy()[0],
                                       clean, rtol=1e-12)
            if SCENES[scene][2] == "clip":  # the clipped gradient the optimizer saw
                assert np.hypot(*view.grad) <= 1.0 + 1e-12
            else:  # g = clean g + σ·(this particle's draw)
                keys = noise.particle_keys(traj.seed, np.array([0]), np.array([start]))
                draw = traj.noise * noise.standard_normal(keys, step, 0)[0]
                np.testing.assert_allclose(view.grad - view.grad_clean, draw,
                                           atol=1e-12 * (1 + np.abs(clean).max()))
        else:
            assert view.grad_clean is None
        for group in (view.vectors, view.boxes):
            assert all(np.asarray(a).shape == (2,) for a in group.values())
        assert all(np.asarray(m).shape == (2, 2) for m in view.matrices.values())
        assert set(view.meanings) == set(view.values)
        assert all(isinstance(x, float) for x in view.values.values())
        assert view.latex and view.why
        _balanced(view.latex)
        assert view.vectors["update"] is view.update or np.array_equal(view.vectors["update"],
                                                                        view.update)
        if "γ" in view.values and traj.lr is not None:
            assert view.values["γ"] == traj.lr[0, start, step]
        if view.family != "generic":
            _simulated_lr[0] = traj.lr[0, start]
            recomputed = _recompute(key, traj.runs[0][1], view.values, step)
            if key in APPROXIMATE and step > 0:
                np.testing.assert_allclose(recomputed, view.update, rtol=APPROXIMATE[key],
                                           atol=APPROXIMATE[key] * np.abs(view.update).max())
            else:
                _close(recomputed, view, f"{key} step {step}")
        checked += 1
    assert checked >= STEPS  # at least one start lived through all steps


@pytest.mark.parametrize("pullback", ["none", "reset", "pullback"])
def test_lookahead_explains_every_base(pullback: str) -> None:
    """Every base's fast step is recomputed by the base's rule from its recorded state."""
    from optviz.optimizers.packages import LOOKAHEAD_BASES

    for base in LOOKAHEAD_BASES:
        hp = {"base": base, "k": 2, "alpha": 0.4, "pullback_momentum": pullback}
        for traj, start, step, view in _views("lookahead", hp, 1):
            assert view.family == "lookahead"
            _simulated_lr[0] = traj.lr[0, start]
            _close(_recompute("lookahead", traj.runs[0][1], view.values, step), view,
                   f"lookahead({base}) step {step}")
            _balanced(view.latex)
            assert set(view.meanings) == set(view.values)


MOMENTUM_KEYS = ("sgd", "adam", "adamw", "nadam", "rmsprop", "muon", "lion", "adopt", "adan",
                 "lamb", "adabelief", "ademamix", "sophiah", "prodigy", "soap")


@pytest.mark.parametrize("case", [c for c in CASES if c[0] in MOMENTUM_KEYS], ids=_case_id)
def test_momentum_buffer_drawn_is_the_state_tensor(case) -> None:
    key, hp = case
    names = {"momentum buffer": "momentum_buffer", "first moment m": "exp_avg",
             "state momentum_buffer": "momentum_buffer",
             "momentum m": "momentum" if key == "sophiah" else "exp_avg",
             "gradient-difference average n": "exp_avg_diff", "slow moment": "exp_avg_slow"}
    for traj, start, step, view in _views(key, hp, 1):
        drawn = [(label, state) for label, state in names.items() if label in view.vectors]
        if key in ("sgd", "rmsprop") and not traj.runs[0][1]["momentum"]:
            assert not drawn  # no momentum, no buffer
            continue
        assert drawn, f"{key}: no momentum vector in {list(view.vectors)}"
        for label, state in drawn:
            recorded = traj.state[0][state][start, step + 1]
            assert view.vectors[label].tobytes() == recorded.tobytes()


@pytest.mark.parametrize("sigma", [0.0, 0.3])
def test_schedule_free_gradient_is_taken_at_y(sigma: float) -> None:
    traj = optviz.simulate("himmelblau", [("adamw_schedulefree", {})], STARTS, steps=1,
                           noise=sigma, record_state=True, seed=3)
    for start in range(2):
        view = inspect_step(traj, 0, start, 0)
        y = traj.state[0]["grad_point"][start, 0]
        assert view.values["y_x"] == y[0] and view.values["y_y"] == y[1]
        # its first second moment is (1 − β₂) g², g the gradient at y it really saw
        v = traj.state[0]["exp_avg_sq"][start, 1]
        np.testing.assert_allclose(view.grad**2 * (1 - 0.999), v, rtol=1e-12)


def test_schedule_lr_is_the_one_each_step_used() -> None:
    traj = _simulated("adam", (), 1)
    lrs = [inspect_step(traj, 0, 0, s).values["γ"] for s in range(STEPS)]
    assert lrs == [0.05, 0.05, 0.025, 0.025, 0.0125, 0.0125]


@pytest.mark.parametrize("surface", ["rosenbrock", "saddle", "monkey_saddle"])
def test_newton_ellipse_axes_are_the_hessians_eigenvectors(surface: str) -> None:
    surf = optviz.get_surface(surface)
    starts = [(0.3, -0.7), (-1.1, 0.6)]
    traj = optviz.simulate(surf, [("newton", {"lr": 0.5})], starts, steps=3, record_state=True)
    for start in range(2):
        for step in range(3):
            view = inspect_step(traj, 0, start, step)
            point = traj.xy[0, start, step]
            exact = surf.hessian(torch.tensor(point[None])).numpy()[0]
            np.testing.assert_allclose(view.matrices["Hessian H"], exact, rtol=1e-12, atol=1e-12)
            lam, vecs = np.linalg.eigh(exact)
            glyphs = step_glyphs(view, 1.0)
            (ellipse,) = [e for e in glyphs["ellipses"] if e["name"] == "Hessian H"]
            for k in range(2):
                axis = np.array(ellipse["axes"][k])
                assert abs(abs(axis @ vecs[:, k]) - 1) < 1e-9  # parallel to eigenvector k
                assert ellipse["eigenvalues"][k] == pytest.approx(lam[k], rel=1e-9, abs=1e-12)
            if lam[0] < 0 < lam[1]:
                assert "saddle" in view.why


def test_adam_why_names_the_axis_with_the_smaller_second_moment() -> None:
    traj = optviz.simulate("rosenbrock", [("adam", {"lr": 0.05})], [(-1.2, 1.0)], steps=3,
                           record_state=True)
    view = inspect_step(traj, 0, 0, 2)
    v_hat = _pair(view.values, "v̂")
    small = "xy"[int(np.argmin(v_hat))]
    assert f"small along {small}, so the step along {small}" in view.why
    box = view.boxes["step size γ/(√v̂+ε)"]
    np.testing.assert_allclose(box, 0.05 / (np.sqrt(v_hat) + 1e-8), rtol=1e-12)


def test_adagrad_box_only_shrinks() -> None:
    traj = optviz.simulate("rosenbrock", [("adagrad", {})], [(-1.2, 1.0)], steps=20,
                           record_state=True)
    boxes = np.array([inspect_step(traj, 0, 0, s).boxes["step size γ/(√G+ε)"] for s in range(20)])
    assert (np.diff(boxes, axis=0) <= 0).all()


def test_errors_are_clear() -> None:
    plain = optviz.simulate("rosenbrock", [("adam", {})], [(-1.2, 1.0)], steps=4)
    with pytest.raises(ValueError, match="record_state=True"):
        inspect_step(plain, 0, 0, 0)
    traj = _simulated("adam", (), 0)
    for args, match in [((1, 0, 0), "run 1 out of range"), ((0, 2, 0), "start 2 out of range"),
                        ((0, 0, STEPS), f"step {STEPS} out of range"),
                        ((0, 0, -1), "step -1 out of range")]:
        with pytest.raises(ValueError, match=match):
            inspect_step(traj, *args)
    with pytest.raises(TypeError, match="step must be an int"):
        inspect_step(traj, 0, 0, 1.0)
    wild = optviz.simulate("rosenbrock", [("sgd", {"lr": 1.0})], [(-1.2, 1.0)], steps=10,
                           record_state=True)
    at = int(wild.diverged_at[0, 0])
    assert at > 0
    inspect_step(wild, 0, 0, at - 2)
    with pytest.raises(ValueError, match=f"diverged at step {at}"):
        inspect_step(wild, 0, 0, at - 1)


def test_a_custom_surface_needs_passing_for_the_clean_gradient() -> None:
    surf = optviz.surface_from_formula("x**2 + 3*y**2", ((-2, 2), (-2, 2)), name="bowl")
    traj = optviz.simulate(surf, [("sgd", {"lr": 0.1})], [(1.0, 1.0)], steps=2, noise=0.5,
                           record_state=True)
    assert inspect_step(traj, 0, 0, 0).grad_clean is None
    view = inspect_step(traj, 0, 0, 0, surface=surf)
    np.testing.assert_allclose(view.grad_clean, [2.0, 6.0])


def test_exported_from_the_package() -> None:
    assert optviz.inspect_step is inspect_step and optviz.StepView is StepView


def test_glyphs_are_json_and_the_ellipse_is_the_quadratic_forms_contour() -> None:
    import json

    traj = optviz.simulate("rosenbrock", [("natural_gradient", {}), ("adam", {"lr": 0.05})],
                           [(-1.2, 1.0)], steps=4, noise=0.2, record_state=True)
    view = inspect_step(traj, 0, 0, 3)
    glyphs = step_glyphs(view, 0.3)
    json.dumps(glyphs, allow_nan=False)
    (ellipse,) = glyphs["ellipses"]
    assert ellipse["name"] == "Fisher F̂" and ellipse["convention"] == "contour"
    assert len(ellipse["points"]) == 64 and max(ellipse["lengths"]) == pytest.approx(0.15)
    m = view.matrices["Fisher F̂"] / ellipse["scale"] ** 2
    rel = np.array(ellipse["points"]) - view.position
    np.testing.assert_allclose(np.einsum("ni,ij,nj->n", rel, m, rel), 1.0, rtol=1e-9)
    names = {entry["name"] for entry in glyphs["legend"]}
    assert {"gradient", "noise-free gradient", "update", "Fisher F̂"} <= names
    for arrow in glyphs["arrows"]:
        x0, y0, x1, y1 = arrow["points"]
        assert [x0, y0] == list(view.position)
        np.testing.assert_allclose([x1 - x0, y1 - y0], arrow["scale"] * view.vectors[arrow["name"]])
    longest = max(np.hypot(*v) for k, v in view.vectors.items() if k.startswith(("gradient",
                                                                                  "noise")))
    assert glyphs["scales"]["gradient"] == pytest.approx(0.3 / longest)
    assert "gradients and moments ×" in glyphs["note"]
    adam = inspect_step(traj, 1, 0, 3)
    (box,) = step_glyphs(adam, 0.3)["boxes"]
    assert box["center"] == list(adam.position) and max(box["half_widths"]) == pytest.approx(0.15)


def test_soap_step_after_a_refresh_that_reordered_v() -> None:
    """A refresh of Q after a step reorders v with Q's columns: the step used the old order."""
    surf = optviz.surface_from_formula("x**2 + 100*y**2", ((-2, 2), (-2, 2)), name="bowl")
    hp = {"precondition_frequency": 1, "lr": 0.05, "betas": (0.5, 0.5)}
    traj = optviz.simulate(surf, [("soap", hp)], [(1.0, 1e-4)], steps=16, record_state=True)
    reordered = 0
    for step in range(16):
        view = inspect_step(traj, 0, 0, step, surface=surf)
        if "v_after_x" in view.values:
            reordered += 1
            recorded = traj.state[0]["exp_avg_sq"][0, step + 1]
            np.testing.assert_array_equal(_pair(view.values, "v_after"), recorded)
            np.testing.assert_array_equal(_pair(view.values, "v"), recorded[::-1])
        _close(_recompute("soap", traj.runs[0][1], view.values, step), view, f"soap {step}")
    assert reordered >= 2


@pytest.mark.parametrize("key", list_optimizers())
def test_every_family_draws_as_json_glyphs(key: str) -> None:
    import json

    for _, _, step, view in _views(key, {}, 1):
        glyphs = step_glyphs(view, 0.3)
        json.dumps(glyphs, allow_nan=False)
        drawn = {entry["name"] for entry in glyphs["legend"]}
        assert "update" in drawn, (key, step, drawn)
        assert len(glyphs["arrows"]) >= 1 and len(glyphs["boxes"]) == len(view.boxes)


def test_fixed_scales_keep_adagrads_shrinking_box_visible() -> None:
    from optviz.inspect.glyphs import glyph_scales

    traj = optviz.simulate("rosenbrock", [("adagrad", {})], [(-1.2, 1.0)], steps=30,
                           record_state=True)
    first = inspect_step(traj, 0, 0, 0)
    scales = glyph_scales(first, 0.3)
    widths = [step_glyphs(inspect_step(traj, 0, 0, s), 0.3, scales)["boxes"][0]["half_widths"]
              for s in range(30)]
    assert (np.diff(np.array(widths), axis=0) <= 0).all() and widths[-1][1] < widths[0][1] / 2
    with pytest.raises(ValueError, match="scale_hint"):
        step_glyphs(first, 0.0)
