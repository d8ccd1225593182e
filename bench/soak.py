"""Soak: many distinct scenes through one app server; RSS before, during and after.

    python bench/soak.py --scenes 500 --concurrency 4       # starts its own `streamlit run`
    python bench/soak.py --scenes 500 --workers 0            # no pool: compute in the app

Each scene is the default one with its start moved a little (so none is a cache hit: every one
simulates, builds its figures and fills the caches), opened over Streamlit's websocket protocol
by a session that closes when its run ends. It prints the app's RSS (the server process plus its
worker processes, from /proc) when idle, every 50 scenes, at the peak and after every session
closed, with the failures. Bounded: at most 2,000 scenes, loopback only, a per-scene time limit,
and it stops the server it started.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import signal
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "deploy"))
sys.path.insert(0, str(ROOT / "bench"))

from load import family, scene_query, ws_session  # noqa: E402
from local_proxy import free_port, rss_mb, start_app, wait_healthy  # noqa: E402

MAX_SCENES = 2000


def rss(pid: int) -> tuple[float, int]:
    """Total RSS in MB of ``pid`` and its descendants, and how many processes that is."""
    pids = family([pid])
    values = [v for v in (rss_mb(p) for p in pids) if v is not None]
    return sum(values), len(values)


def breakdown(pid: int) -> str:
    """RSS per process: the server first, then its descendants (workers, resource tracker)."""
    parts = []
    for p in family([pid]):
        mb = rss_mb(p)
        if mb is not None:
            parts.append(f"{'server' if p == pid else p} {mb:.0f}")
    return ", ".join(parts) + " MB"


async def soak(url: str, pid: int, scenes: int, concurrency: int, timeout: float) -> int:
    failures: list[str] = []
    done = 0
    peak = 0.0
    sem = asyncio.Semaphore(concurrency)
    t0 = time.perf_counter()

    async def one(i: int) -> None:
        nonlocal done, peak
        async with sem:
            result = await ws_session(url, scene_query("default", i, True), timeout)
        if result.error:
            failures.append(f"scene {i}: {result.error}")
        done += 1
        now, _ = rss(pid)
        peak = max(peak, now)
        if done % 50 == 0:
            print(f"  {done:4d} scenes  {time.perf_counter() - t0:7.1f} s  RSS {now:7.1f} MB  "
                  f"failures {len(failures)}", flush=True)

    await asyncio.gather(*(one(i) for i in range(scenes)))
    print(f"peak RSS {peak:.1f} MB; {len(failures)} failures in {scenes} scenes, "
          f"{time.perf_counter() - t0:.1f} s")
    for line in failures[:10]:
        print("  ", line)
    return len(failures)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--scenes", type=int, default=500)
    p.add_argument("--concurrency", type=int, default=4)
    p.add_argument("--timeout", type=float, default=120.0, help="per scene, seconds")
    p.add_argument("--workers", default=None, help="OPTVIZ_WORKERS for the server")
    p.add_argument("--settle", type=float, default=5.0,
                   help="seconds to wait after the last session closed before measuring")
    args = p.parse_args(argv)
    # A SIGTERM (e.g. from `timeout`) still stops the server this started (the finally below).
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    scenes = max(1, min(args.scenes, MAX_SCENES))
    env_workers = os.environ.get("OPTVIZ_WORKERS")
    if args.workers is not None:
        os.environ["OPTVIZ_WORKERS"] = str(args.workers)
    folder = tempfile.TemporaryDirectory(prefix="optviz-soak-")
    port = free_port()
    proc = start_app(port, Path(folder.name) / "app.log")
    if env_workers is None:
        os.environ.pop("OPTVIZ_WORKERS", None)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_healthy(url, [proc], time.monotonic() + 120)
        # One scene first, so the worker processes exist (and imported torch) before "idle".
        asyncio.run(ws_session(url, scene_query("default", -1, True), args.timeout))
        time.sleep(args.settle)
        idle, n_idle = rss(proc.pid)
        print(f"idle RSS {idle:.1f} MB ({n_idle} processes: {breakdown(proc.pid)}); {scenes} "
              f"distinct scenes, {args.concurrency} at a time", flush=True)
        failures = asyncio.run(soak(url, proc.pid, scenes, args.concurrency, args.timeout))
        time.sleep(args.settle)
        after, n_after = rss(proc.pid)
        print(f"after RSS {after:.1f} MB ({n_after} processes: {breakdown(proc.pid)}): "
              f"{after - idle:+.1f} MB over idle")
        return 1 if failures else 0
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=15)
        except Exception:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
        folder.cleanup()


if __name__ == "__main__":
    raise SystemExit(main())
