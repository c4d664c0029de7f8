"""Soft EM over a row cache on disk: restarts on a subsample, then passes over every row."""

from __future__ import annotations

from ..data.row_cache import RowCache, subsample
from ..errors import InvalidConfigError
from .fitting import fit, fit_prepared
from .prepared import prepare


def fit_streaming(cache: RowCache, config, *, callback=None, cancel=None,
                  sample_size: int = 200_000):
    """Soft EM over a row cache; restarts and initialisation run on a subsample.

    The returned FitResult has no per-row labels (that would be O(N) memory);
    ``label_chunks`` labels the file afterwards, chunk by chunk.
    """
    if config.algorithm != "em":
        raise InvalidConfigError(
            "out-of-core fitting supports soft EM only (hard EM and k-means keep a label "
            "per row); use --algorithm em, or a file that fits in memory.")
    sample = subsample(cache, sample_size, config.random_state)
    if len(sample) < max(2, config.n_components):
        sample = cache[0:min(cache.n_rows, sample_size)]
    start = fit(sample, config, cancel=cancel).model
    data = prepare(cache, dtype=config.dtype, cancel=cancel, min_rows=2)
    note = (f"initialised on a random subsample of {len(sample)} of {cache.n_rows} rows "
            f"({config.n_init} restart(s) there), then fitted on every row",)
    return fit_prepared(data, config.replace(n_init=1), start, callback, with_labels=False,
                        notes=note)
