"""Counter-based Gaussian gradient noise whose stream depends only on (seed, run, start, step).

A particle's noise must not depend on how many particles share its batch (``torch.randn(N, 2)``
gives row 0 different numbers for different N), so each draw is a pure function of its indices:
SplitMix64 (Steele, Lea & Flood 2014) hashes ``(seed, run, start)`` into a key and
``(key, step, call)`` into two uniforms, and the Box–Muller transform turns them into two
independent standard normals

.. math:: z_0 = \\sqrt{-2\\ln u_1}\\cos 2\\pi u_2,\\qquad z_1 = \\sqrt{-2\\ln u_1}\\sin 2\\pi u_2 .

Everything is vectorized over particles with numpy ``uint64`` arithmetic (which wraps mod 2^64).
"""

from __future__ import annotations

import numpy as np

_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_MIX1 = np.uint64(0xBF58476D1CE4E5B9)
_MIX2 = np.uint64(0x94D049BB133111EB)
_CALLS_PER_STEP = 1 << 16


def _splitmix64(z: np.ndarray) -> np.ndarray:
    """SplitMix64 finalizer applied elementwise to a ``uint64`` array."""
    z = z + _GOLDEN
    z = (z ^ (z >> np.uint64(30))) * _MIX1
    z = (z ^ (z >> np.uint64(27))) * _MIX2
    return z ^ (z >> np.uint64(31))


def particle_keys(seed: int, runs: np.ndarray, starts: np.ndarray) -> np.ndarray:
    """One 64-bit key per particle from its (seed, run index, start index)."""
    with np.errstate(over="ignore"):
        base = _splitmix64(np.asarray([seed], dtype=np.uint64))
        key = _splitmix64(base ^ np.asarray(runs, dtype=np.uint64))
        return _splitmix64(key ^ (np.asarray(starts, dtype=np.uint64) * _MIX2))


def standard_normal(keys: np.ndarray, step: int, call: int = 0) -> np.ndarray:
    """Standard normal draws of shape ``(len(keys), 2)`` for one step (and evaluation ``call``)."""
    if not 0 <= call < _CALLS_PER_STEP:
        raise ValueError(f"call index {call} outside [0, {_CALLS_PER_STEP})")
    counter = np.uint64(step * _CALLS_PER_STEP + call)
    with np.errstate(over="ignore"):
        h = _splitmix64(keys ^ _splitmix64(np.asarray([counter * np.uint64(2)], dtype=np.uint64)))
        g = _splitmix64(h ^ _MIX1)
    scale = 2.0**-53
    u1 = ((h >> np.uint64(11)).astype(np.float64) + 1.0) * scale  # in (0, 1]
    u2 = (g >> np.uint64(11)).astype(np.float64) * scale  # in [0, 1)
    radius = np.sqrt(-2.0 * np.log(u1))
    angle = 2.0 * np.pi * u2
    return np.stack([radius * np.cos(angle), radius * np.sin(angle)], axis=-1)
