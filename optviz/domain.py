"""Points and plot windows: the one ``Point``/``Domain`` type and the one domain validator.

Light on purpose (no torch, no numpy): surfaces, the scene and the runner all use it.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Sequence
from typing import Any

from optviz.limits import MAX_DOMAIN_ABS, MIN_DOMAIN_SPAN

__all__ = ["Domain", "Point", "finite_float", "in_domain", "validate_domain"]

Point = tuple[float, float]
#: ``((xmin, xmax), (ymin, ymax))``
Domain = tuple[tuple[float, float], tuple[float, float]]


def finite_float(value: Any, what: str) -> float:
    """A finite float from a real number (not a bool); ``ValueError`` naming ``what`` otherwise,
    also for an integer too large for a float (``10**400``)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise ValueError(f"{what} must be a number, got {_short(value)}")
    try:
        x = float(value)
    except (OverflowError, ValueError):
        raise ValueError(f"{what}: {_short(value)} is too large for a number") from None
    if not math.isfinite(x):
        raise ValueError(f"{what} must be finite, got {_short(value)}")
    return x


def _short(value: Any, limit: int = 40) -> str:
    try:
        text = repr(value)
    except Exception:  # e.g. an int beyond str()'s digit limit
        text = f"<{type(value).__name__}>"
    return text if len(text) <= limit else text[:limit] + "…"


def validate_domain(domain: Any, what: str = "domain") -> Domain:
    """``((xmin, xmax), (ymin, ymax))`` as floats: finite, ordered, within ``±MAX_DOMAIN_ABS``,
    each side at least ``MIN_DOMAIN_SPAN`` wide. Anything else is a ``ValueError`` naming
    ``what`` (a wrong shape is a bad value here: the surface files and the scene report it so)."""
    if not isinstance(domain, Sequence) or isinstance(domain, str | bytes) or len(domain) != 2:
        raise ValueError(f"{what} must be [[xmin, xmax], [ymin, ymax]], got {_short(domain)}")
    sides = []
    for axis, side in zip("xy", domain, strict=True):
        if not isinstance(side, Sequence) or isinstance(side, str | bytes) or len(side) != 2:
            raise ValueError(
                f"{what}: the {axis} range must be [{axis}min, {axis}max], got {_short(side)}"
            )
        lo = finite_float(side[0], f"{what}: {axis}min")
        hi = finite_float(side[1], f"{what}: {axis}max")
        if max(abs(lo), abs(hi)) > MAX_DOMAIN_ABS:
            raise ValueError(
                f"{what}: {axis} bounds must lie in [-{MAX_DOMAIN_ABS:g}, {MAX_DOMAIN_ABS:g}], "
                f"got [{lo:.4g}, {hi:.4g}]"
            )
        if not lo < hi:
            raise ValueError(
                f"{what}: {axis}min < {axis}max is required, got [{lo:.4g}, {hi:.4g}]"
            )
        if hi - lo < MIN_DOMAIN_SPAN:
            raise ValueError(f"{what}: the {axis} range must be at least {MIN_DOMAIN_SPAN:g} wide")
        sides.append((lo, hi))
    return (sides[0], sides[1])


def in_domain(p: Point, domain: Domain) -> bool:
    """Is ``p`` inside the window (bounds included)?"""
    (x0, x1), (y0, y1) = domain
    return x0 <= p[0] <= x1 and y0 <= p[1] <= y1
