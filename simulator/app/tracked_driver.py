"""A tracked probe and needle driving a scanning session (no Qt).

:class:`TrackedDriver` turns each :class:`hardware.tracker.TrackerSample`
into session intents: the probe's full pose (``ScanSession.set_probe_pose``),
the needle's skin entry and tip (``ScanSession.set_needle_tip``), and the
rig's buttons (inject while held, aspirate, freeze).

Conventions (ARCHITECTURE.md, ``hardware.calibration``)
-------------------------------------------------------
All transforms are 4x4 float64 ``a2b`` matrices in millimetres.

- Probe: the tracker reports the probe *sensor* (``sensor2tracker``); the
  sensor-to-face calibration gives ``sensor2face``, so
  ``probe2world = tracker2world @ sensor2tracker @ inv(sensor2face)``
  (probe frame: origin at the centre of the face, +z along the beam, +x
  toward the notch).
- Needle: the tracker reports the needle sensor (``sensor2tracker``); the
  pivot calibration gives ``tip2tool`` (the needle frame, origin at the tip,
  +z from the tip toward the hub, in the sensor frame;
  ``hardware.calibration.needle_tip2tool``), so
  ``needle2world = tracker2world @ sensor2tracker @ tip2tool``; the tip is
  its origin and the shaft runs along its +z (travel into the body is -z).
- Skin entry: where the shaft line crosses the skin surface
  (``session.skin.height_mm``; world +z points into the body), found by
  marching along the shaft and bisecting to ``ENTRY_TOL_MM``.
- A tip above the skin is not inserted: within ``hover_mm`` of the skin
  along the shaft the needle rests on the skin where it would enter,
  farther away it is put away (``ScanSession.remove_needle``).
- A needle that reports an insertion depth (a DIY rig's depth sensor on a
  blunt needle) has its tip at ``entry + depth * travel``; a needle with a
  depth but no pose keeps the entry and direction the keyboard gave it.
- An orientation-only probe (IMU) takes its rotation from the sensor and its
  position from the keyboard/mouse handle (the face centre on the skin) or a
  fixed landmark (``TrackingCalibration.probe_landmark_mm``).
- A tool the tracker announced but does not see keeps its last pose and is
  reported as missing, never guessed; a stale sample (device unplugged)
  freezes everything and is reported.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from hardware.tracker import ToolSample, TrackerSample
from simulator.app.scan_session import ScanSession
from simulator.injection import Aspiration
from simulator.needle_kinematics import Move

#: Skin entry found to this tolerance along the shaft, mm.
ENTRY_TOL_MM = 1e-4
#: Step of the march along the shaft looking for the skin, mm.
ENTRY_STEP_MM = 2.0
#: How far from the tip toward the hub the skin is looked for, mm.
ENTRY_SEARCH_MM = 250.0
#: Longest time one sample may inject for (a stalled stream does not dump a bolus), s.
MAX_INJECT_DT_S = 0.5
#: Injection outcomes after which the plunger stops until the button is pressed again.
STOP_OUTCOMES = frozenset({"intraneural", "intratendinous", "intravascular", "blocked"})
#: Probe / needle states reported in :class:`DriveResult`.
TOOL_STATES = ("tracked", "orientation", "depth", "out", "missing", "frozen", "absent", "waiting")


@dataclass(frozen=True)
class TrackingCalibration:
    """How tracker poses map into the scene, and which tools are which.

    Attributes
    ----------
    tracker2world : ndarray, shape (4, 4)
        Registration of the tracker frame to the scene (world) frame, mm.
    probe_sensor2face : ndarray, shape (4, 4)
        Probe sensor frame to the probe (face) frame, mm.
    needle_tip2tool : ndarray, shape (4, 4)
        Needle frame (origin at the tip, +z toward the hub) in the needle
        sensor's frame, mm (identity: the sensor reports the tip frame).
    probe_tool, needle_tool : str
        Names of the probe and needle in ``TrackerSample.tools``.
    probe_landmark_mm : tuple of 3 float, optional
        Fixed world position of an orientation-only probe's face centre;
        None: the keyboard/mouse handle's position on the skin.
    inject_rate_ml_s : float
        Rate while the inject button is held, ml/s.
    hover_mm : float
        A tip above the skin within this distance of it along the shaft
        rests on the skin; farther, the needle is put away, mm.
    """

    tracker2world: np.ndarray = field(default_factory=lambda: np.eye(4))
    probe_sensor2face: np.ndarray = field(default_factory=lambda: np.eye(4))
    needle_tip2tool: np.ndarray = field(default_factory=lambda: np.eye(4))
    probe_tool: str = "probe"
    needle_tool: str = "needle"
    probe_landmark_mm: tuple[float, float, float] | None = None
    inject_rate_ml_s: float = 0.25
    hover_mm: float = 30.0

    def __post_init__(self) -> None:
        for name in ("tracker2world", "probe_sensor2face", "needle_tip2tool"):
            object.__setattr__(self, name, _rigid(getattr(self, name), name))
        if not self.inject_rate_ml_s > 0.0:
            raise ValueError(
                f"inject_rate_ml_s = {self.inject_rate_ml_s}: expected a rate > 0 ml/s"
            )
        if not self.hover_mm >= 0.0:
            raise ValueError(f"hover_mm = {self.hover_mm}: expected a distance >= 0 mm")

    @property
    def face2sensor(self) -> np.ndarray:
        """``inv(probe_sensor2face)``, shape (4, 4)."""
        return np.linalg.inv(self.probe_sensor2face)

    @classmethod
    def from_profile(cls, profile: Any, **overrides: Any) -> TrackingCalibration:
        """The calibration stored in a device profile (``hardware.profiles.DeviceProfile``).

        Read by attribute (or key) name: ``tracker2world`` and
        ``probe_sensor2face`` (4x4, None: identity), ``needle_tip_in_tool_mm``
        and ``needle_axis_in_tool`` (turned into the needle frame by
        ``hardware.calibration.needle_tip2tool``; None: the sensor reports the
        tip frame) or ``needle_tip2tool`` (4x4), and optionally ``probe_tool``,
        ``needle_tool``, ``probe_landmark_mm``, ``inject_rate_ml_s``. A
        :class:`TrackingCalibration` is copied. ``overrides`` win.

        Raises
        ------
        ValueError
            A matrix that is not a rigid transform (the message names it).
        """
        if isinstance(profile, TrackingCalibration):
            values = {f: getattr(profile, f) for f in cls.__dataclass_fields__}
        else:
            values = {}
            for name in ("tracker2world", "probe_sensor2face", "needle_tip2tool"):
                m = _first(profile, name)
                if m is not None:
                    values[name] = m
            tip = _first(profile, "needle_tip_in_tool_mm")
            if "needle_tip2tool" not in values and tip is not None:
                from hardware.calibration import CalibrationError, needle_tip2tool

                axis = _first(profile, "needle_axis_in_tool")
                try:
                    values["needle_tip2tool"] = needle_tip2tool(
                        np.asarray(tip, dtype=np.float64),
                        None if axis is None else np.asarray(axis, dtype=np.float64),
                    )
                except CalibrationError as exc:
                    raise ValueError(f"needle_tip_in_tool_mm: {exc}") from None
            for name in ("probe_tool", "needle_tool", "inject_rate_ml_s"):
                v = _first(profile, name)
                if v is not None:
                    values[name] = v
            landmark = _first(profile, "probe_landmark_mm")
            if landmark is not None:
                values["probe_landmark_mm"] = tuple(float(v) for v in landmark)
        values.update(overrides)
        return cls(**values)


@dataclass(frozen=True)
class DriveResult:
    """What one tracker sample did to the session.

    Attributes
    ----------
    probe, needle : str
        State of each tool (one of ``TOOL_STATES``): ``tracked`` (full pose
        applied), ``orientation`` (IMU probe, position from the handle or
        landmark), ``depth`` (needle from a depth sensor), ``out`` (needle
        tip above the skin), ``missing`` (announced but not seen: pose held),
        ``frozen`` (device disconnected: pose held), ``absent`` (the tracker
        has no such tool: the keyboard drives it), ``waiting`` (no sample yet).
    changed : bool
        The session changed (a pose, the injectate, an event): render a frame.
    stale : bool
        The sample is the frozen last pose after an unplug.
    missing : tuple of str
        Tools this driver uses that the tracker reports missing.
    injecting : bool
        The inject button is held and the plunger is moving.
    injected_ml : float
        Volume injected by this sample, ml.
    aspiration : Aspiration or None
        Result of an aspirate-button press in this sample.
    freeze_toggled : bool
        The freeze button was pressed in this sample (toggle the image freeze).
    move : Move or None
        The needle move of this sample (``Move.blocked`` says why it stopped).
    message : str
        One line for the status bar ("" when all is well).
    """

    probe: str = "waiting"
    needle: str = "waiting"
    changed: bool = False
    stale: bool = False
    missing: tuple[str, ...] = ()
    injecting: bool = False
    injected_ml: float = 0.0
    aspiration: Aspiration | None = None
    freeze_toggled: bool = False
    move: Move | None = None
    message: str = ""


class TrackedDriver:
    """Applies tracker samples to a :class:`ScanSession`.

    Parameters
    ----------
    session : ScanSession
    calibration : TrackingCalibration or device profile, optional
        Registration, tool calibrations and tool names (a
        ``hardware.profiles.DeviceProfile`` is read with
        :meth:`TrackingCalibration.from_profile`); default identity
        transforms and tools named ``probe`` and ``needle``.
    on_inject : callable, optional
        Called with each ``InjectResult`` (the window shows warnings).

    Attributes
    ----------
    calibration : TrackingCalibration
    last : DriveResult
        Result of the last applied sample.
    """

    def __init__(
        self,
        session: ScanSession,
        calibration: TrackingCalibration | Any | None = None,
        on_inject: Callable[[Any], None] | None = None,
    ) -> None:
        self.session = session
        if calibration is None:
            calibration = TrackingCalibration()
        elif not isinstance(calibration, TrackingCalibration):
            calibration = TrackingCalibration.from_profile(calibration)
        self.calibration: TrackingCalibration = calibration
        self.inject_rate_ml_s = calibration.inject_rate_ml_s
        self.on_inject = on_inject
        self.last = DriveResult()
        self._last_t_s: float | None = None
        self._buttons: frozenset[str] = frozenset()
        self._inject_t_s: float | None = None  # time of the last injecting sample
        self._plunger_stopped = False  # stopped by resistance until the button is pressed again
        self._needle_key: tuple[float, ...] | None = None

    # ---------------------------------------------------------------- apply
    def apply(self, sample: TrackerSample | None) -> DriveResult:
        """Apply one tracker sample to the session.

        Parameters
        ----------
        sample : TrackerSample or None
            The newest sample (``Tracker.latest()``); None before the first.
            A sample already applied (same ``t_s``) changes nothing.

        Returns
        -------
        DriveResult
        """
        if sample is None:
            self.last = DriveResult(message="waiting for the first tracker sample")
            return self.last
        if self._last_t_s is not None and sample.t_s == self._last_t_s:
            self.last = _unchanged(self.last)
            return self.last
        self._last_t_s = sample.t_s
        cal = self.calibration
        if sample.stale:
            changed = self._release_plunger()
            self._buttons = frozenset()
            self.last = DriveResult(
                probe="frozen" if cal.probe_tool in sample.tools else "absent",
                needle="frozen" if cal.needle_tool in sample.tools else "absent",
                changed=changed,
                stale=True,
                message="disconnected — pose frozen",
            )
            return self.last
        probe_state, probe_moved = self._apply_probe(sample)
        had_needle = self.session.kinematics is not None
        needle_state, move, needle_note = self._apply_needle(sample)
        needle_gone = had_needle and self.session.kinematics is None
        missing = tuple(
            name
            for name, state in ((cal.probe_tool, probe_state), (cal.needle_tool, needle_state))
            if state == "missing"
        )
        buttons = frozenset().union(*(t.buttons for t in sample.tools.values() if not t.stale))
        pressed = buttons - self._buttons
        self._buttons = buttons
        injected, injecting, aspiration, inject_note = self._apply_buttons(
            buttons, pressed, sample.t_s
        )
        notes = [f"{name} missing — pose held" for name in missing]
        notes += [n for n in (needle_note, inject_note) if n]
        if aspiration is not None:
            notes.append(_aspiration_text(aspiration))
        self.last = DriveResult(
            probe=probe_state,
            needle=needle_state,
            changed=probe_moved
            or move is not None
            or needle_gone
            or injected > 0.0
            or aspiration is not None,
            missing=missing,
            injecting=injecting,
            injected_ml=injected,
            aspiration=aspiration,
            freeze_toggled="freeze" in pressed,
            move=move,
            message="; ".join(notes),
        )
        return self.last

    # ---------------------------------------------------------------- probe
    def probe2world(self, tool: ToolSample) -> np.ndarray:
        """``probe2world`` of a probe sample (full pose), shape (4, 4), mm."""
        cal = self.calibration
        assert tool.pose2tracker is not None
        pose = cal.tracker2world @ tool.pose2tracker @ cal.face2sensor
        return _orthonormal(pose)

    def _apply_probe(self, sample: TrackerSample) -> tuple[str, bool]:
        """Apply the probe's pose; returns its state and whether the session's pose changed."""
        name = self.calibration.probe_tool
        tool = sample.tools.get(name)
        if tool is None or tool.pose2tracker is None:
            return ("missing" if name in sample.missing else "absent"), False
        if tool.stale:
            return "frozen", False
        if not tool.visible:
            return "missing", False
        pose = self.probe2world(tool)
        state = "tracked"
        if tool.orientation_only:
            pose[:3, 3] = self._probe_position_mm()
            state = "orientation"
        if np.array_equal(pose, self.session.probe2world()):
            return state, False  # a probe at rest: no new frame needed
        self.session.set_probe_pose(pose)
        return state, True

    def _probe_position_mm(self) -> np.ndarray:
        """Face centre of an orientation-only probe: the landmark or the handle on the skin."""
        landmark = self.calibration.probe_landmark_mm
        if landmark is not None:
            return np.asarray(landmark, dtype=np.float64)
        s = self.session
        return s.handle.probe2world(s.skin)[:3, 3]

    # --------------------------------------------------------------- needle
    def needle2world(self, tool: ToolSample) -> np.ndarray:
        """Needle frame (origin at the tip, +z toward the hub) in the world, shape (4, 4)."""
        cal = self.calibration
        assert tool.pose2tracker is not None
        return _orthonormal(cal.tracker2world @ tool.pose2tracker @ cal.needle_tip2tool)

    def _apply_needle(self, sample: TrackerSample) -> tuple[str, Move | None, str]:
        name = self.calibration.needle_tool
        tool = sample.tools.get(name)
        if tool is None:
            return ("missing" if name in sample.missing else "absent"), None, ""
        if tool.stale:
            return "frozen", None, ""
        if not tool.visible:
            return "missing", None, ""
        if tool.pose2tracker is None or tool.orientation_only:
            return self._needle_from_depth(tool)
        m = self.needle2world(tool)
        tip, hub_dir = m[:3, 3], m[:3, 2]
        travel = -hub_dir
        if tool.depth_mm is not None:  # a blunt needle on the phantom and a depth sensor
            entry = self.skin_entry(tip, travel)
            if entry is None:
                return self._put_away()
            return "depth", self._set_needle(entry, travel, max(tool.depth_mm, 0.0)), ""
        if self._inside(tip):
            entry = self._crossing(tip, hub_dir, ENTRY_SEARCH_MM)
            if entry is None:
                return "missing", None, "needle: the shaft does not cross the skin — pose held"
            return "tracked", self._set_tip(entry, tip), ""
        entry = self._crossing(tip, travel, self.calibration.hover_mm)
        if entry is None:
            return self._put_away()
        return "out", self._set_tip(entry, tip), ""

    def _needle_from_depth(self, tool: ToolSample) -> tuple[str, Move | None, str]:
        """A needle with a depth sensor and no position: the keyboard's entry and direction."""
        pose = self.session.needle
        if tool.depth_mm is None:
            return "missing", None, ""
        if pose is None:
            return "missing", None, "needle depth: place the needle (N) to set its entry"
        entry = np.asarray(pose.entry_mm, dtype=np.float64)
        travel = pose.direction
        if tool.pose2tracker is not None:  # an IMU on the needle gives the direction
            cal = self.calibration
            sensor2world = cal.tracker2world[:3, :3] @ tool.pose2tracker[:3, :3]
            travel = -(sensor2world @ cal.needle_tip2tool[:3, :3])[:, 2]
        return "depth", self._set_needle(entry, travel, max(tool.depth_mm, 0.0)), ""

    def skin_entry(self, point_mm: np.ndarray, travel: np.ndarray) -> np.ndarray | None:
        """Where the line through ``point_mm`` along ``travel`` crosses the skin.

        Looks ahead (along ``travel``) from a point above the skin, back from
        a point below it.

        Parameters
        ----------
        point_mm : ndarray, shape (3,)
            A point of the shaft, world mm.
        travel : ndarray, shape (3,)
            Unit direction of travel into the body.

        Returns
        -------
        ndarray, shape (3,), or None
            The crossing, or None when the line does not cross the skin
            within ``hover_mm`` ahead / ``ENTRY_SEARCH_MM`` behind.
        """
        p = np.asarray(point_mm, dtype=np.float64)
        d = np.asarray(travel, dtype=np.float64)
        if self._inside(p):
            return self._crossing(p, -d, ENTRY_SEARCH_MM)
        return self._crossing(p, d, self.calibration.hover_mm)

    def _inside(self, p: np.ndarray) -> bool:
        return bool(p[2] > float(self.session.skin.height_mm(p[0], p[1])))

    def _crossing(self, start: np.ndarray, d: np.ndarray, reach_mm: float) -> np.ndarray | None:
        """First skin crossing from ``start`` along unit ``d`` within ``reach_mm`` (bisected)."""
        inside0 = self._inside(start)
        if reach_mm <= 0.0:
            return start.copy() if not inside0 and self._on_skin(start) else None
        s_prev = 0.0
        for s in np.append(np.arange(ENTRY_STEP_MM, reach_mm, ENTRY_STEP_MM), reach_mm):
            if self._inside(start + s * d) != inside0:
                lo, hi = s_prev, float(s)
                while hi - lo > ENTRY_TOL_MM:
                    mid = 0.5 * (lo + hi)
                    if self._inside(start + mid * d) == inside0:
                        lo = mid
                    else:
                        hi = mid
                return start + (0.5 * (lo + hi)) * d
            s_prev = float(s)
        return None

    def _on_skin(self, p: np.ndarray) -> bool:
        return abs(p[2] - float(self.session.skin.height_mm(p[0], p[1]))) <= ENTRY_TOL_MM

    def _set_needle(self, entry: np.ndarray, travel: np.ndarray, depth_mm: float) -> Move | None:
        """Needle through ``entry`` along ``travel`` to ``depth_mm`` (0: resting on the skin)."""
        d = np.asarray(travel, dtype=np.float64)
        d = d / np.linalg.norm(d)
        if depth_mm > 0.0:
            return self._set_tip(entry, entry + depth_mm * d)
        return self._set_tip(entry, entry - d)  # 1 mm above the skin along the shaft: resting

    def _set_tip(self, entry: np.ndarray, tip: np.ndarray) -> Move | None:
        key = tuple(np.round(np.concatenate([entry, tip]), 6))
        if key == self._needle_key and self.session.kinematics is not None:
            return None
        self._needle_key = key
        return self.session.set_needle_tip(entry, tip)

    def _put_away(self) -> tuple[str, Move | None, str]:
        if self.session.kinematics is not None:
            self._release_plunger()
            self.session.remove_needle()
        self._needle_key = None
        return "out", None, ""

    # -------------------------------------------------------------- buttons
    def _apply_buttons(
        self, buttons: frozenset[str], pressed: frozenset[str], t_s: float
    ) -> tuple[float, bool, Aspiration | None, str]:
        """Inject while ``inject`` is held, aspirate on an ``aspirate`` press."""
        s = self.session
        aspiration = s.aspirate() if "aspirate" in pressed else None
        injected, note = 0.0, ""
        if "inject" not in buttons:
            self._release_plunger()
            self._plunger_stopped = False
            return injected, False, aspiration, note
        if "inject" in pressed:
            self._plunger_stopped = False
            self._inject_t_s = t_s
        if self._plunger_stopped:
            return injected, False, aspiration, "plunger stopped: release the inject button"
        k = s.kinematics
        if k is None or not k.inserted:
            self._inject_t_s = t_s
            return injected, False, aspiration, "insert the needle before injecting"
        t0 = t_s if self._inject_t_s is None else self._inject_t_s
        dt = min(max(t_s - t0, 0.0), MAX_INJECT_DT_S)
        self._inject_t_s = t_s
        if dt > 0.0:
            result = s.inject(self.inject_rate_ml_s * dt)
            if result is not None:
                injected = float(result.delivered_ml)
                if self.on_inject is not None:
                    self.on_inject(result)
                if result.warning:
                    note = result.warning
                if result.outcome in STOP_OUTCOMES or result.resistance == "high":
                    self._plunger_stopped = True
                    s.finish_injection()
        return injected, not self._plunger_stopped, aspiration, note

    def _release_plunger(self) -> bool:
        """End the bolus given so far (its ``injection`` event); True if there was one."""
        self._inject_t_s = None
        if not self.session.bolus_open:  # nothing to end: no intent (a journal entry) per poll
            return False
        return self.session.finish_injection() is not None


def _unchanged(result: DriveResult) -> DriveResult:
    """``result`` as the state of a repeated sample: nothing new happened."""
    return DriveResult(
        probe=result.probe,
        needle=result.needle,
        stale=result.stale,
        missing=result.missing,
        injecting=result.injecting,
        message=result.message,
    )


def _aspiration_text(a: Aspiration) -> str:
    if a.blood:
        return f"blood flash: the tip is in a {a.kind or 'vessel'} — do not inject"
    if a.fluid:
        return "fluid aspirated: the tip is in a fluid collection"
    return "negative aspiration"


def _rigid(matrix: Any, name: str) -> np.ndarray:
    m = np.asarray(matrix, dtype=np.float64)
    if m.shape != (4, 4) or not np.all(np.isfinite(m)):
        raise ValueError(f"{name}: expected a finite 4x4 matrix, got shape {m.shape}")
    r = m[:3, :3]
    if not np.allclose(r.T @ r, np.eye(3), atol=1e-4) or np.linalg.det(r) < 0.0:
        raise ValueError(f"{name}: the rotation block is not a proper rotation")
    if not np.allclose(m[3], [0.0, 0.0, 0.0, 1.0]):
        raise ValueError(f"{name}: expected the last row (0, 0, 0, 1), got {m[3].tolist()}")
    return m.copy()


def _orthonormal(pose: np.ndarray) -> np.ndarray:
    """``pose`` with its rotation block projected on the nearest rotation (SVD)."""
    u, _, vt = np.linalg.svd(pose[:3, :3])
    r = u @ vt
    if np.linalg.det(r) < 0.0:
        u[:, -1] = -u[:, -1]
        r = u @ vt
    out = pose.copy()
    out[:3, :3] = r
    out[3] = (0.0, 0.0, 0.0, 1.0)
    return out


def _first(obj: Any, *names: str) -> Any:
    """The first of ``names`` that ``obj`` has (attribute or mapping key) and is not None."""
    for name in names:
        v = obj.get(name) if isinstance(obj, dict) else getattr(obj, name, None)
        if v is not None:
            return v
    return None


__all__: Sequence[str] = ["STOP_OUTCOMES", "DriveResult", "TrackedDriver", "TrackingCalibration"]
