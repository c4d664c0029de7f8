"""The uniform noise component: one EM step by hand, planted outliers, files, counts."""

import json

import numpy as np
import pytest
from scipy.stats import multivariate_normal

from gmm_studio.core import FitConfig, MixtureModel, fit, load_model
from gmm_studio.core.data.preprocessing import Preprocessing
from gmm_studio.core.errors import InvalidConfigError, InvalidModelError
from gmm_studio.core.files.model_file import SavedModel, save_model


def _planted(seed=0, n_out=60):
    """Two Gaussian clusters (900 rows) and n_out uniform outliers over a wide box."""
    rng = np.random.default_rng(seed)
    clusters = np.vstack([rng.normal([0, 0], 1.0, size=(450, 2)),
                          rng.multivariate_normal([7, 3], [[1.0, 0.6], [0.6, 0.8]], size=450)])
    outliers = rng.uniform([-25, -25], [30, 30], size=(n_out, 2))
    return np.vstack([clusters, outliers]), np.r_[np.zeros(900, bool), np.ones(n_out, bool)]


def _start(X):
    return MixtureModel(np.array([0.5, 0.4]), np.array([[0.5, 0.0], [6.0, 2.0]]),
                        np.array([np.eye(2) * 2.0, np.eye(2) * 1.5]), "full",
                        noise_weight=0.1, noise_volume=float(np.prod(np.ptp(X, axis=0))))


def test_one_em_step_equals_the_hand_computation():
    X, _ = _planted(n_out=20)
    start = _start(X)
    dens = np.column_stack([start.weights[k] * multivariate_normal(
        start.means[k], start.covariances[k]).pdf(X) for k in range(2)])
    noise = np.full(len(X), start.noise_weight / start.noise_volume)
    total = dens.sum(axis=1) + noise
    resp, r0 = dens / total[:, None], noise / total
    nk = resp.sum(axis=0)
    means = resp.T @ X / nk[:, None]
    covs = [((X - means[k]) * resp[:, [k]]).T @ (X - means[k]) / nk[k] for k in range(2)]
    config = FitConfig(n_components=2, noise=True, variance_floor=0.0, tol=0.0, max_iter=1)
    result = fit(X, config, initial_model=start)
    model = result.model
    np.testing.assert_allclose(result.log_likelihood_history[0], np.log(total).sum(),
                               rtol=1e-12)
    np.testing.assert_allclose(model.noise_weight, r0.mean(), rtol=1e-12)
    np.testing.assert_allclose(model.weights, nk / len(X), rtol=1e-12)
    np.testing.assert_allclose(model.means, means, rtol=1e-12)
    np.testing.assert_allclose(model.covariances, covs, rtol=1e-10)
    np.testing.assert_allclose(start.noise_posterior(X), r0, rtol=1e-12)
    np.testing.assert_allclose(start.score_samples(X), np.log(total), rtol=1e-12)


@pytest.mark.parametrize("covariance_type", ["full", "tied", "diag", "VEV"])
def test_planted_outliers_are_found(covariance_type):
    X, truth = _planted(seed=1)
    result = fit(X, FitConfig(n_components=2, covariance_type=covariance_type, noise=True,
                              n_init=2))
    claimed = result.labels == -1
    recall = np.mean(claimed[truth])
    false_positive = np.mean(claimed[~truth])
    assert recall >= 0.9 and false_positive <= 0.02, (recall, false_positive)
    model = result.model
    assert model.weights.sum() + model.noise_weight == pytest.approx(1.0)
    assert model.noise_weight == pytest.approx(truth.mean(), abs=0.03)
    np.testing.assert_array_equal(claimed, model.predict(X) == -1)


def test_noise_log_likelihood_climbs_and_beats_no_noise_on_outliers():
    X, _ = _planted(seed=2)
    with_noise = fit(X, FitConfig(n_components=2, noise=True))
    assert np.all(np.diff(with_noise.log_likelihood_history) >= -1e-9)
    without = fit(X, FitConfig(n_components=2))
    assert with_noise.n_parameters == without.n_parameters + 2  # weight and volume
    assert with_noise.log_likelihood > without.log_likelihood


def test_the_user_can_give_the_volume():
    X, _ = _planted(seed=3)
    model = fit(X, FitConfig(n_components=2, noise=True, noise_volume=5000.0)).model
    assert model.noise_volume == 5000.0


def test_noise_model_files_round_trip(tmp_path):
    X, _ = _planted(seed=4)
    result = fit(X, FitConfig(n_components=2, noise=True))
    path = tmp_path / "noise.json"
    save_model(path, SavedModel(result.model, ("x", "y"), Preprocessing(),
                                result.config.to_dict()))
    doc = json.loads(path.read_text())
    assert doc["model"]["noise"] == {"weight": result.model.noise_weight,
                                     "volume": result.model.noise_volume}
    again = load_model(path).model
    np.testing.assert_allclose(again.score_samples(X), result.model.score_samples(X),
                               rtol=1e-15)
    assert again.noise_weight == result.model.noise_weight and again.has_noise
    assert doc["version"] == 3
    doc["version"] = 2
    path.write_text(json.dumps(doc))
    with pytest.raises(InvalidModelError, match="version 3"):
        load_model(path)


def test_bad_noise_settings_are_refused():
    with pytest.raises(InvalidConfigError, match="soft EM"):
        FitConfig(algorithm="kmeans", noise=True)
    with pytest.raises(InvalidConfigError, match="noise_volume"):
        FitConfig(noise=True, noise_volume=-1.0)
    with pytest.raises(InvalidModelError, match="noise"):
        MixtureModel(np.array([0.5, 0.5]), np.zeros((2, 1)), np.ones(2), "spherical",
                     noise_weight=0.1, noise_volume=0.0)
    with pytest.raises(InvalidModelError, match="sum to 1"):
        MixtureModel(np.array([0.5, 0.5]), np.zeros((2, 1)), np.ones(2), "spherical",
                     noise_weight=0.1, noise_volume=2.0)


def test_stepping_with_noise_follows_the_engine_and_its_bound():
    from gmm_studio.core import lower_bound
    from gmm_studio.core.teaching.step_session import StepSession

    X, _ = _planted(seed=5, n_out=30)
    start = _start(X)
    config = FitConfig(n_components=2, noise=True, tol=0.0, max_iter=4)
    session = StepSession(X, config, model=start)
    for _ in range(8):
        session.step()
    engine = fit(X, config, initial_model=start).model
    np.testing.assert_allclose(session.model.means, engine.means, rtol=1e-10)
    assert session.model.noise_weight == pytest.approx(engine.noise_weight, rel=1e-10)
    np.testing.assert_allclose(session.history, fit(X, config, initial_model=start)
                               .log_likelihood_history, rtol=1e-12)
    for h in session.trace[1:]:
        assert h.gap >= -1e-9 * abs(h.log_likelihood)
        if h.phase == "E":
            assert h.gap == pytest.approx(0.0, abs=1e-8)
    resp, _ = session.model.posterior(X)
    assert lower_bound(X, session.model, resp) == pytest.approx(session.model.log_likelihood(X),
                                                               rel=1e-12)
