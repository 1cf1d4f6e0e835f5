"""Trainees and instructors, and the instructor PIN (stored only as a salted hash).

A PIN is hashed with scrypt and a random per-person salt; the stored text is
``scrypt$n$r$p$<salt hex>$<hash hex>`` so the parameters can be raised later
without breaking old entries. Comparison is constant-time.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import sqlite3
from dataclasses import dataclass

#: The roles a person may have.
ROLES: tuple[str, ...] = ("trainee", "instructor")
#: Shortest PIN accepted, characters.
MIN_PIN_CHARS = 4
#: scrypt cost parameters (about 16 MiB and a few tens of ms per hash).
_SCRYPT_N, _SCRYPT_R, _SCRYPT_P = 2**14, 8, 1
_SALT_BYTES = 16
_HASH_BYTES = 32


@dataclass(frozen=True)
class Person:
    """A trainee or an instructor.

    Attributes
    ----------
    id : int
        Database id.
    name : str
        Display name, unique per role.
    role : str
        ``"trainee"`` or ``"instructor"``.
    created_at : str
        ISO-8601 UTC time the person was added.
    """

    id: int
    name: str
    role: str
    created_at: str


def hash_pin(pin: str, salt: bytes | None = None) -> str:
    """Salted scrypt hash of a PIN, as stored in the database.

    Parameters
    ----------
    pin : str
        The PIN, at least ``MIN_PIN_CHARS`` characters.
    salt : bytes, optional
        Salt to use; a fresh random one (16 bytes) by default.

    Returns
    -------
    str
        ``scrypt$n$r$p$<salt hex>$<hash hex>``.
    """
    if not isinstance(pin, str) or len(pin) < MIN_PIN_CHARS:
        raise ValueError(f"instructor PIN: expected at least {MIN_PIN_CHARS} characters")
    salt = os.urandom(_SALT_BYTES) if salt is None else salt
    digest = hashlib.scrypt(
        pin.encode("utf-8"), salt=salt, n=_SCRYPT_N, r=_SCRYPT_R, p=_SCRYPT_P, dklen=_HASH_BYTES
    )
    return f"scrypt${_SCRYPT_N}${_SCRYPT_R}${_SCRYPT_P}${salt.hex()}${digest.hex()}"


def check_pin(pin: str, stored: str) -> bool:
    """Whether ``pin`` matches a hash made by :func:`hash_pin` (constant-time compare)."""
    try:
        scheme, n, r, p, salt_hex, hash_hex = stored.split("$")
        if scheme != "scrypt":
            return False
        expected = bytes.fromhex(hash_hex)
        digest = hashlib.scrypt(
            str(pin).encode("utf-8"),
            salt=bytes.fromhex(salt_hex),
            n=int(n),
            r=int(r),
            p=int(p),
            dklen=len(expected),
        )
    except (ValueError, AttributeError):
        return False
    return hmac.compare_digest(digest, expected)


def _check_name(name: str, role: str) -> str:
    if role not in ROLES:
        raise ValueError(f"person role {role!r}: expected one of {', '.join(ROLES)}")
    if not isinstance(name, str) or not name.strip():
        raise ValueError(f"{role} name {name!r}: expected a non-empty name")
    return name.strip()


def add_person(conn: sqlite3.Connection, name: str, role: str, pin: str | None, now: str) -> Person:
    """Insert a person (the caller owns the transaction).

    Raises
    ------
    ValueError
        Unknown role, empty name, a name already used for that role, an
        instructor without a PIN or a trainee with one.
    """
    name = _check_name(name, role)
    if role == "instructor" and pin is None:
        raise ValueError(f"instructor {name!r}: a PIN is required")
    if role == "trainee" and pin is not None:
        raise ValueError(f"trainee {name!r}: trainees have no PIN")
    pin_hash = hash_pin(pin) if pin is not None else None
    try:
        cur = conn.execute(
            "INSERT INTO people (name, role, pin_hash, created_at) VALUES (?, ?, ?, ?)",
            (name, role, pin_hash, now),
        )
    except sqlite3.IntegrityError:
        raise ValueError(f"{role} {name!r} already exists") from None
    return Person(int(cur.lastrowid), name, role, now)


def find_person(conn: sqlite3.Connection, name: str, role: str) -> Person | None:
    """The person with this name and role, or None."""
    name = _check_name(name, role)
    row = conn.execute(
        "SELECT id, name, role, created_at FROM people WHERE name = ? AND role = ?",
        (name, role),
    ).fetchone()
    return Person(*row) if row else None


def list_people(conn: sqlite3.Connection, role: str | None = None) -> list[Person]:
    """Everyone (or everyone with ``role``), by name."""
    if role is None:
        rows = conn.execute("SELECT id, name, role, created_at FROM people ORDER BY name, role")
    else:
        _check_name("x", role)
        rows = conn.execute(
            "SELECT id, name, role, created_at FROM people WHERE role = ? ORDER BY name", (role,)
        )
    return [Person(*row) for row in rows]


def verify_instructor_pin(conn: sqlite3.Connection, instructor: str, pin: str) -> bool:
    """Whether ``pin`` is the PIN of instructor ``instructor`` (False if unknown)."""
    row = conn.execute(
        "SELECT pin_hash FROM people WHERE name = ? AND role = 'instructor'",
        (_check_name(instructor, "instructor"),),
    ).fetchone()
    if row is None or row[0] is None:
        # spend the same time as a real check so names cannot be probed by timing
        check_pin(str(pin), hash_pin("dummy-pin", salt=b"\0" * _SALT_BYTES))
        return False
    return check_pin(str(pin), row[0])


def set_instructor_pin(conn: sqlite3.Connection, instructor: str, new_pin: str) -> None:
    """Replace an instructor's PIN hash (the caller checked the old PIN)."""
    cur = conn.execute(
        "UPDATE people SET pin_hash = ? WHERE name = ? AND role = 'instructor'",
        (hash_pin(new_pin), _check_name(instructor, "instructor")),
    )
    if cur.rowcount != 1:
        raise ValueError(f"instructor {instructor!r} not found")
