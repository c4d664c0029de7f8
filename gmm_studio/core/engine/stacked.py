"""The parameters of a batch's runs, stacked component-wise.

R runs with K_r components each hold C = ΣK_r components in one set of
arrays, in centred coordinates: weights (C,), means (C, D), covariances and
their precision Cholesky factors in the stack's layout, (C, D, D), (C, D) or
(C,), or (R, D, D) for tied (one matrix per run). Keeping them stacked means
an iteration costs the same few NumPy calls whatever R is.

A stack holds the runs of one layout (``stack_layout``): the diagonal,
spherical and tied models alone, and every model stored as (C, D, D)
matrices together (full and the ten constrained models in one stack, the
four axis-aligned ones among them in another), each model's runs side by
side; the M-step's shared parts then run once for all of them, and only each
model's own step once per model.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np

from ..errors import GMMStudioError
from ..model.families import covariance_model
from ..model.gaussian import not_positive_definite, precision_cholesky
from .grouped import Segments, general_mstep, grouped_mstep
from .mstep import MStepResult
from .prepared import PreparedData


@lru_cache(maxsize=32)
def family(covariance_type: str) -> str:
    """Which features a model's E-step needs: "full" [1, x, x_i x_j] or "diag" [1, x, x²]."""
    return "diag" if covariance_model(covariance_type).kernel in ("diag", "spherical") \
        else "full"


@lru_cache(maxsize=32)
def stack_layout(covariance_type: str) -> str:
    """Which stack a model's runs join: "tied", "diag", "spherical", or for the
    models stored as (K, D, D) matrices "general" (full and the ellipsoidal
    ten) or "general-diag" (EII, EEI, VEI, EVI: diagonal matrices)."""
    spec = covariance_model(covariance_type)
    if spec.layout in ("tied", "diag", "spherical"):
        return spec.layout
    return "general-diag" if spec.diagonal else "general"


@dataclass
class Stack:
    """Stacked parameters of the runs of one layout (see the module).

    ``covariance_type`` is the first run's model (the layout and feature
    family are the same for all); ``kinds`` (R,) each run's model, runs of
    one model side by side.
    """

    covariance_type: str
    kinds: np.ndarray
    sizes: np.ndarray
    weights: np.ndarray
    means: np.ndarray
    covariances: np.ndarray
    prec_chol: np.ndarray
    floored: np.ndarray
    _segments: Segments | None = field(default=None, repr=False)
    _models: tuple | None = field(default=None, repr=False)

    @classmethod
    def of(cls, kinds: list[str], starts: list[MStepResult], precs: list[np.ndarray]
           ) -> Stack:
        """Stack each run's start (an M-step result) and its precision factors.

        ``kinds`` (R,): each run's model, one layout, each model's runs together.
        """
        tied = kinds[0] == "tied"
        join = np.stack if tied else np.concatenate
        return cls(kinds[0], np.array(kinds, dtype=object),
                   np.array([len(s.weights) for s in starts]),
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

    @property
    def models(self) -> tuple[tuple[str, slice, Segments], ...]:
        """Each model's runs: (mclust's name, its components' slice, their Segments)."""
        if self._models is None:
            seg, parts, r = self.segments, [], 0
            while r < len(self.kinds):
                end = r + 1
                while end < len(self.kinds) and self.kinds[end] == self.kinds[r]:
                    end += 1
                lo = int(seg.starts[r])
                hi = lo + int(self.sizes[r:end].sum())
                parts.append((covariance_model(self.kinds[r]).name, slice(lo, hi),
                              Segments.of(self.sizes[r:end])))
                r = end
            self._models = tuple(parts)
        return self._models

    def run_params(self, r: int) -> MStepResult:
        """Run r's parameters as an M-step result (copies)."""
        lo = int(self.sizes[:r].sum())
        hi = lo + int(self.sizes[r])
        cov = self.covariances[r] if self.covariance_type == "tied" else self.covariances[lo:hi]
        return MStepResult(self.weights[lo:hi].copy(), self.means[lo:hi].copy(), cov.copy(),
                           self.floored[lo:hi].copy(), [])

    def run_precisions(self, r: int) -> np.ndarray:
        """Run r's precision factors (a view), in its model's layout: (K, ...) or (D, D) tied."""
        if self.covariance_type == "tied":
            return self.prec_chol[r]
        lo = int(self.sizes[:r].sum())
        return self.prec_chol[lo:lo + int(self.sizes[r])]

    def keep(self, runs: np.ndarray) -> None:
        """Keep the runs marked in ``runs`` (R,) bool, dropping the others' components."""
        if runs.all():
            return
        self._segments = self._models = None
        parts = np.repeat(runs, self.sizes)
        self.sizes, self.kinds = self.sizes[runs], self.kinds[runs]
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

    def m_step(self, data: PreparedData, acc: np.ndarray, variance_floor: float,
               first: bool = False) -> np.ndarray:
        """Every run's M-step from its statistics ``acc`` (C, F); returns runs that fail (R,).

        ``grouped_mstep`` computes what ``em._mstep`` would, for all runs at
        once; ``first``: the first M-step, from a start's statistics, with no
        previous model to warm-start from. A failing run (a covariance not
        positive definite, or not finite) gets placeholder precision factors
        and is to leave the batch.
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
        # A run going back from a failed jump may have near-empty components here;
        # its result is dropped, and nothing else can divide by zero.
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            if stack_layout(kind).startswith("general"):
                weights, means, cov, floored = general_mstep(
                    self.models, acc[:, 0], acc[:, 1:1 + d], second, seg,
                    metric=data.floor_metric(kind), variance_floor=variance_floor,
                    previous=None if first else self.covariances)
            else:
                weights, means, cov, floored = grouped_mstep(
                    kind, acc[:, 0], acc[:, 1:1 + d], second, seg,
                    total_weight=data.total_weight, metric=data.floor_metric(kind),
                    variance_floor=variance_floor,
                    total_scatter=data.total_scatter() if kind == "tied" else None)
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
        for attempt in range(2):
            if bad.any():
                cov = cov.copy()
                cov[bad if tied else np.repeat(bad, self.sizes)] = placeholder
            try:
                return precision_cholesky(cov, layout)
            except GMMStudioError:
                pass
            if attempt == 0:
                # Some run's matrix has no factor (a failed jump, or a collapse):
                # find them all in one batched check, not one factorisation per run.
                bad |= self._runs_without_factor(cov)
        # A matrix at the edge that the check and LAPACK judge apart: run by run.
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

    def _runs_without_factor(self, cov: np.ndarray) -> np.ndarray:
        """Runs (R,) with a covariance that has no Cholesky factor (not positive)."""
        if cov.ndim == 3:
            failing = not_positive_definite(cov)
        else:
            failing = ~(cov > 0) if cov.ndim == 1 else ~(cov > 0).all(axis=1)
        if self.covariance_type == "tied":
            return failing
        return np.logical_or.reduceat(failing, self.segments.starts)
