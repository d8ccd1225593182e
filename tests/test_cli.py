"""``python -m optviz``: list, run, code; one-line errors with exit status 2.

Most cases call :func:`optviz.cli.main` in-process; two run the real module in a subprocess.
"""

from __future__ import annotations

import csv
import io
import json
import math
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest
from PIL import Image

from optviz.cli import main, progress_bar
from optviz.scene import DEFAULT_SCENARIO
from optviz.surfaces import list_surfaces

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def scene_file(tmp_path) -> Path:
    path = tmp_path / "scene.json"
    path.write_text(replace(DEFAULT_SCENARIO, steps=30).validated().to_json(), encoding="utf-8")
    return path


def _error_line(capsys) -> str:
    err = capsys.readouterr().err
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("optviz: error: ")
    return lines[0]


def test_list_names_surfaces_optimizers_presets(capsys):
    assert main(["list"]) == 0
    out = capsys.readouterr().out
    assert "surfaces:" in out and "optimizers:" in out
    for key in list_surfaces():
        assert f"  {key} " in out
    assert "torch.optim.Adam" in out and "optviz (Newton)" in out
    try:
        from optviz.presets import list_presets
    except ImportError:
        return
    assert "presets:" in out
    assert all(f"  {key}" in out for key in list_presets())


def test_run_writes_csv_and_json(scene_file, tmp_path, capsys):
    out = tmp_path / "race.csv"
    assert main(["run", str(scene_file), "--out", str(out)]) == 0
    rows = list(csv.DictReader(out.open()))
    assert len(rows) == len(DEFAULT_SCENARIO.runs) * 31
    assert "wrote" in capsys.readouterr().err
    out = tmp_path / "race.json"
    assert main(["run", str(scene_file), "--out", str(out), "--steps", "10", "--seed", "3"]) == 0
    doc = json.loads(out.read_text())
    assert doc["steps"] == 10 and doc["seed"] == 3


def test_run_without_out_prints_a_table(scene_file, capsys):
    assert main(["run", str(scene_file)]) == 0
    out = capsys.readouterr().out
    assert out.startswith("Rosenbrock: 4 run(s), 1 start(s), 30 steps")
    assert "Adam (lr=0.05)" in out and "final loss" in out


def test_run_gif_shows_progress(scene_file, tmp_path, capsys):
    out = tmp_path / "race.gif"
    assert main(["run", str(scene_file), "--out", str(out), "--steps", "8"]) == 0
    assert Image.open(out).n_frames == 9
    err = capsys.readouterr().err
    assert "rendering GIF: 0%" in err and "rendering GIF: 100%" in err


def test_run_preset(tmp_path):
    presets = pytest.importorskip("optviz.presets")
    key = presets.list_presets()[0]
    out = tmp_path / "preset.json"
    assert main(["run", "--preset", key, "--steps", "5", "--out", str(out)]) == 0
    doc = json.loads(out.read_text())
    scene = presets.get_preset(key).scenario
    assert doc["scene"]["surface"] == scene.surface and doc["steps"] == 5


def test_code_prints_a_script(scene_file, tmp_path, capsys):
    assert main(["code", str(scene_file), "--run", "4"]) == 0
    script = capsys.readouterr().out
    compile(script, "script.py", "exec")
    assert "torch.optim.Adam(" in script and "lr=0.05," in script and "STEPS = 30" in script
    out = tmp_path / "run.py"
    assert main(["code", str(scene_file), "--run", "1", "--start", "1", "-o", str(out)]) == 0
    assert "torch.optim.SGD" in out.read_text()


def test_warnings_from_the_scene_file(tmp_path, capsys):
    doc = json.loads(DEFAULT_SCENARIO.to_json())
    doc["steps"] = 0
    doc["colour"] = "red"
    path = tmp_path / "odd.json"
    path.write_text(json.dumps(doc))
    assert main(["code", str(path), "--run", "1"]) == 0
    err = capsys.readouterr().err.splitlines()
    assert any(line.startswith("optviz: warning: ") and "steps" in line for line in err)
    assert any("'colour': unknown key" in line for line in err)


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["run", "{missing}"], "no such file"),
        (["run", "{dir}"], "is a directory"),
        (["run", "{bad_json}"], "not a valid JSON document"),
        (["run", "{binary}"], "not UTF-8"),
        (["run", "{scene}", "--out", "race.bmp"], "unknown extension"),
        (["run", "{scene}", "--steps", "0"], "steps: 0 is outside"),
        (["run", "{scene}", "--steps", "many"], "invalid int value"),
        (["run", "--preset", "no_such_preset"], "no_such_preset"),
        (["run", "{scene}", "--preset", "x"], "exactly one"),
        (["run"], "exactly one"),
        (["code", "{scene}", "--run", "9"], "--run 9: the scene has 4 run(s)"),
        (["code", "{scene}", "--run", "0"], "--run 0"),
        (["code", "{scene}", "--run", "1", "--start", "2"], "--start 2"),
        (["code", "{scene}"], "required: --run"),
        (["fly"], "invalid choice"),
        ([], "required"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(argv, expected, scene_file, tmp_path, capsys):
    (tmp_path / "bad.json").write_text('{"optviz": 1, "steps": ')
    (tmp_path / "bin.json").write_bytes(b"\xff\xfe\x00garbage")
    names = {"missing": str(tmp_path / "nope.json"), "dir": str(tmp_path),
             "bad_json": str(tmp_path / "bad.json"), "binary": str(tmp_path / "bin.json"),
             "scene": str(scene_file)}
    argv = [a.format(**names) for a in argv]
    if "race.bmp" in argv:
        argv[argv.index("race.bmp")] = str(tmp_path / "race.bmp")
    assert main(argv) == 2
    assert expected in _error_line(capsys)


def test_unwritable_output_is_an_error(scene_file, tmp_path, capsys):
    assert main(["run", str(scene_file), "--out", str(tmp_path / "no" / "dir.csv")]) == 2
    assert "cannot write" in _error_line(capsys)


def test_progress_bar_on_a_terminal():
    class Tty(io.StringIO):
        def isatty(self) -> bool:
            return True

    stream = Tty()
    update = progress_bar(stream, "rendering", width=10)
    for f in (0.0, 0.5, 0.5, 1.0):
        update(f)
    text = stream.getvalue()
    assert text.count("\r") == 3  # the repeated 50 % is not redrawn
    assert "\rrendering [#####     ]  50%" in text and text.endswith("[##########] 100%\n")


def test_module_entry_point(scene_file, tmp_path):
    """The real ``python -m optviz``: a scene to offline HTML; a bad command exits with 2."""
    out = tmp_path / "race.html"
    ok = subprocess.run([sys.executable, "-m", "optviz", "run", str(scene_file), "--out",
                         str(out)], cwd=ROOT, capture_output=True, text=True, timeout=300,
                        check=False)
    assert ok.returncode == 0, ok.stderr
    assert out.read_text(encoding="utf-8").lower().startswith("<!doctype html>")
    bad = subprocess.run([sys.executable, "-m", "optviz", "fly"], cwd=ROOT,
                         capture_output=True, text=True, timeout=300, check=False)
    assert bad.returncode == 2
    (line,) = bad.stderr.strip().splitlines()
    assert line.startswith("optviz: error: ") and "invalid choice: 'fly'" in line


def test_scene_file_with_a_byte_order_mark_or_huge_numbers(tmp_path, capsys):
    """One reader for the app's upload and the CLI: a UTF-8 BOM is accepted; a 400-digit
    number falls back with a warning naming its field; never a traceback."""
    bom = tmp_path / "bom.json"
    bom.write_bytes(b"\xef\xbb\xbf" + DEFAULT_SCENARIO.to_json().encode())
    assert main(["code", str(bom), "--run", "1"]) == 0
    assert capsys.readouterr().err == ""
    huge = tmp_path / "huge.json"
    huge.write_text('{"noise": 1' + "0" * 400 + ', "starts": [[1' + "0" * 400 + ', 0]]}')
    assert main(["code", str(huge), "--run", "1"]) == 0
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 2 and all(line.startswith("optviz: warning: ") for line in err)
    assert any("noise" in line for line in err) and any("start 1" in line for line in err)
    deep = tmp_path / "deep.json"
    deep.write_text("[" * 50_000)
    assert main(["code", str(deep), "--run", "1"]) == 2
    assert "not a valid JSON document" in _error_line(capsys)


def test_summary_says_undefined_start_and_left_window(tmp_path, capsys):
    from optviz.scene import from_query

    for formula, note in (("log(x) + y**2", "f is not defined at the start (-1.5, 1.5)"),
                          ("x**2 - y**2", "left the window at step 29")):
        scene, _ = from_query({"surface": "custom", "formula": formula, "steps": "60"})
        path = tmp_path / "scene.json"
        path.write_text(scene.to_json(), encoding="utf-8")
        assert main(["run", str(path)]) == 0
        out = capsys.readouterr().out
        assert note in out, out
        assert "diverged at step 0" not in out


def test_run_uses_the_extras_and_the_summary_names_the_schedule(tmp_path, capsys):
    from optviz.scene import RunConfig

    runs = (RunConfig.make("adam", {"lr": 0.05}),
            RunConfig.make("adam", {"lr": 0.05}, slot=1, steps=30, extras={
                "schedule": {"name": "CosineAnnealingLR", "T_max": 20}, "clip_norm": 1.0}))
    path = tmp_path / "scene.json"
    path.write_text(replace(DEFAULT_SCENARIO, runs=runs, steps=30).validated().to_json(),
                    encoding="utf-8")
    out_csv = tmp_path / "out.csv"
    assert main(["run", str(path)]) == 0
    out = capsys.readouterr().out
    assert "run 2: schedule CosineAnnealingLR(T_max=20), clip_grad_norm_ 1" in out
    assert "Adam (lr=0.05, cosine, clip ‖g‖≤1)" in out
    assert main(["run", str(path), "--out", str(out_csv)]) == 0
    rows = list(csv.DictReader(out_csv.open()))
    norms = {run: max(math.hypot(float(r["grad_x"]), float(r["grad_y"])) for r in rows
                      if r["run"] == run) for run in ("1", "2")}
    assert norms["1"] > 100 and norms["2"] <= 1.0  # run 2's gradients were clipped to norm 1


class _ClosedPipe(io.StringIO):
    def write(self, text: str) -> int:
        raise BrokenPipeError(32, "Broken pipe")


def test_a_closed_pipe_ends_quietly(monkeypatch, capsys) -> None:
    # `python -m optviz list | head -3`: no BrokenPipeError traceback, the SIGPIPE-like status
    monkeypatch.setattr(sys, "stdout", _ClosedPipe())
    assert main(["list"]) == 141
    assert capsys.readouterr().err == ""


# ---------------------------------------------------------------------------- sweep


def test_sweep_writes_one_csv_row_per_setting_and_start(tmp_path, capsys):
    out = tmp_path / "sweep.csv"
    assert main(["sweep", "--surface", "rosenbrock", "--optimizer", "adam", "--optimizer",
                 "sgd", "--grid", "lr=1e-3:1e-1:3", "--start=-1.5,2", "--start", "1,-0.5",
                 "--steps", "20", "--out", str(out)]) == 0
    rows = list(csv.DictReader(out.open()))
    assert len(rows) == 2 * 3 * 2
    assert {r["optimizer"] for r in rows} == {"adam", "sgd"}
    assert sorted({float(r["lr"]) for r in rows}) == pytest.approx([1e-3, 1e-2, 1e-1])
    assert set(rows[0]) >= {"final_loss", "mean_loss", "steps_to_tol", "distance_to_minimum",
                            "minimum_index", "diverged_at", "start_x", "start_y"}
    # a cell equals simulate of that setting and start
    from optviz import simulate

    r = next(r for r in rows if r["optimizer"] == "adam" and float(r["start_x"]) == 1.0
             and math.isclose(float(r["lr"]), 1e-2))
    t = simulate("rosenbrock", [("adam", {"lr": 1e-2})], [(1.0, -0.5)], 20)
    assert float(r["final_loss"]) == pytest.approx(float(t.loss[0, 0, -1]), rel=1e-12)
    assert "wrote" in capsys.readouterr().err


def test_sweep_of_a_scene_keeps_the_runs_with_the_grid_and_draws_png(scene_file, tmp_path):
    out, png = tmp_path / "s.csv", tmp_path / "s.png"
    assert main(["sweep", str(scene_file), "--grid", "lr=1e-3:1e-1:3",
                 "--grid", "momentum=0:0.9:2", "--out", str(out), "--png", str(png)]) == 0
    rows = list(csv.DictReader(out.open()))
    # the runs with a momentum (Adam has none)
    assert {r["run"] for r in rows} == {"SGD (lr=0.001)", "Momentum (lr=0.001)",
                                        "RMSprop (lr=0.01)"}
    assert len(rows) == 3 * 3 * 2
    with Image.open(png) as img:
        assert img.format == "PNG" and img.width > 300
    one = tmp_path / "one.png"
    assert main(["sweep", str(scene_file), "--run", "4", "--grid", "lr=1e-3:1:4",
                 "--out", str(out), "--png", str(one), "--metric", "steps_to_tol"]) == 0
    assert one.stat().st_size > 1000


def test_sweep_to_stdout(capsys):
    assert main(["sweep", "--surface", "booth", "--optimizer", "sgd", "--grid",
                 "lr=0.01,0.1", "--steps", "5"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert lines[0].startswith("run,optimizer,lr,") and len(lines) >= 3


@pytest.mark.parametrize(("argv", "needle"), [
    (["sweep"], "give a scene file, --preset NAME, or --surface and --optimizer"),
    (["sweep", "--surface", "nope", "--optimizer", "sgd"], "--surface nope"),
    (["sweep", "--surface", "beale", "--optimizer", "nope"], "--optimizer nope"),
    (["sweep", "--surface", "beale", "--optimizer", "sgd", "--grid", "lr=0:1:3"], "log grid"),
    (["sweep", "--surface", "beale", "--optimizer", "sgd", "--grid", "lr"], "--grid lr"),
    (["sweep", "--surface", "beale", "--optimizer", "sgd", "--grid", "zz=1,2"], "zz"),
    (["sweep", "--surface", "beale", "--optimizer", "sgd", "--metric", "x"], "--metric x"),
    (["sweep", "--surface", "beale", "--optimizer", "sgd", "--start", "1"], "--start 1"),
    (["sweep", "--surface", "beale", "--optimizer", "sgd", "--grid", "lr=1,2", "--grid",
      "momentum=0,0.5", "--grid", "dampening=0,1", "--png", "/tmp/never-written.png",
      "--steps", "2", "--out", "/dev/null"], "1-D or 2-D"),
])
def test_sweep_bad_input_is_one_line(argv, needle, capsys):
    assert main(argv) == 2
    line = _error_line(capsys)
    assert needle in line, line
