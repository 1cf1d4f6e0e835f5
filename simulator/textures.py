"""Tissue textures: the backscatter pattern each tissue kind draws on the speckle.

Textures are real, non-negative backscatter amplitude factors (mean 1 per
tile) defined in each structure's fibre frame: tile axis 0 and 1 across the
fibres (axis 0 is the part of depth across the fibres), axis 2 along them.
The B-mode engine multiplies them onto the speckle amplitude before the PSF,
so what shows in the image is the texture smoothed by the PSF (about 0.12 mm
axially and 0.25-0.35 mm laterally at 10 MHz) with the speckle on top (about
52 % amplitude std/mean). Every pattern below is therefore drawn at scales
the PSF keeps and with contrasts of 10 dB and more between its bright and dark
parts, so that it beats the speckle.

Each generator takes a seeded random generator and returns one periodic tile
of shape ``TEXTURE_TILE_SHAPE``. Sizes are in millimetres and cited where a
published value exists:

- tendon (``fibrillar``): bright fibrillar echoes, the specular reflections at
  the interfaces between collagen bundles and the endotenon septa, fine and
  parallel along the tendon, more numerous and thinner at higher frequency
  (Martinoli et al., Radiology 1993;186:839); hyperechoic and compact
  (Cleveland Clinic J Med musculoskeletal US table, "CCJM" in
  ``simulator.tissues``). Short axis: a fine bright punctate pattern; long
  axis: long parallel bright lines.
- nerve (``fascicular``): hypoechoic fascicles in hyperechoic epineurium, the
  honeycomb in short axis, parallel hypoechoic bands separated by
  discontinuous bright bands in long axis (clinicalgate.com peripheral nerves;
  Stuart et al., AJR 2004;182:123). Median nerve at the wrist: about 10
  fascicles (7 seen by high-resolution US), fascicle area 5.0 mm2 of a
  9.2 mm2 nerve (fascicular ratio 0.40-0.55), largest fascicle about 1.5 mm2
  (Sci Rep 2024, s41598-024-84396-y, Table 1): fascicles 0.5-1.4 mm across.
- muscle (``perimysium``): hypoechoic fibre bundles with echogenic perimysium,
  dots and short lines in short axis ("starry sky"), oblique parallel stripes
  in long axis (pennate, feathery) (Lee et al., AJR 2004;182:341; Diagnostic
  Ultrasound, Rumack, fig. 23.2; CCJM).
- fat (``septa``): hypoechoic lobules with thin echogenic septa running
  mostly parallel to the skin, intersecting and curvilinear (Valle &
  Zamorani, Skin and subcutaneous tissue, in Ultrasound of the
  Musculoskeletal System; arthritisresearch.us dermis and hypodermis).
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage

from simulator.tissues import TEXTURE_KINDS

#: Texture tiles: (across, across, along) shape and voxel sizes, mm.
TEXTURE_TILE_SHAPE = (128, 128, 32)
TEXTURE_VOXEL_MM = (0.05, 0.05, 0.4)

#: Tendon: least distance between fibril echoes in the cross-section, mm
#: (resolved by the 0.25-0.35 mm lateral PSF at 10-15 MHz, Martinoli 1993:
#: fibrillar echoes thin and numerous at 10-15 MHz).
FIBRIL_SPACING_MM = 0.42
#: Tendon: 1/e length of a fibril echo along the tendon, mm (long lines).
FIBRIL_LENGTH_MM = 3.0
#: Nerve: fascicle diameters, mm (Sci Rep 2024 median nerve: 0.5-1.4 mm).
FASCICLE_DIAMETER_MM = (0.5, 1.1)
#: Nerve: target fascicular ratio (area of fascicles / nerve), Sci Rep 2024: 0.40-0.55.
FASCICULAR_RATIO = 0.5
#: Muscle: spacing of the perimysial septa around fibre bundles, mm.
PERIMYSIUM_SPACING_MM = 1.1
#: Fat: lobule size across (parallel to the skin) and in depth, mm.
FAT_LOBULE_MM = (3.0, 1.6)


def _smooth_periodic(field: np.ndarray, sigma: tuple[float, ...] | float) -> np.ndarray:
    return ndimage.gaussian_filter(field, sigma=sigma, mode="wrap")


def _normalise_mean(tile: np.ndarray) -> np.ndarray:
    tile = np.maximum(tile, 0.0)
    return (tile / tile.mean()).astype(np.float32)


def _unit_smooth(rng: np.random.Generator, shape: tuple[int, ...], sigma) -> np.ndarray:
    """Smooth periodic Gaussian noise, zero mean, unit std."""
    g = _smooth_periodic(rng.standard_normal(shape), sigma)
    g -= g.mean()
    return g / g.std()


def _section_grid() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Cross-section voxel centres (a, b), mm, and the section period, mm."""
    na, nb, _ = TEXTURE_TILE_SHAPE
    va, vb, _ = TEXTURE_VOXEL_MM
    a = (np.arange(na) + 0.5) * va
    b = (np.arange(nb) + 0.5) * vb
    aa, bb = np.meshgrid(a, b, indexing="ij")
    return aa, bb, np.array([na * va, nb * vb])


def _dart_points(
    rng: np.random.Generator, period: np.ndarray, min_dist: float, tries: int
) -> np.ndarray:
    """Random points in a periodic box, no two closer than ``min_dist`` (dart throwing)."""
    pts = np.zeros((0, period.size))
    for cand in rng.uniform(0.0, 1.0, (tries, period.size)) * period:
        d = pts - cand
        d -= period * np.round(d / period)
        if pts.shape[0] == 0 or np.min(np.sum(d * d, axis=1)) >= min_dist * min_dist:
            pts = np.vstack([pts, cand])
    return pts


def _periodic_offsets(aa: np.ndarray, bb: np.ndarray, centre, period) -> tuple:
    da = (aa - centre[0] + period[0] / 2) % period[0] - period[0] / 2
    db = (bb - centre[1] + period[1] / 2) % period[1] - period[1] / 2
    return da, db


def _fibrillar(rng: np.random.Generator) -> np.ndarray:
    """Tendon/ligament: fine bright fibril echoes, long lines along the fibres.

    Cross-section: bright dots (the bundle/endotenon interfaces, about 0.1 mm
    across, below the PSF, so each shows as one fine bright point) at least
    ``FIBRIL_SPACING_MM`` apart on a moderately echoic floor. Along the fibres
    each dot is a line whose brightness wanders over ``FIBRIL_LENGTH_MM`` and
    now and then fades, so long-axis lines are long, parallel and broken.
    """
    na, nb, nc = TEXTURE_TILE_SHAPE
    va, _, vc = TEXTURE_VOXEL_MM
    _, _, period = _section_grid()
    pts = _dart_points(rng, period, FIBRIL_SPACING_MM, 4000)
    # brightness of each fibril along the tile: smooth log-normal in z
    sigma_z = FIBRIL_LENGTH_MM / vc / 2.0
    along = np.clip(1.0 + 0.6 * _unit_smooth(rng, (pts.shape[0], nc), (0, sigma_z)), 0.0, 2.0)
    ia = np.floor(pts[:, 0] / va).astype(int) % na
    ib = np.floor(pts[:, 1] / va).astype(int) % nb
    tile = np.zeros(TEXTURE_TILE_SHAPE)
    np.add.at(tile, (ia, ib), along)
    # a fibril echo: Gaussian sigma 0.05 mm in depth (axis 0), 0.15 mm along
    # axis 1, which is lateral in short axis (below the lateral PSF) and
    # elevational in long axis, where it stands in for the slice thickness
    # the beam sums over (the engine samples one plane)
    s_a, s_b = 0.05 / va, 0.15 / va
    tile = _smooth_periodic(tile, (s_a, s_b, 0.0)) * (2.0 * np.pi * s_a * s_b)
    # floor 0.3 of a dot's peak: the bundles between the fibril echoes still scatter
    return _normalise_mean(0.3 + 2.2 * tile)


def _fascicular(rng: np.random.Generator) -> np.ndarray:
    """Nerve: hypoechoic round fascicles packed in bright epineurium (honeycomb).

    Fascicle centres are dart-thrown so that neighbours leave an epineurial
    septum between them; diameters ``FASCICLE_DIAMETER_MM`` give a fascicular
    ratio near ``FASCICULAR_RATIO``. Along the nerve each fascicle's radius
    wanders by about 12 % over a few millimetres (fascicles divide and merge
    along the nerve, so sections 2 mm apart differ: clinicalgate.com), and the
    epineurium's brightness varies, so long-axis bright bands are discontinuous.
    """
    _, _, nc = TEXTURE_TILE_SHAPE
    _, _, vc = TEXTURE_VOXEL_MM
    aa, bb, period = _section_grid()
    d_min, d_max = FASCICLE_DIAMETER_MM
    septum = 0.12  # mm of epineurium kept between neighbours
    pts = _dart_points(rng, period, 0.5 * (d_min + d_max) + septum, 3000)
    n = pts.shape[0]
    # nearest-neighbour distance caps each radius so fascicles stay apart
    diff = pts[:, None, :] - pts[None, :, :]
    diff -= period * np.round(diff / period)
    dist = np.sqrt(np.sum(diff * diff, axis=2)) + np.eye(n) * 1e9
    cap = 0.5 * dist.min(axis=1) - 0.5 * septum
    radius = np.minimum(rng.uniform(0.5 * d_min, 0.5 * d_max, n), cap)
    wander = 1.0 + 0.12 * _unit_smooth(rng, (n, nc), (0, 2.5 / vc))
    inside = np.zeros(TEXTURE_TILE_SHAPE)
    for i in range(n):
        da, db = _periodic_offsets(aa, bb, pts[i], period)
        r = np.hypot(da, db)
        # soft edge, 0.04 mm: a sharp edge would only add aliasing
        inside = np.maximum(
            inside, 1.0 / (1.0 + np.exp((r[:, :, None] - radius[i] * wander[i]) / 0.04))
        )
    epi = 1.0 + 0.2 * _unit_smooth(rng, TEXTURE_TILE_SHAPE, (6, 6, 2.0 / vc))
    # fascicle interior 0.1 of the epineurium: 20 dB darker before the PSF
    return _normalise_mean(0.1 * inside + epi * (1.0 - inside))


def _voronoi_ridge(
    coords: list[np.ndarray], seeds: np.ndarray, period: np.ndarray, width: float
) -> np.ndarray:
    """Ridge on the edges of the periodic Voronoi cells of ``seeds`` (1 on an edge, 0 inside).

    ``coords`` are the voxel coordinates (one array per axis, same shape),
    ``width`` the half-width of the ridge in the same units.
    """
    d1 = np.full(coords[0].shape, np.inf)
    d2 = np.full(coords[0].shape, np.inf)
    for s in seeds:
        acc = np.zeros(coords[0].shape)
        for c, sc, p in zip(coords, s, period, strict=True):
            d = (c - sc + p / 2) % p - p / 2
            acc += d * d
        dist = np.sqrt(acc)
        d2 = np.where(dist < d1, d1, np.minimum(d2, dist))
        d1 = np.minimum(d1, dist)
    return np.exp(-(((d2 - d1) / width) ** 2))


def _perimysium(rng: np.random.Generator) -> np.ndarray:
    """Muscle: hypoechoic fibre bundles with echogenic perimysium.

    Cross-section: the edges of Voronoi cells ``PERIMYSIUM_SPACING_MM`` across
    (the bundles), broken up by a random mask so that what remains are dots
    and short lines ("starry sky"). Along the fibres the septa run on as
    sheets, fading in and out over several millimetres (pennate lines).
    """
    _, _, vc = TEXTURE_VOXEL_MM
    aa, bb, period = _section_grid()
    seeds = _dart_points(rng, period, PERIMYSIUM_SPACING_MM, 2000)
    ridge = _voronoi_ridge([aa, bb], seeds, period, 0.06)
    # break the network: keep about half of it, in patches 0.3-0.6 mm long
    keep = _unit_smooth(rng, TEXTURE_TILE_SHAPE, (4, 4, 2.5 / vc))
    mask = 1.0 / (1.0 + np.exp(-keep / 0.25))
    septa = ridge[:, :, None] * mask
    # fibre bundles: hypoechoic floor, perimysium about 10x the floor
    return _normalise_mean(0.35 + 3.2 * septa)


def _septa(rng: np.random.Generator) -> np.ndarray:
    """Fat: hypoechoic lobules bounded by thin bright septa, flattened along the skin.

    3-D periodic Voronoi cells, ``FAT_LOBULE_MM`` across and in depth (tile
    axis 0 is depth, so cells are squashed along it and their faces lie
    mostly parallel to the skin); the septa are the cell faces, about 0.1 mm
    thick. The lobules keep a floor of scatter: fat is hypoechoic, not
    anechoic like fluid.
    """
    na, nb, nc = TEXTURE_TILE_SHAPE
    va, vb, vc = TEXTURE_VOXEL_MM
    period = np.array([na * va, nb * vb, nc * vc])
    across, deep = FAT_LOBULE_MM
    # work in a space stretched in depth so the lobules are round there
    stretch = across / deep
    period_s = period * np.array([stretch, 1.0, 1.0])
    seeds = _dart_points(rng, period_s, 0.9 * across, 3000)
    a = (np.arange(na) + 0.5) * va * stretch
    b = (np.arange(nb) + 0.5) * vb
    c = (np.arange(nc) + 0.5) * vc
    coords = list(np.meshgrid(a, b, c, indexing="ij"))
    # ridge width 0.06 mm in depth (stretched units), thin septa
    ridge = _voronoi_ridge(coords, seeds, period_s, 0.06 * stretch)
    # faces across axis 2 are thinner than its 0.4 mm voxels: spread them over one
    ridge = _smooth_periodic(ridge, (0.0, 0.0, 0.7))
    # septa vary in brightness; lobule interiors carry a faint lobular mottle
    bright = np.clip(1.0 + 0.4 * _unit_smooth(rng, TEXTURE_TILE_SHAPE, (8, 8, 2)), 0.2, 2.0)
    return _normalise_mean(0.4 + 3.0 * ridge * bright)


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
