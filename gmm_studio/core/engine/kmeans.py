"""k-means (Lloyd) as a run of snapshots of the mixture k-means implicitly fits.

That mixture has equal weights and one shared spherical variance
sigma^2 = SSE / (n D), so its log-likelihood and BIC compare with EM's.
"""

from __future__ import annotations

import time
from collections.abc import Iterator

import numpy as np

from ..config import FitConfig
from ..model.mixture import MixtureModel
from ..results import CANCELLED, CONVERGED, MAX_ITER, RUNNING, Snapshot
from .lloyd import LloydRows, kmeans_pass, split_stats
from .mstep import reseed_rows, shared_variance
from .notes import RunNotes
from .prepared import Cancelled, PreparedData
from .starts import hierarchical_labels, kmeans_plus_plus, random_rows


def kmeans_n_parameters(model: MixtureModel) -> int:
    """K*D centres plus one shared variance."""
    return model.n_components * model.n_features + 1


def _centroids(acc: np.ndarray, centres: np.ndarray):
    """New centres (K, D), the partition's SSE about them, and empty clusters."""
    nk, sums, sumsq = split_stats(acc)
    empty = np.flatnonzero(nk <= 0)
    safe = np.where(nk > 0, nk, 1.0)
    new = sums / safe[:, None]
    new[empty] = centres[empty]
    sse = float(np.sum(sumsq - nk * np.einsum("kd,kd->k", new, new)))
    return new, max(sse, 0.0), empty


def _variance(sse: float, data: PreparedData, floor: float) -> float:
    return shared_variance(sse, data.total_weight, data.n_features, data.scale, floor)


def _model(centres, var, data, k) -> MixtureModel:
    return MixtureModel(np.full(k, 1.0 / k), centres + data.centre, np.full(k, var), "spherical")


def run_kmeans(data: PreparedData, config: FitConfig, restart: int, rng: np.random.Generator,
               initial_model: MixtureModel | None) -> Iterator[Snapshot]:
    """One restart of Lloyd's algorithm in the data's own units."""
    t0 = time.perf_counter()
    notes, k = RunNotes(), config.n_components
    ones = np.ones(data.n_features)
    labels = None if data.distributed else np.full(data.n_rows, -1, dtype=np.int32)
    try:
        if initial_model is not None:
            centres = initial_model.means - data.centre
        elif config.init == "hierarchical" and restart == 0:
            centres = _centroids_of(data, hierarchical_labels(data, k, rng, "ward"), k, rng)
        elif config.init in ("random", "random_from_data"):
            centres = random_rows(data, k, rng, ones)
        else:
            centres = kmeans_plus_plus(data, k, rng, ones)
        lloyd = _lloyd(data, labels)
        first = lloyd(centres, None)
    except Cancelled:
        return
    centres, sse, empty = _reseed(first, centres, data, notes, 0)
    var = _variance(sse, data, config.variance_floor)
    model, previous, iteration = _model(centres, var, data, k), None, 0
    previous_centres = None
    while True:
        try:
            result = lloyd(centres, var)
        except Cancelled:
            if previous is not None:
                yield _snap(restart, iteration - 1, previous, t0, CANCELLED, notes, config)
            return
        ll = result.log_likelihood
        status = RUNNING
        # Data on a cluster keeps no labels: unchanged centres mean unchanged labels.
        stable = (np.array_equal(centres, previous_centres) if data.distributed
                  else result.n_changed == 0)
        if stable:
            status = CONVERGED
        elif iteration >= config.max_iter:
            status = MAX_ITER
        snap = (restart, iteration, model, ll)
        if status != RUNNING:
            yield _snap(restart, iteration, snap, t0, status, notes, config)
            return
        yield Snapshot(*snap, time.perf_counter() - t0)
        previous, iteration = snap, iteration + 1
        previous_centres = centres
        centres, sse, empty = _reseed(result, centres, data, notes, iteration)
        var = _variance(sse, data, config.variance_floor)
        model = _model(centres, var, data, k)


def _lloyd(data: PreparedData, labels: np.ndarray):
    """``pass(centres, variance)``: a Lloyd pass over the rows (as tasks on a cluster)."""
    if data.distributed:
        return lambda centres, variance: data.kmeans_pass(centres, variance)
    rows = LloydRows(data)
    return lambda centres, variance: kmeans_pass(rows, centres, variance=variance,
                                                 labels=labels)


def _reseed(result, centres, data, notes, iteration):
    """Centroids; empty clusters move to the rows farthest from their centres."""
    new, sse, empty = _centroids(result.acc, centres)
    if len(empty):
        rows = reseed_rows(result.worst, len(empty), lambda i: data.X[i])
        for k, row in zip(empty, rows, strict=False):
            new[k] = data.X[row] - data.centre
        notes.reseeded(list(empty[:len(rows)]), rows, iteration)
    return new, sse, empty


def _centroids_of(data, labels, k, rng) -> np.ndarray:
    """Centres (K, D) of ``labels`` in centred coordinates; a missing cluster gets a row."""
    centred = np.asarray(data.X, dtype=np.float64) - data.centre
    fill = random_rows(data, k, rng, np.ones(data.n_features))
    return np.array([centred[labels == j].mean(axis=0) if np.any(labels == j) else fill[j]
                     for j in range(k)])


def _snap(restart, iteration, snap, t0, status, notes, config) -> Snapshot:
    _, _, model, ll = snap
    return Snapshot(restart, iteration, model, ll, time.perf_counter() - t0, status,
                    notes.finish(status, iteration, config))
