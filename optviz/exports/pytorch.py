r""""PyTorch code": a short, self-contained script that reproduces one run of a scene.

The script imports torch and the standard library (numpy too when the scene has gradient noise).
It writes the surface out as a Python function of two tensors (:mod:`optviz.exports.torch_expr`),
builds ``p = torch.tensor([x0, y0], dtype=torch.float64, requires_grad=True)`` and the optimizer
(``torch.optim.<Class>`` with the run's complete keyword arguments, a package's class imported
from it, ``from pytorch_optimizer import Lion``, Lookahead around its base, or, for optviz's own
optimizers, their real source: class, kernel and helpers, gathered by
:func:`optviz.exports.source.gather`), and loops exactly as :func:`optviz.runner.simulate` does:
at each step the loss and its gradient (autograd) at the current point, plus optviz's
counter-based Gaussian noise (the source of :mod:`optviz.noise`) when the scene has noise, are
recorded, then the optimizer steps. Schedule-Free records the average x (``opt.eval()``) and
steps with the gradient at y (``opt.train()``). A run's gradient clipping is ``torch.nn.utils``'s
own (``clip_grad_value_`` then ``clip_grad_norm_`` on ``p``, after the noise, before the step)
and its learning-rate schedule is the same ``torch.optim.lr_scheduler`` objects that optviz
builds (:func:`optviz.optimizers.schedules.build_schedule`), stepped after each step. L-BFGS
steps with a closure; Newton and the diagonal methods get the autograd Hessian of ``f``
(``hessian_fn``), and a secant estimate the noise-free autograd gradient (``grad_fn``). A run
stops where optviz marks it diverged. The script agrees with the app (closed-form derivatives)
to about 1e-9 (tests check it).

Run as ``python script.py`` it prints the trajectory every tenth of the way; ``python
script.py out.csv`` writes every step (``step,x,y,loss,grad_x,grad_y``).

User text (labels, a custom formula, which may hold comments) only ever reaches the script as
``#`` comments with unprintable characters replaced; the formula itself is printed from its
checked expression tree.
"""

from __future__ import annotations

import numbers
import textwrap
from typing import Any

from optviz import noise as noise_stream
from optviz.arguments import show
from optviz.exports.source import gather
from optviz.exports.torch_expr import torch_source
from optviz.optimizers import OptimizerSpec, get_optimizer
from optviz.optimizers.hutchinson import hutchinson_hook
from optviz.optimizers.schedules import SCHEDULES, check_schedule
from optviz.optimizers.wrappers import base_of, wrapper_kwargs
from optviz.runner import LOSS_BOUND, POSITION_BOUND
from optviz.scene import Scenario
from optviz.scene.problems import need

__all__ = ["noise_source", "optimizer_source", "pytorch_script"]

_NOISE_DRAW = '''
KEYS = particle_keys(SEED, np.array([RUN]), np.array([START_INDEX]))


def noise(step, call=0):
    """This particle's two standard normal draws for this step (and evaluation within it)."""
    return torch.from_numpy(standard_normal(KEYS, step, call)[0])
'''


def noise_source(*extra: Any) -> str:
    """optviz's noise stream (:mod:`optviz.noise`, its own source) and this run's draw, with
    ``extra`` roots gathered alongside (the Hutchinson hook, which draws from the same stream)."""
    return gather(noise_stream.particle_keys, noise_stream.standard_normal, *extra) + _NOISE_DRAW


def optimizer_source(key: str) -> str:
    """The source of optviz's own optimizer ``key``: its class, kernel and helpers."""
    return gather(get_optimizer(key).cls)


def _literal(value: Any) -> str:
    """Python literal of a validated hyperparameter value (and nothing else)."""
    if value is None or isinstance(value, bool):
        return repr(value)
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, tuple | list) and all(isinstance(v, int | float) for v in value):
        return "(" + ", ".join(_literal(float(v)) for v in value) + ")"
    if isinstance(value, str) and value.isidentifier():
        return repr(value)
    raise ValueError(f"cannot write hyperparameter value {value!r} into a script")


def _short(value: float) -> str:
    """``1e6`` rather than ``1000000.0`` (the same float)."""
    text = format(value, "g").replace("e+0", "e").replace("e+", "e")
    return text if float(text) == value else repr(value)


def _comment(text: str, limit: int = 200) -> str:
    """Text safe on one ``#`` comment line: printable, single line, cut to ``limit``."""
    clean = "".join(ch if ch.isprintable() else " " for ch in str(text))
    clean = " ".join(clean.split())
    return clean if len(clean) <= limit else clean[: limit - 1] + "…"


def _wrap_comment(text: str, width: int = 94) -> list[str]:
    return ["# " + line for line in textwrap.wrap(_comment(text, 2000), width)] or ["#"]


def _keywords(spec: OptimizerSpec, values: dict[str, Any]) -> list[str]:
    """``name=value`` texts in schema order, as the class takes them (``appended`` joined)."""
    values = spec.class_kwargs({k: v for k, v in values.items()})
    order = [hp.name for hp in spec.hyperparameters if hp.name in values]
    order += sorted(set(values) - set(order))
    return [f"{k}={_literal(values[k])}" for k in order]


def _constructor(spec: OptimizerSpec) -> str:
    """How the script names the class: ``torch.optim.Adam``, ``Lion`` (imported), ``Newton``."""
    return f"torch.optim.{spec.class_name}" if spec.origin == "torch" else spec.class_name


def _import_line(spec: OptimizerSpec) -> str:
    """``from pytorch_optimizer import Lion`` for a package's class, else nothing."""
    if spec.origin != "package":
        return ""
    return f"from {spec.cls_path.rsplit('.', 1)[0]} import {spec.class_name}"


def _call(name: str, ctor: str, arguments: list[str]) -> str:
    """``name = ctor(arguments)``, wrapped to the script's line length."""
    call = f"{name} = {ctor}({', '.join(arguments)})"
    if len(call) > 99:
        call = f"{name} = {ctor}(\n" + textwrap.fill(
            ", ".join(arguments), 95, initial_indent="    ", subsequent_indent="    ",
            break_long_words=False, break_on_hyphens=False) + ",\n)"
    return call


def _schedule_kwargs(name: str, args: dict[str, Any], names: list[str]) -> str:
    parts = []
    for k in names:
        v = args[k]
        parts.append(f"{k}=[{', '.join(str(int(m)) for m in v)}]" if isinstance(v, tuple | list)
                     else f"{k}={_literal(v)}")
    return ", ".join(parts)


def schedule_lines(extras: dict[str, Any], steps: int, lr: float | None) -> list[str]:
    """Script lines building ``sched`` as :func:`optviz.optimizers.schedules.build_schedule`
    does, with every argument written out (``[]`` when the run has no schedule)."""
    if "schedule" not in extras:
        return []
    full = check_schedule(extras["schedule"], steps, lr)
    name = full["name"]
    lrs = "torch.optim.lr_scheduler"
    if name == "warmup_cosine":
        return [
            f"warmup = {lrs}.LinearLR(opt, start_factor={_literal(full['start_factor'])}, "
            f"end_factor=1.0, total_iters={full['warmup']})",
            f"cosine = {lrs}.CosineAnnealingLR(opt, T_max={full['T_max']}, "
            f"eta_min={_literal(full['eta_min'])})",
            f"sched = {lrs}.SequentialLR(opt, [warmup, cosine], milestones=[{full['warmup']}])",
        ]
    names = [p.name for p in SCHEDULES[name][0]]
    text = _schedule_kwargs(name, full, names)
    if name == "OneCycleLR":
        text += ", cycle_momentum=False"  # the run's momentum/betas stay as set
    call = f"sched = {lrs}.{name}(opt, {text})"
    if len(call) <= 99:
        return [call]
    return [f"sched = {lrs}.{name}(", *textwrap.wrap(
        f"opt, {text},", 95, initial_indent="    ", subsequent_indent="    ",
        break_long_words=False, break_on_hyphens=False), ")"]


def pytorch_script(scenario: Scenario, run: int, start: int = 0) -> str:
    """A self-contained Python script that reproduces run ``run`` (0-based) of ``scenario`` from
    start ``start`` (0-based) with plain PyTorch; see the module docstring.

    Raises ``ValueError`` for a run or start out of range (or an invalid scene) and for a
    formula the torch printer cannot write (never for the built-in grammar); ``TypeError`` for
    a wrong argument type.
    """
    scenario = need("scenario", scenario, Scenario, "a Scenario").validated()
    for name, index, count, noun in (("run", run, len(scenario.runs), "run"),
                                     ("start", start, len(scenario.starts), "start")):
        if isinstance(index, bool) or not isinstance(index, numbers.Integral):
            raise TypeError(f"{name} must be a whole number (0-based), got "
                            f"{type(index).__name__}")
        if not 0 <= index < count:
            raise ValueError(f"{name} {show(index)} is out of range: the scene has {count} "
                             f"{noun}(s), 0 to {count - 1}")
    run, start = int(run), int(start)
    surface = scenario.resolve_surface()
    cfg = scenario.runs[run]
    spec = get_optimizer(cfg.optimizer)
    source = torch_source(surface.compiled)
    sigma = scenario.effective_noise()
    own = spec.origin == "own"
    cls = spec.class_name
    values = dict(cfg.hparams)
    base = None  # a wrapper's inner optimizer: (spec, keyword arguments)
    if spec.wraps:
        base_key, base_values = base_of(values)
        base = (get_optimizer(base_key), _keywords(get_optimizer(base_key), base_values))
        values = wrapper_kwargs(values)
    kwargs = _keywords(spec, values)
    averaging = spec.reports_average  # Schedule-Free: gradient at y (train), record x (eval)
    hooked = spec.needs_hessian and spec.origin == "package"  # SophiaH: the Hutchinson hook
    x0, y0 = (float(v) for v in scenario.starts[start])
    closure = spec.needs_closure  # L-BFGS re-evaluates the loss inside step()
    matrix = spec.execution != "elementwise" and spec.param_shape == (1, 2)  # Muon: a matrix
    point = "q" if matrix else "p"
    uses_math = source.uses_math or own

    out: list[str] = ["#!/usr/bin/env python3"]
    out += _wrap_comment(f"{surface.title}: one optviz run reproduced with plain PyTorch.")
    extras = cfg.extras()
    clip_value, clip_norm = extras.get("clip_value"), extras.get("clip_norm")
    out += [
        f"# Run {run + 1}: {_comment(cfg.display_label())}, from start {start + 1} "
        f"({x0!r}, {y0!r}), {scenario.steps} steps"
        + (f", gradient noise sigma={sigma!r} (seed {scenario.seed})." if sigma > 0 else "."),
        "#",
        "# Usage: python this_script.py [trajectory.csv]",
        "# Prints the trajectory every tenth of the way; with a file name, writes every step as",
        "# CSV (step,x,y,loss,grad_x,grad_y). The gradient is autograd's; optviz computes it in",
        "# closed form, which agrees to rounding.",
        "",
    ]
    out += ["from __future__ import annotations", ""]
    out += ["import inspect"] if own else []
    out += ["import itertools"] if closure else []
    out += ["import math"] if uses_math else []
    out += ["import sys", ""]
    out += ["import numpy as np"] if sigma > 0 or hooked else []
    out += ["import torch"]
    out += sorted({_import_line(sp) for sp in (spec, base[0] if base else spec)} - {""})
    out += ["", ""]
    if source.helpers:  # the formula's kink-safe functions, their own source
        out += [source.preamble, "", ""]
    out += [
        "def f(x, y):",
        '    """The loss surface; x and y are float64 tensors."""',
        f"    return {source.code}",
        "",
        "",
        f"STEPS = {scenario.steps}",
        f"START = ({x0!r}, {y0!r})",
        f"BOUND_XY, BOUND_LOSS = {_short(POSITION_BOUND)}, {_short(LOSS_BOUND)}"
        "  # optviz stops a run (diverged) outside these",
    ]
    if clip_value is not None:
        out += [f"CLIP_VALUE = {clip_value!r}  # each gradient coordinate clamped to "
                "[-CLIP_VALUE, CLIP_VALUE]"]
    if clip_norm is not None:
        out += [f"CLIP_NORM = {clip_norm!r}  # the gradient scaled down to norm <= CLIP_NORM"]
    if sigma > 0:
        out += [f"SIGMA = {sigma!r}  # std of the Gaussian noise added to each gradient",
                f"SEED, RUN, START_INDEX = {scenario.seed}, {run}, {start}"]
        out += ["", ""]
        out += _wrap_comment("optviz's gradient noise, its own source (optviz/noise.py): a pure "
                             "function of (seed, run, start, step, call).")
        out += noise_source(*([hutchinson_hook] if hooked else [])).rstrip("\n").split("\n")
    if hooked:
        out += ["", ""]
        out += _wrap_comment(
            f"{spec.label}'s Hessian-diagonal estimate z * (H z), handed to its step(hessian=...) "
            "by a step pre-hook: optviz's own source (optviz/optimizers/hutchinson.py), the "
            "probes z from optviz's counter-based normal stream.")
        if sigma == 0:  # with noise, the stream and the hook came together above
            out += gather(hutchinson_hook).rstrip("\n").split("\n")
    if own:
        out += ["", ""]
        out += _wrap_comment(f"optviz's own {spec.label} (not in torch.optim), its own source: "
                             f"the class, its kernel and helpers. {spec.reference}")
        out += optimizer_source(cfg.optimizer).rstrip("\n").split("\n")
    if spec.needs_hessian:
        out += [
            "", "",
            "def hessian(rows):",
            '    """The Hessian of f at each (x, y) row (autograd): (N, 2, 2)."""',
            "    hessian_of = torch.autograd.functional.hessian",
            "    return torch.stack([hessian_of(lambda v: f(v[0], v[1]), q) for q in rows])",
        ]
        if not hooked:
            kwargs.append("hessian_fn=hessian")
    if spec.needs_grad_fn:
        out += [
            "", "",
            "def gradient(rows):",
            '    """The gradient of f at each (x, y) row (autograd), without noise: (N, 2)."""',
            "    jacobian = torch.autograd.functional.jacobian",
            "    return torch.stack([jacobian(lambda v: f(v[0], v[1]), q) for q in rows])",
        ]
        kwargs.append("grad_fn=gradient")
    if base is not None:
        call = _call("base", _constructor(base[0]), ["[p]", *base[1]]) + "\n" + _call(
            "opt", cls, ["base", *kwargs])
    else:
        call = _call("opt", _constructor(spec), ["[p]", *kwargs])
    if hooked:
        call += ("\nopt.register_step_pre_hook(hutchinson_hook(hessian, "
                 f"{values['update_period']!r}, {values['hessian_distribution']!r}))")
    out += [
        "", "",
        *(["p = torch.tensor([START], dtype=torch.float64, requires_grad=True)"
           "  # a 1x2 matrix, as " + cls + " needs", "q = p.view(2)"]
          if matrix else
          ["p = torch.tensor(START, dtype=torch.float64, requires_grad=True)"]),
        call,
        *schedule_lines(extras, scenario.steps, values.get("lr")),
        "",
        "",
        "def evaluate(step, call=0):",
        '    """The loss at p; its gradient' + (" plus noise" if sigma > 0 else "")
        + (" (clipped)" if clip_norm is not None or clip_value is not None else "")
        + ' goes to p.grad."""',
        "    opt.zero_grad()",
        f"    loss = f({point}[0], {point}[1])",
        "    loss.backward()",
    ]
    if sigma > 0:
        out += ["    with torch.no_grad():", "        p.grad += SIGMA * noise(step, call)"]
    if clip_value is not None:
        out += ["    torch.nn.utils.clip_grad_value_(p, CLIP_VALUE)"]
    if clip_norm is not None:
        out += ["    torch.nn.utils.clip_grad_norm_(p, CLIP_NORM)"]
    out += [
        "    return loss",
        "",
        "",
        "rows = []",
        "for step in range(STEPS + 1):",
        *(["    opt.eval()  # the parameters hold the average x, the point reported"]
          if averaging else []),
        "    loss = evaluate(step)",
        f"    x, y = {point}.tolist()",
        "    value = loss.item()",
        "    if not (abs(x) <= BOUND_XY and abs(y) <= BOUND_XY and abs(value) <= BOUND_LOSS):",
        '        print(f"diverged at step {step}")',
        "        break",
        "    rows.append((step, x, y, value, *p.grad.view(2).tolist()))"
        if matrix else "    rows.append((step, x, y, value, *p.grad.tolist()))",
        "    if step < STEPS:",
    ]
    if closure:
        out += ["        calls = itertools.count()  # the noise stream counts evaluations",
                "        opt.step(lambda: evaluate(step, next(calls)))"]
    elif averaging:  # the gradient at y (with this step's noise draw), then the step
        out += ["        opt.train()", "        evaluate(step)", "        opt.step()"]
    else:
        out += ["        opt.step()"]
    if "schedule" in extras:
        out += ["        sched.step()  # the learning rate for the next step"]
    out += [
        "",
        "if len(sys.argv) > 1:",
        '    with open(sys.argv[1], "w") as fh:',
        '        fh.write("step,x,y,loss,grad_x,grad_y\\n")',
        "        for row in rows:",
        '            fh.write(",".join(repr(v) for v in row) + "\\n")',
        "else:",
        "    every = max(1, STEPS // 10)",
        "    for step, x, y, value, *_ in rows:",
        "        if step % every == 0 or step == rows[-1][0]:",
        '            print(f"step {step:5d}  x={x: .6f}  y={y: .6f}  loss={value:.6g}")',
    ]
    return "\n".join(out) + "\n"
