"""Optimizer registry: schemas, validation, variants, and our own optimizers against references.

Own optimizers are checked on plain torch quadratics ½θᵀAθ and Rosenbrock written inline here:
first steps against values computed by hand (plain arithmetic, or an independent eigen/solve
reference for 2x2 matrix functions), Newton's one-step jumps, full-matrix AdaGrad against torch's
diagonal Adagrad, and batched rows against single-row runs bit for bit.
"""

from __future__ import annotations

import inspect
import itertools
import math
import re
import types

import numpy as np
import pytest
import torch

from optviz.optimizers import (
    REGISTRY,
    VARIANTS,
    VSGD,
    AdaGradFull,
    DiagNewton,
    NaturalGradient,
    Newton,
    build_optimizer,
    get_optimizer,
    get_variant,
    list_optimizers,
    list_variants,
    variant_hyperparameters,
)

F64 = torch.float64
TORCH_KEYS = [k for k in list_optimizers() if get_optimizer(k).origin == "torch"]
PACKAGE_KEYS = [k for k in list_optimizers() if get_optimizer(k).origin == "package"]
OWN_KEYS = [k for k in list_optimizers() if get_optimizer(k).origin == "own"]
VARIANT_LABELS = {
    "sgd": "SGD",
    "momentum": "Momentum",
    "nesterov": "Nesterov",
    "rprop": "Rprop",
    "adagrad": "AdaGrad",
    "rmsprop": "RMSprop",
    "adadelta": "AdaDelta",
    "adam": "Adam",
    "amsgrad": "AMSGrad",
    "adam_l2": "Adam + L2",
    "adamw": "AdamW",
    "adamax": "Adamax",
    "nadam": "NAdam",
    "radam": "RAdam",
    "asgd": "ASGD",
    "adafactor": "Adafactor",
    "muon": "Muon",
    "lbfgs": "L-BFGS",
    "lion": "Lion",
    "adopt": "ADOPT",
    "adan": "Adan",
    "lamb": "LAMB",
    "adabelief": "AdaBelief",
    "ademamix": "AdEMAMix",
    "soap": "SOAP",
    "prodigy": "Prodigy",
    "adamw_schedulefree": "Schedule-Free AdamW",
    "sophiah": "SophiaH",
    "lookahead": "Lookahead",
    "newton": "Newton",
    "diag_newton": "Diagonal quasi-Newton",
    "vsgd": "vSGD",
    "adagrad_full": "Full-matrix AdaGrad",
    "natural_gradient": "Natural gradient",
}


# --- test functions, written out here -------------------------------------------------------


def rosenbrock(p: torch.Tensor) -> torch.Tensor:
    x, y = p[..., 0], p[..., 1]
    return (1 - x) ** 2 + 100 * (y - x**2) ** 2


def rosenbrock_grad(p: torch.Tensor) -> torch.Tensor:
    x, y = p[..., 0], p[..., 1]
    return torch.stack((-2 * (1 - x) - 400 * x * (y - x**2), 200 * (y - x**2)), -1)


def rosenbrock_hessian(p: torch.Tensor) -> torch.Tensor:
    x, y = p[..., 0], p[..., 1]
    hxx = 2 - 400 * (y - x**2) + 800 * x**2
    hxy = -400 * x
    return torch.stack(
        (torch.stack((hxx, hxy), -1), torch.stack((hxy, torch.full_like(x, 200.0)), -1)), -2
    )


def quadratic(a: torch.Tensor, center=(0.0, 0.0)):
    """½(θ − c)ᵀA(θ − c), its gradient and its (constant) Hessian, for rows θ (..., 2)."""
    c = torch.tensor(center, dtype=F64)

    def f(p):
        d = p - c
        return 0.5 * torch.einsum("...i,ij,...j->...", d, a, d)

    def grad(p):
        return (p - c) @ a.T

    def hessian(p):
        return a.expand(*p.shape[:-1], 2, 2)

    return f, grad, hessian


def leaf(*rows) -> torch.Tensor:
    return torch.tensor(rows, dtype=F64, requires_grad=True)


def run_steps(opt, p, f, steps: int, *, closure: bool = False) -> list[torch.Tensor]:
    """Plain loop: loss.backward(); opt.step() (or step(closure) for L-BFGS); the iterates."""
    path = [p.detach().clone()]

    def evaluate():
        opt.zero_grad()
        loss = f(p).sum()
        loss.backward()
        return loss

    for _ in range(steps):
        if closure:
            opt.step(evaluate)
        else:
            evaluate()
            opt.step()
        path.append(p.detach().clone())
    return path


# --- registry -------------------------------------------------------------------------------


def test_registry_has_the_contract_keys_in_order() -> None:
    # torch.optim first, then the well-kept packages', then our own
    assert list_optimizers() == TORCH_KEYS + PACKAGE_KEYS + OWN_KEYS
    assert {"sgd", "adam", "lbfgs", "adafactor", "muon"} <= set(TORCH_KEYS)
    assert PACKAGE_KEYS == ["lion", "adopt", "adan", "lamb", "adabelief", "ademamix", "soap",
                            "prodigy", "adamw_schedulefree", "sophiah", "lookahead"]
    assert OWN_KEYS == ["newton", "diag_newton", "vsgd", "adagrad_full", "natural_gradient"]
    assert list_variants() == list(VARIANT_LABELS)
    assert {k: VARIANTS[k].label for k in VARIANTS} == VARIANT_LABELS
    for key in TORCH_KEYS:
        spec = get_optimizer(key)
        assert spec.key == key and spec.cls.__name__.lower() == key
        assert spec.cls.__module__.startswith("torch.optim")
    for key in PACKAGE_KEYS:  # the package's own class, by its public name
        spec = get_optimizer(key)
        top = spec.cls_path.split(".")[0]
        assert top in ("pytorch_optimizer", "prodigyopt", "schedulefree")
        assert spec.cls.__module__.split(".")[0] == top and spec.cls.__name__ == spec.class_name
    with pytest.raises(KeyError, match="adam"):
        get_optimizer("adamm")
    with pytest.raises(KeyError, match="momentum"):
        get_variant("heavy_ball")


@pytest.mark.parametrize("key", TORCH_KEYS + PACKAGE_KEYS + OWN_KEYS)
def test_spec_is_complete_and_self_consistent(key: str) -> None:
    spec = get_optimizer(key)
    assert spec.label and spec.family and spec.reference
    assert re.search(r"\((19|20)\d\d\)", spec.reference), "reference names a year"
    assert "\n" not in spec.note
    assert spec.needs_closure == (key == "lbfgs")
    assert spec.batched == (spec.execution == "elementwise")
    assert spec.needs_hessian == (key in ("newton", "diag_newton", "vsgd", "sophiah"))
    assert spec.needs_grad_fn == (key in ("diag_newton", "vsgd"))
    assert spec.separable == (
        key not in ("lbfgs", "newton", "adagrad_full", "natural_gradient", "adafactor", "muon",
                    "lamb", "soap", "prodigy", "sophiah")
    )
    assert spec.wraps == (key == "lookahead")
    assert spec.reports_average == (key == "adamw_schedulefree")
    # Balanced LaTeX (KaTeX-compatible commands only; rendered with KaTeX by hand).
    rule = spec.update_rule.replace(r"\{", "").replace(r"\}", "")
    assert rule.count("{") == rule.count("}")
    assert rule.count(r"\begin{") == rule.count(r"\end{")
    assert spec.validate({}) == spec.defaults()
    assert spec.validate(spec.defaults()) == spec.defaults()  # idempotent: the runner re-validates
    hidden = {"foreach", "fused", "capturable", "differentiable", "maximize"}
    assert not hidden & set(spec.names)
    for hp in spec.hyperparameters:
        assert hp.help and hp.label and "\n" not in hp.help
        if key in TORCH_KEYS + PACKAGE_KEYS:  # names are the class's own keyword arguments
            own_names = inspect.signature(spec.cls.__init__).parameters
            joined = dict(spec.appended)  # or an element of one (Adan's beta3 in betas)
            assert joined.get(hp.name, hp.name) in own_names or (spec.wraps and hp.name == "base")


def test_defaults_are_torchs_except_for_demo_learning_rates() -> None:
    import inspect

    changed = {}
    for key in TORCH_KEYS:
        spec = get_optimizer(key)
        signature = inspect.signature(spec.cls.__init__).parameters
        for name, value in spec.defaults().items():
            torch_default = signature[name].default
            if isinstance(torch_default, tuple):
                torch_default = tuple(float(v) for v in torch_default)
            if value != torch_default:
                changed[(key, name)] = value
    assert changed == {
        ("adagrad", "lr"): 0.5,
        ("adam", "lr"): 0.05,
        ("adamw", "lr"): 0.05,
        ("adamax", "lr"): 0.1,
        ("nadam", "lr"): 0.05,
        ("asgd", "lr"): 1e-3,
        ("lbfgs", "max_iter"): 1,
        ("lbfgs", "max_eval"): 25,
        ("lbfgs", "line_search_fn"): "strong_wolfe",
        ("adafactor", "lr"): 0.05,
        ("muon", "lr"): 0.02,
        ("muon", "weight_decay"): 0.0,
    }


def test_package_defaults_are_the_packages_except_for_demo_learning_rates() -> None:
    """Every package default is the class's own (after joining Adan's and AdEMAMix's β₃ into
    betas), except learning rates that would barely move in 200 steps; each says so."""
    changed = {}
    for key in PACKAGE_KEYS:
        spec = get_optimizer(key)
        signature = inspect.signature(spec.cls.__init__).parameters
        for name, value in spec.class_kwargs(spec.defaults()).items():
            if name == "base":
                continue
            own = signature[name].default
            if isinstance(own, tuple):
                own, value = tuple(float(v) for v in own), tuple(float(v) for v in value)
            if value != own:
                changed[(key, name)] = value
                assert "demo default" in spec.hyperparameter(name).help, (key, name)
    assert changed == {
        ("lion", "lr"): 0.01,
        ("adopt", "lr"): 0.05,
        ("adan", "lr"): 0.05,
        ("lamb", "lr"): 0.02,
        ("adabelief", "lr"): 0.05,
        ("ademamix", "lr"): 0.05,
        ("soap", "lr"): 0.05,
        ("adamw_schedulefree", "lr"): 0.05,
        ("sophiah", "lr"): 0.05,
        ("sophiah", "p"): 1.0,
    }
    assert get_optimizer("lookahead").defaults()["base"] == "adam"


def test_appended_hyperparameters_join_the_class_tuple() -> None:
    spec = get_optimizer("adan")
    kwargs = spec.validate({"betas": (0.9, 0.8), "beta3": 0.95})
    assert kwargs["betas"] == (0.9, 0.8) and kwargs["beta3"] == 0.95
    assert spec.class_kwargs(kwargs)["betas"] == (0.9, 0.8, 0.95)
    assert "beta3" not in spec.class_kwargs(kwargs)
    opt = build_optimizer("ademamix", [leaf([0.0, 0.0])], {"beta3": 0.99})
    assert opt.param_groups[0]["betas"] == (0.9, 0.999, 0.99)


def test_lookahead_bases_are_elementwise_variants_it_can_build() -> None:
    """Lookahead is declared elementwise, so its base must be: every choice is a variant of an
    elementwise torch or package optimizer that needs no closure, Hessian (SophiaH) or wrapper, and
    build_optimizer builds it as that variant runs alone."""
    from pytorch_optimizer import Lookahead

    bases = get_optimizer("lookahead").hyperparameter("base").choices
    elementwise = [v for v, var in VARIANTS.items()
                   if (s := get_optimizer(var.optimizer)).execution == "elementwise"
                   and s.origin != "own" and not (s.wraps or s.reports_average or s.needs_hessian)]
    assert sorted(bases) == sorted(elementwise)
    p = leaf([0.0, 0.0])
    opt = build_optimizer("lookahead", [p], {"base": "nesterov", "k": 3, "alpha": 0.25})
    assert isinstance(opt, Lookahead) and (opt.k, opt.alpha) == (3, 0.25)
    assert isinstance(opt.optimizer, torch.optim.SGD)
    assert opt.optimizer.param_groups[0]["nesterov"] is True
    assert opt.optimizer.param_groups[0]["momentum"] == 0.9
    with pytest.raises(ValueError, match="base must be one of"):
        get_optimizer("lookahead").validate({"base": "lbfgs"})


def test_lookahead_is_k_steps_forward_one_step_back() -> None:
    """The rule shown: every k-th step the point is φ + α(θ − φ), then φ is that point."""
    lr, k, alpha = 1e-3, 4, 0.3
    p, q = leaf([-1.5, 2.0]), leaf([-1.5, 2.0])
    wrapped = build_optimizer("lookahead", [p], {"base": "sgd", "k": k, "alpha": alpha})
    slow = q.detach().clone()
    for t in range(1, 13):
        p.grad = rosenbrock_grad(p.detach())
        wrapped.step()
        with torch.no_grad():
            q -= lr * rosenbrock_grad(q.detach())
            if t % k == 0:
                q.copy_(slow + alpha * (q - slow))
                slow = q.detach().clone()
        torch.testing.assert_close(p.detach(), q.detach(), rtol=1e-14, atol=1e-15)


def test_lion_moves_every_coordinate_by_exactly_lr() -> None:
    p = leaf([-1.5, 2.0])
    opt = build_optimizer("lion", [p], {"lr": 0.01})
    path = torch.stack(run_steps(opt, p, rosenbrock, 50))
    steps = (path[1:] - path[:-1]).abs()
    torch.testing.assert_close(steps, torch.full_like(steps, 0.01), rtol=0, atol=1e-15)


def test_lamb_step_length_is_lr_times_the_norm_of_theta() -> None:
    """The trust ratio ‖θ‖/‖u‖ makes the step's length γ‖θ‖ times the bias correction of m
    alone: the first step is γ‖θ₀‖/(1 − β₁) = 0.01 · 5 / 0.1, up to ε."""
    p = torch.tensor([3.0, 4.0], dtype=F64, requires_grad=True)
    opt = build_optimizer("lamb", [p], {"lr": 0.01})
    p.grad = rosenbrock_grad(p.detach())
    before = p.detach().clone()
    opt.step()
    assert (p.detach() - before).norm().item() == pytest.approx(0.01 * 5.0 / 0.1, rel=1e-6)


def test_prodigy_learns_a_step_size_that_never_shrinks() -> None:
    p = torch.tensor([-1.5, 2.0], dtype=F64, requires_grad=True)
    opt = build_optimizer("prodigy", [p], {})
    ds = []
    for _ in range(100):
        p.grad = rosenbrock_grad(p.detach())
        opt.step()
        ds.append(opt.param_groups[0]["d"])
    assert ds[0] >= 1e-6 and all(b >= a for a, b in itertools.pairwise(ds))
    assert ds[-1] > 1e3 * ds[0]  # learned: many orders above d₀


def test_natural_gradient_says_it_is_the_empirical_fisher() -> None:
    spec = get_optimizer("natural_gradient")
    assert "empirical-Fisher" in spec.hyperparameter("beta").help
    assert "mpirical Fisher" in spec.note


# --- validation -----------------------------------------------------------------------------

REFUSALS = [
    ("adam", {"learning_rate": 0.1}, r"adam: unknown hyperparameter 'learning_rate'"),
    ("adam", {"lr": True}, r"adam: lr must be a number in \[1e-06, 10\]"),
    ("adam", {"lr": "0.1"}, r"adam: lr must be a number"),
    ("adam", {"lr": float("nan")}, r"adam: lr must be finite"),
    ("adam", {"lr": float("inf")}, r"adam: lr must be finite"),
    ("adam", {"lr": 20.0}, r"adam: lr = 20.0 is outside the allowed range \[1e-06, 10\]"),
    ("sgd", {"lr": -1.0}, r"sgd: lr = -1.0 is outside the allowed range \[1e-06, 10\]"),
    ("adam", {"amsgrad": 1}, r"adam: amsgrad must be True or False"),
    ("adam", {"betas": (0.9, 1.0)},
     r"adam: betas: the second element, 1.0, is outside \[0, 0.9999\]$"),
    ("adam", {"betas": (-0.1, 0.9)},
     r"adam: betas: the first element, -0.1, is outside \[0, 0.9999\]$"),
    ("adam", {"betas": (0.9,)}, r"adam: betas must be two numbers"),
    ("adam", {"betas": "ab"}, r"adam: betas must be two numbers"),
    ("adam", {"betas": (0.9, True)}, r"adam: betas must be a number"),
    ("sgd", {"nesterov": True}, r"sgd: SGD refuses .*Nesterov momentum requires a momentum"),
    (
        "sgd",
        {"momentum": 0.9, "nesterov": True, "dampening": 0.1},
        r"sgd: SGD refuses .*zero dampening",
    ),
    (
        "rprop",
        {"etas": (1.5, 1.2)},
        r"rprop: etas: the first element, 1.5, is outside \(0, 1\) \(allowed: two numbers, "
        r"first in \(0, 1\), second in \(1, 10\)\)",
    ),
    ("rprop", {"etas": (0.0, 10.0)}, r"rprop: etas: the first element, 0.0, is outside \(0, 1\)"),
    ("rprop", {"etas": (0.5, 1.0)}, r"rprop: etas: the second element, 1.0, is outside \(1, 10\)"),
    ("rprop", {"step_sizes": (1.0, 0.1)}, r"rprop: step_sizes must be .*first ≤ second"),
    ("lbfgs", {"max_iter": 2.5}, r"lbfgs: max_iter must be a whole number in \[1, 100\]"),
    ("lbfgs", {"max_iter": True}, r"lbfgs: max_iter must be a whole number"),
    ("lbfgs", {"max_iter": 0}, r"lbfgs: max_iter = 0 is outside"),
    ("lbfgs", {"line_search_fn": "armijo"}, r"lbfgs: line_search_fn must be one of None, "),
    ("newton", {"damping": -1.0}, r"newton: damping = -1.0 is outside the allowed range \[0, "),
    ("natural_gradient", {"beta": 1.0}, r"natural_gradient: beta = 1.0 is outside"),
    ("vsgd", {"lr": 0.1}, r"vsgd: unknown hyperparameter 'lr'; allowed: min_curvature"),
]


@pytest.mark.parametrize(("key", "hparams", "message"), REFUSALS)
def test_validation_refuses_with_a_clear_message(key: str, hparams: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        get_optimizer(key).validate(hparams)


def test_rprop_etas_schema_agrees_with_torch() -> None:
    """0 < η₋ < 1 < η₊ (torch's check), each element with its own range (η₊ ≤ 10 a demo cap)."""
    hp = get_optimizer("rprop").hyperparameter("etas")
    assert (hp.low, hp.high) == (0.0, 10.0)  # scalar readers (UI steps, tests) keep working
    assert hp.range_text() == "two numbers, first in (0, 1), second in (1, 10)"
    for a in (-0.1, 0.0, 1e-9, 0.5, 1 - 1e-9, 1.0, 1.5):
        for b in (0.5, 1.0, 1 + 1e-9, 1.2, 9.5):
            try:
                torch.optim.Rprop([leaf([0.0, 0.0])], etas=(a, b))
                torch_accepts = True
            except ValueError:
                torch_accepts = False
            try:
                hp.check((a, b), "rprop")
                schema_accepts = True
            except ValueError:
                schema_accepts = False
            assert schema_accepts == torch_accepts, (a, b)


def test_per_element_bounds_are_for_pairs_inside_low_high() -> None:
    from optviz.optimizers import Hyperparameter

    with pytest.raises(ValueError, match="bounds"):
        Hyperparameter("lr", "float", 0.5, 0.0, 1.0, bounds=((0.0, 1.0), (0.0, 1.0)))
    with pytest.raises(ValueError, match="bounds"):
        Hyperparameter("etas", "pair", (0.5, 2.0), 0.0, 10.0, bounds=((0.0, 1.0), (1.0, 20.0)))
    closed = Hyperparameter("ab", "pair", (0.0, 2.0), 0.0, 10.0, bounds=((0.0, 1.0), (1.0, 10.0)))
    assert closed.check((1.0, 1.0), "x") == (1.0, 1.0)  # inclusive unless exclusive=True
    with pytest.raises(ValueError, match=r"x: ab: the second element, 0.5, is outside \[1, 10\]"):
        closed.check((1.0, 0.5), "x")


def test_validation_normalizes_types() -> None:
    out = get_optimizer("adam").validate({"lr": 1, "betas": [np.float64(0.8), 0.99]})
    assert out["lr"] == 1.0 and type(out["lr"]) is float
    assert out["betas"] == (0.8, 0.99) and all(type(b) is float for b in out["betas"])
    assert out["amsgrad"] is False and out["eps"] == 1e-8
    lbfgs = get_optimizer("lbfgs").validate({"max_iter": 5.0, "line_search_fn": "strong_wolfe"})
    assert lbfgs["max_iter"] == 5 and type(lbfgs["max_iter"]) is int
    assert get_optimizer("lbfgs").validate({"line_search_fn": "none"})["line_search_fn"] is None
    assert get_optimizer("sgd").validate({"nesterov": np.bool_(False)})["nesterov"] is False
    with pytest.raises(ValueError, match="mapping"):
        get_optimizer("adam").validate([("lr", 0.1)])  # type: ignore[arg-type]


def test_variants_fix_their_hyperparameters_and_validate() -> None:
    for key, variant in VARIANTS.items():
        kwargs = variant_hyperparameters(key)
        assert kwargs == get_optimizer(variant.optimizer).validate(variant.overrides)
        for name, value in variant.overrides.items():
            assert kwargs[name] == value
    assert VARIANTS["momentum"].overrides == {"momentum": 0.9}
    assert VARIANTS["nesterov"].overrides == {"momentum": 0.9, "nesterov": True}
    assert VARIANTS["amsgrad"].overrides == {"amsgrad": True}
    l2, decoupled = VARIANTS["adam_l2"], VARIANTS["adamw"]
    assert (l2.optimizer, decoupled.optimizer) == ("adam", "adamw")
    assert l2.overrides["weight_decay"] == decoupled.overrides["weight_decay"] > 0
    assert variant_hyperparameters("nesterov", {"lr": 1e-4})["lr"] == 1e-4


def test_build_optimizer_validates_and_passes_the_hessian_only_where_needed() -> None:
    p = leaf([0.0, 0.0])
    opt = build_optimizer("adam", p, {"lr": 0.1})
    assert isinstance(opt, torch.optim.Adam) and opt.param_groups[0]["lr"] == 0.1
    newton = build_optimizer("newton", [p], {}, hessian_fn=rosenbrock_hessian)
    assert isinstance(newton, Newton) and newton.hessian_fn is rosenbrock_hessian
    assert isinstance(build_optimizer("vsgd", [p], {}, hessian_fn=rosenbrock_hessian), VSGD)
    for key in ("diag_newton", "vsgd"):
        assert build_optimizer(key, [p], grad_fn=rosenbrock_grad).grad_fn is rosenbrock_grad
        assert build_optimizer(key, [p]).grad_fn is None
    for key in ("adam", "newton", "adagrad_full"):  # the others take no grad_fn: not passed
        assert build_optimizer(key, [p], grad_fn=rosenbrock_grad, hessian_fn=rosenbrock_hessian)
    with pytest.raises(ValueError, match="lr"):
        build_optimizer("sgd", [p], {"lr": 0.0})
    with pytest.raises(KeyError):
        build_optimizer("nope", [p], {})


@pytest.mark.parametrize("decoupled", [True, False])
@pytest.mark.parametrize("key", ["nadam", "radam"])
def test_weight_decay_is_the_rule_shown(key: str, decoupled: bool) -> None:
    """The LaTeX's two cases, against torch run with λ = 0 and the decay done by hand:
    decoupled, θ' = (1 − γλ)θ and g = ∇f(θ), then the usual step from θ'; otherwise
    g = ∇f(θ) + λθ from θ' = θ."""
    spec = get_optimizer(key)
    assert r"\text{decoupled}" in spec.update_rule and r"\theta'_{t-1}" in spec.update_rule
    assert "decoupled" in spec.note
    lr, lam = 0.05, 0.3
    p, q = leaf([-1.5, 2.0]), leaf([-1.5, 2.0])
    hparams = {"lr": lr, "weight_decay": lam, "decoupled_weight_decay": decoupled}
    with_decay = build_optimizer(key, [p], hparams)
    by_hand = build_optimizer(key, [q], {"lr": lr, "weight_decay": 0.0})
    for _ in range(30):
        p.grad, q.grad = rosenbrock_grad(p.detach()), rosenbrock_grad(q.detach())
        with_decay.step()
        with torch.no_grad():
            if decoupled:
                q.mul_(1 - lr * lam)
            else:
                q.grad += lam * q
        by_hand.step()
        torch.testing.assert_close(p.detach(), q.detach(), rtol=1e-13, atol=1e-15)


# --- every default lowers Rosenbrock --------------------------------------------------------


@pytest.mark.parametrize(
    ("variant", "with_grad_fn"),
    [(v, False) for v in VARIANT_LABELS] + [("diag_newton", True), ("vsgd", True)],
)
def test_defaults_lower_rosenbrock_within_200_steps(variant: str, with_grad_fn: bool) -> None:
    spec = get_optimizer(VARIANTS[variant].optimizer)
    p = leaf([-1.5, 2.0])
    extra = _hessian_kwargs(spec) | ({"grad_fn": rosenbrock_grad} if with_grad_fn else {})
    opt = build_optimizer(spec.key, [p], variant_hyperparameters(variant), **extra)
    if spec.reports_average:  # Schedule-Free: step at y, judge the average x it reports
        opt.train()
    path = torch.stack(run_steps(opt, p, rosenbrock, 200, closure=spec.needs_closure))
    if spec.reports_average:
        opt.eval()
        path = torch.cat([path, p.detach().clone()[None]])
    assert torch.isfinite(path).all()
    assert rosenbrock(path[-1]).item() < rosenbrock(path[0]).item() == 12.5


def _hessian_kwargs(spec) -> dict:
    return {"hessian_fn": rosenbrock_hessian} if spec.needs_hessian else {}


# --- Newton ---------------------------------------------------------------------------------

A = torch.tensor([[3.0, 1.0], [1.0, 2.0]], dtype=F64)


def test_newton_first_step_by_hand_both_hessian_paths() -> None:
    f, _, hessian = quadratic(A)
    # g = Aθ = (5, 5); (A + I)⁻¹ = [[3, −1], [−1, 4]] / 11; step = 0.5 · (10, 15) / 11.
    expected = torch.tensor([[1 - 5 / 11, 2 - 7.5 / 11]], dtype=F64)
    p = leaf([1.0, 2.0])
    run_steps(Newton([p], lr=0.5, damping=1.0, hessian_fn=hessian), p, f, 1)
    torch.testing.assert_close(p.detach(), expected, rtol=0, atol=1e-15)
    q = leaf([1.0, 2.0])
    newton = Newton([q], lr=0.5, damping=1.0)
    newton.step(lambda: f(q).sum())  # the closure returns the loss, no backward()
    torch.testing.assert_close(q.detach(), expected, rtol=0, atol=1e-15)
    assert newton.state[q]["hessian"].shape == (1, 2, 2)
    torch.testing.assert_close(newton.state[q]["hessian"][0], A)


def test_newton_jumps_to_the_minimum_of_a_quadratic_in_one_step() -> None:
    f, _, hessian = quadratic(A, center=(0.3, -1.7))
    p = leaf([4.0, 5.0], [-2.0, 0.5], [0.3, -1.7])
    run_steps(Newton([p], hessian_fn=hessian), p, f, 1)
    torch.testing.assert_close(p.detach(), torch.tensor([[0.3, -1.7]] * 3, dtype=F64))


def test_newton_jumps_to_the_saddle_of_x2_minus_y2() -> None:
    def saddle(p):
        return p[..., 0] ** 2 - p[..., 1] ** 2

    p = leaf([0.7, -0.3], [-2.0, 1.5])
    newton = Newton([p])
    newton.step(lambda: saddle(p).sum())  # autograd Hessian diag(2, −2)
    assert torch.equal(p.detach(), torch.zeros(2, 2, dtype=F64))


@pytest.mark.parametrize("path", ["hessian_fn", "autograd"])
def test_newton_reaches_rosenbrocks_minimum_within_10_steps(path: str) -> None:
    p = leaf([-1.2, 1.0])
    if path == "hessian_fn":
        run_steps(Newton([p], hessian_fn=rosenbrock_hessian), p, rosenbrock, 10)
    else:
        newton = Newton([p])
        for _ in range(10):
            newton.step(lambda: rosenbrock(p).sum())
    torch.testing.assert_close(p.detach(), torch.ones(1, 2, dtype=F64), rtol=0, atol=1e-6)


def test_newton_hessian_paths_agree_along_a_path() -> None:
    p, q = leaf([-1.5, 2.0], [0.5, -0.5]), leaf([-1.5, 2.0], [0.5, -0.5])
    closed = Newton([p], lr=0.7, damping=0.1, hessian_fn=rosenbrock_hessian)
    auto = Newton([q], lr=0.7, damping=0.1)
    for _ in range(8):
        run_steps(closed, p, rosenbrock, 1)
        auto.step(lambda: rosenbrock(q).sum())
        torch.testing.assert_close(q.detach(), p.detach(), rtol=1e-12, atol=1e-12)


def test_newton_singular_hessian_spoils_only_its_row() -> None:
    def hessian(rows):
        return torch.stack((torch.eye(2, dtype=F64), torch.zeros(2, 2, dtype=F64)))

    p = leaf([1.0, 2.0], [1.0, 2.0])
    p.grad = torch.ones(2, 2, dtype=F64)
    Newton([p], hessian_fn=hessian).step()
    assert torch.equal(p.detach()[0], torch.tensor([0.0, 1.0], dtype=F64))
    assert not torch.isfinite(p.detach()[1]).any()


def test_newton_needs_a_hessian_source_and_an_intact_graph() -> None:
    p = leaf([1.0, 2.0])
    with pytest.raises(RuntimeError, match="hessian_fn or a closure"):
        Newton([p]).step()

    def closure_with_backward():
        loss = rosenbrock(p).sum()
        loss.backward()
        return loss

    with pytest.raises(RuntimeError, match="without calling backward"):
        Newton([p]).step(closure_with_backward)


# --- diagonal quasi-Newton and vSGD: hand-computed steps -------------------------------------


def test_diag_newton_first_steps_by_hand() -> None:
    a = torch.tensor([[4.0, 1.0], [1.0, 2.0]], dtype=F64)  # not axis-aligned: secants see H_xy
    f, _, _ = quadratic(a)
    p = leaf([1.0, 1.0])
    opt = DiagNewton([p], lr=1.0, damping=0.5, beta=0.5, init_lr=0.1, curvature="secant")
    path = run_steps(opt, p, f, 3)
    # step 1: g = (5, 3), a plain gradient step with γ₀ = 0.1
    x1, y1 = 1 - 0.5, 1 - 0.3
    # step 2: g = (4·0.5 + 0.7, 0.5 + 2·0.7) = (2.7, 1.9); Δθ = (−0.5, −0.3), Δg = (−2.3, −1.1)
    gx2, gy2 = 4 * x1 + y1, x1 + 2 * y1
    hx2, hy2 = abs((gx2 - 5) / (x1 - 1)), abs((gy2 - 3) / (y1 - 1))  # 4.6, 3.667
    x2, y2 = x1 - gx2 / (hx2 + 0.5), y1 - gy2 / (hy2 + 0.5)
    # step 3: h̄ = ½h̄ + ½h
    gx3, gy3 = 4 * x2 + y2, x2 + 2 * y2
    hx3, hy3 = abs((gx3 - gx2) / (x2 - x1)), abs((gy3 - gy2) / (y2 - y1))
    cx, cy = 0.5 * hx2 + 0.5 * hx3, 0.5 * hy2 + 0.5 * hy3
    x3, y3 = x2 - gx3 / (cx + 0.5), y2 - gy3 / (cy + 0.5)
    expected = torch.tensor([[[1.0, 1.0]], [[x1, y1]], [[x2, y2]], [[x3, y3]]], dtype=F64)
    torch.testing.assert_close(torch.stack(path), expected, rtol=1e-13, atol=1e-14)
    torch.testing.assert_close(
        opt.state[p]["curvature"], torch.tensor([[cx, cy]], dtype=F64), rtol=1e-13, atol=0
    )


@pytest.mark.parametrize(("curvature", "steps"), [("exact", 1), ("secant", 2)])
def test_diag_newton_is_exact_newton_on_an_axis_aligned_quadratic(curvature, steps) -> None:
    """Exact curvature: one Newton step; the secant needs a first move to see it."""
    f, _, hessian = quadratic(torch.diag(torch.tensor([4.0, 0.5], dtype=F64)))
    p = leaf([1.0, -2.0])
    opt = DiagNewton([p], lr=1.0, damping=0.0, init_lr=0.1, curvature=curvature,
                     hessian_fn=hessian)
    run_steps(opt, p, f, steps)
    torch.testing.assert_close(p.detach(), torch.zeros(1, 2, dtype=F64), rtol=0, atol=1e-15)


def test_diag_newton_first_steps_by_hand_exact_curvature() -> None:
    """h = |diag H| at θ (here H = [[6x², 1], [1, −2]] of f = ½x⁴ + xy − y²: |−2| is used)."""

    def f(p):
        x, y = p[..., 0], p[..., 1]
        return 0.5 * x**4 + x * y - y**2

    def hessian(p):
        x = p[..., 0]
        one = torch.ones_like(x)
        return torch.stack((torch.stack((6 * x**2, one), -1), torch.stack((one, -2 * one), -1)), -2)

    p = leaf([1.0, 0.5])
    opt = DiagNewton([p], lr=0.5, damping=0.25, beta=0.5, hessian_fn=hessian)
    path = run_steps(opt, p, f, 2)
    x0, y0 = 1.0, 0.5
    gx, gy = 2 * x0**3 + y0, x0 - 2 * y0  # (2.5, 0)
    hx, hy = 6 * x0**2, 2.0  # first estimate: h̄ = h
    x1, y1 = x0 - 0.5 * gx / (hx + 0.25), y0 - 0.5 * gy / (hy + 0.25)
    gx, gy = 2 * x1**3 + y1, x1 - 2 * y1
    cx, cy = 0.5 * hx + 0.5 * 6 * x1**2, 0.5 * hy + 0.5 * 2.0
    x2, y2 = x1 - 0.5 * gx / (cx + 0.25), y1 - 0.5 * gy / (cy + 0.25)
    expected = torch.tensor([[[x0, y0]], [[x1, y1]], [[x2, y2]]], dtype=F64)
    torch.testing.assert_close(torch.stack(path), expected, rtol=1e-14, atol=1e-15)
    torch.testing.assert_close(
        opt.state[p]["curvature"], torch.tensor([[cx, cy]], dtype=F64), rtol=1e-14, atol=0
    )
    assert "prev_param" not in opt.state[p]  # the exact estimate needs no memory


def test_vsgd_first_steps_by_hand_exact_curvature() -> None:
    """Slow start at step 1 with h = max(|diag H|, h_min); then 1/τ averages."""
    f, _, hessian = quadratic(torch.diag(torch.tensor([4.0, -0.25], dtype=F64)))
    p = leaf([1.0, 1.0])
    opt = VSGD([p], min_curvature=0.5, slow_constant=2.0, init_tau=10.0, hessian_fn=hessian)
    path = run_steps(opt, p, f, 2)
    expected = []
    for a, h in ((4.0, 4.0), (-0.25, 0.5)):  # |−0.25| < h_min = 0.5
        t0 = 1.0
        g1 = a * t0
        g_avg, v_avg, h_avg, tau = g1, 2 * (g1**2 + 1e-12), 2 * h, 10.0
        ratio = g_avg**2 / (v_avg + 1e-12)
        t1 = t0 - ratio / h_avg * g1
        tau = (1 - ratio) * tau + 1
        g2 = a * t1
        w = 1 / tau
        g_avg = (1 - w) * g_avg + w * g2
        v_avg = (1 - w) * v_avg + w * g2**2
        h_avg = (1 - w) * h_avg + w * h
        t2 = t1 - min(g_avg**2 / (v_avg + 1e-12), 1.0) / h_avg * g2
        expected.append((t0, t1, t2))
    expected_t = torch.tensor(expected, dtype=F64).T.reshape(3, 1, 2)
    torch.testing.assert_close(torch.stack(path), expected_t, rtol=1e-13, atol=1e-15)


def test_vsgd_first_steps_by_hand() -> None:
    f, _, _ = quadratic(torch.diag(torch.tensor([4.0, 1.0], dtype=F64)))
    p = leaf([1.0, 1.0])
    opt = VSGD([p], init_lr=0.1, min_curvature=0.5, slow_constant=2.0, init_tau=10.0,
               curvature="secant")
    path = run_steps(opt, p, f, 3)
    # step 1: gradient step, g = (4, 1)
    t1 = (0.6, 0.9)
    # step 2: g = (2.4, 0.9), secant h = (4, 1); slow start ḡ = g, v̄ = 2g², h̄ = 2h, τ = 10
    g2 = (2.4, 0.9)
    rate2 = (0.5 / 8, 0.5 / 2)  # (ḡ²/v̄) / h̄
    t2 = tuple(t - r * g for t, r, g in zip(t1, rate2, g2, strict=True))  # (0.45, 0.675)
    tau = 0.5 * 10 + 1  # (1 − ḡ²/v̄)τ + 1 = 6
    # step 3: g = (1.8, 0.675), h = (4, 1); averages with weight 1/τ = 1/6
    g3 = (4 * t2[0], t2[1])
    w = 1 / tau
    expected3 = []
    for i, h in enumerate((4.0, 1.0)):
        g_avg = (1 - w) * g2[i] + w * g3[i]
        v_avg = (1 - w) * 2 * g2[i] ** 2 + w * g3[i] ** 2
        h_avg = (1 - w) * 2 * h + w * h
        expected3.append(t2[i] - g_avg**2 / (v_avg * h_avg) * g3[i])
    expected = torch.tensor([[[1.0, 1.0]], [t1], [t2], [expected3]], dtype=F64)
    torch.testing.assert_close(torch.stack(path), expected, rtol=1e-10, atol=1e-12)
    assert opt.state[p]["tau"].shape == (1, 2)


def test_vsgd_floors_the_curvature() -> None:
    """A flat direction (h = 0: f = ½x² + y) is stepped with the floor h_min, not divided by 0."""

    def f(p):
        return 0.5 * p[..., 0] ** 2 + p[..., 1]

    p = leaf([1.0, 1.0])
    flat = torch.diag(torch.tensor([1.0, 0.0], dtype=F64))
    opt = VSGD([p], min_curvature=0.5, hessian_fn=lambda q: flat.expand(*q.shape[:-1], 2, 2))
    path = torch.stack(run_steps(opt, p, f, 40))
    assert torch.isfinite(path).all()
    h_avg = opt.state[p]["h_avg"][0]
    torch.testing.assert_close(h_avg, torch.tensor([1.0, 0.5], dtype=F64), rtol=1e-3, atol=0)
    steps_y = -torch.diff(path[-10:, 0, 1])  # constant gradient 1: steps tend to 1/h_min
    torch.testing.assert_close(steps_y, torch.full_like(steps_y, 2.0), rtol=1e-3, atol=0)


# --- diagonal quasi-Newton and vSGD under gradient noise: the noise-free secant -------------
#
# On f = ½(x² + 10y²) with p.grad = ∇f + σξ (σ = 1), a secant of two noisy gradients divides
# ξ_t − ξ_{t−1} by a shrinking step: the curvature estimate blows up (1e17 and more) and both
# methods freeze. With grad_fn (the noise-free ∇f: one sample at both points) it stays exact.

NOISY_CURVATURE = torch.tensor([1.0, 10.0], dtype=F64)


def noisy_quadratic_grad(p: torch.Tensor) -> torch.Tensor:
    return p * NOISY_CURVATURE


def noisy_quadratic_hessian(p: torch.Tensor) -> torch.Tensor:
    return torch.diag(NOISY_CURVATURE).expand(*p.shape[:-1], 2, 2)


def run_noisy_quadratic(
    key: str, steps: int = 500, n: int = 64, sigma: float = 1.0, curvature: str = "secant"
):
    """Mean loss per step (steps + 1,), curvature state (steps, n, 2) and path (steps + 1, n, 2)
    of ``n`` independent particles from random starts in [−3, 3]², grad_fn given."""
    gen = torch.Generator().manual_seed(0)
    p = (torch.rand(n, 2, generator=gen, dtype=F64) * 6 - 3).requires_grad_(True)
    opt = build_optimizer(key, [p], {"curvature": curvature}, grad_fn=noisy_quadratic_grad,
                          hessian_fn=noisy_quadratic_hessian)
    name = "h_avg" if key == "vsgd" else "curvature"
    path, curvature = [p.detach().clone()], []
    for _ in range(steps):
        noise = sigma * torch.randn(n, 2, generator=gen, dtype=F64)
        p.grad = noisy_quadratic_grad(p.detach()) + noise
        opt.step()
        path.append(p.detach().clone())
        curvature.append(opt.state[p].get(name, torch.full((n, 2), float("nan"), dtype=F64)))
    path_t = torch.stack(path)
    loss = 0.5 * (path_t**2 * NOISY_CURVATURE).sum(-1).mean(-1)
    return loss, torch.stack(curvature), path_t


@pytest.mark.parametrize("curvature", ["exact", "secant"])
def test_vsgd_keeps_learning_under_gradient_noise(curvature: str) -> None:
    loss, curvature_state, _ = run_noisy_quadratic("vsgd", curvature=curvature)
    assert loss[500] < 0.1 * loss[20]
    # The oracle annealing η = 1/(h t) averages the noise: E f = Σ σ²/(2 h t) = 0.55/t here.
    # vSGD is meant to approach it; without the noise-free secant it sits at ~100x.
    t = torch.arange(451, 501, dtype=F64)
    assert (loss[451:] * t / 0.55).mean() < 5.0
    ratio = curvature_state[1:] / NOISY_CURVATURE  # h̄ exists from step 2 on
    assert torch.isfinite(ratio).all()
    assert ratio.min() >= 0.1 and ratio.max() <= 100


@pytest.mark.parametrize("estimate", ["exact", "secant"])
def test_diag_newton_under_noise_measures_the_exact_curvature_and_keeps_moving(estimate) -> None:
    loss, curvature, path = run_noisy_quadratic("diag_newton", curvature=estimate)
    torch.testing.assert_close(curvature[1:], NOISY_CURVATURE.expand_as(curvature[1:]))
    # With h exact the step is γ(hθ + σξ)/(h + μ), a linear AR(1) process per coordinate whose
    # stationary mean loss is Σ σ²/(2(h + 2μ)) = 1/6 + 1/24 (γ = 1, μ = 1): a noise floor.
    assert loss[0] > 10
    assert loss[101:].mean().item() == pytest.approx(1 / 6 + 1 / 24, rel=0.1)
    steps = (path[401:] - path[400:-1]).abs()
    assert steps.median() > 0.05  # still moving (frozen: ~1e-17)


@pytest.mark.parametrize("key", ["diag_newton", "vsgd"])
def test_noise_free_grad_fn_changes_nothing_without_noise(key: str) -> None:
    """Without noise grad_fn gives the secant the same gradients as p.grad: same path, bitwise."""
    paths = []
    for grad_fn in (None, rosenbrock_grad):
        p = leaf([-1.5, 2.0], [0.5, -0.5])
        opt = build_optimizer(key, [p], {"curvature": "secant"}, grad_fn=grad_fn)
        for _ in range(100):
            p.grad = rosenbrock_grad(p.detach())
            opt.step()
        paths.append(p.detach().clone())
    assert torch.equal(paths[0], paths[1])


NOISE = ((0.3, -0.2), (-0.4, 0.5), (0.25, 0.1))  # ξ added to p.grad at steps 1, 2, 3


def _noisy_steps(opt, p, grad, steps: int = 3) -> list[torch.Tensor]:
    path = [p.detach().clone()]
    for xi in NOISE[:steps]:
        p.grad = grad(p.detach()) + torch.tensor(xi, dtype=F64)
        opt.step()
        path.append(p.detach().clone())
    return path


def _counting(grad):
    calls: list[tuple[int, ...]] = []

    def grad_fn(rows):
        calls.append(tuple(rows.shape))
        return grad(rows)

    return grad_fn, calls


def test_diag_newton_first_steps_by_hand_with_noise_and_grad_fn() -> None:
    """The secant uses grad_fn's ∇f; the step uses p.grad = ∇f + ξ."""
    a = torch.tensor([[4.0, 1.0], [1.0, 2.0]], dtype=F64)
    _, grad, _ = quadratic(a)
    grad_fn, calls = _counting(grad)
    p = leaf([1.0, 1.0])
    opt = DiagNewton([p], lr=1.0, damping=0.5, beta=0.5, init_lr=0.1, grad_fn=grad_fn,
                     curvature="secant")
    path = _noisy_steps(opt, p, grad)

    def exact(x, y):
        return 4 * x + y, x + 2 * y

    (n1x, n1y), (n2x, n2y), (n3x, n3y) = NOISE
    g0 = exact(1.0, 1.0)  # (5, 3)
    x1, y1 = 1 - 0.1 * (g0[0] + n1x), 1 - 0.1 * (g0[1] + n1y)
    g1 = exact(x1, y1)
    hx2, hy2 = abs((g1[0] - g0[0]) / (x1 - 1)), abs((g1[1] - g0[1]) / (y1 - 1))
    x2, y2 = x1 - (g1[0] + n2x) / (hx2 + 0.5), y1 - (g1[1] + n2y) / (hy2 + 0.5)
    g2 = exact(x2, y2)
    hx3, hy3 = abs((g2[0] - g1[0]) / (x2 - x1)), abs((g2[1] - g1[1]) / (y2 - y1))
    cx, cy = 0.5 * hx2 + 0.5 * hx3, 0.5 * hy2 + 0.5 * hy3
    x3, y3 = x2 - (g2[0] + n3x) / (cx + 0.5), y2 - (g2[1] + n3y) / (cy + 0.5)
    expected = torch.tensor([[[1.0, 1.0]], [[x1, y1]], [[x2, y2]], [[x3, y3]]], dtype=F64)
    torch.testing.assert_close(torch.stack(path), expected, rtol=1e-13, atol=1e-14)
    torch.testing.assert_close(
        opt.state[p]["curvature"], torch.tensor([[cx, cy]], dtype=F64), rtol=1e-13, atol=0
    )
    assert calls == [(1, 2)] * 3  # one noise-free gradient per step, on (N, 2) rows


def test_vsgd_first_steps_by_hand_with_noise_and_grad_fn() -> None:
    _, grad, _ = quadratic(torch.diag(torch.tensor([4.0, 1.0], dtype=F64)))
    grad_fn, calls = _counting(grad)
    p = leaf([1.0, 1.0])
    opt = VSGD(
        [p], init_lr=0.1, min_curvature=0.5, slow_constant=2.0, init_tau=10.0, grad_fn=grad_fn,
        curvature="secant",
    )
    path = _noisy_steps(opt, p, grad)
    expected = []
    for i, h in enumerate((4.0, 1.0)):  # axis-aligned: each coordinate on its own
        n1, n2, n3 = (xi[i] for xi in NOISE)
        t1 = 1.0 - 0.1 * (h + n1)
        g2 = h * t1 + n2  # noisy; the noise-free secant is exactly h (floor 0.5 inactive)
        g_avg, v_avg, h_avg, tau = g2, 2 * g2**2, 2 * h, 10.0  # slow start, C = 2
        ratio = g_avg**2 / v_avg
        t2 = t1 - ratio / h_avg * g2
        tau = (1 - ratio) * tau + 1
        g3 = h * t2 + n3
        w = 1 / tau
        g_avg = (1 - w) * g_avg + w * g3
        v_avg = (1 - w) * v_avg + w * g3**2
        h_avg = (1 - w) * h_avg + w * h
        t3 = t2 - g_avg**2 / (v_avg * h_avg) * g3
        expected.append((1.0, t1, t2, t3))
    expected_t = torch.tensor(expected, dtype=F64).T.reshape(4, 1, 2)
    torch.testing.assert_close(torch.stack(path), expected_t, rtol=1e-12, atol=1e-14)
    assert calls == [(1, 2)] * 3


@pytest.mark.parametrize("cls", [DiagNewton, VSGD])
def test_secant_optimizers_refuse_a_grad_fn_of_the_wrong_shape(cls) -> None:
    p = leaf([1.0, 2.0], [3.0, 4.0])
    p.grad = torch.ones(2, 2, dtype=F64)
    with pytest.raises(ValueError, match=r"grad_fn must map \(N, 2\) positions"):
        cls([p], grad_fn=lambda rows: rows[:, 0], curvature="secant").step()
    with pytest.raises(ValueError, match="Invalid grad_fn"):
        cls([p], grad_fn=1.0)


# --- full-matrix AdaGrad and natural gradient ----------------------------------------------


def sqrtm_reference(m: torch.Tensor) -> torch.Tensor:
    values, vectors = torch.linalg.eigh(m)
    return vectors @ torch.diag(values.clamp(min=0).sqrt()) @ vectors.T


def test_adagrad_full_first_steps_against_a_reference() -> None:
    f, grad, _ = quadratic(A)
    lr, delta = 0.3, 1e-3
    p = leaf([1.0, 2.0])
    path = run_steps(AdaGradFull([p], lr=lr, eps=delta), p, f, 2)
    # step 1: G = ggᵀ has root ggᵀ/|g|, so the step is ηg/(δ + |g|) with g = (5, 5)
    g1 = torch.tensor([5.0, 5.0], dtype=F64)
    t1 = torch.tensor([1.0, 2.0], dtype=F64) - lr * g1 / (delta + 5 * math.sqrt(2))
    # (δI + G^½ is ill-conditioned, cond ≈ |g|/δ, so the adjugate solve keeps ~13 digits here)
    torch.testing.assert_close(path[1][0], t1, rtol=1e-12, atol=0)
    # step 2 against an eigendecomposition square root and a dense solve
    g2 = grad(t1)
    big_g = torch.outer(g1, g1) + torch.outer(g2, g2)
    t2 = t1 - lr * torch.linalg.solve(delta * torch.eye(2, dtype=F64) + sqrtm_reference(big_g), g2)
    torch.testing.assert_close(path[2][0], t2, rtol=1e-12, atol=1e-13)


def test_adagrad_full_on_an_axis_aligned_quadratic_is_torchs_diagonal_adagrad() -> None:
    """Same path as torch.optim.Adagrad(eps=δ) while G stays diagonal (start on an axis: every
    gradient lies on that axis), up to rounding (the 2x2 root and solve round differently)."""
    f, _, _ = quadratic(torch.diag(torch.tensor([3.0, 0.5], dtype=F64)))
    for start in ([2.0, 0.0], [0.0, -1.5]):
        p, q = leaf(start), leaf(start)
        full = torch.stack(run_steps(AdaGradFull([p], lr=0.4, eps=1e-6), p, f, 60))
        diag = torch.stack(run_steps(torch.optim.Adagrad([q], lr=0.4, eps=1e-6), q, f, 60))
        torch.testing.assert_close(full, diag, rtol=1e-12, atol=1e-14)
    # Off the axes G gains g_x g_y terms, so the paths part, but both reach the minimum.
    p, q = leaf([2.0, -1.5]), leaf([2.0, -1.5])
    full = torch.stack(run_steps(AdaGradFull([p], lr=0.4, eps=1e-6), p, f, 300))
    diag = torch.stack(run_steps(torch.optim.Adagrad([q], lr=0.4, eps=1e-6), q, f, 300))
    assert (full[1:20] - diag[1:20]).abs().max() > 1e-2
    assert f(full[-1]).item() < 1e-6 and f(diag[-1]).item() < 1e-6


def test_natural_gradient_first_steps_against_a_reference() -> None:
    f, grad, _ = quadratic(A)
    lr, lam, beta = 0.2, 0.5, 0.9
    p = leaf([1.0, 2.0])
    path = run_steps(NaturalGradient([p], lr=lr, damping=lam, beta=beta), p, f, 2)
    # step 1: F̂ = ggᵀ (bias-corrected), and (ggᵀ + λI)⁻¹g = g/(|g|² + λ) with g = (5, 5)
    t1 = torch.tensor([1.0, 2.0], dtype=F64) - lr * torch.tensor([5.0, 5.0], dtype=F64) / 50.5
    torch.testing.assert_close(path[1][0], t1, rtol=1e-14, atol=1e-15)
    g1, g2 = torch.tensor([5.0, 5.0], dtype=F64), grad(t1)
    fisher = (beta * (1 - beta) * torch.outer(g1, g1) + (1 - beta) * torch.outer(g2, g2)) / (
        1 - beta**2
    )
    t2 = t1 - lr * torch.linalg.solve(fisher + lam * torch.eye(2, dtype=F64), g2)
    torch.testing.assert_close(path[2][0], t2, rtol=1e-13, atol=1e-14)


# --- batching and shapes --------------------------------------------------------------------


def _own(key: str, params, grad_fn=None) -> torch.optim.Optimizer:
    return build_optimizer(key, params, {}, hessian_fn=rosenbrock_hessian, grad_fn=grad_fn)


@pytest.mark.parametrize("grad_fn", [None, rosenbrock_grad])
@pytest.mark.parametrize("key", OWN_KEYS)
def test_batched_rows_equal_single_row_runs_bit_for_bit(key: str, grad_fn) -> None:
    starts = [[-1.5, 2.0], [0.5, -0.5], [1.2, 1.2], [-0.3, 0.1]]
    p = leaf(*starts)
    batch = torch.stack(run_steps(_own(key, [p], grad_fn), p, rosenbrock, 60))
    for i, start in enumerate(starts):
        q = leaf(start)
        alone = torch.stack(run_steps(_own(key, [q], grad_fn), q, rosenbrock, 60))
        assert torch.equal(batch[:, i], alone[:, 0]), f"{key}: row {i}"
    # A plain (2,) parameter is one row.
    r = torch.tensor(starts[0], dtype=F64, requires_grad=True)
    flat = torch.stack(run_steps(_own(key, [r], grad_fn), r, rosenbrock, 60))
    assert torch.equal(flat, batch[:, 0])


@pytest.mark.parametrize(
    ("key", "names"),
    [
        ("newton", {"hessian": (3, 2, 2), "direction": (3, 2)}),
        ("diag_newton", {"curvature": (3, 2), "estimates": (3, 2)}),
        ("vsgd", {"g_avg": (3, 2), "v_avg": (3, 2), "h_avg": (3, 2), "tau": (3, 2)}),
        ("adagrad_full", {"G": (3, 2, 2), "G_sqrt": (3, 2, 2)}),
        ("natural_gradient", {"fisher": (3, 2, 2)}),
    ],
)
def test_state_is_per_row(key: str, names: dict) -> None:
    p = leaf([-1.5, 2.0], [0.5, -0.5], [1.2, 1.2])
    opt = _own(key, [p])
    run_steps(opt, p, rosenbrock, 3)
    state = opt.state[p]
    for name, shape in names.items():
        assert tuple(state[name].shape) == shape, name


@pytest.mark.parametrize(
    ("cls", "kwargs"),
    [
        (Newton, {"lr": 0.0}),
        (Newton, {"damping": float("nan")}),
        (DiagNewton, {"beta": 1.0}),
        (VSGD, {"eps": 0.0}),
        (VSGD, {"init_tau": 0.5}),
        (AdaGradFull, {"eps": 0.0}),
        (NaturalGradient, {"damping": 0.0}),
    ],
)
def test_own_classes_refuse_bad_arguments(cls, kwargs: dict) -> None:
    with pytest.raises(ValueError, match="Invalid"):
        cls([leaf([0.0, 0.0])], **kwargs)


def test_own_optimizers_refuse_parameters_that_are_not_2d_points() -> None:
    p = torch.zeros(3, dtype=F64, requires_grad=True)
    p.grad = torch.ones(3, dtype=F64)
    with pytest.raises(ValueError, match="last dimension must be 2"):
        AdaGradFull([p]).step()


def test_registry_specs_are_the_registry_values() -> None:
    assert all(REGISTRY[k] is get_optimizer(k) for k in REGISTRY)


def test_closed_form_2x2_helpers_match_dense_linear_algebra() -> None:
    from optviz.optimizers import _linalg2x2 as la

    gen = torch.Generator().manual_seed(0)
    b = torch.randn(64, 2, 2, generator=gen, dtype=F64)
    psd = b @ b.transpose(-1, -2)
    psd[0] = torch.outer(torch.tensor([3.0, -4.0]), torch.tensor([3.0, -4.0]))  # rank one
    psd[1] = 0.0
    root = la.sqrtm_psd(psd)
    torch.testing.assert_close(root @ root, psd, rtol=1e-10, atol=1e-10)
    torch.testing.assert_close(root[2:], torch.stack([sqrtm_reference(m) for m in psd[2:]]))
    v = torch.randn(64, 2, generator=gen, dtype=F64)
    torch.testing.assert_close(la.solve(b, v), torch.linalg.solve(b, v))
    psd[3, 0, 0] = float("nan")
    assert torch.isnan(la.sqrtm_psd(psd)[3]).all() and torch.isfinite(la.sqrtm_psd(psd)[4]).all()


# --- README ---------------------------------------------------------------------------------


def test_readme_optimizer_table_lists_every_key_with_its_package_and_version() -> None:
    from pathlib import Path

    text = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")
    table = text[text.index("| UI name | key | what runs | package | reference |"):]
    table = table[: table.index("\n\n")]
    rows = {}
    for line in table.splitlines()[2:]:
        cells = [c.strip() for c in line.strip("|").split("|")]
        rows[cells[1].strip("`")] = cells
    assert list(rows) == list_variants()
    assert set(list_optimizers()) <= set(rows)
    for key, (name, _, runs, package, reference) in rows.items():
        spec = get_optimizer(VARIANTS[key].optimizer)
        assert name == VARIANTS[key].label and spec.class_name in runs
        assert package == spec.package, key  # e.g. "pytorch_optimizer 4.1.0", "optviz"
        assert re.search(r"\((19|20)\d\d\)", reference)


@pytest.mark.parametrize("distribution", ["gaussian", "rademacher"])
def test_hutchinson_hook_estimates_the_hessian_diagonal(distribution: str) -> None:
    """E[z ⊙ Hz] = diag(H): the hook's probes average to the diagonal (the off-diagonal term
    z₁z₂H₁₂ averages out), on SophiaH's update steps only, the same for every row."""
    from optviz.optimizers.hutchinson import hutchinson_hook

    a = torch.tensor([[3.0, 2.0], [2.0, -1.0]], dtype=F64)
    hook = hutchinson_hook(lambda rows: a.expand(len(rows), 2, 2), 2, distribution)

    fake = types.SimpleNamespace(param_groups=[{"params": [leaf([0.5, 0.5], [-1.0, 2.0])]}])
    estimates = []
    for step in range(4000):
        fake.param_groups[0]["step"] = step
        out = hook(fake, (), {})
        if step % 2:
            assert out is None
            continue
        (h,) = out[1]["hessian"]
        assert h.shape == (2, 2) and torch.equal(h[0], h[1])
        estimates.append(h[0])
    mean = torch.stack(estimates).mean(0)  # 2,000 probes: std of the mean ≤ 0.11 (Gaussian)
    torch.testing.assert_close(mean, a.diagonal(), rtol=0, atol=0.35)
