"""Reports: the attempt and trainee PDFs (text read back with pypdf), the class CSV,
and the ``results`` / ``report`` commands, on attempts scored from a real session."""

from __future__ import annotations

import argparse
import csv
import importlib.util
import json
import math
import sqlite3
from dataclasses import dataclass
from datetime import UTC, datetime
from itertools import count
from pathlib import Path

import numpy as np
import pytest
from pypdf import PdfReader

from scenes import Scene, load_scene
from scenes.skin import skin_surface
from simulator.app.scan_session import ScanSession
from simulator.app.session_sampler import SessionSampler
from simulator.display import to_uint8
from simulator.needle_pose import aimed_at
from simulator.records import RecordStore
from simulator.reports import (
    criteria_of,
    format_value,
    write_attempt_report,
    write_class_csv,
    write_trainee_report,
)
from simulator.reports.attempt_data import tip_series
from simulator.reports.attempt_pdf import (
    DISTANCE_CAPTION,
    PATH_CAPTION,
    TAMPER_WARNING,
    VISIBILITY_CAPTION,
)
from simulator.reports.commands import run_report, run_results
from simulator.reports.path_view import draw_path_view, needle_plane
from simulator.reports.trainee_pdf import PROGRESS_CAPTION
from simulator.rubric import METRICS
from simulator.scoring import Scorer

SCENE = "knee_suprapatellar_recess"


@dataclass
class Attempt:
    id: int
    trainee: str
    values: dict[str, float]
    grade: dict
    snapshots: list
    n_samples: int


@pytest.fixture(scope="module")
def scene(scene_cache: Path) -> Scene:
    return load_scene(SCENE, cache_dir=scene_cache)


def _run(
    scene: Scene,
    store: RecordStore,
    trainee: str,
    mode: str,
    fraction: float,
    day: int,
    scorer: Scorer,
) -> Attempt:
    """In plane from the procedure's entry toward ``fraction`` of the way to the target,
    1 ml injected; stored as an attempt with a snapshot rendered at the injection."""
    ticks = count()
    s = ScanSession(scene, skin_surface(scene), clock=lambda: 0.1 * next(ticks), seed=3)
    try:
        proc = scene.spec.procedure
        entry = np.asarray(proc.needle.entry_mm)
        aim = entry + fraction * (np.asarray(proc.target.point_mm) - entry)
        pose = aimed_at(proc.needle.entry_mm, aim, proc.needle.gauge, proc.needle.length_mm)
        sampler = SessionSampler(s)
        attempt_id = store.start_attempt(
            trainee, SCENE, mode, {"seed": 3}, started_at=datetime(2025, 3, day, 9, tzinfo=UTC)
        )
        samples = [sampler.sample()]
        distance = float(np.linalg.norm(aim - entry))
        for depth in np.arange(2.0, distance + 1e-9, 2.0):
            s.set_needle_tip(entry, entry + depth * np.asarray(pose.direction))
            samples.append(sampler.sample())
        for _ in range(5):
            s.inject(0.2)
            samples.append(sampler.sample(injecting=True))
        s.finish_injection()
        samples.append(sampler.sample())
        frame = s.engine.render(s.frame_request())
        grey = to_uint8(frame.image)
        snapshots = [(samples[-1].t_s, "B-mode at injection", np.stack([grey] * 3, axis=-1))]
        scorer.update_all(samples)
        scorer.finish(s.injection.distribution_ml())
        values = scorer.values()
        grade = scorer.grade().to_dict()
        store.add_samples(attempt_id, samples)
        store.add_events(attempt_id, list(s.events))
        store.finish_attempt(
            attempt_id, values, grade, ended_at=datetime(2025, 3, day, 9, 5, tzinfo=UTC)
        )
        return Attempt(attempt_id, trainee, values, grade, snapshots, len(samples))
    finally:
        s.close()


@pytest.fixture(scope="module")
def records(scene: Scene, tmp_path_factory: pytest.TempPathFactory):
    path = tmp_path_factory.mktemp("records") / "records.sqlite"
    first = Scorer.from_scene(scene)  # the target's distance field takes seconds: build it once

    def scorer() -> Scorer:
        return Scorer(first.ctx, first.rubric)

    with RecordStore(path) as store:
        good = _run(scene, store, "Ana Silva", "exam", 1.0, 1, scorer())
        bad = _run(scene, store, "Ana Silva", "practice", 0.6, 2, scorer())
        ben = _run(scene, store, "Ben Okafor", "exam", 1.0, 3, scorer())
        running = store.start_attempt("Ben Okafor", SCENE, "practice")
        store.flush()
    yield path, good, bad, ben, running


def _pdf_text(path: Path) -> tuple[int, str]:
    reader = PdfReader(str(path))
    text = "\n".join(page.extract_text() or "" for page in reader.pages)
    return len(reader.pages), " ".join(text.split())


def test_grade_of_the_fixture_attempts(records) -> None:
    _, good, bad, _, _ = records
    assert good.grade["passed"] is True
    assert bad.grade["passed"] is False
    assert good.values["target_reached"] == 1.0
    assert bad.values["tip_to_target_at_injection_mm"] > 2.0


def test_format_value_units() -> None:
    assert format_value("tip_to_target_at_injection_mm", 1.234) == "1.23 mm"
    assert format_value("tip_visibility_fraction", 0.85) == "85.0 %"
    assert format_value("target_reached", 1.0) == "yes"
    assert format_value("needle_passes", 2.0) == "2"
    assert format_value("needle_passes", float("nan")) == "n/a"
    rows = criteria_of(
        {
            "passed": True,
            "criteria": [{"metric": "needle_passes", "value": 2, "max": 3, "met": True}],
        }
    )
    assert (rows[0].requirement, rows[0].value_text, rows[0].verdict) == ("<= 3", "2", "PASS")


def test_attempt_pdf_contents(records, scene: Scene, tmp_path: Path) -> None:
    path, good, bad, _, _ = records
    with RecordStore(path, recover=False) as store:
        for a in (good, bad):
            out = write_attempt_report(
                store, a.id, tmp_path / f"a{a.id}.pdf", snapshots=a.snapshots, scene=scene
            )
            n_pages, text = _pdf_text(out)
            assert n_pages >= 2
            assert "Ana Silva" in text and SCENE in text and scene.spec.title in text
            rows = criteria_of(a.grade)
            assert rows and len(rows) == len(scene.spec.procedure.rubric.criteria)
            for c in rows:
                assert c.metric in text
                assert f"{c.value_text} {c.requirement} {c.verdict}" in text, c
            verdict = "PASS" if a.grade["passed"] else "FAIL"
            assert f"Result: {verdict}" in text and f"Overall: {verdict}" in text
            for cap in (DISTANCE_CAPTION, VISIBILITY_CAPTION, PATH_CAPTION):
                assert cap in text
            assert "Snapshot 1" in text and "B-mode at injection" in text
            assert "skin_puncture" in text and "injection" in text  # the events timeline
            assert "Record integrity: verified" in text and TAMPER_WARNING not in text
            # every metric of the catalogue is listed with its value
            for name in ("path_length_mm", "skin_punctures", "total_time_s"):
                assert f"{name} {format_value(name, a.values[name])}" in text


def test_tip_series_and_path_view(records, scene: Scene) -> None:
    path, good, bad, _, _ = records
    with RecordStore(path, recover=False) as store:
        g = tip_series(store.samples(good.id), scene)
        b = tip_series(store.samples(bad.id), scene)
        samples = store.samples(good.id)
    # the distance falls to 0 in the target for the good attempt, stays > 2 mm when short
    assert np.nanmin(g["distance_mm"]) == pytest.approx(good.values["min_tip_to_target_mm"])
    assert np.nanmin(g["distance_mm"]) == 0.0
    assert np.nanmin(b["distance_mm"]) > 2.0
    assert math.isnan(g["distance_mm"][0])  # no needle in the first sample
    assert g["visible"][g["inserted"]].mean() > 0.5
    plane = needle_plane(samples)
    tips = np.array([s["tip_mm"] for s in samples if s["tip_mm"] is not None])
    # the straight in-plane path lies in the section plane
    off_plane = (tips - plane.origin_mm) @ np.cross(plane.u, plane.v)
    assert np.abs(off_plane).max() < 0.5
    view = draw_path_view(scene, samples)
    assert view.rgb.dtype == np.uint8 and view.rgb.ndim == 3
    assert scene.spec.procedure.target.structure in view.structures
    red = (view.rgb[..., 0] > 180) & (view.rgb[..., 1] < 60) & (view.rgb[..., 2] < 60)
    path_len_px = np.linalg.norm(view.path_mm[-1] - view.path_mm[0]) / view.pixel_mm
    assert red.sum() > 2 * path_len_px  # the path is drawn, 3 px wide


def test_tampered_attempt_report_warns(records, scene: Scene, tmp_path: Path) -> None:
    path, good, _, _, _ = records
    copy = tmp_path / "tampered.sqlite"
    src = sqlite3.connect(path)
    dst = sqlite3.connect(copy)
    src.backup(dst)
    src.close()
    dst.execute(
        "UPDATE attempts SET metrics_json = replace(metrics_json, '\"target_reached\":1.0', "
        "'\"target_reached\":0.0') WHERE id = ?",
        (good.id,),
    )
    dst.commit()
    dst.close()
    with RecordStore(copy, recover=False) as store:
        assert any(p.attempt_id == good.id for p in store.verify_chain())
        out = write_attempt_report(
            store, good.id, tmp_path / "t.pdf", snapshots=good.snapshots, scene=scene
        )
        _, text = _pdf_text(out)
        assert TAMPER_WARNING in text and "metrics differs from the sealed record" in text
        n = write_class_csv(store, tmp_path / "t.csv")
    rows = list(csv.DictReader((tmp_path / "t.csv").open()))
    assert n == len(rows) == 4
    assert {r["id"]: r["chain_ok"] for r in rows}[str(good.id)] == "false"
    assert sum(r["chain_ok"] == "true" for r in rows) == 3


def test_trainee_pdf_lists_every_attempt(records, tmp_path: Path) -> None:
    path, good, bad, ben, _ = records
    with RecordStore(path, recover=False) as store:
        out = write_trainee_report(store, "Ana Silva", tmp_path / "ana.pdf")
        with pytest.raises(KeyError, match="Zed"):
            write_trainee_report(store, "Zed", tmp_path / "zed.pdf")
    n_pages, text = _pdf_text(out)
    assert n_pages >= 3  # summary + one page per attempt
    assert "Trainee report: Ana Silva" in text
    assert f"Attempt {good.id}: {SCENE}" in text and f"Attempt {bad.id}: {SCENE}" in text
    assert f"Attempt {ben.id}:" not in text
    assert "2 attempt(s), 2 graded, 1 passed (50 %)" in text
    assert f"{SCENE} 2 1 50 %" in text  # pass rate per scene
    assert PROGRESS_CAPTION in text
    g = format_value("tip_to_target_at_injection_mm", bad.values["tip_to_target_at_injection_mm"])
    assert g in text


def test_class_csv_round_trips(records, tmp_path: Path) -> None:
    path, good, bad, ben, running = records
    with RecordStore(path, recover=False) as store:
        n = write_class_csv(store, tmp_path / "class.csv")
        n_ana = write_class_csv(store, tmp_path / "ana.csv", trainee="Ana Silva", scene=None)
    assert (n, n_ana) == (4, 2)
    with (tmp_path / "class.csv").open(newline="") as f:
        reader = csv.reader(f)
        header = next(reader)
        body = list(reader)
    assert header[:8] == [
        "id",
        "date",
        "trainee",
        "scene",
        "mode",
        "status",
        "passed",
        "duration_s",
    ]
    assert header[8 : 8 + len(METRICS)] == list(METRICS)
    assert header[-1] == "chain_ok"
    rows = {int(r[0]): dict(zip(header, r, strict=True)) for r in body}
    assert list(rows) == [good.id, bad.id, ben.id, running]
    for a in (good, bad, ben):
        row = rows[a.id]
        assert row["trainee"] == a.trainee and row["scene"] == SCENE
        assert row["status"] == "complete" and row["chain_ok"] == "true"
        assert row["passed"] == ("true" if a.grade["passed"] else "false")
        assert datetime.fromisoformat(row["date"]).tzinfo is not None
        for name, value in a.values.items():
            if math.isnan(value):
                assert row[name] == ""
            else:
                assert float(row[name]) == value, name  # exact
        assert float(row["duration_s"]) == a.values["total_time_s"]
    assert rows[good.id]["mode"] == "exam" and rows[bad.id]["mode"] == "practice"
    assert rows[running]["status"] == "running" and rows[running]["passed"] == ""


def _ns(**kw) -> argparse.Namespace:
    base = {"db": None, "csv": None, "trainee": None, "scene": None, "mode": None, "json": False}
    base.update(kw)
    return argparse.Namespace(**base)


def test_run_results_table_json_and_csv(records, tmp_path: Path, capsys) -> None:
    path, good, _, ben, _ = records
    assert run_results(_ns(db=path, csv=tmp_path / "r.csv", trainee="Ana Silva")) == 0
    out = capsys.readouterr().out
    assert "Ana Silva" in out and "Ben Okafor" not in out
    assert "2 attempt(s), 2 graded, 1 passed (50 %)" in out
    assert "wrote 2 row(s)" in out and (tmp_path / "r.csv").is_file()
    assert "TAMPER" not in out
    assert run_results(_ns(db=path, json=True, mode="exam")) == 0
    rows = json.loads(capsys.readouterr().out)
    assert [r["id"] for r in rows] == [good.id, ben.id]
    assert rows[0]["metrics"]["target_reached"] == 1.0 and rows[0]["passed"] is True
    assert rows[0]["chain_ok"] is True


def test_run_report_and_user_errors(records, tmp_path: Path, capsys, monkeypatch) -> None:
    from simulator.app.cli import UserError

    path, *_ = records
    assert run_report(_ns(db=path, attempt=None, trainee="Ben Okafor", out=tmp_path / "b.pdf")) == 0
    assert capsys.readouterr().out.strip() == str(tmp_path / "b.pdf")
    assert _pdf_text(tmp_path / "b.pdf")[1].count("Trainee report: Ben Okafor") >= 1
    with pytest.raises(UserError, match=r"attempt 999 is not in .*attempts in the records: 1, 2"):
        run_report(_ns(db=path, attempt=999, trainee=None, out=tmp_path / "x.pdf"))
    with pytest.raises(UserError, match=r"trainee 'Zed' is not in .*Ana Silva, Ben Okafor"):
        run_report(_ns(db=path, attempt=None, trainee="Zed", out=tmp_path / "x.pdf"))
    with pytest.raises(UserError, match="either --attempt ID or --trainee NAME"):
        run_report(_ns(db=path, attempt=1, trainee="Zed", out=tmp_path / "x.pdf"))
    with pytest.raises(UserError, match="no records database at"):
        run_results(_ns(db=tmp_path / "none.sqlite"))
    with pytest.raises(UserError, match="--mode 'final'"):
        run_results(_ns(db=path, mode="final"))
    monkeypatch.setenv("INJECTION_SIM_DB", str(path))
    assert run_results(_ns()) == 0
    assert "Ben Okafor" in capsys.readouterr().out


@pytest.mark.skipif(
    importlib.util.find_spec("simulator.app.replay") is None,
    reason="simulator.app.replay (another helper's) does not exist yet",
)
def test_attempt_report_with_replayed_snapshots(records, scene: Scene, tmp_path: Path) -> None:
    path, good, *_ = records
    with RecordStore(path, recover=False) as store:
        out = write_attempt_report(store, good.id, tmp_path / "replayed.pdf", scene=scene)
    _, text = _pdf_text(out)
    assert "Snapshot 1" in text and "B-mode at injection, t =" in text
    assert "snapshots not available" not in text
