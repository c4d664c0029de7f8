"""The Lloyd pass on data of many blocks: against scikit-learn and SciPy."""

import numpy as np
import pytest
from scipy.special import logsumexp
from scipy.stats import multivariate_normal
from sklearn.cluster import KMeans

from gmm_studio.core import FitConfig, MixtureModel, fit, iterate
from gmm_studio.core.engine.lloyd import LloydRows, _assign, kmeans_pass
from gmm_studio.core.engine.passes import best_rows
from gmm_studio.core.engine.prepared import prepare


def one_blob(n=120_000, d=3, seed=0):
    """Rows Lloyd needs dozens of iterations on, over several blocks."""
    return np.random.default_rng(seed).normal(size=(n, d)) * [1.0, 2.0, 0.5][:d] + 50.0


def kmeans_start(X, k, seed=1):
    means = X[np.random.default_rng(seed).choice(len(X), k, replace=False)]
    return MixtureModel(np.full(k, 1.0 / k), means, np.ones(k), "spherical")


def test_long_run_matches_sklearn_lloyd():
    # Long enough for rows to be moved between clusters incrementally and for
    # the periodic full recount (every 64 passes). Our snapshot 0 already holds
    # the centroids of the first assignment, so n iterations are sklearn's n + 1.
    X = one_blob()
    start = kmeans_start(X, 8)
    result = fit(X, FitConfig(algorithm="kmeans", n_components=8, max_iter=100),
                 initial_model=start)
    km = KMeans(8, init=start.means, n_init=1, max_iter=101, tol=0.0, algorithm="lloyd").fit(X)
    assert result.n_iter + 1 == km.n_iter_ == 101
    np.testing.assert_allclose(result.model.means, km.cluster_centers_, rtol=1e-12)
    np.testing.assert_array_equal(result.labels, km.labels_)


def mixture_log_likelihood(X, model, weights=None):
    """log-likelihood of a spherical mixture by SciPy, row by row."""
    logs = [np.log(w) + multivariate_normal(m, v * np.eye(X.shape[1])).logpdf(X)
            for w, m, v in zip(model.weights, model.means, model.covariances, strict=True)]
    per_row = logsumexp(np.array(logs), axis=0)
    return per_row.sum() if weights is None else weights @ per_row


@pytest.mark.parametrize("weighted", [False, True])
def test_every_snapshot_reports_its_models_log_likelihood(weighted):
    X = one_blob(n=60_000)
    w = np.random.default_rng(3).uniform(0.5, 2.0, len(X)) if weighted else None
    snaps = list(iterate(X, FitConfig(algorithm="kmeans", n_components=5, max_iter=25),
                         sample_weight=w, initial_model=kmeans_start(X, 5)))
    for snap in snaps[::6] + snaps[-1:]:
        expected = mixture_log_likelihood(X, snap.model, w)
        assert snap.log_likelihood == pytest.approx(expected, rel=1e-11)


def test_far_rows_do_not_break_the_log_likelihood():
    # Rows thousands of variances from every centre: log-sum-exp terms below
    # exp's range must not produce -inf or NaN.
    X = np.vstack([one_blob(n=40_000, d=2), [[1e4, -1e4]]])
    snaps = list(iterate(X, FitConfig(algorithm="kmeans", n_components=3, max_iter=5),
                         initial_model=kmeans_start(X[:-1], 3)))
    expected = mixture_log_likelihood(X, snaps[-1].model)
    assert snaps[-1].log_likelihood == pytest.approx(expected, rel=1e-11)


def test_exact_ties_go_to_the_lowest_index():
    scores = np.array([[1.0, 5.0, 2.0, 7.0], [3.0, 5.0, 2.0, 1.0], [3.0, 0.0, 2.0, 7.0]])
    marks = np.empty(scores.shape, dtype=bool)
    labels, top = _assign(scores, marks)
    np.testing.assert_array_equal(labels, [1, 0, 0, 0])
    np.testing.assert_array_equal(top, [3.0, 5.0, 2.0, 7.0])
    np.testing.assert_array_equal(marks, np.eye(3, dtype=bool)[labels].T)
    np.testing.assert_array_equal(best_rows(scores, largest=True)[0], [1, 0, 0, 0])
    np.testing.assert_array_equal(best_rows(-scores)[0], [1, 0, 0, 0])


def test_streamed_blocks_match_the_cache():
    X = one_blob(n=70_000)
    data = prepare(X)
    centres = X[:4] - data.centre
    a = kmeans_pass(LloydRows(data), centres, variance=2.0)
    b = kmeans_pass(LloydRows(data, cache=False), centres, variance=2.0)
    np.testing.assert_array_equal(a.acc, b.acc)
    assert a.log_likelihood == b.log_likelihood


def test_no_memory_for_the_cache_means_slower_passes_not_a_failure(monkeypatch):
    import gmm_studio.core.engine.lloyd as lloyd

    class NoRoomNumpy:
        def __getattr__(self, name):
            return getattr(np, name)

        def empty(self, *args, **kwargs):
            raise MemoryError

    X = one_blob(n=40_000)
    data = prepare(X)
    centres = X[:4] - data.centre
    expected = kmeans_pass(LloydRows(data), centres, variance=2.0)
    monkeypatch.setattr(lloyd, "np", NoRoomNumpy())
    rows = LloydRows(data)
    assert rows.full is None
    np.testing.assert_array_equal(kmeans_pass(rows, centres, variance=2.0).acc, expected.acc)
