"""Hypothesis profiles for the property tests.

Under CI (``CI=true``) every property test draws the same examples each run
(``derandomize``): a submission passes or fails on its code, never on the luck of the
draw. Elsewhere the draws are random, so a local run keeps exploring (a failure prints the
example and the seed that reproduce it). ``HYPOTHESIS_PROFILE`` picks a profile by name.
"""

from __future__ import annotations

import os

from hypothesis import settings

settings.register_profile("ci", derandomize=True, database=None)
settings.register_profile("explore")  # Hypothesis's defaults: random draws
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE")
                      or ("ci" if os.environ.get("CI", "").lower() == "true" else "explore"))
