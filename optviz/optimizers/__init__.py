"""Optimizer registry: ``torch.optim`` classes and our own, with schemas, maths and references.

Every entry is an :class:`OptimizerSpec` (class path, hyperparameter schema, LaTeX of the rule
that runs, reference); :data:`VARIANTS` are the names the UI lists (Momentum, Nesterov, AMSGrad,
Adam + L2, ...) as presets of those entries. Listing needs no torch: the classes (and torch) are
imported on first use.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Iterable, Mapping
from importlib import import_module
from typing import TYPE_CHECKING, Any

from optviz.optimizers.registry import REGISTRY, VARIANTS
from optviz.optimizers.spec import (
    FROM_SIGNATURE,
    Hyperparameter,
    HyperparameterError,
    OptimizerSpec,
    UnknownNameError,
    Variant,
)

if TYPE_CHECKING:
    import torch

_LAZY = {
    "VSGD": "optviz.optimizers.vsgd",
    "AdaGradFull": "optviz.optimizers.adagrad_full",
    "DiagNewton": "optviz.optimizers.diag_newton",
    "NaturalGradient": "optviz.optimizers.natural_gradient",
    "Newton": "optviz.optimizers.newton",
    "KernelOptimizer": "optviz.optimizers._kernel",
    "GradFn": "optviz.optimizers._kernel",
    "HessianFn": "optviz.optimizers._kernel",
}

__all__ = [
    "FROM_SIGNATURE",
    "REGISTRY",
    "VARIANTS",
    "Hyperparameter",
    "HyperparameterError",
    "OptimizerSpec",
    "UnknownNameError",
    "Variant",
    "build_optimizer",
    "get_optimizer",
    "get_variant",
    "list_optimizers",
    "list_variants",
    "variant_hyperparameters",
    *_LAZY,
]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        value = getattr(import_module(_LAZY[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'optviz.optimizers' has no attribute {name!r}")


def list_optimizers() -> list[str]:
    """Registry keys: ``torch.optim`` first, then well-kept packages', then our own."""
    return list(REGISTRY)


def get_optimizer(key: str) -> OptimizerSpec:
    """The spec for ``key``; KeyError lists the known keys, TypeError for a non-string."""
    if not isinstance(key, str):
        raise TypeError(f"optimizer must be a registry key (str), got {type(key).__name__}")
    try:
        return REGISTRY[key]
    except KeyError:
        raise UnknownNameError(
            f"unknown optimizer {key!r}; known: {', '.join(REGISTRY)}"
        ) from None


def list_variants() -> list[str]:
    """Variant keys in the order the UI lists them."""
    return list(VARIANTS)


def get_variant(key: str) -> Variant:
    """The variant ``key``; KeyError lists the known keys, TypeError for a non-string."""
    if not isinstance(key, str):
        raise TypeError(f"variant must be a key (str), got {type(key).__name__}")
    try:
        return VARIANTS[key]
    except KeyError:
        raise UnknownNameError(
            f"unknown variant {key!r}; known: {', '.join(VARIANTS)}"
        ) from None


def variant_hyperparameters(key: str, hparams: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """Complete torch kwargs of variant ``key``: defaults, its overrides, then ``hparams``."""
    variant = get_variant(key)
    return get_optimizer(variant.optimizer).validate({**variant.overrides, **(hparams or {})})


@functools.cache
def _takes_foreach(cls: type) -> bool:
    return "foreach" in inspect.signature(cls.__init__).parameters


def build_optimizer(
    key: str,
    params: torch.Tensor | Iterable[Any],
    hparams: Mapping[str, Any] | None = None,
    hessian_fn: Any = None,
    grad_fn: Any = None,
) -> torch.optim.Optimizer:
    """A validated optimizer instance.

    ``hessian_fn`` (``(N, 2) -> (N, 2, 2)``) is passed only to specs with ``needs_hessian``
    (to a package's class, SophiaH, through :func:`optviz.optimizers.hutchinson.hutchinson_hook`),
    ``grad_fn`` (``(N, 2) -> (N, 2)``, the noise-free gradient) only to specs with
    ``needs_grad_fn``; the others ignore them.
    """
    import torch

    spec = get_optimizer(key)
    kwargs = spec.validate(hparams)
    if isinstance(params, torch.Tensor):
        params = [params]
    if spec.wraps:  # Lookahead: build the base variant, then wrap it
        from optviz.optimizers.wrappers import build_wrapper

        return build_wrapper(spec, params, kwargs, hessian_fn=hessian_fn, grad_fn=grad_fn)
    kwargs = spec.class_kwargs(kwargs)
    if spec.needs_hessian and spec.origin == "package":  # SophiaH: step(hessian=...) by a hook
        from optviz.optimizers.hutchinson import hutchinson_hook

        optimizer = spec.cls(params, **kwargs)
        optimizer.register_step_pre_hook(
            hutchinson_hook(hessian_fn, kwargs["update_period"], kwargs["hessian_distribution"])
        )
        return optimizer
    if spec.needs_hessian:
        kwargs["hessian_fn"] = hessian_fn
    if spec.needs_grad_fn:
        kwargs["grad_fn"] = grad_fn
    if spec.is_torch and _takes_foreach(spec.cls):
        # The single-tensor path is what torch picks on the CPU anyway (same numbers);
        # saying so skips torch's per-step check for fused/foreach support. Package classes
        # keep their own default (pytorch-optimizer's None means multi-tensor on the CPU too).
        kwargs["foreach"] = False
    return spec.cls(params, **kwargs)
