"""What a person waits for, measured in headless Chromium against ``streamlit run app.py``.

    python bench/browser.py                 # starts the app on a free port, 5 repeats
    python bench/browser.py --url http://127.0.0.1:8501 --repeats 3

Medians of ``--repeats`` (after one warm-up) of:

- **load**: a new browser context opens the page until the first complete race is drawn
  (the player sets ``data-token`` once plotly.js has drawn the payload's paths);
- **lr change**: a key press on the learning-rate slider until the new paths are drawn;
- **drag**: while a start marker is dragged, each mouse move until the paths follow it;
- **surface change**: picking another surface until its race is drawn;
- **playback**: steps per second actually played at 1× for 8 runs × 5,000 steps, against the
  nominal rate the player shows.

Targets (issue 8): load ≤ 4 s, lr change ≤ 1 s, drag ≤ 0.5 s per update, surface change
≤ 1.5 s, playback within 10 % of nominal. No assertions: this prints numbers (the machines are
shared and noisy; compare runs made in one sitting).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
import urllib.parse
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "deploy"))

from local_proxy import free_port, start_app, stop_process, wait_healthy  # noqa: E402

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
        "--disable-background-networking", "--disable-component-update"]
PLAYER = "[data-testid=optviz-player]"
TIMEOUT_MS = 120_000
ONE_ADAM = {"surface": "rosenbrock", "start": "-1.5,2", "steps": "300", "run": "adam"}
BIG = {"surface": "rosenbrock", "start": "-1.5,2", "steps": "5000",
       "run": "sgd;momentum;nesterov;rmsprop;adam;adamw;nadam;radam"}
TARGETS = {"load": "≤ 4 s", "lr change": "≤ 1 s", "drag (per update)": "≤ 0.5 s",
           "surface change": "≤ 1.5 s", "playback at 1×": "within 10 % of nominal"}


@contextmanager
def app_server(url: str | None) -> Iterator[str]:
    """The app under test: ``url``, or one ``streamlit run`` started here."""
    if url:
        yield url.rstrip("/")
        return
    port = free_port()
    with tempfile.TemporaryDirectory() as tmp:
        proc = start_app(port, Path(tmp) / "app.log")
        try:
            started = f"http://127.0.0.1:{port}"
            wait_healthy(started, [proc], time.monotonic() + 120)
            yield started
        finally:
            stop_process(proc)


def token(page) -> str | None:
    return page.evaluate(
        f"() => {{ const r = document.querySelector('{PLAYER}'); "
        "return r ? (r.dataset.token || null) : null; }")


def wait_new_token(page, old: str | None) -> None:
    page.wait_for_function(
        f"(old) => {{ const r = document.querySelector('{PLAYER}'); "
        "return r && r.dataset.token && r.dataset.token !== old; }", arg=old,
        timeout=TIMEOUT_MS, polling="raf")


def open_page(browser, url: str, query: dict[str, str]) -> tuple[object, object, float]:
    """A fresh context on the app; seconds from navigation to the first race drawn."""
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    t0 = time.perf_counter()
    page.goto(f"{url}/?{urllib.parse.urlencode(query)}")
    wait_new_token(page, None)
    return context, page, time.perf_counter() - t0


def timed_change(page, act: Callable[[], None]) -> float:
    old = token(page)
    t0 = time.perf_counter()
    act()
    wait_new_token(page, old)
    return time.perf_counter() - t0


def measure_load(browser, url: str) -> float:
    context, _page, seconds = open_page(browser, url, ONE_ADAM)
    context.close()
    return seconds


def measure_lr(page) -> float:
    slider = page.locator("section[data-testid=stSidebar]").get_by_role("slider").first
    slider.focus()
    key = "ArrowRight" if measure_lr.flip else "ArrowLeft"
    measure_lr.flip = not measure_lr.flip
    return timed_change(page, lambda: page.keyboard.press(key))


measure_lr.flip = True


def start_pixel(page) -> tuple[float, float]:
    """Page coordinates of the first start marker."""
    return tuple(page.evaluate(
        f"""() => {{
          const gd = document.querySelector('{PLAYER} .js-plotly-plot');
          const start = gd.data.find(t => t.name === 'start');
          const r = gd.getBoundingClientRect(), L = gd._fullLayout;
          return [r.left + L.xaxis._offset + L.xaxis.l2p(start.x[0]),
                  r.top + L.yaxis._offset + L.yaxis.l2p(start.y[0])];
        }}"""))


def measure_drag(page, moves: int) -> list[float]:
    """Hold a start marker and move it ``moves`` times; seconds until each move is drawn."""
    x, y = start_pixel(page)
    page.mouse.move(x, y)
    page.mouse.down()
    out = []
    for i in range(moves):
        x, y = x + 8, y - 6 * (1 if i % 2 else -1)
        out.append(timed_change(page, lambda x=x, y=y: page.mouse.move(x, y)))
        page.wait_for_timeout(200)  # the player sends at most one move per 150 ms
    page.mouse.up()
    page.wait_for_timeout(500)
    return out


def measure_surface(page, name: str) -> float:
    box = page.locator("section[data-testid=stSidebar]").get_by_role("combobox").nth(1)

    def pick() -> None:
        box.click()
        page.get_by_role("option", name=name, exact=True).click()

    return timed_change(page, pick)


def measure_playback(browser, url: str) -> tuple[float, float]:
    """(steps per second played at 1×, nominal steps per second) for 8 runs × 5,000 steps."""
    context, page, _ = open_page(browser, url, BIG)
    try:
        root = page.locator(PLAYER)
        nominal = float(root.get_attribute("data-rate") or "nan")
        root.locator("button.ovp-play").click()
        page.wait_for_timeout(300)
        s0, t0 = page.evaluate(f"() => [+document.querySelector('{PLAYER}').dataset.step, "
                               "performance.now()]")
        page.wait_for_timeout(2500)
        s1, t1 = page.evaluate(f"() => [+document.querySelector('{PLAYER}').dataset.step, "
                               "performance.now()]")
        return (s1 - s0) / ((t1 - t0) / 1000), nominal
    finally:
        context.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", help="a running app (default: start one here)")
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args(argv)
    n = max(1, min(args.repeats, 20))
    from playwright.sync_api import sync_playwright

    with app_server(args.url) as url, sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        cold = measure_load(browser, url)
        loads = [measure_load(browser, url) for _ in range(n)]
        context, page, _ = open_page(browser, url, ONE_ADAM)
        measure_lr(page)  # warm-up: both directions cached afterwards would flatter it
        lrs = [measure_lr(page) for _ in range(n)]
        drags = measure_drag(page, n)
        surfaces = [measure_surface(page, name) for name in
                    ["Himmelblau", "Beale", "Booth", "Matyas", "Six-hump camel"][:n]]
        context.close()
        played, nominal = measure_playback(browser, url)
        browser.close()

    med = statistics.median
    rows = [("load", f"{med(loads):.2f} s (cold {cold:.2f} s)"),
            ("lr change", f"{med(lrs):.2f} s"),
            ("drag (per update)", f"{med(drags):.2f} s"),
            ("surface change", f"{med(surfaces):.2f} s"),
            ("playback at 1×", f"{played:.0f} steps/s of {nominal:.0f} nominal "
                               f"({100 * (played / nominal - 1):+.1f} %)")]
    print(f"headless Chromium, medians of {n}")
    print(f"{'measure':<20} {'measured':<44} target")
    for name, value in rows:
        print(f"{name:<20} {value:<44} {TARGETS[name]}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
