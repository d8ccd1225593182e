"""The installable library: a built wheel works from anywhere, ``import optviz`` is light, and the
declared dependencies cover what the code imports.

The wheel is built offline with the project's build backend (hatchling, in
requirements-dev.txt) and installed with ``--no-deps --target`` into a temporary folder, so the
test touches no index and leaves the environment alone; the installed copy is then imported from
another working directory, with that folder first on the path.
"""

from __future__ import annotations

import ast
import doctest
import gzip
import json
import os
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
HEAVY = ("torch", "streamlit", "plotly", "sympy", "pandas")

#: import name -> distribution name, where they differ
DISTRIBUTION = {"PIL": "pillow", "imageio_ffmpeg": "imageio-ffmpeg"}


def _python(code: str, cwd: Path, path: Path | None = None) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    if path is not None:
        env["PYTHONPATH"] = str(path)
    return subprocess.run([sys.executable, "-c", code], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=120, check=False)


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A wheel of this checkout, installed (no dependencies) into a fresh folder."""
    pytest.importorskip("hatchling", reason="the build backend (requirements-dev.txt)")
    tmp = tmp_path_factory.mktemp("wheel")
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check", "--no-input"]
    subprocess.run([*pip, "wheel", "--no-deps", "--no-build-isolation", "--no-index", "-q",
                    "-w", str(tmp / "dist"), str(ROOT)], check=True, timeout=120)
    wheels = list((tmp / "dist").glob("optviz-*.whl"))
    assert len(wheels) == 1, wheels
    target = tmp / "site"
    subprocess.run([*pip, "install", "--no-deps", "--no-index", "-q", "--target", str(target),
                    str(wheels[0])], check=True, timeout=120)
    return target


def test_installed_wheel_finds_its_surfaces_and_presets_from_any_directory(
    installed: Path, tmp_path: Path
) -> None:
    code = """if True:
        import json, optviz, optviz.presets as presets, optviz.surfaces as surfaces
        from optviz._data import data_dir
        beale = optviz.get_surface("beale")
        import torch
        at_min = float(beale.f(torch.tensor([[3.0, 0.5]], dtype=torch.float64))[0])
        scene = presets.get_preset("sgd_vs_momentum").scenario
        print(json.dumps({
            "module": optviz.__file__, "surfaces_dir": str(data_dir("surfaces")),
            "presets_dir": str(data_dir("presets")), "surfaces": optviz.list_surfaces(),
            "presets": presets.list_presets(), "beale_min": at_min, "domain": beale.domain,
            "scene_surface": scene.surface, "scene_runs": [r.variant for r in scene.runs],
        }))
    """
    done = _python(code, cwd=tmp_path, path=installed)
    assert done.returncode == 0, done.stderr
    got = json.loads(done.stdout)
    # the installed copy, not the checkout, and its data inside the package
    assert Path(got["module"]).is_relative_to(installed)
    assert Path(got["surfaces_dir"]) == installed / "optviz" / "data" / "surfaces"
    assert Path(got["presets_dir"]) == installed / "optviz" / "data" / "presets"
    assert sorted(got["surfaces"]) == sorted(p.stem for p in (ROOT / "surfaces").glob("*.toml"))
    assert got["surfaces"][0] == "rosenbrock" and len(got["surfaces"]) >= 14
    assert sorted(got["presets"]) == sorted(p.stem for p in (ROOT / "presets").glob("*.toml"))
    assert got["beale_min"] == 0.0 and got["domain"] == [[-4.5, 4.5], [-4.5, 4.5]]
    assert got["scene_surface"] == "rosenbrock" and got["scene_runs"] == ["sgd", "momentum"]


def test_installed_wheel_declares_the_race_player_to_streamlit(
    installed: Path, tmp_path: Path
) -> None:
    """Streamlit's own manifest scanner finds the player's asset directory in the installed
    package, with the player's files in it; plotly.js is copied there on demand."""
    code = """if True:
        import json
        from streamlit.components.v2.manifest_scanner import scan_component_manifests
        import optviz.web.vendor as vendor
        found = [(m.name, [(c.name, c.asset_dir) for c in m.components], str(root))
                 for m, root in scan_component_manifests(max_workers=1) if m.name == "optviz"]
        print(json.dumps({"found": found, "plotly": str(vendor.ensure_plotly_js())}))
    """
    done = _python(code, cwd=tmp_path, path=installed)
    assert done.returncode == 0, done.stderr
    got = json.loads(done.stdout)
    # the checkout may be installed too (editable, by `make`): its distribution then resolves
    # to the same importable package, the wheel's, and is listed twice
    ((_name, components, root),) = {json.dumps(f): f for f in got["found"]}.values()
    assert components == [["player", "web"]]
    web = Path(root) / "web"
    assert web == installed / "optviz" / "web"
    for asset in ("component.js", "player.js", "player.css"):
        assert (web / asset).read_text() == (ROOT / "optviz" / "web" / asset).read_text()
    assert Path(got["plotly"]) == web / "vendor" / "plotly.min.js"
    plain = (web / "vendor" / "plotly.min.js").read_bytes()
    assert len(plain) > 3_000_000
    # the pre-compressed copy the page loads (Streamlit sends a .gz as it is)
    assert gzip.decompress((web / "vendor" / "plotly.min.js.gz").read_bytes()) == plain


def test_console_script_does_what_python_m_optviz_does(installed: Path, tmp_path: Path) -> None:
    env = {**os.environ, "PYTHONPATH": str(installed)}
    script = installed / "bin" / "optviz"
    assert script.is_file()
    by_script = subprocess.run([str(script), "list"], cwd=tmp_path, env=env,
                               capture_output=True, text=True, timeout=120, check=False)
    by_module = subprocess.run([sys.executable, "-m", "optviz", "list"], cwd=tmp_path, env=env,
                               capture_output=True, text=True, timeout=120, check=False)
    assert by_script.returncode == 0 == by_module.returncode, by_script.stderr
    assert by_script.stdout == by_module.stdout
    lines = by_script.stdout.splitlines()
    assert {"surfaces:", "optimizers:", "presets:"} <= set(lines)
    assert "  rosenbrock           Rosenbrock" in lines
    assert any(line.split()[:1] == ["adam"] and "torch.optim.Adam" in line for line in lines)
    bad = subprocess.run([str(script), "frobnicate"], cwd=tmp_path, env=env,
                         capture_output=True, text=True, timeout=120, check=False)
    assert bad.returncode == 2 and bad.stderr.startswith("optviz: error:")


# ----------------------------------------------------------------------------- import cost


def _loaded_after(code: str) -> list[str]:
    """The heavy modules present in ``sys.modules`` after running ``code`` in a fresh process."""
    report = f"[m for m in {HEAVY!r} if m in sys.modules]"
    probe = f"{code}\nimport sys, json\nprint(json.dumps({report}))"
    done = _python(probe, cwd=ROOT)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.splitlines()[-1])


def test_import_optviz_and_the_catalogues_load_nothing_heavy() -> None:
    code = """if True:
        import optviz, optviz.cli
        from optviz.presets import list_presets, preset_titles
        from optviz.surfaces import catalogue, list_surfaces
        assert len(catalogue()) == len(list_surfaces()) >= 14
        assert list(preset_titles()) == list_presets() and len(list_presets()) == 9
    """
    assert _loaded_after(code) == []


def test_optviz_list_loads_nothing_heavy() -> None:
    code = """if True:
        import contextlib, io
        from optviz.cli import main
        with contextlib.redirect_stdout(io.StringIO()) as out:
            assert main(["list"]) == 0
        assert "torch.optim.Adam" in out.getvalue()
    """
    assert _loaded_after(code) == []


# ----------------------------------------------------------------------------- dependencies


def _third_party_imports() -> set[str]:
    """Top-level names of every module imported under optviz/ and by app.py, less stdlib."""
    names: set[str] = set()
    for path in [ROOT / "app.py", *sorted((ROOT / "optviz").rglob("*.py"))]:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                names.update(alias.name.split(".")[0] for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names.add(node.module.split(".")[0])
    return {n for n in names if n not in sys.stdlib_module_names and n != "optviz"}


def _requirements(path: Path) -> dict[str, str]:
    """name -> specifier of a requirements file (comments dropped)."""
    out = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        line = line.split("#")[0].strip()
        if line:
            name = line.split(";")[0]
            cut = min((name.index(c) for c in "<>=!~ " if c in name), default=len(name))
            out[name[:cut].lower()] = name[cut:].strip()
    return out


def test_declared_dependencies_cover_every_import_and_agree_with_requirements() -> None:
    Requirement = pytest.importorskip("packaging.requirements").Requirement

    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    declared = {Requirement(r).name.lower(): Requirement(r).specifier
                for r in project["dependencies"]}
    imported = {DISTRIBUTION.get(n, n).lower() for n in _third_party_imports()}
    assert imported == set(declared), (imported, set(declared))
    pinned = _requirements(ROOT / "requirements.txt")
    assert set(pinned) == set(declared)
    assert pinned["torch"].startswith("==")  # the CPU build on disk; never a CUDA download
    assert declared["torch"].contains(pinned["torch"].removeprefix("=="))
    for name, spec in pinned.items():  # the same ranges in both files
        if name != "torch":
            assert str(declared[name]) == str(Requirement(f"{name}{spec}").specifier), name
    assert project["scripts"] == {"optviz": "optviz.cli:main"}


# ----------------------------------------------------------------------------- README


def _readme_examples() -> list[tuple[int, str]]:
    """(line, text) of every ```pycon block of the README."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    return [(text[: m.start()].count("\n") + 2, m.group(1))
            for m in re.finditer(r"^```pycon\n(.*?)^```", text, flags=re.S | re.M)]


def test_readme_python_example_runs_as_a_doctest() -> None:
    examples = _readme_examples()
    assert examples, "the README has no ```pycon example"
    parser = doctest.DocTestParser()
    runner = doctest.DocTestRunner(optionflags=doctest.NORMALIZE_WHITESPACE)
    for line, text in examples:
        test = parser.get_doctest(text, {}, f"README.md:{line}", str(ROOT / "README.md"), line)
        assert test.examples
        runner.run(test)
    result = runner.summarize(verbose=False)
    assert result.failed == 0 and result.attempted >= 8, result
