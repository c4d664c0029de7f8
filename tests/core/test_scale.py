"""Threads, float32 and out-of-core fitting give the results they should."""

import numpy as np
import pandas as pd
import pytest

from gmm_studio.core import FitConfig, InvalidConfigError, fit
from gmm_studio.core.data.row_cache import build_cache, subsample
from gmm_studio.core.engine.streamed import fit_streaming

from .helpers import blobs, start_model


@pytest.mark.parametrize("algorithm", ["em", "hard_em", "kmeans"])
def test_thread_count_does_not_change_the_result(monkeypatch, algorithm):
    X = np.tile(blobs(seed=1, d=3), (300, 1))  # 270k rows: many blocks
    X = X + np.random.default_rng(0).normal(scale=0.3, size=X.shape)  # no duplicate rows
    config = FitConfig(algorithm=algorithm, n_components=3, max_iter=15, tol=0.0,
                       random_state=2, init="kmeans")
    results = []
    for threads in ("1", "2", "3"):
        monkeypatch.setenv("GMM_STUDIO_THREADS", threads)
        results.append(fit(X, config))
    for other in results[1:]:
        np.testing.assert_array_equal(other.model.means, results[0].model.means)
        np.testing.assert_array_equal(other.log_likelihood_history,
                                      results[0].log_likelihood_history)


@pytest.mark.parametrize("covariance_type", ["full", "diag"])
def test_float32_agrees_with_float64(covariance_type):
    X = np.tile(blobs(seed=3, d=4), (50, 1))
    start = start_model(X, covariance_type)
    config = FitConfig(covariance_type=covariance_type, max_iter=30, tol=0.0, variance_floor=1e-4)
    double = fit(X, config, initial_model=start)
    single = fit(X, config.replace(dtype="float32"), initial_model=start)
    scale = X.std(axis=0)
    np.testing.assert_allclose(single.model.means / scale, double.model.means / scale,
                               atol=1e-4)
    np.testing.assert_allclose(single.log_likelihood, double.log_likelihood, rtol=1e-5)
    np.testing.assert_allclose(single.model.weights, double.model.weights, atol=1e-4)


def _csv(tmp_path, n=60_000, seed=0):
    rng = np.random.default_rng(seed)
    centres = np.array([[0.0, 0.0], [6.0, 2.0], [2.0, 7.0]])
    X = centres[rng.integers(0, 3, n)] + rng.normal(size=(n, 2))
    frame = pd.DataFrame(X, columns=["a", "b"])
    frame.loc[[5, 17], "b"] = np.nan
    frame["tag"] = "t"
    path = tmp_path / "big.csv"
    frame.to_csv(path, index=False)
    return path, frame


def test_out_of_core_matches_in_memory(tmp_path, monkeypatch):
    monkeypatch.setenv("GMM_STUDIO_CACHE_DIR", str(tmp_path / "cache"))
    path, frame = _csv(tmp_path)
    cache = build_cache(path, chunk_rows=7_000)
    assert cache.n_rows == len(frame) - 2 and cache.n_dropped == 2
    assert cache.feature_names == ("a", "b")
    X = frame[["a", "b"]].dropna().to_numpy()
    np.testing.assert_array_equal(cache[100:105], X[100:105])
    config = FitConfig(n_components=3, max_iter=20, tol=0.0, random_state=1)
    streamed = fit_streaming(cache, config, sample_size=5_000)
    start = fit(subsample(cache, 5_000, 1), config).model
    memory = fit(X, config.replace(n_init=1), initial_model=start)
    np.testing.assert_allclose(streamed.model.means, memory.model.means, rtol=1e-10)
    np.testing.assert_allclose(streamed.log_likelihood, memory.log_likelihood, rtol=1e-12)
    assert streamed.labels.size == 0 and "subsample" in streamed.warnings[0]
    assert build_cache(path, chunk_rows=7_000).path == cache.path  # reused, not rebuilt


def test_out_of_core_refuses_hard_em(tmp_path, monkeypatch):
    monkeypatch.setenv("GMM_STUDIO_CACHE_DIR", str(tmp_path / "cache"))
    path, _ = _csv(tmp_path, n=2_000)
    with pytest.raises(InvalidConfigError, match="soft EM only"):
        fit_streaming(build_cache(path), FitConfig(algorithm="hard_em"))


def test_an_edited_file_replaces_its_cache_and_the_cache_has_a_cap(tmp_path, monkeypatch):
    import os

    from gmm_studio.core.data.row_cache import cache_dir

    monkeypatch.setenv("GMM_STUDIO_CACHE_DIR", str(tmp_path / "cache"))
    path = tmp_path / "big.csv"
    rng = np.random.default_rng(0)
    for version in range(3):                       # the file is edited twice
        pd.DataFrame(rng.normal(size=(2000, 2)), columns=["a", "b"]).to_csv(path, index=False)
        os.utime(path, ns=(version * 10**9, version * 10**9))
        build_cache(path, ["a", "b"])
    assert len(list(cache_dir().glob("*.rows"))) == 1   # one copy, of the current file
    other = tmp_path / "other.csv"
    pd.DataFrame(rng.normal(size=(2000, 2)), columns=["a", "b"]).to_csv(other, index=False)
    monkeypatch.setenv("GMM_STUDIO_CACHE_LIMIT_GB", str(40_000 / 2**30))   # ~1.2 entries
    build_cache(other, ["a", "b"])
    rows = list(cache_dir().glob("*.rows"))
    assert len(rows) == 1 and len(list(cache_dir().glob("*.json"))) == 1
    assert build_cache(other, ["a", "b"]).path == str(rows[0])   # the newest one stayed
