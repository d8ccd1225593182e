"""``python -m optviz``: list what there is, run a scene to a file, print a run as PyTorch code.

::

    python -m optviz list
    python -m optviz run SCENE.json --out race.gif        # .html .gif .mp4 .png .csv .json
    python -m optviz run SCENE.json --out race.mp4 --width 1280 --duration 8
    python -m optviz run --preset NAME --out race.html [--steps N] [--seed S]
    python -m optviz run SCENE.json                       # a results table on stdout
    python -m optviz code SCENE.json --run 2 [--start 1] [--out run2.py]
    python -m optviz sweep --surface beale --optimizer adam --grid lr=1e-4:1:32 --out s.csv
    python -m optviz sweep --preset NAME --grid lr=1e-3:1:16 --grid momentum=0:0.99:8 \
        --out sweep.csv --png sweep.png                   # every run of the scene with an lr

Runs and starts count from 1, as the app shows them. Bad input (a missing or malformed file,
an unknown preset, an unknown extension, an invalid scene, a run out of range) ends with one
line ``optviz: error: ...`` on stderr and exit status 2; fields of a scene file that fall back
to their defaults are reported as ``optviz: warning: ...``. GIF and MP4 rendering show a
progress bar on stderr.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path
from typing import NoReturn, TextIO

__all__ = ["main"]

PROG = "optviz"
EXIT_BAD_INPUT = 2
EXIT_BROKEN_PIPE = 141  # 128 + SIGPIPE: the reader of our output went away
_SCENE_LIMIT = 1 << 20  # bytes read from a scene file at most (Scenario has its own limit)


class CliError(Exception):
    """Bad input: reported as one ``optviz: error:`` line, exit status 2."""


class _Parser(argparse.ArgumentParser):
    """argparse whose errors are one line (no usage dump) with exit status 2."""

    def error(self, message: str) -> NoReturn:
        raise CliError(message)


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(prog=PROG, description="Watch torch.optim optimizers race over 2D "
                     "loss surfaces: list, run scenes to files, export a run as PyTorch code.")
    sub = parser.add_subparsers(dest="command", metavar="{list,run,code,sweep}",
                                parser_class=_Parser)
    sub.required = True
    sub.add_parser("list", help="surfaces, optimizers and presets")
    run = sub.add_parser("run", help="simulate a scene and write it to a file",
                         description="Simulate a scene (a JSON file or a preset) and write "
                         "it to --out; the format comes from the extension.")
    run.add_argument("scene", nargs="?", help="scene JSON file (as the app downloads it)")
    run.add_argument("--preset", help="a preset name instead of a scene file")
    run.add_argument("--out", "-o", help="output file: .html .gif .mp4 .png .csv or .json "
                     "(default: a results table on stdout)")
    run.add_argument("--steps", type=int, help="override the number of steps")
    run.add_argument("--seed", type=int, help="override the noise seed")
    run.add_argument("--width", type=int, help="picture width in pixels for .gif .mp4 .png "
                     "(320-1920; e.g. 640 or 1280)")
    run.add_argument("--duration", type=float, help="seconds the race takes in a .gif or "
                     ".mp4 (1-60; the last frame is then held a moment)")
    code = sub.add_parser("code", help="one run as a self-contained PyTorch script",
                          description="Print a plain-PyTorch script that reproduces one run.")
    code.add_argument("scene", nargs="?", help="scene JSON file")
    code.add_argument("--preset", help="a preset name instead of a scene file")
    code.add_argument("--run", type=int, required=True, help="which run, from 1")
    code.add_argument("--start", type=int, default=1, help="which start, from 1 (default 1)")
    code.add_argument("--out", "-o", help="write the script here instead of stdout")
    sw = sub.add_parser(
        "sweep", help="a hyperparameter grid of one or more optimizers to CSV (and PNG)",
        description="Run optimizers over a grid of hyperparameters from every start in one "
        "loop (optviz.sweep) and write one CSV row per setting and start: the grid values, "
        "final loss, mean loss, steps to tolerance, distance to the nearest minimum, the "
        "minimum reached and the divergence step. The optimizers, surface, starts, steps, seed "
        "and noise come from a scene file or preset (its runs; --run picks some), or from "
        "--surface and --optimizer.")
    sw.add_argument("scene", nargs="?", help="scene JSON file (as the app downloads it)")
    sw.add_argument("--preset", help="a preset name instead of a scene file")
    sw.add_argument("--run", type=int, action="append", help="a run of the scene, from 1 "
                    "(repeatable; default: every run that has the grid's hyperparameters)")
    sw.add_argument("--surface", help="a catalogue surface (instead of a scene)")
    sw.add_argument("--optimizer", action="append", help="a registry optimizer at its "
                    "defaults (repeatable; with --surface)")
    sw.add_argument("--start", action="append", help="a start point x,y (repeatable; "
                    "write --start=-1.5,2 when x is negative; "
                    "default: the scene's, or the surface's default starts)")
    sw.add_argument("--grid", action="append", help="NAME=LOW:HIGH:N (log-spaced for "
                    "log-scale hyperparameters such as lr, else even; add :log or :lin to "
                    "choose) or NAME=V1,V2,...; repeatable (default: lr=1e-4:1:32)")
    sw.add_argument("--metric", default="final_loss", help="what --png draws: final_loss "
                    "(default), mean_loss, steps_to_tol or distance_to_minimum")
    sw.add_argument("--tol", type=float, default=1e-6, help="tolerance of steps_to_tol "
                    "(default 1e-6)")
    sw.add_argument("--steps", type=int, help="steps (default: the scene's, or 500)")
    sw.add_argument("--seed", type=int, help="noise seed (default: the scene's, or 0)")
    sw.add_argument("--noise", type=float, help="gradient noise std (default: the scene's "
                    "or the surface's)")
    sw.add_argument("--out", "-o", help="CSV file (default: stdout)")
    sw.add_argument("--png", help="also draw the metric (mean over the starts) to this PNG: "
                    "lines against a 1-D grid, a heat map per optimizer for a 2-D one")
    return parser


# ---------------------------------------------------------------------------- helpers


def _warn(message: str) -> None:
    print(f"{PROG}: warning: {message}", file=sys.stderr)


def _load_scene(args: argparse.Namespace):
    """The validated Scenario named by ``scene`` or ``--preset`` (warnings printed)."""
    from optviz.scene import Scenario, ScenarioError

    if (args.scene is None) == (args.preset is None):
        raise CliError("give a scene file or --preset NAME (exactly one)")
    if args.preset is not None:
        try:
            from optviz.presets import get_preset
        except ImportError:
            raise CliError("presets are not available in this version") from None
        try:
            return get_preset(args.preset).scenario
        except KeyError as exc:
            raise CliError(str(exc.args[0]) if exc.args else str(exc)) from None
    path = Path(args.scene)
    try:
        with path.open("rb") as fh:
            raw = fh.read(_SCENE_LIMIT + 1)
    except FileNotFoundError:
        raise CliError(f"{args.scene}: no such file") from None
    except IsADirectoryError:
        raise CliError(f"{args.scene}: is a directory, not a scene file") from None
    except OSError as exc:
        raise CliError(f"{args.scene}: cannot read ({exc.strerror or exc})") from None
    if len(raw) > _SCENE_LIMIT:
        raise CliError(f"{args.scene}: too large for a scene file")
    try:  # the same reader as the app's upload (bytes: a UTF-8 byte-order mark is accepted)
        scenario, warnings = Scenario.from_json(raw)
    except ScenarioError as exc:
        raise CliError(f"{args.scene}: {exc}") from None
    except Exception as exc:  # a bad scene file is one line, never a traceback
        raise CliError(f"{args.scene}: could not be read ({type(exc).__name__}: {exc})") from None
    for warning in warnings:
        _warn(f"{args.scene}: {warning}")
    return scenario


def _override(scenario, steps: int | None, seed: int | None):
    from optviz.scene import ScenarioError

    changes = {k: v for k, v in (("steps", steps), ("seed", seed)) if v is not None}
    if not changes:
        return scenario
    try:
        return replace(scenario, **changes).validated()
    except ScenarioError as exc:
        raise CliError(str(exc)) from None


def progress_bar(stream: TextIO, label: str, width: int = 30) -> Callable[[float], None]:
    """A progress callback drawing ``label [#####     ]  50%`` on ``stream``: redrawn in place
    on a terminal, else one line per 25 %."""
    tty = stream.isatty()
    shown = {"last": -1}

    def update(fraction: float) -> None:
        fraction = min(max(float(fraction), 0.0), 1.0)
        percent = int(fraction * 100)
        if tty:
            if percent == shown["last"]:
                return
            filled = round(fraction * width)
            end = "\n" if fraction >= 1.0 else ""
            stream.write(f"\r{label} [{'#' * filled}{' ' * (width - filled)}] {percent:3d}%{end}")
        else:
            quarter = percent // 25
            if quarter == shown["last"] // 25 and shown["last"] >= 0:
                return
            stream.write(f"{label}: {quarter * 25}%\n")
            percent = quarter * 25
        shown["last"] = percent
        stream.flush()

    return update


# ---------------------------------------------------------------------------- commands


def _class_path(spec) -> str:
    """``"torch.optim.Adam"`` or ``"optviz.optimizers.newton.Newton"``, without importing torch
    where the registry gives ``cls_path``."""
    path = getattr(spec, "cls_path", None)
    if path is None:  # a registry without cls_path: the class itself (imports torch)
        cls = spec.cls
        public = "torch.optim" if cls.__module__.startswith("torch.optim") else cls.__module__
        path = f"{public}.{cls.__qualname__}"
    return path


def _where(path: str) -> str:
    """How the list shows a class: ``torch.optim.Adam`` or ``pytorch_optimizer.Lion`` as it is,
    our own as ``optviz (Newton)``."""
    module, _, name = path.rpartition(".")
    return f"optviz ({name})" if module.startswith("optviz") else path  # torch or a package


def _cmd_list() -> int:
    """Surfaces, optimizers and presets with their titles: reads data files and the registry's
    metadata only (nothing compiles, no preset or default run is built)."""
    from optviz.optimizers import get_optimizer, get_variant, list_variants
    from optviz.presets import preset_titles
    from optviz.surfaces import catalogue

    out = sys.stdout
    out.write("surfaces:\n")
    for entry in catalogue():
        out.write(f"  {entry.name:20s} {entry.title}\n")
    out.write("optimizers:\n")
    for key in list_variants():
        variant = get_variant(key)
        where = _where(_class_path(get_optimizer(variant.optimizer)))
        out.write(f"  {key:20s} {variant.label:24s} {where}\n")
    out.write("presets:\n")
    for key, title in preset_titles().items():
        out.write(f"  {key:20s} {title}\n")
    return 0


def _extras_lines(scenario) -> list[str]:
    """One line per run with a schedule or clipping: what torch runs."""
    from optviz.scene.extras import schedule_call

    lines = []
    for r, run in enumerate(scenario.runs):
        parts = []
        if run.schedule is not None:
            parts.append(f"schedule {schedule_call(run.schedule)}")
        if run.clip_value is not None:
            parts.append(f"clip_grad_value_ {run.clip_value:g}")
        if run.clip_norm is not None:
            parts.append(f"clip_grad_norm_ {run.clip_norm:g}")
        if parts:
            lines.append(f"  run {r + 1}: {', '.join(parts)}")
    return lines


def _summary(scenario, traj) -> str:
    """A plain-text results table: one row per run and start."""
    from optviz.views import format_point, outcome_text, outcomes_for, summaries_for

    surface = scenario.resolve_surface()
    outcomes = outcomes_for(scenario, traj)
    rows = [("run", "label", "start", "final x", "final y", "final loss", "note")]
    for r, per_start in enumerate(summaries_for(surface, traj)):
        for s, summ in enumerate(per_start):
            note = outcome_text(outcomes[r][s], scenario.starts[s]).replace("−", "-")
            rows.append((str(r + 1), scenario.runs[r].display_label(),
                         format_point(scenario.starts[s]).replace("−", "-"),
                         f"{summ.final_xy[0]:.6g}", f"{summ.final_xy[1]:.6g}",
                         f"{summ.final_loss:.6g}", note))
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    title = (f"{surface.title}: {len(scenario.runs)} run(s), {len(scenario.starts)} start(s), "
             f"{scenario.steps} steps")
    lines = [title, *_extras_lines(scenario), ""]
    lines += ["  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip()
              for row in rows]
    return "\n".join(lines) + "\n"


def _cmd_run(args: argparse.Namespace) -> int:
    from optviz.exports import FORMATS, export, mp4_available

    fmt = None
    if args.out is not None:
        fmt = Path(args.out).suffix.lower().lstrip(".")
        if fmt not in FORMATS:
            known = ", ".join(f".{k}" for k in FORMATS)
            raise CliError(f"--out {args.out}: unknown extension (use {known})")
        if fmt == "mp4" and not mp4_available():
            raise CliError("MP4 needs the imageio-ffmpeg package (pip install imageio-ffmpeg);"
                           " .gif works without it")
    if args.width is not None and fmt not in ("gif", "mp4", "png"):
        raise CliError("--width applies to .gif, .mp4 and .png output only")
    if args.duration is not None and fmt not in ("gif", "mp4"):
        raise CliError("--duration applies to .gif and .mp4 output only")
    from optviz.arguments import real, whole
    from optviz.exports.media import MAX_DURATION, MAX_WIDTH, MIN_DURATION, MIN_WIDTH

    try:  # checked before the simulation, so a bad value fails at once
        if args.width is not None:
            whole("--width", args.width, MIN_WIDTH, MAX_WIDTH)
        if args.duration is not None:
            real("--duration", args.duration, MIN_DURATION, MAX_DURATION)
    except ValueError as exc:
        raise CliError(str(exc)) from None
    scenario = _override(_load_scene(args), args.steps, args.seed)
    from optviz.views import simulate_scenario

    traj = simulate_scenario(scenario)
    if fmt is None:
        sys.stdout.write(_summary(scenario, traj))
        return 0
    progress = progress_bar(sys.stderr, f"rendering {fmt.upper()}") \
        if FORMATS[fmt].slow else None
    data = export(fmt, scenario, traj, progress, width=args.width, duration=args.duration)
    try:
        Path(args.out).write_bytes(data)
    except OSError as exc:
        raise CliError(f"--out {args.out}: cannot write ({exc.strerror or exc})") from None
    print(f"wrote {args.out} ({len(data):,} bytes)", file=sys.stderr)
    return 0


def _cmd_code(args: argparse.Namespace) -> int:
    from optviz.exports import pytorch_script

    scenario = _load_scene(args)
    n_runs, n_starts = len(scenario.runs), len(scenario.starts)
    if not 1 <= args.run <= n_runs:
        raise CliError(f"--run {args.run}: the scene has {n_runs} run(s), 1 to {n_runs}")
    if not 1 <= args.start <= n_starts:
        raise CliError(f"--start {args.start}: the scene has {n_starts} start(s), "
                       f"1 to {n_starts}")
    try:
        script = pytorch_script(scenario, args.run - 1, args.start - 1)
    except ValueError as exc:
        raise CliError(str(exc)) from None
    if args.out is None:
        sys.stdout.write(script)
        return 0
    try:
        Path(args.out).write_text(script, encoding="utf-8")
    except OSError as exc:
        raise CliError(f"--out {args.out}: cannot write ({exc.strerror or exc})") from None
    print(f"wrote {args.out}", file=sys.stderr)
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status (0 fine, 2 bad input, 141 when the
    output's reader went away, as a tool killed by SIGPIPE reports)."""
    try:
        args = _parser().parse_args(argv)
        if args.command == "list":
            return _cmd_list()
        if args.command == "run":
            return _cmd_run(args)
        if args.command == "sweep":
            from optviz.sweep_cli import run_sweep

            return run_sweep(args)
        return _cmd_code(args)
    except CliError as exc:
        message = " ".join(str(exc).split())
        print(f"{PROG}: error: {message}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except BrokenPipeError:
        # the reader went away (``optviz list | head -3``): stop quietly, as Unix tools do, and
        # point stdout at /dev/null so the interpreter's final flush does not complain either
        _silence_stdout()
        return EXIT_BROKEN_PIPE


def _silence_stdout() -> None:
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError, AttributeError):  # stdout is not a file (a test's StringIO)
        pass
