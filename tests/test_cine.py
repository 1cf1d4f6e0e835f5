"""The cine memory: bounded, ordered, with a clamped review cursor."""

from __future__ import annotations

import pytest

from simulator.cine import DEFAULT_CAPACITY, CineBuffer


def test_capacity_bounds_memory_and_keeps_newest_in_order() -> None:
    cine: CineBuffer[int] = CineBuffer(capacity=4)
    assert cine.capacity == 4 and len(cine) == 0 and cine.latest is None and cine.index == -1
    for i in range(10):
        cine.append(i)
    assert len(cine) == 4
    assert list(cine) == [6, 7, 8, 9]
    assert cine[0] == 6 and cine[3] == 9 and cine[-1] == 9
    assert cine.latest == 9
    assert cine.index == 3 and cine.current == 9
    with pytest.raises(IndexError, match="holds 4 frame"):
        cine[4]
    assert CineBuffer().capacity == DEFAULT_CAPACITY == 128


def test_step_and_seek_clamp_and_append_returns_to_live() -> None:
    cine: CineBuffer[str] = CineBuffer(capacity=5)
    for f in "abcde":
        cine.append(f)
    assert cine.step(-1) == "d" and cine.index == 3
    assert cine.step(-10) == "a" and cine.index == 0
    assert cine.step(2) == "c" and cine.index == 2
    assert cine.step(99) == "e" and cine.index == 4
    assert cine.seek(-3) == "a" and cine.index == 0
    assert cine.seek(1) == "b"
    assert cine.seek(50) == "e"
    cine.seek(0)
    cine.append("f")  # live imaging again: the cursor follows the newest frame
    assert cine.index == 4 and cine.current == "f" and cine[0] == "b"


def test_clear_and_empty_errors() -> None:
    cine: CineBuffer[int] = CineBuffer(capacity=3)
    cine.append(1)
    cine.clear()
    assert len(cine) == 0 and cine.index == -1 and cine.current is None
    with pytest.raises(IndexError, match="empty"):
        cine.step(1)
    with pytest.raises(IndexError, match="empty"):
        cine.seek(0)


@pytest.mark.parametrize("bad", [0, -3, 2.5, True])
def test_bad_capacity_is_refused(bad: object) -> None:
    with pytest.raises(ValueError, match="capacity"):
        CineBuffer(capacity=bad)  # type: ignore[arg-type]
