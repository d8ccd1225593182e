"""Benchmark of the app's server side: ``python bench/app.py`` (or ``make bench``).

Prints, from ONE run (these machines are noisy: compare sizes and ratios, not absolutes):
- for the default scene and for 8 runs x 5,000 steps: the time to simulate, sample the landscape,
  build the race player's payload and serialize it (``json.dumps``, as Streamlit does), and
  the payload's size as sent (its landscape part, sent once per session and surface, apart);
- the default page through ``streamlit.testing.v1.AppTest``: first run (cold caches, torch
  already imported), a rerun (warm caches), and the player's data read back from the page.
What a person waits for in the browser is ``bench/browser.py``. No assertions: this prints
numbers.
"""

from __future__ import annotations

import json
import platform
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from optviz.scene import DEFAULT_SCENARIO, RunConfig, Scenario  # noqa: E402
from optviz.ui import build  # noqa: E402
from optviz.views import landscape_for, simulate_scenario  # noqa: E402

BIG_VARIANTS = ("sgd", "momentum", "nesterov", "rmsprop", "adam", "adamw", "nadam", "lbfgs")
# The same without L-BFGS (one line search per step costs ~1 ms): batched optimizers only.
BATCHED_VARIANTS = ("sgd", "momentum", "nesterov", "rmsprop", "adam", "adamw", "nadam", "newton")
MB = 1e6


def timed(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> tuple[Any, float]:
    t = time.perf_counter()
    out = fn(*args, **kwargs)
    return out, time.perf_counter() - t


def measure(name: str, scene: Scenario) -> None:
    traj, t_sim = timed(simulate_scenario, scene)
    land, t_land = timed(landscape_for, scene.resolve_surface())
    payload, t_fig = timed(build.player_payload, scene, traj, land)
    text, t_json = timed(json.dumps, payload)
    base = len(json.dumps(payload["base"]))
    total = t_sim + t_land + t_fig + t_json
    print(f"{name}: {len(scene.runs)} runs x {scene.steps:,} steps on {scene.surface}")
    print(f"  simulate {t_sim:6.2f} s | landscape {t_land:5.2f} s | payload {t_fig:5.2f} s | "
          f"to JSON {t_json:5.2f} s | total {total:5.2f} s")
    print(f"  payload {len(text) / MB:.3f} MB, of which the landscape (sent once) "
          f"{base / MB:.3f} MB; {sum(t['steps'] + 1 for t in payload['tracks']):,} points, "
          f"every step")


def apptest() -> None:
    from streamlit.testing.v1 import AppTest

    from optviz.ui import cache

    cache.clear()
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=300)
    _, t_first = timed(at.run)
    _, t_again = timed(at.run)
    sent = max((el.proto.bytes for el in at.get("bidi_component")), key=len)
    print("default page through AppTest:")
    print(f"  first run {t_first:5.2f} s (cold caches) | rerun {t_again:5.2f} s (warm)")
    print(f"  race player's data on a rerun (landscape already sent): {len(sent) / 1e3:.1f} kB")


def main() -> None:
    print(f"python {platform.python_version()} on {platform.machine()}, "
          f"{platform.processor() or 'cpu'}")
    measure("default scene", DEFAULT_SCENARIO)  # warms up imports and torch
    measure("default scene (again)", DEFAULT_SCENARIO)
    big = Scenario(runs=tuple(RunConfig(v) for v in BIG_VARIANTS), steps=5000).validated()
    measure("8 x 5,000 (with L-BFGS)", big)
    batched = Scenario(runs=tuple(RunConfig(v) for v in BATCHED_VARIANTS), steps=5000).validated()
    measure("8 x 5,000 (Newton instead of L-BFGS)", batched)
    apptest()


if __name__ == "__main__":
    main()
