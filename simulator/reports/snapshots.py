"""B-mode snapshots of an attempt at its injections, re-rendered by replay."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from simulator.records import RecordStore

#: A snapshot: (session time s, caption, RGB uint8 image of shape (h, w, 3)).
Snapshot = tuple[float, str, np.ndarray]
#: At most this many snapshots per report (the first ones).
MAX_SNAPSHOTS = 8


def injection_caption(event: Mapping[str, Any]) -> str:
    """Caption of the snapshot at an ``injection`` event."""
    detail = str(event.get("detail") or "").strip()
    text = f"B-mode at injection, t = {float(event['t_s']):.1f} s"
    return f"{text}: {detail}" if detail else text


def replay_snapshots(
    store: RecordStore,
    attempt_id: int,
    events: Sequence[Mapping[str, Any]],
    scene: Any = None,
) -> list[Snapshot]:
    """Render the B-mode image at each ``injection`` event by replaying the attempt.

    Uses ``simulator.app.replay.Replay.from_record(store, attempt_id, scene=scene)``,
    then ``image_rgb(index_at(t_s))``.

    Returns
    -------
    list of Snapshot
        Empty when the attempt has no injection.

    Raises
    ------
    ImportError
        If the replay module is not available.
    """
    injections = [e for e in events if e.get("kind") == "injection"][:MAX_SNAPSHOTS]
    if not injections:
        return []
    from simulator.app.replay import Replay

    replay = Replay.from_record(store, attempt_id, scene=scene)
    out = []
    for e in injections:
        t_s = float(e["t_s"])
        rgb = np.asarray(replay.image_rgb(replay.index_at(t_s)))
        out.append((t_s, injection_caption(e), rgb))
    return out


__all__ = ["MAX_SNAPSHOTS", "Snapshot", "injection_caption", "replay_snapshots"]
