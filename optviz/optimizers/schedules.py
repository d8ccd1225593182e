r"""Run extras: a ``torch.optim.lr_scheduler`` schedule and per-particle gradient clipping.

A run is ``(key, kwargs)`` or ``(key, kwargs, extras)`` with, e.g.::

    extras = {"schedule": {"name": "CosineAnnealingLR", "T_max": 300}, "clip_norm": 1.0}

**Schedules** are PyTorch's own classes, stepped once after every optimizer step, so step
:math:`t` runs with :math:`\gamma_t` exactly as a training loop does. A schedule depends on the
step count only, so all particles of a run share it. ``warmup_cosine`` is ``SequentialLR`` of
``LinearLR`` (warm-up) then ``CosineAnnealingLR``. ``ReduceLROnPlateau`` is left out: it decides
from each run's own loss, so it would need one optimizer per particle and a loss to watch; the
other schedules cover what a 2D demo can show.

**Clipping** acts on each particle alone, after the gradient noise, before the step (by value
first when both are set):
``clip_norm`` :math:`c` scales :math:`g \leftarrow g \cdot \min(1, c/(\lVert g\rVert_2 + 10^{-6}))`
(``torch.nn.utils.clip_grad_norm_`` of that particle's gradient, bit for bit), ``clip_value``
:math:`v` clamps each coordinate to :math:`[-v, v]` (``clip_grad_value_``). Importing this
module does not import torch.
"""

from __future__ import annotations

import functools
import json
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from optviz import arguments

if TYPE_CHECKING:
    import torch

MAX_MILESTONES = 16


@dataclass(frozen=True)
class ScheduleParam:
    """One argument of a schedule: ``kind`` is ``int``, ``float``, ``ints`` or ``choice``."""

    name: str
    kind: str
    default: Any
    low: float | None = None
    high: float | None = None
    choices: tuple[str, ...] = ()
    help: str = ""


def _p(name: str, kind: str, default: Any, low: float | None = None,
       high: float | None = None, help: str = "", choices: tuple[str, ...] = ()) -> ScheduleParam:
    return ScheduleParam(name, kind, default, low, high, choices, help)


#: name -> (its arguments, a one-line formula for people). ``None`` default: required / steps.
SCHEDULES: dict[str, tuple[tuple[ScheduleParam, ...], str]] = {
    "StepLR": ((
        _p("step_size", "int", 100, 1, 100_000, "steps between decays"),
        _p("gamma", "float", 0.1, 0.0, 1.0, "factor at each decay"),
    ), "γ_t = γ·gamma^⌊t/step_size⌋"),
    "MultiStepLR": ((
        _p("milestones", "ints", (100, 200), 1, 100_000, "steps at which γ is multiplied"),
        _p("gamma", "float", 0.1, 0.0, 1.0, "factor at each milestone"),
    ), "γ_t = γ·gamma^(milestones passed)"),
    "ExponentialLR": ((
        _p("gamma", "float", 0.99, 0.0, 1.0, "factor per step"),
    ), "γ_t = γ·gamma^t"),
    "CosineAnnealingLR": ((
        _p("T_max", "int", None, 1, 100_000, "half-period in steps (default: the run's steps)"),
        _p("eta_min", "float", 0.0, 0.0, 10.0, "lowest learning rate"),
    ), "γ_t = η_min + (γ − η_min)(1 + cos(πt/T_max))/2"),
    "CosineAnnealingWarmRestarts": ((
        _p("T_0", "int", 50, 1, 100_000, "steps until the first restart"),
        _p("T_mult", "int", 1, 1, 10, "factor on the period after each restart"),
        _p("eta_min", "float", 0.0, 0.0, 10.0, "lowest learning rate"),
    ), "cosine from γ to η_min, restarted after T_0, T_0·T_mult, … steps"),
    "OneCycleLR": ((
        _p("max_lr", "float", None, 1e-8, 10.0, "peak learning rate (default: the run's γ)"),
        _p("total_steps", "int", None, 1, 100_000, "cycle length (default: the run's steps)"),
        _p("pct_start", "float", 0.3, 0.0, 1.0, "fraction of the cycle spent rising"),
        _p("anneal_strategy", "choice", "cos", choices=("cos", "linear"),
           help="shape of the rise and fall"),
        _p("div_factor", "float", 25.0, 1.0, 1e6, "start at max_lr / div_factor"),
        _p("final_div_factor", "float", 1e4, 1.0, 1e9, "end at start / final_div_factor"),
    ), "rise from max_lr/div to max_lr, then fall to max_lr/(div·final_div)"),
    "LinearLR": ((
        _p("start_factor", "float", 1 / 3, 1e-8, 1.0, "first factor on γ"),
        _p("end_factor", "float", 1.0, 0.0, 1.0, "factor reached after total_iters"),
        _p("total_iters", "int", 5, 1, 100_000, "steps of the ramp"),
    ), "γ_t = γ·(start + (end − start)·min(t, total_iters)/total_iters)"),
    "warmup_cosine": ((
        _p("warmup", "int", 20, 1, 100_000, "steps of linear warm-up"),
        _p("start_factor", "float", 0.1, 1e-8, 1.0, "warm-up starts at γ·start_factor"),
        _p("T_max", "int", None, 1, 100_000, "cosine half-period (default: steps − warmup)"),
        _p("eta_min", "float", 0.0, 0.0, 10.0, "lowest learning rate"),
    ), "SequentialLR: LinearLR warm-up, then CosineAnnealingLR"),
}


def _check_param(where: str, p: ScheduleParam, value: Any) -> Any:
    if p.kind == "int":
        return arguments.whole(where, value, int(p.low or 0), int(p.high or 2**31))
    if p.kind == "float":
        x = arguments.real(where, value, p.low, p.high)
        if p.name == "gamma" and x == 0.0:
            raise ValueError(f"{where} must be > 0")
        return x
    if p.kind == "choice":
        return arguments.choice(where, value, p.choices)
    if isinstance(value, str | bytes | Mapping) or not hasattr(value, "__iter__"):
        raise TypeError(f"{where} must be a list of whole numbers")
    items = [arguments.whole(f"{where}[{i}]", v, int(p.low or 0), int(p.high or 2**31))
             for i, v in enumerate(value)]
    if not items or len(items) > MAX_MILESTONES or items != sorted(set(items)):
        raise ValueError(f"{where} must be 1 to {MAX_MILESTONES} increasing whole numbers")
    return tuple(items)


def check_schedule(schedule: Any, steps: int, lr: float | None = None) -> dict[str, Any]:
    """A complete, checked schedule: ``{"name": ..., every argument}`` (defaults filled in)."""
    if not isinstance(schedule, Mapping):
        raise TypeError(f"schedule must be a mapping with a 'name', got {type(schedule).__name__}")
    name = arguments.choice("schedule name", schedule.get("name"), SCHEDULES)
    params, _ = SCHEDULES[name]
    known = {p.name for p in params}
    unknown = sorted(set(schedule) - known - {"name"})
    if unknown:
        raise ValueError(f"schedule {name}: unknown argument(s) {', '.join(map(repr, unknown))}; "
                         f"allowed: {', '.join(sorted(known))}")
    out: dict[str, Any] = {"name": name}
    for p in params:
        value = schedule.get(p.name, p.default)
        if value is None:  # defaults that follow the run
            value = {"T_max": steps - int(out.get("warmup", 0)), "total_steps": steps,
                     "max_lr": lr if lr is not None else 0.01}[p.name]
        out[p.name] = _check_param(f"schedule {name}: {p.name}", p, value)
    if name == "OneCycleLR" and out["total_steps"] < steps:
        raise ValueError(f"schedule OneCycleLR: total_steps ({out['total_steps']}) must be at "
                         f"least the run's steps ({steps}): torch refuses to step past the cycle")
    return out


def check_extras(extras: Any, steps: int, lr: float | None = None) -> dict[str, Any]:
    """Checked run extras: ``schedule`` (see :func:`check_schedule`; needs the run's learning
    rate ``lr``: vSGD has none), ``clip_norm``, ``clip_value`` (each > 0), others refused."""
    if extras is None:
        return {}
    if not isinstance(extras, Mapping):
        raise TypeError(f"extras must be a mapping, got {type(extras).__name__}")
    unknown = sorted(set(extras) - {"schedule", "clip_norm", "clip_value"})
    if unknown:
        raise ValueError(f"extras: unknown key(s) {', '.join(map(repr, unknown))}; allowed: "
                         "schedule, clip_norm, clip_value")
    out: dict[str, Any] = {}
    if extras.get("schedule") is not None:
        if lr is None:
            raise ValueError("schedule: this optimizer has no learning rate to schedule")
        out["schedule"] = check_schedule(extras["schedule"], steps, lr)
    for key in ("clip_norm", "clip_value"):
        if extras.get(key) is not None:
            value = arguments.real(key, extras[key], 0.0, 1e6)
            if value == 0.0:
                raise ValueError(f"{key} must be > 0 (None: no clipping)")
            out[key] = value
    return out


def build_schedule(optimizer: torch.optim.Optimizer, schedule: Mapping[str, Any]):
    """The torch scheduler for a checked ``schedule`` (see :func:`check_schedule`)."""
    from torch.optim import lr_scheduler

    args = {k: v for k, v in schedule.items() if k != "name"}
    name = schedule["name"]
    if name == "warmup_cosine":
        warm = lr_scheduler.LinearLR(optimizer, start_factor=args["start_factor"],
                                     end_factor=1.0, total_iters=args["warmup"])
        cosine = lr_scheduler.CosineAnnealingLR(optimizer, T_max=args["T_max"],
                                                eta_min=args["eta_min"])
        return lr_scheduler.SequentialLR(optimizer, [warm, cosine], milestones=[args["warmup"]])
    if name == "MultiStepLR":
        args["milestones"] = list(args["milestones"])
    if name == "OneCycleLR":
        args["cycle_momentum"] = False  # the run's momentum/betas stay as the user set them
    return getattr(lr_scheduler, name)(optimizer, **args)


def clip_rows(grad: torch.Tensor, clip_norm: float | None, clip_value: float | None):
    """Clip each row (particle) of ``grad`` ``(n, 2)`` alone, as ``clip_grad_norm_`` /
    ``clip_grad_value_`` would on that particle's gradient; a new tensor."""
    import torch

    if clip_value is not None:
        grad = grad.clamp(-clip_value, clip_value)
    if clip_norm is not None:
        norms = torch.linalg.vector_norm(grad, 2, dim=-1, keepdim=True)
        total = torch.linalg.vector_norm(norms, 2, dim=-1, keepdim=True)  # of one tensor
        coef = (clip_norm / (total + 1e-6)).clamp(max=1.0)
        grad = grad * coef
    return grad


def learning_rates(schedule: Mapping[str, Any], lr: float, steps: int) -> list[float]:
    """``γ_t`` for ``t = 1..steps`` under a checked ``schedule`` (for the lr-against-step chart)."""
    import torch

    p = torch.zeros(2, requires_grad=True)
    opt = torch.optim.SGD([p], lr=lr)
    sched = build_schedule(opt, schedule)
    out = []
    for _ in range(steps):
        out.append(opt.param_groups[0]["lr"])
        opt.step()
        sched.step()
    return [float(x) if math.isfinite(x) else float("nan") for x in out]


def check_line_search(key: str, kwargs: Mapping[str, Any], schedule: Mapping[str, Any] | None,
                      steps: int) -> None:
    """Refuse a schedule that takes L-BFGS's learning rate to 0 while its strong-Wolfe line
    search is on: torch's ``_strong_wolfe`` then divides by the zero step
    (``ZeroDivisionError`` in ``_cubic_interpolate``). CosineAnnealingLR does so at ``T_max``
    (and every ``2 T_max`` after) when ``eta_min`` is 0."""
    if key != "lbfgs" or schedule is None or kwargs.get("line_search_fn") != "strong_wolfe":
        return
    lr = float(kwargs["lr"])
    full = check_schedule(schedule, steps, lr)  # a scene's canonical schedule omits defaults
    zero = _first_zero(json.dumps(full, sort_keys=True), lr, steps)
    if zero is not None:
        raise ValueError(
            f"schedule {schedule['name']}: the learning rate reaches 0 at step {zero + 1}, "
            "where L-BFGS's strong-Wolfe line search divides by its step: set eta_min above "
            "0, a shorter schedule or no line search")


@functools.lru_cache(maxsize=256)
def _first_zero(schedule: str, lr: float, steps: int) -> int | None:
    """The first step index whose learning rate is exactly 0 (``schedule`` as JSON, so that a
    scene checked on every rerun steps the scheduler once)."""
    lrs = learning_rates(json.loads(schedule), lr, steps)
    return next((t for t, value in enumerate(lrs) if value == 0.0), None)
