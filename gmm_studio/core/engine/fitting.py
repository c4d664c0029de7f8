"""The engine's public entry points: iterate and fit, and a FitResult from the runs."""

from __future__ import annotations

import dataclasses
import threading
import time
from collections.abc import Callable, Iterator

import numpy as np

from ..config import FitConfig
from ..errors import FitError, InvalidDataError, InvalidModelError
from ..model.kernels import make_kernel
from ..model.mixture import MixtureModel
from ..results import CANCELLED, COLLAPSED, CONVERGED, FAILED, FitResult, Snapshot
from ..text import plural
from .em import run_em
from .kmeans import kmeans_n_parameters, run_kmeans
from .notes import data_warnings, restart_warnings, size_warnings
from .passes import em_pass
from .prepared import PreparedData, prepare


def iterate(
    X: np.ndarray,
    config: FitConfig | None = None,
    *,
    sample_weight: np.ndarray | None = None,
    initial_model: MixtureModel | None = None,
    cancel: threading.Event | None = None,
) -> Iterator[Snapshot]:
    """Yield a frozen Snapshot after every iteration of every restart.

    X (N, D), or a dask array / DataFrame (``core.distributed``: passes run on
    the current Dask scheduler); sample_weight (N,) non-negative or None.
    ``initial_model`` skips initialisation and makes exactly one run from
    those parameters.
    """
    config = config or FitConfig()
    if is_dask(X):  # rows on a Dask cluster: the same passes, as tasks there
        from ..distributed import iterate_dask

        yield from iterate_dask(X, config, sample_weight=sample_weight,
                                initial_model=initial_model, cancel=cancel)
        return
    data = prepare_for(X, config, sample_weight, cancel)
    yield from iterate_prepared(data, config, initial_model)

def is_dask(X: object) -> bool:
    """True for a dask collection or dask data already prepared (core.distributed).

    Told apart without importing dask.
    """
    return type(X).__module__.split(".")[0] == "dask" or getattr(X, "distributed", False)


def prepare_for(X, config: FitConfig, sample_weight, cancel) -> PreparedData:
    """Validate data against the config (enough rows for K, etc.)."""
    shape = getattr(X, "shape", None) or np.shape(X)
    if len(shape) == 2 and shape[0] == 1:
        raise InvalidDataError(ONE_ROW)
    data = prepare(X, sample_weight, dtype=config.dtype, cancel=cancel, min_rows=2)
    check_components(data, config)
    return data


ONE_ROW = ("the data has only 1 row; a mixture needs at least 2 rows to estimate a spread. "
           "Use a file with more rows.")


def check_components(data: PreparedData, config: FitConfig) -> None:
    """Refuse a single row, and K above the rows (with a weight above zero)."""
    if data.n_rows == 1:
        raise InvalidDataError(ONE_ROW)
    counted = data.n_rows if data.sample_weight is None else int(
        np.count_nonzero(data.sample_weight))
    if config.n_components > counted:
        weighted = "" if data.sample_weight is None else " with a weight above zero"
        raise InvalidDataError(
            f"K={config.n_components} components need at least {config.n_components} rows, "
            f"but the data has {plural(counted, 'row')}{weighted}; choose K of at most "
            f"{counted} or use more rows.")

def iterate_prepared(data: PreparedData, config: FitConfig,
                     initial_model: MixtureModel | None = None) -> Iterator[Snapshot]:
    """``iterate`` on already prepared data."""
    if initial_model is not None and initial_model.n_features != data.n_features:
        raise InvalidModelError(
            f"initial_model has {initial_model.n_features} features but the data has "
            f"{data.n_features}."
        )
    n_runs = 1 if initial_model is not None else config.n_init
    seeds = np.random.SeedSequence(config.random_state).spawn(n_runs)
    for restart, seed in enumerate(seeds):
        rng = np.random.default_rng(seed)
        if config.algorithm == "kmeans":
            run = run_kmeans(data, config, restart, rng, initial_model)
        else:
            run = run_em(data, config, restart, rng, initial_model,
                         hard=config.algorithm == "hard_em")
        yield from run
        if data.cancel is not None and data.cancel.is_set():
            return

def n_free_parameters(model: MixtureModel, config: FitConfig) -> int:
    """What the algorithm estimated: k-means and soft k-means fix their spreads.

    Soft k-means counts its σ when it took it from the data (``sigma`` None)
    and its weights only when they were free.
    """
    if config.algorithm == "kmeans":
        return kmeans_n_parameters(model)
    if config.algorithm == "soft_kmeans":
        k, d = model.n_components, model.n_features
        return k * d + (0 if config.equal_weights else k - 1) + (config.sigma is None)
    return model.n_parameters


def label_rows(data: PreparedData, model: MixtureModel) -> np.ndarray:
    """Most probable component of every row, in blocks: (N,) int32."""
    return score_prepared(data, model, with_density=False)[0]

def score_prepared(data: PreparedData, model: MixtureModel, with_density: bool = True
                   ) -> tuple[np.ndarray, np.ndarray | None]:
    """labels (N,) int32 and log p(x) (N,) of every row, in one pass over blocks."""
    kernel = make_kernel(data.n_features, model.n_components, model.covariance_type)
    kernel.set_params(model.weights, model.means - data.centre, model.precisions_cholesky)
    labels = np.full(data.n_rows, -1, dtype=np.int32)
    dens = np.empty(data.n_rows) if with_density else None
    em_pass(data, kernel, want_stats=False, labels=labels, log_density=dens,
            noise_log=model.noise_log_prob if model.has_noise else None)
    return labels, dens

def fit(
    X: np.ndarray,
    config: FitConfig | None = None,
    *,
    sample_weight: np.ndarray | None = None,
    initial_model: MixtureModel | None = None,
    callback: Callable[[Snapshot], None] | None = None,
    cancel: threading.Event | None = None,
) -> FitResult:
    """Fit a mixture: drain ``iterate`` and keep the restart with the best log-likelihood.

    ``callback`` receives every snapshot; setting ``cancel`` stops after the
    current block and returns the best completed iteration so far.
    """
    config = config or FitConfig()
    if is_dask(X):  # rows on a Dask cluster: the same passes, as tasks there
        from ..distributed import fit_dask

        return fit_dask(X, config, sample_weight=sample_weight, initial_model=initial_model,
                        callback=callback, cancel=cancel)
    data = prepare_for(X, config, sample_weight, cancel)
    return fit_prepared(data, config, initial_model, callback)

def fit_prepared(data: PreparedData, config: FitConfig, initial_model=None, callback=None,
                 *, with_labels: bool = True, notes: tuple[str, ...] = ()) -> FitResult:
    """``fit`` on prepared data; ``with_labels=False`` skips the O(N) labels."""
    start_time = time.perf_counter()
    histories: dict[int, list[float]] = {}
    finals: dict[int, Snapshot] = {}
    last: Snapshot | None = None
    for snap in iterate_prepared(data, config, initial_model):
        histories.setdefault(snap.restart, []).append(snap.log_likelihood)
        last = snap
        if snap.done:
            finals[snap.restart] = snap
        if callback is not None:
            callback(snap)
    if last is not None and not last.done:
        # Cancelled mid-pass: the last yielded snapshot is the best we have.
        finals[last.restart] = Snapshot(last.restart, last.iteration, last.model,
                                        last.log_likelihood, last.elapsed, CANCELLED)
    return _collect(data, config, histories, finals, start_time, with_labels, notes)

def _collect(data, config, histories, finals, start_time, with_labels, notes) -> FitResult:
    scores = np.full(max(config.n_init, max(finals, default=0) + 1), np.nan)
    usable = {r: s for r, s in finals.items() if s.status != FAILED}
    for r, s in usable.items():
        scores[r] = s.log_likelihood
    if not usable:
        if finals:
            raise FitError(" ".join(next(iter(finals.values())).warnings)
                           or "every restart failed.")
        raise FitError("the fit was cancelled before the first iteration finished.")
    # A restart stopped as collapsed would end degenerate: any other is kept first.
    whole = {r: s for r, s in usable.items() if s.status != COLLAPSED} or usable
    best = max(whole, key=lambda r: whole[r].log_likelihood)
    snap = usable[best]
    cancelled = any(s.status == CANCELLED for s in finals.values())
    if cancelled:
        scores = scores[: max(finals) + 1]
    history = np.array(histories[best][: snap.iteration + 1])
    # Labelling the kept model must finish even after a cancel.
    labels = (label_rows(dataclasses.replace(data, cancel=None), snap.model) if with_labels
              else np.empty(0, dtype=np.int32))
    n_params = n_free_parameters(snap.model, config)
    warnings = (notes + data_warnings(data) + snap.warnings + restart_warnings(finals, config)
                + size_warnings(n_params, data.n_rows, data.n_features, config))
    return FitResult(
        model=snap.model, config=config, log_likelihood=snap.log_likelihood,
        log_likelihood_history=history, n_iter=snap.iteration,
        converged=snap.status == CONVERGED, status=snap.status,
        restart_log_likelihoods=scores, best_restart=best, labels=labels,
        warnings=tuple(warnings), n_parameters=n_params, n_samples=data.total_weight,
        elapsed=time.perf_counter() - start_time, entropy=snap.entropy,
    )
