"""Where the data files live: ``surfaces/*.toml`` and ``presets/*.toml``.

Both folders sit at the top level of the repository and are mapped into the package as
``optviz/data/<kind>/`` when a wheel is built (``[tool.hatch.build.targets.wheel.force-include]``
in ``pyproject.toml``). An installed optviz reads them with :mod:`importlib.resources`; a source
checkout (``streamlit run app.py``, ``python -m pytest`` from the repository root) has no
``optviz/data`` and reads the top-level folders directly.
"""

from __future__ import annotations

from importlib.resources import files
from importlib.resources.abc import Traversable
from pathlib import Path

__all__ = ["data_dir", "toml_files"]

KINDS = ("surfaces", "presets")


def data_dir(kind: str) -> Traversable:
    """The folder of ``kind`` (``"surfaces"`` or ``"presets"``): packaged, else the checkout's."""
    if kind not in KINDS:
        raise ValueError(f"unknown data kind {kind!r}; known: {', '.join(KINDS)}")
    packaged = files("optviz") / "data" / kind
    if packaged.is_dir():
        return packaged
    return Path(__file__).resolve().parent.parent / kind


def toml_files(kind: str) -> list[Traversable]:
    """The ``*.toml`` files of ``kind``, sorted by name."""
    found = [f for f in data_dir(kind).iterdir() if f.is_file() and f.name.endswith(".toml")]
    return sorted(found, key=lambda f: f.name)
