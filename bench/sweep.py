"""Benchmark of the analyses: ``python bench/sweep.py``.

Prints, from ONE run (these shared machines are noisy; ratios from one run are steadier):
- an lr sweep: 64 learning rates × 8 optimizers (the UI's SGD, Momentum, Nesterov, Adagrad,
  RMSprop, Adam, AMSGrad, AdamW) × 500 steps on Rosenbrock in ONE loop (``sweep_many``);
  against one ``optviz.sweep`` loop per optimizer, and against the same 512 settings as separate
  ``torch.optim`` instances in one ``simulate`` loop (measured on one optimizer's 64, times 8);
- a 16-lr sweep of an optimizer without a batched kernel (full-matrix AdaGrad, our own: one
  instance per setting, sharing the loop);
- a 200 × 200 basin map × 500 steps (Adam on Himmelblau), with the process's peak memory growth
  next to the 320 MB a recorded trajectory would take;
- a 64 × 64 phase map (SGD lr × momentum) × 500 steps.
Targets (issue 10): lr sweep ≤ 1 s, basin map ≤ 4 s, phase map ≤ 2 s. Each line gives the wall
time and the process's CPU time (on a loaded shared machine the wall time includes waiting).
"""

from __future__ import annotations

import os
import platform
import resource
import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import optviz
from optviz.analysis import sweep_many
from optviz.optimizers import variant_hyperparameters

STEPS = 500
START = [(-1.5, 2.0)]
VARIANTS = ["sgd", "momentum", "nesterov", "adagrad", "rmsprop", "adam", "amsgrad", "adamw"]
LRS = np.geomspace(1e-5, 1.0, 64)


CPU: dict[str, float] = {}


def timed(fn, label: str = ""):
    """Wall time of ``fn()`` (and its CPU time under ``label``: on a shared machine the wall
    time includes waiting for a core, the CPU time does not)."""
    c0, t0 = time.process_time(), time.perf_counter()
    out = fn()
    CPU[label] = time.process_time() - c0
    return time.perf_counter() - t0, out


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def lr_sweeps() -> list:
    """All 8 optimizers' lr sweeps in ONE loop (sweep_many)."""
    optimizers = [(optviz.get_variant(v).optimizer, variant_hyperparameters(v)) for v in VARIANTS]
    return sweep_many("rosenbrock", optimizers, {"lr": LRS}, START, steps=STEPS)


def lr_sweeps_apart() -> None:
    """The same, one sweep() loop per optimizer."""
    for variant in VARIANTS:
        key = optviz.get_variant(variant).optimizer
        optviz.sweep("rosenbrock", (key, variant_hyperparameters(variant)), {"lr": LRS}, START,
                     steps=STEPS)


def main() -> None:
    print(f"# optviz analysis bench: {platform.processor() or platform.machine()}, "
          f"{os.cpu_count()} cores, load {os.getloadavg()[0]:.1f}, torch {torch.__version__}")
    optviz.sweep("rosenbrock", "adam", {"lr": LRS[:4]}, START, steps=10)  # warm up

    t_sweep, _ = timed(lr_sweeps, "sweep")
    t_apart, _ = timed(lr_sweeps_apart)
    runs = [("adam", {"lr": float(lr)}) for lr in LRS]
    t_inst, _ = timed(lambda: optviz.simulate("rosenbrock", runs, START, steps=STEPS))
    print(f"lr sweep 64 x 8 x {STEPS}: {t_sweep:5.2f} s (CPU {CPU['sweep']:5.2f} s; target 1 s)"
          f"  one loop per "
          f"optimizer {t_apart:5.2f} s ({t_apart / t_sweep:3.1f}x); separate instances "
          f"~{8 * t_inst:5.1f} s (64 measured x 8: {8 * t_inst / t_sweep:3.0f}x)")
    t_plain, _ = timed(lambda: optviz.sweep("rosenbrock", "adagrad_full", {"lr": LRS[::4]},
                                            START, steps=STEPS))
    print(f"lr sweep 16 x AdaGradFull (no kernel): {t_plain:6.2f} s  "
          f"({t_plain / (t_apart / 8):4.0f}x a batched optimizer's 64-lr loop)")

    before = peak_mb()
    t_basin, b = timed(lambda: optviz.basins("himmelblau", ("adam", {"lr": 0.05}),
                                             resolution=(200, 200), steps=STEPS), "basin")
    grown = peak_mb() - before
    print(f"basin map 200 x 200 x {STEPS}: {t_basin:5.2f} s (CPU {CPU['basin']:5.2f} s; target 4 s)"
          f"  peak memory "
          f"+{grown:.0f} MB (its xy alone: {40_000 * STEPS * 16 / 1e6:.0f} MB, simulate's record: "
          f"{40_000 * (STEPS + 1) * 41 / 1e6:.0f} MB); "
          f"reached a minimum: {(b.minimum_index >= 0).mean():.1%}")

    grid = {"lr": np.geomspace(1e-5, 1e-2, 64), "momentum": np.linspace(0.0, 0.99, 64)}
    t_phase, p = timed(lambda: optviz.sweep("rosenbrock", "sgd", grid, START, steps=STEPS),
                       "phase")
    print(f"phase map 64 x 64 x {STEPS}: {t_phase:5.2f} s (CPU {CPU['phase']:5.2f} s; target 2 s)"
          f"  "
          f"diverged cells: {p.diverged.mean():.1%}")


if __name__ == "__main__":
    torch.set_num_threads(1)
    main()
