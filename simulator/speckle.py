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

from simulator.textures import (  # noqa: F401  (re-exported)
    TEXTURE_KINDS,
    TEXTURE_TILE_SHAPE,
    TEXTURE_VOXEL_MM,
    _smooth_periodic,
    make_textures,
)

#: Speckle tile: shape (power of two per axis) and voxel size, mm.
SPECKLE_TILE_SHAPE = (128, 128, 128)
SPECKLE_VOXEL_MM = 0.05
#: Smoothing of the scatterer field, tile voxels (Gaussian sigma).
SPECKLE_SMOOTH_VOX = 1.5


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
    textures = make_textures(rng)
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
