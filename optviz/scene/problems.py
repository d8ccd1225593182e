"""``Problem(loc, msg)``: one refused value and where it is; ``ScenarioError`` carries them all.

``loc`` follows pydantic v2's ``ValidationError.errors()``: a tuple of keys and 0-based indices
into the scene, e.g. ``("runs", 1, "lr")`` (run 2's learning rate), ``("starts", 0)``,
``("steps",)``; ``()`` is the scene as a whole. ``msg`` says what is wrong without repeating
where; :func:`where` says where in words ("run 2", "start 1", "steps").
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

__all__ = ["Loc", "Problem", "ScenarioError", "given_times", "need", "repeated", "show", "where"]

Loc = tuple[str | int, ...]


def need(name: str, value: Any, cls: type | tuple[type, ...], what: str) -> Any:
    """``value`` when it is a ``cls``, else ``TypeError`` naming the argument ``name``."""
    if not isinstance(value, cls) or (isinstance(value, bool) and bool not in (
            cls if isinstance(cls, tuple) else (cls,))):
        raise TypeError(f"{name} must be {what}, got {type(value).__name__}")
    return value


def where(loc: Loc) -> str:
    """``("runs", 1, "lr")`` -> ``"run 2"``, ``("starts", 0)`` -> ``"start 1"``, ``("steps",)``
    -> ``"steps"``, ``()`` -> ``"scene"``."""
    need("loc", loc, tuple | list, "a tuple of keys and indices")
    if len(loc) >= 2 and loc[0] in ("runs", "starts") and isinstance(loc[1], int):
        return f"{str(loc[0])[:-1]} {loc[1] + 1}"
    return str(loc[0]) if loc else "scene"


@dataclass(frozen=True)
class Problem:
    """One refused value: where (``loc``) and what is wrong with it (``msg``)."""

    loc: Loc
    msg: str

    def __str__(self) -> str:
        return f"{where(self.loc)}: {self.msg}"

    def as_dict(self) -> dict[str, Any]:
        """pydantic's shape: ``{"loc": (...), "msg": "..."}``."""
        return {"loc": self.loc, "msg": self.msg}


class ScenarioError(ValueError):
    """A scene was refused: every problem found, each with its location (``problems``)."""

    def __init__(self, problems: Iterable[Problem] | str, loc: Loc = ()) -> None:
        if isinstance(problems, str):
            problems = [Problem(loc, problems)]
        self.problems: tuple[Problem, ...] = tuple(problems)
        super().__init__("; ".join(str(p) for p in self.problems) or "scene: refused")

    def errors(self) -> list[dict[str, Any]]:
        """Every problem as ``{"loc": ..., "msg": ...}`` (pydantic v2's ``errors()`` shape)."""
        return [p.as_dict() for p in self.problems]


def show(value: Any, limit: int = 40) -> str:
    """Quote user input for a message: repr-escaped, one line, cut to ``limit`` characters."""
    try:
        text = value if isinstance(value, str) else repr(value)
    except Exception:  # an int beyond str()'s digit limit, a broken __repr__
        text = f"<{type(value).__name__}>"
    if len(text) > limit:
        text = text[:limit] + "…"
    return repr(text)


def _key_name(key: str) -> str:
    return key if key.isidentifier() and len(key) <= 40 else show(key)


def repeated(key: str, times: int) -> str:
    """The one warning for a key given more than once (a URL key or a JSON key alike)."""
    return f"{_key_name(key)}: given {times} times; using the last one"


def given_times(key: str, times: int) -> str:
    """The message for a key repeated inside a part of the scene (a run's hyperparameter, its
    schedule's argument), said after that part's location: ``run 1: lr given 2 times; using
    the last one`` (the JSON and URL codecs alike)."""
    return f"{_key_name(key)} given {times} times; using the last one"
