"""The attempt records store: one SQLite file of people, attempts and trajectories.

Samples and events are buffered in memory and committed at least every
``flush_interval_s`` (by the writer itself and by a background timer), in
WAL mode, so a crash or a SIGKILL loses at most the last interval. Opening
the store marks attempts left ``running`` by a dead process ``incomplete``
(and seals them in the hash chain, see :mod:`simulator.records.chain`).

Times of day are ISO-8601 UTC strings (``2025-01-31T14:03:07.123456+00:00``);
sample and event times ``t_s`` are the session clock, s.
"""

from __future__ import annotations

import json
import os
import sqlite3
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from simulator.records import chain
from simulator.records import people as _people
from simulator.records.people import Person
from simulator.records.schema import migrate

#: Environment variable naming the database file.
DB_ENV_VAR = "INJECTION_SIM_DB"
#: Attempt modes.
MODES: tuple[str, ...] = ("practice", "exam", "demo", "quiz")
#: Attempt statuses.
STATUSES: tuple[str, ...] = ("running", "complete", "incomplete")


def default_db_path() -> Path:
    """Where the records live unless a path is given.

    ``$INJECTION_SIM_DB`` if set, else
    ``($XDG_DATA_HOME or ~/.local/share)/injection-simulator/records.sqlite``.
    """
    env = os.environ.get(DB_ENV_VAR)
    if env:
        return Path(env).expanduser()
    data_home = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(data_home).expanduser() / "injection-simulator" / "records.sqlite"


def _utc_now() -> datetime:
    return datetime.now(UTC)


def _iso(value: datetime | str) -> str:
    """ISO-8601 UTC text of a datetime (naive ones are taken as UTC) or an ISO string."""
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).isoformat(timespec="microseconds")


#: (database file, attempt id) of attempts running in stores open in this process.
_LIVE_ATTEMPTS: set[tuple[str, int]] = set()


def _pid_alive(pid: int | None) -> bool:
    if pid is None:
        return False
    if pid == os.getpid():
        return True
    if os.name != "posix":
        return False  # os.kill(pid, 0) would terminate the process on Windows
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _as_dict(item: Any, what: str, index: int) -> dict[str, Any]:
    if hasattr(item, "to_dict"):
        item = item.to_dict()
    if not isinstance(item, Mapping):
        raise TypeError(f"{what} {index}: expected a dict (or an object with to_dict())")
    if "t_s" not in item:
        raise ValueError(f"{what} {index}: missing 't_s' (session time, s)")
    return dict(item)


@dataclass(frozen=True)
class AttemptRecord:
    """One attempt as stored (without its samples and events).

    Attributes
    ----------
    id : int
    trainee : str
    scene : str
    mode : str
        One of ``MODES``.
    settings : dict
    started_at, ended_at : str or None
        ISO-8601 UTC; ``ended_at`` is None while running.
    status : str
        One of ``STATUSES``.
    metrics, grade : dict or None
        None until the attempt is finished (and for incomplete ones).
    """

    id: int
    trainee: str
    scene: str
    mode: str
    settings: dict[str, Any]
    started_at: str
    ended_at: str | None
    status: str
    metrics: dict[str, Any] | None
    grade: dict[str, Any] | None


_ATTEMPT_COLUMNS = (
    "a.id, p.name, a.scene, a.mode, a.settings_json, a.started_at, a.ended_at, a.status, "
    "a.metrics_json, a.grade_json"
)


def _record(row: tuple) -> AttemptRecord:
    return AttemptRecord(
        id=row[0],
        trainee=row[1],
        scene=row[2],
        mode=row[3],
        settings=json.loads(row[4]),
        started_at=row[5],
        ended_at=row[6],
        status=row[7],
        metrics=json.loads(row[8]) if row[8] is not None else None,
        grade=json.loads(row[9]) if row[9] is not None else None,
    )


class RecordStore:
    """The records database.

    Parameters
    ----------
    path : str or Path, optional
        The SQLite file; :func:`default_db_path` when None. Parent folders are
        created.
    flush_interval_s : float
        Longest time buffered samples/events wait before being committed, s.
    clock : callable, optional
        Returns the current time as an aware datetime (tests pin it).
    recover : bool
        Mark attempts left running by dead processes incomplete on open
        (their ids are in :attr:`recovered`).

    Notes
    -----
    Thread-safe (one lock around the connection); the timer thread only flushes.
    Use as a context manager or call :meth:`close`.
    """

    def __init__(
        self,
        path: str | Path | None = None,
        *,
        flush_interval_s: float = 0.5,
        clock: Callable[[], datetime] = _utc_now,
        recover: bool = True,
    ) -> None:
        if flush_interval_s <= 0:
            raise ValueError(f"flush_interval_s={flush_interval_s}: expected > 0 s")
        self.path = Path(path) if path is not None else default_db_path()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._key = str(self.path.resolve())
        self.flush_interval_s = float(flush_interval_s)
        self._clock = clock
        self._lock = threading.RLock()
        self._conn = sqlite3.connect(
            self.path, isolation_level=None, check_same_thread=False, timeout=10.0
        )
        try:
            self._conn.execute("PRAGMA journal_mode = WAL")
            self._conn.execute("PRAGMA synchronous = NORMAL")
            self._conn.execute("PRAGMA foreign_keys = ON")
            migrate(self._conn, self.path)
        except Exception:
            self._conn.close()
            raise
        self._samples: dict[int, list[tuple[int, float, str]]] = {}
        self._events: dict[int, list[tuple[int, float, str, str]]] = {}
        self._next_seq: dict[int, list[int]] = {}  # attempt -> [next sample, next event]
        self._last_flush = time.monotonic()
        self._closed = False
        self.recovered: list[int] = self.recover() if recover else []
        self._stop = threading.Event()
        self._timer = threading.Thread(target=self._flush_loop, name="records-flush", daemon=True)
        self._timer.start()

    # -- plumbing -----------------------------------------------------------------

    def _now(self) -> str:
        return _iso(self._clock())

    def _write(self, fn: Callable[[sqlite3.Connection], Any]) -> Any:
        """Run ``fn(conn)`` in one IMMEDIATE transaction under the lock."""
        with self._lock:
            if self._closed:
                raise RuntimeError(f"records store '{self.path}' is closed")
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                result = fn(self._conn)
                self._conn.execute("COMMIT")
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise
            return result

    def _flush_loop(self) -> None:
        while not self._stop.wait(self.flush_interval_s / 2):
            try:
                if time.monotonic() - self._last_flush >= self.flush_interval_s / 2:
                    self.flush()
            except (sqlite3.Error, RuntimeError):
                pass  # retried on the next tick; the writer's own flush raises

    def flush(self) -> None:
        """Commit every buffered sample and event now."""
        with self._lock:
            if self._closed:
                return
            self._last_flush = time.monotonic()
            if not any(self._samples.values()) and not any(self._events.values()):
                return
            samples, events = self._samples, self._events
            self._samples, self._events = {}, {}
            now = self._now()

            def write(conn: sqlite3.Connection) -> None:
                for attempt_id, rows in samples.items():
                    conn.executemany(
                        "INSERT INTO samples (attempt_id, seq, t_s, data_json) VALUES (?, ?, ?, ?)",
                        [(attempt_id, *row) for row in rows],
                    )
                for attempt_id, rows in events.items():
                    conn.executemany(
                        "INSERT INTO events (attempt_id, seq, t_s, kind, data_json) "
                        "VALUES (?, ?, ?, ?, ?)",
                        [(attempt_id, *row) for row in rows],
                    )
                ids = set(samples) | set(events)
                conn.executemany(
                    "UPDATE attempts SET last_write_at = ? WHERE id = ?", [(now, i) for i in ids]
                )

            try:
                self._write(write)
            except BaseException:
                # put them back in front of anything added meanwhile
                for attempt_id, rows in samples.items():
                    self._samples[attempt_id] = rows + self._samples.get(attempt_id, [])
                for attempt_id, rows in events.items():
                    self._events[attempt_id] = rows + self._events.get(attempt_id, [])
                raise

    def _maybe_flush(self) -> None:
        if time.monotonic() - self._last_flush >= self.flush_interval_s:
            self.flush()

    def close(self) -> None:
        """Flush, stop the timer and close the file (attempts still running stay running)."""
        if self._closed:
            return
        self._stop.set()
        self._timer.join(timeout=5.0)
        with self._lock:
            self.flush()
            self._closed = True
            self._conn.close()
            for attempt_id in self._next_seq:
                _LIVE_ATTEMPTS.discard((self._key, attempt_id))

    def __enter__(self) -> RecordStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- people -------------------------------------------------------------------

    def add_trainee(self, name: str) -> Person:
        """Add a trainee (ValueError if the name is taken)."""
        return self._write(lambda c: _people.add_person(c, name, "trainee", None, self._now()))

    def add_instructor(self, name: str, pin: str) -> Person:
        """Add an instructor; only a salted hash of ``pin`` is stored."""
        return self._write(lambda c: _people.add_person(c, name, "instructor", pin, self._now()))

    def person(self, name: str, role: str) -> Person | None:
        """The trainee or instructor with this name, or None."""
        with self._lock:
            return _people.find_person(self._conn, name, role)

    def people(self, role: str | None = None) -> list[Person]:
        """Everyone, or everyone with ``role``."""
        with self._lock:
            return _people.list_people(self._conn, role)

    def verify_pin(self, instructor: str, pin: str) -> bool:
        """Whether ``pin`` is instructor ``instructor``'s PIN."""
        with self._lock:
            return _people.verify_instructor_pin(self._conn, instructor, pin)

    def change_pin(self, instructor: str, old_pin: str, new_pin: str) -> None:
        """Replace a PIN; PermissionError if ``old_pin`` is wrong."""
        if not self.verify_pin(instructor, old_pin):
            raise PermissionError(f"instructor {instructor!r}: wrong PIN")
        self._write(lambda c: _people.set_instructor_pin(c, instructor, new_pin))

    # -- attempts -----------------------------------------------------------------

    def start_attempt(
        self,
        trainee: str,
        scene: str,
        mode: str,
        settings: Mapping[str, Any] | None = None,
        *,
        started_at: datetime | str | None = None,
    ) -> int:
        """Open a running attempt; the trainee is added if new.

        Parameters
        ----------
        trainee : str
            Trainee name.
        scene : str
            Scene name.
        mode : str
            One of ``MODES``.
        settings : dict, optional
            Imaging and session settings (JSON-serialisable; NumPy allowed).
        started_at : datetime or str, optional
            Start time; now by default.

        Returns
        -------
        int
            The attempt id.
        """
        if mode not in MODES:
            raise ValueError(f"attempt mode {mode!r}: expected one of {', '.join(MODES)}")
        if not isinstance(scene, str) or not scene:
            raise ValueError(f"attempt scene {scene!r}: expected a scene name")
        settings_json = chain.canonical_json(dict(settings or {}))
        start = _iso(started_at) if started_at is not None else self._now()

        def write(conn: sqlite3.Connection) -> int:
            person = _people.find_person(conn, trainee, "trainee")
            if person is None:
                person = _people.add_person(conn, trainee, "trainee", None, self._now())
            cur = conn.execute(
                "INSERT INTO attempts (trainee_id, scene, mode, settings_json, started_at, "
                "status, writer_pid, last_write_at) VALUES (?, ?, ?, ?, ?, 'running', ?, ?)",
                (person.id, scene, mode, settings_json, start, os.getpid(), start),
            )
            return int(cur.lastrowid)

        attempt_id = self._write(write)
        with self._lock:
            self._next_seq[attempt_id] = [0, 0]
            _LIVE_ATTEMPTS.add((self._key, attempt_id))
        return attempt_id

    def _seqs(self, attempt_id: int) -> list[int]:
        try:
            return self._next_seq[attempt_id]
        except KeyError:
            raise ValueError(
                f"attempt {attempt_id}: not running in this store (start it with start_attempt)"
            ) from None

    def add_samples(self, attempt_id: int, samples: Iterable[Mapping[str, Any]]) -> None:
        """Buffer trajectory samples: one dict per sample with ``t_s`` (s) and any pose,
        needle or injection fields (JSON-serialisable; NumPy arrays allowed)."""
        with self._lock:
            seqs = self._seqs(attempt_id)
            buffer = self._samples.setdefault(attempt_id, [])
            for sample in samples:
                data = _as_dict(sample, f"attempt {attempt_id} sample", seqs[0])
                buffer.append((seqs[0], float(data["t_s"]), chain.canonical_json(data)))
                seqs[0] += 1
            self._maybe_flush()

    def add_events(self, attempt_id: int, events: Iterable[Any]) -> None:
        """Buffer events: dicts with ``t_s`` and ``kind`` (or objects with ``to_dict()``,
        e.g. ``NeedleEvent``)."""
        with self._lock:
            seqs = self._seqs(attempt_id)
            buffer = self._events.setdefault(attempt_id, [])
            for event in events:
                data = _as_dict(event, f"attempt {attempt_id} event", seqs[1])
                if "kind" not in data:
                    raise ValueError(f"attempt {attempt_id} event {seqs[1]}: missing 'kind'")
                row = (seqs[1], float(data["t_s"]), str(data["kind"]), chain.canonical_json(data))
                buffer.append(row)
                seqs[1] += 1
            self._maybe_flush()

    def finish_attempt(
        self,
        attempt_id: int,
        metrics: Mapping[str, Any],
        grade: Mapping[str, Any] | None,
        *,
        status: str = "complete",
        ended_at: datetime | str | None = None,
    ) -> None:
        """Store the metrics and grade, end the attempt and seal it in the hash chain.

        ``status`` is ``"complete"`` or ``"incomplete"`` (abandoned).
        """
        if status not in ("complete", "incomplete"):
            raise ValueError(f"finish status {status!r}: expected 'complete' or 'incomplete'")
        metrics_json = chain.canonical_json(dict(metrics))
        grade_json = chain.canonical_json(dict(grade)) if grade is not None else None
        with self._lock:
            self._seqs(attempt_id)
            self.flush()
            end = _iso(ended_at) if ended_at is not None else self._now()

            def write(conn: sqlite3.Connection) -> None:
                cur = conn.execute(
                    "UPDATE attempts SET ended_at = ?, status = ?, metrics_json = ?, "
                    "grade_json = ?, last_write_at = ? WHERE id = ? AND status = 'running'",
                    (end, status, metrics_json, grade_json, end, attempt_id),
                )
                if cur.rowcount != 1:
                    raise ValueError(f"attempt {attempt_id}: not running, cannot finish it")
                chain.seal_attempt(conn, attempt_id, end)

            self._write(write)
            del self._next_seq[attempt_id]
            _LIVE_ATTEMPTS.discard((self._key, attempt_id))

    def recover(self, *, force: bool = False) -> list[int]:
        """Mark attempts left running by dead processes incomplete and seal them.

        Parameters
        ----------
        force : bool
            Also take attempts whose writer process id looks alive (pid reuse
            after a reboot), except those running in this store.

        Returns
        -------
        list of int
            The attempts marked incomplete.
        """
        now = self._now()

        def write(conn: sqlite3.Connection) -> list[int]:
            rows = conn.execute(
                "SELECT id, writer_pid, last_write_at FROM attempts WHERE status = 'running'"
            ).fetchall()
            done = []
            for attempt_id, pid, last_write in rows:
                if (self._key, attempt_id) in _LIVE_ATTEMPTS:
                    continue  # running in a store open in this process
                if not force and pid != os.getpid() and _pid_alive(pid):
                    continue
                conn.execute(
                    "UPDATE attempts SET status = 'incomplete', ended_at = ? WHERE id = ?",
                    (last_write or now, attempt_id),
                )
                chain.seal_attempt(conn, attempt_id, now)
                done.append(attempt_id)
            return done

        with self._lock:
            return self._write(write)

    def delete_attempt(self, attempt_id: int, instructor: str, pin: str, reason: str = "") -> None:
        """Delete an attempt with its samples and events, leaving a tombstone in the chain.

        Raises
        ------
        PermissionError
            Wrong PIN or unknown instructor.
        ValueError
            Unknown or still running attempt.
        """
        if not self.verify_pin(instructor, pin):
            raise PermissionError(
                f"deleting attempt {attempt_id}: wrong PIN for instructor {instructor!r}"
            )
        now = self._now()

        def write(conn: sqlite3.Connection) -> None:
            row = conn.execute("SELECT status FROM attempts WHERE id = ?", (attempt_id,)).fetchone()
            if row is None:
                raise ValueError(f"attempt {attempt_id}: not found")
            if row[0] == "running":
                raise ValueError(f"attempt {attempt_id}: still running, finish it first")
            seal = conn.execute(
                "SELECT hash FROM chain WHERE attempt_id = ? AND kind = 'seal'", (attempt_id,)
            ).fetchone()
            for table in ("samples", "events"):
                conn.execute(f"DELETE FROM {table} WHERE attempt_id = ?", (attempt_id,))
            conn.execute("DELETE FROM attempts WHERE id = ?", (attempt_id,))
            tombstone = {
                "attempt_id": attempt_id,
                "deleted_by": instructor,
                "deleted_at": now,
                "reason": reason,
                "seal_hash": seal[0] if seal else None,
            }
            chain.append_entry(conn, attempt_id, "delete", tombstone, now)

        self._write(write)

    # -- queries ------------------------------------------------------------------

    def attempt(self, attempt_id: int) -> AttemptRecord:
        """One attempt (KeyError if unknown)."""
        with self._lock:
            row = self._conn.execute(
                f"SELECT {_ATTEMPT_COLUMNS} FROM attempts a JOIN people p "
                "ON p.id = a.trainee_id WHERE a.id = ?",
                (attempt_id,),
            ).fetchone()
        if row is None:
            raise KeyError(f"attempt {attempt_id}: not in records '{self.path}'")
        return _record(row)

    def attempts(
        self,
        *,
        trainee: str | None = None,
        scene: str | None = None,
        mode: str | None = None,
        status: str | None = None,
        since: datetime | str | None = None,
        until: datetime | str | None = None,
    ) -> list[AttemptRecord]:
        """Attempts matching every given filter, oldest first.

        ``since`` is inclusive and ``until`` exclusive, on ``started_at``.
        """
        where, args = [], []
        for column, value in (("p.name", trainee), ("a.scene", scene), ("a.mode", mode)):
            if value is not None:
                where.append(f"{column} = ?")
                args.append(value)
        if status is not None:
            if status not in STATUSES:
                raise ValueError(f"status {status!r}: expected one of {', '.join(STATUSES)}")
            where.append("a.status = ?")
            args.append(status)
        if since is not None:
            where.append("a.started_at >= ?")
            args.append(_iso(since))
        if until is not None:
            where.append("a.started_at < ?")
            args.append(_iso(until))
        sql = f"SELECT {_ATTEMPT_COLUMNS} FROM attempts a JOIN people p ON p.id = a.trainee_id"
        if where:
            sql += " WHERE " + " AND ".join(where)
        with self._lock:
            rows = self._conn.execute(sql + " ORDER BY a.started_at, a.id", args).fetchall()
        return [_record(row) for row in rows]

    def samples(self, attempt_id: int) -> list[dict[str, Any]]:
        """The committed trajectory samples of an attempt, in order (flush first for
        your own running attempt's latest ones)."""
        with self._lock:
            rows = self._conn.execute(
                "SELECT data_json FROM samples WHERE attempt_id = ? ORDER BY seq", (attempt_id,)
            ).fetchall()
        return [json.loads(r[0]) for r in rows]

    def events(self, attempt_id: int) -> list[dict[str, Any]]:
        """The committed events of an attempt, in order."""
        with self._lock:
            rows = self._conn.execute(
                "SELECT data_json FROM events WHERE attempt_id = ? ORDER BY seq", (attempt_id,)
            ).fetchall()
        return [json.loads(r[0]) for r in rows]

    def verify_chain(self) -> list[chain.ChainProblem]:
        """Tamper check of every finished and deleted attempt (empty list: intact)."""
        self.flush()
        with self._lock:
            return chain.verify_chain(self._conn)
