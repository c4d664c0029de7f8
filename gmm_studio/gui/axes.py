"""Which linear view the main plot shows: a feature pair, PCA or the model's discriminant.

PCA depends on the data only and is kept per data set; the discriminant
directions follow a settled model (a live fit keeps the axes still).
"""

from __future__ import annotations

import numpy as np

from ..core.model.geometry import data_space
from ..core.model.projections import Projection, discriminant, pca

# Figures of the data on screen only, computed once per data set: (data_id, what) -> value.
_CACHE: dict[tuple[str, str], object] = {}


def _of_data(dataset, what: str, make):
    key = (dataset.data_id, what)
    if key not in _CACHE:
        for old in [k for k in _CACHE if k[0] != dataset.data_id]:  # one data set at a time
            del _CACHE[old]
        _CACHE[key] = make()
    return _CACHE[key]


def column_scale(dataset) -> np.ndarray:
    """Each column's standard deviation (D,) in the file's units (1 for a constant one)."""
    def make():
        sd = dataset.raw.std(axis=0)
        return np.where(sd > 0, sd, 1.0)
    return _of_data(dataset, "scale", make)


def data_projection(dataset, axes: str) -> tuple[Projection | None, str]:
    """The view for ``dataset`` before any model: (projection or None for a pair, note)."""
    if axes == "features" or len(dataset.feature_names) < 2:
        return None, ""
    view = _of_data(dataset, "pca", lambda: pca(dataset.raw, list(dataset.feature_names),
                                               dataset.weights))
    note = "discriminant directions need a fitted model with K ≥ 2; showing PCA" if (
        axes == "discriminant") else ""
    return view, note


def model_projection(dataset, model, axes: str) -> Projection | None:
    """The discriminant view of ``model`` (None when it has none: other axes, K < 2)."""
    if axes != "discriminant" or model is None or model.n_components < 2 or len(
            dataset.feature_names) < 2:
        return None
    means, covs = data_space(model, dataset.preprocessing)
    return discriminant(model, means, covs, list(dataset.feature_names),
                        scale=column_scale(dataset))
