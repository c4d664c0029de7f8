"""The parameters of a batch's runs of one covariance model, stacked component-wise.

R runs with K_r components each hold C = ΣK_r components in one set of
arrays, in centred coordinates: weights (C,), means (C, D), covariances and
their precision Cholesky factors in the model's layout, (C, D, D), (C, D) or
(C,), or (R, D, D) for tied (one matrix per run). Keeping them stacked means
an iteration costs the same few NumPy calls whatever R is.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np

from ..errors import GMMStudioError
from ..model.families import covariance_model
from ..model.gaussian import precision_cholesky
from .grouped import Segments, grouped_mstep
from .mstep import MStepResult
from .prepared import PreparedData


@lru_cache(maxsize=32)
def family(covariance_type: str) -> str:
    """Which features a model's E-step needs: "full" [1, x, x_i x_j] or "diag" [1, x, x²]."""
    return "diag" if covariance_model(covariance_type).kernel in ("diag", "spherical") \
        else "full"


@dataclass
class Stack:
    """Stacked parameters of the runs of one covariance model (see the module)."""

    covariance_type: str
    sizes: np.ndarray
    weights: np.ndarray
    means: np.ndarray
    covariances: np.ndarray
    prec_chol: np.ndarray
    floored: np.ndarray
    _segments: Segments | None = field(default=None, repr=False)

    @classmethod
    def of(cls, covariance_type: str, starts: list[MStepResult], precs: list[np.ndarray]
           ) -> Stack:
        """Stack each run's start (an M-step result) and its precision factors."""
        tied = covariance_type == "tied"
        join = np.stack if tied else np.concatenate
        return cls(covariance_type, np.array([len(s.weights) for s in starts]),
                   np.concatenate([s.weights for s in starts]),
                   np.concatenate([s.means for s in starts]),
                   join([s.covariances for s in starts]), join(precs),
                   np.concatenate([s.floored for s in starts]))

    @property
    def segments(self) -> Segments:
        """Which run each component belongs to (made again only when runs leave)."""
        if self._segments is None:
            self._segments = Segments.of(self.sizes)
        return self._segments

    def run_params(self, r: int) -> MStepResult:
        """Run r's parameters as an M-step result (copies)."""
        lo = int(self.sizes[:r].sum())
        hi = lo + int(self.sizes[r])
        cov = self.covariances[r] if self.covariance_type == "tied" else self.covariances[lo:hi]
        return MStepResult(self.weights[lo:hi].copy(), self.means[lo:hi].copy(), cov.copy(),
                           self.floored[lo:hi].copy(), [])

    def keep(self, runs: np.ndarray) -> None:
        """Keep the runs marked in ``runs`` (R,) bool, dropping the others' components."""
        if runs.all():
            return
        self._segments = None
        parts = np.repeat(runs, self.sizes)
        self.sizes = self.sizes[runs]
        self.weights, self.means = self.weights[parts], self.means[parts]
        self.floored = self.floored[parts]
        per = runs if self.covariance_type == "tied" else parts
        self.covariances, self.prec_chol = self.covariances[per], self.prec_chol[per]

    def kernel_prec(self) -> np.ndarray:
        """Precision factors as the family's kernel reads them: (C, D, D) or (C, D)."""
        prec, d = self.prec_chol, self.means.shape[1]
        if self.covariance_type == "tied":
            return np.repeat(prec, self.sizes, axis=0)
        if family(self.covariance_type) == "full":
            return prec
        if prec.ndim == 3:          # EII, EEI, VEI, EVI store diagonal (K, D, D) matrices
            return np.diagonal(prec, axis1=1, axis2=2)
        return np.broadcast_to(prec[:, None], (len(prec), d)) if prec.ndim == 1 else prec

    def m_step(self, data: PreparedData, acc: np.ndarray, variance_floor: float) -> np.ndarray:
        """Every run's M-step from its statistics ``acc`` (C, F); returns runs that fail (R,).

        ``grouped_mstep`` computes what ``em._mstep`` would, for all runs at
        once. A failing run (a covariance not positive definite, or not
        finite) gets placeholder precision factors and is to leave the batch.
        """
        d = data.n_features
        kind = self.covariance_type
        seg = self.segments
        if kind == "tied":
            second = None
        elif family(kind) == "diag":
            second = acc[:, 1 + d:]
        else:
            iu, ju = np.triu_indices(d)
            second = np.empty((len(acc), d, d))
            second[:, iu, ju] = acc[:, 1 + d:]
            second[:, ju, iu] = acc[:, 1 + d:]
        general = covariance_model(kind).layout == "general"
        # A run going back from a failed jump may have near-empty components here;
        # its result is dropped, and nothing else can divide by zero.
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            weights, means, cov, floored = grouped_mstep(
                kind, acc[:, 0], acc[:, 1:1 + d], second, seg, total_weight=data.total_weight,
                metric=data.floor_metric(kind), variance_floor=variance_floor,
                total_scatter=data.total_scatter() if kind == "tied" else None,
                previous=self.covariances if general else None)
        ok_means = np.logical_and.reduceat(np.isfinite(means).all(axis=1), seg.starts)
        ok_cov = np.isfinite(cov.reshape(len(cov), -1)).all(axis=1)  # (R,) tied, else (C,)
        if kind != "tied":
            ok_cov = np.logical_and.reduceat(ok_cov, seg.starts)
        bad = ~(ok_means & ok_cov)
        prec = self._precisions(cov, bad)
        self.weights, self.means, self.covariances, self.floored = weights, means, cov, floored
        self.prec_chol = prec
        return bad

    def refresh_precisions(self) -> np.ndarray:
        """Recompute the precision factors of the covariances; runs (R,) that have none.

        Such runs get placeholder factors, to be replaced by the caller.
        """
        ok = np.isfinite(self.covariances.reshape(len(self.covariances), -1)).all(axis=1)
        if self.covariance_type != "tied":
            ok = np.logical_and.reduceat(ok, self.segments.starts)
        bad = ~ok
        self.prec_chol = self._precisions(self.covariances, bad)
        return bad

    def _precisions(self, cov: np.ndarray, bad: np.ndarray) -> np.ndarray:
        """Precision factors of ``cov``; runs whose matrices have none are marked in ``bad``.

        Leaving runs get placeholder factors: the batch drops them next.
        """
        tied = self.covariance_type == "tied"
        layout = "full" if tied else self.covariance_type
        placeholder = np.eye(cov.shape[-1]) if cov.ndim == 3 else 1.0
        if bad.any():
            cov = cov.copy()
            cov[bad if tied else np.repeat(bad, self.sizes)] = placeholder
        try:
            return precision_cholesky(cov, layout)
        except GMMStudioError:
            pass
        out = np.empty_like(cov)
        seg = self.segments
        for r in range(len(self.sizes)):
            lo = r if tied else seg.starts[r]
            part = slice(lo, lo + (1 if tied else self.sizes[r]))
            try:
                out[part] = precision_cholesky(cov[part], layout)
            except GMMStudioError:
                bad[r] = True
                out[part] = placeholder
        return out
