"""Scoring rows under a model in the data file's units: log p(x), labels, histograms."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from ..engine.fitting import score_prepared
from ..engine.prepared import prepare
from ..model.mixture import MixtureModel

if TYPE_CHECKING:  # the dataset module imports pandas (0.25 s)
    from ..data.dataset import Dataset


def log_density(dataset: Dataset, model: MixtureModel) -> np.ndarray:
    """log p(x) in the data's own units (N,), whatever the preprocessing.

    A model fitted on z-scores is a density over z; the Jacobian of the
    transform brings it back to the units of the file.
    """
    return model.score_samples(dataset.X) + dataset.preprocessing.log_jacobian()


@dataclass(frozen=True, eq=False)
class RowScores:
    """Every used row scored under one model, for the Anomalies and Table tabs.

    labels (N,) most probable component; log_density (N,) log p(x) in the file's
    units; sorted_log_density (N,) the same, ascending; hist_edges (B+1,) and
    hist_counts (B,) the histogram of the finite values.
    """

    labels: np.ndarray
    log_density: np.ndarray
    sorted_log_density: np.ndarray
    hist_edges: np.ndarray
    hist_counts: np.ndarray

def score_rows(dataset: Dataset, model: MixtureModel) -> RowScores:
    """Score every row of ``dataset`` under ``model`` (O(N K D): run it off the GUI thread)."""
    labels, dens = score_prepared(prepare(dataset.X), model)
    dens += dataset.preprocessing.log_jacobian()
    finite = dens[np.isfinite(dens)]
    counts, edges = np.histogram(finite, bins=min(100, max(10, len(finite) // 5)))
    return RowScores(labels, dens, np.sort(dens), edges, counts)
