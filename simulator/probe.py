"""Probe models, imaging settings and probe poses.

Probe frame (ARCHITECTURE.md): origin at the centre of the transducer face,
+z into the body along the central beam, +x along the array (notch side),
+y elevation. Millimetres throughout.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from types import MappingProxyType

import numpy as np

N_TGC_BANDS = 8


class SettingsError(ValueError):
    """An imaging setting outside what the probe or the physics allows."""


@dataclass(frozen=True)
class ProbeModel:
    """A transducer.

    Attributes
    ----------
    name : str
        Registry key, used in scene files.
    kind : str
        ``"linear"`` or ``"curvilinear"``.
    footprint_mm : float
        Linear: array length. Curvilinear: arc length of the array.
    radius_mm : float
        Curvilinear: radius of curvature of the face (0 for linear).
    freq_min_mhz, freq_max_mhz : float
        Usable centre-frequency band, MHz.
    max_depth_mm : float
        Deepest imaging depth the system offers, mm.
    fractional_bandwidth : float
        -6 dB fractional bandwidth of the echo; sets the pulse length.
    f_number : float
        Receive/transmit F-number at the focus (lateral resolution).
    elevation_focus_mm : float
        Depth of the fixed elevation lens focus, mm.
    elevation_aperture_mm : float
        Element height, mm (sets slice thickness).
    default_lines : int
        Number of beam lines per frame.
    """

    name: str
    kind: str
    footprint_mm: float
    radius_mm: float
    freq_min_mhz: float
    freq_max_mhz: float
    max_depth_mm: float
    fractional_bandwidth: float
    f_number: float
    elevation_focus_mm: float
    elevation_aperture_mm: float
    default_lines: int

    @property
    def fov_rad(self) -> float:
        """Curvilinear: angular field of view, rad (0 for linear)."""
        return self.footprint_mm / self.radius_mm if self.kind == "curvilinear" else 0.0


PROBES = MappingProxyType(
    {
        "linear_38": ProbeModel(
            name="linear_38",
            kind="linear",
            footprint_mm=38.0,
            radius_mm=0.0,
            freq_min_mhz=5.0,
            freq_max_mhz=15.0,
            max_depth_mm=60.0,
            fractional_bandwidth=0.5,
            f_number=2.0,
            elevation_focus_mm=18.0,
            elevation_aperture_mm=4.0,
            default_lines=256,
        ),
        "linear_50": ProbeModel(
            name="linear_50",
            kind="linear",
            footprint_mm=50.0,
            radius_mm=0.0,
            freq_min_mhz=4.0,
            freq_max_mhz=12.0,
            max_depth_mm=80.0,
            fractional_bandwidth=0.5,
            f_number=2.0,
            elevation_focus_mm=25.0,
            elevation_aperture_mm=5.0,
            default_lines=256,
        ),
        "curvilinear_60": ProbeModel(
            name="curvilinear_60",
            kind="curvilinear",
            footprint_mm=60.0 * math.radians(70.0),  # 70 degree field of view
            radius_mm=60.0,
            freq_min_mhz=2.0,
            freq_max_mhz=6.0,
            max_depth_mm=160.0,
            fractional_bandwidth=0.6,
            f_number=2.5,
            elevation_focus_mm=60.0,
            elevation_aperture_mm=12.0,
            default_lines=192,
        ),
    }
)


def get_probe(name: str) -> ProbeModel:
    """Return the probe model called ``name`` (KeyError lists the known ones)."""
    try:
        return PROBES[name]
    except KeyError:
        raise KeyError(f"unknown probe {name!r}; known probes: {', '.join(PROBES)}") from None


@dataclass(frozen=True)
class ImagingSettings:
    """The knobs of the scanner.

    Attributes
    ----------
    depth_mm : float
        Displayed depth, mm.
    freq_mhz : float
        Transmit centre frequency, MHz.
    focus_mm : float
        Transmit focus depth, mm.
    gain_db : float
        Overall gain, dB.
    tgc_db : tuple of 8 float
        Time-gain compensation slider offsets, dB, from shallow to deep; the
        bands are equal depth intervals and the gain is interpolated between
        their centres.
    dynamic_range_db : float
        Displayed dynamic range of the log compression, dB.
    compensation_db_cm_mhz : float
        The machine's built-in depth gain, as the attenuation (one-way,
        dB/cm/MHz) it compensates; the sliders act on top of it. 0 switches
        the built-in compensation off.
    n_lines : int or None
        Beam lines per frame; None uses the probe default.
    """

    depth_mm: float = 40.0
    freq_mhz: float = 10.0
    focus_mm: float = 20.0
    gain_db: float = 0.0
    tgc_db: tuple[float, ...] = field(default=(0.0,) * N_TGC_BANDS)
    dynamic_range_db: float = 60.0
    compensation_db_cm_mhz: float = 0.75
    n_lines: int | None = None

    def with_(self, **changes: object) -> ImagingSettings:
        """Copy with some fields changed."""
        return replace(self, **changes)  # type: ignore[arg-type]

    def validate(self, probe: ProbeModel) -> None:
        """Raise SettingsError naming the setting and the allowed range."""
        if not (0.0 < self.depth_mm <= probe.max_depth_mm):
            raise SettingsError(
                f"depth_mm = {self.depth_mm}: expected a depth in (0, {probe.max_depth_mm}] mm "
                f"for probe {probe.name}"
            )
        if not (probe.freq_min_mhz <= self.freq_mhz <= probe.freq_max_mhz):
            raise SettingsError(
                f"freq_mhz = {self.freq_mhz}: outside the band of probe {probe.name} "
                f"({probe.freq_min_mhz}-{probe.freq_max_mhz} MHz)"
            )
        if not (0.0 < self.focus_mm <= probe.max_depth_mm):
            raise SettingsError(
                f"focus_mm = {self.focus_mm}: expected a focus in (0, {probe.max_depth_mm}] mm"
            )
        if len(self.tgc_db) != N_TGC_BANDS:
            raise SettingsError(
                f"tgc_db has {len(self.tgc_db)} values: expected {N_TGC_BANDS} slider values in dB"
            )
        if any(abs(v) > 40.0 for v in self.tgc_db):
            raise SettingsError("tgc_db: each slider must lie within -40..40 dB")
        if not (-60.0 <= self.gain_db <= 60.0):
            raise SettingsError(f"gain_db = {self.gain_db}: expected -60..60 dB")
        if not (20.0 <= self.dynamic_range_db <= 120.0):
            raise SettingsError(f"dynamic_range_db = {self.dynamic_range_db}: expected 20..120 dB")
        if self.compensation_db_cm_mhz < 0.0:
            raise SettingsError("compensation_db_cm_mhz must be >= 0")
        if self.n_lines is not None and not (16 <= self.n_lines <= 1024):
            raise SettingsError(f"n_lines = {self.n_lines}: expected 16..1024 lines")


def rotation_deg(yaw_deg: float = 0.0, tilt_deg: float = 0.0, rock_deg: float = 0.0) -> np.ndarray:
    """Probe orientation from clinical angles.

    ``R = Rz(yaw) @ Rx(tilt) @ Ry(rock)``: yaw turns the probe on the skin
    about the world z axis (0: array along world +x), tilt fans the beam out
    of the image plane (about the probe x axis), rock is heel-toe within the
    image plane (about the probe y axis).

    Returns
    -------
    ndarray, shape (3, 3), float64
    """
    a, b, c = (math.radians(v) for v in (yaw_deg, tilt_deg, rock_deg))
    rz = np.array([[math.cos(a), -math.sin(a), 0], [math.sin(a), math.cos(a), 0], [0, 0, 1]])
    rx = np.array([[1, 0, 0], [0, math.cos(b), -math.sin(b)], [0, math.sin(b), math.cos(b)]])
    ry = np.array([[math.cos(c), 0, math.sin(c)], [0, 1, 0], [-math.sin(c), 0, math.cos(c)]])
    return rz @ rx @ ry


def probe_pose(
    position_mm: tuple[float, float, float] | np.ndarray = (0.0, 0.0, 0.0),
    yaw_deg: float = 0.0,
    tilt_deg: float = 0.0,
    rock_deg: float = 0.0,
) -> np.ndarray:
    """4x4 ``probe2world`` from the face centre position and clinical angles.

    Returns
    -------
    ndarray, shape (4, 4), float64
    """
    pose = np.eye(4)
    pose[:3, :3] = rotation_deg(yaw_deg, tilt_deg, rock_deg)
    pose[:3, 3] = np.asarray(position_mm, dtype=np.float64)
    return pose
