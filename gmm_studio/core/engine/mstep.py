"""M-step: parameters from sufficient statistics, variance floor, re-seeding."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..model.families import covariance_model
from ..model.floor import FloorMetric, floor_layout
from ..model.kernels import Stats
from .parsimonious import ITERATIVE, MSTEPS, _diagonal

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
    metric: FloorMetric,
    variance_floor: float,
    total_scatter: np.ndarray | None = None,
    previous: np.ndarray | None = None,
    in_em: bool = False,
) -> MStepResult:
    """M-step: maximum likelihood given responsibilities, under the variance floor.

    ``total_scatter`` (D, D) = sum_n w_n x_n x_n^T is required for "tied".
    ``metric`` says how the data spreads (model.floor). Empty components keep
    a placeholder (mean 0, the data's covariance) and are listed in ``empty``
    so the caller can re-seed them. ``previous`` (K, D, D), the current
    model's covariances, warm-starts the models whose M-step iterates;
    ``in_em`` lets them stop after a few inner steps (a generalised EM step),
    starting, without ``previous``, from each component's own covariance.
    """
    spec = covariance_model(covariance_type)
    nk = stats.nk
    empty = np.flatnonzero(nk < _EMPTY_FRACTION * total_weight / n_rows)
    safe = np.where(nk > 0, nk, 1.0)
    weights = nk / nk.sum()
    means = stats.sx / safe[:, None]
    means[empty] = 0.0
    if spec.layout == "general":
        cov, floored = _constrained(spec, stats, means, safe, empty, metric, variance_floor,
                                    previous, in_em)
        return MStepResult(weights, means, cov, floored, [int(k) for k in empty])
    scale = metric.scale
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
    cov, floored = floor_layout(cov, covariance_type, metric, variance_floor)
    if covariance_type == "tied":
        floored = np.repeat(floored, len(nk))
    floored[empty] = False
    return MStepResult(weights, means, cov, floored, [int(k) for k in empty])


def _constrained(spec, stats: Stats, means, nk, empty, metric: FloorMetric, floor: float,
                 previous: np.ndarray | None, in_em: bool) -> tuple[np.ndarray, np.ndarray]:
    """Covariances (K, D, D) of one of the ten models beyond scikit-learn's.

    Each component's own covariance W_k / n_k is floored first, in the metric
    of its kind, so the model's constraints (equal volume, common shape, ...)
    are imposed on scatter matrices that are no thinner than the floor; EII's
    single variance is floored as a spherical one.
    """
    k, d = means.shape
    alive = np.ones(k, dtype=bool)
    alive[empty] = False
    floored = np.zeros(k, dtype=bool)
    if spec.diagonal:
        own = stats.second / nk[:, None] - means**2
        if spec.name != "EII":      # EII's one variance is floored after pooling
            own[alive], floored[alive] = floor_layout(own[alive], "diag", metric, floor)
    else:
        own = stats.second / nk[:, None, None] - np.einsum("ki,kj->kij", means, means)
        own = 0.5 * (own + np.swapaxes(own, 1, 2))
        own[alive], floored[alive] = floor_layout(own[alive], "full", metric, floor)
    cov = np.empty((k, d, d))
    weight = nk[alive, None] if spec.diagonal else nk[alive, None, None]
    if in_em and previous is None:
        # The first M-step, like every other in EM, only has to be a
        # generalised one: it starts the inner search from the components'
        # own covariances (for EVE / VVE, their own axes).
        previous = own if not spec.diagonal else _diagonal(own)
    if spec.name in ITERATIVE and previous is not None:
        cov[alive] = MSTEPS[spec.name](own[alive] * weight, nk[alive], previous[alive])
    else:
        cov[alive] = MSTEPS[spec.name](own[alive] * weight, nk[alive])
    if spec.name == "EII":
        lam, hit = floor_layout(cov[alive, 0, 0], "spherical", metric, floor)
        cov[alive] = lam[:, None, None] * np.eye(d)
        floored[alive] = hit
    # Empty components get the data's own spread until they are re-seeded.
    if spec.name == "EII":
        cov[empty] = np.eye(d) * float(np.mean(metric.scale**2))
    elif spec.diagonal:
        cov[empty] = np.diag(metric.scale**2)
    else:
        cov[empty] = metric.root @ metric.root.T
    return cov, floored


def candidates_per_block(n_components: int, block_rows: int, n_rows: int) -> int:
    """How many worst rows each block offers: about 2 K over all blocks, at least 1.

    Big data has many blocks, and one candidate each (an argmin, as cheap as
    it gets on the hot path) is plenty; a single block offers 2 K.
    """
    return max(1, min(block_rows, -(-2 * n_components * block_rows // max(n_rows, 1))))


def worst_rows(scores: np.ndarray, start: int, count: int, *, largest: bool = False
               ) -> list[tuple[float, int]]:
    """(score, row) of the ``count`` worst rows of a block (B,) that begins at ``start``.

    ``scores`` say how well the current model explains each row (log p(x):
    lowest is worst); with ``largest`` the largest values are worst (squared
    distances to the nearest centre) and are returned negated, so that in
    every list the lowest score is the worst row.
    """
    count = min(count, len(scores))
    if count <= 0:
        return []
    sign = -1.0 if largest else 1.0
    if count == 1:
        i = int(np.argmax(scores) if largest else np.argmin(scores))
        return [(sign * float(scores[i]), start + i)]
    if largest:
        chosen = np.argpartition(scores, len(scores) - count)[len(scores) - count:]
    else:
        chosen = np.argpartition(scores, count - 1)[:count]
    return [(sign * float(scores[i]), start + int(i)) for i in chosen]


def reseed_rows(candidates: list[tuple[float, int]], n_empty: int, row_values) -> list[int]:
    """The one re-seeding rule: empty components go to the worst-explained rows.

    Each gets its own row, and no two get rows with the same values, so
    re-seeded components never start (and stay) identical. ``candidates``
    are (score, row) pairs, lowest score worst; ``row_values(i)`` gives row i
    (D,). Returns up to ``n_empty`` rows, worst first.
    """
    chosen: list[int] = []
    seen: list[np.ndarray] = []
    for _, row in sorted(set(candidates)):
        values = np.asarray(row_values(row))
        if any(np.array_equal(values, other) for other in seen):
            continue
        chosen.append(row)
        seen.append(values)
        if len(chosen) == n_empty:
            break
    return chosen


def reseed_empty(
    result: MStepResult,
    covariance_type: str,
    candidates: list[tuple[float, int]],
    centred_row,
    n_rows: int,
) -> list[int]:
    """Move each empty component onto a row chosen by ``reseed_rows``.

    ``centred_row(i)`` returns row i in centred coordinates (D,). The new
    component gets the weight of one row and the average covariance of the
    others. Returns the rows used (a component for which no distinct row is
    left stays where it is, with the weight of one row).
    """
    if not result.empty:
        return []
    rows = reseed_rows(candidates, len(result.empty), centred_row)
    alive = [k for k in range(len(result.weights)) if k not in result.empty]
    for k, row in zip(result.empty, rows, strict=False):
        result.means[k] = centred_row(row)
    for k in result.empty:
        result.weights[k] = 1.0 / n_rows
        if covariance_type != "tied" and alive:
            result.covariances[k] = result.covariances[alive].mean(axis=0)
    result.weights /= result.weights.sum()
    return rows


def shared_variance(sse: float, total_weight: float, n_features: int, scale: np.ndarray,
                    variance_floor: float) -> float:
    """The k-means mixture's one variance: SSE / (n D), floored relative to the data.

    ``scale`` (D,) is the data's standard deviation per feature.
    """
    scale2 = float(np.mean(scale**2))
    var = sse / (total_weight * n_features)
    return max(var, variance_floor * scale2, 1e-12 * scale2)
