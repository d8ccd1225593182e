"""Checks for the arguments of optviz's public functions: one contract, one place.

A wrong *type* raises ``TypeError``, a bad *value* (out of range, not finite, unknown name, a
400-digit integer) raises ``ValueError``; each message names the argument. Nothing else escapes
(no ``OverflowError``, ``KeyError`` or ``AttributeError`` from deeper down).
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Collection, Mapping, Sequence
from typing import Any

import numpy as np


class UnknownNameError(KeyError, ValueError):
    """An unknown catalogue key (surface, optimizer, variant): a ``KeyError`` for lookups and a
    ``ValueError`` for the contract that a bad value raises ``ValueError``; its text is the plain
    message (``KeyError`` would quote it)."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else ""


def show(value: Any, limit: int = 40) -> str:
    """A short ``repr`` for messages (a huge integer is described, never printed)."""
    if isinstance(value, int) and not isinstance(value, bool) and value.bit_length() > 128:
        return "a huge integer"
    try:
        text = repr(value)
    except Exception:  # a hostile __repr__ must not replace the real error
        text = f"<{type(value).__name__}>"
    return text if len(text) <= limit else text[: limit - 1] + "…"


def whole(name: str, value: Any, low: int, high: int) -> int:
    """``value`` as an ``int`` in ``[low, high]``."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be a whole number, got {type(value).__name__}")
    n = int(value)
    if not low <= n <= high:
        raise ValueError(f"{name} must be between {low:,} and {high:,}, got {show(n)}")
    return n


def real(name: str, value: Any, low: float | None = None, high: float | None = None) -> float:
    """``value`` as a finite ``float`` in ``[low, high]``."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a number, got {type(value).__name__}")
    try:
        x = float(value)
    except OverflowError:
        raise ValueError(f"{name} is too large: {show(value)}") from None
    if not math.isfinite(x):
        raise ValueError(f"{name} must be finite, got {show(value)}")
    if (low is not None and x < low) or (high is not None and x > high):
        lo = "-inf" if low is None else f"{low:g}"
        hi = "inf" if high is None else f"{high:g}"
        raise ValueError(f"{name} must be in [{lo}, {hi}], got {show(value)}")
    return x


def flag(name: str, value: Any) -> bool:
    """``value`` as a ``bool`` (numpy's included)."""
    if isinstance(value, bool | np.bool_):
        return bool(value)
    raise TypeError(f"{name} must be True or False, got {type(value).__name__}")


def choice(name: str, value: Any, choices: Collection[str]) -> str:
    """One of ``choices`` (strings)."""
    if not isinstance(value, str):
        raise TypeError(f"{name} must be a string, one of {sorted(choices)}, got "
                        f"{type(value).__name__}")
    if value not in choices:
        raise ValueError(f"{name} must be one of {sorted(choices)}, got {show(value)}")
    return value


def points(name: str, value: Any) -> np.ndarray:
    """``(x, y)`` or a sequence of them as a finite ``(n, 2)`` float64 array, ``n ≥ 1``."""
    if isinstance(value, str | bytes | Mapping) or not isinstance(value, Sequence | np.ndarray):
        raise TypeError(f"{name} must be a list of (x, y) pairs, got {type(value).__name__}")
    if (isinstance(value, np.ndarray) and value.ndim == 2 and value.shape[1] == 2
            and len(value) > 0 and value.dtype.kind in "fiu"):  # fast path: 40,000 starts at once
        out = value.astype(np.float64)
        bad = np.flatnonzero(~np.isfinite(out).all(axis=1))
        if len(bad):
            raise ValueError(f"{name}[{bad[0]}] must be finite, got {out[bad[0]].tolist()}")
        return out
    rows = [value] if len(value) == 2 and all(_is_number(v) for v in value) else list(value)
    out = np.empty((len(rows), 2), dtype=np.float64)
    for i, row in enumerate(rows):
        if isinstance(row, str | bytes | Mapping) or not isinstance(row, Sequence | np.ndarray):
            raise TypeError(f"{name}[{i}] must be an (x, y) pair, got {type(row).__name__}")
        if len(row) != 2:
            raise ValueError(f"{name}[{i}] must be an (x, y) pair, got {len(row)} numbers")
        for j, v in enumerate(row):
            out[i, j] = real(f"{name}[{i}][{j}]", v)
    if len(out) == 0:
        raise ValueError(f"{name} must hold at least one (x, y) pair")
    return out


def _is_number(v: Any) -> bool:
    return isinstance(v, numbers.Real) and not isinstance(v, bool)
