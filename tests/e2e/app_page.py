"""What the in-app browser tests share about the Streamlit page itself."""

from __future__ import annotations

TIMEOUT_MS = 90_000


def settle(page) -> None:
    """Wait until the app's script run is over."""
    page.wait_for_function(
        "() => { const a = document.querySelector('[data-testid=stApp]');"
        " return a && a.dataset.testScriptState === 'notRunning'; }", timeout=TIMEOUT_MS)
