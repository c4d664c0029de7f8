"""Step-by-step EM: E and M alternate and soft EM never loses likelihood."""

import numpy as np
import pytest

from gmm_studio.core import FitConfig, fit
from gmm_studio.core.teaching.step_session import StepSession

from .helpers import faithful


@pytest.mark.parametrize("covariance_type", ["full", "tied", "diag", "spherical"])
def test_half_steps_alternate_and_likelihood_climbs(covariance_type):
    X = faithful()
    session = StepSession(X, FitConfig(covariance_type=covariance_type, random_state=2))
    phases = [session.step() for _ in range(21)]
    assert phases == ["init"] + ["E", "M"] * 10
    assert session.iteration == 10 and len(session.history) == 11
    assert np.all(np.diff(session.history) >= -1e-9 * abs(session.history[-1]))


def test_steps_reproduce_the_engine():
    X = faithful()
    config = FitConfig(random_state=4, variance_floor=0.0, tol=0.0, max_iter=5)
    session = StepSession(X, config)
    for _ in range(11):
        session.step()
    engine = fit(X, config)
    np.testing.assert_allclose(session.model.means, engine.model.means, rtol=1e-10)
    np.testing.assert_allclose(session.history, engine.log_likelihood_history, rtol=1e-10)


@pytest.mark.parametrize("algorithm", ["hard_em", "kmeans"])
def test_hard_steps_use_one_hot_responsibilities(algorithm):
    session = StepSession(faithful(), FitConfig(algorithm=algorithm))
    session.step()
    session.step()
    assert set(np.unique(session.resp)) <= {0.0, 1.0}
    session.step()
    if algorithm == "kmeans":
        np.testing.assert_allclose(session.model.weights, 1 / 3)
