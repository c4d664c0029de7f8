"""A model sweep's screening race: stop fits that can no longer be among those it refines.

A sweep's first stage fits every (K, covariance model) once and refines the
best few by BIC. Most fits converge in tens of passes; some (EVE and VVE at
30 columns, say) creep on for hundreds while thousands of BIC units behind.
Once ``top`` finished, non-degenerate fits are better than the best such a
fit could reach by max_iter at its best recent pace (``batch_runs.Group.best_case``),
it cannot be refined whatever it does: it stops where it is, and its row
says so.
"""

from __future__ import annotations

import bisect
import math

import numpy as np

from ..config import FitConfig
from ..model.gaussian import n_parameters

# BIC units a fit's best case must trail the last refined fit's by to stop.
MARGIN = 10.0


class Screen:
    """``iterate_many``'s ``give_up`` for one stage's ``configs``, fed its finished rows."""

    def __init__(self, configs: list[FitConfig], n_features: int, n_samples: float,
                 log_jacobian: float, top: int) -> None:
        self.penalty = np.array([n_parameters(c.n_components, n_features, c.covariance_type)
                                 for c in configs]) * math.log(n_samples)
        self.shift = log_jacobian * n_samples    # to the data file's units, as the rows
        self.top = top
        self.finished: list[float] = []          # finished non-degenerate BICs, sorted

    def add(self, bic: float, degenerate: bool) -> None:
        """A finished row of the stage: only usable ones can be refined, so only they count."""
        if not degenerate and math.isfinite(bic):
            bisect.insort(self.finished, bic)

    def __call__(self, jobs: list[int], best_case: np.ndarray) -> np.ndarray:
        """(R,) bool: the runs of configs ``jobs`` (R,) whose best-case log L (R,) is hopeless."""
        if len(self.finished) < self.top:
            return np.zeros(len(jobs), dtype=bool)
        bic = -2.0 * (best_case + self.shift) + self.penalty[jobs]
        return bic > self.finished[self.top - 1] + MARGIN
