"""Compute ``surfaces/suggested_lr.json``: ``python bench/suggest_lr.py`` (about a minute).

For every catalogue surface and every variant in :data:`VARIANTS` (the default runs and the
other common first-order optimizers), :func:`optviz.tune` tunes ``lr`` (log grid over the
registry's range, then a finer grid around the best) from the surface's default starts, for
:data:`STEPS` steps with the surface's default noise and seed 0, against :data:`CRITERION`.
The settings it tried are then taken best first; the first whose lr, rounded to 3 significant
digits, makes ``simulate`` (as the app runs it) lower the loss at every start without diverging
is kept. A variant with no such lr is left out (the sidebar then keeps the registry default).
A surface without a minimum (the saddles: the loss falls without bound) has no best lr (the
tuner would pick the largest, which only leaves the window fastest): there each variant keeps
its registry lr when that lowers the loss without diverging, and is tuned otherwise.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from optviz import simulate, tune  # noqa: E402
from optviz.optimizers import get_variant, variant_hyperparameters  # noqa: E402
from optviz.scene import DEFAULT_SCENARIO  # noqa: E402
from optviz.scene.runs import DEFAULT_STEPS  # noqa: E402
from optviz.surfaces import get_surface, list_surfaces  # noqa: E402

VARIANTS = ("sgd", "momentum", "nesterov", "adagrad", "rmsprop", "adam", "amsgrad", "adamw",
            "adamax", "nadam", "radam", "lion")
CRITERION = "final_loss"
STEPS = DEFAULT_STEPS
BUDGET = 48
SEED = 0
OUT = ROOT / "surfaces" / "suggested_lr.json"


def lowers(surface: str, variant: str, lr: float, starts: tuple) -> bool:
    """Does ``variant`` at ``lr`` lower the loss from every start, never diverging?"""
    kwargs = dict(variant_hyperparameters(variant), lr=lr)
    t = simulate(surface, [(get_variant(variant).optimizer, kwargs)], starts, STEPS, seed=SEED)
    return bool((t.diverged_at < 0).all() and (t.loss[:, :, -1] < t.loss[:, :, 0]).all())


def suggest(surface: str, variant: str) -> float | None:
    starts = DEFAULT_SCENARIO.with_surface(surface).starts
    base = dict(variant_hyperparameters(variant))
    if get_surface(surface).minimum_value is None and lowers(surface, variant, base["lr"],
                                                             starts):
        return float(base["lr"])
    res = tune(surface, (get_variant(variant).optimizer, base), starts, STEPS, CRITERION,
               BUDGET, SEED)
    order = np.argsort(res.scores, kind="stable")
    for i in order:
        if not np.isfinite(res.scores[i]):
            break
        lr = float(f"{res.settings[i]['lr']:.3g}")
        if lowers(surface, variant, lr, starts):
            return lr
    return None


def main() -> None:
    t0 = time.perf_counter()
    table: dict[str, dict[str, float]] = {}
    for surface in list_surfaces():
        table[surface] = {}
        for variant in VARIANTS:
            lr = suggest(surface, variant)
            if lr is not None:
                table[surface][variant] = lr
        print(f"{surface:18s} " + " ".join(f"{v}={lr:g}" for v, lr in table[surface].items()),
              flush=True)
    doc = {
        "about": "Suggested learning rates per surface and UI variant; made by "
                 "bench/suggest_lr.py (optviz.tune), read by optviz.suggested.",
        "criterion": CRITERION, "steps": STEPS, "budget": BUDGET, "seed": SEED,
        "variants": list(VARIANTS), "lr": table,
    }
    OUT.write_text(json.dumps(doc, indent=1) + "\n", encoding="utf-8")
    print(f"wrote {OUT.relative_to(ROOT)} in {time.perf_counter() - t0:.0f} s")


if __name__ == "__main__":
    main()
