"""Gaussian building blocks, one small function per covariance type.

Shapes follow scikit-learn: ``covariances`` is (K, D, D) for "full", (D, D) for
"tied", (K, D) for "diag" and (K,) for "spherical"; ``prec_chol`` (the Cholesky
factor of each precision matrix, upper-triangular as in scikit-learn) has the
same shape.
"""

from __future__ import annotations

import numpy as np

from ..errors import InvalidModelError

LOG_2PI = float(np.log(2.0 * np.pi))


def precision_cholesky(covariances: np.ndarray, covariance_type: str) -> np.ndarray:
    """Cholesky factors of the precisions, same shape as ``covariances``.

    Raises InvalidModelError naming the component when one is not positive definite.
    """
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
        bad = [k for k, c in enumerate(stack) if not _is_pd(c)]
        raise InvalidModelError(_not_pd_message(bad)) from None
    eye = np.broadcast_to(np.eye(stack.shape[-1]), stack.shape)
    out = np.swapaxes(np.linalg.solve(cov_chol, eye), 1, 2)
    return out[0] if covariance_type == "tied" else out


def _is_pd(matrix: np.ndarray) -> bool:
    try:
        np.linalg.cholesky(matrix)
        return True
    except np.linalg.LinAlgError:
        return False


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


def n_parameters(n_components: int, n_features: int, covariance_type: str) -> int:
    """Number of free parameters of a mixture (for BIC / AIC)."""
    cov_params = {
        "full": n_components * n_features * (n_features + 1) // 2,
        "tied": n_features * (n_features + 1) // 2,
        "diag": n_components * n_features,
        "spherical": n_components,
    }[covariance_type]
    return int(cov_params + n_components * n_features + n_components - 1)


def covariance_shape(n_components: int, n_features: int, covariance_type: str) -> tuple:
    """Expected shape of ``covariances`` for this covariance type."""
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
    if covariance_type == "full":
        return np.array(covariances, dtype=float)
    if covariance_type == "tied":
        return np.broadcast_to(covariances, (n_components, n_features, n_features)).copy()
    if covariance_type == "diag":
        return np.einsum("kd,de->kde", covariances, np.eye(n_features))
    return covariances[:, None, None] * np.eye(n_features)[None]


def floor_covariances(
    covariances: np.ndarray, covariance_type: str, scale: np.ndarray, floor: float
) -> tuple[np.ndarray, np.ndarray]:
    """Raise every variance below ``floor`` (in standardised units) up to it.

    ``scale`` (D,) is each feature's total standard deviation. In standardised
    coordinates ``z = x / scale`` no component may have variance below ``floor``
    along any direction; this keeps the fit invariant to rescaling a column.
    Returns the floored covariances and a bool (K,) mask of components changed
    ("tied" reports one flag broadcast to every component).
    """
    if floor <= 0:
        n = 1 if covariance_type == "tied" else len(covariances)
        return covariances, np.zeros(n, dtype=bool)
    if covariance_type == "diag":
        minimum = floor * scale**2
        hit = np.any(covariances < minimum, axis=1)
        return np.maximum(covariances, minimum), hit
    if covariance_type == "spherical":
        # A spherical variance must clear the floor along the widest feature.
        minimum = floor * float(np.max(scale**2))
        hit = covariances < minimum
        return np.maximum(covariances, minimum), hit
    stack = covariances[None] if covariance_type == "tied" else covariances
    z = stack / np.outer(scale, scale)
    z = 0.5 * (z + np.swapaxes(z, 1, 2))
    eigval, eigvec = np.linalg.eigh(z)
    hit = eigval[:, 0] < floor
    if np.any(hit):
        clipped = np.maximum(eigval, floor)
        fixed = np.einsum("kij,kj,klj->kil", eigvec, clipped, eigvec) * np.outer(scale, scale)
        stack = np.where(hit[:, None, None], fixed, stack)
    return (stack[0] if covariance_type == "tied" else stack), hit
