"""A scanning session: one scene, its probe on the skin, a needle, imaging settings.

The window (and later a tracker or a replayed recording) changes the
session only through its intents (slide, rotate, tilt, rock, advance,
redirect, aspirate, inject, settings, presets, probe choice); the session
turns them into the frame requests the B-mode engine computes. The needle
moves through ``NeedleKinematics`` (pivot at the skin, resisted redirects,
bone stops), the injectate spreads through ``Injection``, and every contact,
tissue and injection event goes to one ``EventLog`` for the GUI and the
scoring. Every intent is reported to ``journal`` when one is set
(``simulator.app.session_journal``), with the one clock time it happened at,
so an attempt recorded live replays exactly. No widgets here: the same
session runs headless.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, replace

import numpy as np

from scenes import Scene
from simulator.app.session_journal import JournalFn, journaled
from simulator.engine import BModeEngine, FrameRequest
from simulator.injection import Aspiration, Injection, InjectResult
from simulator.needle_echo import NeedleShape, PointScatterers
from simulator.needle_events import EventLog, NeedleEvent, TargetZone, make_event
from simulator.needle_kinematics import Move, NeedleKinematics
from simulator.needle_pose import NeedlePose, aimed_at, in_plane_entry
from simulator.presets import SCENE_PRESET, get_preset
from simulator.probe import ImagingSettings, ProbeModel, SettingsError, get_probe
from simulator.probe_control import STEPS, ProbeHandle, wrap_deg
from simulator.skin import SkinSurface
from simulator.structure_kinds import structure_kinds
from simulator.tissue_edit import INJECTATE_NAME, TissueEdit, apply_edit, with_injectate_label
from simulator.volume import AcousticVolume

#: Needle used when the scene names none: (gauge, length mm) for a linear
#: probe and for a curvilinear (deep) one.
DEFAULT_NEEDLE = {"linear": (25, 38.0), "curvilinear": (22, 89.0)}
#: Depth steps of the Z / X keys, mm.
DEPTH_STEP_MM = 5.0
#: Focus steps of the V / B keys, mm.
FOCUS_STEP_MM = 2.0
#: Gain steps of the + / - keys, dB.
GAIN_STEP_DB = 1.0


class ScanSession:
    """The state a trainee changes while scanning, and the frames it asks for.

    Parameters
    ----------
    scene : scenes.Scene
        The loaded scene.
    skin : SkinSurface
        Its skin surface (the probe face stays on it).
    n_threads : int
        Threads of the B-mode engine.
    clock : callable, optional
        Returns the time in seconds (default ``time.monotonic``); events and
        the injection are stamped with it.
    relabel_in_background : bool
        Relabel the growing injectate on a helper thread (the window: no frame
        waits for it); default False: frames relabel it themselves (headless
        use, tests). Either way the image follows the injectate at most every
        ``EDIT_INTERVAL_S`` of the session clock.
    pixel_mm : float, optional
        Output pixel size of the engine (default: its own).
    seed : int, optional
        Scatterer seed of the engine (default: the scene's).

    Attributes
    ----------
    scene : scenes.Scene
    skin : SkinSurface
    probe : ProbeModel
        The probe in use (one of ``scene.spec.probe.models``).
    settings : ImagingSettings
        Current imaging settings, valid for ``probe``.
    preset : str
        Name of the last preset applied (``"scene"``: the scene's own).
    handle : ProbeHandle
        Probe position on the skin and angles.
    volume : AcousticVolume
        The scene's volume with an injectate label (the engine images it).
    kinds : tuple of str
        Kind of every label (``simulator.structure_kinds``).
    target : TargetZone or None
        The procedure's target (or the scene's target structure).
    kinematics : NeedleKinematics or None
        The needle in tissue, once placed.
    injection : Injection
        The injectate delivered so far.
    events : EventLog
        Every needle, tissue and injection event of the session.
    notice : str
        Why the last needle intent was limited (bone, tissue), or "".
    engine : BModeEngine
        Engine of the scene and probe.
    """

    #: Receives every intent as ``(t_s, name, args)`` (``simulator.app.session_journal``).
    journal: JournalFn | None = None

    def __init__(
        self,
        scene: Scene,
        skin: SkinSurface,
        n_threads: int = 2,
        clock: Callable[[], float] = time.monotonic,
        relabel_in_background: bool = False,
        pixel_mm: float | None = None,
        seed: int | None = None,
    ) -> None:
        self.scene = scene
        self.skin = skin
        self.clock = clock
        self.journal = None
        self._intent_depth = 0  # > 0 inside an intent: the intents it calls are not journaled
        # every engine of the session (one per probe chosen) is built alike
        self._engine_options = {"n_threads": n_threads, "pixel_mm": pixel_mm, "seed": seed}
        spec = scene.spec
        self.probe: ProbeModel = spec.probe.probe
        self.settings: ImagingSettings = spec.imaging
        self.preset = SCENE_PRESET
        self.handle = self.start_handle()
        # a full pose from a tracker or a replay; None: the handle's pose on the skin
        self._probe_pose: np.ndarray | None = None
        self.volume = with_injectate_label(scene.volume)
        harms = {s.name: s.harm for s in spec.structures}
        self._harms = harms
        self.kinds = structure_kinds(self.volume, harms)
        self.target = scene_target(scene, self.volume)
        self.events = EventLog()
        self.kinematics: NeedleKinematics | None = None
        # with relabelling in the background (the window), the spread is worked out
        # ahead on a helper thread too
        self._spread_pool = ThreadPoolExecutor(1) if relabel_in_background else None
        self.injection = Injection(self.volume, harms, seed=spec.seed, prefetch=self._spread_pool)
        self.notice = ""
        self._needle_gauge: int | None = None  # overrides the scene's gauge when set
        self._bolus: _Bolus | None = None  # the injection going on at one site
        self._shown_edit = self.injection.tissue_edit()
        self._shown_edit_t_s = -np.inf
        self._relabel_pool = ThreadPoolExecutor(1) if relabel_in_background else None
        self._relabel_job: tuple[TissueEdit, Future[AcousticVolume]] | None = None
        self._failed_edit: TissueEdit | None = None
        self.relabel_error = ""
        self.t0_s = clock()
        self.engine = BModeEngine(self.volume, self.probe, **self._engine_options)

    # ------------------------------------------------------------- probe
    def start_handle(self) -> ProbeHandle:
        """The scene's start pose (its ``[probe]`` section)."""
        p = self.scene.spec.probe
        return ProbeHandle.from_pose(p.position_mm, p.yaw_deg, p.tilt_deg, p.rock_deg)

    def probe2world(self) -> np.ndarray:
        """Current ``probe2world``, shape (4, 4) float64.

        The handle's pose with the face on the skin, or the full pose last
        given to :meth:`set_probe_pose` (a tracked probe, a replayed sample).
        """
        if self._probe_pose is not None:
            return self._probe_pose.copy()
        return self.handle.probe2world(self.skin)

    @journaled
    def set_handle(self, handle: ProbeHandle) -> None:
        """Put the probe at ``handle``, kept over the scene."""
        lo, hi = self.scene.spec.bounds_min_mm, self.scene.spec.bounds_max_mm
        self.handle = handle.clamped((lo[0], lo[1]), (hi[0], hi[1]))
        self._probe_pose = None

    @property
    def full_pose(self) -> bool:
        """Whether the pose is a full one (tracker, replay), not the handle's on the skin."""
        return self._probe_pose is not None

    @journaled
    def set_probe_pose(self, probe2world: np.ndarray) -> None:
        """Put the probe at a full pose, as a tracker or a replay gives it.

        The image is made from exactly this pose (the face need not touch the
        skin). The handle follows it (position over the skin, yaw, tilt, rock
        relative to the skin there), so keyboard moves continue from it.

        Parameters
        ----------
        probe2world : ndarray, shape (4, 4)
            Rigid transform, mm; its rotation must be orthonormal (1e-6).

        Raises
        ------
        ValueError
            Wrong shape, not finite, or not a rigid transform.
        """
        pose = np.asarray(probe2world, dtype=np.float64)
        if pose.shape != (4, 4) or not np.all(np.isfinite(pose)):
            raise ValueError(f"probe2world: expected a finite 4x4 matrix, got shape {pose.shape}")
        rot = pose[:3, :3]
        if not np.allclose(rot.T @ rot, np.eye(3), atol=1e-6) or np.linalg.det(rot) < 0.0:
            raise ValueError("probe2world: the rotation is not orthonormal and right-handed")
        self.handle = _handle_of(pose, self.skin)
        self._probe_pose = pose.copy()

    @journaled
    def slide(self, along_steps: float, across_steps: float, kind: str = "normal") -> None:
        """Slide along the array / across it by a number of steps of ``kind``."""
        step = STEPS[kind].move_mm
        self.set_handle(self.handle.slide(along_steps * step, across_steps * step))

    @journaled
    def slide_mm(self, along_mm: float, across_mm: float) -> None:
        """Slide along the array / across it by millimetres."""
        self.set_handle(self.handle.slide(along_mm, across_mm))

    @journaled
    def turn(self, what: str, steps: float, kind: str = "normal") -> None:
        """Rotate, tilt or rock (``what``) by a number of angle steps of ``kind``."""
        angle = steps * STEPS[kind].angle_deg
        if what == "rotate":
            self.set_handle(self.handle.rotate(angle))
        elif what == "tilt":
            self.set_handle(self.handle.tilt(angle))
        elif what == "rock":
            self.set_handle(self.handle.rock(angle))
        else:
            raise KeyError(f"unknown probe motion {what!r}: expected rotate, tilt or rock")

    @journaled
    def reset_probe(self) -> None:
        """Back to the scene's start pose."""
        self.handle = self.start_handle()
        self._probe_pose = None

    # ----------------------------------------------------------- imaging
    @journaled
    def set_settings(self, **changes: object) -> None:
        """Change imaging settings.

        Raises
        ------
        SettingsError
            When the new settings are invalid for the probe; nothing changes.
        TypeError
            For an unknown field name.
        """
        new = self.settings.with_(**changes)
        new.validate(self.probe)
        self.settings = new

    @journaled
    def step_setting(self, name: str, steps: float) -> None:
        """Step ``gain``, ``depth`` or ``focus`` by a number of key steps (clamped)."""
        s, p = self.settings, self.probe
        if name == "gain":
            self.set_settings(gain_db=min(max(s.gain_db + steps * GAIN_STEP_DB, -60.0), 60.0))
        elif name == "depth":
            depth = min(max(s.depth_mm + steps * DEPTH_STEP_MM, 10.0), p.max_depth_mm)
            self.set_settings(depth_mm=depth, focus_mm=min(s.focus_mm, depth))
        elif name == "focus":
            focus = min(max(s.focus_mm + steps * FOCUS_STEP_MM, 2.0), s.depth_mm)
            self.set_settings(focus_mm=focus)
        else:
            raise KeyError(f"unknown setting step {name!r}: expected gain, depth or focus")

    @journaled
    def apply_preset(self, name: str) -> None:
        """Apply a preset (``"scene"`` restores the scene's own settings)."""
        self.settings = self._preset_settings(name, self.probe)
        self.preset = name

    def _preset_settings(self, name: str, probe: ProbeModel) -> ImagingSettings:
        """The settings preset ``name`` gives ``probe`` (validated; nothing changes)."""
        if name == SCENE_PRESET:
            new = self.scene.spec.imaging
            if probe.name != self.scene.spec.probe.model:
                new = _fit(new, probe)
        else:
            new = get_preset(name).settings(probe, self.settings)
        new.validate(probe)
        return new

    @journaled
    def choose_probe(self, name: str) -> None:
        """Switch to another probe the scene allows; settings are refitted.

        Raises
        ------
        KeyError
            For a probe the scene does not offer (the message lists them).
        SettingsError
            When the current preset cannot be applied to that probe; nothing changes.
        """
        models = self.scene.spec.probe.models
        if name not in models:
            raise KeyError(
                f"probe {name!r} is not offered by scene {self.scene.spec.name!r}; "
                f"choose one of {', '.join(models)}"
            )
        if name == self.probe.name:
            return
        probe = get_probe(name)
        settings = self._preset_settings(self.preset, probe)  # may raise: nothing changed yet
        self.probe = probe
        old = self.engine
        self.engine = BModeEngine(self.volume, self.probe, **self._engine_options)
        shown = old.edited_volume(self._shown_edit)
        if shown is not None:
            self.engine.adopt_edit(self._shown_edit, shown)
        old.close()
        self.settings = settings

    def frame_request(self, timestamp_s: float | None = None) -> FrameRequest:
        """The frame of the current pose and settings, with the needle and the injectate."""
        t_s = self.clock() if timestamp_s is None else timestamp_s
        edit = self._edit_to_show(t_s)
        positions, amplitude = self.injection.bubbles(t_s)
        return FrameRequest(
            probe2world=self.probe2world(),
            settings=self.settings,
            timestamp_s=t_s,
            needle=self.needle_shape(),
            tissue_edit=edit if edit.n_voxels else None,
            scatterers=PointScatterers(positions, amplitude) if len(amplitude) else None,
        )

    def _edit_to_show(self, t_s: float) -> TissueEdit:
        """The injectate's tissue edit the next frame shows.

        Each new edit costs the engine a relabelling of the collection's box
        (tens of ms). Synchronously, the latest edit is shown, renewed at most
        every ``EDIT_INTERVAL_S``. With ``relabel_in_background``, the latest
        edit is relabelled on a helper thread (at most every ``EDIT_INTERVAL_S``)
        and shown once ready; frames keep the previous one meanwhile, so none
        waits.
        """
        latest = self.injection.tissue_edit()
        if latest is self._shown_edit:
            return latest
        if self._relabel_pool is None:
            if t_s - self._shown_edit_t_s >= EDIT_INTERVAL_S or t_s < self._shown_edit_t_s:
                self._shown_edit = latest
                self._shown_edit_t_s = t_s
            return self._shown_edit
        job = self._relabel_job
        if job is not None and job[1].done():
            edit, future = job
            self._relabel_job = None
            error = future.exception()
            if error is None:
                self.engine.adopt_edit(edit, future.result())
                self._shown_edit = edit
            else:  # shown to the trainee; this edit is not tried again
                self.relabel_error = f"the injectate could not be drawn: {error}"
                self._failed_edit = edit
        if (
            self._relabel_job is None
            and latest is not self._shown_edit
            and latest is not self._failed_edit
            and (t_s - self._shown_edit_t_s >= EDIT_INTERVAL_S or t_s < self._shown_edit_t_s)
        ):
            # at most every EDIT_INTERVAL_S: the relabelling shares two cores with the engine
            self._shown_edit_t_s = t_s
            self._relabel_job = (latest, self._relabel_pool.submit(apply_edit, self.volume, latest))
        return self._shown_edit

    def injection_settled(self) -> bool:
        """True when the frames show the latest injectate (nothing is being relabelled)."""
        return self._relabel_job is None and self._shown_edit is self.injection.tissue_edit()

    # ------------------------------------------------------------ needle
    @property
    def needle_gauge(self) -> int | None:
        """Gauge chosen instead of the scene's (None: the scene's)."""
        return self._needle_gauge

    @needle_gauge.setter
    def needle_gauge(self, gauge: int | None) -> None:
        self.set_needle_gauge(gauge)

    @journaled
    def set_needle_gauge(self, gauge: int | None) -> None:
        """Use a ``gauge`` needle from the next placement (None: the scene's)."""
        self._needle_gauge = None if gauge is None else int(gauge)

    def needle_kind(self) -> tuple[int, float]:
        """Gauge and length of the scene's needle, or the default for the probe."""
        proc = self.scene.spec.procedure
        if proc is not None:
            gauge, length = proc.needle.gauge, proc.needle.length_mm
        else:
            gauge, length = DEFAULT_NEEDLE.get(self.probe.kind, DEFAULT_NEEDLE["linear"])
        return (self.needle_gauge or gauge), length

    @property
    def needle(self) -> NeedlePose | None:
        """The needle's pose, once placed."""
        return None if self.kinematics is None else self.kinematics.pose

    def needle_shape(self) -> NeedleShape | None:
        """The needle as the engine draws it (None when there is none)."""
        pose = self.needle
        if pose is None:
            return None
        return NeedleShape(
            hub_mm=tuple(float(v) for v in pose.hub_mm),  # type: ignore[arg-type]
            tip_mm=tuple(float(v) for v in pose.tip_mm),  # type: ignore[arg-type]
            diameter_mm=pose.diameter_mm,
            bevel_mm=pose.bevel_length_mm,
        )

    def _new_kinematics(self) -> NeedleKinematics:
        gauge, length = self.needle_kind()
        return NeedleKinematics(
            self.volume, self.kinds, self.skin, self.target, gauge, length, log=self.events
        )

    def _moved(self, move: Move) -> Move:
        self.notice = BLOCKED_NOTICE.get(move.blocked or "", "")
        return move

    @journaled
    def place_needle(self, entry_mm: np.ndarray | None = None) -> NeedlePose:
        """Put a needle on the skin, aimed in plane at the middle of the image.

        A needle already in is first withdrawn out of the skin (its events
        are recorded), as a physician would before a new puncture.

        Parameters
        ----------
        entry_mm : ndarray, shape (3,), optional
            Skin entry point; default 5 mm beyond the probe end opposite the
            notch. Its depth is taken from the skin surface.
        """
        m = self.probe2world()
        aim_depth = 0.5 * self.settings.depth_mm
        half = 0.5 * self.probe.footprint_mm
        if self.probe.kind == "curvilinear":
            half = self.probe.radius_mm * np.sin(0.5 * self.probe.fov_rad)
        default_entry, aim = in_plane_entry(m, half, aim_depth)
        entry = default_entry if entry_mm is None else np.asarray(entry_mm, dtype=np.float64)
        entry = np.array([entry[0], entry[1], float(self.skin.height_mm(entry[0], entry[1]))])
        if aim[2] <= entry[2]:  # a steep rock could lift the aim above the entry
            aim = entry + np.array([0.0, 0.0, aim_depth])
        gauge, length = self.needle_kind()
        pose = aimed_at(entry, aim, gauge=gauge, length_mm=length)
        self._withdraw_out()
        k = self.kinematics
        if k is None or (k.gauge, k.length_mm) != (gauge, length):
            self.kinematics = self._new_kinematics()
        self._moved(
            self.kinematics.place(pose.entry_mm, pose.heading_deg, pose.angle_deg, self.clock())
        )
        return self.kinematics.pose  # type: ignore[return-value]

    def _withdraw_out(self) -> None:
        self.finish_injection()
        k = self.kinematics
        if k is not None and k.inserted:
            k.advance(-k.depth_mm - 1.0, self.clock())

    @journaled
    def advance(self, steps: float, kind: str = "normal") -> Move | None:
        """Advance (steps > 0) or withdraw the needle by key steps of ``kind``."""
        if self.kinematics is None or self.kinematics.pose is None:
            return None
        return self._moved(self.kinematics.advance(steps * STEPS[kind].move_mm, self.clock()))

    @journaled
    def advance_mm(self, d_mm: float) -> Move | None:
        """Advance (d_mm > 0) or withdraw the needle by ``d_mm`` millimetres."""
        if self.kinematics is None or self.kinematics.pose is None:
            return None
        return self._moved(self.kinematics.advance(d_mm, self.clock()))

    @journaled
    def steer(self, what: str, steps: float, kind: str = "normal") -> Move | None:
        """Redirect: ``"angle"`` steeper/shallower or ``"heading"`` left/right."""
        if self.kinematics is None or self.kinematics.pose is None:
            return None
        d = steps * STEPS[kind].angle_deg
        if what == "angle":
            move = self.kinematics.redirect(d_angle_deg=d, t_s=self.clock())
        elif what == "heading":
            move = self.kinematics.redirect(d_heading_deg=d, t_s=self.clock())
        else:
            raise KeyError(f"unknown needle redirect {what!r}: expected angle or heading")
        return self._moved(move)

    @journaled
    def set_needle_tip(self, entry_mm: np.ndarray, tip_mm: np.ndarray) -> Move:
        """Put the needle through ``entry_mm`` with its tip at ``tip_mm`` (world mm).

        For a tracked needle and for ``main.py render``: the hand, not the
        tissue, decides the pose, but bone still stops the tip and every
        event along the path is recorded.
        """
        k = self.kinematics
        if k is None or (k.gauge, k.length_mm) != self.needle_kind():
            self.finish_injection()
            self.kinematics = self._new_kinematics()
        entry = np.asarray(entry_mm, dtype=np.float64).reshape(3)
        tip = np.asarray(tip_mm, dtype=np.float64).reshape(3)
        return self._moved(self.kinematics.set_tip(entry, tip, self.clock()))

    def restore_needle(self, pose: NeedlePose, tip_mm: np.ndarray | None = None) -> None:
        """Put a needle back in a recorded pose without logging any event.

        For a replay's start state (``session_journal.restore``): a needle
        resting on the skin comes back exactly (its own gauge and length); an
        inserted one along the same line, entry to ``tip_mm``, without the track
        the tissue held.
        """
        k = NeedleKinematics(
            self.volume,
            self.kinds,
            self.skin,
            self.target,
            pose.gauge,
            pose.length_mm,
            pose.bevel_deg,
        )
        if pose.inserted:
            tip = pose.tip_mm if tip_mm is None else np.asarray(tip_mm, dtype=np.float64)
            k.set_tip(np.asarray(pose.entry_mm, dtype=np.float64), tip, self.clock())
        else:
            k.rest(pose)
        k.log = self.events
        self.kinematics = k
        self.notice = ""

    @journaled
    def remove_needle(self) -> None:
        """Withdraw the needle out of the skin and put it away."""
        self._withdraw_out()
        self.kinematics = None
        self.notice = ""

    @journaled
    def reset_tissue(self) -> None:
        """Fresh tissue for the next attempt: needle out, no injectate, no track.

        The probe, the imaging settings and the event log stay; the next
        frames show the tissue as the scene made it.
        """
        # the tissue is replaced, not withdrawn through: no leave/exit events for a needle
        # that is simply put away
        self.kinematics = None
        job = self._relabel_job
        if job is not None:  # let the helper finish with the old collection, then drop it
            job[1].exception()
            self._relabel_job = None
        self._bolus = None
        self._failed_edit = None
        self.relabel_error = ""
        self.injection = Injection(
            self.volume, self._harms, seed=self.scene.spec.seed, prefetch=self._spread_pool
        )
        self._shown_edit = self.injection.tissue_edit()
        self._shown_edit_t_s = -np.inf
        self.notice = ""

    # --------------------------------------------------------- injection
    def _tip_event(self, kind: str, detail: str) -> NeedleEvent:
        k = self.kinematics
        assert k is not None and k.pose is not None
        ev = make_event(self.clock(), kind, k.tip_mm, k.depth_mm, k.structure_at_tip, detail)
        self.events.append(ev)
        return ev

    @journaled
    def aspirate(self) -> Aspiration | None:
        """Pull back on the plunger: blood flashes back if the tip is in a vessel.

        Returns
        -------
        Aspiration or None
            None without a needle in the skin.
        """
        k = self.kinematics
        if k is None or not k.inserted:
            return None
        result = self.injection.aspirate(k.tip_mm)
        if result.blood:
            detail = f"blood ({result.kind})" if result.kind else "blood"
        elif result.fluid:
            detail = "fluid"
        else:
            detail = "clear"
        self._tip_event("aspiration", detail)
        return result

    @journaled
    def inject(self, volume_ml: float) -> InjectResult | None:
        """Push ``volume_ml`` millilitres at the needle tip.

        Returns
        -------
        InjectResult or None
            None without a needle in the skin. High resistance (tip in a
            nerve or tendon) and intravascular injection are recorded as
            events with their warning, once per injection site; the
            ``injection`` event with the volume of a site is recorded when that
            bolus ends (:meth:`finish_injection`, a new site, the needle out).

        Raises
        ------
        ValueError
            If ``volume_ml`` is not a finite number.
        """
        if not np.isfinite(volume_ml):
            raise ValueError(f"inject volume_ml = {volume_ml}: expected a finite volume in ml")
        k = self.kinematics
        if k is None or not k.inserted or volume_ml <= 0.0:
            return None
        before = self.injection.site_mm
        result = self.injection.inject(k.tip_mm, volume_ml, self.clock())
        site = self.injection.site_mm
        if site != before or self._bolus is None:
            self.finish_injection()
            where = result.site_structure
            if where == INJECTATE_NAME:  # the tip sits in its own earlier collection
                where = k.structure_at_tip or where
            self._bolus = _Bolus(site, where, result.outcome)
            if result.outcome == "intravascular":
                self._tip_event("intravascular_injection", result.warning or "")
            elif result.resistance == "high":
                self._tip_event("high_resistance", result.warning or "")
        self._bolus.ml += result.delivered_ml
        return result

    @property
    def bolus_open(self) -> bool:
        """Whether an injection is going on whose ``injection`` event is not logged yet."""
        return self._bolus is not None

    @journaled
    def finish_injection(self) -> NeedleEvent | None:
        """Record the ``injection`` event of the bolus given so far (ml, outcome, where).

        Returns
        -------
        NeedleEvent or None
            None if nothing was injected since the last one.
        """
        bolus, self._bolus = self._bolus, None
        if bolus is None or bolus.ml <= 0.0 or self.kinematics is None:
            return None
        k = self.kinematics
        if k.pose is None:
            return None
        detail = f"{bolus.ml:.2f} ml {bolus.outcome} in {bolus.structure}"
        return self._tip_event("injection", detail)

    def close(self) -> None:
        """Free the engine's threads."""
        self.engine.close()
        if self._relabel_pool is not None:
            self._relabel_pool.shutdown(wait=False)
        if self._spread_pool is not None:
            self._spread_pool.shutdown(wait=False)


#: Shortest time between two injectate updates of the image, s.
EDIT_INTERVAL_S = 0.4
#: What the trainee is told when a needle intent is limited, by ``Move.blocked``.
BLOCKED_NOTICE = {
    "bone": "Bone contact: the needle cannot go further.",
    "tissue": "Tissue resists: withdraw to the subcutaneous tissue to redirect.",
    "length": "The hub is at the skin: the needle is in to its full length.",
    "angle": "Insertion angle limit reached.",
}


@dataclass
class _Bolus:
    """The injection going on at one site: where, what it did, how much so far."""

    site_mm: tuple[float, float, float] | None
    structure: str
    outcome: str
    ml: float = 0.0


def _handle_of(probe2world: np.ndarray, skin: SkinSurface) -> ProbeHandle:
    """The handle nearest a full pose: face over (x, y), angles relative to the skin there."""
    x_mm, y_mm = float(probe2world[0, 3]), float(probe2world[1, 3])
    # the elevation (y) axis is untouched by rock and stays in the skin's y-z plane under
    # tilt, so its projection on the skin gives the yaw (exact on a flat skin)
    elev = probe2world[:3, 1]
    yaw_deg = math.degrees(math.atan2(-elev[0], elev[1]))
    rel = skin.surface_frame(x_mm, y_mm, yaw_deg).T @ probe2world[:3, :3]  # Rx(tilt) @ Ry(rock)
    rock_deg = math.degrees(math.atan2(rel[0, 2], rel[0, 0]))
    tilt_deg = math.degrees(math.atan2(rel[2, 1], rel[1, 1]))
    return ProbeHandle(x_mm, y_mm, wrap_deg(yaw_deg), tilt_deg, rock_deg)


def scene_target(scene: Scene, volume: AcousticVolume) -> TargetZone | None:
    """The procedure's target, else the scene's first target structure, else None."""
    proc = scene.spec.procedure
    if proc is not None:
        return TargetZone.from_spec(proc.target, volume)
    for s in scene.spec.structures:
        if s.role == "target":
            label = volume.structure_index(s.name)
            idx = np.argwhere(volume.labels == label)
            centre = (
                volume.origin_mm + volume.spacing_mm * idx.mean(axis=0) if len(idx) else np.zeros(3)
            )
            return TargetZone(label, tuple(float(v) for v in centre), None, s.name)  # type: ignore[arg-type]
    return None


def _fit(settings: ImagingSettings, probe: ProbeModel) -> ImagingSettings:
    """``settings`` brought inside what ``probe`` offers (band, depth)."""
    depth = min(settings.depth_mm, probe.max_depth_mm)
    freq = min(max(settings.freq_mhz, probe.freq_min_mhz), probe.freq_max_mhz)
    return replace(settings, depth_mm=depth, freq_mhz=freq, focus_mm=min(settings.focus_mm, depth))


__all__ = ["ScanSession", "SettingsError"]
