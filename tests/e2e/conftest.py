"""Browser tests: a real ``streamlit run app.py`` on a free local port, driven by headless Chromium.

Chromium comes from Debian (``/usr/bin/chromium``); Playwright's own browser downloads do not work
offline. Without Chromium the tests skip with the reason, except where ``OPTVIZ_REQUIRE_BROWSER=1``
(set by ``.ci/run``), where a missing browser is a failure.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from optviz.exports.html import script_json
from optviz.web import ASSET_DIR, plotly_js

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "artifacts"
CHROMIUM = os.environ.get("OPTVIZ_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def _browser_missing_reason() -> str | None:
    if not Path(CHROMIUM).exists() and shutil.which("chromium") is None:
        return f"Chromium not found at {CHROMIUM} (apt-get install chromium)"
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "Python Playwright is not installed (pip install playwright)"
    return None


def _require_browser() -> None:
    reason = _browser_missing_reason()
    if reason is None:
        return
    if os.environ.get("OPTVIZ_REQUIRE_BROWSER") == "1":
        pytest.fail(f"browser tests are required here but cannot run: {reason}")
    pytest.skip(reason)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def app_url() -> Iterator[str]:
    """Start the app once per test session and wait until its health endpoint answers."""
    _require_browser()
    port = _free_port()
    log = tempfile.TemporaryFile("w+")  # noqa: SIM115 (lives as long as the server)
    proc = subprocess.Popen(
        [
            sys.executable, "-m", "streamlit", "run", str(ROOT / "app.py"),
            "--server.headless", "true", "--server.port", str(port),
            "--server.address", "127.0.0.1", "--browser.gatherUsageStats", "false",
            "--server.fileWatcherType", "none",
        ],
        cwd=ROOT, stdout=log, stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 90
    while True:
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as response:
                if response.status == 200:
                    break
        except OSError:
            pass
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            log.seek(0)
            pytest.fail(f"streamlit did not start:\n{log.read()[-3000:]}")
        time.sleep(0.3)
    yield url
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()


@pytest.fixture(scope="session")
def browser() -> Iterator[object]:
    _require_browser()
    from playwright.sync_api import sync_playwright

    # launch() gives every browser a fresh temporary user-data dir of its own.
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield b
        b.close()


def watch_errors(pg) -> list[str]:
    """Every page error and console error of ``pg`` from now on (a list that grows)."""
    errors: list[str] = []
    pg.on("pageerror", lambda e: errors.append(f"page error: {e}"))
    pg.on("console", lambda m: errors.append(f"console {m.type}: {m.text}")
          if m.type == "error" else None)
    return errors


@pytest.fixture
def page(browser) -> Iterator[object]:
    """A fresh page; the test fails on any page error or console error it caused."""
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    pg = context.new_page()
    errors = watch_errors(pg)
    pg.errors = errors  # tests that provoke an expected error may inspect and clear it
    yield pg
    context.close()
    assert not errors, errors[:5]


@pytest.fixture(scope="session")
def artifacts() -> Path:
    """Ignored folder for screenshots that people look at (never committed)."""
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS


# ------------------------------------------------------------- the player alone, no Streamlit


@pytest.fixture(scope="session")
def player_assets(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("player")
    (folder / "plotly.min.js").write_text(plotly_js(), encoding="utf-8")
    return folder


@pytest.fixture
def open_player(browser, player_assets) -> Iterator[Any]:
    """``open_player(payload, *more, width=1400, height=1000)``: a page with the player mounted
    on ``payload`` (``window.__payloads`` holds all payloads, ``window.__events`` the
    ``host.onStart`` events); fails the test on any page or console error."""
    contexts, errors = [], []

    def _open(payload: dict, *more: dict, width: int = 1400, height: int = 1000) -> Any:
        context = browser.new_context(viewport={"width": width, "height": height})
        contexts.append(context)
        page = context.new_page()
        page.on("pageerror", lambda e: errors.append(f"pageerror: {e}"))
        page.on("console", lambda m: errors.append(f"console: {m.text}")
                if m.type == "error" else None)
        html = f"""<!DOCTYPE html><html><head><meta charset="utf-8">
<style>body {{ margin: 0; }} #root {{ padding: 8px; }}</style>
<link rel="stylesheet" href="{(ASSET_DIR / 'player.css').as_uri()}">
<script src="plotly.min.js"></script>
<script src="{(ASSET_DIR / 'player.js').as_uri()}"></script></head>
<body><div id="root"></div>
<script type="application/json" id="payloads">{script_json([payload, *more])}</script>
<script>
window.__payloads = JSON.parse(document.getElementById("payloads").textContent);
window.__events = [];
window.__player = OptvizPlayer.mount(document.getElementById("root"), window.__payloads[0],
  {{onStart: function (e) {{ e.t = performance.now(); window.__events.push(e); }}}});
</script></body></html>"""
        path = player_assets / f"page{len(contexts)}.html"
        path.write_text(html, encoding="utf-8")
        page.goto(path.as_uri())
        page.wait_for_selector("[data-testid=optviz-player] .ovp-race .main-svg")
        return page

    yield _open
    for context in contexts:
        context.close()
    assert not errors, errors
