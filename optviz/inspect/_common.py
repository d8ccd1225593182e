"""What every family's explanation reads (:class:`StepData`) and returns (:class:`Parts`), and
the number formatting of the LaTeX lines."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

XY = ("x", "y")


@dataclass
class Parts:
    """A family's explanation of one step (the fields of :class:`StepView` it fills)."""

    vectors: dict[str, np.ndarray] = field(default_factory=dict)
    boxes: dict[str, np.ndarray] = field(default_factory=dict)
    matrices: dict[str, np.ndarray] = field(default_factory=dict)
    values: dict[str, float] = field(default_factory=dict)
    meanings: dict[str, str] = field(default_factory=dict)
    latex: str = ""
    why: str = ""
    grad: np.ndarray | None = None  # only where the optimizer saw another gradient than traj.grad

    def value(self, symbol: str, number: float, meaning: str) -> float:
        """Record a scalar ``symbol`` and its meaning; returns the number."""
        self.values[symbol] = float(number)
        self.meanings[symbol] = meaning
        return float(number)

    def pair(self, symbol: str, numbers: np.ndarray, meaning: str) -> np.ndarray:
        """Record ``symbol_x`` and ``symbol_y``; returns the pair as a float array."""
        array = np.asarray(numbers, dtype=np.float64).reshape(2)
        for axis, number in zip(XY, array, strict=True):
            self.value(f"{symbol}_{axis}", number, f"{meaning} ({axis})")
        return array


@dataclass
class StepData:
    """One step of one particle: the recorded arrays it reads (state before and after)."""

    key: str
    hp: dict[str, Any]  # complete torch kwargs of the run
    step: int
    theta: np.ndarray  # (2,) θ at ``step``
    grad: np.ndarray  # (2,) what the optimizer saw
    update: np.ndarray  # (2,) recorded Δθ
    lr: float  # the lr this step used (schedules included)
    state: dict[str, np.ndarray]  # the run's recorded state for this start: name -> (steps+1, ...)
    surface: Any = None  # the Surface, or None when it cannot be resolved

    @property
    def t(self) -> int:
        """The optimizer's step count after this step (torch's ``state["step"]``)."""
        return self.step + 1

    def has(self, name: str) -> bool:
        return name in self.state

    def after(self, name: str) -> np.ndarray:
        """The state tensor ``name`` after this step (row ``step + 1``)."""
        return np.array(self.state[name][self.step + 1], dtype=np.float64)

    def before(self, name: str, fill: float = 0.0) -> np.ndarray:
        """The state tensor ``name`` before this step (row ``step``); a state the optimizer had
        not created yet (NaN before its first step) reads as ``fill``."""
        if name not in self.state:
            return np.full(self.state_shape(name), fill)
        value = np.array(self.state[name][self.step], dtype=np.float64)
        return np.where(np.isnan(value), fill, value) if self.never_stepped(value) else value

    def never_stepped(self, value: np.ndarray) -> bool:
        return self.step == 0 or bool(np.isnan(value).all())

    def state_shape(self, name: str) -> tuple[int, ...]:
        return tuple(self.state[name].shape[1:]) if name in self.state else (2,)


def num(x: float, digits: int = 4) -> str:
    """A number for LaTeX: 4 significant digits, ``a \\times 10^{b}`` outside [1e-3, 1e4)."""
    x = float(x)
    if math.isnan(x):
        return r"\mathrm{NaN}"
    if math.isinf(x):
        return r"\infty" if x > 0 else r"-\infty"
    if x == 0:
        return "0"
    if 1e-3 <= abs(x) < 1e4:
        text = f"{x:.{digits}g}"
        return text if "e" not in text else num_sci(x, digits)
    return num_sci(x, digits)


def num_sci(x: float, digits: int) -> str:
    mantissa, exponent = f"{x:.{digits - 1}e}".split("e")
    mantissa = mantissa.rstrip("0").rstrip(".") if "." in mantissa else mantissa
    if mantissa in ("1", "-1"):
        return rf"{'-' if mantissa == '-1' else ''}10^{{{int(exponent)}}}"
    return rf"{mantissa} \times 10^{{{int(exponent)}}}"


def vec(v: np.ndarray) -> str:
    """A column vector for LaTeX."""
    return rf"\begin{{pmatrix}} {num(v[0])} \\ {num(v[1])} \end{{pmatrix}}"


def mat(m: np.ndarray) -> str:
    return (rf"\begin{{pmatrix}} {num(m[0, 0])} & {num(m[0, 1])} \\ "
            rf"{num(m[1, 0])} & {num(m[1, 1])} \end{{pmatrix}}")


def norm(v: np.ndarray) -> float:
    return float(np.hypot(v[0], v[1]))


def angle_between(a: np.ndarray, b: np.ndarray) -> float | None:
    """Degrees between two vectors (None if either is zero)."""
    na, nb = norm(a), norm(b)
    if na == 0 or nb == 0 or not (math.isfinite(na) and math.isfinite(nb)):
        return None
    cos = float(np.clip(np.dot(a, b) / (na * nb), -1.0, 1.0))
    return math.degrees(math.acos(cos))


def short(x: float) -> str:
    """A number for a plain sentence (3 significant digits)."""
    return f"{float(x):.3g}"


def larger_axis_sentence(steps: np.ndarray, what: str, small: str) -> str:
    """"the <what> is small along x, so the step along x is N× larger": from per-coordinate
    step sizes ``steps`` (per unit gradient)."""
    sx, sy = float(steps[0]), float(steps[1])
    if not (math.isfinite(sx) and math.isfinite(sy)) or min(sx, sy) <= 0:
        return ""
    big, other = (0, 1) if sx >= sy else (1, 0)
    ratio = max(sx, sy) / min(sx, sy)
    if ratio < 1.1:
        return (f"the {what} is about the same along x and y, so both coordinates step about "
                f"equally per unit of gradient (step size {short(sx)} vs {short(sy)})")
    return (f"the {what} is {small} along {XY[big]}, so the step along {XY[big]} is "
            f"{short(ratio)}× larger per unit of gradient than along {XY[other]} "
            f"({short(steps[big])} vs {short(steps[other])})")
