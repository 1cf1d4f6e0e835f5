"""The attempt records store: round trip, crash safety, tamper evidence, PIN, migrations."""

from __future__ import annotations

import math
import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pytest

from simulator.records import (
    SCHEMA_VERSION,
    RecordStore,
    SchemaVersionError,
    default_db_path,
    migrate,
)
from simulator.records.people import check_pin, hash_pin

REPO = Path(__file__).resolve().parents[1]


def _finished_attempt(store: RecordStore, trainee: str = "Ana", scene: str = "knee") -> int:
    attempt_id = store.start_attempt(trainee, scene, "exam", {"gain_db": 3.0, "depth_mm": 40})
    store.add_samples(
        attempt_id,
        [
            {"t_s": 0.01 * i, "probe2world": np.eye(4) * (i + 1), "tip_mm": [0.0, 1.0, 2.0 * i]}
            for i in range(50)
        ],
    )
    store.add_events(attempt_id, [{"t_s": 0.2, "kind": "skin_puncture", "depth_mm": 0.0}])
    store.finish_attempt(
        attempt_id,
        {"tip_to_target_mm": 1.25, "passes": 2, "min_distance_mm": float("nan")},
        {"passed": True, "criteria": [{"metric": "passes", "value": 2, "max": 3, "met": True}]},
    )
    return attempt_id


def test_round_trip(tmp_path: Path) -> None:
    path = tmp_path / "sub" / "records.sqlite"
    with RecordStore(path) as store:
        attempt_id = _finished_attempt(store)
    assert path.is_file()
    with RecordStore(path) as store:
        record = store.attempt(attempt_id)
        assert (record.trainee, record.scene, record.mode, record.status) == (
            "Ana",
            "knee",
            "exam",
            "complete",
        )
        assert record.settings == {"gain_db": 3.0, "depth_mm": 40}
        assert record.metrics["tip_to_target_mm"] == 1.25
        assert math.isnan(record.metrics["min_distance_mm"])
        assert record.grade["criteria"][0]["value"] == 2
        assert record.ended_at >= record.started_at
        samples = store.samples(attempt_id)
        assert len(samples) == 50
        assert samples[7]["t_s"] == pytest.approx(0.07)
        np.testing.assert_array_equal(np.array(samples[7]["probe2world"]), np.eye(4) * 8)
        assert store.events(attempt_id) == [{"t_s": 0.2, "kind": "skin_puncture", "depth_mm": 0.0}]
        assert store.verify_chain() == []
        assert store.recovered == []
        mode = store._conn.execute("PRAGMA journal_mode").fetchone()[0]
        assert mode == "wal"


def test_queries_filter(tmp_path: Path) -> None:
    days = iter([datetime(2025, 3, d, 9, tzinfo=UTC) for d in (1, 2, 3)])
    with RecordStore(tmp_path / "r.sqlite") as store:
        a = store.start_attempt("Ana", "knee", "exam", started_at=next(days))
        b = store.start_attempt("Ben", "knee", "practice", started_at=next(days))
        c = store.start_attempt("Ana", "shoulder", "exam", started_at=next(days))
        store.finish_attempt(a, {"m": 1}, None)
        store.finish_attempt(c, {"m": 3}, None)
        assert [r.id for r in store.attempts(trainee="Ana")] == [a, c]
        assert [r.id for r in store.attempts(scene="knee")] == [a, b]
        assert [r.id for r in store.attempts(mode="practice")] == [b]
        assert [r.id for r in store.attempts(status="running")] == [b]
        assert [r.id for r in store.attempts(since="2025-03-02", until="2025-03-03")] == [b]
        assert [p.name for p in store.people("trainee")] == ["Ana", "Ben"]
        with pytest.raises(ValueError, match="mode 'final'"):
            store.start_attempt("Ana", "knee", "final")
        with pytest.raises(ValueError, match="missing 't_s'"):
            store.add_samples(b, [{"x": 1}])
        with pytest.raises(ValueError, match="not running"):
            store.add_samples(a, [{"t_s": 1}])


CHILD = textwrap.dedent(
    """
    import sys, time
    from simulator.records import RecordStore
    store = RecordStore(sys.argv[1], flush_interval_s=0.5)
    attempt_id = store.start_attempt("Kim", "knee", "exam", {"rate_hz": 100})
    print(attempt_id, flush=True)
    t0 = time.monotonic()
    while time.monotonic() - t0 < 3.0:
        store.add_samples(attempt_id, [{"t_s": time.monotonic() - t0, "wall_s": time.time()}])
        time.sleep(0.01)
    print("not killed", flush=True)
    """
)


def test_sigkill_mid_attempt_keeps_samples(tmp_path: Path) -> None:
    path = tmp_path / "records.sqlite"
    env = dict(os.environ, PYTHONPATH=str(REPO))
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD, str(path)],
        stdout=subprocess.PIPE,
        text=True,
        cwd=REPO,
        env=env,
    )
    try:
        attempt_id = int(child.stdout.readline())
        time.sleep(1.6)
        killed_wall_s = time.time()
        child.send_signal(signal.SIGKILL)
        child.wait(timeout=10)
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
    assert child.returncode == -signal.SIGKILL
    with RecordStore(path) as store:
        assert store.recovered == [attempt_id]
        record = store.attempt(attempt_id)
        assert record.status == "incomplete"
        samples = store.samples(attempt_id)
        assert len(samples) > 30
        last = samples[-1]
        assert killed_wall_s - last["wall_s"] <= 1.0, "more than the last second was lost"
        assert last["wall_s"] <= killed_wall_s
        ts = [s["t_s"] for s in samples]
        assert ts == sorted(ts)
        assert record.ended_at is not None
        assert store.verify_chain() == []  # the incomplete attempt is sealed too


def test_tampering_is_detected(tmp_path: Path) -> None:
    path = tmp_path / "r.sqlite"
    with RecordStore(path) as store:
        first = _finished_attempt(store)
        second = _finished_attempt(store, trainee="Ben")
        assert store.verify_chain() == []
    raw = sqlite3.connect(path)
    raw.execute(
        "UPDATE attempts SET metrics_json = ? WHERE id = ?", ('{"tip_to_target_mm":0.5}', first)
    )
    raw.execute(
        "UPDATE samples SET data_json = replace(data_json, '2.0', '2.5') "
        "WHERE attempt_id = ? AND seq = 1",
        (second,),
    )
    raw.commit()
    raw.close()
    with RecordStore(path) as store:
        problems = store.verify_chain()
    found = {(p.attempt_id, p.what) for p in problems}
    assert found == {
        (first, "metrics differs from the sealed record"),
        (second, "samples differs from the sealed record"),
    }
    assert str(problems[0]).startswith(f"attempt {first}: metrics")


def test_removed_row_and_chain_edit_detected(tmp_path: Path) -> None:
    path = tmp_path / "r.sqlite"
    with RecordStore(path) as store:
        first = _finished_attempt(store)
        second = _finished_attempt(store)
    raw = sqlite3.connect(path)
    raw.execute("DELETE FROM attempts WHERE id = ?", (first,))
    raw.execute("UPDATE chain SET content_json = replace(content_json, 'Ana', 'Eve') WHERE seq = 2")
    raw.commit()
    raw.close()
    with RecordStore(path) as store:
        whats = {(p.attempt_id, p.what.split(":")[0]) for p in store.verify_chain()}
    assert (first, "row missing (deleted without an instructor's tombstone)") in whats
    assert (second, "chain entry 2 (seal) was edited") in whats
    assert (second, "trainee differs from the sealed record") in whats


def test_pin_and_deletion(tmp_path: Path) -> None:
    path = tmp_path / "r.sqlite"
    with RecordStore(path) as store:
        store.add_instructor("Dr Lee", "4321")
        keep = _finished_attempt(store)
        doomed = _finished_attempt(store)
        stored = store._conn.execute("SELECT pin_hash FROM people WHERE role='instructor'")
        pin_hash = stored.fetchone()[0]
        assert "4321" not in pin_hash and pin_hash.startswith("scrypt$")
        assert store.verify_pin("Dr Lee", "4321")
        assert not store.verify_pin("Dr Lee", "1234")
        assert not store.verify_pin("Nobody", "4321")
        with pytest.raises(PermissionError, match="wrong PIN"):
            store.delete_attempt(doomed, "Dr Lee", "0000")
        assert store.attempt(doomed).status == "complete"
        store.delete_attempt(doomed, "Dr Lee", "4321", reason="test run")
        with pytest.raises(KeyError):
            store.attempt(doomed)
        assert store.samples(doomed) == []
        assert [r.id for r in store.attempts()] == [keep]
        assert store.verify_chain() == []
        tomb = store._conn.execute("SELECT kind, content_json FROM chain ORDER BY seq DESC")
        kind, content = tomb.fetchone()
        assert kind == "delete" and '"deleted_by":"Dr Lee"' in content
    # two salts: same PIN, different hashes, both check
    a, b = hash_pin("98765"), hash_pin("98765")
    assert a != b and check_pin("98765", a) and check_pin("98765", b)
    assert not check_pin("98764", a)


def test_migration_from_v1_keeps_data(tmp_path: Path) -> None:
    path = tmp_path / "old.sqlite"
    conn = sqlite3.connect(path, isolation_level=None)
    assert migrate(conn, path, target_version=1) == [1]
    conn.execute(
        "INSERT INTO people (id, name, role, created_at) VALUES (1, 'Old', 'trainee', '2024')"
    )
    conn.execute(
        "INSERT INTO attempts (id, trainee_id, scene, mode, settings_json, started_at, status) "
        "VALUES (7, 1, 'wrist', 'practice', '{}', '2024-05-01T10:00:00+00:00', 'running')"
    )
    conn.execute("INSERT INTO samples VALUES (7, 0, 0.5, '{\"t_s\":0.5}')")
    conn.close()
    with RecordStore(path) as store:
        assert store._conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION == 2
        assert store.recovered == [7]
        assert store.attempt(7).status == "incomplete"
        assert store.samples(7) == [{"t_s": 0.5}]
        assert store.verify_chain() == []


def test_newer_schema_refused(tmp_path: Path) -> None:
    path = tmp_path / "future.sqlite"
    conn = sqlite3.connect(path)
    conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 5}")
    conn.close()
    with pytest.raises(SchemaVersionError) as err:
        RecordStore(path)
    message = str(err.value)
    assert str(path) in message
    assert f"version {SCHEMA_VERSION + 5}" in message and f"version {SCHEMA_VERSION})" in message


def test_default_db_path(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("INJECTION_SIM_DB", str(tmp_path / "env.sqlite"))
    assert default_db_path() == tmp_path / "env.sqlite"
    monkeypatch.delenv("INJECTION_SIM_DB")
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    assert default_db_path() == tmp_path / "xdg" / "injection-simulator" / "records.sqlite"
    with RecordStore() as store:
        assert store.path == default_db_path()
    assert default_db_path().is_file()
