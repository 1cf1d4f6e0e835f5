"""The instructor's results table: listing, sorting, filters, privacy, tamper marks, delete."""

from __future__ import annotations

import csv
import math
import sqlite3
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

pytest.importorskip("PySide6")
from PySide6.QtCore import Qt

from simulator.gui.results_dialog import ResultsDialog, open_results_dialog
from simulator.gui.results_model import (
    COLUMN_INDEX,
    TAMPERED_COLOUR,
    TAMPERED_TEXT,
    ResultsFilter,
)
from simulator.records import RecordStore

PIN = "4321"


def _grade(passed: bool, tip_mm: float) -> dict:
    """A grade dict shaped as the attempt runner stores it."""
    return {
        "passed": passed,
        "score": 1.0 if passed else 0.5,
        "criteria": [
            {
                "metric": "tip_to_target_at_injection_mm",
                "op": "<=",
                "threshold": 2.0,
                "critical": False,
                "description": "Tip in the target when injecting",
                "value": tip_mm,
                "met": tip_mm <= 2.0,
            },
            {
                "metric": "needle_passes",
                "op": "<=",
                "threshold": 3.0,
                "critical": False,
                "description": "At most 3 passes",
                "value": 1.0,
                "met": passed,
            },
        ],
    }


def _add(
    store: RecordStore,
    trainee: str,
    scene: str,
    day: int,
    tip_mm: float,
    passed: bool | None,
    *,
    status: str = "complete",
) -> int:
    started = datetime(2026, 3, day, 12, 0, tzinfo=UTC)
    attempt_id = store.start_attempt(
        trainee, scene, "exam", {"seed": 7, "imaging": {"depth_mm": 40.0}}, started_at=started
    )
    store.add_samples(
        attempt_id,
        [{"t_s": 0.05 * i, "tip_mm": [0.0, 1.0, float(i)], "injecting": False} for i in range(20)],
    )
    store.add_events(attempt_id, [{"t_s": 0.2, "kind": "skin_puncture", "depth_mm": 0.0}])
    metrics = {
        "tip_to_target_at_injection_mm": tip_mm,
        "tip_visibility_fraction": 0.85,
        "needle_passes": 1.0 if passed else 4.0,
        "total_time_s": 30.0 + day,
        "min_tip_to_target_mm": float("nan"),
    }
    store.finish_attempt(
        attempt_id,
        metrics,
        None if passed is None else _grade(passed, tip_mm),
        status=status,
        ended_at=datetime(2026, 3, day, 12, 1, tzinfo=UTC),
    )
    return attempt_id


@pytest.fixture
def store(tmp_path: Path):
    with RecordStore(tmp_path / "r.sqlite") as s:
        s.add_instructor("Dr Who", PIN)
        ids = {
            "ana_knee": _add(s, "Ana", "knee_suprapatellar_recess", 1, 10.5, False),
            "ana_shoulder": _add(s, "Ana", "shoulder_subacromial", 3, 0.4, True),
            "ben_knee": _add(s, "Ben", "knee_suprapatellar_recess", 5, 2.0, True),
            "cy_knee": _add(
                s, "Cy", "knee_suprapatellar_recess", 7, 9.0, None, status="incomplete"
            ),
        }
        s.ids = ids  # type: ignore[attr-defined]
        yield s


def _dialog(qtbot, store: RecordStore, trainee: str | None = None, unlocked: bool = True):
    dialog = ResultsDialog(store, trainee, unlocked)
    qtbot.addWidget(dialog)
    dialog.show_message = lambda title, text, error=False: dialog.messages.append((title, text))
    return dialog


def _column(dialog: ResultsDialog, name: str) -> list[str]:
    c = COLUMN_INDEX[name]
    return [dialog.proxy.index(r, c).data() for r in range(dialog.proxy.rowCount())]


def test_the_table_lists_every_attempt_with_its_headline_values(qtbot, store) -> None:
    dialog = open_results_dialog(None, store, None, unlocked=True)
    qtbot.addWidget(dialog)
    assert dialog.isVisible()
    assert dialog.proxy.rowCount() == 4
    assert not dialog.banner.isVisible()
    dialog.view.sortByColumn(COLUMN_INDEX["id"], Qt.SortOrder.AscendingOrder)
    assert _column(dialog, "trainee") == ["Ana", "Ana", "Ben", "Cy"]
    assert _column(dialog, "grade") == ["FAIL", "PASS", "PASS", "—"]
    assert _column(dialog, "status") == ["complete", "complete", "complete", "abandoned"]
    assert _column(dialog, "tip_to_target") == ["10.50 mm", "0.40 mm", "2.00 mm", "9.00 mm"]
    assert _column(dialog, "tip_visibility") == ["85 %"] * 4
    assert _column(dialog, "passes") == ["4", "1", "1", "4"]
    assert _column(dialog, "duration") == ["31.0 s", "33.0 s", "35.0 s", "37.0 s"]
    assert _column(dialog, "integrity") == ["ok"] * 4
    local = datetime(2026, 3, 5, 12, 0, tzinfo=UTC).astimezone().strftime("%Y-%m-%d %H:%M")
    assert _column(dialog, "date")[2] == local
    assert dialog.count_label.text() == "4 of 4 attempts shown"


def test_sorting_orders_numbers_as_numbers_and_dates_as_dates(qtbot, store) -> None:
    dialog = _dialog(qtbot, store)
    dialog.view.sortByColumn(COLUMN_INDEX["tip_to_target"], Qt.SortOrder.AscendingOrder)
    # as text "10.50 mm" would come before "2.00 mm"
    assert _column(dialog, "tip_to_target") == ["0.40 mm", "2.00 mm", "9.00 mm", "10.50 mm"]
    dialog.view.sortByColumn(COLUMN_INDEX["tip_to_target"], Qt.SortOrder.DescendingOrder)
    assert _column(dialog, "tip_to_target") == ["10.50 mm", "9.00 mm", "2.00 mm", "0.40 mm"]
    dialog.view.sortByColumn(COLUMN_INDEX["date"], Qt.SortOrder.DescendingOrder)
    assert [r.id for r in dialog.proxy.visible_rows()] == [
        store.ids[k] for k in ("cy_knee", "ben_knee", "ana_shoulder", "ana_knee")
    ]
    # ungraded attempts sort after graded ones (ascending)
    dialog.view.sortByColumn(COLUMN_INDEX["grade"], Qt.SortOrder.AscendingOrder)
    assert _column(dialog, "grade") == ["FAIL", "PASS", "PASS", "—"]


def test_filters_by_trainee_scene_grade_date_and_text(qtbot, store) -> None:
    dialog = _dialog(qtbot, store)
    dialog.trainee_combo.setCurrentText("Ana")
    assert dialog.proxy.rowCount() == 2
    assert dialog.count_label.text() == "2 of 4 attempts shown"
    dialog.scene_combo.setCurrentText("knee_suprapatellar_recess")
    assert [r.id for r in dialog.proxy.visible_rows()] == [store.ids["ana_knee"]]
    dialog.trainee_combo.setCurrentIndex(0)  # (all)
    assert dialog.proxy.rowCount() == 3
    dialog.outcome_combo.setCurrentIndex(1)  # pass
    assert [r.trainee for r in dialog.proxy.visible_rows()] == ["Ben"]
    dialog.outcome_combo.setCurrentIndex(2)  # fail
    assert [r.trainee for r in dialog.proxy.visible_rows()] == ["Ana"]
    dialog.outcome_combo.setCurrentIndex(0)
    dialog.scene_combo.setCurrentIndex(0)
    assert dialog.proxy.rowCount() == 4
    dialog.from_check.setChecked(True)
    dialog.date_from.setDate(dialog.date_from.date().fromString("2026-03-03", "yyyy-MM-dd"))
    dialog.to_check.setChecked(True)
    dialog.date_to.setDate(dialog.date_to.date().fromString("2026-03-05", "yyyy-MM-dd"))
    assert dialog.current_filter().date_from == date(2026, 3, 3)
    assert sorted(r.trainee for r in dialog.proxy.visible_rows()) == ["Ana", "Ben"]
    dialog.to_check.setChecked(False)
    assert dialog.proxy.rowCount() == 3
    dialog.from_check.setChecked(False)
    dialog.search.setText("shoulder")
    assert [r.id for r in dialog.proxy.visible_rows()] == [store.ids["ana_shoulder"]]
    dialog.search.setText("abandoned")
    assert [r.trainee for r in dialog.proxy.visible_rows()] == ["Cy"]


def test_the_filter_object_alone() -> None:
    flt = ResultsFilter(outcome="fail")
    assert flt.trainee is None and flt.text == ""


def test_a_trainee_sees_only_their_attempts_until_the_right_pin(qtbot, store) -> None:
    dialog = _dialog(qtbot, store, trainee="Ana", unlocked=False)
    assert not dialog.unlocked
    assert {r.trainee for r in dialog.proxy.visible_rows()} == {"Ana"}
    assert dialog.model.rowCount() == 2  # the others are not even loaded
    assert not dialog.trainee_combo.isEnabled()
    dialog.ask_pin = lambda reason: ("Dr Who", "0000")
    dialog.buttons["instructor"].click()
    assert not dialog.unlocked
    assert dialog.messages[-1][0] == "Wrong PIN"
    assert dialog.model.rowCount() == 2
    dialog.ask_pin = lambda reason: None  # cancelled
    assert not dialog.ask_unlock()
    dialog.ask_pin = lambda reason: ("Dr Who", PIN)
    dialog.buttons["instructor"].click()
    assert dialog.unlocked
    assert dialog.model.rowCount() == 4
    assert dialog.trainee_combo.isEnabled()
    assert not dialog.buttons["instructor"].isEnabled()


def test_no_trainee_and_no_pin_shows_nothing(qtbot, store) -> None:
    dialog = _dialog(qtbot, store, trainee=None, unlocked=False)
    assert dialog.model.rowCount() == 0
    assert "PIN" in dialog.count_label.text()


def test_an_edited_row_is_marked_tampered_with_a_banner(qtbot, store) -> None:
    ben = store.ids["ben_knee"]
    raw = sqlite3.connect(store.path)
    raw.execute(
        "UPDATE attempts SET metrics_json = replace(metrics_json, '2.0', '0.5') WHERE id = ?",
        (ben,),
    )
    raw.commit()
    raw.close()
    dialog = _dialog(qtbot, store)
    dialog.show()
    dialog.view.sortByColumn(COLUMN_INDEX["id"], Qt.SortOrder.AscendingOrder)
    assert _column(dialog, "integrity") == ["ok", "ok", TAMPERED_TEXT, "ok"]
    row = [r.id for r in dialog.proxy.visible_rows()].index(ben)
    brush = dialog.proxy.index(row, COLUMN_INDEX["trainee"]).data(Qt.ItemDataRole.ForegroundRole)
    assert brush.color() == TAMPERED_COLOUR
    other = dialog.proxy.index(0, COLUMN_INDEX["trainee"]).data(Qt.ItemDataRole.ForegroundRole)
    assert other is None
    assert dialog.banner.isVisible()
    assert dialog.banner.text().startswith("⚠ 1 record fails the integrity check: attempt")
    assert f"attempt {ben}" in dialog.banner.text()
    tip = dialog.proxy.index(row, 0).data(Qt.ItemDataRole.ToolTipRole)
    assert "integrity" in tip
    dialog.search.setText("tampered")
    assert [r.id for r in dialog.proxy.visible_rows()] == [ben]
    # a trainee who is not concerned does not see another trainee's finding
    ana = _dialog(qtbot, store, trainee="Ana", unlocked=False)
    assert not ana.banner.isVisible() and ana.banner.text() == ""


def test_delete_with_the_pin_removes_the_row_and_keeps_the_chain_valid(qtbot, store) -> None:
    dialog = _dialog(qtbot, store)
    target = store.ids["ana_knee"]
    assert dialog.select_attempt(target)
    assert dialog.buttons["delete"].isEnabled()
    dialog.ask_delete = lambda row: ("Dr Who", "9999", "test run")
    assert not dialog.delete_selected()
    assert dialog.messages[-1][0] == "Wrong PIN"
    assert dialog.model.rowCount() == 4
    asked = []
    dialog.ask_delete = lambda row: asked.append(row.id) or ("Dr Who", PIN, "test run")
    dialog.buttons["delete"].click()
    assert asked == [target]
    assert dialog.model.rowCount() == 3
    assert target not in [r.id for r in dialog.model.rows]
    assert store.verify_chain() == []
    assert not dialog.banner.isVisible()


def test_export_csv_writes_the_filtered_rows(qtbot, store, tmp_path: Path) -> None:
    dialog = _dialog(qtbot, store)
    dialog.scene_combo.setCurrentText("knee_suprapatellar_recess")
    out = tmp_path / "out" / "class.csv"
    dialog.ask_save_path = lambda caption, suggested, name_filter: out
    dialog.buttons["csv"].click()
    with out.open(encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    assert [r["trainee"] for r in rows] == ["Ana", "Ben", "Cy"]
    assert float(rows[0]["tip_to_target_at_injection_mm"]) == 10.5
    assert rows[0]["passed"] == "false" and rows[1]["passed"] == "true" and rows[2]["passed"] == ""
    assert all(r["chain_ok"] == "true" for r in rows)
    assert math.isclose(float(rows[1]["duration_s"]), 35.0)


def test_report_buttons_write_through_the_reports_module(qtbot, store, tmp_path, monkeypatch):
    import simulator.reports as reports

    calls = []
    monkeypatch.setattr(
        reports,
        "write_attempt_report",
        lambda s, attempt_id, path: calls.append(("attempt", attempt_id, Path(path))),
    )
    monkeypatch.setattr(
        reports,
        "write_trainee_report",
        lambda s, trainee, path: calls.append(("trainee", trainee, Path(path))),
    )
    dialog = _dialog(qtbot, store)
    dialog.select_attempt(store.ids["ben_knee"])
    dialog.ask_save_path = lambda caption, suggested, name_filter: tmp_path / suggested
    dialog.buttons["report"].click()
    dialog.buttons["trainee_report"].click()
    dialog.wait_tasks()
    qtbot.waitUntil(lambda: len(dialog.messages) == 2, timeout=5000)
    assert calls == [
        ("attempt", store.ids["ben_knee"], tmp_path / f"attempt_{store.ids['ben_knee']}_Ben.pdf"),
        ("trainee", "Ben", tmp_path / "trainee_Ben.pdf"),
    ]
    # a failing report is reported, not raised
    monkeypatch.setattr(
        reports, "write_attempt_report", lambda *a: (_ for _ in ()).throw(OSError("disk full"))
    )
    dialog.buttons["report"].click()
    dialog.wait_tasks()
    qtbot.waitUntil(lambda: len(dialog.messages) == 3, timeout=5000)
    assert dialog.messages[-1][0] == "Attempt report failed"
    assert "disk full" in dialog.messages[-1][1]


def test_look_at_the_results_table(qtbot, store) -> None:
    raw = sqlite3.connect(store.path)
    raw.execute(
        "UPDATE attempts SET grade_json = replace(grade_json, 'false', 'true') WHERE id = ?",
        (store.ids["ana_knee"],),
    )
    raw.commit()
    raw.close()
    dialog = _dialog(qtbot, store)
    dialog.show()
    dialog.resize(1300, 420)
    qtbot.waitExposed(dialog)
    assert dialog.grab().save("/tmp/h7_results.png")
