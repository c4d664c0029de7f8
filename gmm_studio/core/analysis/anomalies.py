"""Anomalies: rows where the fitted density p(x) is low.

Thresholds are log-densities in the data file's units. A quantile q picks the
threshold on the training data (the lowest q fraction is flagged); the value is
stored with the model and applies unchanged to new data.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from ..errors import InvalidConfigError, InvalidModelError
from ..model.mixture import MixtureModel
from .scoring import RowScores, log_density

if TYPE_CHECKING:  # pandas takes 0.25 s to import: model files and select need neither
    import pandas as pd

    from ..data.dataset import Dataset

DEFAULT_QUANTILE = 0.01


@dataclass(frozen=True)
class AnomalyThreshold:
    """Flag rows with log p(x) <= ``log_density``; ``quantile`` records how it was chosen."""

    log_density: float
    quantile: float | None = None

    def to_dict(self) -> dict:
        """JSON-safe form stored in model and session files."""
        return {"log_density_threshold": self.log_density, "quantile": self.quantile}

    @classmethod
    def from_dict(cls, data: dict | None) -> AnomalyThreshold | None:
        """Read ``to_dict`` output; None when no threshold is stored."""
        if not data or data.get("log_density_threshold") is None:
            return None
        value, q = data["log_density_threshold"], data.get("quantile")
        if not isinstance(value, (int, float)) or not math.isfinite(value):
            raise InvalidModelError("the stored anomaly threshold must be a finite number.")
        if q is not None and not (isinstance(q, (int, float)) and 0 < q < 1):
            raise InvalidModelError("the stored anomaly quantile must be between 0 and 1.")
        return cls(float(value), None if q is None else float(q))


def check_quantile(q: float) -> float:
    """Validate a quantile in (0, 1)."""
    if not (isinstance(q, (int, float)) and 0 < q < 1):
        raise InvalidConfigError(
            f"anomaly quantile must be between 0 and 1 (e.g. 0.01 for the lowest 1%), got {q!r}.")
    return float(q)


def threshold_from_quantile(log_dens: np.ndarray, q: float) -> AnomalyThreshold:
    """The threshold that flags the lowest ceil(q N) rows of ``log_dens`` (N,)."""
    return threshold_from_sorted(np.sort(log_dens), q)


def threshold_from_sorted(sorted_log_dens: np.ndarray, q: float) -> AnomalyThreshold:
    """``threshold_from_quantile`` on already sorted values (N,): O(1) per call.

    The q-quantile by the inverted empirical CDF is the ceil(q N)-th smallest value.
    """
    q = check_quantile(q)
    n = len(sorted_log_dens)
    index = min(max(int(np.ceil(q * n - 1e-9 * n)) - 1, 0), n - 1)
    return AnomalyThreshold(float(sorted_log_dens[index]), q)


def count_flagged(sorted_log_dens: np.ndarray, threshold: AnomalyThreshold) -> int:
    """How many of the sorted values (N,) are at or below the threshold."""
    return int(np.searchsorted(sorted_log_dens, threshold.log_density, side="right"))


def flag(log_dens: np.ndarray, threshold: AnomalyThreshold) -> np.ndarray:
    """Bool (N,): rows at or below the threshold."""
    return log_dens <= threshold.log_density


def export_clusters(labels: np.ndarray, model: MixtureModel) -> np.ndarray:
    """Cluster numbers as files show them: with a noise component, mclust's
    0 for noise (label -1) and k + 1 for component k; else the labels."""
    return labels + 1 if model.has_noise else labels


def anomaly_frame(dataset: Dataset, model: MixtureModel,
                  threshold: AnomalyThreshold | None, scores: RowScores | None = None,
                  by_noise: bool = False) -> pd.DataFrame:
    """Flagged rows, most anomalous first.

    Columns: ``row`` (data row number in the file, from 1), every original
    column, ``log_density`` and ``cluster`` (numbered as ``export_clusters``).
    Rows are flagged by log p(x) <= ``threshold``, or with ``by_noise`` where
    the noise component is the likeliest. ``scores`` (from ``score_rows``)
    saves scoring every row again.
    """
    dens = log_density(dataset, model) if scores is None else scores.log_density
    labels = model.predict(dataset.X) if scores is None else scores.labels
    if by_noise:
        if not model.has_noise:
            raise InvalidConfigError("flagging by noise needs a model with a noise component; "
                                     "fit with noise on, or flag by log-density.")
        mask = labels == -1
    else:
        mask = flag(dens, threshold)
    out = dataset.frame.iloc[dataset.rows[mask]].copy()
    out.insert(0, "row", dataset.rows[mask] + 1, allow_duplicates=True)
    out["log_density"] = dens[mask]
    out["cluster"] = export_clusters(labels[mask], model)
    return out.sort_values("log_density", kind="stable").reset_index(drop=True)
