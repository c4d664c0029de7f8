"""One pass over the data in row blocks: E-step and sufficient statistics.

Blocks run on a thread pool; each returns a small partial result and the
partials are added up in block order. Extra memory is O(threads x block x
(K + F)), never O(N x K).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

import numpy as np

from ..model.kernels import normalise_log_prob, normalise_with_entropy, normalise_with_noise
from .mstep import candidates_per_block, worst_rows
from .parallel import map_blocks
from .prepared import PreparedData


@dataclass
class PassResult:
    """What one pass learned.

    log_likelihood: sum_n w_n log p(x_n) under the pass's parameters.
    acc: accumulated M-step statistics (None when not requested).
    worst: (log-density, row) of each block's worst-explained rows, the
    candidates of ``mstep.reseed_rows`` (Lloyd passes: minus the squared
    distance to the nearest centre).
    n_changed: rows whose label changed (when a labels array was given).
    classification: hard passes' classification log-likelihood, the sum of
    each row's largest log(w_k N(x | k)).
    noise_nk, noise_scatter: with a noise component, sum_n w_n p(noise | x_n)
    and (when asked) sum_n w_n p(noise | x_n) x_n x_n^T in centred coordinates.
    entropy: when asked, -sum_n w_n sum_k r_nk log r_nk under the pass's parameters.
    """

    log_likelihood: float = 0.0
    acc: np.ndarray | None = None
    worst: list[tuple[float, int]] = field(default_factory=list)
    n_changed: int = 0
    classification: float = 0.0
    noise_nk: float = 0.0
    noise_scatter: np.ndarray | None = None
    entropy: float | None = None

    def add(self, other: PassResult) -> None:
        """Fold another block's partial result into this one."""
        self.log_likelihood += other.log_likelihood
        self.classification += other.classification
        self.worst.extend(other.worst)
        self.n_changed += other.n_changed
        self.noise_nk += other.noise_nk
        if other.entropy is not None:
            self.entropy = (self.entropy or 0.0) + other.entropy
        if other.noise_scatter is not None:
            self.noise_scatter = (other.noise_scatter.copy() if self.noise_scatter is None
                                  else self.noise_scatter + other.noise_scatter)
        if other.acc is not None:
            self.acc = other.acc.copy() if self.acc is None else self.acc + other.acc


class Workspace:
    """Per-thread reusable buffers, keyed by name and shape."""

    def __init__(self, dtype) -> None:
        self.dtype = dtype
        self.local = threading.local()

    def get(self, name: str, shape: tuple[int, ...], dtype=None) -> np.ndarray:
        """A thread-owned buffer of ``shape`` and ``dtype`` (default: the workspace's)."""
        store = self.local.__dict__.setdefault("buffers", {})
        key = (name, shape)
        if key not in store:
            store[key] = np.empty(shape, dtype=self.dtype if dtype is None else dtype)
        return store[key]


def best_rows(values: np.ndarray, largest: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """Index (B,) and value (B,) of the smallest (or largest) entry of each column of (K, B).

    Same answer as argmin/argmax along axis 0 (ties go to the lowest index),
    but numpy's arg-reductions run at ~4 ns an element; a min/max reduction
    plus K equality masks is about a third faster.
    """
    best = values.max(axis=0) if largest else values.min(axis=0)
    index = np.zeros(values.shape[1], dtype=np.intp)
    for k in range(values.shape[0] - 1, -1, -1):  # down to 0: the lowest match wins
        index[values[k] == best] = k
    return index, best


def one_hot(labels: np.ndarray, n_components: int, out: np.ndarray) -> np.ndarray:
    """Hard responsibilities (K, B) for ``labels`` (B,) written into ``out``."""
    out[:] = 0.0
    out[labels, np.arange(len(labels))] = 1.0
    return out


def _weighted_sum(values: np.ndarray, w: np.ndarray | None) -> float:
    return float(values.sum() if w is None else w @ values)


def _update_labels(labels, start, stop, block_labels, part: PassResult) -> None:
    if labels is not None:
        part.n_changed = int(np.count_nonzero(labels[start:stop] != block_labels))
        labels[start:stop] = block_labels


def block_width(kernel, data: PreparedData) -> int:
    """Widest per-row buffer of a kernel pass; sets the rows per block."""
    return max(kernel.n_feat, kernel.k, data.n_features)


def run_pass(data: PreparedData, width: int, block_fn) -> PassResult:
    """Map ``block_fn(start, stop)`` over the blocks and add the partials in order."""
    def guarded(block):
        data.check_cancel()
        return block_fn(*block)

    total = PassResult()
    for part in map_blocks(guarded, data.blocks(width)):
        total.add(part)
    data.check_cancel()
    return total


def em_pass(
    data: PreparedData,
    kernel,
    *,
    hard: bool = False,
    want_stats: bool = True,
    labels: np.ndarray | None = None,
    log_density: np.ndarray | None = None,
    noise_log: float | None = None,
    noise_scatter: bool = False,
    want_entropy: bool = False,
) -> PassResult:
    """E-step under ``kernel``'s parameters and, if wanted, M-step statistics.

    ``noise_log`` = log(π_0 / V) adds a uniform noise component (soft EM
    only): labels are -1 where it is the likeliest, and the pass sums its
    responsibilities (and, with ``noise_scatter``, their scatter).

    ``hard`` assigns each row wholly to its most probable component
    (classification EM). ``labels`` (N,) int, when given, receives the most
    probable component of every row and the number that changed is counted;
    ``log_density`` (N,) float, when given, receives log p(x) of every row.
    ``want_entropy`` sums the classification entropy (not with noise), which
    a model sweep's ICL needs: the pass has the responsibilities anyway.
    """
    k, d = kernel.k, data.n_features
    want_entropy = want_entropy and noise_log is None
    ws = Workspace(data.dtype)

    def block(start: int, stop: int) -> PassResult:
        b = stop - start
        xt = data.centred(start, stop, ws.get("x", (d, b)))
        feats = kernel.features(xt, ws.get("feats", (kernel.n_feat, b)))
        wlp = kernel.log_prob(feats, ws.get("wlp", (k, b)))
        block_labels = top = None
        if hard or labels is not None:
            block_labels, top = best_rows(wlp, largest=True)
        if noise_log is not None:
            if block_labels is not None:
                block_labels[top < noise_log] = -1
            log_dens, noise = normalise_with_noise(wlp, noise_log)
        elif want_entropy:
            log_dens, entropy = normalise_with_entropy(wlp, ws.get("shifted", (k, b)), top)
        else:
            log_dens = normalise_log_prob(wlp, top)
        if log_density is not None:
            log_density[start:stop] = log_dens
        w = data.weights(start, stop)
        part = PassResult(_weighted_sum(log_dens, w),
                          worst=worst_rows(log_dens, start,
                                           candidates_per_block(k, b, data.n_rows)))
        if want_entropy:
            part.entropy = _weighted_sum(entropy, w)
        if hard:
            # Classification EM maximises sum_n max_k log(w_k N(x_n | k)).
            part.classification = _weighted_sum(top.astype(np.float64), w)
        _update_labels(labels, start, stop, block_labels, part)
        if noise_log is not None:
            claimed = noise if w is None else noise * w
            part.noise_nk = float(claimed.sum())
            if want_stats and noise_scatter:
                x64 = xt.astype(np.float64, copy=False)
                part.noise_scatter = (x64 * claimed) @ x64.T
        if want_stats:
            resp = one_hot(block_labels, k, wlp) if hard else wlp
            if w is not None:
                resp *= w.astype(resp.dtype, copy=False)
            part.acc = kernel.new_accumulator()
            kernel.accumulate(feats, xt, resp, part.acc, ws.get("scratch", (d, b)))
        return part

    return run_pass(data, block_width(kernel, data), block)


def stats_pass(data: PreparedData, kernel, fill_resp) -> np.ndarray:
    """Accumulate M-step statistics for responsibilities given by a callback.

    ``fill_resp(start, stop, out)`` writes responsibilities (K, B) into ``out``
    and must not depend on the order blocks run in.
    """
    k, d = kernel.k, data.n_features
    ws = Workspace(np.float64)

    def block(start: int, stop: int) -> PassResult:
        b = stop - start
        xt = data.centred(start, stop, ws.get("x", (d, b))).astype(np.float64, copy=False)
        feats = kernel.stats_features(xt, ws.get("feats", (kernel.n_feat, b)))
        resp = fill_resp(start, stop, ws.get("resp", (k, b)))
        w = data.weights(start, stop)
        if w is not None:
            resp *= w
        acc = kernel.new_accumulator()
        kernel.accumulate(feats, xt, resp, acc, ws.get("scratch", (d, b)))
        return PassResult(acc=acc)

    return run_pass(data, block_width(kernel, data), block).acc
