"""The worker pool: fair dispatch across sessions, cancellation, compute-time limits, progress.

Jobs here are small sleep-based functions of this module (a spawned worker imports it by name).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import time
from collections.abc import Coroutine
from typing import Any

import pytest

from optviz import workers
from optviz.workers import Cancelled, JobTimeout, Pool


def _run(coro: Coroutine[Any, Any, Any]) -> Any:
    """``asyncio.run`` in a thread of its own: in one pytest process the browser tests'
    Playwright (sync API) may keep an event loop running in this thread."""
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, coro).result()

def nap(seconds: float, tag: str = "") -> tuple[str, float]:
    """A job that sleeps in small steps, reporting progress and honouring cancellation."""
    t0 = time.monotonic()
    n = max(1, int(seconds / 0.01))
    for i in range(n):
        workers.check()
        time.sleep(seconds / n)
        workers.report((i + 1) / n)
    return tag, time.monotonic() - t0


def half_then_wait(seconds: float) -> str:
    """Report 0.5, then wait (checking) for ``seconds``."""
    workers.report(0.5)
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        workers.check()
        time.sleep(0.01)
    return "done"


def boom() -> None:
    raise ValueError("bad scene")


@pytest.fixture
def pool2():
    p = Pool(2)
    # Start both workers now so spawn time does not count in what the tests measure.
    for job in [p.submit("warm", nap, 0.05), p.submit("warm2", nap, 0.05)]:
        job.result(timeout=60)
    yield p
    p.shutdown()


def test_light_job_of_another_session_overtakes_heavy_queue(pool2):
    heavy = [pool2.submit("A", nap, 0.6, f"A{i}") for i in range(6)]
    light = pool2.submit("B", nap, 0.05, "B")
    assert light.position() == 1  # next to start, although A queued 4 before it
    assert heavy[5].position() == 5
    assert light.result(timeout=30)[0] == "B"
    assert heavy[2].finished is None or heavy[2].finished > light.finished
    # B waited at most about one heavy job's time.
    assert light.finished - light.started < 0.5
    for job in heavy:
        job.result(timeout=60)
    # At most `size` jobs ran at once.
    spans = sorted((j.started, j.finished) for j in [*heavy, light])
    for start, _ in spans:
        assert sum(1 for s, e in spans if s <= start < e) <= 2


def test_round_robin_between_two_busy_sessions(pool2):
    with pool2._locked():  # no job can end and free a worker before all eight are queued
        a = [pool2.submit("A", nap, 0.1, f"A{i}") for i in range(4)]
        b = [pool2.submit("B", nap, 0.1, f"B{i}") for i in range(4)]
    for job in a + b:
        job.result(timeout=60)
    order = [j.args[1] for j in sorted(a + b, key=lambda j: j.started)]
    # A started 2 before B arrived; from then on each session holds one of the two workers.
    assert order[:2] == ["A0", "A1"]
    assert order[2] == "B0"
    nxt = [tag[0] for tag in order[2:6]]  # both sessions share the workers (timing decides ties)
    assert nxt.count("A") >= 1 and nxt.count("B") >= 2


def test_cancel_queued_job_is_dropped(pool2):
    running = [pool2.submit("A", nap, 0.5) for _ in range(2)]
    queued = pool2.submit("A", nap, 0.1)
    assert queued.position() == 1
    queued.cancel()
    with pytest.raises(Cancelled):
        queued.result(timeout=5)
    assert queued.position() == 0
    assert pool2.queued() == 0
    for job in running:
        job.result(timeout=30)


def test_cancel_running_job_returns_promptly(pool2):
    job = pool2.submit("A", nap, 30.0)
    deadline = time.monotonic() + 10
    while job.progress() == 0 and time.monotonic() < deadline:
        time.sleep(0.02)
    assert job.position() == 0 and 0 < job.progress() < 1
    t0 = time.monotonic()
    job.cancel()
    with pytest.raises(Cancelled):
        job.result(timeout=5)
    assert time.monotonic() - t0 < 1.0
    # The freed worker takes the next job at once.
    assert pool2.submit("A", nap, 0.01, "next").result(timeout=5)[0] == "next"


def test_newer_job_of_same_slot_supersedes(pool2):
    first = pool2.submit("A", nap, 30.0, slot="race")
    other = pool2.submit("A", nap, 0.05, "other-slot", slot="loss")
    second = pool2.submit("A", nap, 0.05, "second", slot="race")
    with pytest.raises(Cancelled):
        first.result(timeout=5)
    assert second.result(timeout=10)[0] == "second"
    assert other.result(timeout=10)[0] == "other-slot"
    # another session's job in the same slot name is untouched
    mine = pool2.submit("B", nap, 0.05, "b", slot="race")
    pool2.submit("C", nap, 0.05, "c", slot="race")
    assert mine.result(timeout=10)[0] == "b"


def test_time_limit_counts_compute_not_queueing(pool2):
    blockers = [pool2.submit("A", nap, 2.0) for _ in range(2)]
    # Queued ~2 s behind the blockers (over its limit), then computes 0.3 s: well within
    # 1.2 s of compute, also on a busy machine.
    fine = pool2.submit("B", nap, 0.3, "fine", time_limit=1.2)
    assert fine.result(timeout=30)[0] == "fine"
    assert fine.started - blockers[0].started > 1.5  # it did wait in the queue, past 1.2 s
    slow = pool2.submit("B", nap, 5.0, time_limit=0.3)
    t0 = time.monotonic()
    with pytest.raises(JobTimeout):
        slow.result(timeout=10)
    assert time.monotonic() - t0 < 2.0


def test_progress_and_position_values(pool2):
    blockers = [pool2.submit("A", half_then_wait, 0.6) for _ in range(2)]
    waiting = [pool2.submit("B", nap, 0.05) for _ in range(2)]
    assert [j.position() for j in waiting] == [1, 2]
    assert [j.progress() for j in waiting] == [0.0, 0.0]
    deadline = time.monotonic() + 10
    while blockers[0].progress() < 0.5 and time.monotonic() < deadline:
        time.sleep(0.02)
    assert blockers[0].progress() == 0.5 and blockers[0].position() == 0
    for job in blockers + waiting:
        job.result(timeout=30)
    assert all(j.progress() == 1.0 and j.position() == 0 for j in blockers + waiting)


def test_errors_come_back_as_raised(pool2):
    with pytest.raises(ValueError, match="bad scene"):
        pool2.submit("A", boom).result(timeout=10)


def test_release_cancels_all_of_a_session(pool2):
    jobs = [pool2.submit("A", nap, 30.0) for _ in range(4)]
    keep = pool2.submit("B", nap, 0.05, "b")
    assert pool2.release("A") == 4
    for job in jobs:
        with pytest.raises(Cancelled):
            job.result(timeout=5)
    assert keep.result(timeout=10)[0] == "b"
    assert "A" not in pool2.sessions()


def test_dead_session_is_released_at_next_dispatch():
    gone: set[str] = set()
    p = Pool(1, alive=lambda s: s not in gone)
    try:
        a = [p.submit("A", nap, 30.0) for _ in range(3)]
        deadline = time.monotonic() + 20
        while a[0].progress() == 0 and time.monotonic() < deadline:
            time.sleep(0.02)
        gone.add("A")
        b = p.submit("B", nap, 0.01, "b")  # the submit notices A is gone
        for job in a:
            with pytest.raises(Cancelled):
                job.result(timeout=5)
        assert b.result(timeout=10)[0] == "b"
    finally:
        p.shutdown()


def test_default_size(monkeypatch):
    monkeypatch.setenv("OPTVIZ_WORKERS", "3")
    assert workers.default_size() == 3
    monkeypatch.setenv("OPTVIZ_WORKERS", "0")
    assert workers.default_size() == 0
    monkeypatch.delenv("OPTVIZ_WORKERS")
    assert workers.default_size() >= 2


def test_simulation_runs_in_a_worker_with_progress_and_timeout(pool2):
    from dataclasses import replace

    from optviz.runner import SimulationTimeout, Trajectories
    from optviz.scene import Scenario

    scene = Scenario().validated()
    traj = pool2.submit("A", workers.simulate_scene, scene, 20.0).result(timeout=120)
    assert isinstance(traj, Trajectories)
    assert traj.xy.shape[2] == scene.steps + 1
    heavy = replace(scene, steps=5000).validated()
    job = pool2.submit("A", workers.simulate_scene, heavy, 60.0)
    deadline = time.monotonic() + 60
    while job.progress() == 0 and time.monotonic() < deadline:
        time.sleep(0.02)
    assert 0 < job.progress() < 1
    job.cancel()
    with pytest.raises(Cancelled):
        job.result(timeout=10)
    with pytest.raises(SimulationTimeout):
        pool2.submit("A", workers.simulate_scene, heavy, 0.05).result(timeout=60)


# --- the app's caches ----------------------------------------------------------------------


def test_an_export_is_built_in_a_worker_under_its_time_limit(pool2):
    """The app's downloads are pool jobs (optviz/ui/downloads.py): the same bytes as built
    here, and a build past its time limit stops with ExportTimeout."""
    from dataclasses import replace

    from optviz.exports import export
    from optviz.exports.budget import ExportTimeout, export_job, plan
    from optviz.scene import DEFAULT_SCENARIO
    from optviz.views import simulate_scenario

    scene = replace(DEFAULT_SCENARIO, steps=30).validated()
    traj = simulate_scenario(scene)
    job = pool2.submit("A", export_job, "csv", scene, traj, plan("csv", scene, traj), 20.0,
                       slot="export.csv")
    assert job.result(timeout=120) == export("csv", scene, traj)
    job = pool2.submit("A", export_job, "gif", scene, traj, plan("gif", scene, traj), 1e-9,
                       640, 1, slot="export.gif")
    with pytest.raises(ExportTimeout, match="building the GIF took more than"):
        job.result(timeout=120)


def test_the_apps_download_waits_for_its_pool_job_with_progress(pool2, monkeypatch):
    """optviz.ui.downloads.make under a real server: submitted to the pool in the session's
    export slot, its queue position or progress reported, the file's bytes returned."""
    from dataclasses import replace

    from optviz.exports import export
    from optviz.exports.budget import plan
    from optviz.scene import DEFAULT_SCENARIO
    from optviz.ui import cache, downloads
    from optviz.views import simulate_scenario

    monkeypatch.setattr(cache, "pool", lambda: pool2)
    scene = replace(DEFAULT_SCENARIO, steps=30).validated()
    traj = simulate_scenario(scene)
    blockers = [pool2.submit("B", nap, 0.5), pool2.submit("C", nap, 0.5)]  # both workers busy
    texts: list[str] = []
    data = downloads.make("json", scene, traj, plan("json", scene, traj), "A",
                          lambda fraction, text: texts.append(text))
    assert data == export("json", scene, traj)
    assert texts and texts[0].startswith("Waiting for a free worker"), texts
    for job in blockers:
        job.result(timeout=30)


def test_byte_lru_bounds_bytes_age_and_item_size(monkeypatch):
    import numpy as np

    from optviz.ui import lru

    c = lru.ByteLRU(max_bytes=3_000, ttl=60, max_item_bytes=1_500)
    for i in range(5):
        assert c.put(i, np.zeros(100))  # ~900 bytes each
    assert c.bytes <= 3_000 and len(c) == 3
    assert c.get(0) is None and c.get(4) is not None  # least recently used went first
    assert not c.put("big", np.zeros(1_000))  # 8 kB: returned to the caller, not kept
    assert c.get("big") is None and c.refused == 1
    now = [1000.0]
    monkeypatch.setattr(lru.time, "monotonic", lambda: now[0])
    c.put("old", np.zeros(10))
    now[0] += 61
    assert c.get("old") is None  # past its time to live


def test_a_client_clear_cache_message_does_not_empty_the_shared_caches():
    from streamlit.runtime.app_session import AppSession

    from optviz.ui import cache

    cache.clear()
    cache.SIMULATIONS.put(("key",), "a trajectory")

    @cache.st.cache_data
    def squared(x: int) -> int:
        cache.CALLS["squared"] += 1
        return x * x

    squared(3)

    class FakeSession:  # what the handler touches of an AppSession
        def __init__(self) -> None:
            self._session_state = {"mine": 1}

    me = FakeSession()
    # What Streamlit runs for a websocket BackMsg of type "clear_cache".
    AppSession._handle_clear_cache_request(me)
    assert cache.SIMULATIONS.get(("key",)) == "a trajectory"
    squared(3)
    assert cache.CALLS["squared"] == 1  # st.cache_data was not cleared either
    assert me._session_state == {}  # only the sender's own state goes
    cache.clear()


# --- the app with its pool: a heavy and a light session ------------------------------------

HEAVY = {"surface": "rosenbrock", "start": "-1.5,2.01", "steps": "5000", "seed": "0",
         "run": "sgd;momentum;nesterov;rmsprop;adam;adamw;nadam;lbfgs"}  # 8 runs x 5,000 steps
LIGHT: dict[str, str] = {}  # the app's default scene


@pytest.fixture
def pooled_app(tmp_path):
    """``streamlit run app.py`` with a pool of 2 workers, on a free loopback port."""
    import os
    import signal
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "deploy"))
    from local_proxy import free_port, start_app, wait_healthy

    port = free_port()
    os.environ["OPTVIZ_WORKERS"] = "2"
    try:
        proc = start_app(port, tmp_path / "app.log")
    finally:
        del os.environ["OPTVIZ_WORKERS"]
    url = f"http://127.0.0.1:{port}"
    try:
        wait_healthy(url, [proc], time.monotonic() + 120)
        yield url
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)  # the app and its worker processes
        try:
            proc.wait(timeout=15)
        except Exception:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
        print((tmp_path / "app.log").read_text()[-2000:])


def load_bench():
    """bench/load.py as a module, as tests/test_deploy.py loads it (bench/ is not put on
    sys.path: its app.py would shadow the app's)."""
    import importlib.util
    import sys
    from pathlib import Path

    name = "optviz_bench_load"
    if name in sys.modules:
        return sys.modules[name]
    path = Path(__file__).resolve().parents[1] / "bench" / "load.py"
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


def _session(base: str, query: dict[str, str], timeout: float, clear_cache: bool = False):
    """One websocket session of the load bench (its ``Result``: race, progress texts shown,
    error elements, when the run ended); ``clear_cache``: first send the ``clear_cache``
    message (the menu's "Clear cache")."""
    return load_bench().ws_session(base, query, timeout, clear_cache=clear_cache)


def test_app_light_session_finishes_before_a_heavy_one(pooled_app):
    async def both():
        async def later(query, delay):
            await asyncio.sleep(delay)
            return await _session(pooled_app, query, timeout=240)

        return await asyncio.gather(later(HEAVY, 0.0), later(LIGHT, 1.5))

    heavy, light = _run(both())
    print("light:", light, "\nheavy:", heavy.race_s, heavy.end, heavy.errors,
          heavy.progress[:3], heavy.progress[-3:])
    assert not light.errors and light.race_s is not None, light
    assert light.end < heavy.end
    # the heavy scene showed its progress while it computed in its worker (and finished there,
    # or said it was too heavy)
    assert any(t.startswith("Running the optimizers") and t != "Running the optimizers… 0%"
               for t in heavy.progress), heavy.progress
    assert heavy.race_s is not None or any("too long" in e for e in heavy.errors), heavy.errors
    # Any client may send clear_cache: the light scene stays cached (no simulation this time).
    again = _run(_session(pooled_app, LIGHT, timeout=240, clear_cache=True))
    assert again.race_s is not None and not again.errors, again
    assert again.progress == [], again.progress


def test_job_callbacks_run_without_the_pool_lock(pool2):
    """A done-callback may take other locks (the app's cache does): never under the pool's."""
    held = []
    blockers = [pool2.submit("A", nap, 0.3) for _ in range(2)]
    queued = pool2.submit("A", nap, 0.1, slot="race")
    queued.future.add_done_callback(lambda f: held.append(pool2._lock._is_owned()))
    pool2.submit("A", nap, 0.1, slot="race")  # supersedes the queued one
    running = blockers[0]
    running.future.add_done_callback(lambda f: held.append(pool2._lock._is_owned()))
    running.result(timeout=30)
    time.sleep(0.1)
    assert held == [False, False]
