"""An irregular deep border of the skin (dermis over subcutaneous fat).

Scene meshes draw the skin as a layer of constant thickness, so its border
with the fat is a ruler-straight line in every image. The real dermis is not:
its thickness varies from place to place (epidermis + dermis 0.79 mm on the
foot to 1.48 mm on the thorax as site means, and 0.48-2.00 mm between
individuals, 12 MHz B-mode at 24 sites: Krackowizer & Brenner, Phlebologie
2008;37:83), and the subcutaneous fat lobules are embedded in the deep
(reticular) dermis, held by fibrous retinacula (Guimberteau, Architecture of
Human Living Fascia, p. 36), so the dermis-fat border undulates from lobule
to lobule. The skin appears as a hyperechoic band over the hypoechoic,
septated hypodermis (Valle & Zamorani, Skin and subcutaneous tissue, in
Bianchi & Martinoli, Ultrasound of the Musculoskeletal System).

``roughen_deep_border`` moves that border up and down by a smooth random
height field: RMS ``BORDER_RMS_MM``, lateral scale ``BORDER_SCALE_MM``,
deterministic for a seed. The skin surface (its top) is left alone, so the
probe still sits where the mesh says.
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage

#: RMS of the border's excursion, mm: about 10 % of a 1.0-1.5 mm skin, well
#: inside the 0.48-2.00 mm spread of skin thickness (Krackowizer & Brenner 2008).
BORDER_RMS_MM = 0.12
#: Largest excursion, in RMS units (the field is clipped there).
BORDER_CLIP_RMS = 2.5
#: Gaussian smoothing length of the height field, mm: a few millimetres, the
#: order of the fat lobules pressing into the dermis (and of ``FAT_LOBULE_MM``
#: in ``simulator.textures``).
BORDER_SCALE_MM = 1.2
#: The skin is never left thinner than this, mm (thinnest published skin 0.48 mm).
MIN_SKIN_MM = 0.48


def height_field(
    shape: tuple[int, int], voxel_mm: float, seed: int, rms_mm: float = BORDER_RMS_MM
) -> np.ndarray:
    """Smooth random height field in voxels, shape ``shape``, RMS ``rms_mm / voxel_mm``.

    The same seed gives the same field (the scene seed, salted so that the
    field does not share its draws with the speckle).
    """
    rng = np.random.default_rng(np.random.SeedSequence([int(seed), 0xDE2A15]))
    noise = rng.standard_normal(shape)
    sigma = BORDER_SCALE_MM / voxel_mm
    field = ndimage.gaussian_filter(noise, sigma=sigma, mode="reflect")
    field -= field.mean()
    std = field.std()
    if std > 0:
        field *= (rms_mm / voxel_mm) / std
    clip = BORDER_CLIP_RMS * rms_mm / voxel_mm
    return np.clip(field, -clip, clip)


def roughen_deep_border(
    labels: np.ndarray,
    skin_labels: tuple[int, ...] | list[int],
    below_label: int,
    voxel_mm: float,
    seed: int,
) -> int:
    """Make the skin's deep border irregular, in place.

    Parameters
    ----------
    labels : ndarray, shape (nx, ny, nz), uint8
        Painted label grid, ``[ix, iy, iz]``, +z is depth. Modified in place.
    skin_labels : sequence of int
        Label(s) of the skin structure(s).
    below_label : int
        Label of the tissue under the skin (usually the subcutaneous fat):
        the only label the skin grows into, and the one it gives back.
    voxel_mm : float
        Grid spacing, mm.
    seed : int
        Seed of the height field.

    Returns
    -------
    int
        Number of voxels relabelled.
    """
    skin = np.isin(labels, np.asarray(list(skin_labels), dtype=labels.dtype))
    has = skin.any(axis=2)
    if not has.any():
        return 0
    nz = labels.shape[2]
    z = np.arange(nz)
    # deepest skin voxel of each column and the skin's top there
    bottom = nz - 1 - np.argmax(skin[:, :, ::-1], axis=2)
    top = np.argmax(skin, axis=2)
    shift = np.rint(height_field(labels.shape[:2], voxel_mm, seed)).astype(np.int64)
    min_vox = max(int(np.ceil(MIN_SKIN_MM / voxel_mm)), 1)
    new_bottom = np.maximum(bottom + shift, top + min_vox - 1)
    new_bottom = np.minimum(new_bottom, nz - 1)
    ix, iy = np.nonzero(has)
    skin_label = labels[ix, iy, bottom[ix, iy]]
    lo = bottom[ix, iy]
    hi = new_bottom[ix, iy]
    # only the slab of depths the border moves through
    z0 = int(min(lo.min(), hi.min()))
    z1 = int(max(lo.max(), hi.max())) + 1
    zz = z[None, z0:z1]
    col = labels[ix, iy, z0:z1]
    # grow: fat voxels between the old and the new bottom become skin
    grow = (zz > lo[:, None]) & (zz <= hi[:, None]) & (col == below_label)
    # the growth must stay contiguous with the skin: stop at the first non-fat voxel
    blocked = (zz > lo[:, None]) & (zz <= hi[:, None]) & (col != below_label)
    first_block = np.where(blocked.any(axis=1), z0 + np.argmax(blocked, axis=1), nz)
    grow &= zz < first_block[:, None]
    # shrink: skin voxels below the new bottom become the tissue below
    shrink = (zz > hi[:, None]) & (zz <= lo[:, None]) & (col == skin_label[:, None])
    col = np.where(grow, skin_label[:, None], col)
    col = np.where(shrink, np.uint8(below_label), col)
    labels[ix, iy, z0:z1] = col.astype(labels.dtype)
    return int(grow.sum() + shrink.sum())


def roughen_scene_dermis(labels: np.ndarray, spec) -> int:
    """``roughen_deep_border`` for a scene: its skin structures over what lies under them.

    The label below is the one found most often directly under the skin's
    deepest voxel (the subcutaneous fat in every built-in scene). Scenes
    without a skin structure are left alone.

    Parameters
    ----------
    labels : ndarray, uint8
        Painted label grid (``scenes.voxelize``), modified in place.
    spec : scenes.spec.SceneSpec

    Returns
    -------
    int
        Number of voxels relabelled.
    """
    skin_labels = [i + 1 for i, s in enumerate(spec.structures) if s.tissue == "skin"]
    if not skin_labels:
        return 0
    skin = np.isin(labels, np.asarray(skin_labels, dtype=labels.dtype))
    has = skin.any(axis=2)
    if not has.any():
        return 0
    nz = labels.shape[2]
    bottom = nz - 1 - np.argmax(skin[:, :, ::-1], axis=2)
    ix, iy = np.nonzero(has & (bottom < nz - 1))
    if ix.size == 0:
        return 0
    under = labels[ix, iy, bottom[ix, iy] + 1]
    under = under[~np.isin(under, skin_labels)]
    if under.size == 0:
        return 0
    below = int(np.bincount(under).argmax())
    return roughen_deep_border(labels, skin_labels, below, float(spec.voxel_mm), int(spec.seed))
