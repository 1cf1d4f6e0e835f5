"""The records database schema and its migrations.

The schema version is SQLite's ``PRAGMA user_version``. ``MIGRATIONS[i]``
takes a database from version ``i`` to version ``i + 1``; each step runs in
one transaction together with the version bump, so a step is applied entirely
or not at all. A file written by a newer program (a version above
``SCHEMA_VERSION``) is refused rather than guessed at.

Never edit a released step: append a new one.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

#: Version 1: people, attempts, trajectory samples and events.
_V1: tuple[str, ...] = (
    """
    CREATE TABLE people (
        id INTEGER PRIMARY KEY,
        name TEXT NOT NULL,
        role TEXT NOT NULL CHECK (role IN ('trainee', 'instructor')),
        pin_hash TEXT,
        created_at TEXT NOT NULL,
        UNIQUE (name, role)
    )
    """,
    """
    CREATE TABLE attempts (
        id INTEGER PRIMARY KEY,
        trainee_id INTEGER NOT NULL REFERENCES people (id),
        scene TEXT NOT NULL,
        mode TEXT NOT NULL CHECK (mode IN ('practice', 'exam', 'demo', 'quiz')),
        settings_json TEXT NOT NULL,
        started_at TEXT NOT NULL,
        ended_at TEXT,
        status TEXT NOT NULL CHECK (status IN ('running', 'complete', 'incomplete')),
        metrics_json TEXT,
        grade_json TEXT,
        writer_pid INTEGER,
        last_write_at TEXT
    )
    """,
    """
    CREATE TABLE samples (
        attempt_id INTEGER NOT NULL REFERENCES attempts (id),
        seq INTEGER NOT NULL,
        t_s REAL NOT NULL,
        data_json TEXT NOT NULL,
        PRIMARY KEY (attempt_id, seq)
    ) WITHOUT ROWID
    """,
    """
    CREATE TABLE events (
        attempt_id INTEGER NOT NULL REFERENCES attempts (id),
        seq INTEGER NOT NULL,
        t_s REAL NOT NULL,
        kind TEXT NOT NULL,
        data_json TEXT NOT NULL,
        PRIMARY KEY (attempt_id, seq)
    ) WITHOUT ROWID
    """,
)

#: Version 2: the tamper-evidence hash chain and query indexes.
_V2: tuple[str, ...] = (
    """
    CREATE TABLE chain (
        seq INTEGER PRIMARY KEY,
        attempt_id INTEGER NOT NULL,
        kind TEXT NOT NULL CHECK (kind IN ('seal', 'delete')),
        content_json TEXT NOT NULL,
        prev_hash TEXT NOT NULL,
        hash TEXT NOT NULL,
        created_at TEXT NOT NULL
    )
    """,
    "CREATE INDEX chain_attempt ON chain (attempt_id)",
    "CREATE INDEX attempts_started ON attempts (started_at)",
    "CREATE INDEX attempts_trainee ON attempts (trainee_id)",
)

#: Migration steps in order: ``MIGRATIONS[i]`` upgrades version ``i`` to ``i + 1``.
MIGRATIONS: tuple[tuple[str, ...], ...] = (_V1, _V2)
#: The schema version this program writes.
SCHEMA_VERSION: int = len(MIGRATIONS)


class SchemaVersionError(RuntimeError):
    """The database file was written by a newer program (or is not ours)."""


def schema_version(conn: sqlite3.Connection) -> int:
    """The file's schema version (``PRAGMA user_version``), 0 for a new file."""
    return int(conn.execute("PRAGMA user_version").fetchone()[0])


def migrate(
    conn: sqlite3.Connection, path: str | Path, target_version: int = SCHEMA_VERSION
) -> list[int]:
    """Bring the database up to ``target_version``, one transaction per step.

    Parameters
    ----------
    conn : sqlite3.Connection
        Open connection in autocommit mode (``isolation_level=None``), outside
        any transaction.
    path : str or Path
        The database file, for error messages only.
    target_version : int
        Version to reach; the default is the current one. Lower values exist
        for tests (build an old file).

    Returns
    -------
    list of int
        The versions reached, in order (empty when already up to date).

    Raises
    ------
    SchemaVersionError
        When the file's version is newer than ``SCHEMA_VERSION``.
    ValueError
        When ``target_version`` is outside 0..``SCHEMA_VERSION``.
    """
    if not 0 <= target_version <= SCHEMA_VERSION:
        raise ValueError(
            f"records schema target_version={target_version}: expected 0..{SCHEMA_VERSION}"
        )
    version = schema_version(conn)
    if version > SCHEMA_VERSION:
        raise SchemaVersionError(
            f"records database '{path}': schema version {version} is newer than this "
            f"program supports (version {SCHEMA_VERSION}); use a newer program or another "
            f"database file"
        )
    reached: list[int] = []
    while version < target_version:
        conn.execute("BEGIN IMMEDIATE")
        try:
            # another process may have migrated since we looked
            version = schema_version(conn)
            if version >= target_version:
                conn.execute("COMMIT")
                break
            for statement in MIGRATIONS[version]:
                conn.execute(statement)
            conn.execute(f"PRAGMA user_version = {version + 1}")
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        version += 1
        reached.append(version)
    return reached
