"""ProcedurePanel: the scene picker and the teaching text (pytest-qt)."""

from __future__ import annotations

import html
import time
import tomllib
from pathlib import Path

import pytest

pytest.importorskip("pytestqt")
from PySide6.QtCore import Qt

from scenes import list_scene_files, load_scene_spec
from simulator.gui.procedure_panel import FAMILY_TITLES, OTHER_TITLE, ProcedurePanel

CARPAL = next(p for p in list_scene_files() if p.stem == "carpal_tunnel_median")


def _families() -> dict[Path, str | None]:
    out = {}
    for p in list_scene_files():
        proc = tomllib.loads(p.read_text(encoding="utf-8")).get("procedure")
        out[p.resolve()] = proc["family"] if proc else None
    return out


@pytest.fixture
def panel(qtbot) -> ProcedurePanel:
    start = time.perf_counter()
    widget = ProcedurePanel(validate="off")
    elapsed = time.perf_counter() - start
    assert elapsed < 0.5, f"listing the library took {elapsed:.2f} s"
    widget.resize(520, 800)
    qtbot.addWidget(widget)
    widget.show()
    qtbot.waitExposed(widget)
    return widget


def _group_children(panel: ProcedurePanel) -> dict[str, list[Path]]:
    out = {}
    for g in range(panel.tree.topLevelItemCount()):
        group = panel.tree.topLevelItem(g)
        title = group.text(0).split("  (")[0]
        out[title] = [
            Path(group.child(i).data(0, Qt.ItemDataRole.UserRole))
            for i in range(group.childCount())
        ]
    return out


def test_lists_the_17_procedures_grouped_by_family(panel: ProcedurePanel) -> None:
    families = _families()
    groups = _group_children(panel)
    assert list(groups) == [*FAMILY_TITLES.values(), OTHER_TITLE]
    procedures = [p for title in FAMILY_TITLES.values() for p in groups[title]]
    assert len(procedures) == 17
    for key, title in FAMILY_TITLES.items():
        assert sorted(groups[title]) == sorted(p for p, f in families.items() if f == key)
    assert sorted(groups[OTHER_TITLE]) == sorted(p for p, f in families.items() if f is None)
    item = panel.item_of(CARPAL)
    assert item.text(0) == "Carpal tunnel: median nerve hydrodissection"
    assert item.text(1) == "Wrist"
    nerves = panel.tree.topLevelItem(2)
    assert nerves.text(0) == f"Nerves  ({len(groups['Nerves'])})"


def test_filter_narrows_the_tree(panel: ProcedurePanel) -> None:
    total = len(panel.scene_paths())
    panel.filter_edit.setText("median")
    assert panel.scene_paths(visible_only=True) == [CARPAL.resolve()]
    assert panel.tree.topLevelItem(0).isHidden()  # no joint matches
    panel.filter_edit.setText("nerve")
    shown = panel.scene_paths(visible_only=True)
    assert CARPAL.resolve() in shown and 5 <= len(shown) < total
    assert not any("knee_suprapatellar" in p.stem for p in shown)
    panel.filter_edit.setText("shoulder tendon")  # every word must match
    assert {p.stem for p in panel.scene_paths(visible_only=True)} == {
        "subacromial_bursa",
        "supraspinatus_tendon",
    }
    panel.filter_edit.clear()
    assert len(panel.scene_paths(visible_only=True)) == total


def test_double_click_enter_and_open_emit_scene_chosen(qtbot, panel: ProcedurePanel) -> None:
    item = panel.item_of(CARPAL)
    panel.tree.scrollToItem(item)
    rect = panel.tree.visualItemRect(item)
    with qtbot.assertNotEmitted(panel.scene_chosen):  # a single click only selects
        qtbot.mouseClick(panel.tree.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    assert panel.tree.currentItem() is item
    with qtbot.waitSignal(panel.scene_chosen, timeout=2000) as blocker:
        qtbot.mouseDClick(panel.tree.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    assert blocker.args == [str(CARPAL.resolve())]
    panel.tree.setCurrentItem(item)
    with qtbot.waitSignal(panel.scene_chosen, timeout=2000) as blocker:
        qtbot.keyClick(panel.tree, Qt.Key.Key_Return)
    assert blocker.args == [str(CARPAL.resolve())]
    assert panel.open_button.isEnabled()
    with qtbot.waitSignal(panel.scene_chosen, timeout=2000) as blocker:
        qtbot.mouseClick(panel.open_button, Qt.MouseButton.LeftButton)
    assert blocker.args == [str(CARPAL.resolve())]


def test_select_scene_highlights_without_emitting(qtbot, panel: ProcedurePanel) -> None:
    with qtbot.assertNotEmitted(panel.scene_chosen):
        panel.select_scene(CARPAL)
    assert panel.tree.currentItem() is panel.item_of(CARPAL)
    assert panel.item_of(CARPAL).isSelected()


def test_teaching_text_of_carpal_tunnel(panel: ProcedurePanel) -> None:
    spec = load_scene_spec(CARPAL)
    panel.show_scene(spec)
    text = panel.teaching_html()
    p = spec.procedure
    assert html.escape(p.target_text) in text
    assert html.escape(p.target.success.strip()) in text
    for step in p.teaching.steps:
        assert html.escape(step) in text
    for pitfall in p.teaching.pitfalls:
        assert html.escape(pitfall) in text
    assert text.count("<li>") >= len(p.teaching.steps) + len(p.teaching.pitfalls)
    for heading in (
        "Goal",
        "Approach and needle",
        "Sono-anatomy",
        "Steps",
        "Pitfalls",
        "Structures to avoid",
        "Sources",
    ):
        assert f"<h2>{heading}</h2>" in text
    assert "25 G, 38 mm" in text and "In-plane" in text
    assert "ulnar artery lumen" in text and "arterial puncture" in text
    assert "Median nerve, median nerve fascicles" in text and "intraneural injection" in text
    # what the physician sees
    shown = panel.text.toPlainText()
    assert p.teaching.steps[0] in shown and "Structures to avoid" in shown
    assert panel.tree.currentItem() is panel.item_of(CARPAL)


def test_teaching_text_of_a_demonstration_scene(panel: ProcedurePanel) -> None:
    spec = load_scene_spec(next(p for p in list_scene_files() if p.stem == "phantom_cyst"))
    panel.show_scene(spec)
    text = panel.teaching_html()
    assert html.escape(spec.title) in text and "Steps" not in text
    assert html.escape(spec.description.strip()[:40]) in text


def test_invalid_scene_files_are_greyed_with_the_error(qtbot, tmp_path: Path) -> None:
    bad_toml = tmp_path / "bad_syntax.toml"
    bad_toml.write_text("[scene\nname = 1\n", encoding="utf-8")
    bad_mesh = tmp_path / "bad_mesh.toml"
    bad_mesh.write_text(
        CARPAL.read_text(encoding="utf-8").replace(
            "carpal_tunnel_median/skin.vtp", "carpal_tunnel_median/no_such_skin.vtp"
        ),
        encoding="utf-8",
    )
    good = load_scene_spec(CARPAL).path
    panel = ProcedurePanel(scene_files=[good, bad_mesh])  # validates in the background
    qtbot.addWidget(panel)
    assert panel.wait_validated(30_000)
    item = panel.item_of(bad_mesh)
    assert not item.flags() & Qt.ItemFlag.ItemIsEnabled
    assert "bad_mesh.toml" in item.toolTip(0) and "no_such_skin" in item.toolTip(0)
    assert panel.item_of(good).flags() & Qt.ItemFlag.ItemIsEnabled
    assert panel.entry(good).validated and panel.entry(good).error is None
    panel.add_scene_file(bad_toml)
    item = panel.item_of(bad_toml)
    assert not item.flags() & Qt.ItemFlag.ItemIsEnabled
    assert "bad_syntax.toml" in item.toolTip(0) and "TOML" in item.toolTip(0)
    assert bad_toml.resolve() in panel.scene_paths()
