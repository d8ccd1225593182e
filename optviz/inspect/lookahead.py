r"""Lookahead (pytorch-optimizer's ``Lookahead``): k fast steps of the base, one step back.

.. math::
    \theta' = \operatorname{base\ step}(\theta),\quad \text{every } k\text{-th step: }
    \theta_{t+1} = \theta' + (1-\alpha)(\phi - \theta'),\ \phi \leftarrow \theta_{t+1}

``φ`` is the recorded ``slow_params``. The runner records only Lookahead's own state, not the base
optimizer's (its moments live in ``Lookahead.optimizer.state``), so the base's fast step is shown
as recorded, not recomputed; on a sync step the fast point :math:`\theta'` is derived from the
recorded :math:`\theta_{t+1}` and :math:`\phi` by inverting the interpolation.
"""

from __future__ import annotations

import numpy as np

from optviz.inspect._common import Parts, StepData, num, short, vec


def explain(d: StepData) -> Parts:
    p = Parts()
    k = int(d.hp.get("k", 5))
    alpha = p.value("α", d.hp.get("alpha", 0.5), "fraction of the way the slow weights move")
    p.value("k", k, "fast steps between two syncs")
    count = (d.step + 1) % k
    sync = count == 0
    p.value("fast steps", float(k if sync else count), "fast steps since the last sync")
    p.value("sync", float(sync), "1 on a step that pulls back to the slow weights")
    g = p.pair("g", d.grad, "gradient seen (by the base)")
    theta = p.pair("θ", d.theta, "position before the step")
    slow = p.pair("φ", d.before("slow_params") if d.step else d.theta,
                  "slow weights before (state slow_params; φ₀ = θ₀)")
    slow_after = p.pair("φ_{t+1}", d.after("slow_params"), "slow weights after")
    p.vectors["gradient"] = g
    p.vectors["slow weights φ − θ"] = slow - theta
    base = d.hp.get("base", "adam")
    if not sync:
        fast = p.pair("Δθ_fast", d.update, f"the base's ({base}) fast step, as recorded")
        p.latex = (rf"\text{{fast step {count} of {k}}}:\ \Delta\theta = \operatorname{{{base}}}"
                   rf"(\theta) - \theta = {vec(fast)},\quad \phi = {vec(slow_after)}")
        p.why = (f"a fast step of the base optimizer ({base}); in {k - count} more step(s) the "
                 f"point will be pulled {short(1 - alpha)} of the way back to the slow weights "
                 f"φ, now {short(np.hypot(*(slow - theta)))} away.")
        return p
    new = theta + d.update
    w = 1 - alpha
    fast_point = p.pair("θ'", (new - w * slow) / alpha if alpha else theta,
                        "fast point the base reached (derived: (θ_{t+1} − (1−α)φ)/α)")
    fast = p.pair("Δθ_fast", fast_point - theta, f"the base's ({base}) fast step (derived)")
    back = p.pair("pull", w * (slow - fast_point), "the pull-back (1−α)(φ − θ')")
    p.vectors["fast step"] = fast
    p.vectors["pull-back step (1−α)(φ − θ')"] = back
    p.latex = (rf"\theta' = {vec(fast_point)},\quad \theta_{{t+1}} = \theta' + (1-\alpha)"
               rf"(\phi - \theta') = {vec(fast_point)} + {num(w)}\,{vec(slow - fast_point)} = "
               rf"{vec(new)} = \phi_{{t+1}}")
    p.why = (f"sync step {k}/{k}: the base's fast step went to θ', then the point jumps "
             f"{short(1 - alpha)} of the way back to the slow weights φ (a jump of "
             f"{short(np.hypot(*back))}), and φ moves there too.")
    return p
