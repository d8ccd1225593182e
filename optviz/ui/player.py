"""The race player in the page: one ``st.components.v2`` component (``optviz/web``).

Python sends a payload (:func:`optviz.figures.race_payload`: the landscape once per surface
layout, every step of every path as typed arrays); the player draws and animates it in the
browser (``optviz/web/player.js``). What the user does to the start points comes back as the
component's ``start`` trigger value: ``{"action": "set" | "add" | "move" | "remove",
"index", "x", "y", "final"}``; :func:`apply_start_event` turns it into the model's starts.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from typing import Any

import streamlit as st

from optviz.figures.data import decimals_for
from optviz.scene import MAX_STARTS
from optviz.ui import lru
from optviz.ui.model import Model
from optviz.web.vendor import ensure_plotly_js

#: The component's name: ``<project>.<component>`` as pyproject.toml declares it.
COMPONENT = "optviz.player"

_renderer: Any = None


def _component() -> Any:
    global _renderer
    if _renderer is None:
        ensure_plotly_js()
        # isolate_styles=False: plotly.js puts its hover and mode-bar styles in the document
        # head, which a shadow root would not see.
        _renderer = st.components.v2.component(COMPONENT, js="component.js",
                                               isolate_styles=False)
    return _renderer


def preload() -> None:
    """An invisible instance of the player component whose only job is to start loading
    plotly.js and the player while Streamlit builds the rest of the page."""
    _component()(data={"preload": True}, key="optviz-preload", height=0)


def _nothing() -> None:
    return None


#: The player's data as sent, by (payload token, landscape included): at most 32 MB, an hour
#: each, out of reach of a client's ``clear_cache``.
ENCODED = lru.ByteLRU(max_bytes=32 * 2**20, ttl=3600.0, max_item_bytes=16 * 2**20)


def encode(payload: dict[str, Any]) -> bytes:
    """The player's data, ``{"payload": …, "inspect": …}``, as UTF-8 JSON bytes.

    Bytes go to the page as they are. A dict would be walked by Streamlit's mixed-data
    serializer and JSON-encoded twice on every rerun (0.3–0.5 s for a 1 MB payload on these
    machines); the payload part here is encoded once per race (``token``, which hashes all of
    it) and kept in :data:`ENCODED`; only the step inspector's small part is encoded per run.
    """
    body = {k: v for k, v in payload.items() if k != "inspect"}
    key = (payload["token"], body.get("base") is not None)
    data = ENCODED.get(key)
    if data is None:
        data = json.dumps(body, separators=(",", ":"), allow_nan=False).encode("utf-8")
        ENCODED.put(key, data, size=len(data))
    try:
        inspect = json.dumps(payload.get("inspect"), separators=(",", ":"), allow_nan=False)
    except ValueError:  # a non-finite glyph number: the browser's JSON.parse would throw
        inspect = json.dumps({**payload["inspect"], "glyphs": None}, separators=(",", ":"))
    inspect = inspect.encode("utf-8")
    return b'{"payload":' + data + b',"inspect":' + inspect + b"}"


def decode(data: bytes | str) -> dict[str, Any]:
    """The payload of :func:`encode`'s bytes, its ``inspect`` back in place (tests, benches)."""
    got = json.loads(data)
    payload = got["payload"]
    payload["inspect"] = got.get("inspect")
    return payload


def race_player(payload: dict[str, Any], *, key: str,
                on_start: Callable[[], None] | None = None,
                on_need_base: Callable[[], None] | None = None,
                on_inspect_step: Callable[[], None] | None = None) -> Any:
    """Mount (or update) the player with ``payload``; ``on_start`` runs when the user clicks,
    shift-clicks or drags a start point (read the event with :func:`start_event`);
    ``on_need_base`` when the page asks for a landscape it does not hold; ``on_inspect_step``
    when, with the step inspector on, the player shows another step (``{"track", "step"}``)."""
    return _component()(data=encode(payload), key=key, height="content",
                        on_start_change=on_start or _nothing,
                        on_need_base_change=on_need_base or _nothing,
                        on_inspect_step_change=on_inspect_step or _nothing)


def start_event(key: str) -> dict[str, Any] | None:
    """The last start-point event of the player ``key`` (None if there is none)."""
    state = st.session_state.get(key)
    event = state.get("start") if hasattr(state, "get") else None
    return event if isinstance(event, dict) else None


def _coordinate(value: Any, lo: float, hi: float) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    value = float(value)
    if not math.isfinite(value):
        return None
    # a pixel is about 1/1000 of the window: keep 4 more digits than the window needs to
    # tell pixels apart, so the URL and the sidebar show short numbers (no grid snapping)
    return round(value, decimals_for(hi - lo))


def apply_start_event(model: Model, event: dict[str, Any] | None,
                      window: tuple[tuple[float, float], tuple[float, float]]) -> bool:
    """Apply a player event to ``model.starts``; False (and no change) for a malformed event.

    ``set`` moves start 0 to the point, ``add`` appends a start (up to :data:`MAX_STARTS`),
    ``move`` moves start ``index``, ``remove`` deletes it (the last start stays).
    """
    if not isinstance(event, dict):
        return False
    action = event.get("action")
    (x0, x1), (y0, y1) = window
    x, y = _coordinate(event.get("x"), x0, x1), _coordinate(event.get("y"), y0, y1)
    index = event.get("index", 0)
    if not isinstance(index, int) or isinstance(index, bool) or index < 0:
        return False
    starts = list(model.starts)
    if action == "remove":
        if index >= len(starts) or len(starts) <= 1:
            return False
        del starts[index]
    elif x is None or y is None:
        return False
    elif action == "set":
        starts = [(x, y), *starts[1:]]
    elif action == "add":
        if len(starts) >= MAX_STARTS:
            return False
        starts.append((x, y))
    elif action == "move":
        if index >= len(starts):
            return False
        starts[index] = (x, y)
    else:
        return False
    model.starts = starts
    return True
