"""Mesh files the scenes use, and the programs that author them.

Scene files name meshes relative to their own folder or, failing that,
relative to this package folder (``MESH_DIR``).
"""

from __future__ import annotations

from pathlib import Path

#: Folder of this package; the fallback root for relative mesh paths in scenes.
MESH_DIR: Path = Path(__file__).resolve().parent

__all__ = ["MESH_DIR"]
