"""What a model says about data on a Dask cluster: lazy per-row outputs and summaries.

Labels, probabilities and log-densities come back as lazy dask collections,
written with dask's own writers; the entropy and sizes a model sweep needs
are computed chunk by chunk on the cluster.
"""

from __future__ import annotations

import numpy as np

from ..model.mixture import MixtureModel
from .data import DaskPrepared, as_dask_array


def classification_entropy(model: MixtureModel, data: DaskPrepared) -> float:
    """-Σ_n w_n Σ_k r_nk log r_nk over every chunk (metrics.classification_entropy)."""
    from ..analysis.metrics import classification_entropy as entropy

    return float(sum(data.map_chunks(
        lambda chunk, w, _start, m: entropy(m, np.asarray(chunk), w), model)))


def label_counts(model: MixtureModel, data: DaskPrepared) -> np.ndarray:
    """Rows per most probable component (K,), counted chunk by chunk."""
    def count(chunk, _w, _start, m):
        labels = m.predict(np.asarray(chunk))
        return np.bincount(labels[labels >= 0], minlength=m.n_components)

    return np.sum(data.map_chunks(count, model), axis=0)


def _map_rows(model: MixtureModel, X, fn, width: int | None, dtype):
    X = as_dask_array(X)
    if width is None:
        return X.map_blocks(lambda b: fn(model, b), drop_axis=1, dtype=dtype)
    return X.map_blocks(lambda b: fn(model, b), chunks=(X.chunks[0], (width,)), dtype=dtype)


def labels(model: MixtureModel, X):
    """Lazy (N,) int dask array: each row's most probable component (-1: noise)."""
    return _map_rows(model, X, lambda m, b: m.predict(b).astype(np.int32), None, np.int32)


def probabilities(model: MixtureModel, X):
    """Lazy (N, K) dask array of p(k | x)."""
    return _map_rows(model, X, lambda m, b: m.predict_proba(b), model.n_components, float)


def log_density(model: MixtureModel, X):
    """Lazy (N,) dask array of log p(x) (in the fitted data's units)."""
    return _map_rows(model, X, lambda m, b: m.score_samples(b), None, float)


def labelled_frame(frame, columns: list[str], model: MixtureModel):
    """Lazy dask DataFrame: ``frame``'s rows with cluster, p_<k> and log_density added.

    As the in-memory labels CSV: a noise model numbers noise cluster 0 and its
    components 1..K (with p_noise). Rows with a missing feature keep empty cells.
    """
    import pandas as pd

    from ..files.labels import joined_frame, missing_reasons

    k = model.n_components

    def label(part: pd.DataFrame) -> pd.DataFrame:
        values = part[columns].to_numpy(dtype=float)
        missing = np.isnan(values).any(axis=1)
        keep = np.flatnonzero(~missing)
        rows = values[keep]
        scored = len(rows) > 0  # an empty partition (or dask's metadata) has nothing to score
        out = joined_frame(part, 0, keep, model.predict_proba(rows) if scored else np.empty((0, k)),
                           model.score_samples(rows) if scored else np.empty(0),
                           missing_reasons(part[columns], missing),
                           None if not model.has_noise else (
                               model.noise_posterior(rows) if scored else np.empty(0)))
        return out.drop(columns="row")

    meta = label(frame._meta.head(0).astype({c: float for c in columns}))
    return frame.map_partitions(label, meta=meta)


def write_labels(frame, columns: list[str], model: MixtureModel, folder) -> list[str]:
    """Write the labelled rows as one CSV per partition into ``folder``, in parallel."""
    from pathlib import Path

    Path(folder).mkdir(parents=True, exist_ok=True)
    return labelled_frame(frame, columns, model).to_csv(
        str(Path(folder) / "labels-*.csv"), index=False)
