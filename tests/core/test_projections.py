"""Plot projections against direct computation: PCA, discriminant directions, ellipses."""

import numpy as np
import pandas as pd
import pytest
from scipy import linalg

from gmm_studio.core import FitConfig, fit
from gmm_studio.core.model.geometry import data_space, project
from gmm_studio.core.model.projections import discriminant, feature_pair, pca

from .helpers import ASSETS, blobs


def _wine():
    frame = pd.read_csv(ASSETS / "wine.csv")
    names = [c for c in frame.columns if c != "cultivar"]
    return frame[names].to_numpy(float), names


def _same_up_to_sign(a, b):
    """Columns of a equal those of b, each up to its sign."""
    signs = np.sign(np.sum(a * b, axis=0))
    return np.allclose(a, b * signs, rtol=1e-9, atol=1e-12)


def test_pca_is_the_svd_of_the_standardised_columns():
    X, names = _wine()
    view = pca(X, names)
    z = (X - X.mean(axis=0)) / X.std(axis=0)
    _, s, vt = np.linalg.svd(z, full_matrices=False)
    scores = view.points(X)
    np.testing.assert_allclose(np.abs(scores), np.abs(z @ vt[:2].T), atol=1e-10)
    np.testing.assert_allclose(scores.var(axis=0), s[:2] ** 2 / len(X), rtol=1e-10)
    share = s[0] ** 2 / np.sum(s**2)
    assert view.labels[0].startswith(f"PC1 ({100 * share:.0f}%): ")
    assert "flavanoids" in view.labels[0]


def test_weighted_pca_equals_pca_of_repeated_rows():
    X = blobs(seed=2, n=30, d=4)
    counts = np.random.default_rng(0).integers(1, 4, size=len(X))
    names = list("abcd")
    weighted = pca(X, names, counts.astype(float))
    repeated = pca(np.repeat(X, counts, axis=0), names)
    np.testing.assert_allclose(weighted.points(X), repeated.points(X), atol=1e-9)


def test_discriminant_directions_solve_the_generalised_eigenproblem():
    X, names = _wine()
    model = fit(X, FitConfig(n_components=3, covariance_type="diag", n_init=3,
                             random_state=0)).model
    means, covs = np.array(model.means), np.array([np.diag(c) for c in model.covariances])
    pi = model.weights
    centre = sum(pi[k] * means[k] for k in range(3))
    between = sum(pi[k] * np.outer(means[k] - centre, means[k] - centre) for k in range(3))
    within = sum(pi[k] * covs[k] for k in range(3))
    values, vectors = linalg.eigh(between, within)
    view = discriminant(model, means, covs, names, scale=X.std(axis=0))
    a = view.matrix
    assert _same_up_to_sign(a, vectors[:, [-1, -2]])
    np.testing.assert_allclose(a.T @ within @ a, np.eye(2), atol=1e-9)
    np.testing.assert_allclose(np.diag(a.T @ between @ a), values[[-1, -2]], rtol=1e-9)
    # The projected component centres are separated by more than on PCA.
    spread = lambda v: np.ptp(v.gaussians(means, covs)[0], axis=0).sum()  # noqa: E731
    within_pca = pca(X, names)
    ratio_pca = spread(within_pca) / np.sqrt(np.trace(within_pca.matrix.T @ within
                                                      @ within_pca.matrix))
    assert spread(view) / np.sqrt(2) > ratio_pca


@pytest.mark.parametrize("covariance_type", ["full", "diag", "VEV"])
def test_projected_ellipses_are_the_projected_covariances(covariance_type):
    X = blobs(seed=5, n=200, d=4)
    model = fit(X, FitConfig(n_components=3, covariance_type=covariance_type)).model
    means, covs = data_space(model, _identity())
    view = pca(X, list("abcd"))
    m2, c2 = view.gaussians(means, covs)
    for k in range(3):
        a = view.matrix
        np.testing.assert_allclose(c2[k], a.T @ covs[k] @ a, rtol=1e-12)
        np.testing.assert_allclose(m2[k], means[k] @ a + view.offset, rtol=1e-12)
    samples, labels = model.sample(200_000, rng=1)
    for k in range(3):
        projected = view.points(samples[labels == k])
        np.testing.assert_allclose(np.cov(projected.T), c2[k], rtol=0.03, atol=0.03)


def test_a_feature_pair_is_the_plain_marginal():
    X = blobs(seed=1, n=50, d=3)
    model = fit(X, FitConfig(n_components=2)).model
    means, covs = data_space(model, _identity())
    view = feature_pair(list("abc"), 2, 0)
    m2, c2 = view.gaussians(means, covs)
    m_ref, c_ref = project(means, covs, (2, 0))
    np.testing.assert_allclose(m2, m_ref, rtol=1e-15)
    np.testing.assert_allclose(c2, c_ref, rtol=1e-15)
    np.testing.assert_allclose(view.points(X), X[:, [2, 0]])


def _identity():
    from gmm_studio.core.data.preprocessing import Preprocessing

    return Preprocessing()
