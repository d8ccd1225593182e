"""Moved to :mod:`optviz.scene` (kept so that old imports keep working)."""

from optviz.limits import MAX_SCENE_STEPS as MAX_STEPS
from optviz.scene import *  # noqa: F403
from optviz.scene import __all__ as _all

__all__ = [*_all, "MAX_STEPS"]
