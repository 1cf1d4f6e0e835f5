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
from simulator.volume import NORMAL_SCALE, AcousticVolume

_LN10_OVER_20 = float(np.log(10.0) / 20.0)


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
    atten_step_db : ndarray, shape (n_labels,), float32
        Two-way attenuation across one sample, dB.
    impedance : ndarray, shape (n_labels,), float32
        MRayl.
    lobe_rad, diffuse : ndarray, shape (n_labels,), float32
        Specular lobe half-width (rad) and diffuse fraction of each label's surface.
    directions_world : ndarray, shape (n_lines, 3), float32
        Beam direction of each line in the world frame.
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
    lobe_rad: np.ndarray
    diffuse: np.ndarray
    directions_world: np.ndarray
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


def _wrapped_bits(coord: np.ndarray, size: int, shift: int) -> np.ndarray:
    """Tile coordinate (float, >= 0) -> its wrapped index shifted into place, int32."""
    index = coord.astype(np.int32)
    index &= size - 1
    if shift:
        index <<= shift
    return index


def _speckle(field: ScattererField, plan: MarchPlan, lines: slice, idx: np.ndarray) -> np.ndarray:
    """Complex scatterers at every sample (``speckle.speckle_index``), shape (n, n_samples)."""
    start, step = plan.spk_start[lines], plan.spk_step[lines]
    cells = (_grid_index(start, step, idx, axis) for axis in range(3))
    return field.speckle.take(speckle_index(*cells))


def _texture(
    field: ScattererField,
    plan: MarchPlan,
    label_line: np.ndarray,
    labels: np.ndarray,
    idx: np.ndarray,
) -> np.ndarray:
    flat = plan.tex_offset.take(labels)
    for axis, (size, shift) in enumerate(_tile_axes(TEXTURE_TILE_SHAPE)):
        c = plan.tex_step[:, axis].take(label_line)
        c *= idx[None, :]
        c += plan.tex_start[:, axis].take(label_line)
        flat |= _wrapped_bits(c, size, shift)
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
    """
    change = labels[:, 1:] != labels[:, :-1]
    line, sample = np.nonzero(change)
    sample = sample + 1
    if line.size == 0:
        empty = np.zeros(0, dtype=np.float32)
        return line, sample, empty, empty
    la = labels[line, sample - 1]
    lb = labels[line, sample]
    za = plan.impedance[la]
    zb = plan.impedance[lb]
    r_amp = np.abs(zb - za) / (zb + za)
    # surface parameters of the harder side
    hard = np.where(zb >= za, lb, la)
    v = voxel[line, sample]
    pos = np.searchsorted(volume.boundary_index, v)
    pos = np.minimum(pos, max(volume.boundary_index.size - 1, 0))
    d = plan.directions_world[line + line_offset]
    if volume.boundary_index.size:
        found = volume.boundary_index[pos] == v
        n = volume.boundary_normal[pos].astype(np.float32) / NORMAL_SCALE
        cos_inc = np.abs(np.einsum("ij,ij->i", n, d))
        cos_inc = np.where(found, cos_inc, 1.0)
    else:
        cos_inc = np.ones(line.size, dtype=np.float32)
    theta = np.arccos(np.clip(cos_inc, 0.0, 1.0))
    diffuse = plan.diffuse[hard]
    lobe = diffuse + (1.0 - diffuse) * np.exp(-((theta / plan.lobe_rad[hard]) ** 2))
    echo = (r_amp * lobe).astype(np.float32)
    loss_db = (-20.0 * np.log10(np.maximum(1.0 - r_amp * r_amp, 1e-6))).astype(np.float32)
    return line, sample, echo, loss_db


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
    loss = plan.atten_step_db.take(labels)
    il, isamp, echo, t_loss = interface_echoes(volume, plan, labels, voxel, lines.start)
    deeper = isamp + 1 < ns
    np.add.at(loss, (il[deeper], isamp[deeper] + 1), t_loss[deeper])
    np.cumsum(loss, axis=1, out=loss)
    loss *= -_LN10_OVER_20
    gain = np.exp(loss, out=loss)

    amp = plan.scatter_amp.take(label_line)
    amp *= _texture(field, plan, label_line, labels, idx)
    amp *= gain
    amp *= plan.speckle_scale[lines]
    signal = _speckle(field, plan, lines, idx)
    signal *= amp
    np.add.at(signal, (il, isamp), echo * gain[il, isamp])
    return signal, gain
