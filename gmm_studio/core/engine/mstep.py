"""M-step: parameters from sufficient statistics, variance floor, re-seeding."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..model.gaussian import floor_covariances
from ..model.kernels import Stats

# A component whose responsibilities add up to less than this fraction of one
# average row has no data left: its mean and covariance are undefined.
_EMPTY_FRACTION = 1e-3


@dataclass
class MStepResult:
    """Parameters in centred coordinates plus what had to be repaired.

    weights (K,), means (K, D), covariances (type-specific shape);
    floored (K,) bool: the variance floor changed that component;
    empty: indices of components that had no data.
    """

    weights: np.ndarray
    means: np.ndarray
    covariances: np.ndarray
    floored: np.ndarray
    empty: list[int]


def estimate_parameters(
    stats: Stats,
    covariance_type: str,
    *,
    total_weight: float,
    n_rows: int,
    scale: np.ndarray,
    variance_floor: float,
    total_scatter: np.ndarray | None = None,
) -> MStepResult:
    """Closed-form M-step (maximum likelihood given responsibilities).

    ``total_scatter`` (D, D) = sum_n w_n x_n x_n^T is required for "tied".
    Empty components keep a placeholder (mean 0, pooled covariance) and are
    listed in ``empty`` so the caller can re-seed them.
    """
    nk = stats.nk
    empty = np.flatnonzero(nk < _EMPTY_FRACTION * total_weight / n_rows)
    safe = np.where(nk > 0, nk, 1.0)
    weights = nk / nk.sum()
    means = stats.sx / safe[:, None]
    means[empty] = 0.0
    if covariance_type == "tied":
        cov = (total_scatter - np.einsum("k,ki,kj->ij", nk, means, means)) / total_weight
        cov = 0.5 * (cov + cov.T)
    elif covariance_type == "full":
        cov = stats.second / safe[:, None, None] - np.einsum("ki,kj->kij", means, means)
        cov = 0.5 * (cov + np.swapaxes(cov, 1, 2))
        cov[empty] = np.diag(scale**2)
    else:
        cov = stats.second / safe[:, None] - means**2
        cov[empty] = scale**2
        if covariance_type == "spherical":
            cov = cov.mean(axis=1)
    cov, floored = floor_covariances(cov, covariance_type, scale, variance_floor)
    if covariance_type == "tied":
        floored = np.repeat(floored, len(nk))
    floored[empty] = False
    return MStepResult(weights, means, cov, floored, [int(k) for k in empty])


def reseed_empty(
    result: MStepResult,
    covariance_type: str,
    worst_rows: list[tuple[float, int]],
    centred_row,
    n_rows: int,
) -> list[int]:
    """Move each empty component onto one of the worst-explained rows.

    ``worst_rows`` are (log-density, row) pairs, worst first candidates;
    ``centred_row(i)`` returns row i in centred coordinates (D,). The new
    component gets the weight of one row and the average covariance of the
    others. Returns the rows used.
    """
    if not result.empty:
        return []
    candidates = [row for _, row in sorted(worst_rows)]
    used = []
    alive = [k for k in range(len(result.weights)) if k not in result.empty]
    for j, k in enumerate(result.empty):
        row = candidates[j % len(candidates)]
        used.append(row)
        result.means[k] = centred_row(row)
        result.weights[k] = 1.0 / n_rows
        if covariance_type != "tied" and alive:
            result.covariances[k] = result.covariances[alive].mean(axis=0)
    result.weights /= result.weights.sum()
    return used
