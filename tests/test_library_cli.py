"""``main.py scenes``, ``main.py check-scene`` and ``main.py gallery`` as a user runs them."""

from __future__ import annotations

import json

import numpy as np
import pytest
from PIL import Image

from scenes.cache import SCENES_DIR
from simulator.app.cli import main

CARPAL = SCENES_DIR / "procedures" / "carpal_tunnel_median.toml"


@pytest.fixture(autouse=True)
def _cache(tmp_cache_dir):
    return tmp_cache_dir


def test_scenes_json_lists_every_procedure_with_its_keys(capsys):
    assert main(["scenes", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    names = {p.stem for p in (SCENES_DIR / "procedures").glob("*.toml")}
    assert {r["name"] for r in rows} == names
    for r in rows:
        assert set(r) == {"name", "family", "region", "target"}
        assert (
            r["family"] in ("joint", "bursa_tendon", "perineural") and r["region"] and r["target"]
        )
    carpal = next(r for r in rows if r["name"] == "carpal_tunnel_median")
    assert (carpal["family"], carpal["region"]) == ("perineural", "wrist")


def test_scenes_table_and_all(capsys):
    assert main(["scenes"]) == 0
    out = capsys.readouterr().out
    assert out.splitlines()[0].split() == ["name", "family", "region", "target"]
    assert "carpal_tunnel_median" in out and "phantom_cyst" not in out
    assert main(["scenes", "--all"]) == 0
    assert "phantom_cyst" in capsys.readouterr().out


def test_check_scene_passes_a_library_scene(capsys):
    assert main(["check-scene", str(CARPAL)]) == 0
    out = capsys.readouterr().out
    assert "valid" in out and "checks passed" in out
    assert "median_nerve" in out and "avoid (intraneural)" in out


def test_check_scene_reports_a_broken_file_with_file_and_field(tmp_path, capsys):
    bad = tmp_path / "bad.toml"
    bad.write_text(CARPAL.read_text().replace('tissue = "ligament"', 'tissue = "ligamnet"'))
    assert main(["check-scene", str(bad)]) == 2
    err = capsys.readouterr().err
    assert str(bad) in err and "'transverse_carpal_ligament'" in err
    assert "unknown tissue 'ligamnet'" in err and "did you mean 'ligament'" in err


def test_check_scene_reports_a_failed_check_with_status_1(tmp_path, capsys):
    bad = tmp_path / "deep.toml"
    bad.write_text(CARPAL.read_text().replace("depth_mm = 5.2", "depth_mm = 9.0", 1))
    assert main(["check-scene", str(bad)]) == 1
    out = capsys.readouterr().out
    assert "check failed: labels[0]: 'median_nerve' is stated at depth 9.0 mm" in out


def test_check_scene_on_an_anatomy_only_scene(capsys):
    assert main(["check-scene", str(SCENES_DIR / "demo_msk.toml")]) == 0
    assert "no [procedure] section" in capsys.readouterr().out


def test_gallery_writes_labelled_pictures_and_an_index(tmp_path, capsys):
    out = tmp_path / "gallery"
    assert main(["gallery", "--out", str(out), "--scene", "carpal_tunnel_median"]) == 0
    picture = np.asarray(Image.open(out / "carpal_tunnel_median.png").convert("RGB")).astype(int)
    assert picture.shape[1] > 900
    # the labels are drawn in the structures' colours: the median nerve's yellow is there
    yellow = (picture[..., 0] > 200) & (picture[..., 1] > 150) & (picture[..., 2] < 90)
    assert yellow.sum() > 100
    index = (out / "index.html").read_text()
    assert "carpal_tunnel_median.png" in index and "Carpal tunnel" in index


def test_gallery_rejects_an_unknown_scene(tmp_path, capsys):
    assert main(["gallery", "--out", str(tmp_path), "--scene", "no_such"]) == 2
    assert "unknown procedure scene(s) no_such" in capsys.readouterr().err


def test_check_scene_names_an_unknown_expected_contact(tmp_path, capsys):
    genicular = CARPAL.parent / "genicular_nerves.toml"
    bad = tmp_path / "bad.toml"
    bad.write_text(genicular.read_text().replace('"medial_condyle"]', '"medial_condyel"]'))
    assert main(["check-scene", str(bad)]) == 2
    err = capsys.readouterr().err
    assert str(bad) in err and "[target] expected_contacts" in err
    assert "'medial_condyel'" in err and "did you mean 'medial_condyle'" in err


def test_procedure_time_limit_is_read_and_checked(tmp_path, capsys):
    from scenes import load_scene
    from simulator.gui.main_window import DEFAULT_EXAM_LIMIT_S, _time_limit_s

    text = CARPAL.read_text()
    assert "time_limit_s" not in text
    assert _time_limit_s(load_scene(CARPAL, cache_dir=tmp_path / "c").spec) == DEFAULT_EXAM_LIMIT_S
    timed = tmp_path / "timed.toml"
    timed.write_text(text.replace("[procedure]\n", "[procedure]\ntime_limit_s = 900.0\n", 1))
    spec = load_scene(timed, cache_dir=tmp_path / "c").spec
    assert spec.procedure.time_limit_s == 900.0 and _time_limit_s(spec) == 900.0
    bad = tmp_path / "rushed.toml"
    bad.write_text(text.replace("[procedure]\n", "[procedure]\ntime_limit_s = 5\n", 1))
    assert main(["check-scene", str(bad)]) == 2
    err = capsys.readouterr().err
    assert str(bad) in err and "[procedure] time_limit_s" in err and "30" in err
