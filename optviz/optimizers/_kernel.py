r"""Own optimizers as pure kernels, wrapped once as ``torch.optim.Optimizer`` classes.

The math of each own optimizer lives once, as two torch-only functions in the shape of optax's
``GradientTransformation``:

.. math::
    s_0 = \mathrm{init}(\theta_0), \qquad
    (\Delta\theta_t,\ s_t) = \mathrm{update}(g_t,\ s_{t-1},\ \theta_{t-1};\ \text{hyperparameters}),
    \qquad \theta_t = \theta_{t-1} + \Delta\theta_t

``update`` works on rows ``(N, 2)`` (one independent 2D point per row) and takes its
hyperparameters as keyword-only arguments with defaults: those defaults are THE defaults (the
class and the registry read them from the signature). It may also ask for ``hessian`` (the
per-row Hessian at :math:`\theta_{t-1}`, ``(N, 2, 2)``) and ``clean_grad`` (the noise-free
gradient there, ``(N, 2)``) by naming them as keyword arguments. The PyTorch export embeds the
very same source (:func:`inspect.getsource`), so the script runs the code the app runs.

Reference: the ``init``/``update`` split follows optax (Babuschkin et al. 2020, "The DeepMind JAX
Ecosystem").
"""

from __future__ import annotations

import inspect
import math
from collections.abc import Callable
from typing import Any, ClassVar

import torch

GradFn = Callable[[torch.Tensor], torch.Tensor]
HessianFn = Callable[[torch.Tensor], torch.Tensor]
_EXTRA_INPUTS = ("hessian", "clean_grad")


def kernel_defaults(update: Callable[..., Any]) -> dict[str, Any]:
    """The hyperparameters of ``update``: its keyword-only arguments and their defaults."""
    return {
        name: p.default
        for name, p in inspect.signature(update).parameters.items()
        if p.kind is p.KEYWORD_ONLY and name not in _EXTRA_INPUTS
    }


def kernel_inputs(update: Callable[..., Any]) -> tuple[str, ...]:
    """Which of ``hessian`` / ``clean_grad`` the kernel ``update`` asks for."""
    params = inspect.signature(update).parameters
    return tuple(name for name in _EXTRA_INPUTS if name in params)


def check_number(name: str, value: Any, low: float, *, strict: bool = False) -> None:
    """Refuse a non-number, non-finite ``value`` or one below ``low`` (``strict``: at or below)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise TypeError(f"Invalid {name}: {value!r} (must be a number)")
    bad = not math.isfinite(value) or (value <= low if strict else value < low)
    if bad:
        sign = ">" if strict else "≥"
        raise ValueError(f"Invalid {name}: {value} (must be finite and {sign} {low})")


def check_fraction(name: str, value: Any) -> None:
    """Refuse ``value`` outside ``[0, 1)``."""
    check_number(name, value, 0.0)
    if not value < 1.0:
        raise ValueError(f"Invalid {name}: {value} (must be in [0, 1))")


def as_rows(t: torch.Tensor, who: str) -> torch.Tensor:
    """``(..., 2) -> (N, 2)``: a parameter is a batch of independent 2D points."""
    if t.dim() == 0 or t.shape[-1] != 2:
        shape = tuple(t.shape)
        raise ValueError(f"{who} steps 2D points: the last dimension must be 2, got {shape}")
    return t.reshape(-1, 2)


def autograd_hessian(loss: torch.Tensor, p: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    r"""Gradient ``(N, 2)`` and per-row Hessian ``(N, 2, 2)`` of ``loss`` (a sum over rows).

    Rows are independent, so :math:`\partial(\sum_n g_{n,k})/\partial\theta = H[:, k, :]`: two
    extra backward passes give every row's Hessian.
    """
    if not (torch.is_tensor(loss) and loss.requires_grad):
        raise RuntimeError(
            "a Hessian without hessian_fn needs a closure returning the loss still attached to "
            "its graph (do not call backward() inside it)"
        )
    try:
        (g,) = torch.autograd.grad(loss, p, create_graph=True)
    except RuntimeError as err:
        raise RuntimeError(
            "could not differentiate the closure's loss twice; return the loss without "
            f"calling backward() (or use backward(create_graph=True)): {err}"
        ) from err
    rows = as_rows(g, "autograd_hessian")
    hessian_rows = []
    for k in (0, 1):
        if rows.requires_grad:
            (hk,) = torch.autograd.grad(
                rows[:, k].sum(), p, retain_graph=True, allow_unused=True, materialize_grads=True
            )
        else:  # the gradient does not depend on p: f is linear
            hk = torch.zeros_like(p)
        hessian_rows.append(as_rows(hk, "autograd_hessian"))
    return rows.detach(), torch.stack(hessian_rows, dim=-2).detach()


class KernelOptimizer(torch.optim.Optimizer):
    """A ``torch.optim.Optimizer`` running the kernel ``init_state``/``update_state`` on rows.

    Subclasses set ``label``, the two kernel functions (as ``staticmethod``) and ``checks``
    (hyperparameter name -> check, as torch validates its own arguments). Keyword arguments are
    the kernel's hyperparameters (defaults from its signature), plus ``hessian_fn`` (``(N, 2) ->
    (N, 2, 2)``) and ``grad_fn`` (``(N, 2) -> (N, 2)``, the noise-free gradient) for kernels that
    ask for ``hessian`` / ``clean_grad``. Without ``hessian_fn`` a kernel that asks for the
    Hessian gets it by double backward through ``step(closure)``, whose closure must then return
    the loss WITHOUT calling ``backward()`` (with neither, it gets ``None`` and says whether it
    needs it); without ``grad_fn``, ``clean_grad`` is ``p.grad``.
    ``p.grad`` (noise included: the runner sets it) is the gradient ``g`` of the rule; with the
    autograd Hessian and no ``p.grad``, ``g`` is the closure's gradient.
    """

    label: ClassVar[str] = "KernelOptimizer"
    init_state: ClassVar[Callable[..., dict]]
    update_state: ClassVar[Callable[..., tuple[torch.Tensor, dict]]]
    checks: ClassVar[dict[str, Callable[[str, Any], None]]] = {}
    requires_hessian: ClassVar[bool] = False  # refuse step() without a Hessian source at once

    def __init__(
        self,
        params: Any,
        *,
        hessian_fn: HessianFn | None = None,
        grad_fn: GradFn | None = None,
        **hyperparameters: Any,
    ) -> None:
        defaults = kernel_defaults(self.update_state)
        unknown = sorted(set(hyperparameters) - set(defaults))
        if unknown:
            raise TypeError(
                f"{self.label} got unexpected keyword argument(s) {', '.join(unknown)}; "
                f"its hyperparameters: {', '.join(defaults)}"
            )
        merged = {**defaults, **hyperparameters}
        for name, check in self.checks.items():
            check(name, merged[name])
        for name, fn in (("hessian_fn", hessian_fn), ("grad_fn", grad_fn)):
            if fn is not None and not callable(fn):
                raise ValueError(f"Invalid {name}: {fn!r} (must be callable or None)")
        super().__init__(params, merged)
        self.hessian_fn, self.grad_fn = hessian_fn, grad_fn
        self._inputs = kernel_inputs(self.update_state)
        self._names = tuple(defaults)  # the hyperparameters each step hands the kernel

    def step(self, closure: Callable[[], torch.Tensor] | None = None):  # type: ignore[override]
        """One kernel update of every row of every parameter that has a gradient."""
        loss = None
        auto: dict[torch.Tensor, tuple[torch.Tensor, torch.Tensor]] = {}
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
                if "hessian" in self._inputs and self.hessian_fn is None:
                    for group in self.param_groups:
                        for p in group["params"]:
                            auto[p] = autograd_hessian(loss, p)
        elif self.requires_hessian and self.hessian_fn is None:
            raise RuntimeError(f"{self.label} needs hessian_fn or a closure returning the loss")
        with torch.no_grad():
            for group in self.param_groups:
                for p in group["params"]:
                    self._step_param(p, {k: group[k] for k in self._names}, auto.get(p))
        return loss

    def _step_param(self, p: torch.Tensor, hyper: dict, auto: Any) -> None:
        theta = as_rows(p, self.label)
        if p.grad is not None:
            grad = as_rows(p.grad, self.label).to(p.dtype)
        elif auto is not None:
            grad = auto[0]
        else:
            return
        extra: dict[str, torch.Tensor] = {}
        if "hessian" in self._inputs:  # None without a source: the kernel says if it needs one
            extra["hessian"] = auto[1] if auto is not None else self._call(
                self.hessian_fn, theta, (theta.shape[0], 2, 2), "hessian_fn")
        if "clean_grad" in self._inputs:
            extra["clean_grad"] = grad if self.grad_fn is None else self._call(
                self.grad_fn, theta, theta.shape, "grad_fn")
        state = self.state[p] if self.state[p] else self.init_state(theta)
        delta, state = self.update_state(grad, state, theta, **extra, **hyper)
        self.state[p] = state
        p.add_(delta.reshape(p.shape))

    def _call(self, fn: Callable | None, theta: torch.Tensor, shape: tuple, name: str):
        """``fn(theta)`` reshaped to ``shape`` (None without ``fn``), or a clear error."""
        if fn is None:
            return None
        out = torch.as_tensor(fn(theta.clone())).to(theta)
        if out.numel() != math.prod(shape):
            raise ValueError(
                f"{self.label}: {name} must map (N, 2) positions to shape {tuple(shape)}; got "
                f"{tuple(out.shape)} for positions {tuple(theta.shape)}"
            )
        return out.reshape(shape)
