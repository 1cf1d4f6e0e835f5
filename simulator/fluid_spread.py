"""Where injected fluid goes: a minimum-cost fill of the voxel grid.

Each voxel has an integer resistance, the cost of pushing fluid through it
(0 = impassable). Fluid fills voxels in order of the least accumulated path
cost from the injection site, as in Darcy flow where the pressure needed
grows with path length times resistance: the fluid runs far along
low-resistance planes and potential spaces, and thickens near the site.

The fill is Dijkstra's algorithm on the 26-connected grid, each step costing
its length (10, 14 or 17 for a face, edge or corner step: 10 x 1, sqrt 2,
sqrt 3) times the resistance of the voxel entered, run vectorised as a
bucket queue: buckets ``COST_QUANTUM`` wide are no wider than the cheapest
step, so every voxel in the lowest bucket is final and the whole bucket is
settled and relaxed at once with NumPy. Ties are broken by flat index, so
the order is deterministic and ``grow`` is incremental: growing by 10 then
by 20 voxels fills exactly the voxels growing by 30 does.

Memory stays sparse: the costs live in a box around the fill that grows
(by a quarter of its size, at least 16 voxels, on the faces the fill
reaches); the resistance of a box comes from a callback, evaluated only for
the new shell, so the grid's resistance is never built whole.

Pushing fluid out of a fluid space into tissue (or from soft tissue into
fascia or dense tissue) also costs an opening threshold, paid once on
entering the higher level: a bursa or recess fills before its walls give,
while planes and soft tissue, sharing one level, compete by resistance
alone. Without it, the additive cost would let the tissue around a thin wide
bursa take as much fluid as the bursa itself. Every cost is a path length,
so the pattern does not depend on the voxel size (thin layers aside).

``resistance_block`` computes resistance and thresholds from labels and
per-label tables (potential spaces and fluid lowest, fascial planes low,
fat, muscle, dense tissue very high, bone and vessel lumen impassable);
``resistance_tables`` builds the tables from the structure kinds
(``simulator.structure_kinds``).
"""

from __future__ import annotations

import functools
import heapq
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

#: Resistance of each structure kind (``simulator.structure_kinds.KINDS``), per
#: voxel step; 0 is impassable. Fluid and potential spaces are the cheapest,
#: then loose fat, unspecified soft tissue and muscle; fascia is crossed
#: reluctantly; dense tissue (skin, tendon, ligament, nerve, cartilage, vessel
#: wall) very reluctantly; bone, blood (a lumen: fluid reaching it is carried
#: away, see ``simulator.injection``) and steel not at all.
KIND_RESISTANCE = {
    "fluid": 1,
    "fat": 5,
    "soft": 6,
    "muscle": 10,
    "fascia": 200,
    "skin": 1000,
    "tendon": 1000,
    "ligament": 1000,
    "nerve": 1000,
    "cartilage": 1000,
    "artery": 1000,
    "vein": 1000,
    "vessel": 1000,
    "bone": 0,
    "steel": 0,
}
#: Opening threshold of each kind, in millimetres of fluid path of equal cost:
#: the extra cost of pushing fluid into a kind from a kind of lower threshold,
#: paid once. Fluid spaces (bursa, recess, sheath, effusion, earlier injectate)
#: hold the fluid until it has run this far in them; all soft tissue (planes
#: included) shares one level so that planes and tissue compete by resistance
#: alone; fascia and dense tissue sit higher.
KIND_OPENING_MM = {
    "fluid": 0.0,
    "fat": 10.0,
    "soft": 10.0,
    "muscle": 10.0,
    "fascia": 20.0,
    "skin": 30.0,
    "tendon": 30.0,
    "ligament": 30.0,
    "nerve": 30.0,
    "cartilage": 30.0,
    "artery": 30.0,
    "vein": 30.0,
    "vessel": 30.0,
    "bone": 0.0,
    "steel": 0.0,
}
#: Resistance of a fascial plane: a voxel of a plane-forming kind touching
#: (6-neighbour) a voxel of another label of a plane-partner kind.
PLANE_RESISTANCE = 2
#: Kinds whose voxels next to another structure form a plane fluid opens.
PLANE_FORMING_KINDS = frozenset({"fat", "soft", "muscle"})
#: Kinds across whose surface the neighbouring soft tissue forms a plane
#: (not skin: the dermis is tethered to fat; not fluid: the fluid is the space).
PLANE_PARTNER_KINDS = frozenset(
    {
        "fat",
        "soft",
        "muscle",
        "fascia",
        "tendon",
        "ligament",
        "nerve",
        "cartilage",
        "bone",
        "artery",
        "vein",
        "vessel",
    }
)
#: Cost of a voxel not reached yet (costs are stored as int32).
_FAR = np.iinfo(np.int32).max
#: Width of a cost bucket: the cheapest step (a face step into fluid, 10 x 1).
COST_QUANTUM = 10


def _neighbour_steps() -> tuple[np.ndarray, np.ndarray]:
    grid = np.stack(np.meshgrid(*[np.arange(-1, 2)] * 3, indexing="ij"), axis=-1).reshape(-1, 3)
    off = grid[np.any(grid != 0, axis=1)].astype(np.int64)
    length = np.sqrt((off**2).sum(axis=1))
    return off, np.rint(10.0 * length).astype(np.int64)


#: The 26 neighbour offsets, shape (26, 3), and the integer cost of a step of
#: unit resistance along each, shape (26,): 10, 14 or 17.
NEIGHBOUR_OFFSETS, STEP_COST = _neighbour_steps()


@dataclass(frozen=True)
class ResistanceTables:
    """Per-label tables ``resistance_block`` reads.

    Attributes
    ----------
    resistance : ndarray, shape (n_labels,), uint16
        Resistance of each label away from planes (0 = impassable).
    plane_forming : ndarray, shape (n_labels,), bool
        Labels whose voxels become a plane next to another label.
    plane_partner : ndarray, shape (n_labels,), bool
        Labels whose surface makes the neighbouring plane-forming voxels a plane.
    fluid : ndarray, shape (n_labels,), bool
        Labels that already are fluid (potential spaces, collections, injectate).
    opening : ndarray, shape (n_labels,), int32
        Opening threshold of each label in cost units (``KIND_OPENING_MM`` at
        the grid's voxel size).
    """

    resistance: np.ndarray
    plane_forming: np.ndarray
    plane_partner: np.ndarray
    fluid: np.ndarray
    opening: np.ndarray


def resistance_tables(
    kinds: Sequence[str], lumen: Sequence[bool], spacing_mm: float
) -> ResistanceTables:
    """Resistance tables from the kind of every label.

    Parameters
    ----------
    kinds : sequence of str, length n_labels
        ``simulator.structure_kinds.structure_kinds(volume)``.
    lumen : sequence of bool, length n_labels
        ``simulator.structure_kinds.is_lumen(volume)``: blood-filled labels,
        impassable to a spreading collection.
    spacing_mm : float
        Voxel size of the grid, mm (the opening thresholds are path lengths).

    Raises
    ------
    ValueError
        For a kind with no entry in ``KIND_RESISTANCE`` or mismatched lengths.
    """
    if len(kinds) != len(lumen):
        raise ValueError(f"kinds ({len(kinds)}) and lumen ({len(lumen)}) differ in length")
    unknown = sorted(set(kinds) - set(KIND_RESISTANCE))
    if unknown:
        raise ValueError(f"structure kinds {unknown}: expected one of {sorted(KIND_RESISTANCE)}")
    res = np.array([KIND_RESISTANCE[k] for k in kinds], dtype=np.uint16)
    lum = np.asarray(lumen, dtype=bool)
    res[lum] = 0
    if not spacing_mm > 0:
        raise ValueError(f"spacing_mm = {spacing_mm}: expected a voxel size > 0 mm")
    # cost of a face step through fluid is STEP_COST[face] = 10 per voxel
    opening = np.array(
        [round(10.0 * KIND_OPENING_MM[k] / spacing_mm) for k in kinds], dtype=np.int32
    )
    return ResistanceTables(
        resistance=res,
        plane_forming=np.array([k in PLANE_FORMING_KINDS for k in kinds]) & ~lum,
        plane_partner=np.array([k in PLANE_PARTNER_KINDS for k in kinds]) & ~lum,
        fluid=np.array([k == "fluid" for k in kinds]) & ~lum,
        opening=opening,
    )


def edited_labels(
    labels: np.ndarray,
    lo: np.ndarray,
    hi: np.ndarray,
    edit_index: np.ndarray | None = None,
    edit_label: np.ndarray | None = None,
) -> np.ndarray:
    """Copy of the box ``[lo, hi)`` of a label grid with sparse edits painted in.

    Parameters
    ----------
    labels : ndarray, shape (nx, ny, nz), uint8
        Label grid.
    lo, hi : ndarray, shape (3,), int
        Box corners in voxel indices, ``0 <= lo < hi <= labels.shape``.
    edit_index : ndarray, shape (k,), int64, optional
        Flat indices (into ``labels.ravel()``) of edited voxels.
    edit_label : ndarray, shape (k,), uint8, optional
        Their new labels.

    Returns
    -------
    ndarray, shape hi - lo, uint8
    """
    lo = np.asarray(lo, dtype=np.int64)
    hi = np.asarray(hi, dtype=np.int64)
    block = labels[lo[0] : hi[0], lo[1] : hi[1], lo[2] : hi[2]].copy()
    if edit_index is not None and edit_index.size:
        ijk = np.stack(np.unravel_index(edit_index, labels.shape), axis=1)
        inside = np.all((ijk >= lo) & (ijk < hi), axis=1)
        q = ijk[inside] - lo
        block[q[:, 0], q[:, 1], q[:, 2]] = edit_label[inside]
    return block


def resistance_block(
    labels: np.ndarray,
    lo: np.ndarray,
    hi: np.ndarray,
    tables: ResistanceTables,
    edit_index: np.ndarray | None = None,
    edit_label: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Resistance of the voxels of the box ``[lo, hi)`` of a label grid.

    Parameters
    ----------
    labels : ndarray, shape (nx, ny, nz), uint8
        Label grid.
    lo, hi : ndarray, shape (3,), int
        Box corners in voxel indices, ``0 <= lo < hi <= labels.shape``.
    tables : ResistanceTables
    edit_index, edit_label : ndarray, optional
        Sparse label edits painted over the grid first (see ``edited_labels``).

    Returns
    -------
    resistance : ndarray, shape hi - lo, uint16
        Resistance per voxel, 0 where impassable. A plane-forming voxel with
        a 6-neighbour of another, plane-partner label gets
        ``PLANE_RESISTANCE`` (beyond the grid's faces there is no neighbour).
    opening : ndarray, shape hi - lo, int32
        Opening threshold per voxel, cost units.
    labels : ndarray, shape hi - lo, uint8
        The edited labels of the box.
    """
    lo = np.asarray(lo, dtype=np.int64)
    hi = np.asarray(hi, dtype=np.int64)
    shape = np.array(labels.shape)
    glo = np.maximum(lo - 1, 0)
    ghi = np.minimum(hi + 1, shape)
    lab = edited_labels(labels, glo, ghi, edit_index, edit_label)
    # pad the grid faces by replication: no interface beyond the grid
    pad = [(int(lo[a] == glo[a]), int(hi[a] == ghi[a])) for a in range(3)]
    lab = np.pad(lab, pad, mode="edge")
    core = lab[1:-1, 1:-1, 1:-1]
    plane = np.zeros(core.shape, dtype=bool)
    for axis in range(3):
        for shift in (0, 2):
            sl = [slice(1, -1)] * 3
            sl[axis] = slice(shift, shift + core.shape[axis])
            nb = lab[tuple(sl)]
            plane |= (nb != core) & tables.plane_partner[nb]
    plane &= tables.plane_forming[core]
    res = tables.resistance[core]
    res[plane] = PLANE_RESISTANCE
    return res, tables.opening[core], np.ascontiguousarray(core)


#: A box callback: ``(lo, hi) -> (resistance uint16, opening int32, prefilled
#: bool)``, each of shape ``hi - lo``; prefilled voxels are fluid already
#: (earlier fronts): the fill passes through them but does not count them.
BoxCallback = Callable[[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray, np.ndarray]]


class SpreadFront:
    """An incremental minimum-cost fill from one injection site.

    Parameters
    ----------
    grid_shape : tuple of int
        Shape ``(nx, ny, nz)`` of the voxel grid.
    site_ijk : sequence of int, length 3
        Voxel index of the injection site (inside the grid).
    box : BoxCallback
        Resistance and prefilled mask of any sub-box of the grid. Must return
        the same values for the same voxel whatever the box (the fill relies
        on it when its box grows).
    margin_vox : int
        Half-size of the first box around the site, voxels.
    """

    def __init__(
        self,
        grid_shape: Sequence[int],
        site_ijk: Sequence[int],
        box: BoxCallback,
        margin_vox: int = 16,
    ) -> None:
        self._grid = np.array(grid_shape, dtype=np.int64)
        site = np.asarray(site_ijk, dtype=np.int64)
        if site.shape != (3,) or np.any(site < 0) or np.any(site >= self._grid):
            raise ValueError(f"site_ijk {tuple(site)} is outside the grid {tuple(self._grid)}")
        self.site_ijk = site
        self._box_fn = box
        self._lo = np.maximum(site - margin_vox, 0)
        self._hi = np.minimum(site + margin_vox + 1, self._grid)
        self._res, self._open, self._pre = box(self._lo, self._hi)
        size = tuple(int(s) for s in self._hi - self._lo)
        self._dist = np.full(size, _FAR, dtype=np.int32)
        self._settled = np.zeros(size, dtype=bool)
        self._buckets: dict[int, list[np.ndarray]] = {}
        self._keys: list[int] = []
        self._pending = np.zeros(0, dtype=np.int64)
        self._pending_cost = np.zeros(0, dtype=np.int64)
        self._filled = 0
        self.last_cost = 0
        self._lock = threading.Lock()  # prefetch may run on another thread
        local = tuple(int(v) for v in site - self._lo)
        if self._res[local] > 0:
            self._dist[local] = 0
            self._push(np.array([np.ravel_multi_index(local, size)]), np.zeros(1, np.int64))

    @property
    def n_filled(self) -> int:
        """Voxels this front has filled (prefilled voxels passed through not counted)."""
        return self._filled

    @property
    def exhausted(self) -> bool:
        """True when no reachable voxel is left to fill."""
        with self._lock:
            return self._pending.size == 0 and not self._keys

    def prefetch(self, n_voxels: int) -> None:
        """Work out the next ``n_voxels`` voxels ahead of the ``grow`` that takes them.

        The fill order does not depend on when it is worked out, so ``grow``
        returns the same voxels with or without it; a caller may run this on a
        helper thread between two ``grow`` calls. It holds the front one bucket
        at a time, so a ``grow`` that finds its voxels ready waits little.
        """
        with self._lock:
            goal = self._filled + int(n_voxels)
        while True:
            with self._lock:
                if self._filled + self._pending.size >= goal or not self._keys:
                    return
                self._settle_next_bucket()

    @property
    def box_shape(self) -> tuple[int, int, int]:
        """Current shape of the cost box, voxels."""
        return self._dist.shape  # type: ignore[return-value]

    def grow(self, n_voxels: int) -> tuple[np.ndarray, np.ndarray]:
        """Fill the next ``n_voxels`` voxels in order of path cost.

        Parameters
        ----------
        n_voxels : int
            Voxels to add (fewer are returned when the front is exhausted).

        Returns
        -------
        flat_index : ndarray, shape (k,), int64
            Flat indices into the grid of the newly filled voxels, in fill order.
        cost : ndarray, shape (k,), int64
            Their path cost from the site (units: step cost x resistance).
        """
        with self._lock:
            return self._grow(int(n_voxels))

    def _grow(self, need: int) -> tuple[np.ndarray, np.ndarray]:
        out: list[np.ndarray] = []
        costs: list[np.ndarray] = []
        while need > 0:
            if self._pending.size == 0:
                if not self._keys:
                    break
                self._settle_next_bucket()
                continue
            take = min(need, self._pending.size)
            out.append(self._pending[:take])
            costs.append(self._pending_cost[:take])
            self._pending = self._pending[take:]
            self._pending_cost = self._pending_cost[take:]
            need -= take
        if not out:
            return np.zeros(0, np.int64), np.zeros(0, np.int64)
        flat = np.concatenate(out)
        cost = np.concatenate(costs)
        self._filled += flat.size
        self.last_cost = int(cost[-1])
        return flat, cost

    # -- internals -----------------------------------------------------------

    def _push(self, local_flat: np.ndarray, dist: np.ndarray) -> None:
        keys = dist // COST_QUANTUM
        order = np.argsort(keys, kind="stable")
        keys = keys[order]
        local_flat = local_flat[order]
        cuts = np.flatnonzero(np.diff(keys)) + 1
        starts = np.concatenate(([0], cuts))
        for s, part in zip(starts, np.split(local_flat, cuts), strict=True):
            key = int(keys[s])
            bucket = self._buckets.get(key)
            if bucket is None:
                self._buckets[key] = [part]
                heapq.heappush(self._keys, key)
            else:
                bucket.append(part)

    def _settle_next_bucket(self) -> None:
        key = heapq.heappop(self._keys)
        cand = np.unique(np.concatenate(self._buckets.pop(key)))
        settled = self._settled.ravel()
        dist = self._dist.ravel()
        cand = cand[~settled[cand] & (dist[cand] // COST_QUANTUM == key)]
        if cand.size == 0:
            return
        ijk = np.stack(np.unravel_index(cand, self._dist.shape), axis=1)
        if self._needs_growth(ijk):
            cand = self._grow_box(ijk)
            settled = self._settled.ravel()
            dist = self._dist.ravel()
            ijk = np.stack(np.unravel_index(cand, self._dist.shape), axis=1)
        settled[cand] = True
        d = dist[cand]
        glob = np.ravel_multi_index(tuple((ijk + self._lo).T), tuple(self._grid))
        order = np.lexsort((glob, d))
        new = ~self._pre.ravel()[cand[order]]
        self._pending = np.concatenate((self._pending, glob[order][new]))
        self._pending_cost = np.concatenate((self._pending_cost, d[order][new]))
        self._relax(cand, ijk, d)

    def _relax(self, cand: np.ndarray, ijk: np.ndarray, d: np.ndarray) -> None:
        shape = self._dist.shape
        size = np.array(shape)
        # neighbours by flat offset; only voxels on the box's faces (the grid's
        # faces: a bucket reaching any other face grows the box first) can step out
        nb = cand[:, None] + _flat_offsets(shape)[None, :]
        face = np.any((ijk == 0) | (ijk == size - 1), axis=1)
        res_all = self._res.ravel()
        open_all = self._open.ravel()
        if face.any():
            rows = np.flatnonzero(face)
            q = ijk[rows][:, None, :] + NEIGHBOUR_OFFSETS[None, :, :]
            row, step = np.nonzero(~np.all((q >= 0) & (q < size), axis=2))
            nb[rows[row], step] = -1
        nb_flat = nb.ravel()
        outside = nb_flat < 0
        if outside.any():
            nb_flat = np.where(outside, 0, nb_flat)
        res = res_all[nb_flat].astype(np.int64)
        if outside.any():
            res[outside] = 0
        entry = open_all[nb_flat].reshape(nb.shape) - open_all[cand][:, None]
        np.maximum(entry, 0, out=entry)
        nd = (res.reshape(nb.shape) * STEP_COST[None, :]) + entry
        nd += d[:, None]
        nd = nd.ravel()
        np.minimum(nd, _FAR - 1, out=nd)
        dist = self._dist.ravel()
        # only steps that beat the voxel's cost so far can change it
        keep = (res > 0) & (nd < dist[nb_flat]) & ~self._settled.ravel()[nb_flat]
        nb_flat = nb_flat[keep]
        nd = nd[keep]
        if nb_flat.size == 0:
            return
        # the cheapest step into each voxel: sort by (voxel, cost), keep the first
        key = (nb_flat << 32) | nd
        key.sort()
        nb_flat = key >> 32
        first = np.ones(nb_flat.size, dtype=bool)
        first[1:] = nb_flat[1:] != nb_flat[:-1]
        nb_flat = nb_flat[first]
        nd = key[first] & 0xFFFFFFFF
        dist[nb_flat] = nd
        self._push(nb_flat, nd)

    def _needs_growth(self, ijk: np.ndarray) -> bool:
        size = np.array(self._dist.shape)
        low = (ijk.min(axis=0) == 0) & (self._lo > 0)
        high = (ijk.max(axis=0) == size - 1) & (self._hi < self._grid)
        return bool(np.any(low | high))

    def _grow_box(self, ijk: np.ndarray) -> np.ndarray:
        """Enlarge the box on every face the bucket touches; return the bucket's new indices."""
        old_size = np.array(self._dist.shape)
        step = np.maximum(old_size // 4, 16)
        low = (ijk.min(axis=0) == 0) & (self._lo > 0)
        high = (ijk.max(axis=0) == old_size - 1) & (self._hi < self._grid)
        lo = np.where(low, np.maximum(self._lo - step, 0), self._lo)
        hi = np.where(high, np.minimum(self._hi + step, self._grid), self._hi)
        shift = self._lo - lo
        size = tuple(int(s) for s in hi - lo)
        dist = np.full(size, _FAR, dtype=np.int32)
        settled = np.zeros(size, dtype=bool)
        inner = tuple(slice(int(shift[a]), int(shift[a] + old_size[a])) for a in range(3))
        dist[inner] = self._dist
        settled[inner] = self._settled

        def remap(local: np.ndarray) -> np.ndarray:
            q = np.stack(np.unravel_index(local, tuple(old_size)), axis=1) + shift
            return np.ravel_multi_index(tuple(q.T), size)

        if self._buckets:  # remapped at once: there are hundreds of buckets
            keys = list(self._buckets)
            parts = [np.concatenate(v) for v in self._buckets.values()]
            cuts = np.cumsum([p.size for p in parts])[:-1]
            moved = np.split(remap(np.concatenate(parts)), cuts)
            self._buckets = {k: [m] for k, m in zip(keys, moved, strict=True)}
        res = np.zeros(size, dtype=self._res.dtype)
        opening = np.zeros(size, dtype=self._open.dtype)
        pre = np.zeros(size, dtype=bool)
        res[inner] = self._res
        opening[inner] = self._open
        pre[inner] = self._pre
        for part_lo, part_hi in _shell(lo, hi, self._lo, self._hi):
            sl = tuple(
                slice(int(a), int(b)) for a, b in zip(part_lo - lo, part_hi - lo, strict=True)
            )
            res[sl], opening[sl], pre[sl] = self._box_fn(part_lo, part_hi)
        self._res, self._open, self._pre = res, opening, pre
        self._lo, self._hi = lo, hi
        self._dist = dist
        self._settled = settled
        return remap(np.ravel_multi_index(tuple(ijk.T), tuple(old_size)))


@functools.lru_cache(maxsize=64)
def _flat_offsets(shape: tuple[int, ...]) -> np.ndarray:
    """Flat index offsets of the 26 neighbour steps in a C-ordered box of ``shape``."""
    off = (NEIGHBOUR_OFFSETS[:, 0] * shape[1] + NEIGHBOUR_OFFSETS[:, 1]) * shape[2]
    off = off + NEIGHBOUR_OFFSETS[:, 2]
    off.flags.writeable = False
    return off


def _shell(
    lo: np.ndarray, hi: np.ndarray, inner_lo: np.ndarray, inner_hi: np.ndarray
) -> list[tuple[np.ndarray, np.ndarray]]:
    """Disjoint boxes covering the box ``[lo, hi)`` minus its sub-box ``[inner_lo, inner_hi)``."""
    parts = []
    cur_lo, cur_hi = lo.copy(), hi.copy()
    for axis in range(3):
        if inner_lo[axis] > cur_lo[axis]:
            h = cur_hi.copy()
            h[axis] = inner_lo[axis]
            parts.append((cur_lo.copy(), h))
        if inner_hi[axis] < cur_hi[axis]:
            low = cur_lo.copy()
            low[axis] = inner_hi[axis]
            parts.append((low, cur_hi.copy()))
        cur_lo[axis], cur_hi[axis] = inner_lo[axis], inner_hi[axis]
    return parts
