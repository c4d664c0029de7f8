"""Writing results: labels CSV and atomic file writes shared by CLI and GUI."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from ..analysis.scoring import log_density
from ..data.chunked import iter_chunks
from ..data.dataset import Dataset
from ..model.mixture import MixtureModel
from .atomic import atomic_write, write_csv


def labelled_frame(dataset: Dataset, model: MixtureModel) -> pd.DataFrame:
    """One row per row of the file, in its order, to join back to the input.

    Columns: ``row`` (data row number in the file, from 1), every original
    column, ``cluster``, ``p_<k>``, ``log_density`` and ``excluded`` (why a
    row was not used, e.g. "missing value in waiting"; empty for used rows,
    whose model cells are filled while those of excluded rows stay empty).
    With a noise component, as in mclust: ``cluster`` 0 is noise and the
    components are 1..K, with columns ``p_noise``, ``p_1`` ... ``p_K``.
    """
    return joined_frame(dataset.frame, 1, dataset.rows, model.predict_proba(dataset.X),
                        log_density(dataset, model), exclusion_reasons(dataset),
                        model.noise_posterior(dataset.X) if model.has_noise else None)


def joined_frame(frame: pd.DataFrame, first_row: int, used: np.ndarray, resp: np.ndarray,
                 log_dens: np.ndarray, excluded: np.ndarray,
                 noise: np.ndarray | None = None) -> pd.DataFrame:
    """``frame`` (n rows) with row numbers and the model's cells at positions ``used``.

    resp (n_used, K) and log_dens (n_used,) belong to the rows ``used``;
    the other rows get empty (NA) cells. ``excluded`` (n,) says why.
    ``noise`` (n_used,), p(noise | x), numbers the clusters as mclust does:
    0 for noise, k + 1 for component k.
    """
    n = len(frame)
    out = frame.reset_index(drop=True)
    out.insert(0, "row", np.arange(first_row, first_row + n), allow_duplicates=True)
    cluster = pd.array(np.zeros(n, dtype=np.int64), dtype="Int64")
    cluster[:] = pd.NA
    if len(used) and noise is None:
        cluster[used] = resp.argmax(axis=1)
    elif len(used):
        cluster[used] = np.where(noise >= resp.max(axis=1), 0, resp.argmax(axis=1) + 1)
    out["cluster"] = cluster
    if noise is not None:
        out["p_noise"] = _scatter(n, used, noise)
    first = 0 if noise is None else 1
    for k in range(resp.shape[1]):
        out[f"p_{k + first}"] = _scatter(n, used, resp[:, k])
    out["log_density"] = _scatter(n, used, log_dens)
    out["excluded"] = excluded
    return out


def _scatter(n: int, rows: np.ndarray, values: np.ndarray) -> np.ndarray:
    """(n,) float array with ``values`` at ``rows`` and NaN (an empty CSV cell) elsewhere."""
    out = np.full(n, np.nan)
    out[rows] = values
    return out


def exclusion_reasons(dataset: Dataset) -> np.ndarray:
    """(n_file_rows,) object array: "" for used rows, else why the row was left out."""
    unused = np.ones(len(dataset.frame), dtype=bool)
    unused[dataset.rows] = False
    return missing_reasons(dataset.frame[dataset.used_columns()], unused)


def missing_reasons(columns: pd.DataFrame, unused: np.ndarray) -> np.ndarray:
    """(n,) object array: "missing value in a, b" where ``unused``, else ""."""
    reasons = np.full(len(columns), "", dtype=object)
    if unused.any():
        gaps = columns[unused].isna()
        # A bool-by-name product joins the names of the gaps row by row.
        joined = gaps.dot(pd.Index([f"{c}, " for c in gaps.columns])).str.rstrip(", ")
        reasons[unused] = np.where(joined == "", "not used", "missing value in " + joined)
    return reasons


def write_labels_csv(path: str | Path, dataset: Dataset, model: MixtureModel) -> Path:
    """Labels CSV for ``dataset`` under ``model``; never overwrites the input."""
    return write_csv(path, labelled_frame(dataset, model), protect=[dataset.source or ""])


def write_labels_streaming(out: str | Path, source: str | Path, model,
                           feature_names: tuple[str, ...]) -> Path:
    """Labels CSV of a big file, one row per input row (see ``export.labelled_frame``)."""
    names = list(feature_names)

    def write(tmp: Path) -> None:
        first_row = 0
        for chunk in iter_chunks(source):
            chunk.columns = [str(c).strip() for c in chunk.columns]
            numeric = chunk[names].apply(pd.to_numeric, errors="coerce")
            values = numeric.to_numpy(float)
            keep = ~np.isnan(values).any(axis=1)
            rows = joined_frame(chunk, first_row + 1, np.flatnonzero(keep),
                                model.predict_proba(values[keep]),
                                model.score_samples(values[keep]),
                                missing_reasons(numeric, ~keep),
                                model.noise_posterior(values[keep]) if model.has_noise
                                else None)
            rows.to_csv(tmp, mode="w" if first_row == 0 else "a", header=first_row == 0,
                        index=False)
            first_row += len(chunk)

    return atomic_write(out, write, protect=[source])
