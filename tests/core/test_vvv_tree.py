"""The unconstrained (VVV) agglomeration against a from-scratch greedy reference."""

import warnings
from pathlib import Path

import numpy as np
import pytest

from gmm_studio.core.engine.vvv_tree import PRIOR_ROWS, scaled_svd_rows, vvv_merges
from gmm_studio.core.engine.ward import cut_tree

ASSETS = Path(__file__).resolve().parents[2] / "assets"


def _criterion(rows: np.ndarray, psi: float) -> float:
    """n log |(W + ψ I) / (n + ν)| of one cluster's rows (n, D), from its rows alone."""
    centred = rows - rows.mean(axis=0)
    scatter = centred.T @ centred + psi * np.eye(rows.shape[1])
    return len(rows) * np.linalg.slogdet(scatter / (len(rows) + PRIOR_ROWS))[1]


def _reference_merges(z: np.ndarray) -> np.ndarray:
    """Greedy merges recomputing every pair's cost from the member rows at every step."""
    psi = float(np.mean(z.var(axis=0)))
    clusters = {i: [i] for i in range(len(z))}
    merges = []
    while len(clusters) > 1:
        names = sorted(clusters)
        best = None
        for i, a in enumerate(names):
            for b in names[i + 1:]:
                cost = (_criterion(z[clusters[a] + clusters[b]], psi)
                        - _criterion(z[clusters[a]], psi) - _criterion(z[clusters[b]], psi))
                if best is None or cost < best[0]:
                    best = (cost, a, b)
        _, a, b = best
        merges.append((a, b))
        clusters[a] += clusters.pop(b)
    return np.array(merges)


# closed-form determinants (1 and 2 columns), batched Cholesky, and the rank-one shortcut
@pytest.mark.parametrize("d", [1, 2, 3, 12])
def test_merges_equal_the_from_scratch_greedy_reference(d):
    rng = np.random.default_rng(d)
    z = np.vstack([rng.normal(0, 1, (14, d)), rng.normal(3, 0.5, (12, d)) @ rng.normal(size=(d, d)),
                   rng.normal(-2, 2, (10, d))])
    np.testing.assert_array_equal(vvv_merges(z), _reference_merges(z))


def test_tilted_thin_clusters_are_kept_apart_where_ward_merges_across_them():
    from gmm_studio.core.analysis.metrics import adjusted_rand_index
    from gmm_studio.core.engine.ward import ward_merges

    rng = np.random.default_rng(1)
    t = rng.uniform(-4, 4, (2, 150))
    # Two long parallel needles, closer across than along.
    z = np.vstack([np.c_[t[0], 0.05 * rng.normal(size=150)],
                   np.c_[t[1], 0.8 + 0.05 * rng.normal(size=150)]]) @ [[1, 1], [-1, 1]]
    truth = np.repeat([0, 1], 150)
    zs = (z - z.mean(0)) / z.std(0)
    ours = cut_tree(vvv_merges(scaled_svd_rows(zs)), 300, 2)
    ward = cut_tree(ward_merges(zs)[0], 300, 2)
    assert adjusted_rand_index(ours, truth) == pytest.approx(1.0)
    assert adjusted_rand_index(ward, truth) < 0.5


def test_duplicate_rows_a_constant_column_and_tiny_inputs():
    z = np.array([[0.0, 1.0], [0.0, 1.0], [0.0, 1.0], [0.0, 5.0], [0.0, 5.2]])
    merges = vvv_merges(scaled_svd_rows(z))
    assert merges.shape == (4, 2)
    assert list(cut_tree(merges, 5, 2)) == [0, 0, 0, 1, 1]
    assert vvv_merges(np.zeros((1, 3))).shape == (0, 2)
    with warnings.catch_warnings():
        warnings.simplefilter("error")               # no log of 0 for identical rows
        for d in (1, 2, 3):
            assert list(cut_tree(vvv_merges(np.zeros((6, d))), 6, 2)) == [0, 0, 0, 0, 0, 1]
    assert list(cut_tree(vvv_merges(np.eye(2)), 2, 1)) == [0, 0]


def test_where_the_tree_peels_off_single_rows_the_start_is_wards():
    from gmm_studio.core.data.samples import correlated_features
    from gmm_studio.core.engine import starts
    from gmm_studio.core.engine.prepared import prepare

    X = correlated_features()
    data = prepare(X)
    z = (X - data.centre) / data.scale
    assert np.bincount(starts._cut(z, 2, "vvv")).min() == 1      # one row split off
    labels = starts.hierarchical_labels(data, 2, np.random.default_rng(0))
    np.testing.assert_array_equal(labels, starts._cut(z, 2, "ward"))
    assert np.bincount(labels).min() > 100


def test_the_second_hierarchical_restart_starts_from_wards_tree_unless_the_first_did():
    from gmm_studio.core.data.samples import correlated_features
    from gmm_studio.core.engine import starts
    from gmm_studio.core.engine.prepared import prepare

    X = np.loadtxt(ASSETS / "old_faithful.csv", delimiter=",", skiprows=1)
    data = prepare(X)
    rng = np.random.default_rng(0)
    first = starts.initial_labels(data, "hierarchical", 4, rng, data.scale, restart=0)
    second = starts.initial_labels(data, "hierarchical", 4, rng, data.scale, restart=1)
    ward = starts.hierarchical_labels(data, 4, rng, "ward")
    assert not np.array_equal(first, ward)                  # the trees differ here
    np.testing.assert_array_equal(second, ward)
    # Where the model-based cut fell back to Ward's, the second restart is k-means++'s.
    data = prepare(correlated_features())
    first = starts.initial_labels(data, "hierarchical", 2, rng, data.scale, restart=0)
    second = starts.initial_labels(data, "hierarchical", 2, rng, data.scale, restart=1)
    np.testing.assert_array_equal(first, starts.hierarchical_labels(data, 2, rng, "ward"))
    assert not np.array_equal(second, first)


def _union_find_cut(merges: np.ndarray, n: int, k: int) -> np.ndarray:
    """Labels after the first n - k merges, by a plain union-find."""
    parent = list(range(n))

    def root(i):
        while parent[i] != i:
            i = parent[i]
        return i
    for low, high in merges[: n - k]:
        a, b = root(int(low)), root(int(high))
        parent[max(a, b)] = min(a, b)
    return np.unique([root(i) for i in range(n)], return_inverse=True)[1]


def test_every_cut_of_the_tree_equals_a_union_find_over_its_merges():
    rng = np.random.default_rng(5)
    z = np.vstack([rng.normal(c, 0.4, size=(60, 3)) for c in (0.0, 2.0, 5.0)])
    merges = vvv_merges(scaled_svd_rows(z))
    for k in (1, 2, 3, 7, 50, 180):
        np.testing.assert_array_equal(cut_tree(merges, len(z), k),
                                      _union_find_cut(merges, len(z), k))
