"""Properties EM must have, whatever the data."""

import threading

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gmm_studio.core import FitConfig, MixtureModel, e_step, fit, iterate, m_step

from .helpers import blobs, faithful, start_model, whitened_smallest

COV_TYPES = ["full", "tied", "diag", "spherical"]


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 10_000), covariance_type=st.sampled_from(COV_TYPES),
       k=st.integers(1, 4), d=st.integers(1, 4))
def test_soft_em_log_likelihood_never_decreases(seed, covariance_type, k, d):
    X = blobs(seed=seed, n=60, d=d, k=3)
    config = FitConfig(n_components=k, covariance_type=covariance_type, max_iter=40,
                       tol=0.0, random_state=seed)
    result = fit(X, config)
    if any("restarted" in w for w in result.warnings):
        return  # a re-seeded component legitimately costs likelihood once
    steps = np.diff(result.log_likelihood_history)
    assert np.all(steps >= -1e-9 * abs(result.log_likelihood))


@pytest.mark.parametrize("covariance_type", COV_TYPES)
def test_responsibilities_equal_bayes_rule_with_scipy_densities(covariance_type):
    from scipy.stats import multivariate_normal

    X = blobs(seed=2)
    model = fit(X, FitConfig(covariance_type=covariance_type)).model
    resp, ll = e_step(model, X)
    # Independently: w_k N(x | mu_k, Sigma_k) with SciPy, normalised per row.
    covs = {"full": lambda k: model.covariances[k], "tied": lambda k: model.covariances,
            "diag": lambda k: np.diag(model.covariances[k]),
            "spherical": lambda k: np.eye(X.shape[1]) * model.covariances[k]}[covariance_type]
    joint = np.column_stack([model.weights[k] * multivariate_normal(model.means[k],
                                                                    covs(k)).pdf(X)
                             for k in range(model.n_components)])
    np.testing.assert_allclose(resp, joint / joint.sum(axis=1, keepdims=True), atol=1e-10)
    np.testing.assert_allclose(ll, np.log(joint.sum(axis=1)).sum(), rtol=1e-10)


@pytest.mark.parametrize("algorithm", ["em", "hard_em", "kmeans"])
def test_row_permutation_changes_nothing(algorithm):
    X = blobs(seed=4)
    perm = np.random.default_rng(0).permutation(len(X))
    start = start_model(X, "spherical" if algorithm == "kmeans" else "full")
    config = FitConfig(algorithm=algorithm, covariance_type=start.covariance_type, tol=1e-9)
    a = fit(X, config, initial_model=start)
    b = fit(X[perm], config, initial_model=start)
    np.testing.assert_allclose(a.model.means, b.model.means, rtol=1e-10)
    np.testing.assert_allclose(a.model.covariances, b.model.covariances, rtol=1e-9)
    np.testing.assert_allclose(a.log_likelihood, b.log_likelihood, rtol=1e-11)
    np.testing.assert_array_equal(a.labels[perm], b.labels)


@pytest.mark.parametrize("algorithm", ["em", "hard_em", "kmeans"])
@pytest.mark.parametrize("init", ["kmeans++", "kmeans", "random", "random_from_data"])
def test_same_seed_gives_identical_result(algorithm, init):
    X = blobs(seed=6)
    config = FitConfig(algorithm=algorithm, init=init, n_init=3, random_state=42)
    a, b = fit(X, config), fit(X, config)
    np.testing.assert_array_equal(a.model.means, b.model.means)
    np.testing.assert_array_equal(a.model.covariances, b.model.covariances)
    np.testing.assert_array_equal(a.log_likelihood_history, b.log_likelihood_history)
    np.testing.assert_array_equal(a.restart_log_likelihoods, b.restart_log_likelihoods)
    assert a.best_restart == b.best_restart


@pytest.mark.parametrize("algorithm", ["em", "hard_em", "kmeans"])
@pytest.mark.parametrize("covariance_type", COV_TYPES)
def test_integer_weights_equal_repeated_rows(algorithm, covariance_type):
    X = blobs(seed=8, n=80)
    counts = np.random.default_rng(1).integers(0, 4, size=len(X))
    start = start_model(X, "spherical" if algorithm == "kmeans" else covariance_type)
    config = FitConfig(algorithm=algorithm, covariance_type=start.covariance_type, tol=1e-10)
    weighted = fit(X, config, sample_weight=counts, initial_model=start)
    repeated = fit(np.repeat(X, counts, axis=0), config, initial_model=start)
    np.testing.assert_allclose(weighted.model.means, repeated.model.means, rtol=1e-9)
    np.testing.assert_allclose(weighted.model.covariances, repeated.model.covariances, rtol=1e-8)
    np.testing.assert_allclose(weighted.log_likelihood, repeated.log_likelihood, rtol=1e-10)
    np.testing.assert_allclose(weighted.bic, repeated.bic, rtol=1e-10)


@pytest.mark.parametrize("covariance_type", COV_TYPES)
def test_far_from_origin_fits_like_near_origin(covariance_type):
    X = blobs(seed=9, d=2) / 4.0
    start = start_model(X, covariance_type)
    shifted = MixtureModel(start.weights, start.means + 1e6, start.covariances, covariance_type)
    config = FitConfig(covariance_type=covariance_type, max_iter=30, tol=0.0)
    near = fit(X, config, initial_model=start)
    far = fit(X + 1e6, config, initial_model=shifted)
    # 1e6 offset in float64 leaves ~1e-10 absolute resolution per value.
    np.testing.assert_allclose(far.model.means - 1e6, near.model.means, atol=1e-7)
    np.testing.assert_allclose(far.model.covariances, near.model.covariances, rtol=1e-6)
    np.testing.assert_allclose(far.log_likelihood, near.log_likelihood, rtol=1e-8)


@pytest.mark.parametrize("covariance_type", ["full", "diag", "tied"])
def test_rescaling_a_column_changes_nothing_but_units(covariance_type):
    X = faithful()
    scaled = X * np.array([1000.0, 1.0])
    config = FitConfig(covariance_type=covariance_type, n_components=3, n_init=2)
    a, b = fit(X, config), fit(scaled, config)
    np.testing.assert_array_equal(a.labels, b.labels)
    np.testing.assert_allclose(b.log_likelihood, a.log_likelihood - len(X) * np.log(1000),
                               rtol=1e-9)


def test_variance_floor_is_relative_and_holds():
    X = faithful()
    floor = 0.05
    result = fit(X, FitConfig(n_components=6, variance_floor=floor, n_init=2))
    assert whitened_smallest(result.model.covariances, X).min() >= floor * (1 - 1e-9)
    assert any("variance floor" in w for w in result.warnings)


def test_default_floor_stops_spike_on_repeated_values():
    # `waiting` is in whole minutes: a component on the 15 rows with waiting
    # = 78 has zero variance along it and an unbounded likelihood. Rounding
    # alone gives variance 1/12 min^2; the floor keeps every component wider.
    X = faithful()
    on = X[X[:, 1] == 78.0]
    base = fit(X, FitConfig(n_components=3, n_init=3)).model
    start = MixtureModel(np.append(base.weights * 0.95, 0.05), np.vstack([base.means, on.mean(0)]),
                         np.concatenate([base.covariances, [np.diag([on[:, 0].var(), 0.01])]]))
    held = fit(X, FitConfig(n_components=4), initial_model=start)
    assert whitened_smallest(held.model.covariances, X).min() >= 1e-3 * (1 - 1e-9)
    assert held.model.covariances[:, 1, 1].min() > 1 / 12
    spiked = fit(X, FitConfig(n_components=4, variance_floor=1e-7), initial_model=start)
    assert spiked.model.covariances[:, 1, 1].min() < 1 / 12        # the spike it stops
    assert spiked.log_likelihood > held.log_likelihood + 50


def test_empty_component_is_reseeded_and_reported():
    rng = np.random.default_rng(0)
    X = np.repeat(rng.normal(size=(4, 2)), 30, axis=0) + rng.normal(scale=1e-3, size=(120, 2))
    result = fit(X, FitConfig(algorithm="hard_em", n_components=6, random_state=3, n_init=3))
    assert np.isfinite(result.log_likelihood)
    # Six components on four tight groups: two keep losing their rows and are
    # restarted; the warning says so and where, and after a few tries the run
    # may still converge instead of re-seeding until max_iter.
    reseeds = [w for w in result.warnings if "lost all its points" in w]
    assert len(reseeds) == 1 and "component" in reseeds[0] and "row" in reseeds[0]
    assert result.converged
    assert len(np.unique(result.labels)) == 4


def test_cancel_returns_last_completed_iteration():
    X = blobs(seed=10)
    cancel = threading.Event()
    seen = []

    def callback(snapshot):
        seen.append(snapshot.iteration)
        if snapshot.iteration == 3:
            cancel.set()

    result = fit(X, FitConfig(max_iter=500, tol=0.0), callback=callback, cancel=cancel)
    assert result.status == "cancelled"
    assert result.n_iter == 3
    assert any("stopped by the user" in w for w in result.warnings)


def test_iterate_yields_frozen_snapshots_and_fit_agrees():
    X = faithful()
    config = FitConfig(n_init=2, random_state=5)
    snaps = list(iterate(X, config))
    assert [s.restart for s in snaps] == sorted(s.restart for s in snaps)
    assert sum(s.done for s in snaps) == 2
    with pytest.raises(ValueError):
        snaps[0].model.means[0, 0] = 1.0
    result = fit(X, config)
    best = max((s for s in snaps if s.done), key=lambda s: s.log_likelihood)
    assert result.log_likelihood == best.log_likelihood


@pytest.mark.parametrize("covariance_type", COV_TYPES)
def test_m_step_matches_weighted_moments(covariance_type):
    X = blobs(seed=12, d=2)
    resp = np.random.default_rng(0).dirichlet(np.ones(3), size=len(X))
    model = m_step(X, resp, covariance_type, variance_floor=0.0)
    nk = resp.sum(axis=0)
    np.testing.assert_allclose(model.weights, nk / len(X), rtol=1e-12)
    means = resp.T @ X / nk[:, None]
    np.testing.assert_allclose(model.means, means, rtol=1e-10)
    covs = np.stack([np.cov(X.T, aweights=resp[:, k], bias=True) for k in range(3)])
    expected = {
        "full": covs,
        "tied": np.einsum("k,kij->ij", nk, covs) / len(X),
        "diag": np.diagonal(covs, axis1=1, axis2=2),
        "spherical": np.diagonal(covs, axis1=1, axis2=2).mean(axis=1),
    }[covariance_type]
    np.testing.assert_allclose(model.covariances, expected, rtol=1e-9)


def test_model_sample_and_round_trip():
    model = fit(faithful(), FitConfig(covariance_type="diag")).model
    X, labels = model.sample(60_000, np.random.default_rng(0))
    assert X.shape == (60_000, 2) and labels.shape == (60_000,)
    # The draws follow the model: component shares, means and variances.
    np.testing.assert_allclose(np.bincount(labels, minlength=model.n_components) / 60_000,
                               model.weights, atol=0.01)
    for k in range(model.n_components):
        rows = X[labels == k]
        sd = np.sqrt(model.covariances[k])
        assert np.all(np.abs(rows.mean(axis=0) - model.means[k]) < 5 * sd / np.sqrt(len(rows)))
        np.testing.assert_allclose(rows.var(axis=0), model.covariances[k], rtol=0.05)
    again = MixtureModel.from_dict(model.to_dict())
    np.testing.assert_array_equal(again.covariances, model.covariances)
    assert again.covariance_type == "diag"


def _spike_start(X, covariance_type):
    """Three fitted components plus one on the 15 rows with waiting = 78 (see above)."""
    on = X[X[:, 1] == 78.0]
    base = fit(X, FitConfig(n_components=3, n_init=3, covariance_type=covariance_type)).model
    extra = np.diag([on[:, 0].var(), 0.01])
    covs = (np.concatenate([base.covariances, [extra]]) if covariance_type == "full"
            else np.vstack([base.covariances, np.diag(extra)]))
    return MixtureModel(np.append(base.weights * 0.95, 0.05), np.vstack([base.means, on.mean(0)]),
                        covs, covariance_type)


def _assert_mapped(a, b, A, n_rows):
    """Fit b of the mapped data is fit a in other units: log L shifts by -N log|det A|."""
    np.testing.assert_allclose(b.log_likelihood,
                               a.log_likelihood - n_rows * np.log(abs(np.linalg.det(A))),
                               rtol=1e-9)
    np.testing.assert_array_equal(a.labels, b.labels)


def test_full_fits_with_the_floor_acting_are_invariant_to_a_linear_map():
    # The floor is measured against the data's own spread along each direction,
    # so mixing the columns changes nothing but the units, even where it acts.
    X = faithful()
    A = np.array([[2.0, 1.0], [0.5, 3.0]])
    start = _spike_start(X, "full")
    mapped = MixtureModel(start.weights, start.means @ A.T, A @ start.covariances @ A.T)
    config = FitConfig(n_components=4, variance_floor=0.05)
    a = fit(X, config, initial_model=start)
    b = fit(X @ A.T, config, initial_model=mapped)
    assert any("variance floor" in w for w in a.warnings)
    _assert_mapped(a, b, A, len(X))
    np.testing.assert_allclose(b.model.covariances, A @ a.model.covariances @ A.T, rtol=1e-6,
                               atol=1e-9 * np.abs(b.model.covariances).max())


def test_tied_fits_are_invariant_to_a_linear_map():
    X = faithful()
    A = np.array([[2.0, 1.0], [0.5, 3.0]])
    config = FitConfig(n_components=3, covariance_type="tied", variance_floor=0.2)
    start = fit(X, config.replace(max_iter=2)).model
    mapped = MixtureModel(start.weights, start.means @ A.T, A @ start.covariances @ A.T, "tied")
    a = fit(X, config, initial_model=start)
    b = fit(X @ A.T, config, initial_model=mapped)
    assert any("variance floor" in w for w in a.warnings)
    _assert_mapped(a, b, A, len(X))


def test_diag_fits_with_the_floor_acting_are_invariant_to_rescaling():
    X = faithful()
    scale = np.array([1000.0, 0.01])
    start = _spike_start(X, "diag")
    scaled = MixtureModel(start.weights, start.means * scale, start.covariances * scale**2,
                          "diag")
    a = fit(X, FitConfig(n_components=4, covariance_type="diag"), initial_model=start)
    b = fit(X * scale, FitConfig(n_components=4, covariance_type="diag"), initial_model=scaled)
    assert any("variance floor" in w for w in a.warnings)
    np.testing.assert_allclose(b.model.covariances, a.model.covariances * scale**2, rtol=1e-6)
    np.testing.assert_array_equal(a.labels, b.labels)


@pytest.mark.parametrize("d", [1, 2, 3, 7, 30])
def test_the_batched_triangular_inverse_equals_a_general_solve(d):
    from gmm_studio.core.model.gaussian import inverse_lower

    rng = np.random.default_rng(d)
    a = rng.standard_normal((20, d, d))
    chol = np.linalg.cholesky(a @ np.swapaxes(a, 1, 2) + d * np.eye(d))
    want = np.linalg.solve(chol, np.broadcast_to(np.eye(d), chol.shape))
    got = inverse_lower(chol)
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-14 * np.abs(want).max())
    np.testing.assert_array_equal(np.triu(got, 1), 0.0)
