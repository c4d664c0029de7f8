"""The noise component in the window: Fit panel, plot, Parameters, Anomalies, exports."""

import numpy as np
import pandas as pd
import pytest

from gmm_studio.core import FitConfig


@pytest.fixture
def outliers(tmp_path):
    rng = np.random.default_rng(0)
    X = np.vstack([rng.normal([0, 0], 1, (300, 2)), rng.normal([6, 3], 0.8, (300, 2)),
                   rng.uniform(-20, 25, (30, 2))])
    path = tmp_path / "outliers.csv"
    pd.DataFrame(X, columns=["a", "b"]).to_csv(path, index=False)
    return path


def test_a_noise_fit_claims_the_outliers_everywhere(window, qtbot, outliers, tmp_path):
    assert window.open_path(outliers, background=False)
    panel = window.fit_panel
    panel.set_config(FitConfig(n_components=2, noise=True))
    assert panel.noise.isChecked() and panel.config().noise
    window.run_fit()
    qtbot.waitUntil(lambda: window.result is not None, timeout=20_000)
    model, labels = window.model, window.result.labels
    assert model.has_noise and 0.02 < model.noise_weight < 0.08
    noise_rows = int(np.sum(labels == -1))
    table = window.params.table
    assert table.rowCount() == 3 and table.item(2, 0).text() == "noise"
    assert int(table.item(2, 2).text()) == noise_rows
    window.tabs.setCurrentWidget(window.anomaly_view)
    qtbot.waitUntil(lambda: window.anomaly_view.scores is not None, timeout=10_000)
    view = window.anomaly_view
    assert view.by_noise.isEnabled()
    view.by_noise.setChecked(True)
    assert len(view.flagged_positions()) == noise_rows and not view.line.isVisible()
    np.testing.assert_array_equal(np.sort(view.flagged_positions()),
                                  np.flatnonzero(labels == -1))
    path = tmp_path / "labels.csv"
    from gmm_studio.core.files.labels import write_labels_csv

    write_labels_csv(path, window.dataset, model)
    out = pd.read_csv(path)
    assert list(out.columns[3:6]) == ["cluster", "p_noise", "p_1"]
    assert int((out["cluster"] == 0).sum()) == noise_rows
    panel.set_config(panel.config().replace(algorithm="kmeans", noise=False))
    assert not panel.noise.isEnabled() and not panel.config().noise


def test_compare_with_noise_on_fits_it_for_soft_em_only(window, qtbot, outliers):
    window.open_path(outliers, background=False)
    window.fit_panel.set_config(FitConfig(n_components=2, noise=True))
    view = window.compare_view
    view.run()
    qtbot.waitUntil(lambda: not view.controller.running and len(view.rows) == 4,
                    timeout=30_000)
    noise = {r.algorithm: r.result.model.has_noise for r in view.rows}
    assert noise == {"kmeans": False, "soft_kmeans": False, "hard_em": False, "em": True}
    em = view.rows[-1]
    assert sum(em.cluster_sizes) == 630 - int(np.sum(em.result.labels == -1))
