"""Schema of the registry: hyperparameters, optimizer specs, UI variants, and their validation.

Importing this module (and the registry) does not import torch: a spec names its class by a
dotted path (``cls_path``) and imports it on first use, so listing optimizers stays instant.
"""

from __future__ import annotations

import functools
import importlib
import inspect
import math
import numbers
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any, Literal

from optviz.arguments import UnknownNameError

if TYPE_CHECKING:
    import torch

__all__ = ["FROM_SIGNATURE", "Hyperparameter", "HyperparameterError", "OptimizerSpec",
           "UnknownNameError", "Variant"]

Kind = Literal["float", "int", "bool", "pair", "choice"]
Execution = Literal["elementwise", "per_tensor", "per_particle"]
EXECUTIONS: tuple[str, ...] = ("elementwise", "per_tensor", "per_particle")


class _FromSignature:
    """Sentinel default: take the class's own default (its signature) when the spec is used."""

    def __repr__(self) -> str:
        return "FROM_SIGNATURE"


FROM_SIGNATURE: Any = _FromSignature()


class HyperparameterError(ValueError):
    """Hyperparameters refused, all at once: ``errors`` is a list of ``(name, message)``, where
    ``name`` is the hyperparameter at fault (``None`` for the combination or the mapping)."""

    def __init__(self, errors: list[tuple[str | None, str]]) -> None:
        super().__init__("; ".join(message for _, message in errors))
        self.errors = errors


def _fmt(x: float) -> str:
    return f"{x:g}"


def _show(value: Any, limit: int = 40) -> str:
    """``repr`` cut to ``limit`` characters, safe for huge integers."""
    if isinstance(value, int) and not isinstance(value, bool) and value.bit_length() > 128:
        return f"a {len(str(abs(value))) if value.bit_length() < 10_000 else 'huge'}-digit integer"
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


@dataclass(frozen=True)
class Hyperparameter:
    """One keyword argument of an optimizer class, as the UI and validation see it.

    ``kind``: ``float``, ``int``, ``bool``, ``pair`` (two floats, e.g. ``betas``; ``low``/``high``
    apply to each element, ``ordered`` asks for first ≤ second) or ``choice`` (one of
    ``choices``, e.g. L-BFGS's ``line_search_fn`` in ``(None, "strong_wolfe")``).
    ``low``/``high`` are inclusive (strict with ``exclusive``, for torch's strict checks);
    ``log`` says a log-scale control suits it. A pair whose elements have different ranges gives
    them in ``bounds``, ``((low₁, high₁), (low₂, high₂))`` (e.g. Rprop's 0 < η₋ < 1 < η₊);
    ``low``/``high`` then stay a range holding both, so scalar readers keep working.
    """

    name: str
    kind: Kind
    default: Any
    low: float | None = None
    high: float | None = None
    log: bool = False
    help: str = ""
    label: str = ""
    choices: tuple = ()
    ordered: bool = False
    bounds: tuple[tuple[float | None, float | None], ...] = ()
    exclusive: bool = False

    def __post_init__(self) -> None:
        if self.kind not in ("float", "int", "bool", "pair", "choice"):
            raise ValueError(f"{self.name}: unknown kind {self.kind!r}")
        if self.kind == "choice" and not self.choices:
            raise ValueError(f"{self.name}: a choice needs choices")
        if self.log and (self.low is None or self.low <= 0):
            raise ValueError(f"{self.name}: a log scale needs a positive lower bound")
        if self.bounds:
            self._check_bounds()
        if self.default is not FROM_SIGNATURE:
            self.check(self.default, "registry")  # a default must pass its own schema

    def _check_bounds(self) -> None:
        """``bounds``: pairs only, two ``(low, high)``, each inside ``[low, high]``."""
        if self.kind != "pair" or len(self.bounds) != 2 or any(len(b) != 2 for b in self.bounds):
            raise ValueError(f"{self.name}: bounds are two (low, high) pairs, for a pair only")
        for lo, hi in self.bounds:
            if (self.low is not None and (lo is None or lo < self.low)) or (
                self.high is not None and (hi is None or hi > self.high)
            ):
                raise ValueError(f"{self.name}: each element's bounds must lie in low..high")

    def _limits(self, element: int | None) -> tuple[float | None, float | None]:
        if element is not None and self.bounds:
            return self.bounds[element]
        return self.low, self.high

    def _interval(self, element: int | None = None) -> str:
        lo, hi = self._limits(element)
        lo_text = "-inf" if lo is None else _fmt(lo)
        hi_text = "inf" if hi is None else _fmt(hi)
        if self.exclusive:
            return f"({lo_text}, {hi_text})"
        return f"[{lo_text}, {hi_text}]"

    def range_text(self) -> str:
        """The allowed values, in words (used in error messages and help)."""
        if self.kind == "bool":
            return "True or False"
        if self.kind == "choice":
            return "one of " + ", ".join(repr(c) for c in self.choices)
        text = self._interval()
        if self.kind == "pair" and self.bounds:
            text = f"two numbers, first in {self._interval(0)}, second in {self._interval(1)}"
            text += ", first ≤ second" if self.ordered else ""
        elif self.kind == "pair":
            text = f"two numbers, each in {text}" + (", first ≤ second" if self.ordered else "")
        elif self.kind == "int":
            text = f"a whole number in {text}"
        return text

    def check(self, value: Any, optimizer: str) -> Any:
        """``value`` as torch wants it (float, int, bool, tuple of floats), or ValueError."""
        where = f"{optimizer}: {self.name}"
        if self.kind == "bool":
            if isinstance(value, bool):
                return value
            if type(value).__module__ == "numpy" and type(value).__name__ in ("bool", "bool_"):
                return bool(value)
            raise ValueError(f"{where} must be True or False, got {_show(value)}")
        if self.kind == "choice":
            if isinstance(value, str) and value.lower() == "none" and None in self.choices:
                return None
            if any(value is c or (value == c and type(value) is type(c)) for c in self.choices):
                return value
            raise ValueError(f"{where} must be {self.range_text()}, got {_show(value)}")
        if self.kind == "pair":
            if isinstance(value, str | bytes | Mapping) or not hasattr(value, "__len__"):
                raise ValueError(f"{where} must be {self.range_text()}, got {_show(value)}")
            if len(value) != 2:
                raise ValueError(f"{where} must be {self.range_text()}, got {_show(value)}")
            pair = (self._number(value[0], where, 0), self._number(value[1], where, 1))
            if self.ordered and pair[0] > pair[1]:
                raise ValueError(f"{where} must be {self.range_text()}, got {pair!r}")
            return pair
        if self.kind == "int":
            return self._integer(value, where)
        return self._number(value, where)

    def _number(self, value: Any, where: str, element: int | None = None) -> float:
        if isinstance(value, bool) or not isinstance(value, numbers.Real):
            raise ValueError(f"{where} must be a number in {self.range_text()}, got {_show(value)}")
        try:
            x = float(value)
        except OverflowError:  # a huge integer: 10**400
            raise ValueError(f"{where} = {_show(value)} is too large: "
                             f"allowed {self.range_text()}") from None
        if not math.isfinite(x):
            raise ValueError(f"{where} must be finite, got {_show(value)}")
        self._in_range(x, where, element)
        return x

    def _integer(self, value: Any, where: str) -> int:
        is_whole_float = isinstance(value, float) and math.isfinite(value) and value.is_integer()
        if isinstance(value, bool) or not (isinstance(value, numbers.Integral) or is_whole_float):
            raise ValueError(f"{where} must be {self.range_text()}, got {_show(value)}")
        n = int(value)
        self._in_range(n, where)
        return n

    def _in_range(self, x: float, where: str, element: int | None = None) -> None:
        lo, hi = self._limits(element)
        if self.exclusive:
            bad = (lo is not None and x <= lo) or (hi is not None and x >= hi)
        else:
            bad = (lo is not None and x < lo) or (hi is not None and x > hi)
        if not bad:
            return
        if element is not None:
            which = ("first", "second")[element]
            allowed = f" (allowed: {self.range_text()})" if self.bounds else ""
            raise ValueError(
                f"{where}: the {which} element, {x!r}, is outside {self._interval(element)}"
                f"{allowed}"
            )
        raise ValueError(f"{where} = {x!r} is outside the allowed range {self.range_text()}")


@dataclass(frozen=True)
class OptimizerSpec:
    """One registry entry: the class, its hyperparameter schema, its maths and provenance.

    ``cls_path`` names the class (``"torch.optim.Adam"``); :attr:`cls` imports it on first use.
    A hyperparameter whose default is :data:`FROM_SIGNATURE` takes the class's own default (for
    optviz's own optimizers, every default: their kernel's signature is the one source).
    ``separable``: the update is elementwise (each coordinate on its own). ``execution`` says how
    N particles run exactly as N separate runs would: ``elementwise`` (rows of one ``(N, 2)`` leaf
    are independent: one instance, one leaf), ``per_tensor`` (norms, factored moments, matrix
    preconditioners: one parameter of shape ``param_shape`` per particle, all in one instance),
    ``per_particle`` (statistics shared across parameters, or a closure: one instance per
    particle). ``needs_closure``: ``step(closure)`` re-evaluates the loss (L-BFGS);
    ``needs_hessian``: the constructor takes ``hessian_fn``; ``needs_grad_fn``: it takes
    ``grad_fn`` (``(N, 2)`` positions -> ``(N, 2)`` noise-free gradients, for a secant).
    ``appended``: ``(name, target)`` pairs: hyperparameter ``name`` is appended to the tuple
    ``target`` when the class is called (Adan's ``betas=(β₁, β₂, β₃)`` shown as a pair and
    ``beta3``). ``wraps``: the class wraps another optimizer, built from the variant named by
    the hyperparameter ``base`` (Lookahead). ``reports_average``: the class evaluates gradients
    at one point and reports another, through ``train()``/``eval()`` (Schedule-Free).
    ``group_state``: scalars the class keeps in its param group and changes as it steps
    (Prodigy's ``d``), recorded by ``simulate(record_state=True)`` as ``group.<name>``; each
    must be one particle's own (``per_particle``) or the same for every particle.
    """

    key: str
    label: str
    family: str
    cls_path: str
    schema: tuple[Hyperparameter, ...]
    update_rule: str
    note: str
    reference: str
    separable: bool
    execution: Execution = "elementwise"
    param_shape: tuple[int, ...] = (1, 2)
    needs_closure: bool = False
    needs_hessian: bool = False
    needs_grad_fn: bool = False
    appended: tuple[tuple[str, str], ...] = ()
    wraps: bool = False
    reports_average: bool = False
    group_state: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        names = [hp.name for hp in self.schema]
        if len(set(names)) != len(names):
            raise ValueError(f"{self.key}: duplicate hyperparameter names")
        if self.execution not in EXECUTIONS:
            raise ValueError(f"{self.key}: execution must be one of {EXECUTIONS}")
        if self.needs_closure and self.execution != "per_particle":
            raise ValueError(f"{self.key}: a closure-based optimizer runs per particle")

    @property
    def batched(self) -> bool:
        """Whether N particles share one ``(N, 2)`` leaf (``execution == "elementwise"``)."""
        return self.execution == "elementwise"

    @property
    def is_torch(self) -> bool:
        """Whether the class is PyTorch's own (``torch.optim``), not optviz's."""
        return self.cls_path.startswith("torch.optim.")

    @property
    def package(self) -> str:
        """Where the class comes from, with its installed version: ``"torch 2.13.0"``,
        ``"pytorch_optimizer 4.1.0"``, or ``"optviz"`` for our own (no import of the class; the
        local build label, torch's ``+cpu``, left out)."""
        top = self.cls_path.split(".", 1)[0]
        if top == "optviz":
            return "optviz"
        from importlib.metadata import version

        return f"{top} {version(top).split('+')[0]}"  # import name = distribution; no +cpu

    @property
    def origin(self) -> Literal["torch", "package", "own"]:
        """``torch`` (``torch.optim``), ``package`` (a well-kept package) or ``own`` (optviz)."""
        if self.is_torch:
            return "torch"
        return "own" if self.cls_path.startswith("optviz.") else "package"

    def class_kwargs(self, kwargs: Mapping[str, Any]) -> dict[str, Any]:
        """Validated hyperparameters as the class takes them (``appended`` joined in)."""
        out = dict(kwargs)
        for name, target in self.appended:
            out[target] = (*out[target], out.pop(name))
        return out

    @property
    def class_name(self) -> str:
        """The class's name, without importing it."""
        return self.cls_path.rsplit(".", 1)[1]

    @functools.cached_property
    def cls(self) -> type[torch.optim.Optimizer]:
        """The optimizer class (imported on first use)."""
        module, name = self.cls_path.rsplit(".", 1)
        return getattr(importlib.import_module(module), name)

    @functools.cached_property
    def hyperparameters(self) -> tuple[Hyperparameter, ...]:
        """The schema with every default filled in (from the class where it says so)."""
        own = _class_defaults(self.cls)
        filled = []
        for hp in self.schema:
            if hp.default is FROM_SIGNATURE:
                if hp.name not in own:
                    raise ValueError(f"{self.key}: {self.cls_path} has no default for {hp.name}")
                hp = replace(hp, default=own[hp.name])
            filled.append(hp)
        return tuple(filled)

    @functools.cached_property
    def _by_name(self) -> dict[str, Hyperparameter]:
        return {hp.name: hp for hp in self.hyperparameters}

    @property
    def names(self) -> tuple[str, ...]:
        """Hyperparameter names in schema order."""
        return tuple(hp.name for hp in self.schema)

    def hyperparameter(self, name: str) -> Hyperparameter:
        """The schema entry ``name`` (KeyError lists the known names)."""
        try:
            return self._by_name[name]
        except KeyError:
            known = ", ".join(self.names)
            raise KeyError(f"{self.key} has no hyperparameter {name!r}; known: {known}") from None

    def defaults(self) -> dict[str, Any]:
        """Every hyperparameter at its default, as torch keyword arguments."""
        return {hp.name: hp.default for hp in self.hyperparameters}

    def validate(self, hparams: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """Complete, checked torch keyword arguments for ``hparams`` (missing ones: defaults).

        Refuses unknown names, wrong types (a bool is not a number), NaN/inf, values out of range
        and combinations torch itself refuses (e.g. Nesterov without momentum) with one
        :class:`HyperparameterError` (a ValueError) listing every problem and its hyperparameter.
        """
        hparams = {} if hparams is None else hparams
        if not isinstance(hparams, Mapping):
            raise HyperparameterError(
                [(None, f"{self.key}: hyperparameters must be a mapping, got {hparams!r}")]
            )
        errors: list[tuple[str | None, str]] = [
            (str(name), f"{self.key}: unknown hyperparameter {name!r}; allowed: "
             f"{', '.join(self.names)}")
            for name in hparams
            if name not in self._by_name
        ]
        kwargs: dict[str, Any] = {}
        for hp in self.hyperparameters:
            try:
                kwargs[hp.name] = hp.check(hparams.get(hp.name, hp.default), self.key)
            except (ValueError, TypeError, OverflowError) as err:
                errors.append((hp.name, str(err)))
        if errors:
            raise HyperparameterError(errors)
        self._probe(kwargs)
        return kwargs

    def _probe(self, kwargs: dict[str, Any]) -> None:
        """Construct the class once on a dummy parameter to surface torch's own refusals."""
        import torch

        dummy = torch.zeros(1, 2, dtype=torch.float64, requires_grad=True)
        try:
            if self.wraps:
                from optviz.optimizers.wrappers import build_wrapper

                build_wrapper(self, [dummy], kwargs)
            else:
                self.cls([dummy], **self.class_kwargs(kwargs))
        except (ValueError, TypeError, RuntimeError) as err:
            shown = ", ".join(f"{k}={v!r}" for k, v in kwargs.items())
            raise HyperparameterError(
                [(None, f"{self.key}: {self.class_name} refuses {shown}: {err}")]
            ) from err


def _class_defaults(cls: type) -> dict[str, Any]:
    """Keyword defaults of an optimizer class: a kernel's hyperparameters, or ``__init__``'s."""
    update = getattr(cls, "update_state", None)
    if update is not None:
        from optviz.optimizers._kernel import kernel_defaults

        return kernel_defaults(update)
    return {
        name: p.default
        for name, p in inspect.signature(cls.__init__).parameters.items()
        if p.default is not p.empty
    }


@dataclass(frozen=True)
class Variant:
    """A name the UI lists: an optimizer with some hyperparameters fixed (``overrides``)."""

    key: str
    label: str
    optimizer: str
    overrides: dict[str, Any] = field(default_factory=dict)
    description: str = ""
