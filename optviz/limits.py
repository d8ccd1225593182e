"""Every input limit of optviz, in one place (no imports: the runner, the surfaces and the scene
all read it without importing each other).

``MAX_STEPS`` bounds :func:`optviz.simulate`; a scene (the app, a shared link, a scene file, a
preset) is smaller, ``MAX_SCENE_STEPS``, so that the page stays responsive.
"""

from __future__ import annotations

# ---- simulate()
MAX_STEPS = 10_000
MAX_PARTICLES = 100_000
MAX_PARTICLE_STEPS = 50_000_000
#: Seeds fit a signed 32-bit integer (JavaScript, spreadsheets and the app's number box agree).
MAX_SEED = 2**31 - 1

# ---- plot windows (catalogue surfaces and users' own formulas alike)
#: |bound| of a plot window; the runner's divergence bound (1e6) lies far outside it.
MAX_DOMAIN_ABS = 1e4
#: The narrowest side a plot window may have.
MIN_DOMAIN_SPAN = 1e-6

# ---- a scene
MAX_SCENE_STEPS = 5_000
MAX_RUNS = 8
MAX_STARTS = 16
MAX_NOISE = 100.0
MAX_LABEL_CHARS = 40
MAX_HPARAMS = 16  # name=value items in one run of a query
#: L-BFGS runs one instance per start, each step up to ``max_iter`` iterations of a line search
#: (measured ~1.2 ms per particle-step): Σ starts × steps × max_iter over L-BFGS runs ≤ this.
MAX_LINE_SEARCH_STEPS = 10_000

# ---- readers
MAX_QUERY_CHARS = 16_384  # a whole URL query (keys + values): a longer one is refused as a whole
MAX_VALUE_CHARS = 2_048  # one query value (the formula also has its own length limit)
MAX_JSON_CHARS = 65_536  # a scene document
MAX_NUMBER_CHARS = 40  # a number written as text
