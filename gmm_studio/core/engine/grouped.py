"""The M-step of many runs at once: components of R runs stacked as C = ΣK rows.

What ``mstep.estimate_parameters`` and ``parsimonious`` compute for one run
(one K components), computed here for a batch of runs of several of the
fourteen models (``general_mstep``), every covariance a (D, D) matrix, with
every per-run pooling (a common shape, volume, orientation or matrix) a
segment sum over that run's components. Iterative M-steps stop each run by
its own test, as the one-run functions do, and a run that has stopped is
held fixed while the others go on. A test checks each of the fourteen models
against ``estimate_parameters`` run by run.

Shapes: ``nk`` (C,); ``sx`` (C, D); ``second`` (C, D, D) or (C, D);
``previous`` (C, D, D); no component is empty (the batch sends such runs
back to the one-run loop first).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..model.floor import FloorMetric, floor_layout
from ..model.gaussian import from_eigen
from .parsimonious import (
    INNER_TOL,
    WARM_SWEEPS,
    _eigen_desc,
    _geomean,
    sweep_planes,
)


@dataclass(frozen=True)
class Segments:
    """Which run each stacked component belongs to: sizes (R,), starts (R,), ids (C,)."""

    sizes: np.ndarray
    starts: np.ndarray
    ids: np.ndarray

    @classmethod
    def of(cls, sizes) -> Segments:
        """Segments of consecutive runs with ``sizes`` components each."""
        sizes = np.asarray(sizes, dtype=np.int64)
        starts = np.concatenate([[0], np.cumsum(sizes)[:-1]]).astype(np.int64)
        return cls(sizes, starts, np.repeat(np.arange(len(sizes)), sizes))

    def sum(self, values: np.ndarray) -> np.ndarray:
        """Per-run sums (R, ...) of per-component values (C, ...)."""
        return np.add.reduceat(values, self.starts, axis=0)

    def first(self, values: np.ndarray) -> np.ndarray:
        """Each run's first component's values (R, ...)."""
        return values[self.starts]


def general_mstep(models, nk: np.ndarray, sx: np.ndarray, second: np.ndarray, seg: Segments,
                  *, metric: FloorMetric, variance_floor: float, previous: np.ndarray | None,
                  total_scatter: np.ndarray | None = None, total_weight: float = 0.0
                  ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """weights (C,), means (C, D), covariances (C, D, D) and floored (C,) of runs of
    several of the fourteen models, every covariance as a (D, D) matrix.

    ``models``: (mclust's name, its components' slice, their Segments) for each
    model's runs, all axis-aligned (``second`` (C, D)) or none (``second``
    (C, D, D)). The means, each component's own covariance and its floor are
    computed once for all; then each model pools its runs' scatter
    W_k = n_k S_k its own way. EEE (tied) needs the data's ``total_scatter``
    (D, D) and ``total_weight``, as ``mstep`` computes it. Equals
    ``estimate_parameters`` run by run (a test checks all fourteen).
    """
    d = sx.shape[1]
    weights = nk / seg.sum(nk)[seg.ids]
    means = sx / nk[:, None]
    diagonal = second.ndim == 2
    if diagonal:
        own = second / nk[:, None] - means**2
        raw = own
        own, floored = floor_layout(own, "diag", metric, variance_floor)
        scatter = own * nk[:, None]
    else:
        own = second / nk[:, None, None] - np.einsum("ki,kj->kij", means, means)
        own = 0.5 * (own + np.swapaxes(own, 1, 2))
        # EEE pools the data's scatter, not its components' own: flooring
        # those (small clusters in many columns fall below the floor and need
        # an eigendecomposition each) would be work thrown away.
        pooled = [part for name, part, _ in models if name == "EEE"]
        if pooled:
            used = np.ones(len(nk), dtype=bool)
            for part in pooled:
                used[part] = False
            floored = np.zeros(len(nk), dtype=bool)
            own[used], floored[used] = floor_layout(own[used], "full", metric, variance_floor)
        else:
            own, floored = floor_layout(own, "full", metric, variance_floor)
        scatter = own * nk[:, None, None]
    if len(models) == 1 and models[0][0] == "VVV":
        return weights, means, own, floored
    if previous is None:    # the first M-step: start from the components' own (mstep._constrained)
        previous = _diagonal(own) if diagonal else own
    cov = np.empty((len(nk), d, d))
    axes = {name: (part, sub) for name, part, sub in models if name in ("EVE", "VVE")}
    if len(axes) == 2:
        # Both orientation models in one search: half the calls of two.
        both = np.r_[axes["EVE"][0], axes["VVE"][0]]
        sizes = np.concatenate([axes["EVE"][1].sizes, axes["VVE"][1].sizes])
        equal = np.repeat([True, False], [len(axes["EVE"][1].sizes), len(axes["VVE"][1].sizes)])
        cov[both] = _common_orientation(scatter[both], nk[both], Segments.of(sizes),
                                        previous[both], equal)
    for name, part, sub in models:
        if name in axes and len(axes) == 2:
            continue
        if name in ("VVV", "VVI"):
            cov[part] = own[part] if name == "VVV" else _diagonal(own[part])
            continue
        if name in ("EII", "VII"):
            # The round models floor their one variance, not the columns'.
            lam = (MSTEPS[name](raw[part] * nk[part, None], nk[part], sub)[:, 0, 0]
                   if name == "EII" else raw[part].mean(axis=1))
            lam, floored[part] = floor_layout(lam, "spherical", metric, variance_floor)
            cov[part] = lam[:, None, None] * np.eye(d)
            continue
        if name == "EEE":
            cov[part], floored[part] = _tied(means[part], nk[part], sub, total_scatter,
                                             total_weight, metric, variance_floor)
            continue
        cov[part] = MSTEPS[name](scatter[part], nk[part], sub, previous[part])
    return weights, means, cov, floored


def _tied(means, nk, seg: Segments, total_scatter, total_weight: float, metric: FloorMetric,
          variance_floor: float) -> tuple[np.ndarray, np.ndarray]:
    """EEE: each run's one matrix from the data's scatter, repeated (C, D, D); floored (C,).

    Σ = (Σ_n w_n x_n x_nᵀ - Σ_k n_k μ_k μ_kᵀ) / Σ w, floored as one matrix,
    as ``mstep`` computes it (the data's scatter, not the components' sum).
    """
    outer = nk[:, None, None] * np.einsum("ki,kj->kij", means, means)
    pooled = (total_scatter - seg.sum(outer)) / total_weight
    pooled = 0.5 * (pooled + np.swapaxes(pooled, 1, 2))
    pooled, hit = floor_layout(pooled, "full", metric, variance_floor)
    return pooled[seg.ids], hit[seg.ids]


def _diagonal(values: np.ndarray) -> np.ndarray:
    return values[:, :, None] * np.eye(values.shape[1])[None]


def eii(scatter, nk, seg, previous=None):
    """λ I per run: λ = Σ_k tr W_k / (n D)."""
    lam = seg.sum(scatter.sum(axis=1)) / (seg.sum(nk) * scatter.shape[1])
    return _diagonal(np.broadcast_to(lam[seg.ids, None], scatter.shape))


def eei(scatter, nk, seg, previous=None):
    """One diagonal matrix per run: diag(Σ_k W_k) / n."""
    return _diagonal((seg.sum(scatter) / seg.sum(nk)[:, None])[seg.ids])


def evi(scatter, nk, seg, previous=None):
    """λ A_k with λ = Σ_k |diag W_k|^(1/D) / n per run."""
    g = _geomean(scatter)
    lam = seg.sum(g) / seg.sum(nk)
    return _diagonal(lam[seg.ids, None] * scatter / g[:, None])


def eev(scatter, nk, seg, previous=None):
    """Common eigenvalues per run on each W_k's own axes."""
    values, vectors = _eigen_desc(scatter)
    common = (seg.sum(values) / seg.sum(nk)[:, None])[seg.ids]
    return from_eigen(vectors, common)


def evv(scatter, nk, seg, previous=None):
    """λ C_k, det C_k = 1, λ = Σ_k |W_k|^(1/D) / n per run."""
    roots = np.exp(np.linalg.slogdet(scatter)[1] / scatter.shape[1])
    lam = seg.sum(roots) / seg.sum(nk)
    return lam[seg.ids, None, None] * scatter / roots[:, None, None]


def _volumes_and_common_shape(values, nk, shape, seg):
    """``parsimonious._volumes_and_common_shape`` per run: eigenvalues (C, D).

    ``shape`` (R, D) is each run's start (the previous model's: WARM_SWEEPS
    steps at most); runs stop one by one.
    """
    d = values.shape[1]
    active = np.ones(len(shape), dtype=bool)
    previous = np.full(len(shape), np.inf)
    for _ in range(WARM_SWEEPS):
        lam = (values / shape[seg.ids]).sum(axis=1) / (nk * d)
        new = seg.sum(values / lam[:, None])
        new /= _geomean(new)[:, None]
        shape = np.where(active[:, None], new, shape)
        if WARM_SWEEPS == 1:
            break    # one step: no objective to stop on
        objective = seg.sum(nk * d * np.log(lam)) + seg.sum(
            (values / shape[seg.ids] / lam[:, None]).sum(axis=1))
        done = previous - objective <= INNER_TOL * np.abs(objective)
        previous = np.where(active, objective, previous)
        active &= ~done
        if not active.any():
            break
    lam = (values / shape[seg.ids]).sum(axis=1) / (nk * d)
    return lam[:, None] * shape[seg.ids]


def vei(scatter, nk, seg, previous):
    """λ_k A per run, fitted to the diagonals of W_k, from the previous common shape."""
    start = np.diagonal(seg.first(previous), axis1=1, axis2=2)
    shape = start / _geomean(start)[:, None]
    return _diagonal(_volumes_and_common_shape(scatter, nk, shape, seg))


def vev(scatter, nk, seg, previous):
    """λ_k D_k A D_kᵀ per run, from the previous common shape."""
    values, vectors = _eigen_desc(scatter)
    start = np.sort(np.linalg.eigvalsh(seg.first(previous)), axis=1)[:, ::-1]
    shape = start / _geomean(start)[:, None]
    eig = _volumes_and_common_shape(values, nk, shape, seg)
    return from_eigen(vectors, eig)


def _det_roots(matrices: np.ndarray) -> np.ndarray:
    return np.exp(np.linalg.slogdet(matrices)[1] / matrices.shape[-1])


def vee(scatter, nk, seg, previous):
    """λ_k C per run (det C = 1), alternating as ``parsimonious.vee``."""
    d = scatter.shape[1]
    common = seg.first(previous)
    common = common / _det_roots(common)[:, None, None]
    active = np.ones(len(common), dtype=bool)
    last = np.full(len(common), np.inf)
    for _ in range(WARM_SWEEPS):
        inverse = np.linalg.inv(common)
        traces = np.einsum("kij,kji->k", scatter, inverse[seg.ids])
        lam = traces / (nk * d)
        new = seg.sum(scatter / lam[:, None, None])
        new = 0.5 * (new + np.swapaxes(new, 1, 2))
        new /= _det_roots(new)[:, None, None]
        common = np.where(active[:, None, None], new, common)
        if WARM_SWEEPS == 1:
            break    # one step: no objective to stop on
        objective = seg.sum(nk * d * np.log(lam)) + seg.sum(traces / lam)
        done = last - objective <= INNER_TOL * np.abs(objective)
        last = np.where(active, objective, last)
        active &= ~done
        if not active.any():
            break
    inverse = np.linalg.inv(common)[seg.ids]
    lam = np.einsum("kij,kji->k", scatter, inverse) / (nk * d)
    return lam[:, None, None] * common[seg.ids]


def _best_eigenvalues(scatter, nk, orient, equal_volume, seg):
    """diag(Dᵀ W_k D) (C, D) at orientations (R, D, D), and the best eigenvalues (C, D).

    ``equal_volume``: True (EVE), False (VVE), or (R,) per run.
    """
    per = orient[seg.ids]
    rotated = np.einsum("kji,kji->ki", per, scatter @ per)
    eig = rotated / nk[:, None]
    if np.any(equal_volume):
        g = _geomean(rotated)
        equal = (seg.sum(g) / seg.sum(nk))[seg.ids, None] * rotated / g[:, None]
        eig = np.where(np.broadcast_to(equal_volume, len(seg.sizes))[seg.ids, None], equal,
                       eig)
    return rotated, eig


def _orientation_objective(scatter, nk, orient, equal_volume, seg):
    """Per run -2 log L (R,) at orientations (R, D, D), and the best eigenvalues (C, D)."""
    rotated, eig = _best_eigenvalues(scatter, nk, orient, equal_volume, seg)
    objective = seg.sum(nk * np.log(eig).sum(axis=1)) + seg.sum((rotated / eig).sum(axis=1))
    return objective, eig


def _common_orientation(scatter, nk, seg, previous, equal_volume):
    """EVE / VVE inside EM: each run's axes from its previous model, WARM_SWEEPS at most."""
    orient = np.linalg.eigh(seg.first(previous))[1].copy()
    active = np.ones(len(orient), dtype=bool)
    last = np.full(len(orient), np.inf)
    for _ in range(WARM_SWEEPS):
        if WARM_SWEEPS == 1:
            # One sweep: no objective to stop on, only the eigenvalues count.
            eig = _best_eigenvalues(scatter, nk, orient, equal_volume, seg)[1]
        else:
            objective, eig = _orientation_objective(scatter, nk, orient, equal_volume, seg)
            active &= ~(last - objective <= INNER_TOL * np.abs(objective))
            if not active.any():
                break
            last = np.where(active, objective, last)
        sweep_planes(scatter, 1.0 / eig, orient, seg.sum, seg.ids, active)
    eig = _best_eigenvalues(scatter, nk, orient, equal_volume, seg)[1]
    return from_eigen(orient[seg.ids], eig)


def eve(scatter, nk, seg, previous):
    """λ D A_k Dᵀ per run."""
    return _common_orientation(scatter, nk, seg, previous, True)


def vve(scatter, nk, seg, previous):
    """λ_k D A_k Dᵀ per run."""
    return _common_orientation(scatter, nk, seg, previous, False)


MSTEPS = {"EII": eii, "EEI": eei, "VEI": vei, "EVI": evi, "VEE": vee, "EVE": eve,
          "VVE": vve, "EEV": eev, "VEV": vev, "EVV": evv}
