"""plotly.js for the race player, served by Streamlit from the player's asset directory.

Streamlit serves a packaged component's files from its ``asset_dir`` (``optviz/web``, declared
under ``[[tool.streamlit.component.components]]`` in ``pyproject.toml``) with
``Cache-Control: public``, so the browser loads the 4.6 MB ``plotly.min.js`` once instead of
receiving it inlined on every rerun. The file is not kept in the repository: it is copied from
the installed ``plotly`` package (the same version that builds the figures) into
``optviz/web/vendor/`` the first time the player is used, or at image build time
(``python -m optviz.web.vendor``) where the package directory is read-only later.

Next to it goes ``plotly.min.js.gz``, compressed once here. Streamlit's server gzips a ``.js``
asset again on every request (0.2–0.4 s of server CPU for this file, for each new visitor: a
class opening a link at once pays it thirty times); a ``.gz`` file is served as it is
(``application/gzip`` is never re-compressed), and the page un-gzips it with the browser's
``DecompressionStream`` (``component.js``). The plain file stays as the fallback.
"""

from __future__ import annotations

import gzip
import os
import shutil
import threading
from pathlib import Path

import plotly

ASSET_DIR = Path(__file__).resolve().parent
VENDOR_DIR = ASSET_DIR / "vendor"
PLOTLY_JS = VENDOR_DIR / "plotly.min.js"
PLOTLY_JS_GZ = VENDOR_DIR / "plotly.min.js.gz"


def plotly_source() -> Path:
    """``plotly.min.js`` as shipped inside the installed plotly Python package."""
    return Path(plotly.__file__).resolve().parent / "package_data" / "plotly.min.js"


def ensure_plotly_js() -> Path:
    """Copy plotly.min.js (and its gzip) next to the player unless they are there; its path.

    Raises ``OSError`` with the reason when the package directory is not writable and holds no
    copy (then run ``python -m optviz.web.vendor`` once where it is writable).
    """
    source = plotly_source()
    if _complete(source):
        return PLOTLY_JS
    VENDOR_DIR.mkdir(exist_ok=True)
    # temporary names of this process and thread: two sessions (or processes) writing at once
    # never rename each other's half-written file
    tag = f"{os.getpid()}.{threading.get_ident()}"
    plain = VENDOR_DIR / f"plotly.min.js.{tag}.part"
    packed = VENDOR_DIR / f"plotly.min.js.gz.{tag}.part"
    try:
        shutil.copyfile(source, plain)
        # gzip's own mtime field 0: the same plotly.js always gives the same bytes
        packed.write_bytes(gzip.compress(plain.read_bytes(), compresslevel=9, mtime=0))
        # atomic renames, the plain file first: nobody sees half a file, and a .gz at least
        # as new as the plain file means both are complete
        plain.replace(PLOTLY_JS)
        packed.replace(PLOTLY_JS_GZ)
    finally:
        plain.unlink(missing_ok=True)
        packed.unlink(missing_ok=True)
    return PLOTLY_JS


def _complete(source: Path) -> bool:
    """Are both copies there, the plain one of ``source``'s size, the .gz written after it?"""
    try:
        plain, packed = PLOTLY_JS.stat(), PLOTLY_JS_GZ.stat()
    except OSError:
        return False
    return plain.st_size == source.stat().st_size and packed.st_mtime >= plain.st_mtime


if __name__ == "__main__":
    print(ensure_plotly_js())
