"""A scene file over 1 MB is refused in the page with a clear message, and nothing loads.

The server's own endpoint refuses it too (``server.maxUploadSize``, tests/test_deploy.py)."""

from __future__ import annotations

PLAYER = "[data-testid=optviz-player]"
_GD = f"document.querySelector('{PLAYER} .ovp-race')"
_TOKEN = f"document.querySelector('{PLAYER}').dataset.token"


def test_a_2_mb_scene_file_is_refused_with_a_message(page, app_url, tmp_path) -> None:
    page.goto(app_url)
    page.wait_for_function(
        f"() => {{ const gd = {_GD}; return gd && gd._fullLayout && {_TOKEN}; }}",
        timeout=90_000)
    before = page.evaluate(f"() => {_TOKEN}")
    path = tmp_path / "big-scene.json"
    path.write_text('{"surface": "booth"' + " " * (2 * 1024 * 1024) + "}")
    page.get_by_text("Load a scene file", exact=True).click()
    page.locator("[data-testid=stFileUploaderDropzoneInput]").set_input_files(str(path))
    message = page.get_by_text("must be 1.0MB or smaller")
    message.wait_for(timeout=10_000)
    assert message.is_visible()
    page.wait_for_timeout(1500)
    assert page.evaluate(f"() => {_TOKEN}") == before, "nothing was loaded"
    assert page.locator("[data-testid=stException]").count() == 0
