"""The server's garbage collector: what the imports made is frozen once, later garbage is not."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_freeze_imports_freezes_once_and_later_garbage_is_still_collected() -> None:
    code = """if True:
        import gc
        import torch, plotly.graph_objects, pandas, streamlit  # what the app imports
        from optviz.ui.memory import freeze_imports
        before = len(gc.get_objects())
        assert freeze_imports() is True
        frozen = gc.get_freeze_count()
        assert frozen >= before // 2, (frozen, before)
        assert freeze_imports() is False and gc.get_freeze_count() == frozen  # once only

        class Cycle:
            pass

        import weakref
        refs = []
        for _ in range(1000):  # garbage made by later runs: cycles the collector must free
            a, b = Cycle(), Cycle()
            a.b, b.a = b, a
            refs.append(weakref.ref(a))
        del a, b
        gc.collect(2)
        assert all(r() is None for r in refs)
        assert gc.get_freeze_count() == frozen
        print("ok")
    """
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().endswith("ok")


def test_a_run_of_the_app_freezes_what_its_imports_made() -> None:
    code = """if True:
        import gc
        from streamlit.testing.v1 import AppTest
        assert gc.get_freeze_count() == 0
        at = AppTest.from_file("app.py", default_timeout=120)
        at.query_params["steps"] = "20"
        at.run()
        assert not at.exception, at.exception
        assert gc.get_freeze_count() > 100_000, gc.get_freeze_count()
        print("ok")
    """
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=600, cwd=ROOT)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().endswith("ok")
