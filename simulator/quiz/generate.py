"""Quiz questions from the procedure library: canonical views, a visible structure each.

Each question is a procedure scene rendered at its canonical probe pose
(optionally turned and fanned by a small seeded jitter) with the scene's seed,
so the same scenes and seed give the same questions, pixel for pixel. The
structure to find is drawn among the structures the procedure labels in its
teaching overlay whose section in that image is large enough to click
(``min_area_mm2``); skin never is one.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from simulator.display import to_uint8
from simulator.engine import BModeEngine, FrameRequest
from simulator.image_labels import label_image
from simulator.probe import probe_pose
from simulator.quiz.question import (
    Question,
    display_name_of,
    group_names,
    hit_region,
    interior_point,
    label_names,
)

if TYPE_CHECKING:
    from scenes import Scene

#: Smallest section of a structure to be asked, mm².
MIN_AREA_MM2 = 4.0
#: Tissues never asked.
EXCLUDED_TISSUES: tuple[str, ...] = ("skin",)


def procedure_scene_names() -> list[str]:
    """Names of the built-in procedure scenes (``scenes/procedures/*.toml``), sorted."""
    from scenes import list_scene_files

    return [p.stem for p in list_scene_files() if p.parent.name == "procedures"]


@dataclass(frozen=True)
class _View:
    """A rendered view of one scene and the structures one may ask in it."""

    image: np.ndarray
    labels: np.ndarray
    geometry: Any
    probe2world: np.ndarray
    candidates: tuple[tuple[str, np.ndarray], ...]  # (structure, hit region)


def _load(item: Any) -> Scene:
    if hasattr(item, "spec") and hasattr(item, "volume"):
        return item
    from scenes import load_scene

    return load_scene(item if isinstance(item, Path) else str(item))


def _render(scene: Scene, pose: np.ndarray, min_area_mm2: float, n_threads: int) -> _View:
    spec = scene.spec
    proc = spec.procedure
    settings = proc.canonical_view.settings(spec.imaging)
    engine = BModeEngine(scene.volume, spec.probe.probe, n_threads=n_threads, seed=spec.seed)
    try:
        frame = engine.render(FrameRequest(pose, settings))
    finally:
        engine.close()
    labels = label_image(scene.volume, frame.geometry, frame.probe2world, frame.inside)
    names = [s.name for s in spec.structures]
    wholes = group_names(names)
    candidates = []
    for name in dict.fromkeys(lab.structure for lab in proc.labels):
        if spec.structure(name).tissue in EXCLUDED_TISSUES:
            continue
        members = [i for i, s in enumerate(names, start=1) if wholes[s] == name]
        region = hit_region(labels, members, frame.geometry.pixel_mm)
        if region.sum() * frame.geometry.pixel_mm**2 >= min_area_mm2:
            candidates.append((name, region))
    return _View(
        to_uint8(frame.image), labels, frame.geometry, frame.probe2world, tuple(candidates)
    )


def _question(scene: Scene, view: _View, structure: str, region: np.ndarray) -> Question:
    spec = scene.spec
    texts = {lab.structure: lab.text for lab in spec.procedure.labels}
    return Question(
        scene=spec.name,
        scene_title=spec.title or spec.name,
        structure=structure,
        display_name=display_name_of(structure, texts.get(structure)),
        image=view.image,
        labels=view.labels,
        region=region,
        geometry=view.geometry,
        probe2world=view.probe2world,
        names=label_names([s.name for s in spec.structures], texts),
        colour=tuple(float(c) for c in spec.structure(structure).colour),
        answer_px=interior_point(region),
    )


def make_question(
    scene: Any,
    structure: str,
    *,
    probe2world: np.ndarray | None = None,
    n_threads: int = 2,
) -> Question:
    """One question on a chosen structure (an instructor's pick, the tests).

    Parameters
    ----------
    scene : str, Path or Scene
        A procedure scene.
    structure : str
        Structure name of the scene file; any structure (not only the
        labelled ones), except a part (``X_fascicles``, ``X_wall``) whose
        whole exists: ask the whole.
    probe2world : ndarray, shape (4, 4), optional
        Probe pose; the canonical view by default.
    n_threads : int

    Raises
    ------
    ValueError
        If the scene has no procedure, has no such structure, or the
        structure does not show in the image.
    """
    scene = _load(scene)
    spec = scene.spec
    if spec.procedure is None:
        raise ValueError(f"quiz: scene {spec.name!r} has no [procedure] section")
    names = [s.name for s in spec.structures]
    if structure not in names:
        raise ValueError(
            f"quiz: scene {spec.name!r} has no structure {structure!r}; known: {', '.join(names)}"
        )
    pose = spec.procedure.canonical_view.probe2world if probe2world is None else probe2world
    view = _render(scene, np.asarray(pose, dtype=np.float64), np.inf, n_threads)
    wholes = group_names(names)
    members = [i for i, s in enumerate(names, start=1) if wholes[s] == structure]
    region = hit_region(view.labels, members, view.geometry.pixel_mm)
    if not region.any():
        raise ValueError(f"quiz: {structure!r} does not show in this view of {spec.name!r}")
    return _question(scene, view, structure, region)


def make_questions(
    scenes: Sequence[Any] | None = None,
    n: int = 10,
    seed: int = 0,
    *,
    jitter_deg: float = 0.0,
    min_area_mm2: float = MIN_AREA_MM2,
    n_threads: int = 2,
) -> list[Question]:
    """Generate ``n`` quiz questions.

    Parameters
    ----------
    scenes : sequence of str, Path or Scene, optional
        Procedure scenes to draw from (names, ``.toml`` paths or loaded
        scenes); default: the whole procedure library (scenes that fail to
        load are skipped with a warning).
    n : int
        Number of questions (scenes are visited in a seeded shuffled order,
        repeated when ``n`` exceeds their number; a scene asked again asks
        another structure while it has one left).
    seed : int
        Seed of the choices and of the jitter; same seed, same questions.
    jitter_deg : float
        Largest random turn (yaw) and fan (tilt) of the probe away from the
        canonical pose, deg (0: the canonical view itself).
    min_area_mm2 : float
        Smallest section of a structure to be asked, mm².
    n_threads : int
        Engine worker threads.

    Returns
    -------
    list of Question

    Raises
    ------
    ValueError
        If ``n < 1``, a scene has no ``[procedure]`` (no canonical view), or
        no scene shows a structure large enough to ask.
    """
    if n < 1:
        raise ValueError(f"quiz: number of questions must be at least 1, got {n}")
    explicit = scenes is not None
    loaded: list[Scene] = []
    for item in procedure_scene_names() if scenes is None else scenes:
        try:
            scene = _load(item)
        except Exception as exc:  # a broken library file must not stop the quiz
            if explicit:
                raise
            warnings.warn(f"quiz: scene {item!r} skipped: {exc}", stacklevel=2)
            continue
        if scene.spec.procedure is None:
            raise ValueError(
                f"quiz: scene {scene.spec.name!r} has no [procedure] section and so no "
                "canonical view to ask about"
            )
        loaded.append(scene)
    if not loaded:
        raise ValueError("quiz: no procedure scene to draw questions from")
    rng = np.random.default_rng(seed)
    views: dict[str, _View] = {}
    asked: dict[str, set[str]] = {s.spec.name: set() for s in loaded}
    pool = list(loaded)
    questions: list[Question] = []
    order: list[Scene] = []
    while len(questions) < n:
        if not pool:
            raise ValueError(
                f"quiz: no structure of at least {min_area_mm2} mm² in the views of "
                + ", ".join(s.spec.name for s in loaded)
            )
        if not order:
            order = [pool[i] for i in rng.permutation(len(pool))]
        scene = order.pop(0)
        spec = scene.spec
        view_spec = spec.procedure.canonical_view
        if jitter_deg > 0:
            d_yaw, d_tilt = rng.uniform(-jitter_deg, jitter_deg, size=2)
            pose = probe_pose(
                view_spec.position_mm,
                view_spec.yaw_deg + d_yaw,
                view_spec.tilt_deg + d_tilt,
                view_spec.rock_deg,
            )
            view = _render(scene, pose, min_area_mm2, n_threads)
        else:
            if spec.name not in views:
                views[spec.name] = _render(scene, view_spec.probe2world, min_area_mm2, n_threads)
            view = views[spec.name]
        if not view.candidates:  # nothing large enough to ask: leave the scene out
            pool.remove(scene)
            order = [s for s in order if s is not scene]
            continue
        fresh = [c for c in view.candidates if c[0] not in asked[spec.name]]
        choices = fresh or list(view.candidates)
        structure, region = choices[int(rng.integers(len(choices)))]
        asked[spec.name].add(structure)
        questions.append(_question(scene, view, structure, region))
    return questions


def library_questions(
    n: int = 10, seed: int = 0, *, jitter_deg: float = 0.0, n_threads: int = 2
) -> list[Question]:
    """``n`` questions from up to ``n`` procedure scenes of the library picked by ``seed``.

    Only the scenes picked are loaded (the first load of a scene builds its
    volume, a few seconds); scenes that fail to load are skipped with a
    warning.
    """
    from scenes import load_scene

    rng = np.random.default_rng(seed)
    names = procedure_scene_names()
    picked = [names[i] for i in rng.permutation(len(names))]
    loaded = []
    for name in picked:
        if len(loaded) >= n:
            break
        try:
            loaded.append(load_scene(name))
        except Exception as exc:  # a broken library file must not stop the quiz
            warnings.warn(f"quiz: scene {name!r} skipped: {exc}", stacklevel=2)
    return make_questions(loaded, n, seed, jitter_deg=jitter_deg, n_threads=n_threads)
