"""The injectate: minimum-cost spread, outcomes by tip site, conservation, edits, bubbles."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from simulator.fluid_spread import SpreadFront
from simulator.injection import INTRANEURAL_MAX_ML, INTRATENDINOUS_MAX_ML, Injection
from simulator.microbubbles import BUBBLE_END_S, MAX_BUBBLES, swirl, swirl_at, swirl_paths
from simulator.tissue_edit import injectate_label, with_injectate_label
from simulator.tissues import get_tissue
from simulator.volume import AcousticVolume, StructureAcoustics, interface_normals

SPACING_MM = 0.25
PROJECT_ROOT = Path(__file__).resolve().parent.parent


def build(labels: np.ndarray, structures: list[tuple[str, str]]) -> AcousticVolume:
    """A hand-made volume (voxel [0,0,0] at the origin) with the injectate label."""
    tissues = [get_tissue(t) for _, t in structures]
    index, normal = interface_normals(labels, np.array([t.impedance_mrayl for t in tissues]))
    volume = AcousticVolume(
        labels=labels,
        origin_mm=np.zeros(3),
        spacing_mm=SPACING_MM,
        structures=tuple(
            StructureAcoustics(name, tissue, np.array([1.0, 0.0, 0.0]))
            for (name, _), tissue in zip(structures, tissues, strict=True)
        ),
        boundary_index=index,
        boundary_normal=normal,
    )
    return with_injectate_label(volume)


def mm(ijk: tuple[float, float, float]) -> np.ndarray:
    """World position of a voxel index (origin at voxel 0)."""
    return np.asarray(ijk, dtype=float) * SPACING_MM


def fluid_ijk(inj: Injection) -> np.ndarray:
    """Voxel indices of the injectate, shape (k, 3)."""
    edit = inj.tissue_edit()
    flat = edit.flat_index[edit.new_label == injectate_label(inj.volume)]
    return np.stack(np.unravel_index(flat, inj.volume.shape), axis=1)


# -- scenes ------------------------------------------------------------------------------------

NERVE_C = (40, 40)  # (x, z) of the nerve axis, voxels; the nerve runs along y
NERVE_R = 8  # radius, voxels (2 mm)


@pytest.fixture(scope="module")
def nerve_volume() -> AcousticVolume:
    """Muscle with a nerve (short axis along y), a tendon block and an artery."""
    shape = (80, 120, 100)
    x, _, z = np.indices(shape)
    labels = np.zeros(shape, dtype=np.uint8)  # muscle
    labels[(x - NERVE_C[0]) ** 2 + (z - NERVE_C[1]) ** 2 <= NERVE_R**2] = 1
    labels[10:30, :, 70:85] = 2  # tendon
    r2 = (x - 60) ** 2 + (z - 78) ** 2
    labels[r2 <= 7**2] = 3  # artery wall
    labels[r2 <= 5**2] = 4  # lumen
    labels[70:, :, 95:] = 5  # bone
    return build(
        labels,
        [
            ("muscle", "muscle"),
            ("nerve", "nerve"),
            ("tendon", "tendon"),
            ("artery_wall", "vessel_wall"),
            ("artery_lumen", "blood"),
            ("bone", "bone"),
        ],
    )


@pytest.fixture(scope="module")
def layered_volume() -> AcousticVolume:
    """Fat over muscle (interface between z = 23 and 24) with a bursa deeper in the muscle."""
    shape = (160, 160, 60)
    labels = np.zeros(shape, dtype=np.uint8)  # fat
    labels[:, :, 24:] = 1  # muscle
    labels[40:120, 40:120, 40:44] = 2  # bursa: 20 x 20 x 1 mm, 0.4 ml
    return build(labels, [("fat", "fat"), ("muscle", "muscle"), ("bursa", "fluid")])


# -- the spread ----------------------------------------------------------------------------------


def test_uniform_spread_is_round_and_incremental():
    shape = (61, 61, 61)
    res = np.full(shape, 10, np.uint16)

    def box(lo, hi):
        sl = tuple(slice(int(a), int(b)) for a, b in zip(lo, hi, strict=True))
        return res[sl].copy(), np.zeros(res[sl].shape, np.int32), np.zeros(res[sl].shape, bool)

    one = SpreadFront(shape, (30, 30, 30), box, margin_vox=4)
    flat, cost = one.grow(20_000)
    assert flat.size == 20_000 and np.unique(flat).size == 20_000
    assert np.all(np.diff(cost) >= 0)  # filled in order of cost
    r = np.linalg.norm(np.stack(np.unravel_index(flat, shape), axis=1) - 30, axis=1)
    r_ball = (20_000 * 3 / (4 * np.pi)) ** (1 / 3)
    assert r.max() < 1.12 * r_ball  # 26-neighbour steps: nearly a ball, not an octahedron
    steps = SpreadFront(shape, (30, 30, 30), box, margin_vox=4)
    parts = [steps.grow(n)[0] for n in (1, 999, 7000, 12_000)]
    assert np.array_equal(np.concatenate(parts), flat)


def test_bursa_fills_before_the_muscle_takes_fluid(layered_volume):
    inj = Injection(layered_volume)
    r = inj.inject(mm((80, 80, 42)), 0.2, 0.0)
    assert r.outcome == "spread" and r.site_structure == "bursa" and r.resistance == "low"
    dist = inj.distribution_ml()
    assert dist["bursa"] > 0.95 * 0.2
    assert dist.get("muscle", 0.0) < 0.05 * 0.2


def test_fluid_runs_along_a_fascial_plane(layered_volume):
    inj = Injection(layered_volume)
    inj.inject(mm((80, 80, 23)), 0.2, 0.0)  # fat voxel on the fat/muscle interface
    ijk = fluid_ijk(inj)
    along = np.ptp(ijk[:, 0]) + 1
    across = np.ptp(ijk[:, 2]) + 1
    assert along / across > 2.0
    dist = inj.distribution_ml()
    assert set(dist) == {"fat", "muscle"}


def test_perineural_injection_surrounds_the_nerve(nerve_volume):
    inj = Injection(nerve_volume)
    cx, cz = NERVE_C
    y = 60
    site = (cx, y, cz - NERVE_R - 1)  # muscle just above the nerve
    r = inj.inject(mm(site), 0.1, 0.0)
    assert r.outcome == "spread" and r.site_structure == "muscle" and r.warning is None
    assert "nerve" not in inj.distribution_ml()
    ijk = fluid_ijk(inj)
    plane = ijk[ijk[:, 1] == y]
    near = NERVE_R + 3

    def has(cond):
        return bool(np.any(cond(plane)))

    sides = [
        has(lambda p: (p[:, 0] == cx) & (p[:, 2] < cz) & (p[:, 2] >= cz - near)),  # above
        has(lambda p: (p[:, 0] == cx) & (p[:, 2] > cz) & (p[:, 2] <= cz + near)),  # below
        has(lambda p: (p[:, 2] == cz) & (p[:, 0] < cx) & (p[:, 0] >= cx - near)),  # left
        has(lambda p: (p[:, 2] == cz) & (p[:, 0] > cx) & (p[:, 0] <= cx + near)),  # right
    ]
    assert all(sides), sides  # the doughnut (a blob in muscle would cover one side only)
    extent = np.ptp(ijk, axis=0) + 1
    assert extent[1] > 2 * extent[0]  # and it runs along the nerve


def test_intraneural_injection_is_capped_and_swells_the_nerve(nerve_volume):
    inj = Injection(nerve_volume)
    nerve = nerve_volume.structure_index("nerve")
    before = int((nerve_volume.labels == nerve).sum())
    site = (NERVE_C[0], 20, NERVE_C[1])
    results = [inj.inject(mm(site), 0.05, 0.1 * i) for i in range(6)]
    assert all(r.outcome == "intraneural" and r.resistance == "high" for r in results)
    assert all(r.warning and "intraneural" in r.warning for r in results)
    delivered = sum(r.delivered_ml for r in results)
    assert delivered == pytest.approx(INTRANEURAL_MAX_ML, abs=inj.voxel_ml)
    assert results[-1].delivered_ml == 0.0
    assert set(inj.distribution_ml()) == {"nerve"}  # no spread out of the nerve
    edit = inj.tissue_edit()
    swollen = edit.flat_index[edit.new_label == nerve]
    n_fluid = int((edit.new_label == injectate_label(nerve_volume)).sum())
    assert swollen.size == n_fluid > 0
    # the nerve (with its intraneural fluid) grew by the delivered volume, next to the site
    assert before + swollen.size == pytest.approx(before + delivered / inj.voxel_ml, abs=1)
    assert np.all(nerve_volume.labels.ravel()[swollen] != nerve)
    q = np.stack(np.unravel_index(swollen, nerve_volume.shape), axis=1)
    assert np.linalg.norm(q - site, axis=1).max() * SPACING_MM < 6.0


def test_intratendinous_injection_meets_high_resistance(nerve_volume):
    inj = Injection(nerve_volume)
    results = [inj.inject(mm((20, 20, 77)), 0.05, 0.0) for _ in range(4)]
    assert all(r.outcome == "intratendinous" and r.resistance == "high" for r in results)
    assert all(r.warning for r in results)
    assert inj.injected_ml == pytest.approx(INTRATENDINOUS_MAX_ML, abs=inj.voxel_ml)
    assert set(inj.distribution_ml()) == {"tendon"}


def test_intravascular_injection_leaves_no_collection(nerve_volume):
    inj = Injection(nerve_volume, harms={"artery_lumen": "arterial_puncture"})
    r = inj.inject(mm((60, 20, 78)), 0.1, 0.0)
    assert r.outcome == "intravascular" and r.delivered_ml == pytest.approx(0.1)
    assert r.warning and "intravascular" in r.warning
    assert inj.tissue_edit().n_voxels == 0
    assert inj.fluid_box() is None
    assert inj.distribution_ml() == {"artery_lumen": pytest.approx(0.1)}
    assert inj.bubbles(0.1)[0].shape == (0, 3)


def test_blocked_in_bone(nerve_volume):
    inj = Injection(nerve_volume)
    r = inj.inject(mm((75, 20, 97)), 0.1, 0.0)
    assert r.outcome == "blocked" and r.delivered_ml == 0.0 and r.warning
    assert inj.inject(np.array([-50.0, 0.0, 0.0]), 0.1, 0.0).site_structure == "outside"
    with pytest.raises(ValueError, match="volume_ml"):
        inj.inject(mm((5, 5, 5)), -1.0, 0.0)


def test_aspiration(nerve_volume, layered_volume):
    inj = Injection(nerve_volume, harms={"artery_lumen": "arterial_puncture"})
    a = inj.aspirate(mm((60, 20, 78)))
    assert a.blood and a.kind == "artery" and a.structure == "artery_lumen"
    a = inj.aspirate(mm((5, 20, 5)))
    assert not a.blood and not a.fluid and a.structure == "muscle"
    b = Injection(layered_volume)
    assert b.aspirate(mm((80, 80, 42))).fluid
    assert not b.aspirate(mm((80, 80, 10))).fluid
    b.inject(mm((80, 80, 10)), 0.01, 0.0)
    assert b.aspirate(mm((80, 80, 10))).fluid  # the tip is in its own collection


def test_incremental_equals_one_shot(layered_volume):
    one = Injection(layered_volume)
    one.inject(mm((80, 80, 23)), 0.5, 0.0)
    steps = Injection(layered_volume)
    for i in range(10):
        steps.inject(mm((80, 80, 23)), 0.05, 0.1 * i)
    assert np.array_equal(one.tissue_edit().flat_index, steps.tissue_edit().flat_index)
    assert steps.injected_ml == pytest.approx(0.5)


def test_volume_is_conserved_over_sites(nerve_volume):
    inj = Injection(nerve_volume)
    sites = [(40, 20, 29), (40, 20, 29), (41, 22, 30), (10, 10, 10), (60, 20, 78), (10, 30, 40)]
    for i, site in enumerate(sites):
        inj.inject(mm(site), 0.037, 0.2 * i)
        total = sum(inj.distribution_ml().values())
        assert total == pytest.approx(inj.injected_ml, abs=inj.voxel_ml)
        assert total == pytest.approx(inj.injected_ml, rel=0.05)
    assert inj.injected_ml == pytest.approx(0.037 * len(sites))
    mask, origin, spacing = inj.fluid_box()
    assert int(mask.sum()) == fluid_ijk(inj).shape[0]
    assert spacing == SPACING_MM and np.all(origin >= 0)


def test_fluid_box_follows_the_collection_as_it_grows(nerve_volume):
    """The box kept as the fluid grows is the fluid's bounding box, voxel for voxel."""
    inj = Injection(nerve_volume)
    sites = [(40, 20, 29), (40, 20, 29), (41, 22, 30), (10, 10, 10), (10, 30, 40), (75, 110, 5)]
    for i, site in enumerate(sites):
        inj.inject(mm(site), 0.03, 0.2 * i)
        ijk = fluid_ijk(inj)
        lo = ijk.min(axis=0)
        expected = np.zeros(tuple(ijk.max(axis=0) - lo + 1), np.uint8)
        expected[tuple((ijk - lo).T)] = 1
        mask, origin, spacing = inj.fluid_box()
        assert mask.dtype == np.uint8 and np.array_equal(mask, expected)
        assert np.allclose(origin, inj.volume.origin_mm + spacing * lo)
        mask[:] = 0  # a copy: the caller may keep or change it
        assert inj.fluid_box()[0].sum() == ijk.shape[0]


def test_microbubbles_do_not_depend_on_how_often_they_are_asked(layered_volume):
    """Drawn once per burst, the bubbles at a time are those of a fresh injection."""
    often, once = Injection(layered_volume, seed=5), Injection(layered_volume, seed=5)
    for i in range(12):
        t = 0.1 * i
        site = (80, 80, 10) if i < 7 else (60, 60, 30)  # a second burst at a new site
        often.inject(mm(site), 0.004, t)
        once.inject(mm(site), 0.004, t)
        for dt in (0.0, 0.03, 0.07):
            often.bubbles(t + dt)
    for t in (1.1, 1.15, 1.6, 2.5):
        a, b = often.bubbles(t), once.bubbles(t)
        assert a[0].shape[0] > 0 or t > 1.1 + BUBBLE_END_S
        assert np.array_equal(a[0], b[0]) and np.array_equal(a[1], b[1])


def test_spread_worked_out_ahead_goes_to_the_same_voxels(layered_volume):
    """With a helper thread working out the next increments, the fluid goes to the same voxels."""
    from concurrent.futures import ThreadPoolExecutor

    plain = Injection(layered_volume)
    with ThreadPoolExecutor(1) as pool:
        ahead = Injection(layered_volume, prefetch=pool)
        for i, site in enumerate([(80, 80, 42)] * 6 + [(80, 80, 23)] * 4 + [(70, 70, 10)] * 3):
            a = plain.inject(mm(site), 0.03, 0.1 * i)
            b = ahead.inject(mm(site), 0.03, 0.1 * i)
            assert a == b
            assert np.array_equal(plain.tissue_edit().flat_index, ahead.tissue_edit().flat_index)
    assert plain.distribution_ml() == ahead.distribution_ml()


def test_swirl_at_on_drawn_paths_is_the_swirl():
    centre = np.random.default_rng(0).normal(size=(37, 3))
    pos, amp = swirl(centre, np.random.default_rng(9), 0.7, 0.3)
    paths = swirl_paths(np.random.default_rng(9), 37)
    again = swirl_at(centre, paths, 0.7, 0.3)
    assert np.array_equal(pos, again[0]) and np.array_equal(amp, again[1])


def test_tissue_edit_is_a_new_object_only_on_change(layered_volume):
    inj = Injection(layered_volume)
    e0 = inj.tissue_edit()
    assert inj.tissue_edit() is e0 and e0.n_voxels == 0
    inj.inject(mm((80, 80, 10)), 0.01, 0.0)
    e1 = inj.tissue_edit()
    assert e1 is not e0 and inj.tissue_edit() is e1
    assert e1.n_voxels == round(0.01 / inj.voxel_ml)
    assert np.all(np.diff(e1.flat_index) > 0)


def test_microbubbles_swirl_in_the_collection_then_fade(layered_volume):
    inj = Injection(layered_volume, seed=3)
    for i in range(5):
        inj.inject(mm((80, 80, 10)), 0.02, 0.1 * i)
    t_last = 0.4
    pos, amp = inj.bubbles(t_last)
    assert 0 < pos.shape[0] <= MAX_BUBBLES and amp.shape == (pos.shape[0],)
    flat = np.ravel_multi_index(tuple(np.rint(pos / SPACING_MM).astype(int).T), inj.volume.shape)
    assert np.all(np.isin(flat, inj.tissue_edit().flat_index))  # inside the collection
    again = inj.bubbles(t_last)
    assert np.array_equal(pos, again[0]) and np.array_equal(amp, again[1])
    later = inj.bubbles(t_last + 0.2)
    assert not np.array_equal(pos, later[0])  # they swirl
    assert later[1].max() < amp.max()
    assert inj.bubbles(t_last + BUBBLE_END_S + 0.1)[0].shape == (0, 3)


def test_demo_effusion_fills_first(scene_cache):
    from scenes import load_scene

    scene = load_scene(PROJECT_ROOT / "scenes" / "demo_msk.toml")
    volume = with_injectate_label(scene.volume)
    inj = Injection(volume, harms={s.name: s.harm for s in scene.spec.structures})
    assert inj.aspirate(np.array([-6.0, 0.0, 21.0])).fluid
    for i in range(10):
        r = inj.inject(np.array([-6.0, 0.0, 21.0]), 0.1, 0.1 * i)
        assert r.outcome == "spread" and r.site_structure in ("effusion", "injectate")
    dist = inj.distribution_ml()
    assert dist["effusion"] > 0.95
    assert sum(dist.values()) == pytest.approx(1.0, abs=inj.voxel_ml)
    lumen = volume.structure_index("artery_lumen")
    centre = np.argwhere(volume.labels == lumen).mean(axis=0) * volume.spacing_mm
    assert inj.aspirate(volume.origin_mm + centre).kind == "artery"
