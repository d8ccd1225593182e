"""Presets that teach: one scene per step of the story, with what to watch.

Presets are data: ``presets/<key>.toml`` (package data, see :mod:`optviz._data`) holds the menu
``title``, two or three sentences saying what to ``watch``, the ``[scene]`` in the form of a scene
file (read by the scene reader, so a preset is exactly what a user could load), and the
``[claims]``: the numbers behind the sentences. ``tests/test_presets.py`` checks every claim on the
simulated runs, at the scene itself and in a neighbourhood of it (starts moved, learning rates
scaled, other seeds), so a lesson never rests on one lucky point. Listing presets reads the files
only; a preset's :class:`~optviz.scene.Scenario` is built when first asked for. Where the
textbook story and the runs disagree, the scene was changed or the sentence says what really
happens (AdaDelta ignores the scale of the loss but not that of :math:`\\theta`:
:math:`\\varepsilon` sets its step size; AdamW lands nearer the origin than Adam + L2, not nearer
the decay-free minimum; SGD's escape from the saddle is a turn, not a departure, within 250 steps
at a smaller rate).

The story, in order:

1. SGD vs Momentum in Rosenbrock's valley (Polyak 1964).
2. Nesterov vs heavy-ball momentum: the look-ahead gradient damps the bouncing (Nesterov 1983;
   Sutskever et al. 2013).
3. Newton–Raphson goes to the saddle of :math:`x^2 - y^2`; first-order methods turn away
   (Dauphin et al. 2014).
4. AdaGrad's effective step :math:`\\gamma/\\sqrt{\\sum g^2}` only shrinks; RMSprop's
   exponential average forgets (Duchi et al. 2011; Tieleman & Hinton 2012).
5. AdaDelta has no learning rate: :math:`\\Delta\\theta = \\frac{\\mathrm{RMS}[\\Delta\\theta]}
   {\\mathrm{RMS}[g]}\\,g` is blind to the loss's scale (Zeiler 2012).
6. Adam vs AMSGrad: :math:`\\hat v_t = \\max(\\hat v_{t-1}, v_t)` never decreases (Reddi et al.
   2018).
7. Adam + L2 vs AdamW: decay inside or outside the adaptive step (Loshchilov & Hutter 2019).
8. Rprop with exact vs noisy gradients (Riedmiller & Braun 1993; Hinton's lecture 6e).
9. Diagonal vs full-matrix preconditioning on a rotated ill-conditioned quadratic (Duchi et al.
   2011; Amari 1998).
"""

from __future__ import annotations

import tomllib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from functools import cached_property, lru_cache
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

from optviz._data import toml_files
from optviz.arguments import UnknownNameError

if TYPE_CHECKING:  # the scene model imports the optimizers and torch: only when a scene is built
    from optviz.scene import Scenario

__all__ = [
    "MAX_PRESET_RUNS",
    "MAX_PRESET_STEPS",
    "PRESETS",
    "Preset",
    "get_preset",
    "list_presets",
    "preset_titles",
    "read_scene",
]

MAX_PRESET_STEPS = 500  # keeps the page fast
MAX_PRESET_RUNS = 4
_KEYS = {"order", "title", "watch", "scene", "claims"}


def read_scene(doc: Mapping[str, Any]) -> Scenario:
    """The validated scene of a preset, read by the scene reader as a scene file is.

    A preset is ours, so anything the lenient reader would only warn about is an error here.
    """
    from optviz.scene import scenario_from_dict_strict

    return scenario_from_dict_strict(_plain(doc))


@dataclass(frozen=True, eq=False)
class Preset:
    """A scene that teaches one thing.

    ``key`` is the identifier (``"sgd_vs_momentum"``, the file's stem), ``title`` the menu entry,
    ``watch`` two or three plain-text sentences saying what to look at, ``scene`` the scene
    document as stored, ``claims`` the numbers the sentences rest on (checked by the tests), and
    :attr:`scenario` the validated scene (runs with explicit colours and legend labels).
    """

    key: str
    title: str
    watch: str
    scene: Mapping[str, Any]
    claims: Mapping[str, Any]
    order: int = 0

    def __post_init__(self) -> None:
        for name in ("key", "title", "watch"):
            if not isinstance(getattr(self, name), str):
                raise TypeError(f"{name} must be a string, got "
                                f"{type(getattr(self, name)).__name__}")
        for name in ("scene", "claims"):
            if not isinstance(getattr(self, name), Mapping):
                raise TypeError(f"{name} must be a mapping, got "
                                f"{type(getattr(self, name)).__name__}")
        if isinstance(self.order, bool) or not isinstance(self.order, int):
            raise TypeError(f"order must be a whole number, got {type(self.order).__name__}")
        if not self.key.isidentifier() or not self.title.strip() or not self.watch.strip():
            raise ValueError(f"preset {self.key!r}: needs an identifier key, a title and watch")

    @cached_property
    def scenario(self) -> Scenario:
        """The validated scene (built on first use; a broken preset is a ``ValueError``)."""
        try:
            scene = read_scene(self.scene)
        except ValueError as exc:  # ScenarioError is a ValueError
            raise ValueError(f"preset {self.key!r}: {exc}") from None
        if not 2 <= len(scene.runs) <= MAX_PRESET_RUNS:
            raise ValueError(f"preset {self.key!r}: 2 to {MAX_PRESET_RUNS} runs")
        if scene.steps > MAX_PRESET_STEPS:
            raise ValueError(f"preset {self.key!r}: at most {MAX_PRESET_STEPS} steps")
        return scene


def _frozen(value: Any) -> Any:
    """TOML tables and arrays as read-only mappings and tuples."""
    if isinstance(value, Mapping):
        return MappingProxyType({k: _frozen(v) for k, v in value.items()})
    if isinstance(value, list):
        return tuple(_frozen(v) for v in value)
    return value


def _plain(value: Any) -> Any:
    """The inverse of :func:`_frozen`, for the scene reader (JSON wants dicts and lists)."""
    if isinstance(value, Mapping):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, tuple):
        return [_plain(v) for v in value]
    return value


def _load(data: Mapping[str, Any], key: str) -> Preset:
    unknown = sorted(set(data) - _KEYS)
    if unknown:
        raise ValueError(f"unknown key(s) {unknown}; allowed: {sorted(_KEYS)}")
    for name, kind in (("order", int), ("title", str), ("watch", str), ("scene", dict)):
        if isinstance(data.get(name), bool) or not isinstance(data.get(name), kind):
            raise ValueError(f"{name!r} is required, of type {kind.__name__}")
    claims = data.get("claims", {})
    if not isinstance(claims, dict):
        raise ValueError("'claims' must be a table")
    return Preset(
        key=key,
        title=data["title"].strip(),
        watch=" ".join(data["watch"].split()),
        scene=_frozen(data["scene"]),
        claims=_frozen(claims),
        order=data["order"],
    )


@lru_cache(maxsize=1)
def _catalogue() -> dict[str, Preset]:
    """Key -> preset in story order (by ``order``, then key); files read once, nothing built."""
    presets = []
    for path in toml_files("presets"):
        key = path.name.removesuffix(".toml")
        try:
            presets.append(_load(tomllib.loads(path.read_text(encoding="utf-8")), key))
        except (tomllib.TOMLDecodeError, ValueError) as exc:
            raise ValueError(f"presets/{path.name}: {exc}") from exc
    presets.sort(key=lambda p: (p.order, p.key))
    return {p.key: p for p in presets}


def list_presets() -> list[str]:
    """Preset keys in story order."""
    return list(_catalogue())


def preset_titles() -> dict[str, str]:
    """Key -> menu title, in story order (reads the files only)."""
    return {key: p.title for key, p in _catalogue().items()}


def get_preset(key: str) -> Preset:
    """The preset ``key``; ``UnknownNameError`` (a ``KeyError`` and a ``ValueError``) lists the
    known keys, ``TypeError`` when ``key`` is not a string."""
    if not isinstance(key, str):
        raise TypeError(f"key must be a preset name (a string), got {type(key).__name__}")
    presets = _catalogue()
    if key not in presets:
        shown = key if len(key) <= 40 else key[:39] + "…"
        raise UnknownNameError(f"unknown preset {shown!r}; known: {', '.join(presets)}")
    return presets[key]


class _Presets(Mapping[str, Preset]):
    """A read-only view of the catalogue that reads the files on first use, not at import."""

    def __getitem__(self, key: str) -> Preset:
        return _catalogue()[key]

    def __iter__(self) -> Iterator[str]:
        return iter(_catalogue())

    def __len__(self) -> int:
        return len(_catalogue())

    def __repr__(self) -> str:
        return f"PRESETS({', '.join(self)})"


#: The presets in story order (1..9), key -> :class:`Preset`.
PRESETS: Mapping[str, Preset] = _Presets()
