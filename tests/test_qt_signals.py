"""Guards against a Qt binding that corrupts reference counts on signal delivery.

PySide6 6.12.0 decrements the reference count of a singleton (True, False or
None) every time a signal calls a plain Python slot; after a few thousand
frames the interpreter aborts with "deallocating True or False". The
application emits several signals per frame, so this would crash it within
minutes. pyproject.toml excludes that release; this test catches a future one.
"""

from __future__ import annotations

import sys

import pytest

pytest.importorskip("PySide6")
from PySide6.QtCore import QObject, Signal


class _Emitter(QObject):
    with_float = Signal(float)
    with_object = Signal(object)


def _slot(_value: object) -> None:
    return None


@pytest.mark.parametrize("signal, value", [("with_float", 1.5), ("with_object", None)])
def test_signal_delivery_keeps_singleton_refcounts(qapp, signal: str, value: object) -> None:
    emitter = _Emitter()
    bound = getattr(emitter, signal)
    bound.connect(_slot)
    before = [sys.getrefcount(x) for x in (None, True, False)]
    for _ in range(200):  # few enough not to abort the interpreter on a broken binding
        bound.emit(value)
    after = [sys.getrefcount(x) for x in (None, True, False)]
    drift = [a - b for a, b in zip(after, before, strict=True)]
    assert all(abs(d) < 50 for d in drift), f"refcount drift of (None, True, False): {drift}"
