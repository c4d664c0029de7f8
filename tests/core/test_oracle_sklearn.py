"""The engine against scikit-learn and SciPy, from identical starting parameters."""

import warnings

import numpy as np
import pytest
from scipy.stats import multivariate_normal
from sklearn.cluster import KMeans
from sklearn.mixture import GaussianMixture

from gmm_studio.core import FitConfig, MixtureModel, fit
from gmm_studio.core.model.gaussian import full_covariances

from .helpers import blobs, faithful, precisions, start_model

COV_TYPES = ["full", "tied", "diag", "spherical"]


def sklearn_fit(X, model, covariance_type, n_iter):
    gm = GaussianMixture(
        model.n_components, covariance_type=covariance_type, weights_init=model.weights,
        means_init=model.means, precisions_init=precisions(model), reg_covar=0.0,
        max_iter=n_iter, tol=0.0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # ConvergenceWarning: we ask for exactly n_iter
        gm.fit(X)
    return gm


@pytest.mark.parametrize("covariance_type", COV_TYPES)
@pytest.mark.parametrize("dataset", ["blobs", "faithful", "blobs8", "blobs12"])
def test_twenty_em_iterations_match_sklearn(covariance_type, dataset):
    # blobs12 with K=2 takes the projection kernel for full covariances.
    X = {"blobs": blobs(), "faithful": faithful(), "blobs8": blobs(seed=3, d=8, k=4),
         "blobs12": blobs(seed=4, d=12, k=2)}[dataset]
    k = {"blobs8": 4, "blobs12": 2}.get(dataset, 3)
    start = start_model(X, covariance_type, k=k)
    gm = sklearn_fit(X, start, covariance_type, 20)
    config = FitConfig(n_components=k, covariance_type=covariance_type, max_iter=20, tol=0.0,
                       variance_floor=0.0)
    result = fit(X, config, initial_model=start)
    assert result.n_iter == 20
    np.testing.assert_allclose(result.model.weights, gm.weights_, rtol=1e-8)
    np.testing.assert_allclose(result.model.means, gm.means_, rtol=1e-8)
    np.testing.assert_allclose(result.model.covariances, gm.covariances_, rtol=1e-8)
    np.testing.assert_allclose(result.log_likelihood, gm.score(X) * len(X), rtol=1e-8)
    np.testing.assert_array_equal(result.labels, gm.predict(X))


@pytest.mark.parametrize("covariance_type", COV_TYPES)
def test_scoring_matches_sklearn_and_criteria(covariance_type):
    X = blobs(seed=5)
    gm = sklearn_fit(X, start_model(X, covariance_type), covariance_type, 5)
    model = MixtureModel(gm.weights_, gm.means_, gm.covariances_, covariance_type)
    np.testing.assert_allclose(model.score_samples(X), gm.score_samples(X), rtol=1e-10)
    np.testing.assert_allclose(model.predict_proba(X), gm.predict_proba(X), atol=1e-10)
    np.testing.assert_allclose(model.bic(X), gm.bic(X), rtol=1e-10)
    np.testing.assert_allclose(model.aic(X), gm.aic(X), rtol=1e-10)
    assert model.n_parameters == gm._n_parameters()


@pytest.mark.parametrize("covariance_type", COV_TYPES)
@pytest.mark.parametrize("weighted", [False, True])
def test_a_pass_sums_the_entropy_of_scipys_responsibilities(covariance_type, weighted):
    # The entropy a model sweep's ICL takes from its last E-step, against
    # -sum_n w_n sum_k r_nk log r_nk of the returned model, r from SciPy's densities.
    import dataclasses

    from gmm_studio.core.engine.fitting import fit_prepared
    from gmm_studio.core.engine.prepared import prepare

    X = blobs(seed=5, d=3, k=4)
    weights = np.random.default_rng(2).uniform(0.2, 3.0, len(X)) if weighted else None
    config = FitConfig(n_components=4, covariance_type=covariance_type, max_iter=3, tol=0.0,
                       variance_floor=0.0)
    start = start_model(X, covariance_type, k=4)
    data = dataclasses.replace(prepare(X, weights), with_entropy=True)
    result = fit_prepared(data, config, start, with_labels=False)
    model = result.model
    covs = full_covariances(model.covariances, covariance_type, 4, 3)
    joint = np.column_stack([w * multivariate_normal(m, c).pdf(X)
                             for w, m, c in zip(model.weights, model.means, covs, strict=True)])
    resp = joint / joint.sum(axis=1, keepdims=True)
    with np.errstate(divide="ignore", invalid="ignore"):
        per_row = -np.where(resp > 0, resp * np.log(resp), 0.0).sum(axis=1)
    want = per_row.sum() if weights is None else weights @ per_row
    assert result.entropy == pytest.approx(want, rel=1e-8)
    assert fit_prepared(prepare(X, weights), config, start).entropy is None


@pytest.mark.parametrize("covariance_type", COV_TYPES)
def test_densities_match_scipy(covariance_type):
    X = blobs(seed=7, d=2)
    model = fit(X, FitConfig(covariance_type=covariance_type)).model
    covs = full_covariances(model.covariances, covariance_type, 3, 2)
    parts = zip(model.weights, model.means, covs, strict=True)
    expected = np.log(sum(w * multivariate_normal(m, c).pdf(X) for w, m, c in parts))
    np.testing.assert_allclose(model.score_samples(X), expected, rtol=1e-10)


def test_kmeans_matches_sklearn_lloyd_from_same_centres():
    X = blobs(seed=11, d=2, k=4)
    start = start_model(X, "spherical", k=4)
    km = KMeans(4, init=start.means, n_init=1, max_iter=300, tol=0.0, algorithm="lloyd").fit(X)
    result = fit(X, FitConfig(algorithm="kmeans", n_components=4, max_iter=300),
                 initial_model=MixtureModel(start.weights, start.means, start.covariances,
                                            "spherical"))
    assert result.converged
    np.testing.assert_allclose(result.model.means, km.cluster_centers_, rtol=1e-10)
    np.testing.assert_array_equal(result.labels, km.labels_)
    # The implicit mixture: equal weights and one shared variance SSE / (N D).
    np.testing.assert_allclose(result.model.weights, 0.25)
    np.testing.assert_allclose(result.model.covariances, km.inertia_ / X.size, rtol=1e-10)
