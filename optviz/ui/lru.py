"""Caches bounded in bytes and age, that no client can empty.

``st.cache_data`` bounds entries by count (and, globally, by ``server.maxCacheDataSize``), and
any websocket client may empty every Streamlit cache with a ``clear_cache`` BackMsg (Streamlit's
``AppSession._handle_clear_cache_request``: ``st.cache_data.clear()``,
``st.cache_resource.clear()``). So:

* :class:`ByteLRU` is a small thread-safe LRU of our own: a byte budget (numpy arrays counted by
  ``nbytes``), a time to live, and a per-item ceiling (an entry larger than that is returned to
  its caller but not kept). Streamlit does not know of it, so its ``clear_cache`` cannot reach it.
* :func:`protect_from_client_clear` makes a client's ``clear_cache`` message clear only that
  client's own session state, never the caches every session shares (server side: hiding the
  menu item would not stop a client that sends the message itself).
"""

from __future__ import annotations

import dataclasses
import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Any

import numpy as np

_LOG = logging.getLogger(__name__)


def nbytes(obj: Any, _depth: int = 0) -> int:
    """The bytes an object's numpy arrays hold, plus a small constant per other object
    (dataclasses, tuples, lists and dicts are walked)."""
    if _depth > 8:
        return 64
    if isinstance(obj, np.ndarray):
        return int(obj.nbytes) + 112
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return 64 + sum(nbytes(getattr(obj, f.name), _depth + 1)
                        for f in dataclasses.fields(obj))
    if isinstance(obj, (tuple, list, set, frozenset)):
        return 56 + sum(nbytes(v, _depth + 1) for v in obj)
    if isinstance(obj, dict):
        return 64 + sum(nbytes(k, _depth + 1) + nbytes(v, _depth + 1) for k, v in obj.items())
    if isinstance(obj, (str, bytes)):
        return 49 + len(obj)
    return 32


class ByteLRU:
    """A least-recently-used map bounded by total bytes, entry age and entry size."""

    def __init__(self, max_bytes: int, ttl: float | None = None,
                 max_item_bytes: int | None = None,
                 sizeof: Callable[[Any], int] = nbytes) -> None:
        if max_bytes <= 0:
            raise ValueError(f"max_bytes must be positive, got {max_bytes}")
        self.max_bytes = int(max_bytes)
        self.ttl = ttl
        self.max_item_bytes = int(max_item_bytes if max_item_bytes is not None else max_bytes)
        self.sizeof = sizeof
        self._data: OrderedDict[Hashable, tuple[Any, int, float]] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()
        self.hits = self.misses = self.refused = 0

    def get(self, key: Hashable, default: Any = None) -> Any:
        with self._lock:
            item = self._data.get(key)
            if item is None:
                self.misses += 1
                return default
            value, _size, stored = item
            if self.ttl is not None and time.monotonic() - stored > self.ttl:
                self._drop(key)
                self.misses += 1
                return default
            self._data.move_to_end(key)
            self.hits += 1
            return value

    def __contains__(self, key: Hashable) -> bool:
        sentinel = object()
        return self.get(key, sentinel) is not sentinel

    def put(self, key: Hashable, value: Any, size: int | None = None) -> bool:
        """Keep ``value`` (``False``: too big to keep; it is not stored)."""
        size = self.sizeof(value) if size is None else int(size)
        with self._lock:
            if key in self._data:
                self._drop(key)
            if size > self.max_item_bytes:
                self.refused += 1
                return False
            self._data[key] = (value, size, time.monotonic())
            self._bytes += size
            self._evict()
            return True

    def clear(self) -> None:
        with self._lock:
            self._data.clear()
            self._bytes = 0

    @property
    def bytes(self) -> int:
        return self._bytes

    def __len__(self) -> int:
        return len(self._data)

    def _drop(self, key: Hashable) -> None:
        _, size, _ = self._data.pop(key)
        self._bytes -= size

    def _evict(self) -> None:
        now = time.monotonic()
        if self.ttl is not None:
            for key in [k for k, (_, _, t) in self._data.items() if now - t > self.ttl]:
                self._drop(key)
        while self._bytes > self.max_bytes and self._data:
            self._drop(next(iter(self._data)))


_PROTECTED = False


def protect_from_client_clear() -> bool:
    """Make Streamlit's ``clear_cache`` BackMsg leave the shared caches alone (it still clears
    the sending session's own state). Idempotent; ``False`` if Streamlit changed too much."""
    global _PROTECTED
    if _PROTECTED:
        return True
    try:
        from streamlit.runtime.app_session import AppSession
    except ImportError:  # pragma: no cover
        return False
    if not hasattr(AppSession, "_handle_clear_cache_request"):  # pragma: no cover
        _LOG.warning("optviz: Streamlit has no _handle_clear_cache_request; caches unprotected")
        return False

    def _handle_clear_cache_request(self: Any) -> None:
        _LOG.info("optviz: a client asked to clear the shared caches; only its session state "
                  "is cleared")
        self._session_state.clear()

    AppSession._handle_clear_cache_request = _handle_clear_cache_request
    _PROTECTED = True
    return True
