"""The one exception type of the scenes package."""

from __future__ import annotations


class SceneError(ValueError):
    """A scene file, one of its meshes, or a cached volume is unusable.

    The message always names the scene file, the field path (for example
    ``[imaging] depth_mm`` or ``structures[2] ('femur'): mesh``) and what was
    expected instead.
    """
