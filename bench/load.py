"""Load test: N concurrent sessions against the app, one server or replicas behind the proxy.

    python bench/load.py --start server --sessions 5          # starts one `streamlit run`
    python bench/load.py --start proxy --replicas 2 --sessions 10
    python bench/load.py --url http://127.0.0.1:8501 --sessions 10 --scene heavy
    python bench/load.py --start server --client browser --sessions 5   # headless Chromium

Each session opens the app with a scene's link and waits until the race arrives: with
``--client ws`` (default) it speaks Streamlit's own websocket protocol (``/_stcore/stream``, the
messages the browser would send, so the server does exactly the work a browser causes) and the
race is the element keyed ``race``; with ``--client browser`` each session is a headless Chromium
context and the race counts when the player has drawn it (the browsers' own CPU then competes
with the server on small machines). Sessions start together; their time is from the request to
the race. Then it prints:

- per-session time to the race (and to the end of the app's run), p50/p95/max, and failures
  (time-outs, error or exception elements, dropped sockets);
- the light scene (1 run x 100 steps) alone before the load, and again while the N sessions run;
- ``/_stcore/health`` latency (p50/p95) when idle and under load;
- server RSS from /proc (idle, peak, after) and server CPU time per session (with any
  descendant processes), for the processes it started.

Bounded: at most 60 sessions, each with a time limit (``--timeout``), the whole run with a hard
deadline; loopback addresses only (it refuses any other host); everything it started is stopped
at the end. No assertions: this prints numbers.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import http.cookies
import ipaddress
import os
import statistics
import sys
import tempfile
import time
import urllib.parse
import urllib.request
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "deploy"))

from local_proxy import (  # noqa: E402
    LocalCluster,
    free_port,
    rss_mb,
    start_app,
    stop_process,
    wait_healthy,
)

MAX_SESSIONS = 60
DEFAULT = {"surface": "rosenbrock", "start": "-1.5,2", "steps": "300", "seed": "0",
           "run": "sgd;momentum;rmsprop;adam"}
SCENES = {
    "default": DEFAULT,  # the app's opening scene: 4 runs x 300 steps
    "heavy": {**DEFAULT, "steps": "5000",
              "run": "sgd;momentum;nesterov;rmsprop;adam;adamw;nadam;lbfgs"},  # 8 x 5,000
    "light": {**DEFAULT, "steps": "100", "run": "sgd"},  # 1 run x 100 steps
}


def check_loopback(url: str) -> str:
    """The URL, if its host is a loopback address; refuse anything else."""
    host = urllib.parse.urlparse(url).hostname or ""
    try:
        ok = host == "localhost" or ipaddress.ip_address(host).is_loopback
    except ValueError:
        ok = False
    if not ok:
        raise SystemExit(f"refusing {url}: bench/load.py only targets loopback addresses")
    return url.rstrip("/")


def scene_query(name: str, index: int, distinct: bool) -> dict[str, str]:
    """A scene's query; with ``distinct`` each session moves the start a little (no shared
    cache hits: every session computes its own scene)."""
    q = dict(SCENES[name]) if name in SCENES else dict(urllib.parse.parse_qsl(name))
    if distinct:
        x, y = (float(v) for v in q.get("start", "-1.5,2").split(";")[0].split(","))
        q["start"] = f"{x},{y + 0.001 * (index + 1):.3f}"
    return q


# ------------------------------------------------------------------------------------------
# one session over Streamlit's websocket protocol


@dataclass
class Result:
    race_s: float | None = None  # request -> the race element arrived
    done_s: float | None = None  # request -> the app's run finished
    error: str | None = None  # the last error or exception element, or why the session failed
    end: float | None = None  # time.monotonic() when the app's run finished
    progress: list[str] = field(default_factory=list)  # the progress texts shown, in order
    errors: list[str] = field(default_factory=list)  # every error and exception element


class Jar:
    """The cookies a browser would keep for one session (the proxy's stickiness cookie, XSRF)."""

    def __init__(self, agent: str = "optviz-load") -> None:
        self.cookies: dict[str, str] = {}
        self.agent = agent

    def get(self, url: str, timeout: float) -> bytes:
        headers = {"User-Agent": self.agent}
        if self.cookies:
            headers["Cookie"] = self.header()
        req = urllib.request.Request(url, headers=headers)
        with urllib.request.urlopen(req, timeout=timeout) as response:
            for value in response.headers.get_all("Set-Cookie") or []:
                for name, morsel in http.cookies.SimpleCookie(value).items():
                    self.cookies[name] = morsel.value
            return response.read()

    def header(self) -> str:
        return "; ".join(f"{k}={v}" for k, v in self.cookies.items())


async def ws_session(base: str, query: dict[str, str], timeout: float,
                     then: Callable[[str, Jar], Awaitable[None]] | None = None,
                     agent: str = "optviz-load", clear_cache: bool = False) -> Result:
    """Open the page's link as a browser does (HTML, health, websocket), ask for the app's run
    with the query string and read the stream until the run finishes; ``then(session id,
    cookies)`` runs after that, while the session's socket is still open. ``clear_cache``:
    first send Streamlit's ``clear_cache`` message (the menu's "Clear cache"), as any client
    may."""
    import websockets
    from streamlit.proto.BackMsg_pb2 import BackMsg
    from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

    result = Result()
    jar = Jar(agent)
    t0 = time.perf_counter()
    qs = urllib.parse.urlencode(query)
    try:
        async with asyncio.timeout(timeout):
            await asyncio.to_thread(jar.get, f"{base}/?{qs}", timeout)
            await asyncio.to_thread(jar.get, f"{base}/_stcore/health", timeout)
            xsrf = jar.cookies.get("_streamlit_xsrf", "")
            ws_url = base.replace("http://", "ws://", 1) + "/_stcore/stream"
            async with websockets.connect(
                    ws_url, subprotocols=["streamlit", xsrf] if xsrf else ["streamlit"],
                    additional_headers={"Cookie": jar.header(), "Origin": base},
                    max_size=None, open_timeout=timeout, user_agent_header=agent) as ws:
                session_id = ""
                if clear_cache:
                    clear = BackMsg()
                    clear.clear_cache = True
                    await ws.send(clear.SerializeToString())
                msg = BackMsg()
                msg.rerun_script.query_string = qs
                msg.rerun_script.page_script_hash = ""
                await ws.send(msg.SerializeToString())
                while True:
                    fm = ForwardMsg()
                    fm.ParseFromString(await ws.recv())
                    kind = fm.WhichOneof("type")
                    if kind == "new_session":
                        session_id = fm.new_session.initialize.session_id
                    elif kind == "delta" and fm.delta.WhichOneof("type") == "new_element":
                        element = fm.delta.new_element
                        what = element.WhichOneof("type")
                        if what == "progress":
                            result.progress.append(element.progress.text)
                        elif what == "exception":
                            result.errors.append(element.exception.message)
                            result.error = f"exception: {element.exception.message[:120]}"
                        elif what == "alert" and element.alert.format == element.alert.ERROR:
                            result.errors.append(element.alert.body)
                            result.error = f"error: {element.alert.body[:120]}"
                        elif (result.race_s is None and what in ("plotly_chart", "bidi_component")
                              and getattr(element, what).id.endswith("-race")):
                            result.race_s = time.perf_counter() - t0
                    elif kind == "script_finished":
                        result.done_s = time.perf_counter() - t0
                        result.end = time.monotonic()
                        break
                if then is not None:
                    await then(session_id, jar)
    except TimeoutError:
        result.error = f"timed out after {timeout:.0f} s"
    except Exception as exc:  # a dropped socket, a refused connection: a failure, not a crash
        result.error = f"{type(exc).__name__}: {exc}"[:160]
    if result.error is None and result.race_s is None:
        result.error = "the run finished without a race"
    return result


# ------------------------------------------------------------------------------------------
# one session in headless Chromium

RACE_JS = """() => { const r = document.querySelector('[data-testid=optviz-player]');
    return r && r.dataset.token; }"""
DONE_JS = """() => { const a = document.querySelector('[data-testid=stApp]');
    return a && a.dataset.testScriptState === 'notRunning'; }"""


async def browser_session(browser, base: str, query: dict[str, str], timeout: float,
                          agent: str) -> Result:
    result = Result()
    context = await browser.new_context(viewport={"width": 1200, "height": 900},
                                        user_agent=agent)
    try:
        page = await context.new_page()
        t0 = time.perf_counter()
        await page.goto(f"{base}/?{urllib.parse.urlencode(query)}", timeout=timeout * 1000)
        await page.wait_for_function(RACE_JS, timeout=timeout * 1000)
        result.race_s = time.perf_counter() - t0
        await page.wait_for_function(DONE_JS, timeout=timeout * 1000)
        result.done_s = time.perf_counter() - t0
        if await page.locator("[data-testid=stException]").count():
            result.error = "exception element on the page"
    except Exception as exc:
        result.error = f"{type(exc).__name__}: {str(exc).splitlines()[0]}"[:160]
    finally:
        await context.close()
    return result


# ------------------------------------------------------------------------------------------
# measurements around the sessions


def health_latencies(base: str, stop: asyncio.Event, interval: float = 0.1,
                     limit: int = 3000) -> asyncio.Task:
    """Poll /_stcore/health until ``stop`` is set (at most ``limit`` requests)."""

    async def poll() -> list[float]:
        out: list[float] = []
        while not stop.is_set() and len(out) < limit:
            t = time.perf_counter()
            try:
                await asyncio.to_thread(urllib.request.urlopen(
                    f"{base}/_stcore/health", timeout=10).read)
                out.append(time.perf_counter() - t)
            except OSError:
                out.append(float("inf"))
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), interval)
        return out

    return asyncio.create_task(poll())


def cpu_seconds(pids: list[int]) -> float:
    """User + system CPU time of these processes and all their live descendants (a worker
    pool's processes count), from /proc."""
    stats: dict[int, tuple[int, float]] = {}  # pid -> (parent, seconds)
    tick = os.sysconf("SC_CLK_TCK")
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        stats[int(entry.name)] = (int(fields[1]), (int(fields[11]) + int(fields[12])) / tick)
    wanted, total = set(pids), 0.0
    changed = True
    while changed:  # close over descendants
        changed = False
        for pid, (parent, _) in stats.items():
            if parent in wanted and pid not in wanted:
                wanted.add(pid)
                changed = True
    for pid in wanted:
        total += stats.get(pid, (0, 0.0))[1]
    return total


def family(pids: list[int]) -> list[int]:
    """These processes and all their live descendants, from /proc."""
    parents: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError, IndexError, ValueError):
                stat = (entry / "stat").read_text().rsplit(")", 1)[1].split()
                parents[int(entry.name)] = int(stat[1])
    out, changed = set(pids), True
    while changed:
        changed = False
        for child, parent in parents.items():
            if parent in out and child not in out:
                out.add(child)
                changed = True
    return sorted(out)


@dataclass
class Memory:
    pids: list[int] = field(default_factory=list)
    peak: float = 0.0

    def now(self) -> float | None:
        """RSS of the servers and their descendants (the worker pool's processes), in MB."""
        values = [rss_mb(p) for p in family(self.pids)]
        values = [v for v in values if v is not None]
        return sum(values) if values else None

    async def watch(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            self.peak = max(self.peak, self.now() or 0.0)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), 0.25)


def pct(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, round(q * (len(values) - 1)))]


def fmt_s(values: list[float]) -> str:
    if not values:
        return "none"
    return (f"p50 {statistics.median(values):6.2f} s | p95 {pct(values, 0.95):6.2f} s | "
            f"max {max(values):6.2f} s")


def fmt_ms(values: list[float]) -> str:
    finite = [v for v in values if v != float("inf")]
    failed = len(values) - len(finite)
    if not finite:
        return f"{failed} failed"
    return (f"p50 {1000 * statistics.median(finite):6.1f} ms | p95 {1000 * pct(finite, 0.95):6.1f}"
            f" ms | n={len(values)}" + (f" | {failed} failed" if failed else ""))


# ------------------------------------------------------------------------------------------


@dataclass
class Target:
    url: str
    pids: list[int]  # processes whose RSS is measured
    what: str
    warm: list[str]  # URLs to warm up (each replica directly)
    routes: Callable[[], list[tuple[str, str, str]]] | None = None  # HAProxy's log


@contextlib.contextmanager
def target(args: argparse.Namespace) -> Iterator[Target]:
    """A server or the proxy with replicas that it starts, or --url."""
    if args.url:
        url = check_loopback(args.url)
        yield Target(url, [], f"{url} (not started here: no RSS)", [url])
        return
    if args.start == "proxy":
        with LocalCluster(replicas=args.replicas) as cluster:
            yield Target(cluster.url, [a.proc.pid for a in cluster.apps],
                         f"HAProxy + {args.replicas} replicas at {cluster.url}",
                         [a.url for a in cluster.apps], cluster.routes)
        return
    port = free_port()
    folder = tempfile.TemporaryDirectory(prefix="optviz-load-")
    log = Path(folder.name) / "app.log"
    proc = start_app(port, log)
    url = f"http://127.0.0.1:{port}"
    try:
        try:
            wait_healthy(url, [proc], time.monotonic() + 120)
        except (RuntimeError, TimeoutError):
            print(log.read_text()[-3000:])
            raise
        yield Target(url, [proc.pid], f"one `streamlit run` at {url} (pid {proc.pid})", [url])
    finally:
        stop_process(proc)
        folder.cleanup()


async def run(args: argparse.Namespace, t: Target) -> int:
    base, routes = t.url, t.routes
    memory = Memory(t.pids)
    browser = playwright = None
    if args.client == "browser":
        from playwright.async_api import async_playwright

        playwright = await async_playwright().start()
        browser = await playwright.chromium.launch(
            executable_path=args.chromium,
            args=["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run"])

    async def session(query: dict[str, str], agent: str = "optviz-load") -> Result:
        if browser is not None:
            return await browser_session(browser, base, query, args.timeout, agent)
        return await ws_session(base, query, args.timeout, agent=agent)

    try:
        # warm-up: the first run of a process imports torch and fills caches
        await asyncio.gather(*(ws_session(url, scene_query("light", 999, True), args.timeout)
                               for url in t.warm))
        idle_rss = memory.now()
        stop = asyncio.Event()
        idle_health = await health_latencies(base, stop, limit=30)
        light_idle = await session(scene_query("light", 1000, distinct=True))

        stop = asyncio.Event()
        health = health_latencies(base, stop)
        watcher = asyncio.create_task(memory.watch(stop))
        cpu0 = cpu_seconds(t.pids) if t.pids else None
        t0 = time.perf_counter()
        tasks = [asyncio.create_task(
                     session(scene_query(args.scene, i, args.distinct), f"optviz-load-{i}"))
                 for i in range(args.sessions)]
        await asyncio.sleep(args.light_after)
        light_busy = await session(scene_query("light", 1001, distinct=True))
        results = await asyncio.gather(*tasks)
        wall = time.perf_counter() - t0
        cpu = cpu_seconds(t.pids) - cpu0 if cpu0 is not None else None
        stop.set()
        busy_health = await health
        await watcher
        end_rss = memory.now()
    finally:
        if browser is not None:
            await browser.close()
            await playwright.stop()

    ok = [r for r in results if r.error is None]
    print(f"{args.sessions} sessions, scene {args.scene!r}"
          f"{' (each distinct)' if args.distinct else ' (the same link)'}, client {args.client};"
          f" all done in {wall:.1f} s")
    print(f"  time to race : {fmt_s([r.race_s for r in results if r.race_s is not None])}")
    print(f"  run finished : {fmt_s([r.done_s for r in results if r.done_s is not None])}")
    print(f"  failures     : {len(results) - len(ok)} of {len(results)}")
    for i, r in enumerate(results):
        if r.error:
            print(f"    session {i}: {r.error}")

    def light(r: Result) -> str:
        return f"{r.race_s:.2f} s" if r.race_s is not None else f"failed ({r.error})"

    print(f"  light scene  : idle {light(light_idle)} | under load {light(light_busy)}")
    print(f"  health idle  : {fmt_ms(idle_health)}")
    print(f"  health load  : {fmt_ms(busy_health)}")
    if t.pids:
        print(f"  server RSS   : idle {idle_rss:.0f} MB | peak {memory.peak:.0f} MB | "
              f"after {end_rss:.0f} MB (sum over {len(t.pids)} process(es))")
        print(f"  server CPU   : {cpu:.1f} s in all, {cpu / (args.sessions + 1):.2f} s per "
              f"session (the light one included), {cpu / wall:.2f} cores busy on average")
    if routes is not None:  # through the proxy: where each session's requests went
        per_session: dict[str, set[str]] = {}
        for agent, server, _ in routes():
            if agent.startswith("optviz-load-"):
                per_session.setdefault(agent, set()).add(server)
        sticky = sum(len(servers) == 1 for servers in per_session.values())
        counts: dict[str, int] = {}
        for servers in per_session.values():
            for server in servers:
                counts[server] = counts.get(server, 0) + 1
        spread = ", ".join(f"{k} {v}" for k, v in sorted(counts.items()))
        print(f"  stickiness   : {sticky} of {len(per_session)} sessions on one replica "
              f"throughout ({spread})")
    if ok:
        print(f"  throughput   : {len(ok) / wall:.2f} sessions served per second")
    return 0 if ok else 1


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    where = p.add_mutually_exclusive_group()
    where.add_argument("--url", help="a running server or proxy (loopback only)")
    where.add_argument("--start", choices=["server", "proxy"], default="server",
                       help="start one server (default) or the local proxy with replicas")
    p.add_argument("--replicas", type=int, default=2, help="with --start proxy (default 2)")
    p.add_argument("--sessions", type=int, default=5, help=f"concurrent sessions (<= "
                   f"{MAX_SESSIONS}, default 5)")
    p.add_argument("--scene", default="default",
                   help="default | heavy | light | a query string (default: default)")
    p.add_argument("--distinct", action="store_true",
                   help="every session a slightly different start (no shared cache hits)")
    p.add_argument("--client", choices=["ws", "browser"], default="ws")
    p.add_argument("--chromium", default="/usr/bin/chromium")
    p.add_argument("--timeout", type=float, default=120, help="per session, seconds")
    p.add_argument("--light-after", type=float, default=1.0,
                   help="seconds after the load starts to open the light scene")
    p.add_argument("--deadline", type=float, default=600, help="the whole run, seconds")
    args = p.parse_args(argv)
    if not 1 <= args.sessions <= MAX_SESSIONS:
        p.error(f"--sessions: 1 to {MAX_SESSIONS}")
    if not 1 <= args.replicas <= 8:
        p.error("--replicas: 1 to 8")
    with target(args) as t:
        load = Path("/proc/loadavg").read_text().split()[:3]
        print(f"target: {t.what}; {os.cpu_count()} cores, load average {' '.join(load)}")

        async def bounded() -> int:
            async with asyncio.timeout(args.deadline):
                return await run(args, t)

        try:
            return asyncio.run(bounded())
        except TimeoutError:
            print(f"stopped: the whole run passed --deadline {args.deadline:.0f} s")
            return 1


if __name__ == "__main__":
    sys.exit(main())
