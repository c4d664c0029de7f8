"""Writing results: labels CSV and atomic file writes shared by CLI and GUI."""

from __future__ import annotations

import os
import tempfile
import threading
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd

from .dataset import Dataset
from .errors import GMMStudioError
from .model import MixtureModel


class ExportError(GMMStudioError):
    """A result could not be written where asked."""


def atomic_write(path: str | Path, write: Callable[[Path], None], *,
                 protect: list[str | Path] = ()) -> Path:
    """Write through ``write(tmp_path)`` into a temp file, then rename onto ``path``.

    A failure leaves no partial file. Refuses to overwrite any file in ``protect``
    (e.g. the input data).
    """
    path = Path(path)
    folder = path.parent
    if not folder.is_dir():
        raise ExportError(f"cannot write {path}: folder {folder} does not exist.")
    for other in protect:
        if other and Path(other).exists() and path.exists() and os.path.samefile(path, other):
            raise ExportError(f"refusing to overwrite the input file {path}; choose another name.")
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=folder)
    except OSError as exc:
        raise ExportError(f"cannot write to {folder}: {exc.strerror or exc}.") from None
    os.close(fd)
    try:
        write(Path(tmp))
        # mkstemp makes the file private (0600); a saved file should get the
        # mode any other program would give it, i.e. 0666 less the umask.
        os.chmod(tmp, 0o666 & ~current_umask())
        os.replace(tmp, path)
    except BaseException as exc:
        Path(tmp).unlink(missing_ok=True)
        if isinstance(exc, OSError):
            raise ExportError(f"cannot write {path}: {exc.strerror or exc}.") from None
        raise
    return path


def current_umask() -> int:
    """The process's umask (read without changing it, where /proc says it)."""
    try:
        with open("/proc/self/status", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    with _UMASK_LOCK:  # os.umask can only be read by setting it
        mask = os.umask(0o022)
        os.umask(mask)
    return mask


_UMASK_LOCK = threading.Lock()


def labelled_frame(dataset: Dataset, model: MixtureModel) -> pd.DataFrame:
    """One row per row of the file, in its order, to join back to the input.

    Columns: ``row`` (data row number in the file, from 1), every original
    column, ``cluster``, ``p_<k>``, ``log_density`` and ``excluded`` (why a
    row was not used, e.g. "missing value in waiting"; empty for used rows,
    whose model cells are filled while those of excluded rows stay empty).
    """
    return joined_frame(dataset.frame, 1, dataset.rows, model.predict_proba(dataset.X),
                        log_density(dataset, model), exclusion_reasons(dataset))


def joined_frame(frame: pd.DataFrame, first_row: int, used: np.ndarray, resp: np.ndarray,
                 log_dens: np.ndarray, excluded: np.ndarray) -> pd.DataFrame:
    """``frame`` (n rows) with row numbers and the model's cells at positions ``used``.

    resp (n_used, K) and log_dens (n_used,) belong to the rows ``used``;
    the other rows get empty (NA) cells. ``excluded`` (n,) says why.
    """
    n = len(frame)
    out = frame.reset_index(drop=True)
    out.insert(0, "row", np.arange(first_row, first_row + n), allow_duplicates=True)
    cluster = pd.array(np.zeros(n, dtype=np.int64), dtype="Int64")
    cluster[:] = pd.NA
    if len(used):
        cluster[used] = resp.argmax(axis=1)
    out["cluster"] = cluster
    for k in range(resp.shape[1]):
        out[f"p_{k}"] = _scatter(n, used, resp[:, k])
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


def log_density(dataset: Dataset, model: MixtureModel) -> np.ndarray:
    """log p(x) in the data's own units (N,), whatever the preprocessing.

    A model fitted on z-scores is a density over z; the Jacobian of the
    transform brings it back to the units of the file.
    """
    return model.score_samples(dataset.X) + dataset.preprocessing.log_jacobian()


def write_csv(path: str | Path, frame: pd.DataFrame, *, protect=()) -> Path:
    """Write a DataFrame as UTF-8 CSV atomically (no index)."""
    return atomic_write(path, lambda tmp: frame.to_csv(tmp, index=False), protect=protect)


def write_labels_csv(path: str | Path, dataset: Dataset, model: MixtureModel) -> Path:
    """Labels CSV for ``dataset`` under ``model``; never overwrites the input."""
    return write_csv(path, labelled_frame(dataset, model), protect=[dataset.source or ""])
