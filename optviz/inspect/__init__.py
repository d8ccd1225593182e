"""Inside one optimizer step: :func:`inspect_step` explains ``θ_step -> θ_step+1`` of one
particle from the optimizer's OWN recorded state (``simulate(record_state=True)``).

Recorded state row ``k`` is the state after ``k`` steps, so step ``k`` reads its state before at
row ``k`` (NaN until the optimizer creates it: read as its initial zeros) and after at row
``k + 1``; nothing is re-run. Each family module turns that state into vectors, boxes
(per-coordinate step sizes), matrices, the values behind them, the rule with numbers and a
"why" sentence: :mod:`.sgd`, :mod:`.adam`, :mod:`.adaptive`, :mod:`.newton`, :mod:`.lbfgs`,
:mod:`.sign` (Lion), :mod:`.packages` (ADOPT, Adan, LAMB, AdaBelief, AdEMAMix, SophiaH),
:mod:`.muon`, :mod:`.prodigy`, :mod:`.schedulefree`, :mod:`.lookahead`, :mod:`.soap`, and
:mod:`.generic` for anything else.
:func:`~optviz.inspect.glyphs.step_glyphs` turns a view into drawing instructions.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

import numpy as np

from optviz.inspect._common import StepData
from optviz.inspect.view import StepView

__all__ = ["FAMILIES", "StepView", "inspect_step"]

#: registry key -> family module (everything else: generic)
FAMILIES = {
    "sgd": "sgd",
    "asgd": "sgd",
    **dict.fromkeys(("adam", "adamw", "adamax", "nadam", "radam"), "adam"),
    **dict.fromkeys(("adagrad", "rmsprop", "adadelta", "rprop", "adafactor"), "adaptive"),
    **dict.fromkeys(("newton", "diag_newton", "natural_gradient", "adagrad_full", "vsgd"),
                    "newton"),
    "lbfgs": "lbfgs",
    "lion": "sign",
    **dict.fromkeys(("adopt", "adan", "lamb", "adabelief", "ademamix", "sophiah"), "packages"),
    "muon": "muon",
    "prodigy": "prodigy",
    "adamw_schedulefree": "schedulefree",
    "lookahead": "lookahead",
    "soap": "soap",
}


def _index(name: str, value: Any, size: int, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int | np.integer):
        raise TypeError(f"{name} must be an int, got {type(value).__name__}")
    if not 0 <= value < size:
        raise ValueError(f"{name} {value} out of range: {what}")
    return int(value)


def _surface(traj: Any, surface: Any) -> Any:
    if surface is not None:
        return surface
    from optviz.surfaces import get_surface

    try:
        return get_surface(traj.surface)
    except (KeyError, ValueError, TypeError):
        return None


def inspect_step(traj: Any, run: int, start: int, step: int, surface: Any = None) -> StepView:
    """What particle ``(run, start)`` did at step ``step`` (``xy[step] -> xy[step + 1]``).

    ``traj`` must come from ``simulate(..., record_state=True)``. ``surface`` (optional) is the
    :class:`~optviz.surfaces.Surface` it ran on, needed only for a surface that is not in the
    catalogue (a custom formula) when the noise-free gradient is wanted. Raises ``ValueError``
    without recorded state, for an index out of range (``step < steps``: the update needs
    ``step + 1``) or a step at or after the particle diverged.
    """
    if getattr(traj, "state", None) is None:
        raise ValueError("inspect_step needs the optimizer's recorded state: simulate(..., "
                         "record_state=True)")
    run = _index("run", run, traj.n_runs, f"{traj.n_runs} run(s)")
    start = _index("start", start, traj.n_starts, f"{traj.n_starts} start(s)")
    step = _index("step", step, traj.steps,
                  f"0 ≤ step < {traj.steps} (the update needs step + 1)")
    diverged = int(traj.diverged_at[run, start])
    if diverged >= 0 and step + 1 >= diverged:
        raise ValueError(f"run {run}, start {start} diverged at step {diverged}: step {step} "
                         "has no finite update")
    from optviz.optimizers import get_optimizer

    key, hp = traj.runs[run]
    spec = get_optimizer(key)
    xy = traj.xy[run, start]
    update = xy[step + 1] - xy[step]
    lr_rec = getattr(traj, "lr", None)
    lr = float(lr_rec[run, start, step]) if lr_rec is not None else float(hp.get("lr", np.nan))
    state = {name: values[start] for name, values in traj.state[run].items()}
    grad = np.array(traj.grad[run, start, step], dtype=np.float64)
    surf = _surface(traj, surface) if traj.noise > 0 else None
    if "grad_at_point" in state:  # schedule-free: the gradient it saw was taken at y
        grad = np.array(state["grad_at_point"][step], dtype=np.float64)
    data = StepData(key=key, hp=dict(hp), step=step, theta=np.array(xy[step]), grad=grad,
                    update=update, lr=lr, state=state, surface=surf)
    family = FAMILIES.get(key, "generic")
    module = import_module(f"optviz.inspect.{family}")
    from optviz.runner import single_thread  # torch on one thread, as the runner runs

    with single_thread():
        parts = (module.explain(data, spec.update_rule) if family == "generic"
                 else module.explain(data))
    grad_clean = None
    if traj.noise > 0 and surf is not None:  # where the gradient was taken (schedule-free: y)
        at = state["grad_point"][step] if "grad_at_point" in state else xy[step]
        grad_clean = _clean_grad(surf, at)
        parts.vectors.setdefault("noise-free gradient", grad_clean)
    parts.vectors["update"] = update
    return StepView(
        optimizer=key, label=spec.label, family=family, run=run, start=start, step=step,
        position=np.array(xy[step]), grad=grad, grad_clean=grad_clean, update=update,
        vectors=parts.vectors, boxes=parts.boxes, matrices=parts.matrices, values=parts.values,
        latex=parts.latex, why=parts.why, meanings=parts.meanings,
    )


def _clean_grad(surface: Any, point: np.ndarray) -> np.ndarray:
    """The closed-form gradient at ``point`` by the runner's own call (``value_and_grad``), so
    without noise it equals the recorded gradient bit for bit."""
    import torch

    with torch.no_grad():
        xy = torch.tensor(np.asarray(point, dtype=np.float64).reshape(1, 2))
        g = surface.value_and_grad(xy)[1]
    return np.asarray(g, dtype=np.float64).reshape(2)
