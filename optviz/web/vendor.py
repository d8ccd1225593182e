"""plotly.js for the race player, served by Streamlit from the player's asset directory.

Streamlit serves a packaged component's files from its ``asset_dir`` (``optviz/web``, declared
under ``[[tool.streamlit.component.components]]`` in ``pyproject.toml``) with
``Cache-Control: public``, so the browser loads the 4.6 MB ``plotly.min.js`` once instead of
receiving it inlined on every rerun. The file is not kept in the repository: it is copied from
the installed ``plotly`` package (the same version that builds the figures) into
``optviz/web/vendor/`` the first time the player is used, or at image build time
(``python -m optviz.web.vendor``) where the package directory is read-only later.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import plotly

ASSET_DIR = Path(__file__).resolve().parent
VENDOR_DIR = ASSET_DIR / "vendor"
PLOTLY_JS = VENDOR_DIR / "plotly.min.js"


def plotly_source() -> Path:
    """``plotly.min.js`` as shipped inside the installed plotly Python package."""
    return Path(plotly.__file__).resolve().parent / "package_data" / "plotly.min.js"


def ensure_plotly_js() -> Path:
    """Copy plotly.min.js next to the player unless an identical copy is there; its path.

    Raises ``OSError`` with the reason when the package directory is not writable and holds no
    copy (then run ``python -m optviz.web.vendor`` once where it is writable).
    """
    source = plotly_source()
    if PLOTLY_JS.exists() and PLOTLY_JS.stat().st_size == source.stat().st_size:
        return PLOTLY_JS
    VENDOR_DIR.mkdir(exist_ok=True)
    partial = PLOTLY_JS.with_suffix(".part")
    shutil.copyfile(source, partial)
    partial.replace(PLOTLY_JS)  # atomic: two sessions starting at once never see half a file
    return PLOTLY_JS


if __name__ == "__main__":
    print(ensure_plotly_js())
