"""Linear views of D-dimensional data and mixtures on two axes: features, PCA, discriminant.

A view is an affine map y = x A + b from the data file's units to the plot
(A is (D, 2)). Under it a Gaussian N(μ, Σ) becomes exactly N(μ A + b, AᵀΣA),
so ellipses drawn on any view are the projected components, not guesses.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import linalg

from .mixture import MixtureModel

N_LOADINGS = 2  # terms named in an axis label (a vertical label has little room)


@dataclass(frozen=True, eq=False)
class Projection:
    """matrix (D, 2), offset (2,), an axis label each and the kind of view."""

    matrix: np.ndarray
    offset: np.ndarray
    labels: tuple[str, str]
    kind: str  # "features", "pca" or "discriminant"

    def points(self, raw: np.ndarray) -> np.ndarray:
        """raw (N, D) in the file's units -> (N, 2) plot coordinates."""
        return raw @ self.matrix + self.offset

    def gaussians(self, means: np.ndarray, covs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """means (K, D), covs (K, D, D) -> projected means (K, 2) and covariances (K, 2, 2)."""
        a = self.matrix
        return means @ a + self.offset, np.einsum("di,kde,ej->kij", a, covs, a)

    def same_as(self, other: Projection | None) -> bool:
        """True when ``other`` draws the same plot (same map and labels)."""
        return (other is not None and self.kind == other.kind and self.labels == other.labels
                and self.matrix.shape == other.matrix.shape
                and np.array_equal(self.matrix, other.matrix)
                and np.array_equal(self.offset, other.offset))


def feature_pair(names: list[str], x: int, y: int) -> Projection:
    """The plain view of features ``x`` and ``y``."""
    matrix = np.zeros((len(names), 2))
    matrix[x, 0] = matrix[y, 1] = 1.0
    return Projection(matrix, np.zeros(2), (names[x], names[y]), "features")


def loading_label(prefix: str, loadings: np.ndarray, names: list[str]) -> str:
    """'PC1: 0.61 flavanoids − 0.40 hue', the largest |loadings| first."""
    order = np.argsort(-np.abs(loadings))[:N_LOADINGS]
    # A loading near 0 next to a large one says nothing ("1.00 ash + 0.00 alcohol").
    order = [j for j in order if abs(loadings[j]) >= 0.05 * abs(loadings[order[0]])]
    terms = []
    for i, j in enumerate(order):
        value = f"{abs(loadings[j]):.2f} {names[j]}"
        if i == 0:
            terms.append(f"−{value}" if loadings[j] < 0 else value)
        else:
            terms.append(f"{'−' if loadings[j] < 0 else '+'} {value}")
    return f"{prefix}: " + " ".join(terms)


def _orient(vectors: np.ndarray) -> np.ndarray:
    """Columns (D, m) signed so each one's largest entry is positive (a stable picture)."""
    big = np.abs(vectors).argmax(axis=0)
    return vectors * np.sign(vectors[big, np.arange(vectors.shape[1])])


def pca(raw: np.ndarray, names: list[str], weights: np.ndarray | None = None) -> Projection:
    """The first two principal components of the standardised columns (correlation PCA).

    raw (N, D) with D >= 2. Columns are scaled to unit variance first, so a
    column in large units does not own the picture; plot units are z-score
    units along each component. Labels give the share of variance and the
    largest loadings (on the standardised columns).
    """
    w = None if weights is None else np.asarray(weights, float) / np.sum(weights)
    centre = raw.mean(axis=0) if w is None else w @ raw
    scale = raw.std(axis=0) if w is None else np.sqrt(w @ (raw - centre) ** 2)
    scale = np.where(scale > 0, scale, 1.0)
    z = (raw - centre) / scale
    if w is not None:
        z = z * np.sqrt(w * len(raw))[:, None]
    _, s, vt = np.linalg.svd(z, full_matrices=False)
    vectors = _orient(vt[:2].T)                       # (D, 2) on the standardised columns
    share = s**2 / np.sum(s**2)
    labels = tuple(loading_label(f"PC{i + 1} ({100 * share[i]:.0f}%)", vectors[:, i], names)
                   for i in range(2))
    matrix = vectors / scale[:, None]                 # in the file's units
    return Projection(matrix, -centre @ matrix, labels, "pca")


def scatter_matrices(model: MixtureModel, means: np.ndarray, covs: np.ndarray
                     ) -> tuple[np.ndarray, np.ndarray]:
    """Between-cluster B and within-cluster W scatter (D, D) of a mixture.

    means (K, D), covs (K, D, D) in the file's units; B = Σ π_k (μ_k − μ̄)(μ_k − μ̄)ᵀ,
    W = Σ π_k Σ_k with μ̄ = Σ π_k μ_k.
    """
    pi = model.weights
    centre = pi @ means
    diff = means - centre
    between = np.einsum("k,kd,ke->de", pi, diff, diff)
    within = np.einsum("k,kde->de", pi, covs)
    return between, within


def discriminant(model: MixtureModel, means: np.ndarray, covs: np.ndarray,
                 names: list[str], scale: np.ndarray | None = None) -> Projection:
    """The two directions that best separate the components (the largest B v = λ W v).

    Generalised eigenvectors of between- against within-cluster scatter,
    scaled so vᵀ W v = 1: plot units are within-cluster standard deviations.
    With K = 2, B has rank one and the second axis carries no separation
    (its eigenvalue is 0); it is still a W-orthogonal direction. ``scale``
    (D,), the columns' spread, makes the labels' loadings comparable across
    units (per standard deviation of each column).
    """
    between, within = scatter_matrices(model, means, covs)
    values, vectors = linalg.eigh(between, within)   # ascending; vᵀ W v = 1
    top = vectors[:, ::-1][:, :2]
    top = _orient(top)
    ratio = values[::-1][:2]
    per_sd = top * (np.ones(len(names)) if scale is None else np.asarray(scale)[:, None])
    labels = tuple(loading_label(f"DR{i + 1} (λ {max(ratio[i], 0.0):.3g})",
                                 per_sd[:, i] / np.linalg.norm(per_sd[:, i]), names)
                   for i in range(2))
    return Projection(top, -(model.weights @ means) @ top, labels, "discriminant")


@dataclass(frozen=True, eq=False)
class ComponentShapes:
    """Per component k: volume (K,), axis_ratio (K,) and main_axis (K, D).

    volume is det(Σ_k)^(1/D) in the file's units (mclust's λ); axis_ratio is
    the longest over the shortest axis and main_axis the direction of the
    longest, both in coordinates where every column has unit spread, so a
    column in large units does not decide them.
    """

    volume: np.ndarray
    axis_ratio: np.ndarray
    main_axis: np.ndarray


def component_shapes(covs: np.ndarray, scale: np.ndarray) -> ComponentShapes:
    """Volume, elongation and main axis of each covariance covs (K, D, D); scale (D,)."""
    d = covs.shape[1]
    _, logdet = np.linalg.slogdet(covs)
    scaled = covs / np.outer(scale, scale)
    values, vectors = np.linalg.eigh(scaled)            # ascending, (K, D) and (K, D, D)
    ratio = np.sqrt(values[:, -1] / np.maximum(values[:, 0], np.finfo(float).tiny))
    main = _orient(vectors[:, :, -1].T).T               # (K, D), largest entry positive
    return ComponentShapes(np.exp(logdet / d), ratio, main)
