"""Per-block E-step and sufficient-statistic kernels, one per covariance layout.

Blocks are stored feature-major: a block of centred rows is ``xt`` (D, B), so
that reductions over components run along contiguous rows of length B. A
kernel turns ``xt`` into ``feats`` (F, B) such that the weighted
log-probabilities log(w_k) + log N(x | k) are one matrix product
``coef (K, F) @ feats`` and the M-step statistics are another,
``resp (K, B) @ feats.T`` (K, F). Feature 0 is 1, so the same product yields
the responsibility totals ``nk``. Parameters live in centred coordinates (the
data mean subtracted), so data far from the origin loses no precision.

Full covariances in many dimensions would need too many quadratic features;
``FullProjectionKernel`` then projects onto each precision Cholesky factor, as
scikit-learn does, and accumulates one weighted Gram matrix per component.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Protocol

import numpy as np

from .families import covariance_model
from .gaussian import LOG_2PI, log_det_precision_cholesky


@dataclass
class Stats:
    """Sufficient statistics of one pass, in centred coordinates.

    nk (K,) responsibility totals; sx (K, D) weighted sums of x;
    second: (K, D, D) for full, (K, D) for diag/spherical, None for tied
    (tied uses the data's total scatter, which does not depend on resp).
    """

    nk: np.ndarray
    sx: np.ndarray
    second: np.ndarray | None


class ComponentKernel(Protocol):
    """What the model and the engine's passes need from a covariance layout.

    ``d`` features, ``k`` components, ``kind`` the covariance type and
    ``n_feat`` F, the rows of ``features``. Parameters are set in centred
    coordinates; every array is feature-major (one column per row of data).
    """

    d: int
    k: int
    kind: str
    n_feat: int

    def set_params(self, weights, means, prec_chol) -> None:
        """Take weights (K,), centred means (K, D) and precision Cholesky factors."""

    def features(self, xt: np.ndarray, out: np.ndarray) -> np.ndarray:
        """(F, B) features of centred rows xt (D, B), for ``log_prob``."""

    def stats_features(self, xt: np.ndarray, out: np.ndarray) -> np.ndarray | None:
        """(F, B) features for ``accumulate`` (None if it works on xt itself)."""

    def log_prob(self, feats: np.ndarray, out: np.ndarray) -> np.ndarray:
        """Weighted log-probabilities log w_k + log N(x | k): (K, B) into ``out``."""

    def new_accumulator(self) -> np.ndarray:
        """A zeroed accumulator of M-step statistics."""

    def accumulate(self, feats, xt, resp: np.ndarray, acc: np.ndarray, scratch=None) -> None:
        """Add responsibilities resp (K, B) times this block's statistics into ``acc``."""

    def to_stats(self, acc: np.ndarray) -> Stats:
        """Unpack an accumulator into Stats."""


@lru_cache(maxsize=64)
def _upper_triangle(d: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Row and column indices (D(D+1)/2,) of the upper triangle and each entry's factor in x'Px."""
    iu, ju = np.triu_indices(d)
    return iu, ju, np.where(iu == ju, -0.5, -1.0)


def _log_consts(weights: np.ndarray, log_det: np.ndarray, n_features: int) -> np.ndarray:
    with np.errstate(divide="ignore"):
        return np.log(weights) + log_det - 0.5 * n_features * LOG_2PI


class QuadraticKernel:
    """Full, tied, diag or spherical covariances through quadratic features.

    Features are [1, x, x_i x_j (i <= j)] for full/tied and [1, x, x^2] for
    diag/spherical, so F = 1 + D + D(D+1)/2 or 1 + 2D. ``from_full`` says the
    model stores (K, D, D) matrices (EII, EEI, VEI, EVI) that this diagonal
    kernel reads the diagonal of.
    """

    def __init__(self, n_features: int, n_components: int, covariance_type: str,
                 from_full: bool = False):
        self.d, self.k, self.kind = n_features, n_components, covariance_type
        self.from_full = from_full
        self.diagonal = covariance_type in ("diag", "spherical")
        n_quad = n_features if self.diagonal else n_features * (n_features + 1) // 2
        self.n_feat = 1 + n_features + n_quad
        # Tied M-steps need only nk and the sums: the scatter is the data's.
        self.n_stat = 1 + n_features if covariance_type == "tied" else self.n_feat
        self.coef: np.ndarray | None = None
        # x'Px = sum_i P_ii x_i^2 + 2 sum_{i<j} P_ij x_i x_j: the upper triangle's
        # indices and factors, computed once, not every iteration.
        self.iu, self.ju, self.quad_factor = _upper_triangle(n_features)

    def features(self, xt: np.ndarray, out: np.ndarray) -> np.ndarray:
        """Fill ``out`` (F, B) with the features of centred rows xt (D, B)."""
        d = self.d
        out[0] = 1.0
        out[1:1 + d] = xt
        if self.diagonal:
            np.multiply(xt, xt, out=out[1 + d:])
            return out
        row = 1 + d
        for i in range(d):
            np.multiply(xt[i:], xt[i], out=out[row:row + d - i])
            row += d - i
        return out

    stats_features = features

    def set_params(self, weights, means, prec_chol) -> None:
        """Precompute ``coef`` (K, F) from parameters in centred coordinates."""
        d, k = self.d, self.k
        if self.from_full:
            prec_chol = np.diagonal(prec_chol, axis1=1, axis2=2)
            if self.kind == "spherical":
                prec_chol = prec_chol[:, 0]
        log_det = log_det_precision_cholesky(prec_chol, self.kind, d)
        coef = np.empty((k, self.n_feat))
        if self.diagonal:
            prec = prec_chol**2
            prec = np.broadcast_to(prec[:, None] if self.kind == "spherical" else prec, (k, d))
            coef[:, 1:1 + d] = means * prec
            coef[:, 1 + d:] = -0.5 * prec
            quad_mean = np.einsum("kd,kd->k", means**2, prec)
        else:
            chol = prec_chol if self.kind == "full" else np.broadcast_to(prec_chol, (k, d, d))
            prec = chol @ np.swapaxes(chol, 1, 2)
            prec_means = np.einsum("kij,kj->ki", prec, means)
            coef[:, 1:1 + d] = prec_means
            coef[:, 1 + d:] = prec[:, self.iu, self.ju] * self.quad_factor
            quad_mean = np.einsum("ki,ki->k", prec_means, means)
        coef[:, 0] = _log_consts(weights, log_det, d) - 0.5 * quad_mean
        self.coef = coef

    def log_prob(self, feats: np.ndarray, out: np.ndarray) -> np.ndarray:
        """Weighted log-probabilities (K, B) into ``out``."""
        return np.matmul(self.coef.astype(feats.dtype, copy=False), feats, out=out)

    def new_accumulator(self) -> np.ndarray:
        """Zeroed accumulator for ``accumulate``: (K, F')."""
        return np.zeros((self.k, self.n_stat))

    def accumulate(self, feats, xt, resp: np.ndarray, acc: np.ndarray, scratch=None) -> None:
        """acc (K, F') += resp (K, B) @ feats[:F'].T."""
        acc += resp @ feats[: self.n_stat].T

    def to_stats(self, acc: np.ndarray) -> Stats:
        """Unpack the accumulator into Stats."""
        d = self.d
        nk, sx = acc[:, 0].copy(), acc[:, 1:1 + d].copy()
        if self.kind == "tied":
            return Stats(nk, sx, None)
        if self.diagonal:
            return Stats(nk, sx, acc[:, 1 + d:].copy())
        iu, ju = self.iu, self.ju
        second = np.zeros((self.k, d, d))
        second[:, iu, ju] = acc[:, 1 + d:]
        second[:, ju, iu] = acc[:, 1 + d:]
        return Stats(nk, sx, second)


class FullProjectionKernel:
    """Full covariances in many dimensions: project on each precision factor.

    E-step: Y = [U_1 .. U_K]^T xt - [U_k^T m_k], squared and summed per
    component. M-step: one weighted Gram matrix per component.
    """

    def __init__(self, n_features: int, n_components: int):
        self.d, self.k, self.kind = n_features, n_components, "full"
        self.n_feat = n_features * n_components
        # Sums each component's D squared projections: (K, K*D) block indicator.
        self.group = np.kron(np.eye(n_components), np.ones((1, n_features)))

    def features(self, xt: np.ndarray, out: np.ndarray) -> np.ndarray:
        """Projections Y (K*D, B) into ``out``, ready for log_prob."""
        np.matmul(self.proj.astype(xt.dtype, copy=False), xt, out=out)
        out -= self.offset.astype(xt.dtype, copy=False)[:, None]
        return out

    def stats_features(self, xt: np.ndarray, out: np.ndarray) -> None:
        """``accumulate`` works on the rows themselves: nothing to compute."""
        return None

    def set_params(self, weights, means, prec_chol) -> None:
        """Precompute projections (K*D, D) and constants from centred parameters."""
        self.proj = np.concatenate([u.T for u in prec_chol], axis=0)
        self.offset = np.einsum("kd,kde->ke", means, prec_chol).ravel()
        log_det = log_det_precision_cholesky(prec_chol, "full", self.d)
        self.const = _log_consts(weights, log_det, self.d)

    def log_prob(self, feats: np.ndarray, out: np.ndarray) -> np.ndarray:
        """Weighted log-probabilities (K, B); squares ``feats`` in place."""
        np.square(feats, out=feats)
        np.matmul(self.group.astype(feats.dtype, copy=False), feats, out=out)
        out *= -0.5
        out += self.const.astype(out.dtype, copy=False)[:, None]
        return out

    def new_accumulator(self) -> np.ndarray:
        """Zeroed accumulator: column 0 nk, then D sums, then D*D second moments."""
        return np.zeros((self.k, 1 + self.d + self.d * self.d))

    def accumulate(self, feats, xt, resp: np.ndarray, acc: np.ndarray, scratch=None) -> None:
        """Add this block's nk, sums and per-component weighted Gram matrices."""
        d = self.d
        acc[:, 0] += resp.sum(axis=1)
        acc[:, 1:1 + d] += resp @ xt.T
        weighted = np.empty_like(xt) if scratch is None else scratch
        for k in range(self.k):
            np.multiply(xt, resp[k], out=weighted)
            acc[k, 1 + d:] += (weighted @ xt.T).ravel()

    def to_stats(self, acc: np.ndarray) -> Stats:
        """Unpack the accumulator into Stats."""
        d = self.d
        return Stats(acc[:, 0].copy(), acc[:, 1:1 + d].copy(),
                     acc[:, 1 + d:].reshape(self.k, d, d).copy())


def make_kernel(n_features: int, n_components: int, covariance_type: str) -> ComponentKernel:
    """Pick the cheapest kernel that represents this covariance model.

    Axis-aligned models beyond scikit-learn's (EII, EEI, VEI, EVI) use the
    diagonal kernels; the orientation-bearing ones the full kernels.
    """
    spec = covariance_model(covariance_type)
    quad = QuadraticKernel(n_features, n_components, spec.kernel,
                           from_full=spec.layout == "general" and spec.kernel != "full")
    if spec.kernel == "full" and quad.n_feat > 2 * n_components * n_features:
        return FullProjectionKernel(n_features, n_components)
    return quad


# exp() below log(smallest normal) gives subnormals, which make exp and the
# following matrix products many times slower (float64: -708, float32: -87);
# responsibilities that small are zero for every purpose.
_LOG_CLAMP = {np.dtype(np.float64): -700.0, np.dtype(np.float32): -80.0}


def exp_shifted(wlp: np.ndarray, top: np.ndarray, shifted: np.ndarray | None = None) -> None:
    """wlp (K, B) becomes exp(max(wlp - top, clamp)) in place; top (B,) or (K, B).

    ``shifted`` (K, B), when given, receives the clamped exponents.
    """
    wlp -= top
    np.maximum(wlp, _LOG_CLAMP[wlp.dtype], out=wlp)
    if shifted is not None:
        np.copyto(shifted, wlp)
    np.exp(wlp, out=wlp)


def normalise_log_prob(wlp: np.ndarray, top: np.ndarray | None = None) -> np.ndarray:
    """Turn weighted log-probs (K, B) into responsibilities in place.

    ``top`` is each column's maximum when the caller already has it.
    Returns log p(x) per row (B,) in float64.
    """
    if top is None:
        top = wlp.max(axis=0)
    exp_shifted(wlp, top)
    total = wlp.sum(axis=0)
    wlp /= total
    return top.astype(np.float64) + np.log(total, dtype=np.float64)


def normalise_with_entropy(wlp: np.ndarray, shifted: np.ndarray, top: np.ndarray | None = None
                           ) -> tuple[np.ndarray, np.ndarray]:
    """As normalise_log_prob, and each row's classification entropy -sum_k r_k log r_k.

    ``shifted`` (K, B) is scratch space. With s_k = log(w_k N_k) - max and
    r_k = e^{s_k} / sum_j e^{s_j}, the entropy is log sum_j e^{s_j} - sum_k r_k s_k:
    no logarithm of K x B responsibilities. Returns log p(x) (B,) and the
    entropies (B,), float64.
    """
    if top is None:
        top = wlp.max(axis=0)
    exp_shifted(wlp, top, shifted)
    total = wlp.sum(axis=0)
    wlp /= total
    log_total = np.log(total, dtype=np.float64)
    expected = np.einsum("kb,kb->b", wlp, shifted, dtype=np.float64)
    return top.astype(np.float64) + log_total, log_total - expected


def normalise_with_noise(wlp: np.ndarray, noise_log: float) -> tuple[np.ndarray, np.ndarray]:
    """As normalise_log_prob with a uniform noise term log(π_0 / V) in every row.

    wlp (K, B) becomes the Gaussian responsibilities in place (columns sum to
    1 - p(noise | x)); returns log p(x) (B,) and p(noise | x) (B,), float64.
    """
    top = np.maximum(wlp.max(axis=0), noise_log)
    exp_shifted(wlp, top)
    noise = np.exp(noise_log - top.astype(np.float64))
    total = wlp.sum(axis=0, dtype=np.float64) + noise
    wlp /= total.astype(wlp.dtype, copy=False)
    return top.astype(np.float64) + np.log(total), noise / total


_EVAL_ROWS = 4096  # rows per block when a model scores an array


def evaluate(X: np.ndarray, weights: np.ndarray, means: np.ndarray, prec_chol: np.ndarray,
             covariance_type: str, posterior: bool) -> tuple[np.ndarray, np.ndarray | None]:
    """The one log-density computation, for a model scoring rows X (N, D).

    Returns (N, K) weighted log-probabilities and None, or with ``posterior``
    the responsibilities (N, K) and log p(x) (N,). The same kernels and
    normalisation as the engine's passes, so a model's scores equal what the
    fit computed. Rows are centred on the mixture's mean, a point that does
    not depend on which rows are scored together.
    """
    n, d = X.shape
    k = len(weights)
    centre = weights @ means
    kernel = make_kernel(d, k, covariance_type)
    kernel.set_params(weights, means - centre, prec_chol)
    out = np.empty((n, k))
    log_dens = np.empty(n) if posterior else None
    for start in range(0, n, _EVAL_ROWS):
        stop = min(start + _EVAL_ROWS, n)
        xt = np.ascontiguousarray((X[start:stop] - centre).T)
        feats = kernel.features(xt, np.empty((kernel.n_feat, stop - start)))
        wlp = kernel.log_prob(feats, np.empty((k, stop - start)))
        if posterior:
            log_dens[start:stop] = normalise_log_prob(wlp)
        out[start:stop] = wlp.T
    return out, log_dens
