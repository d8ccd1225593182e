"""GIF / MP4 export options: the picture's width, the race's duration, and the colour bar drawn
right of the plot (optviz.exports.media, optviz.render, the CLI's --width / --duration)."""

from __future__ import annotations

import io
from dataclasses import replace

import numpy as np
import pytest
from PIL import Image

from optviz.cli import main
from optviz.exports import export, media, mp4_available, render_gif, render_mp4, render_png
from optviz.figures import Landscape
from optviz.figures.landscape import _lut
from optviz.render import FrameRenderer, plan_layout
from optviz.scene import DEFAULT_SCENARIO, Scenario
from optviz.views import simulate_scenario


@pytest.fixture(scope="module")
def scene() -> Scenario:
    return replace(DEFAULT_SCENARIO, steps=60).validated()


@pytest.fixture(scope="module")
def traj(scene):
    return simulate_scenario(scene)


def _durations(gif: Image.Image) -> list[int]:
    out = []
    for i in range(gif.n_frames):
        gif.seek(i)
        out.append(gif.info["duration"])
    return out


# ----------------------------------------------------------------------------- width


@pytest.mark.parametrize("width", [640, 1280])
def test_gif_is_as_wide_as_asked(scene, traj, width):
    data = render_gif(scene, traj, width=width, duration=1, fps=4)
    gif = Image.open(io.BytesIO(data))
    assert gif.size[0] == width
    assert gif.size[1] % 2 == 0


def test_a_wider_picture_is_drawn_larger_not_upscaled(scene, traj):
    small = media.scene_renderer(scene, traj, width=640)
    large = media.scene_renderer(scene, traj, width=1280)
    assert small.layout.scale == 1.0 and large.layout.scale == 2.0
    assert large.layout.plot_w == pytest.approx(2 * small.layout.plot_w, abs=2)
    assert large.layout.top == pytest.approx(2 * small.layout.top, abs=2)
    # the title's ink is about twice as tall (fonts scale with the picture)

    def ink_rows(img: Image.Image, top: int) -> int:
        band = np.asarray(img.convert("L"))[:top, : img.size[0] // 3] < 128
        return int(band.any(axis=1).sum())
    assert ink_rows(large.frame(0), large.layout.top) >= 1.7 * ink_rows(
        small.frame(0), small.layout.top)
    # drawn at 1280, not upscaled: the landscape is sampled once per output pixel
    assert large.land.z.shape == (large.layout.plot_h, large.layout.plot_w)


def test_png_and_export_take_the_width(scene, traj):
    png = Image.open(io.BytesIO(render_png(scene, traj, width=800)))
    assert png.size[0] == 800
    png = Image.open(io.BytesIO(export("png", scene, traj, width=1280)))
    assert png.size[0] == 1280
    gif = Image.open(io.BytesIO(export("gif", scene, traj, width=640, duration=1)))
    assert gif.size[0] == 640


def test_an_odd_width_is_kept(scene, traj):
    assert Image.open(io.BytesIO(render_png(scene, traj, width=641))).size[0] == 641


# ----------------------------------------------------------------------------- duration


@pytest.mark.parametrize(("duration", "fps"), [(2, 10), (3, 20), (1.5, 20)])
def test_gif_lasts_the_duration(scene, traj, duration, fps):
    data = render_gif(scene, traj, width=640, duration=duration, fps=fps)
    gif = Image.open(io.BytesIO(data))
    ms = 1000 / fps
    assert gif.n_frames == round(duration * fps)  # 60 steps: every frame shows a new step
    gif.seek(0)
    frame_ms = gif.info["duration"]
    assert frame_ms == pytest.approx(ms, abs=5)
    assert gif.n_frames * frame_ms == pytest.approx(duration * 1000, abs=frame_ms)
    durations = _durations(gif)
    race = sum(durations) - round(media.HOLD_SECONDS * 1000)  # the last frame is held
    assert race == pytest.approx(duration * 1000, abs=frame_ms)


def test_a_long_gif_keeps_its_duration_with_fewer_longer_frames():
    n, ms = media.gif_timing(20, media.DEFAULT_FRAMES, 60)
    assert n <= media.MAX_FRAMES and ms % 10 == 0
    assert n * ms == pytest.approx(60_000, abs=ms / 2)
    for fps in (1, 7, 20, 30, 60):
        for seconds in (1, 5, 13.3, 37):
            n, ms = media.gif_timing(fps, 100, seconds)
            assert n * ms == pytest.approx(seconds * 1000, abs=ms / 2 + 1e-9), (fps, seconds)


def test_a_short_scene_spreads_its_steps_over_the_duration(scene, traj):
    short = replace(scene, steps=5).validated()
    data = render_gif(short, simulate_scenario(short), width=640, duration=2, fps=10)
    gif = Image.open(io.BytesIO(data))
    # 20 frames show 6 steps: equal neighbours are merged, the time stays
    race = sum(_durations(gif)) - round(media.HOLD_SECONDS * 1000)
    assert race == pytest.approx(2000, abs=100)


def test_defaults_keep_the_frame_count(scene, traj):
    gif = Image.open(io.BytesIO(render_gif(scene, traj, size=160, frames=12, fps=10)))
    assert gif.n_frames == 12


@pytest.mark.skipif(not mp4_available(), reason="imageio-ffmpeg not installed")
def test_mp4_width_and_duration(scene, traj):
    data = render_mp4(scene, traj, width=641, duration=1, fps=10)
    assert data[4:8] == b"ftyp" and len(data) > 1000


# ----------------------------------------------------------------------------- bad values


@pytest.mark.parametrize("width", [319, 1921, 0, -640])
def test_a_bad_width_is_refused_by_name(scene, traj, width):
    for call in (lambda: render_gif(scene, traj, width=width),
                 lambda: render_png(scene, traj, width=width),
                 lambda: export("gif", scene, traj, width=width)):
        with pytest.raises(ValueError, match="width"):
            call()


@pytest.mark.parametrize("duration", [0, 0.5, 61, float("inf"), float("nan")])
def test_a_bad_duration_is_refused_by_name(scene, traj, duration):
    with pytest.raises(ValueError, match="duration"):
        render_gif(scene, traj, duration=duration)
    with pytest.raises(ValueError, match="duration"):
        export("gif", scene, traj, duration=duration)


def test_wrong_types_are_type_errors(scene, traj):
    with pytest.raises(TypeError, match="width"):
        render_gif(scene, traj, width=640.0)
    with pytest.raises(TypeError, match="duration"):
        render_gif(scene, traj, duration="5")


# ----------------------------------------------------------------------------- colour bar


@pytest.mark.parametrize("width", [640, 1280])
def test_the_colour_bar_is_right_of_the_plot_in_the_landscape_colours(scene, traj, width):
    renderer = media.scene_renderer(scene, traj, width=width)
    lay = renderer.layout
    img = np.asarray(renderer.frame(0)).astype(int)
    x0, y0, x1, y1 = renderer.colorbar_box()
    assert x0 > lay.left + lay.plot_w and x1 < lay.width
    column = img[y0:y1, (x0 + x1) // 2]
    lut = _lut("Viridis", 0.45).astype(int)
    assert np.abs(column[-1] - lut[0]).sum() <= 3  # bottom: the lowest colour
    assert np.abs(column[0] - lut[-1]).sum() <= 3  # top: the highest colour
    assert np.abs(column[0] - column[-1]).sum() > 100  # top != bottom
    # every pixel of the bar is a landscape colour
    dist = np.abs(column[:, None, :] - lut[None, :, :]).sum(axis=2).min(axis=1)
    assert dist.max() <= 3
    # tick labels (dark text) sit right of the bar
    labels = img[y0:y1, x1 + 2 : lay.width]
    assert (labels.sum(axis=2) < 400).any()


def test_no_colour_bar_when_not_asked():
    layout = plan_layout((-2.0, 2.0), (-1.0, 3.0), [], width=640, colorbar=False)
    with_bar = plan_layout((-2.0, 2.0), (-1.0, 3.0), [], width=640)
    assert layout.width == with_bar.width == 640 and layout.plot_w > with_bar.plot_w
    xs, ys = layout.pixel_centres()
    land = Landscape(xs=xs, ys=ys, z=np.add.outer(ys, xs) ** 2)
    img = np.asarray(FrameRenderer(layout, land, [], [], n_levels=0).frame(0))
    right = img[layout.top : layout.top + layout.plot_h, layout.left + layout.plot_w + 2 :]
    assert (right == 255).all()


# ----------------------------------------------------------------------------- CLI


@pytest.fixture
def scene_file(tmp_path):
    path = tmp_path / "scene.json"
    path.write_text(replace(DEFAULT_SCENARIO, steps=30).validated().to_json(), encoding="utf-8")
    return path


def test_cli_width_and_duration(scene_file, tmp_path, capsys):
    out = tmp_path / "race.gif"
    argv = ["run", str(scene_file), "--out", str(out), "--width", "1280", "--duration", "1.5"]
    assert main(argv) == 0
    gif = Image.open(out)
    assert gif.size[0] == 1280 and gif.n_frames == round(1.5 * media.DEFAULT_FPS)


@pytest.mark.parametrize(("extra", "expected"), [
    (["--width", "100"], "--width must be between 320 and 1,920"),
    (["--duration", "0"], "--duration must be in [1, 60]"),
    (["--width", "wide"], "invalid int value"),
])
def test_cli_refuses_bad_options(scene_file, tmp_path, capsys, extra, expected):
    assert main(["run", str(scene_file), "--out", str(tmp_path / "r.gif"), *extra]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and expected in err[0], err


def test_cli_options_need_a_picture(scene_file, tmp_path, capsys):
    assert main(["run", str(scene_file), "--out", str(tmp_path / "r.csv"), "--width",
                 "640"]) == 2
    assert "--width applies to" in capsys.readouterr().err
    assert main(["run", str(scene_file), "--out", str(tmp_path / "r.png"), "--duration",
                 "3"]) == 2
    assert "--duration applies to" in capsys.readouterr().err
