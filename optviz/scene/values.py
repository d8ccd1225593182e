"""Readers of single values, shared by the scene model and both codecs.

Each takes a Python/JSON value or strict text (as a URL carries it) and returns it in its
canonical type, or raises ``ValueError`` whose message says what is wrong (never where: the
caller knows the location). No ``eval``; numbers are strict decimal text (no ``inf``/``nan``,
``_``, hex), at most ``MAX_NUMBER_CHARS`` long, and must fit a float.
"""

from __future__ import annotations

import math
import numbers
import re
from typing import Any

from optviz.domain import Domain, Point, validate_domain
from optviz.limits import MAX_LABEL_CHARS, MAX_NUMBER_CHARS
from optviz.scene.problems import show

_FLOAT_RE = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?")
_INT_RE = re.compile(r"[+-]?\d{1,12}")
_COLOR_RE = re.compile(r"#?([0-9a-fA-F]{6})")
_TRUE = ("true", "1", "yes", "on")
_FALSE = ("false", "0", "no", "off")


def num_text(x: float) -> str:
    """Shortest text that reads back to the same float: ``2`` for 2.0, else ``repr``."""
    x = float(x)
    if x.is_integer() and abs(x) < 1e16:
        return str(int(x))
    return repr(x)


def hparam_text(value: Any) -> str:
    """Query form of a canonical hyperparameter value."""
    if value is None:
        return "none"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return num_text(value)
    if isinstance(value, tuple):
        return "/".join(num_text(v) for v in value)
    return str(value)


def short(x: Any) -> str:
    """Compact human form of a number for messages and labels."""
    return f"{x:.4g}" if isinstance(x, float) else str(x)


def parse_float(value: Any) -> float:
    """A finite float from a real number or strict decimal text."""
    if isinstance(value, str):
        text = value.strip()
        if len(text) > MAX_NUMBER_CHARS or not _FLOAT_RE.fullmatch(text):
            raise ValueError(f"{show(value)} is not a number")
        value = float(text)
    elif isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise ValueError(f"{show(value)} is not a number")
    try:
        x = float(value)
    except (OverflowError, ValueError):
        raise ValueError(f"{show(value)} is too large for a number") from None
    if not math.isfinite(x):
        raise ValueError(f"{show(value)} is not a finite number")
    return x


def parse_int(value: Any, low: int, high: int) -> int:
    """An int in ``[low, high]`` from an integer or strict integer text; never clamps."""
    if isinstance(value, str):
        text = value.strip()
        if not _INT_RE.fullmatch(text):
            raise ValueError(f"{show(value)} is not a whole number")
        n = int(text)
    elif isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise ValueError(f"{show(value)} is not a whole number")
    else:
        n = int(value)
    if not low <= n <= high:
        raise ValueError(f"{n if abs(n) < 10**20 else show(n)} is outside [{low}, {high}]")
    return n


def from_text(value: Any, kind: str) -> Any:
    """Number text (``"300"``, ``"0.1"``) read by the codecs as the number (``kind`` ``"int"``
    or ``"float"``); anything else, unparseable text included, as it is (the scene then refuses
    it: a :class:`Scenario` built in code takes numbers, not text)."""
    if not isinstance(value, str):
        return value
    try:
        return parse_int(value, -(10**13), 10**13) if kind == "int" else parse_float(value)
    except ValueError:
        return value


def parse_bool(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in _TRUE + _FALSE:
        return value.strip().lower() in _TRUE
    raise ValueError(f"{show(value)} is not true/false")


def _two(value: Any, seps: str, what: str) -> tuple[Any, Any]:
    if isinstance(value, str):
        parts: Any = re.split(f"[{seps}]", value, maxsplit=2)
    elif isinstance(value, list | tuple):
        parts = value
    else:
        raise ValueError(f"{show(value)} is not {what}")
    if len(parts) != 2:
        raise ValueError(f"{show(value)} is not {what} (two numbers)")
    return parts[0], parts[1]


def parse_pair(value: Any) -> tuple[float, float]:
    """Two floats: ``"a/b"`` or ``"a,b"`` text, or a 2-element list/tuple."""
    a, b = _two(value, "/,", "a pair a/b")
    return (parse_float(a), parse_float(b))


def parse_point(value: Any) -> Point:
    """``"x,y"`` text or a 2-element list/tuple of numbers (or numeric text)."""
    a, b = _two(value, ",", "a point x,y")
    return (parse_float(a), parse_float(b))


def split_points(value: Any) -> list[Any]:
    """``"x,y;x,y"`` text into point texts; a list/tuple as it is."""
    if isinstance(value, str):
        return value.split(";") if value.strip() else []
    if isinstance(value, list | tuple):
        return list(value)
    raise ValueError(f"{show(value)} is not a list of points")


def parse_domain(value: Any) -> Domain:
    """``"xmin,xmax;ymin,ymax"`` or ``[[xmin, xmax], [ymin, ymax]]`` through the one domain
    validator (:func:`optviz.domain.validate_domain`)."""
    if isinstance(value, str):
        rows = value.split(";")
        if len(rows) != 2:
            raise ValueError(f"{show(value)} is not xmin,xmax;ymin,ymax")
        value = [parse_point(row) for row in rows]
    elif isinstance(value, list | tuple) and len(value) == 2:
        value = [parse_point(row) for row in value]
    else:
        raise ValueError(f"{show(value)} is not xmin,xmax;ymin,ymax")
    return validate_domain(value, "window")


def parse_color(value: Any) -> str:
    """``#rrggbb`` (``#`` optional on input), returned lower case with ``#``."""
    if isinstance(value, str):
        m = _COLOR_RE.fullmatch(value.strip())
        if m:
            return "#" + m.group(1).lower()
    raise ValueError(f"color {show(value)} is not a colour #rrggbb")


def parse_label(value: Any) -> str:
    """A printable label of at most ``MAX_LABEL_CHARS`` characters (stripped)."""
    if not isinstance(value, str):
        raise ValueError(f"label {show(value)} is not text")
    text = value.strip()
    if len(text) > MAX_LABEL_CHARS:
        raise ValueError(f"label is longer than {MAX_LABEL_CHARS} characters ({len(text)})")
    if not text.isprintable():
        raise ValueError(f"label {show(text)} has control or unprintable characters")
    return text
