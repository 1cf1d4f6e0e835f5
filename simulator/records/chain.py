"""Tamper evidence: a hash chain over finished and deleted attempts.

When an attempt ends (complete, or found incomplete after a crash) its
immutable content -- trainee, scene, mode, settings, times, status, metrics,
grade and a digest of its samples and events -- is written as canonical JSON
to the ``chain`` table with ``hash = sha256(prev_hash + content_json)``. A
deletion appends a ``delete`` entry (a tombstone naming the instructor), so
the chain still verifies after the attempt's rows are gone.

:func:`verify_chain` recomputes every link and every live attempt's content
and names what differs: an ``UPDATE attempts SET metrics_json = ...``, an
edited sample, a removed row, an edited or removed chain entry. A rewrite of
the whole chain from the edited row onwards is not detectable from the file
alone (export the head hash to detect that).
"""

from __future__ import annotations

import hashlib
import json
import math
import sqlite3
from dataclasses import dataclass
from typing import Any

#: ``prev_hash`` of the first chain entry.
GENESIS_HASH = "0" * 64


def _plain(value: Any) -> Any:
    """JSON ``default`` hook: NumPy arrays and scalars, tuples, sets."""
    if hasattr(value, "tolist"):
        return value.tolist()
    if isinstance(value, set | frozenset):
        return sorted(value)
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


def canonical_json(value: Any) -> str:
    """Deterministic JSON text: sorted keys, no spaces, NumPy converted.

    NaN and infinities are kept (as Python's JSON writes them) so metrics
    without a value round-trip.
    """
    return json.dumps(
        value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=_plain
    )


def _rows_digest(rows: list[tuple[int, float, str]]) -> str:
    h = hashlib.sha256()
    for seq, t_s, data_json in rows:
        h.update(f"{seq}\x1f{float(t_s)!r}\x1f{data_json}\n".encode())
    return h.hexdigest()


def attempt_content(conn: sqlite3.Connection, attempt_id: int) -> dict[str, Any] | None:
    """The immutable content of an attempt as stored now, or None if the row is gone.

    Returns
    -------
    dict or None
        Keys ``attempt_id, trainee, scene, mode, settings, started_at,
        ended_at, status, metrics, grade, n_samples, samples_sha256,
        n_events, events_sha256``.
    """
    row = conn.execute(
        "SELECT a.id, p.name, a.scene, a.mode, a.settings_json, a.started_at, a.ended_at, "
        "a.status, a.metrics_json, a.grade_json "
        "FROM attempts a LEFT JOIN people p ON p.id = a.trainee_id WHERE a.id = ?",
        (attempt_id,),
    ).fetchone()
    if row is None:
        return None
    samples = conn.execute(
        "SELECT seq, t_s, data_json FROM samples WHERE attempt_id = ? ORDER BY seq", (attempt_id,)
    ).fetchall()
    events = conn.execute(
        "SELECT seq, t_s, data_json FROM events WHERE attempt_id = ? ORDER BY seq", (attempt_id,)
    ).fetchall()
    return {
        "attempt_id": row[0],
        "trainee": row[1],
        "scene": row[2],
        "mode": row[3],
        "settings": row[4],
        "started_at": row[5],
        "ended_at": row[6],
        "status": row[7],
        "metrics": row[8],
        "grade": row[9],
        "n_samples": len(samples),
        "samples_sha256": _rows_digest(samples),
        "n_events": len(events),
        "events_sha256": _rows_digest(events),
    }


def _link_hash(prev_hash: str, content_json: str) -> str:
    return hashlib.sha256((prev_hash + content_json).encode("utf-8")).hexdigest()


def head_hash(conn: sqlite3.Connection) -> str:
    """Hash of the last chain entry (``GENESIS_HASH`` for an empty chain)."""
    row = conn.execute("SELECT hash FROM chain ORDER BY seq DESC LIMIT 1").fetchone()
    return row[0] if row else GENESIS_HASH


def append_entry(
    conn: sqlite3.Connection, attempt_id: int, kind: str, content: dict[str, Any], now: str
) -> str:
    """Append a ``seal`` or ``delete`` entry (inside the caller's transaction); its hash."""
    content_json = canonical_json(content)
    prev = head_hash(conn)
    digest = _link_hash(prev, content_json)
    conn.execute(
        "INSERT INTO chain (attempt_id, kind, content_json, prev_hash, hash, created_at) "
        "VALUES (?, ?, ?, ?, ?, ?)",
        (attempt_id, kind, content_json, prev, digest, now),
    )
    return digest


def seal_attempt(conn: sqlite3.Connection, attempt_id: int, now: str) -> str:
    """Chain a finished attempt's content as stored now; the new head hash."""
    content = attempt_content(conn, attempt_id)
    if content is None:
        raise ValueError(f"attempt {attempt_id}: not found, cannot seal it")
    return append_entry(conn, attempt_id, "seal", content, now)


@dataclass(frozen=True)
class ChainProblem:
    """One inconsistency found by :func:`verify_chain`.

    Attributes
    ----------
    attempt_id : int or None
        The attempt concerned (None for a problem of the chain itself).
    what : str
        What differs, in words (``"metrics differs from the sealed record"``).
    """

    attempt_id: int | None
    what: str

    def __str__(self) -> str:
        who = f"attempt {self.attempt_id}" if self.attempt_id is not None else "chain"
        return f"{who}: {self.what}"


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
        return True
    return a == b


def verify_chain(conn: sqlite3.Connection) -> list[ChainProblem]:
    """Check every chain link and every sealed attempt against its stored rows.

    Returns
    -------
    list of ChainProblem
        Empty when the records are intact.
    """
    problems: list[ChainProblem] = []
    prev = GENESIS_HASH
    sealed: dict[int, dict[str, Any]] = {}
    deleted: set[int] = set()
    rows = conn.execute(
        "SELECT seq, attempt_id, kind, content_json, prev_hash, hash FROM chain ORDER BY seq"
    )
    for seq, attempt_id, kind, content_json, prev_hash, digest in rows:
        if prev_hash != prev:
            problems.append(
                ChainProblem(
                    attempt_id,
                    f"chain entry {seq} does not follow the previous entry "
                    "(an entry was removed, inserted or reordered)",
                )
            )
        if _link_hash(prev_hash, content_json) != digest:
            problems.append(
                ChainProblem(attempt_id, f"chain entry {seq} ({kind}) was edited: hash mismatch")
            )
        prev = digest
        try:
            content = json.loads(content_json)
        except ValueError:
            problems.append(ChainProblem(attempt_id, f"chain entry {seq} is not valid JSON"))
            continue
        if kind == "seal":
            if attempt_id in sealed:
                problems.append(ChainProblem(attempt_id, f"sealed twice (chain entry {seq})"))
            sealed[attempt_id] = content
        else:
            deleted.add(attempt_id)

    for attempt_id, sealed_content in sealed.items():
        current = attempt_content(conn, attempt_id)
        if attempt_id in deleted:
            if current is not None:
                problems.append(
                    ChainProblem(attempt_id, "marked deleted in the chain but its row is present")
                )
            continue
        if current is None:
            problems.append(
                ChainProblem(attempt_id, "row missing (deleted without an instructor's tombstone)")
            )
            continue
        for key in sorted(set(sealed_content) | set(current)):
            if not _same(sealed_content.get(key), current.get(key)):
                field = key.removesuffix("_sha256")
                problems.append(ChainProblem(attempt_id, f"{field} differs from the sealed record"))

    finished = conn.execute(
        "SELECT id FROM attempts WHERE status != 'running' ORDER BY id"
    ).fetchall()
    for (attempt_id,) in finished:
        if attempt_id not in sealed:
            problems.append(
                ChainProblem(
                    attempt_id, "finished but not in the chain (row inserted or seal removed)"
                )
            )
    return problems
