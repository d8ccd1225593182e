"""Batched updates: K settings of one ``torch.optim`` class as rows of ONE ``(K·S, 2)`` leaf.

One param group per setting costs ~150 µs per step each (``shared/reference/measurements.md``),
so a 512-setting sweep through ``torch.optim`` instances is ~40 s. Here every hyperparameter is a
per-row column ``(K·S, 1)`` and each update replays torch's single-tensor code path
(``_single_tensor_<name>`` in ``torch/optim/``: SGD, Adam, AdamW, RMSprop, Adagrad, Adamax,
Adadelta, NAdam; ``foreach=False`` as the runner builds them) op for op, with the
scalar-argument forms replaced by tensor forms that round identically on this CPU build:

==============================================  =========================================
torch (scalar ``s``)                            batched (column ``c``)
==============================================  =========================================
``a.add(b, alpha=s)``                           ``torch.addcmul(a, b, c)``
``a.mul_(s).addcmul_(g, g, value=1 - s)``       ``torch.addcmul(a * c, (1 - c) * g, g)``
``a.addcdiv_(t1, t2, value=s)``                 ``a + (c * t1) / t2``
``a.lerp_(g, s)``                               ``torch.lerp(a, g, c)``
``s / a`` (``Tensor.__rtruediv__``)             ``a.reciprocal() * c``
``1 - beta ** step`` (Python ``pow``)           the same Python expression per setting
==============================================  =========================================

Branches on a hyperparameter (``momentum != 0``, ``weight_decay != 0``, ``nesterov``,
``amsgrad``, ``centered``) are taken per row with ``torch.where``, so a phase map may mix them.
Exactness is a test (``tests/test_analysis.py`` compares with ``simulate``, bit for bit), not a
claim: a torch upgrade that changes an op order shows up there first.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import torch

# Hyperparameters each kernel understands; any other key (or value kind) means "not batched".
_KNOWN: dict[str, frozenset[str]] = {
    "sgd": frozenset({"lr", "momentum", "dampening", "weight_decay", "nesterov", "maximize"}),
    "adam": frozenset({"lr", "betas", "eps", "weight_decay", "amsgrad", "maximize"}),
    "adamw": frozenset({"lr", "betas", "eps", "weight_decay", "amsgrad", "maximize"}),
    "rmsprop": frozenset({"lr", "alpha", "eps", "weight_decay", "momentum", "centered",
                          "maximize"}),
    "adagrad": frozenset({"lr", "lr_decay", "weight_decay", "initial_accumulator_value", "eps",
                          "maximize"}),
    "adamax": frozenset({"lr", "betas", "eps", "weight_decay", "maximize"}),
    "adadelta": frozenset({"lr", "rho", "eps", "weight_decay", "maximize"}),
    "nadam": frozenset({"lr", "betas", "eps", "weight_decay", "momentum_decay",
                        "decoupled_weight_decay", "maximize"}),
    "radam": frozenset({"lr", "betas", "eps", "weight_decay", "decoupled_weight_decay",
                        "maximize"}),
    "rprop": frozenset({"lr", "etas", "step_sizes", "maximize"}),
    "asgd": frozenset({"lr", "lambd", "alpha", "t0", "weight_decay", "maximize"}),
}


def supports(key: str, settings: Sequence[Mapping[str, Any]]) -> bool:
    """Whether ``key`` with these (validated) settings has a batched kernel here."""
    known = _KNOWN.get(key)
    if known is None:
        return False
    for kwargs in settings:
        extra = {k for k in kwargs if k not in known and k not in ("foreach", "differentiable",
                                                                   "capturable", "fused")}
        if extra or kwargs.get("maximize", False) or kwargs.get("fused"):
            return False
        if kwargs.get("differentiable") or kwargs.get("capturable"):
            return False
    return True


class _Columns:
    """Per-setting values broadcast to per-row ``(K·S, 1)`` columns (setting-major rows)."""

    def __init__(self, settings: Sequence[Mapping[str, Any]], rows_per_setting: int) -> None:
        self.settings = list(settings)
        self.repeat = rows_per_setting

    def column(self, values: Sequence[float | bool]) -> torch.Tensor:
        dtype = torch.bool if isinstance(values[0], bool) else torch.float64
        return torch.tensor(values, dtype=dtype).repeat_interleave(self.repeat).unsqueeze(1)

    def of(self, name: str, index: int | None = None) -> torch.Tensor:
        return self.column(self.values(name, index))

    def values(self, name: str, index: int | None = None) -> list[Any]:
        return [s[name] if index is None else s[name][index] for s in self.settings]

    def distinct(self, name: str, index: int | None = None) -> tuple[list[float], torch.Tensor]:
        """The distinct values of a hyperparameter and, per row, which one it has."""
        values = self.values(name, index)
        unique = sorted(set(values))
        where = {v: i for i, v in enumerate(unique)}
        per_setting = torch.tensor([where[v] for v in values])
        return unique, per_setting.repeat_interleave(self.repeat)


class _PerValue:
    """A per-row column of ``fn(value)`` computed in Python once per distinct value.

    For the terms torch computes with Python's ``pow`` (bias corrections ``1 − β^t``): the same
    expression, evaluated once per distinct β instead of once per row.
    """

    def __init__(self, unique: list[float], rows: torch.Tensor) -> None:
        self.unique, self.rows = unique, rows

    def __call__(self, fn: Any) -> torch.Tensor:
        table = torch.tensor([fn(v) for v in self.unique], dtype=torch.float64)
        return table[self.rows].unsqueeze(1)


class BatchedOptimizer:
    """Steps one ``(K·S, 2)`` leaf whose rows ``k·S .. k·S + S − 1`` follow setting ``k``.

    Duck-types the part of ``torch.optim.Optimizer`` the runner uses: ``step()`` reads
    ``leaf.grad`` and updates the leaf in place.
    """

    def __init__(self, leaf: torch.Tensor, settings: Sequence[Mapping[str, Any]]) -> None:
        if leaf.shape[0] % len(settings):
            raise ValueError("the leaf's rows must be a whole number of rows per setting")
        self.param = leaf
        self.settings = list(settings)
        self.cols = _Columns(settings, leaf.shape[0] // len(settings))
        self.lr = self.cols.of("lr")
        self.neg_lr = -self.lr
        self.t = 0
        self.state: dict[Any, Any] = {}
        self.setup()

    def setup(self) -> None:
        """Allocate state columns and buffers."""

    def update(self, p: torch.Tensor, g: torch.Tensor) -> None:
        """One step on ``p`` (the leaf's data) given the gradient ``g``."""
        raise NotImplementedError

    def _weight_decay(self) -> None:
        wd = self.cols.of("weight_decay")
        self.wd = wd
        self.wd_on = (wd != 0) if bool((wd != 0).any()) else None

    def _decoupled_weight_decay(self) -> None:
        """NAdam/RAdam's flag: decoupled rows decay θ by ``decay`` = 1 − γλ before the step
        (``param.mul_(1 - lr * weight_decay)``); the others keep L2 in the gradient."""
        self._weight_decay()
        self.decoupled = self.cols.of("decoupled_weight_decay")
        self.decay: torch.Tensor | None = None
        if self.wd_on is not None:
            self.decay = torch.where(self.wd_on & self.decoupled, 1 - self.lr * self.wd, 1.0)
            self.wd_on = self.wd_on & ~self.decoupled

    def _l2(self, p: torch.Tensor, g: torch.Tensor) -> torch.Tensor:
        """``grad.add(param, alpha=weight_decay)`` where weight_decay ≠ 0."""
        if self.wd_on is None:
            return g
        return torch.where(self.wd_on, torch.addcmul(g, p, self.wd), g)

    @torch.no_grad()
    def step(self, closure: Any = None) -> None:
        self.step_rows(self.param, self.param.grad)

    def step_rows(self, p: torch.Tensor, g: torch.Tensor) -> None:
        """One step on ``p`` (the rows this kernel owns, updated in place) with gradient ``g``."""
        self.t += 1
        self.update(p, g)


class BatchedSGD(BatchedOptimizer):
    """``torch.optim.SGD`` (``_single_tensor_sgd``): weight decay, momentum, dampening, Nesterov."""

    def setup(self) -> None:
        self._weight_decay()
        mom = self.cols.of("momentum")
        self.mom = mom
        self.mom_on = (mom != 0) if bool((mom != 0).any()) else None
        self.one_minus_damp = 1 - self.cols.of("dampening")
        self.nesterov = self.cols.of("nesterov")
        self.buf: torch.Tensor | None = None

    def update(self, p: torch.Tensor, g: torch.Tensor) -> None:
        g = self._l2(p, g)
        if self.mom_on is not None:
            if self.buf is None:
                self.buf = g.detach().clone()
            else:
                self.buf = torch.addcmul(self.buf * self.mom, g, self.one_minus_damp)
            look = torch.addcmul(g, self.buf, self.mom)  # grad.add(buf, alpha=momentum)
            g = torch.where(self.mom_on, torch.where(self.nesterov, look, self.buf), g)
        p.addcmul_(g, self.neg_lr)  # param.add_(grad, alpha=-lr)


class BatchedAdam(BatchedOptimizer):
    """``torch.optim.Adam`` / ``AdamW`` (``_single_tensor_adam``), AMSGrad per row."""

    decoupled = False

    def setup(self) -> None:
        self._weight_decay()
        if self.decoupled and self.wd_on is not None:
            self.decay = torch.where(self.wd_on, 1 - self.lr * self.wd, 1.0)
        b1, b2 = self.cols.of("betas", 0), self.cols.of("betas", 1)
        self.b2 = b2
        self.one_minus_b1, self.one_minus_b2 = 1 - b1, 1 - b2
        self.per_beta1 = _PerValue(*self.cols.distinct("betas", 0))
        self.per_beta2 = _PerValue(*self.cols.distinct("betas", 1))
        self.eps = self.cols.of("eps")
        self.amsgrad = self.cols.of("amsgrad")
        self.any_amsgrad = bool(self.amsgrad.any())
        self.exp_avg = torch.zeros_like(self.param)
        self.exp_avg_sq = torch.zeros_like(self.param)
        self.max_sq = torch.zeros_like(self.param) if self.any_amsgrad else None

    def update(self, p: torch.Tensor, g: torch.Tensor) -> None:
        if self.decoupled:
            if self.wd_on is not None:
                p.mul_(self.decay)  # param.mul_(1 - lr * weight_decay)
        else:
            g = self._l2(p, g)
        self.exp_avg.lerp_(g, self.one_minus_b1.expand_as(g))
        self.exp_avg_sq = torch.addcmul(self.exp_avg_sq * self.b2, self.one_minus_b2 * g, g)
        step = float(self.t)
        bc1 = self.per_beta1(lambda beta1: 1 - beta1**step)
        bc2_sqrt = self.per_beta2(lambda beta2: (1 - beta2**step) ** 0.5)
        neg_step_size = -(self.lr / bc1)
        second = self.exp_avg_sq
        if self.max_sq is not None:
            torch.maximum(self.max_sq, self.exp_avg_sq, out=self.max_sq)
            second = torch.where(self.amsgrad, self.max_sq, self.exp_avg_sq)
        denom = (second.sqrt() / bc2_sqrt).add_(self.eps)
        p.add_((neg_step_size * self.exp_avg) / denom)  # addcdiv_(m, denom, value=-step_size)


class BatchedAdamW(BatchedAdam):
    """``torch.optim.AdamW``: Adam with decoupled weight decay."""

    decoupled = True


class BatchedRMSprop(BatchedOptimizer):
    """``torch.optim.RMSprop`` (``_single_tensor_rmsprop``): centered and momentum per row."""

    def setup(self) -> None:
        self._weight_decay()
        alpha = self.cols.of("alpha")
        self.alpha, self.one_minus_alpha = alpha, 1 - alpha
        self.eps = self.cols.of("eps")
        mom = self.cols.of("momentum")
        self.mom = mom
        self.mom_on = (mom > 0) if bool((mom > 0).any()) else None
        self.centered = self.cols.of("centered")
        self.any_centered = bool(self.centered.any())
        self.square_avg = torch.zeros_like(self.param)
        self.grad_avg = torch.zeros_like(self.param)
        self.buf = torch.zeros_like(self.param)

    def update(self, p: torch.Tensor, g: torch.Tensor) -> None:
        g = self._l2(p, g)
        self.square_avg = torch.addcmul(self.square_avg * self.alpha, self.one_minus_alpha * g, g)
        avg = self.square_avg.sqrt()
        if self.any_centered:
            self.grad_avg.lerp_(g, self.one_minus_alpha.expand_as(g))
            centered = torch.addcmul(self.square_avg, self.grad_avg, self.grad_avg, value=-1)
            avg = torch.where(self.centered, centered.sqrt_(), avg)
        avg = avg.add_(self.eps)
        plain = p + (self.neg_lr * g) / avg  # param.addcdiv_(grad, avg, value=-lr)
        if self.mom_on is None:
            p.copy_(plain)
            return
        self.buf = (self.buf * self.mom).addcdiv_(g, avg)
        p.copy_(torch.where(self.mom_on, torch.addcmul(p, self.buf, self.neg_lr), plain))


class BatchedAdagrad(BatchedOptimizer):
    """``torch.optim.Adagrad`` (``_single_tensor_adagrad``), dense gradients."""

    def setup(self) -> None:
        self._weight_decay()
        self.lr_decay = self.cols.of("lr_decay")
        self.eps = self.cols.of("eps")
        init = self.cols.of("initial_accumulator_value")
        self.state_sum = init.expand_as(self.param).clone()

    def update(self, p: torch.Tensor, g: torch.Tensor) -> None:
        g = self._l2(p, g)
        clr = self.lr / (1 + (float(self.t) - 1) * self.lr_decay)
        self.state_sum.addcmul_(g, g, value=1)
        std = self.state_sum.sqrt().add_(self.eps)
        p.add_((-clr * g) / std)  # param.addcdiv_(grad, std, value=-clr)


class BatchedAdamax(BatchedOptimizer):
    """``torch.optim.Adamax`` (``_single_tensor_adamax``)."""

    def setup(self) -> None:
        self._weight_decay()
        self.b2 = self.cols.of("betas", 1)
        self.one_minus_b1 = 1 - self.cols.of("betas", 0)
        self.eps = self.cols.of("eps")
        self.per_beta1 = _PerValue(*self.cols.distinct("betas", 0))
        self.exp_avg = torch.zeros_like(self.param)
        self.exp_inf = torch.zeros_like(self.param)

    def update(self, p: torch.Tensor, g: torch.Tensor) -> None:
        g = self._l2(p, g)
        self.exp_avg.lerp_(g, self.one_minus_b1.expand_as(g))
        self.exp_inf = torch.maximum(self.exp_inf * self.b2, g.abs() + self.eps)
        step = float(self.t)
        clr = self.lr / self.per_beta1(lambda beta1: 1 - beta1**step)
        p.add_((-clr * self.exp_avg) / self.exp_inf)  # addcdiv_(m, u, value=-clr)


class BatchedAdadelta(BatchedOptimizer):
    """``torch.optim.Adadelta`` (``_single_tensor_adadelta``)."""

    def setup(self) -> None:
        self._weight_decay()
        rho = self.cols.of("rho")
        self.rho, self.one_minus_rho = rho, 1 - rho
        self.eps = self.cols.of("eps")
        self.square_avg = torch.zeros_like(self.param)
        self.acc_delta = torch.zeros_like(self.param)

    def update(self, p: torch.Tensor, g: torch.Tensor) -> None:
        g = self._l2(p, g)
        self.square_avg = torch.addcmul(self.square_avg * self.rho, self.one_minus_rho * g, g)
        std = (self.square_avg + self.eps).sqrt_()
        delta = (self.acc_delta + self.eps).sqrt_().div_(std).mul_(g)
        self.acc_delta = torch.addcmul(self.acc_delta * self.rho, self.one_minus_rho * delta,
                                       delta)
        p.addcmul_(delta, self.neg_lr)  # param.add_(delta, alpha=-lr)


class BatchedNAdam(BatchedOptimizer):
    """``torch.optim.NAdam`` (``_single_tensor_nadam``), Dozat's momentum schedule.

    The running product of the μ_t is a 0-d tensor of torch's scalar dtype (float32 by default)
    in torch's state: it is kept the same way here, once per distinct (β₁, ψ).
    """

    def setup(self) -> None:
        from torch.optim.optimizer import _get_scalar_dtype

        self._decoupled_weight_decay()
        self.b2 = self.cols.of("betas", 1)
        self.one_minus_b1, self.one_minus_b2 = 1 - self.cols.of("betas", 0), 1 - self.b2
        self.eps = self.cols.of("eps")
        self.per_beta2 = _PerValue(*self.cols.distinct("betas", 1))
        pairs = [(s["betas"][0], s["momentum_decay"]) for s in self.settings]
        self.schedules = sorted(set(pairs))
        where = {v: i for i, v in enumerate(self.schedules)}
        self.schedule_rows = torch.tensor([where[v] for v in pairs]).repeat_interleave(
            self.cols.repeat)
        self.mu_products = [torch.ones((), dtype=_get_scalar_dtype()) for _ in self.schedules]
        self.exp_avg = torch.zeros_like(self.param)
        self.exp_avg_sq = torch.zeros_like(self.param)

    def update(self, p: torch.Tensor, g: torch.Tensor) -> None:
        step = float(self.t)
        bc2 = self.per_beta2(lambda beta2: 1 - beta2**step)
        if self.decay is not None:
            p.mul_(self.decay)  # decoupled rows: param.mul_(1 - lr * weight_decay)
        g = self._l2(p, g)
        table = []
        for (beta1, psi), mu_product in zip(self.schedules, self.mu_products, strict=True):
            mu = beta1 * (1.0 - 0.5 * (0.96 ** (step * psi)))
            mu_next = beta1 * (1.0 - 0.5 * (0.96 ** ((step + 1) * psi)))
            mu_product *= mu
            product = mu_product.item()
            table.append((1.0 - mu, 1.0 - product, mu_next, 1.0 - product * mu_next))
        cols = torch.tensor(table, dtype=torch.float64)[self.schedule_rows]
        self.exp_avg.lerp_(g, self.one_minus_b1.expand_as(g))
        self.exp_avg_sq = torch.addcmul(self.exp_avg_sq * self.b2, self.one_minus_b2 * g, g)
        denom = (self.exp_avg_sq / bc2).sqrt().add_(self.eps)
        grad_value = (self.neg_lr * cols[:, 0:1]) / cols[:, 1:2]  # -lr·(1 − μ)/(1 − Πμ)
        avg_value = (self.neg_lr * cols[:, 2:3]) / cols[:, 3:4]  # (-lr·μ')/(1 − Πμ·μ')
        p.add_((grad_value * g) / denom)
        p.add_((avg_value * self.exp_avg) / denom)


class BatchedRAdam(BatchedOptimizer):
    """``torch.optim.RAdam`` (``_single_tensor_radam``): the rectifier per row.

    ρ_t and the rectification term depend on β₂ and t only: computed in Python as torch does,
    once per distinct β₂; rows with ρ_t ≤ 5 take the un-adapted step.
    """

    def setup(self) -> None:
        self._decoupled_weight_decay()
        self.b2 = self.cols.of("betas", 1)
        self.one_minus_b1, self.one_minus_b2 = 1 - self.cols.of("betas", 0), 1 - self.b2
        self.eps = self.cols.of("eps")
        self.per_beta1 = _PerValue(*self.cols.distinct("betas", 0))
        self.per_beta2 = _PerValue(*self.cols.distinct("betas", 1))
        self.minus_one = torch.full_like(self.lr, -1.0)
        self.exp_avg = torch.zeros_like(self.param)
        self.exp_avg_sq = torch.zeros_like(self.param)

    @staticmethod
    def _terms(beta2: float, step: float) -> tuple[float, float, float]:
        """(√(1 − β₂^t), rectification r_t, 1.0 if ρ_t > 5 else 0.0), as torch computes them."""
        bias_correction2 = 1 - beta2**step
        rho_inf = 2 / (1 - beta2) - 1
        rho_t = rho_inf - 2 * step * (beta2**step) / bias_correction2
        if rho_t <= 5.0:
            return bias_correction2**0.5, 0.0, 0.0
        rect = ((rho_t - 4) * (rho_t - 2) * rho_inf / ((rho_inf - 4) * (rho_inf - 2) * rho_t)
                ) ** 0.5
        return bias_correction2**0.5, rect, 1.0

    def update(self, p: torch.Tensor, g: torch.Tensor) -> None:
        if self.decay is not None:
            p.mul_(self.decay)
        g = self._l2(p, g)
        self.exp_avg.lerp_(g, self.one_minus_b1.expand_as(g))
        self.exp_avg_sq = torch.addcmul(self.exp_avg_sq * self.b2, self.one_minus_b2 * g, g)
        step = float(self.t)
        bc1 = self.per_beta1(lambda beta1: 1 - beta1**step)
        bc2_sqrt = self.per_beta2(lambda beta2: self._terms(beta2, step)[0])
        rect = self.per_beta2(lambda beta2: self._terms(beta2, step)[1])
        rectified = self.per_beta2(lambda beta2: self._terms(beta2, step)[2]) > 0
        corrected = (self.exp_avg / bc1) * self.lr
        # float / Tensor is Tensor.__rtruediv__: reciprocal, then multiply (not a division)
        adaptive = self.exp_avg_sq.sqrt().add_(self.eps).reciprocal() * bc2_sqrt
        update = torch.where(rectified, corrected * adaptive * rect, corrected)
        p.addcmul_(update, self.minus_one)  # param.add_(update, alpha=-1.0)


class BatchedRprop(BatchedOptimizer):
    """``torch.optim.Rprop`` (``_single_tensor_rprop``): per-row etas and step-size bounds."""

    def setup(self) -> None:
        self.eta_minus, self.eta_plus = self.cols.of("etas", 0), self.cols.of("etas", 1)
        self.size_min = self.cols.of("step_sizes", 0).expand_as(self.param)
        self.size_max = self.cols.of("step_sizes", 1).expand_as(self.param)
        self.prev = torch.zeros_like(self.param)
        self.step_size = self.lr.expand_as(self.param).clone()

    def update(self, p: torch.Tensor, g: torch.Tensor) -> None:
        sign = g.mul(self.prev).sign()
        factor = torch.where(sign > 0, self.eta_plus, torch.where(sign < 0, self.eta_minus, 1.0))
        factor = torch.where(sign.isnan(), sign, factor)  # torch's masked writes skip NaN
        self.step_size = torch.clamp(self.step_size.mul_(factor), self.size_min, self.size_max)
        g = torch.where(factor == self.eta_minus, 0.0, g)
        p.addcmul_(g.sign(), self.step_size, value=-1)
        self.prev = g


class BatchedASGD(BatchedOptimizer):
    """``torch.optim.ASGD`` (``_single_tensor_asgd``): the parameter update.

    η_t lives in torch's state as a 0-d tensor of the scalar dtype (float32 by default), so it is
    rounded the same way here. The running average ``ax`` never feeds back into the parameter
    and is not kept (the analyses record no optimizer state).
    """

    def setup(self) -> None:
        from torch.optim.optimizer import _get_scalar_dtype

        self._weight_decay()
        self.scalar_dtype = _get_scalar_dtype()
        self.rules = [(s["lr"], s["lambd"], s["alpha"]) for s in self.settings]
        self.eta = [torch.as_tensor(lr, dtype=self.scalar_dtype).item() for lr, _, _ in self.rules]
        self.lambd = self.cols.of("lambd")

    def update(self, p: torch.Tensor, g: torch.Tensor) -> None:
        g = self._l2(p, g)
        eta = self.cols.column(self.eta)
        p.mul_(1 - self.lambd * eta)  # decay term
        p.addcmul_(g, -eta)  # param.add_(grad, alpha=-eta)
        step = float(self.t)
        self.eta = [
            torch.as_tensor(lr / ((1 + lambd * lr * step) ** alpha), dtype=self.scalar_dtype)
            .item()
            for lr, lambd, alpha in self.rules
        ]


KERNELS: dict[str, type[BatchedOptimizer]] = {
    "sgd": BatchedSGD,
    "adam": BatchedAdam,
    "adamw": BatchedAdamW,
    "rmsprop": BatchedRMSprop,
    "adagrad": BatchedAdagrad,
    "adamax": BatchedAdamax,
    "adadelta": BatchedAdadelta,
    "nadam": BatchedNAdam,
    "radam": BatchedRAdam,
    "rprop": BatchedRprop,
    "asgd": BatchedASGD,
}
