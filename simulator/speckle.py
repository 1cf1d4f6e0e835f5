"""Tissue-fixed scatterer field and tissue textures.

Speckle comes from a complex Gaussian scatterer field defined on world
coordinates, so the same tissue gives the same speckle from the same pose
and the pattern moves with the anatomy when the probe moves. The field is
white in depth and smooth across only at a fraction of the beam width (see
``SPECKLE_SMOOTH_CELLS``), so the grain of the speckle in the image is set by
the point-spread function (``simulator.engine`` scales the amplitude to the
sample spacing and the field's own correlation so that the speckle level
does not depend on them either), and hashing the cells into a table of
slabs leaves no period for a pattern to repeat.

Textures (``simulator.textures``) are real, non-negative backscatter
modulations (mean 1) defined in each structure's fibre frame, drawn on top of
the speckle.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np
from scipy import ndimage

from simulator.textures import (  # noqa: F401  (re-exported)
    TEXTURE_KINDS,
    TEXTURE_TILE_SHAPE,
    TEXTURE_VOXEL_MM,
    make_textures,
)

#: Scatterer grid: in depth (world z) cells of ``SPECKLE_DEPTH_MM``, each
#: independent (white at 0.025 mm, finer than the finest axial sample spacing,
#: 0.045 mm at 15 MHz), so the axial grain is the pulse's. Across (world x and
#: y) the field is smooth over ``SPECKLE_SMOOTH_CELLS`` cells (Gaussian sigma),
#: so that a beam line falling between two earlier ones sees what lies between
#: them and the speckle stays fixed to the tissue as the probe slides by a
#: fraction of the line pitch. The engine sizes those cells to the beam
#: (``lateral_cell_mm``): the smoothing then widens the lateral grain by the
#: same small share at every frequency.
SPECKLE_DEPTH_MM = 0.025
SPECKLE_SMOOTH_CELLS = 2.8
#: Lateral smoothing of the field (Gaussian sigma) per -6 dB focal beam width,
#: at most ``SPECKLE_SMOOTH_MAX_MM``: 0.07 mm for the 0.274 mm beam of 10 MHz at
#: F#2, which keeps the image of tissue slid by 0.5 mm (3.4 line pitches)
#: correlated over 0.9 with the first and widens the grain by about 12 %;
#: narrower beams (12-15 MHz) get a finer field, so their grain is widened by
#: the same share. Wider beams keep 0.07 mm: their lines are no further apart.
SPECKLE_SMOOTH_PER_BEAM = 0.255
SPECKLE_SMOOTH_MAX_MM = 0.07
#: Side of one smooth lateral slab, cells (a power of two), and number of slabs.
SPECKLE_SLAB_SIDE = 128
SPECKLE_N_SLABS = 64
#: Bit layout of a table index: slab, then x, then y.
_SIDE_BITS = SPECKLE_SLAB_SIDE.bit_length() - 1
#: Odd multipliers of the cell hash (spatial-hash primes and a 32-bit mixer).
_HASH_PRIMES = (np.uint32(73856093), np.uint32(19349663), np.uint32(83492791))
_HASH_MIX = np.uint32(0x2C1B3C6D)


def lateral_cell_mm(beam_width_mm: float) -> float:
    """Size of the scatterer cells across for a beam of this focal -6 dB width, mm."""
    sigma_mm = min(SPECKLE_SMOOTH_PER_BEAM * float(beam_width_mm), SPECKLE_SMOOTH_MAX_MM)
    return sigma_mm / SPECKLE_SMOOTH_CELLS


def speckle_index(cx: np.ndarray, cy: np.ndarray, cz: np.ndarray) -> np.ndarray:
    """Table index of the scatterers at non-negative grid coordinates.

    The depth cell and the lateral tile (``SPECKLE_SLAB_SIDE`` cells square)
    are hashed to choose a slab; the lateral cell within the tile picks the
    value in it. No pattern repeats: every depth cell and tile draws its own slab.

    Parameters
    ----------
    cx, cy, cz : ndarray, same shape, float32
        Grid coordinates (cells, >= 0) across, across and in depth.

    Returns
    -------
    ndarray, same shape, uint32
        Index into ``ScattererField.speckle``.
    """
    ix = cx.astype(np.uint32)
    iy = cy.astype(np.uint32)
    h = cz.astype(np.uint32)
    h *= _HASH_PRIMES[2]
    h ^= (ix >> np.uint32(_SIDE_BITS)) * _HASH_PRIMES[0]
    h ^= (iy >> np.uint32(_SIDE_BITS)) * _HASH_PRIMES[1]
    h ^= h >> np.uint32(15)
    h *= _HASH_MIX
    h ^= h >> np.uint32(13)
    h &= np.uint32(SPECKLE_N_SLABS - 1)
    h <<= np.uint32(2 * _SIDE_BITS)
    mask = np.uint32(SPECKLE_SLAB_SIDE - 1)
    ix &= mask
    ix <<= np.uint32(_SIDE_BITS)
    h |= ix
    iy &= mask
    h |= iy
    return h


@dataclass(frozen=True)
class ScattererField:
    """Precomputed, seed-determined scatterer table and texture tiles.

    Attributes
    ----------
    speckle : ndarray, shape (SPECKLE_N_SLABS * SPECKLE_SLAB_SIDE**2,), complex64
        Complex Gaussian scatterers, unit mean power: ``SPECKLE_N_SLABS``
        independent slabs, each smooth and periodic across, indexed by
        ``speckle_index``.
    rotation : ndarray, shape (3, 3), float64
        World -> scatterer-grid rotation (a fixed turn about the depth axis,
        so the grid does not line up with a probe at yaw 0).
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


@functools.lru_cache(maxsize=4)
def make_scatterer_field(seed: int) -> ScattererField:
    """Build the scatterer field and textures for a scene seed (cached per seed: read-only).

    Parameters
    ----------
    seed : int
        Scene seed; the same seed gives bit-identical tiles.

    Returns
    -------
    ScattererField
    """
    rng = np.random.default_rng(np.random.SeedSequence([seed, 0x5EC1E]))
    side, n = SPECKLE_SLAB_SIDE, SPECKLE_N_SLABS
    sigma = SPECKLE_SMOOTH_CELLS
    parts = rng.standard_normal((2, n, side, side), dtype=np.float32)
    parts = ndimage.gaussian_filter(parts, sigma=(0, 0, sigma, sigma), mode="wrap")
    speckle = (parts[0] + 1j * parts[1]).astype(np.complex64).ravel()
    speckle /= np.float32(np.sqrt(np.mean(np.abs(speckle) ** 2)))
    turn = rng.uniform(0.0, 2.0 * np.pi)
    c, s_ = np.cos(turn), np.sin(turn)
    rotation = np.array([[c, -s_, 0.0], [s_, c, 0.0], [0.0, 0.0, 1.0]])
    textures = make_textures(rng)
    return ScattererField(speckle=speckle, rotation=rotation, textures=textures)


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
