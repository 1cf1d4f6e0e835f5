"""The injectate of a session: where the injected fluid goes, and what it does.

The trainee injects a volume at the needle tip in small increments; the
fluid collects as an anechoic pool that spreads along the path of least
resistance (``simulator.fluid_spread``): it fills a bursa, a recess or a
sheath, opens fascial planes and surrounds a nerve from the perineural plane
(the doughnut sign). Where the tip sits decides the outcome:

- fluid, fat, muscle, soft tissue, fascia, an earlier collection: it spreads;
- a nerve: high resistance, a small intraneural bolus at most (the fluid
  replaces nerve at the tip and the nerve swells outward by the same
  volume), then refused; always a warning;
- a tendon or ligament: high resistance, a small intratendinous bolus at
  most, no spread, a warning;
- a vessel lumen: the volume is delivered but carried away (no collection),
  counted under the vessel, an alert;
- bone, cartilage, a vessel wall, steel or outside the grid: blocked.

Each site has its own fill front: moving the tip more than
``SITE_TOLERANCE_MM`` starts a new one, and earlier fluid, being fluid, is
cheap to pass through. The changes to the tissue are handed to the engine as
a ``TissueEdit``; the distribution per structure goes to the scoring.
"""

from __future__ import annotations

from collections.abc import Mapping
from concurrent.futures import Executor, Future
from dataclasses import dataclass
from typing import Literal

import numpy as np
from scipy import ndimage

from simulator.fluid_spread import (
    SpreadFront,
    edited_labels,
    resistance_block,
    resistance_tables,
)
from simulator.microbubbles import BUBBLE_END_S, MAX_BUBBLES, SwirlPaths, swirl_at, swirl_paths
from simulator.structure_kinds import is_lumen, structure_kinds
from simulator.tissue_edit import TissueEdit, injectate_label
from simulator.volume import AcousticVolume

#: Largest intraneural bolus one tip position can deliver, ml.
INTRANEURAL_MAX_ML = 0.1
#: Largest intratendinous (tendon, ligament) bolus one tip position can deliver, ml.
INTRATENDINOUS_MAX_ML = 0.05
#: A tip that moved less than this from the current site keeps its fill front, mm.
SITE_TOLERANCE_MM = 1.0
#: The bubbles swirl in the first this much of a front's fluid (nearest the site), ml.
BUBBLE_POOL_ML = 0.2

Outcome = Literal["spread", "intraneural", "intratendinous", "intravascular", "blocked"]

_DENSE = frozenset({"tendon", "ligament"})
_BLOCKING = frozenset({"bone", "cartilage", "steel", "artery", "vein", "vessel"})
#: Kinds a swelling nerve may push into (and take the place of).
_DISPLACEABLE = frozenset({"fat", "soft", "muscle", "fascia"})


@dataclass(frozen=True)
class InjectResult:
    """What one injection increment did.

    Attributes
    ----------
    delivered_ml : float
        Volume that went in during this call, ml.
    requested_ml : float
        Volume asked for, ml.
    site_structure : str
        Structure at the tip (``"injectate"`` inside an earlier collection,
        ``"outside"`` beyond the grid).
    site_kind : str
        Its kind (``simulator.structure_kinds.KINDS``, ``"outside"``).
    resistance : {"low", "high"}
        What the plunger feels.
    outcome : {"spread", "intraneural", "intratendinous", "intravascular", "blocked"}
    warning : str or None
        Message for the trainee, None when all is well.
    """

    delivered_ml: float
    requested_ml: float
    site_structure: str
    site_kind: str
    resistance: Literal["low", "high"]
    outcome: Outcome
    warning: str | None


@dataclass(frozen=True)
class Aspiration:
    """What pulling back the plunger shows.

    Attributes
    ----------
    blood : bool
        Blood flash: the tip is in a vessel lumen.
    kind : {"artery", "vein"} or None
        The vessel's kind when known.
    structure : str or None
        The structure at the tip (None outside the grid).
    fluid : bool
        Fluid (synovial, effusion, injectate) returns: the tip is in a collection.
    """

    blood: bool
    kind: Literal["artery", "vein"] | None
    structure: str | None
    fluid: bool


@dataclass
class _Front:
    mode: Outcome
    label: int
    site_ijk: np.ndarray
    site_mm: np.ndarray
    fill: SpreadFront
    delivered_ml: float = 0.0
    pool: np.ndarray | None = None  # first filled voxels (flat), for bubbles


class Injection:
    """The injectate of one session on one acoustic volume.

    Parameters
    ----------
    volume : AcousticVolume
        The scene's volume with the injectate label
        (``simulator.tissue_edit.with_injectate_label``).
    harms : mapping of str to str or None, optional
        Structure name -> the scene's ``harm`` (tells arteries from veins).
    seed : int
        Seed of the microbubble swirl.
    prefetch : Executor, optional
        Where to work out the spread of the next increment ahead of it (a
        helper thread: the window's injection tick then mostly takes voxels
        already found). The fluid goes to the same voxels with or without.

    Raises
    ------
    KeyError
        If ``volume`` has no injectate structure.
    """

    def __init__(
        self,
        volume: AcousticVolume,
        harms: Mapping[str, str | None] | None = None,
        seed: int = 0,
        prefetch: Executor | None = None,
    ) -> None:
        try:
            self._inj = injectate_label(volume)
        except KeyError:
            raise KeyError(
                "Injection: the volume has no 'injectate' structure; "
                "build it with simulator.tissue_edit.with_injectate_label(volume)"
            ) from None
        self.volume = volume
        self.seed = int(seed)
        self._labels = volume.labels
        self._kinds = structure_kinds(volume, harms)
        self._lumen = is_lumen(volume)
        self._tables = resistance_tables(self._kinds, self._lumen, volume.spacing_mm)
        self._names = tuple(s.name for s in volume.structures)
        self._voxel_ml = volume.spacing_mm**3 / 1000.0
        self._tol_vox = SITE_TOLERANCE_MM / volume.spacing_mm
        # fluid voxels (sorted flat) and the label each replaced; swollen nerve voxels
        self._fluid = np.zeros(0, np.int64)
        self._fluid_from = np.zeros(0, np.uint8)
        self._fluid_count = np.zeros(len(self._names), np.int64)  # fluid voxels by replaced label
        self._swollen = np.zeros(0, np.int64)
        self._swollen_label = np.zeros(0, np.uint8)
        self._collected_ml = 0.0  # delivered into collections (not intravascular)
        self._intravascular: dict[str, float] = {}
        self._front: _Front | None = None
        self._edit = TissueEdit()
        self._edit_dirty = False
        self._burst = -1
        self._burst_front: _Front | None = None
        self._last_inject_t_s = -np.inf
        # the swirl of the latest burst, drawn once: (burst, pool, centres, paths)
        self._swirl: tuple[int, np.ndarray, np.ndarray, SwirlPaths] | None = None
        # the collection painted into a mask as it grows (fluid is never taken
        # away): the mask covers [_mask_lo, _mask_lo + shape), the fluid [_fluid_lo, _fluid_hi)
        self._mask = np.zeros((0, 0, 0), np.uint8)
        self._mask_lo = np.zeros(3, np.int64)
        self._fluid_lo = np.zeros(3, np.int64)
        self._fluid_hi = np.zeros(3, np.int64)
        self._prefetch = prefetch
        self._prefetch_job: Future[None] | None = None

    # -- queries ---------------------------------------------------------------

    @property
    def injected_ml(self) -> float:
        """Total volume delivered so far (collections and intravascular), ml."""
        return self._collected_ml + sum(self._intravascular.values())

    @property
    def site_mm(self) -> tuple[float, float, float] | None:
        """Where the current injection site was opened (world mm), None before any.

        A tip within ``SITE_TOLERANCE_MM`` of it, in the same mode, keeps
        filling the same site; anywhere else opens a new one.
        """
        f = self._front
        return None if f is None else tuple(float(v) for v in f.site_mm)  # type: ignore[return-value]

    @property
    def voxel_ml(self) -> float:
        """Volume of one voxel, ml."""
        return self._voxel_ml

    def distribution_ml(self) -> dict[str, float]:
        """Where the delivered volume is, by structure.

        Returns
        -------
        dict of str to float
            Structure name -> ml: the tissue each fluid voxel replaced
            (``"injectate"`` never appears: fluid passes through earlier
            fluid), plus intravascular volume under the vessel lumen's name.
            Sums to ``injected_ml`` within one voxel.
        """
        counts = self._fluid_count
        out = {self._names[i]: float(c) * self._voxel_ml for i, c in enumerate(counts) if c}
        for name, ml in self._intravascular.items():
            out[name] = out.get(name, 0.0) + ml
        return out

    def tissue_edit(self) -> TissueEdit:
        """The label changes: fluid -> injectate, swollen nerve voxels -> the nerve.

        The same object is returned until something changes (the engine caches
        by identity).
        """
        if self._edit_dirty:
            # fluid that filled a fluid space (bursa, recess, effusion) keeps that
            # label: the two look alike, and painting one into the other would draw
            # a staircase of faint interfaces inside the pool
            was_fluid = self._tables.fluid[self._fluid_from]
            painted = self._fluid[~was_fluid]
            lab = np.full(painted.size, self._inj, np.uint8)
            if self._swollen.size:  # both sorted: merged, swollen voxels first on a tie
                pos = np.searchsorted(painted, self._swollen)
                painted = np.insert(painted, pos, self._swollen)
                lab = np.insert(lab, pos, self._swollen_label)
            self._edit = TissueEdit(flat_index=painted, new_label=lab)
            self._edit_dirty = False
        return self._edit

    def fluid_box(self) -> tuple[np.ndarray, np.ndarray, float] | None:
        """The collection cropped to its bounding box, for a 3-D surface.

        Returns
        -------
        (mask, origin_mm, spacing_mm) or None
            ``mask`` uint8, shape (a, b, c), 1 in fluid; ``origin_mm`` (3,)
            the world centre of ``mask[0, 0, 0]``; ``spacing_mm`` the voxel
            size. None when there is no collection.
        """
        if self._fluid.size == 0:
            return None
        lo = self._fluid_lo
        a, b = lo - self._mask_lo, self._fluid_hi - self._mask_lo
        mask = self._mask[a[0] : b[0], a[1] : b[1], a[2] : b[2]].copy()
        origin = self.volume.origin_mm + self.volume.spacing_mm * lo
        return mask, origin.astype(np.float64), float(self.volume.spacing_mm)

    def label_at(self, point_mm: np.ndarray) -> int | None:
        """Label at a world point with the session's edits applied; None outside the grid."""
        flat = self._flat_of(point_mm)
        return None if flat is None else self._label_of_flat(flat)

    # -- actions ---------------------------------------------------------------

    def aspirate(self, tip_mm: np.ndarray) -> Aspiration:
        """Pull back the plunger with the tip at ``tip_mm`` (world, mm)."""
        label = self.label_at(tip_mm)
        if label is None:
            return Aspiration(blood=False, kind=None, structure=None, fluid=False)
        kind = self._kinds[label]
        blood = self._lumen[label]
        return Aspiration(
            blood=blood,
            kind=kind if blood and kind in ("artery", "vein") else None,  # type: ignore[arg-type]
            structure=self._names[label],
            fluid=(kind == "fluid") and not blood,
        )

    def inject(self, tip_mm: np.ndarray, volume_ml: float, t_s: float) -> InjectResult:
        """Inject ``volume_ml`` at the tip.

        Parameters
        ----------
        tip_mm : ndarray, shape (3,)
            Needle tip, world mm.
        volume_ml : float
            Volume pushed during this increment (rate x dt), ml, >= 0.
        t_s : float
            Session time, s (for the microbubble swirl).

        Returns
        -------
        InjectResult

        Raises
        ------
        ValueError
            For a negative or non-finite volume.
        """
        volume_ml = float(volume_ml)
        if not np.isfinite(volume_ml) or volume_ml < 0:
            raise ValueError(f"inject: volume_ml = {volume_ml}: expected a finite volume >= 0 ml")
        flat = self._flat_of(tip_mm)
        if flat is None:
            self._front = None
            return InjectResult(
                0.0, volume_ml, "outside", "outside", "high", "blocked",
                "no flow: the tip is outside the scene",
            )  # fmt: skip
        label = self._label_of_flat(flat)
        if label == self._inj:
            # fluid inside a nerve or tendon is still inside it
            pos = int(np.searchsorted(self._fluid, flat))
            replaced = int(self._fluid_from[pos])
            if self._kinds[replaced] == "nerve" or self._kinds[replaced] in _DENSE:
                label = replaced
        name, kind = self._names[label], self._kinds[label]
        if self._lumen[label]:
            self._front = None
            self._intravascular[name] = self._intravascular.get(name, 0.0) + volume_ml
            return InjectResult(
                volume_ml, volume_ml, name, kind, "low", "intravascular",
                f"intravascular injection into {name}: stop, withdraw and aspirate",
            )  # fmt: skip
        if kind in _BLOCKING:
            self._front = None
            where = f"the wall of {name}" if kind in ("artery", "vein", "vessel") else name
            return InjectResult(
                0.0, volume_ml, name, kind, "high", "blocked",
                f"no flow: the tip is in {where}; withdraw slightly",
            )  # fmt: skip
        if kind == "nerve":
            mode: Outcome = "intraneural"
        elif kind in _DENSE:
            mode = "intratendinous"
        else:
            mode = "spread"
        front = self._front_for(flat, label, mode, np.asarray(tip_mm, dtype=np.float64))
        if mode == "spread":
            delivered = self._fill(front, volume_ml)
            if delivered < volume_ml - 0.5 * self._voxel_ml:
                outcome: Outcome = "blocked"
                warning: str | None = "no room: the fluid cannot spread any further"
            else:
                outcome = "spread"
                warning = None
                if kind == "skin":
                    warning = "high resistance: intradermal injection"
            resistance: Literal["low", "high"] = "high" if kind == "skin" else "low"
        else:
            cap = INTRANEURAL_MAX_ML if mode == "intraneural" else INTRATENDINOUS_MAX_ML
            allowed = max(0.0, min(volume_ml, cap - front.delivered_ml))
            delivered = self._fill(front, allowed) if allowed > 0 else 0.0
            outcome, resistance = mode, "high"
            if mode == "intraneural":
                warning = f"high resistance: intraneural injection into {name}; stop and withdraw"
            else:
                warning = f"high resistance: intratendinous injection into {name}; no spread"
        if delivered > 0:
            self._note_burst(front, t_s)
        return InjectResult(delivered, volume_ml, name, kind, resistance, outcome, warning)

    # -- microbubbles ----------------------------------------------------------

    def bubbles(self, t_s: float) -> tuple[np.ndarray, np.ndarray]:
        """The microbubble swirl of the latest injection at time ``t_s``.

        Bright point scatterers inside the collection near the site, swirling
        while fluid goes in and fading over ``BUBBLE_END_S`` after the last
        increment. Deterministic from the seed, the injection history and ``t_s``.

        Returns
        -------
        positions_mm : ndarray, shape (k, 3), float64
            World positions, mm; ``k <= MAX_BUBBLES``.
        amplitude : ndarray, shape (k,), float64
            Amplitude reflectivity of each bubble (as ``point_reflectivity``).
        """
        empty = (np.zeros((0, 3)), np.zeros(0))
        front = self._burst_front
        age = float(t_s) - self._last_inject_t_s
        if front is None or front.pool is None or not (-1.0 <= age <= BUBBLE_END_S):
            return empty
        pool = front.pool
        cached = self._swirl
        if cached is None or cached[0] != self._burst or cached[1] is not pool:
            # drawn once per burst and pool (the pool fills during the first ticks)
            rng = np.random.default_rng([self.seed, self._burst])
            k = min(MAX_BUBBLES, pool.size)
            pick = (rng.random(MAX_BUBBLES) * pool.size).astype(np.int64)[:k]
            cached = (self._burst, pool, self._centre_mm(pool[pick]), swirl_paths(rng, k))
            self._swirl = cached
        centre = cached[2]
        pos, amp = swirl_at(centre, cached[3], float(t_s), age)
        # a bubble swirling out of the collection stays at its centre
        inside = self._is_fluid(self._flat_of_many(pos))
        pos[~inside] = centre[~inside]
        return pos, amp

    # -- internals -------------------------------------------------------------

    def _flat_of(self, point_mm: np.ndarray) -> int | None:
        flat = self._flat_of_many(np.asarray(point_mm, dtype=np.float64).reshape(1, 3))[0]
        return None if flat < 0 else int(flat)

    def _flat_of_many(self, points_mm: np.ndarray) -> np.ndarray:
        v = self.volume
        idx = np.rint((points_mm - v.origin_mm) / v.spacing_mm).astype(np.int64)
        shape = np.array(v.shape)
        inside = np.all((idx >= 0) & (idx < shape), axis=1)
        flat = np.full(idx.shape[0], -1, dtype=np.int64)
        flat[inside] = np.ravel_multi_index(tuple(idx[inside].T), v.shape)
        return flat

    def _centre_mm(self, flat: np.ndarray) -> np.ndarray:
        ijk = np.stack(np.unravel_index(flat, self._labels.shape), axis=1)
        return self.volume.origin_mm + self.volume.spacing_mm * ijk

    def _is_fluid(self, flat: np.ndarray) -> np.ndarray:
        if self._fluid.size == 0:
            return np.zeros(flat.shape, dtype=bool)
        pos = np.minimum(np.searchsorted(self._fluid, flat), self._fluid.size - 1)
        return (self._fluid[pos] == flat) & (flat >= 0)

    def _label_of_flat(self, flat: int) -> int:
        if self._is_fluid(np.array([flat]))[0]:
            return self._inj
        if self._swollen.size:
            pos = int(np.searchsorted(self._swollen, flat))
            if pos < self._swollen.size and self._swollen[pos] == flat:
                return int(self._swollen_label[pos])
        return int(self._labels.ravel()[flat])

    def _edits(self) -> tuple[np.ndarray, np.ndarray]:
        idx = np.concatenate((self._swollen, self._fluid))
        lab = np.concatenate((self._swollen_label, np.full(self._fluid.size, self._inj, np.uint8)))
        return idx, lab

    def _front_for(self, flat: int, label: int, mode: Outcome, tip_mm: np.ndarray) -> _Front:
        ijk = np.array(np.unravel_index(flat, self._labels.shape))
        f = self._front
        if (
            f is not None
            and f.mode == mode
            and (mode == "spread" or f.label == label)
            and np.linalg.norm(ijk - f.site_ijk) <= self._tol_vox
        ):
            return f
        edit_index, edit_label = self._edits()  # a snapshot: the front's field stays fixed
        labels, tables, inj = self._labels, self._tables, self._inj
        if mode == "spread":

            def box(lo: np.ndarray, hi: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
                res, opening, lab = resistance_block(labels, lo, hi, tables, edit_index, edit_label)
                return res, opening, lab == inj

        else:
            # confined to the structure (and to fluid that replaced it)
            own = self._fluid[self._fluid_from == label]

            def box(lo: np.ndarray, hi: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
                lab = edited_labels(labels, lo, hi, edit_index, edit_label)
                mine = np.zeros(lab.shape, dtype=bool)
                if own.size:
                    q = np.stack(np.unravel_index(own, labels.shape), axis=1)
                    q = q[np.all((q >= lo) & (q < hi), axis=1)] - lo
                    mine[q[:, 0], q[:, 1], q[:, 2]] = True
                passable = (lab == label) | mine
                return passable.astype(np.uint16), np.zeros(lab.shape, np.int32), mine

        front = _Front(
            mode=mode,
            label=label,
            site_ijk=ijk,
            site_mm=tip_mm,
            fill=SpreadFront(self._labels.shape, ijk, box),
        )
        self._front = front
        return front

    def _fill(self, front: _Front, volume_ml: float) -> float:
        """Fill ``volume_ml`` more at ``front``; return the volume that went in, ml."""
        target = round((self._collected_ml + volume_ml) / self._voxel_ml)
        need = max(0, target - self._fluid.size)
        flat, _ = front.fill.grow(need)
        if self._prefetch is not None and need > 0:
            job = self._prefetch_job
            if job is None or job.done():
                # the next increment is likely as large (twice: the tick's period jitters)
                self._prefetch_job = self._prefetch.submit(front.fill.prefetch, 2 * need)
        short = need - flat.size
        delivered = volume_ml - short * self._voxel_ml if short > 0 else volume_ml
        delivered = max(0.0, delivered)
        if flat.size:
            replaced = self._labels.ravel()[flat]
            if self._swollen.size:
                pos = np.minimum(np.searchsorted(self._swollen, flat), self._swollen.size - 1)
                hit = self._swollen[pos] == flat
                replaced[hit] = self._swollen_label[pos[hit]]
                keep = np.ones(self._swollen.size, dtype=bool)
                keep[pos[hit]] = False
                self._swollen = self._swollen[keep]
                self._swollen_label = self._swollen_label[keep]
            self._add_fluid(flat, replaced)
            n_pool = max(1, round(BUBBLE_POOL_ML / self._voxel_ml))
            if front.pool is None or front.pool.size < n_pool:
                old = front.pool if front.pool is not None else np.zeros(0, np.int64)
                front.pool = np.concatenate((old, flat))[:n_pool]
            if front.mode == "intraneural":
                self._swell(front, flat.size)
        self._collected_ml += delivered
        front.delivered_ml += delivered
        return delivered

    def _add_fluid(self, flat: np.ndarray, replaced: np.ndarray) -> None:
        order = np.argsort(flat)
        flat, replaced = flat[order], replaced[order]
        pos = np.searchsorted(self._fluid, flat)
        first = self._fluid.size == 0
        self._fluid = np.insert(self._fluid, pos, flat)
        self._fluid_from = np.insert(self._fluid_from, pos, replaced)
        self._fluid_count += np.bincount(replaced, minlength=self._fluid_count.size)
        self._edit_dirty = True
        self._paint_mask(np.stack(np.unravel_index(flat, self._labels.shape), axis=1), first)

    def _paint_mask(self, ijk: np.ndarray, first: bool) -> None:
        """Paint new fluid voxels (grid indices, shape (n, 3)) into the collection's mask."""
        lo, hi = ijk.min(axis=0), ijk.max(axis=0) + 1
        if not first:
            lo, hi = np.minimum(lo, self._fluid_lo), np.maximum(hi, self._fluid_hi)
        self._fluid_lo, self._fluid_hi = lo, hi
        m_lo = self._mask_lo
        m_hi = m_lo + np.array(self._mask.shape)
        if first or np.any(lo < m_lo) or np.any(hi > m_hi):
            # room for the collection to grow by a quarter (at least 8 voxels) each way
            pad = np.maximum((hi - lo) // 4, 8)
            new_lo = np.maximum(lo - pad, 0)
            new_hi = np.minimum(hi + pad, np.array(self._labels.shape))
            mask = np.zeros(tuple(int(v) for v in new_hi - new_lo), np.uint8)
            if not first:
                a = m_lo - new_lo
                b = a + np.array(self._mask.shape)
                mask[a[0] : b[0], a[1] : b[1], a[2] : b[2]] = self._mask
            self._mask, self._mask_lo = mask, new_lo
        q = ijk - self._mask_lo
        self._mask[q[:, 0], q[:, 1], q[:, 2]] = 1

    def _swell(self, front: _Front, n: int) -> None:
        """Grow the nerve outward by ``n`` voxels around this bolus's fluid.

        The voxels taken are the displaceable ones (fat, muscle, soft tissue,
        fascia) outside the nerve nearest to the intraneural fluid of this
        site: a fusiform swelling as long as the bolus.
        """
        nerve = front.label
        bolus = front.pool if front.pool is not None else np.zeros(0, np.int64)
        if bolus.size == 0:
            return
        shape = np.array(self._labels.shape)
        ijk = np.stack(np.unravel_index(bolus, self._labels.shape), axis=1)
        margin = int(np.ceil((n * 3 / (4 * np.pi)) ** (1 / 3))) + 8
        lo = np.maximum(ijk.min(axis=0) - margin, 0)
        hi = np.minimum(ijk.max(axis=0) + margin + 1, shape)
        idx, lab_e = self._edits()
        lab = edited_labels(self._labels, lo, hi, idx, lab_e)
        fluid = np.zeros(lab.shape, dtype=bool)
        q = ijk - lo
        fluid[q[:, 0], q[:, 1], q[:, 2]] = True
        ok = [i for i, k in enumerate(self._kinds) if k in _DISPLACEABLE and i != self._inj]
        cand = np.flatnonzero(np.isin(lab, ok))
        if cand.size == 0:
            return
        dist = ndimage.distance_transform_edt(~fluid).ravel()[cand]
        local = np.stack(np.unravel_index(cand, lab.shape), axis=1) + lo
        gflat = np.ravel_multi_index(tuple(local.T), self._labels.shape)
        new = np.sort(gflat[np.lexsort((gflat, dist))[:n]])
        pos = np.searchsorted(self._swollen, new)
        self._swollen = np.insert(self._swollen, pos, new)
        self._swollen_label = np.insert(self._swollen_label, pos, np.uint8(nerve))
        self._edit_dirty = True

    def _note_burst(self, front: _Front, t_s: float) -> None:
        if front is not self._burst_front or float(t_s) - self._last_inject_t_s > BUBBLE_END_S:
            self._burst += 1
            self._burst_front = front
        self._last_inject_t_s = float(t_s)
