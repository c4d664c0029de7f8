"""M-steps of the ten covariance models beyond scikit-learn's four.

Each function maximises the expected complete-data log-likelihood over the
covariances of one model, given the component scatter matrices
W_k = Σ_n r_nk (x_n − μ_k)(x_n − μ_k)ᵀ and the totals n_k (Celeux and
Govaert 1995). Closed forms where they exist; otherwise block coordinate
ascent whose every step raises the same objective, so the result is the
maximum to within ``tol`` and never worse than the start:

- VEI, VEE, VEV alternate the volumes and the common shape (or matrix);
- EVE, VVE alternate volumes/shapes and the common orientation (the problem
  Browne and McNicholas 2014 solve by majorisation); here the orientation
  step is a sweep of exact plane rotations, which converges in a few sweeps
  where a majorisation bound crawls.

Shapes: ``scatter`` is (K, D) (diagonal models: the diagonal of W_k) or
(K, D, D); ``nk`` (K,) > 0; the iterative ones take ``start``, the previous
model's covariances (K, D, D), to start from. Every function returns
covariances (K, D, D).
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

from .._native_loops import native
from ..model.gaussian import from_eigen

# Inner iterations: relative change of the objective that counts as
# converged, and a cap that is never reached on well-posed data.
INNER_TOL = 1e-14
INNER_MAX_ITER = 5000
# Inside EM an M-step only has to raise the expected log-likelihood (a
# generalised EM step keeps EM monotone and convergent, with the same fixed
# points), so the inner iterations of VEI, VEE and VEV and the orientation
# search of EVE / VVE, warm-started from the previous model, stop after this
# many steps; in 30 dimensions an orientation sweep is 435 plane rotations.
WARM_SWEEPS = 1


def _steps(start: np.ndarray | None) -> int:
    """Inner iterations: to convergence from scratch, WARM_SWEEPS from the previous model."""
    return INNER_MAX_ITER if start is None else WARM_SWEEPS


def _geomean(values: np.ndarray) -> np.ndarray:
    """det^(1/d) of diagonal matrices given as (..., D) diagonals."""
    return np.exp(np.mean(np.log(values), axis=-1))


def _diagonal(values: np.ndarray) -> np.ndarray:
    """(K, D) diagonals as (K, D, D) matrices."""
    return values[:, :, None] * np.eye(values.shape[1])[None]


def eii(scatter: np.ndarray, nk: np.ndarray) -> np.ndarray:
    """λ I for every component: λ = Σ_k tr W_k / (n D)."""
    lam = scatter.sum() / (nk.sum() * scatter.shape[1])
    return _diagonal(np.full(scatter.shape, lam))


def eei(scatter: np.ndarray, nk: np.ndarray) -> np.ndarray:
    """One diagonal matrix: diag(Σ_k W_k) / n."""
    common = scatter.sum(axis=0) / nk.sum()
    return _diagonal(np.broadcast_to(common, scatter.shape).copy())


def evi(scatter: np.ndarray, nk: np.ndarray) -> np.ndarray:
    """λ A_k: A_k = diag W_k / |diag W_k|^(1/D), λ = Σ_k |diag W_k|^(1/D) / n."""
    g = _geomean(scatter)
    lam = g.sum() / nk.sum()
    return _diagonal(lam * scatter / g[:, None])


def _start_shape(start: np.ndarray | None, d: int) -> np.ndarray:
    """Common shape A (D,) (det 1) to start from: the previous model's, or round."""
    if start is None:
        return np.ones(d)
    values = np.sort(np.linalg.eigvalsh(start[0]))[::-1]
    return values / _geomean(values)


def _volumes_and_common_shape(values: np.ndarray, nk: np.ndarray, shape: np.ndarray,
                              max_iter: int = INNER_MAX_ITER) -> np.ndarray:
    """Eigenvalues λ_k A (K, D) of Σ_k with volumes free and one shape A (det 1).

    ``values`` (K, D) are what each Σ_k's eigenvalues are fitted to (the
    diagonal of W_k for VEI, its eigenvalues for VEV); ``shape`` (D,) the
    start. Alternates λ_k = Σ_j values_kj / A_j / (n_k D) and A ∝ Σ_k
    values_k / λ_k, each the best given the other, at most ``max_iter`` times.
    """
    d = values.shape[1]
    previous = np.inf
    for _ in range(max_iter):
        lam = (values / shape).sum(axis=1) / (nk * d)
        shape = (values / lam[:, None]).sum(axis=0)
        shape /= _geomean(shape)
        # -2 log L up to constants: Σ_k n_k D log λ_k + Σ_j values_kj / (λ_k A_j).
        objective = float(np.sum(nk * d * np.log(lam)) + np.sum(values / shape / lam[:, None]))
        if previous - objective <= INNER_TOL * abs(objective):
            break
        previous = objective
    lam = (values / shape).sum(axis=1) / (nk * d)
    return lam[:, None] * shape[None]


def vei(scatter: np.ndarray, nk: np.ndarray, start: np.ndarray | None = None) -> np.ndarray:
    """λ_k A: volumes free, one axis-aligned shape, fitted to the diagonals of W_k."""
    d = scatter.shape[1]
    shape = np.ones(d) if start is None else np.diagonal(start[0]) / _geomean(
        np.diagonal(start[0]))
    return _diagonal(_volumes_and_common_shape(scatter, nk, shape, _steps(start)))


def vee(scatter: np.ndarray, nk: np.ndarray, start: np.ndarray | None = None) -> np.ndarray:
    """λ_k C with det C = 1: alternate λ_k = tr(W_k C⁻¹)/(n_k D) and C ∝ Σ_k W_k / λ_k."""
    d = scatter.shape[1]
    common = scatter.sum(axis=0) if start is None else start[0]
    common = common / _det_root(common)
    previous = np.inf
    for _ in range(_steps(start)):
        inverse = np.linalg.inv(common)
        traces = np.einsum("kij,ji->k", scatter, inverse)
        lam = traces / (nk * d)
        common = np.einsum("kij,k->ij", scatter, 1.0 / lam)
        common = 0.5 * (common + common.T)
        common /= _det_root(common)
        objective = float(np.sum(nk * d * np.log(lam)) + np.sum(traces / lam))
        if previous - objective <= INNER_TOL * abs(objective):
            break
        previous = objective
    lam = np.einsum("kij,ji->k", scatter, np.linalg.inv(common)) / (nk * d)
    return lam[:, None, None] * common[None]


def _det_root(matrix: np.ndarray) -> float:
    """|M|^(1/D) of a positive definite (D, D) matrix."""
    sign, logdet = np.linalg.slogdet(matrix)
    return float(np.exp(logdet / matrix.shape[0]))


def _eigen_desc(scatter: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Eigenvalues (K, D) in decreasing order and eigenvectors (K, D, D) of each W_k."""
    values, vectors = np.linalg.eigh(scatter)
    return values[:, ::-1], vectors[:, :, ::-1]


def eev(scatter: np.ndarray, nk: np.ndarray) -> np.ndarray:
    """λ D_k A D_kᵀ: common eigenvalues Σ_k Ω_k / n on each W_k's own axes."""
    values, vectors = _eigen_desc(scatter)
    common = values.sum(axis=0) / nk.sum()
    return from_eigen(vectors, common)


def vev(scatter: np.ndarray, nk: np.ndarray, start: np.ndarray | None = None) -> np.ndarray:
    """λ_k D_k A D_kᵀ: volumes free, one shape, on each W_k's own axes."""
    values, vectors = _eigen_desc(scatter)
    eig = _volumes_and_common_shape(values, nk, _start_shape(start, scatter.shape[1]),
                                    _steps(start))
    return from_eigen(vectors, eig)


def evv(scatter: np.ndarray, nk: np.ndarray) -> np.ndarray:
    """λ C_k with det C_k = 1: C_k = W_k / |W_k|^(1/D), λ = Σ_k |W_k|^(1/D) / n."""
    d = scatter.shape[1]
    roots = np.exp(np.linalg.slogdet(scatter)[1] / d)
    lam = roots.sum() / nk.sum()
    return lam * scatter / roots[:, None, None]


@lru_cache(maxsize=64)
def _round_robin(d: int) -> tuple[tuple[np.ndarray, np.ndarray], ...]:
    """For D - 1 rounds in which every pair of axes meets once: (gather, is_real).

    Pairs within a round are disjoint (the circle method of tournament
    schedules), so their rotations can be chosen and applied together. Each
    round lays the axes out so that its pairs are adjacent columns (2j, 2j + 1)
    of a (..., D') array: ``gather`` (D',) takes the previous round's layout
    to this one's (the first from the natural order), and ``is_real`` (P,)
    is False for the pair with the padding axis that odd D needs (D' = D + 1
    then). Made once per D: every M-step of EVE / VVE sweeps with it.
    """
    n = d + d % 2
    players = list(range(n))
    where = np.arange(n)          # where[axis] = its column in the present layout
    rounds = []
    for _ in range(n - 1):
        pairs = zip(players[:n // 2], players[n // 2:][::-1], strict=True)
        layout = np.array([axis for pair in pairs for axis in pair])
        rounds.append((where[layout], (layout[0::2] < d) & (layout[1::2] < d)))
        where = np.empty(n, dtype=np.int64)
        where[layout] = np.arange(n)
        players = [players[0], players[-1]] + players[1:-1]
    return tuple(rounds)


@lru_cache(maxsize=64)
def _natural_order(d: int) -> np.ndarray:
    """Columns (D,) that put the last round's layout back in axis order."""
    n = d + d % 2
    layout = np.arange(n)
    for gather, _ in _round_robin(d):
        layout = layout[gather]
    where = np.empty(n, dtype=np.int64)
    where[layout] = np.arange(n)
    return where[:d]


def _jacobi_sweep(scatter: np.ndarray, inv_eig: np.ndarray, orient: np.ndarray) -> None:
    """One sweep of plane rotations lowering f(D) = Σ_k tr(Dᵀ W_k D Λ_k), in place.

    ``scatter`` (K, D, D) holds the W_k, ``orient`` (D, D) the axes D and
    ``inv_eig`` (K, D) the diagonals of Λ_k. Turning axes i and j by θ changes
    f by A cos 2θ + B sin 2θ (plus a constant), so each plane's best angle is
    exact, and planes of disjoint axes change f independently: each round
    turns D/2 of them at once. f never rises, and near the optimum the sweeps
    converge as fast as Jacobi's eigenvalue method.
    """
    sweep_planes(scatter, inv_eig, orient[None], lambda v: v.sum(axis=0, keepdims=True),
                 np.zeros(len(scatter), dtype=np.int64), np.ones(1, dtype=bool))


def sweep_planes(scatter: np.ndarray, inv_eig: np.ndarray, orient: np.ndarray, run_sum,
                 run: np.ndarray, active: np.ndarray) -> None:
    """``_jacobi_sweep`` for R runs at once, in place: orient (R, D, D).

    scatter (C, D, D) and inv_eig (C, D) per component, ``run`` (C,) each
    component's run, ``run_sum`` sums (C, ...) over each run's components
    into (R, ...); runs not ``active`` (R,) keep their axes.

    The compiled sweep (``core/_native.c``) turns the same planes by the same
    angles, to rounding, in one call where NumPy's rounds (``_sweep_rounds``)
    take some fifteen per round (measured, one sweep of 4 runs, 16
    components in all, at D = 30: 5.5 ms in NumPy, 0.53 ms compiled; at
    D = 3: 0.18 and 0.011 ms).
    """
    if native is None or np.any(np.diff(run) < 0):
        _sweep_rounds(scatter, inv_eig, orient, run_sum, run, active)
        return
    compiled_sweep(scatter, inv_eig, orient, run, active)


def compiled_sweep(scatter: np.ndarray, inv_eig: np.ndarray, orient: np.ndarray,
                   run: np.ndarray, active: np.ndarray) -> None:
    """``sweep_planes`` by ``_native.sweep``; each run's components (``run`` sorted) adjacent."""
    n_runs, d = orient.shape[0], orient.shape[1]
    counts = np.bincount(run, minlength=n_runs).astype(np.int64)
    starts = (np.cumsum(counts) - counts).astype(np.int64)
    schedule = _schedule(d)
    target = orient if orient.flags.c_contiguous and orient.dtype == np.float64 else \
        np.ascontiguousarray(orient, dtype=np.float64)
    native.sweep(np.ascontiguousarray(scatter, dtype=np.float64),
                  np.ascontiguousarray(inv_eig, dtype=np.float64), target, starts, counts,
                  np.ascontiguousarray(active, dtype=np.uint8), schedule, len(scatter),
                  n_runs, d, schedule.shape[0], schedule.shape[1])
    if target is not orient:
        orient[...] = target


@lru_cache(maxsize=64)
def _schedule(d: int) -> np.ndarray:
    """The axes each round pairs (rounds, P, 2), as ``_round_robin``'s layouts place them.

    An axis equal to D is the padding of odd D.
    """
    layout = np.arange(d + d % 2)
    rounds = []
    for gather, _ in _round_robin(d):
        layout = layout[gather]
        rounds.append(layout.reshape(-1, 2))
    schedule = np.ascontiguousarray(np.array(rounds, dtype=np.int64))
    schedule.flags.writeable = False
    return schedule


def _sweep_rounds(scatter: np.ndarray, inv_eig: np.ndarray, orient: np.ndarray, run_sum,
                  run: np.ndarray, active: np.ndarray) -> None:
    """``sweep_planes`` in NumPy, a round of planes per step (any order of ``run``).

    Each component carries its run's axes O and W_k O, stacked as one
    (C, 2D, D') array; a plane's angle needs only o_iᵀ W_k o_i, o_jᵀ W_k o_i
    and o_jᵀ W_k o_j, and a turn changes only columns i and j. With a round's
    pairs in adjacent columns, each pair is one complex column (o_i + i o_j):
    turning it by θ is multiplying it by e^(-iθ), and one complex product
    of the pairs of O and of W_k O gives both of a plane's coefficients. So a
    round is one gather, one product and one in-place turn. (Measured in one
    run, one sweep of 12 runs of 7 components: 9.1 ms at D = 30, 0.08 ms at
    D = 3; 10.0 and 0.10 ms with two real products for the coefficients and
    an angle through atan2; 16.5 and 0.13 ms with O and W_k O apart, turned
    by real products and concatenations.)
    """
    d = orient.shape[1]
    n = d + d % 2
    block = np.zeros((len(scatter), 2 * d, n))       # [O; W_k O] (C, 2D, D')
    block[:, :d, :d] = orient[run]
    block[:, d:] = scatter @ block[:, :d]
    spare = np.empty_like(block)    # each round gathers into the other (contiguous) buffer
    pad = np.zeros((len(inv_eig), n))
    pad[:, :d] = inv_eig
    for gather, is_real in _round_robin(d):
        block, spare = np.take(block, gather, axis=2, out=spare), block
        pad = pad[:, gather]
        pairs = block.view(np.complex128)        # (C, 2D, P): o_i + i o_j over W_k's
        # Σ_d (o_i + i o_j)(w_i + i w_j) = o_iᵀW o_i - o_jᵀW o_j + 2i o_iᵀW o_j for
        # symmetric W: each plane's -a and -b (R, P) as one complex number, the
        # signs folded into the difference of the eigenvalue reciprocals. The
        # best angle is half its argument: the turn is conj(sqrt(unit number)).
        terms = np.einsum("cdp,cdp->cp", pairs[:, :d], pairs[:, d:])
        ab = run_sum((pad[:, 1::2] - pad[:, 0::2]) * terms)
        size = np.abs(ab)
        # No turn for inactive runs, the padding axis, or a flat plane (a = b = 0).
        turn = active[:, None] & is_real[None, :] & (size > 0.0)
        phase = np.where(turn, np.conj(np.sqrt(ab / np.where(turn, size, 1.0))), 1.0)
        pairs *= phase[run][:, None, :]
    # A run's components agree on the axes: any will do.
    orient[run] = block[:, :d, _natural_order(d)]


def _common_orientation(scatter: np.ndarray, nk: np.ndarray, equal_volume: bool,
                        start: np.ndarray | None = None) -> np.ndarray:
    """EVE / VVE: Σ_k = D diag(e_k) Dᵀ with D shared; returns covariances (K, D, D).

    Alternates the best eigenvalues for the present axes and a sweep of plane
    rotations of the axes for those eigenvalues; both lower the objective.
    It is not convex in D, so the search starts from the best of the pooled
    scatter's axes and each component's own, or inside EM from the previous
    model's axes (the M-step then only has to improve on them).
    """
    if start is not None:
        # Inside EM: the previous model's axes, a few sweeps from the optimum.
        orient = np.linalg.eigh(start[0])[1]
    else:
        starts = [np.linalg.eigh(scatter.sum(axis=0))[1]] + list(np.linalg.eigh(scatter)[1])
        orient = min(starts,
                     key=lambda o: _orientation_objective(scatter, nk, o, equal_volume)[0])
    orient = orient.copy()
    previous = np.inf
    for _ in range(_steps(start)):
        objective, eig = _orientation_objective(scatter, nk, orient, equal_volume)
        if previous - objective <= INNER_TOL * abs(objective):
            break
        previous = objective
        _jacobi_sweep(scatter, 1.0 / eig, orient)
    _, eig = _orientation_objective(scatter, nk, orient, equal_volume)
    return from_eigen(orient, eig)


def _orientation_objective(scatter, nk, orient, equal_volume) -> tuple[float, np.ndarray]:
    """-2 log L up to constants at orientation D with the best eigenvalues (K, D) for it."""
    rotated = np.einsum("ji,kji->ki", orient, scatter @ orient)  # diag(Dᵀ W_k D)
    eig = _volumes_and_shapes(rotated, nk, equal_volume)
    return float(np.sum(nk * np.log(eig).sum(axis=1)) + np.sum(rotated / eig)), eig


def _volumes_and_shapes(rotated: np.ndarray, nk: np.ndarray, equal_volume: bool
                        ) -> np.ndarray:
    """Best eigenvalues (K, D) of each Σ_k on fixed axes, given diag(Dᵀ W_k D) (K, D)."""
    if not equal_volume:
        return rotated / nk[:, None]
    g = _geomean(rotated)
    return (g.sum() / nk.sum()) * rotated / g[:, None]


def eve(scatter: np.ndarray, nk: np.ndarray, start: np.ndarray | None = None) -> np.ndarray:
    """λ D A_k Dᵀ: equal volume, varying shape, common orientation."""
    return _common_orientation(scatter, nk, True, start)


def vve(scatter: np.ndarray, nk: np.ndarray, start: np.ndarray | None = None) -> np.ndarray:
    """λ_k D A_k Dᵀ: varying volume and shape, common orientation."""
    return _common_orientation(scatter, nk, False, start)


# Models whose M-step iterates, and so starts from the previous model's
# covariances when it has them (a warm start: a few inner steps per EM step).
ITERATIVE = ("VEI", "VEE", "EVE", "VVE", "VEV")


# The M-step of each model: (scatter, nk) -> covariances (K, D, D).
MSTEPS = {"EII": eii, "EEI": eei, "VEI": vei, "EVI": evi, "VEE": vee, "EVE": eve,
          "VVE": vve, "EEV": eev, "VEV": vev, "EVV": evv}
