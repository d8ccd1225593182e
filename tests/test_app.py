"""The Streamlit app, driven headless with ``streamlit.testing.v1.AppTest``.

The race player arrives as a ``bidi_component`` element whose ``proto.bytes`` hold the payload
exactly as Streamlit sends it to the browser (its landscape ``base`` only the first time a
session sees that layout: :func:`race` fills it in from the bases seen before, as the page
does). Other Plotly charts are elements whose ``proto.spec`` is the figure JSON.
``st.cache_data`` and ``st.cache_resource`` live as long as the process: this module starts
from empty caches, and a test that counts computations empties them itself.
"""

from __future__ import annotations

import io
import json
import math
import re
from pathlib import Path
from typing import Any

import pytest
from PIL import Image
from streamlit.testing.v1 import AppTest

from optviz.scene import DEFAULT_SCENARIO, MAX_QUERY_CHARS, Problem, Scenario
from optviz.ui import cache
from optviz.ui.model import (
    Model,
    Problems,
    check,
    default_model,
    log_options,
    torch_call,
)
from optviz.ui.player import decode

APP = str(Path(__file__).resolve().parents[1] / "app.py")
TIMEOUT = 120
MAX_DEFAULT_PAYLOAD = 500_000  # bytes of figure JSON for the default scene (issue 3)
MAX_BIG_PAYLOAD = 2_000_000  # 8 runs x 5,000 steps


@pytest.fixture(autouse=True, scope="module")
def _fresh_caches() -> None:
    cache.clear()


def run_app(query: dict[str, Any] | None = None) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    for k, v in (query or {}).items():
        at.query_params[k] = v
    return at.run()


def charts(at: AppTest) -> list[dict]:
    return [json.loads(el.proto.spec) for el in at.get("plotly_chart")]


_BASES: dict[str, dict] = {}  # base_token -> base, as the page keeps them


def players(at: AppTest) -> list[Any]:
    return [el for el in at.get("bidi_component")
            if el.proto.component_name == "optviz.player" and el.proto.bytes]


def sent(el: Any) -> dict:
    """The payload a player element carries (JSON bytes, ``optviz.ui.player.encode``)."""
    return decode(el.proto.bytes)


def race(at: AppTest) -> dict:
    """The race player's payload, with its landscape ``base`` filled in."""
    found = players(at)
    assert len(found) == 1, "expected exactly one race player"
    payload = sent(found[0])
    if payload["base"] is not None:
        _BASES[payload["base_token"]] = payload["base"]
    elif payload["base_token"] not in _BASES:  # sent by a run nobody looked at: send it again
        at.session_state["optviz.sent_bases"] = set()
        at.run()
        return race(at)
    else:
        payload["base"] = _BASES[payload["base_token"]]
    return payload


def race_bytes(at: AppTest) -> int:
    """Bytes of the race player's data as sent."""
    return max(len(el.proto.bytes) for el in players(at))


def layout(payload: dict) -> dict:
    return payload["base"]["layout"]


def legend(payload: dict) -> list[str]:
    """The legend entries of the runs, in order."""
    return [t["legend"] for t in payload["tracks"] if t["show_legend"]]


def paths(payload: dict) -> list[str]:
    """Every track's positions as sent (base64)."""
    return [t["xy"]["b64"] for t in payload["tracks"]]


def plain(md: str) -> str:
    """What a reader sees of Markdown whose punctuation is backslash-escaped."""
    return re.sub(r"\\([!-/:-@\[-`{-~])", r"\1", md)


def errors(at: AppTest) -> list[str]:
    return [plain(e.value) for e in at.error]


def texts(at: AppTest) -> str:
    """Markdown and plain-text elements (divergence notes are plain text)."""
    return "\n".join([*(m.value for m in at.markdown), *(t.value for t in at.text)])


def warnings(at: AppTest) -> list[str]:
    """The messages of the notices about a link or a file (plain text under the headline)."""
    return [line.removeprefix("• ") for t in at.text for line in t.value.splitlines()
            if line.startswith("• ")]


def query(at: AppTest) -> dict[str, str]:
    return {k: at.query_params[k] for k in at.query_params}


def ok(at: AppTest) -> None:
    assert not at.exception, [e.value for e in at.exception]


# --------------------------------------------------------------------------------------------
# the default page


def test_default_page_renders_the_race_player() -> None:
    at = run_app()
    ok(at)
    assert not errors(at)
    payload = race(at)
    # every step of every path, the complete outcome shown at once (Play replays it)
    assert payload["steps"] == DEFAULT_SCENARIO.steps
    assert payload["initial_step"] == "end"
    assert all(t["steps"] == DEFAULT_SCENARIO.steps for t in payload["tracks"])
    assert legend(payload) == ["SGD (lr=0.001)", "Momentum (lr=0.001)", "RMSprop (lr=0.01)",
                               "Adam (lr=0.05)"]
    # axes fixed to the surface's domain, landscape as a picture, minima as a star
    lay = layout(payload)
    assert lay["xaxis"]["range"] == [-2, 2]
    assert lay["xaxis"]["autorange"] is False
    assert lay["images"][0]["source"].startswith("data:image/png;base64,")
    assert any(t.get("marker", {}).get("symbol") == "star" for t in payload["base"]["data"])
    assert "frames" not in payload["base"] and "updatemenus" not in lay
    assert payload["token"] and payload["base_token"]


def test_the_landscape_is_sent_once_per_session_and_layout() -> None:
    at = run_app()
    first = sent(players(at)[0])
    assert first["base"] is not None
    at.sidebar.select_slider(key="g0.e3.adam.lr").set_value(0.1).run()
    ok(at)
    second = sent(players(at)[0])
    assert second["base"] is None and second["base_token"] == first["base_token"]
    assert second["token"] != first["token"]
    at.sidebar.selectbox(key="g0.surface").set_value("beale").run()
    third = sent(players(at)[0])
    assert third["base"] is not None and third["base_token"] != first["base_token"]


def test_default_payload_is_under_target() -> None:
    at = run_app()
    ok(at)
    assert race_bytes(at) <= MAX_DEFAULT_PAYLOAD


def test_loss_chart_and_results_table() -> None:
    at = run_app()
    payload = race(at)
    assert payload["loss_layout"]["yaxis"]["type"] == "log"
    assert {t["run_color"] for t in payload["tracks"]} == {r.color for r in DEFAULT_SCENARIO.runs}
    df = at.dataframe[0].value
    assert list(df["run"]) == [r.display_label() for r in DEFAULT_SCENARIO.runs]
    assert {"final loss", "distance to min", "reached at step", "diverged"} <= set(df.columns)
    assert set(df["diverged"]) == {"no"}


def test_update_rules_show_latex_class_and_reference() -> None:
    at = run_app()
    code = "\n".join(c.value for c in at.code)
    assert "torch.optim.Adam(params, lr=0.05" in code
    assert "torch.optim.SGD(params, lr=0.001, momentum=0.9" in code
    assert len(at.main.get("latex")) >= 3  # SGD (twice used), RMSprop, Adam
    assert any("Kingma" in c.value for c in at.caption)


def test_url_holds_the_scene() -> None:
    at = run_app()
    assert query(at) == DEFAULT_SCENARIO.to_query()


# --------------------------------------------------------------------------------------------
# editing the scene


def test_changing_surface_changes_the_figure() -> None:
    at = run_app()
    before = race(at)
    at.sidebar.selectbox(key="g0.surface").set_value("himmelblau").run()
    ok(at)
    after = race(at)
    assert layout(after)["title"]["text"] == "<b>Himmelblau</b>"
    assert layout(after)["xaxis"]["range"] == [-5, 5]
    assert layout(after)["images"][0]["source"] != layout(before)["images"][0]["source"]
    assert query(at)["surface"] == "himmelblau"


def test_adding_an_optimizer_changes_the_figure() -> None:
    at = run_app()
    at.sidebar.selectbox(key="g0.add").set_value("adamw").run()
    ok(at)
    names = legend(race(at))
    assert len(names) == 5 and names[-1].startswith("AdamW")


def test_duplicate_then_change_lr_compares_two_settings() -> None:
    at = run_app()
    at.sidebar.button(key="g0.e3.dup").click().run()  # Adam -> a second Adam after it
    ok(at)
    assert legend(race(at)) == ["SGD (lr=0.001)", "Momentum (lr=0.001)", "RMSprop (lr=0.01)",
                                "Adam (lr=0.05)", "Adam (lr=0.05)"]
    at.sidebar.select_slider(key="g0.e4.adam.lr").set_value(0.2).run()
    ok(at)
    assert legend(race(at))[-2:] == ["Adam (lr=0.05)", "Adam (lr=0.2)"]
    at.sidebar.button(key="g0.e0.remove").click().run()
    ok(at)
    assert legend(race(at))[0] == "Momentum (lr=0.001)"


def test_changing_a_hyperparameter_changes_the_figure() -> None:
    at = run_app()
    before = race(at)
    at.sidebar.select_slider(key="g0.e3.adam.lr").set_value(0.1).run()
    ok(at)
    after = race(at)
    assert "Adam (lr=0.1)" in legend(after)
    assert paths(after)[3] != paths(before)[3] and paths(after)[:3] == paths(before)[:3]


def test_switching_optimizer_takes_its_defaults() -> None:
    at = run_app()
    at.sidebar.selectbox(key="g0.e0.variant").set_value("nesterov").run()
    ok(at)
    assert legend(race(at))[0] == "Nesterov (lr=0.001)"
    assert at.sidebar.checkbox(key="g0.e0.nesterov.nesterov").value is True
    # the PyTorch-code picker names the run as it is now, not as it was
    assert at.selectbox(key="optviz.code_run_label").value == "1. Nesterov (lr=0.001)"
    at.sidebar.selectbox(key="g0.e0.variant").set_value("adagrad").run()
    assert at.selectbox(key="optviz.code_run_label").value == "1. AdaGrad (lr=0.5)"


def test_invalid_value_shows_an_error_and_keeps_the_last_good_figure() -> None:
    at = run_app()
    before = race(at)
    at.sidebar.number_input(key="g0.e1.momentum.momentum").set_value(1.5).run()
    ok(at)
    msgs = errors(at)
    assert any("momentum" in m and "1.5" in m and "[0, 0.9999]" in m for m in msgs), msgs
    assert race(at) == before  # the last good figure stays
    assert query(at)["run"] == DEFAULT_SCENARIO.to_query()["run"]
    # fixing it brings the page back to life
    at.sidebar.number_input(key="g0.e1.momentum.momentum").set_value(0.5).run()
    ok(at)
    assert not errors(at)
    assert race(at) != before


@pytest.mark.parametrize(
    ("key", "value", "needle"),
    [
        ("g0.steps", 6000, "steps: 6000 is outside [1, 5000]"),
        ("g0.steps", 0, "steps: 0 is outside"),
        ("g0.seed", -1, "seed: -1 is outside"),
        ("g0.noise", -0.5, "noise: -0.5 is outside"),
        ("g0.start.x", 7.0, "outside the plot window"),
        ("g0.e3.adam.betas.1", 1.5, "betas"),
    ],
)
def test_bad_inputs_show_errors_never_exceptions(key: str, value: Any, needle: str) -> None:
    at = run_app()
    before = race(at)
    at.sidebar.number_input(key=key).set_value(value).run()
    ok(at)
    assert any(needle in m for m in errors(at)), errors(at)
    assert race(at) == before


def test_nesterov_without_momentum_is_refused_in_words() -> None:
    at = run_app()
    at.sidebar.selectbox(key="g0.e0.variant").set_value("nesterov").run()
    at.sidebar.number_input(key="g0.e0.nesterov.momentum").set_value(0.0).run()
    ok(at)
    assert any("run 1" in m.lower() or "nesterov" in m.lower() for m in errors(at)), errors(at)


def test_diverging_run_shows_its_note() -> None:
    at = run_app()
    at.sidebar.select_slider(key="g0.e0.sgd.lr").set_value(0.01).run()
    ok(at)
    assert not errors(at)  # a divergence is a finding, not an error
    assert "SGD (lr=0.01) diverged at step" in texts(at)
    payload = race(at)
    assert any("diverged at step" in n for n in payload["notes"])
    assert layout(payload)["xaxis"]["range"] == [-2, 2]  # the view never follows it away
    assert 0 < payload["tracks"][0]["diverged_at"] <= DEFAULT_SCENARIO.steps
    df = at.dataframe[0].value
    assert df["diverged"][0].startswith("at step")


def test_colour_change_does_not_resimulate() -> None:
    cache.clear()
    at = run_app()
    sims = cache.CALLS["simulate"]
    before = race(at)
    at.sidebar.color_picker(key="g0.e0.color").set_value("#00ff00").run()
    ok(at)
    after = race(at)
    assert cache.CALLS["simulate"] == sims
    assert cache.CALLS["race_payload"] == 2
    assert json.dumps(after).count("#00ff00") > json.dumps(before).count("#00ff00")
    assert query(at)["color1"] == "00ff00"
    # and a label change neither
    at.sidebar.text_input(key="g0.e0.label").input("slow").run()
    ok(at)
    assert "slow" in legend(race(at))
    assert cache.CALLS["simulate"] == sims


def test_classroom_mode_enlarges_and_hides_details() -> None:
    at = run_app()
    normal = race(at)
    at.sidebar.toggle(key="optviz.classroom").set_value(True).run()
    ok(at)
    big = race(at)
    assert big["classroom"] and not normal["classroom"]
    assert big["style"]["head_size"] > normal["style"]["head_size"]
    assert big["style"]["line_width"] > normal["style"]["line_width"]
    # every text of the race at least 18 px on a projector
    lay = layout(big)
    sizes = [lay["title"]["font"]["size"], lay["font"]["size"], lay["legend"]["font"]["size"],
             lay["xaxis"]["tickfont"]["size"], lay["yaxis"]["tickfont"]["size"],
             lay["hoverlabel"]["font"]["size"], big["loss_layout"]["xaxis"]["tickfont"]["size"]]
    assert min(sizes) >= 18, sizes
    assert layout(big)["title"]["font"]["size"] > layout(normal)["title"]["font"]["size"]
    keys = {w.key for w in at.sidebar.number_input}
    assert "g0.seed" not in keys and "g0.e1.momentum.momentum" not in keys
    assert query(at)["classroom"] == "1"
    at.sidebar.toggle(key="optviz.classroom").set_value(False).run()
    ok(at)
    assert race(at)["style"] == normal["style"]
    assert "classroom" not in query(at)


def test_custom_formula_and_a_bad_one() -> None:
    at = run_app()
    at.sidebar.selectbox(key="g0.surface").set_value("custom").run()
    ok(at)
    assert "x**2" in query(at)["formula"]
    at.sidebar.text_input(key="g0.formula").input("x**2 + import os").run()
    ok(at)
    assert any(m.startswith("formula") for m in errors(at)), errors(at)


def test_eight_runs_of_5000_steps_stay_under_2_mb() -> None:
    runs = "sgd;momentum;nesterov;rmsprop;adam;adamw;nadam;radam"
    at = run_app({"run": runs, "steps": "5000"})
    ok(at)
    payload = race(at)
    assert len(legend(payload)) == 8
    assert all(t["steps"] == 5000 for t in payload["tracks"])  # every step, no sampling
    assert race_bytes(at) <= MAX_BIG_PAYLOAD


# --------------------------------------------------------------------------------------------
# shared links


def test_query_restores_the_scene() -> None:
    scene = Scenario(surface="beale", starts=((1.0, 1.0),), steps=120, seed=3,
                     runs=DEFAULT_SCENARIO.runs[2:]).validated()
    at = run_app(scene.to_query())
    ok(at)
    assert not warnings(at)
    payload = race(at)
    assert layout(payload)["title"]["text"] == "<b>Beale</b>"
    assert legend(payload) == ["RMSprop (lr=0.01)", "Adam (lr=0.05)"]
    assert at.sidebar.number_input(key="g0.steps").value == 120
    assert query(at) == scene.to_query()


BROKEN_QUERIES = [
    ({"surface": "nope"}, "surface"),
    ({"steps": "-5"}, "steps"),
    ({"steps": "99999"}, "steps"),
    ({"steps": "1e9"}, "steps"),
    ({"seed": "abc"}, "seed"),
    ({"noise": "nan"}, "noise"),
    ({"noise": "1000"}, "noise"),
    ({"start": "1e400,0"}, "start"),
    ({"start": "99,99"}, "start"),
    ({"run": "adam:lr=1e9"}, "run"),
    ({"run": "bogus"}, "run"),
    ({"run": "adam:lr=__import__('os')"}, "run"),
    ({"run": ";".join(["adam"] * 20)}, "run"),
    ({"color1": "<script>"}, "color1"),
    ({"label1": "\x00\x01"}, "label1"),
    ({"formula": "__import__('os').system('x')"}, "formula"),
    ({"surface": "custom", "formula": "x" * 5000}, "formula"),
    ({"surface": "rosenbrock", "domain": "1,2;3"}, "domain"),
    ({"steps": ["10", "20"]}, "steps"),
]


@pytest.mark.parametrize(("query", "field"), BROKEN_QUERIES,
                         ids=[f"{q}"[:40] for q, _ in BROKEN_QUERIES])
def test_broken_query_warns_and_the_page_works(query: dict[str, Any], field: str) -> None:
    at = run_app(query)
    ok(at)
    msgs = warnings(at)
    assert len(msgs) == 1 and field in msgs[0], msgs
    assert race(at)["tracks"]
    assert not errors(at)


def test_unknown_keys_are_ignored_quietly() -> None:
    at = run_app({"utm_source": "mail", "foo": "bar"})
    ok(at)
    assert not warnings(at)
    assert legend(race(at))[0] == "SGD (lr=0.001)"


def test_huge_query_is_refused_as_a_whole() -> None:
    at = run_app({"surface": "beale", "label1": "x" * 100_000})
    ok(at)
    msgs = warnings(at)
    assert len(msgs) == 1 and "too large" in msgs[0]
    assert layout(race(at))["title"]["text"] == "<b>Rosenbrock</b>"
    assert len(str(MAX_QUERY_CHARS)) > 0


# --------------------------------------------------------------------------------------------
# the pure model behind the sidebar


def test_model_round_trips_the_default_scene() -> None:
    scene, problems = check(default_model())
    assert not problems
    assert scene == DEFAULT_SCENARIO


def test_model_reports_every_bad_control() -> None:
    m = default_model()
    m.entries[1].values["momentum"] = 1.5
    m.steps = 6000
    m.seed = -1
    m.starts = [(5.0, 0.0)]
    scene, problems = check(m)
    assert scene is None
    assert set(problems.fields) == {"start", "steps", "seed"}
    assert list(problems.runs) == [1]


def test_model_edits_keep_ids_stable() -> None:
    m = Model.from_scenario(DEFAULT_SCENARIO)
    ids = [e.id for e in m.entries]
    dup = m.duplicate(ids[1])
    assert dup is not None and [e.id for e in m.entries] == [0, 1, dup.id, 2, 3]
    assert dup.values == m.entries[1].values and dup.color not in {e.color for e in m.entries
                                                                   if e is not dup}
    m.remove(0)
    assert [e.id for e in m.entries] == [1, dup.id, 2, 3]
    while m.add("adam"):
        pass
    assert len(m.entries) == 8 and m.add("adam") is None and m.duplicate(1) is None
    m.set_variant(1, "adamw")
    assert m.entry(1).values["weight_decay"] == 0.1


def test_log_options_and_error_routes() -> None:
    opts = log_options(1e-6, 10.0, 0.03)
    assert opts[0] == 1e-6 and opts[-1] == 10.0 and 0.03 in opts and 0.05 in opts
    assert opts == sorted(opts)
    problems = Problems()
    problems.add(Problem(("runs", 2, "lr"), "lr = 50 is outside"))
    problems.add(Problem(("starts", 0), "(5, 0) is outside the plot window"))
    problems.add(Problem(("formula",), "run 2 steps: text that looks like a location"))
    problems.add(Problem((), "something else"))
    assert problems.runs == {2: ["run 3: lr = 50 is outside"]}
    assert set(problems.fields) == {"start", "surface", "scene"}
    run = DEFAULT_SCENARIO.runs[1]
    assert torch_call(run).startswith("torch.optim.SGD(params, lr=0.001, momentum=0.9,")


# --------------------------------------------------------------------------------------------
# presets, exports, scene files


def test_preset_loads_its_scene_and_says_what_to_watch() -> None:
    from optviz.presets import get_preset, list_presets

    key = list_presets()[0]
    preset = get_preset(key)
    at = run_app()
    at.sidebar.selectbox(key="optviz.preset").set_value(key).run()
    ok(at)
    assert not errors(at)
    fig = race(at)
    assert legend(fig)[0].startswith(preset.scenario.runs[0].display_label())
    assert query(at) == {**preset.scenario.to_query(), "preset": key}
    assert any(preset.watch[:60] in i.value for i in at.info)
    # widgets were re-seeded from the preset (a new generation of keys)
    assert at.sidebar.number_input(key="g1.steps").value == preset.scenario.steps
    # once the scene is changed, the note no longer claims to describe it
    lr = at.sidebar.select_slider(key=f"g1.e0.{preset.scenario.runs[0].variant}.lr")
    lr.set_value(0.5).run()
    ok(at)
    assert not any(preset.watch[:60] in i.value for i in at.info)
    assert "preset" not in query(at)


def test_a_teachers_link_opens_the_lesson_in_classroom_mode() -> None:
    from optviz.presets import get_preset, list_presets

    key = list_presets()[-1]
    preset = get_preset(key)
    at = run_app()
    at.sidebar.selectbox(key="optviz.preset").set_value(key).run()
    at.sidebar.toggle(key="optviz.classroom").set_value(True).run()
    link = query(at)
    assert link["preset"] == key and link["classroom"] == "1"
    student = run_app(link)  # a new session from the copied link
    ok(student)
    assert not warnings(student)
    assert student.sidebar.toggle(key="optviz.classroom").value is True
    assert race(student)["classroom"] is True
    assert legend(race(student)) == legend(race(at))
    assert any(preset.watch[:60] in i.value for i in student.info)
    # the preset alone opens the lesson too
    short = run_app({"preset": key})
    ok(short)
    assert query(short) == {**preset.scenario.to_query(), "preset": key}
    assert any(preset.watch[:60] in i.value for i in short.info)


def test_an_unknown_preset_in_a_link_warns_and_opens_the_default() -> None:
    at = run_app({"preset": "<script>", "classroom": "maybe"})
    ok(at)
    msgs = warnings(at)
    assert len(msgs) == 1 and msgs[0].startswith("preset: unknown preset"), msgs
    assert at.sidebar.toggle(key="optviz.classroom").value is False
    assert legend(race(at))[0] == "SGD (lr=0.001)"


def test_every_preset_renders() -> None:
    from optviz.presets import list_presets

    at = run_app()
    for key in list_presets():
        at.sidebar.selectbox(key="optviz.preset").set_value(key).run()
        ok(at)
        assert not errors(at), (key, errors(at))
        assert race_bytes(at) <= MAX_DEFAULT_PAYLOAD * 2


def test_export_buttons_and_gif_on_request() -> None:
    at = run_app()
    keys = {el.proto.id for el in at.get("download_button")}
    assert len(keys) >= 6  # HTML, PNG, CSV, JSON, scene, PyTorch code
    assert "optviz.rendered" not in at.session_state  # nothing heavy made on a rerun
    at.button(key="render.gif").click().run()
    ok(at)
    assert not errors(at)
    rendered = at.session_state["optviz.rendered"]
    (data,) = rendered.values()
    assert data[:6] in (b"GIF87a", b"GIF89a")
    assert len(at.get("download_button")) == len(keys) + 1


def test_gif_width_and_duration_controls_change_the_render() -> None:
    at = run_app()
    width = at.selectbox(key="optviz.media_width")
    duration = at.number_input(key="optviz.media_duration")
    assert list(width.options) == ["640 px", "1280 px"] and width.value == 640
    assert duration.value == 5
    at.button(key="render.gif").click().run()
    ok(at)
    (small,) = at.session_state["optviz.rendered"].values()
    assert Image.open(io.BytesIO(small)).size[0] == 640
    at.selectbox(key="optviz.media_width").set_value(1280)
    at.number_input(key="optviz.media_duration").set_value(2).run()
    ok(at)
    assert "render.gif" in [b.key for b in at.button]  # new options: render again
    at.button(key="render.gif").click().run()
    ok(at)
    assert not errors(at)
    (large,) = at.session_state["optviz.rendered"].values()
    gif = Image.open(io.BytesIO(large))
    assert gif.size[0] == 1280
    total = 0
    for i in range(gif.n_frames):
        gif.seek(i)
        total += gif.info["duration"]
    assert total == pytest.approx(2000 + 2000, abs=60)  # 2 s race + the last frame's hold


def test_a_scene_too_heavy_to_wait_for_shows_a_clear_error(monkeypatch) -> None:
    cache.clear()
    monkeypatch.setattr(cache, "SIMULATION_TIME_LIMIT", 0.0)
    at = run_app({"steps": "977"})  # a scene no other test has cached
    assert not at.exception
    assert any("too long to compute" in e and "too heavy" in e for e in errors(at))
    cache.clear()


def test_a_scene_over_the_time_limit_keeps_the_last_good_race(monkeypatch) -> None:
    cache.clear()
    at = run_app({"steps": "211"})
    good = race(at)
    tables = len(at.dataframe)
    monkeypatch.setattr(cache, "SIMULATION_TIME_LIMIT", 0.0)
    at.sidebar.number_input(key="g0.steps").set_value(979).run()
    assert not at.exception
    assert any("too long to compute" in e and "last one that finished" in e
               for e in errors(at)), errors(at)
    assert race(at)["token"] == good["token"]  # the race, its table and exports stay
    assert len(at.dataframe) == tables and at.get("download_button")
    cache.clear()


def test_user_text_is_shown_literally_not_as_markdown() -> None:
    at = run_app({"surface": "custom", "formula": "sin(x)*cos(y) + 0.1*(x**2 + y**2)",
                  "domain": "-3,3;-3,3", "start": "1,1", "label1": "__my__ *adam*"})
    assert not at.exception
    caption = next(m.value for m in at.markdown if "start (1, 1)" in m.value)
    assert r"sin\(x\)\*cos\(y\) \+ 0\.1\*\(x\*\*2 \+ y\*\*2\)" in caption
    assert not any("my" in e.label for e in at.expander)  # run labels are not in titles
    assert any(t.value.startswith("Runs: __my__ *adam*, ") for t in at.text)
    assert any("Global minimum not known" in c.value for c in at.caption)
    assert "unbounded" not in " ".join(c.value for c in at.caption)
    df = next(d.value for d in at.dataframe)
    df = getattr(df, "data", df)  # a Styler arrives as its frame
    assert set(df["reached at step"]) == {"—"}  # no known minimum: "reached" means nothing


def test_a_refused_scene_file_says_it_was_not_loaded() -> None:
    from optviz.ui import state

    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    at.run()
    at.session_state[state.NOTICES] = [("file-refused", ["bin.json: not a UTF-8 text file"])]
    at.run()
    assert any("was not loaded" in e for e in errors(at))
    assert warnings(at) == ["bin.json: not a UTF-8 text file"]
    assert not any("the rest of the scene was loaded" in w.value for w in at.warning)


HOSTILE_LABELS = [
    "[click me](https://example.com/x)",
    "![i](http://example.com/i.png)",
    "http://2130706433/x",
    "www.example.com a@example.com",
    "__import__ **bold** `code`",
    ":red[red] :material/home: $x^2$",
    "<img src=x onerror=alert(1)>",
]


def _markdown_bodies(at: AppTest) -> list[str]:
    """Every body that Streamlit parses as Markdown."""
    bodies = [e.value for kind in ("markdown", "caption", "error", "warning", "info", "success")
              for e in at.get(kind)]
    return bodies + [e.label for e in at.expander]


@pytest.mark.parametrize("label", HOSTILE_LABELS)
def test_hostile_labels_are_shown_as_literal_text(label: str) -> None:
    """A label from a shared link reaches the divergence note, the rules and the code picker as
    literal text; no Markdown element gets it unescaped (no link, image, bold, directive)."""
    at = run_app({"run": "sgd:lr=0.01;adam", "label1": label})
    ok(at)
    plain_texts = [t.value for t in at.text]
    assert any(t.startswith(f"✗ {label} diverged at step") for t in plain_texts), plain_texts
    assert f"Runs: {label}" in plain_texts
    for body in _markdown_bodies(at):
        assert label not in body, body
        for raw in ("](", "http://", "www.", "@example", "__import__", ":red[", "$x", "<img"):
            assert raw not in body, (raw, body)
    assert any(o.startswith(f"1. {label}") for o in at.selectbox(key="optviz.code_run_label")
               .options)


def test_a_hostile_formula_error_is_escaped() -> None:
    at = run_app({"surface": "custom", "formula": "__import__('os')"})
    ok(at)  # the link's bad formula falls back with a warning, shown as plain text
    assert any("__import__" in w for w in warnings(at))
    at.sidebar.selectbox(key="g0.surface").set_value("custom").run()
    at.sidebar.text_input(key="g0.formula").input("__import__ + x").run()
    ok(at)
    bodies = [e.value for e in at.error]
    assert any(r"\_\_import\_\_" in b for b in bodies), bodies
    assert not any("__import__" in b for b in bodies), bodies


def test_rule_captions_say_whose_optimizer_it_is() -> None:
    from optviz.optimizers import get_optimizer
    from optviz.ui.model import rule_captions

    adam, newton = rule_captions(get_optimizer("adam")), rule_captions(get_optimizer("newton"))
    assert adam[0].startswith("**How PyTorch runs it:**")
    assert len(newton) == 1 and "How PyTorch" not in newton[0]
    assert newton[0].startswith("optviz's own optimizer (`optviz.optimizers.Newton`")
    from optviz.optimizers import list_optimizers

    for key in list_optimizers():  # every key: three kinds, each says which it is
        spec = get_optimizer(key)
        first = rule_captions(spec)[0] if rule_captions(spec) else ""
        assert first.startswith("**How PyTorch runs it:**") == (spec.origin == "torch"), key
        assert first.startswith("From the `") == (spec.origin == "package"), key
        assert first.startswith("optviz's own") == (spec.origin == "own"), key
    lion = rule_captions(get_optimizer("lion"))[0]
    assert "pytorch_optimizer" in lion and "How PyTorch" not in lion
    at = run_app({"run": "newton;adam"})
    ok(at)
    captions = [c.value for c in at.caption]
    assert sum("How PyTorch runs it" in c for c in captions) == 1
    assert any(c.startswith("optviz's own optimizer") for c in captions)


def test_notes_say_undefined_at_the_start_and_left_the_window() -> None:
    at = run_app({"surface": "custom", "formula": "log(x) + y**2"})
    ok(at)
    notes = [t.value for t in at.text]
    assert "✗ Adam (lr=0.05): f is not defined at the start (−1.5, 1.5)" in notes, notes
    assert "diverged at step 0" not in texts(at)
    at = run_app({"surface": "custom", "formula": "x**2 - y**2"})
    ok(at)
    assert "↗ Adam (lr=0.05) left the window at step 29" in [t.value for t in at.text]


# --------------------------------------------------------------------------------------------
# schedules and clipping (a run card's "More settings")


def _error_cards(at: AppTest) -> list[str]:
    """Keys of the run cards (``run-<generation>-<id>``) that hold an error alert."""
    found = []

    def walk(node: Any, cards: list[str]) -> None:
        k = getattr(node, "key", None)
        if isinstance(k, str) and k.startswith("run-"):
            cards = [*cards, k]
        if getattr(node, "type", None) == "error":
            found.extend(cards[-1:])
        children = getattr(node, "children", None)
        for child in (children.values() if isinstance(children, dict) else []):
            walk(child, cards)

    walk(at._tree, [])
    return found


def _lr_charts(at: AppTest) -> list[dict]:
    return [c for c in charts(at) if "learning rate" in str(c["layout"].get("title", ""))]


def test_picking_a_schedule_changes_the_path_the_label_the_url_and_shows_its_chart() -> None:
    at = run_app()
    before = race(at)
    assert not _lr_charts(at)
    at.sidebar.selectbox(key="g0.e3.schedule").set_value("CosineAnnealingLR").run()
    ok(at)
    after = race(at)
    assert legend(after)[-1] == "Adam (lr=0.05, cosine)"
    assert paths(after)[-1] != paths(before)[-1]
    assert query(at)["schedule4"] == "CosineAnnealingLR"
    (lr_chart,) = _lr_charts(at)
    ys = lr_chart["data"][0]["y"]
    assert ys[0] == pytest.approx(0.05) and ys[-1] == pytest.approx(0.05 * (1 + math.cos(
        math.pi * 299 / 300)) / 2)  # T_max follows the run's 300 steps
    at.sidebar.number_input(key="g0.e3.schedule.CosineAnnealingLR.T_max").set_value(100).run()
    ok(at)
    assert query(at)["schedule4"] == "CosineAnnealingLR:T_max=100"
    at.sidebar.number_input(key="g0.e3.clip_norm").set_value(0.5).run()
    ok(at)
    assert query(at)["clip_norm4"] == "0.5"
    assert legend(race(at))[-1] == "Adam (lr=0.05, cosine, clip ‖g‖≤0.5)"
    at.sidebar.selectbox(key="g0.e3.schedule").set_value(None).run()
    ok(at)
    assert "schedule4" not in query(at) and not _lr_charts(at)


def test_a_bad_schedule_argument_errs_in_its_run_card_and_the_page_keeps_working() -> None:
    at = run_app()
    at.sidebar.selectbox(key="g0.e1.schedule").set_value("CosineAnnealingLR").run()
    good = race(at)
    at.sidebar.number_input(key="g0.e1.schedule.CosineAnnealingLR.T_max").set_value(0).run()
    ok(at)
    assert any("run 2: T_max must be between 1 and 100,000, got 0" in m for m in errors(at))
    assert _error_cards(at) == ["run-0-1"]  # in that run's card, nowhere else
    assert race(at) == good  # the last good scene stays on screen, with everything else
    assert query(at)["schedule2"] == "CosineAnnealingLR"
    assert at.get("download_button") or at.button
    at.sidebar.number_input(key="g0.e2.clip_value").set_value(-1.0).run()
    ok(at)
    assert sorted(_error_cards(at)) == ["run-0-1", "run-0-2"]
    at.sidebar.number_input(key="g0.e1.schedule.CosineAnnealingLR.T_max").set_value(50).run()
    at.sidebar.number_input(key="g0.e2.clip_value").set_value(None).run()
    ok(at)
    assert not errors(at)
    assert query(at)["schedule2"] == "CosineAnnealingLR:T_max=50"


def test_the_url_carries_the_extras_into_the_run_cards() -> None:
    scene, _ = Scenario.from_query({"run": "sgd;adam:lr=0.05", "clip_norm2": "1",
                                    "schedule2": "OneCycleLR:pct_start=0.5", "clip_value1": "2"})
    at = run_app(scene.to_query())
    ok(at)
    assert not warnings(at)
    assert legend(race(at)) == ["SGD (lr=0.001, clip |g|≤2)",
                                "Adam (lr=0.05, one-cycle, clip ‖g‖≤1)"]
    assert at.sidebar.selectbox(key="g0.e1.schedule").value == "OneCycleLR"
    assert at.sidebar.number_input(key="g0.e1.schedule.OneCycleLR.pct_start").value == 0.5
    assert at.sidebar.number_input(key="g0.e1.schedule.OneCycleLR.max_lr").value is None
    assert at.sidebar.number_input(key="g0.e1.clip_norm").value == 1.0
    assert at.sidebar.number_input(key="g0.e0.clip_value").value == 2.0
    assert query(at) == scene.to_query()
    at = run_app({"run": "adam", "schedule1": "StepLR:gamma=7"})
    ok(at)
    assert len(warnings(at)) == 1 and warnings(at)[0].startswith("schedule1: gamma")
    assert "schedule1" not in query(at)


def test_model_keeps_the_extras_through_a_round_trip_and_a_duplicate() -> None:
    scene, _ = Scenario.from_query({"run": "adam", "schedule1": "StepLR:step_size=30",
                                    "clip_norm1": "2"})
    model = Model.from_scenario(scene)
    assert model.entries[0].schedule == {"name": "StepLR", "step_size": 30}
    assert model.candidate().validated() == scene
    model.duplicate(0)
    model.entries[1].schedule["step_size"] = 0  # the copy's schedule is its own
    assert model.entries[0].schedule["step_size"] == 30
    found, problems = check(model)
    assert found is None and list(problems.extras) == [1] and list(problems.runs) == [1]
    assert problems.extras[1] == ["run 2: step_size must be between 1 and 100,000, got 0"]


def test_the_rules_code_shows_the_schedule_and_the_clipping() -> None:
    from optviz.ui.model import run_code

    scene, _ = Scenario.from_query({"run": "sgd;adam:lr=0.05", "schedule2": "warmup_cosine",
                                    "clip_value2": "3"})
    code = run_code(scene.runs[1], scene.steps)
    assert code.splitlines()[1:] == [
        "warmup = torch.optim.lr_scheduler.LinearLR(opt, start_factor=0.1, end_factor=1.0, "
        "total_iters=20)",
        "cosine = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=280, eta_min=0.0)",
        "sched = torch.optim.lr_scheduler.SequentialLR(opt, [warmup, cosine], milestones=[20])",
        "# each step, per particle: loss.backward(); torch.nn.utils.clip_grad_value_(params, "
        "3.0); opt.step(); sched.step()"]
    assert code.startswith("opt = torch.optim.Adam(params, lr=0.05")
    assert run_code(scene.runs[0], scene.steps) == torch_call(scene.runs[0])
    at = run_app(scene.to_query())
    ok(at)
    assert any("SequentialLR(opt" in c.value for c in at.code)


def test_an_optimizer_without_a_learning_rate_offers_no_schedule() -> None:
    at = run_app({"run": "adam", "schedule1": "StepLR"})
    ok(at)
    assert legend(race(at)) == ["Adam (lr=0.05, step decay)"]
    at.sidebar.selectbox(key="g0.e0.variant").set_value("vsgd").run()
    ok(at)
    assert not errors(at)
    assert "schedule1" not in query(at)
    assert any("has no learning rate" in c.value for c in at.sidebar.caption)


# --------------------------------------------------------------------------------------------
# the step inspector


def test_step_inspector_draws_the_step_the_player_shows_and_writes_it_out() -> None:
    at = run_app({"run": "sgd:lr=0.001;adam:lr=0.05", "steps": "50"})
    assert "inspect" not in race(at) or race(at)["inspect"] is None
    at.toggle(key="optviz.inspect").set_value(True).run()
    ok(at)
    payload = race(at)
    assert payload["inspect"]["track"] == 0 and payload["inspect"]["step"] is None
    at.selectbox(key="optviz.inspect.track").set_value(1).run()  # Adam
    recorded = cache.CALLS["simulate_state"]
    # the player asks for the step it shows (the component's inspect_step trigger)
    at.session_state["optviz.inspect.step"] = {"track": 1, "step": 7}
    at.run()
    ok(at)
    # the state was recorded once, through the simulation cache (kept for the next steps)
    assert cache.CALLS["simulate_state"] == recorded + 1
    assert cache.SIMULATIONS.get((Scenario.from_query(query(at))[0].sim_key(), "state"))
    payload = race(at)
    inspect = payload["inspect"]
    assert inspect["step"] == 7 and inspect["label"].startswith("Adam")
    names = {g["name"] for g in inspect["glyphs"]["legend"]}
    assert any("m" in n for n in names) and inspect["glyphs"]["boxes"]
    # the race itself is the same race: its token did not change
    assert payload["token"] == race(at)["token"]
    assert any("7" in m.value and "8" in m.value for m in at.markdown if "step" in m.value)
    assert at.main.get("latex"), "the update rule with this step's numbers"
    table = next(d.value for d in at.dataframe if "symbol" in d.value.columns)
    assert {"symbol", "value", "meaning"} <= set(table.columns) and len(table) >= 3
    # each glyph can be switched off (and on again)
    pills = at.get("button_group")[0]
    names = list(pills.value)
    assert sorted(names) == sorted(g["name"] for g in inspect["glyphs"]["legend"])
    for name in names:
        pills.set_value([n for n in names if n != name])
        at.run()
        kept = {g["name"] for g in race(at)["inspect"]["glyphs"]["legend"]}
        assert kept == set(names) - {name}
        pills = at.get("button_group")[0]
    pills.set_value(names)
    at.run()
    # a step past the last update is clamped to the last one
    at.session_state["optviz.inspect.step"] = {"track": 1, "step": 500}
    at.run()
    assert race(at)["inspect"]["step"] == 49
    assert cache.CALLS["simulate_state"] == recorded + 1  # every step read the same recording
    at.toggle(key="optviz.inspect").set_value(False).run()
    assert race(at).get("inspect") is None


def test_a_learning_rate_can_be_typed() -> None:
    at = run_app({"run": "adam", "steps": "50"})
    at.sidebar.number_input(key="g0.e0.adam.lr.typed").set_value(3e-4).run()
    ok(at)
    assert legend(race(at)) == ["Adam (lr=0.0003)"]
    assert at.sidebar.select_slider(key="g0.e0.adam.lr").value == 3e-4
    assert "adam:lr=0.0003" in query(at)["run"]
    at.sidebar.select_slider(key="g0.e0.adam.lr").set_value(0.1).run()  # the slider still works
    assert at.sidebar.number_input(key="g0.e0.adam.lr.typed").value == 0.1
    assert legend(race(at)) == ["Adam (lr=0.1)"]
    at.sidebar.number_input(key="g0.e0.adam.lr.typed").set_value(1e9).run()  # out of range
    ok(at)
    assert any(("lr" in e and "1e+09" in e) or "1000000000" in e for e in errors(at)), errors(at)
    assert legend(race(at)) == ["Adam (lr=0.1)"]  # the last good race stays


def test_picking_a_surface_takes_its_suggested_learning_rates() -> None:
    from optviz.suggested import suggested_lr

    at = run_app()
    at.sidebar.selectbox(key="g0.surface").set_value("goldstein_price").run()
    ok(at)
    want = [suggested_lr("goldstein_price", v) for v in ("sgd", "momentum", "rmsprop", "adam")]
    assert at.sidebar.select_slider(key="g0.e0.sgd.lr").value == want[0]
    assert race(at)["tracks"][0]["diverged_at"] == -1  # SGD no longer diverges at step 1
    at.sidebar.selectbox(key="g0.add").set_value("adam").run()
    assert at.sidebar.select_slider(key="g0.e4.adam.lr").value == want[3]
    at.sidebar.selectbox(key="g0.surface").set_value("rosenbrock").run()  # the teaching defaults
    assert legend(race(at))[:4] == ["SGD (lr=0.001)", "Momentum (lr=0.001)",
                                    "RMSprop (lr=0.01)", "Adam (lr=0.05)"]
