"""optviz: watch real ``torch.optim`` optimizers race over 2D loss surfaces.

Public API (see ``shared/ARCHITECTURE.md``)::

    import optviz
    optviz.list_surfaces()                 # ["rosenbrock", "beale", ...]
    s = optviz.get_surface("beale")        # s.domain, s.minima, s.f(xy) ...
    optviz.list_optimizers()               # ["sgd", "adam", ..., "newton", ...]
    r = optviz.simulate("rosenbrock", [("adam", {"lr": 0.05})], starts=[(-1.5, 2.0)], steps=500)
    r.xy, r.loss, r.grad, r.diverged_at
    view = optviz.inspect_step(r, run=0, start=0, step=10)  # needs simulate(record_state=True)

Names are resolved lazily, so ``import optviz`` stays cheap until torch is really needed.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

_EXPORTS = {
    "FormulaError": "optviz.formula",
    "compile_formula": "optviz.formula",
    "Surface": "optviz.surfaces",
    "list_surfaces": "optviz.surfaces",
    "get_surface": "optviz.surfaces",
    "surface_from_formula": "optviz.surfaces",
    "list_optimizers": "optviz.optimizers",
    "get_optimizer": "optviz.optimizers",
    "list_variants": "optviz.optimizers",
    "get_variant": "optviz.optimizers",
    "simulate": "optviz.runner",
    "Trajectories": "optviz.runner",
    "sweep": "optviz.analysis",
    "basins": "optviz.analysis",
    "tune": "optviz.analysis",
    "SweepResult": "optviz.analysis",
    "BasinMap": "optviz.analysis",
    "TuneResult": "optviz.analysis",
    "inspect_step": "optviz.inspect",
    "StepView": "optviz.inspect",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        value = getattr(import_module(_EXPORTS[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'optviz' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
