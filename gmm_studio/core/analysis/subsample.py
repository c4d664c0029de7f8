"""A model sweep of big data: each fit on a seeded subsample, scored on every row.

Fitting every (K, model) on a million rows costs minutes; a subsample of
SUBSAMPLE_ROWS rows finds the same optima to within what the criteria can
tell apart, and FULL_PASSES EM iterations over every row from there score
the fit on all of them.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np

from ..config import FitConfig
from ..engine.fitting import fit_prepared
from ..engine.prepared import PreparedData, prepare
from ..model.mixture import MixtureModel
from ..results import FitResult
from .held_out import fold_ids

# On more rows than SUBSAMPLE_ABOVE each fit of a sweep is fitted on a seeded
# subsample of SUBSAMPLE_ROWS rows (restarts and all; a stage's fits batched
# as on small data) and then refined by FULL_PASSES EM iterations over every
# row, where it is scored: the work per fit is then FULL_PASSES + 1 passes
# over the data, the last of which also sums the entropy ICL needs.
# Cross-validation then holds out every row outside the subsample.
SUBSAMPLE_ABOVE = 100_000
SUBSAMPLE_ROWS = 10_000
FULL_PASSES = 2
HELD_OUT_ROWS = 100_000


def big_sweep_note() -> str:
    """How a sweep of more than SUBSAMPLE_ABOVE rows scores its fits, in one sentence."""
    return (f"On more than {SUBSAMPLE_ABOVE:,} rows each fit runs on a {SUBSAMPLE_ROWS:,}-row "
            f"subsample and is scored after {FULL_PASSES} EM iterations over every row from "
            "there (not to convergence).")


@dataclass(frozen=True, eq=False)
class Subsample:
    """A sweep's seeded subsample: row numbers (n,), its rows prepared; all rows prepared."""

    rows: np.ndarray
    sample: PreparedData
    data: PreparedData

    @classmethod
    def of(cls, X: np.ndarray, sample_weight, data: PreparedData, seed) -> Subsample:
        """SUBSAMPLE_ROWS rows of X, in file order, the same for the same seed."""
        rows = np.sort(np.random.default_rng(seed).choice(len(X), SUBSAMPLE_ROWS,
                                                          replace=False))
        return cls(rows, prepare(np.asarray(X)[rows], None if sample_weight is None
                                 else np.asarray(sample_weight)[rows]), data)

    def refine(self, config: FitConfig, fitted: FitResult, cancel
               ) -> tuple[MixtureModel, FitResult]:
        """FULL_PASSES on every row from ``fitted``, the fit of ``config`` on the subsample.

        Returns the subsample's model and the result on every row, with its entropy.
        """
        start = fitted.model
        data = dataclasses.replace(self.data, cancel=cancel, with_entropy=True)
        return start, fit_prepared(data, config.replace(n_init=1, max_iter=FULL_PASSES),
                                   start, with_labels=False)

    def held_out(self, model: MixtureModel, folds: int, seed,
                 log_jacobian: float = 0.0) -> tuple[float, float, str]:
        """Cross-validation's figures for a model fitted on the subsample alone.

        The rows outside it are held out (a seeded HELD_OUT_ROWS of them when
        there are more): their mean log-likelihood per row, split into
        ``folds`` seeded parts, gives the mean and std over the parts (one
        pass over them instead of ``folds`` whole fits).
        """
        outside = np.ones(self.data.n_rows, dtype=bool)
        outside[self.rows] = False
        test = np.flatnonzero(outside)
        if len(test) > HELD_OUT_ROWS:  # a mean of 100,000 rows is precise enough
            test = np.sort(np.random.default_rng(seed).choice(test, HELD_OUT_ROWS,
                                                              replace=False))
        X, w = self.data.X[test], self.data.sample_weight
        w = None if w is None else w[test]
        dens = model.score_samples(X) + log_jacobian
        ids = fold_ids(len(dens), folds, seed)
        scores = [float(dens[ids == f].mean() if w is None
                        else w[ids == f] @ dens[ids == f] / w[ids == f].sum())
                  for f in range(folds)]
        return float(np.mean(scores)), float(np.std(scores)), ""
