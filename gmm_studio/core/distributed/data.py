"""Data on a Dask cluster: prepared there, and each pass run as one task per chunk.

A dask array chunked by rows (or a dask DataFrame's numeric columns) is
fitted with the engine's own generators. Each pass sends the current
parameters (about K × D² numbers) to every chunk, where the engine's block
kernel runs on that chunk as one task; the small per-chunk results come back
and are added in chunk order, so a fit is reproducible, and the M-step runs
here. The rows never come to this process: only the parameters go out and
the statistics come back. Starts are fitted on a reproducible sample drawn
chunk by chunk on the cluster.

Dask is optional (``pip install 'gmm-studio[dask]'``) and imported only here,
only when a fit is given a dask collection.
"""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import numpy as np

from ..config import FitConfig
from ..engine.passes import PassResult, em_pass
from ..engine.prepared import Cancelled, PreparedData
from ..errors import FitError, InvalidConfigError, InvalidDataError
from ..model.mixture import MixtureModel
from ..results import FitResult, Snapshot

SAMPLE_ROWS = 200_000  # rows the starts are fitted on
START_ITERATIONS = 100  # at most, per restart on the sample


def as_dask_array(X, columns: list[str] | None = None):
    """Rows (N, D) float64 as a dask array with whole rows in each chunk.

    A dask DataFrame gives its ``columns`` (default: every numeric one).
    """
    import dask.array as da

    if hasattr(X, "columns"):  # a dask DataFrame
        from pandas.api.types import is_bool_dtype, is_numeric_dtype

        columns = columns or [c for c in X.columns
                              if is_numeric_dtype(X[c].dtype) and not is_bool_dtype(X[c].dtype)]
        if not columns:
            raise InvalidDataError("the data has no numeric column to fit.")
        X = X[columns].to_dask_array(lengths=True)
    if not isinstance(X, da.Array) or X.ndim != 2:
        raise InvalidDataError("a dask fit needs a 2-D dask array (rows × features) or a "
                               "dask DataFrame.")
    if any(np.isnan(c) for c in X.chunks[0]):
        X = X.compute_chunk_sizes()
    return X.astype(np.float64).rechunk({1: -1})


def connect(where: str):
    """A distributed Client: ``"local"`` starts a LocalCluster on this machine's cores
    (one single-threaded worker process each), anything else is a scheduler address."""
    import os

    try:
        from distributed import Client, LocalCluster
    except ImportError:
        raise InvalidConfigError("fitting on a Dask cluster needs the 'dask' extra: "
                                 "pip install 'gmm-studio[dask]'.") from None
    if where == "local":
        cluster = LocalCluster(n_workers=os.cpu_count() or 1, threads_per_worker=1,
                               dashboard_address=None, silence_logs=40)
        return Client(cluster)
    try:
        return Client(where, timeout="10s")
    except (OSError, TimeoutError) as exc:
        raise InvalidConfigError(f"could not reach the Dask scheduler at {where}: {exc}; "
                                 "check the address (e.g. tcp://host:8786).") from None


def open_frame(data: str):
    """A dask DataFrame of a Parquet or CSV file, folder or glob."""
    from glob import glob
    from pathlib import Path

    import dask.dataframe as dd

    path = Path(data)
    files = sorted(p for p in path.glob("*") if p.is_file()) if path.is_dir() else [
        Path(p) for p in sorted(glob(str(data)))]
    if not files:
        raise InvalidDataError(f"{data}: no such file, folder or glob.")
    if all(f.suffix.lower() in (".parquet", ".pq") for f in files):
        return dd.read_parquet([str(f) for f in files])
    if all(f.suffix.lower() in (".csv", ".txt", ".tsv") for f in files):
        return dd.read_csv([str(f) for f in files])
    raise InvalidDataError(f"{data}: a Dask fit reads Parquet or CSV files, not other kinds "
                           "or a mix.")


def _chunks(X) -> list:
    """The row chunks of X as delayed (B, D) arrays, in order."""
    return list(X.to_delayed().ravel())


def _starts(X) -> list[int]:
    return [0, *np.cumsum(X.chunks[0])[:-1].tolist()]


def _moments(X, w) -> tuple[float, np.ndarray, np.ndarray]:
    """Total weight, weighted mean (D,) and variance (D,), two passes on the cluster."""
    if w is None:
        total, centre = float(X.shape[0]), X.mean(axis=0).compute()
        var = ((X - centre) ** 2).mean(axis=0).compute()
        return total, centre, var
    total = float(w.sum().compute())
    centre = ((X * w[:, None]).sum(axis=0) / total).compute()
    var = (((X - centre) ** 2 * w[:, None]).sum(axis=0) / total).compute()
    return total, centre, var


def _check_finite(X) -> None:
    if not bool(np.isfinite(X).all().compute()):
        raise InvalidDataError("the data has NaN or infinite values; drop or fill them first "
                               "(e.g. with dask's dropna).")


@dataclass
class DaskPrepared(PreparedData):
    """PreparedData whose rows are a dask array: passes run as tasks, chunk by chunk."""

    weights_array: object = None  # (N,) dask array or None
    distributed = True

    def _compute(self, tasks: list, cancellable: bool = True):
        """Run ``tasks`` on the scheduler; a pass checks Stop before and after.

        One-off sums the M-step asks for (the scatter, the column ranges) are
        not cancellable: a Stop then takes effect at the next pass, which the
        engine catches, as it does in memory.
        """
        import dask

        if cancellable:
            self.check_cancel()
        results = dask.compute(*tasks)
        if cancellable:
            self.check_cancel()
        return results

    def _fold(self, parts) -> PassResult:
        total = PassResult()
        for part in parts:  # in chunk order: the same sums on every run
            total.add(part)
        return total

    def map_chunks(self, fn, *args, cancellable: bool = True) -> list:
        """``fn(chunk (B, D), weights (B,) or None, first row, *args)`` per chunk, in order.

        Each call is one task on the scheduler; the one way every pass, sum
        and sample here reaches the rows.
        """
        import dask

        weights = ([None] * len(self.X.chunks[0]) if self.weights_array is None
                   else list(self.weights_array.to_delayed().ravel()))
        tasks = [dask.delayed(fn, pure=True)(chunk, w, start, *args)
                 for chunk, w, start in zip(_chunks(self.X), weights, _starts(self.X),
                                            strict=True)]
        return list(self._compute(tasks, cancellable))

    def em_pass(self, kernel, *, hard=False, want_stats=True, labels=None, log_density=None,
                noise_log=None, noise_scatter=False, want_entropy=False) -> PassResult:
        """``passes.em_pass`` on every chunk as a task; per-row outputs stay on the cluster."""
        import dask

        if labels is not None or log_density is not None:
            raise InvalidConfigError("per-row outputs of a dask fit are lazy: use "
                                     "core.distributed.labels / log_density.")
        options = dict(hard=hard, want_stats=want_stats, noise_log=noise_log,
                       noise_scatter=noise_scatter, want_entropy=want_entropy)
        # One key for the parameters, sent once to each worker, not once per task.
        params = dask.delayed(kernel, pure=True)
        return self._fold(self.map_chunks(_chunk_em_pass, self.centre, self.scale, self.dtype,
                                          params, options))

    def kmeans_pass(self, centres: np.ndarray, variance: float | None) -> PassResult:
        """``lloyd.kmeans_pass`` on every chunk as a task."""
        return self._fold(self.map_chunks(_chunk_lloyd_pass, self.centre, self.scale,
                                          self.dtype, centres, variance))

    def total_scatter(self) -> np.ndarray:
        """sum_n w_n (x_n - centre)(x_n - centre)^T (D, D): one pass, kept."""
        if self._scatter is None:
            parts = self.map_chunks(_chunk_scatter, self.centre, cancellable=False)
            self._scatter = sum(parts, np.zeros((self.n_features,) * 2))
        return self._scatter

    def column_range(self) -> tuple[np.ndarray, np.ndarray]:
        """Each column's smallest and largest value (D,), (D,), computed on the cluster."""
        import dask

        lo, hi = dask.compute(self.X.min(axis=0), self.X.max(axis=0))
        return np.asarray(lo), np.asarray(hi)

    @property
    def shape(self) -> tuple[int, int]:
        """(N, D), as an array's."""
        return self.n_rows, self.n_features


def _local(chunk, w, centre, scale, dtype) -> PreparedData:
    """A chunk as in-memory PreparedData centred on the whole data's centre.

    Its total weight is never read: the passes sum, the client divides.
    """
    return PreparedData(np.ascontiguousarray(chunk, dtype=np.float64),
                        None if w is None else np.asarray(w, dtype=np.float64),
                        centre, scale, 1.0, (), np.dtype(dtype))


def _offset(part: PassResult, start: int) -> PassResult:
    part.worst = [(score, row + start) for score, row in part.worst]
    return part


def _chunk_em_pass(chunk, w, start, centre, scale, dtype, kernel, options):
    """One chunk's PassResult (runs on a worker). Worst rows are numbered globally."""
    local = _local(chunk, w, centre, scale, dtype)
    return _offset(em_pass(local, kernel, **options), start)


def _chunk_lloyd_pass(chunk, w, start, centre, scale, dtype, centres, variance):
    from ..engine.lloyd import LloydRows, kmeans_pass

    local = _local(chunk, w, centre, scale, dtype)
    return _offset(kmeans_pass(LloydRows(local), centres, variance=variance), start)


def _chunk_scatter(chunk, w, _start, centre) -> np.ndarray:
    xc = np.asarray(chunk, dtype=np.float64) - centre
    return (xc if w is None else xc * np.asarray(w)[:, None]).T @ xc


def prepare_dask(X, sample_weight=None, *, dtype: str = "float64",
                 cancel: threading.Event | None = None) -> DaskPrepared:
    """Moments on the cluster; the array is persisted there for the passes to come."""
    import dask.array as da

    X = as_dask_array(X)
    if X.shape[0] < 2:
        raise InvalidDataError("a mixture needs at least 2 rows.")
    w = None
    if sample_weight is not None:
        w = sample_weight if isinstance(sample_weight, da.Array) else da.from_array(
            np.asarray(sample_weight, dtype=float), chunks=(X.chunks[0],))
        w = w.astype(np.float64).rechunk((X.chunks[0],))
    _check_finite(X)
    X = X.persist()
    w = None if w is None else w.persist()
    total, centre, var = _moments(X, w)
    tiny = 1e-24 * np.maximum(centre**2, 1.0)
    constant = tuple(int(j) for j in np.flatnonzero(var <= tiny))
    scale = np.where(var <= tiny, 1.0, np.sqrt(var))
    return DaskPrepared(X, None, centre, scale, total, constant, np.dtype(dtype), cancel,
                        weights_array=w)


def sample_rows(data: DaskPrepared, n: int, seed: int | None) -> tuple[np.ndarray, object]:
    """About ``n`` rows drawn on the cluster, the same for the same seed and chunks.

    Each chunk keeps each row with probability n / N, from its own generator
    seeded by (seed, the chunk's first row). Returns (rows (m, D), weights (m,) or None).
    """
    fraction = min(1.0, n / data.n_rows)
    parts = data.map_chunks(_chunk_sample, fraction, 0 if seed is None else seed)
    rows = np.vstack([p[0] for p in parts])
    w = None if data.weights_array is None else np.concatenate([p[1] for p in parts])
    return rows, w


def _chunk_sample(chunk, w, start, fraction, seed):
    keep = np.random.default_rng([seed, start]).random(len(chunk)) < fraction
    return np.asarray(chunk)[keep], None if w is None else np.asarray(w)[keep]


def iterate_dask(X, config: FitConfig, *, sample_weight=None,
                 initial_model: MixtureModel | None = None,
                 cancel: threading.Event | None = None) -> Iterator[Snapshot]:
    """Snapshots of a fit of dask data (``fitting.iterate`` for a dask collection)."""
    from ..engine.fitting import iterate_prepared

    data, start, config = _prepared_start(X, config, sample_weight, initial_model, cancel)
    yield from iterate_prepared(data, config, start)


def fit_dask(X, config: FitConfig, *, sample_weight=None,
             initial_model: MixtureModel | None = None,
             callback: Callable[[Snapshot], None] | None = None,
             cancel: threading.Event | None = None) -> FitResult:
    """``fitting.fit`` for a dask collection; the result has no per-row labels."""
    from ..engine.fitting import fit_prepared

    data, start, config = _prepared_start(X, config, sample_weight, initial_model, cancel)
    note = () if initial_model is not None else (
        f"started from a fit of a random sample of the rows drawn on the cluster "
        f"({config.n_init} restart(s) there), then fitted on all {data.n_rows:,} rows",)
    return fit_prepared(data, config.replace(n_init=1), start, callback, with_labels=False,
                        notes=note)


def _prepared_start(X, config, sample_weight, initial_model, cancel):
    """The prepared dask data, the model to start from and the one-run config.

    X is a dask collection or DaskPrepared (a sweep prepares once for all its fits).
    A Stop while the start is being found is a FitError, as it is in memory.
    """
    try:
        return _prepare_and_start(X, config, sample_weight, initial_model, cancel)
    except Cancelled:
        raise FitError("the fit was stopped before its first pass over the data on the "
                       "cluster.") from None


def _prepare_and_start(X, config, sample_weight, initial_model, cancel):
    if isinstance(X, DaskPrepared):
        data = X if cancel is None else dataclasses.replace(X, cancel=cancel)
    else:
        data = prepare_dask(X, sample_weight, dtype=config.dtype, cancel=cancel)
    if config.n_components > data.n_rows:
        raise InvalidDataError(f"K={config.n_components} components need at least "
                               f"{config.n_components} rows; the data has {data.n_rows}.")
    if initial_model is None:
        from ..engine.fitting import fit

        rows, w = sample_rows(data, SAMPLE_ROWS, config.random_state)
        if len(rows) < max(2, config.n_components):
            raise InvalidDataError("the sample drawn for the start is too small; use fewer "
                                   "components.")
        # The sample gives a start, not the answer: a bounded fit there, so a
        # "run until stopped" fit (tol 0) reaches its passes on the cluster.
        start_config = config.replace(max_iter=min(config.max_iter, START_ITERATIONS))
        initial_model = fit(rows, start_config, sample_weight=w, cancel=cancel).model
    return data, initial_model, config.replace(n_init=1)
