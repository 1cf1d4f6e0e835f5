"""Scene files (TOML), their validation, and their acoustic volumes.

Main entry points::

    load_scene(path_or_name, cache_dir=None, progress=None) -> Scene  # spec + volume (cached)
    load_scene_spec(path) -> SceneSpec                        # validation only
    build_volume(spec, progress=None) -> AcousticVolume       # voxelise, uncached
    skin.skin_surface(scene) -> SkinSurface                   # where the probe rests
    list_scene_files() -> list[Path]

Every user mistake raises ``SceneError`` naming the file and the field.
"""

from __future__ import annotations

from scenes.cache import CACHE_FORMAT_VERSION, Scene, list_scene_files, load_scene
from scenes.errors import SceneError
from scenes.loader import load_scene_spec
from scenes.spec import PointTargetSpec, ProbeSpec, SceneSpec, StructureSpec
from scenes.voxelize import build_volume

__all__ = [
    "CACHE_FORMAT_VERSION",
    "PointTargetSpec",
    "ProbeSpec",
    "Scene",
    "SceneError",
    "SceneSpec",
    "StructureSpec",
    "build_volume",
    "list_scene_files",
    "load_scene",
    "load_scene_spec",
]
