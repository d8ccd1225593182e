"""What the step inspector reads instead of replaying: the state the runner records.

Prodigy's and schedule-free's param-group scalars, SOAP's statistics and eigenbases (lists of
matrices), NAdam's and ASGD's scalar state and Lookahead's fast point are recorded by
``simulate(record_state=True)``. Here each is checked against an independent replay of the
package's own recursion from the recorded points and gradients, and every view is checked to
read nothing but its own two rows (``step`` and ``step + 1``), which is what makes it O(1).
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest
import torch

import optviz
from optviz.inspect import inspect_step
from optviz.optimizers import build_optimizer
from optviz.optimizers.wrappers import base_of
from tests.test_inspect import CASES, _case_id, _simulated

STARTS = [(-1.2, 1.0), (0.7, -0.4)]


def _poisoned(traj: optviz.Trajectories, step: int) -> optviz.Trajectories:
    """``traj`` with every recorded row but ``step`` and ``step + 1`` set to NaN."""
    drop = np.ones(traj.steps + 1, dtype=bool)
    drop[[step, step + 1]] = False

    def cut(array: np.ndarray | None, axis: int) -> np.ndarray | None:
        if array is None:
            return None
        out = np.array(array, dtype=np.float64)
        index = [slice(None)] * out.ndim
        index[axis] = drop
        out[tuple(index)] = np.nan
        return out

    state = tuple({name: cut(rows, 1) for name, rows in run.items()} for run in traj.state)
    return dataclasses.replace(
        traj, xy=cut(traj.xy, 2), loss=cut(traj.loss, 2), grad=cut(traj.grad, 2),
        lr=cut(traj.lr, 2), grad_point=cut(traj.grad_point, 2), state=state)


def _same(got, want) -> None:
    assert got.values.keys() == want.values.keys()
    for name, value in want.values.items():
        assert got.values[name] == value or (math.isnan(value) and math.isnan(got.values[name]))
    assert (got.latex, got.why) == (want.latex, want.why)
    for part in ("vectors", "boxes", "matrices"):
        a, b = getattr(got, part), getattr(want, part)
        assert a.keys() == b.keys()
        for name in b:
            np.testing.assert_array_equal(a[name], b[name])


@pytest.mark.parametrize("case", CASES, ids=_case_id)
def test_a_view_reads_only_its_own_two_rows(case) -> None:
    """With every other row of every recorded array NaN the view is the same: no view replays
    or sums a history, so each costs the same at step 5 as at step 5,000."""
    key, hp = case
    traj = _simulated(key, tuple(sorted(hp.items())), 1)  # noise and a schedule
    checked = 0
    for step in range(traj.steps):
        for start in range(traj.n_starts):
            if 0 <= traj.diverged_at[0, start] <= step + 1:
                continue
            _same(inspect_step(_poisoned(traj, step), 0, start, step),
                  inspect_step(traj, 0, start, step))
            checked += 1
    assert checked >= traj.steps


# --- independent replays of what is recorded -------------------------------------------------

def _soap_replay(grads: np.ndarray, hp: dict) -> tuple[list, list]:
    """SOAP's GG[1] and Q[1] after each step, rebuilt from the gradients by the package's ops:
    ``lerp`` of the tensordot statistics; ``eigh`` of the first (columns by descending
    eigenvalue); every ``precondition_frequency`` steps one power iteration and a float32 QR."""
    b2, freq = hp["betas"][1], int(hp["precondition_frequency"])
    gg = [torch.zeros(1, 1, dtype=torch.float64), torch.zeros(2, 2, dtype=torch.float64)]
    q: list = []
    gg_rows, q_rows = [], []
    for k, row in enumerate(grads):
        g = torch.tensor(row).reshape(1, 2)
        for idx in range(2):
            gg[idx].lerp_(torch.tensordot(g, g, dims=[[1 - idx], [1 - idx]]), weight=1.0 - b2)
        if k == 0:
            q = [torch.flip(torch.linalg.eigh(m + 1e-30 * torch.eye(m.shape[0],
                                                                     dtype=m.dtype))[1], dims=[1])
                 for m in gg]
        elif k % freq == 0:
            fresh = []
            for m, o in zip(gg, q, strict=True):
                product = m @ o
                order = torch.argsort((o * product).sum(dim=0), descending=True)
                fresh.append(torch.linalg.qr(product.index_select(1, order)
                                             .to(torch.float32))[0].to(torch.float64))
            q = fresh
        gg_rows.append(gg[1].clone())
        q_rows.append(q[1].clone())
    return gg_rows, q_rows


@pytest.mark.parametrize("hp", [{}, {"precondition_frequency": 1, "betas": (0.5, 0.5)},
                                {"precondition_frequency": 3, "weight_decay": 0.1}])
def test_soap_statistics_and_eigenbasis_are_the_packages(hp: dict) -> None:
    steps = 25
    traj = optviz.simulate("rosenbrock", [("soap", hp)], STARTS, steps=steps, record_state=True)
    full = traj.runs[0][1]
    state = traj.state[0]
    assert {"GG.0", "GG.1", "Q.0", "Q.1"} <= set(state)
    assert "step" not in state and not any(name.startswith("group.") for name in state)
    assert state["GG.1"].shape == (len(STARTS), steps + 1, 2, 2)
    for start in range(len(STARTS)):
        gg_rows, q_rows = _soap_replay(traj.grad[0, start, :steps], full)
        assert np.isnan(state["Q.1"][start, 0]).all()  # nothing before the first step
        for k in range(steps):
            np.testing.assert_array_equal(state["GG.1"][start, k + 1], gg_rows[k].numpy())
            np.testing.assert_array_equal(state["Q.1"][start, k + 1], q_rows[k].numpy())
        assert (np.abs(state["Q.0"][start, 1:]) == 1).all()  # a 1×1 eigenbasis is ±1


@pytest.mark.parametrize("hp", [{}, {"weight_decay": 0.1, "use_bias_correction": True,
                                     "d_coef": 2.0},
                                {"weight_decay": 0.1, "decouple": False,
                                 "safeguard_warmup": True}])
def test_prodigy_d_is_the_packages_recursion(hp: dict) -> None:
    """:math:`r_k = \\beta_3 r_{k-1} + \\frac{d}{d_0} d\\gamma\\langle g, \\theta_0 -
    \\theta\\rangle`, :math:`d = \\max(d, c_d r/\\lVert s\\rVert_1)`, by the test's loop."""
    steps = 40
    traj = optviz.simulate("rosenbrock", [("prodigy", hp)], STARTS, steps=steps,
                           record_state=True)
    full = traj.runs[0][1]
    b1, b2 = full["betas"]
    b3, d0 = math.sqrt(b2), full["d0"]
    state = traj.state[0]
    for start in range(len(STARTS)):
        xy, grads = traj.xy[0, start], traj.grad[0, start]
        d, r = d0, 0.0
        assert state["group.d"][start, 0] == d0
        for k in range(steps):
            g = grads[k] + (full["weight_decay"] * xy[k] if not full["decouple"] else 0.0)
            bc = (math.sqrt(1 - b2 ** (k + 1)) / (1 - b1 ** (k + 1))
                  if full["use_bias_correction"] else 1.0)
            r = r * b3 + (d / d0) * d * traj.lr[0, start, k] * bc * float(
                np.dot(g, xy[0] - xy[k]))
            denom = float(np.abs(state["s"][start, k + 1]).sum())
            d = max(d, full["d_coef"] * r / denom)
            # the sum of signed terms cancels: its rounding (torch's dot vs the test's) grows
            assert state["group.d_numerator"][start, k + 1] == pytest.approx(r, rel=1e-9)
            assert state["group.d"][start, k + 1] == pytest.approx(d, rel=1e-9)
        assert state["group.d"][start, -1] > 100 * d0  # d really was learned


def test_schedule_free_group_scalars_follow_the_lr_history() -> None:
    hp = {"warmup_steps": 4, "r": 1.0}
    run = ("adamw_schedulefree", hp, {"schedule": {"name": "StepLR", "step_size": 3,
                                                   "gamma": 0.5}})
    traj = optviz.simulate("rosenbrock", [run], STARTS, steps=12, record_state=True)
    full = traj.runs[0][1]
    state = traj.state[0]
    lr_max, total = -1.0, 0.0
    for k in range(12):
        lr = traj.lr[0, 0, k] * min(1.0, (k + 1) / hp["warmup_steps"])
        lr_max = max(lr_max, lr)
        total += (k + 1) ** hp["r"] * lr_max ** full["weight_lr_power"]
        for start in range(len(STARTS)):  # particle-independent, recorded for each
            assert state["group.lr_max"][start, k + 1] == lr_max
            assert state["group.weight_sum"][start, k + 1] == pytest.approx(total, rel=1e-14)


def test_nadam_and_asgd_scalar_state_is_recorded_for_every_particle() -> None:
    traj = optviz.simulate("rosenbrock", [("nadam", {}), ("asgd", {"lambd": 0.05})], STARTS,
                           steps=8, record_state=True)
    nadam, asgd = traj.state
    b1, psi = traj.runs[0][1]["betas"][0], traj.runs[0][1]["momentum_decay"]
    product = torch.ones((), dtype=torch.float32)
    for k in range(1, 9):
        product *= b1 * (1.0 - 0.5 * 0.96 ** (k * psi))
        assert (nadam["mu_product"][:, k] == product.item()).all()
    assert "step" not in nadam and "step" not in asgd  # the step count is the row index
    hp = traj.runs[1][1]
    for k in range(1, 9):
        want = torch.tensor(hp["lr"] / (1 + hp["lambd"] * hp["lr"] * k) ** hp["alpha"],
                            dtype=torch.float32).item()
        assert (asgd["eta"][:, k] == want).all()


def _lookahead_replay(traj: optviz.Trajectories, start: int) -> tuple[np.ndarray, dict]:
    """Lookahead's fast point θ' and base state after each base step, before the sync: the
    base class alone, stepped from each recorded point with each recorded gradient, with
    Lookahead's sync-time changes to the momentum buffer applied as the package does."""
    hp = traj.runs[0][1]
    key, kwargs = base_of(hp)
    k_sync, alpha, pullback = hp["k"], hp["alpha"], hp["pullback_momentum"]
    leaf = torch.zeros(1, 2, dtype=torch.float64, requires_grad=True)
    base = build_optimizer(key, [leaf], kwargs)
    slow_momentum = torch.zeros_like(leaf)
    points = np.full((traj.steps + 1, 2), np.nan)
    rows: dict[str, np.ndarray] = {}
    for k in range(traj.steps):
        with torch.no_grad():
            leaf.copy_(torch.tensor(traj.xy[0, start, k : k + 1]))
        leaf.grad = torch.tensor(traj.grad[0, start, k : k + 1])
        base.step()
        points[k + 1] = leaf.detach().numpy()[0]
        state = base.state[leaf]
        for name, value in state.items():
            if torch.is_tensor(value) and value.shape == leaf.shape:
                rows.setdefault(name, np.full((traj.steps + 1, 2), np.nan))[k + 1] = (
                    value.detach().numpy()[0])
        if (k + 1) % k_sync == 0 and pullback != "none":
            buf = state.setdefault("momentum_buffer", torch.zeros_like(leaf))
            if pullback == "reset":
                state["momentum_buffer"] = torch.zeros_like(leaf)
            else:
                buf.lerp_(slow_momentum, 1.0 - alpha)
                slow_momentum.copy_(buf)
    return points, rows


@pytest.mark.parametrize("pullback", ["none", "reset", "pullback"])
@pytest.mark.parametrize("base", ["momentum", "adam"])
def test_lookahead_fast_point_is_the_base_step_before_the_pull_back(base: str,
                                                                     pullback: str) -> None:
    hp = {"base": base, "k": 4, "alpha": 0.4, "pullback_momentum": pullback}
    traj = optviz.simulate("rosenbrock", [("lookahead", hp)], STARTS, 30, record_state=True)
    state = traj.state[0]
    for start in range(len(STARTS)):
        points, rows = _lookahead_replay(traj, start)
        np.testing.assert_array_equal(state["fast.point"][start, 1:], points[1:])
        for name, values in rows.items():
            np.testing.assert_array_equal(state[f"fast.{name}"][start, 1:], values[1:])
        sync = [k for k in range(30) if (k + 1) % 4 == 0]
        off = [k for k in range(30) if (k + 1) % 4]
        xy = traj.xy[0, start]
        # a fast step ends where the base's step did; a sync step is pulled back from there
        np.testing.assert_array_equal(points[[k + 1 for k in off]], xy[[k + 1 for k in off]])
        assert not np.array_equal(points[[k + 1 for k in sync]], xy[[k + 1 for k in sync]])


def test_a_start_at_the_origin_records_prodigys_zero_p0() -> None:
    """Prodigy keeps ``p0`` of an all-zero parameter as a 0-dim zero: recorded as the zero
    point, alone or beside other starts, and its steps are explained like any other."""
    from tests.test_inspect import _close, _recompute

    for starts in ([(-1.0, 1.0), (0.0, 0.0)], [(0.0, 0.0)]):
        traj = optviz.simulate("rosenbrock", [("prodigy", {})], starts, steps=6,
                               record_state=True)
        origin = len(starts) - 1
        p0 = np.broadcast_to(traj.state[0]["p0"][origin, 1:].T, (2, 6))
        assert (p0 == 0).all()
        for step in range(6):
            view = inspect_step(traj, 0, origin, step)
            assert (view.values["θ₀_x"], view.values["θ₀_y"]) == (0.0, 0.0)
            _close(_recompute("prodigy", traj.runs[0][1], view.values, step), view,
                   f"prodigy from the origin, step {step}")


def test_the_largest_scenes_recording_fits_the_simulation_cache() -> None:
    """The step inspector's recording of the largest scene the app allows (MAX_RUNS runs ×
    MAX_STARTS starts × MAX_SCENE_STEPS steps) of any optimizer is kept by the simulation
    cache (one item at most half its budget), so stepping through it never records it again:
    sizes measured on 50 steps, which they are proportional to."""
    from optviz.limits import MAX_RUNS, MAX_SCENE_STEPS, MAX_STARTS
    from optviz.optimizers import list_optimizers
    from optviz.optimizers.packages import LOOKAHEAD_BASES
    from optviz.ui import cache, lru

    starts = [(-1.2 + 0.1 * i, 1.0 - 0.05 * i) for i in range(MAX_STARTS)]
    cases = [(key, {}) for key in list_optimizers() if key != "lbfgs"]  # L-BFGS: few steps
    cases += [("lookahead", {"base": base, "pullback_momentum": "pullback"})
              for base in LOOKAHEAD_BASES]
    worst = 0.0
    for key, hp in cases:
        traj = optviz.simulate("rosenbrock", [(key, hp)], starts, steps=50, record_state=True)
        worst = max(worst, lru.nbytes(traj) * MAX_RUNS * (MAX_SCENE_STEPS + 1) / 51)
    assert worst <= 0.9 * cache.SIMULATIONS.max_item_bytes, worst / 2**20
    assert worst > 0.5 * cache.SIMULATIONS.max_item_bytes  # the bound is not idle
