"""EM's lower bound L(q, θ) against a direct computation, and what E and M do to it."""

import numpy as np
import pytest
from scipy.stats import multivariate_normal

from gmm_studio.core import FitConfig, MixtureModel, e_step, lower_bound, m_step
from gmm_studio.core.teaching.step_session import StepSession

from .helpers import blobs, faithful, start_model


def _direct_bound(X, model, q, w=None):
    """Σ_n w_n Σ_k q_nk (log π_k + log N(x_n | k) − log q_nk), term by term with SciPy."""
    total = 0.0
    covs = [model.covariances[k] if model.covariance_type == "full" else None
            for k in range(model.n_components)]
    for n, x in enumerate(X):
        row = 0.0
        for k in range(model.n_components):
            if q[n, k] == 0:
                continue
            log_n = multivariate_normal(model.means[k], covs[k]).logpdf(x)
            row += q[n, k] * (np.log(model.weights[k]) + log_n - np.log(q[n, k]))
        total += row * (1.0 if w is None else w[n])
    return total


def test_bound_equals_a_direct_computation_with_scipy():
    X = blobs(seed=3, n=40, d=3)
    model = start_model(X, "full", k=3)
    rng = np.random.default_rng(0)
    q = rng.dirichlet(np.ones(3), size=len(X))
    w = rng.uniform(0.5, 2.0, size=len(X))
    assert lower_bound(X, model, q) == pytest.approx(_direct_bound(X, model, q), rel=1e-11)
    assert lower_bound(X, model, q, w) == pytest.approx(_direct_bound(X, model, q, w),
                                                        rel=1e-11)


@pytest.mark.parametrize("seed", range(5))
def test_bound_is_below_log_likelihood_for_any_q(seed):
    X = faithful()
    model = start_model(X, "full", k=3, seed=seed)
    q = np.random.default_rng(seed).dirichlet(np.full(3, 0.5), size=len(X))
    assert lower_bound(X, model, q) < model.log_likelihood(X) - 1.0


@pytest.mark.parametrize("covariance_type", ["full", "tied", "diag", "spherical", "VEV"])
def test_e_step_closes_the_gap_and_m_step_does_not_lower_the_bound(covariance_type):
    X = blobs(seed=1, n=80, d=2)
    model = start_model(X, "full", k=3)
    if covariance_type != "full":
        model = m_step(X, model.predict_proba(X), covariance_type)
    q, log_l = e_step(model, X)
    before = lower_bound(X, model, q)
    assert before == pytest.approx(log_l, rel=1e-9, abs=1e-9)
    new = m_step(X, q, covariance_type)
    after = lower_bound(X, new, q)
    assert after >= before - 1e-9 * abs(before)
    assert new.log_likelihood(X) >= after - 1e-9 * abs(after)


def test_zero_responsibility_counts_zero_even_where_the_density_underflows():
    X = np.array([[0.0], [1.0], [1000.0]])
    model = MixtureModel(np.array([0.5, 0.5]), np.array([[0.5], [1000.0]]),
                         np.array([0.1, 0.1]), "spherical")
    q = np.array([[1.0, 0.0], [1.0, 0.0], [0.0, 1.0]])
    assert np.isfinite(lower_bound(X, model, q))


def test_resp_that_are_not_probabilities_are_refused():
    X = faithful()
    model = start_model(X, "full", k=2)
    with pytest.raises(ValueError, match="sum to one"):
        lower_bound(X, model, np.full((len(X), 2), 0.6))


@pytest.mark.parametrize("algorithm", ["em", "hard_em"])
def test_step_trace_shows_the_gap_closing_and_the_bound_rising(algorithm):
    session = StepSession(faithful(), FitConfig(n_components=3, algorithm=algorithm,
                                                random_state=1))
    for _ in range(21):
        session.step()
    trace = session.trace
    assert [h.phase for h in trace] == ["start"] + ["E", "M"] * 10
    assert [h.position for h in trace[:4]] == [0.0, 0.5, 1.0, 1.5]
    for h in trace[1:]:
        assert h.gap >= -1e-9 * abs(h.log_likelihood)
    e_gaps = [h.gap for h in trace if h.phase == "E"]
    if algorithm == "em":
        assert max(abs(g) for g in e_gaps) <= 1e-9 * abs(trace[-1].log_likelihood)
        m_gaps = [h.gap for h in trace[2:6:2]]
        assert min(m_gaps) > 1e-6  # an M-step opens the gap again
    else:
        assert max(e_gaps) > 0  # one-hot q: the E-step leaves a gap
    bounds = [h.bound for h in trace[1:]]
    assert np.all(np.diff(bounds) >= -1e-9 * abs(bounds[-1]))
