"""Trajectory files: a scripted or recorded attempt as timestamped keyframes.

A trajectory is a JSON file (``docs/trajectory.md``): a header (format name
and version, optional scene, needle gauge, imaging overrides, scatterer seed,
sample rate) and a list of keyframes, each with its time, optionally the
probe pose (a :class:`~simulator.probe_control.ProbeHandle` or a 4x4
``probe2world``), the needle (skin entry and tip, or ``null``: needle out) and
commands (plunger rate, aspirate, finish). :meth:`Trajectory.steps` turns it
into the sample-by-sample :class:`~simulator.app.session_driver.Step` list the
attempt runner drives a session with: poses linearly interpolated between
keyframes, injection volumes integrated exactly from the piecewise-constant
plunger rate.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from scipy.spatial.transform import Rotation, Slerp

from simulator.app.session_driver import Step
from simulator.probe_control import ProbeHandle, wrap_deg

#: The ``format`` field of every trajectory file.
FORMAT_NAME = "injection-sim-trajectory"
#: Version written by :func:`save_trajectory`; versions read by :func:`load_trajectory`.
FORMAT_VERSION = 1
SUPPORTED_VERSIONS = (1,)
#: Default sample rate of the scoring and the records, Hz.
DEFAULT_SAMPLE_RATE_HZ = 20.0
#: Times closer than this are the same instant, s.
TIME_EPS_S = 1e-9

_HEADER_KEYS = ("format", "version", "description", "scene", "gauge", "imaging", "seed")
_HEADER_KEYS += ("sample_rate_hz", "keyframes")
_KEYFRAME_KEYS = ("t_s", "probe", "probe2world", "needle", "inject_ml_per_s", "aspirate")
_KEYFRAME_KEYS += ("finish", "note")
_HANDLE_KEYS = ("position_mm", "yaw_deg", "tilt_deg", "rock_deg")
_IMAGING_KEYS = ("depth_mm", "freq_mhz", "focus_mm", "gain_db", "tgc_db", "dynamic_range_db")
_IMAGING_KEYS += ("n_lines",)


class TrajectoryError(ValueError):
    """A trajectory file or object that does not follow the format (names where)."""


@dataclass(frozen=True)
class NeedleKey:
    """Needle of a keyframe: skin entry point and tip, world mm, shape (3,) each."""

    entry_mm: tuple[float, float, float]
    tip_mm: tuple[float, float, float]


@dataclass(frozen=True)
class Keyframe:
    """One keyframe.

    Attributes
    ----------
    t_s : float
        Time, s.
    probe : ProbeHandle or ndarray (4, 4) or None
        Probe pose; None: as the previous keyframe (the first: the scene's start pose).
    needle : NeedleKey or None
        Needle pose; None with ``needle_given`` True: needle out.
    needle_given : bool
        Whether the keyframe sets the needle (False: as the previous keyframe).
    inject_ml_per_s : float or None
        Plunger rate from this keyframe on, ml/s (0 stops); None: unchanged.
    aspirate : bool
        Pull back on the plunger at this keyframe.
    finish : bool
        The attempt ends here (only on the last keyframe).
    note : str
        Free text (ignored by the runner).
    """

    t_s: float
    probe: ProbeHandle | np.ndarray | None = None
    needle: NeedleKey | None = None
    needle_given: bool = False
    inject_ml_per_s: float | None = None
    aspirate: bool = False
    finish: bool = False
    note: str = ""


@dataclass(frozen=True)
class Trajectory:
    """A whole trajectory: header fields and keyframes (time-ordered).

    Attributes
    ----------
    keyframes : tuple of Keyframe
    scene : str or None
        Scene name the trajectory was made for.
    gauge : int or None
        Needle gauge (default: the scene's needle).
    imaging : dict
        Imaging settings overrides (``ImagingSettings`` field -> value).
    seed : int or None
        Scatterer seed of the engine (default: the scene's).
    sample_rate_hz : float
        Scoring/record sample rate, Hz.
    description : str
    source : str
        Where it was read from (for messages), or ``"<trajectory>"``.
    """

    keyframes: tuple[Keyframe, ...]
    scene: str | None = None
    gauge: int | None = None
    imaging: Mapping[str, Any] = field(default_factory=dict)
    seed: int | None = None
    sample_rate_hz: float = DEFAULT_SAMPLE_RATE_HZ
    description: str = ""
    source: str = "<trajectory>"

    @property
    def t0_s(self) -> float:
        """Time of the first keyframe, s."""
        return self.keyframes[0].t_s

    @property
    def end_s(self) -> float:
        """Time of the last keyframe (the end of the attempt), s."""
        return self.keyframes[-1].t_s

    @property
    def duration_s(self) -> float:
        """Length of the attempt, s."""
        return self.end_s - self.t0_s

    def header(self) -> dict[str, Any]:
        """The header as plain JSON types (stored with an attempt's settings)."""
        return {
            "format": FORMAT_NAME,
            "version": FORMAT_VERSION,
            "description": self.description,
            "scene": self.scene,
            "gauge": self.gauge,
            "imaging": _plain(dict(self.imaging)),
            "seed": self.seed,
            "sample_rate_hz": self.sample_rate_hz,
            "n_keyframes": len(self.keyframes),
            "duration_s": self.duration_s,
        }

    def sample_times_s(self) -> np.ndarray:
        """Sample times from the first to the last keyframe at ``sample_rate_hz``.

        Returns
        -------
        ndarray, shape (n,), float64
            ``t0 + i / rate``; the last keyframe's time is appended when the
            grid does not land on it, so ``n = floor(duration * rate) + 1``
            (or one more).
        """
        rate = self.sample_rate_hz
        n = math.floor(self.duration_s * rate + 1e-6)
        times = self.t0_s + np.arange(n + 1, dtype=np.float64) / rate
        if self.end_s - times[-1] > 1e-6:
            times = np.append(times, self.end_s)
        return times

    def steps(self) -> list[Step]:
        """What the runner does at each sample time (see :class:`Step`).

        Probe poses are linearly interpolated between keyframes (handle fields,
        yaw the short way round; or translation + rotation slerp for 4x4
        poses; a handle next to a 4x4 holds until the next keyframe). Needle
        entry and tip are interpolated while the needle is in on both sides,
        else the needle changes at the later keyframe. The volume of a step is
        the integral of the plunger rate over the time since the previous
        sample; aspiration happens at the first sample at or after its
        keyframe. A bolus ends (its ``injection`` event) at the first step
        with no volume after steps with volume, and at the last step.
        """
        kfs = _resolved(self.keyframes)
        times = self.sample_times_s()
        rate_times = [k.t_s for k in self.keyframes if k.inject_ml_per_s is not None]
        rate_values = [k.inject_ml_per_s for k in self.keyframes if k.inject_ml_per_s is not None]
        aspirations = sorted(k.t_s for k in self.keyframes if k.aspirate)
        out: list[Step] = []
        prev_t = times[0]
        prev_injecting = False
        a = 0
        for i, t in enumerate(times):
            t = float(t)
            j = _segment(kfs, t)
            probe, needle = _pose_at(kfs, j, t)
            volume = _integral(rate_times, rate_values, prev_t, t) if i > 0 else 0.0
            aspirate = False
            while a < len(aspirations) and aspirations[a] <= t + TIME_EPS_S:
                aspirate = True
                a += 1
            injecting = volume > 0.0
            last = i == len(times) - 1
            out.append(
                Step(
                    t_s=t,
                    probe=probe,
                    needle=needle,
                    inject_ml=volume,
                    aspirate=aspirate,
                    end_bolus=(prev_injecting and not injecting) or last,
                )
            )
            prev_t, prev_injecting = t, injecting
        return out


# ---------------------------------------------------------------- interpolation


@dataclass(frozen=True)
class _Resolved:
    """A keyframe with the probe and needle carried forward from earlier ones."""

    t_s: float
    probe: ProbeHandle | np.ndarray | None
    needle: NeedleKey | None


def _resolved(keyframes: Sequence[Keyframe]) -> list[_Resolved]:
    out: list[_Resolved] = []
    probe: ProbeHandle | np.ndarray | None = None
    needle: NeedleKey | None = None
    for k in keyframes:
        if k.probe is not None:
            probe = k.probe
        if k.needle_given:
            needle = k.needle
        out.append(_Resolved(k.t_s, probe, needle))
    return out


def _segment(kfs: Sequence[_Resolved], t_s: float) -> int:
    """Index j of the keyframe starting the segment that holds ``t_s``."""
    times = [k.t_s for k in kfs]
    j = int(np.searchsorted(times, t_s + TIME_EPS_S, side="right")) - 1
    return min(max(j, 0), len(kfs) - 1)


def _pose_at(
    kfs: Sequence[_Resolved], j: int, t_s: float
) -> tuple[ProbeHandle | np.ndarray | None, tuple[np.ndarray, np.ndarray] | None]:
    a = kfs[j]
    if j + 1 >= len(kfs):
        return a.probe, _needle_arrays(a.needle)
    b = kfs[j + 1]
    span = b.t_s - a.t_s
    u = 0.0 if span <= 0.0 else min(max((t_s - a.t_s) / span, 0.0), 1.0)
    return _lerp_probe(a.probe, b.probe, u), _lerp_needle(a.needle, b.needle, u)


def _needle_arrays(n: NeedleKey | None) -> tuple[np.ndarray, np.ndarray] | None:
    if n is None:
        return None
    return np.array(n.entry_mm, dtype=np.float64), np.array(n.tip_mm, dtype=np.float64)


def _lerp_needle(
    a: NeedleKey | None, b: NeedleKey | None, u: float
) -> tuple[np.ndarray, np.ndarray] | None:
    if a is None or b is None or u == 0.0:
        return _needle_arrays(a)
    ea, ta = _needle_arrays(a)  # type: ignore[misc]
    eb, tb = _needle_arrays(b)  # type: ignore[misc]
    return ea + u * (eb - ea), ta + u * (tb - ta)


def lerp_handle(a: ProbeHandle, b: ProbeHandle, u: float) -> ProbeHandle:
    """Handle a fraction ``u`` (0-1) of the way from ``a`` to ``b`` (yaw the short way)."""
    d_yaw = wrap_deg(b.yaw_deg - a.yaw_deg)
    return ProbeHandle(
        a.x_mm + u * (b.x_mm - a.x_mm),
        a.y_mm + u * (b.y_mm - a.y_mm),
        a.yaw_deg + u * d_yaw,
        a.tilt_deg + u * (b.tilt_deg - a.tilt_deg),
        a.rock_deg + u * (b.rock_deg - a.rock_deg),
    )


def lerp_pose(a: np.ndarray, b: np.ndarray, u: float) -> np.ndarray:
    """4x4 pose a fraction ``u`` of the way: translation lerp, rotation slerp."""
    if u == 0.0:
        return np.array(a, dtype=np.float64)
    rots = Rotation.from_matrix(np.stack([a[:3, :3], b[:3, :3]]))
    out = np.eye(4)
    out[:3, :3] = Slerp([0.0, 1.0], rots)([u]).as_matrix()[0]
    out[:3, 3] = a[:3, 3] + u * (b[:3, 3] - a[:3, 3])
    return out


def _lerp_probe(
    a: ProbeHandle | np.ndarray | None, b: ProbeHandle | np.ndarray | None, u: float
) -> ProbeHandle | np.ndarray | None:
    if isinstance(a, ProbeHandle) and isinstance(b, ProbeHandle):
        return a if u == 0.0 else lerp_handle(a, b, u)
    if isinstance(a, np.ndarray) and isinstance(b, np.ndarray):
        return lerp_pose(a, b, u)
    return a


def _integral(times: Sequence[float], rates: Sequence[Any], t0: float, t1: float) -> float:
    """Integral over (t0, t1] of the step function ``rates[k]`` from ``times[k]`` on, ml."""
    total = 0.0
    for k, (start, rate) in enumerate(zip(times, rates, strict=True)):
        end = times[k + 1] if k + 1 < len(times) else math.inf
        lo, hi = max(start, t0), min(end, t1)
        if hi > lo and rate > 0.0:
            total += float(rate) * (hi - lo)
    return total


# ------------------------------------------------------------------ reading


def _err(where: str, message: str) -> TrajectoryError:
    return TrajectoryError(f"{where}: {message}")


def _number(value: Any, where: str, what: str = "a number") -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise _err(where, f"expected {what}, got {value!r}")
    return float(value)


def _vector(value: Any, n: int, where: str, unit: str) -> tuple[float, ...]:
    if not isinstance(value, (list, tuple)) or len(value) != n:
        raise _err(where, f"expected a list of {n} numbers ({unit}), got {value!r}")
    return tuple(_number(v, where, f"a list of {n} numbers ({unit})") for v in value)


def _check_keys(data: Mapping[str, Any], allowed: Sequence[str], where: str) -> None:
    unknown = [k for k in data if k not in allowed]
    if unknown:
        raise _err(
            where, f"unknown field {unknown[0]!r}; expected one of {', '.join(sorted(allowed))}"
        )


def _handle(value: Any, where: str) -> ProbeHandle:
    if not isinstance(value, Mapping):
        raise _err(where, f"expected an object with {', '.join(_HANDLE_KEYS)}, got {value!r}")
    _check_keys(value, _HANDLE_KEYS, where)
    if "position_mm" not in value:
        raise _err(where, "missing 'position_mm' ([x, y, z] of the face centre on the skin, mm)")
    pos = value["position_mm"]
    if not isinstance(pos, (list, tuple)) or len(pos) not in (2, 3):
        raise _err(f"{where}.position_mm", f"expected [x, y] or [x, y, z] in mm, got {pos!r}")
    xy = [_number(v, f"{where}.position_mm", "numbers (mm)") for v in pos]
    angles = {
        k: _number(value.get(k, 0.0), f"{where}.{k}", "an angle in degrees")
        for k in _HANDLE_KEYS[1:]
    }
    return ProbeHandle.from_pose(tuple(xy), **angles)  # type: ignore[arg-type]


def _matrix(value: Any, where: str) -> np.ndarray:
    m = None
    if isinstance(value, (list, tuple)):
        try:
            m = np.array(value, dtype=np.float64)
        except (TypeError, ValueError):
            m = None
    if m is None or m.size != 16 or not np.all(np.isfinite(m)):
        raise _err(where, "expected a 4x4 matrix (4 rows of 4 numbers, or 16 numbers, mm)")
    m = m.reshape(4, 4)
    r = m[:3, :3]
    if not np.allclose(r @ r.T, np.eye(3), atol=1e-6) or np.linalg.det(r) < 0:
        raise _err(where, "the rotation part is not a proper rotation (orthonormal, det +1)")
    if not np.allclose(m[3], [0.0, 0.0, 0.0, 1.0]):
        raise _err(where, "the last row must be [0, 0, 0, 1]")
    return m


def _needle(value: Any, where: str) -> NeedleKey | None:
    if value is None:
        return None
    if not isinstance(value, Mapping):
        raise _err(where, f"expected null (needle out) or {{entry_mm, tip_mm}}, got {value!r}")
    _check_keys(value, ("entry_mm", "tip_mm"), where)
    for k in ("entry_mm", "tip_mm"):
        if k not in value:
            raise _err(where, f"missing {k!r} ([x, y, z] world mm)")
    entry = _vector(value["entry_mm"], 3, f"{where}.entry_mm", "world mm")
    tip = _vector(value["tip_mm"], 3, f"{where}.tip_mm", "world mm")
    return NeedleKey(entry, tip)  # type: ignore[arg-type]


def _keyframe(data: Any, where: str) -> Keyframe:
    if not isinstance(data, Mapping):
        raise _err(where, f"expected an object with t_s, probe, needle..., got {data!r}")
    _check_keys(data, _KEYFRAME_KEYS, where)
    if "t_s" not in data:
        raise _err(where, "missing 't_s' (time of the keyframe, s)")
    t = _number(data["t_s"], f"{where}.t_s", "a time in s")
    if "probe" in data and "probe2world" in data:
        raise _err(where, "give the probe as 'probe' or as 'probe2world', not both")
    probe: ProbeHandle | np.ndarray | None = None
    if data.get("probe") is not None:
        probe = _handle(data["probe"], f"{where}.probe")
    elif data.get("probe2world") is not None:
        probe = _matrix(data["probe2world"], f"{where}.probe2world")
    rate = data.get("inject_ml_per_s")
    if rate is not None:
        rate = _number(rate, f"{where}.inject_ml_per_s", "a plunger rate >= 0 in ml/s")
        if rate < 0.0:
            raise _err(f"{where}.inject_ml_per_s", f"expected a rate >= 0 ml/s, got {rate}")
    flags = {}
    for k in ("aspirate", "finish"):
        v = data.get(k, False)
        if not isinstance(v, bool):
            raise _err(f"{where}.{k}", f"expected true or false, got {v!r}")
        flags[k] = v
    note = data.get("note", "")
    if not isinstance(note, str):
        raise _err(f"{where}.note", f"expected text, got {note!r}")
    return Keyframe(
        t_s=t,
        probe=probe,
        needle=_needle(data.get("needle"), f"{where}.needle"),
        needle_given="needle" in data,
        inject_ml_per_s=rate,
        aspirate=flags["aspirate"],
        finish=flags["finish"],
        note=note,
    )


def trajectory_from_dict(data: Any, source: str = "<trajectory>") -> Trajectory:
    """Validate a parsed trajectory document.

    Parameters
    ----------
    data : dict
        The JSON document.
    source : str
        Named in error messages (the file).

    Raises
    ------
    TrajectoryError
        Naming ``source``, the keyframe index and the field, and what was expected.
    """
    if not isinstance(data, Mapping):
        raise _err(source, "expected a JSON object with 'format', 'version' and 'keyframes'")
    _check_keys(data, _HEADER_KEYS, source)
    if data.get("format") != FORMAT_NAME:
        raise _err(f"{source}: format", f"expected {FORMAT_NAME!r}, got {data.get('format')!r}")
    version = data.get("version")
    if version not in SUPPORTED_VERSIONS or isinstance(version, bool):
        raise _err(
            f"{source}: version",
            f"expected one of {', '.join(map(str, SUPPORTED_VERSIONS))}, got {version!r}",
        )
    scene = data.get("scene")
    if scene is not None and (not isinstance(scene, str) or not scene):
        raise _err(f"{source}: scene", f"expected a scene name, got {scene!r}")
    gauge = data.get("gauge")
    if gauge is not None and (isinstance(gauge, bool) or not isinstance(gauge, int)):
        raise _err(f"{source}: gauge", f"expected a whole needle gauge (e.g. 22), got {gauge!r}")
    seed = data.get("seed")
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int) or seed < 0):
        raise _err(f"{source}: seed", f"expected a whole number >= 0, got {seed!r}")
    imaging = data.get("imaging", {})
    if not isinstance(imaging, Mapping):
        raise _err(f"{source}: imaging", f"expected an object of settings, got {imaging!r}")
    _check_keys(imaging, _IMAGING_KEYS, f"{source}: imaging")
    imaging = dict(imaging)
    for k, v in imaging.items():
        if k == "tgc_db":
            imaging[k] = _vector(v, 8, f"{source}: imaging.tgc_db", "dB")
        elif k == "n_lines":
            if isinstance(v, bool) or not isinstance(v, int) or v <= 0:
                raise _err(f"{source}: imaging.n_lines", f"expected a whole number > 0, got {v!r}")
        else:
            imaging[k] = _number(v, f"{source}: imaging.{k}")
    rate = _number(
        data.get("sample_rate_hz", DEFAULT_SAMPLE_RATE_HZ), f"{source}: sample_rate_hz", "Hz"
    )
    if not 0.5 <= rate <= 1000.0:
        raise _err(f"{source}: sample_rate_hz", f"expected 0.5-1000 Hz, got {rate}")
    description = data.get("description", "")
    if not isinstance(description, str):
        raise _err(f"{source}: description", f"expected text, got {description!r}")
    raw = data.get("keyframes")
    if not isinstance(raw, list) or not raw:
        raise _err(f"{source}: keyframes", "expected a non-empty list of keyframes")
    keyframes = []
    for i, item in enumerate(raw):
        k = _keyframe(item, f"{source}: keyframe {i}")
        if keyframes and k.t_s < keyframes[-1].t_s:
            raise _err(
                f"{source}: keyframe {i}.t_s",
                f"times must not decrease: {k.t_s} s after {keyframes[-1].t_s} s",
            )
        if k.finish and i != len(raw) - 1:
            raise _err(
                f"{source}: keyframe {i}.finish",
                "only the last keyframe may finish the attempt",
            )
        keyframes.append(k)
    return Trajectory(
        keyframes=tuple(keyframes),
        scene=scene,
        gauge=gauge,
        imaging=imaging,
        seed=seed,
        sample_rate_hz=rate,
        description=description,
        source=source,
    )


def load_trajectory(path: str | Path) -> Trajectory:
    """Read and validate a trajectory file.

    Raises
    ------
    TrajectoryError
        Unreadable file, invalid JSON, or a field that does not follow the
        format (the message names the file, the keyframe and the field).
    """
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except OSError as exc:
        raise TrajectoryError(f"trajectory file '{p}': cannot read it ({exc.strerror})") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise TrajectoryError(
            f"trajectory file '{p}': not valid JSON (line {exc.lineno}, column {exc.colno}: "
            f"{exc.msg})"
        ) from None
    return trajectory_from_dict(data, f"trajectory file '{p}'")


# ------------------------------------------------------------------ writing


def _plain(value: Any) -> Any:
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, (tuple, list)):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    return value


def _keyframe_dict(k: Keyframe) -> dict[str, Any]:
    d: dict[str, Any] = {"t_s": k.t_s}
    if isinstance(k.probe, ProbeHandle):
        d["probe"] = {
            "position_mm": [k.probe.x_mm, k.probe.y_mm, 0.0],
            "yaw_deg": k.probe.yaw_deg,
            "tilt_deg": k.probe.tilt_deg,
            "rock_deg": k.probe.rock_deg,
        }
    elif k.probe is not None:
        d["probe2world"] = np.asarray(k.probe, dtype=np.float64).tolist()
    if k.needle_given:
        d["needle"] = (
            None
            if k.needle is None
            else {"entry_mm": list(k.needle.entry_mm), "tip_mm": list(k.needle.tip_mm)}
        )
    if k.inject_ml_per_s is not None:
        d["inject_ml_per_s"] = k.inject_ml_per_s
    if k.aspirate:
        d["aspirate"] = True
    if k.finish:
        d["finish"] = True
    if k.note:
        d["note"] = k.note
    return d


def trajectory_to_dict(traj: Trajectory) -> dict[str, Any]:
    """The JSON document of ``traj`` (inverse of :func:`trajectory_from_dict`)."""
    d: dict[str, Any] = {"format": FORMAT_NAME, "version": FORMAT_VERSION}
    if traj.description:
        d["description"] = traj.description
    for key in ("scene", "gauge", "seed"):
        if getattr(traj, key) is not None:
            d[key] = getattr(traj, key)
    if traj.imaging:
        d["imaging"] = _plain(dict(traj.imaging))
    d["sample_rate_hz"] = traj.sample_rate_hz
    d["keyframes"] = [_keyframe_dict(k) for k in traj.keyframes]
    return d


def save_trajectory(traj: Trajectory, path: str | Path) -> Path:
    """Write ``traj`` as a JSON trajectory file (parent folders created)."""
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_text(json.dumps(trajectory_to_dict(traj), indent=2) + "\n", encoding="utf-8")
    return p


__all__ = [
    "DEFAULT_SAMPLE_RATE_HZ",
    "FORMAT_NAME",
    "FORMAT_VERSION",
    "Keyframe",
    "NeedleKey",
    "Trajectory",
    "TrajectoryError",
    "lerp_handle",
    "lerp_pose",
    "load_trajectory",
    "save_trajectory",
    "trajectory_from_dict",
    "trajectory_to_dict",
]
