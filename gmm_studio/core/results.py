"""Immutable values the engine hands out: per-iteration snapshots and results."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .config import FitConfig
from .model.mixture import MixtureModel

RUNNING, CONVERGED, MAX_ITER, CANCELLED, FAILED = (
    "running", "converged", "max_iter", "cancelled", "failed")
# A model sweep's screening stage stops a fit that can no longer reach the
# fits it would refine (analysis.selection); its model is its last iteration's.
SCREENED = "screened"
# A sweep's refining stage stops a restart that has had a component on the
# variance floor for many iterations in a row (engine.batch): it would end
# degenerate, and the fit keeps its best other restart if one ran to the end.
COLLAPSED = "collapsed"


@dataclass(frozen=True)
class Snapshot:
    """The state after one iteration of one restart.

    ``iteration`` counts M-steps (0 is the initial model); ``log_likelihood``
    is the total (weighted) log-likelihood of exactly ``model`` on the data;
    ``elapsed`` is seconds since the restart began; ``status`` is "running"
    until the restart's last snapshot, which says how it ended.
    """

    restart: int
    iteration: int
    model: MixtureModel
    log_likelihood: float
    elapsed: float
    status: str = RUNNING
    warnings: tuple[str, ...] = ()
    # -sum_n w_n sum_k r_nk log r_nk of ``model``, on a last snapshot whose
    # pass summed it (PreparedData.with_entropy); else None.
    entropy: float | None = None

    @property
    def done(self) -> bool:
        """True on the last snapshot of a restart."""
        return self.status != RUNNING


@dataclass(frozen=True, eq=False)
class FitResult:
    """Outcome of ``fit``: the best restart's model and how it got there.

    labels (N,) are the most probable components under ``model`` (empty for
    out-of-core fits, which keep nothing per row);
    log_likelihood_history (n_iter + 1,) is the kept run's log-likelihood after
    each iteration (index 0 = initial model); restart_log_likelihoods (n_init,)
    are final values (NaN for a failed restart). ``n_parameters`` counts what
    the algorithm estimates (k-means: K*D means and one shared variance).
    """

    model: MixtureModel
    config: FitConfig
    log_likelihood: float
    log_likelihood_history: np.ndarray
    n_iter: int
    converged: bool
    status: str
    restart_log_likelihoods: np.ndarray
    best_restart: int
    labels: np.ndarray
    warnings: tuple[str, ...]
    n_parameters: int
    n_samples: float
    elapsed: float
    # -sum_n w_n sum_k r_nk log r_nk of ``model`` on the fitted rows, when the
    # fit had it on the way (a sweep's last E-step); else None.
    entropy: float | None = None

    def criteria(self, log_jacobian: float = 0.0) -> tuple[float, float, float]:
        """(log-likelihood, BIC, AIC); BIC and AIC are smaller-is-better.

        ``log_jacobian`` (per row) converts a fit on transformed data (e.g.
        z-scores) to the units of the data file, so criteria compare across fits.
        """
        ll = self.log_likelihood + log_jacobian * self.n_samples
        return (ll, -2.0 * ll + self.n_parameters * np.log(self.n_samples),
                -2.0 * ll + 2.0 * self.n_parameters)

    @property
    def bic(self) -> float:
        """-2 log L + p log n on the fitted data (smaller is better)."""
        return self.criteria()[1]

    @property
    def aic(self) -> float:
        """-2 log L + 2 p on the fitted data (smaller is better)."""
        return self.criteria()[2]

    def summary(self) -> dict:
        """JSON-safe summary of the fit."""
        return {
            "n_components": self.model.n_components,
            "covariance_type": self.model.covariance_type,
            "algorithm": self.config.algorithm,
            "log_likelihood": self.log_likelihood,
            "bic": self.bic,
            "aic": self.aic,
            "n_iter": self.n_iter,
            "converged": self.converged,
            "status": self.status,
            "warnings": list(self.warnings),
        }
