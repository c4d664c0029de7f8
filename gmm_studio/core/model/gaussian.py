"""Gaussian building blocks, one small function per covariance type.

Shapes follow scikit-learn: ``covariances`` is (K, D, D) for "full", (D, D) for
"tied", (K, D) for "diag" and (K,) for "spherical", and (K, D, D) for the ten
other models of the family (``families``); ``prec_chol`` (the Cholesky factor
of each precision matrix, upper-triangular as in scikit-learn) has the same
shape.
"""

from __future__ import annotations

import numpy as np

from .._native_loops import native
from ..errors import InvalidModelError
from .families import covariance_model, n_covariance_parameters

LOG_2PI = float(np.log(2.0 * np.pi))


def precision_cholesky(covariances: np.ndarray, covariance_type: str) -> np.ndarray:
    """Cholesky factors of the precisions, same shape as ``covariances``.

    Raises InvalidModelError naming the component when one is not positive definite.
    """
    covariance_type = _layout(covariance_type)
    if covariance_type in ("diag", "spherical"):
        positive = covariances > 0
        if covariance_type == "diag":
            positive = positive.all(axis=1)
        if not positive.all():
            raise InvalidModelError(_not_pd_message(np.flatnonzero(~positive)))
        return 1.0 / np.sqrt(covariances)
    stack = covariances[None] if covariance_type == "tied" else covariances
    # Batched numpy calls: per-component scipy calls cost more than the maths
    # for the small matrices of a mixture.
    try:
        cov_chol = np.linalg.cholesky(stack)
    except np.linalg.LinAlgError:
        bad = np.flatnonzero(not_positive_definite(stack))
        raise InvalidModelError(_not_pd_message(bad)) from None
    out = np.swapaxes(inverse_lower(cov_chol), 1, 2)
    return out[0] if covariance_type == "tied" else out


def from_eigen(vectors: np.ndarray, values: np.ndarray) -> np.ndarray:
    """Matrices V diag(e) Vᵀ from eigenvectors (..., D, D) (columns) and values (..., D).

    Either may be shared by broadcasting (one V for K value sets, or one set
    of values for K bases). One batched product: a three-operand einsum of
    the same sums is not sent to BLAS and took ~0.8 ms per call for 100
    matrices at D = 30, ~8 % of a fourteen-model sweep there.
    """
    return (vectors * values[..., None, :]) @ np.swapaxes(vectors, -1, -2)


def inverse_lower(chol: np.ndarray) -> np.ndarray:
    """Inverses (K, D, D) of lower-triangular (K, D, D) matrices with a positive diagonal.

    Forward substitution one row at a time, all K at once: D small batched
    products instead of a general solve against the identity, which costs
    3-4 times as much for the matrices of a mixture (measured from D = 2 to
    30). It agrees with that solve to ~1e-16 relative (a test asks 1e-12).
    Compiled (``core/_native.c``) where built: the same substitution, one call.
    """
    if native is not None and chol.dtype == np.float64:
        chol = np.ascontiguousarray(chol)
        inverse = np.empty_like(chol)
        native.inverse_lower(chol, inverse, chol.shape[0], chol.shape[-1])
        return inverse
    return _inverse_lower_rows(chol)


def _inverse_lower_rows(chol: np.ndarray) -> np.ndarray:
    """``inverse_lower`` in NumPy, a row of all K matrices per step."""
    d = chol.shape[-1]
    inverse = np.zeros_like(chol)
    diag = 1.0 / np.diagonal(chol, axis1=1, axis2=2)                 # (K, D)
    inverse[:, 0, 0] = diag[:, 0]
    for i in range(1, d):
        # Row i of L⁻¹: (e_i - L[i, :i] L⁻¹[:i, :i]) / L[i, i].
        inverse[:, i, :i] = -np.matmul(chol[:, i:i + 1, :i], inverse[:, :i, :i])[:, 0] \
            * diag[:, i, None]
        inverse[:, i, i] = diag[:, i]
    return inverse


def not_positive_definite(stack: np.ndarray) -> np.ndarray:
    """Which of (K, D, D) symmetric matrices have no Cholesky factor: bool (K,).

    A Cholesky factorisation of all K at once, one column per step, that marks
    a matrix when its pivot is not positive instead of stopping: D steps of a
    few batched operations, where one np.linalg.cholesky per matrix costs K
    calls (a high-K sweep in 30 dimensions has many components on the floor).
    Compiled (``core/_native.c``) where built: each matrix's factor in one call.
    """
    if native is not None and stack.dtype == np.float64:
        bad = np.empty(len(stack), dtype=np.uint8)
        native.not_positive_definite(np.ascontiguousarray(stack), bad, stack.shape[0],
                                     stack.shape[-1])
        return bad.astype(bool)
    try:    # the usual answer, "none", from one LAPACK call before D column steps
        np.linalg.cholesky(stack)
        return np.zeros(len(stack), dtype=bool)
    except np.linalg.LinAlgError:
        return _not_positive_definite_columns(stack)


def _not_positive_definite_columns(stack: np.ndarray) -> np.ndarray:
    """``not_positive_definite`` in NumPy, a column of all K factors per step."""
    k, d, _ = stack.shape
    chol = np.zeros_like(stack)
    bad = np.zeros(k, dtype=bool)
    for j in range(d):
        column = stack[:, j:, j] - np.matmul(chol[:, j:, :j], chol[:, j, :j, None])[..., 0]
        pivot = column[:, 0]
        bad |= ~(pivot > 0.0)
        # A marked matrix's factor stops growing (zeros), so nothing overflows.
        chol[:, j:, j] = np.where(bad[:, None], 0.0,
                                  column / np.sqrt(np.where(bad, 1.0, pivot))[:, None])
    return bad


def _not_pd_message(components) -> str:
    which = ", ".join(str(int(k)) for k in components) or "?"
    return (
        f"covariance of component(s) {which} is not positive definite (a component "
        "collapsed onto too few distinct points); raise the variance floor or use fewer components."
    )


def log_det_precision_cholesky(
    prec_chol: np.ndarray, covariance_type: str, n_features: int
) -> np.ndarray:
    """log det of each precision Cholesky factor: (K,) or a scalar for "tied"."""
    if covariance_type == "full":
        return np.log(np.diagonal(prec_chol, axis1=1, axis2=2)).sum(axis=1)
    if covariance_type == "tied":
        return np.log(np.diag(prec_chol)).sum()
    if covariance_type == "diag":
        return np.log(prec_chol).sum(axis=1)
    return n_features * np.log(prec_chol)


def _layout(covariance_type: str) -> str:
    """Storage layout; the ten models beyond scikit-learn's are stored as "full"."""
    layout = covariance_model(covariance_type).layout
    return "full" if layout == "general" else layout


def n_parameters(n_components: int, n_features: int, covariance_type: str) -> int:
    """Number of free parameters of a mixture (for BIC / AIC), as mclust counts them."""
    cov_params = n_covariance_parameters(covariance_type, n_components, n_features)
    return int(cov_params + n_components * n_features + n_components - 1)


def covariance_shape(n_components: int, n_features: int, covariance_type: str) -> tuple:
    """Expected shape of ``covariances`` for this covariance type."""
    covariance_type = _layout(covariance_type)
    return {
        "full": (n_components, n_features, n_features),
        "tied": (n_features, n_features),
        "diag": (n_components, n_features),
        "spherical": (n_components,),
    }[covariance_type]


def full_covariances(
    covariances: np.ndarray, covariance_type: str, n_components: int, n_features: int
) -> np.ndarray:
    """Expand any covariance type to full matrices: (K, D, D)."""
    covariance_type = _layout(covariance_type)
    if covariance_type == "full":
        return np.array(covariances, dtype=float)
    if covariance_type == "tied":
        return np.broadcast_to(covariances, (n_components, n_features, n_features)).copy()
    if covariance_type == "diag":
        return np.einsum("kd,de->kde", covariances, np.eye(n_features))
    return covariances[:, None, None] * np.eye(n_features)[None]
