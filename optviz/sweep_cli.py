"""``optviz sweep``: a hyperparameter grid of one or more optimizers to CSV, and a PNG chart.

The sweep is :func:`optviz.analysis.sweep_many` (one loop, metrics streaming). The PNG is
drawn with Pillow (no browser, no kaleido: Plotly's static export needs kaleido, which is not a
dependency): the metric's mean over the starts against a 1-D grid (one line per optimizer, log
axes where the values allow), or a heat map per optimizer for a 2-D grid (diverged cells
crossed). The CSV has one row per optimizer, setting and start.
"""

from __future__ import annotations

import argparse
import csv
import io
import math
import sys
from pathlib import Path
from typing import Any

import numpy as np

from optviz.cli import CliError

DEFAULT_GRID = "lr=1e-4:1:32"
CSV_METRICS = ("final_loss", "mean_loss", "steps_to_tol", "distance_to_minimum",
               "minimum_index", "diverged_at")
COLORS = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2",
          "#17becf")


def parse_grid(text: str, log_default: bool) -> tuple[str, list[float]]:
    """``NAME=LOW:HIGH:N[:log|:lin]`` or ``NAME=V1,V2,...`` → (name, values)."""
    name, sep, spec = text.partition("=")
    name = name.strip()
    if not sep or not name or not spec.strip():
        raise CliError(f"--grid {text}: use NAME=LOW:HIGH:N or NAME=V1,V2,...")
    try:
        if ":" in spec:
            parts = spec.split(":")
            if len(parts) not in (3, 4) or (len(parts) == 4 and parts[3] not in ("log", "lin")):
                raise ValueError("use LOW:HIGH:N with an optional :log or :lin")
            low, high, n = float(parts[0]), float(parts[1]), int(parts[2])
            log = log_default if len(parts) == 3 else parts[3] == "log"
            if not (math.isfinite(low) and math.isfinite(high)) or not 1 <= n <= 4096:
                raise ValueError("LOW and HIGH must be finite and N in [1, 4096]")
            if log:
                if low <= 0 or high <= 0:
                    raise ValueError("a log grid needs LOW and HIGH > 0 (add :lin for even)")
                values = np.geomspace(low, high, n)
            else:
                values = np.linspace(low, high, n)
            return name, [float(v) for v in values]
        return name, [float(v) for v in spec.split(",")]
    except ValueError as exc:
        raise CliError(f"--grid {text}: {exc}") from None


def _log_scale(optimizer: str, name: str) -> bool:
    from optviz.optimizers import get_optimizer

    spec = get_optimizer(optimizer)
    target = "betas" if name in ("beta1", "beta2") else name.split("[")[0]
    hp = {h.name: h for h in spec.hyperparameters}.get(target)
    return bool(hp is not None and hp.log)


def _setup(args: argparse.Namespace) -> dict[str, Any]:
    """Surface, (optimizer, kwargs, label) list, starts, steps, seed, noise from the scene or
    from --surface/--optimizer."""
    from optviz.optimizers import get_optimizer

    from_scene = args.scene is not None or args.preset is not None
    if from_scene and (args.surface or args.optimizer):
        raise CliError("give a scene (file or --preset) or --surface/--optimizer, not both")
    if from_scene:
        from optviz.cli import _load_scene

        scene = _load_scene(args)
        runs = [(r.optimizer, r.kwargs(), r.display_label()) for r in scene.runs]
        if args.run:
            for i in args.run:
                if not 1 <= i <= len(runs):
                    raise CliError(f"--run {i}: the scene has {len(runs)} run(s), 1 to "
                                   f"{len(runs)}")
            runs = [runs[i - 1] for i in args.run]
        surface = scene.resolve_surface() if scene.is_custom else scene.surface
        starts = list(scene.starts)
        steps, seed, noise = scene.steps, scene.seed, scene.noise
    else:
        if not args.surface or not args.optimizer:
            raise CliError("give a scene file, --preset NAME, or --surface and --optimizer")
        from optviz.scene import DEFAULT_SCENARIO, ScenarioError

        try:
            starts = list(DEFAULT_SCENARIO.with_surface(args.surface).starts)
        except ScenarioError as exc:
            raise CliError(f"--surface {args.surface}: {exc}") from None
        runs = []
        for key in args.optimizer:
            try:
                spec = get_optimizer(key)
            except (KeyError, ValueError, TypeError) as exc:
                raise CliError(f"--optimizer {key}: {exc}") from None
            runs.append((key, spec.validate({}), spec.label))
        surface = args.surface
        steps, seed, noise = 500, 0, None
    if args.start:
        starts = []
        for text in args.start:
            try:
                x, y = (float(v) for v in text.split(","))
            except ValueError:
                raise CliError(f"--start {text}: use x,y (two numbers)") from None
            starts.append((x, y))
    return dict(surface=surface, runs=runs, starts=starts,
                steps=steps if args.steps is None else args.steps,
                seed=seed if args.seed is None else args.seed,
                noise=noise if args.noise is None else args.noise)


def run_sweep(args: argparse.Namespace) -> int:
    from optviz.analysis import sweep_many
    from optviz.analysis.metrics import METRICS, score

    if args.metric not in METRICS:
        raise CliError(f"--metric {args.metric}: use one of {', '.join(METRICS)}")
    setup = _setup(args)
    texts = args.grid or [DEFAULT_GRID]
    grid: dict[str, list[float]] = {}
    for text in texts:
        name = text.partition("=")[0].strip()
        name, values = parse_grid(text, _log_scale(setup["runs"][0][0], name)
                                  if name else False)
        if name in grid:
            raise CliError(f"--grid {name} is given twice")
        grid[name] = values
    names = list(grid)
    if args.png and len(names) > 2:
        raise CliError(f"--png draws 1-D or 2-D grids; this one has {len(names)} axes")
    runs = setup["runs"]
    if not args.run:  # a scene's runs: only those that have the grid's hyperparameters
        from optviz.analysis.sweep import _resolve
        from optviz.optimizers import get_optimizer

        def fits(key: str) -> bool:
            try:
                for name in names:
                    _resolve(get_optimizer(key), name)
            except ValueError:
                return False
            return True

        kept = [r for r in runs if fits(r[0])]
        if not kept:
            raise CliError(f"no optimizer has the hyperparameter(s) {', '.join(names)}")
        runs = kept
    progress = None
    if sys.stderr.isatty():
        from optviz.cli import progress_bar

        bar = progress_bar(sys.stderr, "sweeping")

        def progress(step: int, steps: int) -> None:
            bar(step / max(steps, 1))
    try:
        results = sweep_many(setup["surface"], [(k, kw) for k, kw, _ in runs], grid,
                             setup["starts"], setup["steps"], setup["seed"], setup["noise"],
                             args.metric, args.tol, progress=progress)
    except (ValueError, TypeError) as exc:
        raise CliError(str(exc)) from None
    text = sweep_csv(results, [label for _, _, label in runs])
    if args.out is None:
        sys.stdout.write(text)
    else:
        try:
            Path(args.out).write_text(text, encoding="utf-8")
        except OSError as exc:
            raise CliError(f"--out {args.out}: cannot write ({exc.strerror or exc})") from None
        print(f"wrote {args.out} ({text.count(chr(10)) - 1:,} rows)", file=sys.stderr)
    if args.png:
        means = [score(r.metrics, args.metric, r.steps) for r in results]
        if args.metric == "distance_to_minimum":
            means = [np.where(np.isinf(m), np.nan, m) for m in means]
        dead = [r.metrics.diverged.any(axis=-1) for r in results]
        data = sweep_png(names, [np.asarray(grid[n]) for n in names],
                         [label for _, _, label in runs], means, dead, args.metric)
        try:
            Path(args.png).write_bytes(data)
        except OSError as exc:
            raise CliError(f"--png {args.png}: cannot write ({exc.strerror or exc})") from None
        print(f"wrote {args.png} ({len(data):,} bytes)", file=sys.stderr)
    return 0


def sweep_csv(results: list, labels: list[str]) -> str:
    """One row per optimizer, grid cell and start."""
    buf = io.StringIO()
    first = results[0]
    names = list(first.grid)
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(["run", "optimizer", *names, "start_x", "start_y", *CSV_METRICS])
    for label, r in zip(labels, results, strict=True):
        shape = r.shape
        for cell in np.ndindex(*shape):
            values = [r.grid[n][i] for n, i in zip(names, cell, strict=True)]
            for s, (x, y) in enumerate(r.starts):
                idx = (*cell, s)
                row = [getattr(r.metrics, m)[idx] for m in CSV_METRICS]
                writer.writerow([label, r.optimizer, *(_cell(v) for v in values),
                                 _cell(x), _cell(y), *(_cell(v) for v in row)])
    return buf.getvalue()


def _cell(v: Any) -> str:
    if isinstance(v, bool | np.bool_):
        return str(bool(v))
    if isinstance(v, int | np.integer):
        return str(int(v))
    f = float(v)
    return "inf" if f == math.inf else "nan" if math.isnan(f) else repr(f)


# --------------------------------------------------------------------------------------------
# PNG (Pillow)


def _font(size: int) -> Any:
    from optviz.render import _font as font

    return font(size)


def sweep_png(names: list[str], axes: list[np.ndarray], labels: list[str],
              means: list[np.ndarray], diverged: list[np.ndarray], metric: str) -> bytes:
    """The chart as PNG bytes: lines for one grid axis, heat maps for two (more: refused)."""
    if len(names) == 1:
        img = _lines(names[0], axes[0], labels, means, diverged, metric)
    elif len(names) == 2:
        img = _heat_maps(names, axes, labels, means, diverged, metric)
    else:
        raise CliError(f"--png draws 1-D or 2-D grids; this one has {len(names)} axes "
                       "(the CSV has them all)")
    buf = io.BytesIO()
    img.save(buf, format="PNG", optimize=True)
    return buf.getvalue()


def _scale(values: np.ndarray, log: bool, lo_px: float, hi_px: float):
    v = np.asarray(values, dtype=float)
    ok = np.isfinite(v) & ((v > 0) if log else True)
    t = np.log10(v[ok]) if log else v[ok]
    lo, hi = (float(t.min()), float(t.max())) if t.size else (0.0, 1.0)
    if hi == lo:
        lo, hi = lo - 0.5, hi + 0.5

    def to_px(x: float) -> float:
        u = math.log10(x) if log else x
        return lo_px + (u - lo) / (hi - lo) * (hi_px - lo_px)

    return to_px, lo, hi


def _tick_text(u: float, log: bool) -> str:
    return f"{10 ** u:.3g}" if log else f"{u:.3g}"


def _lines(name: str, xs: np.ndarray, labels: list[str], means: list[np.ndarray],
           diverged: list[np.ndarray], metric: str) -> Any:
    from PIL import Image, ImageDraw

    w, h, left, right, top, bottom = 900, 560, 90, 230, 40, 70
    img = Image.new("RGB", (w, h), "white")
    d = ImageDraw.Draw(img)
    f = _font(14)
    log_x = bool(np.all(xs > 0))
    allv = np.concatenate([np.ravel(m) for m in means])
    fin = allv[np.isfinite(allv)]
    log_y = bool(fin.size and np.all(fin > 0) and metric != "steps_to_tol")
    px, xlo, xhi = _scale(xs, log_x, left, w - right)
    py, ylo, yhi = _scale(fin if fin.size else np.array([0.0, 1.0]), log_y, h - bottom, top)
    d.rectangle([left, top, w - right, h - bottom], outline="#444444")
    for k in range(5):
        ux = xlo + k * (xhi - xlo) / 4
        x = left + k * (w - right - left) / 4
        d.line([x, h - bottom, x, h - bottom + 5], fill="#444444")
        d.text((x, h - bottom + 8), _tick_text(ux, log_x), fill="black", font=f, anchor="ma")
        uy = ylo + k * (yhi - ylo) / 4
        y = h - bottom - k * (h - bottom - top) / 4
        d.line([left - 5, y, left, y], fill="#444444")
        d.text((left - 8, y), _tick_text(uy, log_y), fill="black", font=f, anchor="rm")
    d.text(((left + w - right) / 2, h - 30), name + (" (log)" if log_x else ""), fill="black",
           font=f, anchor="ma")
    d.text((left, 12), metric.replace("_", " ") + " (mean over starts; x: diverged)",
           fill="black", font=f)
    for i, (label, m, dead) in enumerate(zip(labels, means, diverged, strict=True)):
        color = COLORS[i % len(COLORS)]
        pts = []
        for x, v, dv in zip(xs, np.ravel(m), np.ravel(dead), strict=True):
            if dv or not np.isfinite(v) or (log_y and v <= 0):
                if len(pts) > 1:
                    d.line(pts, fill=color, width=2)
                pts = []
                if dv:
                    cx, cy = px(x), top + 6
                    d.line([cx - 4, cy - 4, cx + 4, cy + 4], fill=color, width=2)
                    d.line([cx - 4, cy + 4, cx + 4, cy - 4], fill=color, width=2)
                continue
            pts.append((px(x), py(v)))
        if len(pts) > 1:
            d.line(pts, fill=color, width=2)
        for p in pts:
            d.ellipse([p[0] - 2.5, p[1] - 2.5, p[0] + 2.5, p[1] + 2.5], fill=color)
        ly = top + 10 + 22 * i
        d.line([w - right + 15, ly, w - right + 40, ly], fill=color, width=3)
        d.text((w - right + 46, ly), label[:26], fill="black", font=f, anchor="lm")
    return img


def _heat_maps(names: list[str], axes: list[np.ndarray], labels: list[str],
               means: list[np.ndarray], diverged: list[np.ndarray], metric: str) -> Any:
    """One panel per optimizer: ``means[k][i, j]`` at (axes[1][j], axes[0][i]): the first grid
    name is the rows (y), the second the columns (x), as ``sweep`` orders them."""
    from PIL import Image, ImageDraw

    from optviz.figures.landscape import _lut

    cell_panel, pad, top = 360, 80, 50
    n = len(labels)
    img = Image.new("RGB", (n * (cell_panel + pad) + pad, cell_panel + top + 90), "white")
    d = ImageDraw.Draw(img)
    f = _font(13)
    lut = _lut("Viridis", 0.0)[::-1]  # low (good) = yellow
    allv = np.concatenate([np.ravel(m) for m in means])
    fin = allv[np.isfinite(allv)]
    log = bool(fin.size and np.all(fin > 0) and metric != "steps_to_tol")
    t = np.log10(fin) if log else fin
    lo, hi = (float(t.min()), float(t.max())) if t.size else (0.0, 1.0)
    ny, nx = len(axes[0]), len(axes[1])
    for k, (label, m, dead) in enumerate(zip(labels, means, diverged, strict=True)):
        x0 = pad + k * (cell_panel + pad)
        cw, ch = cell_panel / nx, cell_panel / ny
        d.text((x0, 12), label[:40], fill="black", font=f)
        for i in range(ny):
            for j in range(nx):
                v = float(m[i, j])
                y1 = top + cell_panel - (i + 1) * ch
                box = [x0 + j * cw, y1, x0 + (j + 1) * cw, y1 + ch]
                if dead[i, j] or not math.isfinite(v) or (log and v <= 0):
                    d.rectangle(box, fill="#dddddd")
                    if dead[i, j]:
                        d.line(box, fill="#b00020", width=1)
                        d.line([box[0], box[3], box[2], box[1]], fill="#b00020", width=1)
                    continue
                u = (math.log10(v) if log else v)
                q = 0.5 if hi == lo else (u - lo) / (hi - lo)
                r, g, b = (int(c) for c in lut[round(q * (len(lut) - 1))])
                d.rectangle(box, fill=(r, g, b))
        d.rectangle([x0, top, x0 + cell_panel, top + cell_panel], outline="#444444")
        for j in {0, nx - 1}:
            d.text((x0 + (j + 0.5) * cw, top + cell_panel + 6), f"{axes[1][j]:.3g}",
                   fill="black", font=f, anchor="ma")
        for i in {0, ny - 1}:
            d.text((x0 - 6, top + cell_panel - (i + 0.5) * ch), f"{axes[0][i]:.3g}",
                   fill="black", font=f, anchor="rm")
        d.text((x0 + cell_panel / 2, top + cell_panel + 26), names[1], fill="black", font=f,
               anchor="ma")
        d.text((x0 - 6, top - 16), names[0], fill="black", font=f, anchor="rm")
    what = f"log10 {metric}" if log else metric
    d.text((pad, top + cell_panel + 50), f"{what}: yellow {lo:.3g} (best) to purple {hi:.3g};"
           " grey x: diverged", fill="black", font=f)
    return img
