"""Writing results: labels CSV and atomic file writes shared by CLI and GUI."""

from __future__ import annotations

import os
import tempfile
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
        os.replace(tmp, path)
    except BaseException as exc:
        Path(tmp).unlink(missing_ok=True)
        if isinstance(exc, OSError):
            raise ExportError(f"cannot write {path}: {exc.strerror or exc}.") from None
        raise
    return path


def labelled_frame(dataset: Dataset, model: MixtureModel) -> pd.DataFrame:
    """The rows used, every original column, plus cluster, p_<k> and log_density."""
    resp = model.predict_proba(dataset.X)
    out = dataset.frame.iloc[dataset.rows].copy()
    out["cluster"] = resp.argmax(axis=1)
    for k in range(model.n_components):
        out[f"p_{k}"] = resp[:, k]
    out["log_density"] = log_density(dataset, model)
    return out


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
