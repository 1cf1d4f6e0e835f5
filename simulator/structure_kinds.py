"""What kind of anatomy each label is, for the needle and the injectate.

The acoustic volume knows each structure's tissue; the needle kinematics,
the contact events and the injectate spread need to know more: whether a
blood-filled structure is an artery or a vein, which labels are bone, nerve
or tendon. One function answers that for every label so that all of them
agree.
"""

from __future__ import annotations

from collections.abc import Mapping

from simulator.volume import AcousticVolume

#: Kind of each tissue when nothing more specific is known.
TISSUE_KIND = {
    "skin": "skin",
    "fat": "fat",
    "muscle": "muscle",
    "tendon": "tendon",
    "tendinosis": "tendon",
    "ligament": "ligament",
    "fascia": "fascia",
    "nerve": "nerve",
    "cartilage": "cartilage",
    "fibrocartilage": "cartilage",
    "bone": "bone",
    "fluid": "fluid",
    "blood": "vessel",
    "vessel_wall": "vessel",
    "injectate": "fluid",
    "steel": "steel",
    "soft_tissue": "soft",
}
#: Every kind ``structure_kinds`` returns.
KINDS = frozenset(TISSUE_KIND.values()) | {"artery", "vein"}


def vessel_kind(name: str, harm: str | None) -> str:
    """``"artery"``, ``"vein"`` or ``"vessel"`` for a blood or vessel-wall structure.

    The scene's ``harm`` decides (``arterial_puncture`` / ``venous_puncture``);
    without one the name does (``artery``, ``arterial``, ``vein``, ``venous``,
    ``gsv``).
    """
    if harm == "arterial_puncture":
        return "artery"
    if harm == "venous_puncture":
        return "vein"
    low = name.lower()
    if "arter" in low:
        return "artery"
    if "vein" in low or "venous" in low or "gsv" in low or "saphenous" in low:
        return "vein"
    return "vessel"


def structure_kinds(
    volume: AcousticVolume, harms: Mapping[str, str | None] | None = None
) -> tuple[str, ...]:
    """The kind of every label of ``volume``.

    Parameters
    ----------
    volume : AcousticVolume
    harms : mapping of str to str or None, optional
        Structure name -> the scene's ``harm`` (``SceneSpec.structures``);
        used to tell arteries from veins.

    Returns
    -------
    tuple of str, length n_labels
        One of ``KINDS`` per label, indexed by label.
    """
    harms = harms or {}
    out = []
    for s in volume.structures:
        kind = TISSUE_KIND.get(s.tissue.name, "soft")
        if kind == "vessel":
            kind = vessel_kind(s.name, harms.get(s.name))
        out.append(kind)
    return tuple(out)


def is_lumen(volume: AcousticVolume) -> tuple[bool, ...]:
    """True for labels whose tissue is blood (a vessel's lumen), per label."""
    return tuple(s.tissue.name == "blood" for s in volume.structures)
