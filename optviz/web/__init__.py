"""The race player's browser assets (``player.js``, ``player.css``) and plotly.js, as text."""

from __future__ import annotations

from pathlib import Path

__all__ = ["ASSET_DIR", "plotly_js", "read_asset"]

#: Folder of the player's assets.
ASSET_DIR = Path(__file__).parent


def read_asset(name: str) -> str:
    """The text of the asset ``name`` (``"player.js"``, ``"player.css"``) in :data:`ASSET_DIR`."""
    path = (ASSET_DIR / name).resolve()
    if path.parent != ASSET_DIR.resolve() or not path.is_file():
        raise ValueError(f"no asset named {name!r}")
    return path.read_text(encoding="utf-8")


def plotly_js() -> str:
    """plotly.min.js as shipped in the plotly package (works offline)."""
    from importlib import resources

    return (resources.files("plotly") / "package_data" / "plotly.min.js").read_text(
        encoding="utf-8")
