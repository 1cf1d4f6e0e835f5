"""The B-mode engine: probe pose + settings -> B-mode frame.

Stages (timed per frame in ``BModeFrame.timings_ms``):

0. ``edit``: the volume with the request's tissue edit applied
   (``simulator.tissue_edit.apply_edit``; cached for the last edit object).
1. ``plan``: per-frame tables (line geometry in grid/tile coordinates,
   per-label acoustic values at this frequency and beam angle).
2. ``march``: ``simulator.beam.march_lines`` on two blocks of lines in
   parallel (NumPy releases the GIL in its loops).
3. ``points``: point reflectors of the scene and point scatterers of the
   request (microbubbles) splatted at their exact position.
   ``needle``: the needle's shaft, tip and reverberation echoes
   (``simulator.needle_echo``), splatted the same way; ~0 ms without a needle.
4. ``psf``: axial Gaussian (fixed; direct convolution along the lines),
   lateral sinc^2 beam with side lobes and focal gain (depth-dependent,
   ``simulator.lateral_psf``; a product in the Fourier domain across the
   lines), receiver noise, envelope.
5. ``log``: depth gain, log compression, grey map.
6. ``scan_convert``: cached sparse bilinear map to a square-pixel image.

The same volume, seed, pose, settings and frame time give the same image bit
for bit (the frame time chooses the receiver noise). docs/image_engine.md
describes the model.
"""

from __future__ import annotations

import itertools
import math
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import numpy as np
import scipy.fft as sfft
from scipy import ndimage

from simulator import beam, display, psf
from simulator.beam import MarchPlan
from simulator.lateral_psf import LateralPSF, build_lateral_psf, speckle_scale
from simulator.needle_echo import (
    BeamEchoes,
    NeedleShape,
    NeedleView,
    PointScatterers,
    in_slice,
    needle_echoes,
    needle_view,
)
from simulator.probe import ImagingSettings, ProbeModel
from simulator.scan_convert import ImageGeometry, get_converter
from simulator.scan_geometry import ScanGeometry, make_scan_geometry
from simulator.speckle import (
    SPECKLE_DEPTH_MM,
    TEXTURE_KINDS,
    TEXTURE_VOXEL_MM,
    ScattererField,
    make_scatterer_field,
    texture_frame,
)
from simulator.tissue_edit import TissueEdit, apply_edit
from simulator.volume import AcousticVolume

#: RMS speckle amplitude of muscle (backscatter 0 dB) at the transmit focus,
#: relative to the echo of a perfect planar reflector there.
SCATTER_REFERENCE = 10.0 ** (-41.0 / 20.0)
#: RMS receiver noise, input-referred, relative to the echo of a perfect planar
#: reflector at the focus; depth gain (compensation, TGC) raises it with depth.
NOISE_RMS = 10.0 ** (-110.0 / 20.0)
#: Offsets the noise record can start at (a new one each frame time).
NOISE_SHIFTS = 1 << 16
#: Axial kernel half-length, sigmas.
AXIAL_SPAN_SIGMA = 4.0
_TILE_OFFSET = 8192.0
#: Relabelled volumes kept per engine (the shown edit and the one being handed over).
EDIT_CACHE_SIZE = 2


@dataclass(frozen=True)
class FrameRequest:
    """What to image.

    Attributes
    ----------
    probe2world : ndarray, shape (4, 4), float64
        Pose of the probe frame in the scene (world) frame, mm.
    settings : ImagingSettings
    timestamp_s : float
        Time the pose was sampled, s (carried through to the frame).
    needle : NeedleShape, optional
        The needle to image (world mm); None: no needle.
    tissue_edit : TissueEdit, optional
        Label changes (injectate...) to image instead of the engine's volume
        as built; its labels must exist in that volume
        (``tissue_edit.with_injectate_label``).
    scatterers : PointScatterers, optional
        Extra bright points (microbubbles of the injectate), world mm.
    """

    probe2world: np.ndarray
    settings: ImagingSettings
    timestamp_s: float = 0.0
    needle: NeedleShape | None = None
    tissue_edit: TissueEdit | None = None
    scatterers: PointScatterers | None = None


@dataclass(frozen=True)
class BModeFrame:
    """One synthesised frame.

    Attributes
    ----------
    image : ndarray, shape (rows, cols), float32
        Grey levels in [0, 1]; 0 outside the sector.
    geometry : ImageGeometry
        Millimetre geometry of ``image`` (probe frame x, z).
    inside : ndarray, shape (rows, cols), bool
        Pixels inside the imaged sector.
    envelope : ndarray, shape (n_samples, n_lines), float32
        Linear echo amplitude after the PSF, before gain, TGC and log
        compression (1 = perfect planar reflector at the focus).
    beam_db : ndarray, shape (n_samples, n_lines), float32
        ``20 log10(envelope)`` plus gain and TGC, dB (before the grey map).
    scan : ScanGeometry
        Beam-line geometry of ``envelope``/``beam_db``.
    probe2world : ndarray, shape (4, 4)
    settings : ImagingSettings
    timestamp_s : float
    timings_ms : dict of str to float
        Milliseconds spent in each stage.
    needle_view : NeedleView or None
        Where the needle is relative to the image (None without a needle).
    """

    image: np.ndarray
    geometry: ImageGeometry
    inside: np.ndarray
    envelope: np.ndarray
    beam_db: np.ndarray
    scan: ScanGeometry
    probe2world: np.ndarray
    settings: ImagingSettings
    timestamp_s: float
    timings_ms: dict[str, float] = field(default_factory=dict)
    needle_view: NeedleView | None = None


@dataclass(frozen=True)
class _SettingsCache:
    scan: ScanGeometry
    axial_kernel: np.ndarray  # (2 h + 1,) float32, unit peak
    lateral_transfer: np.ndarray  # (n_fft_lateral, n_samples) float32
    gain_db: np.ndarray  # (n_samples,) float32
    atten_step_db: np.ndarray  # (n_labels,) float64: across the fibres
    atten_along_extra: np.ndarray  # (n_labels,) float64: ratio along / across - 1
    elevation_sigma_mm: np.ndarray  # (n_samples,)
    lateral: LateralPSF
    axial_energy: float  # sum of the squared axial taps
    noise: np.ndarray  # (n_lines * n_samples + NOISE_SHIFTS,) complex64, unit RMS


def _noise_offset(timestamp_s: float) -> int:
    """Start of the noise record for a frame time (the same time, the same noise)."""
    micro = round(float(timestamp_s) * 1e6) & 0xFFFFFFFF
    return ((micro * 2654435761) & 0xFFFFFFFF) % NOISE_SHIFTS


def _receiver_noise(n: int, axial_kernel: np.ndarray, seed: int) -> np.ndarray:
    """A band-limited complex noise record, unit RMS, ``n + NOISE_SHIFTS`` long.

    White complex Gaussian noise filtered by the axial pulse (the receiver's
    bandwidth is the pulse's), read line after line: consecutive values along
    a line are correlated over the axial resolution, lines are independent.
    """
    rng = np.random.default_rng(np.random.SeedSequence([seed, 0x4015E]))
    raw = rng.standard_normal((2, n + NOISE_SHIFTS), dtype=np.float32)
    for part in raw:
        ndimage.convolve1d(part, axial_kernel.astype(np.float32), output=part, mode="wrap")
    noise = (raw[0] + 1j * raw[1]).astype(np.complex64)
    noise /= np.float32(np.sqrt(np.mean(np.abs(noise) ** 2)))
    return noise


class BModeEngine:
    """Synthesises B-mode frames of one acoustic volume with one probe.

    Parameters
    ----------
    volume : AcousticVolume
    probe : ProbeModel
    pixel_mm : float, optional
        Output pixel size; default fits the depth into 512 rows.
    n_threads : int
        Threads for the ray march and FFTs (2 on the target machine).
    seed : int, optional
        Seed of the scatterer field and textures; default the volume's seed.
    """

    def __init__(
        self,
        volume: AcousticVolume,
        probe: ProbeModel,
        pixel_mm: float | None = None,
        n_threads: int = 2,
        seed: int | None = None,
    ) -> None:
        self.volume = volume
        self.probe = probe
        self.pixel_mm = pixel_mm
        self.n_threads = max(1, int(n_threads))
        self.seed = volume.seed if seed is None else int(seed)
        self.field: ScattererField = make_scatterer_field(self.seed)
        self._settings_cache: dict[ImagingSettings, _SettingsCache] = {}
        self._noise_cache: dict[tuple[int, bytes], np.ndarray] = {}
        # the last tissue edit and the volume it gives (edits compare by identity)
        self._edit_cache: tuple[tuple[TissueEdit, AcousticVolume], ...] = ()
        self._pool = ThreadPoolExecutor(self.n_threads) if self.n_threads > 1 else None
        structs = volume.structures
        self._impedance = np.array([s.tissue.impedance_mrayl for s in structs], np.float32)
        self._speed = np.array([s.tissue.speed_m_s for s in structs], np.float32)
        self._lobe = np.radians([s.tissue.interface_lobe_deg for s in structs]).astype(np.float32)
        self._diffuse = np.array([s.tissue.interface_diffuse for s in structs], np.float32)
        self._fibre = np.array([s.fibre_dir for s in structs], np.float64)
        self._fibre /= np.linalg.norm(self._fibre, axis=1, keepdims=True)
        tile = int(np.prod(beam.TEXTURE_TILE_SHAPE))
        self._tex_offset = np.array(
            [TEXTURE_KINDS.index(s.tissue.texture) * tile for s in structs], np.int32
        )
        rng = np.random.default_rng(np.random.SeedSequence([self.seed, 0x7E7]))
        # a different texture phase per structure, so neighbours do not share a pattern
        self._tex_phase = rng.uniform(0, 1, (len(structs), 3)) * np.array(beam.TEXTURE_TILE_SHAPE)
        # per-label world -> texture-tile linear maps, shape (n_labels, 3, 3)
        self._tex_maps = np.array(
            [texture_frame(f) / np.array(TEXTURE_VOXEL_MM)[:, None] for f in self._fibre]
        )
        # a tissue without texture (its tile is all ones) reads one value of its
        # tile everywhere: no cache lines spent on a constant
        plain = np.array([s.tissue.texture in ("none", "speckle") for s in structs])
        self._tex_maps[plain] = 0.0
        has_scatter = np.array([s.tissue.texture != "none" for s in structs])
        self._scatter_db = np.array([s.tissue.backscatter_db for s in structs])
        self._has_scatter = has_scatter
        self._aniso_db = np.array([s.tissue.anisotropy_db for s in structs])
        self._aniso_w = np.radians([s.tissue.anisotropy_width_deg for s in structs])

    def close(self) -> None:
        """Stop the worker threads."""
        if self._pool is not None:
            self._pool.shutdown(wait=False)
            self._pool = None

    # ------------------------------------------------------------------ caches
    def _for_settings(self, settings: ImagingSettings) -> _SettingsCache:
        cached = self._settings_cache.get(settings)
        if cached is not None:
            return cached
        settings.validate(self.probe)
        scan = make_scan_geometry(self.probe, settings)
        r = scan.ranges_mm
        f = settings.freq_mhz
        ax_sigma = psf.axial_fwhm_mm(f, self.probe.fractional_bandwidth) / scan.dr_mm
        ax_sigma /= psf.FWHM_PER_SIGMA
        half = math.ceil(AXIAL_SPAN_SIGMA * ax_sigma)
        axial = np.exp(-0.5 * (np.arange(-half, half + 1) / ax_sigma) ** 2)
        lateral = build_lateral_psf(scan, f, self.probe.f_number, settings.focus_mm)
        alpha = np.array(
            [s.tissue.attenuation_db_cm(f) for s in self.volume.structures], dtype=np.float64
        )
        elev = psf.elevation_fwhm_mm(
            r, f, self.probe.elevation_focus_mm, self.probe.elevation_aperture_mm
        )
        cached = _SettingsCache(
            scan=scan,
            axial_kernel=axial.astype(np.float32),
            lateral_transfer=lateral.transfer,
            gain_db=display.depth_gain_db(r, settings),
            atten_step_db=2.0 * alpha * scan.dr_mm / 10.0,
            atten_along_extra=np.array(
                [s.tissue.atten_along_ratio - 1.0 for s in self.volume.structures]
            ),
            elevation_sigma_mm=elev / psf.FWHM_PER_SIGMA,
            lateral=lateral,
            axial_energy=float(np.sum(axial**2)),
            noise=self._noise_record(scan.n_lines * scan.n_samples, axial),
        )
        if len(self._settings_cache) > 16:
            self._settings_cache.clear()
        self._settings_cache[settings] = cached
        return cached

    def _noise_record(self, n: int, axial_kernel: np.ndarray) -> np.ndarray:
        """The receiver-noise record for ``n`` samples and this pulse.

        It depends on nothing else, so a change of gain, TGC, dynamic range or
        focus reuses it (drawing it costs ~7 ms, most of a settings change).
        """
        key = (n, axial_kernel.tobytes())
        record = self._noise_cache.get(key)
        if record is None:
            record = _receiver_noise(n, axial_kernel, self.seed)
            self._noise_cache = {key: record}  # the newest only: ~2 MB each
        return record

    def scan_geometry(self, settings: ImagingSettings) -> ScanGeometry:
        """Beam-line geometry for ``settings`` (validates them)."""
        return self._for_settings(settings).scan

    # -------------------------------------------------------------------- plan
    def _plan(self, probe2world: np.ndarray, sc: _SettingsCache) -> MarchPlan:
        scan = sc.scan
        rot = probe2world[:3, :3]
        origins_w = scan.origins_mm @ rot.T + probe2world[:3, 3]
        dirs_w = scan.directions @ rot.T
        # from each line to its neighbour at the same range
        theta = scan.line_angle_rad
        lateral_w = np.stack([np.cos(theta), np.zeros_like(theta), -np.sin(theta)], 1) @ rot.T
        step_w = dirs_w * scan.dr_mm
        first_w = origins_w + 0.5 * step_w  # sample 0 sits half a step in
        vol = self.volume
        vox_start = (first_w - vol.origin_mm) / vol.spacing_mm + 0.5
        vox_step = step_w / vol.spacing_mm
        cell_mm = sc.lateral.cell_mm
        spk = self.field.rotation / np.array([cell_mm, cell_mm, SPECKLE_DEPTH_MM])[:, None]
        spk_start = first_w @ spk.T + _TILE_OFFSET
        spk_step = step_w @ spk.T
        # textures: (n_labels, n_lines, 3)
        maps = self._tex_maps
        tex_start = np.einsum("lij,nj->lni", maps, first_w) + self._tex_phase[:, None, :]
        tex_start += _TILE_OFFSET
        tex_step = np.einsum("lij,nj->lni", maps, step_w)
        n_labels = len(self.volume.structures)
        # anisotropy: deviation of the beam from perpendicular to the fibres
        cos_bf = np.abs(self._fibre @ dirs_w.T)  # (n_labels, n_lines)
        psi = np.arcsin(np.clip(cos_bf, 0.0, 1.0))
        level_db = self._scatter_db[:, None] - self._aniso_db[:, None] * (
            1.0 - np.exp(-((psi / self._aniso_w[:, None]) ** 2))
        )
        amp = SCATTER_REFERENCE * 10.0 ** (level_db / 20.0) * self._has_scatter[:, None]
        f32 = np.float32
        return MarchPlan(
            vox_start=vox_start.astype(f32),
            vox_step=vox_step.astype(f32),
            spk_start=spk_start.astype(f32),
            spk_step=spk_step.astype(f32),
            tex_start=tex_start.reshape(n_labels * scan.n_lines, 3).astype(f32),
            tex_step=tex_step.reshape(n_labels * scan.n_lines, 3).astype(f32),
            tex_offset=self._tex_offset,
            scatter_amp=amp.reshape(-1).astype(f32),
            # diffuse scatterers: RMS SCATTER_REFERENCE (times the tissue level)
            # at the focus, following the continuous beam elsewhere, whatever
            # the line pitch and however the lines lie in the field
            speckle_scale=speckle_scale(sc.lateral, np.abs(lateral_w[:, 2]), sc.axial_energy),
            # two-way attenuation of one sample, by label and line: fibrous
            # tissue attenuates more with the beam along its fibres
            atten_step_db=(
                sc.atten_step_db[:, None] * (1.0 + sc.atten_along_extra[:, None] * cos_bf**2)
            )
            .reshape(-1)
            .astype(f32),
            impedance=self._impedance,
            speed_m_s=self._speed,
            lobe_rad=self._lobe,
            diffuse=self._diffuse,
            directions_world=dirs_w.astype(f32),
            lateral_world=lateral_w.astype(f32),
            pitch_samples=(sc.lateral.pitch_mm / scan.dr_mm).astype(f32),
            n_samples=scan.n_samples,
        )

    # ------------------------------------------------------------------ stages
    def _blocks(self, n_lines: int) -> list[slice]:
        bounds = np.linspace(0, n_lines, self.n_threads + 1).astype(int)
        return [slice(int(a), int(b)) for a, b in itertools.pairwise(bounds)]

    def _map(self, fn: Callable[[slice], object], blocks: list[slice]) -> list:
        if self._pool is None:
            return [fn(b) for b in blocks]
        return list(self._pool.map(fn, blocks))

    def _march(self, volume: AcousticVolume, plan: MarchPlan) -> tuple[np.ndarray, np.ndarray]:
        blocks = self._blocks(plan.n_lines)
        parts = self._map(lambda s: beam.march_lines(volume, self.field, plan, s), blocks)
        if len(parts) == 1:
            return parts[0]
        signal = np.concatenate([p[0] for p in parts], axis=0)
        losses = np.concatenate([p[1] for p in parts], axis=0)
        return signal, losses

    def view_needle(
        self, needle: NeedleShape, probe2world: np.ndarray, settings: ImagingSettings
    ) -> NeedleView:
        """Where ``needle`` lies relative to the image of ``settings`` at ``probe2world``.

        The same answer a rendered frame carries in ``BModeFrame.needle_view``,
        without rendering (for the scoring at its own sample rate).
        """
        sc = self._for_settings(settings)
        pose = np.asarray(probe2world, dtype=np.float64)
        return needle_view(needle, pose, sc.scan, sc.elevation_sigma_mm)

    def in_image(
        self, points_mm: np.ndarray, probe2world: np.ndarray, settings: ImagingSettings
    ) -> np.ndarray:
        """Whether world points lie in the imaged slice of ``settings`` at ``probe2world``.

        The test the needle tip gets (``view_needle``): in the sector and within
        the slice's half-maximum thickness.

        Parameters
        ----------
        points_mm : ndarray, shape (n, 3)
            World mm.
        probe2world : ndarray, shape (4, 4)
        settings : ImagingSettings

        Returns
        -------
        ndarray of bool, shape (n,)
        """
        sc = self._for_settings(settings)
        world2probe = np.linalg.inv(np.asarray(probe2world, dtype=np.float64))
        pts = np.atleast_2d(np.asarray(points_mm, dtype=np.float64))
        probe_pts = pts @ world2probe[:3, :3].T + world2probe[:3, 3]
        return in_slice(probe_pts, sc.scan, sc.elevation_sigma_mm)

    def adopt_edit(self, edit: TissueEdit, edited: AcousticVolume) -> None:
        """Use ``edited`` (``apply_edit(self.volume, edit)``, computed elsewhere) for ``edit``.

        Lets a caller relabel a large edit on another thread and hand the
        result over, so that no frame waits for it.

        Raises
        ------
        ValueError
            If ``edited`` does not have this engine's grid and structures
            (the message says which differs).
        """
        v = self.volume
        checks = (
            ("grid shape", edited.shape, v.shape),
            ("origin_mm", tuple(edited.origin_mm), tuple(v.origin_mm)),
            ("spacing_mm", edited.spacing_mm, v.spacing_mm),
            (
                "structures",
                [(s.name, s.tissue.name) for s in edited.structures],
                [(s.name, s.tissue.name) for s in v.structures],
            ),
        )
        for what, got, expected in checks:
            if got != expected:
                raise ValueError(
                    f"adopt_edit: the edited volume's {what} is {got}, expected {expected}"
                )
        self._remember_edit(edit, edited)

    def edited_volume(self, edit: TissueEdit) -> AcousticVolume | None:
        """The volume already relabelled for ``edit`` (same object), or None."""
        for known, volume in self._edit_cache:
            if known is edit:
                return volume
        return None

    def _remember_edit(self, edit: TissueEdit, edited: AcousticVolume) -> None:
        # the last EDIT_CACHE_SIZE edits; the tuple is replaced whole (read by two threads)
        kept = tuple(p for p in self._edit_cache if p[0] is not edit)
        self._edit_cache = ((edit, edited), *kept)[:EDIT_CACHE_SIZE]

    def _volume_for(self, edit: TissueEdit | None) -> AcousticVolume:
        """The volume to image: the engine's, or the engine's with ``edit`` applied (cached)."""
        if edit is None or edit.n_voxels == 0:
            return self.volume
        cached = self.edited_volume(edit)
        if cached is not None:
            return cached
        edited = apply_edit(self.volume, edit)
        self._remember_edit(edit, edited)
        return edited

    @staticmethod
    def _point_echoes(
        positions_mm: np.ndarray,
        amplitude: np.ndarray,
        probe2world: np.ndarray,
        sc: _SettingsCache,
    ) -> BeamEchoes:
        """Point sources in beam coordinates, weighted by the elevation profile."""
        if positions_mm.shape[0] == 0:
            return BeamEchoes.empty()
        scan = sc.scan
        world2probe = np.linalg.inv(probe2world)
        p = np.asarray(positions_mm, np.float64) @ world2probe[:3, :3].T + world2probe[:3, 3]
        line, sample = scan.to_beam_coords(p[:, 0], p[:, 2])
        sig_el = np.interp(sample, np.arange(scan.n_samples), sc.elevation_sigma_mm)
        weight = np.asarray(amplitude, np.float64) * np.exp(-0.5 * (p[:, 1] / sig_el) ** 2)
        weight *= sc.lateral.point_scale  # a point's peak at the focus is its reflectivity
        return BeamEchoes(line, sample, weight.astype(np.float32), sample)

    @staticmethod
    def _splat(signal: np.ndarray, losses: np.ndarray, echoes: BeamEchoes) -> None:
        """Add echoes to ``signal`` (bilinear in line and sample), times the losses.

        Parameters
        ----------
        signal : ndarray, shape (n_lines, n_samples), complex64
            Modified in place.
        losses : ndarray, shape (n_lines, n_samples), float32
            Two-way tissue losses down to each sample, as the march found them.
        echoes : BeamEchoes
        """
        if echoes.size == 0:
            return
        nl, ns = signal.shape
        li, si, w = echoes.line, echoes.sample, echoes.amplitude.astype(np.float64)
        ok = (li > -1) & (li < nl) & (si > -1) & (si < ns) & (w > 1e-6)
        if not np.any(ok):
            return
        li, si, w, ls = li[ok], si[ok], w[ok], echoes.loss_sample[ok]
        l0 = np.floor(li).astype(np.int64)
        s0 = np.floor(si).astype(np.int64)
        fl, fs = li - l0, si - s0
        # losses looked up at the loss sample (the echo's own sample, unless it rings)
        shift = np.floor(ls).astype(np.int64) - s0
        if not signal.flags.c_contiguous:
            raise ValueError("the line signal must be C-contiguous complex64")
        # the real parts as a flat float32 view: np.add.at is fast on it
        real = signal.view(np.float32).reshape(-1)
        for dl, wl in ((0, 1.0 - fl), (1, fl)):
            lj = l0 + dl
            for dsm, ws in ((0, 1.0 - fs), (1, fs)):
                sj = s0 + dsm
                m = (lj >= 0) & (lj < nl) & (sj >= 0) & (sj < ns)
                lm, sm = lj[m], sj[m]
                loss = losses[lm, np.clip(sm + shift[m], 0, ns - 1)]
                value = (w[m] * wl[m] * ws[m] * loss).astype(np.float32)
                np.add.at(real, 2 * (lm * ns + sm), value)

    def _apply_psf(
        self, signal: np.ndarray, sc: _SettingsCache, timestamp_s: float = 0.0
    ) -> np.ndarray:
        nl, ns = signal.shape
        # axial: a direct convolution along each line (line blocks in parallel);
        # unlike an FFT it leaves the zeros of a shadow exactly zero
        sig = np.empty_like(signal)
        src = signal.view(np.float32).reshape(nl, ns, 2)
        dst = sig.view(np.float32).reshape(nl, ns, 2)

        def axial(block: slice) -> None:
            ndimage.convolve1d(
                src[block], sc.axial_kernel, axis=1, output=dst[block], mode="constant"
            )

        self._map(axial, self._blocks(nl))
        # lateral: the depth-dependent beam profile, a product in the Fourier domain
        workers = self.n_threads
        spec = sfft.fft(sig, n=sc.lateral_transfer.shape[0], axis=0, workers=workers)
        spec *= sc.lateral_transfer
        out = sfft.ifft(spec, axis=0, workers=workers, overwrite_x=True)[:nl]
        # receiver noise: a new stretch of the record for each frame time
        start = _noise_offset(timestamp_s)
        noise = sc.noise[start : start + nl * ns].reshape(nl, ns)
        out += NOISE_RMS * noise
        return np.abs(out).astype(np.float32, copy=False)

    # ------------------------------------------------------------------ public
    def render(self, request: FrameRequest) -> BModeFrame:
        """Synthesise one frame.

        Parameters
        ----------
        request : FrameRequest

        Returns
        -------
        BModeFrame

        Raises
        ------
        simulator.probe.SettingsError
            If the settings do not suit the probe.
        """
        timings: dict[str, float] = {}
        t0 = time.perf_counter()
        volume = self._volume_for(request.tissue_edit)
        te = time.perf_counter()
        timings["edit"] = (te - t0) * 1e3
        sc = self._for_settings(request.settings)
        pose = np.asarray(request.probe2world, dtype=np.float64)
        plan = self._plan(pose, sc)
        t1 = time.perf_counter()
        timings["plan"] = (t1 - te) * 1e3
        signal, losses = self._march(volume, plan)
        t2 = time.perf_counter()
        timings["march"] = (t2 - t1) * 1e3
        self._splat(
            signal,
            losses,
            self._point_echoes(volume.point_reflectors_mm, volume.point_reflectivity, pose, sc),
        )
        if request.scatterers is not None:
            sca = request.scatterers
            self._splat(
                signal, losses, self._point_echoes(sca.positions_mm, sca.amplitude, pose, sc)
            )
        t3 = time.perf_counter()
        timings["points"] = (t3 - t2) * 1e3
        view = None
        if request.needle is not None:
            impedance = self._impedance

            def impedance_at(points_mm: np.ndarray) -> np.ndarray:
                return impedance[volume.label_at(points_mm)]

            echoes = needle_echoes(
                request.needle, pose, sc.scan, sc.elevation_sigma_mm, impedance_at
            )
            self._splat(signal, losses, echoes)
            view = needle_view(request.needle, pose, sc.scan, sc.elevation_sigma_mm)
        t3n = time.perf_counter()
        timings["needle"] = (t3n - t3) * 1e3
        t3 = t3n
        envelope = self._apply_psf(signal, sc, request.timestamp_s)
        t4 = time.perf_counter()
        timings["psf"] = (t4 - t3) * 1e3
        beam_db = display.log_compress(envelope, sc.gain_db)
        grey = display.grey_map(beam_db, request.settings.dynamic_range_db)
        t5 = time.perf_counter()
        timings["log"] = (t5 - t4) * 1e3
        conv = get_converter(sc.scan, self.pixel_mm)
        image = conv.convert(grey)
        t6 = time.perf_counter()
        timings["scan_convert"] = (t6 - t5) * 1e3
        timings["total"] = (t6 - t0) * 1e3
        return BModeFrame(
            image=image,
            geometry=conv.geometry,
            inside=conv.inside,
            envelope=envelope.T,
            beam_db=beam_db.T,
            scan=sc.scan,
            probe2world=pose,
            settings=request.settings,
            timestamp_s=request.timestamp_s,
            timings_ms=timings,
            needle_view=view,
        )
