"""``simulate()``: run optimizers from start points on a surface, batched and exact.

All starts of one (optimizer, hyperparameters) pair share ONE ``(N, 2)`` float64 leaf, stepped by
ONE optimizer instance; the loss of the leaf is the sum of its rows' losses, so every row gets
exactly its own gradient. For every elementwise ``torch.optim`` class this is bit-identical to
running each start alone on a 2-element tensor (tests check it on the catalogue surfaces; a custom
formula with non-integer powers or some transcendental functions can differ in the last bit,
because torch's vectorized and scalar kernels round differently) and about three orders of
magnitude faster. ``lbfgs`` couples a parameter's coordinates through its line search and
history, so it gets one instance per particle. Schedule-free optimizers (``reports_average``)
take gradients at y (``train()``, one more evaluation of their rows) and report the average x
(``eval()``), which is what is recorded; y is the state ``grad_point``.

Each step evaluates the surface and its gradient ONCE for all particles of all runs together
(closed-form sympy gradient by default, autograd on request), adds per-particle Gaussian noise
(:mod:`optviz.noise`), hands every optimizer its rows as ``.grad`` with one copy (every
parameter views its rows of one ``(M, 2)`` tensor of points, and its ``.grad`` the same rows of
one of gradients) and calls ``step()``. Newton's
Hessian and the noise-free gradient that curvature estimators ask for are likewise evaluated once
per step for all the rows that need them.

Divergence: a particle diverges at the first recorded step whose position or loss is not finite
or leaves a bound (``|x|, |y| > 1e6``, or ``|f| > 1e12 · max(1, |f(θ₀)|)``; Adam with a huge
learning rate wanders but never overflows). Its rows are NaN from there on. A dead row keeps
stepping on its own, harmlessly: rows never mix, so the other particles are exactly as they would
be alone.

:func:`stream` runs the same loop without histories (an ``on_step`` observer sees each step;
memory ``O(particles)``) for the analyses in :mod:`optviz.analysis`.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace
from typing import Any, Literal, NamedTuple

import numpy as np
import torch

from optviz import arguments
from optviz import noise as noise_stream
from optviz.limits import MAX_PARTICLE_STEPS, MAX_PARTICLES, MAX_SEED, MAX_STEPS
from optviz.optimizers import build_optimizer, get_optimizer
from optviz.optimizers._kernel import autograd_hessian
from optviz.optimizers.schedules import (
    build_schedule,
    check_extras,
    check_line_search,
    clip_rows,
)
from optviz.surfaces import Surface, get_surface

RunSpec = tuple[str, Mapping[str, Any]]
# on_step(step, xy (M, 2), loss (M,), grad (M, 2), ok (M,)); row = run · n_starts + start
OnStep = Callable[[int, torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor], None]

POSITION_BOUND = 1e6
LOSS_BOUND = 1e12  # relative to max(1, |f(start)|)


class SimulationTimeout(ValueError):
    """The simulation ran past its ``time_limit``: the scene is too heavy to wait for."""


@dataclass(frozen=True, eq=False)
class Trajectories:
    """What ``simulate`` returns: numpy arrays only, indexed ``[run, start, step]``."""

    surface: str
    runs: tuple[tuple[str, dict[str, Any]], ...]  # (optimizer key, complete torch kwargs)
    starts: np.ndarray  # (n_starts, 2)
    steps: int
    seed: int
    noise: float
    xy: np.ndarray  # (n_runs, n_starts, steps + 1, 2); row 0 is the start
    loss: np.ndarray  # (n_runs, n_starts, steps + 1)
    grad: np.ndarray  # (n_runs, n_starts, steps + 1, 2): the gradient seen there, noise included
    diverged_at: np.ndarray  # (n_runs, n_starts) int: first non-finite / out-of-bound step, -1
    state: tuple[dict[str, np.ndarray], ...] | None = (
        None  # per run: name -> (n_starts, steps+1, ...)
    )
    # with record_state: (n_runs, n_starts, steps + 1), the learning rate in the optimizer's
    # param group at index k, i.e. the one step k -> k + 1 uses (schedules included)
    lr: np.ndarray | None = None
    # schedule-free runs (gradient at y, reports x): (n_runs, n_starts, steps + 1, 2), y_k (the
    # point step k -> k + 1 takes its gradient at), NaN for other runs, at the last step and
    # from divergence on; None when no run has a gradient point (recorded with or without
    # record_state)
    grad_point: np.ndarray | None = None

    @property
    def n_runs(self) -> int:
        return self.xy.shape[0]

    @property
    def n_starts(self) -> int:
        return self.xy.shape[1]


@dataclass
class _Group:
    """One optimizer instance, its parameters and the rows of the combined tensor it owns.

    ``leaves`` is one ``(n, 2)`` leaf (elementwise optimizers: rows are particles) or one leaf
    per particle (per-tensor and per-particle optimizers, shaped as the spec says). Those
    per-particle leaves are views into ``flat`` (the ``(n, 2)`` points) and their ``.grad`` views
    into ``grads`` (set once): a step writes the gradients with one copy and reads the points
    with none, whatever the number of parameters (the classes update their parameters and read
    their gradients in place, so they never notice).
    """

    run: int
    leaves: list[torch.Tensor]
    optimizer: torch.optim.Optimizer
    rows: slice  # its rows in the combined (M, 2) tensor
    starts: np.ndarray  # start indices of its rows
    closure_based: bool  # lbfgs: evaluates the surface itself through a closure
    averaging: bool = False  # schedule-free: gradient at y (train()), reports x (eval())
    scheduler: Any = None  # a torch.optim.lr_scheduler, stepped after each step
    clip: tuple[float | None, float | None] = (None, None)  # (clip_norm, clip_value)
    flat: torch.Tensor | None = None  # per-particle leaves: the (n, 2) points they view
    grads: torch.Tensor | None = None  # ... and the (n, 2) gradients their .grad views
    group_state: tuple[str, ...] = ()  # param-group scalars recorded as "group.<name>"
    fast: dict[str, torch.Tensor] | None = None  # a wrapper's base, right after its step

    def clipped(self, grad: torch.Tensor) -> torch.Tensor:
        """``grad`` (its rows) clipped per particle as the run's extras say."""
        norm, value = self.clip
        return grad if norm is None and value is None else clip_rows(grad, norm, value)

    def positions(self) -> torch.Tensor:
        """The current points, ``(n, 2)``."""
        if self.flat is not None:
            return self.flat
        if len(self.leaves) == 1:
            return self.leaves[0].detach().reshape(-1, 2)
        return torch.cat([leaf.detach().reshape(-1, 2) for leaf in self.leaves])

    def set_grad(self, grad: torch.Tensor) -> None:
        """Hand each parameter its rows of ``grad`` (``(n, 2)``) as ``.grad``."""
        if self.grads is not None:
            self.grads.copy_(grad)
            return
        if len(self.leaves) == 1:
            self.leaves[0].grad = grad.reshape(self.leaves[0].shape)
            return
        for i, leaf in enumerate(self.leaves):
            leaf.grad = grad[i].reshape(leaf.shape)

    def state_rows(self) -> dict[str, torch.Tensor | float]:
        """The optimizer's state, stacked per particle to ``(n, ...)`` rows: every state
        tensor shaped like the parameter (``(n, 2, ...)``); every floating 0-dim one but the
        step count (``(n,)``: NAdam's ``mu_product``); every list of matrices (SOAP's
        ``GG`` and ``Q``) as ``<name>.<i>`` with each matrix's own shape; the spec's
        param-group scalars (Prodigy's ``d``) as ``group.<name>`` (a float, every row's);
        and, for a wrapper (Lookahead), what :meth:`watch_base` saw right after its base's
        step, before the wrapper moved anything: the point as ``fast.point`` and the base's
        state as ``fast.<name>``."""
        out = self._leaf_rows() if len(self.leaves) == 1 else self._particle_rows()
        if self.group_state:
            group = self.optimizer.param_groups[0]
            for name in self.group_state:
                if isinstance(group.get(name), int | float) and not isinstance(
                        group[name], bool):
                    out[f"group.{name}"] = float(group[name])  # every row's
        if self.fast is not None:
            out.update((f"fast.{name}", value) for name, value in self.fast.items())
        return out

    def watch_base(self) -> None:
        """Record, after each step of a wrapper's base optimizer (Lookahead's fast step) and
        before the wrapper moves the point back, the point (``fast.point``) and the base's
        state (``fast.<name>``), by a step post-hook on the base."""
        inner = self.optimizer.optimizer

        def after_base_step(*_: Any) -> None:
            self.fast = {"point": self.positions().clone(),
                         **{name: value.clone() for name, value in
                            self._leaf_rows(inner).items()}}

        inner.register_step_post_hook(after_base_step)

    def _leaf_rows(self, optimizer: torch.optim.Optimizer | None = None
                   ) -> dict[str, torch.Tensor]:
        """``state_rows`` of ``optimizer`` (default: the group's) for one leaf holding every
        row (elementwise, or a single particle)."""
        leaf = self.leaves[0]
        n = leaf.reshape(-1, 2).shape[0]
        optimizer = self.optimizer if optimizer is None else optimizer
        out = {}
        for name, value in optimizer.state.get(leaf, {}).items():
            if torch.is_tensor(value) and value.shape[: leaf.dim()] == leaf.shape:
                out[name] = value.reshape(n, *value.shape[leaf.dim() - 1 :])
            elif _scalar(name, value):  # one leaf's scalar: every row's (elementwise classes)
                out[name] = value.expand(n)
            elif n == 1 and _matrices(value):
                out.update((f"{name}.{i}", m.reshape(1, *m.shape)) for i, m in enumerate(value))
        return out

    def _particle_rows(self) -> dict[str, torch.Tensor]:
        """``state_rows`` for one leaf per particle (stacked over the leaves)."""
        states = [self.optimizer.state.get(leaf, {}) for leaf in self.leaves]
        shape = self.leaves[0].shape  # every leaf has the spec's param_shape
        out = {}
        for name, first in states[0].items():
            try:  # one stack; it refuses a missing or differently shaped value
                if torch.is_tensor(first) and first.shape == shape:
                    out[name] = torch.stack([st[name] for st in states]).reshape(
                        len(states), 2)
                elif _scalar(name, first):
                    out[name] = torch.stack([st[name] for st in states])
                elif _matrices(first):
                    out.update((f"{name}.{i}", torch.stack([st[name][i] for st in states]))
                               for i in range(len(first)))
            except (KeyError, IndexError, RuntimeError, TypeError):
                continue
        return out


def _scalar(name: str, value: Any) -> bool:
    """A floating 0-dim state tensor (NAdam's ``mu_product``, ASGD's ``eta``), but not the step
    count ``step``: that is the row index itself."""
    return (torch.is_tensor(value) and value.dim() == 0 and value.is_floating_point()
            and name.rsplit(".", 1)[-1] != "step")


def _matrices(value: Any) -> bool:
    """A non-empty list of matrices (SOAP's ``GG`` and ``Q``: one per dimension)."""
    return (isinstance(value, list | tuple) and len(value) > 0
            and all(torch.is_tensor(m) and m.dim() == 2 for m in value))


@contextmanager
def single_thread() -> Iterator[None]:
    """Two torch threads are slower than one on small tensors on shared cores (measured); the
    step inspector's torch ops (SOAP's projections, Muon's Newton–Schulz) use it too."""
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(previous)


def _check_limits(steps: int, n_runs: int, n_starts: int) -> None:
    if n_runs < 1 or n_starts < 1:
        raise ValueError("simulate needs at least one run and one start")
    particles = n_runs * n_starts
    if particles > MAX_PARTICLES:
        raise ValueError(
            f"{n_runs} runs × {n_starts} starts = {particles:,} particles; "
            f"at most {MAX_PARTICLES:,}"
        )
    if particles * steps > MAX_PARTICLE_STEPS:
        raise ValueError(
            f"{particles:,} particles × {steps:,} steps = {particles * steps:,} particle-steps; "
            f"at most {MAX_PARTICLE_STEPS:,}"
        )


def _as_surface(surface: Any) -> Surface:
    if isinstance(surface, Surface):
        return surface
    if not isinstance(surface, str):
        raise TypeError(f"surface must be a surface name (str) or a Surface, got "
                        f"{type(surface).__name__}")
    try:
        return get_surface(surface)
    except KeyError as err:
        raise ValueError(f"surface: {err.args[0] if err.args else surface}") from None


def _as_runs(runs: Any, steps: int) -> tuple[tuple[str, dict[str, Any], dict[str, Any]], ...]:
    """``[(key, kwargs[, extras]), ...]`` validated: complete torch keyword arguments and checked
    extras (schedule, clipping) per run."""
    if isinstance(runs, str | bytes | Mapping) or not isinstance(runs, Sequence):
        raise TypeError(f"runs must be a list of (optimizer, hyperparameters) pairs, got "
                        f"{type(runs).__name__}")
    validated = []
    for i, run in enumerate(runs):
        if isinstance(run, str | bytes) or not isinstance(run, Sequence) or len(run) not in (2, 3):
            raise TypeError(f"runs[{i}] must be (optimizer, hyperparameters) or (optimizer, "
                            f"hyperparameters, extras), got {arguments.show(run)}")
        key, hparams = run[0], run[1]
        if hparams is not None and not isinstance(hparams, Mapping):
            raise TypeError(f"runs[{i}] hyperparameters must be a mapping, got "
                            f"{type(hparams).__name__}")
        try:
            spec = get_optimizer(key)
        except TypeError as err:
            raise TypeError(f"runs[{i}]: {err}") from None
        except KeyError as err:
            raise ValueError(f"runs[{i}]: {err.args[0]}") from None
        try:
            kwargs = spec.validate(hparams)
            extras = check_extras(run[2] if len(run) == 3 else None, steps, kwargs.get("lr"))
            check_line_search(key, kwargs, extras.get("schedule"), steps)
        except ValueError as err:
            raise ValueError(f"runs[{i}]: {err}") from err
        except TypeError as err:
            raise TypeError(f"runs[{i}]: {err}") from err
        validated.append((key, kwargs, extras))
    return tuple(validated)


def _autograd_gradient(f: Callable[[torch.Tensor], torch.Tensor]):
    def value_and_grad(xy: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        with torch.enable_grad():
            leaf = xy.detach().requires_grad_(True)
            value = f(leaf)
            if not value.requires_grad:  # a constant formula
                return value.detach(), torch.zeros_like(xy)
            (g,) = torch.autograd.grad(value.sum(), leaf, materialize_grads=True)
        return value.detach(), g

    return value_and_grad


def _autograd_hessian(f: Callable[[torch.Tensor], torch.Tensor]):
    """Per-row Hessians by double backward (:func:`optviz.optimizers.newton.autograd_hessian`)."""

    def hessian(xy: torch.Tensor) -> torch.Tensor:
        with torch.enable_grad():
            leaf = xy.detach().requires_grad_(True)
            value = f(leaf)
            if not value.requires_grad:
                return torch.zeros((*xy.shape, 2), dtype=xy.dtype)
            return autograd_hessian(value.sum(), leaf)[1].detach()

    return hessian


class _StepCache:
    """``fn`` evaluated once per step on every row that asks for it, handed out as slices.

    The optimizers call ``fn(p)`` on their own leaf during ``step()``; at that moment the leaf
    holds exactly the positions the step started from, so a slice of one evaluation over all
    such rows is the same value. A call at any other point is evaluated directly.
    """

    def __init__(self, fn: Callable[[torch.Tensor], torch.Tensor], rows: list[slice]) -> None:
        self.fn = fn
        self.index = torch.cat([torch.arange(r.start, r.stop) for r in rows]) if rows else None
        self.offsets: dict[int, slice] = {}
        at = 0
        for r in rows:
            self.offsets[r.start] = slice(at, at + r.stop - r.start)
            at += r.stop - r.start
        self.xy: torch.Tensor | None = None
        self.value: torch.Tensor | None = None

    def start_step(self, xy: torch.Tensor) -> None:
        self.xy = xy[self.index] if self.index is not None else None
        self.value = None

    def for_rows(self, rows: slice) -> Callable[[torch.Tensor], torch.Tensor]:
        part = self.offsets[rows.start]

        def fn(p: torch.Tensor) -> torch.Tensor:
            if self.xy is None or not torch.equal(p.detach(), self.xy[part]):
                return self.fn(p.detach())
            if self.value is None:
                self.value = self.fn(self.xy)
            return self.value[part]

        return fn


class _Setup(NamedTuple):
    """The checked arguments of :func:`simulate` / :func:`stream`, in ``_Simulation``'s order."""

    surface: Surface
    runs: tuple[tuple[str, dict[str, Any], dict[str, Any]], ...]
    starts: np.ndarray
    steps: int
    seed: int
    sigma: float
    value_and_grad: Callable
    hessian_fn: Callable
    grad_fn: Callable
    time_limit: float | None


def _prepare(surface, runs, starts, steps, seed, noise, gradient, time_limit) -> _Setup:
    """Check every argument (TypeError / ValueError naming it) and pick the derivatives."""
    surf = _as_surface(surface)
    start_array = arguments.points("starts", starts)
    steps = arguments.whole("steps", steps, 1, MAX_STEPS)
    seed = arguments.whole("seed", seed, 0, MAX_SEED)
    sigma = surf.noise if noise is None else arguments.real("noise", noise, low=0.0)
    gradient = arguments.choice("gradient", gradient, ("closed_form", "autograd"))
    if time_limit is not None:
        time_limit = arguments.real("time_limit", time_limit, low=0.0)
    validated = _as_runs(runs, steps)
    _check_limits(steps, len(validated), len(start_array))
    if gradient == "closed_form":
        value_and_grad, hessian_fn, grad_fn = surf.value_and_grad, surf.hessian, surf.grad
    else:
        value_and_grad = _autograd_gradient(surf.f)
        hessian_fn = _autograd_hessian(surf.f)

        def grad_fn(xy: torch.Tensor) -> torch.Tensor:
            return value_and_grad(xy)[1]

    return _Setup(surf, validated, start_array, steps, seed, sigma, value_and_grad, hessian_fn,
                  grad_fn, time_limit)


def simulate(
    surface: str | Surface,
    runs: Sequence[RunSpec],
    starts: Any,
    steps: int = 500,
    seed: int = 0,
    noise: float | None = None,
    gradient: Literal["closed_form", "autograd"] = "closed_form",
    record_state: bool = False,
    time_limit: float | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> Trajectories:
    """Run every (optimizer, hyperparameters) pair from every start for ``steps`` steps.

    ``noise`` is the std of Gaussian noise added to each gradient (``None``: the surface's
    default). ``gradient="autograd"`` differentiates the formula with autograd instead of using
    the closed form (the two agree to rounding; autograd is the reference in tests).
    ``record_state`` keeps every optimizer state tensor shaped like the parameter (index ``k``:
    the state after ``k`` steps, so step ``k -> k + 1`` reads its state before at ``k`` and after
    at ``k + 1``; NaN before the optimizer creates it), its scalar state and lists of
    matrices, the spec's param-group scalars and a wrapper's base state
    (:meth:`_Group.state_rows`), L-BFGS's last search direction, step length and running
    iteration / evaluation counts (:data:`LBFGS_STATE`), and ``lr`` (the
    learning rate step ``k -> k + 1`` uses, schedules included). ``time_limit`` (seconds)
    stops a scene too heavy to wait for with :class:`SimulationTimeout`. Memory: about 50 bytes
    per particle-step (more with state).
    ``progress(step, steps)``, if given, is called every few steps (a worker process reports
    progress with it; an exception it raises, e.g. a cancellation, stops the simulation).
    """
    record_state = arguments.flag("record_state", record_state)
    if progress is not None and not callable(progress):
        raise TypeError(f"progress must be callable, got {type(progress).__name__}")
    setup = _prepare(surface, runs, starts, steps, seed, noise, gradient, time_limit)
    with single_thread(), torch.no_grad():
        return _Simulation(*setup[:9], record_state, setup.time_limit).run(progress=progress)


def stream(
    surface: str | Surface,
    runs: Sequence[RunSpec],
    starts: Any,
    on_step: OnStep,
    steps: int = 500,
    seed: int = 0,
    noise: float | None = None,
    gradient: Literal["closed_form", "autograd"] = "closed_form",
    time_limit: float | None = None,
    *,
    fused: Callable[[torch.Tensor], torch.optim.Optimizer] | None = None,
    common_noise: bool = False,
) -> None:
    """The loop of :func:`simulate` without histories: ``on_step`` sees every step instead.

    ``on_step(step, xy, loss, grad, ok)`` gets the ``(M, 2)`` positions, losses, gradients
    (noise included) and the in-bounds mask of all ``M = n_runs · n_starts`` particles, row
    ``run · n_starts + start``, at steps ``0 .. steps``; memory stays ``O(M)``. A particle is
    diverged from its first step with ``ok`` False (``simulate`` NaNs it from there on).

    ``common_noise``: every run draws the noise of run 0, so run ``r`` sees exactly what
    ``simulate`` gives it alone (common random numbers across the runs of a sweep).
    ``fused(leaf)``: optional; all runs become rows of ONE ``(n_runs · n_starts, 2)`` leaf (the
    starts tiled per run) stepped by the optimizer it returns. The caller guarantees that
    optimizer is bit-identical per row to the registry's class for each run (elementwise
    optimizers without Hessian or clean-gradient needs only).
    """
    if not callable(on_step):
        raise TypeError(f"on_step must be callable, got {type(on_step).__name__}")
    setup = _prepare(surface, runs, starts, steps, seed, noise, gradient, time_limit)
    with single_thread(), torch.no_grad():
        sim = _Simulation(*setup[:9], False, setup.time_limit, fused=fused,
                          common_noise=common_noise)
        sim.run(on_step)


def _within_bounds(
    xy: torch.Tensor, loss: torch.Tensor, loss_limit: torch.Tensor | float
) -> torch.Tensor:
    """Per row: position and loss finite and inside the bounds (NaN compares False)."""
    return (xy.abs() <= POSITION_BOUND).all(dim=-1) & (loss.abs() <= loss_limit)


def _mark_divergence(ok_hist, xy_hist, loss_hist, grad_hist, state_hist, groups) -> np.ndarray:
    """First out-of-bounds step per particle; NaN from there on in every recorded array.

    Detection after the loop is exact because rows never mix: a dead row keeps stepping on its
    own (inf/NaN stay in their row) without touching any other particle.
    """
    bad = ~ok_hist  # (steps + 1, M)
    dead = bad.any(dim=0)
    diverged_at = np.full(bad.shape[1], -1, dtype=np.int64)
    if not dead.any():
        return diverged_at
    first = bad.to(torch.uint8).argmax(dim=0)  # first True per column
    diverged_at[dead.numpy()] = first[dead].numpy()
    steps = torch.arange(bad.shape[0])[:, None]
    after = dead[None, :] & (steps >= first[None, :])  # (steps + 1, M)
    xy_hist[after] = float("nan")
    loss_hist[after] = float("nan")
    grad_hist[after] = float("nan")
    for group, hist in zip(groups, state_hist, strict=True):
        for values in hist.values():
            values[after[:, group.rows]] = float("nan")
    return diverged_at


def _views(
    flat: torch.Tensor, grads: torch.Tensor, shape: tuple[int, ...]
) -> list[torch.Tensor]:
    """One leaf per row of ``flat`` (``(n, 2)``), shaped ``shape``, viewing that row; its
    ``.grad`` is the same row of ``grads``, so writing ``grads`` hands every leaf its gradient."""
    leaves = []
    for point, grad in zip(flat, grads, strict=True):
        leaf = point.view(shape).requires_grad_(True)
        leaf.grad = grad.view(shape)
        leaves.append(leaf)
    return leaves


class _Simulation:
    """The lock-step loop behind :func:`simulate` (one use)."""

    def __init__(
        self,
        surface,
        runs,
        starts,
        steps,
        seed,
        sigma,
        value_and_grad,
        hessian_fn,
        grad_fn,
        record_state,
        time_limit,
        fused: Callable[[torch.Tensor], torch.optim.Optimizer] | None = None,
        common_noise: bool = False,
    ) -> None:
        self.extras = tuple(extras for _, _, extras in runs)
        runs = tuple((key, kwargs) for key, kwargs, _ in runs)
        self.surface, self.runs, self.starts = surface, runs, starts
        self.fused = fused
        self.steps, self.seed, self.sigma = steps, seed, sigma
        self.value_and_grad = value_and_grad
        self.record_state, self.time_limit = record_state, time_limit
        n_runs, n_starts = len(runs), len(starts)
        self.n_particles = n_runs * n_starts
        specs = [get_optimizer(key) for key, _ in runs]
        self.hessians = _StepCache(hessian_fn, self._rows_of(specs, "needs_hessian"))
        self.clean_grads = _StepCache(grad_fn, self._rows_of(specs, "needs_grad_fn"))
        self.points: torch.Tensor | None = None  # the (M, 2) rows every group's leaves view
        self.grads: torch.Tensor | None = None  # ... and the (M, 2) gradients their .grad view
        self.groups = self._build_groups() if fused is None else self._fused_group()
        self.clipping = [g for g in self.groups if g.clip != (None, None)]
        self.averaging = [g for g in self.groups if g.averaging]
        run_index = np.concatenate([np.full(len(g.starts), g.run) for g in self.groups])
        start_index = np.concatenate([g.starts for g in self.groups])
        noise_runs = np.zeros_like(run_index) if common_noise else run_index
        self.keys = noise_stream.particle_keys(seed, noise_runs, start_index)
        # Order of the combined rows -> [run, start] order of the result.
        self.order = np.argsort(run_index * n_starts + start_index, kind="stable")

    def _rows_of(self, specs: list, flag: str) -> list[slice]:
        """Rows of the batched runs whose optimizer has ``flag`` (run r owns rows r·n .. r·n+n)."""
        n = len(self.starts)
        return [
            slice(r * n, (r + 1) * n)
            for r, spec in enumerate(specs)
            if getattr(spec, flag, False) and not spec.needs_closure
        ]

    def _build_groups(self) -> list[_Group]:
        """One group per (run, chunk of starts); every parameter is a view into ``self.points``
        (the ``(M, 2)`` rows in the combined order) and its ``.grad`` a view into
        ``self.grads``, so one copy hands every group its gradient and the points are read
        without gathering them."""
        self.points = torch.tensor(np.tile(self.starts, (len(self.runs), 1)),
                                   dtype=torch.float64)
        self.grads = torch.zeros_like(self.points)
        groups: list[_Group] = []
        row = 0
        n_starts = len(self.starts)
        for run, (key, kwargs) in enumerate(self.runs):
            spec = get_optimizer(key)
            rows = slice(row, row + n_starts)
            extra = {}
            if spec.needs_hessian:
                extra["hessian_fn"] = self.hessians.for_rows(rows)
            if getattr(spec, "needs_grad_fn", False):
                extra["grad_fn"] = self.clean_grads.for_rows(rows)
            if spec.execution == "per_particle":
                chunks = [np.array([i]) for i in range(n_starts)]
            else:
                chunks = [np.arange(n_starts)]
            for chunk in chunks:
                block = slice(row, row + len(chunk))
                flat, grads = self.points[block], self.grads[block]
                if spec.execution == "elementwise":  # rows are particles: the block itself
                    leaves = [flat.view(flat.shape).requires_grad_(True)]
                    leaves[0].grad = grads
                else:  # one parameter per particle, shaped as the optimizer expects
                    leaves = _views(flat, grads, spec.param_shape)
                optimizer = build_optimizer(key, leaves, kwargs, **extra)
                extras = self.extras[run]
                scheduler = (build_schedule(optimizer, extras["schedule"])
                             if "schedule" in extras else None)
                clip = (extras.get("clip_norm"), extras.get("clip_value"))
                group = _Group(run, leaves, optimizer, block, chunk, spec.needs_closure,
                               spec.reports_average, scheduler, clip, flat, grads)
                if self.record_state:
                    group.group_state = spec.group_state
                    if spec.wraps:
                        group.watch_base()
                groups.append(group)
                row += len(chunk)
        return groups

    def _fused_group(self) -> list[_Group]:
        """All runs as rows of ONE ``(n_runs · n_starts, 2)`` leaf stepped by ``self.fused``."""
        n_runs = len(self.runs)
        leaf = torch.tensor(np.tile(self.starts, (n_runs, 1)), dtype=torch.float64)
        leaf.requires_grad_(True)
        rows = slice(0, n_runs * len(self.starts))
        starts = np.tile(np.arange(len(self.starts)), n_runs)
        return [_Group(0, [leaf], self.fused(leaf), rows, starts, False)]

    def _noise(self, rows: slice, step: int, call: int) -> torch.Tensor:
        draws = noise_stream.standard_normal(self.keys[rows], step, call)
        return torch.from_numpy(draws).mul_(self.sigma)

    def _closure_for(self, group: _Group, step: int) -> Callable[[], torch.Tensor]:
        calls = iter(range(1 << 16))

        def closure() -> torch.Tensor:
            loss, g = self.value_and_grad(group.positions())
            if self.sigma > 0:
                g = g + self._noise(group.rows, step, next(calls))
            g = group.clipped(g)
            group.set_grad(g if group.grads is not None else g.clone())  # copied, or kept
            return loss.sum()

        return closure

    def run(
        self, on_step: OnStep | None = None, progress: Callable[[int, int], None] | None = None
    ) -> Trajectories | None:
        """Step every group; record histories, or (with ``on_step``) only report each step."""
        m, steps = self.n_particles, self.steps
        depth = 1 if on_step is not None else steps + 1  # streaming: one reused row
        xy_hist = torch.empty((depth, m, 2), dtype=torch.float64)
        loss_hist = torch.empty((depth, m), dtype=torch.float64)
        grad_hist = torch.empty((depth, m, 2), dtype=torch.float64)
        ok_hist = torch.empty((depth, m), dtype=torch.bool)
        state_hist: list[dict[str, torch.Tensor]] = [{} for _ in self.groups]
        lr_hist = (torch.full((steps + 1, m), float("nan"), dtype=torch.float64)
                   if self.record_state and on_step is None else None)
        gp_hist = (torch.full((steps + 1, m, 2), float("nan"), dtype=torch.float64)
                   if self.averaging and on_step is None else None)
        deadline = None if self.time_limit is None else time.monotonic() + self.time_limit
        loss_limit: torch.Tensor | float = LOSS_BOUND

        for step in range(steps + 1):
            for group in self.averaging:
                group.optimizer.eval()  # the parameters now hold the reported average x
            xy = (self.points.clone() if self.points is not None
                  else torch.cat([g.positions() for g in self.groups]))
            loss, grad = self.value_and_grad(xy)
            if step == 0:
                loss_limit = LOSS_BOUND * torch.nan_to_num(loss.abs(), nan=1.0).clamp(min=1.0)
            if self.sigma > 0:
                grad = grad + self._noise(slice(0, m), step, 0)
            for group in self.clipping:  # what the optimizer sees, and what is recorded
                grad[group.rows] = group.clipped(grad[group.rows])
            if on_step is None:
                xy_hist[step] = xy
                loss_hist[step] = loss
                grad_hist[step] = grad
            ok = ok_hist[step % depth] = _within_bounds(xy, loss, loss_limit)  # hot data
            if on_step is not None:
                on_step(step, xy, loss, grad, ok)
            if lr_hist is not None:
                self._record_state(state_hist, step, lr_hist)
            if step == steps:
                break
            if progress is not None and step % 8 == 0:
                progress(step, steps)
            if deadline is not None and step % 8 == 0 and time.monotonic() > deadline:
                raise SimulationTimeout(
                    f"stopped at step {step:,} of {steps:,} after {self.time_limit:g} s: this "
                    "scene is too heavy to wait for (use fewer steps, starts, runs or L-BFGS "
                    "evaluations)"
                )
            self.hessians.start_step(xy)
            self.clean_grads.start_step(xy)
            if self.grads is not None:
                self.grads.copy_(grad)  # every group's .grad at once (views into it)
            for group in self.groups:
                if group.averaging:
                    group.set_grad(self._gradient_point(group, step, state_hist))
                    if gp_hist is not None:  # the parameters hold y now (train())
                        gp_hist[step, group.rows] = group.positions()
                    group.optimizer.step()
                elif not group.closure_based:
                    if self.grads is None:
                        group.set_grad(grad[group.rows])
                    group.optimizer.step()
                elif ok[group.rows].all():  # a dead L-BFGS particle stops searching
                    group.optimizer.step(self._closure_for(group, step))
                if group.scheduler is not None:
                    group.scheduler.step()
        if on_step is not None:
            return None
        diverged_at = _mark_divergence(
            ok_hist, xy_hist, loss_hist, grad_hist, state_hist, self.groups
        )
        result = self._result(xy_hist, loss_hist, grad_hist, diverged_at, state_hist, lr_hist)
        if gp_hist is None:
            return result
        for row in np.flatnonzero(diverged_at >= 0):
            gp_hist[diverged_at[row]:, row] = float("nan")
        return replace(result, grad_point=_arrange(gp_hist, self.order, len(self.runs),
                                                   len(self.starts)))

    def _gradient_point(
        self, group: _Group, step: int, state_hist: list[dict[str, torch.Tensor]]
    ) -> torch.Tensor:
        """Schedule-free: ``train()`` moves the parameters to the gradient point y; its
        gradient (with this step's noise draw, the same as at x) and, if recorded, y itself
        (state ``grad_point``, for a ghost path) and that gradient as the optimizer sees it,
        clipping included (state ``grad_at_point``); both at row ``step``."""
        group.optimizer.train()
        y = group.positions()
        g = self.value_and_grad(y)[1]
        if self.sigma > 0:
            g = g + self._noise(group.rows, step, 0)
        g = group.clipped(g)
        if self.record_state:
            hist = state_hist[self.groups.index(group)]
            for name, value in (("grad_point", y), ("grad_at_point", g)):
                if name not in hist:
                    hist[name] = torch.full((self.steps + 1, *y.shape), float("nan"),
                                            dtype=torch.float64)
                if isinstance(value, float):
                    hist[name].numpy()[step] = value  # half the cost of a tensor's setitem
                else:
                    hist[name][step] = value
        return g

    def _record_state(
        self, state_hist: list[dict[str, torch.Tensor]], step: int, lr_hist: torch.Tensor
    ) -> None:
        """State after ``step`` steps (row ``step`` of each history) and the lr step uses."""
        for group, hist in zip(self.groups, state_hist, strict=True):
            lr = group.optimizer.param_groups[0].get("lr", float("nan"))
            lr_hist[step, group.rows] = float(lr)
            rows = _lbfgs_rows(group) if group.closure_based else group.state_rows()
            for name, value in rows.items():
                if name not in hist:
                    shape = ((group.rows.stop - group.rows.start,) if isinstance(value, float)
                             else tuple(value.shape))
                    hist[name] = torch.full((self.steps + 1, *shape), float("nan"),
                                            dtype=torch.float64)
                if isinstance(value, float):
                    hist[name].numpy()[step] = value  # half the cost of a tensor's setitem
                else:
                    hist[name][step] = value

    def _result(
        self, xy_hist, loss_hist, grad_hist, diverged_at, state_hist, lr_hist=None
    ) -> Trajectories:
        n_runs, n_starts = len(self.runs), len(self.starts)

        identity = bool((self.order == np.arange(len(self.order))).all())

        def arrange(hist: torch.Tensor) -> np.ndarray:
            """(steps+1, M, ...) -> (n_runs, n_starts, steps+1, ...): a strided view, no copy."""
            array = hist.numpy() if identity else np.take(hist.numpy(), self.order, axis=1)
            array = array.swapaxes(0, 1)
            return array.reshape(n_runs, n_starts, *array.shape[1:])

        state = None
        if self.record_state:
            parts: list[list[tuple[_Group, dict[str, torch.Tensor]]]] = [[] for _ in self.runs]
            for group, hist in zip(self.groups, state_hist, strict=True):
                parts[group.run].append((group, hist))  # groups of one run: its starts in order
            state = tuple(_join_run_state(run_parts, self.steps) for run_parts in parts)
        return Trajectories(
            surface=self.surface.name,
            runs=self.runs,
            starts=self.starts.copy(),
            steps=self.steps,
            seed=self.seed,
            noise=self.sigma,
            xy=arrange(xy_hist),
            loss=arrange(loss_hist),
            grad=arrange(grad_hist),
            diverged_at=diverged_at[self.order].reshape(n_runs, n_starts),
            state=state,
            lr=None if lr_hist is None else arrange(lr_hist),
        )


def _arrange(hist: torch.Tensor, order: np.ndarray, n_runs: int, n_starts: int) -> np.ndarray:
    """(steps+1, M, ...) combined rows -> (n_runs, n_starts, steps+1, ...), a copy."""
    array = np.take(hist.numpy(), order, axis=1).swapaxes(0, 1)
    return np.ascontiguousarray(array.reshape(n_runs, n_starts, *array.shape[1:]))


#: what the runner keeps of torch's L-BFGS state per step (its history is whole-parameter)
LBFGS_STATE = {"d": "direction", "t": "step_length", "n_iter": "iterations",
               "func_evals": "evaluations"}


def _lbfgs_rows(group: _Group) -> dict[str, torch.Tensor]:
    """L-BFGS (one particle per instance): the last search direction ``d`` (``(1, 2)``), its
    step length ``t`` and the running counts of iterations and evaluations (``(1,)`` each)."""
    state = group.optimizer.state.get(group.leaves[0], {})
    out = {}
    for key, name in LBFGS_STATE.items():
        if key not in state:
            continue
        value = state[key]
        out[name] = (value.detach().reshape(1, 2) if key == "d"
                     else torch.tensor([float(value)], dtype=torch.float64))
    return out


def _join_run_state(
    parts: list[tuple[_Group, dict[str, torch.Tensor]]], steps: int
) -> dict[str, np.ndarray]:
    """One run's state ``name -> (n_starts, steps + 1, ...)`` from its groups' histories; a
    group that never had a state some other group has (a particle that never stepped) is NaN,
    and a scalar where the others have a tensor is broadcast to it."""
    shapes: dict[str, tuple[int, ...]] = {}
    for _, hist in parts:
        for name, h in hist.items():
            if len(h.shape[2:]) >= len(shapes.get(name, ())):
                shapes[name] = tuple(h.shape[2:])
    out = {}
    for name, tail in shapes.items():
        arrays = []
        for group, hist in parts:
            h = hist.get(name)
            if h is None:
                n = group.rows.stop - group.rows.start
                h = torch.full((steps + 1, n, *tail), float("nan"), dtype=torch.float64)
            elif tuple(h.shape[2:]) != tail:
                # a 0-dim stand-in for a zero tensor (Prodigy's p0 of a start at the origin)
                # where the other particles have the tensor: broadcast
                h = h.reshape(*h.shape[:2], *([1] * len(tail))).expand(*h.shape[:2], *tail)
            arrays.append(h.numpy().swapaxes(0, 1))
        out[name] = arrays[0] if len(arrays) == 1 else np.concatenate(arrays)
    return out
