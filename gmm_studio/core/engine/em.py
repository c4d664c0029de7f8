"""Soft EM, hard (classification) EM and k-means as generators of snapshots.

Each pass over the data evaluates the current parameters (log-likelihood) and
accumulates the statistics of the next ones, so a snapshot for iteration t is
yielded once pass t+1 has measured it: every snapshot's log-likelihood belongs
to exactly its model.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Iterator

import numpy as np

from ..config import FitConfig
from ..errors import FitError, InvalidModelError
from ..model.families import covariance_model
from ..model.kernels import make_kernel
from ..model.mixture import MixtureModel
from ..results import CANCELLED, CONVERGED, FAILED, MAX_ITER, RUNNING, Snapshot
from .mstep import MStepResult, estimate_parameters, reseed_empty
from .noise import Noise
from .notes import RunNotes
from .prepared import Cancelled, PreparedData
from .starts import initial_labels, stats_from_labels, stats_from_random_resp

# Re-seeds of one component that hold convergence back; after these, data that
# cannot keep K components (say four tight groups and K = 6) may converge.
RESEED_PATIENCE = 3


def run_em(data: PreparedData, config: FitConfig, restart: int, rng: np.random.Generator,
           initial_model: MixtureModel | None, *, hard: bool) -> Iterator[Snapshot]:
    """One restart of soft or hard EM (or soft k-means: soft EM with Σ_k = σ²I fixed)."""
    start_time = time.perf_counter()
    fixed = _FixedSpread(config) if config.algorithm == "soft_kmeans" else None
    if fixed is not None:
        config = config.replace(covariance_type="spherical")
    noise = Noise.for_run(data, config) if config.noise else None
    tied_noise = noise is not None and config.covariance_type == "tied"
    notes = RunNotes()
    kernel = make_kernel(data.n_features, config.n_components, config.covariance_type)
    # Hard EM also stops when no label changes; data on a cluster keeps no
    # labels in the client and stops on the objective alone (one pass later).
    labels = np.full(data.n_rows, -1, dtype=np.int32) if hard and not data.distributed else None
    try:
        if initial_model is not None:
            model = _check_initial(initial_model, config)
            if noise is not None and initial_model.has_noise:
                noise.weight, noise.volume = (initial_model.noise_weight,
                                              initial_model.noise_volume)
            elif noise is not None:
                model = _to_model(noise.start(_as_params(model, data)), data, config, noise)
        else:
            start = _initial_mstep(data, config, kernel, rng, notes, restart)
            if noise is not None:
                start = noise.start(start)
            model = _to_model(start if fixed is None else fixed.apply(start), data,
                              config, noise)
    except Cancelled:
        return
    except InvalidModelError as exc:  # only possible with the variance floor off
        raise FitError(f"initialisation failed: {exc}") from None
    previous_model, previous_ll, previous_objective, iteration = model, None, None, 0
    reseeded = False
    times_reseeded = np.zeros(config.n_components, dtype=int)
    while True:
        kernel.set_params(model.weights, model.means - data.centre, model.precisions_cholesky)
        try:
            result = data.em_pass(kernel, hard=hard, labels=labels,
                             want_stats=iteration < config.max_iter,
                             noise_log=None if noise is None else noise.log_prob,
                             noise_scatter=tied_noise, want_entropy=data.with_entropy)
        except Cancelled:
            if previous_ll is None:
                return
            yield _final(restart, iteration - 1, previous_model, previous_ll, start_time,
                         CANCELLED, notes, config)
            return
        ll = result.log_likelihood
        # Each algorithm converges on what it maximises: soft EM the mixture
        # log-likelihood, hard EM the classification log-likelihood (or labels
        # that no longer change). A model just re-seeded never counts.
        objective = result.classification if hard else ll
        status = _status(config, data, iteration, objective, previous_objective,
                         labels is not None and iteration > 0 and result.n_changed == 0,
                         reseeded)
        if status != RUNNING:
            yield _final(restart, iteration, model, ll, start_time, status, notes, config,
                         result.entropy)
            return
        yield Snapshot(restart, iteration, model, ll, time.perf_counter() - start_time)
        previous_model, previous_ll, previous_objective = model, ll, objective
        iteration += 1
        try:
            mstep = _mstep(data, config, kernel, kernel.to_stats(result.acc),
                           result.worst, notes, iteration, model,
                           noise_pass=None if noise is None else result)
            if noise is not None:
                mstep = noise.update(mstep, data, result.noise_nk)
            if fixed is not None:
                mstep = fixed.apply(mstep)
            times_reseeded[mstep.empty] += 1
            # A fresh re-seed must get its chance before the run may converge;
            # a component that keeps losing its rows no longer holds the run up.
            reseeded = bool(np.any(times_reseeded[mstep.empty] <= RESEED_PATIENCE))
            model = _to_model(mstep, data, config, noise)
        except InvalidModelError as exc:
            notes.add(f"iteration {iteration}: {exc}")
            yield _final(restart, iteration - 1, previous_model, previous_ll, start_time,
                         FAILED, notes, config)
            return


class _FixedSpread:
    """Soft k-means' M-step: means (and weights) as EM's, every σ² fixed.

    σ² is ``config.sigma`` squared, or, when that is None, the pooled
    spherical variance of the first M-step (the starting partition), kept for
    the rest of the run.
    """

    def __init__(self, config: FitConfig) -> None:
        self.variance = None if config.sigma is None else config.sigma ** 2
        self.equal_weights = config.equal_weights

    def apply(self, params: MStepResult) -> MStepResult:
        """``params`` with covariances (K,) = σ² and, if asked, weights = 1/K."""
        k = len(params.weights)
        if self.variance is None:
            self.variance = float(params.weights @ params.covariances)
        weights = np.full(k, 1.0 / k) if self.equal_weights else params.weights
        return dataclasses.replace(params, weights=weights,
                                   covariances=np.full(k, self.variance))


def _status(config, data, iteration, objective, previous, labels_stable, reseeded) -> str:
    """Converged when the objective changes by less than ``tol`` per row."""
    if previous is not None and not reseeded and (
            labels_stable or abs(objective - previous) / data.total_weight < config.tol):
        return CONVERGED
    if iteration >= config.max_iter:
        return MAX_ITER
    return RUNNING


def _final(restart, iteration, model, ll, start_time, status, notes, config,
           entropy: float | None = None) -> Snapshot:
    return Snapshot(restart, iteration, model, ll, time.perf_counter() - start_time,
                    status, notes.finish(status, iteration, config), entropy)


def _check_initial(model: MixtureModel, config: FitConfig) -> MixtureModel:
    if model.n_components != config.n_components or (
            model.covariance_type != config.covariance_type):
        raise InvalidModelError(
            f"initial_model is {model.n_components} x {model.covariance_type} but the "
            f"config asks for {config.n_components} x {config.covariance_type}."
        )
    return model


def _initial_mstep(data, config, kernel, rng, notes, restart) -> MStepResult:
    if config.init == "random":
        acc = stats_from_random_resp(data, kernel, rng)
    else:
        labels = initial_labels(data, config.init, config.n_components, rng, data.scale,
                                restart)
        acc = stats_from_labels(data, kernel, labels)
    # No scores before the first E-step: candidates are distinct random rows.
    worst = [(0.0, int(i)) for i in rng.choice(data.n_rows, size=config.n_components,
                                                replace=False)]
    return _mstep(data, config, kernel, kernel.to_stats(acc), worst, notes, 0)


def _mstep(data, config, kernel, stats, worst, notes, iteration, model=None,
           noise_pass=None) -> MStepResult:
    """The M-step; ``noise_pass`` (a PassResult) leaves out what the noise claimed."""
    previous = None
    if model is not None and covariance_model(config.covariance_type).layout == "general":
        previous = model.covariances
    total_weight = data.total_weight
    total_scatter = data.total_scatter() if config.covariance_type == "tied" else None
    if noise_pass is not None:
        total_weight -= noise_pass.noise_nk
        if total_scatter is not None:
            total_scatter = total_scatter - noise_pass.noise_scatter
    result = estimate_parameters(
        stats, config.covariance_type, total_weight=total_weight, n_rows=data.n_rows,
        metric=data.floor_metric(config.covariance_type), variance_floor=config.variance_floor,
        total_scatter=total_scatter, previous=previous, in_em=True,
    )
    rows = reseed_empty(result, config.covariance_type, worst,
                        lambda i: data.X[i] - data.centre, data.n_rows)
    notes.reseeded(result.empty[:len(rows)], rows, iteration)
    message = ("an empty component found no distinct row to restart on: the data has fewer "
               "distinct rows than components; use fewer components.")
    if len(rows) < len(result.empty) and message not in notes.messages:
        notes.add(message)
    notes.floored = result.floored
    return result


def _to_model(params: MStepResult, data: PreparedData, config: FitConfig,
              noise: Noise | None = None, prec_chol: np.ndarray | None = None
              ) -> MixtureModel:
    """The model of centred M-step output, in the data's coordinates.

    ``prec_chol``: its precision factors when already computed (the batch's).
    """
    if noise is None:
        return MixtureModel.trusted(params.weights, params.means + data.centre,
                                    params.covariances, config.covariance_type,
                                    prec_chol=prec_chol)
    return MixtureModel.trusted(params.weights, params.means + data.centre, params.covariances,
                                config.covariance_type, noise.weight, noise.volume)


def _as_params(model: MixtureModel, data: PreparedData) -> MStepResult:
    """A model without noise as M-step output (centred): to add noise to, or to resume."""
    k = model.n_components
    return MStepResult(np.array(model.weights), np.array(model.means) - data.centre,
                       np.array(model.covariances), np.zeros(k, dtype=bool), [])
