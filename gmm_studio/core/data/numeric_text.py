"""Plain numeric text files without pandas, for commands that need only the matrix.

Importing pandas takes about 0.25 s, longer than choosing K on a small file,
so ``gmm-studio select`` reads a delimited file whose every field is a
number or a missing-value mark itself. Anything else (a text column, a
decimal comma, a ragged row, odd spacing) goes to the pandas reader, so both
give the same matrix or the same error (a test compares them).
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import InvalidDataError
from .preprocessing import Preprocessing, _fit_standardization
from .readers import _SNIFF_BYTES, TEXT_SUFFIXES, decode_text, sniff_format

# pandas.read_csv's default missing-value marks, matched exactly as it does.
NA_TOKENS = frozenset({"", "#N/A", "#N/A N/A", "#NA", "-1.#IND", "-1.#QNAN", "-NaN", "-nan",
                       "1.#IND", "1.#QNAN", "<NA>", "N/A", "NA", "NULL", "NaN", "None", "n/a",
                       "nan", "null"})
_NUMBER = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?")


def read_numeric_text(raw: bytes, name: str = "data") -> tuple[list[str], np.ndarray] | None:
    """Header names and values (N, C) float64 (NaN where missing), or None.

    None when the file is anything but one header line over rows of plain
    decimal numbers or missing-value marks, all of the header's length.
    """
    text = decode_text(raw, name)
    delimiter, decimal = sniff_format(text[:_SNIFF_BYTES])
    if decimal != ".":
        return None
    lines = csv.reader(io.StringIO(text), delimiter=delimiter, skipinitialspace=True)
    header = [h.strip() for h in next(lines, [])]
    if not header or "" in header or len(set(header)) < len(header):
        return None
    fields: list[str] = []
    n_rows = 0
    for row in lines:
        if not row:
            continue  # a blank line, skipped as pandas does
        if len(row) != len(header):
            return None
        fields.extend(row)
        n_rows += 1
    if n_rows == 0:
        return None
    missing = [f in NA_TOKENS for f in fields]
    if not all(m or _NUMBER.fullmatch(f) for f, m in zip(fields, missing, strict=True)):
        return None
    values = np.array([float("nan") if m else float(f)
                       for f, m in zip(fields, missing, strict=True)])
    return header, values.reshape(n_rows, len(header))


def reject_inf(values: np.ndarray, names: list[str]) -> None:
    """Refuse infinite values (N, C), naming the first one's column and row."""
    bad = np.isinf(values)
    if bad.any():
        row, col = np.argwhere(bad)[0]
        raise InvalidDataError(
            f"infinite value in column {names[col]!r} at row {row + 1} (counting data rows "
            "from 1); fix or remove it."
        )


@dataclass(frozen=True)
class Matrix:
    """The rows a fit uses: rows (N,) kept row numbers; raw (N, D); X (N, D) as fitted.

    weights (N,) or None; missing (all rows,) bool, the rows dropped.
    """

    rows: np.ndarray
    raw: np.ndarray
    X: np.ndarray
    weights: np.ndarray | None
    preprocessing: Preprocessing
    missing: np.ndarray


def matrix(values: np.ndarray, used: list[str], n_features: int, *, standardize: bool = False,
           preprocessing: Preprocessing | None = None) -> Matrix:
    """From the used columns' values (all rows, len(used)) to what the engine fits.

    The first ``n_features`` columns are features, a last one the weights.
    Rows with a missing value are dropped; ``preprocessing`` (a saved
    model's) overrides ``standardize``.
    """
    missing = np.isnan(values).any(axis=1)
    reject_inf(values, used)
    rows = np.flatnonzero(~missing)
    if len(rows) == 0:
        raise InvalidDataError(
            f"every row has a missing value in {', '.join(map(repr, used))}; choose other columns."
        )
    raw = values[rows, :n_features]
    w = values[rows, n_features] if len(used) > n_features else None
    prep = preprocessing if preprocessing is not None else (
        _fit_standardization(raw) if standardize else Preprocessing())
    X = np.ascontiguousarray(prep.apply(raw))
    for arr in (raw, X):
        arr.setflags(write=False)
    return Matrix(rows, raw, X, w, prep, missing)


def check_columns(names: list[str], wanted: list[str], what: str) -> None:
    """Refuse column names the file does not have, listing the ones it has."""
    missing = [c for c in wanted if c not in names]
    if missing:
        raise InvalidDataError(
            f"unknown {what} column(s) {', '.join(map(repr, missing))}; the file has: "
            f"{', '.join(map(str, names))}."
        )


@dataclass(frozen=True)
class Features:
    """What a sweep needs of a data file: the fitted matrix X (N, D) and its bookkeeping."""

    feature_names: tuple[str, ...]
    X: np.ndarray
    weights: np.ndarray | None
    preprocessing: Preprocessing
    n_rows: int
    n_dropped: int
    source: str


def load_features(path: str | Path, columns: list[str] | None = None, *,
                  weights: str | None = None, standardize: bool = False) -> Features:
    """The matrix of a data file, read without pandas when it is plain numeric text.

    Same columns, rows, transform and errors as ``dataset.load_dataset``.
    """
    path = Path(path)
    parsed = None
    if path.is_file() and path.suffix.lower() in TEXT_SUFFIXES:
        parsed = read_numeric_text(path.read_bytes(), str(path))
    if parsed is None:
        from .dataset import load_dataset  # pandas: every other kind of file

        data = load_dataset(path, columns, weights=weights, standardize=standardize)
        return Features(data.feature_names, data.X, data.weights, data.preprocessing,
                        data.n_rows, data.n_dropped, str(path))
    names, values = parsed
    for what, wanted in (("feature", columns or []), ("weights", [weights] if weights else [])):
        check_columns(names, wanted, what)
    if columns is None:
        columns = [c for c in names if c != weights]
        if not columns:
            raise InvalidDataError(
                "the file has no numeric column to fit; check the delimiter and decimal mark "
                f"(columns read: {', '.join(names)}).")
    used = columns + ([weights] if weights else [])
    picked = matrix(values[:, [names.index(c) for c in used]], used, len(columns),
                    standardize=standardize)
    return Features(tuple(columns), picked.X, picked.weights, picked.preprocessing,
                    len(picked.rows), int(picked.missing.sum()), str(path))
