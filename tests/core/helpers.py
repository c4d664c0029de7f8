"""Shared data and model builders for the core tests."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from gmm_studio.core import MixtureModel

ASSETS = Path(__file__).resolve().parents[2] / "assets"


def blobs(seed: int = 0, n: int = 300, d: int = 3, k: int = 3) -> np.ndarray:
    """k sheared Gaussian blobs, n rows each: (k*n, d)."""
    rng = np.random.default_rng(seed)
    parts = [rng.normal(size=(n, d)) @ rng.normal(size=(d, d)) + rng.normal(scale=4, size=d)
             for _ in range(k)]
    return np.vstack(parts)


def faithful() -> np.ndarray:
    """Old Faithful (272, 2)."""
    return pd.read_csv(ASSETS / "old_faithful.csv").to_numpy(float)


def start_model(X: np.ndarray, covariance_type: str, k: int = 3, seed: int = 1) -> MixtureModel:
    """A deterministic, valid, deliberately poor starting model."""
    rng = np.random.default_rng(seed)
    d = X.shape[1]
    means = X[rng.choice(len(X), k, replace=False)]
    weights = np.linspace(1, 2, k) / np.linspace(1, 2, k).sum()
    cov = np.cov(X.T).reshape(d, d)
    var = X.var(axis=0)
    covariances = {
        "full": np.stack([cov] * k),
        "tied": cov,
        "diag": np.stack([var] * k),
        "spherical": np.full(k, var.mean()),
    }[covariance_type]
    return MixtureModel(weights, means, covariances, covariance_type)


def precisions(model: MixtureModel) -> np.ndarray:
    """Precisions in scikit-learn's layout for ``precisions_init``."""
    if model.covariance_type in ("full", "tied"):
        return np.linalg.inv(model.covariances)
    return 1.0 / model.covariances


def whitened_smallest(covariances, X):
    """Each full covariance's smallest eigenvalue in X's whitened coordinates: (K,).

    Computed directly (Cholesky of X's covariance), independently of the
    engine's floor code: the floor must hold this above its value.
    """
    chol = np.linalg.cholesky(np.cov(X.T, bias=True))
    inv = np.linalg.inv(chol)
    return np.array([np.linalg.eigvalsh(inv @ c @ inv.T).min() for c in covariances])


def iris() -> np.ndarray:
    """The four numeric columns of the bundled Iris data: (150, 4)."""
    return pd.read_csv(ASSETS / "iris.csv").select_dtypes("number").to_numpy()
