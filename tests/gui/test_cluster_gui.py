"""The window with data on a Dask cluster: open a folder there, Run (live, Stop), export.

Skipped with a reason only where the 'dask' extra is not installed.
"""

import numpy as np
import pandas as pd
import pytest

distributed = pytest.importorskip("distributed", reason="the 'dask' extra is not installed "
                                  "(pip install -e '.[dask]'; .ci/run installs it)")

from gmm_studio.core import FitConfig, fit  # noqa: E402


@pytest.fixture(scope="module")
def scheduler():
    cluster = distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                       dashboard_address=None, silence_logs=40)
    yield cluster.scheduler_address
    cluster.close()


@pytest.fixture
def folder(tmp_path):
    rng = np.random.default_rng(0)
    out = tmp_path / "parts"
    out.mkdir()
    for i in range(3):
        X = np.vstack([rng.normal(0, 1, (5000, 2)), rng.normal([4, 2], 0.7, (5000, 2))])
        pd.DataFrame(X, columns=["u", "v"]).to_parquet(out / f"part-{i}.parquet")
    return out


def _all_rows(folder):
    return pd.concat([pd.read_parquet(p) for p in sorted(folder.glob("*.parquet"))])[
        ["u", "v"]].to_numpy()


def test_run_fits_every_row_on_the_cluster_live_and_exports_by_partition(
        window, qtbot, scheduler, folder, tmp_path, monkeypatch):
    window.cluster.set_address(scheduler)
    assert window.cluster.open(str(folder))
    assert abs(window.dataset.n_rows - 20_000) <= 10 and "of 30,000" in window.title
    window.fit_panel.set_config(FitConfig(n_components=2))
    window.run_fit()
    qtbot.waitUntil(lambda: window.result is not None, timeout=60_000)
    result = window.result
    assert result.n_samples == 30_000  # all the rows, not the sample on screen
    assert window.ll_plot.curves and len(window.ll_plot.curves[0].getData()[0]) >= 1
    here = fit(_all_rows(folder), FitConfig(n_components=2))
    assert result.log_likelihood == pytest.approx(here.log_likelihood, rel=1e-6)
    labels = tmp_path / "labels"
    labels.mkdir()
    monkeypatch.setattr("gmm_studio.gui.cluster.QFileDialog.getExistingDirectory",
                        lambda *a, **k: str(labels))
    window.exports.export_labels()
    qtbot.waitUntil(lambda: not window.exports.exporter.running, timeout=60_000)
    written = sorted(labels.glob("labels-*.csv"))
    assert len(written) == 3
    assert sum(len(pd.read_csv(p)) for p in written) == 30_000


def test_stop_ends_a_cluster_fit_and_step_says_why_it_does_not_run(window, qtbot,
                                                                    scheduler, folder,
                                                                    monkeypatch):
    # The start is fitted on a sample, here all 30,000 rows: with its usual 100
    # iterations it could reach tol 1e-12 there, and the fit on the cluster
    # then converged at its first pass, before Stop. Three keep it short of that.
    monkeypatch.setattr("gmm_studio.core.distributed.data.START_ITERATIONS", 3)
    window.cluster.set_address(scheduler)
    window.cluster.open(str(folder))
    window.fit_panel.set_config(FitConfig(n_components=2, max_iter=100_000, tol=1e-12))
    # With the panel's smallest tolerance and 2 iterations a second, the fit
    # on every row is surely still running at Stop.
    window.fit_panel.speed.setCurrentIndex(window.fit_panel.speed.findText("2 iterations/s"))
    window.run_fit()
    qtbot.waitUntil(lambda: window.fitting.controller.running and bool(window.ll_plot.curves),
                    timeout=60_000)
    window.stop_fit()
    qtbot.waitUntil(lambda: not window.fitting.controller.running, timeout=30_000)
    assert window.result is not None and window.result.status == "cancelled"
    window.step()
    assert "step mode works on data in memory" in window.messages.messages[0]
    window.open_sample("old_faithful.csv")
    assert not window.cluster.holds(window.dataset)


def test_a_bad_scheduler_address_is_a_message_not_a_hang(window, qtbot, folder):
    window.cluster.set_address("tcp://127.0.0.1:9")
    assert not window.cluster.open(str(folder))
    assert window.messages.level == "error" and "scheduler" in window.messages.messages[0]
