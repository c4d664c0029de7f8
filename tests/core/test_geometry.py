"""Ellipses and projections the window draws, checked by independent means."""

import numpy as np
from scipy.stats import chi2, multivariate_normal

from gmm_studio.core import MixtureModel
from gmm_studio.core.data.preprocessing import Preprocessing
from gmm_studio.core.model.geometry import data_space, density_curves, ellipse, project


def test_ellipse_points_have_the_right_mahalanobis_radius():
    cov = np.array([[4.0, 1.2], [1.2, 1.0]])
    pts = ellipse(np.array([1.0, -2.0]), cov, 2.0)
    diff = pts - [1.0, -2.0]
    maha = np.einsum("ni,ij,nj->n", diff, np.linalg.inv(cov), diff)
    np.testing.assert_allclose(maha, 4.0, rtol=1e-10)


def test_marginal_projection_matches_sampling():
    rng = np.random.default_rng(0)
    a = rng.normal(size=(4, 4))
    cov = a @ a.T + np.eye(4)
    mean = rng.normal(size=4)
    model = MixtureModel([1.0], [mean], [cov], "full")
    m2, c2 = project(*data_space(model, Preprocessing()), (3, 1))
    draws = rng.multivariate_normal(mean, cov, size=200_000)[:, [3, 1]]
    np.testing.assert_allclose(m2[0], draws.mean(axis=0), atol=0.02)
    np.testing.assert_allclose(c2[0], np.cov(draws.T), rtol=0.02)
    # The 2-sigma ellipse of the marginal holds chi2(2).cdf(4) of the mass.
    inside = np.einsum("ni,ij,nj->n", draws - m2[0], np.linalg.inv(c2[0]), draws - m2[0]) <= 4
    np.testing.assert_allclose(inside.mean(), chi2(2).cdf(4.0), atol=0.005)


def test_standardised_model_is_drawn_in_data_units():
    prep = Preprocessing(np.array([10.0, -5.0]), np.array([2.0, 0.5]))
    model = MixtureModel([0.5, 0.5], [[0.0, 0.0], [1.0, 1.0]], [1.0, 0.25], "spherical")
    means, covs = data_space(model, prep)
    np.testing.assert_allclose(means, [[10.0, -5.0], [12.0, -4.5]])
    np.testing.assert_allclose(covs[1], np.diag([1.0, 0.0625]))
    grid = np.linspace(0, 20, 7)
    parts, total = density_curves(model, prep, 0, grid)
    expected = 0.5 * multivariate_normal(10.0, 4.0).pdf(grid) + 0.5 * multivariate_normal(
        12.0, 1.0).pdf(grid)
    np.testing.assert_allclose(total, expected, rtol=1e-12)
