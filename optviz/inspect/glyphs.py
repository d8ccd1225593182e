"""Drawing instructions for a :class:`~optviz.inspect.view.StepView`: pure, JSON-able.

Arrows start at θ and are in data coordinates. Two kinds of vector share no units, so each kind
has one scale factor: *steps* (Δθ, −γg, αd, Newton / natural / preconditioned directions,
offsets to other points: units of θ) are drawn at true size unless the longest is shorter than
``0.2 · scale_hint``, then magnified to ``scale_hint``; *gradients* (g, the noise-free g,
momentum buffers, moments, other state vectors: units of f/θ) are scaled so the longest is
``scale_hint``. Boxes (per-coordinate step sizes) are scaled so the widest half-width is
``scale_hint / 2``; ellipses so the longest semi-axis is ``scale_hint / 2``. Pass the ``scales``
of one view (:func:`glyph_scales`) to every step to keep glyphs comparable from step to step
(AdaGrad's box then visibly shrinks); by default each view gets its own.

Ellipse convention: a curvature-like matrix (Hessian, Fisher, G, curvature) is drawn as the
contour :math:`u^\\top M u = 1` of its quadratic form, semi-axes
:math:`\\propto 1/\\sqrt{|\\lambda|}` (long along the flat direction, as the surface's
contours); a preconditioner as the set of steps it maps the unit ball to, semi-axes
:math:`\\propto \\lambda`. Axes are the eigenvectors (``numpy.linalg.eigh``, ascending
eigenvalues); a negative eigenvalue (a saddle) is flagged.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from optviz.inspect.view import StepView

STEP_WORDS = ("update", "step", "direction", "− θ")
N_POINTS = 64


def vector_kind(name: str) -> str:
    """``"step"`` (units of θ) or ``"gradient"`` (units of f/θ)."""
    return "step" if any(word in name for word in STEP_WORDS) else "gradient"


def _finite(x: float) -> float | None:
    x = float(x)
    return x if math.isfinite(x) else None


def _norms(arrays) -> list[float]:
    return [float(np.hypot(*a)) for a in arrays if np.isfinite(a).all()]


def _semi_axes(name: str, lam: np.ndarray) -> np.ndarray:
    if "preconditioner" in name:
        return np.abs(lam)
    with np.errstate(divide="ignore"):
        raw = 1.0 / np.sqrt(np.abs(lam))
    finite = raw[np.isfinite(raw)]
    cap = 10 * finite.min() if finite.size else 1.0
    return np.where(np.isfinite(raw), raw, cap)


def glyph_scales(view: StepView, scale_hint: float) -> dict[str, float]:
    """Scale factors (data units per unit of the quantity) of each kind of glyph for ``view``."""
    hint = float(scale_hint)
    if not hint > 0:
        raise ValueError(f"scale_hint must be > 0, got {scale_hint!r}")
    steps = _norms(v for k, v in view.vectors.items() if vector_kind(k) == "step")
    grads = _norms(v for k, v in view.vectors.items() if vector_kind(k) == "gradient")
    longest = max(steps, default=0.0)
    widths = [float(np.max(np.abs(b))) for b in view.boxes.values() if np.isfinite(b).all()]
    axes = []
    for name, m in view.matrices.items():
        if np.isfinite(m).all():
            axes.append(float(_semi_axes(name, np.linalg.eigvalsh((m + m.T) / 2)).max()))
    return {
        "step": 1.0 if longest >= 0.2 * hint or longest == 0 else hint / longest,
        "gradient": hint / max(grads) if grads and max(grads) > 0 else 1.0,
        "box": hint / 2 / max(widths) if widths and max(widths) > 0 else 1.0,
        "ellipse": hint / 2 / max(axes) if axes and max(axes) > 0 else 1.0,
    }


def step_glyphs(view: StepView, scale_hint: float,
                scales: dict[str, float] | None = None) -> dict[str, Any]:
    """Arrows, boxes and ellipses of ``view`` around θ, with legend names and a scale note.

    ``scale_hint``: a visible length in data units (e.g. 8 % of the window's width).
    """
    scales = dict(glyph_scales(view, scale_hint) if scales is None else scales)
    x0, y0 = (float(c) for c in view.position)
    arrows = []
    for name, v in view.vectors.items():
        kind = vector_kind(name)
        s = scales[kind]
        end = (x0 + s * float(v[0]), y0 + s * float(v[1]))
        arrows.append({"name": name, "kind": kind, "scale": s,
                       "points": [x0, y0, _finite(end[0]), _finite(end[1])],
                       "vector": [_finite(v[0]), _finite(v[1])]})
    boxes = [{"name": name, "center": [x0, y0], "scale": scales["box"],
              "half_widths": [_finite(scales["box"] * abs(b[0])),
                              _finite(scales["box"] * abs(b[1]))],
              "values": [_finite(b[0]), _finite(b[1])]}
             for name, b in view.boxes.items()]
    ellipses = [_ellipse(name, m, (x0, y0), scales["ellipse"])
                for name, m in view.matrices.items() if np.isfinite(m).all()]
    legend = ([{"name": a["name"], "glyph": "arrow"} for a in arrows]
              + [{"name": b["name"], "glyph": "box"} for b in boxes]
              + [{"name": e["name"], "glyph": "ellipse"} for e in ellipses])
    return {"center": [x0, y0], "arrows": arrows, "boxes": boxes, "ellipses": ellipses,
            "legend": legend, "scales": scales, "note": _note(scales, arrows, boxes, ellipses)}


def _ellipse(name: str, m: np.ndarray, center: tuple[float, float], scale: float) -> dict:
    sym = (np.asarray(m, dtype=np.float64) + np.asarray(m, dtype=np.float64).T) / 2
    lam, vecs = np.linalg.eigh(sym)
    lengths = scale * _semi_axes(name, lam)
    angle = math.degrees(math.atan2(vecs[1, 0], vecs[0, 0]))
    phi = np.linspace(0.0, 2 * math.pi, N_POINTS, endpoint=False)
    pts = (np.array(center)[:, None] + vecs[:, :1] * lengths[0] * np.cos(phi)
           + vecs[:, 1:] * lengths[1] * np.sin(phi))
    return {"name": name, "center": list(center), "scale": scale,
            "convention": "steps" if "preconditioner" in name else "contour",
            "eigenvalues": [float(x) for x in lam],
            "axes": [[float(vecs[0, k]), float(vecs[1, k])] for k in range(2)],
            "lengths": [float(x) for x in lengths], "angle": angle,
            "negative": [bool(x < 0) for x in lam],
            "points": [[float(x), float(y)] for x, y in pts.T]}


def _note(scales, arrows, boxes, ellipses) -> str:
    parts = []
    if any(a["kind"] == "step" for a in arrows):
        s = scales["step"]
        parts.append("steps at true size" if s == 1.0 else f"steps magnified ×{s:.3g}")
    if any(a["kind"] == "gradient" for a in arrows):
        parts.append(f"gradients and moments ×{scales['gradient']:.3g}")
    if boxes:
        parts.append(f"step-size boxes ×{scales['box']:.3g}")
    if ellipses:
        parts.append(f"ellipses ×{scales['ellipse']:.3g} (curvature: contour, semi-axes "
                     "∝ 1/√|λ|; preconditioner: semi-axes ∝ λ)")
    return "; ".join(parts)
