"""Wrappers: optimizers built around another optimizer instance (Lookahead).

A wrapper's spec has ``wraps=True`` and a ``base`` hyperparameter naming a UI variant (``"adam"``,
``"momentum"``, ...). The base is built exactly as that variant runs on its own (its registry
defaults and overrides), then handed to the wrapper class with the wrapper's other
hyperparameters: ``Lookahead(Adam([p], lr=0.05, ...), k=5, alpha=0.5)``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import torch

    from optviz.optimizers.spec import OptimizerSpec

BASE = "base"  # the hyperparameter that names the wrapped optimizer's variant


def base_of(kwargs: Mapping[str, Any]) -> tuple[str, dict[str, Any]]:
    """The wrapped optimizer's registry key and its complete keyword arguments."""
    from optviz.optimizers import get_variant, variant_hyperparameters

    variant = kwargs[BASE]
    return get_variant(variant).optimizer, variant_hyperparameters(variant)


def wrapper_kwargs(kwargs: Mapping[str, Any]) -> dict[str, Any]:
    """The wrapper's own keyword arguments (everything but ``base``)."""
    return {name: value for name, value in kwargs.items() if name != BASE}


def build_wrapper(
    spec: OptimizerSpec, params: Iterable[torch.Tensor], kwargs: Mapping[str, Any], **extra: Any
) -> torch.optim.Optimizer:
    """``spec.cls(base, **rest)`` where ``base`` is the variant ``kwargs["base"]`` on ``params``."""
    from optviz.optimizers import build_optimizer

    key, base_kwargs = base_of(kwargs)
    base = build_optimizer(key, params, base_kwargs, **extra)
    return spec.cls(base, **wrapper_kwargs(kwargs))
