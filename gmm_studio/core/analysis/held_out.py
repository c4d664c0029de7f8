"""Held-out log-likelihood by v-fold cross-validation, for one fit or a sweep's many."""

from __future__ import annotations

import dataclasses
import threading

import numpy as np

from ..config import FitConfig
from ..engine.batch import iterate_many
from ..engine.fitting import fit
from ..engine.prepared import Cancelled, prepare
from ..errors import GMMStudioError

NAN = float("nan")
CANCELLED = "cross-validation cancelled"


def fold_ids(n_rows: int, folds: int, seed: int | None) -> np.ndarray:
    """A seeded assignment of rows to ``folds`` near-equal folds: (N,) ints."""
    ids = np.arange(n_rows) % folds
    np.random.default_rng(seed).shuffle(ids)
    return ids


def _split(ids: np.ndarray, fold: int, sample_weight):
    """Fold ``fold``'s training and test masks (N,) and their sample weights (or None)."""
    train, test = ids != fold, ids == fold
    if sample_weight is None:
        return train, test, None, None
    return train, test, sample_weight[train], sample_weight[test]


def _score(model, X_test: np.ndarray, w_test, log_jacobian: float) -> float:
    """Mean log-density per row of the held-out rows (N_test, D), weighted if given."""
    dens = model.score_samples(X_test) + log_jacobian
    return float(dens.mean() if w_test is None else w_test @ dens / w_test.sum())


def _failed(fold: int, folds: int, exc: Exception) -> str:
    return f"cross-validation fold {fold + 1} of {folds} failed: {exc}"


def cross_validate(X, config: FitConfig, folds: int, sample_weight=None,
                   log_jacobian: float = 0.0, cancel: threading.Event | None = None
                   ) -> tuple[float, float, str]:
    """Mean and std over folds of the held-out mean log-likelihood per row, and a note.

    A fold that cannot be fitted (say K above its training rows) gives NaN and
    says why in the note instead of stopping a whole sweep; ``cancel`` is
    honoured between and inside folds (then NaN, note "cancelled").
    """
    ids = fold_ids(len(X), folds, config.random_state)
    scores = []
    for f in range(folds):
        if cancel is not None and cancel.is_set():
            return NAN, NAN, CANCELLED
        train, test, w_train, w_test = _split(ids, f, sample_weight)
        try:
            model = fit(X[train], config, sample_weight=w_train, cancel=cancel).model
        except GMMStudioError as exc:
            if cancel is not None and cancel.is_set():
                return NAN, NAN, CANCELLED
            return NAN, NAN, _failed(f, folds, exc)
        if cancel is not None and cancel.is_set():
            return NAN, NAN, CANCELLED
        scores.append(_score(model, X[test], w_test, log_jacobian))
    return float(np.mean(scores)), float(np.std(scores)), ""


def cross_validate_many(X: np.ndarray, configs: list[FitConfig], folds: int,
                        sample_weight=None, log_jacobian: float = 0.0,
                        cancel: threading.Event | None = None, *, accelerate: bool = False
                        ) -> list[tuple[float, float, str]]:
    """``cross_validate`` of every config, the fits of each fold run as one batch.

    A sweep's configs share their seed, so their folds are the same rows: each
    fold's training rows are prepared once and all its fits advance together
    (``engine.batch.iterate_many``; ``accelerate`` as the sweep's own fits).
    X (N, D) in memory. Raises Cancelled when ``cancel`` is set.
    """
    out: list[tuple[float, float, str] | None] = [None] * len(configs)
    by_seed: dict = {}
    for j, config in enumerate(configs):
        by_seed.setdefault(config.random_state, []).append(j)
    for seed, jobs in by_seed.items():
        ids = fold_ids(len(X), folds, seed)
        scores: dict[int, list[float]] = {j: [] for j in jobs}
        for f in range(folds):
            live = [j for j in jobs if out[j] is None]
            if not live:
                break
            if cancel is not None and cancel.is_set():
                raise Cancelled()
            train, test, w_train, w_test = _split(ids, f, sample_weight)
            data = dataclasses.replace(prepare(X[train], w_train), cancel=cancel)
            for i, result in iterate_many(data, [configs[j] for j in live],
                                          accelerate=accelerate):
                j = live[i]
                if isinstance(result, GMMStudioError):
                    out[j] = (NAN, NAN, _failed(f, folds, result))
                else:
                    scores[j].append(_score(result.model, X[test], w_test, log_jacobian))
        for j in jobs:
            if out[j] is None:
                out[j] = (float(np.mean(scores[j])), float(np.std(scores[j])), "")
    if cancel is not None and cancel.is_set():
        raise Cancelled()
    return out
