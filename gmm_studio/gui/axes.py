"""Which linear view the main plot shows: a feature pair, PCA or the model's discriminant.

PCA depends on the data only and is kept per data set; the discriminant
directions follow a settled model (a live fit keeps the axes still).
"""

from __future__ import annotations

import numpy as np

from ..core.model.geometry import data_space
from ..core.model.projections import Projection, discriminant, pca

_PCA: dict[str, Projection] = {}
_SCALE: dict[str, np.ndarray] = {}


def column_scale(dataset) -> np.ndarray:
    """Each column's standard deviation (D,) in the file's units, once per data set."""
    key = dataset.data_id
    if key not in _SCALE:
        _SCALE.clear()
        sd = dataset.raw.std(axis=0)
        _SCALE[key] = np.where(sd > 0, sd, 1.0)
    return _SCALE[key]


def data_projection(dataset, axes: str) -> tuple[Projection | None, str]:
    """The view for ``dataset`` before any model: (projection or None for a pair, note)."""
    if axes == "features" or len(dataset.feature_names) < 2:
        return None, ""
    key = dataset.data_id
    if key not in _PCA:
        _PCA.clear()  # one data set at a time
        _PCA[key] = pca(dataset.raw, list(dataset.feature_names), dataset.weights)
    note = "discriminant directions need a fitted model with K ≥ 2; showing PCA" if (
        axes == "discriminant") else ""
    return _PCA[key], note


def model_projection(dataset, model, axes: str) -> Projection | None:
    """The discriminant view of ``model`` (None when it has none: other axes, K < 2)."""
    if axes != "discriminant" or model is None or model.n_components < 2 or len(
            dataset.feature_names) < 2:
        return None
    means, covs = data_space(model, dataset.preprocessing)
    return discriminant(model, means, covs, list(dataset.feature_names),
                        scale=column_scale(dataset))
