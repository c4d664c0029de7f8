"""Fits of dask data on a LocalCluster of two worker processes, against in-memory fits.

The cluster is started and stopped inside this module. Skipped with a reason
only where the 'dask' extra is not installed (.ci/run installs it).
"""

import numpy as np
import pytest

dask = pytest.importorskip("dask", reason="the 'dask' extra is not installed "
                                          "(pip install -e '.[dask]'; .ci/run installs it)")
distributed = pytest.importorskip("distributed")

import dask.array as da  # noqa: E402
import dask.dataframe as dd  # noqa: E402
import pandas as pd  # noqa: E402

from gmm_studio.core import FitConfig, MixtureModel, fit, iterate  # noqa: E402
from gmm_studio.core import distributed as gd  # noqa: E402
from gmm_studio.core.analysis.selection import select  # noqa: E402

CHUNK = 2500


@pytest.fixture(scope="module")
def client():
    cluster = distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                       dashboard_address=None, silence_logs=40)
    with distributed.Client(cluster) as c:
        yield c
    cluster.close()


@pytest.fixture(scope="module")
def data():
    """Three overlapping, sheared clusters: EM needs many iterations (N = 12,000, D = 3)."""
    rng = np.random.default_rng(7)
    parts = [rng.normal(size=(4000, 3)) @ rng.normal(size=(3, 3)) * 0.8 + centre
             for centre in ([0, 0, 0], [2.5, 0.5, -1], [0.5, 3, 1])]
    return np.vstack(parts)


def _poor_start(X, covariance_type="full", k=3):
    rng = np.random.default_rng(3)
    means = X[rng.choice(len(X), k, replace=False)]
    cov = np.cov(X.T)
    covariances = {"full": np.stack([cov] * k), "diag": np.stack([np.diag(cov)] * k),
                   "tied": cov, "spherical": np.full(k, np.trace(cov) / 3)}[covariance_type]
    return MixtureModel(np.full(k, 1 / k), means, covariances, covariance_type)


@pytest.mark.parametrize("covariance_type", ["full", "diag", "tied", "spherical"])
def test_soft_em_on_the_cluster_equals_the_in_memory_fit(client, data, covariance_type):
    start = _poor_start(data, covariance_type)
    config = FitConfig(n_components=3, covariance_type=covariance_type, tol=1e-9)
    here = fit(data, config, initial_model=start)
    there = fit(da.from_array(data, chunks=(CHUNK, 3)), config, initial_model=start)
    assert here.n_iter > 10 and there.n_iter == here.n_iter
    np.testing.assert_allclose(there.model.means, here.model.means, rtol=1e-10)
    np.testing.assert_allclose(there.model.covariances, here.model.covariances, rtol=1e-10)
    np.testing.assert_allclose(there.log_likelihood_history, here.log_likelihood_history,
                               rtol=1e-10)


@pytest.mark.parametrize("algorithm", ["hard_em", "kmeans"])
def test_hard_em_and_kmeans_on_the_cluster_end_at_the_in_memory_model(client, data,
                                                                         algorithm):
    start = _poor_start(data)
    config = FitConfig(n_components=3, algorithm=algorithm)
    if algorithm == "kmeans":
        start = MixtureModel(start.weights, start.means, np.ones(3), "spherical")
    here = fit(data, config, initial_model=start)
    there = fit(da.from_array(data, chunks=(CHUNK, 3)), config, initial_model=start)
    np.testing.assert_allclose(there.model.means, here.model.means, rtol=1e-10)
    assert there.log_likelihood == pytest.approx(here.log_likelihood, rel=1e-10)
    # Without labels in the client the cluster stops one pass later, on the objective.
    assert here.n_iter <= there.n_iter <= here.n_iter + 1


def test_every_pass_is_one_task_per_chunk_and_nothing_is_gathered(client, data):
    darr = da.from_array(data, chunks=(CHUNK, 3))
    n_chunks = len(darr.chunks[0])
    config = FitConfig(n_components=3, tol=0.0, max_iter=4)
    with distributed.get_task_stream(client) as stream:
        result = fit(darr, config, initial_model=_poor_start(data))
    passes = [t for t in stream.data if "_chunk_em_pass" in str(t["key"])]
    assert result.n_iter == 4
    assert len(passes) >= n_chunks * (result.n_iter + 1)
    assert {t["typename"] for t in passes} == {"gmm_studio.core.engine.passes.PassResult"}
    # No task of the fit produced the whole array: it was never put together anywhere.
    assert all("nbytes" in t for t in stream.data)
    assert max(t["nbytes"] for t in stream.data) < data.nbytes / 2


def test_snapshots_stream_and_stop_between_passes(client, data):
    import threading

    cancel = threading.Event()
    snaps = []
    for snap in iterate(da.from_array(data, chunks=(CHUNK, 3)),
                        FitConfig(n_components=3, tol=0.0, max_iter=50), cancel=cancel,
                        initial_model=_poor_start(data)):
        snaps.append(snap)
        if len(snaps) == 3:
            cancel.set()
    assert 3 <= len(snaps) <= 4 and snaps[-1].iteration <= 3


def test_a_dask_dataframe_and_our_own_start(client, data):
    frame = pd.DataFrame(data, columns=["a", "b", "c"]).assign(name="row")
    ddf = dd.from_pandas(frame, npartitions=4)
    result = fit(ddf, FitConfig(n_components=3, n_init=2, random_state=1))
    assert "sample of the rows drawn on the cluster" in result.warnings[0]
    here = fit(data, FitConfig(n_components=3, n_init=2, random_state=1))
    assert result.log_likelihood == pytest.approx(here.log_likelihood, rel=1e-6)
    rows, _ = gd.sample_rows(gd.prepare_dask(ddf), 1000, seed=5)
    again, _ = gd.sample_rows(gd.prepare_dask(ddf), 1000, seed=5)
    np.testing.assert_array_equal(rows, again)  # reproducible sample


def test_lazy_labels_probabilities_and_densities(client, data):
    darr = da.from_array(data, chunks=(CHUNK, 3))
    model = fit(data, FitConfig(n_components=3)).model
    labels, proba, dens = gd.labels(model, darr), gd.probabilities(model, darr), \
        gd.log_density(model, darr)
    assert isinstance(labels, da.Array) and isinstance(proba, da.Array)
    np.testing.assert_array_equal(labels.compute(), model.predict(data))
    np.testing.assert_allclose(proba.compute(), model.predict_proba(data), rtol=1e-12)
    np.testing.assert_allclose(dens.compute(), model.score_samples(data), rtol=1e-12)


def test_the_model_sweep_runs_on_the_cluster(client, data):
    darr = da.from_array(data, chunks=(CHUNK, 3))
    rows, best = select(darr, [2, 3, 4], ["full", "diag"], base=FitConfig(n_init=1))
    here, best_here = select(data, [2, 3, 4], ["full", "diag"], base=FitConfig(n_init=1))
    assert len(rows) == 6 and (best.k, best.covariance_type) == (best_here.k,
                                                                 best_here.covariance_type)
    for a, b in zip(rows, here, strict=True):
        assert a.bic == pytest.approx(b.bic, rel=1e-5)


def test_weighted_rows_on_the_cluster(client, data):
    w = np.random.default_rng(0).uniform(0.2, 3.0, len(data))
    start = _poor_start(data)
    config = FitConfig(n_components=3, tol=1e-9)
    here = fit(data, config, sample_weight=w, initial_model=start)
    there = fit(da.from_array(data, chunks=(CHUNK, 3)), config,
                sample_weight=da.from_array(w, chunks=CHUNK), initial_model=start)
    np.testing.assert_allclose(there.model.means, here.model.means, rtol=1e-10)


@pytest.mark.parametrize("config", [
    FitConfig(n_components=3, noise=True),
    FitConfig(n_components=3, noise=True, covariance_type="tied"),
    FitConfig(n_components=3, covariance_type="VEV"),
    FitConfig(n_components=3, algorithm="soft_kmeans", sigma=1.5),
], ids=["noise", "noise-tied", "VEV", "soft-kmeans"])
def test_the_rest_of_the_family_on_the_cluster(client, data, config):
    outliers = np.random.default_rng(1).uniform(-10, 12, (300, 3))
    X = np.vstack([data, outliers])
    start = fit(X, config.replace(max_iter=0)).model
    here = fit(X, config, initial_model=start)
    there = fit(da.from_array(X, chunks=(CHUNK, 3)), config, initial_model=start)
    assert there.n_iter == here.n_iter
    assert there.log_likelihood == pytest.approx(here.log_likelihood, rel=1e-12)
    # VEV's M-step turns a shared orientation a few inner steps per iteration; along
    # its flat likelihood the chunks' different summation order (1e-16) grows to
    # about 5e-9 in the means over 37 iterations (log L still agrees to 2e-13).
    rtol = 1e-7 if config.covariance_type == "VEV" else 1e-10
    np.testing.assert_allclose(there.model.means, here.model.means, rtol=rtol)
    assert there.model.noise_weight == pytest.approx(here.model.noise_weight, rel=1e-10)
    assert there.model.noise_volume == here.model.noise_volume


def test_a_stop_before_the_first_pass_is_a_fit_error(client, data):
    import threading

    from gmm_studio.core.errors import FitError

    cancel = threading.Event()
    cancel.set()
    with pytest.raises(FitError, match="stopped before its first pass"):
        fit(da.from_array(data, chunks=(CHUNK, 3)), FitConfig(n_components=3), cancel=cancel)
