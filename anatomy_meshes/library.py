"""The anatomy authoring program: writes every procedure scene's meshes.

Run ``python -m anatomy_meshes`` to regenerate every mesh of the procedure
library (and of the phantoms and the demonstration scene), or name scenes:
``python -m anatomy_meshes carpal_tunnel_median``. ``--out DIR`` writes into
another folder (the tests regenerate into a temporary folder and compare
bytes with the committed files).
"""

from __future__ import annotations

import argparse
import importlib
import pkgutil
from collections.abc import Callable, Mapping
from pathlib import Path
from types import ModuleType

from vtkmodules.vtkCommonDataModel import vtkPolyData

from anatomy_meshes import MESH_DIR, demo, phantoms, regions
from anatomy_meshes.primitives import write_mesh

Builders = Mapping[str, Callable[[], vtkPolyData]]


def region_modules() -> list[ModuleType]:
    """Every scene module of ``anatomy_meshes.regions``, sorted by name."""
    names = sorted(m.name for m in pkgutil.iter_modules(regions.__path__))
    return [importlib.import_module(f"anatomy_meshes.regions.{n}") for n in names]


def scene_builders() -> dict[str, Builders]:
    """Scene name -> its mesh builders (file name -> builder)."""
    out: dict[str, Builders] = {}
    for module in region_modules():
        if module.SCENE in out:
            raise ValueError(f"two region modules define scene {module.SCENE!r}")
        out[module.SCENE] = module.MESHES
    return out


def generate_scene(scene: str, builders: Builders, root: Path = MESH_DIR) -> list[Path]:
    """Write one scene's meshes into ``root / scene``; returns the files written."""
    written = []
    for name, build in builders.items():
        path = root / scene / name
        write_mesh(build(), path)
        written.append(path)
    return written


def generate_all(root: Path = MESH_DIR, only: list[str] | None = None) -> list[Path]:
    """Write the meshes of the named scenes (default: all, phantoms and demo included)."""
    table = scene_builders()
    unknown = sorted(set(only or []) - set(table) - {"phantoms", "demo"})
    if unknown:
        raise SystemExit(f"unknown scene(s): {', '.join(unknown)}; known: {', '.join(table)}")
    written: list[Path] = []
    if not only or "phantoms" in only:
        written += phantoms.generate(root / "phantoms", phantoms.PHANTOMS)
    if not only or "demo" in only:
        written += phantoms.generate(root / "demo", demo.DEMO_MESHES)
    for scene, builders in table.items():
        if not only or scene in only:
            written += generate_scene(scene, builders, root)
    return written


def main(argv: list[str] | None = None) -> None:
    """Command line: ``python -m anatomy_meshes [SCENE ...] [--out DIR]``."""
    parser = argparse.ArgumentParser(prog="python -m anatomy_meshes", description=__doc__)
    parser.add_argument("scenes", nargs="*", help="scene names (default: all)")
    parser.add_argument("--out", type=Path, default=MESH_DIR, help="root output folder")
    args = parser.parse_args(argv)
    for path in generate_all(args.out, args.scenes or None):
        print(path)
