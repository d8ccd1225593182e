"""What the app computes, cached on hashable descriptions of the scene.

* :func:`trajectories`: ``simulate`` keyed on :meth:`Scenario.sim_key` only, so colours, labels
  and variant names never re-run the optimizers. Computed in the worker pool
  (:mod:`optviz.workers`, fair across sessions) and kept in :data:`SIMULATIONS`, a cache bounded
  in bytes and age that a client's ``clear_cache`` message cannot empty (:mod:`optviz.ui.lru`).
* :func:`landscape`: the surface on its plot grid, keyed on (surface, formula, domain).
* :func:`race_payload`: what the race player draws, keyed on the simulation key plus what only
  changes the look (colours, labels, classroom mode). It lives in :data:`PAYLOADS` (bounded
  in bytes and age); Streamlit only reads it (it serializes a copy); callers must not change
  it.

:data:`CALLS` counts real (uncached) computations per function; tests read it to check that a
colour change does not re-simulate.
"""

from __future__ import annotations

import itertools
import os
import threading
import time
from collections import Counter
from typing import Any

import streamlit as st

from optviz import workers
from optviz.figures import Landscape
from optviz.runner import Trajectories
from optviz.scene import Scenario
from optviz.ui import build, lru
from optviz.views import landscape_for, simulate_scenario

#: Seconds a page waits for one simulation before it gives up with a clear message.
SIMULATION_TIME_LIMIT = 20.0

#: Uncached computations so far, by function name (process-wide, like the caches).
CALLS: Counter[str] = Counter()

#: Simulation results by ``sim_key``: at most ``OPTVIZ_CACHE_MB`` (256) MB in all, an hour
#: each, and none over half the budget (the largest allowed scene is about 25 MB, and with
#: the optimizers' state recorded for the step inspector up to ~110 MiB: 8 × 16 starts × 5,000
#: steps of Lookahead over Adan with its momentum pull-back, ~100 MiB of SOAP; kept, so that
#: stepping through it never records it again).
SIMULATIONS = lru.ByteLRU(
    max_bytes=int(float(os.environ.get("OPTVIZ_CACHE_MB", "256")) * 2**20),
    ttl=float(os.environ.get("OPTVIZ_CACHE_TTL_S", "3600")),
    max_item_bytes=int(float(os.environ.get("OPTVIZ_CACHE_MB", "256")) * 2**20) // 2,
)
#: Seconds between two looks at a queued or running job while the page waits for it.
POLL_S = 0.1
#: Seconds after which an unchanged queue position or progress is sent again.
RESEND_S = 0.5

_INFLIGHT: dict[tuple, workers.Job] = {}  # sim_key -> the job computing it (any session)
_INFLIGHT_LOCK = threading.RLock()

lru.protect_from_client_clear()


def surface_key(scene: Scenario) -> tuple:
    """What identifies the drawn surface."""
    return (scene.surface, scene.formula, scene.domain)


def look_key(scene: Scenario, classroom: bool) -> tuple:
    """Everything the figures show that the simulation does not depend on."""
    return (
        tuple(r.color for r in scene.runs),
        tuple(r.display_label() for r in scene.runs),
        bool(classroom),
    )


def trajectories(sim_key: tuple, _scene: Scenario, *,
                 record_state: bool = False) -> Trajectories:
    """``simulate`` for ``_scene``; ``sim_key`` (its ``sim_key()``) is the cache key.
    ``record_state``: with the optimizers' state at every step (the step inspector's, a job
    of its own slot, so asking for it never cancels the race's simulation).

    Kept in :data:`SIMULATIONS` (bytes- and age-bounded, out of reach of a client's
    ``clear_cache``). Computed in the worker pool (:mod:`optviz.workers`) under a real server,
    with the queue position and progress shown while it waits; inline in this process under
    ``AppTest`` or with ``OPTVIZ_WORKERS=0``. Raises ``SimulationTimeout`` past
    :data:`SIMULATION_TIME_LIMIT` seconds of compute (waiting in the queue does not count).
    """
    key = (sim_key, "state") if record_state else sim_key
    hit = SIMULATIONS.get(key)
    if hit is not None:
        return hit
    shared = pool()
    if shared is None:
        text = "Recording the optimizers' state…" if record_state else "Running the optimizers…"
        with progress_box(), st.spinner(text):
            CALLS["simulate_state" if record_state else "simulate"] += 1
            traj = simulate_scenario(_scene, time_limit=SIMULATION_TIME_LIMIT,
                                     record_state=record_state)
        SIMULATIONS.put(key, traj)
        return traj
    return _through_pool(shared, key, _scene, record_state)


@st.cache_data(max_entries=32, show_spinner=False)
def landscape(key: tuple, _scene: Scenario) -> Landscape:
    """The surface sampled for drawing; ``key`` is :func:`surface_key`."""
    CALLS["landscape"] += 1
    return landscape_for(_scene.resolve_surface())


#: Race payloads by (sim_key, look): at most 64 MB (the largest allowed scene's is about 10 MB),
#: an hour each, out of reach of a client's ``clear_cache`` like :data:`SIMULATIONS`.
PAYLOADS = lru.ByteLRU(max_bytes=64 * 2**20, ttl=3600.0, max_item_bytes=16 * 2**20)
_PAYLOAD_LOCK = threading.Lock()


def race_payload(
    sim_key: tuple, look: tuple, _scene: Scenario, _traj: Trajectories, _land: Landscape,
) -> dict[str, Any]:
    """The race player's payload (``look[2]``: classroom mode). Read-only: do not change it."""
    key = (sim_key, look)
    hit = PAYLOADS.get(key)
    if hit is not None:
        return hit
    CALLS["race_payload"] += 1
    payload = build.player_payload(_scene, _traj, _land, classroom=look[2])
    with _PAYLOAD_LOCK:
        PAYLOADS.put(key, payload)  # sized by its strings (the base64 arrays, the picture)
    return payload


def clear() -> None:
    """Empty every cache and the call counts (tests)."""
    SIMULATIONS.clear()
    PAYLOADS.clear()
    st.cache_data.clear()
    st.cache_resource.clear()
    CALLS.clear()


def _real_server() -> bool:
    """True under ``streamlit run`` (not ``AppTest``, whose runtime is a mock)."""
    from streamlit.runtime import Runtime

    return Runtime.exists() and type(Runtime._instance) is Runtime


def _session_alive(session: str) -> bool:
    from streamlit.runtime import Runtime

    if not _real_server():
        return True
    return Runtime.instance().is_active_session(session)


def pool() -> workers.Pool | None:
    """The worker pool under a real server (``None``: compute inline)."""
    if not _real_server() or workers.default_size() == 0:
        return None
    return workers.shared_pool(alive=_session_alive)


def session_id() -> str:
    from streamlit.runtime.scriptrunner import get_script_run_ctx

    ctx = get_script_run_ctx()
    return ctx.session_id if ctx is not None else "no-session"


def _job_for(pool: workers.Pool, session: str, sim_key: tuple, scene: Scenario,
             record_state: bool = False) -> workers.Job:
    """The job computing ``sim_key``: one already under way (any session's) or a new one in
    this session's ``race`` slot (which cancels this session's previous scene; ``inspect``
    for a simulation with recorded state)."""
    with _INFLIGHT_LOCK:
        job = _INFLIGHT.get(sim_key)
        if job is not None and not job.done():
            return job
        CALLS["simulate_state" if record_state else "simulate"] += 1
        job = pool.submit(session, workers.simulate_scene, scene, SIMULATION_TIME_LIMIT,
                          slot="inspect" if record_state else "race",
                          record_state=record_state)
        _INFLIGHT[sim_key] = job

    def store(_future: object) -> None:  # in the pool's thread: keep what an abandoned job made
        with _INFLIGHT_LOCK:
            if _INFLIGHT.get(sim_key) is job:
                del _INFLIGHT[sim_key]
        if job.future.exception() is None:
            SIMULATIONS.put(sim_key, job.future.result())

    job.future.add_done_callback(store)
    return job


def _wait_text(job: workers.Job) -> tuple[float, str]:
    position = job.position()
    if position:
        ahead = position - 1
        return 0.0, (f"Waiting for a free worker: {ahead} scene{'s' if ahead != 1 else ''} "
                     "ahead of yours in the queue…" if ahead else
                     "Waiting for a free worker: yours is next…")
    percent = int(100 * job.progress())
    return percent / 100, f"Running the optimizers… {percent}%"


#: Keys of the simulations' progress boxes: unique in the process (a run may wait for two
#: simulations), each with the CSS class ``st-key-<key>`` that :data:`optviz.ui.style.BASE_CSS`
#: floats over the page.
_PROGRESS_KEYS = itertools.count()


def progress_box() -> Any:
    """A container that floats at the top right (the ``ovp_progress`` CSS): a progress
    bar or spinner in it shifts nothing, so the race never jumps under the mouse while a
    dragged start's paths compute; it shows only when the wait lasts (the CSS fades it in)."""
    return st.container(key=f"ovp_progress_{next(_PROGRESS_KEYS)}")


def _through_pool(pool: workers.Pool, sim_key: tuple, scene: Scenario,
                  record_state: bool = False) -> Trajectories:
    """Submit (or join) the simulation and show its queue position and progress until done."""
    session = session_id()
    placeholder = progress_box().empty()
    shown: tuple[float, str] | None = None
    sent = 0.0
    try:
        for _attempt in range(3):
            job = _job_for(pool, session, sim_key, scene, record_state)
            while not job.done():
                now = _wait_text(job)
                # Also sent again now and then: each message is where Streamlit stops this run for
                # a newer one (the user changed the scene), so the page never waits unheard.
                if now != shown or time.monotonic() - sent > RESEND_S:
                    placeholder.progress(now[0], text=now[1])
                    shown, sent = now, time.monotonic()
                job.wait(POLL_S)
            try:
                return job.result()
            except workers.Cancelled:
                # Someone else's job we joined was cancelled (their scene changed or they
                # left): compute it for this session.
                if job.session == session:
                    raise
                continue
        raise RuntimeError("the simulation was cancelled three times; try again")
    except BaseException:
        if not _session_alive(session):  # the page was closed: stop its work
            pool.release(session)
        raise
    finally:
        placeholder.empty()
