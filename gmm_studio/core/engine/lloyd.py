"""The Lloyd pass of k-means: nearest centre, per-cluster sums, and the
log-likelihood of the mixture k-means implicitly fits.

Every row is read as the column f = [x; 1; |x|^2] of a (D+2, N) matrix, x
being the centred (and optionally scaled) row. Then one matrix product,
[c, -|c|^2/2] @ f, gives c.x - |c|^2/2 for every centre, whose largest entry is
the nearest centre; and one product of the one-hot assignment matrix with f^T
gives each cluster's sums, count and sum of |x|^2 at once. This keeps a pass to
two BLAS calls and a handful of vectorised sweeps over (K, B).
"""

from __future__ import annotations

import numpy as np

from .mstep import candidates_per_block, worst_rows
from .parallel import map_blocks
from .passes import PassResult, Workspace, best_rows, run_pass
from .prepared import PreparedData


class LloydRows:
    """The rows as Lloyd passes read them: (D+2, B) blocks [x; 1; |x|^2].

    ``x`` is (row - centre) / scale. With ``cache`` (in-memory data only) the
    whole (D+2, N) matrix is laid out once, so each pass takes views instead of
    transposing its rows again -- the transpose costs as much as the rest of a
    pass. Without it (or without memory for it), blocks are laid out as they
    are read (O(block) memory).
    """

    def __init__(self, data: PreparedData, scale: np.ndarray | None = None,
                 cache: bool = True) -> None:
        self.data, self.scale = data, scale
        self.n_features = data.n_features
        self.full: np.ndarray | None = None
        # Per-block statistics of the partition last written to a labels
        # array, and passes since their full count (see _update_stats).
        self._memo: dict[int, tuple[np.ndarray, int]] = {}
        if cache and not getattr(data.X, "chunked", False):
            try:
                full = np.empty((self.n_features + 2, data.n_rows))
            except MemoryError:  # slower passes, but they still run
                return
            map_blocks(lambda block: self._fill(*block, full[:, block[0]:block[1]]),
                       data.blocks(self.n_features + 2))
            data.check_cancel()
            self.full = full

    def _fill(self, start: int, stop: int, out: np.ndarray) -> np.ndarray:
        """Rows start:stop laid out in ``out`` (D+2, B)."""
        d = self.n_features
        x = out[:d]
        self.data.centred(start, stop, x)
        if self.scale is not None:
            x /= self.scale[:, None]
        out[d] = 1.0
        np.einsum("db,db->b", x, x, out=out[d + 1])
        return out

    def recall(self, start: int) -> tuple[np.ndarray, int] | None:
        """The remembered statistics of the block starting at ``start``."""
        return self._memo.get(start)

    def remember(self, start: int, entry: tuple[np.ndarray, int]) -> np.ndarray:
        """Keep a block's (statistics, age); returns the statistics."""
        self._memo[start] = entry
        return entry[0]

    def block(self, start: int, stop: int, ws: Workspace) -> np.ndarray:
        """Rows start:stop as (D+2, B): a view of the cache or a filled buffer."""
        if self.full is not None:
            return self.full[:, start:stop]
        return self._fill(start, stop, ws.get("f", (self.n_features + 2, stop - start)))


_REFRESH = 64


def _assign(scores: np.ndarray, marks: np.ndarray,
            label_dtype=np.intp) -> tuple[np.ndarray, np.ndarray]:
    """Nearest centre (B,) of ``label_dtype`` and best score (B,) per column of scores (K, B).

    Writes the assignment as 0/1 marks (K, B) bool into ``marks``: a
    column's maximum marks its centre. Summing k * mark over k gives the index
    in a single sweep of bytes (numpy's arg-reductions along axis 0 cost ~50x
    more). A tie (two equal maxima, e.g. duplicate centres) falls back to the
    lowest index, as argmax does.
    """
    k = len(scores)
    top = scores.max(axis=0)
    np.equal(scores, top, out=marks)
    if k < 256:  # indices and counts fit in the byte sums
        bytes_ = marks.view(np.uint8)
        count = np.einsum("kb->b", bytes_)
        index = np.einsum("k,kb->b", np.arange(k, dtype=np.uint8), bytes_)
    else:
        count = marks.sum(axis=0)
        index = np.arange(k) @ marks
    if count.max() > 1:
        index, _ = best_rows(scores, largest=True)
        marks[:] = False
        marks[index, np.arange(len(index))] = True
    return index.astype(label_dtype), top


def kmeans_pass(
    rows: LloydRows,
    centres: np.ndarray,
    *,
    variance: float | None = None,
    labels: np.ndarray | None = None,
) -> PassResult:
    """Lloyd step: assign rows to the nearest centre and sum them per cluster.

    ``centres`` (K, D) are in the coordinates of ``rows``. When ``variance``
    is given, also computes the log-likelihood of the mixture k-means
    implicitly fits: equal weights, covariance ``variance * I``. ``labels``
    (N,) receives the nearest centres and the number that changed is counted;
    passes over one ``rows`` must share one ``labels`` array, whose partition
    ``rows`` remembers per block. acc holds per-cluster [sums (D), weight,
    sum of |x|^2] (K, D + 2) -- see ``split_stats``; worst each block's
    farthest row as (-d^2, row).
    """
    data = rows.data
    k, d = centres.shape
    ws = Workspace(np.float64)
    var = 1.0 if variance is None else variance
    # Scores (c.x - |c|^2/2) / var: the largest is the nearest centre, and
    # they are already in units of the mixture's log-density.
    sq_centres = np.einsum("kd,kd->k", centres, centres)
    coef = np.zeros((k, d + 2))
    coef[:, :d] = centres / var
    coef[:, d] = -0.5 * sq_centres / var
    log_norm = np.log(k) + 0.5 * d * np.log(2 * np.pi * var)
    # score_k - top >= -|x - c_k|^2 / (2 var) >= -(|x| + |c_k|)^2 / (2 var)
    c_norm = float(np.sqrt(sq_centres.max()))
    label_dtype = np.intp if labels is None else labels.dtype

    def block(start: int, stop: int) -> PassResult:
        b = stop - start
        f = rows.block(start, stop, ws)
        sq_rows = f[d + 1]
        # The |x|^2 row has coefficient 0: leave it out of the product.
        scores = np.matmul(coef[:, :d + 1], f[:d + 1], out=ws.get("scores", (k, b)))
        marks = ws.get("marks", (k, b), np.bool_)
        block_labels, top = _assign(scores, marks, label_dtype)
        # |x - c|^2 = |x|^2 - 2 var score
        d2 = sq_rows - (2.0 * var) * top
        part = PassResult(worst=worst_rows(d2, start, candidates_per_block(k, b, data.n_rows),
                                           largest=True))
        w = data.weights(start, stop)
        if variance is not None:
            spread = (np.sqrt(sq_rows.max()) + c_norm) ** 2 / (2.0 * var)
            part.log_likelihood = _log_likelihood(scores, top, sq_rows, var, log_norm, w,
                                                  clamp=spread > 700.0)

        def full_stats() -> np.ndarray:
            onehot = ws.get("onehot", (k, b))
            np.copyto(onehot, marks)
            if w is not None:
                onehot *= w
            return onehot @ f.T

        if labels is None:
            part.acc = full_stats()
            return part
        old = labels[start:stop]
        moved = np.flatnonzero(old != block_labels)
        part.n_changed = len(moved)
        part.acc = rows.remember(start, _update_stats(
            rows.recall(start), full_stats, f, w, moved, old, block_labels))
        labels[start:stop] = block_labels
        return part

    return run_pass(data, max(k, d + 2), block)


def split_stats(acc: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(weights nk (K,), sums (K, D), sums of |x|^2 (K,)) from a pass's acc (K, D+2)."""
    d = acc.shape[1] - 2
    return acc[:, d], acc[:, :d], acc[:, d + 1]


def _update_stats(previous, full_stats, f, w, moved, old, new) -> tuple[np.ndarray, int]:
    """A block's statistics (K, D+2) and their age, from the last pass's when few rows moved.

    Moving a row from cluster j to k subtracts its column of f (D+2, B) from
    j's sums and adds it to k's: O(moved) work instead of the O(B K) product
    in ``full_stats()``. After its first passes Lloyd moves a small share of the
    rows, so this skips most products. ``previous`` is None or (stats, passes
    since their full count); a full recount every _REFRESH passes keeps
    rounding from accumulating.
    """
    if previous is None or previous[1] >= _REFRESH or 8 * len(moved) > len(new):
        return full_stats(), 0
    stats, age = previous
    if len(moved):
        cols = np.arange(len(moved))
        step = np.ones(len(moved)) if w is None else w[moved]
        sign = np.zeros((len(stats), len(moved)))
        sign[new[moved], cols] = step
        sign[old[moved], cols] = -step  # a moved row's old and new clusters differ
        stats = stats + sign @ f[:, moved].T
    return stats, age + 1


def _log_likelihood(scores, top, sq_rows, var, log_norm, w, clamp=True) -> float:
    """sum_n w_n log((1/K) sum_k N(x_n | c_k, var I)); overwrites scores (K, B).

    log N(x | c_k, var I) = score_k - |x|^2 / (2 var) - log_norm + log K, so
    the sum over k is a log-sum-exp of the scores. ``clamp`` raises terms
    below -700 to it (exp would be subnormal, 100x slower, and add nothing);
    the caller skips it when a bound shows there are none.
    """
    scores -= top
    if clamp:
        np.maximum(scores, -700.0, out=scores)
    np.exp(scores, out=scores)
    total = np.ones(len(scores)) @ scores
    log_dens = top - 0.5 * sq_rows / var + np.log(total) - log_norm
    return float(log_dens.sum() if w is None else w @ log_dens)
