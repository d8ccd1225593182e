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

# ---- exports (what the app offers for download; the CLI writes whatever it is asked for)
#: The largest file the app builds for a download, in bytes, estimated before it is built
#: (``optviz.exports.budget``): a CSV or JSON that would be larger keeps every k-th step, the
#: smallest k that fits (stated in the file, its name and the page); an HTML page over it is
#: refused. 25 MB: a spreadsheet or pandas opens it in seconds, and the server builds it in a
#: few seconds of one worker (the largest allowed scene's full CSV is ~160 MB, 27-50 s here).
MAX_EXPORT_BYTES = 25_000_000
#: Path points the app draws into a PNG, GIF or MP4 (runs × starts × recorded steps, less
#: those in the same half-pixel cell as the point before, at the widest picture:
#: ``optviz.exports.media.picture_points``): Pillow draws ~25-60 µs per point here (one joint
#: per point), so the largest allowed scene drawn whole (640,128 points) took 23-40 s for a PNG
#: and 46 s for a GIF; above this the pictures are refused with what to reduce (the race and
#: the HTML export still show every point).
MAX_DRAWN_POINTS = 150_000
#: Seconds of compute one export may take (the simulation's own limit in the app, 20 s).
EXPORT_TIME_LIMIT = 20.0
