"""Driving a scanning session step by step, headless: the runner and the replay.

A scripted attempt (:mod:`simulator.app.attempt_runner`) and the replay of a
stored one (:mod:`simulator.app.replay`) change the session through the same
:func:`apply_step`, on a :class:`ManualClock` set to the sample time, so the
same steps give the same needle events, injectate and images bit for bit.
A probe given as a 4x4 matrix goes through ``ScanSession.set_probe_pose``.
The samples of an attempt recorded in the window carry the journaled intents
instead (:class:`JournalStep`), which are redone one by one.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from simulator.app.scan_session import ScanSession
from simulator.app.session_journal import replay_calls, restore
from simulator.engine import FrameRequest
from simulator.injection import InjectResult
from simulator.probe_control import ProbeHandle


class ManualClock:
    """A clock that reads what it is set to (the trajectory time), s."""

    def __init__(self, t_s: float = 0.0) -> None:
        self.t_s = float(t_s)

    def __call__(self) -> float:
        return self.t_s


@dataclass(frozen=True)
class Step:
    """What happens to the session at one sample time, in this order.

    Attributes
    ----------
    t_s : float
        Sample time, s (the session clock is set to it).
    probe : ProbeHandle or ndarray (4, 4) or None
        New probe pose; None leaves it.
    needle : (entry_mm, tip_mm) or None
        Skin entry and tip, world mm, shape (3,) each; None: needle out
        (withdrawn and put away).
    inject_ml : float
        Volume pushed during this step, ml (0: plunger at rest).
    aspirate : bool
        Pull back on the plunger (before injecting).
    end_bolus : bool
        End the current bolus after injecting (its ``injection`` event).
    """

    t_s: float
    probe: ProbeHandle | np.ndarray | None = None
    needle: tuple[np.ndarray, np.ndarray] | None = None
    inject_ml: float = 0.0
    aspirate: bool = False
    end_bolus: bool = False

    @property
    def injecting(self) -> bool:
        """The plunger is being pushed in this step."""
        return self.inject_ml > 0.0

    def command_dict(self) -> dict[str, Any]:
        """The needle and plunger commands as plain types (stored with each sample)."""
        needle = None
        if self.needle is not None:
            needle = [[float(v) for v in self.needle[0]], [float(v) for v in self.needle[1]]]
        return {
            "needle": needle,
            "inject_ml": float(self.inject_ml),
            "aspirate": bool(self.aspirate),
            "end_bolus": bool(self.end_bolus),
        }


@dataclass(frozen=True)
class JournalStep:
    """The journaled intents that led to one sample of a live attempt.

    Attributes
    ----------
    t_s : float
        Sample time, s (the clock is left there after the calls).
    calls : tuple of ``[t_s, name, args]``
        The intents, in order, with their own times
        (``simulator.app.session_journal``).
    start : dict or None
        The session state before the calls (first sample of an attempt).
    injecting : bool
        Whether the plunger was pushed at the sample (as recorded).
    """

    t_s: float
    calls: tuple[Any, ...] = ()
    start: Mapping[str, Any] | None = None
    injecting: bool = False


def _set_clock(clock: ManualClock) -> Callable[[float], None]:
    def set_time(t_s: float) -> None:
        clock.t_s = t_s

    return set_time


def apply_step(
    session: ScanSession, clock: ManualClock, step: Step | JournalStep
) -> InjectResult | None:
    """Set the clock to ``step.t_s`` and do the step on ``session``.

    A :class:`JournalStep` restores its start state (if any) and redoes its
    calls, each at its own time, before the clock is set to the sample time.

    Returns
    -------
    InjectResult or None
        The injection of this step (None without one or for a journal step).
    """
    if isinstance(step, JournalStep):
        if step.start is not None:
            clock.t_s = float(step.calls[0][0]) if step.calls else float(step.t_s)
            restore(session, step.start)
        replay_calls(session, _set_clock(clock), step.calls)
        clock.t_s = float(step.t_s)
        return None
    clock.t_s = float(step.t_s)
    if isinstance(step.probe, ProbeHandle):
        session.set_handle(step.probe)
    elif step.probe is not None:
        session.set_probe_pose(step.probe)
    if step.needle is None:
        if session.kinematics is not None:
            session.remove_needle()
    else:
        session.set_needle_tip(step.needle[0], step.needle[1])
    if step.aspirate:
        session.aspirate()
    result = session.inject(step.inject_ml) if step.inject_ml > 0.0 else None
    if step.end_bolus:
        session.finish_injection()
    return result


def settled_frame_request(session: ScanSession, t_s: float) -> FrameRequest:
    """The frame of the session's state at ``t_s`` with the latest injectate shown.

    The window's frames show the injectate at most every
    ``EDIT_INTERVAL_S`` (a relabelling is costly); a replayed or headless
    frame shows all of it, so the image depends only on the state, never on
    which frames were drawn before.
    """
    request = session.frame_request(t_s)
    edit = session.injection.tissue_edit()
    return replace(request, tissue_edit=edit if edit.n_voxels else None)


__all__ = ["JournalStep", "ManualClock", "Step", "apply_step", "settled_frame_request"]
