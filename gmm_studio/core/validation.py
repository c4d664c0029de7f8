"""Checks on user-supplied arrays, with messages that say what to fix."""

from __future__ import annotations

import numpy as np

from .errors import InvalidDataError
from .text import plural


def check_data(X: object, *, n_features: int | None = None, min_rows: int = 1) -> np.ndarray:
    """Return X as a C-contiguous float array (N, D) or raise InvalidDataError."""
    try:
        arr = np.asarray(X, dtype=float)
    except (TypeError, ValueError):
        raise InvalidDataError(
            "data must be numeric; convert text columns or leave them out of the features."
        ) from None
    if arr.ndim != 2:
        raise InvalidDataError(
            f"data must be a 2-D table (rows x features), got {arr.ndim}-D; "
            "use X.reshape(-1, 1) for a single feature."
        )
    n_rows, n_cols = arr.shape
    if n_cols == 0:
        raise InvalidDataError("data has no feature columns; choose at least one numeric column.")
    if n_rows < min_rows:
        raise InvalidDataError(
            f"data has {plural(n_rows, 'row')} but at least {min_rows} are needed; "
            "use more rows or fewer components."
        )
    if n_features is not None and n_cols != n_features:
        raise InvalidDataError(
            f"data has {n_cols} feature(s) but the model expects {n_features}; "
            "select the same columns the model was fitted on."
        )
    bad = ~np.isfinite(arr)
    if bad.any():
        row, col = np.argwhere(bad)[0]
        kind = "NaN (missing)" if np.isnan(arr[row, col]) else "infinite"
        raise InvalidDataError(
            f"{int(bad.sum())} value(s) are not finite; the first is {kind} at row {row}, "
            f"feature {col}: drop or fill those rows first."
        )
    return np.ascontiguousarray(arr)


def check_sample_weight(sample_weight: object, n_rows: int) -> np.ndarray | None:
    """Return weights as float (N,) or None; reject negative, non-finite, all-zero."""
    if sample_weight is None:
        return None
    try:
        w = np.asarray(sample_weight, dtype=float)
    except (TypeError, ValueError):
        raise InvalidDataError("sample_weight must be numeric.") from None
    if w.shape != (n_rows,):
        raise InvalidDataError(
            f"sample_weight must have one value per row ({n_rows}), got shape {w.shape}."
        )
    if not np.all(np.isfinite(w)):
        raise InvalidDataError("sample_weight contains NaN or inf; every weight must be finite.")
    if np.any(w < 0):
        row = int(np.flatnonzero(w < 0)[0])
        raise InvalidDataError(
            f"sample_weight must be >= 0; row {row} has {w[row]:g}. Drop that row instead."
        )
    if not np.any(w > 0):
        raise InvalidDataError("all sample weights are zero; at least one row must count.")
    return w
