"""Data prepared once per fit: centred in blocks, weights, scale, block size."""

from __future__ import annotations

import threading
from dataclasses import dataclass

import numpy as np

from ..errors import InvalidDataError
from ..model.families import covariance_model
from ..model.floor import FloorMetric
from ..validation import check_data, check_sample_weight

# About 2 MiB of float64 per block buffer keeps the per-block temporaries in
# cache, while blocks stay large enough that Python overhead is negligible.
_BLOCK_ELEMENTS = 1 << 18


class Cancelled(Exception):  # noqa: N818 - a control-flow signal, not an error
    """Raised inside a pass when the caller's cancel event is set."""


@dataclass
class PreparedData:
    """Rows, optional weights and the per-feature centre and scale.

    X (N, D) float64; sample_weight (N,) or None; centre (D,) weighted mean;
    scale (D,) weighted standard deviation (1 for a constant column).
    ``with_entropy``: a fit's E-steps also sum the classification entropy,
    for the last snapshot and the result (a model sweep's ICL).
    """

    X: np.ndarray
    sample_weight: np.ndarray | None
    centre: np.ndarray
    scale: np.ndarray
    total_weight: float
    constant_columns: tuple[int, ...]
    dtype: np.dtype
    cancel: threading.Event | None = None
    with_entropy: bool = False
    _scatter: np.ndarray | None = None
    _metric: FloorMetric | None = None

    @property
    def n_rows(self) -> int:
        """N."""
        return int(self.X.shape[0])

    @property
    def n_features(self) -> int:
        """D."""
        return int(self.X.shape[1])

    def block_size(self, width: int) -> int:
        """Rows per block for buffers ``width`` columns wide."""
        return int(max(256, min(self.n_rows, _BLOCK_ELEMENTS // max(width, 1))))

    def blocks(self, width: int) -> list[tuple[int, int]]:
        """(start, stop) row ranges for buffers ``width`` columns wide."""
        size = self.block_size(width)
        return [(start, min(start + size, self.n_rows)) for start in range(0, self.n_rows, size)]

    def check_cancel(self) -> None:
        """Raise Cancelled when the caller's cancel event is set."""
        if self.cancel is not None and self.cancel.is_set():
            raise Cancelled

    def centred(self, start: int, stop: int, out: np.ndarray | None = None) -> np.ndarray:
        """Rows start:stop minus the centre, feature-major: (D, B) in ``out``."""
        if out is None:
            out = np.empty((self.n_features, stop - start), dtype=self.dtype)
        np.subtract(self.X[start:stop].T, self.centre[:, None], out=out, casting="same_kind")
        return out

    def weights(self, start: int, stop: int) -> np.ndarray | None:
        """Sample weights of rows start:stop, or None when unweighted."""
        return None if self.sample_weight is None else self.sample_weight[start:stop]

    # A data set on a cluster (core.distributed) runs its passes as tasks and
    # keeps no per-row state such as labels in the client.
    distributed = False

    def em_pass(self, kernel, **options):
        """One E-step (and M-step statistics) pass: ``passes.em_pass`` on these rows."""
        from .passes import em_pass

        return em_pass(self, kernel, **options)

    def total_scatter(self) -> np.ndarray:
        """sum_n w_n (x_n - centre)(x_n - centre)^T: (D, D), computed once."""
        if self._scatter is None:
            d = self.n_features
            scatter = np.zeros((d, d))
            for start, stop in self.blocks(d):
                xt = self.centred(start, stop).astype(np.float64, copy=False)
                w = self.weights(start, stop)
                scatter += (xt if w is None else xt * w) @ xt.T
            self._scatter = scatter
        return self._scatter

    def column_range(self) -> tuple[np.ndarray, np.ndarray]:
        """Each column's smallest and largest value (D,), (D,), in one pass of blocks."""
        lo = np.full(self.n_features, np.inf)
        hi = np.full(self.n_features, -np.inf)
        for start, stop in self.blocks(self.n_features):
            block = np.asarray(self.X[start:stop], dtype=np.float64)
            lo, hi = np.minimum(lo, block.min(axis=0)), np.maximum(hi, block.max(axis=0))
        return lo, hi

    def floor_metric(self, covariance_type: str) -> FloorMetric:
        """How the data spreads, for the variance floor of ``covariance_type``.

        Axis-aligned models need only the scale; the others the total
        covariance as well (one more pass, made once).
        """
        if covariance_model(covariance_type).kernel in ("diag", "spherical"):
            return self._metric or FloorMetric(self.scale)
        if self._metric is None:
            covariance = self.total_scatter() / self.total_weight
            self._metric = FloorMetric.from_covariance(self.scale, covariance)
        return self._metric


def prepare(
    X: object,
    sample_weight: object = None,
    *,
    dtype: str = "float64",
    cancel: threading.Event | None = None,
    min_rows: int = 1,
) -> PreparedData:
    """Validate X and weights and compute the centre and scale.

    ``X`` is an array, or a chunked row source (``chunked = True``, e.g. a
    streaming.RowCache) that was validated when it was built.
    """
    if getattr(X, "chunked", False):
        if sample_weight is not None:
            raise InvalidDataError("out-of-core fits do not take sample weights yet.")
        w, total = None, float(X.shape[0])
        centre, var = _streamed_moments(X)
    else:
        X = check_data(X, min_rows=min_rows)
        w = check_sample_weight(sample_weight, X.shape[0])
        total = float(X.shape[0] if w is None else w.sum())
        centre = (X.mean(axis=0) if w is None else (w @ X) / total)
        # A second pass over centred data keeps the variance exact far from 0.
        var = np.zeros(X.shape[1])
        step = max(256, _BLOCK_ELEMENTS // (4 * X.shape[1]))
        for start in range(0, X.shape[0], step):
            diff = X[start:start + step] - centre
            np.square(diff, out=diff)
            var += diff.sum(axis=0) if w is None else w[start:start + step] @ diff
        var /= total
    tiny = 1e-24 * np.maximum(centre**2, 1.0)
    constant = tuple(int(j) for j in np.flatnonzero(var <= tiny))
    scale = np.where(var <= tiny, 1.0, np.sqrt(var))
    return PreparedData(X, w, centre, scale, total, constant, np.dtype(dtype), cancel)


def _streamed_moments(X) -> tuple[np.ndarray, np.ndarray]:
    """Mean and (biased) variance (D,) in one pass over chunks (Chan et al. 1979)."""
    n, mean, m2 = 0, np.zeros(X.shape[1]), np.zeros(X.shape[1])
    step = max(256, _BLOCK_ELEMENTS // X.shape[1])
    for start in range(0, X.shape[0], step):
        block = X[start:start + step]
        nb, mb = len(block), block.mean(axis=0)
        m2b = ((block - mb) ** 2).sum(axis=0)
        delta, total = mb - mean, n + nb
        mean = mean + delta * nb / total
        m2 = m2 + m2b + delta**2 * n * nb / total
        n = total
    return mean, m2 / n
