"""The fit command for data bigger than memory: out of core on disk, or on a Dask cluster."""

from __future__ import annotations

from pathlib import Path

from pandas.api.types import is_numeric_dtype

from .cli import UsageError, _check_outputs, _columns, _config, _Progress
from .core.data.dataset import file_sha256
from .core.data.row_cache import build_cache
from .core.engine.streamed import fit_streaming
from .core.files.labels import write_labels_streaming
from .core.files.model_file import RESULT_KEYS, SavedModel, save_model


def cmd_fit_out_of_core(args) -> dict:
    """Fit a file bigger than memory: chunked passes over a binary row cache."""
    unsupported = [flag for flag, on in (("--weights", args.weights),
                                         ("--standardize", args.standardize),
                                         ("--anomalies", args.anomalies)) if on]
    if unsupported:
        raise UsageError(f"{', '.join(unsupported)} cannot be combined with --out-of-core yet.")
    _check_outputs(args, args.data)
    cache = build_cache(args.data, _columns(args.columns))
    progress = _Progress()
    try:
        result = fit_streaming(cache, _config(args), callback=progress)
    finally:
        progress.close()
    if args.labels:
        write_labels_streaming(args.labels, args.data, result.model, cache.feature_names)
    summary = result.summary()
    summary.update(n_parameters=result.n_parameters, n_rows_used=cache.n_rows,
                   n_rows_dropped=cache.n_dropped, features=list(cache.feature_names))
    if args.model:
        saved = SavedModel(result.model, cache.feature_names, fit=result.config.to_dict(),
                           result={k: summary[k] for k in RESULT_KEYS},
                           data={"path": str(args.data), "sha256": file_sha256(args.data),
                                 "n_rows_used": cache.n_rows, "n_rows_dropped": cache.n_dropped,
                                 "weights_column": None})
        save_model(args.model, saved, protect=[args.data])
    return summary


def cmd_fit_dask(args) -> dict:
    """Fit a data set on a Dask cluster; labels are written by the workers, in parallel."""
    from .core import distributed
    from .core.engine.fitting import fit

    unsupported = [flag for flag, on in (("--weights", args.weights),
                                         ("--standardize", args.standardize),
                                         ("--anomalies", args.anomalies),
                                         ("--out-of-core", args.out_of_core)) if on]
    if unsupported:
        raise UsageError(f"{', '.join(unsupported)} cannot be combined with --dask yet.")
    if args.labels and Path(args.labels).suffix.lower() == ".csv":
        raise UsageError("with --dask, --labels names a folder: one CSV per partition.")
    config = _config(args)
    with distributed.connect(args.dask):
        frame = distributed.open_frame(args.data)
        names = _columns(args.columns) or [c for c in frame.columns
                                           if is_numeric_dtype(frame[c].dtype)]
        # Rows with a missing feature are left out of the fit and kept, empty, in the labels.
        X = distributed.as_dask_array(frame[names].dropna(), names)
        dropped = int(len(frame)) - int(X.shape[0])
        progress = _Progress()
        try:
            result = fit(X, config, callback=progress)
        finally:
            progress.close()
        if args.labels:
            distributed.write_labels(frame, names, result.model, args.labels)
        summary = result.summary()
        summary.update(n_parameters=result.n_parameters, n_rows_used=int(X.shape[0]),
                       n_rows_dropped=dropped, features=list(names), dask=args.dask)
        if args.model:
            saved = SavedModel(result.model, tuple(names), fit=result.config.to_dict(),
                               result={k: summary[k] for k in RESULT_KEYS},
                               data={"path": str(args.data), "sha256": None,
                                     "n_rows_used": int(X.shape[0]), "n_rows_dropped": dropped,
                                     "weights_column": None})
            save_model(args.model, saved)
    return summary
