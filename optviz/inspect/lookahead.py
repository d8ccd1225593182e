r"""Lookahead (pytorch-optimizer's ``Lookahead``): k fast steps of the base, one step back.

.. math::
    \theta' = \operatorname{base\ step}(\theta),\quad \text{every } k\text{-th step: }
    \theta_{t+1} = \theta' + (1-\alpha)(\phi - \theta'),\ \phi \leftarrow \theta_{t+1}

``φ`` is the recorded ``slow_params``. The runner records the base optimizer's state too (it
lives in ``Lookahead.optimizer.state``; recorded as ``base.<name>``), so a fast step reads it
directly: rows ``step`` and ``step + 1``, and the fast point is the next recorded point. On a sync
step the fast point θ' before the pull-back is recorded nowhere, so :func:`replay` rebuilds it:
the base class itself (built as the variant runs alone) steps from each recorded point with
each recorded gradient, and Lookahead's sync-time changes to SGD's ``momentum_buffer`` (reset,
pullback) are applied as the package does (this costs O(step)). The fast step is then explained
by the base's own family module from that state, and the sync step adds the interpolation
toward φ.
"""

from __future__ import annotations

from dataclasses import replace
from importlib import import_module

import numpy as np

from optviz.inspect._common import Parts, StepData, num, short, vec
from optviz.optimizers.wrappers import base_of


def replay(d: StepData) -> tuple[str, dict, dict[str, np.ndarray], np.ndarray]:
    """(base key, its kwargs, its state rows ``name -> (step + 2, ...)`` as the runner would
    record them, the fast point θ' this step's base step reached)."""
    import torch

    from optviz.optimizers import build_optimizer

    key, kwargs = base_of(d.hp)
    k_sync = int(d.hp.get("k", 5))
    alpha = float(d.hp.get("alpha", 0.5))
    pullback = d.hp.get("pullback_momentum", "none")
    leaf = torch.tensor(np.asarray(d.xy_row[0], dtype=np.float64).reshape(1, 2),
                        requires_grad=True)
    base = build_optimizer(key, [leaf], kwargs)
    slow_momentum = torch.zeros_like(leaf)
    rows: dict[str, np.ndarray] = {}
    fast = np.array(d.theta)
    points = torch.tensor(np.asarray(d.xy_row[: d.step + 1], dtype=np.float64))
    grads = torch.tensor(np.asarray(d.grad_row[: d.step + 1], dtype=np.float64))
    for k in range(d.step + 1):
        with torch.no_grad():
            leaf.copy_(points[k : k + 1])
        leaf.grad = grads[k : k + 1].clone()
        base.step()
        state = base.state.get(leaf, {})
        if k < d.step and (k + 1) % k_sync == 0 and pullback != "none":
            buf = state.setdefault("momentum_buffer", torch.zeros_like(leaf))
            if pullback == "reset":
                state["momentum_buffer"] = torch.zeros_like(leaf)
            else:
                buf.lerp_(slow_momentum, 1.0 - alpha)
                slow_momentum.copy_(buf)
        for name, value in state.items():
            if torch.is_tensor(value) and value.shape == leaf.shape:
                if name not in rows:
                    rows[name] = np.full((d.step + 2, 2), np.nan)
                rows[name][k + 1] = value.detach().numpy().reshape(2)
        if k == d.step:
            fast = leaf.detach().numpy().reshape(2).copy()
    return key, kwargs, rows, fast


def explain(d: StepData) -> Parts:
    from optviz.inspect import FAMILIES

    k_sync = int(d.hp.get("k", 5))
    recorded = {name.removeprefix("base."): rows for name, rows in d.state.items()
                if name.startswith("base.")}
    if recorded and (d.step + 1) % k_sync:
        # a fast step: the base's state as the runner recorded it (rows step and step + 1)
        # and no interpolation, so the fast point is the recorded next point
        key, kwargs = base_of(d.hp)
        rows, fast_point = recorded, d.theta + d.update
    else:  # a sync step: the fast point θ' before the pull-back exists only in a replay
        key, kwargs, rows, fast_point = replay(d)
    family = FAMILIES.get(key, "generic")
    module = import_module(f"optviz.inspect.{family}")
    base_data = replace(d, key=key, hp=dict(kwargs), state=rows, update=fast_point - d.theta)
    p = module.explain(base_data)
    k = int(d.hp.get("k", 5))
    alpha = p.value("α_slow", d.hp.get("alpha", 0.5), "fraction of the way the slow weights "
                    "move (Lookahead's α)")
    p.value("k_sync", k, "fast steps between two syncs (Lookahead's k)")
    count = (d.step + 1) % k
    sync = count == 0
    p.value("sync", float(sync), "1 on a step that pulls back to the slow weights")
    if "θ_x" not in p.values:
        p.pair("θ", d.theta, "position before the step")
    slow = p.pair("φ", d.before("slow_params") if d.step else d.theta,
                  "slow weights before (state slow_params; φ₀ = θ₀)")
    slow_after = p.pair("φ_{t+1}", d.after("slow_params"), "slow weights after")
    fast_point = p.pair("θ'", fast_point, f"fast point of the base's ({key}) step (replayed)")
    fast = p.pair("Δθ_fast", fast_point - d.theta, f"the base's ({key}) fast step")
    p.vectors["slow weights φ − θ"] = slow - d.theta
    p.vectors["fast step"] = fast
    base_latex = p.latex
    if not sync:
        p.latex = (rf"\begin{{gathered}} \text{{fast step {count} of {k}}}:\ {base_latex} \\ "
                   rf"\phi = {vec(slow_after)} \end{{gathered}}")
        p.why = (f"a fast step of the base optimizer ({key}): {p.why.rstrip('.')}; in "
                 f"{k - count} more step(s) the point will be pulled {short(1 - alpha)} of the "
                 f"way back to the slow weights φ, now {short(np.hypot(*(slow - d.theta)))} "
                 "away.")
        return p
    w = 1 - alpha
    back = p.pair("pull", w * (slow - fast_point), "the pull-back (1−α)(φ − θ')")
    p.vectors["pull-back step (1−α)(φ − θ')"] = back
    new = d.theta + d.update
    p.latex = (rf"\begin{{gathered}} {base_latex} \\ \theta_{{t+1}} = \theta' + (1-\alpha)"
               rf"(\phi - \theta') = {vec(fast_point)} + {num(w)}\,{vec(slow - fast_point)} = "
               rf"{vec(new)} = \phi_{{t+1}} \end{{gathered}}")
    p.why = (f"sync step: the base's ({key}) fast step went to θ', then the point jumps "
             f"{short(w)} of the way back to the slow weights φ (a jump of "
             f"{short(np.hypot(*back))} against a fast step of {short(np.hypot(*fast))}), and φ "
             "moves there too.")
    return p
