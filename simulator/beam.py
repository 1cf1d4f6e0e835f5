"""Ray march: the echo of every sample of every beam line, before the PSF.

For a block of lines this samples the label grid along each line, looks up
the tissue of each sample, and builds the complex echo signal the
transducer would receive from a perfectly narrow beam:

- diffuse backscatter: tissue level x anisotropy x texture x the
  tissue-fixed complex scatterer field;
- specular interface echoes where the label changes: amplitude reflection
  coefficient ``|Z2 - Z1| / (Z2 + Z1)`` times an angular lobe around the
  surface normal;
- two-way losses: frequency-dependent attenuation of every sample crossed and
  the transmission ``1 - R`` of every interface crossed (so bone casts a
  shadow and fluid, which barely attenuates, leaves enhancement behind it).

Arrays are line-major, shape ``(n_lines, n_samples)``, float32/complex64.
The PSF, envelope and display are applied by ``simulator.engine``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from simulator.speckle import (
    TEXTURE_TILE_SHAPE,
    ScattererField,
    speckle_index,
)
from simulator.volume import NORMAL_SCALE, OFFSET_SCALE, AcousticVolume

_LN10_OVER_20 = float(np.log(10.0) / 20.0)
#: Acoustic impedance of the coupling gel between the probe face and the skin,
#: MRayl: an aqueous gel, taken as the simulator's fluid (1524 m/s, 1000 kg/m^3,
#: simulator.tissues); against skin (1.80 MRayl) it gives the bright entry echo.
GEL_IMPEDANCE_MRAYL = 1.524
#: Hash of a texture macro cell (the tile's repetitions): odd multipliers.
_MACRO_PRIMES = (np.uint32(2654435761), np.uint32(2246822519), np.uint32(3266489917))
_MACRO_MIX = np.uint32(0x27D4EB2F)
#: Share of an interface echo that varies with the scatterers at the surface
#: (a rough surface): the rest is the smooth specular part.
INTERFACE_ROUGHNESS = 0.35
#: Mean of the Rayleigh-distributed |scatterer| of unit power (sqrt(pi) / 2).
_RAYLEIGH_MEAN = float(np.sqrt(np.pi) / 2.0)
#: Loss of a line totally reflected at a faster tissue's edge, dB, and the
#: width of its rise around the critical angle, degrees.
EDGE_SHADOW_DB = 8.0
EDGE_SHADOW_RAMP_DEG = 2.0
#: The echo is moved to the smooth interface by at most this many voxels...
SURFACE_SHIFT_MAX_VOX = 2.0
#: ...and not at all when the beam meets the surface at more than ~75 degrees.
SURFACE_SHIFT_MIN_COS = 0.25


@dataclass(frozen=True)
class MarchPlan:
    """Everything per frame that does not depend on the sample.

    All per-line arrays have shape ``(n_lines, ...)``; per-label arrays
    ``(n_labels, ...)``. Coordinates are pre-divided by the grid spacing so
    that a sample's grid coordinate is ``start + i * step``.

    Attributes
    ----------
    vox_start, vox_step : ndarray, shape (n_lines, 3), float32
        Label-grid coordinates (plus 0.5 for rounding) of sample 0, and per
        sample step.
    spk_start, spk_step : ndarray, shape (n_lines, 3), float32
        Scatterer-grid cell coordinates (positive), same scheme.
    tex_start : ndarray, shape (n_labels * n_lines, 3), float32
        Texture-tile coordinates of sample 0 in each label's fibre frame.
    tex_step : ndarray, shape (n_labels * n_lines, 3), float32
        Per-sample step of those.
    tex_offset : ndarray, shape (n_labels,), int32
        Start of the label's texture tile in the stacked texture array.
    scatter_amp : ndarray, shape (n_labels * n_lines,), float32
        Diffuse backscatter amplitude of each label seen by each line
        (anisotropy included; 0 for tissues without scatterers).
    speckle_scale : ndarray, shape (n_lines, n_samples), float32
        Amplitude factor of the diffuse scatterers at each sample: makes the
        speckle level after the PSF independent of the sample spacing and
        line pitch (``simulator.lateral_psf.speckle_scale``).
    atten_step_db : ndarray, shape (n_labels * n_lines,), float32
        Two-way attenuation across one sample of each label seen by each line
        (fibrous tissue attenuates more along its fibres), dB.
    impedance : ndarray, shape (n_labels,), float32
        MRayl.
    speed_m_s : ndarray, shape (n_labels,), float32
        Speed of sound, m/s (total reflection at a faster tissue's edge).
    lobe_rad, diffuse : ndarray, shape (n_labels,), float32
        Specular lobe half-width (rad) and diffuse fraction of each label's surface.
    directions_world : ndarray, shape (n_lines, 3), float32
        Beam direction of each line in the world frame.
    lateral_world : ndarray, shape (n_lines, 3), float32
        Unit vector from each line towards its neighbour at the same range, world frame.
    pitch_samples : ndarray, shape (n_samples,), float32
        Line pitch at each range in samples (mm over the sample spacing).
    n_samples : int
    """

    vox_start: np.ndarray
    vox_step: np.ndarray
    spk_start: np.ndarray
    spk_step: np.ndarray
    tex_start: np.ndarray
    tex_step: np.ndarray
    tex_offset: np.ndarray
    scatter_amp: np.ndarray
    speckle_scale: np.ndarray
    atten_step_db: np.ndarray
    impedance: np.ndarray
    speed_m_s: np.ndarray
    lobe_rad: np.ndarray
    diffuse: np.ndarray
    directions_world: np.ndarray
    lateral_world: np.ndarray
    pitch_samples: np.ndarray
    n_samples: int

    @property
    def n_lines(self) -> int:
        """Number of lines."""
        return self.vox_start.shape[0]


def _grid_index(
    start: np.ndarray, step: np.ndarray, sample_idx: np.ndarray, axis: int
) -> np.ndarray:
    """``start[:, axis] + i * step[:, axis]`` for every (line, sample), float32."""
    out = sample_idx[None, :] * step[:, axis : axis + 1]
    out += start[:, axis : axis + 1]
    return out


def sample_labels(
    volume: AcousticVolume, plan: MarchPlan, lines: slice, sample_idx: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Nearest-voxel label of every sample (clamped to the grid: tissue continues).

    Returns
    -------
    labels : ndarray, shape (n, n_samples), uint8
    voxel : ndarray, shape (n, n_samples), int32
        Flat voxel index of each sample.
    """
    nx, ny, nz = volume.shape
    start, step = plan.vox_start[lines], plan.vox_step[lines]
    flat = None
    for axis, n in enumerate((nx, ny, nz)):
        c = _grid_index(start, step, sample_idx, axis)
        np.clip(c, 0.0, n - 0.51, out=c)
        ci = c.astype(np.int32)
        if flat is None:
            flat = ci
        else:
            flat *= n
            flat += ci
    assert flat is not None
    return volume.labels.reshape(-1).take(flat), flat


def _tile_axes(shape: tuple[int, int, int]) -> tuple[tuple[int, int], ...]:
    """(size, bit shift) of each axis of a C-order tile with power-of-two sides."""
    _, nb, nc = shape
    return ((shape[0], (nb * nc).bit_length() - 1), (nb, nc.bit_length() - 1), (nc, 0))


def _speckle(field: ScattererField, plan: MarchPlan, lines: slice, idx: np.ndarray) -> np.ndarray:
    """Complex scatterers at every sample (``speckle.speckle_index``), shape (n, n_samples)."""
    start, step = plan.spk_start[lines], plan.spk_step[lines]
    cells = (_grid_index(start, step, idx, axis) for axis in range(3))
    return field.speckle.take(speckle_index(*cells))


def texture_factors(
    field: ScattererField, plan: MarchPlan, label_line: np.ndarray, labels: np.ndarray
) -> np.ndarray:
    """The texture factor of every sample of a block of lines, shape (n, n_samples), float32.

    Textures vary over 0.1 mm and more, so they are read at every other sample
    (half the cost of the dearest lookup of the march) and each value serves
    its odd neighbour too.

    Parameters
    ----------
    field : ScattererField
    plan : MarchPlan
    label_line : ndarray, shape (n, n_samples), int32
        ``label * n_lines + line`` of every sample.
    labels : ndarray, shape (n, n_samples), uint8
    """
    ns = labels.shape[1]
    idx = np.arange(0, ns, 2, dtype=np.float32)
    half = _texture(field, plan, label_line[:, ::2], labels[:, ::2], idx)
    return np.repeat(half, 2, axis=1)[:, :ns]


def _mix(h: np.ndarray) -> np.ndarray:
    """A 32-bit hash mixing step (in place)."""
    h ^= h >> np.uint32(13)
    h *= _MACRO_MIX
    h ^= h >> np.uint32(16)
    return h


def _texture(
    field: ScattererField,
    plan: MarchPlan,
    label_line: np.ndarray,
    labels: np.ndarray,
    idx: np.ndarray,
) -> np.ndarray:
    """Texture value of every sample, shape (n, n_samples), float32.

    The tile repeats every ``TEXTURE_TILE_SHAPE`` cells; so that the repeat
    never shows as a lattice, each repetition of the tile (a macro cell) is
    read shifted by its own hashed offset along every axis (across the fibres
    by the macro cell across alone: no seam along a fibre).
    """
    cells = []
    for axis in range(3):
        c = plan.tex_step[:, axis].take(label_line)
        c *= idx[None, :]
        c += plan.tex_start[:, axis].take(label_line)
        cells.append(c.astype(np.uint32))
    # offsets across the fibres hash the macro cell across only, so the
    # pattern runs on unbroken along the fibres (a nerve's fascicles, a
    # tendon's fibrils); the offset along hashes all three
    sizes = [size for size, _ in _tile_axes(TEXTURE_TILE_SHAPE)]
    macro = [
        cell >> np.uint32(size.bit_length() - 1) for cell, size in zip(cells, sizes, strict=True)
    ]
    across = _mix(macro[0] * _MACRO_PRIMES[0] ^ macro[1] * _MACRO_PRIMES[1])
    along = _mix(across ^ macro[2] * _MACRO_PRIMES[2])
    flat = plan.tex_offset.take(labels).astype(np.uint32)
    for axis, (cell, (size, shift)) in enumerate(
        zip(cells, _tile_axes(TEXTURE_TILE_SHAPE), strict=True)
    ):
        source = along if axis == 2 else across
        cell += source >> np.uint32(8 * axis + 4)  # this macro cell's offset along the axis
        cell &= np.uint32(size - 1)
        if shift:
            cell <<= np.uint32(shift)
        flat |= cell
    return field.textures.take(flat)


def interface_echoes(
    volume: AcousticVolume,
    plan: MarchPlan,
    labels: np.ndarray,
    voxel: np.ndarray,
    line_offset: int,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Specular echoes and transmission losses where the label changes.

    Parameters
    ----------
    labels, voxel : ndarray, shape (n, n_samples)
        From ``sample_labels``.
    line_offset : int
        Index of the first line of this block in the frame.

    Returns
    -------
    line, sample : ndarray, shape (k,), int64
        Block line index and sample index of the first sample of the deeper tissue.
    echo : ndarray, shape (k,), float32
        Echo amplitude (before losses).
    loss_db : ndarray, shape (k,), float32
        Two-way transmission loss of the interface, dB (>= 0).
    shift : ndarray, shape (k,), float32
        Samples from ``sample`` to where the line meets the smooth interface
        (0 without stored surface offsets).
    tilt : ndarray, shape (k,), float32
        ``|tan|`` of the interface's tilt in the image plane: its depth change
        per millimetre across the lines.
    """
    change = labels[:, 1:] != labels[:, :-1]
    line, sample = np.nonzero(change)
    sample = sample + 1
    if line.size == 0:
        empty = np.zeros(0, dtype=np.float32)
        return line, sample, empty, empty, empty, empty
    la = labels[line, sample - 1]
    lb = labels[line, sample]
    za = plan.impedance[la]
    zb = plan.impedance[lb]
    r_amp = np.abs(zb - za) / (zb + za)
    # surface parameters of the harder side
    hard = np.where(zb >= za, lb, la)
    v = voxel[line, sample]
    frame_line = line + line_offset
    d = plan.directions_world[frame_line]
    shift = np.zeros(line.size, dtype=np.float32)
    tilt = np.zeros(line.size, dtype=np.float32)
    if volume.boundary_index.size:
        pos = np.searchsorted(volume.boundary_index, v)
        pos = np.minimum(pos, volume.boundary_index.size - 1)
        found = volume.boundary_index[pos] == v
        stored = volume.boundary_normal[pos]
        n = stored[:, :3].astype(np.float32) / NORMAL_SCALE
        n /= np.maximum(np.linalg.norm(n, axis=1, keepdims=True), 1e-6)
        d_dot_n = np.einsum("ij,ij->i", n, d)
        cos_inc = np.where(found, np.abs(d_dot_n), 1.0)
        # depth change of the surface per mm across the lines, |tan| of its tilt in the image
        l_dot_n = np.einsum("ij,ij->i", n, plan.lateral_world[frame_line])
        tilt = np.where(found, np.abs(l_dot_n) / np.maximum(np.abs(d_dot_n), 0.05), 0.0)
        if stored.shape[1] > 3:
            shift = _surface_shift(volume, plan, frame_line, sample, v, n, d_dot_n, stored[:, 3])
            shift = np.where(found, shift, 0.0).astype(np.float32)
    else:
        cos_inc = np.ones(line.size, dtype=np.float32)
    cos_inc = np.clip(cos_inc, 0.0, 1.0)
    theta = np.arccos(cos_inc)
    diffuse = plan.diffuse[hard]
    lobe = diffuse + (1.0 - diffuse) * np.exp(-((theta / plan.lobe_rad[hard]) ** 2))
    echo = (r_amp * lobe).astype(np.float32)
    loss_db = -20.0 * np.log10(np.maximum(1.0 - r_amp * r_amp, 1e-6))
    loss_db += _edge_shadow_db(plan, line, la, lb, cos_inc)
    return line, sample, echo, loss_db.astype(np.float32), shift, tilt.astype(np.float32)


def _edge_shadow_db(
    plan: MarchPlan, line: np.ndarray, la: np.ndarray, lb: np.ndarray, cos_inc: np.ndarray
) -> np.ndarray:
    """Loss where a line meets a faster tissue beyond the critical angle, dB.

    Going from a slower tissue into a faster one, a beam whose incidence is
    beyond ``asin(c_slow / c_fast)`` is totally reflected (81.8 degrees
    leaving a cyst into soft tissue, 64.5 degrees entering a tendon from
    muscle): the lines that graze the side of a round structure lose their
    energy there, and a thin shadow hangs below its edge. The loss rises over
    ``EDGE_SHADOW_RAMP_DEG`` around the critical angle (the beam's width and
    the normals' smoothing blur it) and is taken once per line and ordered
    pair of tissues: on the label grid a line running down a steep wall
    crosses its staircase many times.
    """
    ca, cb = plan.speed_m_s[la], plan.speed_m_s[lb]
    into_faster = cb > ca
    if not np.any(into_faster):
        return np.zeros(line.size)
    critical = np.arcsin(np.minimum(ca / cb, 1.0))
    incidence = np.arccos(cos_inc)
    beyond = (incidence - critical) / np.radians(EDGE_SHADOW_RAMP_DEG)
    loss = EDGE_SHADOW_DB / (1.0 + np.exp(-np.clip(beyond, -30.0, 30.0)))
    loss = np.where(into_faster, loss, 0.0)
    key = (line.astype(np.int64) * 256 + la) * 256 + lb
    _, first = np.unique(key, return_index=True)
    once = np.zeros(line.size, dtype=bool)
    once[first] = True
    return np.where(once, loss, 0.0)


def _surface_shift(
    volume: AcousticVolume,
    plan: MarchPlan,
    frame_line: np.ndarray,
    sample: np.ndarray,
    voxel: np.ndarray,
    normal: np.ndarray,
    d_dot_n: np.ndarray,
    stored_offset: np.ndarray,
) -> np.ndarray:
    """Samples from the label change to the smooth interface along each line.

    The interface is the plane through the voxel centre shifted by its stored
    offset along the normal (``volume.interface_normals``); the label grid's
    staircase is up to a voxel away from it. Shifts are kept within
    ``SURFACE_SHIFT_MAX_VOX`` and dropped at glancing incidence, where the
    plane says little.
    """
    centre = np.stack(np.unravel_index(voxel, volume.shape), axis=1).astype(np.float32)
    # grid position of the sample (vox_start carries +0.5 for rounding)
    here = plan.vox_start[frame_line] + sample[:, None] * plan.vox_step[frame_line] - 0.5
    offset = stored_offset.astype(np.float32) / OFFSET_SCALE
    gap = np.einsum("ij,ij->i", centre - here, normal) + offset
    glancing = np.abs(d_dot_n) < SURFACE_SHIFT_MIN_COS
    along_vox = gap / np.where(glancing, 1.0, d_dot_n)
    along_vox = np.clip(along_vox, -SURFACE_SHIFT_MAX_VOX, SURFACE_SHIFT_MAX_VOX)
    per_sample_vox = np.linalg.norm(plan.vox_step[frame_line], axis=1)
    return np.where(glancing, 0.0, along_vox / per_sample_vox)


def march_lines(
    volume: AcousticVolume, field: ScattererField, plan: MarchPlan, lines: slice
) -> tuple[np.ndarray, np.ndarray]:
    """Complex echo signal (losses applied, no PSF) of a block of lines.

    Parameters
    ----------
    volume : AcousticVolume
    field : ScattererField
    plan : MarchPlan
    lines : slice
        Block of line indices (step 1).

    Returns
    -------
    signal : ndarray, shape (n, n_samples), complex64
        Echo signal with losses applied.
    losses : ndarray, shape (n, n_samples), float32
        Two-way amplitude factor (attenuation and transmission) down to each sample.
    """
    ns = plan.n_samples
    idx = np.arange(ns, dtype=np.float32)
    labels, voxel = sample_labels(volume, plan, lines, idx)
    n_block = labels.shape[0]
    line_ids = np.arange(lines.start, lines.start + n_block, dtype=np.int32)
    label_line = labels.astype(np.int32)
    label_line *= plan.n_lines
    label_line += line_ids[:, None]

    # two-way losses: attenuation of each sample plus interface transmission
    loss = plan.atten_step_db.take(label_line)
    il, isamp, echo, t_loss, shift, tilt = interface_echoes(
        volume, plan, labels, voxel, lines.start
    )
    deeper = isamp + 1 < ns
    np.add.at(loss, (il[deeper], isamp[deeper] + 1), t_loss[deeper])
    np.cumsum(loss, axis=1, out=loss)
    loss *= -_LN10_OVER_20
    gain = np.exp(loss, out=loss)

    amp = plan.scatter_amp.take(label_line)
    amp *= texture_factors(field, plan, label_line, labels)
    amp *= gain
    amp *= plan.speckle_scale[lines]
    signal = _speckle(field, plan, lines, idx)
    # rough surfaces: the echo varies along an interface with the scatterers there
    rough = np.abs(signal[il, isamp]) * (INTERFACE_ROUGHNESS / _RAYLEIGH_MEAN)
    echo *= rough + (1.0 - INTERFACE_ROUGHNESS)
    echo *= gain[il, isamp]
    signal *= amp
    _add_interface_echoes(signal, plan, il, isamp + shift, tilt, echo)
    # the entry echo: coupling gel against the first tissue under the face
    z_first = plan.impedance.take(labels[:, 0])
    signal[:, 0] += np.abs(z_first - GEL_IMPEDANCE_MRAYL) / (z_first + GEL_IMPEDANCE_MRAYL)
    return signal, gain


def _add_interface_echoes(
    signal: np.ndarray,
    plan: MarchPlan,
    line: np.ndarray,
    at: np.ndarray,
    tilt: np.ndarray,
    echo: np.ndarray,
) -> None:
    """Add interface echoes to the real part of ``signal`` (in place).

    Each echo sits where its line meets the smooth interface (``at``,
    fractional sample) and is spread evenly along the line over the depth the
    surface covers within one line pitch (``tilt`` times the pitch): a
    sloping surface then draws a continuous line across the lines instead of
    one dot per line. Every piece is split between its two nearest samples.
    """
    n_block, ns = signal.shape
    span = np.minimum(tilt * plan.pitch_samples[np.clip(at.astype(np.int64), 0, ns - 1)], 12.0)
    pieces = np.maximum(np.ceil(span).astype(np.int64), 1)
    keep = np.arange(int(pieces.max(initial=1)))[None, :] < pieces[:, None]
    rep, piece = np.nonzero(keep)
    pos = at[rep] + span[rep] * ((piece + 0.5) / pieces[rep] - 0.5)
    weight = (echo / pieces)[rep]
    s0 = np.floor(pos).astype(np.int64)
    upper = (pos - s0).astype(np.float32)
    base = line[rep].astype(np.int64) * ns
    flat = np.concatenate([base + np.clip(s0, 0, ns - 1), base + np.clip(s0 + 1, 0, ns - 1)])
    weights = np.concatenate([weight * (1.0 - upper), weight * upper])
    acc = np.bincount(flat, weights=weights, minlength=n_block * ns)
    signal.real += acc.reshape(n_block, ns)
