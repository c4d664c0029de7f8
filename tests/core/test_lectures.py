"""The lectures' worked examples, soft k-means and replayed frames, against hand values."""

import math

import numpy as np
import pytest
from PIL import Image

from gmm_studio.core import FitConfig, fit
from gmm_studio.core.errors import InvalidModelError
from gmm_studio.core.files.animation import ffmpeg_program, write_animation
from gmm_studio.core.teaching.lectures import lecture_example, narrowest_component
from gmm_studio.core.teaching.replay import half_step_frames, iteration_frames
from gmm_studio.core.teaching.step_session import StepSession

from .helpers import faithful


def _session(key, **changes):
    example = lecture_example(key)
    X = example.frame.to_numpy(float)
    return StepSession(X, example.config.replace(**changes), model=example.start)


def test_one_d_example_matches_the_lecture_by_hand():
    session = _session("lecture_1d")
    session.step()
    # Hand values: γ₁(x) = 1 / (1 + exp(-((x-5)² - (x-1)²) / 2)).
    by_hand = [1 / (1 + math.exp(-((x - 5) ** 2 - (x - 1) ** 2) / 2)) for x in (1, 2, 5)]
    np.testing.assert_allclose(session.resp[:, 0], by_hand, rtol=1e-12)
    np.testing.assert_allclose(np.round(session.resp[:, 0], 5), [0.99966, 0.98201, 0.00034])
    session.step()
    model = session.model
    np.testing.assert_allclose(np.round(model.means.ravel(), 4), [1.4961, 4.9457])
    np.testing.assert_allclose(np.round(model.covariances, 4), [0.2520, 0.1613])
    np.testing.assert_allclose(np.round(model.weights, 4), [0.6607, 0.3393])
    assert "0.25" in lecture_example("lecture_1d").note and "0.1613" in lecture_example(
        "lecture_1d").note


def test_two_d_example_against_the_formulas():
    example = lecture_example("lecture_2d")
    X = example.frame.to_numpy(float)
    session = _session("lecture_2d")
    session.step()
    session.step()
    d2 = ((X[:, None, :] - example.start.means[None]) ** 2).sum(axis=2)  # (3, 2), σ² = 1
    gamma = np.exp(-d2 / 2) / np.exp(-d2 / 2).sum(axis=1, keepdims=True)
    nk = gamma.sum(axis=0)
    means = gamma.T @ X / nk[:, None]
    var = np.array([gamma[:, k] @ ((X - means[k]) ** 2).sum(axis=1) / (2 * nk[k])
                    for k in range(2)])
    np.testing.assert_allclose(session.model.means, means, rtol=1e-12)
    np.testing.assert_allclose(session.model.covariances, var, rtol=1e-12)
    np.testing.assert_allclose(session.model.weights, nk / 3, rtol=1e-12)


def test_collapse_without_floor_climbs_without_bound_and_the_floor_stops_it():
    session = _session("collapse")
    start = session.history[-1]
    with pytest.raises(InvalidModelError, match="not positive definite"):
        for _ in range(400):
            session.step()
    assert session.history[-1] > start + 10
    assert session.model.covariances.min() < 1e-8
    assert "component 5" in narrowest_component(session)
    floored = _session("collapse", variance_floor=1e-3)
    for _ in range(400):
        floored.step()
    x = floored.X[:, 0]
    assert floored.model.covariances.min() >= 1e-3 * x.var() * (1 - 1e-9)
    assert np.isfinite(floored.history[-1]) and floored.history[-1] < session.history[-1]
    assert floored.history[-1] - floored.history[-11] < 1e-3  # it settles


def _soft_kmeans_by_hand(X, means, sigma, n_iter):
    """EM with Σ_k = σ²I and π_k = 1/K, written out with plain NumPy."""
    for _ in range(n_iter):
        d2 = ((X[:, None, :] - means[None]) ** 2).sum(axis=2)
        logits = -d2 / (2 * sigma**2)
        q = np.exp(logits - logits.max(axis=1, keepdims=True))
        q /= q.sum(axis=1, keepdims=True)
        means = q.T @ X / q.sum(axis=0)[:, None]
    return means


def test_soft_kmeans_is_em_with_fixed_round_covariances():
    X = faithful()
    config = FitConfig(algorithm="soft_kmeans", n_components=2, sigma=4.0, tol=0.0,
                       max_iter=8)
    result = fit(X, config)
    start = fit(X, config.replace(max_iter=0)).model
    np.testing.assert_allclose(result.model.covariances, 16.0)
    np.testing.assert_allclose(result.model.weights, 0.5)
    np.testing.assert_allclose(result.model.means,
                               _soft_kmeans_by_hand(X, start.means, 4.0, 8), rtol=1e-10)
    assert result.n_parameters == 2 * 2
    free = fit(X, config.replace(equal_weights=False))
    assert not np.allclose(free.model.weights, 0.5) and free.n_parameters == 2 * 2 + 1


def test_soft_kmeans_with_small_sigma_finds_the_kmeans_partition():
    X = faithful()
    soft = fit(X, FitConfig(algorithm="soft_kmeans", n_components=2, sigma=0.05))
    hard = fit(X, FitConfig(algorithm="kmeans", n_components=2))
    order = np.argsort(soft.model.means[:, 1])
    np.testing.assert_allclose(soft.model.means[order],
                               hard.model.means[np.argsort(hard.model.means[:, 1])], rtol=1e-6)


def test_soft_kmeans_steps_like_the_engine():
    X = faithful()
    config = FitConfig(algorithm="soft_kmeans", n_components=2, sigma=3.0, tol=0.0,
                       max_iter=4)
    session = StepSession(X, config)
    for _ in range(9):
        session.step()
    np.testing.assert_allclose(session.model.means, fit(X, config).model.means, rtol=1e-10)


def test_replayed_iterations_end_at_the_fitted_model():
    X = faithful()
    config = FitConfig(n_components=2, n_init=2, random_state=3)
    result = fit(X, config)
    frames = iteration_frames(X, config, result.best_restart, last_iteration=result.n_iter)
    assert len(frames) == result.n_iter + 1
    np.testing.assert_allclose(frames[-1].model.means, result.model.means, rtol=1e-12)
    steps = half_step_frames(X, config, frames[0].model, 5)
    assert len(steps) == 6 and "E-step" in steps[1].caption and steps[1].resp is not None


@pytest.mark.parametrize("kind", ["gif", "mp4"])
def test_animation_files_have_every_frame_at_the_size_asked(tmp_path, kind):
    if kind == "mp4" and ffmpeg_program() is None:
        pytest.skip("no ffmpeg here (the 'video' extra installs one)")
    rng = np.random.default_rng(0)
    frames = [rng.integers(0, 255, size=(120, 160, 3), dtype=np.uint8) for _ in range(7)]
    path = write_animation(frames, tmp_path / f"fit.{kind}", fps=5)
    if kind == "gif":
        with Image.open(path) as image:
            assert image.n_frames == 7 and image.size == (160, 120)
            assert image.info["duration"] == 200
    else:
        assert path.stat().st_size > 1000 and path.read_bytes()[4:8] == b"ftyp"
    assert not list(tmp_path.glob(".*tmp"))
