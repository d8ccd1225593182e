"""Presets: every scene is valid, shareable and visible, and its claim holds on the numbers.

Each preset's ``watch`` text makes claims about its own run; the tests below simulate the scene
(exactly as the app does: the scenario's surface, runs, starts, steps, seed and noise) and check
those claims on the trajectories and recorded optimizer state. References computed independently
of the optimizers (the minimum of the L2-penalised Rosenbrock by Newton's method; Booth's function
in its eigenbasis, :math:`9u^2 + v^2`; the loss-scaled Goldstein–Price) are noted where used.
"""

from __future__ import annotations

import math
import re
from functools import cache

import numpy as np
import pytest
import torch

from optviz.presets import MAX_PRESET_RUNS, MAX_PRESET_STEPS, PRESETS, get_preset, list_presets
from optviz.runner import Trajectories, simulate
from optviz.scenario import Scenario
from optviz.surfaces import get_surface, surface_from_formula

STORY = [
    "sgd_vs_momentum",
    "nesterov_vs_momentum",
    "newton_saddle",
    "adagrad_vs_rmsprop",
    "adadelta_no_lr",
    "adam_vs_amsgrad",
    "adam_l2_vs_adamw",
    "rprop_noise",
    "full_vs_diagonal",
]


@cache
def run(key: str, noise: float | None = None, seed: int | None = None) -> Trajectories:
    """Simulate preset ``key`` as the app would (optionally with another noise or seed)."""
    scene = get_preset(key).scenario
    return simulate(
        scene.resolve_surface(),
        scene.run_specs(),
        scene.starts,
        steps=scene.steps,
        seed=scene.seed if seed is None else seed,
        noise=scene.effective_noise() if noise is None else noise,
        record_state=True,
    )


def run_index(key: str, variant: str) -> int:
    """Index of the (single) run of ``variant`` in preset ``key``."""
    variants = [r.variant for r in get_preset(key).scenario.runs]
    assert variants.count(variant) == 1, variants
    return variants.index(variant)


def step_lengths(xy: np.ndarray) -> np.ndarray:
    """|θ_{t+1} − θ_t| along the last-but-one axis."""
    return np.linalg.norm(np.diff(xy, axis=-2), axis=-1)


def sentences(text: str) -> int:
    return len([s for s in re.split(r"(?<=[.!?])\s+", text.strip()) if s])


# ----------------------------------------------------------------------------- catalogue


def test_presets_follow_the_story_and_look_up_by_key() -> None:
    assert list_presets() == STORY
    assert list(PRESETS) == STORY
    for key in STORY:
        assert get_preset(key) is PRESETS[key]
        assert get_preset(key).key == key


def test_unknown_preset_is_a_key_error_listing_the_keys() -> None:
    with pytest.raises(KeyError) as info:
        get_preset("no_such_preset")
    message = str(info.value)
    assert "no_such_preset" in message
    for key in STORY:
        assert key in message


@pytest.mark.parametrize("key", STORY)
def test_scene_is_validated_small_and_labelled(key: str) -> None:
    preset = get_preset(key)
    scene = preset.scenario
    assert scene == scene.validated()
    assert 2 <= len(scene.runs) <= MAX_PRESET_RUNS
    assert scene.steps <= MAX_PRESET_STEPS
    assert len({r.color for r in scene.runs}) == len(scene.runs)  # one colour per run
    labels = [r.label for r in scene.runs]
    assert all(labels) and len(set(labels)) == len(labels)
    assert preset.title.strip() and len(preset.title) <= 80
    assert 2 <= sentences(preset.watch) <= 3, preset.watch
    assert len(preset.watch) <= 650
    assert "\n" not in preset.watch and "  " not in preset.watch


@pytest.mark.parametrize("key", STORY)
def test_scene_survives_url_and_json(key: str) -> None:
    scene = get_preset(key).scenario
    back, warnings = Scenario.from_query(scene.to_query())
    assert warnings == [] and back == scene
    back, warnings = Scenario.from_json(scene.to_json())
    assert warnings == [] and back == scene


@pytest.mark.parametrize("key", STORY)
def test_trajectories_stay_in_the_picture(key: str) -> None:
    """No run diverges, every final point and ≥ 95% of every path lie in the plot window."""
    scene = get_preset(key).scenario
    r = run(key)
    assert (r.diverged_at == -1).all()
    (x0, x1), (y0, y1) = scene.plot_domain()
    x, y = r.xy[..., 0], r.xy[..., 1]
    inside = (x >= x0) & (x <= x1) & (y >= y0) & (y <= y1)
    assert inside[..., -1].all()
    assert inside.mean(axis=-1).min() >= 0.95


# ----------------------------------------------------------------------------- 1. momentum


def test_momentum_ends_far_closer_to_the_minimum_than_sgd() -> None:
    key = "sgd_vs_momentum"
    scene = get_preset(key).scenario
    sgd, mom = run_index(key, "sgd"), run_index(key, "momentum")
    assert scene.runs[sgd].kwargs()["lr"] == scene.runs[mom].kwargs()["lr"]
    r = run(key)
    dist = np.linalg.norm(r.xy[:, 0, -1] - [1.0, 1.0], axis=-1)
    assert dist[mom] < 0.1  # measured 0.094
    assert dist[sgd] > 1.5  # measured 1.68
    assert r.xy[sgd, 0, -1, 0] < 0.0  # still short of the middle of the valley (x = −0.51)


# ----------------------------------------------------------------------------- 2. Nesterov


def test_nesterov_damps_the_bouncing_that_heavy_ball_keeps_up() -> None:
    key = "nesterov_vs_momentum"
    scene = get_preset(key).scenario
    hb, nag = run_index(key, "momentum"), run_index(key, "nesterov")
    same = {k: v for k, v in scene.runs[hb].kwargs().items() if k != "nesterov"}
    assert same == {k: v for k, v in scene.runs[nag].kwargs().items() if k != "nesterov"}
    r = run(key)
    # Matyas' Hessian [[0.52, −0.48], [−0.48, 0.52]]: valley along u = (1, 1)/√2 (eigenvalue
    # 0.04), walls across it along v = (1, −1)/√2 (eigenvalue 1); the minimum is the origin.
    u, v = np.array([1.0, 1.0]) / math.sqrt(2), np.array([1.0, -1.0]) / math.sqrt(2)
    numbers = {}
    for name, i in (("hb", hb), ("nag", nag)):
        xy = r.xy[i, 0]
        along, across = xy @ u, xy @ v
        big = across[np.abs(across) > 0.01]
        numbers[name] = {
            "bounces": int((np.sign(big[1:]) != np.sign(big[:-1])).sum()),
            "last_off_floor": int(np.flatnonzero(np.abs(across) > 0.1).max()),
            "overshoot": float(along.max()),  # the start is on the negative side
            "final": float(np.linalg.norm(xy[-1])),
        }
    hb_n, nag_n = numbers["hb"], numbers["nag"]
    assert hb_n["bounces"] >= 20 and nag_n["bounces"] <= 6  # measured 28 and 4
    assert hb_n["last_off_floor"] >= 60 and nag_n["last_off_floor"] <= 15  # 76 and 8
    assert hb_n["overshoot"] > nag_n["overshoot"] + 0.1  # 0.83 and 0.65
    assert hb_n["final"] < 1e-3 and nag_n["final"] < 1e-3  # both converge in the end


# ----------------------------------------------------------------------------- 3. saddle


def test_newton_goes_to_the_saddle_while_first_order_methods_escape() -> None:
    key = "newton_saddle"
    scene = get_preset(key).scenario
    newton, sgd, adam = (run_index(key, v) for v in ("newton", "sgd", "adam"))
    r = run(key)
    dist = np.linalg.norm(r.xy[:, 0], axis=-1)  # distance from the saddle (0, 0)
    assert dist[newton, -1] < 1e-6  # measured 5e-12 (γ = 0.1: θ_t = 0.9^t θ_0)
    assert dist[sgd].min() < 0.25 and dist[sgd, -1] > 1.0  # pulled in to 0.17, out to 1.41
    assert dist[adam].min() > 1.0 and dist[adam, -1] > 1.0  # never comes near
    # SGD's offset in y grows by exactly 1 + 2γ per step (∂f/∂y = −2y)
    y = r.xy[sgd, 0, :, 1]
    lr = scene.runs[sgd].kwargs()["lr"]
    np.testing.assert_allclose(y[1:] / y[:-1], 1 + 2 * lr, rtol=1e-12)
    # one full Newton step (γ = 1) lands exactly on the saddle, from anywhere
    full = simulate("saddle", [("newton", {"lr": 1.0})], [(-1.5, 0.01), (1.2, -1.7)], steps=1)
    np.testing.assert_allclose(full.xy[0, :, 1], 0.0, atol=1e-15)


# ----------------------------------------------------------------------------- 4. AdaGrad


def test_adagrad_steps_die_out_while_rmsprop_keeps_moving() -> None:
    key = "adagrad_vs_rmsprop"
    scene = get_preset(key).scenario
    ada, rms = run_index(key, "adagrad"), run_index(key, "rmsprop")
    r = run(key)
    steps = step_lengths(r.xy)  # (run, start, step)
    np.testing.assert_allclose(steps[ada, :, 0], steps[rms, :, 0], rtol=1e-6)  # same first step
    # effective per-coordinate learning rates γ/(√G + ε) and γ/(√v + ε) from the recorded state
    hp_a, hp_r = scene.runs[ada].kwargs(), scene.runs[rms].kwargs()
    eff_a = hp_a["lr"] / (np.sqrt(r.state[ada]["sum"][:, 1:]) + hp_a["eps"])
    eff_r = hp_r["lr"] / (np.sqrt(r.state[rms]["square_avg"][:, 1:]) + hp_r["eps"])
    assert (np.diff(eff_a, axis=1) <= 0).all()  # AdaGrad's never grows back
    assert (eff_r[:, -1] >= 3 * eff_r.min(axis=1)).all()  # RMSprop's recovers
    assert (eff_r[:, -1] >= 3 * eff_a[:, -1]).all()
    tail_a, tail_r = steps[ada, :, -100:].mean(-1), steps[rms, :, -100:].mean(-1)
    assert (tail_a < 0.003).all()  # frozen
    assert (tail_r > 5 * tail_a).all()  # alive
    dist = np.linalg.norm(r.xy[:, :, -1] - [1.0, 1.0], axis=-1)
    assert (dist[rms] < dist[ada] - 0.5).all()  # further along the valley


# ----------------------------------------------------------------------------- 5. AdaDelta


def test_adadelta_reaches_the_global_minimum_where_sgd_has_no_good_learning_rate() -> None:
    key = "adadelta_no_lr"
    scene = get_preset(key).scenario
    ada = run_index(key, "adadelta")
    assert scene.runs[ada].kwargs()["lr"] == 1.0  # torch's default: the paper's rule
    r = run(key)
    surface = get_surface("goldstein_price")
    assert surface.minima == ((0.0, -1.0),) and surface.minimum_value == 3.0
    final = r.xy[:, 0, -1]
    assert np.linalg.norm(final[ada] - [0.0, -1.0]) < 0.02  # measured 0.008
    assert r.loss[ada, 0, -1] < 3.02
    assert 3e4 < np.linalg.norm(r.grad[ada, 0, 0]) < 5e4  # "about 40 000 at the start"
    sgd_runs = {r_.kwargs()["lr"]: i for i, r_ in enumerate(scene.runs) if r_.variant == "sgd"}
    for i in sgd_runs.values():
        assert np.linalg.norm(final[i] - [0.0, -1.0]) > 0.5
    assert r.loss[sgd_runs[1e-5], 0, -1] > 50  # still crawling (80)
    local = sgd_runs[3e-5]  # in the local minimum of value 30 at (−0.6, −0.4)
    assert np.linalg.norm(final[local] - [-0.6, -0.4]) < 0.01
    assert r.loss[local, 0, -1] == pytest.approx(30.0, abs=0.01)


@pytest.mark.parametrize("scale", [0.01, 100.0])
def test_adadelta_ignores_the_scale_of_the_loss_and_sgd_does_not(scale: float) -> None:
    """AdaDelta on c·f follows its path on f (ε is negligible next to v here); SGD does not."""
    key = "adadelta_no_lr"
    scene = get_preset(key).scenario
    gp = get_surface("goldstein_price")
    scaled = surface_from_formula(f"{scale!r}*({gp.formula})", gp.domain)
    ada = run_index(key, "adadelta")
    sgd = next(i for i, r_ in enumerate(scene.runs) if r_.variant == "sgd")
    specs = scene.run_specs()
    ref = run(key).xy  # rows never mix, so the same runs on c·f compare one to one
    got = simulate(scaled, [specs[ada], specs[sgd]], scene.starts, steps=scene.steps)
    assert np.nanmax(np.abs(got.xy[0] - ref[ada])) < 1e-3  # measured 1e-5 (c = 0.01), 1e-9
    sgd_changed = got.diverged_at[1, 0] >= 0 or np.nanmax(np.abs(got.xy[1] - ref[sgd])) > 0.1
    assert sgd_changed


def test_adadelta_step_scale_is_set_by_eps_in_units_of_theta() -> None:
    """The first step is √(ε/(1 − ρ)) per coordinate whatever the gradient, so AdaDelta is NOT
    invariant to rescaling θ: on f(x/2, y/2) its path is not twice its path on f."""
    key = "adadelta_no_lr"
    hp = get_preset(key).scenario.runs[run_index(key, "adadelta")].kwargs()
    first = np.abs(run(key).xy[run_index(key, "adadelta"), 0, 1] - run(key).xy[0, 0, 0])
    np.testing.assert_allclose(first, math.sqrt(hp["eps"] / (1 - hp["rho"])), rtol=1e-6)
    gp = get_surface("goldstein_price")
    s = 2.0
    stretched = surface_from_formula(
        gp.formula.replace("x", f"(x/{s!r})").replace("y", f"(y/{s!r})"),
        ((-2 * s, 2 * s), (-2 * s, 2 * s)),
    )
    start = np.asarray(get_preset(key).scenario.starts) * s
    path = simulate(stretched, [("adadelta", hp)], start, steps=500).xy[0, 0]
    np.testing.assert_allclose(np.abs(path[1] - path[0]), first, rtol=1e-6)  # same θ-step
    ref = run(key).xy[run_index(key, "adadelta"), 0]
    assert np.abs(path / s - ref).max() > 0.5  # so the stretched path is not s × the path:
    assert np.linalg.norm(path[-1] / s - [0.0, -1.0]) > 0.3  # it needs more steps (0.55 away)


# ----------------------------------------------------------------------------- 6. AMSGrad


def test_amsgrad_max_never_decreases_and_keeps_its_steps_small() -> None:
    key = "adam_vs_amsgrad"
    scene = get_preset(key).scenario
    adam, ams = run_index(key, "adam"), run_index(key, "amsgrad")
    assert scene.runs[adam].kwargs()["betas"] == scene.runs[ams].kwargs()["betas"]
    r = run(key)
    vmax = r.state[ams]["max_exp_avg_sq"][0, 1:]  # row 0 is before the first step
    assert np.isfinite(vmax).all()
    assert (np.diff(vmax, axis=0) >= 0).all()
    v = r.state[adam]["exp_avg_sq"][0, 1:]
    assert (np.diff(v, axis=0) < 0).any(axis=0).all()
    assert (v.max(axis=0) / v[-1] > 50).all()  # Adam's v forgets the walls (measured ≈ 100)
    dist = np.linalg.norm(r.xy[:, 0, -1] - [1.0, 1.0], axis=-1)
    assert dist[adam] < 0.1 and dist[ams] > 1.0  # measured 0.064 and 1.27
    blocks = step_lengths(r.xy[:, 0]).reshape(2, 5, 100).mean(-1)  # mean step per 100 steps
    assert blocks[adam, 2] > 1.3 * blocks[adam, 0]  # Adam speeds up on the floor
    assert (blocks[ams, 1:] <= blocks[ams, 0]).all()  # AMSGrad never does


# ----------------------------------------------------------------------------- 7. AdamW


def l2_penalised_minimum(lam: float) -> np.ndarray:
    """argmin of Rosenbrock + λ‖θ‖²/2 by Newton's method from (1, 1) (independent reference)."""
    s = get_surface("rosenbrock")
    theta = torch.tensor([[1.0, 1.0]], dtype=torch.float64)
    eye = torch.eye(2, dtype=torch.float64)
    for _ in range(50):
        g = s.grad(theta) + lam * theta
        theta = theta - torch.linalg.solve(s.hessian(theta) + lam * eye, g.unsqueeze(-1))[..., 0]
    assert float((s.grad(theta) + lam * theta).norm()) < 1e-12
    return theta[0].numpy()


def test_adam_l2_finds_the_penalised_minimum_and_adamw_lands_elsewhere() -> None:
    key = "adam_l2_vs_adamw"
    scene = get_preset(key).scenario
    l2, w = run_index(key, "adam_l2"), run_index(key, "adamw")
    hp_l2, hp_w = scene.runs[l2].kwargs(), scene.runs[w].kwargs()
    assert hp_l2["lr"] == hp_w["lr"] and hp_l2["weight_decay"] == hp_w["weight_decay"]
    lam = hp_l2["weight_decay"]
    target = l2_penalised_minimum(lam)
    np.testing.assert_allclose(target, [0.89, 0.79], atol=0.01)  # the "near (0.89, 0.79)"
    r = run(key)
    final_l2, final_w = r.xy[l2, :, -1], r.xy[w, :, -1]
    assert (np.linalg.norm(final_l2 - target, axis=-1) < 0.05).all()  # measured 0.022, 0.025
    assert (np.linalg.norm(final_w - final_l2, axis=-1) > 0.5).all()  # 0.81, 0.96
    assert (np.linalg.norm(final_w, axis=-1) < np.linalg.norm(final_l2, axis=-1) - 0.5).all()
    d_w = np.linalg.norm(final_w - 1.0, axis=-1)
    d_l2 = np.linalg.norm(final_l2 - 1.0, axis=-1)
    assert (d_w > d_l2 + 0.5).all()  # even further from (1, 1)
    # Why: AdamW has (nearly) stopped where m̂/√v̂ balances λθ, and √v̂ still remembers
    # gradients far larger than the one it now sees.
    s = get_surface("rosenbrock")
    steps = scene.steps
    b1, b2 = hp_w["betas"]
    m_hat = r.state[w]["exp_avg"][:, -1] / (1 - b1**steps)
    v_hat = r.state[w]["exp_avg_sq"][:, -1] / (1 - b2**steps)
    adaptive = m_hat / (np.sqrt(v_hat) + hp_w["eps"])
    balance = -adaptive / (lam * final_w)
    assert ((balance > 0.7) & (balance < 1.4)).all(), balance
    grad_now = s.grad(torch.from_numpy(final_w)).numpy()
    assert (np.sqrt(v_hat) > 10 * np.abs(grad_now)).all()
    penalised = np.linalg.norm(grad_now + lam * final_w, axis=-1)
    assert (penalised > 0.5).all()  # AdamW's point is not the L2 minimum


# ----------------------------------------------------------------------------- 8. Rprop


def test_rprop_breaks_with_noisy_gradients() -> None:
    key = "rprop_noise"
    scene = get_preset(key).scenario
    assert scene.effective_noise() > 0
    rprop, rms, adam = (run_index(key, v) for v in ("rprop", "rmsprop", "adam"))
    noisy, exact = run(key), run(key, noise=0.0)
    final = noisy.loss[:, :, -1].mean(axis=-1)  # mean over the two starts
    assert exact.loss[rprop, :, -1].max() < 1e-6  # exact gradients: converges (4e-12)
    assert final[rprop] > 0.1  # noisy: 0.34
    assert final[rprop] > 3 * max(final[rms], final[adam])  # RMSprop 0.013, Adam 0.04
    # It froze: step sizes at their floor while still far from the minimum.
    step_size = noisy.state[rprop]["step_size"][:, -1]
    floor = scene.runs[rprop].kwargs()["step_sizes"][0]
    assert (step_size <= 2 * floor).all()
    assert (np.linalg.norm(noisy.xy[rprop, :, -1], axis=-1) > 0.5).all()  # 0.93, 0.70
    assert step_lengths(noisy.xy[rprop, :, 150:]).sum(-1).max() < 0.01  # no motion after 150


@pytest.mark.parametrize("seed", [1, 2])
def test_rprop_is_worse_with_noise_for_other_seeds_too(seed: int) -> None:
    key = "rprop_noise"
    rprop, rms, adam = (run_index(key, v) for v in ("rprop", "rmsprop", "adam"))
    final = run(key, seed=seed).loss[:, :, -1].mean(axis=-1)
    assert final[rprop] > max(final[rms], final[adam])


# ----------------------------------------------------------------------------- 9. full matrix


BOOTH_MIN = np.array([1.0, 3.0])
#: Booth's eigenbasis: u = (dx + dy)/√2 (eigenvalue 18), v = (dx − dy)/√2 (eigenvalue 2),
#: so f = 9u² + v² (closed form: 5dx² + 8dx·dy + 5dy² with dx = x − 1, dy = y − 3).
ROTATION = np.array([[1.0, 1.0], [1.0, -1.0]]) / math.sqrt(2)


def straightness(xy: np.ndarray, start: np.ndarray) -> tuple[float, float, float]:
    """(largest sideways distance from the start→minimum line / its length,
    path length / straight distance, angle in degrees of θ_10 − θ_0 to the minimum)."""
    line = BOOTH_MIN - start
    length = float(np.linalg.norm(line))
    rel = xy - start
    sideways = np.abs(rel[:, 0] * line[1] - rel[:, 1] * line[0]) / length
    travelled = float(step_lengths(xy).sum())
    first = xy[10] - xy[0]
    cos = first @ line / (np.linalg.norm(first) * length)
    return float(sideways.max()) / length, travelled / length, math.degrees(math.acos(cos))


def test_full_matrix_methods_head_straight_for_the_minimum() -> None:
    key = "full_vs_diagonal"
    scene = get_preset(key).scenario
    diag, full, nat = (run_index(key, v) for v in ("adagrad", "adagrad_full", "natural_gradient"))
    r = run(key)
    starts = np.asarray(scene.starts)
    dist = np.linalg.norm(r.xy[:, :, -1] - BOOTH_MIN, axis=-1)
    assert (dist[full] < 0.01).all() and (dist[nat] < 0.01).all()
    for j, start in enumerate(starts):
        side_d, ratio_d, angle_d = straightness(r.xy[diag, j], start)
        assert side_d > 0.25 and ratio_d > 1.1 and angle_d > 20  # measured ≥ 0.29, 1.15, 24°
        for i in (full, nat):
            side, ratio, _ = straightness(r.xy[i, j], start)
            assert side < 0.12 and ratio < 1.08, (i, j, side, ratio)
            assert side < side_d / 2
        assert straightness(r.xy[full, j], start)[2] < 10  # measured ≤ 6°


def test_full_matrix_methods_do_not_care_how_the_bowl_is_turned() -> None:
    """Run the same optimizers on 9x² + y² from the rotated starts: full-matrix AdaGrad and the
    natural gradient give the rotated paths (to rounding); diagonal AdaGrad does not."""
    key = "full_vs_diagonal"
    scene = get_preset(key).scenario
    aligned = surface_from_formula("9*x**2 + y**2", ((-15.0, 15.0), (-15.0, 15.0)))
    booth = get_surface("booth")
    probe = np.random.default_rng(0).uniform(-10, 10, (20, 2))
    np.testing.assert_allclose(
        booth.f(torch.from_numpy(probe)).numpy(),
        aligned.f(torch.from_numpy((probe - BOOTH_MIN) @ ROTATION.T)).numpy(),
        rtol=1e-12,
        atol=1e-9,
    )
    starts = (np.asarray(scene.starts) - BOOTH_MIN) @ ROTATION.T
    turned = simulate(aligned, scene.run_specs(), starts, steps=scene.steps)
    back = turned.xy @ ROTATION.T + BOOTH_MIN  # ROTATION is its own inverse
    gap = np.nanmax(np.linalg.norm(back - run(key).xy, axis=-1), axis=(1, 2))
    diag, full, nat = (run_index(key, v) for v in ("adagrad", "adagrad_full", "natural_gradient"))
    assert gap[full] < 1e-5  # rounding amplified while G is nearly rank one (8e-7)
    assert gap[nat] < 1e-9
    assert gap[diag] > 1.0  # measured 4.7
