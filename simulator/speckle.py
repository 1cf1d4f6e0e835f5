"""Tissue-fixed scatterer field and tissue textures.

Speckle comes from a complex Gaussian scatterer field defined on world
coordinates, so the same tissue gives the same speckle from the same pose
and the pattern moves with the anatomy when the probe moves. The field is a
periodic 3-D tile, smooth at the scale of the beam-line spacing (so that a
beam line landing anywhere between two others sees the field that is there),
read through a fixed oblique rotation so its period never lines up with the
image axes.

Textures are real, non-negative backscatter modulations (mean 1) defined in
each structure's fibre frame: tile axis 0 and 1 across the fibres, axis 2
along them. They draw fibrillar tendon, fascicular nerve, muscle perimysium
and fat septa on top of the speckle.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import ndimage

from simulator.tissues import TEXTURE_KINDS

#: Speckle tile: shape (power of two per axis) and voxel size, mm.
SPECKLE_TILE_SHAPE = (128, 128, 128)
SPECKLE_VOXEL_MM = 0.05
#: Smoothing of the scatterer field, tile voxels (Gaussian sigma).
SPECKLE_SMOOTH_VOX = 1.5

#: Texture tiles: (across, across, along) shape and voxel sizes, mm.
TEXTURE_TILE_SHAPE = (128, 128, 32)
TEXTURE_VOXEL_MM = (0.05, 0.05, 0.4)


@dataclass(frozen=True)
class ScattererField:
    """Precomputed, seed-determined scatterer and texture tiles.

    Attributes
    ----------
    speckle : ndarray, shape (prod(SPECKLE_TILE_SHAPE),), complex64
        Flattened complex Gaussian field, unit mean power.
    rotation : ndarray, shape (3, 3), float64
        World -> tile rotation (fixed, oblique).
    textures : ndarray, shape (len(TEXTURE_KINDS) * prod(TEXTURE_TILE_SHAPE),), float32
        Flattened texture tiles stacked in ``TEXTURE_KINDS`` order, mean 1
        (the ``none`` and ``speckle`` tiles are all ones).
    """

    speckle: np.ndarray
    rotation: np.ndarray
    textures: np.ndarray

    @property
    def texture_tile_size(self) -> int:
        """Number of voxels of one texture tile."""
        return int(np.prod(TEXTURE_TILE_SHAPE))


def _oblique_rotation(rng: np.random.Generator) -> np.ndarray:
    q, r = np.linalg.qr(rng.standard_normal((3, 3)))
    q = q * np.sign(np.diag(r))
    if np.linalg.det(q) < 0:
        q[:, 0] = -q[:, 0]
    return q


def _smooth_periodic(field: np.ndarray, sigma: tuple[float, float, float]) -> np.ndarray:
    return ndimage.gaussian_filter(field, sigma=sigma, mode="wrap")


def _normalise_mean(tile: np.ndarray) -> np.ndarray:
    tile = np.maximum(tile, 0.0)
    return (tile / tile.mean()).astype(np.float32)


def _fibrillar(rng: np.random.Generator) -> np.ndarray:
    """Tendon/ligament: packed fibril bundles, long along the fibre axis."""
    g = _smooth_periodic(rng.standard_normal(TEXTURE_TILE_SHAPE), (1.2, 1.2, 2.5))
    g /= g.std()
    # bright, long fibril lines separated by thin dark gaps
    return _normalise_mean(np.minimum(np.exp(1.1 * g), 8.0))


def _fascicular(rng: np.random.Generator) -> np.ndarray:
    """Nerve: round dark fascicles (0.3-0.8 mm) in bright epineurium."""
    na, nb, _nc = TEXTURE_TILE_SHAPE
    va, vb, _ = TEXTURE_VOXEL_MM
    n_fasc = 60
    centres = rng.uniform(0, 1, (n_fasc, 2)) * (na * va, nb * vb)
    radii = rng.uniform(0.2, 0.45, n_fasc)
    a = (np.arange(na) + 0.5) * va
    b = (np.arange(nb) + 0.5) * vb
    aa, bb = np.meshgrid(a, b, indexing="ij")
    inside = np.zeros((na, nb), dtype=bool)
    period = np.array([na * va, nb * vb])
    for (ca, cb), rad in zip(centres, radii, strict=True):
        da = (aa - ca + period[0] / 2) % period[0] - period[0] / 2
        db = (bb - cb + period[1] / 2) % period[1] - period[1] / 2
        inside |= da * da + db * db < rad * rad
    section = np.where(inside, 0.12, 2.5)
    section = ndimage.gaussian_filter(section, 0.8, mode="wrap")
    along = 1.0 + 0.15 * _smooth_periodic(rng.standard_normal(TEXTURE_TILE_SHAPE), (1, 1, 2))
    return _normalise_mean(section[:, :, None] * along)


def _perimysium(rng: np.random.Generator) -> np.ndarray:
    """Muscle: dark fascicles with bright perimysial septa along the fibres."""
    g = _smooth_periodic(rng.standard_normal(TEXTURE_TILE_SHAPE), (3.0, 3.0, 4.0))
    g /= g.std()
    # septa are where the smooth field crosses zero: thin bright sheets
    ridge = np.exp(-((g / 0.18) ** 2))
    return _normalise_mean(0.45 + 3.5 * ridge)


def _septa(rng: np.random.Generator) -> np.ndarray:
    """Fat: dark lobules bounded by thin bright septa, roughly in sheets."""
    g = _smooth_periodic(rng.standard_normal(TEXTURE_TILE_SHAPE), (6.0, 2.0, 1.2))
    g /= g.std()
    ridge = np.exp(-((g / 0.15) ** 2))
    return _normalise_mean(0.35 + 4.0 * ridge)


_GENERATORS = {
    "fibrillar": _fibrillar,
    "fascicular": _fascicular,
    "perimysium": _perimysium,
    "septa": _septa,
}


def make_scatterer_field(seed: int) -> ScattererField:
    """Build the scatterer field and textures for a scene seed.

    Parameters
    ----------
    seed : int
        Scene seed; the same seed gives bit-identical tiles.

    Returns
    -------
    ScattererField
    """
    rng = np.random.default_rng(np.random.SeedSequence([seed, 0x5EC1E]))
    shape = SPECKLE_TILE_SHAPE
    re = _smooth_periodic(rng.standard_normal(shape).astype(np.float32), (SPECKLE_SMOOTH_VOX,) * 3)
    im = _smooth_periodic(rng.standard_normal(shape).astype(np.float32), (SPECKLE_SMOOTH_VOX,) * 3)
    speckle = (re + 1j * im).astype(np.complex64)
    speckle /= np.sqrt(np.mean(np.abs(speckle) ** 2))
    rotation = _oblique_rotation(rng)
    tiles = []
    for kind in TEXTURE_KINDS:
        gen = _GENERATORS.get(kind)
        tiles.append(
            gen(rng).astype(np.float32) if gen else np.ones(TEXTURE_TILE_SHAPE, dtype=np.float32)
        )
    textures = np.stack(tiles).ravel()
    return ScattererField(speckle=speckle.ravel(), rotation=rotation, textures=textures)


def texture_frame(fibre_dir: np.ndarray) -> np.ndarray:
    """World -> texture rotation for a structure with the given fibre axis.

    Row 2 is the fibre direction; row 0 is the part of world +z (depth)
    perpendicular to it, so that sheet-like textures (fat septa) lie parallel
    to the skin; row 1 completes a right-handed frame.

    Returns
    -------
    ndarray, shape (3, 3), float64
    """
    f = np.asarray(fibre_dir, dtype=np.float64)
    f = f / np.linalg.norm(f)
    ref = np.array([0.0, 0.0, 1.0])
    a = ref - f * (ref @ f)
    if np.linalg.norm(a) < 1e-6:
        ref = np.array([0.0, 1.0, 0.0])
        a = ref - f * (ref @ f)
    a /= np.linalg.norm(a)
    b = np.cross(f, a)
    return np.stack([a, b, f])
