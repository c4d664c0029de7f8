"""The parameters of a batch's runs, stacked component-wise.

R runs with K_r components each hold C = ΣK_r components in one set of
arrays, in centred coordinates: weights (C,), means (C, D), and every
model's covariances and their precision Cholesky factors as (C, D, D)
matrices (a tied run's one matrix repeated, a diagonal or round one's on
the diagonal). Keeping them stacked means an iteration costs the same few
NumPy calls whatever R is.

A stack holds the runs of one layout (``stack_layout``): the models with
full matrices (full, tied and the six other ellipsoidal ones) in one, the
axis-aligned six in another, each model's runs side by side; the M-step's
shared parts then run once for all of them, and only each model's own step
once per model. Runs enter in their model's own layout (``Stack.of``) and
leave in it (``run_params``).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from functools import lru_cache

import numpy as np

from ..errors import GMMStudioError
from ..model.families import covariance_model
from ..model.gaussian import full_covariances, not_positive_definite, precision_cholesky
from .grouped import Segments, general_mstep
from .mstep import MStepResult
from .prepared import PreparedData


@lru_cache(maxsize=32)
def family(covariance_type: str) -> str:
    """Which features a model's E-step needs: "full" [1, x, x_i x_j] or "diag" [1, x, x²]."""
    return "diag" if covariance_model(covariance_type).kernel in ("diag", "spherical") \
        else "full"


@lru_cache(maxsize=32)
def _triangle(d: int) -> tuple[np.ndarray, np.ndarray]:
    """The upper triangle's row and column indices (D(D+1)/2,): made once per D, not per pass."""
    return np.triu_indices(d)


@lru_cache(maxsize=32)
def stack_layout(covariance_type: str) -> str:
    """Which stack a model's runs join: "general" (full, tied and the other
    ellipsoidal models) or "general-diag" (diag, spherical, EII, EEI, VEI,
    EVI: diagonal matrices). One stack for more models means fewer M-steps
    per pass: on a 1-D sweep the two models share one."""
    return "general-diag" if covariance_model(covariance_type).diagonal else "general"


def _in_layout(matrices: np.ndarray, covariance_type: str) -> np.ndarray:
    """(K, D, D) matrices back in a model's own layout (a copy)."""
    layout = covariance_model(covariance_type).layout
    if layout == "tied":
        return matrices[0].copy()
    if layout == "diag":
        return np.diagonal(matrices, axis1=1, axis2=2).copy()
    if layout == "spherical":
        return matrices[:, 0, 0].copy()
    return matrices.copy()


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
    _share: np.ndarray | None = field(default=None, repr=False)
    _factored: tuple | None = field(default=None, repr=False)

    @classmethod
    def of(cls, kinds: list[str], starts: list[MStepResult], precs: list[np.ndarray]
           ) -> Stack:
        """Stack each run's start (an M-step result) and its precision factors.

        ``kinds`` (R,): each run's model, one layout, each model's runs
        together; starts and factors come in each model's own layout.
        """
        d = starts[0].means.shape[1]
        sizes = [len(start.weights) for start in starts]
        return cls(kinds[0], np.array(kinds, dtype=object), np.array(sizes),
                   np.concatenate([start.weights for start in starts]),
                   np.concatenate([start.means for start in starts]),
                   np.concatenate([full_covariances(start.covariances, kind, k, d)
                                   for start, kind, k in zip(starts, kinds, sizes, strict=True)]),
                   np.concatenate([full_covariances(prec, kind, k, d)
                                   for prec, kind, k in zip(precs, kinds, sizes, strict=True)]),
                   np.concatenate([start.floored for start in starts]))

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
                hi = int(seg.starts[end]) if end < len(self.kinds) else len(seg.ids)
                # The model's own segments, cut from the stack's (no cumsum again).
                parts.append((covariance_model(self.kinds[r]).name, slice(lo, hi),
                              Segments(seg.sizes[r:end], seg.starts[r:end] - lo,
                                       seg.ids[lo:hi] - r)))
                r = end
            self._models = tuple(parts)
        return self._models

    @property
    def covariance_share(self) -> np.ndarray:
        """Each component's share (C,) of its run's covariance entries in the model's layout.

        A tied run stores one matrix (K copies here), a round one one variance
        per component (D here): SQUAREM's step length weighs a run's
        parameters as its own layout counts them.
        """
        if self._share is None:
            d = self.means.shape[1]
            share = np.ones(len(self.weights))
            for name, part, sub in self.models:
                if name == "EEE":
                    share[part] = 1.0 / sub.sizes[sub.ids]
                elif name == "VII":
                    share[part] = 1.0 / d
            self._share = share
        return self._share

    @property
    def factored(self) -> tuple[np.ndarray, np.ndarray] | None:
        """Which components (F,) to factorise, and whose factor each component takes (C,).

        A tied run's K matrices are one matrix: it is factorised once. None
        when every component is its own.
        """
        if self._factored is None:
            tied = [(part, sub) for name, part, sub in self.models if name == "EEE"]
            if not tied:
                self._factored = (None,)
            else:
                source = np.arange(len(self.weights))
                for part, sub in tied:
                    source[part] = part.start + sub.starts[sub.ids]
                rows, inverse = np.unique(source, return_inverse=True)
                self._factored = (rows, inverse)
        return None if self._factored[0] is None else self._factored

    def _rows(self, r: int) -> slice:
        lo = int(self.sizes[:r].sum())
        return slice(lo, lo + int(self.sizes[r]))

    def run_params(self, r: int) -> MStepResult:
        """Run r's parameters as an M-step result in its model's layout (copies)."""
        rows = self._rows(r)
        return MStepResult(self.weights[rows].copy(), self.means[rows].copy(),
                           _in_layout(self.covariances[rows], self.kinds[r]),
                           self.floored[rows].copy(), [])

    def run_precisions(self, r: int) -> np.ndarray:
        """Run r's precision factors in its model's layout (a copy): (K, D, D), (D, D) tied, ..."""
        return _in_layout(self.prec_chol[self._rows(r)], self.kinds[r])

    def keep(self, runs: np.ndarray) -> None:
        """Keep the runs marked in ``runs`` (R,) bool, dropping the others' components."""
        if runs.all():
            return
        self._segments = self._models = self._share = self._factored = None
        parts = np.repeat(runs, self.sizes)
        self.sizes, self.kinds = self.sizes[runs], self.kinds[runs]
        self.weights, self.means = self.weights[parts], self.means[parts]
        self.floored = self.floored[parts]
        self.covariances, self.prec_chol = self.covariances[parts], self.prec_chol[parts]

    def kernel_prec(self) -> np.ndarray:
        """Precision factors as the family's kernel reads them: (C, D, D) or diagonals (C, D)."""
        if family(self.covariance_type) == "full":
            return self.prec_chol
        return np.diagonal(self.prec_chol, axis1=1, axis2=2)

    def m_step(self, data: PreparedData, acc: np.ndarray, variance_floor: float,
               first: bool = False) -> np.ndarray:
        """Every run's M-step from its statistics ``acc`` (C, F); returns runs that fail (R,).

        ``general_mstep`` computes what ``em._mstep`` would, for all runs at
        once; ``first``: the first M-step, from a start's statistics, with no
        previous model to warm-start from. A failing run (a covariance not
        positive definite, or not finite) gets placeholder precision factors
        and is to leave the batch.
        """
        d = data.n_features
        kind = self.covariance_type
        seg = self.segments
        if family(kind) == "diag":
            second = acc[:, 1 + d:]
        else:
            iu, ju = _triangle(d)
            second = np.empty((len(acc), d, d))
            second[:, iu, ju] = acc[:, 1 + d:]
            second[:, ju, iu] = acc[:, 1 + d:]
        tied = any(name == "EEE" for name, _, _ in self.models)
        # A run going back from a failed jump may have near-empty components here;
        # its result is dropped, and nothing else can divide by zero.
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            weights, means, cov, floored = general_mstep(
                self.models, acc[:, 0], acc[:, 1:1 + d], second, seg,
                metric=data.floor_metric(kind), variance_floor=variance_floor,
                previous=None if first else self.covariances,
                total_scatter=data.total_scatter() if tied else None,
                total_weight=data.total_weight)
        ok_means = np.logical_and.reduceat(np.isfinite(means).all(axis=1), seg.starts)
        ok_cov = np.logical_and.reduceat(np.isfinite(cov.reshape(len(cov), -1)).all(axis=1),
                                         seg.starts)
        bad = ~(ok_means & ok_cov)
        prec = self._precisions(cov, bad)
        self.weights, self.means, self.covariances, self.floored = weights, means, cov, floored
        self.prec_chol = prec
        return bad

    def refresh_precisions(self, runs: np.ndarray | None = None) -> np.ndarray:
        """Recompute the precision factors of the marked runs' covariances (R,) bool, or
        all runs'; returns the runs (R,) that have none.

        Such runs get placeholder factors, to be replaced by the caller. The
        other runs keep theirs: after a SQUAREM cycle only the runs that
        jumped or went back have new covariances (about a third of them on
        569 x 30), and factorising every run again cost ~0.2 s of its sweep.
        """
        ok = np.isfinite(self.covariances.reshape(len(self.covariances), -1)).all(axis=1)
        bad = ~np.logical_and.reduceat(ok, self.segments.starts)
        if runs is None or runs.all():
            self.prec_chol = self._precisions(self.covariances, bad)
            return bad
        if not runs.any():
            return np.zeros_like(bad)
        parts = np.repeat(runs, self.sizes)
        sub = replace(self, kinds=self.kinds[runs], sizes=self.sizes[runs],
                      weights=self.weights[parts], means=self.means[parts],
                      covariances=self.covariances[parts], prec_chol=self.prec_chol[parts],
                      floored=self.floored[parts], _segments=None, _models=None,
                      _share=None, _factored=self._factored_part(parts))
        marked = bad[runs]
        self.prec_chol = self.prec_chol.copy()
        self.prec_chol[parts] = sub._precisions(sub.covariances, marked)
        out = np.zeros_like(bad)
        out[runs] = marked
        return out

    def _factored_part(self, parts: np.ndarray) -> tuple:
        """``factored`` of the stack of the marked components (C,) bool, from this one's.

        Runs are kept whole, so a tied run's matrix stays its own first
        component's: no pass over the runs' models (which costs more than
        the factors of a few small matrices).
        """
        if self.factored is None:
            return (None,)
        rows, inverse = self.factored
        local = np.cumsum(parts) - 1                 # each kept component's new index
        source = local[rows[inverse[parts]]]          # (C',) whose matrix each one has
        own = source == np.arange(len(source))
        if own.all():                                 # no tied run among them
            return (None,)
        return np.flatnonzero(own), (np.cumsum(own) - 1)[source]

    def _precisions(self, cov: np.ndarray, bad: np.ndarray) -> np.ndarray:
        """Precision factors of ``cov`` (C, D, D); runs whose matrices have none are marked
        in ``bad``.

        Leaving runs get placeholder factors: the batch drops them next.
        """
        if stack_layout(self.covariance_type) == "general-diag":
            return self._diagonal_precisions(cov, bad)
        for attempt in range(2):
            if bad.any():
                cov = cov.copy()
                cov[np.repeat(bad, self.sizes)] = np.eye(cov.shape[-1])
            try:
                if self.factored is None:
                    return precision_cholesky(cov, "full")
                rows, inverse = self.factored
                return precision_cholesky(cov[rows], "full")[inverse]
            except GMMStudioError:
                pass
            if attempt == 0:
                # Some run's matrix has no factor (a failed jump, or a collapse):
                # find them all in one batched check, not one factorisation per run.
                bad |= np.logical_or.reduceat(not_positive_definite(cov), self.segments.starts)
        # A matrix at the edge that the check and LAPACK judge apart: run by run.
        out = np.empty_like(cov)
        seg = self.segments
        for r in range(len(self.sizes)):
            part = slice(seg.starts[r], seg.starts[r] + self.sizes[r])
            try:
                out[part] = precision_cholesky(cov[part], "full")
            except GMMStudioError:
                bad[r] = True
                out[part] = np.eye(cov.shape[-1])
        return out

    def _diagonal_precisions(self, cov: np.ndarray, bad: np.ndarray) -> np.ndarray:
        """``_precisions`` of diagonal matrices: 1 / √variance on the diagonal, no LAPACK.

        What the Cholesky route gives for a diagonal matrix, bit for bit; a run
        with a variance that is not positive is marked in ``bad``.
        """
        variances = np.diagonal(cov, axis1=1, axis2=2)
        bad |= ~np.logical_and.reduceat((variances > 0).all(axis=1), self.segments.starts)
        if bad.any():
            variances = np.where(np.repeat(bad, self.sizes)[:, None], 1.0, variances)
        return (1.0 / np.sqrt(variances))[:, :, None] * np.eye(cov.shape[-1])
