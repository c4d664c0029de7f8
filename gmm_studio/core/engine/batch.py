"""Many soft-EM fits of small data, advanced together in one array computation.

On a few thousand rows an EM iteration is mostly NumPy call overhead (0.1 to
0.3 ms at N = 272, K = 3), and a model sweep runs some 10^4 of them. A batch
stacks the components of every run (K values, restarts) of one covariance
model into C = ΣK components: the E-step is one product coef (C, F) @ feats
(F, N), with the quadratic features of the rows computed once for all
iterations, responsibilities are normalised per run (a segment of the
product's rows), and the M-step statistics are one more product. Each run's
M-step is its own (``estimate_parameters``), so every number is the one the
single-fit loop (``em.run_em``) computes, to rounding; a test compares them.

A run leaves the batch when it converges or reaches max_iter. Whatever the
batch does not handle (an empty component to re-seed, a covariance that is
not positive definite, noise, hard EM, single precision) sends that fit back
to the ordinary loop, from its start: the same start, so the same result.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np

from ..config import FitConfig
from ..errors import GMMStudioError
from ..model.families import covariance_model
from ..model.gaussian import precision_cholesky
from ..model.kernels import _LOG_CLAMP, QuadraticKernel, make_kernel
from ..results import CONVERGED, MAX_ITER, FitResult, Snapshot
from .em import _initial_mstep, _to_model
from .fitting import _collect, check_components, fit_prepared
from .grouped import Segments, grouped_mstep
from .mstep import _EMPTY_FRACTION, MStepResult
from .notes import RunNotes
from .prepared import Cancelled, PreparedData

# Rows x stacked components above which fits run one by one: beyond this the
# per-call overhead a batch saves is small beside the arithmetic.
MAX_CELLS = 2_000_000


@dataclass
class _Run:
    """One restart of one fit inside a batch; parameters in centred coordinates."""

    job: int
    restart: int
    config: FitConfig
    params: MStepResult
    prec_chol: np.ndarray
    notes: RunNotes
    started: float
    history: list[float] = field(default_factory=list)
    iteration: int = 0


def batchable(data: PreparedData, config: FitConfig) -> bool:
    """Whether ``fit_many`` batches this fit (else it runs the ordinary loop)."""
    counted = data.n_rows if data.sample_weight is None else int(
        np.count_nonzero(data.sample_weight))
    return (config.algorithm == "em" and not config.noise and config.dtype == "float64"
            and not data.distributed and not getattr(data.X, "chunked", False)
            and config.n_components <= counted
            and data.n_rows * config.n_components * config.n_init <= MAX_CELLS)


def fit_many(data: PreparedData, configs: list[FitConfig]) -> list[FitResult | GMMStudioError]:
    """``fit_prepared(data, config, with_labels=False)`` for every config, batched.

    Runs of the same covariance model share one batch. A fit that cannot be
    made gives its error in its place; a set cancel event raises Cancelled.
    """
    results: list[FitResult | GMMStudioError | None] = [None] * len(configs)
    groups: dict[str, list[int]] = {}
    for j, config in enumerate(configs):
        if batchable(data, config):
            groups.setdefault(config.covariance_type, []).append(j)
    for jobs in groups.values():
        for j, result in _run_group(data, configs, jobs).items():
            results[j] = result
    for j, config in enumerate(configs):
        if results[j] is None:  # not batchable, or left the batch: the ordinary loop
            data.check_cancel()
            try:
                check_components(data, config)
                results[j] = fit_prepared(data, config, with_labels=False)
            except GMMStudioError as exc:
                results[j] = exc
    return results


def _run_group(data: PreparedData, configs: list[FitConfig], jobs: list[int]
               ) -> dict[int, FitResult]:
    """Batch every restart of ``jobs`` (one covariance model); returns the fits it finished."""
    runs, ejected = [], set()
    for j in jobs:
        config = configs[j]
        for restart, seed in enumerate(np.random.SeedSequence(config.random_state)
                                       .spawn(config.n_init)):
            run = _start(data, j, restart, config, np.random.default_rng(seed))
            if run is None:
                ejected.add(j)
            else:
                runs.append(run)
    runs = [r for r in runs if r.job not in ejected]
    started = {j: min(r.started for r in runs if r.job == j) for j in {r.job for r in runs}}
    finals: dict[int, dict[int, Snapshot]] = {}
    histories: dict[int, dict[int, list[float]]] = {}
    feats = _features(data, configs[jobs[0]].covariance_type)
    weights = data.sample_weight
    while runs:
        data.check_cancel()
        resp, log_l = _e_step(data, runs, feats, weights)
        acc = resp @ feats.T
        bounds = np.cumsum([0] + [r.config.n_components for r in runs])
        going = []
        for i, run in enumerate(runs):
            run.history.append(float(log_l[i]))
            status = _status(run, data)
            if status is None:
                going.append(i)
                continue
            model = _to_model(run.params, data, run.config)
            finals.setdefault(run.job, {})[run.restart] = Snapshot(
                run.restart, run.iteration, model, run.history[-1],
                time.perf_counter() - run.started, status,
                run.notes.finish(status, run.iteration, run.config))
            histories.setdefault(run.job, {})[run.restart] = run.history
        # An empty component is re-seeded by the one-run loop: the run leaves.
        empty = _EMPTY_FRACTION * data.total_weight / data.n_rows
        for i in going:
            if np.any(acc[bounds[i]:bounds[i + 1], 0] < empty):
                ejected.add(runs[i].job)
        going = [i for i in going if runs[i].job not in ejected]
        if going:
            stats = np.concatenate([acc[bounds[i]:bounds[i + 1]] for i in going])
            ejected |= _m_step(data, [runs[i] for i in going], stats)
        runs = [runs[i] for i in going if runs[i].job not in ejected]
    done = {}
    for j in jobs:
        if j in ejected or len(finals.get(j, {})) != configs[j].n_init:
            continue
        done[j] = _collect(data, configs[j], histories[j], finals[j], started[j], False, ())
    return done


def _start(data, job, restart, config, rng) -> _Run | None:
    """The run's initial parameters, exactly as ``run_em`` makes them (None: eject)."""
    started = time.perf_counter()
    notes = RunNotes()
    kernel = make_kernel(data.n_features, config.n_components, config.covariance_type)
    try:
        params = _initial_mstep(data, config, kernel, rng, notes, restart)
        if notes.reseeds or params.empty:
            return None
        prec = precision_cholesky(params.covariances, config.covariance_type)
    except (GMMStudioError, Cancelled):
        return None
    return _Run(job, restart, config, params, prec, notes, started)


def _kernel_kind(covariance_type: str) -> tuple[str, bool]:
    """The quadratic kernel a batch uses: (kind, reads diagonals of (K, D, D))."""
    spec = covariance_model(covariance_type)
    if spec.kernel == "tied":   # one matrix per run: stacked per component, as "full"
        return "full", False
    return spec.kernel, spec.layout == "general" and spec.kernel != "full"


def _features(data: PreparedData, covariance_type: str) -> np.ndarray:
    """Quadratic features (F, N) of every centred row, made once for the whole batch."""
    kind, from_full = _kernel_kind(covariance_type)
    kernel = QuadraticKernel(data.n_features, 1, kind, from_full)
    xt = data.centred(0, data.n_rows)
    return kernel.features(xt, np.empty((kernel.n_feat, data.n_rows)))


def _e_step(data, runs, feats, weights) -> tuple[np.ndarray, np.ndarray]:
    """Responsibilities (C, N), weighted by rows, and each run's log-likelihood (R,)."""
    sizes = np.array([r.config.n_components for r in runs])
    starts = np.concatenate([[0], np.cumsum(sizes)[:-1]])
    kind, from_full = _kernel_kind(runs[0].config.covariance_type)
    kernel = QuadraticKernel(data.n_features, int(sizes.sum()), kind, from_full)
    prec = [r.prec_chol for r in runs]
    if runs[0].config.covariance_type == "tied":
        prec = [np.broadcast_to(p, (n, *p.shape)) for p, n in zip(prec, sizes, strict=True)]
    kernel.set_params(np.concatenate([r.params.weights for r in runs]),
                      np.concatenate([r.params.means for r in runs]), np.concatenate(prec))
    wlp = kernel.coef @ feats
    top = np.maximum.reduceat(wlp, starts, axis=0)
    wlp -= np.repeat(top, sizes, axis=0)
    np.maximum(wlp, _LOG_CLAMP[wlp.dtype], out=wlp)
    np.exp(wlp, out=wlp)
    total = np.add.reduceat(wlp, starts, axis=0)
    wlp /= np.repeat(total, sizes, axis=0)
    log_dens = top + np.log(total)
    if weights is None:
        return wlp, log_dens.sum(axis=1)
    wlp *= weights
    return wlp, log_dens @ weights


def _status(run: _Run, data: PreparedData) -> str | None:
    """As ``em._status``: converged, out of iterations, or None (go on)."""
    history, config = run.history, run.config
    if len(history) > 1 and abs(history[-1] - history[-2]) / data.total_weight < config.tol:
        return CONVERGED
    if run.iteration >= config.max_iter:
        return MAX_ITER
    return None


def _m_step(data: PreparedData, runs: list[_Run], acc: np.ndarray) -> set[int]:
    """Every run's M-step from its statistics (rows of ``acc``); returns the jobs that leave.

    ``grouped_mstep`` computes what ``em._mstep`` would, for all runs at once.
    """
    d = data.n_features
    config = runs[0].config
    kind = config.covariance_type
    seg = Segments.of([r.config.n_components for r in runs])
    if kind == "tied":
        second = None
    elif _kernel_kind(kind)[0] in ("diag", "spherical"):
        second = acc[:, 1 + d:]
    else:
        iu, ju = np.triu_indices(d)
        second = np.empty((len(acc), d, d))
        second[:, iu, ju] = acc[:, 1 + d:]
        second[:, ju, iu] = acc[:, 1 + d:]
    general = covariance_model(kind).layout == "general"
    weights, means, cov, floored = grouped_mstep(
        kind, acc[:, 0], acc[:, 1:1 + d], second, seg, total_weight=data.total_weight,
        metric=data.floor_metric(kind), variance_floor=config.variance_floor,
        total_scatter=data.total_scatter() if kind == "tied" else None,
        previous=np.concatenate([r.params.covariances for r in runs]) if general else None)
    try:
        prec = precision_cholesky(cov, "full" if kind == "tied" else kind)
    except GMMStudioError:  # the one-run loop says which component and fails that restart
        prec = None
    left = set()
    for i, run in enumerate(runs):
        lo, hi = seg.starts[i], seg.starts[i] + seg.sizes[i]
        own = cov[i] if kind == "tied" else cov[lo:hi]
        if prec is None or not (np.isfinite(means[lo:hi]).all() and np.isfinite(own).all()):
            left.add(run.job)
            continue
        run.params = MStepResult(weights[lo:hi], means[lo:hi], own, floored[lo:hi], [])
        run.prec_chol = prec[i] if kind == "tied" else prec[lo:hi]
        run.notes.floored = run.params.floored
        run.iteration += 1
    return left
