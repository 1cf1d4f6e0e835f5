"""Imaging presets as on a scanner: MSK, nerve, deep joint.

A preset sets frequency, depth, focus, dynamic range, gain and the TGC for
the kind of structure being scanned, fitted to the probe in use (frequency
inside its band, depth within its reach). The scene's own settings are the
``"scene"`` preset.
"""

from __future__ import annotations

from dataclasses import dataclass
from types import MappingProxyType

from simulator.probe import N_TGC_BANDS, ImagingSettings, ProbeModel


@dataclass(frozen=True)
class Preset:
    """One preset.

    Attributes
    ----------
    name : str
        Key in ``PRESETS``.
    title : str
        Name shown to the user.
    freq_fraction : float
        Frequency as a fraction of the probe's band (0 = lowest, 1 = highest).
    depth_linear_mm, depth_curvilinear_mm : float
        Depth for a linear or curvilinear probe, mm (capped at the probe's
        maximum).
    focus_fraction : float
        Focus depth as a fraction of the depth.
    dynamic_range_db : float
        Displayed dynamic range, dB (lower = more contrast).
    gain_db : float
        Overall gain, dB.
    """

    name: str
    title: str
    freq_fraction: float
    depth_linear_mm: float
    depth_curvilinear_mm: float
    focus_fraction: float
    dynamic_range_db: float
    gain_db: float = 0.0

    def settings(self, probe: ProbeModel, base: ImagingSettings | None = None) -> ImagingSettings:
        """The preset's settings for ``probe``, other fields from ``base``.

        Returns
        -------
        ImagingSettings
            Valid for ``probe``; the TGC sliders are reset to 0 dB.
        """
        base = base or ImagingSettings()
        freq = probe.freq_min_mhz + self.freq_fraction * (probe.freq_max_mhz - probe.freq_min_mhz)
        depth = self.depth_curvilinear_mm if probe.kind == "curvilinear" else self.depth_linear_mm
        depth = min(depth, probe.max_depth_mm)
        return base.with_(
            freq_mhz=round(freq * 2.0) / 2.0,
            depth_mm=depth,
            focus_mm=round(depth * self.focus_fraction),
            dynamic_range_db=self.dynamic_range_db,
            gain_db=self.gain_db,
            tgc_db=(0.0,) * N_TGC_BANDS,
        )


#: The presets, in menu order. Nerve imaging uses the top of the band and a
#: narrower dynamic range so the fascicles stand out against the epineurium;
#: deep joints trade resolution for penetration.
PRESETS = MappingProxyType(
    {
        "msk": Preset("msk", "MSK", 0.7, 35.0, 90.0, 0.5, 60.0),
        "nerve": Preset("nerve", "Nerve", 0.9, 25.0, 70.0, 0.5, 50.0, gain_db=2.0),
        "deep_joint": Preset("deep_joint", "Deep joint", 0.3, 55.0, 120.0, 0.65, 66.0),
    }
)
#: The name of the "scene's own settings" choice.
SCENE_PRESET = "scene"


def preset_names() -> tuple[str, ...]:
    """``"scene"`` followed by the keys of ``PRESETS``."""
    return (SCENE_PRESET, *PRESETS)


def get_preset(name: str) -> Preset:
    """The preset called ``name`` (KeyError lists the known ones)."""
    try:
        return PRESETS[name]
    except KeyError:
        raise KeyError(f"unknown preset {name!r}; known presets: {', '.join(PRESETS)}") from None
