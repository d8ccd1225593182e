""""Compare at scale": learning-rate sensitivity, phase maps, basin maps, seeds, and each
optimizer at its best (issue 10), as one :func:`render` call in the main area.

Each view is an ``st.fragment`` (changing its settings reruns only it) with its own settings
and a Compute button: nothing heavy runs on a plain rerun. Results are cached (process-wide,
:func:`_memo`) on a key made of what the view depends on (:func:`view_key`: the scene without
what the view varies, plus the view's settings) and kept in the session while that key
holds, so a click that loads a setting into the race keeps the chart on screen (only its star
moves). A click on a point of the sensitivity chart or a cell of the phase map, and the "race
the tuned settings" button, write hyperparameters into the sidebar's model
(:func:`load_setting`) and rerun the whole app.

Sweeps, basin maps and tuning use :mod:`optviz.analysis`, which runs ``(optimizer, kwargs)``:
a run's schedule and clipping are not part of them (the view says so). Seeds use
:func:`optviz.simulate` with the whole run (extras included).
"""

from __future__ import annotations

import functools
import math
import threading
from collections import OrderedDict
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np
import pandas as pd
import streamlit as st

from optviz.analysis.metrics import METRICS, score
from optviz.analysis.summary import summary_rows
from optviz.analysis.sweep import _apply
from optviz.analysis.tune import _dimension
from optviz.figures.cloud import cloud_payload
from optviz.figures.compare import (
    CLICK_LAYER,
    Curve,
    SeedBand,
    basin_figure,
    phase_figure,
    seed_loss_figure,
    seed_path_figure,
    sensitivity_figure,
)
from optviz.optimizers import get_optimizer
from optviz.runner import simulate
from optviz.scene import MAX_SEED, Scenario
from optviz.ui import cache, state
from optviz.ui.controls import forget
from optviz.ui.model import format_number
from optviz.ui.player import race_player
from optviz.ui.style import md_escape

PREFIX = "optviz.compare"
METRIC_LABELS = {"final_loss": "final loss", "mean_loss": "mean loss",
                 "steps_to_tol": "steps to tolerance",
                 "distance_to_minimum": "distance to nearest minimum"}
CRITERIA = ("final_loss", "mean_loss", "steps_to_tol")
MAX_LR_GRID = 64
MAX_PHASE_GRID = 64
MAX_BASIN_GRID = 200
MAX_SEEDS = 32
MAX_CLOUD = 10_000
CLOUD_FRAMES = 60
MAX_VIEW_STEPS = 5000
#: Particle-steps (seeds × runs × starts × steps) the seeds view runs at most: it records whole
#: paths (about 50 bytes a particle-step) with one ``simulate`` per seed.
MAX_SEED_WORK = 4_000_000
DEFAULT_TOL = 1e-3
CONFIG = {"displaylogo": False, "modeBarButtonsToRemove": ["select2d", "lasso2d"]}
_RERUN = f"{PREFIX}.rerun"
_NOTE = f"{PREFIX}.note"


# --------------------------------------------------------------------------------------------
# pure helpers


def log_grid(low: float, high: float, n: int) -> list[float]:
    """``n`` log-spaced values in ``[low, high]`` rounded to 3 significant digits (so a loaded
    value reads well and equals the cell that was computed), duplicates dropped."""
    if not (math.isfinite(low) and math.isfinite(high)) or low <= 0 or high <= low:
        raise ValueError(f"the range must satisfy 0 < low < high, got {low:g} .. {high:g}")
    values = np.geomspace(low, high, n) if n > 1 else np.array([low])
    return sorted({float(f"{v:.3g}") for v in values})


def lin_grid(low: float, high: float, n: int, integer: bool = False) -> list[float]:
    """``n`` evenly spaced values in ``[low, high]`` (4 significant digits; whole numbers for
    integer hyperparameters), duplicates dropped."""
    if not (math.isfinite(low) and math.isfinite(high)) or high <= low:
        raise ValueError(f"the range must satisfy low < high, got {low:g} .. {high:g}")
    values = np.linspace(low, high, n) if n > 1 else np.array([low])
    if integer:
        return sorted({round(float(v)) for v in values})
    return sorted({float(f"{v:.4g}") for v in values})


def surface_arg(scene: Scenario) -> Any:
    """What the analysis functions take as the surface: the name, or the compiled formula."""
    return scene.resolve_surface() if scene.is_custom else scene.surface


def view_key(scene: Scenario, without: tuple[str, ...] = (), runs: tuple[int, ...] | None = None,
             seed: bool = True) -> tuple:
    """What a view's result depends on: :meth:`Scenario.sim_key` with the hyperparameters
    ``without`` taken out of every run (the view varies them), only the runs ``runs`` (all:
    ``None``), and the seed only when ``seed``."""
    chosen = range(len(scene.runs)) if runs is None else runs
    return (
        scene.surface, scene.formula, scene.domain,
        tuple((scene.runs[i].optimizer,
               tuple((k, v) for k, v in scene.runs[i].hparams if k not in without),
               scene.runs[i].extras_key()) for i in chosen),
        scene.starts, scene.steps, scene.seed if seed else None, scene.effective_noise(),
    )


def has_lr(scene: Scenario, i: int) -> bool:
    return "lr" in dict(scene.runs[i].hparams)


def phase_params(optimizer: str) -> dict[str, Any]:
    """The hyperparameters of ``optimizer`` a phase map can sweep, by grid name (``lr``,
    ``momentum``, ``beta1``, ``beta2``, ``etas[0]``, …) → its range (a ``_Dimension``: low,
    high, log, kind)."""
    spec = get_optimizer(optimizer)
    out: dict[str, Any] = {}
    for h in spec.hyperparameters:
        if h.kind in ("float", "int"):
            names = [h.name]
        elif h.kind == "pair":
            names = ["beta1", "beta2"] if h.name == "betas" else [f"{h.name}[0]",
                                                                  f"{h.name}[1]"]
        else:
            continue
        for name in names:
            try:
                out[name] = _dimension(spec, name)
            except (ValueError, TypeError):
                continue
    return out


def current_value(kwargs: Mapping[str, Any], name: str) -> float | None:
    """The value of grid name ``name`` (``beta1``, ``etas[0]``, ``lr``) in ``kwargs``."""
    aliases = {"beta1": ("betas", 0), "beta2": ("betas", 1)}
    target, element = aliases.get(name, (name, None))
    if name.endswith(("[0]", "[1]")):
        target, element = name[:-3], int(name[-2])
    value = kwargs.get(target)
    if element is not None and isinstance(value, tuple | list):
        value = value[element]
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) \
        else None


def targets(names: tuple[str, ...] | list[str]) -> set[str]:
    """The hyperparameters behind grid names (``beta1`` → ``betas``)."""
    out = set()
    for name in names:
        if name in ("beta1", "beta2"):
            out.add("betas")
        elif name.endswith(("[0]", "[1]")):
            out.add(name[:-3])
        else:
            out.add(name)
    return out


def tuned_label(run_label: str, lr: float, criterion: str) -> str:
    """A legend label for a tuned run (at most 40 characters): ``"Adam lr=0.0123 ★mean loss"``."""
    crit = {"final_loss": "final", "mean_loss": "mean", "steps_to_tol": "speed"}.get(
        criterion, criterion)
    tail = f" lr={lr:.3g} (best {crit})"
    name = run_label.split(" (")[0][: 40 - len(tail)]
    return f"{name}{tail}"


# --------------------------------------------------------------------------------------------
# loading a setting into the race (callbacks)


def load_setting(run_index: int, values: Mapping[str, Any], label: str | None = None) -> bool:
    """Write ``values`` (grid names → values) into run ``run_index`` of the sidebar's model and
    drop its widgets' values so they show the new ones; ``label`` replaces its legend label.
    ``False`` (and a note) when the model's run list no longer matches the scene shown."""
    model = state.model()
    scene = state.good()
    if not (0 <= run_index < len(model.entries)) or run_index >= len(scene.runs):
        st.session_state[_NOTE] = "That run is no longer in the scene; nothing was loaded."
        return False
    entry = model.entries[run_index]
    if get_optimizer_key(entry.variant) != scene.runs[run_index].optimizer:
        st.session_state[_NOTE] = "That run has changed optimizer; nothing was loaded."
        return False
    entry.values.update(_apply(entry.values, dict(values)))
    base = f"g{model.generation}.e{entry.id}"
    for name in targets(list(values)):
        k = f"{base}.{entry.variant}.{name}"
        forget(k, f"{k}.0", f"{k}.1")
    if label is not None:
        entry.label = label
        forget(f"{base}.label")
    st.session_state[_RERUN] = True
    return True


def get_optimizer_key(variant: str) -> str:
    from optviz.optimizers import get_variant

    return get_variant(variant).optimizer


def _points(chart_key: str) -> list[dict]:
    event = st.session_state.get(chart_key)
    selection = event.get("selection") if hasattr(event, "get") else None
    return list((selection or {}).get("points") or [])


def _on_sensitivity_click(chart_key: str) -> None:
    for point in reversed(_points(chart_key)):
        cd = point.get("customdata")
        if isinstance(cd, list | tuple) and len(cd) >= 2:
            load_setting(int(cd[0]), {"lr": float(cd[1])})
            return


def _on_phase_click(chart_key: str, run_index: int, x_name: str, y_name: str,
                    curve: int, integer: tuple[bool, bool] = (False, False)) -> None:
    for point in reversed(_points(chart_key)):
        cd = point.get("customdata")
        if point.get("curve_number") == curve and isinstance(cd, list | tuple) and len(cd) >= 2:
            x, y = (round(float(v)) if whole else float(v)
                    for v, whole in zip(cd[:2], integer, strict=True))
            load_setting(run_index, {x_name: x, y_name: y})
            return


def _on_race_tuned(rows: list[dict[str, Any]], criterion: str) -> None:
    for row in rows:
        if row.get("tuned lr") is not None:
            load_setting(row["index"], {"lr": row["tuned lr"]},
                         label=tuned_label(row["run"], row["tuned lr"], criterion))


def _after_click() -> None:
    """A callback loaded a setting: rerun the whole app (a fragment's rerun would leave the
    sidebar and the race as they were)."""
    note = st.session_state.pop(_NOTE, None)
    if note:
        st.warning(note, icon=":material/info:")
    if st.session_state.pop(_RERUN, False):
        st.rerun(scope="app")


# --------------------------------------------------------------------------------------------
# cached computations (keys are hashable descriptions; the underscore arguments are not hashed)
#
# Not ``st.cache_data``: it replays the Streamlit calls made inside a cached function and
# refuses (CacheReplayClosureError) the progress bar's updates, whose bar is created outside.
# :func:`_memo` is the same idea by hand: process-wide, keyed on the hashable arguments, the
# least recently used entry dropped first.

_MEMOS: list[OrderedDict[tuple, Any]] = []
_MEMO_LOCK = threading.Lock()


def _memo(max_entries: int) -> Callable[[Callable], Callable]:
    """Cache a function's result on its arguments whose names do not start with ``_``, at most
    ``max_entries`` results (the least recently used goes first)."""

    def decorate(fn: Callable) -> Callable:
        names = fn.__code__.co_varnames[: fn.__code__.co_argcount]
        memo: OrderedDict[tuple, Any] = OrderedDict()
        _MEMOS.append(memo)

        @functools.wraps(fn)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            bound = dict(zip(names, args, strict=False)) | kwargs
            key = tuple((n, v) for n, v in bound.items() if not n.startswith("_"))
            with _MEMO_LOCK:
                if key in memo:
                    memo.move_to_end(key)
                    return memo[key]
            value = fn(*args, **kwargs)
            with _MEMO_LOCK:
                memo[key] = value
                while len(memo) > max_entries:
                    memo.popitem(last=False)
            return value

        return wrapper

    return decorate


def clear() -> None:
    """Forget every cached result (tests)."""
    with _MEMO_LOCK:
        for memo in _MEMOS:
            memo.clear()


class _Bar:
    """A progress callback for the analysis functions that draws into an ``st.progress``."""

    def __init__(self, text: str, parts: int = 1) -> None:
        self.text, self.parts, self.part = text, max(parts, 1), 0
        self.bar = st.progress(0.0, text=text)
        self.last = -1.0

    def __call__(self, step: int, steps: int) -> None:
        frac = (self.part + step / max(steps, 1)) / self.parts
        if frac - self.last >= 0.02 or step >= steps:
            self.last = frac
            self.bar.progress(min(max(frac, 0.0), 1.0), text=self.text)

    def next(self) -> None:
        self.part += 1

    def done(self) -> None:
        self.bar.empty()


@_memo(16)
def _sensitivity(key: tuple, _scene: Scenario, runs: tuple[int, ...], lrs: tuple[float, ...],
                 _progress: Callable | None = None) -> dict:
    from optviz.analysis import sweep_many

    cache.CALLS["compare.sensitivity"] += 1
    scene = _scene
    results = sweep_many(surface_arg(scene), [(scene.runs[i].optimizer,
                                               scene.runs[i].kwargs()) for i in runs],
                         {"lr": list(lrs)}, scene.starts, scene.steps, scene.seed, scene.noise,
                         tol=key[-1], progress=_progress)
    return {"lrs": np.asarray(lrs), "metrics": [r.metrics for r in results]}


@_memo(16)
def _phase(key: tuple, _scene: Scenario, run: int, x_name: str, xs: tuple, y_name: str,
           ys: tuple, tol: float, _progress: Callable | None = None) -> Any:
    from optviz.analysis import sweep

    cache.CALLS["compare.phase"] += 1
    scene = _scene
    r = scene.runs[run]
    return sweep(surface_arg(scene), (r.optimizer, r.kwargs()), {y_name: list(ys),
                                                                 x_name: list(xs)},
                 scene.starts, scene.steps, scene.seed, scene.noise, tol=tol,
                 progress=_progress).metrics


@_memo(8)
def _basins(key: tuple, _scene: Scenario, run: int, n: int, steps: int, tol: float,
            _progress: Callable | None = None) -> Any:
    from optviz.analysis import basins

    cache.CALLS["compare.basins"] += 1
    scene = _scene
    r = scene.runs[run]
    return basins(surface_arg(scene), (r.optimizer, r.kwargs()), (n, n), steps, tol,
                  scene.seed, scene.noise, progress=_progress)


@_memo(2)
def _cloud(key: tuple, _scene: Scenario, run: int, n: int,
           _progress: Callable | None = None) -> dict:
    """``n`` starts drawn uniformly over the surface's window (seeded by the scene's seed), run
    by :func:`optviz.runner.stream` keeping only the positions at :data:`CLOUD_FRAMES` + 1
    steps (memory: frames × starts, not steps × starts). NaN from a particle's divergence."""
    from optviz.runner import stream

    cache.CALLS["compare.cloud"] += 1
    scene = _scene
    surf = scene.resolve_surface()
    (x0, x1), (y0, y1) = surf.domain
    rng = np.random.default_rng(scene.seed)
    starts = np.column_stack([rng.uniform(x0, x1, n), rng.uniform(y0, y1, n)])
    keep = sorted({round(float(v)) for v in np.linspace(0, scene.steps, CLOUD_FRAMES + 1)})
    wanted = set(keep)
    frames: list[np.ndarray] = []
    alive = np.ones(n, dtype=bool)

    def on_step(step: int, xy: Any, loss: Any, grad: Any, ok: Any) -> None:
        alive[:] &= ok.numpy()
        if step in wanted:
            frame = xy.numpy().astype(np.float32)
            frame[~alive] = np.nan
            frames.append(frame)
        if _progress is not None:
            _progress(step, scene.steps)

    r = scene.runs[run]
    stream(surface_arg(scene), [(r.optimizer, r.kwargs(), r.extras())], starts, on_step,
           scene.steps, scene.seed, scene.noise, time_limit=cache.SIMULATION_TIME_LIMIT)
    return {"xy": np.stack(frames), "steps": keep, "diverged": int((~alive).sum())}


@_memo(2)
def _seeds(key: tuple, _scene: Scenario, k: int, noise: float,
           _progress: Callable | None = None) -> dict:
    """K runs of :func:`optviz.simulate` with seeds ``seed, seed + 1, …`` (the runner takes one
    seed per call; a particle's noise stream depends only on (seed, run, start, step), so seed
    ``seed + k`` is exactly what the race shows with that seed)."""
    cache.CALLS["compare.seeds"] += 1
    scene = _scene
    xy, loss, dead = [], [], []
    for j in range(k):
        t = simulate(surface_arg(scene), scene.run_specs(), scene.starts, scene.steps,
                     seed=(scene.seed + j) % (MAX_SEED + 1), noise=noise,
                     time_limit=cache.SIMULATION_TIME_LIMIT)
        xy.append(t.xy)
        loss.append(t.loss)
        dead.append(t.diverged_at)
        if _progress is not None:
            _progress(j + 1, k)
    # (seeds, runs, starts, ...) -> (runs, starts, seeds, ...)
    return {"xy": np.moveaxis(np.stack(xy), 0, 2), "loss": np.moveaxis(np.stack(loss), 0, 2),
            "diverged_at": np.moveaxis(np.stack(dead), 0, 2)}


@_memo(16)
def _tuned(key: tuple, _scene: Scenario, runs: tuple[int, ...], criterion: str, budget: int,
           tol: float, _bar: Any = None) -> list[dict[str, Any]]:
    from optviz.analysis import tune

    cache.CALLS["compare.tune"] += 1
    scene = _scene
    out = []
    for i in runs:
        r = scene.runs[i]
        res = tune(surface_arg(scene), (r.optimizer, r.kwargs()), scene.starts, scene.steps,
                   criterion, budget, scene.seed, scene.noise, tol=tol,
                   progress=_bar)
        cur = res.sweep
        # the run's own lr, scored the same way (one more loop of one setting)
        from optviz.analysis import sweep

        own = sweep(surface_arg(scene), (r.optimizer, r.kwargs()), {"lr": [r.kwargs()["lr"]]},
                    scene.starts, scene.steps, scene.seed, scene.noise, tol=tol)
        own_score = float(score(own.metrics, criterion, scene.steps)[0])
        out.append({"index": i, "current lr": float(r.kwargs()["lr"]),
                    "current score": own_score, "tuned lr": float(res.best["lr"])
                    if math.isfinite(res.score) else None, "tuned score": res.score,
                    "settings tried": len(res.settings),
                    "lrs": None if cur is None else np.asarray(cur.grid["lr"]),
                    "scores": res.scores})
        if _bar is not None:
            _bar.next()
    return out


# --------------------------------------------------------------------------------------------
# the views


def _stored(view: str, key: tuple) -> Any:
    got = st.session_state.get(f"{PREFIX}.{view}.result")
    return got[1] if got is not None and got[0] == key else None


def _store(view: str, key: tuple, value: Any) -> None:
    st.session_state[f"{PREFIX}.{view}.result"] = (key, value)


def _on_demand(view: str, key: tuple, *, button: str, icon: str, help: str, busy: str,
               what: str, idle: str, compute: Callable[[_Bar], Any], parts: int = 1) -> Any:
    """A view's compute button and its stored result. ``compute(bar)`` runs when the button is
    pressed and nothing is stored for ``key`` (a progress bar ``busy`` meanwhile). None until
    there is a result: ``idle`` is shown as a caption, or the failure of ``what``."""
    pressed = st.button(button, key=f"{PREFIX}.{view}.go", icon=icon, help=help)
    result = _stored(view, key)
    if pressed and result is None:
        bar = _Bar(busy, parts=parts)
        try:
            result = compute(bar)
            _store(view, key, result)
        except Exception as exc:  # nothing the user does may break the page
            _fail(what, exc)
            return None
        finally:
            bar.done()
    if result is None:
        st.caption(idle)
    return result


def _fail(what: str, exc: BaseException) -> None:
    st.error(f"{what} failed: {type(exc).__name__}: {md_escape(str(exc))}",
             icon=":material/warning:")


#: Session keys of the views' settings (widgets made by :func:`_widget`), process-wide: the
#: same names in every session.
SETTINGS: set[str] = set()


def _widget(k: str, default: Any) -> str:
    full = f"{PREFIX}.{k}"
    SETTINGS.add(full)
    if full not in st.session_state:
        st.session_state[full] = default
    return full


def keep_settings() -> None:
    """Keep the views' settings while their widgets are not drawn (the section folded away):
    Streamlit forgets a widget's value after a run that did not draw it, which would put
    every setting back to its default, and hide the computed results keyed by them."""
    for key in list(SETTINGS):
        if key in st.session_state:
            st.session_state[key] = st.session_state[key]


def _positive(value: Any, name: str) -> float | None:
    if value is None or not math.isfinite(value) or value <= 0:
        st.error(f"{name} must be a positive number, got {value}", icon=":material/warning:")
        return None
    return float(value)


def _labels(scene: Scenario) -> list[str]:
    return [f"{i + 1}. {r.display_label()}" for i, r in enumerate(scene.runs)]


def _extras_note(scene: Scenario, runs: list[int] | tuple[int, ...]) -> None:
    if any(scene.runs[i].extras() for i in runs):
        st.caption("Schedules and gradient clipping are not part of sweeps, maps and tuning: "
                   "these runs use their plain optimizer.")


@st.fragment
def sensitivity_view(scene: Scenario) -> None:
    """(a) every run over a log grid of learning rates; a click loads that lr."""
    runs = tuple(i for i in range(len(scene.runs)) if has_lr(scene, i))
    if not runs:
        st.info("No run of this scene has a learning rate.")
        return
    c1, c2, c3, c4 = st.columns(4)
    n = c1.slider("learning rates", 4, MAX_LR_GRID, key=_widget("lr.n", 24))
    low = c2.number_input("lowest lr", format="%g", step=None, key=_widget("lr.low", 1e-4))
    high = c3.number_input("highest lr", format="%g", step=None, key=_widget("lr.high", 1.0))
    metric = c4.selectbox("metric", METRICS, format_func=METRIC_LABELS.get,
                          key=_widget("lr.metric", "final_loss"))
    tol = DEFAULT_TOL
    try:
        lrs = tuple(log_grid(float(low), float(high), int(n)))
        if lrs[0] < 1e-6 or lrs[-1] > 10:
            raise ValueError(f"learning rates must lie in [1e-06, 10], got {low:g} .. {high:g}")
    except (ValueError, TypeError) as exc:
        st.error(f"Learning-rate range: {md_escape(str(exc))}", icon=":material/warning:")
        return
    key = (view_key(scene, without=("lr",), runs=runs), lrs, tol)
    result = _on_demand(
        "lr", key, button="Compute the sensitivity", icon=":material/monitoring:",
        help=f"{len(runs)} runs × {len(lrs)} learning rates × {len(scene.starts)} starts × "
             f"{scene.steps} steps, in one loop",
        busy="Sweeping the learning rates…", what="The sweep",
        idle="Press the button to run every optimizer of the scene at each learning rate.",
        compute=lambda bar: _sensitivity(key, scene, runs, lrs, bar))
    if result is None:
        return
    curves = []
    for i, m in zip(runs, result["metrics"], strict=True):
        r = scene.runs[i]
        v = score(m, metric, scene.steps).ravel()
        if metric == "distance_to_minimum":
            v = np.where(np.isinf(v), np.nan, v)
        curves.append(Curve(label=r.display_label(), color=r.color, lrs=result["lrs"],
                            values=v, diverged=m.diverged.reshape(len(result["lrs"]), -1)
                            .any(axis=1), current=float(dict(r.hparams)["lr"]), run=i))
    fig = sensitivity_figure(curves, METRIC_LABELS[metric],
                             log_y=metric != "steps_to_tol")
    chart = f"{PREFIX}.lr.chart"
    st.plotly_chart(fig, key=chart, on_select=lambda: _on_sensitivity_click(chart),
                    selection_mode="points", theme=None, config=CONFIG, width="stretch")
    st.caption(f"Mean over the scene's {len(scene.starts)} start(s); ✕ diverged, ★ the current "
               f"lr. Click a point to race that learning rate.{_metric_note(metric, scene)}")
    _extras_note(scene, runs)
    _after_click()


@st.fragment
def phase_view(scene: Scenario) -> None:
    """(b) a heat map of a metric over two hyperparameters of one run; a click loads the cell."""
    labels = _labels(scene)
    choices = [i for i in range(len(scene.runs)) if len(phase_params(scene.runs[i].optimizer))
               >= 2]
    if not choices:
        st.info("No run of this scene has two hyperparameters to map.")
        return
    k_run = _widget("phase.run", choices[0])
    if st.session_state[k_run] not in choices:
        st.session_state[k_run] = choices[0]
    run = st.selectbox("run", choices, format_func=lambda i: labels[i], key=k_run)
    r = scene.runs[run]
    params = phase_params(r.optimizer)
    names = list(params)
    c1, c2, c3, c4 = st.columns(4)
    kx, ky = _widget(f"phase.{r.optimizer}.x", names[0]), _widget(
        f"phase.{r.optimizer}.y", _second(names))
    x_name = c1.selectbox("x", names, key=kx)
    y_name = c2.selectbox("y", names, key=ky)
    n = c3.slider("cells per side", 2, MAX_PHASE_GRID, key=_widget("phase.n", 24))
    metric = c4.selectbox("metric", METRICS, format_func=METRIC_LABELS.get,
                          key=_widget("phase.metric", "final_loss"))
    if x_name == y_name:
        st.error("Pick two different hyperparameters.", icon=":material/warning:")
        return
    kwargs = r.kwargs()
    grids = {}
    cols = st.columns(4)
    for j, name in enumerate((x_name, y_name)):
        d = params[name]
        cur = current_value(kwargs, name)
        lo, hi = _default_range(d, cur)
        lo_in = cols[2 * j].number_input(f"{name} from", format="%g", step=None,
                                         key=_widget(f"phase.{r.optimizer}.{name}.lo", lo))
        hi_in = cols[2 * j + 1].number_input(f"{name} to", format="%g", step=None,
                                             key=_widget(f"phase.{r.optimizer}.{name}.hi", hi))
        try:
            if lo_in is None or hi_in is None or not (d.low <= lo_in < hi_in <= d.high):
                raise ValueError(f"{name} needs {d.low:g} ≤ from < to ≤ {d.high:g}, got "
                                 f"{lo_in} .. {hi_in}")
            grids[name] = tuple(log_grid(lo_in, hi_in, n) if d.log
                                else lin_grid(lo_in, hi_in, n, d.kind == "int"))
        except (ValueError, TypeError) as exc:
            st.error(f"Range: {md_escape(str(exc))}", icon=":material/warning:")
            return
    tol = DEFAULT_TOL
    key = (view_key(scene, without=tuple(targets([x_name, y_name])), runs=(run,)), x_name,
           grids[x_name], y_name, grids[y_name], tol)
    result = _on_demand(
        "phase", key, button="Compute the phase map", icon=":material/grid_on:",
        help=f"{len(grids[x_name])} × {len(grids[y_name])} settings × {len(scene.starts)} "
             f"starts × {scene.steps} steps, in one loop",
        busy="Mapping…", what="The phase map",
        idle="Press the button to run this optimizer at every cell of the grid.",
        compute=lambda bar: _phase(key, scene, run, x_name, grids[x_name], y_name,
                                   grids[y_name], tol, bar))
    if result is None:
        return
    values = score(result, metric, scene.steps)  # (ny, nx)
    if metric == "distance_to_minimum":
        values = np.where(np.isinf(values), np.nan, values)
    cur = (current_value(kwargs, x_name), current_value(kwargs, y_name))
    fig = phase_figure(x_name, grids[x_name], y_name, grids[y_name], values,
                       result.diverged.any(axis=-1), METRIC_LABELS[metric],
                       log_x=params[x_name].log, log_y=params[y_name].log,
                       log_color=metric != "steps_to_tol",
                       current=None if None in cur else cur,  # type: ignore[arg-type]
                       title=r.display_label())
    curve = next(i for i, t in enumerate(fig.data) if t.name == CLICK_LAYER)
    chart = f"{PREFIX}.phase.chart"
    st.plotly_chart(fig, key=chart, theme=None, config=CONFIG, width="stretch",
                    on_select=lambda: _on_phase_click(
                        chart, run, x_name, y_name, curve,
                        (params[x_name].kind == "int", params[y_name].kind == "int")),
                    selection_mode="points")
    st.caption("Mean over the scene's start(s); ✕ diverged, ★ the current setting. Click a "
               f"cell to race it.{_metric_note(metric, scene)}")
    _extras_note(scene, (run,))
    _after_click()


def _metric_note(metric: str, scene: Scenario) -> str:
    """What a metric means here, when it needs saying."""
    surf = scene.resolve_surface()
    if metric == "steps_to_tol":
        return (f" Steps to tolerance: the first step with f − f* ≤ {DEFAULT_TOL:g}; "
                f"{scene.steps + 1} when never." + ("" if surf.minimum_value is not None else
                                                    " This surface has no known f*: "
                                                    "it counts from f* = 0."))
    if metric == "distance_to_minimum" and not len(surf.minima):
        return " This surface has no known minimum: there is no distance to draw."
    return ""


def _second(names: list[str]) -> str:
    for preferred in ("momentum", "beta1", "alpha", "damping"):
        if preferred in names and preferred != names[0]:
            return preferred
    return names[1]


def _default_range(d: Any, cur: float | None) -> tuple[float, float]:
    """A first range for a phase axis: around the current value for log ones (÷100 … ×10);
    for linear ones the registry's range, at most [low, 0.999] for rates in [0, 1) such as
    momentum, [low, low + 1] for wider floats and [low, low + 20] for whole numbers."""
    if d.log and cur is not None and cur > 0:
        return float(f"{max(d.low, cur / 100):.3g}"), float(f"{min(d.high, cur * 10):.3g}")
    if d.log:
        return d.low, d.high
    if d.kind == "int":
        return float(d.low), float(min(d.high, d.low + 20))
    if d.high <= 1:
        return float(f"{d.low:.4g}"), float(f"{min(d.high, 0.999):.4g}")
    return float(f"{d.low:.4g}"), float(f"{min(d.high, d.low + 1):.4g}")


@st.fragment
def basins_view(scene: Scenario) -> None:
    """(c) which minimum each start of a grid reaches, shaded by how fast."""
    labels = _labels(scene)
    k_run = _widget("basins.run", 0)
    if st.session_state[k_run] >= len(scene.runs):
        st.session_state[k_run] = 0
    c1, c2, c3, c4 = st.columns(4)
    run = c1.selectbox("run", list(range(len(scene.runs))), format_func=lambda i: labels[i],
                       key=k_run)
    n = c2.slider("starts per side", 10, MAX_BASIN_GRID, key=_widget("basins.n", 60))
    steps = c3.number_input("steps", step=50, format="%d",
                            key=_widget("basins.steps", min(scene.steps, 500)))
    tol = c4.number_input("tolerance", format="%g", step=None,
                          key=_widget("basins.tol", DEFAULT_TOL))
    if steps is None or not 1 <= steps <= MAX_VIEW_STEPS:
        st.error(f"steps must be a whole number in [1, {MAX_VIEW_STEPS}], got {steps}",
                 icon=":material/warning:")
        return
    tol = _positive(tol, "tolerance")
    if tol is None:
        return
    key = (view_key(scene, runs=(run,)), int(n), int(steps), tol)
    result = _on_demand(
        "basins", key, button="Compute the basin map", icon=":material/scatter_plot:",
        help=f"{n} × {n} starts × {steps} steps, in one loop",
        busy="Running every start…", what="The basin map",
        idle="Press the button to run this setting from every start of a grid over the "
             "surface.",
        compute=lambda bar: _basins(key, scene, run, int(n), int(steps), tol, bar))
    if result is None:
        return
    surf = scene.resolve_surface()
    land = cache.landscape(cache.surface_key(scene), scene)
    fig = basin_figure(result.xs, result.ys, result.minimum_index, result.steps_to_tol,
                       result.steps, surf.minima, land, title=scene.runs[run].display_label())
    st.plotly_chart(fig, key=f"{PREFIX}.basins.chart", theme=None, config=CONFIG,
                    width="stretch")
    st.caption(f"Colour: the minimum a start reaches (within {result.radius:.3g}); paler: "
               f"later within tolerance {tol:g} (palest: never); grey: no minimum; black: "
               "diverged.")
    _extras_note(scene, (run,))


@st.fragment
def cloud_view(scene: Scenario) -> None:
    """A start-cloud race: up to 10,000 random starts of one run, a cloud the race player
    moves frame by frame (:data:`CLOUD_FRAMES` frames evenly over the steps)."""
    st.markdown("**Start cloud**")
    labels = _labels(scene)
    k_run = _widget("cloud.run", 0)
    if st.session_state[k_run] >= len(scene.runs):
        st.session_state[k_run] = 0
    c1, c2 = st.columns(2)
    run = c1.selectbox("run", list(range(len(scene.runs))), format_func=lambda i: labels[i],
                       key=k_run)
    n = c2.slider("starts", 10, MAX_CLOUD, step=10, key=_widget("cloud.n", 1000))
    key = (view_key(scene, runs=(run,)), int(n))
    result = _on_demand(
        "cloud", key, button="Race the start cloud", icon=":material/grain:",
        help=f"{n} random starts over the window × {scene.steps} steps; {CLOUD_FRAMES} frames",
        busy="Running the cloud…", what="The start cloud",
        idle="Press the button to start this run from many random points at once and watch "
             "where the cloud goes.",
        compute=lambda bar: _cloud(key, scene, run, int(n), bar))
    if result is None:
        return
    r = scene.runs[run]
    land = cache.landscape(cache.surface_key(scene), scene)
    race = _race_shown(scene)
    payload = _cloud_player_payload(key, r.color, r.display_label(),
                                    race["base_token"] if race else None, result, land, race)
    _cloud_player(payload)
    st.caption(f"{n:,} starts drawn uniformly over the window (seed {scene.seed}); "
               f"{result['diverged']:,} diverged and vanish.")


def _race_shown(scene: Scenario) -> dict | None:
    """The race payload on screen when it draws the same landscape as ``scene``: the cloud
    takes its base, so the page draws both from the one it holds."""
    shown = st.session_state.get(state.SHOWN)
    payload = getattr(shown, "payload", None)
    if (payload is None or payload.get("base") is None
            or cache.surface_key(shown.scene) != cache.surface_key(scene)):
        return None
    return payload


@_memo(2)
def _cloud_player_payload(key: tuple, color: str, label: str, base_token: str | None,
                          _result: dict, _land: Any, _race: dict | None) -> dict:
    """The race player's payload in cloud mode (:func:`optviz.figures.cloud.cloud_payload`)
    for the cloud ``key``, with the race's base when there is one (``base_token``)."""
    return cloud_payload(_land, _result["xy"], _result["steps"], color, label, race=_race)


def _cloud_player(payload: dict) -> None:
    """The start cloud in the race player; its base goes to the page only when the page does
    not hold it yet (as the race's does, :func:`optviz.ui.results.race`)."""
    from optviz.ui.results import SENT_BASES

    payload = dict(payload)
    sent = st.session_state.setdefault(SENT_BASES, set())
    if payload["base_token"] in sent:
        payload["base"] = None
    else:
        sent.add(payload["base_token"])
    race_player(payload, key=f"{PREFIX}.cloud.player",
                on_need_base=lambda: st.session_state.pop(SENT_BASES, None))


@st.fragment
def seeds_view(scene: Scenario) -> None:
    """K seeds of every run: median path and 10–90 % band, and a per-run summary."""
    c1, c2, c3 = st.columns(3)
    k = c1.slider("seeds", 2, MAX_SEEDS, key=_widget("seeds.k", 8))
    noise = c2.number_input("gradient noise σ", format="%g", step=None,
                            key=_widget("seeds.noise", scene.effective_noise() or 0.1))
    tol = c3.number_input("tolerance", format="%g", step=None,
                          key=_widget("seeds.tol", DEFAULT_TOL))
    if noise is None or not math.isfinite(noise) or noise < 0:
        st.error(f"noise must be a number ≥ 0, got {noise}", icon=":material/warning:")
        return
    tol = _positive(tol, "tolerance")
    if tol is None:
        return
    work = int(k) * len(scene.runs) * len(scene.starts) * scene.steps
    if work > MAX_SEED_WORK:
        st.error(f"{k} seeds × {len(scene.runs)} runs × {len(scene.starts)} starts × "
                 f"{scene.steps:,} steps = {work:,} particle-steps; at most "
                 f"{MAX_SEED_WORK:,} here (fewer seeds, starts or steps)",
                 icon=":material/warning:")
        return
    if noise == 0:
        st.info("Without gradient noise every seed gives the same path.",
                icon=":material/info:")
    key = (view_key(scene), int(k), float(noise))
    result = _on_demand(
        "seeds", key, button="Run the seeds", icon=":material/casino:",
        help=f"{k} seeds × {len(scene.runs)} runs × {len(scene.starts)} starts",
        busy="Running the seeds…", what="The seeds",
        idle=f"Press the button to run every run with seeds {scene.seed}, {scene.seed + 1}, … "
             "instead of one lucky or unlucky seed.",
        compute=lambda bar: _seeds(key, scene, int(k), float(noise), bar))
    if result is None:
        return
    surf = scene.resolve_surface()
    bands = [SeedBand(r.display_label(), r.color, result["xy"][i, 0], result["loss"][i, 0])
             for i, r in enumerate(scene.runs)]
    land = cache.landscape(cache.surface_key(scene), scene)
    left, right = st.columns([1.2, 1])
    left.plotly_chart(seed_path_figure(bands, land), key=f"{PREFIX}.seeds.paths", theme=None,
                      config=CONFIG, width="stretch")
    right.plotly_chart(seed_loss_figure(bands, surf.minimum_value), key=f"{PREFIX}.seeds.loss",
                       theme=None, config=CONFIG, width="stretch")
    if len(scene.starts) > 1:
        st.caption("Paths and bands from the first start; the summary counts every start.")
    loss = result["loss"]
    runs, starts, seeds = loss.shape[:3]
    rows = summary_rows([r.display_label() for r in scene.runs],
                        loss.reshape(runs, starts * seeds, -1),
                        result["diverged_at"].reshape(runs, starts * seeds),
                        surf.minimum_value, tol)
    summary_table(rows, f"over {seeds} seeds × {starts} start(s)")


def summary_table(rows: list[dict[str, Any]], what: str) -> None:
    """Per-run summary rows (:func:`optviz.analysis.summary.summary_rows`) as a table."""
    def pct(v: Any) -> str:
        return "—" if v is None else f"{100 * v:.0f} %"

    def num(v: Any) -> str:
        return "—" if v is None or not math.isfinite(v) else f"{v:.4g}"

    df = pd.DataFrame([{"run": r["run"], "success rate": pct(r["success rate"]),
                        "median final loss": num(r["median final loss"]),
                        "median steps to tol": num(r["median steps to tol"]),
                        "diverged": f"{r['diverged']} / {r['particles']}"} for r in rows])
    st.markdown(f"**Per-optimizer summary** ({what})")
    st.dataframe(df, hide_index=True, width="content")


@st.fragment
def fair_view(scene: Scenario) -> None:
    """(d) each run at its best learning rate (log grid, then a finer one), then race them."""
    runs = tuple(i for i in range(len(scene.runs)) if has_lr(scene, i))
    if not runs:
        st.info("No run of this scene has a learning rate.")
        return
    suggested_row(scene, runs)
    _after_click()
    c1, c2 = st.columns(2)
    criterion = c1.selectbox("criterion", CRITERIA, format_func=METRIC_LABELS.get,
                             key=_widget("fair.criterion", "final_loss"))
    budget = c2.number_input("budget (settings per run)", step=8, format="%d",
                             key=_widget("fair.budget", 32))
    if budget is None or not 4 <= budget <= 256:
        st.error(f"budget must be a whole number in [4, 256], got {budget}",
                 icon=":material/warning:")
        return
    tol = DEFAULT_TOL
    key = (view_key(scene, without=("lr",), runs=runs), criterion, int(budget), tol)
    result = _on_demand(
        "fair", key, button="Tune each learning rate", icon=":material/tune:",
        help=f"per run: {budget} learning rates (3/4 on a log grid over [1e-6, 10], the rest "
             f"on a finer grid around the best) × {len(scene.starts)} starts × "
             f"{scene.steps} steps",
        busy="Tuning…", what="Tuning", parts=len(runs),
        idle="Same learning rate for all is one comparison; “each at its best” is another. "
             "Press the button to tune each run's lr for the criterion.",
        compute=lambda bar: _tuned(key, scene, runs, criterion, int(budget), tol, bar))
    if result is None:
        return
    rows = [dict(row, run=scene.runs[row["index"]].display_label()) for row in result]
    df = pd.DataFrame([{
        "run": row["run"], "current lr": format_number(row["current lr"]),
        f"{METRIC_LABELS[criterion]} now": _score_text(row["current score"]),
        "tuned lr": "none (all diverged)" if row["tuned lr"] is None
        else format_number(row["tuned lr"]),
        f"{METRIC_LABELS[criterion]} tuned": _score_text(row["tuned score"]),
        "settings tried": row["settings tried"]} for row in rows])
    st.dataframe(df, hide_index=True, width="content")
    st.caption(f"Criterion: {METRIC_LABELS[criterion]} (mean over the scene's starts, lower is "
               f"better; a diverged start rules a setting out); budget {budget} settings per "
               "run.")
    st.button("Race the tuned settings", key=f"{PREFIX}.fair.race", type="primary",
              icon=":material/sports_score:", on_click=_on_race_tuned,
              args=(rows, criterion),
              disabled=all(row["tuned lr"] is None for row in rows))
    _extras_note(scene, runs)
    _after_click()


def suggested(scene: Scenario, runs: tuple[int, ...]) -> dict[int, float]:
    """The stored suggested lr of each run on the scene's surface (``surfaces/
    suggested_lr.json``), by run index; runs without one are left out."""
    if scene.is_custom:
        return {}
    from optviz.suggested import suggested_lr

    out = {}
    for i in runs:
        lr = suggested_lr(scene.surface, scene.runs[i].variant)
        if lr is not None:
            out[i] = lr
    return out


def _on_race_suggested(values: dict[int, float]) -> None:
    for i, lr in values.items():
        load_setting(i, {"lr": lr})


def suggested_row(scene: Scenario, runs: tuple[int, ...]) -> None:
    """The stored per-surface suggestions, and a button that races them."""
    values = suggested(scene, runs)
    if not values:
        return
    text = ", ".join(f"{scene.runs[i].display_label().split(' (')[0]} {format_number(lr)}"
                     for i, lr in values.items())
    c1, c2 = st.columns([3, 1], vertical_alignment="center")
    c1.text(f"Suggested for this surface (tuned offline for the final loss): {text}")
    c2.button("Race the suggested lrs", key=f"{PREFIX}.fair.suggested",
              icon=":material/auto_fix_high:", on_click=_on_race_suggested, args=(values,),
              disabled=all(dict(scene.runs[i].hparams)["lr"] == lr
                           for i, lr in values.items()))


def _score_text(v: float) -> str:
    return "diverged" if not math.isfinite(v) else f"{v:.4g}"


def race_summary(scene: Scenario) -> None:
    """With several starts: the per-optimizer summary of the race itself."""
    if len(scene.starts) < 2:
        return
    try:
        traj = cache.trajectories(scene.sim_key(), scene)
    except Exception:  # the main area says what went wrong
        return
    tol = st.session_state.get("optviz.tol", DEFAULT_TOL)
    tol = tol if isinstance(tol, int | float) and math.isfinite(tol) and tol > 0 \
        else DEFAULT_TOL
    rows = summary_rows([r.display_label() for r in scene.runs], traj.loss, traj.diverged_at,
                        scene.resolve_surface().minimum_value, tol)
    summary_table(rows, f"the race's {len(scene.starts)} starts, tolerance {tol:g}")


def render(scene: Scenario) -> None:
    """The "Compare at scale" views for the scene on screen (call it inside an expander or a
    tab of the main area; the race's own summary, :func:`race_summary`, goes above its
    results table)."""
    tabs = st.tabs(["Learning-rate sensitivity", "Phase map", "Basins", "Seeds",
                    "Each at its best"])
    views = ((sensitivity_view,), (phase_view,), (basins_view, cloud_view), (seeds_view,),
             (fair_view,))
    for tab, group in zip(tabs, views, strict=True):
        with tab:
            for view in group:
                try:
                    view(scene)
                except Exception as exc:  # nothing the user does may break the page
                    _fail("This view", exc)
