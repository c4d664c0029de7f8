"""From a table to the matrix the engine fits: columns, cleaning, scaling."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from ..errors import InvalidDataError
from ..text import plural
from .numeric_text import check_columns, matrix
from .preprocessing import Preprocessing
from .readers import read_table


@dataclass(frozen=True, eq=False)
class Dataset:
    """Rows ready for the engine, and how they relate to the file.

    frame: the whole table as read; rows (N,) positions in ``frame`` of the
    rows used; raw (N, D) the chosen columns of those rows; X (N, D) what
    the engine fits (raw, or standardised); weights (N,) or None.
    """

    frame: pd.DataFrame
    feature_names: tuple[str, ...]
    rows: np.ndarray
    raw: np.ndarray
    X: np.ndarray
    weights: np.ndarray | None
    preprocessing: Preprocessing
    weight_column: str | None = None
    label_column: str | None = None
    n_dropped: int = 0
    drop_note: str = ""
    source: str | None = None
    sha256: str | None = None
    extra: dict = field(default_factory=dict)
    data_id: str = ""

    @property
    def n_rows(self) -> int:
        """Rows used."""
        return int(len(self.rows))

    @property
    def total_weight(self) -> float:
        """Sum of the row weights (the row count without weights)."""
        return float(self.n_rows if self.weights is None else self.weights.sum())

    def log_likelihood_offset(self) -> float:
        """What to add to a total log-likelihood of X for the data file's units.

        The transform's Jacobian per row, times the rows' total weight: the
        same conversion ``FitResult.criteria`` makes.
        """
        return self.preprocessing.log_jacobian() * self.total_weight

    def used_columns(self) -> list[str]:
        """Feature columns, then the weights column if any."""
        return list(self.feature_names) + ([self.weight_column] if self.weight_column else [])

    def labels(self) -> np.ndarray | None:
        """The label column's values for the rows used, or None."""
        if self.label_column is None:
            return None
        return self.frame[self.label_column].to_numpy()[self.rows]


def numeric_columns(frame: pd.DataFrame) -> list[str]:
    """Columns usable as features (numeric, not boolean)."""
    return [c for c in frame.columns
            if pd.api.types.is_numeric_dtype(frame[c]) and not pd.api.types.is_bool_dtype(frame[c])]


def file_sha256(path: str | Path) -> str:
    """Hex SHA-256 of a file's bytes."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def make_dataset(
    frame: pd.DataFrame,
    columns: list[str] | None = None,
    *,
    weights: str | None = None,
    label: str | None = None,
    standardize: bool = False,
    preprocessing: Preprocessing | None = None,
    source: str | None = None,
    sha256: str | None = None,
) -> Dataset:
    """Pick feature columns, drop rows with missing values, optionally z-score.

    ``preprocessing`` (from a saved model) overrides ``standardize``.
    """
    for what, names in (("feature", columns or []), ("weights", [weights] if weights else []),
                        ("label", [label] if label else [])):
        check_columns(list(frame.columns), names, what)
    if columns is None:
        columns = [c for c in numeric_columns(frame) if c != weights]
        if not columns:
            raise InvalidDataError(
                "the file has no numeric column to fit; check the delimiter and decimal mark "
                f"(columns read: {', '.join(map(str, frame.columns))})."
            )
    text = [c for c in columns + ([weights] if weights else []) if c not in numeric_columns(frame)]
    if text:
        raise InvalidDataError(
            f"column(s) {', '.join(map(repr, text))} are not numeric; use them as a label "
            "column or leave them out."
        )
    used = columns + ([weights] if weights else [])
    picked = matrix(frame[used].to_numpy(dtype=float), used, len(columns),
                    standardize=standardize, preprocessing=preprocessing)
    rows, raw, X, w, prep, missing = (picked.rows, picked.raw, picked.X, picked.weights,
                                      picked.preprocessing, picked.missing)
    note = _drop_note(frame, used, missing)
    data_id = _data_id(frame, used, weights, prep, rows, sha256)
    return Dataset(frame, tuple(columns), rows, raw, X, w, prep, weights, label,
                   int(missing.sum()), note, source, sha256, data_id=data_id)


def _drop_note(frame: pd.DataFrame, used: list[str], missing: np.ndarray) -> str:
    """'2 rows dropped for missing values in waiting', naming only columns with gaps."""
    n = int(missing.sum())
    if not n:
        return ""
    gaps = [c for c in used if frame[c].isna().to_numpy().any()]
    return f"{plural(n, 'row')} dropped for missing values in {', '.join(map(str, gaps))}"


def _data_id(frame: pd.DataFrame, used: list[str], weights: str | None,
             prep: Preprocessing, rows: np.ndarray, sha256: str | None) -> str:
    """A short digest naming exactly what the engine fits.

    Two datasets share it only if they come from the same file bytes (or the
    same table contents), with the same columns, weights, transform and rows;
    results are shown, exported and saved only with the data whose id they carry.
    """
    digest = hashlib.blake2b(digest_size=12)
    if sha256:
        digest.update(sha256.encode())
    else:
        digest.update(pd.util.hash_pandas_object(frame[used], index=False).to_numpy().tobytes())
    digest.update(repr((used, weights)).encode())
    for part in (prep.centre, prep.scale):
        digest.update(b"-" if part is None else np.ascontiguousarray(part, float).tobytes())
    digest.update(np.int64(len(rows)).tobytes())
    digest.update(np.ascontiguousarray(rows[-1:], np.int64).tobytes())
    return digest.hexdigest()


def load_dataset(path: str | Path, columns: list[str] | None = None, **options) -> Dataset:
    """read_table + make_dataset, recording the file's path and SHA-256."""
    frame = read_table(path)
    return make_dataset(frame, columns, source=str(path), sha256=file_sha256(path), **options)
