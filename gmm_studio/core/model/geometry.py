"""What the window draws, computed without Qt: ellipses, projections, curves."""

from __future__ import annotations

import numpy as np

from ..data.preprocessing import Preprocessing
from .gaussian import full_covariances
from .mixture import MixtureModel


def data_space(model: MixtureModel, prep: Preprocessing) -> tuple[np.ndarray, np.ndarray]:
    """Means (K, D) and full covariances (K, D, D) in the data file's units."""
    covs = full_covariances(model.covariances, model.covariance_type, model.n_components,
                            model.n_features)
    if not prep.standardize:
        return np.array(model.means), covs
    means = model.means * prep.scale + prep.centre
    return means, covs * np.outer(prep.scale, prep.scale)


def project(means: np.ndarray, covs: np.ndarray, dims: tuple[int, int]):
    """Exact marginal of each component on the features ``dims``: (K, 2), (K, 2, 2).

    The marginal of a Gaussian on a subset of coordinates keeps those entries
    of the mean and the covariance unchanged.
    """
    idx = np.asarray(dims)
    return means[:, idx], covs[:, idx[:, None], idx[None, :]]


def ellipse(mean: np.ndarray, cov: np.ndarray, n_sigma: float, n_points: int = 96) -> np.ndarray:
    """Points (n_points, 2) on the n-sigma contour of a 2-D Gaussian (closed)."""
    t = np.linspace(0.0, 2.0 * np.pi, n_points)
    circle = np.stack([np.cos(t), np.sin(t)])
    vals, vecs = np.linalg.eigh(cov)
    radii = np.sqrt(np.maximum(vals, 0.0))
    return mean + (n_sigma * vecs @ (radii[:, None] * circle)).T


def ellipse_paths(mean: np.ndarray, cov: np.ndarray, sigmas=(1.0, 2.0, 3.0),
                  n_points: int = 96) -> np.ndarray:
    """Several contours in one (M, 2) array separated by NaN rows (one plot item)."""
    parts = []
    for s in sigmas:
        parts.append(ellipse(mean, cov, s, n_points))
        parts.append(np.full((1, 2), np.nan))
    return np.vstack(parts[:-1])


def density_curves(model: MixtureModel, prep: Preprocessing, dim: int, grid: np.ndarray):
    """1-D marginal densities on ``grid`` (G,): per component weighted (K, G) and total (G,)."""
    from scipy.stats import norm  # lazily: scipy takes 0.2 s to import

    means, covs = data_space(model, prep)
    sd = np.sqrt(covs[:, dim, dim])
    parts = model.weights[:, None] * norm.pdf(grid[None, :], means[:, dim, None], sd[:, None])
    return parts, parts.sum(axis=0)


def subsample_rows(n_rows: int, limit: int, seed: int = 0) -> np.ndarray:
    """At most ``limit`` sorted row indices, a seeded uniform sample (all if fewer)."""
    if n_rows <= limit:
        return np.arange(n_rows)
    return np.sort(np.random.default_rng(seed).choice(n_rows, size=limit, replace=False))
