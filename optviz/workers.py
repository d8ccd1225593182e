"""Heavy work in a bounded pool of worker processes, dispatched fairly across sessions.

A :class:`Pool` wraps one standard-library :class:`~concurrent.futures.ProcessPoolExecutor`
(``spawn`` context: torch and ``fork`` do not mix) and keeps its own queue in front of it:

* every job is tagged with a session id (and optionally a ``slot`` such as ``"race"``); at most
  ``size`` jobs are in the executor at once, the others wait in per-session queues;
* the next job to start comes from the session with the fewest running jobs (ties: the session
  served longest ago), so one session's many heavy jobs delay another session's job by at most
  the time until one running job ends;
* a newer job of the same session and slot supersedes (cancels) the older one, and
  :meth:`Pool.release` cancels all of a session's jobs when it ends;
* a running job learns of its cancellation through a shared ``Event`` (one per executor slot,
  handed to each worker process at start), reports its progress through a shared array, and its
  ``time_limit`` counts compute time in the worker (from the moment it starts running, never
  while it waits in the queue).

Inside a job, :func:`report` sets the progress and :func:`check` raises :class:`Cancelled` or
:class:`JobTimeout`; :func:`simulate_scene` is the app's simulation job.

The default size is the number of usable CPUs (a container's CPU quota counts), at least 2 and
at most 8 (environment ``OPTVIZ_WORKERS``
overrides it; ``0`` means no pool: the app computes in its own process). At least 2: in the app a
session has at most one simulation at a time (its ``race`` slot), so one session's heavy scene
holds one worker and a light scene opened meanwhile gets the other; as many as the CPUs
because the workers run at a lower priority (``nice`` +10): the app's own process (websockets,
health checks, figures of every session) takes a core whenever it needs one, and the workers
share the rest.
"""

from __future__ import annotations

import contextlib
import itertools
import math
import multiprocessing
import multiprocessing.context
import os
import sys
import threading
import time
import types
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import CancelledError, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from typing import Any

__all__ = [
    "Cancelled",
    "Job",
    "JobTimeout",
    "Pool",
    "check",
    "default_size",
    "report",
    "simulate_scene",
]


class Cancelled(CancelledError):
    """The job was cancelled (by :meth:`Job.cancel`, a newer job of its slot, or session end)."""


class JobTimeout(TimeoutError):
    """The job computed for longer than its ``time_limit`` (:func:`check` raises it)."""


#: Most workers by default (each holds torch: ~0.3 GB); ``OPTVIZ_WORKERS`` may ask for more.
MAX_DEFAULT_WORKERS = 8


def usable_cpus() -> int:
    """CPUs this process may use: its affinity, bounded by a cgroup v2 CPU quota (a container's
    ``cpus:`` or a pod's CPU limit, which the affinity does not show)."""
    try:
        cpus = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        cpus = os.cpu_count() or 1
    with contextlib.suppress(OSError, ValueError, IndexError):
        quota, period = open("/sys/fs/cgroup/cpu.max").read().split()[:2]  # noqa: SIM115
        if quota != "max":
            cpus = min(cpus, max(1, math.ceil(int(quota) / int(period))))
    return max(1, cpus)


def default_size() -> int:
    """Worker count: ``OPTVIZ_WORKERS`` if set, else the usable CPUs, at least 2 and at most
    :data:`MAX_DEFAULT_WORKERS`."""
    raw = os.environ.get("OPTVIZ_WORKERS", "").strip()
    if raw:
        value = int(raw)
        if value < 0:
            raise ValueError(f"OPTVIZ_WORKERS must be >= 0, got {raw!r}")
        return value
    return min(MAX_DEFAULT_WORKERS, max(2, usable_cpus()))


# --- inside a worker process ---------------------------------------------------------------

_PROGRESS: Any = None  # RawArray('d', size) shared with the parent
_CANCEL: list[Any] = []  # one Event per executor slot
_CURRENT: dict[str, Any] = {"slot": None, "deadline": None, "limit": None}


#: How much lower a worker's CPU priority is than the app's (``OPTVIZ_WORKER_NICE``).
WORKER_NICE = int(os.environ.get("OPTVIZ_WORKER_NICE", "10"))


def _init_worker(progress: Any, cancel: list[Any], warm: tuple[str, ...]) -> None:
    global _PROGRESS, _CANCEL
    _PROGRESS, _CANCEL = progress, cancel
    if WORKER_NICE > 0 and hasattr(os, "nice"):
        with contextlib.suppress(OSError):  # not allowed: run at the app's priority
            os.nice(WORKER_NICE)
    for module in warm:  # import torch etc. once, when the worker starts, not in the first job
        __import__(module)


def report(fraction: float) -> None:
    """Inside a job: set its progress (0..1). Outside a pool job: does nothing."""
    slot = _CURRENT["slot"]
    if slot is not None and _PROGRESS is not None:
        _PROGRESS[slot] = min(1.0, max(0.0, float(fraction)))


def check() -> None:
    """Inside a job: raise :class:`Cancelled` if it was cancelled, :class:`JobTimeout` if it
    has computed longer than its time limit. Outside a pool job: does nothing."""
    slot = _CURRENT["slot"]
    if slot is None:
        return
    if _CANCEL and _CANCEL[slot].is_set():
        raise Cancelled("cancelled")
    deadline = _CURRENT["deadline"]
    if deadline is not None and time.monotonic() > deadline:
        raise JobTimeout(f"computed for more than {_CURRENT['limit']:g} s")


def _run(slot: int, time_limit: float | None, fn: Callable, args: tuple, kwargs: dict) -> Any:
    """The executor's task: run ``fn`` with this slot's progress and cancellation."""
    _CURRENT["slot"] = slot
    _CURRENT["limit"] = time_limit
    _CURRENT["deadline"] = None if time_limit is None else time.monotonic() + time_limit
    try:
        check()  # cancelled between dispatch and start
        return fn(*args, **kwargs)
    finally:
        _CURRENT["slot"] = _CURRENT["deadline"] = None


#: A simulation job may take this many times its compute limit in wall-clock time (a worker
#: starved of CPU by other processes must still come back).
WALL_FACTOR = 3.0


def simulate_scene(scene: Any, time_limit: float | None = None, *,
                   record_state: bool = False) -> Any:
    """The app's simulation as a pool job: progress every few steps, prompt cancellation
    (``record_state``: with the optimizers' state, for the step inspector).

    ``time_limit`` counts this worker's CPU seconds from the job's start (``SimulationTimeout``,
    the runner's own error, past it): time spent waiting in the queue or for a CPU that other
    sessions' workers hold does not count. A wall-clock cap of :data:`WALL_FACTOR` times the
    limit still bounds a job on a starved machine.
    """
    from optviz.runner import SimulationTimeout
    from optviz.views import simulate_scenario

    cpu0, wall0 = time.process_time(), time.monotonic()

    def progress(step: int, steps: int) -> None:
        report(step / max(steps, 1))
        check()
        if time_limit is None:
            return
        cpu = time.process_time() - cpu0
        wall = time.monotonic() - wall0
        if cpu > time_limit or wall > WALL_FACTOR * time_limit:
            spent = (f"{time_limit:g} s of computing" if cpu > time_limit else
                     f"{wall:.0f} s on a busy server")
            raise SimulationTimeout(
                f"stopped at step {step:,} of {steps:,} after {spent}: this scene is too heavy "
                "to wait for (use fewer steps, starts, runs or L-BFGS evaluations)")

    return simulate_scenario(scene, progress=progress, record_state=record_state)


# --- starting workers -------------------------------------------------------------------------

_MAIN_LOCK = threading.Lock()


class _WorkerProcess(multiprocessing.context.SpawnProcess):
    """A spawned process that does not re-run the parent's ``__main__``.

    ``spawn`` re-imports the parent's main module in the child; under ``streamlit run`` that is
    the app script itself (Streamlit installs it as ``sys.modules["__main__"]``), which would
    run the whole page, bare, in every worker. For the moment of the start the child is shown an
    empty ``__main__`` instead (job functions are pickled by their own modules' names).
    """

    def start(self) -> None:
        with _MAIN_LOCK:
            main = sys.modules.get("__main__")
            sys.modules["__main__"] = types.ModuleType("__main__")
            try:
                super().start()
            finally:
                if main is not None:
                    sys.modules["__main__"] = main


class _SpawnContext(multiprocessing.context.SpawnContext):
    Process = _WorkerProcess


# --- in the app process --------------------------------------------------------------------

_QUEUED, _RUNNING, _DONE = "queued", "running", "done"


class Job:
    """One submitted job: its place in the queue, progress, result, cancellation."""

    def __init__(self, pool: Pool, session: str, slot: str | None, fn: Callable, args: tuple,
                 kwargs: dict, time_limit: float | None) -> None:
        self.pool, self.session, self.slot = pool, session, slot
        self.fn, self.args, self.kwargs, self.time_limit = fn, args, kwargs, time_limit
        self.future: Future = Future()
        self.state = _QUEUED
        self.index: int | None = None  # executor slot while running
        self.started: float | None = None
        self.finished: float | None = None
        self.cancelled = False

    def position(self) -> int:
        """0 when running or done; else 1 + the number of queued jobs that start before it."""
        return self.pool._position(self)

    def progress(self) -> float:
        """0..1: what the worker last reported (1 when done, 0 while queued)."""
        if self.state == _DONE:
            return 1.0
        if self.state == _RUNNING and self.index is not None:
            return float(self.pool._progress[self.index])
        return 0.0

    def done(self) -> bool:
        return self.future.done()

    def wait(self, timeout: float | None = None) -> bool:
        """Wait until done (``True``) or ``timeout`` seconds pass (``False``)."""
        return bool(wait([self.future], timeout)[0])

    def cancel(self) -> None:
        """Drop it if queued; tell the worker to stop if running (it returns promptly)."""
        self.pool._cancel(self)

    def result(self, timeout: float | None = None) -> Any:
        """The function's return value; raises what it raised, :class:`Cancelled` if cancelled
        and :class:`TimeoutError` if ``timeout`` passes first (the job keeps going)."""
        done, _ = wait([self.future], timeout)
        if not done:
            raise TimeoutError(f"job not done after {timeout} s")
        try:
            return self.future.result()
        except CancelledError as exc:
            if isinstance(exc, Cancelled):
                raise
            raise Cancelled("cancelled") from None

    def __repr__(self) -> str:
        return f"<Job {self.session}/{self.slot} {self.state}>"


class Pool:
    """A bounded process pool with a fair per-session queue (see the module docstring).

    ``alive(session) -> bool``, if given, is asked at every submit and dispatch: a session it
    reports gone is released. ``warm``: modules each worker imports when it starts; ``start``:
    start all workers at once (else on demand).
    """

    def __init__(self, size: int | None = None, *, alive: Callable[[str], bool] | None = None,
                 warm: tuple[str, ...] = (), context: str = "spawn", start: bool = True) -> None:
        size = default_size() if size is None else int(size)
        if size < 1:
            raise ValueError(f"a pool needs at least one worker, got {size}")
        self.size = size
        ctx = _SpawnContext() if context == "spawn" else multiprocessing.get_context(context)
        self._progress = ctx.RawArray("d", size)
        self._cancel_events = [ctx.Event() for _ in range(size)]
        self._ctx, self._warm = ctx, tuple(warm)
        self._executor = self._new_executor()
        self._inflight: dict[int, Job] = {}
        self._alive = alive
        self._lock = threading.RLock()
        self._depth = 0  # nesting of _locked() in the thread holding the lock
        self._pending: list[tuple[Future, BaseException | None, Any]] = []
        self._queues: dict[str, deque[Job]] = {}
        self._running: dict[str, int] = {}
        self._served: dict[str, int] = {}  # session -> dispatch tick of its last start
        self._tick = itertools.count(1)
        self._free = list(range(size))
        self._slots: dict[tuple[str, str], Job] = {}
        self._closed = False
        if start:  # spawn every worker now (each imports ``warm``), not in users' first jobs
            for _ in range(size):
                self._executor.submit(int)

    def _new_executor(self) -> ProcessPoolExecutor:
        return ProcessPoolExecutor(
            max_workers=self.size, mp_context=self._ctx, initializer=_init_worker,
            initargs=(self._progress, self._cancel_events, self._warm),
        )

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        """Hold the pool's lock; the job futures resolved meanwhile are resolved on leaving the
        outermost hold, with the lock released (their callbacks may take other locks)."""
        with self._lock:
            self._depth += 1
            try:
                yield
            finally:
                self._depth -= 1
                pending, outermost = self._pending, self._depth == 0
                if outermost:
                    self._pending = []
        if outermost:
            for future, exc, value in pending:
                if exc is not None:
                    future.set_exception(exc)
                else:
                    future.set_result(value)

    # -- public ----------------------------------------------------------------------------

    def submit(self, session: str, fn: Callable, *args: Any, slot: str | None = None,
               time_limit: float | None = None, **kwargs: Any) -> Job:
        """Queue ``fn(*args, **kwargs)`` for ``session``; a job of the same session and
        ``slot`` still queued or running is cancelled. ``time_limit``: seconds of compute in
        the worker that :func:`check` allows."""
        job = Job(self, str(session), slot, fn, args, kwargs, time_limit)
        with self._locked():
            if self._closed:
                raise RuntimeError("the pool is shut down")
            self._reap()
            if slot is not None:
                old = self._slots.get((job.session, slot))
                if old is not None:
                    self._cancel(old)
                self._slots[(job.session, slot)] = job
            self._queues.setdefault(job.session, deque()).append(job)
            self._dispatch()
        return job

    def release(self, session: str) -> int:
        """Cancel every job of ``session`` and forget it; returns how many were cancelled."""
        with self._locked():
            jobs = list(self._queues.get(session, ()))
            jobs += [j for (s, _), j in self._slots.items() if s == session]
            running = [j for j in self._running_jobs() if j.session == session]
            n = 0
            for job in {id(j): j for j in jobs + running}.values():
                if job.state != _DONE and not job.cancelled:
                    self._cancel(job)
                    n += 1
            self._queues.pop(session, None)
            self._served.pop(session, None)
            for key in [k for k in self._slots if k[0] == session]:
                del self._slots[key]
            return n

    def sessions(self) -> set[str]:
        """Sessions with a job queued or running."""
        with self._locked():
            return {s for s, q in self._queues.items() if q} | {
                s for s, n in self._running.items() if n}

    def queued(self) -> int:
        with self._locked():
            return sum(len(q) for q in self._queues.values())

    def running(self) -> int:
        with self._locked():
            return sum(self._running.values())

    def shutdown(self, wait: bool = True) -> None:
        """Cancel everything and stop the workers."""
        with self._locked():
            self._closed = True
            for session in list(self._queues) + list(self._running):
                self.release(session)
        self._executor.shutdown(wait=wait, cancel_futures=True)

    # -- internals (called with the lock held) ---------------------------------------------

    def _running_jobs(self) -> list[Job]:
        return list(self._inflight.values())

    def _reap(self) -> None:
        if self._alive is None:
            return
        for session in list(set(self._queues) | {s for s, n in self._running.items() if n}):
            try:
                gone = not self._alive(session)
            except Exception:  # a failing check must not break the queue
                gone = False
            if gone:
                self.release(session)

    def _pick(self, running: dict[str, int], served: dict[str, int],
              queues: dict[str, int]) -> str | None:
        """The session whose job starts next: fewest running, then served longest ago."""
        ready = [s for s, n in queues.items() if n > 0]
        if not ready:
            return None
        return min(ready, key=lambda s: (running.get(s, 0), served.get(s, 0)))

    def _dispatch(self) -> None:
        while self._free and not self._closed:
            session = self._pick(self._running, self._served,
                                 {s: len(q) for s, q in self._queues.items()})
            if session is None:
                return
            job = self._queues[session].popleft()
            if not self._queues[session]:
                del self._queues[session]
            self._start(job)

    def _start(self, job: Job) -> None:
        index = self._free.pop(0)
        self._progress[index] = 0.0
        self._cancel_events[index].clear()
        job.index, job.state, job.started = index, _RUNNING, time.monotonic()
        self._running[job.session] = self._running.get(job.session, 0) + 1
        self._served[job.session] = next(self._tick)
        self._inflight[index] = job
        job.future.set_running_or_notify_cancel()
        args = (_run, index, job.time_limit, job.fn, job.args, job.kwargs)
        try:
            inner = self._executor.submit(*args)
        except BrokenProcessPool:  # a worker died (e.g. killed for memory): start a new pool
            self._executor.shutdown(wait=False, cancel_futures=True)
            self._executor = self._new_executor()
            inner = self._executor.submit(*args)
        inner.add_done_callback(lambda f, job=job: self._finished(job, f))

    def _finished(self, job: Job, inner: Future) -> None:
        with self._locked():
            index = job.index
            if index is not None and self._inflight.get(index) is job:
                del self._inflight[index]
                self._cancel_events[index].clear()
                self._free.append(index)
            job.state, job.finished = _DONE, time.monotonic()
            left = self._running.get(job.session, 0) - 1
            if left > 0:
                self._running[job.session] = left
            else:
                self._running.pop(job.session, None)
            if job.slot is not None and self._slots.get((job.session, job.slot)) is job:
                del self._slots[(job.session, job.slot)]
            exc = inner.exception() if not inner.cancelled() else Cancelled("cancelled")
            if job.cancelled and (exc is None or isinstance(exc, CancelledError)):
                exc = Cancelled("cancelled")
            value = inner.result() if exc is None else None
            self._pending.append((job.future, exc, value))
            self._reap()
            self._dispatch()

    def _cancel(self, job: Job) -> None:
        with self._locked():
            if job.state == _DONE or job.cancelled:
                return
            job.cancelled = True
            queue = self._queues.get(job.session)
            if job.state == _QUEUED:
                if queue is not None and job in queue:
                    queue.remove(job)
                    if not queue:
                        del self._queues[job.session]
                job.state, job.finished = _DONE, time.monotonic()
                self._pending.append((job.future, Cancelled("cancelled before it started"), None))
            elif job.state == _RUNNING and job.index is not None:
                self._cancel_events[job.index].set()  # the worker's check() raises Cancelled

    def _position(self, job: Job) -> int:
        with self._locked():
            if job.state != _QUEUED:
                return 0
            # Replay the dispatch order as if no running job ended in the meantime.
            running = dict(self._running)
            served = dict(self._served)
            queues = {s: list(q) for s, q in self._queues.items()}
            counts = {s: len(q) for s, q in queues.items()}
            taken = dict.fromkeys(queues, 0)
            tick = 10**12
            ahead = 0
            while True:
                session = self._pick(running, served, counts)
                if session is None:
                    return ahead + 1  # not found: treat as last
                nxt = queues[session][taken[session]]
                if nxt is job:
                    return ahead + 1
                ahead += 1
                taken[session] += 1
                counts[session] -= 1
                running[session] = running.get(session, 0) + 1
                tick += 1
                served[session] = tick


# --- the app's pool --------------------------------------------------------------------------

_POOL: Pool | None = None
_POOL_LOCK = threading.Lock()


def shared_pool(alive: Callable[[str], bool] | None = None) -> Pool | None:
    """The process-wide pool (started on first use), or ``None`` when ``OPTVIZ_WORKERS=0``."""
    global _POOL
    with _POOL_LOCK:
        if _POOL is None:
            size = default_size()
            if size == 0:
                return None
            _POOL = Pool(size, alive=alive, warm=("optviz.views",))
        return _POOL
