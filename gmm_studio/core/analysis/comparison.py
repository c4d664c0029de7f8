"""k-means, soft k-means, hard EM and soft EM on the same data, K and seed."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from ..config import FitConfig
from ..engine.fitting import fit
from ..results import FitResult, Snapshot
from .metrics import adjusted_rand_index, classification_entropy, icl

# Ordered from the most constrained to the freest: soft k-means is EM with
# Σ = σ²I fixed, the lectures' bridge between k-means and EM.
METHODS = ("kmeans", "soft_kmeans", "hard_em", "em")


@dataclass(frozen=True, eq=False)
class MethodRow:
    """One method's fit and its figures (criteria in the data's units)."""

    algorithm: str
    result: FitResult
    log_likelihood: float
    bic: float
    aic: float
    icl: float
    seconds: float
    cluster_sizes: tuple[int, ...]
    ari_truth: float  # NaN without a label column


def compare_methods(
    X: np.ndarray,
    config: FitConfig,
    *,
    truth: np.ndarray | None = None,
    sample_weight: np.ndarray | None = None,
    log_jacobian: float = 0.0,
    callback: Callable[[str, Snapshot], None] | None = None,
    cancel: threading.Event | None = None,
) -> tuple[list[MethodRow], np.ndarray]:
    """Fit the four METHODS with ``config``'s K, init, restarts, seed (and σ).

    Returns the rows and the (4, 4) matrix of adjusted Rand indices between
    the methods' labels. ``callback(algorithm, snapshot)`` sees every iteration.
    """
    rows = []
    for algorithm in METHODS:
        if cancel is not None and cancel.is_set():
            break
        started = time.perf_counter()
        # The noise component is soft EM's alone; the other methods go without.
        method = config.replace(algorithm=algorithm, noise=config.noise and algorithm == "em")
        result = fit(X, method, sample_weight=sample_weight,
                     cancel=cancel,
                     callback=None if callback is None else (lambda s, a=algorithm: callback(a, s)))
        seconds = time.perf_counter() - started
        rows.append(_row(algorithm, result, X, sample_weight, log_jacobian, truth, seconds))
    agreement = np.array([[adjusted_rand_index(a.result.labels, b.result.labels) for b in rows]
                          for a in rows])
    return rows, agreement


def _row(algorithm, result, X, sample_weight, log_jacobian, truth, seconds) -> MethodRow:
    ll, bic, aic = result.criteria(log_jacobian)
    entropy = classification_entropy(result.model, X, sample_weight)
    labels = result.labels[result.labels >= 0]  # a noise component's rows are -1
    sizes = tuple(int(c) for c in np.bincount(labels, minlength=result.model.n_components))
    ari = float("nan") if truth is None else adjusted_rand_index(truth, result.labels)
    return MethodRow(algorithm, result, ll, bic, aic, icl(bic, entropy), seconds,
                     sizes, ari)


def match_components(reference: np.ndarray, labels: np.ndarray, n_components: int) -> np.ndarray:
    """colour (K,): the reference component each of ``labels``' components overlaps most.

    reference (N,) and labels (N,) are labels in 0..K-1 of the same rows. The
    pairing maximises the rows both put together (Hungarian method), so the
    same cluster gets the same colour in side-by-side panels.
    """
    from scipy.optimize import linear_sum_assignment

    k = max(n_components, int(reference.max(initial=-1)) + 1)
    overlap = np.zeros((n_components, k))
    np.add.at(overlap, (labels, reference), 1.0)
    rows, cols = linear_sum_assignment(overlap, maximize=True)
    colour = np.arange(n_components)
    colour[rows] = cols
    return colour
