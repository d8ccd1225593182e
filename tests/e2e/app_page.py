"""What the in-app browser tests share about the Streamlit page itself."""

from __future__ import annotations

import urllib.parse

TIMEOUT_MS = 90_000
PLAYER = "[data-testid=optviz-player]"
_ROOT = f"document.querySelector('{PLAYER}')"


def settle(page) -> None:
    """Wait until the app's script run is over."""
    page.wait_for_function(
        "() => { const a = document.querySelector('[data-testid=stApp]');"
        " return a && a.dataset.testScriptState === 'notRunning'; }", timeout=TIMEOUT_MS)


def open_app(page, url: str, query: dict[str, str] | None = None) -> str:
    """Open the app (with a query string), wait until the race is drawn; its token."""
    q = "?" + urllib.parse.urlencode(query) if query else ""
    page.goto(f"{url}/{q}")
    page.wait_for_function(f"() => {{ const r = {_ROOT}; return r && r.dataset.token; }}",
                           timeout=TIMEOUT_MS)
    settle(page)
    return token(page)


def token(page) -> str:
    """The token of the payload the race player drew last."""
    return page.evaluate(f"() => {_ROOT}.dataset.token")
