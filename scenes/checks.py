"""Checks of a loaded procedure scene beyond the file format.

``load_scene_spec`` proves a scene file well formed; these checks prove the
procedure works on its anatomy: the canonical view shows the target, the
labelled structures appear where the file says, the suggested needle path
reaches the target without crossing bone or a structure to avoid, and the
meshes have the sizes the file states. ``main.py check-scene`` runs them on
any scene file, a user's own included; the tests run them on the library.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from scenes.cache import Scene
from scenes.measure import chord_mm, section_area_mm2
from scenes.meshes import load_mesh
from scenes.spec import SceneSpec, StructureSpec
from simulator.engine import BModeEngine, BModeFrame, FrameRequest
from simulator.image_labels import label_image, section_of, top_depth_mm

#: Largest allowed difference between a stated and an imaged depth, mm.
DEPTH_TOLERANCE_MM = 1.0

#: Largest allowed relative difference between a stated and a measured size.
SIZE_TOLERANCE = 0.10

#: Smallest section (mm²) for a structure to count as shown in an image.
MIN_SECTION_MM2 = 0.2


@dataclass(frozen=True)
class Finding:
    """One failed check.

    Attributes
    ----------
    where : str
        The scene-file section or entry concerned, e.g. ``"labels[2]"``.
    message : str
        What is wrong, with the measured and the stated values.
    """

    where: str
    message: str

    def __str__(self) -> str:
        return f"{self.where}: {self.message}"


@dataclass(frozen=True)
class CanonicalView:
    """The canonical frame of a scene and the structure label under each pixel.

    Attributes
    ----------
    frame : BModeFrame
    labels : ndarray, shape (rows, cols), uint8
    """

    frame: BModeFrame
    labels: np.ndarray


def render_canonical(scene: Scene, n_threads: int = 2) -> CanonicalView:
    """Render a procedure scene at its canonical view (scene seed, scene settings)."""
    spec = scene.spec
    if spec.procedure is None:
        raise ValueError(f"scene {spec.name!r} has no [procedure] and so no canonical view")
    view = spec.procedure.canonical_view
    engine = BModeEngine(scene.volume, spec.probe.probe, n_threads=n_threads, seed=spec.seed)
    try:
        frame = engine.render(FrameRequest(view.probe2world, view.settings(spec.imaging)))
    finally:
        engine.close()
    labels = label_image(scene.volume, frame.geometry, frame.probe2world, frame.inside)
    return CanonicalView(frame, labels)


def path_obstacles(scene: Scene, start_mm: np.ndarray, end_mm: np.ndarray) -> list[StructureSpec]:
    """Bone and ``avoid`` structures a straight segment crosses (voxel labels).

    The segment is sampled every quarter voxel, so a crossing of even one
    voxel counts.
    """
    spec = scene.spec
    start, end = np.asarray(start_mm, float), np.asarray(end_mm, float)
    n = int(np.ceil(np.linalg.norm(end - start) / (0.25 * spec.voxel_mm))) + 1
    path = start + np.linspace(0.0, 1.0, n)[:, None] * (end - start)
    crossed = [int(v) for v in np.unique(scene.volume.label_at(path)) if v]
    return [
        spec.structures[v - 1]
        for v in crossed
        if spec.structures[v - 1].tissue == "bone" or spec.structures[v - 1].role == "avoid"
    ]


def check_needle_path(scene: Scene) -> list[Finding]:
    """The suggested path: aim point inside the target, nothing to avoid on the way."""
    spec = scene.spec
    proc = spec.procedure
    out = []
    target = proc.target
    if target.structure is not None:
        found = int(scene.volume.label_at(np.asarray(target.point_mm)))
        name = "background" if found == 0 else spec.structures[found - 1].name
        if name != target.structure:
            out.append(
                Finding("[target]", f"point_mm lies in {name!r}, not in {target.structure!r}")
            )
    for s in path_obstacles(scene, proc.needle.entry_mm, target.point_mm):
        kind = "bone" if s.tissue == "bone" else f"avoid structure ({s.harm})"
        out.append(
            Finding("[needle]", f"the path from entry_mm to the target crosses {kind} {s.name!r}")
        )
    return out


def check_canonical_view(scene: Scene, view: CanonicalView) -> list[Finding]:
    """Target in the image; labelled structures shown, at their stated depths."""
    spec = scene.spec
    proc = spec.procedure
    frame, labels = view.frame, view.labels
    out = []
    x, _, z = (np.linalg.inv(frame.probe2world) @ np.append(proc.target.point_mm, 1.0))[:3]
    row, col = (round(v) for v in frame.geometry.pixel_of(x, z))
    shown = 0 <= row < frame.geometry.rows and 0 <= col < frame.geometry.cols
    if not shown or not frame.inside[row, col]:
        out.append(
            Finding(
                "[canonical_view]",
                f"the target point is outside the image (lateral {x:.1f} mm, depth {z:.1f} mm)",
            )
        )
    for i, lab in enumerate(proc.labels):
        label = scene.volume.structure_index(lab.structure)
        section = section_of(labels, frame.geometry, label)
        if section.area_mm2 < MIN_SECTION_MM2:
            out.append(
                Finding(f"labels[{i}]", f"{lab.structure!r} does not appear in the canonical view")
            )
            continue
        if lab.depth_mm is None:
            continue
        lateral = section.centroid_mm[0] if lab.lateral_mm is None else lab.lateral_mm
        depth = top_depth_mm(labels, frame.geometry, label, lateral)
        if not abs(depth - lab.depth_mm) <= DEPTH_TOLERANCE_MM:
            seen = "not on that column" if np.isnan(depth) else f"at {depth:.2f} mm"
            out.append(
                Finding(
                    f"labels[{i}]",
                    f"{lab.structure!r} is stated at depth {lab.depth_mm} mm on the column "
                    f"{lateral:.1f} mm but its near surface is {seen}",
                )
            )
    return out


def check_dimensions(spec: SceneSpec) -> list[Finding]:
    """Stated sizes against the meshes (``SIZE_TOLERANCE``)."""
    out = []
    for i, dim in enumerate(spec.procedure.dimensions if spec.procedure else ()):
        mesh = load_mesh(spec.structure(dim.structure).mesh_path, spec.mesh_matrix)
        measure = section_area_mm2 if dim.quantity == "csa" else chord_mm
        value = measure(mesh, np.asarray(dim.at_mm), np.asarray(dim.axis))
        if not abs(value - dim.value) <= SIZE_TOLERANCE * dim.value:
            unit = "mm²" if dim.quantity == "csa" else "mm"
            out.append(
                Finding(
                    f"dimensions[{i}]",
                    f"{dim.structure!r} {dim.quantity} is {value:.2f} {unit} on the mesh, "
                    f"stated {dim.value} {unit}",
                )
            )
    return out


def check_scene(scene: Scene, view: CanonicalView | None = None) -> list[Finding]:
    """Every check of a procedure scene (none for a scene without ``[procedure]``)."""
    if scene.spec.procedure is None:
        return []
    view = view or render_canonical(scene)
    return (
        check_needle_path(scene) + check_canonical_view(scene, view) + check_dimensions(scene.spec)
    )
