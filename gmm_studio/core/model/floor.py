"""The variance floor: stops components collapsing, never blocks correlation.

A component may be as thin as the data itself is along any direction, but
not ``floor`` times thinner. The floor exists for components that collapse
onto repeated values or onto a few points (Old Faithful's whole-minute
``waiting``, whose rounding variance is 4.5e-4 of the column's, is the test
case). How thin the data is along a direction is measured by the data's own
total covariance Σ_T there:

- ellipsoidal models (full, tied and the other orientation-bearing ones)
  must have uᵀΣ_k u ≥ floor · uᵀΣ_T u for every direction u, i.e. their
  eigenvalues in coordinates whitened by Σ_T are at least ``floor``. This
  is invariant to any invertible linear map of the columns, and strongly
  correlated columns (radius, perimeter, area) are as free as independent
  ones;
- axis-aligned models compare each variance with the column's own, so they
  stay invariant to rescaling a column; spherical ones with the data's
  mean variance over the columns (its own spherical spread).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .families import covariance_model
from .gaussian import from_eigen, not_positive_definite

# Directions along which the columns are (numerically) collinear have no
# spread of their own; measure them against this fraction of the data's
# correlation instead, so the whitening root always exists.
_COLLINEAR = 1e-12


@dataclass(frozen=True)
class FloorMetric:
    """How the data spreads: per-column scale and the total covariance's roots.

    scale (D,) each column's standard deviation; root (D, D) a symmetric
    square root of the (guarded) total covariance and inv_root (D, D) its
    inverse, both None when only axis-aligned models are fitted.
    """

    scale: np.ndarray
    root: np.ndarray | None = None
    inv_root: np.ndarray | None = None

    @classmethod
    def from_covariance(cls, scale: np.ndarray, total_covariance: np.ndarray) -> FloorMetric:
        """Build from the columns' scale (D,) and the data's covariance (D, D)."""
        corr = total_covariance / np.outer(scale, scale)
        values, vectors = np.linalg.eigh(0.5 * (corr + corr.T))
        values = np.maximum(values, _COLLINEAR * max(float(values[-1]), 1.0))
        half = (vectors * np.sqrt(values)) @ vectors.T
        inv_half = (vectors / np.sqrt(values)) @ vectors.T
        return cls(scale, half * scale[:, None], inv_half / scale[None, :])

    def above(self, stack: np.ndarray, bound: float) -> np.ndarray:
        """Bool (K,): (K, D, D) matrices whose whitened eigenvalues all exceed ``bound``.

        z - bound I = R⁻¹ (Σ_k - bound G) R⁻ᵀ with G = R Rᵀ the guarded total
        covariance, and a congruence keeps positive definiteness: so one
        marking Cholesky of Σ_k - bound G answers, with no whitening (two
        batched products, a third of the floor's time at D = 30 otherwise).
        """
        guarded = self.root @ self.root.T
        return ~not_positive_definite(stack - bound * 0.5 * (guarded + guarded.T))


def _clip_whitened(stack: np.ndarray, metric: FloorMetric, floor: float
                   ) -> tuple[np.ndarray, np.ndarray]:
    """Raise eigenvalues of whitened (K, D, D) matrices to ``floor``: (matrices, hit (K,))."""
    # A Cholesky factor of z - floor I exists exactly when every eigenvalue is
    # above the floor, and one batched marking Cholesky (``above``) finds the
    # matrices without; only those are decomposed (for 300 matrices 35 + 10 us
    # against 275 us for eigh of all at D = 3, 117 against 804 us at D = 6).
    suspect = np.flatnonzero(~metric.above(stack, floor))
    if len(suspect) == 0:
        return stack, np.zeros(len(stack), dtype=bool)
    z = _whitened(stack[suspect], metric)
    eigval, eigvec = np.linalg.eigh(z)
    hit = np.zeros(len(stack), dtype=bool)
    hit[suspect] = eigval[:, 0] < floor
    if np.any(hit):
        low = hit[suspect]
        clipped = np.maximum(eigval[low], floor)
        vectors = eigvec[low]
        fixed = metric.root @ from_eigen(vectors, clipped) @ metric.root.T
        stack = stack.copy()
        stack[hit] = 0.5 * (fixed + np.swapaxes(fixed, 1, 2))
    return stack, hit


def floor_layout(covariances: np.ndarray, layout: str, metric: FloorMetric, floor: float
                 ) -> tuple[np.ndarray, np.ndarray]:
    """Floor covariances stored as ``layout``: the constrained maximum likelihood.

    ``layout`` is "full" (K, D, D), "tied" (D, D), "diag" (K, D) or
    "spherical" (K,). Returns the floored covariances and a bool (K,) mask of
    the components changed ("tied" reports one flag).
    """
    if floor <= 0:
        n = 1 if layout == "tied" else len(covariances)
        return covariances, np.zeros(n, dtype=bool)
    if layout == "diag":
        minimum = floor * metric.scale**2
        hit = np.any(covariances < minimum, axis=1)
        return np.maximum(covariances, minimum), hit
    if layout == "spherical":
        # A round component is measured against the data's round spread, the
        # mean variance: against the widest column, data whose columns differ
        # in scale (areas beside ratios) would hold every round fit up.
        minimum = floor * float(np.mean(metric.scale**2))
        hit = covariances < minimum
        return np.maximum(covariances, minimum), hit
    stack = covariances[None] if layout == "tied" else covariances
    stack, hit = _clip_whitened(stack, metric, floor)
    return (stack[0] if layout == "tied" else stack), hit


def smallest_relative_variance(covariances: np.ndarray, kernel: str, metric: FloorMetric
                               ) -> np.ndarray:
    """Each component's narrowest spread as a fraction of the data's: (K,).

    ``covariances`` are full (K, D, D); ``kernel`` says which measure the
    model's floor uses ("full" whitened, "diag" per column, "spherical").
    """
    if kernel == "spherical":
        return covariances[:, 0, 0] / float(np.mean(metric.scale**2))
    if kernel == "diag":
        return (np.diagonal(covariances, axis1=1, axis2=2) / metric.scale**2).min(axis=1)
    return np.linalg.eigvalsh(_whitened(covariances, metric))[:, 0]


def _whitened(covariances: np.ndarray, metric: FloorMetric) -> np.ndarray:
    """(K, D, D) matrices in the coordinates that make the data's covariance I, symmetric."""
    z = metric.inv_root @ covariances @ metric.inv_root.T
    return 0.5 * (z + np.swapaxes(z, 1, 2))


def on_floor(covariances: np.ndarray, covariance_type: str, metric: FloorMetric, floor: float
             ) -> np.ndarray:
    """Bool (K,): components of full ``covariances`` (K, D, D) whose narrowest spread is the floor.

    The floor's own measure for ``covariance_type`` (a tied model's is its
    whitened one); none when ``floor`` is 0. Such a component is held up by
    the floor rather than by the data.
    """
    if floor <= 0:
        return np.zeros(len(covariances), dtype=bool)
    kernel = covariance_model(covariance_type).kernel
    if kernel in ("full", "tied"):
        # The narrowest whitened spread is at most the bound exactly when
        # z - bound I has no Cholesky factor: a marking factorisation instead
        # of eigenvalues (the batch asks this of every run on every record).
        return ~metric.above(covariances, floor * (1 + 1e-6))
    return smallest_relative_variance(covariances, kernel, metric) <= floor * (1 + 1e-6)
