"""One pass over the data in row blocks: E-step and sufficient statistics.

Extra memory is O(block x (K + F)), never O(N x K).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .prepared import PreparedData

# exp() of numbers below about -708 underflows to subnormals, which are many
# times slower; responsibilities that small are zero for every purpose.
_LOG_CLAMP = -700.0


@dataclass
class PassResult:
    """What one pass learned.

    log_likelihood: sum_n w_n log p(x_n) under the pass's parameters.
    acc: kernel accumulator of M-step statistics (None when not requested).
    worst: (log-density, row) of the worst-explained row of each block.
    n_changed: rows whose label changed (when previous labels were given).
    """

    log_likelihood: float
    acc: np.ndarray | None
    worst: list[tuple[float, int]] = field(default_factory=list)
    n_changed: int = 0
    sse: float = 0.0
    sumsq: np.ndarray | None = None


class Workspace:
    """Reusable block buffers for one kernel (one per thread)."""

    def __init__(self, block: int, n_features: int, n_feat: int, n_components: int, dtype):
        self.x = np.empty((block, n_features), dtype=dtype)
        self.feats = np.empty((block, n_feat), dtype=dtype)
        self.wlp = np.empty((block, n_components), dtype=dtype)


def normalise_log_prob(wlp: np.ndarray) -> np.ndarray:
    """Turn weighted log-probs (B, K) into responsibilities in place.

    Returns log p(x) per row (B,) in float64.
    """
    top = wlp.max(axis=1)
    wlp -= top[:, None]
    np.maximum(wlp, _LOG_CLAMP, out=wlp)
    np.exp(wlp, out=wlp)
    total = wlp.sum(axis=1)
    wlp /= total[:, None]
    return top.astype(np.float64) + np.log(total, dtype=np.float64)


def one_hot(labels: np.ndarray, n_components: int, out: np.ndarray) -> np.ndarray:
    """Hard responsibilities (B, K) for ``labels`` written into ``out``."""
    out[:] = 0.0
    out[np.arange(len(labels)), labels] = 1.0
    return out


def em_pass(
    data: PreparedData,
    kernel,
    *,
    hard: bool = False,
    want_stats: bool = True,
    labels: np.ndarray | None = None,
) -> PassResult:
    """E-step under ``kernel``'s parameters and, if wanted, M-step statistics.

    ``hard`` assigns each row wholly to its most probable component
    (classification EM). ``labels`` (N,) int, when given, receives the most
    probable component of every row and counts how many changed.
    """
    k = kernel.k
    width = max(kernel.n_feat, k, data.n_features)
    ws = Workspace(data.block_size(width), data.n_features, kernel.n_feat, k, data.dtype)
    acc = kernel.new_accumulator() if want_stats else None
    out = PassResult(0.0, acc)
    for start, stop in data.blocks(width):
        xb = data.centred(start, stop, ws.x)
        feats = kernel.features(xb, ws.feats[: stop - start])
        wlp = kernel.log_prob(feats, ws.wlp[: stop - start])
        block_labels = wlp.argmax(axis=1) if (hard or labels is not None) else None
        log_dens = normalise_log_prob(wlp)
        w = data.weights(start, stop)
        out.log_likelihood += float(log_dens.sum() if w is None else w @ log_dens)
        worst = int(np.argmin(log_dens))
        out.worst.append((float(log_dens[worst]), start + worst))
        if labels is not None:
            out.n_changed += int(np.count_nonzero(labels[start:stop] != block_labels))
            labels[start:stop] = block_labels
        if acc is None:
            continue
        resp = one_hot(block_labels, k, wlp) if hard else wlp
        if w is not None:
            resp *= w[:, None].astype(resp.dtype, copy=False)
        kernel.accumulate(feats, xb, resp, acc)
    return out


def kmeans_pass(
    data: PreparedData,
    centres: np.ndarray,
    *,
    scale: np.ndarray | None = None,
    variance: float | None = None,
    labels: np.ndarray | None = None,
) -> PassResult:
    """Lloyd step: assign rows to the nearest centre and sum them per cluster.

    ``centres`` (K, D) live in centred coordinates divided by ``scale`` (D,)
    when given (standardised k-means, used to initialise EM). When
    ``variance`` is given, also computes the log-likelihood of the mixture
    that k-means implicitly fits: equal weights, covariance ``variance * I``.
    acc holds [nk, sums] per cluster; sumsq (K,) the weighted sums of |x|^2.
    """
    k, d = centres.shape
    ws = Workspace(data.block_size(max(k, d)), d, 0, k, np.float64)
    acc = np.zeros((k, 1 + d))
    sumsq = np.zeros(k)
    out = PassResult(0.0, acc, sumsq=sumsq)
    sq_centres = np.einsum("kd,kd->k", centres, centres)
    for start, stop in data.blocks(max(k, d)):
        xb = data.centred(start, stop, ws.x)
        if scale is not None:
            xb /= scale
        dist = np.matmul(xb, centres.T, out=ws.wlp[: stop - start])
        dist *= -2.0
        dist += sq_centres
        block_labels = dist.argmin(axis=1)
        sq_rows = np.einsum("nd,nd->n", xb, xb)
        rows = np.arange(stop - start)
        d2 = np.maximum(dist[rows, block_labels] + sq_rows, 0.0)
        w = data.weights(start, stop)
        out.sse += float(d2.sum() if w is None else w @ d2)
        worst = int(np.argmax(d2))
        out.worst.append((-float(d2[worst]), start + worst))
        if labels is not None:
            out.n_changed += int(np.count_nonzero(labels[start:stop] != block_labels))
            labels[start:stop] = block_labels
        if variance is not None:
            dist += sq_rows[:, None]
            dist *= -0.5 / variance
            log_dens = normalise_log_prob(dist)
            log_dens -= np.log(k) + 0.5 * d * np.log(2 * np.pi * variance)
            out.log_likelihood += float(log_dens.sum() if w is None else w @ log_dens)
        resp = one_hot(block_labels, k, ws.wlp[: stop - start])
        if w is not None:
            resp *= w[:, None]
            sq_rows *= w
        acc[:, 0] += resp.sum(axis=0)
        acc[:, 1:] += resp.T @ xb
        sumsq += np.bincount(block_labels, weights=sq_rows, minlength=k)
    return out


def stats_pass(data: PreparedData, kernel, fill_resp) -> np.ndarray:
    """Accumulate M-step statistics for responsibilities given by a callback.

    ``fill_resp(start, stop, out)`` writes responsibilities (B, K) into ``out``.
    Used by initialisations (hard labels from k-means, random responsibilities).
    """
    k = kernel.k
    width = max(kernel.n_feat, k, data.n_features)
    ws = Workspace(data.block_size(width), data.n_features, kernel.n_feat, k, np.float64)
    acc = kernel.new_accumulator()
    for start, stop in data.blocks(width):
        xb = data.centred(start, stop, ws.x)
        feats = kernel.stats_features(xb, ws.feats[: stop - start])
        resp = fill_resp(start, stop, ws.wlp[: stop - start])
        w = data.weights(start, stop)
        if w is not None:
            resp *= w[:, None]
        kernel.accumulate(feats, xb, resp, acc)
    return acc
