"""The needle in tissue: pivot at the skin, resisted redirects, bone stops, events.

``NeedleKinematics`` turns the intents of the controls (place, advance,
withdraw, redirect) or the poses of a tracked needle into a
:class:`~simulator.needle_pose.NeedlePose` that respects the tissue, and
reports every contact and tissue event along the way, in path order.

Model (assumptions, chosen for training feel; see the constants):

- Once through the skin the needle pivots about its skin entry point; the
  entry cannot move while the needle is in.
- The shaft is *free* while it lies only in skin and subcutaneous fat, or is
  in by no more than ``FREE_DEPTH_MM``: redirecting there is unrestricted.
  Deeper, the tissue holds the *track* the needle cut: the shaft may deviate
  from it only by the elastic allowance ``atan(deflection_mm(gauge) / depth)``
  (the needle bends; thinner needles bend more). A redirect beyond that is
  clamped and ``redirect_resisted`` tells the trainee to withdraw to the
  subcutaneous tissue first. Advancing deeper shrinks the allowance, so the
  tissue straightens the needle back toward its track.
- Bone cannot be entered: the tip stops ``BONE_STANDOFF_MM`` short of it
  (``bone_contact``, once per contact, re-armed when the tip has moved
  ``BONE_REARM_MM`` away). Cartilage is penetrable.
- A tracked needle (``set_tip``) cannot be pushed back by tissue, but bone
  still stops the displayed tip and events still fire in path order.

Paths are sampled every half voxel or finer; each crossing is then located
by bisection, so a fast 10 mm move through thin layers reports every layer,
in order, at its true depth. Labels are those of the scene's anatomy (tissue
edits such as injectate are not seen here).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from simulator.needle_events import (
    OUTSIDE,
    EventLog,
    NeedleEvent,
    TargetZone,
    TipClassifier,
    TipStates,
    make_event,
)
from simulator.needle_pose import (
    DEFAULT_BEVEL_DEG,
    MAX_ANGLE_DEG,
    MIN_ANGLE_DEG,
    NeedlePose,
    heading_angle_of,
    outer_diameter_mm,
)
from simulator.skin import SkinSurface
from simulator.volume import AcousticVolume

#: Lateral tip deflection the tissue lets a needle bend by at depth, mm, by
#: gauge (assumption for training feel, increasing as the needle thins:
#: 25G ~2 mm, 22G ~1.5 mm, 18G ~0.8 mm; the others interpolated).
DEFLECTION_MM: Mapping[int, float] = {
    18: 0.8,
    20: 1.1,
    21: 1.3,
    22: 1.5,
    23: 1.7,
    25: 2.0,
    27: 2.3,
    30: 2.6,
}
#: Depth along the shaft within which redirecting is always free (skin plus
#: a little subcutis), mm.
FREE_DEPTH_MM = 4.0
#: Kinds the shaft may lie in and still be redirected freely.
SUBCUTANEOUS_KINDS = frozenset({"skin", "fat"})
#: Kinds the tip cannot enter.
IMPENETRABLE_KINDS = frozenset({"bone"})
#: Gap left between the stopped tip and the bone surface, mm.
BONE_STANDOFF_MM = 0.05
#: Distance the tip must move away from a bone contact before another fires, mm.
BONE_REARM_MM = 0.5
#: Bisection steps locating each crossing (interval / 2**steps).
BISECT_STEPS = 12

_EPS = 1e-9
_RESIST_DETAIL = "withdraw to the subcutaneous tissue to redirect"


def deflection_mm(gauge: int) -> float:
    """Lateral deflection allowance of a ``gauge`` needle at depth, mm (``DEFLECTION_MM``)."""
    outer_diameter_mm(gauge)  # validates the gauge with a clear message
    return DEFLECTION_MM[int(gauge)]


@dataclass
class Move:
    """What one intent did.

    Attributes
    ----------
    events : list of NeedleEvent
        Events it caused, in path order.
    blocked : str or None
        Why the intent was limited: ``"bone"`` (tip stopped at bone),
        ``"tissue"`` (redirect clamped by the track), ``"length"`` (hub at the
        skin), ``"angle"`` (insertion angle outside 5..90 deg); None if not.
    pose : NeedlePose
        The pose after the move.
    """

    events: list[NeedleEvent] = field(default_factory=list)
    blocked: str | None = None
    pose: NeedlePose | None = None


#: A path of the tip: u in [0, 1] (shape (n,)) -> points (n, 3), depth (n,), inside (n,).
Path = Callable[[np.ndarray], tuple[np.ndarray, np.ndarray, np.ndarray]]


class NeedleKinematics:
    """A needle driven through a scene's tissue.

    Parameters
    ----------
    volume : AcousticVolume
        The scene's label grid.
    kinds : sequence of str
        Kind of every label (``simulator.structure_kinds.structure_kinds``).
    skin : SkinSurface
        The skin surface (entry points are put on it).
    target : TargetZone, optional
        The procedure's target, for ``target_reached`` / ``target_left``.
    gauge : int
        Needle gauge.
    length_mm : float
        Shaft length, mm.
    bevel_deg : float
        Bevel angle, degrees.
    free_depth_mm : float
        Depth along the shaft within which redirecting is always free, mm.
    log : EventLog, optional
        If given, every event is also appended to it.
    """

    def __init__(
        self,
        volume: AcousticVolume,
        kinds: Sequence[str],
        skin: SkinSurface,
        target: TargetZone | None = None,
        gauge: int = 22,
        length_mm: float = 50.0,
        bevel_deg: float = DEFAULT_BEVEL_DEG,
        *,
        free_depth_mm: float = FREE_DEPTH_MM,
        log: EventLog | None = None,
    ) -> None:
        if len(kinds) != len(volume.structures):
            raise ValueError(
                f"kinds has {len(kinds)} entries: expected one per label "
                f"({len(volume.structures)} structures)"
            )
        if not free_depth_mm >= 0.0:
            raise ValueError(f"free_depth_mm = {free_depth_mm}: expected >= 0 mm")
        # validate the needle once
        NeedlePose((0.0, 0.0, 0.0), 0.0, 30.0, 0.0, gauge, length_mm, bevel_deg)
        self.volume = volume
        self.kinds = tuple(kinds)
        self.skin = skin
        self.target = target
        self._tips = TipClassifier(volume, self.kinds, target)
        self.gauge = int(gauge)
        self.length_mm = float(length_mm)
        self.bevel_deg = float(bevel_deg)
        self.free_depth_mm = float(free_depth_mm)
        self.log = log
        self._names = self._tips.names
        # per-label lookups with one extra slot, index -1, for "outside the body"
        k = np.array([*self.kinds, "outside"], dtype=object)
        self._bone = np.isin(k, list(IMPENETRABLE_KINDS))
        self._subcut = np.isin(k, list(SUBCUTANEOUS_KINDS))
        self._subcut[-1] = True
        self._step_mm = 0.5 * float(volume.spacing_mm)
        self._pose: NeedlePose | None = None
        self._track: np.ndarray | None = None
        self._state = OUTSIDE
        self._bone_armed = True
        self._bone_point: np.ndarray | None = None
        self._resist_armed = True
        self._punctures: list[tuple[float, tuple[float, float, float]]] = []

    # ------------------------------------------------------------------ state
    @property
    def pose(self) -> NeedlePose | None:
        """The needle's pose, None before :meth:`place`."""
        return self._pose

    @property
    def tip_mm(self) -> np.ndarray:
        """Tip position, world mm, shape (3,)."""
        return self._need_pose().tip_mm

    @property
    def depth_mm(self) -> float:
        """Shaft length inside the body, mm (0 before placing)."""
        return 0.0 if self._pose is None else self._pose.depth_mm

    @property
    def inserted(self) -> bool:
        """True while the tip is under the skin."""
        return self._pose is not None and self._pose.inserted

    @property
    def punctures(self) -> list[tuple[float, tuple[float, float, float]]]:
        """Every skin puncture: ``(t_s, entry_mm)``, oldest first."""
        return list(self._punctures)

    @property
    def label_at_tip(self) -> int | None:
        """Label of the structure at the tip, None outside the body."""
        return None if self._state[0] < 0 else int(self._state[0])

    @property
    def structure_at_tip(self) -> str | None:
        """Name of the structure at the tip, None outside the body."""
        lab = self.label_at_tip
        return None if lab is None else self._names[lab]

    @property
    def kind_at_tip(self) -> str | None:
        """Kind of the structure at the tip, None outside the body."""
        lab = self.label_at_tip
        return None if lab is None else self.kinds[lab]

    @property
    def in_target(self) -> bool:
        """True while the tip is in the target."""
        return bool(self._state[3])

    @property
    def track_direction(self) -> np.ndarray | None:
        """Unit direction of the track the tissue holds, None while the shaft is free."""
        return None if self._track is None else self._track.copy()

    @property
    def allowance_deg(self) -> float | None:
        """How far the shaft may now deviate from its track, degrees; None if free."""
        if self._track is None or self._pose is None:
            return None
        return math.degrees(self._allowance_rad(self._pose.depth_mm))

    @property
    def bend_mm(self) -> float:
        """Lateral deflection of the tip from the track, mm (0 while free)."""
        if self._track is None or self._pose is None:
            return 0.0
        dev = _angle_between(self._track, self._pose.direction)
        return float(self._pose.depth_mm * math.sin(dev))

    # ------------------------------------------------------------------ intents
    def place(
        self,
        entry_mm: Sequence[float] | np.ndarray,
        heading_deg: float,
        angle_deg: float,
        t_s: float,
    ) -> Move:
        """Rest the needle on the skin at ``entry_mm`` (depth 0).

        The entry is put on the skin surface (its z is the skin's). While the
        needle is inserted the entry cannot move; the same entry with a new
        heading or angle is a :meth:`redirect`.

        Raises
        ------
        ValueError
            If the needle is inserted and the entry differs, or the angle is
            outside 5..90 degrees.
        """
        e = np.asarray(entry_mm, dtype=np.float64)
        if e.shape != (3,) or not np.all(np.isfinite(e)):
            raise ValueError(f"entry_mm {tuple(e.ravel())}: expected 3 finite coordinates in mm")
        e[2] = float(self.skin.height_mm(e[0], e[1]))
        if self._pose is not None and self._pose.inserted:
            if np.linalg.norm(e - np.asarray(self._pose.entry_mm)) > 1e-6:
                raise ValueError(
                    f"the needle is in {self._pose.depth_mm:.1f} mm deep: withdraw it out of "
                    "the skin before moving the entry point"
                )
            return self.redirect(
                angle_deg - self._pose.angle_deg, heading_deg - self._pose.heading_deg, t_s
            )
        if not MIN_ANGLE_DEG <= angle_deg <= MAX_ANGLE_DEG:
            raise ValueError(
                f"needle angle_deg = {angle_deg}: expected {MIN_ANGLE_DEG}..{MAX_ANGLE_DEG} deg"
            )
        pose = NeedlePose(
            tuple(float(v) for v in e),  # type: ignore[arg-type]
            float(heading_deg),
            float(angle_deg),
            0.0,
            self.gauge,
            self.length_mm,
            self.bevel_deg,
        )
        self._rest_at(pose)
        return Move([], None, pose)

    def rest(self, pose: NeedlePose) -> None:
        """Put the needle back exactly at a recorded pose resting on the skin (a replay's
        start state): no check, no event, nothing moved onto the skin.

        Raises
        ------
        ValueError
            If ``pose`` is inserted (depth > 0) or is another needle (gauge, length).
        """
        if pose.inserted:
            raise ValueError("rest: the pose is inserted; only a needle on the skin rests")
        if (pose.gauge, pose.length_mm) != (self.gauge, self.length_mm):
            raise ValueError(
                f"rest: a {pose.gauge} G {pose.length_mm} mm pose on a "
                f"{self.gauge} G {self.length_mm} mm needle"
            )
        self._rest_at(pose)

    def _rest_at(self, pose: NeedlePose) -> None:
        """The needle on the skin at ``pose``: no track, outside, every warning re-armed."""
        self._pose = pose
        self._track = None
        self._state = OUTSIDE
        self._bone_armed = True
        self._bone_point = None
        self._resist_armed = True

    def advance(self, d_mm: float, t_s: float) -> Move:
        """Push the needle in by ``d_mm`` along the shaft (negative withdraws).

        Stops short of bone (``blocked="bone"``) and at the hub
        (``blocked="length"``); withdrawing stops at the skin (depth 0).
        """
        pose = self._need_pose()
        s0 = pose.depth_mm
        want = s0 + float(d_mm)
        s1 = min(max(want, 0.0), pose.length_mm)
        blocked = "length" if want > pose.length_mm + _EPS else None
        if abs(s1 - s0) < _EPS:
            return self._finish(Move([], blocked, pose))
        entry = np.asarray(pose.entry_mm, dtype=np.float64)
        dir_at = self._advance_directions(pose, s1 > s0)

        def path_to(s_end: float) -> Path:
            def path(u: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
                s = s0 + u * (s_end - s0)
                return entry + s[:, None] * dir_at(s), s, s > _EPS

            return path

        events: list[NeedleEvent] = []
        hit = self._first_impenetrable(path_to(s1), abs(s1 - s0))
        s_end = s1
        if hit is not None:
            u_b, point_b = hit
            s_b = s0 + u_b * (s1 - s0)
            sign = 1.0 if s1 > s0 else -1.0
            s_end = s_b - sign * BONE_STANDOFF_MM
            s_end = max(s_end, s0) if sign > 0 else min(s_end, s0)
            blocked = "bone"
        if abs(s_end - s0) > _EPS:
            events += self._trace(
                path_to(s_end), abs(s_end - s0), t_s, entry, withdrawing=s_end < s0
            )
        d_end = dir_at(np.array([s_end]))[0]
        heading, angle = heading_angle_of(d_end, pose.heading_deg)
        self._pose = replace(pose, heading_deg=heading, angle_deg=angle, depth_mm=s_end)
        if hit is not None:
            events += self._bone_event(point_b, t_s)
        self._resist_armed = True
        return self._finish(Move(events, blocked, self._pose))

    def redirect(
        self, d_angle_deg: float = 0.0, d_heading_deg: float = 0.0, t_s: float = 0.0
    ) -> Move:
        """Turn the needle about its skin entry point.

        Free while the shaft is free (see the module notes); deeper, the
        deviation from the track is clamped to the allowance
        (``blocked="tissue"`` and a ``redirect_resisted`` event). A turn that
        would sweep the shaft into bone stops before it (``"bone"``).
        """
        pose = self._need_pose()
        want = pose.redirected(d_angle_deg, d_heading_deg)
        blocked = None
        if abs(want.angle_deg - (pose.angle_deg + d_angle_deg)) > 1e-9:
            blocked = "angle"
        d0 = pose.direction
        d1 = want.direction
        depth = pose.depth_mm
        if depth <= _EPS:
            self._pose = want
            return self._finish(Move([], blocked, want))
        events: list[NeedleEvent] = []
        resisted = False
        if self._track is not None:
            allow = self._allowance_rad(depth)
            if _angle_between(self._track, d1) > allow + 1e-9:
                d1 = _rotate_toward(self._track, d1, allow)
                blocked = "tissue"
                resisted = True
        sweep = _angle_between(d0, d1)
        entry = np.asarray(pose.entry_mm, dtype=np.float64)
        point_b = None
        if sweep > 1e-12:
            f_stop, point_b = self._sweep_limit(entry, d0, d1, depth, sweep)
            if f_stop < 1.0:
                d1 = _slerp(d0, d1, np.array([f_stop]))[0]
                blocked = "bone"
                sweep = _angle_between(d0, d1)
            if sweep > 1e-12:
                d_from, d_to = d0, d1

                def path(u: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
                    pts = entry + depth * _slerp(d_from, d_to, u)
                    return pts, np.full(len(u), depth), np.ones(len(u), dtype=bool)

                events += self._trace(path, depth * sweep, t_s, entry)
            if point_b is not None:
                events += self._bone_event(point_b, t_s)
        heading, angle = heading_angle_of(d1, want.heading_deg)
        self._pose = replace(pose, heading_deg=heading, angle_deg=angle)
        if resisted:
            if self._resist_armed:
                allow_deg = math.degrees(self._allowance_rad(depth))
                events.append(
                    self._event(
                        t_s,
                        "redirect_resisted",
                        self._pose.tip_mm,
                        self.structure_at_tip,
                        f"{_RESIST_DETAIL} (allowance {allow_deg:.1f} deg at {depth:.0f} mm)",
                    )
                )
            self._resist_armed = False
        else:
            self._resist_armed = True
        return self._finish(Move(events, blocked, self._pose))

    def set_tip(
        self,
        entry_mm: Sequence[float] | np.ndarray,
        tip_mm: Sequence[float] | np.ndarray,
        t_s: float,
    ) -> Move:
        """Follow a tracked needle: its skin entry and tip, world mm.

        Tissue cannot push back a hand, so the pose follows the tracker; but
        the displayed tip stops at bone (``bone_contact``) and the events of
        the tip's path (from the previous tip, or from the entry if the needle
        was out) fire in order. A tip above the skin gives a needle resting
        on the skin at ``entry_mm`` (depth 0), pointing along the shaft.
        """
        e = np.asarray(entry_mm, dtype=np.float64)
        tip = np.asarray(tip_mm, dtype=np.float64)
        if e.shape != (3,) or tip.shape != (3,) or not np.all(np.isfinite([*e, *tip])):
            raise ValueError("set_tip: entry_mm and tip_mm must be 3 finite coordinates in mm")
        old = self._pose
        v = tip - e
        length = float(np.linalg.norm(v))
        inside = length > _EPS and tip[2] > float(self.skin.height_mm(tip[0], tip[1])) + _EPS
        blocked = None
        if inside:
            direction = v / length
            depth = min(length, self.length_mm)
            if length > self.length_mm + _EPS:
                blocked = "length"
        else:
            depth = 0.0
            if length > _EPS and v[2] < 0.0:
                direction = -v / length  # hovering: the shaft points at the entry
            else:
                direction = old.direction if old is not None else np.array([0.0, 0.0, 1.0])
        hit = None
        if depth > _EPS:

            def shaft(u: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
                s = u * depth
                return e + s[:, None] * direction, s, s > _EPS

            hit = self._first_impenetrable(shaft, depth)
            if hit is not None:
                depth = max(hit[0] * depth - BONE_STANDOFF_MM, 0.0)
                blocked = "bone"
        default_heading = old.heading_deg if old is not None else 0.0
        heading, angle = heading_angle_of(direction, default_heading)
        new = NeedlePose(
            tuple(float(x) for x in e),  # type: ignore[arg-type]
            heading,
            angle,
            depth,
            self.gauge,
            self.length_mm,
            self.bevel_deg,
        )
        was_in = old is not None and self._state[0] >= 0
        tip0 = old.tip_mm if was_in else e
        entry0 = np.asarray(old.entry_mm) if was_in else e
        tip1 = new.tip_mm

        def path(u: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
            pts = tip0 + u[:, None] * (tip1 - tip0)
            ent = entry0 + u[:, None] * (e - entry0)
            under = pts[:, 2] > np.asarray(self.skin.height_mm(pts[:, 0], pts[:, 1])) + _EPS
            dep = np.where(under, np.linalg.norm(pts - ent, axis=1), 0.0)
            return pts, dep, under

        events: list[NeedleEvent] = []
        dist = float(np.linalg.norm(tip1 - tip0))
        withdrawing = (
            was_in
            and depth < old.depth_mm  # type: ignore[union-attr]
            and float(np.linalg.norm(e - entry0)) < BONE_REARM_MM
            and float(np.dot(direction, old.direction)) > math.cos(math.radians(1.0))  # type: ignore[union-attr]
        )
        if dist > _EPS:
            events += self._trace(
                path, dist, t_s, e, skip_impenetrable=True, withdrawing=withdrawing
            )
        self._pose = new
        self._track = None
        if hit is not None:
            events += self._bone_event(hit[1], t_s)
        self._resist_armed = True
        return self._finish(Move(events, blocked, new))

    # ------------------------------------------------------------------ internals
    def _need_pose(self) -> NeedlePose:
        if self._pose is None:
            raise ValueError("the needle is not placed: call place(entry_mm, ...) first")
        return self._pose

    def _allowance_rad(self, depth_mm: float | np.ndarray) -> Any:
        """Elastic deviation allowance from the track at ``depth_mm``, radians."""
        return np.arctan(deflection_mm(self.gauge) / np.maximum(depth_mm, _EPS))

    def _advance_directions(self, pose: NeedlePose, deeper: bool) -> Callable:
        """Shaft direction as a function of depth during an advance (s -> (n, 3))."""
        d0 = pose.direction
        track = self._track
        dev0 = 0.0 if track is None else _angle_between(track, d0)
        if track is None or not deeper or dev0 < 1e-12:
            return lambda s: np.broadcast_to(d0, (len(s), 3))
        perp = d0 - np.dot(d0, track) * track
        perp /= np.linalg.norm(perp)

        def dir_at(s: np.ndarray) -> np.ndarray:
            dev = np.minimum(dev0, self._allowance_rad(np.asarray(s)))
            return np.cos(dev)[:, None] * track + np.sin(dev)[:, None] * perp

        return dir_at

    def _labels(self, points_mm: np.ndarray) -> np.ndarray:
        return self._tips.labels(points_mm)

    def _samples(self, length_mm: float) -> np.ndarray:
        """Path parameters (0, 1] with steps of at most half a voxel along ``length_mm``."""
        n = max(1, math.ceil(length_mm / self._step_mm))
        return np.linspace(0.0, 1.0, n + 1)[1:]

    @staticmethod
    def _bisect(lo: np.ndarray, hi: np.ndarray, differs: Callable) -> np.ndarray:
        """Smallest u in (lo, hi] where ``differs(u)`` holds, per interval (to 2**-steps)."""
        lo, hi = lo.copy(), hi.copy()
        for _ in range(BISECT_STEPS):
            mid = 0.5 * (lo + hi)
            d = differs(mid)
            hi = np.where(d, mid, hi)
            lo = np.where(d, lo, mid)
        return hi

    def _first_impenetrable(self, path: Path, length_mm: float) -> tuple[float, np.ndarray] | None:
        """First u of ``path`` in bone, and the bone surface point, or None."""
        u = self._samples(length_mm)
        pts, _, inside = path(u)
        bone = inside & self._bone[np.where(inside, self._labels(pts), -1)]
        if not bone.any():
            return None
        k = int(np.argmax(bone))
        lo = np.array([u[k - 1] if k else 0.0])

        def differs(x: np.ndarray) -> np.ndarray:
            p, _, ins = path(x)
            return ins & self._bone[np.where(ins, self._labels(p), -1)]

        ub = self._bisect(lo, u[k : k + 1], differs)
        return float(ub[0]), path(ub)[0][0]

    def _sweep_limit(
        self, entry: np.ndarray, d0: np.ndarray, d1: np.ndarray, depth: float, sweep: float
    ) -> tuple[float, np.ndarray | None]:
        """Largest fraction of the turn d0 -> d1 keeping the shaft out of bone.

        Returns
        -------
        f_stop : float
            1.0 if the whole turn is clear.
        point : ndarray, shape (3,), or None
            Where the shaft first meets bone.
        """
        s = depth * self._samples(depth)  # along the shaft, (m,)
        f = self._samples(depth * sweep)  # along the turn, (n,)

        def bone_along(fr: np.ndarray) -> np.ndarray:
            dirs = _slerp(d0, d1, fr)  # (n, 3)
            pts = entry + s[None, :, None] * dirs[:, None, :]
            return self._bone[self._labels(pts)]  # (n, m)

        hit = bone_along(f).any(axis=1)
        if not hit.any():
            return 1.0, None
        k = int(np.argmax(hit))
        lo = np.array([f[k - 1] if k else 0.0])
        fb = float(self._bisect(lo, f[k : k + 1], lambda x: bone_along(x).any(axis=1))[0])
        row = bone_along(np.array([fb]))[0]
        point = entry + s[int(np.argmax(row))] * _slerp(d0, d1, np.array([fb]))[0]
        f_stop = max(fb - BONE_STANDOFF_MM / (depth * sweep), 0.0)
        if k == 0 and fb <= 1.0 / 2**BISECT_STEPS:
            f_stop = 0.0
        return f_stop, point

    def _trace(
        self,
        path: Path,
        length_mm: float,
        t_s: float,
        entry: np.ndarray,
        skip_impenetrable: bool = False,
        withdrawing: bool = False,
    ) -> list[NeedleEvent]:
        """Events along ``path`` from the stored tip state; updates the state.

        ``withdrawing``: the tip backs out along its own track, so crossing a
        nerve, vessel or tendon again is no new injury (enter/leave and the
        target events still fire).
        """
        u = self._samples(max(length_mm, _EPS))
        pts, depth, inside = path(u)
        st = self._tips.states(pts, inside)
        if skip_impenetrable:
            keep = ~self._bone[st.label]
            u, pts, depth = u[keep], pts[keep], depth[keep]
            st = TipStates(*(a[keep] for a in st))
        if len(u) == 0:
            return []
        prev = [np.concatenate([[p], a[:-1]]) for p, a in zip(self._state, st, strict=True)]
        prev = TipStates(*(np.asarray(p, dtype=a.dtype) for p, a in zip(prev, st, strict=True)))
        idx = np.flatnonzero(st.differs(prev))
        events: list[NeedleEvent] = []
        if idx.size:
            u_prev = np.concatenate([[0.0], u[:-1]])
            ref = TipStates(*(a[idx] for a in prev))

            def differs(x: np.ndarray) -> np.ndarray:
                p, _, ins = path(x)
                return self._tips.states(p, ins).differs(ref)

            ux = self._bisect(u_prev[idx], u[idx], differs)
            xpts, xdepth, _ = path(ux)
            for j, k in enumerate(idx):
                events += self._tips.events(
                    t_s,
                    xpts[j],
                    float(xdepth[j]),
                    TipStates(*(a[k] for a in prev)),
                    TipStates(*(a[k] for a in st)),
                    entry,
                    withdrawing,
                )
        self._state = TipStates(*(a[-1].item() for a in st))
        for e in events:
            if e.kind == "skin_puncture":
                self._punctures.append((e.t_s, e.position_mm))
        return events

    def _event(
        self, t_s: float, kind: str, point: np.ndarray, structure: str | None, detail: str = ""
    ) -> NeedleEvent:
        return make_event(t_s, kind, point, self.depth_mm, structure, detail)

    def _bone_event(self, point: np.ndarray, t_s: float) -> list[NeedleEvent]:
        """``bone_contact`` at ``point`` if armed; disarms."""
        self._bone_point = np.asarray(point, dtype=np.float64)
        if not self._bone_armed:
            return []
        self._bone_armed = False
        lab = int(self._labels(point[None, :])[0])
        return [self._event(t_s, "bone_contact", point, self._names[lab], self.kinds[lab])]

    def _shaft_is_free(self, pose: NeedlePose) -> bool:
        """True if the shaft may be redirected freely (see the module notes)."""
        if pose.depth_mm <= self.free_depth_mm + _EPS:
            return True
        s = pose.depth_mm * self._samples(pose.depth_mm)
        pts = np.asarray(pose.entry_mm) + s[:, None] * pose.direction
        return bool(self._subcut[self._labels(pts)].all())

    def _finish(self, move: Move) -> Move:
        """Update the track and the bone re-arming after a move; publish its events."""
        pose = self._need_pose()
        if self._shaft_is_free(pose):
            self._track = None
        elif self._track is None:
            self._track = pose.direction.copy()
        if (
            not self._bone_armed
            and move.blocked != "bone"
            and self._bone_point is not None
            and np.linalg.norm(pose.tip_mm - self._bone_point) >= BONE_REARM_MM
        ):
            self._bone_armed = True
        if self.log is not None:
            self.log.extend(move.events)
        return move


def _angle_between(a: np.ndarray, b: np.ndarray) -> float:
    """Angle between two unit vectors, radians (robust near 0)."""
    return float(2.0 * math.atan2(np.linalg.norm(a - b), np.linalg.norm(a + b)))


def _rotate_toward(track: np.ndarray, d: np.ndarray, angle_rad: float) -> np.ndarray:
    """The unit vector ``angle_rad`` from ``track`` in the plane of ``track`` and ``d``."""
    perp = d - np.dot(d, track) * track
    n = np.linalg.norm(perp)
    if n < 1e-12:
        return track.copy()
    return math.cos(angle_rad) * track + math.sin(angle_rad) * perp / n


def _slerp(a: np.ndarray, b: np.ndarray, f: np.ndarray) -> np.ndarray:
    """Unit vectors a fraction ``f`` (shape (n,)) of the way from ``a`` to ``b``, shape (n, 3)."""
    omega = _angle_between(a, b)
    f = np.asarray(f, dtype=np.float64)[:, None]
    if omega < 1e-9:
        v = a + f * (b - a)
    else:
        v = (np.sin((1.0 - f) * omega) * a + np.sin(f * omega) * b) / math.sin(omega)
    return v / np.linalg.norm(v, axis=1, keepdims=True)


__all__ = [
    "BONE_STANDOFF_MM",
    "DEFLECTION_MM",
    "FREE_DEPTH_MM",
    "Move",
    "NeedleKinematics",
    "TargetZone",
    "deflection_mm",
]
