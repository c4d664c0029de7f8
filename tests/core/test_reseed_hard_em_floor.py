"""Independent checks of re-seeding, hard EM and the variance floor.

Each is computed here by hand (NumPy and SciPy), not through the engine's
own code paths.
"""

import numpy as np
import pytest
import scipy.linalg
from scipy.stats import multivariate_normal

from gmm_studio.core import FitConfig, MixtureModel, fit, iterate, m_step
from gmm_studio.core.engine.em import _status


def _three_blobs(seed=0):
    rng = np.random.default_rng(seed)
    centres = np.array([[0.0, 0.0], [6.0, 0.0], [0.0, 6.0]])
    return np.vstack([c + rng.normal(scale=0.5, size=(40, 2)) for c in centres]), centres


def _far_start(centres, covariance_type="full"):
    far = np.array([[100.0, 100.0], [120.0, 100.0], [100.0, 120.0]])
    means = np.vstack([centres, far])
    covs = {"full": np.tile(np.eye(2) * 0.25, (6, 1, 1)), "diag": np.full((6, 2), 0.25),
            "spherical": np.full(6, 0.25), "tied": np.eye(2) * 0.25}[covariance_type]
    return MixtureModel(np.full(6, 1 / 6), means, covs, covariance_type)


def _closest_pair(means):
    d = np.linalg.norm(means[:, None] - means[None], axis=2)
    return d[~np.eye(len(means), dtype=bool)].min()


@pytest.mark.parametrize("algorithm", ["em", "hard_em"])
@pytest.mark.parametrize("covariance_type", ["full", "diag", "spherical"])
def test_empty_components_are_reseeded_apart(algorithm, covariance_type):
    X, centres = _three_blobs()
    config = FitConfig(n_components=6, covariance_type=covariance_type, algorithm=algorithm,
                       max_iter=300)
    result = fit(X, config, initial_model=_far_start(centres, covariance_type))
    # Three components lose their data at once; they used to be moved onto
    # one row and stay identical for ever.
    assert _closest_pair(result.model.means) > 1e-3
    assert any("lost all its points" in w for w in result.warnings)


def test_kmeans_reseeds_empty_clusters_on_distinct_rows():
    X, centres = _three_blobs(1)
    start = _far_start(centres, "spherical")
    result = fit(X, FitConfig(n_components=6, algorithm="kmeans"), initial_model=start)
    assert _closest_pair(result.model.means) > 1e-3
    assert len(np.unique(result.labels)) == 6


def test_a_half_step_reseeds_on_the_rows_the_others_explain_worst():
    X, _ = _three_blobs(2)
    labels = np.repeat([0, 1, 2], 40)
    resp = np.zeros((len(X), 5))
    resp[np.arange(len(X)), labels] = 1.0                    # components 3 and 4 get nothing
    model = m_step(X, resp, "full", variance_floor=0.0)
    # By hand: fit the three blobs, score every row under them, take the worst two.
    weights, dens = [], np.zeros(len(X))
    for k in range(3):
        rows = X[labels == k]
        weights.append(len(rows) / len(X))
        dens += weights[k] * multivariate_normal(rows.mean(0), np.cov(rows.T, bias=True)).pdf(X)
    worst = np.argsort(np.log(dens))[:2]
    np.testing.assert_allclose(model.means[3], X[worst[0]], rtol=1e-12)
    np.testing.assert_allclose(model.means[4], X[worst[1]], rtol=1e-12)


def test_duplicate_rows_never_host_two_reseeded_components():
    X, _ = _three_blobs(3)
    X = np.vstack([X, np.tile([[50.0, 50.0]], (5, 1))])        # five identical outliers
    labels = np.concatenate([np.repeat([0, 1, 2], 40), np.zeros(5, int)])
    resp = np.zeros((len(X), 5))
    resp[np.arange(len(X)), labels] = 1.0
    model = m_step(X, resp, "diag", variance_floor=0.0)
    assert not np.allclose(model.means[3], model.means[4])


def _cem_step_by_hand(X, model):
    """One classification-EM step with SciPy densities: labels, then ML parameters."""
    k = model.n_components
    log_p = np.column_stack([
        np.log(model.weights[j]) + multivariate_normal(model.means[j],
                                                       model.covariances[j]).logpdf(X)
        for j in range(k)])
    z = log_p.argmax(axis=1)
    weights = np.bincount(z, minlength=k) / len(X)
    means = np.array([X[z == j].mean(0) for j in range(k)])
    covs = np.array([np.cov(X[z == j].T, bias=True) for j in range(k)])
    return z, weights, means, covs, log_p.max(axis=1).sum()


def test_one_hard_em_iteration_equals_a_classification_em_step_by_hand():
    rng = np.random.default_rng(5)
    X = np.vstack([rng.normal([0, 0], [1.0, 0.5], (60, 2)), rng.normal([3, 2], 0.7, (50, 2))])
    start = MixtureModel(np.array([0.5, 0.5]), np.array([[0.5, 0.5], [2.0, 1.0]]),
                         np.tile(np.eye(2), (2, 1, 1)), "full")
    _, weights, means, covs, _ = _cem_step_by_hand(X, start)
    one = fit(X, FitConfig(n_components=2, algorithm="hard_em", max_iter=1, tol=0.0,
                           variance_floor=0.0), initial_model=start)
    assert one.n_iter == 1
    np.testing.assert_allclose(one.model.weights, weights, rtol=1e-12)
    np.testing.assert_allclose(one.model.means, means, rtol=1e-12)
    np.testing.assert_allclose(one.model.covariances, covs, rtol=1e-10)


def test_hard_em_stops_where_its_own_objective_stops_climbing():
    rng = np.random.default_rng(6)
    X = np.vstack([rng.normal(0, 1, (80, 2)), rng.normal(2.0, 1, (80, 2))])   # overlapping
    config = FitConfig(n_components=2, algorithm="hard_em", tol=1e-6, variance_floor=0.0,
                       random_state=0)
    result = fit(X, config)
    assert result.converged
    # A CEM step by hand from the final model changes nothing worth a tol.
    z, weights, means, covs, objective = _cem_step_by_hand(X, result.model)
    after = MixtureModel(weights, means, covs, "full")
    *_, objective_after = _cem_step_by_hand(X, after)
    assert (z == result.labels).all() or abs(objective_after - objective) / len(X) < 1e-6


def test_a_just_reseeded_model_never_counts_as_converged():
    # Whatever the change in the objective, a model that was just re-seeded goes on.
    config = FitConfig(tol=1e-3)
    assert _status(config, _Data(100), 5, -10.0, -10.0, False, reseeded=True) == "running"
    assert _status(config, _Data(100), 5, -10.0, -10.0, False, reseeded=False) == "converged"
    X, centres = _three_blobs(4)
    snaps = list(iterate(X, FitConfig(n_components=6, max_iter=300, tol=1e-2),
                         initial_model=_far_start(centres)))
    assert snaps[-1].status == "converged" and snaps[-1].iteration > 1


class _Data:
    def __init__(self, n):
        self.total_weight = float(n)


def _gauss_loglik(X, mean, cov):
    return multivariate_normal(mean, cov).logpdf(X).sum()


def test_the_floor_is_the_constrained_maximum_likelihood():
    rng = np.random.default_rng(8)
    # A thin, tilted component inside data that is wide along both features.
    t = rng.normal(size=200)
    thin = np.column_stack([t, t + rng.normal(scale=0.01, size=200)])
    wide = rng.normal(scale=5.0, size=(200, 2))
    X = np.vstack([thin, wide])
    resp = np.zeros((len(X), 2))
    resp[:200, 0] = 1.0
    resp[200:, 1] = 1.0
    floor = 1e-3
    model = m_step(X, resp, "full", variance_floor=floor)
    root = np.linalg.cholesky(np.cov(X.T, bias=True))
    inv = np.linalg.inv(root)
    cov = model.covariances[0]
    # Feasible: at least floor x the data's variance along every direction,
    # i.e. in coordinates whitened by the data's covariance.
    z = inv @ cov @ inv.T
    assert np.linalg.eigvalsh(z).min() >= floor * (1 - 1e-9)
    assert np.linalg.eigvalsh(z).min() <= floor * (1 + 1e-9)        # and the floor acted
    # Optimal: no feasible covariance near it fits the component's rows better.
    best = _gauss_loglik(thin, thin.mean(0), cov)
    for _ in range(300):
        step = rng.normal(scale=0.05, size=(2, 2))
        candidate = z + step @ step.T * rng.choice([-1, 1])
        values, vectors = np.linalg.eigh(0.5 * (candidate + candidate.T))
        if values.min() < floor:
            continue
        other = root @ candidate @ root.T
        assert _gauss_loglik(thin, thin.mean(0), other) <= best + 1e-9


@pytest.mark.parametrize("failing", [[], [0], [6], [2, 3, 11], list(range(13))])
def test_the_bisected_check_finds_exactly_the_matrices_without_a_cholesky(failing):
    from gmm_studio.core.model.gaussian import not_positive_definite

    rng = np.random.default_rng(len(failing))
    a = rng.standard_normal((13, 12, 12))
    stack = a @ np.swapaxes(a, 1, 2) + 0.1 * np.eye(12)
    stack[failing, 5, 5] = -1.0                       # no longer positive definite
    want = [k in failing for k in range(13)]
    assert list(not_positive_definite(stack)) == want


@pytest.mark.parametrize("covariance_type", ["full", "tied", "VVE"])
def test_components_at_the_floor_are_those_whose_whitened_eigenvalue_is_the_floor(
        covariance_type):
    from gmm_studio.core.analysis.metrics import components_at_floor
    from gmm_studio.core.engine.prepared import prepare

    rng = np.random.default_rng(3)
    X = rng.normal(size=(300, 4)) @ rng.normal(size=(4, 4))
    floor = 1e-3
    root = np.linalg.cholesky(np.cov(X.T, bias=True))
    # Whitened spectra: on the floor exactly, just above its tolerance, well above.
    smallest = [floor, floor * (1 + 1e-4), 0.5, floor * (1 + 1e-7)]
    covs = []
    for low in smallest:
        q = np.linalg.qr(rng.normal(size=(4, 4)))[0]
        covs.append(root @ (q * [low, 0.3, 1.0, 2.0]) @ q.T @ root.T)
    covs = np.array(covs)
    if covariance_type == "tied":
        covs = covs[:1]
        smallest = smallest[:1]
    model = MixtureModel(np.full(len(covs), 1 / len(covs)), X[:len(covs)],
                         covs[0] if covariance_type == "tied" else covs, covariance_type)
    hit = components_at_floor(model, prepare(X).floor_metric(covariance_type), floor)
    assert list(hit) == [low <= floor * (1 + 1e-6) for low in smallest]


def test_the_floor_test_without_whitening_agrees_with_whitened_eigenvalues():
    from gmm_studio.core.engine.prepared import prepare

    rng = np.random.default_rng(5)
    base = rng.normal(size=(200, 3))
    X = np.column_stack([base, base[:, 0] * 2.0 - base[:, 1]])    # a collinear column
    metric = prepare(X).floor_metric("full")
    a = rng.normal(size=(200, 4, 3))
    stack = a @ np.swapaxes(a, 1, 2) + 1e-3 * np.eye(4) + metric.root @ metric.root.T * 0.01
    z = np.linalg.inv(metric.root) @ stack @ np.linalg.inv(metric.root).T
    smallest = np.linalg.eigvalsh(0.5 * (z + np.swapaxes(z, 1, 2)))[:, 0]
    # The same eigenvalues from the generalised problem Σ_k u = λ G u, G = R Rᵀ.
    guarded = metric.root @ metric.root.T
    general = np.array([scipy.linalg.eigh(s, 0.5 * (guarded + guarded.T), eigvals_only=True)[0]
                        for s in stack])
    for bound in (1e-3, 1e-2, np.median(smallest)):
        # Whitening by this root (condition number ~1e6) moves eigenvalues by
        # up to ~5 % between the two routes and between LAPACK builds: compare
        # only matrices both put clearly on the same side of the bound.
        away = ((np.abs(smallest - bound) > 0.02 * bound)
                & (np.abs(general - bound) > 0.02 * bound)
                & ((smallest > bound) == (general > bound)))
        assert away.sum() > 100
        np.testing.assert_array_equal(metric.above(stack, bound)[away],
                                      (smallest > bound)[away])


def test_a_diagonal_floor_by_hand():
    X = np.array([[0.0, 0.0], [0.1, 10.0], [10.0, 0.2], [10.1, 10.0]])
    resp = np.array([[1.0, 0.0], [1.0, 0.0], [0.0, 1.0], [0.0, 1.0]])
    model = m_step(X, resp, "diag", variance_floor=0.01)
    # Component 0: var of x is 0.0025, below 0.01 * var(x over all rows) = 0.2501;
    # var of y is 25, above 0.01 * 25 = 0.25: kept.
    var_all = X.var(axis=0)
    np.testing.assert_allclose(model.covariances[0], [0.01 * var_all[0], 25.0], rtol=1e-12)


class _CancelAfter:
    """A cancel event that turns on after ``n`` looks (a Stop pressed mid-fold)."""

    def __init__(self, n):
        self.n = n

    def is_set(self):
        self.n -= 1
        return self.n < 0


def test_cross_validation_honours_cancel_and_survives_a_fold_it_cannot_fit():
    from gmm_studio.core.analysis.selection import cross_validate, latest_rows, sweep

    X, _ = _three_blobs(9)
    mean, _, note = cross_validate(X, FitConfig(n_components=2, n_init=2), 5,
                                   cancel=_CancelAfter(3))
    assert np.isnan(mean) and note == "cross-validation cancelled"
    nine = X[:9]
    rows = sorted(latest_rows(list(sweep(nine, [1, 2, 3, 7, 8], ["spherical"], folds=3))),
                  key=lambda r: r.k)                         # rows come as fits end
    assert [r.k for r in rows] == [1, 2, 3, 7, 8]            # the sweep went on
    assert np.isfinite(rows[0].cv_mean)
    assert np.isnan(rows[-1].cv_mean) and "fold 1 of 3 failed" in rows[-1].note


def test_float32_with_a_tiny_floor_is_refused_and_at_the_minimum_is_accurate():
    from gmm_studio.core import InvalidConfigError

    rng = np.random.default_rng(0)
    # sd 0.1 at distance 300 from the data's centre
    X = np.vstack([rng.normal(0, 50, (2000, 2)), rng.normal(300, 0.1, (300, 2))])
    for floor in (0.0, 1e-6):
        with pytest.raises(InvalidConfigError, match="float32"):
            FitConfig(dtype="float32", variance_floor=floor)
    config = FitConfig(n_components=2, variance_floor=1e-4, n_init=1)
    double = fit(X, config)
    single = fit(X, config.replace(dtype="float32"), initial_model=double.model)
    assert abs(single.log_likelihood - double.log_likelihood) / abs(double.log_likelihood) < 1e-4


def test_the_hierarchical_start_is_deterministic_and_samples_big_data_reproducibly():
    from gmm_studio.core.engine.prepared import prepare
    from gmm_studio.core.engine.starts import HIERARCHICAL_MAX_ROWS, hierarchical_labels

    X, _ = _three_blobs(11)
    small = prepare(X)
    a = hierarchical_labels(small, 3, np.random.default_rng(0))
    b = hierarchical_labels(small, 3, np.random.default_rng(99))
    np.testing.assert_array_equal(a, b)                  # no randomness on small data
    assert sorted(np.bincount(a)) == [40, 40, 40]        # the three blobs
    rng = np.random.default_rng(0)
    big = prepare(np.vstack([rng.normal(c, 0.5, size=(3000, 2)) for c in (0, 6, 12)]))
    assert big.n_rows > HIERARCHICAL_MAX_ROWS
    first = hierarchical_labels(big, 3, np.random.default_rng(5))
    again = hierarchical_labels(big, 3, np.random.default_rng(5))
    np.testing.assert_array_equal(first, again)
    assert len(first) == big.n_rows and sorted(np.bincount(first)) == [3000, 3000, 3000]


def test_a_spherical_floor_by_hand_is_relative_to_the_mean_variance():
    # Columns of very different scale (a ratio beside an area): a round
    # component is measured against the data's mean variance, not the widest
    # column's, which would hold every round fit of such data up.
    X = np.array([[0.0, 0.0], [0.01, 0.0], [1.0, 1000.0], [1.01, 1000.0]])
    resp = np.array([[1.0, 0.0], [1.0, 0.0], [0.0, 1.0], [0.0, 1.0]])
    model = m_step(X, resp, "spherical", variance_floor=0.01)
    mean_var = X.var(axis=0).mean()
    np.testing.assert_allclose(model.covariances, 0.01 * mean_var, rtol=1e-12)
    assert 0.01 * mean_var < 0.01 * X.var(axis=0).max() / 1.9
