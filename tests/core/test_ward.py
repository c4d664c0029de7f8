"""Our Ward hierarchy against SciPy's ``linkage(z, "ward")`` (a test-only oracle here)."""

from pathlib import Path

import numpy as np
import pytest
from scipy.cluster.hierarchy import fcluster, linkage

from gmm_studio.core.analysis.metrics import adjusted_rand_index
from gmm_studio.core.engine.ward import cut_tree, ward_merges

ASSETS = Path(__file__).resolve().parents[2] / "assets"


def _standardised(z):
    return (z - z.mean(axis=0)) / z.std(axis=0)


def _cases():
    rng = np.random.default_rng(3)
    yield "gaussian 400 x 3", rng.normal(size=(400, 3))
    yield "blobs 300 x 2", np.vstack([rng.normal(c, 0.3, size=(100, 2)) for c in (0, 3, 6)])
    faithful = np.loadtxt(ASSETS / "old_faithful.csv", delimiter=",", skiprows=1)
    yield "old faithful", faithful  # whole-minute waiting: many tied distances


@pytest.mark.parametrize(("name", "z"), list(_cases()), ids=lambda v: v if isinstance(v, str)
                         else "")
def test_heights_and_every_cut_equal_scipys(name, z):
    z = _standardised(z)
    merges, heights = ward_merges(z)
    tree = linkage(z, method="ward")
    # Heights of tied duplicate rows are sqrt(rounding), ~1e-8; the rest agree to 1e-12.
    np.testing.assert_allclose(heights, np.sort(tree[:, 2]), rtol=1e-12, atol=1e-7)
    for k in range(1, 13):
        ours = cut_tree(merges, len(z), k)
        assert len(np.unique(ours)) == k
        assert adjusted_rand_index(ours, fcluster(tree, k, criterion="maxclust")) == 1.0, k


def test_clusters_are_numbered_by_their_first_row_and_tiny_inputs_work():
    z = np.array([[0.0], [10.0], [0.1], [10.1], [20.0]])
    merges, _ = ward_merges(z)
    assert list(cut_tree(merges, 5, 3)) == [0, 1, 0, 1, 2]
    assert list(cut_tree(merges, 5, 5)) == [0, 1, 2, 3, 4]
    assert ward_merges(z[:1])[0].shape == (0, 2)
    assert list(cut_tree(ward_merges(z[:2])[0], 2, 1)) == [0, 0]
