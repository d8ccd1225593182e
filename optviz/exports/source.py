"""The source of optviz's own code, gathered for a standalone script: what runs is what ships.

:func:`gather` takes functions and classes of optviz and returns their source
(:func:`inspect.getsource`) together with everything of optviz they reach by name: helper
functions, base classes, and simple module constants (written as literals). The PyTorch export
embeds the result, so the script runs the very kernels, 2×2 solver and noise stream the app runs,
not copies of them that could drift.
"""

from __future__ import annotations

import inspect
import textwrap
import types
from collections.abc import Callable, Iterable, Iterator
from typing import Any

_PACKAGE = "optviz."
_LITERALS = (int, float, str, bytes, bool, tuple, frozenset, type(None))


def _is_ours(obj: Any) -> bool:
    return getattr(obj, "__module__", "").startswith(_PACKAGE)


def _codes(code: types.CodeType) -> Iterator[types.CodeType]:
    """``code`` and every code object nested in it (lambdas, comprehensions, inner functions)."""
    yield code
    for const in code.co_consts:
        if isinstance(const, types.CodeType):
            yield from _codes(const)


def _functions_of(obj: Any) -> Iterator[types.FunctionType]:
    """The plain functions behind ``obj``: itself, or a class's methods and function-valued
    attributes (static methods, dictionaries of lambdas)."""
    if isinstance(obj, types.FunctionType):
        yield obj
    elif isinstance(obj, type):
        for value in vars(obj).values():
            if isinstance(value, staticmethod | classmethod):
                value = value.__func__
            if isinstance(value, dict):
                yield from (v for v in value.values() if isinstance(v, types.FunctionType))
            elif isinstance(value, types.FunctionType):
                yield value


def _references(obj: Any) -> Iterator[tuple[str, Any]]:
    """``(name, value)`` of the module globals that ``obj``'s code names."""
    if isinstance(obj, type):
        for base in obj.__bases__:
            yield base.__name__, base
        for fn in _functions_of(obj):  # module-level functions held by the class body
            if fn.__qualname__ == fn.__name__:
                yield fn.__name__, fn
    for fn in _functions_of(obj):
        for code in _codes(fn.__code__):
            for name in code.co_names:
                if name in fn.__globals__:
                    yield name, fn.__globals__[name]


def _constant(value: Any) -> bool:
    if type(value).__module__ == "numpy" and type(value).__name__.startswith(("uint", "int")):
        return True  # numpy scalars print as np.uint64(...)
    if isinstance(value, tuple | frozenset):
        return all(_constant(v) for v in value)
    return isinstance(value, _LITERALS)


def gather(*roots: Callable[..., Any] | type) -> str:
    """Source of ``roots`` and of all the optviz code and constants they reach, in an order a
    module can execute: constants, then functions, then classes after their bases."""
    constants: dict[str, Any] = {}
    functions: dict[str, Any] = {}
    classes: dict[str, type] = {}
    seen: set[int] = set()
    todo: list[Any] = list(roots)
    while todo:
        obj = todo.pop()
        if id(obj) in seen:
            continue
        seen.add(id(obj))
        (classes if isinstance(obj, type) else functions)[obj.__name__] = obj
        for name, value in _references(obj):
            if isinstance(value, type | types.FunctionType):
                if _is_ours(value):
                    todo.append(value)
            elif _constant(value) and not isinstance(value, types.ModuleType):
                constants[name] = value
    return _emit(constants, functions, classes)


def _emit(constants: dict[str, Any], functions: dict[str, Any], classes: dict[str, type]) -> str:
    parts = ["\n".join(f"{name} = {value!r}" for name, value in sorted(constants.items()))]
    parts += [textwrap.dedent(inspect.getsource(fn)) for _, fn in sorted(functions.items())]
    parts += [textwrap.dedent(inspect.getsource(cls)) for cls in _base_first(classes.values())]
    return "\n\n\n".join(part.rstrip("\n") for part in parts if part) + "\n"


def _base_first(classes: Iterable[type]) -> list[type]:
    """Classes ordered so that each comes after its optviz bases."""
    pending = sorted(classes, key=lambda c: c.__name__)
    ordered: list[type] = []
    while pending:
        for cls in pending:
            if all(b in ordered or b not in pending for b in cls.__bases__):
                ordered.append(cls)
                pending.remove(cls)
                break
    return ordered
