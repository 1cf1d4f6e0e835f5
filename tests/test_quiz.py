"""Image-recognition quiz core: questions, hit test, geometry, session metrics, records."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
from scipy import ndimage

from simulator.quiz import (
    QuizSession,
    display_name_of,
    make_question,
    make_questions,
)
from simulator.quiz.question import group_names
from simulator.quiz.session import QUIZ_SCENE
from simulator.records import RecordStore

SCENES = ("carpal_tunnel_median", "knee_suprapatellar_recess", "subacromial_bursa")
N_QUESTIONS = 6


@pytest.fixture(scope="module")
def loaded(scene_cache: Path) -> dict:
    from scenes import load_scene

    return {name: load_scene(name) for name in SCENES}


@pytest.fixture(scope="module")
def questions(loaded: dict) -> list:
    return make_questions([loaded[n] for n in SCENES], n=N_QUESTIONS, seed=7)


def test_questions_are_deterministic_for_a_seed(loaded: dict, questions: list) -> None:
    again = make_questions([loaded[n] for n in SCENES], n=N_QUESTIONS, seed=7)
    assert [(q.scene, q.structure) for q in again] == [(q.scene, q.structure) for q in questions]
    for a, b in zip(again, questions, strict=True):
        np.testing.assert_array_equal(a.image, b.image)
        np.testing.assert_array_equal(a.region, b.region)
    # every scene visited, no (scene, structure) asked twice while others remain
    assert {q.scene for q in questions} == set(SCENES)
    assert len({(q.scene, q.structure) for q in questions}) == N_QUESTIONS
    other = make_questions([loaded[n] for n in SCENES], n=N_QUESTIONS, seed=8)
    assert [(q.scene, q.structure) for q in other] != [(q.scene, q.structure) for q in questions]


@pytest.fixture(scope="module")
def median(loaded: dict):
    return make_question(loaded["carpal_tunnel_median"], "median_nerve")


def test_named_structure_is_visible_and_not_skin(loaded: dict, questions: list) -> None:
    for q in questions:
        spec = loaded[q.scene].spec
        label = [s.name for s in spec.structures].index(q.structure) + 1
        own_px = int((q.labels == label).sum())
        assert own_px * q.geometry.pixel_mm**2 >= 2.0, (q.scene, q.structure, own_px)
        assert q.area_mm2 >= 4.0
        assert spec.structure(q.structure).tissue != "skin"
        assert q.image.dtype == np.uint8 and q.image.shape == q.labels.shape
        assert q.prompt == f"Click the {q.display_name}"
        # the image is a real B-mode picture, not blank
        assert q.image[q.labels > 0].std() > 5


def test_click_on_the_structure_counts(questions: list) -> None:
    centroid_inside = 0
    for q in questions:
        rr, cc = np.nonzero(q.region)
        row, col = rr.mean(), cc.mean()
        if q.region[round(row), round(col)]:
            centroid_inside += 1
            answer = q.check(col, row)
            assert answer.correct and answer.distance_mm == 0.0
            assert answer.structure_clicked == q.display_name
        x, y = q.answer_px
        assert q.check(x, y).correct
        assert q.check(x + 0.4, y - 0.4).correct  # anywhere within the pixel
    assert centroid_inside >= len(questions) // 2


def test_click_on_another_structure_is_wrong_and_named(questions: list) -> None:
    for q in questions:
        other = (q.labels > 0) & ~q.region
        rr, cc = np.nonzero(other)
        assert rr.size, (q.scene, q.structure)
        # the other-structure pixel farthest from the asked one
        far = ndimage.distance_transform_edt(~q.region)
        k = int(np.argmax(far[rr, cc]))
        row, col = int(rr[k]), int(cc[k])
        region_r, region_c = np.nonzero(q.region)
        answer = q.check(col, row)
        assert not answer.correct
        assert answer.structure_clicked == q.names[q.labels[row, col] - 1]
        assert answer.structure_clicked != q.display_name
        expected_mm = np.hypot(region_r - row, region_c - col).min() * q.geometry.pixel_mm
        assert answer.distance_mm == pytest.approx(expected_mm)
        assert answer.distance_mm > 1.0


def test_background_and_outside_clicks(questions: list) -> None:
    q = questions[0]
    answer = q.check(-50.0, -50.0)
    assert not answer.correct and answer.structure_clicked is None
    assert answer.distance_mm > 50 * q.geometry.pixel_mm


def test_a_click_on_a_fascicle_counts_for_its_nerve(loaded: dict, median) -> None:
    scene = loaded["carpal_tunnel_median"]
    q = median
    assert q.display_name == "median nerve"
    names = [s.name for s in scene.spec.structures]
    fascicle = names.index("median_nerve_fascicles") + 1
    rr, cc = np.nonzero(q.labels == fascicle)
    assert rr.size > 20
    assert q.check(float(cc[0]), float(rr[0])).correct
    # carpal tunnel CSA of the median nerve: 7-10 mm² (scene file [[dimensions]])
    assert 6.0 <= q.area_mm2 <= 11.0
    # a click on the ulnar artery wall is named as the artery
    wall = names.index("ulnar_artery_wall") + 1
    rr, cc = np.nonzero(q.labels == wall)
    answer = q.check(float(cc[0]), float(rr[0]))
    assert not answer.correct and answer.structure_clicked == "ulnar artery"


def test_pixel_geometry_matches_the_volume(loaded: dict, questions: list) -> None:
    """The near surface of the asked structure along the image column through the
    answer point lies where the volume puts it (within two voxels)."""
    for q in questions:
        scene = loaded[q.scene]
        names = [s.name for s in scene.spec.structures]
        wholes = group_names(names)
        members = [i for i, s in enumerate(names, start=1) if wholes[s] == q.structure]
        x_px, y_px = q.answer_px
        col = int(x_px)
        rows = np.nonzero(np.isin(q.labels[:, col], members))[0]
        lateral_mm, image_top_mm = q.pixel_mm(col, rows[rows <= y_px].min())
        # walk down the probe-frame ray in the volume
        depth = np.arange(0.0, image_top_mm + 5.0, 0.02)
        local = np.stack(
            [np.full_like(depth, lateral_mm), np.zeros_like(depth), depth, np.ones_like(depth)],
            axis=-1,
        )
        world = (local @ q.probe2world.T)[:, :3]
        hits = np.nonzero(np.isin(scene.volume.label_at(world), members))[0]
        volume_top_mm = depth[hits[hits <= np.searchsorted(depth, y_px)].min()]
        voxel_mm = scene.spec.voxel_mm
        tol = 2 * voxel_mm + q.geometry.pixel_mm
        assert abs(volume_top_mm - image_top_mm) <= tol, (q.scene, q.structure)
        # and the world point of the answer click is inside the structure
        x_mm, z_mm = q.pixel_mm(*q.answer_px)
        point = q.probe2world @ np.array([x_mm, 0.0, z_mm, 1.0])
        assert int(scene.volume.label_at(point[:3])) in members


def test_stated_label_depth_matches_the_question_image(median) -> None:
    """The scene file says the median nerve's near surface is 5.2 mm deep at
    lateral 0.5 mm in the canonical view; the quiz image agrees within 1 mm."""
    q = median
    _, col = q.geometry.pixel_of(0.5, 0.0)
    rows = np.nonzero(q.region[:, round(col)])[0]
    _, top_mm = q.pixel_mm(col, rows.min())
    assert top_mm == pytest.approx(5.2, abs=1.0)


def test_display_names() -> None:
    assert display_name_of("median_nerve", "Median nerve") == "median nerve"
    assert display_name_of("abductor_pollicis_longus", "APL") == "APL"
    assert display_name_of("kager_fat_pad", "Kager's fat pad") == "Kager's fat pad"
    assert display_name_of("ulnar_artery_lumen") == "ulnar artery lumen"
    assert group_names(["n", "n_fascicles", "a_wall", "a_lumen", "b_wall"]) == {
        "n": "n",
        "n_fascicles": "n",
        "a_wall": "a_lumen",
        "a_lumen": "a_lumen",
        "b_wall": "b_wall",
    }


def test_errors_name_the_problem(loaded: dict) -> None:
    with pytest.raises(ValueError, match="at least 1"):
        make_questions([loaded["carpal_tunnel_median"]], n=0)
    fake = SimpleNamespace(spec=SimpleNamespace(name="phantom_x", procedure=None), volume=None)
    with pytest.raises(ValueError, match="'phantom_x' has no \\[procedure\\]"):
        make_questions([fake], n=1)
    with pytest.raises(ValueError, match="no structure 'femur'"):
        make_question(loaded["carpal_tunnel_median"], "femur")


class FakeClock:
    def __init__(self) -> None:
        self.t_s = 100.0

    def __call__(self) -> float:
        return self.t_s


def _scripted(questions: list) -> tuple[QuizSession, FakeClock]:
    """Answers: right after 2 s, wrong after 3 s, right after 1 s (shown 0.5 s late)."""
    clock = FakeClock()
    session = QuizSession(questions[:3], clock=clock)
    clock.t_s = 102.0
    assert session.answer(*questions[0].answer_px).correct
    clock.t_s = 105.0
    wrong = session.answer(-10.0, -10.0)
    assert not wrong.correct
    clock.t_s = 105.5
    session.show_current()
    clock.t_s = 106.5
    assert session.answer(*questions[2].answer_px).correct
    return session, clock


def test_session_metrics_on_a_scripted_sequence(questions: list) -> None:
    session, _ = _scripted(questions)
    assert session.done and session.current is None
    m = session.metrics()
    assert m["n_questions"] == 3 and m["n_answered"] == 3 and m["n_correct"] == 2
    assert m["accuracy_fraction"] == pytest.approx(2 / 3)
    assert [r.time_s for r in session.rows] == pytest.approx([2.0, 3.0, 1.0])
    assert [r.t_s for r in session.rows] == pytest.approx([2.0, 5.0, 6.5])
    assert m["mean_time_s"] == pytest.approx(2.0)
    assert m["total_time_s"] == pytest.approx(6.0)
    assert m["mean_miss_distance_mm"] == pytest.approx(session.rows[1].distance_mm)
    grade = session.grade()
    assert grade["passed"] is False and grade["score"] == 0.0
    assert grade["criteria"][0]["value"] == pytest.approx(2 / 3)
    assert grade["criteria"][0]["threshold"] == 0.8
    assert session.grade(pass_mark=0.6)["passed"] is True
    with pytest.raises(RuntimeError, match="every question"):
        session.answer(0.0, 0.0)


def test_record_writes_a_quiz_attempt(tmp_path: Path, questions: list) -> None:
    session, _ = _scripted(questions)
    with RecordStore(tmp_path / "records.sqlite") as store:
        attempt_id = session.record(store, "Ana", settings={"seed": 7})
        record = store.attempt(attempt_id)
        assert (record.trainee, record.mode, record.scene, record.status) == (
            "Ana",
            "quiz",
            QUIZ_SCENE,
            "complete",
        )
        assert record.metrics["n_correct"] == 2
        assert record.metrics["accuracy_fraction"] == pytest.approx(2 / 3)
        assert record.grade["passed"] is False
        assert record.settings["seed"] == 7
        assert [q["structure"] for q in record.settings["questions"]] == [
            q.structure for q in questions[:3]
        ]
        samples = store.samples(attempt_id)
        assert [s["t_s"] for s in samples] == pytest.approx([2.0, 5.0, 6.5])
        assert [s["correct"] for s in samples] == [True, False, True]
        events = store.events(attempt_id)
        assert [e["kind"] for e in events] == ["quiz_answer"] * 3
        assert events[1]["structure"] == questions[1].structure
        assert store.verify_chain() == []
        # an unfinished quiz is kept, marked incomplete
        partial = QuizSession(questions[:3], clock=FakeClock())
        partial.answer(*questions[0].answer_px)
        partial_id = partial.record(store, "Ana")
        assert store.attempt(partial_id).status == "incomplete"
        assert len(store.samples(partial_id)) == 1
        assert store.verify_chain() == []
