"""apply_edit: painted labels and interface normals updated only around the edit."""

from __future__ import annotations

import numpy as np
import pytest

from simulator.tissue_edit import (
    TissueEdit,
    apply_edit,
    injectate_label,
    with_injectate_label,
)
from simulator.tissues import get_tissue
from simulator.volume import AcousticVolume, StructureAcoustics, interface_normals


def _structures(*tissues: str) -> tuple[StructureAcoustics, ...]:
    return tuple(StructureAcoustics(t, get_tissue(t), np.array([1.0, 0.0, 0.0])) for t in tissues)


def _impedance(volume: AcousticVolume) -> np.ndarray:
    return np.array([s.tissue.impedance_mrayl for s in volume.structures])


@pytest.fixture(scope="module")
def layered() -> AcousticVolume:
    """Muscle with a fat layer on top and a tilted bone plate, 60 x 44 x 52 voxels."""
    shape = (60, 44, 52)
    labels = np.zeros(shape, np.uint8)
    ix, _, iz = np.indices(shape)
    labels[iz < 8] = 1  # fat
    labels[iz > 38 + ix // 6] = 2  # bone, tilted
    structs = _structures("muscle", "fat", "bone")
    index, normal = interface_normals(labels, np.array([s.tissue.impedance_mrayl for s in structs]))
    vol = AcousticVolume(labels, np.zeros(3), 0.25, structs, index, normal)
    return with_injectate_label(vol)


def _ball(volume: AcousticVolume, centre: tuple[int, int, int], radius: float) -> TissueEdit:
    g = np.indices(volume.shape).reshape(3, -1)
    d2 = ((g - np.array(centre)[:, None]) ** 2).sum(axis=0)
    flat = np.flatnonzero(d2 <= radius**2).astype(np.int64)
    return TissueEdit(flat, np.full(flat.size, injectate_label(volume), np.uint8))


@pytest.mark.parametrize(
    "centre",
    [(30, 22, 20), (3, 40, 35), (58, 2, 50)],  # middle; near faces and corners (box clipped)
)
def test_edit_matches_a_full_recomputation(layered, centre):
    edit = _ball(layered, centre, 5.5)
    edited = apply_edit(layered, edit)
    expected = layered.labels.copy()
    expected.reshape(-1)[edit.flat_index] = edit.new_label
    assert np.array_equal(edited.labels, expected)
    index, normal = interface_normals(expected, _impedance(layered))
    assert np.all(np.diff(edited.boundary_index) > 0)
    assert np.array_equal(edited.boundary_index, index)
    assert np.array_equal(edited.boundary_normal, normal)
    # the edit did change the interfaces (an injectate sphere has a surface)
    assert edited.boundary_index.size != layered.boundary_index.size or not np.array_equal(
        edited.boundary_index, layered.boundary_index
    )


def test_original_volume_is_untouched_and_empty_edit_is_free(layered):
    before = layered.labels.copy()
    edited = apply_edit(layered, _ball(layered, (30, 22, 20), 4.0))
    assert np.array_equal(layered.labels, before)
    assert edited.structures == layered.structures
    assert int((edited.labels == injectate_label(layered)).sum()) > 200
    assert apply_edit(layered, TissueEdit()) is layered


def test_bad_edits_are_refused_with_the_field_named(layered):
    n = int(np.prod(layered.shape))
    with pytest.raises(ValueError, match=r"flat_index spans .* expected indices in 0\.\."):
        apply_edit(layered, TissueEdit(np.array([0, n], np.int64), np.zeros(2, np.uint8)))
    with pytest.raises(ValueError, match="new_label reaches 9"):
        apply_edit(layered, TissueEdit(np.array([5], np.int64), np.array([9], np.uint8)))
