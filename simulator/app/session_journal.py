"""The journal of a scanning session: every intent, so a replay redoes it exactly.

A live session (the window: keys, mouse, tracker, injection control) changes
its state only through the intents of :class:`~simulator.app.scan_session.ScanSession`.
Each of them is decorated with :func:`journaled`: when the session has a
``journal`` callback, the outermost intent (not the intents it calls itself)
is reported after it succeeded, as ``(t_s, name, args)`` with the session
clock at its start and its arguments as JSON-able plain types.

:class:`JournalRecorder` collects those calls between two scoring samples, so
each stored sample carries the calls that led to it (``{"calls": [...]}``),
and the first sample of an attempt also carries a :func:`snapshot` of the
session before them (probe, pose, imaging, needle). :func:`replay_calls`
redoes them on a fresh session, on a clock set to each call's time: the
needle events, bone stops, redirects, boluses and imaging changes of the live
attempt come back exactly, between samples included.

The snapshot restores the needle exactly when it is out of the skin or
resting on it, which is always the case for an attempt that starts at its
first skin puncture; a needle already in when an attempt is started by hand
is put back along the same line, but the track the tissue held is not
(``snapshot["needle"]["inserted"]`` says so). No Qt here.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, fields
from typing import TYPE_CHECKING, Any, TypeVar

import numpy as np

from simulator.needle_pose import NeedlePose
from simulator.probe import ImagingSettings
from simulator.probe_control import ProbeHandle

if TYPE_CHECKING:
    from simulator.app.scan_session import ScanSession

#: Version of the snapshot and call format.
JOURNAL_VERSION = 1
#: Key of the calls in a sample's command dict.
CALLS_KEY = "calls"
#: Key of the session snapshot in the first sample's command dict.
START_KEY = "start"

#: A journal callback: ``(t_s, intent name, plain arguments)``.
JournalFn = Callable[[float, str, dict[str, Any]], None]

#: Every intent a replay may redo (the ``@journaled`` methods of ScanSession).
INTENTS: frozenset[str] = frozenset(
    {
        "set_handle",
        "set_probe_pose",
        "slide",
        "slide_mm",
        "turn",
        "reset_probe",
        "set_settings",
        "step_setting",
        "apply_preset",
        "choose_probe",
        "set_needle_gauge",
        "place_needle",
        "advance",
        "advance_mm",
        "steer",
        "set_needle_tip",
        "remove_needle",
        "reset_tissue",
        "aspirate",
        "inject",
        "finish_injection",
    }
)

F = TypeVar("F", bound=Callable[..., Any])


def journaled(method: F) -> F:
    """Decorate a ``ScanSession`` intent so it is reported to ``self.journal``.

    Only the outermost intent is reported (``slide`` calls ``set_handle``:
    one call is journaled), after it returned; an intent that raised changed
    nothing and is not reported. The session clock reads the intent's start
    time throughout it, so its events carry the time that is journaled.
    """
    name = method.__name__
    if name not in INTENTS:
        raise ValueError(f"journaled: {name!r} is not one of the replayable intents")
    signature = inspect.signature(method)

    @functools.wraps(method)
    def wrapper(self: Any, *args: Any, **kwargs: Any) -> Any:
        if self._intent_depth:
            return method(self, *args, **kwargs)
        journal = self.journal
        # the arguments as plain types before the intent runs: a value with no plain
        # form is refused before anything changed
        plain = None if journal is None else _plain_arguments(signature, self, args, kwargs)
        # an intent happens at one instant: every event it makes has its time
        t_s = float(self.clock())
        clock = self.clock
        self.clock = lambda: t_s
        self._intent_depth += 1
        try:
            result = method(self, *args, **kwargs)
        finally:
            self._intent_depth -= 1
            self.clock = clock
        if journal is not None:
            journal(t_s, name, plain)
        return result

    return wrapper  # type: ignore[return-value]


def _plain_arguments(
    signature: inspect.Signature, session: Any, args: tuple, kwargs: dict
) -> dict[str, Any]:
    """The call's arguments by name, defaults filled in, ``**changes`` spread out."""
    bound = signature.bind(session, *args, **kwargs)
    bound.apply_defaults()  # a replay does not depend on today's defaults
    plain: dict[str, Any] = {}
    for key, value in bound.arguments.items():
        if key == "self":
            continue
        if signature.parameters[key].kind is inspect.Parameter.VAR_KEYWORD:
            plain.update({k: to_plain(v) for k, v in value.items()})
        else:
            plain[key] = to_plain(value)
    return plain


def to_plain(value: Any) -> Any:
    """An intent argument as JSON-able plain types (arrays as lists, handles as dicts).

    Raises
    ------
    TypeError
        For a value with no plain form.
    """
    if isinstance(value, ProbeHandle):
        return {"ProbeHandle": asdict(value)}
    if isinstance(value, np.ndarray):
        return value.astype(np.float64).tolist()
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, bool | int | float | str) or value is None:
        return value
    if isinstance(value, Mapping):
        return {str(k): to_plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [to_plain(v) for v in value]
    raise TypeError(f"journal: no plain form for a {type(value).__name__} argument")


def _from_plain(name: str, args: Mapping[str, Any]) -> dict[str, Any]:
    out = dict(args)
    if name == "set_handle":
        raw = out.get("handle")
        if not isinstance(raw, Mapping) or not isinstance(raw.get("ProbeHandle"), Mapping):
            raise ValueError("set_handle: expected handle = {'ProbeHandle': {...}}")
        out["handle"] = ProbeHandle(**raw["ProbeHandle"])
    elif name == "set_settings" and "tgc_db" in out:
        out["tgc_db"] = tuple(float(v) for v in out["tgc_db"])
    return out


# ------------------------------------------------------------------ snapshot


def snapshot(session: ScanSession) -> dict[str, Any]:
    """The session's state an attempt starts from, as plain types.

    Returns
    -------
    dict
        ``probe`` (model name), ``preset``, ``settings`` (every
        ``ImagingSettings`` field), ``handle`` (ProbeHandle fields),
        ``probe2world`` (4x4 list, or None when the handle decides the pose),
        ``needle_gauge`` (override or None), ``needle`` (None, or every
        ``NeedlePose`` field and ``tip_mm``) and ``injected_ml``.
    """
    pose = session.needle
    needle = None
    if pose is not None:
        needle = to_plain(asdict(pose))
        needle["tip_mm"] = [float(v) for v in pose.tip_mm]
    return {
        "version": JOURNAL_VERSION,
        "probe": session.probe.name,
        "preset": session.preset,
        "settings": to_plain(asdict(session.settings)),
        "handle": asdict(session.handle),
        "probe2world": session.probe2world().tolist() if session.full_pose else None,
        "needle_gauge": session.needle_gauge,
        "needle": needle,
        "injected_ml": float(session.injection.injected_ml),
    }


def restore(session: ScanSession, snap: Mapping[str, Any]) -> None:
    """Put a fresh session in the state of :func:`snapshot` (no event is logged).

    Raises
    ------
    ValueError
        A snapshot of another version or with a missing or malformed field
        (the message names it).
    """
    if snap.get("version") != JOURNAL_VERSION:
        raise ValueError(
            f"session snapshot version {snap.get('version')!r}: expected {JOURNAL_VERSION}"
        )
    try:
        session.choose_probe(str(snap["probe"]))
        names = {f.name for f in fields(ImagingSettings)}
        raw = {k: v for k, v in dict(snap["settings"]).items() if k in names}
        raw["tgc_db"] = tuple(float(v) for v in raw.get("tgc_db", ()))
        settings = ImagingSettings(**raw)
        settings.validate(session.probe)
        session.settings = settings
        session.preset = str(snap["preset"])
        gauge = snap.get("needle_gauge")
        session.set_needle_gauge(None if gauge is None else int(gauge))
        if snap.get("probe2world") is not None:
            session.set_probe_pose(np.asarray(snap["probe2world"], dtype=np.float64))
        else:
            session.set_handle(ProbeHandle(**snap["handle"]))
        needle = snap.get("needle")
        if needle is not None:
            names = {f.name for f in fields(NeedlePose)}
            raw = {k: v for k, v in needle.items() if k in names}
            raw["entry_mm"] = tuple(float(v) for v in raw["entry_mm"])
            session.restore_needle(NeedlePose(**raw), np.asarray(needle["tip_mm"], float))
    except KeyError as exc:
        raise ValueError(f"session snapshot: missing field {exc.args[0]!r}") from None
    except (TypeError, AttributeError) as exc:
        raise ValueError(f"session snapshot: malformed field: {exc}") from None


# ------------------------------------------------------------------ replaying


def replay_calls(
    session: ScanSession,
    set_time: Callable[[float], None],
    calls: Sequence[Sequence[Any]],
) -> None:
    """Redo journaled calls on ``session``, each at its own time.

    Parameters
    ----------
    session : ScanSession
    set_time : callable ``(t_s) -> None``
        Sets the session clock.
    calls : sequence of ``(t_s, name, args)``

    Raises
    ------
    ValueError
        A call that is not a ``(t_s, name, args)`` triple of a known intent.
    """
    for i, call in enumerate(calls):
        if not isinstance(call, Sequence) or len(call) != 3:
            raise ValueError(f"journal call {i}: expected [t_s, name, args]")
        t_s, name, args = call
        if name not in INTENTS or not isinstance(args, Mapping):
            raise ValueError(f"journal call {i}: {name!r} is not a replayable intent")
        set_time(float(t_s))
        getattr(session, name)(**_from_plain(name, args))


class JournalRecorder:
    """Collects a session's calls between samples (what an attempt stores per sample).

    Usage: :meth:`attach` to the session; at each sample while no attempt
    runs call :meth:`idle` (the next attempt starts from that state); the
    first sample of an attempt takes :meth:`take` ``(start=True)``, every
    later one ``take()``.
    """

    def __init__(self) -> None:
        self.session: ScanSession | None = None
        self._calls: list[list[Any]] = []
        self._start: dict[str, Any] | None = None

    def attach(self, session: ScanSession | None) -> None:
        """Journal ``session`` (detaching the previous one); None detaches."""
        if self.session is not None and self.session.journal == self._append:
            self.session.journal = None
        self.session = session
        self._calls = []
        self._start = None
        if session is not None:
            session.journal = self._append
            self._start = snapshot(session)

    def _append(self, t_s: float, name: str, args: dict[str, Any]) -> None:
        self._calls.append([t_s, name, args])

    def idle(self) -> None:
        """Forget the calls so far: the state now is where the next attempt starts."""
        self._calls = []
        self._start = snapshot(self.session) if self.session is not None else None

    def take(self, start: bool = False) -> dict[str, Any]:
        """The command dict of a sample: the calls since the last one (and the start state).

        Returns
        -------
        dict
            ``{"calls": [[t_s, name, args], ...]}``, plus ``"start"`` (the
            snapshot before these calls) when ``start``.
        """
        out: dict[str, Any] = {CALLS_KEY: self._calls}
        if start:
            out[START_KEY] = self._start if self._start is not None else {}
        self._calls = []
        return out


__all__ = [
    "CALLS_KEY",
    "INTENTS",
    "JOURNAL_VERSION",
    "START_KEY",
    "JournalRecorder",
    "journaled",
    "replay_calls",
    "restore",
    "snapshot",
    "to_plain",
]
