"""Fitting data that lives on a Dask cluster: the same passes, one task per chunk.

A dask array chunked by rows (or a dask DataFrame's numeric columns) is
fitted with the engine's own generators. Each pass sends the current
parameters (about K × D² numbers) to every chunk, where the engine's block
kernel runs on that chunk as one task; the small per-chunk results come back
and are added in chunk order, so a fit is reproducible, and the M-step runs
here. The rows never come to this process. Starts are fitted on a
reproducible sample drawn chunk by chunk on the cluster (docs/dask.md).

Dask is optional (``pip install 'gmm-studio[dask]'``) and imported only when
one of these functions runs, never by ``import gmm_studio.core``.
"""

from .data import (
    DaskPrepared,
    as_dask_array,
    connect,
    fit_dask,
    iterate_dask,
    open_frame,
    prepare_dask,
    sample_rows,
)
from .outputs import (
    classification_entropy,
    label_counts,
    labelled_frame,
    labels,
    log_density,
    probabilities,
    write_labels,
)

__all__ = ["DaskPrepared", "as_dask_array", "classification_entropy", "connect", "fit_dask",
           "iterate_dask", "label_counts", "labelled_frame", "labels", "log_density",
           "open_frame", "prepare_dask", "probabilities", "sample_rows", "write_labels"]
