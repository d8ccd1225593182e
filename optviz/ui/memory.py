"""The server process's garbage collector, made cheap for Streamlit's collection after each run.

Streamlit runs a full ``gc.collect(2)`` after every script run, fragment runs included
(``runner.postScriptGC``). With torch, plotly, pandas and Streamlit imported the collector
tracks ~370,000 objects, so each of those collections walks them all: 0.4–0.5 s on these shared
machines under load, holding the GIL, during which the server answers nothing (not even the
player's static files: a page load waited 1.8 s for a 7 kB script). :func:`freeze_imports`
moves what exists after the imports into the collector's permanent generation once per
process (``gc.freeze``): those objects live as long as the process anyway, and the collection
after a run then only walks what runs made (about 10 ms).
"""

from __future__ import annotations

import gc
import threading

_LOCK = threading.Lock()
_frozen = False


def freeze_imports() -> bool:
    """Freeze the objects that exist now, the first time only (True then). Call it once the
    heavy modules are imported; later calls do nothing, so garbage made by later runs stays
    collectable."""
    global _frozen
    with _LOCK:
        if _frozen:
            return False
        gc.collect()  # what is already garbage is freed, not frozen
        gc.freeze()
        _frozen = True
        return True
