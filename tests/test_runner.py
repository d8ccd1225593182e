"""simulate(): exactness against plain torch.optim loops, batching, noise, divergence, limits."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import optviz
from optviz.optimizers import get_optimizer, get_variant, variant_hyperparameters
from optviz.runner import LOSS_BOUND, MAX_STEPS, POSITION_BOUND, simulate

# Two hyperparameter sets per torch-backed optimizer, exercising its distinctive options.
TORCH_CASES: dict[str, list[dict]] = {
    "sgd": [{"lr": 1e-3}, {"lr": 5e-4, "momentum": 0.9, "nesterov": True}],
    "rprop": [{"lr": 0.01}, {"lr": 0.005, "etas": (0.4, 1.1), "step_sizes": (1e-6, 0.5)}],
    "adagrad": [{"lr": 0.5}, {"lr": 0.1, "lr_decay": 0.01, "initial_accumulator_value": 0.1}],
    "rmsprop": [{"lr": 0.01}, {"lr": 0.005, "alpha": 0.9, "centered": True, "momentum": 0.5}],
    "adadelta": [{"lr": 1.0}, {"lr": 5.0, "rho": 0.95}],
    "adam": [{"lr": 0.05}, {"lr": 0.02, "amsgrad": True, "weight_decay": 0.1}],
    "adamw": [{"lr": 0.05}, {"lr": 0.05, "weight_decay": 0.5, "betas": (0.8, 0.99)}],
    "adamax": [{"lr": 0.05}, {"lr": 0.1, "betas": (0.8, 0.99)}],
    "nadam": [{"lr": 0.05}, {"lr": 0.02, "momentum_decay": 0.008}],
    "radam": [{"lr": 1e-3}, {"lr": 5e-3, "weight_decay": 0.01}],
    "asgd": [{"lr": 1e-3}, {"lr": 5e-4, "lambd": 1e-3, "alpha": 0.75, "t0": 50.0}],
    "lbfgs": [{"lr": 1.0}, {"lr": 0.5, "history_size": 5, "max_iter": 5, "line_search_fn": None}],
    "adafactor": [{"lr": 0.05}, {"lr": 0.02, "beta2_decay": -0.5, "d": 1.5, "weight_decay": 0.1}],
    "muon": [{"lr": 0.02}, {"lr": 0.01, "momentum": 0.8, "nesterov": False, "ns_steps": 3}],
}
# Two hyperparameter sets per package optimizer (pytorch_optimizer, prodigyopt, schedulefree).
PACKAGE_CASES: dict[str, list[dict]] = {
    "lion": [{"lr": 0.01}, {"lr": 0.003, "betas": (0.8, 0.95), "weight_decay": 0.1}],
    "adopt": [{"lr": 0.05}, {"lr": 0.02, "betas": (0.8, 0.999), "weight_decay": 0.1}],
    "adan": [{"lr": 0.05}, {"lr": 0.02, "betas": (0.9, 0.8), "beta3": 0.95,
                             "weight_decay": 0.1, "weight_decouple": True}],
    "lamb": [{"lr": 0.02}, {"lr": 0.01, "weight_decay": 0.1, "grad_averaging": False}],
    "adabelief": [{"lr": 0.05}, {"lr": 0.02, "betas": (0.8, 0.99), "weight_decay": 0.1,
                                 "weight_decouple": False}],
    "ademamix": [{"lr": 0.05}, {"lr": 0.02, "beta3": 0.99, "alpha": 2.0, "weight_decay": 0.1}],
    "soap": [{"lr": 0.05}, {"lr": 0.02, "betas": (0.9, 0.99), "precondition_frequency": 3,
                            "normalize_gradient": True}],
    "prodigy": [{"lr": 1.0}, {"lr": 0.5, "d0": 1e-4, "use_bias_correction": True,
                              "weight_decay": 0.01}],
    "adamw_schedulefree": [{"lr": 0.05}, {"lr": 0.02, "warmup_steps": 20, "r": 1.0,
                                          "weight_decay": 0.1}],
    "sophiah": [{"lr": 0.05}, {"lr": 0.02, "p": 0.5, "update_period": 3,
                               "hessian_distribution": "rademacher", "weight_decay": 0.1}],
    "lookahead": [{"base": "adam"}, {"base": "momentum", "k": 3, "alpha": 0.8,
                                     "pullback_momentum": "pullback"}],
}
CASES = TORCH_CASES | PACKAGE_CASES
SURFACE_STARTS = {"rosenbrock": [(-1.5, 2.0), (0.5, -0.5)], "himmelblau": [(0.0, 0.0), (-1.0, 4.0)]}


def plain_loop(surface: str, key: str, kwargs: dict, start, steps: int) -> np.ndarray:
    """What a notebook does: one 2-element tensor, autograd, the optimizer class itself
    (Lookahead around its base class; Schedule-Free stepped in train mode, read in eval mode)."""
    surf = optviz.get_surface(surface)
    spec = get_optimizer(key)
    shape = (2,) if spec.execution == "elementwise" else spec.param_shape  # Muon: a 1×2 matrix
    p = torch.tensor(start, dtype=torch.float64).reshape(shape).requires_grad_(True)
    hparams = spec.validate(kwargs)
    if spec.wraps:
        base = get_optimizer(get_variant(hparams["base"]).optimizer)
        inner = base.cls([p], **base.class_kwargs(variant_hyperparameters(hparams["base"])))
        opt = spec.cls(inner, **{k: v for k, v in hparams.items() if k != "base"})
    else:
        opt = spec.cls([p], **spec.class_kwargs(hparams))
    path = [p.detach().clone()]

    def closure():
        opt.zero_grad()
        loss = surf.f(p)
        loss.backward()
        return loss

    for t in range(steps):
        if spec.reports_average:
            opt.train()
        if spec.needs_hessian and spec.origin == "package":  # SophiaH, given its estimate
            if t % hparams["update_period"] == 0:
                opt.step(closure, hessian=[hutchinson(surf, p, t, hparams)])
            else:
                opt.step(closure)
            path.append(p.detach().clone().reshape(2))
            continue
        opt.step(closure)
        if spec.reports_average:
            opt.eval()
        path.append(p.detach().clone().reshape(2))
    path[0] = path[0].reshape(2)
    return torch.stack(path).numpy()


def hutchinson(surf, p: torch.Tensor, t: int, hparams: dict) -> torch.Tensor:
    """z ⊙ (H z) at p, written out: z is optviz's normal draw for key (0, 0, 0) and counter t
    (its sign for Rademacher), H the autograd Hessian the runner uses with autograd."""
    from optviz.noise import particle_keys, standard_normal
    from optviz.runner import _autograd_hessian

    z = standard_normal(particle_keys(0, np.zeros(1), np.zeros(1)), t, 0)[0]
    if hparams["hessian_distribution"] == "rademacher":
        z = np.where(z < 0, -1.0, 1.0)
    h = _autograd_hessian(surf.f)(p.detach().reshape(1, 2))[0]
    z0, z1 = (torch.tensor(v, dtype=torch.float64) for v in z)
    return torch.stack((z0 * (h[0, 0] * z0 + h[0, 1] * z1),
                        z1 * (h[1, 0] * z0 + h[1, 1] * z1))).reshape(p.shape)


def test_the_cases_cover_every_torch_and_package_optimizer() -> None:
    origins = {k: get_optimizer(k).origin for k in optviz.list_optimizers()}
    assert set(TORCH_CASES) == {k for k, o in origins.items() if o == "torch"}
    assert set(PACKAGE_CASES) == {k for k, o in origins.items() if o == "package"}


@pytest.mark.parametrize(
    "key", [k for k in optviz.list_optimizers() if get_optimizer(k).execution != "elementwise"]
)
def test_a_wrong_execution_declaration_would_be_caught(key: str, monkeypatch) -> None:
    """Run a per-tensor or per-particle optimizer as if it were elementwise (all particles as
    rows of one leaf): its result no longer equals the plain loop, which the exactness tests
    above would report. So the registry's declaration is checked, not trusted."""
    import dataclasses

    from optviz.optimizers import registry

    spec = get_optimizer(key)
    wrong = dataclasses.replace(spec, execution="elementwise", needs_closure=False)
    monkeypatch.setitem(registry.REGISTRY, key, wrong)
    starts = [(-1.5, 2.0), (0.5, -0.5)]
    try:
        result = simulate("rosenbrock", [(key, CASES.get(key, [{}])[0])], starts, steps=20,
                          gradient="autograd")
    except (RuntimeError, ValueError, TypeError):
        return  # refused outright (e.g. Muon needs 2-D parameters): also caught
    monkeypatch.setitem(registry.REGISTRY, key, spec)
    expected = plain_loop("rosenbrock", key, CASES.get(key, [{}])[0], starts[0], 20)
    assert not np.array_equal(result.xy[0, 0], expected)


@pytest.mark.parametrize("surface", sorted(SURFACE_STARTS))
@pytest.mark.parametrize("key", sorted(CASES))
def test_every_row_equals_a_plain_torch_optim_loop(key: str, surface: str) -> None:
    starts = SURFACE_STARTS[surface]
    steps = 40 if key == "lbfgs" else 150
    runs = [(key, hp) for hp in CASES[key]]
    result = simulate(surface, runs, starts, steps=steps, gradient="autograd", noise=0.0)
    assert (result.diverged_at == -1).all()
    for r, (_, hp) in enumerate(runs):
        for s, start in enumerate(starts):
            expected = plain_loop(surface, key, hp, start, steps)
            np.testing.assert_array_equal(result.xy[r, s], expected)


@pytest.mark.parametrize("key", sorted(CASES))
def test_closed_form_gradient_tracks_autograd(key: str) -> None:
    runs = [(key, CASES[key][0])]
    starts = SURFACE_STARTS["rosenbrock"]
    closed = simulate("rosenbrock", runs, starts, steps=60, noise=0.0)
    auto = simulate("rosenbrock", runs, starts, steps=60, noise=0.0, gradient="autograd")
    np.testing.assert_allclose(closed.xy, auto.xy, rtol=1e-9, atol=1e-10)
    # Gradients amplify position differences by the curvature (|H| ~ 10³ on Rosenbrock).
    np.testing.assert_allclose(closed.grad, auto.grad, rtol=1e-9, atol=1e-7)


def test_shapes_start_row_and_recorded_gradient() -> None:
    starts = [(-1.5, 2.0), (0.0, -0.5), (1.2, 1.2)]
    r = simulate("rosenbrock", [("adam", {"lr": 0.05}), ("sgd", {"lr": 1e-3})], starts, steps=25)
    assert r.xy.shape == (2, 3, 26, 2) and r.loss.shape == (2, 3, 26) and r.grad.shape == r.xy.shape
    assert r.diverged_at.shape == (2, 3)
    np.testing.assert_array_equal(r.xy[:, :, 0], np.broadcast_to(np.array(starts), (2, 3, 2)))
    surf = optviz.get_surface("rosenbrock")
    xy = torch.from_numpy(r.xy.reshape(-1, 2))
    np.testing.assert_allclose(r.loss.reshape(-1), surf.f(xy).numpy(), rtol=1e-12)
    np.testing.assert_allclose(r.grad.reshape(-1, 2), surf.grad(xy).numpy(), rtol=1e-12)
    assert r.runs[0][0] == "adam" and r.runs[0][1]["lr"] == 0.05


def test_a_start_alone_equals_the_same_start_in_a_batch_of_100_with_noise() -> None:
    rng = np.random.default_rng(1)
    starts = rng.uniform(-2.5, 2.5, size=(100, 2))
    runs = [("adam", {"lr": 0.05}), ("sgd", {"lr": 0.02, "momentum": 0.9}), ("newton", {})]
    batch = simulate("noisy_quadratic", runs, starts, steps=200, seed=7, noise=0.5)
    alone = simulate("noisy_quadratic", runs[:1], starts[:1], steps=200, seed=7, noise=0.5)
    np.testing.assert_array_equal(batch.xy[0, 0], alone.xy[0, 0])
    np.testing.assert_array_equal(batch.grad[0, 0], alone.grad[0, 0])
    # Noise depends on (seed, run index, start index) only: any prefix of the scene reproduces it.
    for r in range(len(runs)):
        for s in (37, 99):
            prefix = simulate(
                "noisy_quadratic", runs[: r + 1], starts[: s + 1], steps=200, seed=7, noise=0.5
            )
            np.testing.assert_array_equal(batch.xy[r, s], prefix.xy[r, s])
            np.testing.assert_array_equal(batch.grad[r, s], prefix.grad[r, s])
    assert np.isfinite(batch.xy).all()


def test_noise_is_gaussian_reproducible_and_seeded() -> None:
    starts = np.zeros((400, 2)) + 0.5
    runs = [("sgd", {"lr": 1e-6})]
    a = simulate("noisy_quadratic", runs, starts, steps=50, seed=3, noise=0.7)
    b = simulate("noisy_quadratic", runs, starts, steps=50, seed=3, noise=0.7)
    c = simulate("noisy_quadratic", runs, starts, steps=50, seed=4, noise=0.7)
    np.testing.assert_array_equal(a.xy, b.xy)
    assert not np.array_equal(a.grad, c.grad)
    surf = optviz.get_surface("noisy_quadratic")
    exact = surf.grad(torch.from_numpy(a.xy.reshape(-1, 2))).numpy().reshape(a.grad.shape)
    eps = (a.grad - exact) / 0.7
    assert abs(eps.mean()) < 0.02
    assert abs(eps.std() - 1.0) < 0.02
    assert abs(np.corrcoef(eps[..., 0].ravel(), eps[..., 1].ravel())[0, 1]) < 0.03


def test_surface_default_noise_applies_when_noise_is_none() -> None:
    surf = optviz.get_surface("noisy_quadratic")
    assert surf.noise > 0
    r = simulate("noisy_quadratic", [("sgd", {"lr": 0.01})], [(1.0, 1.0)], steps=5)
    assert r.noise == surf.noise
    exact = simulate("noisy_quadratic", [("sgd", {"lr": 0.01})], [(1.0, 1.0)], steps=5, noise=0.0)
    assert not np.array_equal(r.xy, exact.xy)


def test_divergence_is_recorded_nan_filled_and_isolated() -> None:
    starts = [(-1.5, 2.0), (1.2, 1.2)]
    r = simulate("rosenbrock", [("sgd", {"lr": 1.0}), ("sgd", {"lr": 1e-3})], starts, steps=50)
    k = r.diverged_at[0, 0]
    assert 0 < k <= 5
    assert np.isfinite(r.xy[0, 0, :k]).all()
    assert np.isnan(r.xy[0, 0, k:]).all() and np.isnan(r.loss[0, 0, k:]).all()
    assert (r.diverged_at[1] == -1).all()
    alone = simulate("rosenbrock", [("sgd", {"lr": 1e-3})], starts, steps=50)
    np.testing.assert_array_equal(alone.xy[0], r.xy[1])


def test_finite_runaway_is_caught_by_the_bound() -> None:
    # SGD with lr 1 on x² − y²: y triples every step and stays finite long past the bound.
    r = simulate("saddle", [("sgd", {"lr": 1.0})], [(0.5, 0.01)], steps=40)
    y = 0.01 * 3.0 ** np.arange(41)
    expected = int(np.argmax((y > POSITION_BOUND) | (y * y - 0.25 > LOSS_BOUND)))
    assert r.diverged_at[0, 0] == expected
    np.testing.assert_allclose(r.xy[0, 0, :expected, 1], y[:expected], rtol=1e-12)
    assert np.isnan(r.xy[0, 0, expected:]).all()


def test_diverging_row_leaves_its_batch_mates_exact() -> None:
    # lr 0.0019 is stable near the minimum (2 / λ_max ≈ 0.002) but not from (−2, 3).
    starts = [(-2.0, 3.0), (0.9, 0.8)]
    both = simulate("rosenbrock", [("sgd", {"lr": 0.0019})], starts, steps=200)
    assert both.diverged_at[0, 0] >= 0 and both.diverged_at[0, 1] == -1
    alone = simulate("rosenbrock", [("sgd", {"lr": 0.0019})], [starts[1]], steps=200)
    np.testing.assert_array_equal(both.xy[0, 1], alone.xy[0, 0])


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"steps": 0}, "steps"),
        ({"steps": MAX_STEPS + 1}, "steps"),
        ({"starts": np.zeros((100_001, 2)), "steps": 1}, "particles"),
        ({"starts": np.zeros((10_000, 2)), "steps": 5_001}, "particle-steps"),
        ({"starts": [(0.0, float("nan"))]}, "finite"),
        ({"starts": [(0.0, 1.0, 2.0)]}, r"starts\[0\] must be an \(x, y\) pair"),
        ({"noise": -1.0}, "noise"),
        ({"noise": float("inf")}, "noise"),
        ({"gradient": "numeric"}, "gradient"),
    ],
)
def test_limits_and_bad_arguments_raise_value_error(kwargs: dict, message: str) -> None:
    args = {"starts": [(0.0, 0.0)], "steps": 10} | kwargs
    with pytest.raises(ValueError, match=message):
        simulate("rosenbrock", [("adam", {})], **args)


def test_unknown_optimizer_and_bad_hyperparameters_raise() -> None:
    with pytest.raises(ValueError, match=r"runs\[0\]: unknown optimizer 'nope'"):
        simulate("rosenbrock", [("nope", {})], [(0.0, 0.0)], steps=5)
    with pytest.raises(ValueError):
        simulate("rosenbrock", [("adam", {"lr": -1.0})], [(0.0, 0.0)], steps=5)


def test_own_optimizers_batched_equal_one_at_a_time() -> None:
    starts = [(-1.2, 1.0), (0.3, -0.4), (1.5, 2.5)]
    for key in ("newton", "diag_newton", "vsgd", "adagrad_full", "natural_gradient"):
        batch = simulate("rosenbrock", [(key, {})], starts, steps=60)
        for s, start in enumerate(starts):
            alone = simulate("rosenbrock", [(key, {})], [start], steps=60)
            np.testing.assert_array_equal(batch.xy[0, s], alone.xy[0, 0], err_msg=key)


def test_every_parameter_stays_a_view_of_the_shared_rows() -> None:
    """The runner reads all points from one (M, 2) tensor and hands out all gradients with one
    copy into another: every class must update its parameters in place and read ``p.grad``
    without replacing it. After stepping, each parameter (and its ``.grad``) still views the
    shared tensors and holds the last recorded position, for every optimizer in the registry."""
    from optviz.runner import _prepare, _Simulation

    keys = optviz.list_optimizers()
    starts = [(-1.5, 2.0), (0.5, -0.5)]
    setup = _prepare("rosenbrock", [(k, {}) for k in keys], starts, 12, 0, 0.0, "closed_form",
                     None)
    with torch.no_grad():
        sim = _Simulation(*setup[:9], False, None)
        result = sim.run()
    assert (result.diverged_at == -1).all()
    for group in sim.groups:
        key = keys[group.run]
        for leaf in group.leaves:
            assert leaf.untyped_storage().data_ptr() == sim.points.untyped_storage().data_ptr()
            assert leaf.grad.untyped_storage().data_ptr() == sim.grads.untyped_storage().data_ptr()
        own = torch.cat([leaf.detach().reshape(-1, 2) for leaf in group.leaves])
        assert torch.equal(own, sim.points[group.rows]), key
        assert torch.equal(own, torch.from_numpy(result.xy[group.run, group.starts, -1])), key


def test_newton_through_simulate_reaches_rosenbrock_minimum() -> None:
    r = simulate("rosenbrock", [("newton", {})], [(-1.2, 1.0)], steps=10)
    np.testing.assert_allclose(r.xy[0, 0, -1], [1.0, 1.0], atol=1e-6)
    auto = simulate("rosenbrock", [("newton", {})], [(-1.2, 1.0)], steps=10, gradient="autograd")
    np.testing.assert_allclose(auto.xy, r.xy, atol=1e-9)


def test_recorded_state_follows_the_optimizer() -> None:
    r = simulate(
        "rosenbrock",
        [("adam", {"lr": 0.05, "amsgrad": True}), ("lbfgs", {})],
        [(-1.5, 2.0), (0.0, 0.0)],
        steps=80,
        record_state=True,
    )
    assert r.state is not None and len(r.state) == 2
    adam_state = r.state[0]
    assert adam_state["exp_avg"].shape == (2, 81, 2)
    assert np.isnan(adam_state["exp_avg"][:, 0]).all()  # no state before the first step
    maxes = adam_state["max_exp_avg_sq"][:, 1:]
    assert (np.diff(maxes, axis=1) >= 0).all()
    lbfgs = r.state[1]  # not its whole-parameter history: the step it took
    assert set(lbfgs) == {"direction", "step_length", "iterations", "evaluations"}
    assert lbfgs["direction"].shape == (2, 81, 2) and lbfgs["step_length"].shape == (2, 81)
    assert np.isnan(lbfgs["direction"][:, 0]).all()
    moved = lbfgs["step_length"][:, 1:, None] * lbfgs["direction"][:, 1:]
    diff = np.diff(r.xy[1], axis=1)
    stepped = (diff != 0).any(axis=-1)
    assert stepped[:, 0].all() and not stepped.all()
    np.testing.assert_allclose(moved[stepped], diff[stepped], rtol=1e-12, atol=1e-15)
    # no move: torch stops before its line search when d is no descent direction (gᵀd > −1e-9)
    gtd = (r.grad[1, :, :-1] * lbfgs["direction"][:, 1:]).sum(axis=-1)
    assert (gtd[~stepped] > -1e-9).all()
    assert r.lr is not None and r.lr.shape == (2, 2, 81)
    assert (r.lr[0] == 0.05).all() and (r.lr[1] == 1.0).all()


def test_recorded_state_equals_torchs_own_state_after_k_steps() -> None:
    r = simulate(
        "rosenbrock",
        [("adam", {"lr": 0.05})],
        [(-1.5, 2.0)],
        steps=30,
        record_state=True,
        gradient="autograd",
    )
    surf = optviz.get_surface("rosenbrock")
    p = torch.tensor([-1.5, 2.0], dtype=torch.float64, requires_grad=True)
    opt = torch.optim.Adam([p], lr=0.05)
    for k in range(1, 31):
        opt.zero_grad()
        surf.f(p).backward()
        opt.step()
        for name in ("exp_avg", "exp_avg_sq"):
            np.testing.assert_array_equal(r.state[0][name][0, k], opt.state[p][name].numpy())


@pytest.mark.parametrize("key", ["adafactor", "muon", "lamb", "soap"])
def test_per_tensor_state_of_a_batch_equals_each_start_alone(key: str) -> None:
    """A per-tensor run records each parameter's state stacked over its particles; that equals
    the same start run alone (one parameter), state by state and step by step."""
    starts = [(-1.5, 2.0), (0.5, -0.5), (1.2, 1.0)]
    batch = simulate("rosenbrock", [(key, {})], starts, steps=25, record_state=True)
    assert batch.state[0], key
    for s, start in enumerate(starts):
        alone = simulate("rosenbrock", [(key, {})], [start], steps=25, record_state=True)
        for name, values in batch.state[0].items():
            np.testing.assert_array_equal(values[s], alone.state[0][name][0], err_msg=name)


def test_loss_bound_is_relative_to_the_start() -> None:
    steep = optviz.surface_from_formula("1e13*(x**2 + y**2) + 1e14", ((-2, 2), (-2, 2)))
    r = simulate(steep, [("adam", {"lr": 0.01})], [(1.0, 1.0)], steps=20)
    assert r.diverged_at[0, 0] == -1 and np.isfinite(r.xy).all()


@pytest.mark.parametrize(
    ("seed", "error"),
    [(-1, ValueError), (2**64, ValueError), (1.5, TypeError), (True, TypeError), ("0", TypeError)],
)
def test_bad_seeds_are_refused(seed, error) -> None:
    with pytest.raises(error, match="seed"):
        simulate("rosenbrock", [("adam", {})], [(0.0, 0.0)], steps=3, seed=seed)


def test_autograd_newton_on_a_linear_surface_does_not_crash() -> None:
    plane = optviz.surface_from_formula("x + y", ((-2, 2), (-2, 2)))
    r = simulate(plane, [("newton", {"damping": 1.0})], [(0.5, 0.5)], steps=3, gradient="autograd")
    np.testing.assert_allclose(r.xy[0, 0, 1], [-0.5, -0.5])  # −(0 + I)⁻¹·(1, 1)


def test_several_newton_runs_share_one_hessian_evaluation_exactly() -> None:
    starts = [(-1.2, 1.0), (0.3, -0.4)]
    runs = [("newton", {"lr": 0.5}), ("adam", {"lr": 0.05}), ("newton", {"damping": 2.0})]
    together = simulate("rosenbrock", runs, starts, steps=25)
    for r, run in enumerate(runs):
        alone = simulate("rosenbrock", [run], starts, steps=25)
        np.testing.assert_array_equal(together.xy[r], alone.xy[0])


def test_time_limit_stops_a_heavy_scene_with_a_clear_error() -> None:
    from optviz.runner import SimulationTimeout

    with pytest.raises(SimulationTimeout, match="too heavy"):
        simulate(
            "rastrigin", [("lbfgs", {})], np.zeros((50, 2)) + 1.0, steps=10_000, time_limit=0.0
        )


# --- the diagonal methods' curvature: exact by default, stable to rounding -------------------


@pytest.mark.parametrize("key", ["vsgd", "diag_newton"])
def test_exact_curvature_is_stable_where_the_secant_amplified_rounding(key: str) -> None:
    """Beale from (1, 1.5): with the secant, vSGD's averaged curvature reached 8e12 (the true
    diagonal is at most a few hundred along the path) and a 1e-15 change of the start, or the
    autograd instead of the closed-form gradient (1e-14 apart), moved the end by 1e-2. With the
    exact diagonal both stay below 1e-9, and h̄ stays within the Hessian diagonal's range."""
    starts = [(1.0, 1.5), (1.0 + 1e-15, 1.5)]
    name = "h_avg" if key == "vsgd" else "curvature"
    exact = simulate("beale", [(key, {})], starts, steps=300, record_state=True)
    autograd = simulate("beale", [(key, {})], starts[:1], steps=300, gradient="autograd")
    assert np.abs(exact.xy[0, 0] - exact.xy[0, 1]).max() < 1e-9
    assert np.abs(exact.xy[0, 0] - autograd.xy[0, 0]).max() < 1e-9
    surface = optviz.get_surface("beale")
    path = torch.from_numpy(exact.xy[0, 0])
    diagonal = surface.hessian(path).diagonal(dim1=-2, dim2=-1).abs().numpy()
    h_bar = exact.state[0][name][0, 1:]  # after each step
    scale = 2.0 if key == "vsgd" else 1.0  # vSGD's slow start inflates h̄ by C = 2
    assert np.nanmax(h_bar) <= scale * max(diagonal.max(), 1.0) * (1 + 1e-12)
    secant = simulate("beale", [(key, {"curvature": "secant"})], starts, steps=300)
    assert np.abs(secant.xy[0, 0] - secant.xy[0, 1]).max() > 1e-4  # what the default avoids


# --- schedules and clipping: the same torch objects a training loop uses ---------------------

SCHEDULE_CASES = [
    {"name": "StepLR", "step_size": 20, "gamma": 0.5},
    {"name": "MultiStepLR", "milestones": [10, 30], "gamma": 0.3},
    {"name": "ExponentialLR", "gamma": 0.97},
    {"name": "CosineAnnealingLR", "T_max": 40, "eta_min": 1e-4},
    {"name": "CosineAnnealingWarmRestarts", "T_0": 15, "T_mult": 2},
    {"name": "OneCycleLR", "max_lr": 0.002},
    {"name": "LinearLR", "start_factor": 0.1, "total_iters": 25},
    {"name": "warmup_cosine", "warmup": 10},
]


def plain_loop_with_extras(key, kwargs, extras, start, steps, sigma=0.0, seed=0, run=0, i=0):
    """A training loop: backward, noise, clip_grad_value_/clip_grad_norm_ on this one
    parameter, step, scheduler.step(): torch's own objects throughout."""
    from torch.optim import lr_scheduler

    from optviz import noise as noise_stream
    from optviz.optimizers.schedules import check_extras

    extras = check_extras(extras, steps, kwargs.get("lr"))
    surf = optviz.get_surface("rosenbrock")
    spec = get_optimizer(key)
    p = torch.tensor(start, dtype=torch.float64, requires_grad=True)
    opt = spec.cls([p], **spec.validate(kwargs))
    sched = None
    if "schedule" in extras:
        s = dict(extras["schedule"])
        name = s.pop("name")
        if name == "warmup_cosine":
            sched = lr_scheduler.SequentialLR(opt, [
                lr_scheduler.LinearLR(opt, start_factor=s["start_factor"], total_iters=s["warmup"]),
                lr_scheduler.CosineAnnealingLR(opt, T_max=s["T_max"], eta_min=s["eta_min"]),
            ], milestones=[s["warmup"]])
        else:
            if name == "OneCycleLR":
                s["cycle_momentum"] = False
            if name == "MultiStepLR":
                s["milestones"] = list(s["milestones"])
            sched = getattr(lr_scheduler, name)(opt, **s)
    keys = noise_stream.particle_keys(seed, np.array([run]), np.array([i]))
    path = [p.detach().clone()]
    for step in range(steps):
        opt.zero_grad()
        surf.f(p).backward()
        if sigma:
            with torch.no_grad():
                p.grad += torch.from_numpy(noise_stream.standard_normal(keys, step)[0]).mul_(sigma)
        if "clip_value" in extras:
            torch.nn.utils.clip_grad_value_([p], extras["clip_value"])
        if "clip_norm" in extras:
            torch.nn.utils.clip_grad_norm_([p], extras["clip_norm"])
        opt.step()
        if sched is not None:
            sched.step()
        path.append(p.detach().clone())
    return torch.stack(path).numpy()


@pytest.mark.parametrize("schedule", SCHEDULE_CASES, ids=lambda s: s["name"])
def test_every_schedule_equals_a_plain_loop_with_the_same_scheduler(schedule) -> None:
    starts = [(-1.5, 2.0), (0.5, -0.5)]
    runs = [("sgd", {"lr": 1e-3, "momentum": 0.9}, {"schedule": schedule}),
            ("adam", {"lr": 0.05}, {"schedule": schedule})]
    result = simulate("rosenbrock", runs, starts, steps=60, gradient="autograd")
    for r, (key, kwargs, extras) in enumerate(runs):
        for s, start in enumerate(starts):
            expected = plain_loop_with_extras(key, kwargs, extras, start, 60)
            at = result.diverged_at[r, s]
            n = 61 if at < 0 else at  # optviz stops a diverged run; the loop goes on
            np.testing.assert_array_equal(result.xy[r, s, :n], expected[:n], err_msg=f"{key} {s}")


@pytest.mark.parametrize(
    "extras",
    [{"clip_norm": 1.0}, {"clip_value": 0.5}, {"clip_norm": 2.0, "clip_value": 1.0},
     {"clip_norm": 0.3, "schedule": {"name": "ExponentialLR", "gamma": 0.98}}],
    ids=["norm", "value", "both", "norm+schedule"],
)
@pytest.mark.parametrize("sigma", [0.0, 3.0])
def test_clipping_acts_on_each_particle_alone_as_torch_does(extras, sigma) -> None:
    starts = [(-1.5, 2.0), (0.5, -0.5), (0.9, 0.8)]
    runs = [("sgd", {"lr": 1e-3}, extras), ("rmsprop", {"lr": 0.01}, extras)]
    result = simulate("rosenbrock", runs, starts, steps=50, gradient="autograd", noise=sigma,
                      seed=3)
    for r, (key, kwargs, ex) in enumerate(runs):
        for s, start in enumerate(starts):
            expected = plain_loop_with_extras(key, kwargs, ex, start, 50, sigma, 3, r, s)
            np.testing.assert_array_equal(result.xy[r, s], expected, err_msg=f"{key} {s}")
    if "clip_norm" in extras and "clip_value" not in extras:  # the recorded gradient is clipped
        norms = np.linalg.norm(result.grad[:, :, :-1], axis=-1)
        assert norms.max() <= extras["clip_norm"] * (1 + 1e-12)


def test_schedules_and_clipping_reach_lbfgs_and_per_tensor_optimizers() -> None:
    runs = [("lbfgs", {}, {"clip_norm": 5.0, "schedule": {"name": "StepLR", "step_size": 5}}),
            ("muon", {}, {"schedule": {"name": "CosineAnnealingLR"}})]
    r = simulate("rosenbrock", runs, [(-1.5, 2.0)], steps=30)
    assert (r.diverged_at == -1).all()
    assert r.loss[:, 0, -1].max() < 12.5


@pytest.mark.parametrize(
    ("extras", "error", "match"),
    [
        ({"schedule": {"name": "ReduceLROnPlateau"}}, ValueError, "schedule name"),
        ({"schedule": {"name": "StepLR", "step_size": 0}}, ValueError, "step_size"),
        ({"schedule": {"name": "StepLR", "gama": 0.5}}, ValueError, "unknown argument"),
        ({"schedule": {"name": "OneCycleLR", "total_steps": 5}}, ValueError, "total_steps"),
        ({"schedule": {"name": "MultiStepLR", "milestones": [30, 10]}}, ValueError, "increasing"),
        ({"schedule": "cosine"}, TypeError, "schedule"),
        ({"clip_norm": 0.0}, ValueError, "clip_norm"),
        ({"clip_norm": 10**400}, ValueError, "clip_norm"),
        ({"clip": 1.0}, ValueError, "unknown key"),
        ([1], TypeError, "extras"),
    ],
)
def test_bad_extras_are_refused_naming_the_field(extras, error, match) -> None:
    with pytest.raises(error, match=match):
        simulate("rosenbrock", [("sgd", {}, extras)], [(0.0, 0.0)], steps=10)


def test_a_schedule_needs_a_learning_rate() -> None:
    with pytest.raises(ValueError, match=r"runs\[0\]: schedule: this optimizer has no learning"):
        simulate("rosenbrock", [("vsgd", {}, {"schedule": {"name": "StepLR"}})], [(0.0, 0.0)],
                 steps=10)


# --- Schedule-Free: the path is the average x, gradients are taken at y ----------------------


def test_schedule_free_records_x_and_keeps_y_as_the_gradient_point() -> None:
    starts = [(-1.5, 2.0), (0.5, -0.5)]
    r = simulate("rosenbrock", [("adamw_schedulefree", {"lr": 0.05})], starts, steps=60,
                 record_state=True)
    surf = optviz.get_surface("rosenbrock")
    xy = torch.from_numpy(r.xy[0].reshape(-1, 2))
    np.testing.assert_allclose(r.grad[0].reshape(-1, 2), surf.grad(xy).numpy(), rtol=1e-12)
    y, z = r.state[0]["grad_point"], r.state[0]["z"]
    assert np.isnan(y[:, -1]).all()  # no gradient is taken after the last step
    np.testing.assert_array_equal(y[:, 0], r.xy[0, :, 0])  # x₁ = y₁ = z₁ = θ₀
    # y = (1 − β₁)z + β₁x (train() from eval mode), and y really differs from the drawn x
    np.testing.assert_allclose(y[:, 1:-1], 0.1 * z[:, 1:-1] + 0.9 * r.xy[0, :, 1:-1],
                               rtol=1e-12, atol=1e-12)
    assert np.abs(y[:, 1:-1] - r.xy[0, :, 1:-1]).max() > 1e-3


def test_schedule_free_with_noise_is_batch_independent() -> None:
    """Both evaluations of a step (x for the record, y for the step) use the particle's own
    draw, so any prefix of the scene reproduces its rows exactly."""
    rng = np.random.default_rng(3)
    starts = rng.uniform(-2.0, 2.0, size=(30, 2))
    runs = [("adam", {"lr": 0.05}), ("adamw_schedulefree", {"lr": 0.05})]
    batch = simulate("noisy_quadratic", runs, starts, steps=80, seed=5, noise=0.5)
    for s in (0, 17, 29):
        prefix = simulate("noisy_quadratic", runs, starts[: s + 1], steps=80, seed=5, noise=0.5)
        np.testing.assert_array_equal(batch.xy[1, s], prefix.xy[1, s])
        np.testing.assert_array_equal(batch.grad[1, s], prefix.grad[1, s])
