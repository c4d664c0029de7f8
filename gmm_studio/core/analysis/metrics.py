"""Clustering criteria: adjusted Rand index, ICL, degenerate components."""

from __future__ import annotations

import numpy as np

from ..model.floor import FloorMetric, on_floor
from ..model.gaussian import full_covariances
from ..model.mixture import MixtureModel

_CHUNK = 1 << 16


def adjusted_rand_index(labels_a: np.ndarray, labels_b: np.ndarray) -> float:
    """Hubert & Arabie (1985) adjusted Rand index of two labelings (N,) each.

    1 for identical partitions (up to renaming), about 0 for independent ones.
    """
    from scipy.special import comb  # lazily: scipy takes 0.2 s to import

    a = np.unique(np.asarray(labels_a), return_inverse=True)[1]
    b = np.unique(np.asarray(labels_b), return_inverse=True)[1]
    n = len(a)
    if n != len(b):
        raise ValueError("the two labelings must have the same length.")
    table = np.zeros((a.max() + 1, b.max() + 1))
    np.add.at(table, (a, b), 1)
    pairs = comb(table, 2).sum()
    rows, cols = comb(table.sum(axis=1), 2).sum(), comb(table.sum(axis=0), 2).sum()
    total = comb(n, 2)
    expected = rows * cols / total if total else 0.0
    maximum = 0.5 * (rows + cols)
    if maximum == expected:
        return 1.0
    return float((pairs - expected) / (maximum - expected))


def classification_entropy(model: MixtureModel, X: np.ndarray,
                           sample_weight: np.ndarray | None = None) -> float:
    """-sum_n w_n sum_k r_nk log r_nk, computed in chunks of rows."""
    total = 0.0
    for start in range(0, len(X), _CHUNK):
        resp = model.predict_proba(X[start:start + _CHUNK])
        with np.errstate(divide="ignore", invalid="ignore"):
            ent = -np.where(resp > 0, resp * np.log(resp), 0.0).sum(axis=1)
        w = None if sample_weight is None else sample_weight[start:start + _CHUNK]
        total += float(ent.sum() if w is None else w @ ent)
    return total


def icl(bic: float, entropy: float) -> float:
    """Integrated completed likelihood (Biernacki et al. 2000), smaller is better."""
    return bic + 2.0 * entropy


def components_at_floor(model: MixtureModel, metric: FloorMetric, floor: float) -> np.ndarray:
    """Bool (K,): components whose narrowest direction sits on the variance floor.

    Such a component is held up by the floor rather than by the data: it was
    collapsing onto repeated values or a few rows. ``metric`` is the fitted
    data's (``PreparedData.floor_metric``), so the test is the floor's own.
    """
    covs = full_covariances(model.covariances, model.covariance_type, model.n_components,
                            model.n_features)
    return on_floor(covs, model.covariance_type, metric, floor)
