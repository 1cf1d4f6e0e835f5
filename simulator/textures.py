"""Tissue textures: the backscatter pattern each tissue kind draws on the speckle.

Textures are real, non-negative backscatter modulations (mean 1) defined in
each structure's fibre frame: tile axis 0 and 1 across the fibres, axis 2
along them. They draw fibrillar tendon, fascicular nerve, muscle perimysium
and fat septa on top of the speckle (``simulator.speckle``). Each generator
takes a seeded random generator and returns one periodic tile of shape
``TEXTURE_TILE_SHAPE``.
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage

from simulator.tissues import TEXTURE_KINDS

#: Texture tiles: (across, across, along) shape and voxel sizes, mm.
TEXTURE_TILE_SHAPE = (128, 128, 32)
TEXTURE_VOXEL_MM = (0.05, 0.05, 0.4)


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


def make_textures(rng: np.random.Generator) -> np.ndarray:
    """All texture tiles, flattened and stacked in ``TEXTURE_KINDS`` order.

    Parameters
    ----------
    rng : numpy.random.Generator
        Seeded generator (drawn from in ``TEXTURE_KINDS`` order).

    Returns
    -------
    ndarray, shape (len(TEXTURE_KINDS) * prod(TEXTURE_TILE_SHAPE),), float32
        Mean 1 per tile; the ``none`` and ``speckle`` tiles are all ones.
    """
    tiles = []
    for kind in TEXTURE_KINDS:
        gen = _GENERATORS.get(kind)
        tiles.append(
            gen(rng).astype(np.float32) if gen else np.ones(TEXTURE_TILE_SHAPE, dtype=np.float32)
        )
    return np.stack(tiles).ravel()
