"""optviz.analysis: streaming metrics, sweep, basins, tune; every cell against simulate()."""

from __future__ import annotations

import dataclasses
import random

import numpy as np
import pytest
import torch

import optviz
from optviz import runner
from optviz.analysis import batched
from optviz.analysis.metrics import METRICS, StreamingMetrics, score
from optviz.runner import simulate, stream
from optviz.surfaces import surface_from_formula


def reference(r: optviz.Trajectories, run: int, start: int, surface, tol: float,
              radius: float = 0.0) -> dict:
    """The metrics of one simulate() trajectory, computed from its full history."""
    loss, xy = r.loss[run, start], r.xy[run, start]
    if r.diverged_at[run, start] >= 0:
        return {"final_loss": np.inf, "mean_loss": np.inf, "steps_to_tol": -1,
                "distance_to_minimum": np.inf, "minimum_index": -2}
    f_star = surface.minimum_value or 0.0
    hits = np.flatnonzero(loss <= f_star + tol)
    out = {"final_loss": loss[-1], "mean_loss": np.add.accumulate(loss)[-1] / len(loss),
           "steps_to_tol": int(hits[0]) if hits.size else -1}
    if surface.minima:
        d = np.sqrt(((xy[-1] - np.asarray(surface.minima)) ** 2).sum(-1))
        out["distance_to_minimum"] = d.min()
        out["minimum_index"] = int(d.argmin()) if d.min() <= radius else -1
    return out


def assert_cell(metrics, index, expected: dict) -> None:
    for name, value in expected.items():
        got = metrics.get(name)[index]
        assert got == value or (np.isnan(got) and np.isnan(value)), (name, index, got, value)


# ----------------------------------------------------------------------------- streaming runner


def test_stream_reports_exactly_what_simulate_records() -> None:
    runs = [("adam", {"lr": 0.05}), ("sgd", {"lr": 1e-3, "momentum": 0.9}), ("lbfgs", {})]
    starts = [(-1.5, 2.0), (0.5, -0.5)]
    r = simulate("rosenbrock", runs, starts, steps=40, seed=3, noise=0.2)
    seen = []
    stream("rosenbrock", runs, starts, lambda step, xy, loss, grad, ok: seen.append(
        (xy.clone(), loss.clone(), grad.clone(), ok.clone())), steps=40, seed=3, noise=0.2)
    assert len(seen) == 41
    for step, (xy, loss, grad, ok) in enumerate(seen):
        assert ok.all()
        np.testing.assert_array_equal(xy.numpy().reshape(3, 2, 2), r.xy[:, :, step])
        np.testing.assert_array_equal(loss.numpy().reshape(3, 2), r.loss[:, :, step])
        np.testing.assert_array_equal(grad.numpy().reshape(3, 2, 2), r.grad[:, :, step])


def test_stream_common_noise_gives_each_run_its_solo_noise() -> None:
    runs = [("sgd", {"lr": 1e-3}), ("sgd", {"lr": 2e-3})]
    last = {}
    stream("noisy_quadratic", runs, [(1.0, 1.0)], lambda s, xy, *_: last.update(xy=xy.clone()),
           steps=30, seed=5, common_noise=True)
    for k, run in enumerate(runs):
        solo = simulate("noisy_quadratic", [run], [(1.0, 1.0)], steps=30, seed=5)
        np.testing.assert_array_equal(last["xy"][k].numpy(), solo.xy[0, 0, -1])


def test_stream_allocates_no_history(monkeypatch: pytest.MonkeyPatch) -> None:
    """The loop's buffers are one step deep: nothing sized by steps + 1 is allocated."""
    shapes = []
    real_empty = torch.empty

    def spy(*args, **kwargs):
        shapes.append(tuple(args[0]) if args and isinstance(args[0], tuple) else args)
        return real_empty(*args, **kwargs)

    monkeypatch.setattr(runner.torch, "empty", spy)
    stream("himmelblau", [("adam", {"lr": 0.05})], [(0.0, 0.0)] * 3, lambda *a: None, steps=57)
    assert shapes and all(57 + 1 not in s for s in shapes), shapes
    shapes.clear()
    simulate("himmelblau", [("adam", {"lr": 0.05})], [(0.0, 0.0)] * 3, steps=57)
    assert any(s and s[0] == 58 for s in shapes)  # the spy sees simulate's histories


def test_stream_refuses_bad_arguments() -> None:
    with pytest.raises(TypeError, match="on_step"):
        stream("rosenbrock", [("adam", {})], [(0.0, 0.0)], on_step=3, steps=5)
    with pytest.raises(ValueError, match="steps"):
        stream("rosenbrock", [("adam", {})], [(0.0, 0.0)], lambda *a: None, steps=0)


# ----------------------------------------------------------------------------- metrics


def test_streaming_metrics_equal_the_history_metrics_including_divergence() -> None:
    surf = optviz.get_surface("rosenbrock")
    runs = [("sgd", {"lr": 1.0}), ("adam", {"lr": 0.05}), ("sgd", {"lr": 1e-3})]
    starts = [(-1.5, 2.0), (1.2, 1.2)]
    r = simulate(surf, runs, starts, steps=300)
    assert r.diverged_at[0, 0] >= 0 and (r.diverged_at[1:] < 0).all()
    observer = StreamingMetrics(6, 300, surf.minima, surf.minimum_value, tol=0.05, radius=0.1)
    stream(surf, runs, starts, observer, steps=300)
    m = observer.result().reshape(3, 2)
    for run in range(3):
        for start in range(2):
            assert_cell(m, (run, start), reference(r, run, start, surf, 0.05, radius=0.1))
    assert m.diverged[0, 0] and not m.diverged[1:].any()
    assert np.isnan(m.final_xy[0, 0]).all()
    assert (m.steps_to_tol[1] >= 0).any()  # the tolerance is reached somewhere


def test_score_ranks_diverged_and_never_reached() -> None:
    surf = optviz.get_surface("rosenbrock")
    observer = StreamingMetrics(2, 10, surf.minima, surf.minimum_value)
    stream(surf, [("sgd", {"lr": 1.0}), ("sgd", {"lr": 1e-4})], [(-1.5, 2.0)], observer, steps=10)
    m = observer.result().reshape(2, 1)
    assert score(m, "steps_to_tol", 10).tolist() == [np.inf, 11.0]
    assert np.isinf(score(m, "final_loss", 10)[0]) and np.isfinite(score(m, "mean_loss", 10)[1])
    with pytest.raises(ValueError, match="criterion"):
        score(m, "loss", 10)


# ----------------------------------------------------------------------------- batched kernels


def random_setting(key: str, rng: random.Random) -> dict:
    """Mixed options per kernel: momentum on/off, Nesterov, AMSGrad, centered, weight decay."""
    kw: dict = {"lr": 10 ** rng.uniform(-4, -0.5), "weight_decay": rng.choice([0.0, 0.05])}
    if key == "sgd":
        kw["momentum"] = rng.choice([0.0, rng.uniform(0.1, 0.95)])
        if kw["momentum"] and rng.random() < 0.5:
            kw["nesterov"] = True
        elif kw["momentum"]:
            kw["dampening"] = rng.choice([0.0, 0.3])
    elif key in ("adam", "adamw"):
        kw.update(betas=(rng.uniform(0.0, 0.99), rng.uniform(0.5, 0.9999)),
                  amsgrad=rng.random() < 0.4)
    elif key == "rmsprop":
        kw.update(alpha=rng.uniform(0.5, 0.999), momentum=rng.choice([0.0, 0.5]),
                  centered=rng.random() < 0.4)
    elif key == "adagrad":
        kw.update(lr_decay=rng.choice([0.0, 0.01]),
                  initial_accumulator_value=rng.choice([0.0, 0.1]))
    elif key in ("adamax", "nadam"):
        kw["betas"] = (rng.uniform(0.0, 0.99), rng.uniform(0.5, 0.9999))
        if key == "nadam":
            kw.update(momentum_decay=rng.choice([0.004, 0.01]),
                      decoupled_weight_decay=rng.random() < 0.5)
    elif key == "adadelta":
        kw.update(rho=rng.uniform(0.5, 0.99), eps=rng.choice([1e-6, 1e-4]))
    elif key == "radam":  # β₂ = 0.9 reaches the rectified branch (ρ_t > 5) within the run
        kw.update(betas=(rng.uniform(0.0, 0.99), rng.choice([0.6, 0.9, 0.999])),
                  decoupled_weight_decay=rng.random() < 0.5)
    elif key == "rprop":
        del kw["weight_decay"]
        kw.update(etas=(rng.uniform(0.2, 0.8), rng.uniform(1.05, 2.0)),
                  step_sizes=(rng.choice([1e-6, 1e-4]), rng.choice([0.5, 50.0])))
    elif key == "asgd":
        kw.update(lambd=rng.choice([1e-4, 1e-2]), alpha=rng.uniform(0.5, 1.0),
                  t0=rng.choice([10.0, 1e6]))
    return optviz.get_optimizer(key).validate(kw)


@pytest.mark.parametrize("key", sorted(batched.KERNELS))
@pytest.mark.parametrize("surface", ["rosenbrock", "himmelblau"])
def test_batched_kernel_is_bit_identical_to_torch_optim(key: str, surface: str) -> None:
    """Eight mixed settings as rows of one leaf (with noise) vs simulate of each alone."""
    from optviz.analysis.engine import evaluate

    surf = optviz.get_surface(surface)
    rng = random.Random(f"{key}/{surface}")
    settings = [random_setting(key, rng) for _ in range(8)]
    assert batched.supports(key, settings)
    starts = np.array([(-1.5, 2.0), (1.0, -0.5)])
    m = evaluate(surf, key, settings, starts, steps=150, seed=1, noise=0.1, tol=1e-3)
    for k, kwargs in enumerate(settings):
        r = simulate(surf, [(key, kwargs)], starts, steps=150, seed=1, noise=0.1)
        for s in range(2):
            assert_cell(m, (k, s), reference(r, 0, s, surf, 1e-3))
            if r.diverged_at[0, s] < 0:
                np.testing.assert_array_equal(m.final_xy[k, s], r.xy[0, s, -1])


def test_supports_only_what_the_kernels_replay() -> None:
    assert batched.supports("adam", [optviz.get_optimizer("adam").validate({})])
    assert not batched.supports("adagrad_full", [optviz.get_optimizer("adagrad_full").validate({})])
    assert not batched.supports("adam", [{"lr": 0.1, "betas": (0.9, 0.99), "foo": 1}])


# ----------------------------------------------------------------------------- sweep


def test_sweep_phase_map_cells_equal_simulate() -> None:
    lrs, momenta = [1e-4, 1e-3, 3e-3], [0.0, 0.5, 0.9, 0.99]
    starts = [(-1.5, 2.0), (0.0, 0.0)]
    res = optviz.sweep("rosenbrock", "sgd", {"lr": lrs, "momentum": momenta}, starts,
                       steps=200, metric="mean_loss")
    assert res.values.shape == (3, 4, 2) and res.grid == {"lr": tuple(lrs),
                                                         "momentum": tuple(momenta)}
    np.testing.assert_array_equal(res.values, res.metrics.mean_loss)
    surf = optviz.get_surface("rosenbrock")
    for i, j in [(0, 0), (1, 2), (2, 3), (2, 1)]:
        kwargs = res.kwargs_at((i, j))
        assert kwargs["lr"] == lrs[i] and kwargs["momentum"] == momenta[j]
        r = simulate(surf, [("sgd", kwargs)], starts, steps=200)
        for s in range(2):
            assert_cell(res.metrics, (i, j, s), reference(r, 0, s, surf, 1e-6))
    assert res.diverged[2, 3].all() and not res.diverged[0].any()


def test_sweep_betas_by_element_and_base_kwargs() -> None:
    res = optviz.sweep("beale", ("adam", {"lr": 0.02, "amsgrad": True}),
                       {"beta1": [0.0, 0.9], "betas[1]": [0.9, 0.999]}, [(1.0, 1.0)], steps=100)
    assert res.kwargs_at((1, 0)) == {**res.base, "betas": (0.9, 0.9)}
    assert res.base["amsgrad"] is True
    r = simulate("beale", [("adam", res.kwargs_at((0, 1)))], [(1.0, 1.0)], steps=100)
    assert res.values[0, 1, 0] == r.loss[0, 0, -1]


@pytest.mark.parametrize("key", ["natural_gradient", "muon", "lbfgs"])
def test_sweep_without_kernel_runs_instances_in_the_same_loop(key: str) -> None:
    lrs = [0.01, 0.05]
    res = optviz.sweep("himmelblau", key, {"lr": lrs}, [(0.0, 0.0), (1.0, 1.0)], steps=30,
                       noise=0.05, seed=2)
    for i, lr in enumerate(lrs):
        r = simulate("himmelblau", [(key, {"lr": lr})], [(0.0, 0.0), (1.0, 1.0)], steps=30,
                     noise=0.05, seed=2)
        for s in range(2):
            assert_cell(res.metrics, (i, s),
                        reference(r, 0, s, optviz.get_surface("himmelblau"), 1e-6))


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"grid": [0.1]}, TypeError, "grid"),
        ({"grid": {}}, ValueError, "grid"),
        ({"grid": {"lr": []}}, ValueError, "grid"),
        ({"grid": {"lr": "0.1"}}, TypeError, "grid"),
        ({"grid": {"lr": ["a"]}}, TypeError, "grid"),
        ({"grid": {"beta3": [0.1]}}, ValueError, "beta3"),
        ({"grid": {"betas": [(0.9, 0.99)]}}, ValueError, "beta1"),
        ({"grid": {"lr": [-1.0]}}, ValueError, "lr"),
        ({"grid": {3: [0.1]}}, TypeError, "grid"),
        ({"optimizer": 3}, TypeError, "optimizer"),
        ({"optimizer": "nope"}, ValueError, "nope"),
        ({"optimizer": ("adam", 3)}, TypeError, "optimizer"),
        ({"optimizer": ("adam", {"lr": -1})}, ValueError, "optimizer"),
        ({"metric": "loss"}, ValueError, "metric"),
        ({"metric": 1}, TypeError, "metric"),
        ({"starts": "x"}, TypeError, "starts"),
        ({"steps": 0}, ValueError, "steps"),
        ({"surface": 3}, TypeError, "surface"),
        ({"surface": "nope"}, ValueError, "surface"),
        ({"grid": {"lr": [1e-3] * 65, "eps": [1e-8] * 65}}, ValueError, "cells"),
    ],
)
def test_sweep_refuses_bad_input(kwargs: dict, error: type, match: str) -> None:
    args = {"surface": "rosenbrock", "optimizer": "adam", "grid": {"lr": [0.1]},
            "starts": [(0.0, 0.0)], "steps": 5, **kwargs}
    with pytest.raises(error, match=match):
        optviz.sweep(**args)


# ----------------------------------------------------------------------------- basins


def test_basins_cells_equal_simulate_and_find_every_minimum() -> None:
    surf = optviz.get_surface("himmelblau")
    b = optviz.basins(surf, ("adam", {"lr": 0.1}), resolution=(7, 5), steps=300, tol=1e-6)
    assert b.xs.shape == (7,) and b.ys.shape == (5,)
    assert b.minimum_index.shape == b.steps_to_tol.shape == (5, 7)
    assert b.final_xy.shape == (5, 7, 2)
    assert (b.xs[0], b.xs[-1], b.ys[0], b.ys[-1]) == (-5.0, 5.0, -5.0, 5.0)
    assert set(np.unique(b.minimum_index)) == {0, 1, 2, 3}
    r = simulate(surf, [("adam", {"lr": 0.1})], b.starts, steps=300)
    for i, j in [(0, 0), (2, 3), (4, 6), (1, 5)]:
        s = i * 7 + j
        assert tuple(r.xy[0, s, 0]) == (b.xs[j], b.ys[i])
        expected = reference(r, 0, s, surf, 1e-6, radius=b.radius)
        assert b.minimum_index[i, j] == expected["minimum_index"]
        assert b.steps_to_tol[i, j] == expected["steps_to_tol"]
        np.testing.assert_array_equal(b.final_xy[i, j], r.xy[0, s, -1])


def test_basins_mark_diverged_starts() -> None:
    b = optviz.basins("rosenbrock", ("sgd", {"lr": 0.05}), resolution=(4, 4), steps=50)
    assert (b.minimum_index == -2).any() and ((b.minimum_index == -2) == (b.diverged_at >= 0)).all()
    assert (b.steps_to_tol[b.minimum_index == -2] == -1).all()
    assert np.isinf(b.final_loss[b.minimum_index == -2]).all()


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"resolution": 10}, TypeError, "resolution"),
        ({"resolution": (0, 3)}, ValueError, "resolution"),
        ({"resolution": (400, 400)}, ValueError, "resolution"),
        ({"resolution": (2.5, 3)}, TypeError, "resolution"),
        ({"tol": -1.0}, ValueError, "tol"),
        ({"radius": "a"}, TypeError, "radius"),
        ({"optimizer": ["adam"]}, TypeError, "optimizer"),
    ],
)
def test_basins_refuse_bad_input(kwargs: dict, error: type, match: str) -> None:
    args = {"surface": "himmelblau", "optimizer": ("adam", {"lr": 0.1}), "resolution": (3, 3),
            "steps": 5, **kwargs}
    with pytest.raises(error, match=match):
        optviz.basins(**args)


# ----------------------------------------------------------------------------- tune


def quadratic(a: float, b: float) -> optviz.Surface:
    surf = surface_from_formula(f"0.5*({a}*x**2 + {b}*y**2)", ((-2, 2), (-2, 2)), name="quad")
    return dataclasses.replace(surf, minima=((0.0, 0.0),), minimum_value=0.0)


@pytest.mark.parametrize(("a", "b"), [(1.0, 10.0), (2.0, 3.0)])
def test_tune_finds_the_closed_form_best_lr_on_a_quadratic(a: float, b: float) -> None:
    """GD on ½(ax² + by²) contracts by max|1 − lr·λ| per step, least at lr* = 2/(a + b)."""
    best = 2 / (a + b)
    t = optviz.tune(quadratic(a, b), "sgd", starts=[(1.0, 1.0)], steps=200, budget=48)
    lrs = np.geomspace(1e-6, 10.0, 36)  # the first grid (3/4 of the budget)
    step = lrs[1] / lrs[0]
    assert best / step <= t.best["lr"] <= best * step
    assert len(t.settings) == 48 and t.sweep is not None
    assert list(t.sweep.grid["lr"]) == sorted(t.sweep.grid["lr"])
    assert t.score == score(t.sweep.metrics, "final_loss", 200).min()


def test_tune_several_hyperparameters_with_tpe_is_deterministic_and_helps() -> None:
    args = dict(surface="rosenbrock", optimizer="sgd", starts=[(-1.5, 2.0)], steps=200,
                budget=24, params={"lr": (1e-5, 1e-2), "momentum": (0.0, 0.99)},
                criterion="mean_loss", seed=4)
    t1, t2 = optviz.tune(**args), optviz.tune(**args)
    assert t1.best == t2.best and np.array_equal(t1.scores, t2.scores)
    assert len(t1.settings) == 24 and t1.sweep is None and t1.params == ("lr", "momentum")
    default = optviz.sweep("rosenbrock", "sgd", {"lr": [1e-3]}, [(-1.5, 2.0)], steps=200,
                           metric="mean_loss").values.item()
    assert t1.score < default
    r = simulate("rosenbrock", [("sgd", t1.best)], [(-1.5, 2.0)], steps=200)
    assert t1.score == np.add.accumulate(r.loss[0, 0])[-1] / 201


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"budget": 1}, ValueError, "budget"),
        ({"budget": 2.0}, TypeError, "budget"),
        ({"criterion": "best"}, ValueError, "criterion"),
        ({"params": 3}, TypeError, "params"),
        ({"params": ()}, ValueError, "params"),
        ({"params": ("gamma",)}, ValueError, "gamma"),
        ({"params": {"lr": (1.0,)}}, TypeError, "params"),
        ({"surface": "saddle", "criterion": "distance_to_minimum"}, ValueError, "criterion"),
    ],
)
def test_tune_refuses_bad_input(kwargs: dict, error: type, match: str) -> None:
    args = {"surface": "rosenbrock", "optimizer": "sgd", "starts": [(0.0, 0.0)], "steps": 5,
            **kwargs}
    with pytest.raises(error, match=match):
        optviz.tune(**args)


def test_public_names() -> None:
    from optviz import analysis

    assert optviz.sweep is analysis.sweep and optviz.basins is analysis.basins
    assert optviz.tune is analysis.tune and optviz.SweepResult is analysis.SweepResult
    assert set(METRICS) == {"final_loss", "mean_loss", "steps_to_tol", "distance_to_minimum"}


def test_sweep_many_shares_one_loop_and_equals_simulate() -> None:
    """Kernels, instances (full-matrix AdaGrad), a single setting, a loop of its own (Newton)."""
    from optviz.analysis import sweep_many

    optimizers = ["adam", ("sgd", {"momentum": 0.9}), "adagrad_full", "newton"]
    starts = [(-1.5, 2.0), (0.5, 0.5)]
    results = sweep_many("rosenbrock", optimizers, {"lr": [1e-3, 1e-2]}, starts, steps=60,
                         noise=0.05, seed=9, metric="mean_loss")
    assert [r.optimizer for r in results] == ["adam", "sgd", "adagrad_full", "newton"]
    for res in results:
        for i in range(2):
            r = simulate("rosenbrock", [(res.optimizer, res.kwargs_at((i,)))], starts, steps=60,
                         noise=0.05, seed=9)
            for s in range(2):
                assert_cell(res.metrics, (i, s), reference(r, 0, s,
                                                           optviz.get_surface("rosenbrock"), 1e-6))
    single = sweep_many("beale", ["adam", "rmsprop"], {"lr": [0.01]}, [(1.0, 1.0)], steps=40)
    for res in single:
        r = simulate("beale", [(res.optimizer, res.kwargs_at((0,)))], [(1.0, 1.0)], steps=40)
        assert res.values[0, 0] == r.loss[0, 0, -1]
    with pytest.raises(TypeError, match="optimizers"):
        sweep_many("beale", "adam", {"lr": [0.01]}, [(1.0, 1.0)], steps=5)
    with pytest.raises(ValueError, match="optimizers"):
        sweep_many("beale", [], {"lr": [0.01]}, [(1.0, 1.0)], steps=5)


def test_progress_is_reported_and_an_exception_cancels() -> None:
    calls = []
    optviz.sweep("beale", "adam", {"lr": [0.01, 0.1]}, [(1.0, 1.0)], steps=25,
                 progress=lambda step, steps: calls.append((step, steps)))
    assert calls == [(0, 25), (10, 25), (20, 25), (25, 25)]

    class Cancelled(Exception):
        pass

    def cancel(step: int, steps: int) -> None:
        if step >= 10:
            raise Cancelled

    threads = torch.get_num_threads()
    with pytest.raises(Cancelled):
        optviz.basins("himmelblau", "adam", resolution=(3, 3), steps=100, progress=cancel)
    assert torch.get_num_threads() == threads  # the runner's one-thread section was left
    with pytest.raises(TypeError, match="progress"):
        optviz.tune("beale", "adam", [(1.0, 1.0)], steps=5, progress=3)


def test_sweep_records_the_noise_it_used() -> None:
    assert optviz.sweep("noisy_quadratic", "sgd", {"lr": [0.1]}, [(1.0, 1.0)], steps=5).noise == 1.0
    assert optviz.sweep("rosenbrock", "sgd", {"lr": [0.1]}, [(1.0, 1.0)], steps=5,
                        noise=0.5).noise == 0.5
    with pytest.raises(ValueError, match="noise"):
        optviz.sweep("rosenbrock", "sgd", {"lr": [0.1]}, [(1.0, 1.0)], steps=5, noise=-1.0)


def test_basins_of_an_optimizer_with_a_hessian_run_its_own_class() -> None:
    surf = optviz.get_surface("himmelblau")
    b = optviz.basins(surf, ("newton", {"lr": 0.5}), resolution=(4, 3), steps=40, tol=1e-8)
    r = simulate(surf, [("newton", {"lr": 0.5})], b.starts, steps=40)
    for i in range(3):
        for j in range(4):
            expected = reference(r, 0, i * 4 + j, surf, 1e-8, radius=b.radius)
            assert b.minimum_index[i, j] == expected["minimum_index"]
            assert b.steps_to_tol[i, j] == expected["steps_to_tol"]


def test_tune_mixed_kinds_and_invalid_combinations() -> None:
    """A bool and a float with TPE; Nesterov without momentum is refused and told as a loss."""
    t = optviz.tune("beale", "sgd", [(1.0, 1.0)], steps=20, budget=8,
                    params=("lr", "momentum", "nesterov"), criterion="final_loss")
    assert len(t.settings) <= 8 and t.params == ("lr", "momentum", "nesterov")
    assert all(not s["nesterov"] or s["momentum"] > 0 for s in t.settings)
    assert t.best in t.settings and np.isfinite(t.score)
