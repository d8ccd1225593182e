"""Two replicas behind HAProxy (deploy/haproxy.cfg via deploy/local_proxy.py), in Chromium.

- Sticky sessions: every request of a browser session, its websocket (``/_stcore/stream``)
  included, goes to the replica that served its page (read from HAProxy's log, where each
  browser context is told apart by its user agent).
- Failover: when the replica that holds a session is killed, the page reconnects through the
  proxy to the other replica by itself; its next run there (Streamlit's rerun key) and a
  reload show the same scene, rebuilt from the URL.

Needs Debian's ``haproxy`` besides Chromium: without it the tests skip with the reason, except
where ``OPTVIZ_REQUIRE_HAPROXY=1`` (set by ``.ci/run``), where a missing proxy is a failure.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import importlib.util
import os
import sys
import time
import urllib.parse
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import ROOT, _require_browser

sys.path.insert(0, str(ROOT / "deploy"))
from local_proxy import COOKIE, LocalCluster, haproxy_binary

PLAYER = "[data-testid=optviz-player]"
_GD = f"document.querySelector('{PLAYER} .ovp-race')"
_TOKEN = f"document.querySelector('{PLAYER}').dataset.token"
SCENE = {"surface": "himmelblau", "start": "-1,4", "steps": "80", "seed": "2",
         "run": "adam:lr=0.2;sgd:lr=0.01"}
SESSIONS = 3
TIMEOUT_MS = 60_000


def _require_haproxy() -> None:
    if haproxy_binary() is not None:
        return
    reason = "haproxy not found (apt-get install haproxy)"
    if os.environ.get("OPTVIZ_REQUIRE_HAPROXY") == "1":
        pytest.fail(f"proxy tests are required here but cannot run: {reason}")
    pytest.skip(reason)


@pytest.fixture(scope="module")
def cluster(tmp_path_factory) -> Iterator[LocalCluster]:
    _require_browser()
    _require_haproxy()
    with LocalCluster(replicas=2, workdir=tmp_path_factory.mktemp("proxy")) as c:
        warm(c)
        yield c


def warm(cluster: LocalCluster) -> None:
    """Run the scene once on each replica directly, in parallel (the first run of a process
    imports torch): the browsers then wait for the proxy, not for cold processes."""
    spec = importlib.util.spec_from_file_location("optviz_bench_load", ROOT / "bench" / "load.py")
    bench = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = bench
    spec.loader.exec_module(bench)

    async def both() -> list:
        return await asyncio.gather(*(bench.ws_session(app.url, SCENE, 90, agent="warm-up")
                                      for app in cluster.apps))

    # in a thread of its own: Playwright's sync API owns this thread's event loop
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        results = pool.submit(asyncio.run, both()).result()
    assert all(r.error is None for r in results), [r.error for r in results]


@pytest.fixture(scope="module")
def sessions(cluster, browser) -> Iterator[list]:
    """SESSIONS browser sessions on the scene's link, each with its own user agent and cookies."""
    contexts = []
    pages = []
    try:
        for i in range(SESSIONS):
            context = browser.new_context(viewport={"width": 1200, "height": 900},
                                          user_agent=f"optviz-e2e-session-{i}")
            contexts.append(context)
            page = context.new_page()
            page.goto(f"{cluster.url}/?{urllib.parse.urlencode(SCENE)}")
            wait_drawn(page)
            pages.append(page)
        yield pages
    finally:
        for context in contexts:
            context.close()


def wait_drawn(page) -> None:
    """The race figure is on the page, the app's run is over and the socket is connected."""
    page.wait_for_function(
        f"""() => {{ const gd = {_GD}; const app = document.querySelector('[data-testid=stApp]');
              return gd && gd._fullLayout && {_TOKEN} && app
                && app.dataset.testScriptState === 'notRunning'
                && app.dataset.testConnectionState === 'CONNECTED'; }}""",
        timeout=TIMEOUT_MS)


def replicas_of(cluster: LocalCluster, agent: str) -> list[str]:
    return [server for ua, server, _ in cluster.routes() if ua == agent]


def streams_of(cluster: LocalCluster, agent: str) -> list[str]:
    return [server for ua, server, req in cluster.routes()
            if ua == agent and " /_stcore/stream" in req]


def replica_cookie(page) -> str | None:
    return next((c["value"] for c in page.context.cookies() if c["name"] == COOKIE), None)


def test_each_session_stays_on_the_replica_that_served_its_page(cluster, sessions) -> None:
    used = set()
    for i, page in enumerate(sessions):
        agent = f"optviz-e2e-session-{i}"
        servers = replicas_of(cluster, agent)
        assert servers, f"no request of {agent} in HAProxy's log:\n{cluster.logs()}"
        assert len(set(servers)) == 1, (agent, servers)
        assert streams_of(cluster, agent) == servers[:1], "one websocket, on the same replica"
        assert replica_cookie(page), "HAProxy set the stickiness cookie"
        used.add(servers[0])
    # leastconn: an open websocket counts, so three sessions use both replicas
    assert used == {"app1", "app2"}, used


def test_a_killed_replicas_sessions_reload_their_scene_on_the_other(cluster, sessions,
                                                                    artifacts: Path) -> None:
    """Streamlit's frontend reconnects by itself but reruns nothing until the next interaction
    (its page stays as it was): the rerun then happens on the surviving replica, which knows
    nothing of the session and rebuilds the scene from the URL; a reload does the same."""
    page = sessions[0]
    agent = "optviz-e2e-session-0"
    (victim,) = set(replicas_of(cluster, agent))
    other = ({"app1", "app2"} - {victim}).pop()
    before_url, before_meta = page.url, page.evaluate(f"() => {_TOKEN}")
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    # the app's script and connection states from now on
    page.evaluate("""() => { const app = document.querySelector('[data-testid=stApp]');
        window.__states = [];
        new MutationObserver(() => window.__states.push(
                app.dataset.testScriptState + '/' + app.dataset.testConnectionState))
            .observe(app, {attributes: true}); }""")
    n_routes = len(cluster.routes())

    t0 = time.monotonic()
    cluster.kill(int(victim[-1]) - 1)
    page.wait_for_function(  # the page lost its socket, then got one back (through the proxy)
        "() => window.__states.some(s => !s.endsWith('/CONNECTED'))"
        " && window.__states[window.__states.length - 1].endsWith('/CONNECTED')",
        timeout=TIMEOUT_MS)
    reconnected = time.monotonic() - t0
    assert other in streams_of(cluster, agent)[1:], f"no websocket to {other}:\n{cluster.logs()}"

    # the next interaction (here Streamlit's "rerun" key) runs the app on the surviving replica
    page.locator("[data-testid=stMain]").focus()  # keys reach the app, not a widget
    page.keyboard.press("r")
    page.wait_for_function("() => window.__states.some(s => s.startsWith('running'))",
                           timeout=TIMEOUT_MS)
    wait_drawn(page)
    page.screenshot(path=str(artifacts / "e2e-proxy-after-failover.png"))
    assert page.evaluate(f"() => {_TOKEN}") == before_meta
    assert "Himmelblau" in page.evaluate(f"() => {_GD}._fullLayout.title.text")
    assert page.locator("[data-testid=stException]").count() == 0

    # a reload (what a student does when in doubt) gets the same scene from the URL
    page.reload()
    wait_drawn(page)
    assert urllib.parse.urlparse(page.url).query == urllib.parse.urlparse(before_url).query
    params = urllib.parse.parse_qs(urllib.parse.urlparse(page.url).query)
    assert params["surface"] == ["himmelblau"] and params["run"] == [SCENE["run"]]
    assert page.evaluate(f"() => {_TOKEN}") == before_meta
    assert page.locator("[data-testid=stException]").count() == 0
    assert not errors, errors
    assert reconnected < 30, f"reconnecting took {reconnected:.1f} s"
    # after the kill, everything this session asked for went to the surviving replica
    after = [server for ua, server, _ in cluster.routes()[n_routes:] if ua == agent]
    assert after and set(after) == {other}, after
    # and the sessions of the surviving replica never moved
    for i in range(1, SESSIONS):
        servers = replicas_of(cluster, f"optviz-e2e-session-{i}")
        if servers[0] == other:
            assert set(servers) == {other}
            assert sessions[i].locator("[data-testid=stException]").count() == 0
