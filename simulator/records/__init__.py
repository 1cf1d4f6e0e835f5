"""Attempt records: a versioned SQLite store of people, attempts, trajectories and
events, with an instructor PIN and a tamper-evident hash chain.

Typical use::

    with RecordStore() as store:                  # default_db_path()
        attempt_id = store.start_attempt("Ana", "knee_suprapatellar", "exam", settings)
        store.add_samples(attempt_id, [{"t_s": 0.01, "probe2world": ..., ...}])
        store.add_events(attempt_id, session.events)
        store.finish_attempt(attempt_id, metrics, grade)
        problems = store.verify_chain()
"""

from simulator.records.chain import ChainProblem, canonical_json
from simulator.records.people import Person, check_pin, hash_pin
from simulator.records.schema import MIGRATIONS, SCHEMA_VERSION, SchemaVersionError, migrate
from simulator.records.store import (
    DB_ENV_VAR,
    MODES,
    STATUSES,
    AttemptRecord,
    RecordStore,
    default_db_path,
)

__all__ = [
    "DB_ENV_VAR",
    "MIGRATIONS",
    "MODES",
    "SCHEMA_VERSION",
    "STATUSES",
    "AttemptRecord",
    "ChainProblem",
    "Person",
    "RecordStore",
    "SchemaVersionError",
    "canonical_json",
    "check_pin",
    "default_db_path",
    "hash_pin",
    "migrate",
]
